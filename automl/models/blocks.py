"""The few custom modules the network needs; everything else is a plain nn.Sequential of torch layers.

Block order (conv and dense alike): weight layer -> BatchNorm -> activation -> (+ skip) -> pool -> dropout.
The skip is added after the activation and before pooling, so the skip path only has to match what the
conv itself does to the shape (channels, stride, 'valid' cropping), never the pooling; pooling and dropout
then act on the sum, exactly as they would on a plain block's output.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from automl.models.activations import make_activation
from automl.models.initializers import ACTIVATION_ATTR
from automl.models.plan import ConvStage, DenseStage

_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_BN = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
_POOL = {
    ("max", 1): nn.MaxPool1d,
    ("max", 2): nn.MaxPool2d,
    ("avg", 1): nn.AvgPool1d,
    ("avg", 2): nn.AvgPool2d,
}


class Residual(nn.Module):
    """main(x) + shortcut(x)."""

    def __init__(self, main: nn.Module, shortcut: nn.Module) -> None:
        super().__init__()
        self.main = main
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + self.shortcut(x)


class Crop(nn.Module):
    """Drop `lo` leading and `hi` trailing positions of every spatial dim (the skip path of a 'valid' conv)."""

    def __init__(self, lo: int, hi: int, n_spatial: int) -> None:
        super().__init__()
        self.lo, self.hi, self.n_spatial = lo, hi, n_spatial

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stop = -self.hi if self.hi else None
        if self.n_spatial == 1:
            return x[:, :, self.lo : stop]
        return x[:, :, self.lo : stop, self.lo : stop]

    def extra_repr(self) -> str:
        return f"lo={self.lo}, hi={self.hi}"


class TokenEmbedding(nn.Module):
    """nn.Embedding whose (N, L, D) output is transposed to channels-first (N, D, L) for conv1d."""

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(x).transpose(1, 2)


class GlobalPool(nn.Module):
    """Mean or max over all spatial dims: (N, C, *S) -> (N, C)."""

    def __init__(self, mode: str, n_spatial: int) -> None:
        super().__init__()
        if mode not in ("avg", "max"):
            raise ValueError(f"global pool mode must be avg or max, got {mode!r}")
        self.mode = mode
        self.dims = tuple(range(2, 2 + n_spatial))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "avg":
            return x.mean(dim=self.dims)
        return x.amax(dim=self.dims)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


def _tag(layer: nn.Module, activation: str) -> nn.Module:
    """Remember which activation follows a weight layer, for He init's gain."""
    setattr(layer, ACTIVATION_ATTR, activation)
    return layer


def _main_path(weight: nn.Module, bn: nn.Module | None, activation: str) -> OrderedDict[str, nn.Module]:
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        [("conv" if not isinstance(weight, nn.Linear) else "linear", _tag(weight, activation))]
    )
    if bn is not None:
        layers["bn"] = bn
    if activation != "identity":
        layers["act"] = make_activation(activation)
    return layers


def conv_block(stage: ConvStage) -> nn.Sequential:
    """conv -> BN -> activation -> (+ skip) -> pool -> dropout, omitting the parts that are off."""
    c = stage.cfg
    nd = len(stage.in_size)
    k = c.kernel_size
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
    conv = _CONV[nd](stage.in_channels, c.filters, k, stride=c.stride, padding=padding, bias=not c.batch_norm)
    main = _main_path(conv, _BN[nd](c.filters) if c.batch_norm else None, c.activation)
    if pad is not None:
        main = OrderedDict([("pad", pad), *main.items()])

    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if c.residual:
        skip: list[nn.Module] = []
        if stage.shortcut_crop:
            lo = (k - 1) // 2
            skip.append(Crop(lo, k - 1 - lo, nd))
        if stage.shortcut_projection:
            proj = _CONV[nd](stage.in_channels, c.filters, 1, stride=c.stride, bias=False)
            skip.append(_tag(proj, "identity"))
        shortcut = skip[0] if len(skip) == 1 else nn.Sequential(*skip) if skip else nn.Identity()
        layers["res"] = Residual(nn.Sequential(main), shortcut)
    else:
        layers.update(main)
    if c.pool != "none":
        layers["pool"] = _POOL[(c.pool, nd)](c.pool_size)
    if c.dropout > 0:
        layers["dropout"] = nn.Dropout(c.dropout)
    return nn.Sequential(layers)


def dense_block(stage: DenseStage) -> nn.Sequential:
    """linear -> BN -> activation -> (+ skip: identity or bias-free linear projection) -> dropout."""
    c = stage.cfg
    linear = nn.Linear(stage.in_features, c.units, bias=not c.batch_norm)
    main = _main_path(linear, nn.BatchNorm1d(c.units) if c.batch_norm else None, c.activation)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if c.residual:
        if stage.shortcut_projection:
            shortcut: nn.Module = _tag(nn.Linear(stage.in_features, c.units, bias=False), "identity")
        else:
            shortcut = nn.Identity()
        layers["res"] = Residual(nn.Sequential(main), shortcut)
    else:
        layers.update(main)
    if c.dropout > 0:
        layers["dropout"] = nn.Dropout(c.dropout)
    return nn.Sequential(layers)
