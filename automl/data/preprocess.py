"""The fitted preprocessing of a dataset, saved as JSON next to model.pt (never pickled), so raw rows can be
turned into model inputs after the search exactly as the train/val/test rows were.

Rules for rows given at prediction time (documented in the README):
- columns are selected by name; extra columns (the target, an id, dropped columns) are ignored, a missing
  feature column is an error naming it;
- numeric columns are standardized with the train means/stds; NaN/inf is an error;
- a categorical value never seen in the train rows encodes as all zeros (as validation/test rows did during
  the search); `unseen="error"` refuses it instead.

Torch-free: `automl predict` and the API import it before the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.space.errors import UserInputError

PREPROCESSOR_FILE = "preprocessor.json"
FORMAT_VERSION = 1
UNSEEN_RULES = ("zeros", "error")


@dataclass
class Preprocessor:
    """Everything needed to encode raw rows and decode outputs; plain JSON data."""

    kind: str  # "table" (CSV/Parquet columns) | "array" (NPZ / built-in arrays)
    task: str
    input_kind: str
    input_shape: list[int]
    class_names: list[str] = field(default_factory=list)
    target: str | list[str] | None = None
    target_standardization: dict[str, list[float]] | None = None
    # table
    columns: list[str] = field(default_factory=list)  # raw feature columns, in model order
    numeric: list[str] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)  # table: per numeric column
    std: list[float] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)
    # array
    feature_names: list[str] = field(default_factory=list)  # flat arrays with named columns (built-ins)
    array_mean: list | None = None  # nested lists, broadcastable over (N, *input_shape); None: not standardized
    array_std: list | None = None
    format_version: int = FORMAT_VERSION

    # ------------------------------------------------------------------------------------------ (de)serialize
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Preprocessor:
        version = d.get("format_version")
        if version != FORMAT_VERSION:
            raise UserInputError(f"{PREPROCESSOR_FILE} has format_version {version!r}; this automl reads "
                                 f"version {FORMAT_VERSION}. Finalize the run again with this version.")
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def save(self, run_dir: Path) -> Path:
        path = Path(run_dir) / PREPROCESSOR_FILE
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, run_dir: Path) -> Preprocessor:
        path = Path(run_dir) / PREPROCESSOR_FILE
        if not path.exists():
            raise UserInputError(f"Run {run_dir} has no {PREPROCESSOR_FILE}: it was not finalized, or by an "
                                 "automl older than the saved preprocessing. Run `automl finalize RUN` (add "
                                 "--again if its test split was already read).")
        return cls.from_dict(json.loads(path.read_text()))

    # ------------------------------------------------------------------------------------------ encode
    def transform(self, x: Any, *, unseen: str = "zeros") -> np.ndarray:
        """Raw rows (DataFrame, array, or a CSV/TSV/Parquet/NPZ path) -> model inputs (float32, or int64 tokens)."""
        if unseen not in UNSEEN_RULES:
            raise UserInputError(f"unseen={unseen!r} is not a rule for unseen categories; allowed: "
                                 f"{', '.join(UNSEEN_RULES)}.")
        if isinstance(x, (str, Path)):
            x = read_rows(Path(x))
        if self.kind == "table":
            return self._table(x, unseen)
        return self._array(x)

    def _table(self, x: Any, unseen: str) -> np.ndarray:
        from automl.data.files import TableEncoder, _cat_str

        if isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[1] == len(self.columns):
            x = pd.DataFrame(x, columns=self.columns)
        if not isinstance(x, pd.DataFrame):
            raise UserInputError(f"rows to predict must be a pandas DataFrame (or a CSV/Parquet file) with the "
                                 f"columns {self.columns}; got {type(x).__name__}.")
        df = x.copy()
        df.columns = [str(c) for c in df.columns]
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise UserInputError(f"the rows lack feature column(s) {missing} that the model was trained on; "
                                 f"needed: {self.columns} (other columns are ignored).")
        for c in self.numeric:
            if not pd.api.types.is_numeric_dtype(df[c].dtype) or pd.api.types.is_bool_dtype(df[c].dtype):
                raise UserInputError(f"column {c!r} must be numeric (as in the training data), got dtype "
                                     f"{df[c].dtype}.")
            v = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
            bad = np.flatnonzero(~np.isfinite(v))
            if len(bad):
                raise UserInputError(f"column {c!r} has {len(bad)} NaN/inf value(s) (first at row {int(bad[0])}); "
                                     "numeric features must be finite, as in the training data.")
        for c, cats in self.categories.items():
            seen = df[c].map(_cat_str, na_action="ignore")
            new = sorted(set(seen.dropna().tolist()) - set(cats))
            if new and unseen == "error":
                raise UserInputError(f"column {c!r} has value(s) {new[:10]} never seen in the train rows; known: "
                                     f"{cats}. With unseen='zeros' they encode as all zeros.")
        enc = TableEncoder(standardize=True)
        enc.columns, enc.numeric, enc.categories = list(self.columns), list(self.numeric), dict(self.categories)
        enc.mean, enc.std = np.asarray(self.mean, np.float64), np.asarray(self.std, np.float64)
        return enc.transform(df[self.columns])

    def _array(self, x: Any) -> np.ndarray:
        if isinstance(x, pd.DataFrame):
            cols = [str(c) for c in x.columns]
            if self.feature_names:
                missing = [c for c in self.feature_names if c not in cols]
                if missing:
                    raise UserInputError(f"the rows lack feature column(s) {missing}; needed: {self.feature_names}.")
                x = x.set_axis(cols, axis=1)[self.feature_names]
            x = x.to_numpy(dtype=np.float64)
        elif isinstance(x, Mapping):  # an NPZ read as a dict
            key = next((k for k in ("x", "X") if k in x), None)
            if key is None:
                raise UserInputError(f"the NPZ has no x array; keys: {sorted(x)}.")
            x = x[key]
        arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise UserInputError(f"inputs must be numbers, got dtype {arr.dtype}.")
        shape = tuple(self.input_shape)
        if tuple(arr.shape[1:]) != shape:
            if self.input_kind == "sequence" and len(shape) == 2 and shape[0] == 1 and arr.shape[1:] == shape[1:]:
                arr = arr[:, None, :]
            else:
                raise UserInputError(f"inputs have per-row shape {tuple(arr.shape[1:])}; the model takes {shape}.")
        if self.input_kind == "tokens":
            return arr.astype(np.int64)
        if not np.isfinite(arr).all():
            raise UserInputError("inputs have NaN/inf values; they must be finite, as in the training data.")
        if self.array_mean is not None and self.array_std is not None:
            from automl.data.arrays import apply_standardizer

            return apply_standardizer(arr, np.asarray(self.array_mean), np.asarray(self.array_std))
        return arr.astype(np.float32)

    # ------------------------------------------------------------------------------------------ decode
    def target_values(self, y: Any) -> np.ndarray:
        """Targets as the model's task sees them: class ids (by class name) or float values (N, k)."""
        arr = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
        if self.task == "regression":
            return arr.astype(np.float64).reshape(len(arr), -1)
        from automl.data.targets import label_str

        index = {n: i for i, n in enumerate(self.class_names)}
        labels = [label_str(v) for v in arr.reshape(-1).tolist()]
        unknown = sorted(set(labels) - set(index))
        if unknown and len(unknown) == len(set(labels)) and arr.dtype.kind in "iu" and arr.size \
                and arr.min() >= 0 and arr.max() < len(index):  # class ids, as a built-in's y holds them
            return arr.reshape(-1).astype(np.int64)
        if unknown:
            raise UserInputError(f"y has label(s) {unknown[:10]} that are not classes of this model; classes: "
                                 f"{self.class_names}.")
        return np.array([index[v] for v in labels], dtype=np.int64)

    def labels(self) -> np.ndarray:
        """Class labels as the user's target held them: integers when every class name is one (a 0/1/2
        column), else the label text. The README documents this rule."""
        names = list(self.class_names)
        if names and all(n.lstrip("-").isdigit() and str(int(n)) == n for n in names):
            return np.array([int(n) for n in names], dtype=np.int64)
        return np.array(names, dtype=object)

    def decode_regression(self, outputs: np.ndarray) -> np.ndarray:
        """Model outputs (in target std units when standardized) -> the target's own units."""
        out = outputs.astype(np.float64).reshape(len(outputs), -1)
        ts = self.target_standardization
        if ts:
            out = out * np.asarray(ts["std"]) + np.asarray(ts["mean"])
        return out

    def target_columns(self) -> list[str]:
        if isinstance(self.target, list):
            return [str(t) for t in self.target]
        return [str(self.target) if self.target else "prediction"]


def write_preprocessor(run_dir: Path, preprocessor: Mapping[str, Any] | None) -> Path | None:
    """Finalize's one call: the dataset's fitted encoding as run_dir/preprocessor.json (None: nothing to save)."""
    return None if preprocessor is None else Preprocessor.from_dict(preprocessor).save(run_dir)


def read_rows(path: Path) -> Any:
    """A CSV/TSV/Parquet file as a DataFrame, or an NPZ as {key: array} (never unpickled)."""
    from automl.data.errors import DataError
    from automl.data.files import _read_table, infer_format

    if not path.is_file():
        raise UserInputError(f"file {str(path)!r} not found; give a CSV, TSV, Parquet or NPZ file of rows.")
    fmt = infer_format(path, None)
    if fmt == "npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as e:
            raise DataError(str(path), f"not a readable .npz of numeric arrays: {e}", key="path") from e
    return _read_table(path, fmt, str(path))


def table_preprocessor(encoder: Any, *, task: str, input_shape: Sequence[int], class_names: Sequence[str],
                       target: Any, drop: Sequence[str], target_standardization: dict | None) -> Preprocessor:
    """From the fitted TableEncoder of `load_dataset` (numeric stats are 0/1 when not standardized)."""
    n = len(encoder.numeric)
    mean = np.asarray(encoder.mean, np.float64).reshape(-1) if n else np.zeros(0)
    std = np.asarray(encoder.std, np.float64).reshape(-1) if n else np.ones(0)
    return Preprocessor(kind="table", task=task, input_kind="flat", input_shape=[int(d) for d in input_shape],
                        class_names=list(class_names), target=target,
                        target_standardization=target_standardization, columns=list(encoder.columns),
                        numeric=list(encoder.numeric), mean=mean.tolist(), std=std.tolist(),
                        categories={c: list(v) for c, v in encoder.categories.items()}, drop=list(drop))


def array_preprocessor(*, task: str, input_kind: str, input_shape: Sequence[int], class_names: Sequence[str],
                       target: Any, feature_names: Sequence[str], mean: np.ndarray | None, std: np.ndarray | None,
                       target_standardization: dict | None) -> Preprocessor:
    """For NPZ and built-in arrays: the shape, and the per-column/per-channel standardization if any."""
    return Preprocessor(kind="array", task=task, input_kind=input_kind, input_shape=[int(d) for d in input_shape],
                        class_names=list(class_names), target=target if isinstance(target, (str, list)) else None,
                        target_standardization=target_standardization, feature_names=list(feature_names),
                        array_mean=None if mean is None else np.asarray(mean, np.float64).tolist(),
                        array_std=None if std is None else np.asarray(std, np.float64).tolist())
