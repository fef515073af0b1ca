"""Task inference and target encoding (class ids 0..k-1 with names, or float regression targets)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from automl.data.errors import DataError, listing
from automl.data.spec import Task

MAX_INFERRED_CLASSES = 20  # int-like targets with more distinct values are ambiguous without `task`


def label_str(v: object) -> str:
    """Canonical text of a label value: 1.0 -> '1', True -> 'True', 'a' -> 'a'."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (np.integer,)):
        return str(int(v))
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def _missing_mask(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return ~np.isfinite(values)
    if values.dtype.kind == "O":
        return np.asarray(pd.isna(values), dtype=bool)
    return np.zeros(values.shape, dtype=bool)


def check_target_finite(values: np.ndarray, *, source: str, key: str) -> None:
    bad = _missing_mask(values)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(len(values), -1).any(axis=1))
        raise DataError(
            source, f"target {key!r} has {int(bad.sum())} missing/NaN/inf value(s) (rows {rows[:10].tolist()}"
            f"{' ...' if len(rows) > 10 else ''}); remove those rows or fill them", key=key)


def _uniques(values: np.ndarray) -> np.ndarray:
    try:
        return np.unique(values)
    except TypeError:  # mixed python objects
        return np.unique(np.array([label_str(v) for v in values], dtype=str))


def infer_task(values: np.ndarray, *, source: str, key: str) -> Task:
    """binary / multiclass / regression from a 1-D target; DataError when it cannot be decided."""
    if values.ndim == 2 and values.shape[1] > 1:
        return "regression"
    values = values.reshape(len(values))
    uniq = _uniques(values)
    n_uniq = len(uniq)
    if n_uniq < 2:
        shown = label_str(uniq[0]) if n_uniq else "nothing"
        raise DataError(
            source, f"target {key!r} has a single value ({shown!r}) in all {len(values)} rows; a model needs at least "
            "two classes (or a varying regression target)", key=key)
    kind = values.dtype.kind
    if kind == "b" or n_uniq == 2:
        return "binary"
    if kind in "OUS":
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in uniq.tolist()):
            return _numeric_task(uniq.astype(float), source, key, is_float=True)
        if n_uniq > 0.5 * len(values) and len(values) > 20:
            raise DataError(
                source, f"target {key!r} has {n_uniq} distinct text values in {len(values)} rows, which looks like an "
                "identifier rather than a class; pick another target or set task: multiclass", key=key)
        return "multiclass"
    return _numeric_task(uniq.astype(float), source, key, is_float=kind == "f")


def _numeric_task(uniq: np.ndarray, source: str, key: str, *, is_float: bool) -> Task:
    n_uniq = len(uniq)
    integral = bool(np.all(np.mod(uniq, 1) == 0))
    if n_uniq == 2:
        return "binary"
    if integral and n_uniq <= MAX_INFERRED_CLASSES:
        return "multiclass"
    if n_uniq > MAX_INFERRED_CLASSES and (is_float or not integral):
        return "regression"
    if integral:
        raise DataError(source, f"cannot infer the task from integer target {key!r} with {n_uniq} distinct values "
                        f"(more than {MAX_INFERRED_CLASSES}, too many to assume class labels); "
                        "set task: multiclass or task: regression", key=key)
    raise DataError(
        source, f"cannot infer the task from target {key!r}: only {n_uniq} distinct non-integer values "
        f"({listing([label_str(u) for u in uniq[:10]])}); set task: multiclass or task: regression", key=key)


def encode_classes(
    values: np.ndarray,
    task: Task,
    classes: Mapping[str, int] | None,
    *,
    source: str,
    key: str,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """int64 class ids (N,) and class names, by `classes` mapping or sorted unique values."""
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise DataError(
            source, f"target {key!r} has shape {values.shape}; a {task} target must be one label per sample",
            key=key)
    text = np.array([label_str(v) for v in values.tolist()], dtype=object)
    if classes is not None:
        unknown = sorted(set(text.tolist()) - set(classes))
        if unknown:
            raise DataError(source,
                            f"target {key!r} has values {listing(unknown, 10)} that the `classes` mapping does not "
                            f"list; mapped values: {listing(classes)}", key=key)
        y = np.array([classes[t] for t in text.tolist()], dtype=np.int64)
        k = max(classes.values()) + 1
        names = tuple("+".join(sorted(n for n, i in classes.items() if i == c)) for c in range(k))
    else:
        uniq = _uniques(values)
        names = tuple(label_str(u) for u in uniq.tolist())
        if len(set(names)) != len(names):  # e.g. 1 and 1.0 -> same text
            uniq_text = sorted(set(names))
            names = tuple(uniq_text)
        index = {n: i for i, n in enumerate(names)}
        y = np.array([index[t] for t in text.tolist()], dtype=np.int64)
        k = len(names)
    present = np.unique(y)
    if len(present) < 2:
        raise DataError(
            source, f"target {key!r} has a single class ({names[int(present[0])]!r}) in all {len(y)} rows; "
            "a classifier needs at least two", key=key)
    if task == "binary" and k != 2:
        raise DataError(source, f"task is binary but target {key!r} has {k} classes ({listing(names, 10)}); "
                        "set task: multiclass or map the values with `classes`", key=key)
    return y, names


def encode_regression(values: np.ndarray, *, source: str, key: str) -> np.ndarray:
    """float32 (N, n_outputs) regression targets."""
    try:
        y = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        sample = next((v for v in values.reshape(-1).tolist() if not isinstance(v, (int, float))), None)
        raise DataError(source, f"task is regression but target {key!r} is not numeric (e.g. {sample!r}); "
                        "set task: binary or task: multiclass", key=key) from None
    check_target_finite(y, source=source, key=key)
    if y.ndim == 1:
        y = y[:, None]
    elif y.ndim > 2:
        y = y.reshape(len(y), -1)
    if np.all(y.std(axis=0) == 0):
        raise DataError(source, f"regression target {key!r} is constant ({y[0].tolist()})", key=key)
    return y.astype(np.float32)


def encode_target(
    values: np.ndarray, task: Task, classes: Mapping[str, int] | None, *, source: str, key: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Targets for `task`: float regression values, or class ids 0..k-1 with their names (every file format)."""
    if task == "regression":
        if classes is not None:
            raise DataError(source, "`classes` applies to classification targets, but task is regression",
                            key="classes")
        return encode_regression(values, source=source, key=key), ()
    y, class_names = encode_classes(values, task, classes, source=source, key=key)
    if task == "binary" and len(class_names) != 2:
        raise DataError(source, f"binary target {key!r} needs 2 classes, got {class_names}", key="task")
    return y, class_names
