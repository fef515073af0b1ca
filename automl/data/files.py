"""Readers for CSV / TSV / Parquet tables and NPZ arrays (never unpickles: allow_pickle=False)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from automl.data.arrays import check_finite, to_input
from automl.data.config import DatasetConfig
from automl.data.errors import DataError, did_you_mean, listing
from automl.data.spec import InputKind, Task
from automl.data.targets import check_target_finite, encode_target, infer_task

SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".npz": "npz"}
_COMPRESSION = {".gz", ".bz2", ".zip", ".xz", ".zst"}
_DEFAULT_TARGETS = ("target", "label", "y", "class")
MAX_CATEGORIES = 1000


@dataclass
class RawData:
    """A file or built-in read into memory, before subsampling, splitting and standardization.

    Exactly one of `x` (converted input array) and `table` (feature columns, encoded after the split so
    categories and statistics come from the train rows) is set. When `fixed_test_start` is set, rows from
    that index on are the given test split (MNIST-1D's own test set, or an NPZ `x_test`/`y_test`).
    """

    name: str
    source: str
    format: str
    task: Task
    y: np.ndarray
    class_names: tuple[str, ...] = ()
    target: str | list[str] | None = None
    x: np.ndarray | None = None
    kind: InputKind = "flat"
    vocab_size: int = 0
    feature_names: tuple[str, ...] = ()
    table: pd.DataFrame | None = None
    split_values: np.ndarray | None = None
    fixed_test_start: int | None = None
    extra_info: dict = field(default_factory=dict)


def infer_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    suffix = suffixes[-2] if len(suffixes) >= 2 and suffixes[-1] in _COMPRESSION else (suffixes or [""])[-1]
    if suffix in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[suffix]
    raise DataError(str(path), f"unsupported file suffix {path.suffix or '(none)'!r}; supported: "
                    f"{listing(SUFFIX_FORMATS)} (CSV/TSV may be compressed: .gz, .bz2, .zip, .xz). "
                    "Set `format: csv|tsv|parquet|npz` to override", key="format")


def _check_columns(names: list[str], columns: list[str], *, source: str, field_name: str) -> None:
    for n in names:
        if n not in columns:
            raise DataError(source, f"{field_name} column {n!r} is not in the file; columns: {listing(columns)}."
                            f"{did_you_mean(n, columns)}", key=field_name)


def _check_npz_key(k: str | None, keys: list[str], *, source: str, field_name: str) -> None:
    if k is not None and k not in keys:
        raise DataError(source, f"{field_name} {k!r} is not a key of the NPZ; keys: {listing(keys)}."
                        f"{did_you_mean(k, keys)}", key=k)


# ---------------------------------------------------------------------------------------------- tables


def _read_table(path: Path, fmt: str, source: str) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path, sep="\t" if fmt == "tsv" else ",")
    except Exception as e:  # pandas/pyarrow raise many types: ParserError, ArrowInvalid, UnicodeDecodeError ...
        raise DataError(source, f"cannot read as {fmt}: {type(e).__name__}: {e}", key="format") from e
    if len(df) == 0 or df.shape[1] == 0:
        raise DataError(source, f"the {fmt} file has no rows or no columns (shape {df.shape})", key="path")
    df.columns = [str(c) for c in df.columns]
    dupes = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dupes:
        raise DataError(source, f"duplicate column names {dupes}; column names must be unique", key="columns")
    return df


def _column_values(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s.dtype) and not s.isna().any():
        return s.to_numpy(dtype=bool)
    if pd.api.types.is_integer_dtype(s.dtype) and not s.isna().any():
        return s.to_numpy(dtype=np.int64)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    return s.to_numpy(dtype=object)


def _is_categorical(s: pd.Series) -> bool:
    d, t = s.dtype, pd.api.types
    return bool(t.is_bool_dtype(d) or isinstance(d, pd.CategoricalDtype) or t.is_object_dtype(d)
                or t.is_string_dtype(d))


def read_table(path: Path, fmt: str, cfg: DatasetConfig, source: str) -> RawData:
    """CSV/TSV/Parquet -> RawData with the target encoded and the feature columns left raw."""
    if cfg.x_key or cfg.y_key:
        raise DataError(source, "x_key / y_key apply to NPZ files only; use target / features", key="x_key")
    if cfg.input not in ("auto", "flat"):
        raise DataError(source, f"input: {cfg.input} applies to NPZ arrays; a {fmt} table is read as flat features",
                        key="input")
    df = _read_table(path, fmt, source)
    columns = list(df.columns)

    target = cfg.target
    if target is None:
        found = [c for c in columns if c.lower() in _DEFAULT_TARGETS]
        if len(found) != 1:
            raise DataError(source, f"no `target` set and no single column named {list(_DEFAULT_TARGETS)}; "
                            f"columns: {listing(columns)}. Set `target: COLUMN`", key="target")
        target = found[0]
    targets = [target] if isinstance(target, str) else list(target)
    _check_columns(targets, columns, source=source, field_name="target")
    _check_columns(list(cfg.drop), columns, source=source, field_name="drop")
    split_col = cfg.split.column
    if split_col is not None:
        _check_columns([split_col], columns, source=source, field_name="split.column")

    reserved = set(targets) | set(cfg.drop) | ({split_col} if split_col else set())
    if cfg.features is not None:
        _check_columns(list(cfg.features), columns, source=source, field_name="features")
        clash = sorted(set(cfg.features) & reserved)
        if clash:
            raise DataError(source, f"features {clash} are also the target, dropped or the split column",
                            key="features")
        feats = list(cfg.features)
    else:
        feats = [c for c in columns if c not in reserved]
    if not feats:
        raise DataError(source, f"no feature columns left after removing target/drop/split from {columns}",
                        key="features")

    # target
    if len(targets) > 1:
        if cfg.task not in (None, "regression"):
            raise DataError(source, f"several target columns {targets} need task: regression, got task: {cfg.task}",
                            key="task")
        task: Task = "regression"
        values = np.stack([_column_values(df[t]) for t in targets], axis=1)
        if values.dtype == object:
            values = values.astype(object)
        key = ",".join(targets)
    else:
        key = targets[0]
        values = _column_values(df[key])
        check_target_finite(values, source=source, key=key)
        task = cfg.task or infer_task(values, source=source, key=key)
    y, class_names = encode_target(values, task, cfg.classes, source=source, key=key)

    # features: dtype checks and finiteness before any split
    table = df[feats]
    problems = []
    for c in feats:
        s = table[c]
        if _is_categorical(s):
            n_cat = s.nunique(dropna=True)
            if n_cat > MAX_CATEGORIES or (n_cat > 50 and n_cat > 0.5 * len(s)):
                raise DataError(source, f"feature column {c!r} is text/categorical with {n_cat} distinct values in "
                                f"{len(s)} rows (looks like an identifier); add it to `drop` or list `features` "
                                "explicitly", key=c)
        elif pd.api.types.is_numeric_dtype(s.dtype):
            v = s.to_numpy(dtype=np.float64, na_value=np.nan)
            n_nan, n_inf = int(np.isnan(v).sum()), int(np.isinf(v).sum())
            if n_nan or n_inf:
                problems.append(f"column {c!r} has {n_nan} NaN and {n_inf} inf")
        else:
            raise DataError(source, f"feature column {c!r} has unsupported dtype {s.dtype}; supported: numbers, "
                            "bool, text/category. Add it to `drop` or convert it", key=c)
    if problems:
        raise DataError(source, f"features must be finite: {'; '.join(problems)}. Fill or drop those rows, or "
                        "`drop` the columns", key="features")
    split_values = df[split_col].to_numpy(dtype=object) if split_col else None
    return RawData(name=path.name.split(".")[0], source=source, format=fmt, task=task, y=y, class_names=class_names,
                   target=target, table=table, split_values=split_values)


class TableEncoder:
    """Numeric columns standardized and categorical columns one-hot, both learned from the train rows only."""

    def __init__(self, standardize: bool = True) -> None:
        self.standardize = standardize
        self.numeric: list[str] = []
        self.mean: np.ndarray = np.zeros(0)
        self.std: np.ndarray = np.ones(0)
        self.categories: dict[str, list[str]] = {}
        self.columns: list[str] = []

    def fit(self, train: pd.DataFrame) -> TableEncoder:
        self.columns = list(train.columns)
        self.numeric = [c for c in self.columns if not _is_categorical(train[c])]
        if self.numeric:
            v = train[self.numeric].to_numpy(dtype=np.float64)
            self.mean = v.mean(axis=0) if self.standardize else np.zeros(len(self.numeric))
            std = v.std(axis=0) if self.standardize else np.ones(len(self.numeric))
            std[std < 1e-12] = 1.0
            self.std = std
        for c in self.columns:
            if c not in self.numeric:
                self.categories[c] = sorted(set(train[c].dropna().map(_cat_str).tolist()))
        return self

    @property
    def feature_names(self) -> list[str]:
        return [n for c in self.columns for n in ([f"{c}={v}" for v in self.categories[c]]
                                                   if c in self.categories else [c])]

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        blocks: list[np.ndarray] = []
        num_pos = {c: i for i, c in enumerate(self.numeric)}
        for c in self.columns:
            if c in self.categories:
                cats = self.categories[c]
                codes = pd.Index(cats, dtype=object).get_indexer(df[c].map(_cat_str, na_action="ignore")
                                                                 .to_numpy(dtype=object))
                block = np.zeros((len(df), len(cats)), dtype=np.float32)
                known = codes >= 0
                block[np.flatnonzero(known), codes[known]] = 1.0
                blocks.append(block)
            else:
                i = num_pos[c]
                v = df[c].to_numpy(dtype=np.float64)
                blocks.append((((v - self.mean[i]) / self.std[i]).astype(np.float32))[:, None])
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(df), 0), np.float32)

    def info(self) -> dict | None:
        from automl.data.arrays import standardization_info

        if not self.numeric or not self.standardize:
            return None
        out = standardization_info(self.numeric, self.mean, self.std, per="column")
        out["categorical"] = {c: len(v) for c, v in self.categories.items()}
        return out


def _cat_str(v: object) -> str:
    return str(bool(v)) if isinstance(v, (bool, np.bool_)) else str(v)


# ---------------------------------------------------------------------------------------------- npz


def _npz_get(npz: np.lib.npyio.NpzFile, key: str, source: str) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as e:
        if "pickle" in str(e).lower() or "object" in str(e).lower():
            raise DataError(source, f"array {key!r} is an object array (ragged arrays of different lengths, or "
                            "Python objects); it is never unpickled. Save it as one numeric array, padding sequences "
                            "to a common length (zero rows = padding)", key=key) from None
        raise DataError(source, f"cannot read array {key!r}: {e}", key=key) from e
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(source, f"cannot read array {key!r}: {type(e).__name__}: {e}", key=key) from e


def read_npz(path: Path, cfg: DatasetConfig, source: str) -> RawData:
    """NPZ with x/y arrays (optionally x_test/y_test) or one array per class -> RawData."""
    if cfg.features is not None or cfg.drop or cfg.target is not None:
        raise DataError(source, "target / features / drop apply to CSV/Parquet tables; an NPZ uses x_key / y_key",
                        key="target")
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        if "pickle" in str(e).lower():
            raise DataError(source, "is not an .npz (zip) archive; numpy could only read it by unpickling, which is "
                            "never done for data files. Save arrays with np.savez(path, x=..., y=...)",
                            key="path") from None
        raise DataError(source, f"not a readable .npz archive: {type(e).__name__}: {e}", key="path") from e
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(source, "holds a single array (.npy); save arrays with np.savez(x=..., y=...)", key="path")
    with npz:
        keys = list(npz.files)
        split_key = cfg.split.column
        _check_npz_key(split_key, keys, source=source, field_name="split.column")
        for fld in ("x_key", "y_key"):
            _check_npz_key(getattr(cfg, fld), keys, source=source, field_name=fld)
        xk = cfg.x_key or next((k for k in ("x", "X") if k in keys), None)
        yk = cfg.y_key or next((k for k in ("y", "Y") if k in keys), None)
        if xk is not None and yk is not None:
            return _npz_xy(npz, keys, xk, yk, path, cfg, source)
        if xk is not None or yk is not None:
            have, miss = (xk, "y (targets)") if xk is not None else (yk, "x (features)")
            raise DataError(source, f"NPZ has key {have!r} but no {miss} array; keys: {listing(keys)}. Expected "
                            "arrays x and y (or set x_key / y_key), or one array per class (every key a class name)",
                            key=have)
        return _npz_per_class(npz, [k for k in keys if k != split_key], path, cfg, source)


def _npz_raw(path: Path, cfg: DatasetConfig, source: str, x: np.ndarray, x_key: str, **fields: object) -> RawData:
    """RawData of an NPZ layout: `x` converted as `cfg.input` asks; `fields`: the layout's own."""
    x_in, kind, vocab = to_input(x, cfg.input, source=source, key=x_key)
    return RawData(name=path.name.split(".")[0], source=source, format="npz", x=x_in, kind=kind, vocab_size=vocab,
                   **fields)  # type: ignore[arg-type]


def _npz_xy(npz, keys, xk, yk, path: Path, cfg: DatasetConfig, source: str) -> RawData:
    x, y = _npz_get(npz, xk, source), _npz_get(npz, yk, source)
    used = {xk, yk}
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise DataError(source, f"arrays {xk!r} {x.shape} and {yk!r} {y.shape} must have the same first dimension",
                        key=yk)
    fixed_test_start = None
    xt_key = next((k for k in (f"{xk}_test", "x_test", "X_test") if k in keys), None)
    yt_key = next((k for k in (f"{yk}_test", "y_test", "Y_test") if k in keys), None)
    if xt_key and yt_key and cfg.split.column is None:
        xt, yt = _npz_get(npz, xt_key, source), _npz_get(npz, yt_key, source)
        if xt.shape[1:] != x.shape[1:] or yt.shape[1:] != y.shape[1:] or len(xt) != len(yt):
            raise DataError(source, f"test arrays {xt_key!r} {xt.shape} / {yt_key!r} {yt.shape} do not match "
                            f"{xk!r} {x.shape} / {yk!r} {y.shape}", key=xt_key)
        fixed_test_start = len(x)
        x, y = np.concatenate([x, xt]), np.concatenate([y, yt])
        used |= {xt_key, yt_key}
    split_values = None
    if cfg.split.column is not None:
        split_values = _npz_get(npz, cfg.split.column, source)
        used.add(cfg.split.column)
        if len(split_values) != len(x):
            raise DataError(source, f"split array {cfg.split.column!r} has {len(split_values)} entries, {xk!r} has "
                            f"{len(x)}", key=cfg.split.column)
    if y.dtype.kind not in "biufUS":
        raise DataError(source, f"target array {yk!r} has unsupported dtype {y.dtype}", key=yk)
    check_target_finite(y, source=source, key=yk)
    task = cfg.task or infer_task(y, source=source, key=yk)
    y_enc, class_names = encode_target(y, task, cfg.classes, source=source, key=yk)
    return _npz_raw(path, cfg, source, x, xk, task=task, y=y_enc, class_names=class_names, target=yk,
                    split_values=split_values, fixed_test_start=fixed_test_start,
                    extra_info={"layout": "x/y", "x_key": xk, "y_key": yk, "ignored_keys": sorted(set(keys) - used)})


def _npz_per_class(npz, keys: list[str], path: Path, cfg: DatasetConfig, source: str) -> RawData:
    if cfg.split.column is not None:
        raise DataError(source, "split.column needs the x/y layout; this NPZ holds one array per class",
                        key=cfg.split.column)
    if len(keys) < 2:
        raise DataError(source, f"NPZ keys {keys} are neither x/y arrays nor one array per class (needs at least two "
                        "class arrays); save np.savez(path, x=features, y=targets) or one array per class",
                        key=keys[0] if keys else "keys")
    if cfg.task == "regression":
        raise DataError(source, "one array per class means a classification task, not regression", key="task")
    if cfg.classes is not None:
        mapping = dict(cfg.classes)
        missing, extra = sorted(set(mapping) - set(keys)), sorted(set(keys) - set(mapping))
        if missing or extra:
            raise DataError(source, f"`classes` {mapping} does not match the NPZ keys {keys}: "
                            + (f"not in file: {missing}. " if missing else "")
                            + (f"not mapped: {extra}. " if extra else "") + "Map every array key to a class id",
                            key="classes")
    elif set(keys) == {"positives", "negatives"}:
        mapping = {"negatives": 0, "positives": 1}
    else:
        mapping = {k: i for i, k in enumerate(sorted(keys))}
    order = sorted(keys, key=lambda k: (mapping[k], k))
    arrays = {k: _npz_get(npz, k, source) for k in order}
    shapes = {k: a.shape for k, a in arrays.items()}
    if any(a.ndim == 0 for a in arrays.values()) or len({s[1:] for s in shapes.values()}) > 1:
        detail = ", ".join(f"{k!r}: {s}" for k, s in shapes.items())
        raise DataError(source, f"class arrays have different per-sample shapes ({detail}); an NPZ without x/y keys "
                        "is read as one array per class and every class array must be (N_k, *same sample shape): "
                        "pad sequences to a common length. If these are features and targets, name them x and y or "
                        "set x_key / y_key", key=order[0])
    for k, a in arrays.items():
        if a.dtype.kind not in "biuf":
            raise DataError(source, f"class array {k!r} has dtype {a.dtype}; features must be numbers", key=k)
        check_finite(a, source=source, key=k)
    empty = [k for k, a in arrays.items() if len(a) == 0]
    if empty:
        raise DataError(source, f"class arrays {empty} are empty", key=empty[0])
    x = np.concatenate([arrays[k] for k in order])
    y = np.concatenate([np.full(len(arrays[k]), mapping[k], np.int64) for k in order])
    k_classes = max(mapping.values()) + 1
    names = tuple("+".join(sorted(n for n, i in mapping.items() if i == c)) for c in range(k_classes))
    task: Task = cfg.task or ("binary" if k_classes == 2 else "multiclass")
    if task == "binary" and k_classes != 2:
        raise DataError(source, f"task is binary but the NPZ has {k_classes} classes {names}", key="task")
    return _npz_raw(path, cfg, source, x, "+".join(order), task=task, y=y, class_names=names, target=None,
                    extra_info={"layout": "one array per class", "class_keys": mapping})
