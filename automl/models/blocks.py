"""The few custom modules the network needs; everything else is a plain nn.Sequential of torch layers.

The blocks themselves are built by their layer kind (models/layers/); this module holds what they share.
"""

from __future__ import annotations

import torch
from torch import nn


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
