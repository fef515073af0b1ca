"""The driver's search-form dataset, handed to spawned worker processes as one file.

Why: a worker that loads the data itself trains on what *its* load returned (a loader that is not
deterministic, or a file edited mid-search, would give each worker other data than the driver checked), and it
imports the loader's libraries first (scikit-learn and SciPy for the built-ins: ~2 s of CPU per worker on a
2-core machine, paid again by every worker of every search). The file holds the train and validation tensors
and the metadata, never test arrays (only the test split's size, as `Dataset.for_search()` does), and is read
with `torch.load(weights_only=True)`: tensors and plain data only, nothing unpickled.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import torch

from automl.data.dataset import Dataset, SealedSplit, Split
from automl.data.spec import DataSpec

FILE = "search_data.pt"


def save_search_data(dataset: Dataset, path: Path) -> bool:
    """Write `dataset` (search form) to `path` atomically; False (and nothing written) when its metadata is not
    plain JSON data, in which case the workers load the data themselves as before."""
    if dataset.holds_test_arrays:
        raise ValueError("save_search_data takes the search form of a dataset (Dataset.for_search()): no test arrays")
    try:
        meta = json.dumps({"spec": dataclasses.asdict(dataset.spec), "n_test": dataset.n_test, "info": dataset.info,
                           "preprocessor": dataset.preprocessor}, allow_nan=True)
    except (TypeError, ValueError):
        return False
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save({"meta": meta, "train_x": dataset.train.x, "train_y": dataset.train.y,
                "val_x": dataset.val.x, "val_y": dataset.val.y}, tmp)
    os.replace(tmp, path)
    return True


def load_search_data(path: Path | str) -> Dataset:
    """The dataset `save_search_data` wrote: same tensors, same spec, the test split withheld."""
    d: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    meta = json.loads(d["meta"])
    s = meta["spec"]
    spec = DataSpec(**{**s, "input_shape": tuple(s["input_shape"]), "class_names": tuple(s["class_names"]),
                       "feature_names": tuple(s["feature_names"])})
    return Dataset(spec, Split(d["train_x"], d["train_y"]), Split(d["val_x"], d["val_y"]),
                   SealedSplit.withheld(meta["n_test"]), meta["info"], meta["preprocessor"])
