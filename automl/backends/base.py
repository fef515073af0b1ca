"""The search seam: the `Backend` protocol, the settings every backend shares, and the registry of backends.

A backend turns a prepared `Job` (run directory, space, search data, objective, settings) into trials and
adapts its own storage back into `TrialRecord`s. Everything else (loading, checking, the run directory, the
manifest, budgets, trial options, progress) is shared, so a backend cannot quietly skip a user's option:
what it cannot honour it lists in `REFUSED` and the user gets exit code 2.
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

from automl.registry import Registry
from automl.space.errors import UserInputError

if TYPE_CHECKING:
    from automl.data.dataset import Dataset
    from automl.space import SearchSpace
    from automl.store.records import TrialRecord
    from automl.store.run import RunInfo

# progress(record, metric, direction, t0): called in the driver once per finished trial
Progress = Callable[["TrialRecord", str, str, float], None]


@dataclass
class SearchSettings:
    """Budget and trial options that every backend honours; CLI flags override the space file's `search:`."""

    trials: int | None = None
    timeout: float | None = None  # seconds, wall clock for the whole search
    max_total_epochs: int | None = None  # budget in training epochs summed over trials
    seed: int = 0
    device: str = "cpu"  # auto | cpu | cuda | cuda:N (see automl.backends.devices)
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast; fp16 uses a GradScaler, CUDA only)
    compile: bool = False  # torch.compile the model of each trial
    trial_timeout: float | None = None  # seconds; a trial past it is stopped and recorded as failed
    threads: int | None = None  # torch threads per trial (default: the backend's share of the cores)
    trials_per_gpu: int = 1
    # First rung of the Optuna pruners (hyperband, successive halving, median/percentile warm-up) and of Ray's asha
    # and median grace period (Ray's hyperband and bohb have their own); with max_epochs <= min_epochs no rung falls
    # before the last epoch, so nothing is pruned (lower it for spaces of very short trials). 5, not 1: one epoch of a noisy
    # metric is a poor basis for stopping a trial (results/benchmarks/surrogate.defaults_dev_b{5,20}.md: min_epochs
    # 3 beat 1 on the LCBench development tasks at budgets of 5 and 20 trainings, in speed-up and in final regret;
    # then, with successive halving as the default pruner, 5 beat 3 there: results/benchmarks/sweep_b{5,20}/surrogate.md).
    min_epochs: int = 5
    reduction_factor: int = 3
    # Random trials before TPE's model takes over. 3, not Optuna's 10: with pruning a search of 30 trials used a third
    # of its budget at random (results/benchmarks/surrogate.defaults_dev_b{5,20}.md, development tasks: 'me3st3' ranked
    # first at both budgets; benchmarks/startup_real.py on two shipped 20+-parameter spaces, 32 seeds: no loss beyond
    # the noise, no gain either, results/benchmarks/startup_real.md).
    startup_trials: int = 3
    budget: str | None = None  # "auto": stop once the best-so-far has stalled (automl.backends.autostop), capped
    stall_tolerance: float | None = None  # --budget auto: the noise a gain must beat (default: estimated)
    stall_window: int | None = None  # --budget auto: finished trials the gain is measured over (default autostop.WINDOW)
    metric: str = ""  # set by the driver when the search starts (the auto-stop rule's noise estimate)
    val_rows: int | None = None  # likewise: the validation split's rows

    # option -> what to use instead, for options of other backends given to this one
    REFUSED: ClassVar[dict[str, str]] = {}
    BACKEND: ClassVar[str] = ""
    NEUTRAL: ClassVar[dict[str, str]] = {}  # manifest key (searcher, scheduler, workers) -> this backend's field

    @classmethod
    def build(cls, search: dict[str, Any], overrides: dict[str, Any]) -> SearchSettings:
        """`search` (the space's block or a stored manifest) overridden by CLI values; refused or unknown
        options are user errors, never ignored."""
        given = {k: v for k, v in overrides.items() if v is not None}
        for key in given:
            if key in cls.REFUSED:
                raise UserInputError(f"--{key.replace('_', '-')} is not supported with --backend {cls.BACKEND}; "
                                     f"{cls.REFUSED[key]}.")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(given) - names)
        if unknown:
            raise UserInputError(f"Unknown {cls.BACKEND} backend setting(s): {', '.join(unknown)}; "
                                 f"allowed: {', '.join(sorted(names))}.")
        if given.get("budget") == "fixed":  # e.g. resuming an auto run for its whole cap: its stall options go
            search = {k: v for k, v in search.items() if k not in ("stall_tolerance", "stall_window")}
        s = cls(**{**{k: v for k, v in search.items() if k in names and v is not None}, **given})
        s.validate()
        return s

    def validate(self) -> None:
        for name in ("trials", "max_total_epochs", "threads", "trials_per_gpu", "stall_window"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise UserInputError(f"--{name.replace('_', '-')} {v} must be at least 1.")
        for name in ("timeout", "trial_timeout"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise UserInputError(f"--{name.replace('_', '-')} {v} must be a positive number of seconds.")
        from automl.backends.autostop import BUDGETS

        if self.budget is not None and self.budget not in BUDGETS:
            raise UserInputError(f"--budget {self.budget!r} is not allowed; allowed: auto (stop once further trials "
                                 "stop improving the validation objective by more than its noise, capped by "
                                 "--trials/--timeout/--max-total-epochs) or fixed (spend the whole budget).")
        if self.stall_tolerance is not None and (self.stall_tolerance < 0 or self.budget != "auto"):
            raise UserInputError(f"--stall-tolerance {self.stall_tolerance} applies with --budget auto and must be "
                                 "0 or more (the gain in the objective's units that counts as progress).")
        if self.stall_window is not None and self.budget != "auto":
            raise UserInputError(f"--stall-window {self.stall_window} applies with --budget auto (the finished trials "
                                 "over which the best must gain more than the noise).")
        if self.trials_per_gpu > 1 and self.device == "cpu":
            raise UserInputError(f"--trials-per-gpu {self.trials_per_gpu} packs trials onto GPUs, but --device is "
                                 "cpu; use --device cuda (or auto), or leave --trials-per-gpu at 1.")
        from automl.training.trainer import PRECISIONS

        if self.precision not in PRECISIONS:
            raise UserInputError(f"--precision {self.precision!r} is not supported; allowed: {', '.join(PRECISIONS)}.")

    @property
    def auto(self) -> bool:
        """`--budget auto`: the search may stop before its cap once it has stalled."""
        return self.budget == "auto"

    @property
    def concurrency(self) -> int | None:
        """Trials at once (None: as many as the resources allow)."""
        return getattr(self, self.NEUTRAL["workers"])

    def manifest(self) -> dict[str, Any]:
        """The settings as the run's manifest keeps them, plus the backend-neutral names the report reads."""
        return {**asdict(self), **{key: getattr(self, name) for key, name in self.NEUTRAL.items()}}


@dataclass
class Job:
    """One search as a backend receives it, prepared the same way for every backend."""

    info: RunInfo
    space: SearchSpace
    data: Dataset  # `dataset.for_search()`: the trials never hold the test arrays
    metric: str
    direction: str
    settings: SearchSettings
    progress: Progress | None = None
    t0: float = field(default_factory=time.time)
    warm: Any = None  # a new search's warm-start seeds (automl.backends.warm.WarmPlan), or None

    def finished(self, record: TrialRecord) -> None:
        """Tell the user about a finished trial (a no-op without a printer)."""
        if self.progress is not None:
            self.progress(record, self.metric, self.direction, self.t0)


class Backend(ABC):
    """What a search backend implements; `automl.testing.backend_contract` checks it keeps its promises."""

    name: ClassVar[str]
    settings_class: ClassVar[type[SearchSettings]]
    storage_url: ClassVar[bool] = False  # takes `--storage URL`
    fixed_on_resume: ClassVar[tuple[str, ...]] = ()  # options a resumed run cannot change
    multi_objective: ClassVar[bool] = False  # searches a cost objective next to the metric (automl.finalize.pareto)

    def settings(self, search: dict[str, Any], overrides: dict[str, Any]) -> SearchSettings:
        return self.settings_class.build(search, overrides)

    @abstractmethod
    def check(self, space: SearchSpace, settings: SearchSettings) -> None:
        """Backend-specific checks and defaults before anything is written (a missing package, a grid's size)."""

    def check_warm_start(self, settings: SearchSettings) -> None:
        """Refuse `--warm-start` where this backend's searcher cannot take seeded configs (never ignore it)."""
        return None

    @contextlib.contextmanager
    def session(self, settings: SearchSettings) -> Iterator[None]:
        """Around a search: connect to (or start) what the backend needs; nothing started outlives it."""
        yield

    @abstractmethod
    def run(self, job: Job, *, resume: bool) -> None:
        """Search until the budget is spent; `resume`: carry on the run's trials, never retrain a finished one."""

    @abstractmethod
    def load_trials(self, info: RunInfo) -> list[TrialRecord]:
        """Every trial of the run, as backend-neutral records numbered in creation order."""


BACKENDS: Registry[Backend] = Registry("backend")


@BACKENDS.register("optuna", doc="Optuna: local worker processes sharing an Optuna storage (SQLite by default)")
def _optuna() -> Backend:
    from automl.backends.optuna.workers import OptunaBackend

    return OptunaBackend()


@BACKENDS.register("ray", doc="Ray Tune: a local Ray or a cluster, schedulers and searchers of Tune")
def _ray() -> Backend:
    from automl.backends.ray.experiment import RayBackend

    return RayBackend()


def get_backend(name: str, where: str = "--backend") -> Backend:
    BACKENDS.check(name, where=where)
    return BACKENDS.create(name)
