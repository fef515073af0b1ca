"""Names the space language accepts. Kept free of torch so validating a file stays fast;
tests check that models/ and training/ implement exactly these."""

from __future__ import annotations

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "selu", "silu", "tanh", "sigmoid", "mish", "softplus", "identity")
INITIALIZERS = (
    "default", "glorot_uniform", "glorot_normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal",
    "kaiming_uniform", "kaiming_normal", "lecun_normal", "lecun_uniform", "orthogonal", "normal", "uniform",
)
OPTIMIZERS = ("sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw", "adamax", "nadam")
SCHEDULES = ("none", "step", "exponential", "inverse_time", "linear", "cosine", "one_cycle", "cosine_restarts")
LOSSES = ("auto", "cross_entropy", "bce", "mse", "mae", "huber")
LOSSES_BY_TASK = {  # the losses (besides "auto") each task trains with; the validator checks loss against task
    "binary": ("bce",),
    "multiclass": ("cross_entropy",),
    "regression": ("mse", "mae", "huber"),
}
FAMILIES = ("mlp", "cnn")
POOLS = ("none", "max", "avg")
GLOBAL_POOLS = ("flatten", "avg", "max")
PADDINGS = ("same", "valid")
TASKS = ("binary", "multiclass", "regression")

CLASSIFICATION_METRICS = ("val_accuracy", "val_balanced_accuracy", "val_loss")
BINARY_METRICS = (*CLASSIFICATION_METRICS, "val_auroc")
REGRESSION_METRICS = ("val_rmse", "val_mae", "val_r2", "val_loss")
MINIMIZED_METRICS = ("val_loss", "val_rmse", "val_mae")


def metrics_for(task: str | None) -> tuple[str, ...]:
    if task == "regression":
        return REGRESSION_METRICS
    if task == "binary":
        return BINARY_METRICS
    if task == "multiclass":
        return CLASSIFICATION_METRICS
    return tuple(dict.fromkeys(BINARY_METRICS + REGRESSION_METRICS))


def default_direction(metric: str) -> str:
    return "minimize" if metric in MINIMIZED_METRICS else "maximize"
