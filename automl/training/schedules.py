"""Learning-rate schedules from `config["training"]`, each documented by its registry entry's formula.

All schedules are stepped once per epoch (after the epoch; `epoch` is 0-based, E the number of epochs,
f = final_lr_fraction) except `one_cycle`, which is stepped once per batch over `epochs * steps_per_epoch`
steps. SCHEDULES maps each name to `factory(optimizer, p: ScheduleParams, steps_per_epoch)`; torch-free to
import (factories import torch), so the YAML validator reads the names without loading torch.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from automl.registry import Registry
from automl.training.optimizers import setting

if TYPE_CHECKING:
    import torch
    from torch.optim.lr_scheduler import LRScheduler

PER_BATCH_SCHEDULES: frozenset[str] = frozenset({"one_cycle"})


@dataclass(frozen=True)
class ScheduleParams:
    """The schedule keys of `config["training"]`, defaults filled, plus the number of epochs."""

    epochs: int
    step_size: int = 10
    gamma: float = 0.5
    decay_rate: float = 0.1
    final_lr_fraction: float = 0.0
    restart_period: int = 10
    restart_mult: int = 1
    warmup_pct: float = 0.3


SCHEDULES: Registry[LRScheduler | None] = Registry("schedule")


def _per_epoch(name: str, doc: str) -> Callable[[Callable[[ScheduleParams, int], float]], Any]:
    """Register `factor(p, epoch) -> multiplier of lr` as a LambdaLR schedule stepped after each epoch."""

    def deco(factor: Callable[[ScheduleParams, int], float]) -> Callable[[ScheduleParams, int], float]:
        def build(optimizer: torch.optim.Optimizer, p: ScheduleParams, steps_per_epoch: int) -> LRScheduler:
            from torch.optim.lr_scheduler import LambdaLR

            return LambdaLR(optimizer, lr_lambda=functools.partial(factor, p))  # picklable: module-level factor

        SCHEDULES.add(name, build, doc=doc)
        return factor

    return deco


SCHEDULES.add("none", lambda optimizer, p, steps_per_epoch: None, doc="constant lr")


@_per_epoch("step", "lr * gamma ** (epoch // step_size)")
def _step(p: ScheduleParams, epoch: int) -> float:
    return p.gamma ** (epoch // p.step_size)


@_per_epoch("exponential", "lr * gamma ** epoch")
def _exponential(p: ScheduleParams, epoch: int) -> float:
    return p.gamma**epoch


@_per_epoch("inverse_time", "lr / (1 + decay_rate * epoch)")
def _inverse_time(p: ScheduleParams, epoch: int) -> float:
    return 1.0 / (1.0 + p.decay_rate * epoch)


def _progress(p: ScheduleParams, epoch: int) -> float:
    last = max(p.epochs - 1, 1)
    return min(epoch, last) / last


@_per_epoch("linear", "lr * (1 - (1 - f) * epoch / (E - 1))")
def _linear(p: ScheduleParams, epoch: int) -> float:
    return 1.0 - (1.0 - p.final_lr_fraction) * _progress(p, epoch)


@_per_epoch("cosine", "lr * (f + (1 - f) * (1 + cos(pi * epoch / (E - 1))) / 2)")
def _cosine(p: ScheduleParams, epoch: int) -> float:
    f = p.final_lr_fraction
    return f + (1.0 - f) * (1.0 + math.cos(math.pi * _progress(p, epoch))) / 2.0


@SCHEDULES.register("one_cycle", doc="torch OneCycleLR(max_lr=lr, pct_start=warmup_pct), no momentum cycling")
def _one_cycle(optimizer: torch.optim.Optimizer, p: ScheduleParams, steps_per_epoch: int) -> LRScheduler:
    from torch.optim.lr_scheduler import OneCycleLR

    return OneCycleLR(optimizer, max_lr=[group["lr"] for group in optimizer.param_groups],
                      total_steps=p.epochs * max(int(steps_per_epoch), 1), pct_start=p.warmup_pct,
                      cycle_momentum=False)


@_per_epoch("cosine_restarts", "f*lr + (1-f)*lr * (1 + cos(pi * t / T_i)) / 2, T_0 = restart_period, T_mult = restart_mult")
def _cosine_restarts(p: ScheduleParams, epoch: int) -> float:
    t_cur, t_i = epoch, p.restart_period  # epochs since the last restart, length of the current cycle
    while t_cur >= t_i:
        t_cur, t_i = t_cur - t_i, t_i * p.restart_mult
    f = p.final_lr_fraction
    return f + (1.0 - f) * (1.0 + math.cos(math.pi * t_cur / t_i)) / 2.0


def schedule_name(training_cfg: Mapping[str, Any] | None) -> str:
    name = str((training_cfg or {}).get("schedule") or "none").lower()
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; allowed: {', '.join(SCHEDULES)}")
    return name


def is_per_batch(training_cfg: Mapping[str, Any] | None) -> bool:
    """True when the schedule is stepped after every batch (one_cycle) rather than every epoch."""
    return schedule_name(training_cfg) in PER_BATCH_SCHEDULES


def make_scheduler(optimizer: torch.optim.Optimizer, training_cfg: Mapping[str, Any] | None, epochs: int,
                   steps_per_epoch: int) -> LRScheduler | None:
    """Build the schedule named by `training_cfg["schedule"]` (default "none" -> returns None)."""
    cfg = dict(training_cfg or {})
    name = schedule_name(cfg)
    keys = [f for f in fields(ScheduleParams) if f.name != "epochs"]
    values = {k.name: type(k.default)(setting(cfg, k.name, k.default)) for k in keys}  # typed as the default
    p = ScheduleParams(max(int(epochs), 1), **values)
    if p.step_size < 1 or p.restart_period < 1 or p.restart_mult < 1:
        raise ValueError("step_size, restart_period and restart_mult must be >= 1")
    return SCHEDULES.create(name, optimizer, p, steps_per_epoch)
