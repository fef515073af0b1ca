"""Validation / test metrics (tasks.METRICS_BY_TASK), computed exactly on a full split (float64, matching
sklearn.metrics)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from automl.data.dataset import Split
from automl.training.losses import TaskLoss, make_loss, prepare_targets
from automl.training.tasks import check_task

DEFAULT_EVAL_BATCH_SIZE = 2048


def _t(x: Any) -> torch.Tensor:
    return x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(x)


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of exact label matches (sklearn.metrics.accuracy_score)."""
    yt, yp = _t(y_true).reshape(-1), _t(y_pred).reshape(-1)
    if yt.numel() == 0:
        return math.nan
    return float((yt == yp).double().mean())


def balanced_accuracy(y_true: Any, y_pred: Any) -> float:
    """Mean recall over the classes present in y_true (sklearn.metrics.balanced_accuracy_score)."""
    yt, yp = _t(y_true).reshape(-1).long(), _t(y_pred).reshape(-1).long()
    if yt.numel() == 0:
        return math.nan
    k = int(max(int(yt.max()), int(yp.max()))) + 1
    support = torch.bincount(yt, minlength=k)
    hits = torch.bincount(yt[yt == yp], minlength=k)
    present = support > 0
    return float((hits[present].double() / support[present].double()).mean())


def roc_auc(y_true: Any, scores: Any) -> float:
    """Binary AUROC with tied scores counted half (identical to sklearn.metrics.roc_auc_score).

    Mann-Whitney form: (sum of the positives' average ranks - P(P+1)/2) / (P * N). NaN when only one class
    is present or a score is NaN.
    """
    yt = _t(y_true).reshape(-1) > 0.5
    s = _t(scores).reshape(-1).double()
    n_pos = int(yt.sum())
    n_neg = int(yt.numel()) - n_pos
    if n_pos == 0 or n_neg == 0 or bool(torch.isnan(s).any()):
        return math.nan
    sorted_s, order = torch.sort(s)
    _, inverse, counts = torch.unique_consecutive(sorted_s, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()  # 1-based rank of each tie group's last member
    avg_rank = ends - (counts.double() - 1.0) / 2.0
    rank_sum = avg_rank[inverse][yt[order]].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _reg(y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    yt, yp = _t(y_true).double(), _t(y_pred).double()
    if yt.dim() == 1:
        yt = yt.unsqueeze(1)
    yt = yt.reshape(yt.shape[0], -1)
    return yt, yp.reshape(yt.shape)


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error, per output then averaged (sklearn root_mean_squared_error)."""
    yt, yp = _reg(y_true, y_pred)
    return float((yt - yp).square().mean(dim=0).sqrt().mean())


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error, averaged over outputs (sklearn mean_absolute_error)."""
    yt, yp = _reg(y_true, y_pred)
    return float((yt - yp).abs().mean(dim=0).mean())


def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination, per output then averaged (sklearn r2_score, force_finite=True)."""
    yt, yp = _reg(y_true, y_pred)
    ss_res = (yt - yp).square().sum(dim=0)
    ss_tot = (yt - yt.mean(dim=0)).square().sum(dim=0)
    safe = ss_tot > 0
    score = torch.where(safe, 1.0 - ss_res / torch.where(safe, ss_tot, torch.ones_like(ss_tot)), 0.0)
    score = torch.where(~safe & (ss_res == 0), torch.ones_like(score), score)
    return float(score.mean())


def compute_metrics(task: str, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """Task metrics from raw model outputs (logits / predictions) and targets (unprefixed keys)."""
    check_task(task)
    outputs = outputs.detach()
    if task == "multiclass":
        pred = outputs.argmax(dim=1)
        yt = targets.reshape(-1).long()
        return {"accuracy": accuracy(yt, pred), "balanced_accuracy": balanced_accuracy(yt, pred)}
    if task == "binary":
        scores = outputs.reshape(-1)
        yt = (targets.reshape(-1) > 0.5).long()
        pred = (scores > 0).long()
        return {"accuracy": accuracy(yt, pred), "balanced_accuracy": balanced_accuracy(yt, pred),
                "auroc": roc_auc(yt, scores)}
    return {"rmse": rmse(targets, outputs), "mae": mae(targets, outputs), "r2": r2(targets, outputs)}


def add_original_units(metrics: dict[str, float], target_std: Any, prefix: str = "") -> dict[str, float]:
    """With one standardized regression target: rmse and mae also in the target's own units (`_original_units`);
    `prefix` "val_" for validation metrics."""
    if target_std is not None and len(target_std) == 1:
        metrics.update({f"{k}_original_units": metrics[k] * target_std[0]
                        for k in (prefix + "rmse", prefix + "mae") if k in metrics})
    return metrics


def predict(model: nn.Module, x: torch.Tensor, batch_size: int = DEFAULT_EVAL_BATCH_SIZE) -> torch.Tensor:
    """Model outputs for all of `x` in eval mode under inference_mode, in large batches."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            n = int(x.shape[0])
            if n <= batch_size:
                return model(x).float()  # float32 even under autocast (bf16/fp16 outputs)
            return torch.cat([model(x[i : i + batch_size]) for i in range(0, n, batch_size)]).float()
    finally:
        model.train(was_training)


def evaluate_tensors(model: nn.Module, x: torch.Tensor, targets: torch.Tensor, task: str, loss_fn: TaskLoss,
                     *, batch_size: int = DEFAULT_EVAL_BATCH_SIZE, prefix: str = "") -> dict[str, float]:
    """Loss and metrics on tensors already on the model's device; `targets` from `prepare_targets`."""
    outputs = predict(model, x, batch_size)
    with torch.inference_mode():
        loss = float(loss_fn(outputs, targets))
    metrics = {"loss": loss, **compute_metrics(task, outputs, targets)}
    return {f"{prefix}{k}": v for k, v in metrics.items()}


def evaluate(model: nn.Module, split: Split, task: str, *, training_cfg: Mapping[str, Any] | None = None,
             loss_fn: TaskLoss | None = None, device: torch.device | str | None = None,
             batch_size: int = DEFAULT_EVAL_BATCH_SIZE, prefix: str = "") -> dict[str, float]:
    """{"loss", <task metrics>} on any split (val, or the test split at finalize); the loss is the data loss
    of `training_cfg` (default: the task's auto loss), without penalties."""
    check_task(task)
    loss_fn = loss_fn or make_loss(training_cfg, task)
    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
    y = prepare_targets(split.y, task).to(device)
    return evaluate_tensors(model, split.x.to(device), y, task, loss_fn, batch_size=batch_size, prefix=prefix)
