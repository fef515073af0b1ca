"""The conv block: conv -> BN -> activation -> (+ skip) -> pool -> dropout, over 1-D or 2-D signals.

Its one home: per-layer YAML keys, config, padding and pooling vocabularies, shape/param rule and module.
The skip is added after the activation and before pooling, so the skip path only has to match what the conv
itself does to the shape (channels, stride, 'valid' cropping), never the pooling.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automl.models.activations import ACTIVATIONS
from automl.models.layers.base import LAYERS, LayerKind, main_path, tag
from automl.registry import Registry
from automl.space.keys import _B, _DROPOUT, _E, _i

if TYPE_CHECKING:
    from torch import nn

Size = tuple[int, ...]

# padding -> rule(spatial size, kernel_size, stride, shrink note) -> size after the conv, or why it cannot be
PADDINGS: Registry[Size | str] = Registry("padding")
# pool -> factory(n_spatial, pool_size) -> pooling module (None: no pooling)
POOLS: Registry[Any] = Registry("pool")


def describe(size: Size) -> str:
    return f"length {size[0]}" if len(size) == 1 else f"size {'x'.join(map(str, size))}"


@PADDINGS.register("same", doc="output size = input size (stride 1 only)")
def _same(size: Size, k: int, s: int, note: str) -> Size | str:
    return size if s == 1 else f"padding 'same' requires stride 1 (got stride {s})"


@PADDINGS.register("valid", doc="no padding: each dim becomes (d - kernel_size) // stride + 1")
def _valid(size: Size, k: int, s: int, note: str) -> Size | str:
    if min(size) < k:
        return f"input {describe(size)} is smaller than kernel_size {k}{note}"
    return tuple((d - k) // s + 1 for d in size)


def _torch_pool(kind: str) -> Callable[[int, int], nn.Module]:
    def make(n_spatial: int, pool_size: int) -> nn.Module:
        from torch import nn

        return getattr(nn, f"{kind}Pool{n_spatial}d")(pool_size)

    return make


POOLS.add("none", lambda n_spatial, pool_size: None, doc="no pooling")
POOLS.add("max", _torch_pool("Max"), doc="max over pool_size windows")
POOLS.add("avg", _torch_pool("Avg"), doc="mean over pool_size windows")


@dataclass(frozen=True)
class ConvBlockConfig:
    """One conv block: conv -> BN -> activation -> (residual add) -> pool -> dropout."""

    filters: int = 32
    kernel_size: int = 3
    stride: int = 1
    padding: str = "same"
    activation: str = "relu"
    pool: str = "none"
    pool_size: int = 2
    batch_norm: bool = False
    dropout: float = 0.0
    residual: bool = False


@dataclass(frozen=True)
class ConvStage:
    """One conv block with its channels-first shapes (spatial sizes without batch or channel dim)."""

    index: int  # 1-based, as in messages and module names ("conv1")
    cfg: ConvBlockConfig
    in_channels: int
    in_size: Size
    conv_size: Size  # after the conv, before pooling
    out_size: Size  # after pooling

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


def _shrunk_note(index: int, start: Size, now: Size) -> str:
    if index == 1 or start == now:
        return ""
    blocks = "block 1" if index == 2 else f"blocks 1-{index - 1}"
    return f" ({blocks} shrink the input {describe(start)} to {'x'.join(map(str, now))})"


def plan(configs: tuple[ConvBlockConfig, ...], shape: tuple[int, ...]) -> tuple[tuple[ConvStage, ...], Size, str | None]:
    """Propagate (channels, *spatial) through the blocks; stop at the first block that cannot exist."""
    stages: list[ConvStage] = []
    channels, size = shape[0], tuple(shape[1:])
    start = size
    for i, c in enumerate(configs, start=1):
        conv_size = PADDINGS.get(c.padding)(size, c.kernel_size, c.stride, _shrunk_note(i, start, size))
        if isinstance(conv_size, str):
            return tuple(stages), (channels, *size), f"conv block {i}: {conv_size}"
        out_size = conv_size
        if c.pool != "none":
            if min(conv_size) < c.pool_size:
                return tuple(stages), (channels, *size), (
                    f"conv block {i}: {describe(conv_size)} after the conv is smaller than pool_size {c.pool_size}"
                    + _shrunk_note(i, start, size)
                )
            out_size = tuple(d // c.pool_size for d in conv_size)
        stages.append(ConvStage(i, c, channels, size, conv_size, out_size))
        channels, size = c.filters, out_size
    return tuple(stages), (channels, *size), None


def build(stage: ConvStage) -> nn.Sequential:
    """conv -> BN -> activation -> (+ skip) -> pool -> dropout, omitting the parts that are off."""
    from torch import nn

    from automl.models.blocks import Crop, Residual

    c = stage.cfg
    nd = len(stage.in_size)
    k = c.kernel_size
    conv_cls, bn_cls = (nn.Conv1d, nn.BatchNorm1d) if nd == 1 else (nn.Conv2d, nn.BatchNorm2d)
    pad: nn.Module | None = None
    padding = 0
    if c.padding == "same" and k > 1:
        if k % 2 == 1:
            padding = k // 2  # symmetric: the conv pads by itself
        else:
            # Even kernel: pad (k-1)//2 before and k//2 after, as padding="same" would, but explicitly,
            # which avoids PyTorch's per-call warning about the hidden padded copy.
            lo, hi = (k - 1) // 2, k // 2
            pad = nn.ConstantPad1d((lo, hi), 0.0) if nd == 1 else nn.ConstantPad2d((lo, hi, lo, hi), 0.0)
    conv = conv_cls(stage.in_channels, c.filters, k, stride=c.stride, padding=padding, bias=not c.batch_norm)
    main = main_path(conv, bn_cls(c.filters) if c.batch_norm else None, c.activation, "conv")
    if pad is not None:
        main = OrderedDict([("pad", pad), *main.items()])

    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if c.residual:
        skip: list[nn.Module] = []
        if stage.shortcut_crop:
            lo = (k - 1) // 2
            skip.append(Crop(lo, k - 1 - lo, nd))
        if stage.shortcut_projection:
            skip.append(tag(conv_cls(stage.in_channels, c.filters, 1, stride=c.stride, bias=False), "identity"))
        shortcut = skip[0] if len(skip) == 1 else nn.Sequential(*skip) if skip else nn.Identity()
        layers["res"] = Residual(nn.Sequential(main), shortcut)
    else:
        layers.update(main)
    pool = POOLS.create(c.pool, nd, c.pool_size)
    if pool is not None:
        layers["pool"] = pool
    if c.dropout > 0:
        layers["dropout"] = nn.Dropout(c.dropout)
    return nn.Sequential(layers)


KEYS = {
    "filters": _i(1, 65536), "kernel_size": _i(1, 4096), "stride": _i(1, 64), "padding": _E(PADDINGS),
    "activation": _E(ACTIVATIONS), "pool": _E(POOLS), "pool_size": _i(1, 64), "batch_norm": _B,
    "dropout": _DROPOUT, "residual": _B,
}
LAYERS.add("conv", LayerKind("conv", KEYS, ConvBlockConfig, plan, build), doc=ConvBlockConfig.__doc__ or "")
