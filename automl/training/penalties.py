"""Regularization penalties added to the training loss (never to the reported train/val loss)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

_WEIGHTED = (nn.Linear, nn.modules.conv._ConvNd)


def penalized_weights(model: nn.Module) -> list[torch.Tensor]:
    """The `weight` tensors of every Linear / Conv (incl. transposed) layer; never biases or norm layers."""
    out = []
    for module in model.modules():
        if isinstance(module, _WEIGHTED):
            w = getattr(module, "weight", None)
            if isinstance(w, torch.Tensor) and w.requires_grad:
                out.append(w)
    return out


def weight_penalty(weights: Sequence[torch.Tensor], l1: float = 0.0, l2: float = 0.0) -> torch.Tensor:
    """l1 * sum|w| + l2 * sum w**2 over `weights` (a 0-dim tensor)."""
    if not weights:
        return torch.zeros(())
    total = torch.zeros((), device=weights[0].device, dtype=weights[0].dtype)
    for w in weights:
        if l1:
            total = total + l1 * w.abs().sum()
        if l2:
            total = total + l2 * w.square().sum()
    return total


def activity_penalty(features: torch.Tensor | Sequence[torch.Tensor], l1: float = 0.0,
                     l2: float = 0.0) -> torch.Tensor:
    """activity_l1 * mean_i sum|f_i| + activity_l2 * mean_i sum f_i**2 (batch-averaged, Keras style)."""
    feats = [features] if isinstance(features, torch.Tensor) else list(features)
    total = torch.zeros((), device=feats[0].device, dtype=feats[0].dtype)
    for f in feats:
        n = max(int(f.shape[0]), 1)
        if l1:
            total = total + (l1 / n) * f.abs().sum()
        if l2:
            total = total + (l2 / n) * f.square().sum()
    return total
