"""The training loop: fast, deterministic, reporter-driven.

Hot path: the splits are moved to the device once; each epoch draws one `torch.randperm` from a seeded
generator and trains on contiguous slices of it (no DataLoader, no per-sample Python, no host sync per
batch: batch losses stay on the device and are summed once per epoch). Validation runs once per epoch on
the full split under `torch.inference_mode` in large batches.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from automl.data.dataset import Split
from automl.training.losses import make_loss, prepare_targets
from automl.training.metrics import DEFAULT_EVAL_BATCH_SIZE, evaluate_tensors
from automl.training.optimizers import make_optimizer, setting
from automl.training.penalties import activity_penalty, penalized_weights, weight_penalty
from automl.training.reporter import Decision, NullReporter, Reporter
from automl.training.schedules import is_per_batch, make_scheduler
from automl.training.tasks import METRICS_BY_TASK, PRECISIONS, check_task, default_direction

STOP_REASONS: tuple[str, ...] = ("max_epochs", "early_stopping", "reporter", "nan")
_AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
DEFAULT_BATCH_SIZE = 128
DEFAULT_MAX_EPOCHS = 20
DEFAULT_PATIENCE = 5


class TrialFailed(RuntimeError):
    """Training could not produce a usable model; `reason` is recorded with the failed trial ("nan", ...)."""

    def __init__(self, reason: str, message: str = "", *, epoch: int | None = None,
                 history: list[dict[str, float]] | None = None) -> None:
        self.reason = reason
        self.message = message
        self.epoch = epoch
        self.history = list(history or [])
        super().__init__(f"{reason}: {message}" if message else reason)


@dataclass
class TrainResult:
    history: list[dict[str, float]]  # one dict per epoch: epoch, lr, train_loss, val_loss, val_<metric>...
    best_epoch: int  # 1-based
    best_metrics: dict[str, float]  # the reported metrics of best_epoch
    epochs_run: int
    stop_reason: str  # one of STOP_REASONS except "nan" (which raises TrialFailed)
    state_dict: dict[str, torch.Tensor]  # weights of best_epoch (on CPU); also loaded into the model
    train_seconds: float  # wall time of the whole call (setup, training, validation)
    samples_per_second: float  # training samples / seconds spent in the training phase (validation excluded)
    objective_metric: str = "val_loss"
    direction: str = "minimize"
    best_value: float = math.nan
    eval_seconds: float = 0.0  # time spent in per-epoch validation


def set_num_threads(n: int | None) -> int:
    """Set torch's intra-op threads for this worker (n >= 1; None/0 leaves it); returns the previous count."""
    previous = torch.get_num_threads()
    if n:
        n = int(n)
        if n < 1:
            raise ValueError(f"threads must be >= 1, got {n}")
        torch.set_num_threads(n)
        with contextlib.suppress(RuntimeError):  # settable once only, before inter-op work started
            torch.set_num_interop_threads(n)
    return previous


def seed_everything(seed: int) -> None:
    """Seed python `random`, numpy and torch (CPU and CUDA)."""
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def resolve_device(device: torch.device | str | None) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Contiguous [start, end) batches covering n samples; a trailing batch of 1 joins the previous one
    (a single-sample batch breaks BatchNorm in training mode)."""
    if n <= 0:
        raise ValueError("the training split is empty")
    bs = max(1, min(int(batch_size), n))
    bounds = [(i, min(i + bs, n)) for i in range(0, n, bs)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2] = (bounds[-2][0], n)
        bounds.pop()
    return bounds


def metric_keys(task: str) -> tuple[str, ...]:
    """Keys of the per-epoch report for a task."""
    return ("train_loss", "val_loss", *(f"val_{m}" for m in METRICS_BY_TASK[check_task(task)]))


def resolve_objective(objective_metric: str | None, direction: str | None, task: str) -> tuple[str, str]:
    """Normalize ("accuracy" -> "val_accuracy") and check the objective; infer direction when None."""
    keys = metric_keys(task)
    key = objective_metric or "val_loss"
    if key not in keys and f"val_{key}" in keys:
        key = f"val_{key}"
    if key not in keys:
        raise ValueError(f"objective metric {objective_metric!r} not reported for task {task!r}; "
                         f"allowed: {keys}")
    direction = default_direction(key) if direction is None else direction
    d = str(direction).lower()
    d = {"min": "minimize", "max": "maximize"}.get(d, d)
    if d not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    return key, d


def _improves(value: float, best: float | None, direction: str, min_delta: float) -> bool:
    if best is None:
        return True
    if math.isnan(value):
        return False
    if math.isnan(best):
        return True
    if direction == "maximize":
        return value > best + min_delta
    return value < best - min_delta


class Trainer:
    """Trains a model under one `config["training"]` dict. `fit(model, train, val) -> TrainResult`."""

    def __init__(self, training_cfg: Mapping[str, Any] | None, task: str, *,
                 objective_metric: str | None = None, direction: str | None = None,
                 reporter: Reporter | None = None,
                 device: torch.device | str | None = None, seed: int = 0, max_epochs: int | None = None,
                 precision: str = "fp32", compile: bool = False) -> None:
        self.cfg = dict(training_cfg or {})
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r} is not supported; allowed: {', '.join(PRECISIONS)}")
        self.precision = precision
        self.compile = bool(compile)
        self.task = check_task(task)
        self.objective, self.direction = resolve_objective(objective_metric, direction, task)
        self.reporter = reporter if reporter is not None else NullReporter()
        self.device = resolve_device(device)
        self.seed = int(seed)
        epochs = max_epochs if max_epochs is not None else self.cfg.get("max_epochs")
        self.max_epochs = int(DEFAULT_MAX_EPOCHS if epochs is None else epochs)
        if self.max_epochs < 1:
            raise ValueError(f"max_epochs must be >= 1, got {self.max_epochs}")
        self.batch_size = int(setting(self.cfg, "batch_size", DEFAULT_BATCH_SIZE))
        eval_default = max(DEFAULT_EVAL_BATCH_SIZE, self.batch_size)
        self.eval_batch_size = int(setting(self.cfg, "eval_batch_size", eval_default))
        self.patience = int(setting(self.cfg, "patience", DEFAULT_PATIENCE))
        self.min_delta = abs(setting(self.cfg, "min_delta", 0.0))
        self.l1, self.l2, self.activity_l1, self.activity_l2, self.grad_clip = (
            setting(self.cfg, key, 0.0) for key in ("l1", "l2", "activity_l1", "activity_l2", "grad_clip"))
        self.loss_fn = make_loss(self.cfg, self.task)

    def fit(self, model: nn.Module, train: Split, val: Split) -> TrainResult:
        t_start = time.perf_counter()
        seed_everything(self.seed)
        device = self.device
        model.to(device)
        if device.type == "cuda":  # TF32 matmuls/convs: ~free speed on Ampere+ with fp32 weights
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        amp_dtype = _AMP_DTYPES.get(self.precision)
        if amp_dtype is torch.float16 and device.type != "cuda":
            raise ValueError("precision fp16 needs a CUDA device; use bf16 on the CPU")
        autocast = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if amp_dtype else contextlib.nullcontext
        scaler = torch.amp.GradScaler("cuda") if amp_dtype is torch.float16 else None
        fwd = torch.compile(model) if self.compile else model
        (x_tr, y_tr), (x_va, y_va) = ((s.x.to(device), prepare_targets(s.y, self.task).to(device))
                                      for s in (train, val))
        n = int(x_tr.shape[0])
        if int(x_va.shape[0]) == 0:
            raise ValueError("the validation split is empty")
        bounds = batch_bounds(n, self.batch_size)
        sizes = torch.tensor([e - s for s, e in bounds], dtype=torch.float32, device=device)

        optimizer = make_optimizer(model.parameters(), self.cfg)
        scheduler = make_scheduler(optimizer, self.cfg, self.max_epochs, len(bounds))
        per_batch = scheduler is not None and is_per_batch(self.cfg)
        gen = torch.Generator()
        gen.manual_seed(self.seed)

        loss_fn = self.loss_fn
        weights = penalized_weights(model) if (self.l1 or self.l2) else []
        l1, l2, a1, a2 = self.l1, self.l2, self.activity_l1, self.activity_l2
        need_features = bool(a1 or a2)
        clip = self.grad_clip
        params = [p for p in model.parameters() if p.requires_grad] if clip > 0 else []

        history: list[dict[str, float]] = []
        best_value: float | None = None
        best_metrics: dict[str, float] = {}
        best_state: dict[str, torch.Tensor] = {}
        best_epoch = since_improvement = epoch = 0
        train_time = eval_time = 0.0
        stop_reason = "max_epochs"

        for epoch in range(1, self.max_epochs + 1):
            lr = float(optimizer.param_groups[0]["lr"])
            t0 = time.perf_counter()
            model.train()
            perm = torch.randperm(n, generator=gen).to(device)
            batch_losses: list[torch.Tensor] = []
            for start, end in bounds:
                idx = perm[start:end]
                xb, yb = x_tr[idx], y_tr[idx]
                with autocast():
                    if need_features:
                        out, features = fwd(xb, return_features=True)
                        data_loss = loss_fn(out.float(), yb)
                        loss = data_loss + activity_penalty(features.float(), a1, a2)
                    else:
                        data_loss = loss = loss_fn(fwd(xb).float(), yb)
                if weights:
                    loss = loss + weight_penalty(weights, l1, l2)
                optimizer.zero_grad(set_to_none=True)
                (loss if scaler is None else scaler.scale(loss)).backward()
                if clip > 0:
                    if scaler is not None:
                        scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(params, clip)
                if scaler is None:
                    optimizer.step()
                else:
                    scaler.step(optimizer)
                    scaler.update()
                if per_batch:
                    scheduler.step()
                batch_losses.append(data_loss.detach())
            train_loss = float((torch.stack(batch_losses) * sizes).sum() / n)  # the epoch's one sync
            t1 = time.perf_counter()
            train_time += t1 - t0

            if not math.isfinite(train_loss):
                raise TrialFailed("nan", f"non-finite training loss at epoch {epoch}", epoch=epoch,
                                  history=history)
            with autocast():
                val = evaluate_tensors(fwd, x_va, y_va, self.task, loss_fn, batch_size=self.eval_batch_size,
                                       prefix="val_")
            eval_time += time.perf_counter() - t1
            if not math.isfinite(val["val_loss"]):
                raise TrialFailed("nan", f"non-finite validation loss at epoch {epoch}", epoch=epoch,
                                  history=history)

            metrics = {"train_loss": train_loss, **val}
            history.append({"epoch": epoch, "lr": lr, **metrics})
            value = metrics[self.objective]
            if _improves(value, best_value, self.direction, self.min_delta):
                best_value, best_epoch, best_metrics = value, epoch, dict(metrics)
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                since_improvement = 0
            else:
                since_improvement += 1

            # Every epoch is reported (the pruner's record), but a STOP after the last epoch stops nothing: the
            # trial has trained in full and stays complete (a first rung at max_epochs would otherwise mark it pruned).
            if self.reporter.report(epoch, dict(metrics)) == Decision.STOP and epoch < self.max_epochs:
                stop_reason = "reporter"
                break
            if self.patience > 0 and since_improvement >= self.patience:
                stop_reason = "early_stopping"
                break
            if scheduler is not None and not per_batch:
                scheduler.step()

        model.load_state_dict(best_state)
        return TrainResult(
            history=history, best_epoch=best_epoch, best_metrics=best_metrics, epochs_run=epoch,
            stop_reason=stop_reason, state_dict={k: v.cpu() for k, v in best_state.items()},
            train_seconds=time.perf_counter() - t_start,
            samples_per_second=n * epoch / train_time if train_time > 0 else math.nan,
            objective_metric=self.objective, direction=self.direction,
            best_value=math.nan if best_value is None else float(best_value), eval_seconds=eval_time)


def train(model: nn.Module, training_cfg: Mapping[str, Any] | None, train: Split, val: Split, task: str,
          **options: Any) -> TrainResult:
    """Train `model` in place (best weights restored); `options` are Trainer's keyword arguments. Raises
    TrialFailed("nan") on a non-finite loss, ValueError on an invalid training config."""
    return Trainer(training_cfg, task, **options).fit(model, train, val)
