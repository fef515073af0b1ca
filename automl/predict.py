"""A finalized run as a model you can call: raw rows in (DataFrame or CSV/Parquet/NPZ path), labels,
probabilities or values out, through the preprocessing saved with the model (preprocessor.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.data.preprocess import Preprocessor
from automl.space.errors import UserInputError


def _report(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "report.json"
    if not path.exists() or not (run_dir / "model.pt").exists():
        raise UserInputError(f"Run {run_dir} is not finalized (no report.json/model.pt): run `automl finalize "
                             f"{run_dir}` or `run.finalize()` first.")
    return json.loads(path.read_text())


class FittedModel:
    """The finalized winner of a run: its `nn.Module` plus the saved encoding of raw rows and outputs."""

    def __init__(self, module: Any, preprocessor: Preprocessor, report: dict[str, Any], run_dir: Path) -> None:
        self.module, self.preprocessor, self.report, self.run_dir = module, preprocessor, report, run_dir

    @property
    def task(self) -> str:
        return self.preprocessor.task

    @property
    def class_names(self) -> list[str]:
        return list(self.preprocessor.class_names)

    def inputs(self, x: Any, *, unseen: str = "zeros") -> Any:
        """Raw rows -> the model's input tensor (the same selection, standardization, one-hot as in training)."""
        import torch

        return x if isinstance(x, torch.Tensor) else torch.from_numpy(self.preprocessor.transform(x, unseen=unseen))

    def outputs(self, x: Any, *, unseen: str = "zeros") -> np.ndarray:
        """Raw model outputs (logits, or regression values in standardized units when the target was scaled)."""
        from automl.training import predict

        return predict(self.module, self.inputs(x, unseen=unseen)).cpu().numpy()

    def _proba(self, out: np.ndarray) -> np.ndarray:
        if self.task == "binary":
            p = 1.0 / (1.0 + np.exp(-out.reshape(-1).astype(np.float64)))
            return np.stack([1.0 - p, p], axis=1)
        z = out.astype(np.float64)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def _labels(self, out: np.ndarray) -> np.ndarray:
        ids = (out.reshape(-1) > 0).astype(int) if self.task == "binary" else out.argmax(axis=1)
        return self.preprocessor.labels()[ids]

    def predict(self, x: Any, *, unseen: str = "zeros") -> np.ndarray:
        """Class labels (the original label text) or regression values in the target's own units."""
        out = self.outputs(x, unseen=unseen)
        if self.task == "regression":
            vals = self.preprocessor.decode_regression(out)
            return vals[:, 0] if vals.shape[1] == 1 else vals
        return self._labels(out)

    def predict_proba(self, x: Any, *, unseen: str = "zeros") -> np.ndarray:
        """(N, classes) probabilities, columns in `class_names` order; classification only."""
        if self.task == "regression":
            raise UserInputError("predict_proba applies to classification; this model is a regression model "
                                 "(use predict).")
        return self._proba(self.outputs(x, unseen=unseen))

    def evaluate(self, x: Any, y: Any, *, unseen: str = "zeros") -> dict[str, float]:
        """The task's metrics on labelled rows, computed as finalize computes the report's test figures."""
        import torch

        from automl.training.metrics import add_original_units, compute_metrics

        out = torch.from_numpy(self.outputs(x, unseen=unseen))
        target = self.preprocessor.target_values(y)
        if len(target) != len(out):
            raise UserInputError(f"y has {len(target)} rows but X has {len(out)}.")
        if self.task == "regression":
            ts = self.preprocessor.target_standardization
            scaled = (target - np.asarray(ts["mean"])) / np.asarray(ts["std"]) if ts else target
            metrics = compute_metrics(self.task, out, torch.from_numpy(scaled.astype(np.float32)))
            return add_original_units(metrics, ts["std"] if ts else None)
        return compute_metrics(self.task, out, torch.from_numpy(target))

    def predict_frame(self, x: Any, *, id_column: str | None = None, unseen: str = "zeros") -> pd.DataFrame:
        """Predictions as a table in the rows' order: [id,] prediction and one probability column per class
        (classification), or one column per regression target."""
        rows = x
        if isinstance(x, (str, Path)):
            from automl.data.preprocess import read_rows

            rows = read_rows(Path(x))
        frame = pd.DataFrame()
        if id_column is not None:
            if not isinstance(rows, pd.DataFrame) or id_column not in rows.columns:
                have = list(rows.columns) if isinstance(rows, pd.DataFrame) else "none (not a table)"
                raise UserInputError(f"--id-column {id_column!r} is not a column of the rows; columns: {have}.")
            frame[id_column] = rows[id_column].to_numpy()
        out = self.outputs(rows, unseen=unseen)
        if self.task == "regression":
            vals = self.preprocessor.decode_regression(out)
            names = self.preprocessor.target_columns()
            if len(names) != vals.shape[1]:
                names = [f"prediction_{i}" for i in range(vals.shape[1])]
            for i, n in enumerate(names):
                frame[f"predicted_{n}" if n == id_column else n] = vals[:, i]
            return frame
        frame["prediction"] = self._labels(out)
        proba = self._proba(out)
        for i, n in enumerate(self.class_names):
            frame[f"proba_{n}"] = proba[:, i]
        return frame

    def __repr__(self) -> str:
        return f"FittedModel(run={str(self.run_dir)!r}, task={self.task!r}, classes={self.class_names})"


def load_model(run: Any, *, device: str = "cpu") -> FittedModel:
    """The finalized model of a run (a Run, a RunInfo, a run directory or a study name under results/)."""
    import torch

    from automl.data.spec import DataSpec
    from automl.models import build_model

    run_dir = _run_dir(run)
    report = _report(run_dir)
    prep = Preprocessor.load(run_dir)
    d = report["data"]
    spec = DataSpec(name=d["name"], task=d["task"], input_kind=d["input_kind"],
                    input_shape=tuple(int(v) for v in d["input_shape"]), n_classes=int(d["n_classes"]),
                    n_outputs=int(d["n_outputs"]), vocab_size=int(d.get("vocab_size", 0)),
                    class_names=tuple(d.get("class_names", ())))
    module = build_model(report["best"]["config"], spec)
    weights = run_dir / report.get("weights", {}).get("path", "model.pt")
    state = torch.load(weights, weights_only=True, map_location=device)
    module.load_state_dict(state)
    module.to(device).eval()
    return FittedModel(module, prep, report, run_dir)


def _run_dir(run: Any) -> Path:
    from automl.store.run import load_run

    if hasattr(run, "run_dir"):
        return Path(run.run_dir)
    if hasattr(run, "info"):
        return Path(run.info.run_dir)
    return load_run(run).run_dir
