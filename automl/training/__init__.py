"""Training: optimizers, schedules, losses, metrics and the fast, reporter-driven training loop."""

from automl._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "losses": ("DEFAULT_LOSS", "LOSSES", "LOSSES_BY_TASK", "TaskLoss", "make_loss", "prepare_targets",
               "resolve_loss_name"),
    "metrics": ("accuracy", "add_original_units", "balanced_accuracy", "compute_metrics", "evaluate",
                "evaluate_tensors", "mae", "predict", "r2", "rmse", "roc_auc"),
    "optimizers": ("OPTIMIZERS", "make_optimizer"),
    "penalties": ("activity_penalty", "penalized_weights", "weight_penalty"),
    "reporter": ("Decision", "NullReporter", "RecordingReporter", "Reporter"),
    "schedules": ("PER_BATCH_SCHEDULES", "SCHEDULES", "is_per_batch", "make_scheduler"),
    "tasks": ("METRICS_BY_TASK", "TASKS", "check_task", "default_direction", "metrics_for"),
    "trainer": ("PRECISIONS", "STOP_REASONS", "TrainResult", "Trainer", "TrialFailed", "batch_bounds", "metric_keys",
                "resolve_device", "resolve_objective", "seed_everything", "set_num_threads", "train"),
})
