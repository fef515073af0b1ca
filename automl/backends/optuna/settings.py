"""The Optuna backend's settings: the shared budget and trial options plus its sampler, pruner and workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from automl.backends.base import SearchSettings
from automl.backends.optuna.samplers import PRUNERS, SAMPLERS
from automl.space.errors import UserInputError

_RAY = "a Ray Tune option; add --backend ray (the Optuna backend uses --sampler, --pruner and --workers)"


@dataclass
class OptunaSettings(SearchSettings):
    sampler: str = "tpe"
    # Successive halving from `min_epochs` (5), not Hyperband from 3: picked on the LCBench development tasks
    # (results/benchmarks/sweep_b{5,20}/surrogate.md: faster at 5 and 20 trainings' budgets, as good at the end) and
    # checked by real training on shipped spaces at equal epoch budgets (results/benchmarks/pruner_real.md).
    pruner: str = "successive_halving"
    workers: int = 1
    grid_points: int = 3
    percentile: float = 25.0
    deadline: float | None = None  # absolute time.time(); set from timeout when the search starts

    REFUSED: ClassVar[dict[str, str]] = {k: _RAY for k in (
        "address", "scheduler", "searcher", "max_concurrent", "cpus_per_trial", "gpus_per_trial", "storage_path")}
    BACKEND: ClassVar[str] = "optuna"
    NEUTRAL: ClassVar[dict[str, str]] = {"searcher": "sampler", "scheduler": "pruner", "workers": "workers"}

    def validate(self) -> None:
        super().validate()
        SAMPLERS.check(self.sampler, where="--sampler")
        PRUNERS.check(self.pruner, where="--pruner")
        if self.workers < 1:
            raise UserInputError(f"--workers {self.workers} must be at least 1.")
