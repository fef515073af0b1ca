"""Datasets: built-ins, CSV/TSV/Parquet/NPZ files, seeded stratified splits and a sealed test split."""

from automl.data.builtin import BUILTIN_DATASETS
from automl.data.config import DatasetConfig, SplitConfig
from automl.data.dataset import Dataset, SealedSplit, Split
from automl.data.errors import DataError
from automl.data.files import TableEncoder
from automl.data.load import load_dataset, resolve_path
from automl.data.spec import DataSpec, InputKind, Task
from automl.data.splits import split_from_column, split_indices, subsample_indices

__all__ = [
    "BUILTIN_DATASETS",
    "DataError",
    "DataSpec",
    "Dataset",
    "DatasetConfig",
    "InputKind",
    "SealedSplit",
    "Split",
    "SplitConfig",
    "TableEncoder",
    "Task",
    "load_dataset",
    "resolve_path",
    "split_from_column",
    "split_indices",
    "subsample_indices",
]
