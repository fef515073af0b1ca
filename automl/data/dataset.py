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


class SealedSplit:
    """Holds the test split; every read is counted and attributed."""

    def __init__(self, split: Split) -> None:
        self._split = split
        self.reads: list[str] = []

    def read(self, purpose: str) -> Split:
        self.reads.append(purpose)
        return self._split

    @property
    def n_reads(self) -> int:
        return len(self.reads)

    def __len__(self) -> int:
        return len(self._split)

    def __repr__(self) -> str:  # never print the data
        return f"SealedSplit(n={len(self._split)}, reads={self.n_reads})"


@dataclass
class Dataset:
    spec: DataSpec
    train: Split
    val: Split
    _test: SealedSplit = field(repr=False)
    info: dict = field(default_factory=dict)  # provenance: source, split ratios, seed, sizes, standardization

    def read_test(self, purpose: str) -> Split:
        """The only way to the test split. Call it from the final report code path alone."""
        return self._test.read(purpose)

    @property
    def test_reads(self) -> int:
        return self._test.n_reads

    @property
    def n_test(self) -> int:
        return len(self._test)
