"""Seeded, stratified train / val / test index splits, subsampling and explicit split columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from automl.data.errors import DataError, listing

SPLIT_NAMES = ("train", "val", "test")
RATIO_TOL = 1e-6

# accepted spellings in an explicit split column
_SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                  "dev": "val", "test": "test", "testing": "test"}


def _as_numpy(y: object) -> np.ndarray:
    if hasattr(y, "detach"):  # torch tensor
        return y.detach().cpu().numpy()  # type: ignore[union-attr]
    return np.asarray(y)


def _ratios(ratios: Sequence[float] | Mapping[str, float], source: str) -> np.ndarray:
    if isinstance(ratios, Mapping):
        unknown = set(ratios) - set(SPLIT_NAMES)
        if unknown:
            raise DataError(source, f"unknown split names {sorted(unknown)}; allowed: {list(SPLIT_NAMES)}")
        r = np.array([float(ratios.get(k, 0.0)) for k in SPLIT_NAMES])
    else:
        r = np.array([float(v) for v in ratios])
    if r.ndim != 1 or len(r) < 2 or (r <= 0).any() or (r >= 1).any():
        raise DataError(source,
                        f"split ratios {r.tolist()} must be at least two numbers strictly between 0 and 1")
    if abs(r.sum() - 1.0) > RATIO_TOL:
        raise DataError(source,
                        f"split ratios {r.tolist()} sum to {r.sum():g}; they must sum to 1 (tolerance 1e-6)")
    return r


def _allocate(n: int, r: np.ndarray) -> np.ndarray:
    """Largest-remainder rounding of n * r to integers summing to n (ties: earlier split first)."""
    exp = np.round(n * r, 9)
    base = np.floor(exp).astype(np.int64)
    rest = n - int(base.sum())
    order = np.argsort(-(exp - base), kind="stable")
    base[order[:rest]] += 1
    return base


def _is_stratifiable(y: np.ndarray) -> bool:
    return y.ndim == 1 and (y.dtype.kind in "iubUSO" or (y.dtype.kind == "f" and len(np.unique(y)) <= 50))


def _stratified_counts(inv: np.ndarray, n_classes: int, r: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-class split counts m[c, s]: each within floor/ceil of r[s] * n_c, column totals = _allocate(n, r)."""
    counts = np.bincount(inv, minlength=n_classes)
    target = _allocate(int(counts.sum()), r)
    exp = np.round(counts[:, None] * r[None, :], 9)
    m = np.floor(exp).astype(np.int64)
    frac = exp - m
    need = target - m.sum(0)
    for c in rng.permutation(n_classes):
        extra = int(counts[c] - m[c].sum())
        if extra <= 0:
            continue
        cand = [s for s in range(len(r)) if frac[c, s] > 1e-9]
        cand.sort(key=lambda s: (need[s] <= 0, -frac[c, s], -need[s]))
        for s in cand[:extra]:
            m[c, s] += 1
            need[s] -= 1
    return m


def split_indices(y: object, ratios: Sequence[float] | Mapping[str, float] = (0.8, 0.1, 0.1), seed: int = 0,
                  stratify: bool = True, *, source: str = "dataset",
                  class_names: Sequence[str] | None = None) -> tuple[np.ndarray, ...]:
    """Index arrays (int64, shuffled) for each split, by default (train, val, test).

    Stratified by class when `stratify` and `y` holds class labels (1-D ints/strings); regression targets
    are split at random. Each class contributes floor or ceil of ratio * class size to every split and
    split sizes are the largest-remainder rounding of ratio * N. Same seed -> same indices.
    Raises DataError when a split would be empty or (stratified) a class has fewer members than splits.
    """
    y = _as_numpy(y)
    if y.ndim == 2 and y.shape[1] == 1 and y.dtype.kind in "iub":
        y = y[:, 0]
    r = _ratios(ratios, source)
    n = len(y)
    names = list(SPLIT_NAMES[: len(r)]) if len(r) <= 3 else [f"split{i}" for i in range(len(r))]
    rng = np.random.default_rng(seed)
    sizes = _allocate(n, r)
    if (sizes == 0).any():
        empty = [names[i] for i in np.flatnonzero(sizes == 0)]
        raise DataError(
            source, f"too few samples for the split: {n} samples with ratios {r.tolist()} leave the {empty} split(s) "
            "empty; use more data or larger ratios", key="split")
    if stratify and _is_stratifiable(y):
        classes, inv = np.unique(y, return_inverse=True)
        counts = np.bincount(inv, minlength=len(classes))
        small = np.flatnonzero(counts < len(r))
        if len(small):

            def label(c: int) -> str:
                named = class_names is not None and np.issubdtype(classes.dtype, np.integer)
                return str(class_names[int(classes[c])] if named and 0 <= classes[c] < len(class_names) else classes[c])

            detail = ", ".join(f"{label(c)!r} has {counts[c]}" for c in small[:10])
            raise DataError(source, f"too few samples for a stratified split into {len(r)} parts: class {detail} "
                            f"member(s), each class needs at least {len(r)}. Remove or merge rare classes, add data, "
                            "or set split.stratify: false", key="split")
        m = _stratified_counts(inv, len(classes), r, rng)
        parts: list[list[np.ndarray]] = [[] for _ in r]
        for c in range(len(classes)):
            idx = rng.permutation(np.flatnonzero(inv == c))
            cuts = np.cumsum(m[c])[:-1]
            for s, chunk in enumerate(np.split(idx, cuts)):
                parts[s].append(chunk)
        out = [rng.permutation(np.concatenate(p)).astype(np.int64) for p in parts]
    else:
        out = [a.astype(np.int64) for a in np.split(rng.permutation(n), np.cumsum(sizes)[:-1])]
    return tuple(out)


def subsample_indices(y: object, n: int, seed: int = 0, stratify: bool = True) -> np.ndarray:
    """Sorted indices of at most `n` rows, stratified by class when possible, seeded."""
    y = _as_numpy(y)
    total = len(y)
    if n >= total:
        return np.arange(total, dtype=np.int64)
    rng = np.random.default_rng(seed)
    if y.ndim == 2 and y.shape[1] == 1 and y.dtype.kind in "iub":
        y = y[:, 0]
    if stratify and _is_stratifiable(y):
        classes, inv = np.unique(y, return_inverse=True)
        r = np.array([n / total, 1.0 - n / total])
        m = _stratified_counts(inv, len(classes), r, rng)
        keep = [rng.permutation(np.flatnonzero(inv == c))[: m[c, 0]] for c in range(len(classes))]
        return np.sort(np.concatenate(keep)).astype(np.int64)
    return np.sort(rng.permutation(total)[:n]).astype(np.int64)


def split_from_column(values: object, *, source: str, column: str, seed: int = 0) -> tuple[np.ndarray, ...]:
    """(train, val, test) index arrays from an explicit split column; each shuffled with `seed`."""
    vals = _as_numpy(values)
    if vals.ndim != 1:
        raise DataError(source, f"split column {column!r} must be one-dimensional, got shape {vals.shape}",
                        key=column)
    norm = np.array([_SPLIT_ALIASES.get(str(v).strip().lower(), "") for v in vals.tolist()])
    bad_mask = norm == ""
    if bad_mask.any():
        bad, counts = np.unique(np.array([str(v) for v in vals[bad_mask].tolist()]), return_counts=True)
        detail = ", ".join(f"{b!r} ({c}x)" for b, c in list(zip(bad, counts, strict=True))[:10])
        raise DataError(
            source, f"split column {column!r} has values {detail} that are not a split name; allowed values: "
            f"{listing(sorted(_SPLIT_ALIASES))} (case-insensitive)", key=column)
    rng = np.random.default_rng(seed)
    out = []
    for name in SPLIT_NAMES:
        idx = np.flatnonzero(norm == name)
        if len(idx) == 0:
            present = sorted(set(norm.tolist()))
            raise DataError(
                source, f"split column {column!r} has no {name!r} rows (found {present}); every split train, val and "
                "test needs at least one row", key=column)
        out.append(rng.permutation(idx).astype(np.int64))
    return tuple(out)
