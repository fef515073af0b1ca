"""The dense block's one home: per-layer YAML keys, config, shape/param rule and module."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from automl.models.activations import ACTIVATIONS
from automl.models.layers.base import LAYERS, LayerKind, main_path, tag
from automl.space.keys import _B, _DROPOUT, _E, _i

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class DenseBlockConfig:
    """One dense block: linear -> BN -> activation -> (residual add) -> dropout."""

    units: int = 64
    activation: str = "relu"
    batch_norm: bool = False
    dropout: float = 0.0
    residual: bool = False


@dataclass(frozen=True)
class DenseStage:
    """One dense block with its widths."""

    index: int  # 1-based ("dense1")
    cfg: DenseBlockConfig
    in_features: int

    @property
    def out_features(self) -> int:
        return self.cfg.units

    @property
    def shortcut_projection(self) -> bool:
        return self.cfg.residual and self.in_features != self.cfg.units

    @property
    def n_params(self) -> int:
        c = self.cfg
        n = self.in_features * c.units
        n += 2 * c.units if c.batch_norm else c.units
        if self.shortcut_projection:
            n += self.in_features * c.units
        return n


def plan(configs: tuple[DenseBlockConfig, ...], shape: tuple[int, ...]) -> tuple[tuple[DenseStage, ...], tuple[int, ...], None]:
    """Widths through the blocks: (features,) in, (units of the last block,) out; always feasible."""
    stages, width = [], shape[0]
    for i, d in enumerate(configs, start=1):
        stages.append(DenseStage(i, d, width))
        width = d.units
    return tuple(stages), (width,), None


def build(stage: DenseStage) -> nn.Sequential:
    """linear -> BN -> activation -> (+ skip: identity or bias-free linear projection) -> dropout."""
    from torch import nn

    from automl.models.blocks import Residual

    c = stage.cfg
    linear = nn.Linear(stage.in_features, c.units, bias=not c.batch_norm)
    main = main_path(linear, nn.BatchNorm1d(c.units) if c.batch_norm else None, c.activation, "linear")
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if c.residual:
        if stage.shortcut_projection:
            shortcut: nn.Module = tag(nn.Linear(stage.in_features, c.units, bias=False), "identity")
        else:
            shortcut = nn.Identity()
        layers["res"] = Residual(nn.Sequential(main), shortcut)
    else:
        layers.update(main)
    if c.dropout > 0:
        layers["dropout"] = nn.Dropout(c.dropout)
    return nn.Sequential(layers)


KEYS = {"units": _i(1, 1_000_000), "activation": _E(ACTIVATIONS), "batch_norm": _B, "dropout": _DROPOUT, "residual": _B}
LAYERS.add("dense", LayerKind("dense", KEYS, DenseBlockConfig, plan, build, flat_input=True), doc=DenseBlockConfig.__doc__ or "")
