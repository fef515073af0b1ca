"""The Ray backend's settings and its vocabulary of Tune schedulers (the searchers are Optuna's samplers in
Ray's OptunaSearch, from the one sampler registry). A scheduler stops trials early on the validation
objective with epochs as the time attribute; its factory takes (settings, space, max_epochs) and imports ray
inside, so reading the names stays cheap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from automl.backends.base import SearchSettings
from automl.backends.optuna.samplers import SAMPLERS
from automl.registry import Registry
from automl.space.errors import UserInputError

SCHEDULERS: Registry[Any] = Registry("Ray Tune scheduler")
CHECKPOINTING = ("hyperband", "bohb", "pbt")  # schedulers that pause/clone trials


def _s() -> Any:
    from ray.tune import schedulers

    return schedulers


def _max_t(s: Any, max_epochs: int) -> int:
    # one epoch past the longest trial: a trial given its full budget ends on its own and reports its final
    # row (status, n_params, history) instead of being cut at max_t; the rungs stay the same
    return max(max_epochs, s.min_epochs, 1) + 1


def _pbt(s: Any, space: Any, max_epochs: int) -> Any:
    from automl.backends.ray.experiment import PerturbFloats

    return _s().PopulationBasedTraining(time_attr="epoch", perturbation_interval=s.pbt_interval or max(1, max_epochs // 4),
                                        custom_explore_fn=PerturbFloats(space.space, s.seed), quantile_fraction=0.25)


SCHEDULERS.add("asha", lambda s, space, m: _s().ASHAScheduler(
    time_attr="epoch", max_t=_max_t(s, m), grace_period=max(1, s.min_epochs), reduction_factor=s.reduction_factor),
    doc="asynchronous successive halving")
SCHEDULERS.add("hyperband", lambda s, space, m: _s().HyperBandScheduler(
    time_attr="epoch", max_t=_max_t(s, m), reduction_factor=s.reduction_factor),
    doc="synchronous HyperBand (pauses trials; checkpoints)")
SCHEDULERS.add("bohb", lambda s, space, m: _s().HyperBandForBOHB(
    time_attr="epoch", max_t=_max_t(s, m), reduction_factor=s.reduction_factor),
    doc="HyperBand for BOHB with the TuneBOHB searcher (needs ConfigSpace, hpbandster)")
SCHEDULERS.add("median", lambda s, space, m: _s().MedianStoppingRule(
    time_attr="epoch", grace_period=max(1, s.min_epochs), min_samples_required=3), doc="median stopping rule")
SCHEDULERS.add("pbt", _pbt, doc="population-based training over the float parameters")
SCHEDULERS.add("fifo", lambda s, space, m: _s().FIFOScheduler(), doc="no early stopping")

_OPTUNA_ONLY = {
    "sampler": "use --searcher NAME (Optuna's samplers in Ray's OptunaSearch), or --scheduler bohb",
    "pruner": f"use --scheduler {'|'.join(SCHEDULERS.names())}",
    "workers": "use --max-concurrent N (trials run wherever the cluster has --cpus-per-trial free)",
}


@dataclass
class RaySettings(SearchSettings):
    scheduler: str = "asha"
    searcher: str = "tpe"
    address: str | None = None  # None: start a local Ray; "auto", "HOST:PORT" or "ray://HOST:PORT"
    max_concurrent: int | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float | None = None  # default: 1 / trials_per_gpu when trials use a GPU, else 0
    storage_path: str | None = None  # Tune's experiment storage; default: the run dir
    max_failures: int = 2  # retries of a trial whose process or node died
    reuse_actors: bool = True
    pbt_interval: int | None = None  # epochs between PBT perturbations (default max_epochs // 4)
    num_cpus: int | None = None  # local Ray only: CPUs it may use (default: all)

    REFUSED: ClassVar[dict[str, str]] = _OPTUNA_ONLY
    BACKEND: ClassVar[str] = "ray"
    NEUTRAL: ClassVar[dict[str, str]] = {"searcher": "searcher", "scheduler": "scheduler", "workers": "max_concurrent"}

    @classmethod
    def build(cls, search: dict[str, Any], overrides: dict[str, Any]) -> SearchSettings:
        if search.get("sampler") and "searcher" not in search:  # a space written for the Optuna backend
            search = {**search, "searcher": search["sampler"]}
        return super().build(search, overrides)

    def validate(self) -> None:
        super().validate()
        SCHEDULERS.check(self.scheduler, where="--scheduler")
        SAMPLERS.check(self.searcher, where="--searcher")
        problems = {"--searcher grid": self.searcher == "grid",  # Tune samples until num_samples, not a grid
                    f"--max-concurrent {self.max_concurrent}": (self.max_concurrent or 1) < 1,
                    f"--cpus-per-trial {self.cpus_per_trial}": self.cpus_per_trial <= 0,
                    f"--gpus-per-trial {self.gpus_per_trial}": (self.gpus_per_trial or 0) < 0,
                    f"max_failures {self.max_failures}": self.max_failures < 0,
                    "--address ''": self.address is not None and not self.address.strip()}
        bad = [k for k, v in problems.items() if v]
        if bad:
            raise UserInputError(f"{bad[0]} is not allowed with --backend ray: the searcher is an Optuna sampler "
                                 "other than grid, --max-concurrent at least 1, --cpus-per-trial positive, "
                                 "--gpus-per-trial 0 or more (fractions allowed), max_failures 0 or more, "
                                 "--address auto, HOST:PORT or ray://HOST:PORT.")
        if self.gpus_per_trial is not None and self.trials_per_gpu > 1:
            raise UserInputError("--trials-per-gpu N and --gpus-per-trial F both say how trials share a GPU; "
                                 "give one of them (--trials-per-gpu N means --gpus-per-trial 1/N).")

    @property
    def gpus(self) -> float:
        """GPUs Tune reserves per trial: as given, else a 1/trials_per_gpu share when trials run on a GPU."""
        if self.gpus_per_trial is not None:
            return self.gpus_per_trial
        return 1.0 / self.trials_per_gpu if self.device.startswith("cuda") else 0.0

    @property
    def trial_device(self) -> str:
        return "cuda" if self.device.startswith("cuda") or self.gpus > 0 else "cpu"
