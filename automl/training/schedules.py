"""Learning-rate schedules from `config["training"]`.

All schedules are stepped once per epoch (after the epoch) except `one_cycle`, which is stepped once per
batch and is built with `epochs * steps_per_epoch` total steps. `epoch` below is 0-based; `lr` is the
configured learning rate (the peak for one_cycle) and `E` the number of epochs.

    none             lr
    step             lr * gamma ** (epoch // step_size)
    exponential      lr * gamma ** epoch
    inverse_time     lr / (1 + decay_rate * epoch)
    linear           lr * (1 - (1 - f) * epoch / (E - 1))               f = final_lr_fraction
    cosine           lr * (f + (1 - f) * (1 + cos(pi * epoch / (E - 1))) / 2)
    one_cycle        torch OneCycleLR(max_lr=lr, pct_start=warmup_pct), no momentum cycling
    cosine_restarts  f*lr + (lr - f*lr) * (1 + cos(pi * t / T_i)) / 2, T_0 = restart_period, T_mult = restart_mult
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR

SCHEDULES: tuple[str, ...] = (
    "none",
    "step",
    "exponential",
    "inverse_time",
    "linear",
    "cosine",
    "one_cycle",
    "cosine_restarts",
)
PER_BATCH_SCHEDULES: frozenset[str] = frozenset({"one_cycle"})


def _num(cfg: Mapping[str, Any], key: str, default: float) -> float:
    value = cfg.get(key)
    return float(default if value is None else value)


def schedule_name(training_cfg: Mapping[str, Any] | None) -> str:
    name = str((training_cfg or {}).get("schedule") or "none").lower()
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; allowed: {', '.join(SCHEDULES)}")
    return name


def is_per_batch(training_cfg: Mapping[str, Any] | None) -> bool:
    """True when the schedule is stepped after every batch (one_cycle) rather than every epoch."""
    return schedule_name(training_cfg) in PER_BATCH_SCHEDULES


@dataclass(frozen=True)
class EpochFactor:
    """Multiplier of the base lr at a 0-based epoch (a picklable LambdaLR lambda)."""

    name: str
    epochs: int
    step_size: int = 10
    gamma: float = 0.5
    decay_rate: float = 0.1
    final_fraction: float = 0.0
    restart_period: int = 10
    restart_mult: int = 1

    def __call__(self, epoch: int) -> float:
        f = self.final_fraction
        last = max(self.epochs - 1, 1)
        if self.name == "none":
            return 1.0
        if self.name == "step":
            return self.gamma ** (epoch // self.step_size)
        if self.name == "exponential":
            return self.gamma**epoch
        if self.name == "inverse_time":
            return 1.0 / (1.0 + self.decay_rate * epoch)
        if self.name == "linear":
            t = min(epoch, last) / last
            return 1.0 - (1.0 - f) * t
        if self.name == "cosine":
            t = min(epoch, last) / last
            return f + (1.0 - f) * (1.0 + math.cos(math.pi * t)) / 2.0
        if self.name == "cosine_restarts":
            t_cur, t_i = restart_position(epoch, self.restart_period, self.restart_mult)
            return f + (1.0 - f) * (1.0 + math.cos(math.pi * t_cur / t_i)) / 2.0
        raise ValueError(f"no epoch factor for schedule {self.name!r}")


def restart_position(epoch: int, period: int, mult: int) -> tuple[int, int]:
    """(epochs since the last restart, length of the current cycle) for SGDR with T_0=period, T_mult=mult."""
    t_i = period
    t_cur = epoch
    while t_cur >= t_i:
        t_cur -= t_i
        t_i *= mult
    return t_cur, t_i


def make_scheduler(
    optimizer: torch.optim.Optimizer,
    training_cfg: Mapping[str, Any] | None,
    epochs: int,
    steps_per_epoch: int,
) -> LRScheduler | None:
    """Build the schedule named by `training_cfg["schedule"]` (default "none" -> returns None)."""
    cfg = dict(training_cfg or {})
    name = schedule_name(cfg)
    epochs = max(int(epochs), 1)
    if name == "none":
        return None
    if name == "one_cycle":
        max_lrs = [group["lr"] for group in optimizer.param_groups]
        pct = _num(cfg, "warmup_pct", 0.3)
        return OneCycleLR(
            optimizer,
            max_lr=max_lrs,
            total_steps=epochs * max(int(steps_per_epoch), 1),
            pct_start=pct,
            cycle_momentum=False,
        )
    step_size = int(_num(cfg, "step_size", 10))
    period = int(_num(cfg, "restart_period", 10))
    mult = int(_num(cfg, "restart_mult", 1))
    if step_size < 1 or period < 1 or mult < 1:
        raise ValueError("step_size, restart_period and restart_mult must be >= 1")
    factor = EpochFactor(
        name=name,
        epochs=epochs,
        step_size=step_size,
        gamma=_num(cfg, "gamma", 0.5),
        decay_rate=_num(cfg, "decay_rate", 0.1),
        final_fraction=_num(cfg, "final_lr_fraction", 0.0),
        restart_period=period,
        restart_mult=mult,
    )
    return LambdaLR(optimizer, lr_lambda=factor)
