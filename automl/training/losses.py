"""Task losses by config name: the registry the YAML validator and the trainer both read.

Losses by task: multiclass -> cross_entropy (label_smoothing); binary -> bce (BCEWithLogits on one logit);
regression -> mse | mae | huber (huber_delta). `loss: auto` (the default) picks the task's first loss.
Torch-free to import: each factory imports torch when the trainer builds its loss. Penalties: penalties.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from automl.registry import Registry
from automl.training.tasks import TASKS, check_task

if TYPE_CHECKING:
    import torch

    LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# factory(label_smoothing=..., huber_delta=...) -> fn(outputs, prepared_targets) -> scalar mean loss
LOSSES: Registry[LossFn] = Registry("loss")
LOSSES_BY_TASK: dict[str, tuple[str, ...]] = {t: () for t in TASKS}  # the losses (besides "auto") each task takes


def _loss(name: str, tasks: tuple[str, ...], doc: str) -> Callable[[Callable[..., LossFn]], Callable[..., LossFn]]:
    """Register a loss factory for `tasks` (the first loss registered for a task is its `auto` default)."""

    def deco(factory: Callable[..., LossFn]) -> Callable[..., LossFn]:
        LOSSES.add(name, factory, doc=doc)
        for t in tasks:
            LOSSES_BY_TASK[t] = (*LOSSES_BY_TASK[t], name)
        return factory

    return deco


LOSSES.add("auto", lambda **_: None, doc="the task's default: cross_entropy, bce or mse")  # resolved, never built


@_loss("cross_entropy", ("multiclass",), "softmax cross-entropy with label_smoothing")
def _cross_entropy(*, label_smoothing: float = 0.0, **_: Any) -> LossFn:
    import torch.nn.functional as F

    return functools.partial(F.cross_entropy, label_smoothing=label_smoothing)


@_loss("bce", ("binary",), "binary cross-entropy on one logit")
def _bce(**_: Any) -> LossFn:
    import torch.nn.functional as F

    return F.binary_cross_entropy_with_logits


@_loss("mse", ("regression",), "mean squared error")
def _mse(**_: Any) -> LossFn:
    import torch.nn.functional as F

    return F.mse_loss


@_loss("mae", ("regression",), "mean absolute error")
def _mae(**_: Any) -> LossFn:
    import torch.nn.functional as F

    return F.l1_loss


@_loss("huber", ("regression",), "Huber loss with huber_delta")
def _huber(*, huber_delta: float = 1.0, **_: Any) -> LossFn:
    import torch.nn.functional as F

    return functools.partial(F.huber_loss, delta=huber_delta)


DEFAULT_LOSS: dict[str, str] = {t: names[0] for t, names in LOSSES_BY_TASK.items()}


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
    import torch

    check_task(task)
    if task == "multiclass":
        return y.reshape(-1).long()
    if task == "binary":
        return y.reshape(-1).to(torch.float32)
    y = y.to(torch.float32)
    return y.unsqueeze(1) if y.dim() == 1 else y.reshape(y.shape[0], -1)


class TaskLoss:
    """Callable `loss(outputs, prepared_targets) -> scalar mean loss` for one task (built once per trial)."""

    def __init__(
        self, name: str, task: str, *, label_smoothing: float = 0.0, huber_delta: float = 1.0
    ) -> None:
        self.name = name
        self.task = task
        self.label_smoothing = float(label_smoothing)
        self.huber_delta = float(huber_delta)
        self._fn = LOSSES.create(name, label_smoothing=self.label_smoothing, huber_delta=self.huber_delta)
        self._reshape = task != "multiclass"  # one logit / k outputs are shaped like the prepared targets

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self._reshape and outputs.shape != targets.shape:
            outputs = outputs.reshape(targets.shape)
        return self._fn(outputs, targets)

    def __repr__(self) -> str:
        return f"TaskLoss({self.name!r}, task={self.task!r})"


def make_loss(training_cfg: Mapping[str, Any] | None, task: str) -> TaskLoss:
    cfg = training_cfg or {}
    name = resolve_loss_name(cfg, task)
    smoothing = float(cfg.get("label_smoothing") or 0.0)
    delta = cfg.get("huber_delta")
    return TaskLoss(name, task, label_smoothing=smoothing, huber_delta=1.0 if delta is None else float(delta))
