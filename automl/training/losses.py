"""Task losses by config name: the registry the YAML validator and the trainer both read.

`loss: auto` (the default) picks the task's first loss. Torch-free to import: each factory imports torch
when the trainer builds its loss.
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


def _loss(name: str, tasks: tuple[str, ...], fn: str, doc: str, **hyper: str) -> None:
    """Register torch.nn.functional.<fn> for `tasks`, passing it the `hyper`-named settings (torch's argument
    name -> our key). The first loss registered for a task is its `auto` default."""

    def make(**settings: float) -> LossFn:
        import torch.nn.functional as F

        return functools.partial(getattr(F, fn), **{arg: settings[key] for arg, key in hyper.items()})

    LOSSES.add(name, make, doc=doc)
    for t in tasks:
        LOSSES_BY_TASK[t] = (*LOSSES_BY_TASK[t], name)


LOSSES.add("auto", lambda **_: None, doc="the task's default: cross_entropy, bce or mse")  # resolved, never built
_loss("cross_entropy", ("multiclass",), "cross_entropy", "softmax cross-entropy", label_smoothing="label_smoothing")
_loss("bce", ("binary",), "binary_cross_entropy_with_logits", "binary cross-entropy on one logit")
_loss("mse", ("regression",), "mse_loss", "mean squared error")
_loss("mae", ("regression",), "l1_loss", "mean absolute error")
_loss("huber", ("regression",), "huber_loss", "Huber loss with huber_delta", delta="huber_delta")

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
        raise ValueError(f"loss {name!r} does not fit task {task!r}; allowed: "
                         f"{', '.join(LOSSES_BY_TASK[task])}")
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

    def __init__(self, name: str, task: str, *, label_smoothing: float = 0.0,
                 huber_delta: float = 1.0) -> None:
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
