"""`load_dataset`: a `dataset:` config section -> `Dataset` with train / val tensors and a sealed test split."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from automl.data.arrays import apply_standardizer, fit_standardizer, standardization_info
from automl.data.config import DatasetConfig
from automl.data.dataset import Dataset, SealedSplit, Split
from automl.data.errors import DataError
from automl.data.files import RawData, TableEncoder
from automl.data.preprocess import array_preprocessor, table_preprocessor
from automl.data.raw import parse_config, read_raw, resolve_path  # noqa: F401 (re-exported)
from automl.data.spec import DataSpec
from automl.data.splits import split_from_column, split_indices, subsample_indices

MAX_INFO_NAMES = 64


def load_dataset(source: DatasetConfig | Mapping, *, base_dir: Path | None = None) -> Dataset:
    """Load a built-in or a CSV/TSV/Parquet/NPZ file as a Dataset (raises DataError for bad data/config)."""
    cfg, raw = read_raw(source, base_dir=base_dir)  # the reading `automl spaces validate` does too
    return _finish(raw, cfg)


def _take(raw: RawData, idx: np.ndarray) -> None:
    raw.y = raw.y[idx]
    if raw.x is not None:
        raw.x = raw.x[idx]
    if raw.table is not None:
        raw.table = raw.table.iloc[idx].reset_index(drop=True)
    if raw.split_values is not None:
        raw.split_values = raw.split_values[idx]


def _strat(raw: RawData) -> np.ndarray:
    return raw.y if raw.task != "regression" else raw.y[:, 0]


def _finish(raw: RawData, cfg: DatasetConfig) -> Dataset:
    sp = cfg.split
    n_original = len(raw.y)
    strat = sp.stratify and raw.task != "regression"

    # 1. subsample (before splitting, stratified and seeded)
    if cfg.subsample is not None and cfg.subsample < n_original:
        n = cfg.subsample
        if raw.fixed_test_start is not None:
            n0 = raw.fixed_test_start
            n_pool = max(1, round(n * n0 / n_original))
            pool = subsample_indices(_strat(raw)[:n0], n_pool, sp.seed, strat)
            test = n0 + subsample_indices(_strat(raw)[n0:], n - n_pool, sp.seed, strat)
            _take(raw, np.concatenate([pool, test]))
            raw.fixed_test_start = len(pool)
        else:
            _take(raw, subsample_indices(_strat(raw), n, sp.seed, strat))
    n_total = len(raw.y)

    # 2. split
    if sp.column is not None:
        assert raw.split_values is not None
        tr, va, te = split_from_column(raw.split_values, source=raw.source, column=sp.column, seed=sp.seed)
        mode = "column"
    elif raw.fixed_test_start is not None:
        n0 = raw.fixed_test_start
        tr, va = split_indices(_strat(raw)[:n0], (1.0 - sp.val, sp.val), sp.seed, strat, source=raw.source,
                               class_names=raw.class_names)
        te = np.arange(n0, n_total, dtype=np.int64)
        mode = "fixed_test"
    else:
        tr, va, te = split_indices(_strat(raw), sp.ratios, sp.seed, strat, source=raw.source,
                                   class_names=raw.class_names)
        mode = "ratios"

    # 3. features: fit on train rows only, apply to all
    standardization = None
    feature_names = raw.feature_names
    enc: TableEncoder | None = None
    std_arrays: tuple[np.ndarray, np.ndarray] | None = None
    if raw.table is not None:
        enc = TableEncoder(standardize=cfg.standardize is not False).fit(raw.table.iloc[tr])
        x = enc.transform(raw.table)
        feature_names = tuple(enc.feature_names)
        standardization = enc.info()
        kind, vocab = "flat", 0
        if x.shape[1] == 0:
            raise DataError(raw.source, "no features after encoding (all categorical columns empty in train)")
    else:
        assert raw.x is not None
        x, kind, vocab = raw.x, raw.kind, raw.vocab_size
        if cfg.standardize if cfg.standardize is not None else (kind == "flat" and raw.name != "mnist1d"):
            if kind == "tokens":
                raise DataError(raw.source, "standardize: true does not apply to token inputs",
                                key="standardize")
            mean, std = fit_standardizer(x[tr], kind)
            x = apply_standardizer(x, mean, std)
            std_arrays = (mean[0], std[0])  # per-sample broadcastable (keepdims minus the row axis)
            standardization = standardization_info(list(feature_names) if kind == "flat" and feature_names else None,
                                                   mean, std, per="column" if kind == "flat" else "channel")
    x = np.ascontiguousarray(x)
    x_t = torch.from_numpy(x.astype(np.int64) if kind == "tokens" else x.astype(np.float32, copy=False))
    y = raw.y
    target_standardization = None
    if raw.task == "regression":
        y_f = y.astype(np.float64).reshape(len(y), -1)
        if cfg.standardize_target:  # train statistics only, like the features; metrics then in target std units
            t_mean, t_std = y_f[tr].mean(axis=0), y_f[tr].std(axis=0)
            t_std = np.where(t_std > 0, t_std, 1.0)
            y_f = (y_f - t_mean) / t_std
            target_standardization = {"mean": t_mean.tolist(), "std": t_std.tolist()}
        y_t = torch.from_numpy(y_f.astype(np.float32))
    else:
        y_t = torch.from_numpy(y.astype(np.int64))

    def part(idx: np.ndarray) -> Split:
        t = torch.from_numpy(idx)
        return Split(x_t.index_select(0, t), y_t.index_select(0, t))

    if raw.task == "regression":
        n_classes, n_outputs = 0, int(y_t.shape[1])
    else:
        n_classes = len(raw.class_names)
        n_outputs = 1 if raw.task == "binary" else n_classes
    spec = DataSpec(name=raw.name, task=raw.task, input_kind=kind, input_shape=tuple(int(d) for d in x.shape[1:]),
                    n_classes=n_classes, n_outputs=n_outputs, vocab_size=vocab, class_names=tuple(raw.class_names),
                    feature_names=tuple(feature_names) if kind == "flat" else ())
    sizes = {"train": len(tr), "val": len(va), "test": len(te)}
    if mode == "ratios":
        ratios = {"train": sp.train, "val": sp.val, "test": sp.test}
    else:
        ratios = {k: round(v / n_total, 6) for k, v in sizes.items()}
    info = {"source": raw.source, "format": raw.format, "name": raw.name, "task": raw.task, "input_kind": kind,
            "input_shape": list(spec.input_shape), "target": raw.target, "n_samples": n_total,
            "n_samples_original": n_original, "subsample": cfg.subsample, "sizes": sizes, "ratios": ratios,
            "seed": sp.seed, "stratify": bool(strat), "split_mode": mode,  # ratios | column | fixed_test
            "split_column": sp.column, "standardization": standardization,
            "target_standardization": target_standardization, "class_names": list(raw.class_names),
            "feature_names": list(feature_names[:MAX_INFO_NAMES]), "n_features": spec.n_features, **raw.extra_info}
    if raw.task != "regression":
        k = len(raw.class_names)
        info["class_counts"] = {"train": np.bincount(y[tr], minlength=k).tolist(),
                                "val": np.bincount(y[va], minlength=k).tolist()}
    if enc is not None:
        prep = table_preprocessor(enc, task=raw.task, input_shape=spec.input_shape, class_names=raw.class_names,
                                  target=raw.target, drop=cfg.drop, target_standardization=target_standardization)
    else:
        prep = array_preprocessor(task=raw.task, input_kind=kind, input_shape=spec.input_shape,
                                  class_names=raw.class_names, target=raw.target, feature_names=feature_names,
                                  mean=None if std_arrays is None else std_arrays[0],
                                  std=None if std_arrays is None else std_arrays[1],
                                  target_standardization=target_standardization)
    return Dataset(spec=spec, train=part(tr), val=part(va), _test=SealedSplit(part(te)), info=info,
                   preprocessor=prep.to_dict())
