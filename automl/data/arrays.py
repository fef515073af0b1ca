"""Feature arrays -> model inputs (flat / image / sequence / tokens), finiteness checks, standardization."""

from __future__ import annotations

import numpy as np

from automl.data.errors import DataError
from automl.data.spec import InputKind

_CHANNELS = (1, 3, 4)
MAX_INFO_COLUMNS = 64  # standardization statistics recorded in Dataset.info are truncated to this many


def check_finite(x: np.ndarray, *, source: str, key: str) -> None:
    """DataError naming the array and how many NaN/inf values it holds (float arrays only)."""
    if x.dtype.kind not in "fc":
        return
    n_nan, n_inf = int(np.isnan(x).sum()), int(np.isinf(x).sum())
    if n_nan or n_inf:
        bad_rows = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
        raise DataError(source, f"array {key!r} has {n_nan} NaN and {n_inf} inf value(s) in {len(bad_rows)} "
                        f"sample(s) (first at sample {int(bad_rows[0])}); features must be finite: fill or drop them",
                        key=key)


def is_one_hot(x: np.ndarray) -> bool:
    """True when every entry is 0/1 and every row along the last axis sums to 0 or 1."""
    if x.dtype.kind not in "biuf" or x.size == 0 or not np.isin(x, (0, 1)).all():
        return False
    return bool(np.isin(x.sum(axis=-1), (0, 1)).all())


def one_hot_to_tokens(x: np.ndarray) -> np.ndarray:
    """(N, L, C) one-hot -> (N, L) int64 tokens: argmax + 1 where the row is non-zero, else 0 (padding)."""
    tokens = x.argmax(axis=-1).astype(np.int64) + 1
    tokens[x.sum(axis=-1) == 0] = 0
    return tokens


def to_input(x: np.ndarray, option: str, *, source: str, key: str) -> tuple[np.ndarray, InputKind, int]:
    """Convert a feature array (N, ...) to (array, input_kind, vocab_size) following `option`.

    auto: int 2-D -> tokens; float 2-D -> flat; 3-D one-hot on the last axis -> sequence (N, C, L);
    3-D otherwise -> image (N, 1, H, W); 4-D -> image (N, H, W, C) -> (N, C, H, W) (left as is when the
    last axis is not 1/3/4 but axis 1 is, i.e. already channels-first).
    """
    def bad(message: str, at: str = "input") -> DataError:
        return DataError(source, message, key=at)

    if x.dtype.kind not in "biuf":
        raise bad(f"array {key!r} has dtype {x.dtype}; features must be numbers (bool, int or float)", key)
    if x.ndim == 0 or len(x) == 0:
        raise bad(f"array {key!r} has shape {x.shape}; it needs at least one sample", key)
    check_finite(x, source=source, key=key)
    if x.ndim == 1:
        x = x[:, None]
    kind = option
    if option == "auto":
        if x.ndim == 2:
            kind = "tokens" if x.dtype.kind in "iu" else "flat"
        elif x.ndim == 3:
            kind = "sequence" if is_one_hot(x) else "image"
        elif x.ndim == 4:
            kind = "image"
        else:
            raise bad(f"array {key!r} has shape {x.shape}; supported: (N, F) flat or tokens, (N, L, C) sequences, "
                      "(N, H, W) or (N, H, W, C) images, or set input: flat to flatten it", key)
    if kind == "flat":
        return x.reshape(len(x), -1).astype(np.float32), "flat", 0
    if kind == "image":
        if x.ndim == 3:
            return x[:, None].astype(np.float32), "image", 0
        if x.ndim == 4:
            if x.shape[3] not in _CHANNELS and x.shape[1] in _CHANNELS:
                return x.astype(np.float32), "image", 0  # already (N, C, H, W)
            return np.ascontiguousarray(x.transpose(0, 3, 1, 2)).astype(np.float32), "image", 0
        raise bad(f"input: image needs array {key!r} as (N, H, W) or (N, H, W, C), got shape {x.shape}")
    if kind == "sequence":
        if x.ndim == 2:
            return x[:, None, :].astype(np.float32), "sequence", 0
        if x.ndim == 3:
            return np.ascontiguousarray(x.transpose(0, 2, 1)).astype(np.float32), "sequence", 0
        raise bad(f"input: sequence needs array {key!r} as (N, L) or (N, L, C), got shape {x.shape}")
    if kind == "tokens":
        if x.ndim == 3:
            if not is_one_hot(x):
                raise bad(f"input: tokens on a 3-D array {key!r} {x.shape} needs one-hot rows on the last axis "
                          "(entries 0/1, each row summing to 0 or 1)")
            return one_hot_to_tokens(x), "tokens", int(x.shape[-1]) + 1
        if x.ndim == 2:
            if x.dtype.kind == "f" and not np.all(np.mod(x, 1) == 0):
                raise bad(f"input: tokens needs integer ids in array {key!r}, but it holds non-integer floats; "
                          "use input: flat")
            tokens = x.astype(np.int64)
            if tokens.min() < 0:
                raise bad(f"input: tokens needs ids >= 0 (0 = padding) in array {key!r}, found {int(tokens.min())};"
                          " use input: flat for signed integer features")
            return tokens, "tokens", int(tokens.max()) + 1
        raise bad(f"input: tokens needs array {key!r} as (N, L) int ids or (N, L, C) one-hot, got shape {x.shape}")
    raise bad(f"input {option!r} is not one of 'auto', 'flat', 'image', 'sequence', 'tokens'")


def fit_standardizer(x_train: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean/std from training rows: per feature for flat inputs, per channel (axis 1) otherwise."""
    axes = (0,) if kind == "flat" else tuple(i for i in range(x_train.ndim) if i != 1)
    mean = x_train.astype(np.float64).mean(axis=axes, keepdims=True)
    std = x_train.astype(np.float64).std(axis=axes, keepdims=True)
    std[std < 1e-12] = 1.0  # constant columns: center only
    return mean, std


def apply_standardizer(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return ((x - mean) / std).astype(np.float32)


def standardization_info(names: list[str] | None, mean: np.ndarray, std: np.ndarray, per: str) -> dict:
    m, s = mean.reshape(-1), std.reshape(-1)
    n = len(m)
    cut = min(n, MAX_INFO_COLUMNS)
    info = {"per": per,  # "column" (flat) or "channel"
            "fit_on": "train", "n": n, "mean": [float(v) for v in m[:cut]], "std": [float(v) for v in s[:cut]],
            "truncated": n > cut}
    if names is not None:
        info["columns"] = [str(c) for c in names[:cut]]
    return info
