"""What each Optuna worker runs: sample define-by-run (an `optuna.Trial` is our `Suggest`), `run_trial` with
the shared trial options, epochs reported through `OptunaReporter`; every trial's curve, reason and timing go
into its user attrs so that Optuna's own tools (CLI, dashboard) and ours read the same storage."""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna

from automl.backends.optuna.settings import OptunaSettings
from automl.backends.optuna.storage import FINISHED, set_user_attrs
from automl.backends.stop import Terminated
from automl.space import SearchSpace, load_space, sample
from automl.trial import Decision, shielded, trial_seed


class OptunaReporter:
    """Adapter: Reporter protocol -> trial.report + should_prune. (A trial in flight at the search deadline
    finishes; the deadline only keeps new trials from starting.)"""

    def __init__(self, trial: optuna.Trial, metric: str) -> None:
        self.trial = trial
        self.metric = metric

    def report(self, epoch: int, metrics: dict[str, float]) -> Decision:
        value = metrics.get(self.metric)
        if value is not None and math.isfinite(value):
            with shielded():  # a trial timeout must not tear a storage write (it would leave the DB locked)
                self.trial.report(float(value), epoch)
                prune = self.trial.should_prune()
            if prune:
                return Decision.STOP
        return Decision.CONTINUE


class ParetoReporter:
    """Two objectives: Optuna has no `report`/`should_prune` for them (NotImplementedError), so the Pareto rung
    rule of automl.finalize.pareto decides: at a rung epoch a trial is stopped when a COMPLETE trial on the
    current front dominates it there (its best value by that epoch and its cost)."""

    def __init__(self, trial: optuna.Trial, metric: str, direction: str, cost_metric: str, rungs: list[int]) -> None:
        self.trial = trial
        self.metric = metric
        self.maximize = direction == "maximize"
        self.cost_metric = cost_metric
        self.rungs = set(rungs)
        self.best: float | None = None
        self.reason = ""

    def report(self, epoch: int, metrics: dict[str, float]) -> Decision:
        from automl.finalize.pareto import Curve, Point, dominated_at_rung, pareto_front

        value = metrics.get(self.metric)
        if value is not None and math.isfinite(value) and (
                self.best is None or (value > self.best if self.maximize else value < self.best)):
            self.best = float(value)
        cost = metrics.get(self.cost_metric)
        if epoch not in self.rungs or self.best is None or cost is None:
            return Decision.CONTINUE
        with shielded():
            done = self.trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        by_number = {t.number: t for t in done if t.values and len(t.values) == 2}
        front = pareto_front([Point(n, t.values[0], t.values[1]) for n, t in by_number.items()], self.maximize)
        curves = [Curve(p.trial, p.value, p.cost, tuple(by_number[p.trial].user_attrs.get("history", [])))
                  for p in front]
        why = dominated_at_rung(epoch, self.best, float(cost), curves, self.metric, self.maximize)
        if why is None:
            return Decision.CONTINUE
        self.reason = f"pruned by the Pareto rung rule: {why}"
        return Decision.STOP


class TrialError(Exception):
    """Raised to tell Optuna a trial failed; the reason is already in its user attrs."""


class _QuietExpectedFailures(logging.Filter):
    """Optuna logs every failed trial as a warning with a traceback. For failures we expect (an infeasible or
    diverged config: `TrialError`; Ctrl-C) the reason is already recorded and shown by the progress line, so
    drop those warnings and their "failed with value None" follow-up; unexpected errors keep their traceback."""

    def __init__(self) -> None:
        super().__init__()
        self._quiet: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        m = re.match(r"Trial (\d+) failed with ", str(record.msg))
        if m is None:
            return True
        if isinstance(exc, (TrialError, KeyboardInterrupt)):
            self._quiet.add(m.group(1))
            return False
        if str(record.msg).endswith("failed with value None.") and m.group(1) in self._quiet:
            self._quiet.discard(m.group(1))
            return False
        return True


def quiet_optuna() -> None:
    """When a search starts (never at import): Optuna's info logs, experimental-feature warnings and the
    tracebacks of failures we record ourselves would drown the progress lines."""
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message=".*independent sampl.*")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    log = logging.getLogger("optuna.study._optimize")
    if not any(isinstance(f, _QuietExpectedFailures) for f in log.filters):
        log.addFilter(_QuietExpectedFailures())


@dataclass
class Objective:
    """The picklable objective each worker runs: sample -> run_trial -> user attrs -> value."""

    space_path: str
    settings: OptunaSettings
    data_path: str | None = None  # the driver's search-form arrays (automl.data.handoff), if it wrote them
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def _load(self) -> tuple[SearchSpace, Any, str, str]:
        if not self._cache:  # a spawned worker: load what the driver prepared, from the run dir's copy
            space = load_space(self.space_path)
            if self.data_path is not None:
                from automl.data.handoff import load_search_data

                dataset = load_search_data(self.data_path)  # no test arrays here
                obj = space.resolve_objective(dataset.spec.task)
            else:
                from automl.backends.prepare import search_data

                dataset, obj = search_data(space)  # no test arrays here
            self._cache.update(space=space, dataset=dataset, metric=obj.metric, direction=obj.direction)
        c = self._cache
        return c["space"], c["dataset"], c["metric"], c["direction"]

    def _reporter(self, trial: optuna.Trial, space: SearchSpace, metric: str,
                  direction: str) -> OptunaReporter | ParetoReporter | None:
        cost = space.objective.cost
        if cost is None:
            return OptunaReporter(trial, metric)
        if self.settings.pruner == "none":
            return None
        from automl.backends.prepare import space_max_epochs
        from automl.finalize.pareto import rungs

        return ParetoReporter(trial, metric, direction, cost,
                              rungs(self.settings.min_epochs, self.settings.reduction_factor, space_max_epochs(space)))

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        import torch

        from automl.trial import run_trial

        s = self.settings
        if s.trials is not None and counted_before(trial.study.get_trials(deepcopy=False), trial.number) >= s.trials:
            # Trial numbers are handed out atomically by the storage: they are the tickets of an exact budget.
            # Workers that asked at the same moment get the later tickets; theirs never train and are not records.
            trial.set_user_attr("status", SURPLUS)
            trial.set_user_attr("reason", f"{SURPLUS}: asked past the trial budget ({s.trials}); never ran")
            trial.study.stop()
            raise TrialError(f"{SURPLUS}: the trial budget ({s.trials}) was taken by other workers")
        space, dataset, metric, direction = self._load()
        config = sample(space.space, trial).config
        seed = trial_seed(s.seed, trial.number)
        set_user_attrs(trial, {"seed": seed, "threads": torch.get_num_threads(),
                               "worker": f"{socket.gethostname()}:{os.getpid()}",
                               "device": os.environ.get("AUTOML_DEVICE_LABEL", s.device), "config": config})
        reporter = self._reporter(trial, space, metric, direction)
        try:
            res = run_trial(config, dataset, objective_metric=metric, direction=direction,
                            reporter=reporter, device=s.device, seed=seed,
                            precision=s.precision, compile=s.compile, timeout=s.trial_timeout,
                            cost_metric=space.objective.cost)
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (`Terminated`): the trial runs again on resume
            how = "SIGTERM" if isinstance(e, Terminated) else "Ctrl-C"
            trial.set_user_attr("status", "interrupted")
            trial.set_user_attr("reason", f"interrupted ({how}); re-queued by `automl resume`")
            raise
        if res.status == "pruned" and getattr(reporter, "reason", ""):
            res.reason = reporter.reason  # type: ignore[union-attr]
        set_user_attrs(trial, res.to_attrs())  # one transaction, not one per attr
        if res.status == "pruned":
            raise optuna.TrialPruned(res.reason)
        if res.status in ("failed", "infeasible"):
            raise TrialError(f"{res.status}: {res.reason}")
        if space.objective.cost is not None:
            return float(res.value), float(res.cost)  # type: ignore[arg-type]
        return float(res.value)


SURPLUS = "surplus"  # a trial created past the trial budget by a worker racing another: never run, never a record
# interrupted trials run again (re-queued); surplus ones never ran; warm ones were taken from another run untrained
UNCOUNTED = ("interrupted", SURPLUS, "warm")


def counted_before(trials: list[optuna.trial.FrozenTrial], number: int) -> int:
    """Trials that use up the trial budget and were created before trial `number`."""
    return sum(t.number < number and t.user_attrs.get("status") not in UNCOUNTED for t in trials)


class BudgetCallback:
    """Stops every worker once the trial count, the epoch budget or the deadline is reached, or (`--budget
    auto`) once the best-so-far has stalled: the rule's estimate goes into the study's user attr `autostop`,
    where the driver reads why the search stopped."""

    def __init__(self, settings: OptunaSettings) -> None:
        self.s = settings

    def exhausted(self, study: optuna.Study, count_running: bool = False) -> str | None:
        everything = study.get_trials(deepcopy=False)
        # Interrupted trials are re-queued by resume and run again: they do not use up the trial budget.
        trials = [t for t in everything if t.state in FINISHED and t.user_attrs.get("status") not in UNCOUNTED]
        # After a trial, the other workers' running trials count too, or K workers overshoot by up to K-1.
        running = sum(t.state == optuna.trial.TrialState.RUNNING for t in everything) if count_running else 0
        if self.s.trials is not None and len(trials) + running >= self.s.trials:
            return "trials"
        if self.s.max_total_epochs is not None and sum(int(t.user_attrs.get("epochs_run", 0)) for t in trials) >= self.s.max_total_epochs:
            return "epochs"
        if self.s.deadline is not None and time.time() >= self.s.deadline:
            return "timeout"
        if self.s.auto and self.stalled(study, everything):
            return "stalled"
        return None

    def stalled(self, study: optuna.Study, everything: list[optuna.trial.FrozenTrial]) -> bool:
        from automl.backends.autostop import StallRule, finished_records
        from automl.backends.optuna.storage import record_of, surplus

        rule = StallRule.of(self.s, study.direction.name.lower())
        est = rule.check(finished_records([record_of(t) for t in everything if not surplus(t)], self.s.metric))
        if est.stalled and study.user_attrs.get("autostop", {}).get("trials") != est.n:
            with shielded():
                study.set_user_attr("autostop", est.to_json())
        return est.stalled

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.exhausted(study, count_running=True):
            study.stop()
