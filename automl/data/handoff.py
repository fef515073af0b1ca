"""The driver's search-form dataset, handed to spawned worker processes as one file.

Why: a worker that loads the data itself trains on what *its* load returned (a loader that is not
deterministic, or a file edited mid-search, would give each worker other data than the driver checked), and it
imports the loader's libraries first (scikit-learn and SciPy for the built-ins: ~2 s of CPU per worker on a
2-core machine, paid again by every worker of every search). The file holds the train and validation tensors
and the metadata, never test arrays (only the test split's size, as `Dataset.for_search()` does), and is read
with `torch.load(weights_only=True)`: tensors and plain data only, nothing unpickled. Workers map the file
(`mmap=True`) rather than read it: K workers share one copy of the arrays in the page cache instead of holding K
(for a multi-GB image dataset, the difference between fitting in memory and not). The mapping is private:
a worker that writes to its tensors gets its own copy of those pages, and the file is never changed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import torch

from automl.data.dataset import Dataset, SealedSplit, Split
from automl.data.spec import DataSpec

FILE = "search_data.pt"


def _own(t: torch.Tensor) -> torch.Tensor:
    """`torch.save` of a view writes its whole storage: a split sliced out of all the rows would carry the
    other rows (the test rows among them) into the file. A tensor that is not exactly its storage is copied."""
    if t.is_contiguous() and t.untyped_storage().nbytes() == t.numel() * t.element_size():
        return t
    return t.clone(memory_format=torch.contiguous_format)


def save_search_data(dataset: Dataset, path: Path) -> bool:
    """Write `dataset` (search form) to `path` atomically. False, with nothing left behind, when the file cannot
    be written (a full disk, a read-only run directory): the workers then load the data themselves."""
    if dataset.holds_test_arrays:
        raise ValueError("save_search_data takes the search form of a dataset (Dataset.for_search()): no test arrays")
    # the spec is plain data; info (provenance for reports, which workers never read) is kept as JSON can say it
    meta = json.dumps({"spec": dataclasses.asdict(dataset.spec), "n_test": dataset.n_test, "info": dataset.info,
                       "preprocessor": dataset.preprocessor}, default=str)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save({"meta": meta, "train_x": _own(dataset.train.x), "train_y": _own(dataset.train.y),
                    "val_x": _own(dataset.val.x), "val_y": _own(dataset.val.y)}, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError):  # torch reports a missing folder or a failed write as RuntimeError
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return False
    return True


def load_search_data(path: Path | str) -> Dataset:
    """The dataset `save_search_data` wrote: same tensors, same spec, the test split withheld; the tensors are
    pages of the file (mapped, copy-on-write), which stays until the search ends."""
    d: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    meta = json.loads(d["meta"])
    s = meta["spec"]
    spec = DataSpec(**{**s, "input_shape": tuple(s["input_shape"]), "class_names": tuple(s["class_names"]),
                       "feature_names": tuple(s["feature_names"])})
    return Dataset(spec, Split(d["train_x"], d["train_y"]), Split(d["val_x"], d["val_y"]),
                   SealedSplit.withheld(meta["n_test"]), meta["info"], meta["preprocessor"])


def remove_search_data(run_dir: Path) -> None:
    """Remove the file and any half-written one (a driver killed while saving, or by kill -9 mid-search)."""
    for p in (run_dir / FILE, *run_dir.glob(f".{FILE}.*.tmp")):
        with contextlib.suppress(OSError):
            p.unlink()
