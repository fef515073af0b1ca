"""What each task reports and which way is better; torch-free, so validating a space's objective loads no
torch."""

from __future__ import annotations

TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")  # --precision (autocast; fp16 needs CUDA)

# Validation metrics besides the loss (unprefixed; the trainer reports them as `val_<key>`).
METRICS_BY_TASK: dict[str, tuple[str, ...]] = {
    "binary": ("accuracy", "balanced_accuracy", "auroc"),
    "multiclass": ("accuracy", "balanced_accuracy"),
    "regression": ("rmse", "mae", "r2"),
}
MINIMIZED_METRICS: frozenset[str] = frozenset({"loss", "rmse", "mae"})


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; allowed: {', '.join(TASKS)}")
    return task


def metrics_for(task: str | None) -> tuple[str, ...]:
    """The objective metrics a task offers (every task's when it is not known yet)."""
    tasks = (task,) if task in TASKS else TASKS
    return tuple(dict.fromkeys(f"val_{m}" for t in tasks for m in (*METRICS_BY_TASK[t], "loss")))


def default_direction(metric: str) -> str:
    return "minimize" if metric.removeprefix("val_").removeprefix("train_") in MINIMIZED_METRICS else "maximize"
