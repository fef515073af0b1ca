"""The Ray backend's settings and its vocabularies: Tune schedulers and searchers by name.

Schedulers stop trials early on the validation objective with epochs as the time attribute; a scheduler
factory takes (settings, space, max_epochs). Searchers propose configs; a searcher factory takes
(settings, space, metric, mode) and returns (search_alg or None, the number of Tune's first trial tag).
Factories import ray inside, so reading the names stays cheap.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

from automl.backends.base import SearchSettings
from automl.registry import Registry
from automl.space.errors import UserInputError

SCHEDULERS: Registry[Any] = Registry("Ray Tune scheduler")
SEARCHERS: Registry[Any] = Registry("Ray searcher")
CHECKPOINTING = ("hyperband", "bohb", "pbt")  # schedulers that pause/clone trials


def _max_t(settings: Any, max_epochs: int) -> int:
    # one epoch past the longest trial: a trial given its full budget ends on its own and reports its final
    # row (status, n_params, history) instead of being cut at max_t; the rungs stay the same
    return max(max_epochs, settings.min_epochs, 1) + 1


@SCHEDULERS.register("asha", doc="asynchronous successive halving")
def _asha(settings: Any, space: Any, max_epochs: int) -> Any:
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(time_attr="epoch", max_t=_max_t(settings, max_epochs),
                         grace_period=max(1, settings.min_epochs), reduction_factor=settings.reduction_factor)


@SCHEDULERS.register("hyperband", doc="synchronous HyperBand (pauses trials; checkpoints)")
def _hyperband(settings: Any, space: Any, max_epochs: int) -> Any:
    from ray.tune.schedulers import HyperBandScheduler

    return HyperBandScheduler(time_attr="epoch", max_t=_max_t(settings, max_epochs),
                              reduction_factor=settings.reduction_factor)


@SCHEDULERS.register("bohb", doc="HyperBand for BOHB with the TuneBOHB searcher (needs ConfigSpace, hpbandster)")
def _bohb(settings: Any, space: Any, max_epochs: int) -> Any:
    from ray.tune.schedulers import HyperBandForBOHB

    return HyperBandForBOHB(time_attr="epoch", max_t=_max_t(settings, max_epochs),
                            reduction_factor=settings.reduction_factor)


@SCHEDULERS.register("median", doc="median stopping rule")
def _median(settings: Any, space: Any, max_epochs: int) -> Any:
    from ray.tune.schedulers import MedianStoppingRule

    return MedianStoppingRule(time_attr="epoch", grace_period=max(1, settings.min_epochs), min_samples_required=3)


@SCHEDULERS.register("pbt", doc="population-based training over the float parameters")
def _pbt(settings: Any, space: Any, max_epochs: int) -> Any:
    from ray.tune.schedulers import PopulationBasedTraining

    from automl.backends.ray.experiment import PerturbFloats

    return PopulationBasedTraining(time_attr="epoch", perturbation_interval=settings.pbt_interval or max(1, max_epochs // 4),
                                   custom_explore_fn=PerturbFloats(space.space, settings.seed), quantile_fraction=0.25)


@SCHEDULERS.register("fifo", doc="no early stopping")
def _fifo(settings: Any, space: Any, max_epochs: int) -> Any:
    from ray.tune.schedulers import FIFOScheduler

    return FIFOScheduler()


def _optuna_search(sampler: Any, space: Any, metric: str, mode: str) -> tuple[Any, int]:
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    from automl.backends.ray.experiment import DefineByRun

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a search starts: no "study created" lines
    return OptunaSearch(space=DefineByRun(space.space), metric=metric, mode=mode, sampler=sampler), 1


@SEARCHERS.register("tpe", doc="Optuna's TPE in Ray's OptunaSearch, define-by-run")
def _tpe(settings: Any, space: Any, metric: str, mode: str) -> tuple[Any, int]:
    import optuna

    with warnings.catch_warnings():  # `group` and `constant_liar` are "experimental" in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=settings.seed, n_startup_trials=settings.startup_trials,
                                             multivariate=True, group=True, constant_liar=True)
    return _optuna_search(sampler, space, metric, mode)


@SEARCHERS.register("random", doc="Optuna's random sampler in Ray's OptunaSearch")
def _random(settings: Any, space: Any, metric: str, mode: str) -> tuple[Any, int]:
    import optuna

    return _optuna_search(optuna.samplers.RandomSampler(seed=settings.seed), space, metric, mode)


_OPTUNA_ONLY = {
    "sampler": "use --searcher tpe|random (or --scheduler bohb)",
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

    @classmethod
    def build(cls, search: dict[str, Any], overrides: dict[str, Any]) -> SearchSettings:
        if search.get("sampler") in SEARCHERS and "searcher" not in search:  # a space written for Optuna
            search = {**search, "searcher": search["sampler"]}
        return super().build(search, overrides)

    def validate(self) -> None:
        super().validate()
        SCHEDULERS.check(self.scheduler, where="--scheduler")
        if self.scheduler not in ("pbt", "bohb"):
            SEARCHERS.check(self.searcher, where="--searcher")
        for name, v, least in (("max-concurrent", self.max_concurrent, 1), ("max_failures", self.max_failures, 0)):
            if v is not None and v < least:
                raise UserInputError(f"--{name} {v} must be at least {least}.")
        if self.cpus_per_trial <= 0:
            raise UserInputError(f"--cpus-per-trial {self.cpus_per_trial} must be positive.")
        if self.gpus_per_trial is not None and self.gpus_per_trial < 0:
            raise UserInputError(f"--gpus-per-trial {self.gpus_per_trial} must be 0 or more (fractions allowed).")
        if self.gpus_per_trial is not None and self.trials_per_gpu > 1:
            raise UserInputError("--trials-per-gpu N and --gpus-per-trial F both say how trials share a GPU; "
                                 "give one of them (--trials-per-gpu N means --gpus-per-trial 1/N).")
        if self.address is not None and not self.address.strip():
            raise UserInputError("--address is empty; use auto, HOST:PORT or ray://HOST:PORT.")

    @property
    def gpus(self) -> float:
        """GPUs Tune reserves per trial: as given, else a 1/trials_per_gpu share when trials run on a GPU."""
        if self.gpus_per_trial is not None:
            return self.gpus_per_trial
        return 1.0 / self.trials_per_gpu if self.device.startswith("cuda") else 0.0

    @property
    def trial_device(self) -> str:
        if self.device == "auto":
            return "cuda" if self.gpus > 0 else "cpu"
        return "cuda" if self.device.startswith("cuda") or self.gpus > 0 else "cpu"

    @property
    def trial_threads(self) -> int:
        return self.threads or max(1, int(self.cpus_per_trial))

    @property
    def searcher_name(self) -> str:
        return "random (PBT population)" if self.scheduler == "pbt" else "bohb" if self.scheduler == "bohb" else self.searcher

    @property
    def scheduler_name(self) -> str:
        return self.scheduler

    @property
    def concurrency(self) -> int | None:
        return self.max_concurrent
