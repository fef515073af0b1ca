"""Datasets: built-ins, CSV/TSV/Parquet/NPZ files, seeded stratified splits and a sealed test split."""

from automl._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "builtin": ("BUILTIN_DATASETS",),
    "config": ("DatasetConfig", "SplitConfig"),
    "dataset": ("Dataset", "SealedSplit", "Split"),
    "errors": ("DataError",),
    "files": ("TableEncoder",),
    "handoff": ("load_search_data", "save_search_data"),
    "load": ("load_dataset",),
    "raw": ("read_raw", "resolve_path"),
    "spec": ("DataSpec", "InputKind", "Task"),
    "splits": ("split_from_column", "split_indices", "subsample_indices"),
})
