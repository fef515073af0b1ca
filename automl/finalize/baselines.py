"""What the obvious models score on the same split, so a report shows whether the network beats them.

* `trivial`: the majority class (classification) or the training mean (regression);
* `linear`: logistic regression / ridge (scikit-learn) on the flattened, train-standardized inputs.

Both are fitted on the training split only and scored with the very metric code the searched model uses
(`compute_metrics` + the task's default loss), on validation and on the one test read of finalize.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
import torch

from automl.data.dataset import Split

BASELINES = ("trivial", "linear")
_EPS = 1e-7


def _flat(split: Split) -> np.ndarray:
    return split.x.reshape(len(split), -1).double().numpy()


def _labels(split: Split) -> np.ndarray:
    return split.y.reshape(-1).long().numpy()


def _outputs(task: str, proba_or_pred: np.ndarray) -> torch.Tensor:
    """Model-like raw outputs (logits for classification, predictions for regression)."""
    if task == "regression":
        return torch.as_tensor(proba_or_pred, dtype=torch.float32).reshape(len(proba_or_pred), -1)
    p = np.clip(proba_or_pred, _EPS, 1 - _EPS)
    if task == "binary":
        return torch.as_tensor(np.log(p[:, 1] / p[:, 0]), dtype=torch.float32).reshape(-1, 1)
    return torch.as_tensor(np.log(p), dtype=torch.float32)


class _Baseline:
    def __init__(self, name: str, task: str, n_classes: int) -> None:
        self.name, self.task, self.n_classes = name, task, n_classes
        self.model: Any = None
        self.prior: np.ndarray | None = None
        self.mean: np.ndarray | None = None
        self.description = ""

    def fit(self, train: Split) -> _Baseline:
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.name == "trivial":
            if self.task == "regression":
                self.mean = train.y.double().numpy().reshape(len(train), -1).mean(axis=0)
                self.description = "predicts the training mean"
            else:
                counts = np.bincount(_labels(train), minlength=max(self.n_classes, 2)).astype(float)
                self.prior = counts / counts.sum()
                self.description = f"predicts the majority class ({int(self.prior.argmax())}) with the training prior"
            return self
        x = _flat(train)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings on tiny splits; the scores say enough
            if self.task == "regression":
                self.model = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(
                    x, train.y.double().numpy().reshape(len(train), -1))
                self.description = "ridge regression (alpha 1) on standardized flattened inputs"
            else:
                self.model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)).fit(
                    x, _labels(train))
                self.description = "logistic regression (C 1, L2) on standardized flattened inputs"
        return self

    def outputs(self, split: Split) -> torch.Tensor:
        n = len(split)
        if self.name == "trivial":
            return _outputs(self.task, np.tile(self.mean if self.task == "regression" else self.prior, (n, 1)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.task == "regression":
                return _outputs(self.task, self.model.predict(_flat(split)))
            proba = self.model.predict_proba(_flat(split))
        full = np.zeros((n, max(self.n_classes, 2)))
        full[:, self.model.classes_] = proba  # classes absent from train get probability ~0
        return _outputs(self.task, full)


def _score(b: _Baseline, split: Split, task: str, target_std: list[float] | None) -> dict[str, float]:
    from automl.training import add_original_units, compute_metrics, make_loss, prepare_targets

    out = b.outputs(split)
    y = prepare_targets(split.y, task)
    metrics = add_original_units({"loss": float(make_loss(None, task)(out, y)), **compute_metrics(task, out, y)},
                                 target_std)
    return {k: (float(v) if v is not None and math.isfinite(v) else None) for k, v in metrics.items()}


def fit_baselines(train: Split, task: str, n_classes: int) -> list[_Baseline]:
    return [_Baseline(name, task, n_classes).fit(train) for name in BASELINES]


def score_baselines(baselines: list[_Baseline], val: Split, test: Split, task: str,
                    target_std: list[float] | None = None) -> list[dict[str, Any]]:
    """Validation and test metrics of each fitted baseline (test: the split finalize read once)."""
    out = []
    for b in baselines:
        t0 = time.perf_counter()
        out.append({"name": b.name, "model": b.description,
                    "val_metrics": {f"val_{k}": v for k, v in _score(b, val, task, target_std).items()},
                    "test_metrics": _score(b, test, task, target_std),
                    "seconds": round(time.perf_counter() - t0, 3)})
    return out
