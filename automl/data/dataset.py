"""In-memory datasets with a sealed test split.

The test split is reachable only through `Dataset.read_test(purpose)`, which counts every read, so tests
(and reports) can prove that a search never looked at it and finalize looked exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from automl.data.spec import DataSpec


@dataclass
class Split:
    """Features and targets as tensors (CPU until the trainer moves them once to its device)."""

    x: torch.Tensor  # float32, or int64 for tokens; shape (N, *DataSpec.input_shape)
    y: torch.Tensor  # int64 class ids for classification (float32 0/1 for binary is derived by the loss), float32 (N, n_outputs) for regression

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to(self, device: torch.device | str) -> Split:
        return Split(self.x.to(device, non_blocking=True), self.y.to(device, non_blocking=True))

    def subset(self, n: int) -> Split:
        return Split(self.x[:n], self.y[:n])


class TestSplitWithheld(RuntimeError):
    """A search process asked for the test split: it was never given one (a bug in the caller)."""


class SealedSplit:
    """Holds the test split; every read is counted and attributed.

    `SealedSplit.withheld(n)` holds no arrays at all, only the size: that is what search processes get."""

    def __init__(self, split: Split | None, n: int | None = None) -> None:
        self._split = split
        self._n = len(split) if split is not None else int(n or 0)
        self.reads: list[str] = []

    @classmethod
    def withheld(cls, n: int) -> SealedSplit:
        return cls(None, n)

    @property
    def holds_arrays(self) -> bool:
        return self._split is not None

    def read(self, purpose: str) -> Split:
        if self._split is None:
            raise TestSplitWithheld(f"the test split was withheld from this process (asked for: {purpose}); "
                                    "only finalize reads it, from the run's ledger-guarded path")
        self.reads.append(purpose)
        return self._split

    @property
    def n_reads(self) -> int:
        return len(self.reads)

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:  # never print the data
        return f"SealedSplit(n={self._n}, reads={self.n_reads}{'' if self.holds_arrays else ', withheld'})"


@dataclass
class Dataset:
    spec: DataSpec
    train: Split
    val: Split
    _test: SealedSplit = field(repr=False)
    info: dict = field(default_factory=dict)  # provenance: source, split ratios, seed, sizes, standardization
    # the fitted encoding as JSON data (automl.data.preprocess); finalize saves it next to model.pt
    preprocessor: dict | None = field(default=None, repr=False)

    def read_test(self, purpose: str) -> Split:
        """The only way to the test split. Call it from the final report code path alone."""
        return self._test.read(purpose)

    def for_search(self) -> Dataset:
        """The same train/validation data with the test split withheld (no arrays, only its size): the only
        form of a dataset that a search process (worker, Ray trial, objective) may hold."""
        return Dataset(self.spec, self.train, self.val, SealedSplit.withheld(self.n_test), dict(self.info))

    @property
    def holds_test_arrays(self) -> bool:
        return self._test.holds_arrays

    @property
    def test_reads(self) -> int:
        return self._test.n_reads

    @property
    def n_test(self) -> int:
        return len(self._test)


def test_arrays_in_process() -> int:
    """How many sealed splits holding test arrays this process keeps alive (found through the garbage
    collector). Search processes must report 0; `AUTOML_AUDIT_TEST_ARRAYS=1` makes every trial record it."""
    import gc

    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is SealedSplit and o.holds_arrays)
