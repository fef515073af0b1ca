"""Task losses and regularization penalties.

Losses by task: multiclass -> cross_entropy (label_smoothing); binary -> bce (BCEWithLogits on one logit);
regression -> mse | mae | huber (huber_delta). `loss: auto` (the default) picks cross_entropy / bce / mse.

Penalties added to the training loss (never to the reported train/val loss):
  weight: l1 * sum|w| + l2 * sum w**2 over the weights of Linear and Conv layers (no biases, no BN)
  activity: activity_l1 * mean_i sum|f_i| + activity_l2 * mean_i sum f_i**2 over the penultimate features
            returned by `model(x, return_features=True)` (summed per sample, averaged over the batch)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

LOSSES: tuple[str, ...] = ("auto", "cross_entropy", "bce", "mse", "mae", "huber")
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")
LOSSES_BY_TASK: dict[str, tuple[str, ...]] = {
    "binary": ("bce",),
    "multiclass": ("cross_entropy",),
    "regression": ("mse", "mae", "huber"),
}
DEFAULT_LOSS: dict[str, str] = {"binary": "bce", "multiclass": "cross_entropy", "regression": "mse"}


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; allowed: {', '.join(TASKS)}")
    return task


def resolve_loss_name(training_cfg: Mapping[str, Any] | None, task: str) -> str:
    """The concrete loss for `task` ("auto" resolved); ValueError for unknown or task-incompatible names."""
    check_task(task)
    name = str((training_cfg or {}).get("loss") or "auto").lower()
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; allowed: {', '.join(LOSSES)}")
    if name == "auto":
        return DEFAULT_LOSS[task]
    if name not in LOSSES_BY_TASK[task]:
        raise ValueError(
            f"loss {name!r} does not fit task {task!r}; allowed: {', '.join(LOSSES_BY_TASK[task])}"
        )
    return name


def prepare_targets(y: torch.Tensor, task: str) -> torch.Tensor:
    """Targets in the form the loss wants: int64 (N,) multiclass, float32 (N,) binary, float32 (N, k) regression."""
    check_task(task)
    if task == "multiclass":
        return y.reshape(-1).long()
    if task == "binary":
        return y.reshape(-1).to(torch.float32)
    y = y.to(torch.float32)
    return y.unsqueeze(1) if y.dim() == 1 else y.reshape(y.shape[0], -1)


class TaskLoss:
    """Callable `loss(outputs, prepared_targets) -> scalar mean loss` for one task."""

    def __init__(
        self, name: str, task: str, *, label_smoothing: float = 0.0, huber_delta: float = 1.0
    ) -> None:
        self.name = name
        self.task = task
        self.label_smoothing = float(label_smoothing)
        self.huber_delta = float(huber_delta)

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.name == "cross_entropy":
            return F.cross_entropy(outputs, targets, label_smoothing=self.label_smoothing)
        if outputs.shape != targets.shape:
            outputs = outputs.reshape(targets.shape)
        if self.name == "bce":
            return F.binary_cross_entropy_with_logits(outputs, targets)
        if self.name == "mse":
            return F.mse_loss(outputs, targets)
        if self.name == "mae":
            return F.l1_loss(outputs, targets)
        if self.name == "huber":
            return F.huber_loss(outputs, targets, delta=self.huber_delta)
        raise ValueError(f"unknown loss {self.name!r}")

    def __repr__(self) -> str:
        return f"TaskLoss({self.name!r}, task={self.task!r})"


def make_loss(training_cfg: Mapping[str, Any] | None, task: str) -> TaskLoss:
    cfg = training_cfg or {}
    name = resolve_loss_name(cfg, task)
    smoothing = float(cfg.get("label_smoothing") or 0.0)
    delta = cfg.get("huber_delta")
    return TaskLoss(name, task, label_smoothing=smoothing, huber_delta=1.0 if delta is None else float(delta))


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


def activity_penalty(
    features: torch.Tensor | Sequence[torch.Tensor], l1: float = 0.0, l2: float = 0.0
) -> torch.Tensor:
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
