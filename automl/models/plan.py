"""Shapes and parameter count of a config, computed analytically, before any weight exists.

A search backend calls `check_feasible` to prune a sampled point cheaply (no allocation, no forward);
`build_model` builds from the very same plan, so the two cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from automl.data.spec import DataSpec
from automl.models.config import ConvBlockConfig, DenseBlockConfig, ModelConfig

_INPUT_NDIM = {"flat": 1, "image": 3, "sequence": 2, "tokens": 1}


class InfeasibleConfig(ValueError):
    """A valid config whose network cannot exist for this data (shapes collapse, too many parameters)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ConvStage:
    """One conv block with its channels-first shapes (spatial sizes without batch or channel dim)."""

    index: int  # 1-based, as in messages and module names ("conv1")
    cfg: ConvBlockConfig
    in_channels: int
    in_size: tuple[int, ...]
    conv_size: tuple[int, ...]  # after the conv, before pooling
    out_size: tuple[int, ...]  # after pooling

    @property
    def out_channels(self) -> int:
        return self.cfg.filters

    @property
    def shortcut_crop(self) -> bool:
        """'valid' padding shrinks the main path by kernel_size-1: the skip path is center-cropped to match."""
        return self.cfg.residual and self.cfg.padding == "valid" and self.cfg.kernel_size > 1

    @property
    def shortcut_projection(self) -> bool:
        """Channels or stride differ: a (strided) 1x1 conv, no bias, maps the skip path onto the main one."""
        return self.cfg.residual and (self.in_channels != self.cfg.filters or self.cfg.stride > 1)

    @property
    def n_params(self) -> int:
        c = self.cfg
        n = self.in_channels * c.filters * c.kernel_size ** len(self.in_size)
        n += 2 * c.filters if c.batch_norm else c.filters  # BN makes the conv bias redundant
        if self.shortcut_projection:
            n += self.in_channels * c.filters
        return n


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


@dataclass(frozen=True)
class ModelPlan:
    """Everything `build_model` needs, with `reason` set (and the plan cut short) when infeasible."""

    cfg: ModelConfig
    spec: DataSpec
    stem_channels: int  # cnn: channels entering conv block 1; mlp: 0
    stem_size: tuple[int, ...]  # cnn: spatial size entering conv block 1; mlp: ()
    conv: tuple[ConvStage, ...]
    n_features: int  # width entering the dense blocks (after global pool / flatten); 0 if infeasible
    dense: tuple[DenseStage, ...]
    n_outputs: int
    n_params: int  # 0 when the shapes are infeasible
    reason: str | None

    @property
    def feasible(self) -> bool:
        return self.reason is None

    @property
    def n_head_in(self) -> int:
        return self.dense[-1].out_features if self.dense else self.n_features

    @property
    def embedding_params(self) -> int:
        return self.spec.vocab_size * self.cfg.embedding_dim if self.spec.input_kind == "tokens" else 0


def head_outputs(spec: DataSpec) -> int:
    """binary: 1 logit; multiclass: n_classes logits; regression: n_outputs values."""
    if spec.task == "binary":
        return 1
    if spec.task == "multiclass":
        n = spec.n_classes or spec.n_outputs
        if n < 2:
            raise ValueError(f"multiclass DataSpec {spec.name!r} needs n_classes >= 2, got {spec.n_classes}")
        return n
    if spec.task == "regression":
        if spec.n_outputs < 1:
            raise ValueError(f"regression DataSpec {spec.name!r} needs n_outputs >= 1, got {spec.n_outputs}")
        return spec.n_outputs
    raise ValueError(f"unknown task {spec.task!r} in DataSpec {spec.name!r}")


def validate_spec(spec: DataSpec) -> None:
    """Raise ValueError for a DataSpec no model can be built for (a data bug, not an infeasible config)."""
    if spec.input_kind not in _INPUT_NDIM:
        raise ValueError(f"unknown input_kind {spec.input_kind!r} in DataSpec {spec.name!r}")
    ndim = _INPUT_NDIM[spec.input_kind]
    shape = tuple(spec.input_shape)
    if len(shape) != ndim or any(not isinstance(d, int) or d < 1 for d in shape):
        raise ValueError(
            f"{spec.input_kind} input_shape must be {ndim} positive ints, got {shape} (DataSpec {spec.name!r})"
        )
    if spec.input_kind == "tokens" and spec.vocab_size < 1:
        raise ValueError(f"tokens DataSpec {spec.name!r} needs vocab_size >= 1")
    head_outputs(spec)


def _describe(size: tuple[int, ...]) -> str:
    return f"length {size[0]}" if len(size) == 1 else f"size {'x'.join(map(str, size))}"


def _shrunk_note(index: int, start: tuple[int, ...], now: tuple[int, ...]) -> str:
    if index == 1 or start == now:
        return ""
    blocks = "block 1" if index == 2 else f"blocks 1-{index - 1}"
    return f" ({blocks} shrink the input {_describe(start)} to {'x'.join(map(str, now))})"


def _plan_conv(
    cfg: ModelConfig, channels: int, size: tuple[int, ...]
) -> tuple[tuple[ConvStage, ...], str | None]:
    stages: list[ConvStage] = []
    start = size
    for i, c in enumerate(cfg.conv_blocks, start=1):
        k, s = c.kernel_size, c.stride
        if c.padding == "same":
            if s != 1:
                return tuple(stages), f"conv block {i}: padding 'same' requires stride 1 (got stride {s})"
            conv_size = size
        else:
            if min(size) < k:
                return tuple(stages), (
                    f"conv block {i}: input {_describe(size)} is smaller than kernel_size {k}"
                    + _shrunk_note(i, start, size)
                )
            conv_size = tuple((d - k) // s + 1 for d in size)
        out_size = conv_size
        if c.pool != "none":
            if min(conv_size) < c.pool_size:
                return tuple(stages), (
                    f"conv block {i}: {_describe(conv_size)} after the conv is smaller than pool_size {c.pool_size}"
                    + _shrunk_note(i, start, size)
                )
            out_size = tuple(d // c.pool_size for d in conv_size)
        stages.append(ConvStage(i, c, channels, size, conv_size, out_size))
        channels, size = c.filters, out_size
    return tuple(stages), None


def plan_model(config: Mapping[str, Any] | ModelConfig, data_spec: DataSpec) -> ModelPlan:
    """Resolve the config and propagate shapes; ValueError for invalid values, `reason` for infeasible ones."""
    cfg = config if isinstance(config, ModelConfig) else ModelConfig.from_config(config)
    validate_spec(data_spec)
    n_out = head_outputs(data_spec)
    kind, shape = data_spec.input_kind, tuple(data_spec.input_shape)

    stem_channels, stem_size = 0, ()
    conv: tuple[ConvStage, ...] = ()
    if cfg.family == "cnn":
        if kind == "tokens":
            stem_channels, stem_size = cfg.embedding_dim, shape
        elif kind == "flat":
            stem_channels, stem_size = 1, shape
        else:
            stem_channels, stem_size = shape[0], shape[1:]
        conv, reason = _plan_conv(cfg, stem_channels, stem_size)
        if reason is not None:
            return ModelPlan(cfg, data_spec, stem_channels, stem_size, conv, 0, (), n_out, 0, reason)
        channels, size = (conv[-1].out_channels, conv[-1].out_size) if conv else (stem_channels, stem_size)
        n_features = channels * math.prod(size) if cfg.global_pool == "flatten" else channels
    else:
        n_features = math.prod(shape) * (cfg.embedding_dim if kind == "tokens" else 1)

    dense: list[DenseStage] = []
    width = n_features
    for i, d in enumerate(cfg.dense_blocks, start=1):
        dense.append(DenseStage(i, d, width))
        width = d.units

    n_params = width * n_out + n_out
    n_params += sum(st.n_params for st in conv) + sum(st.n_params for st in dense)
    if kind == "tokens":
        n_params += data_spec.vocab_size * cfg.embedding_dim
    reason = None
    if cfg.max_params is not None and n_params > cfg.max_params:
        reason = f"{n_params:,} parameters exceed max_params {cfg.max_params:,}"
    return ModelPlan(
        cfg, data_spec, stem_channels, stem_size, conv, n_features, tuple(dense), n_out, n_params, reason
    )


def check_feasible(config: Mapping[str, Any], data_spec: DataSpec) -> str | None:
    """None if `build_model(config, data_spec)` will succeed, else a human-readable reason why not.

    Shape problems and the parameter cap are reasons; invalid values (unknown activation, dropout >= 1)
    raise ValueError because they are bugs in the search space rather than infeasible points of it.
    """
    return plan_model(config, data_spec).reason


def count_params(config: Mapping[str, Any], data_spec: DataSpec) -> int:
    """Parameters the built model will have (0 if its shapes are infeasible), without building it."""
    return plan_model(config, data_spec).n_params
