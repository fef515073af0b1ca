"""Training: optimizers, schedules, losses, metrics and the fast, reporter-driven training loop."""

from automl._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "losses": ("DEFAULT_LOSS", "LOSSES", "LOSSES_BY_TASK", "TaskLoss", "activity_penalty", "make_loss",
               "penalized_weights", "prepare_targets", "resolve_loss_name", "weight_penalty"),
    "metrics": ("METRICS_BY_TASK", "accuracy", "balanced_accuracy", "compute_metrics", "evaluate",
                "evaluate_tensors", "mae", "predict", "r2", "rmse", "roc_auc"),
    "optimizers": ("OPTIMIZERS", "make_optimizer"),
    "reporter": ("Decision", "NullReporter", "RecordingReporter", "Reporter"),
    "schedules": ("PER_BATCH_SCHEDULES", "SCHEDULES", "is_per_batch", "make_scheduler"),
    "trainer": ("PRECISIONS", "STOP_REASONS", "TrainResult", "Trainer", "TrialFailed", "batch_bounds", "metric_keys",
                "resolve_device", "resolve_objective", "seed_everything", "set_num_threads", "train"),
})
