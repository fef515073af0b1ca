"""The embedded default backend: Optuna with a local (SQLite) or any Optuna storage, K worker processes.

The space is sampled define-by-run (an `optuna.Trial` is our `Suggest`), the trainer reports each epoch
through `OptunaReporter`, and every trial's curve, reason and timing go into its user attrs so that
Optuna's own tools (CLI, dashboard) and ours read the same storage.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing as mp
import os
import re
import signal
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import optuna

from automl.backends.devices import Slot, plan_slots, resolve_devices, threads_per_slot
from automl.reporter import Decision
from automl.space import Fixed, Float, Int, SearchSpace, grid_size, grid_values, load_space, sample
from automl.space.errors import UserInputError
from automl.space.params import Categorical
from automl.store.records import TrialRecord
from automl.store.run import RunInfo, create_run, load_run, redact_url
from automl.watchdog import shielded

SAMPLERS = ("tpe", "random", "cmaes", "gp", "qmc", "grid")
PRUNERS = ("hyperband", "successive_halving", "asha", "median", "percentile", "none")
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
warnings.filterwarnings("ignore", message=".*independent sampl.*")
optuna.logging.set_verbosity(optuna.logging.WARNING)
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)


@dataclass
class SearchSettings:
    """Everything that decides a search besides the space; CLI flags override the space file's `search:`."""

    sampler: str = "tpe"
    pruner: str = "hyperband"
    trials: int | None = None
    timeout: float | None = None  # seconds, wall clock for the whole search
    max_total_epochs: int | None = None  # budget in training epochs summed over trials
    seed: int = 0
    workers: int = 1
    threads: int | None = None  # torch threads per worker (default: cores // workers)
    device: str = "cpu"  # auto | cpu | cuda | cuda:N (see automl.backends.devices)
    trials_per_gpu: int = 1
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast; fp16 uses a GradScaler, CUDA only)
    compile: bool = False  # torch.compile the model of each trial
    trial_timeout: float | None = None  # seconds; a trial past it is stopped and recorded as failed
    grid_points: int = 3
    min_epochs: int = 1
    reduction_factor: int = 3
    startup_trials: int = 10
    percentile: float = 25.0
    deadline: float | None = None  # absolute time.time(); set from timeout when the search starts

    @classmethod
    def from_space(cls, space: SearchSpace, **overrides: Any) -> SearchSettings:
        values = {k: v for k, v in space.search.items() if k in cls.__dataclass_fields__ and v is not None}
        values.update({k: v for k, v in overrides.items() if v is not None})
        s = cls(**values)
        s.validate()
        return s

    def validate(self) -> None:
        if self.sampler not in SAMPLERS:
            raise UserInputError(f"--sampler {self.sampler!r} is not a sampler; allowed: {', '.join(SAMPLERS)}.")
        if self.pruner not in PRUNERS:
            raise UserInputError(f"--pruner {self.pruner!r} is not a pruner; allowed: {', '.join(PRUNERS)}.")
        if self.workers < 1:
            raise UserInputError(f"--workers {self.workers} must be at least 1.")
        for name in ("trials", "max_total_epochs"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise UserInputError(f"--{name.replace('_', '-')} {v} must be at least 1.")
        from automl.training.trainer import PRECISIONS

        if self.precision not in PRECISIONS:
            raise UserInputError(f"--precision {self.precision!r} is not supported; allowed: {', '.join(PRECISIONS)}.")
        if self.timeout is not None and self.timeout <= 0:
            raise UserInputError(f"--timeout {self.timeout} must be a positive number of seconds.")


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def space_max_epochs(space: SearchSpace) -> int:
    """The largest max_epochs a trial can get (the pruners' maximum resource)."""
    try:
        dist = space.space.find("training.max_epochs").dist
    except KeyError:
        return 20
    if isinstance(dist, Fixed):
        return int(dist.value)
    if isinstance(dist, (Int, Float)):
        return int(dist.high)
    if isinstance(dist, Categorical):
        return int(max(dist.choices))
    return 20


def make_sampler(settings: SearchSettings, space: SearchSpace, offset: int = 0) -> optuna.samplers.BaseSampler:
    """`offset` shifts the seed: each worker and each resumed session must not replay the first session's
    random stream (the same seed would sample the same configs again)."""
    s, seed = settings.sampler, settings.seed + offset
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if s == "tpe":
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=settings.startup_trials, multivariate=True, group=True,
            constant_liar=settings.workers > 1,
        )
    if s == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if s == "cmaes":
        return optuna.samplers.CmaEsSampler(
            seed=seed, n_startup_trials=settings.startup_trials,
            independent_sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=settings.startup_trials),
        )
    if s == "gp":
        return optuna.samplers.GPSampler(
            seed=seed, n_startup_trials=settings.startup_trials,
            independent_sampler=optuna.samplers.RandomSampler(seed=seed),
        )
    if s == "qmc":
        return optuna.samplers.QMCSampler(
            qmc_type="sobol", scramble=True, seed=seed,
            independent_sampler=optuna.samplers.RandomSampler(seed=seed),
        )
    return optuna.samplers.GridSampler(grid_values(space.space, settings.grid_points), seed=seed)


def make_pruner(settings: SearchSettings, max_epochs: int) -> optuna.pruners.BasePruner:
    p, lo, rf = settings.pruner, max(1, settings.min_epochs), settings.reduction_factor
    if p == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=lo, max_resource=max(max_epochs, lo), reduction_factor=rf)
    if p in ("successive_halving", "asha"):
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=lo, reduction_factor=rf)
    if p == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=lo)
    if p == "percentile":
        return optuna.pruners.PercentilePruner(settings.percentile, n_startup_trials=5, n_warmup_steps=lo)
    return optuna.pruners.NopPruner()


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """RDB storages get heartbeats so a trial whose process died is noticed and retried; journal files
    (`journal:PATH` or a path ending in .log/.journal) use Optuna's file journal."""
    if url.startswith("journal:") or url.endswith((".log", ".journal")):
        path = url.removeprefix("journal:")
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}
    for attempt in range(3):
        try:
            storage = optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=5, grace_period=30,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2),
            )
            if url.startswith("sqlite"):
                _sqlite_wal(storage)
            return storage
        except Exception as e:  # bad URL, missing driver, unreachable server
            # Two processes opening a new database at once race on creating its tables (SQLAlchemy checks,
            # then creates): "table ... already exists". The other one won: open it again.
            if attempt < 2 and "already exists" in str(e):
                time.sleep(0.2 * (attempt + 1))
                continue
            safe = redact_url(url) or ""
            text = str(e).replace(url, safe) if url else str(e)
            raise UserInputError(
                f"Cannot open storage {safe}: {type(e).__name__}: {text.splitlines()[0] if text else ''}. "
                "Allowed: sqlite:///PATH, postgresql://USER:PASSWORD@HOST/DB, mysql://..., or journal:PATH."
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _sqlite_wal(storage: optuna.storages.RDBStorage) -> None:
    """WAL journal + synchronous=NORMAL: readers stop blocking the writer and a commit no longer waits for an
    fsync, which cuts the per-trial storage cost by about a third (local disks; not for network filesystems)."""
    from sqlalchemy import event

    @event.listens_for(storage.engine, "connect")
    def _pragmas(dbapi_conn: Any, record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    storage.engine.dispose()  # connections opened before the listener reconnect with the pragmas


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


logging.getLogger("optuna.study._optimize").addFilter(_QuietExpectedFailures())


@dataclass
class Objective:
    """The picklable objective each worker runs: sample -> run_trial -> user attrs -> value."""

    space_path: str
    settings: SearchSettings
    base_dir: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def _load(self) -> tuple[SearchSpace, Any, str, str]:
        if not self._cache:
            from automl.data import load_dataset

            space = load_space(self.space_path)
            dataset = load_dataset(space.dataset, base_dir=space.base_dir).for_search()  # no test arrays here
            obj = space.resolve_objective(dataset.spec.task)
            self._cache.update(space=space, dataset=dataset, metric=obj.metric, direction=obj.direction)
        c = self._cache
        return c["space"], c["dataset"], c["metric"], c["direction"]

    def __call__(self, trial: optuna.Trial) -> float:
        from automl.trial import run_trial

        space, dataset, metric, direction = self._load()
        config = sample(space.space, trial).config
        seed = self.settings.seed * 100_003 + trial.number
        trial.set_user_attr("seed", seed)
        import torch

        trial.set_user_attr("threads", torch.get_num_threads())
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        trial.set_user_attr("device", os.environ.get("AUTOML_DEVICE_LABEL", self.settings.device))
        trial.set_user_attr("config", config)
        try:
            res = run_trial(config, dataset, objective_metric=metric, direction=direction,
                            reporter=OptunaReporter(trial, metric), device=self.settings.device, seed=seed,
                            precision=self.settings.precision, compile=self.settings.compile,
                            timeout=self.settings.trial_timeout)
        except KeyboardInterrupt:
            trial.set_user_attr("status", "interrupted")
            trial.set_user_attr("reason", "interrupted (Ctrl-C); re-queued by `automl resume`")
            raise
        for k, v in res.to_attrs().items():
            trial.set_user_attr(k, v)
        if res.status == "pruned":
            raise optuna.TrialPruned(res.reason)
        if res.status in ("failed", "infeasible"):
            raise TrialError(f"{res.status}: {res.reason}")
        return float(res.value)


# --- budget -------------------------------------------------------------------------------------------------

def total_epochs(study: optuna.Study) -> int:
    return sum(int(t.user_attrs.get("epochs_run", 0)) for t in study.get_trials(deepcopy=False, states=FINISHED))


class BudgetCallback:
    """Stops every worker once the trial count, the epoch budget or the deadline is reached."""

    def __init__(self, settings: SearchSettings) -> None:
        self.s = settings

    def exhausted(self, study: optuna.Study, count_running: bool = False) -> str | None:
        everything = study.get_trials(deepcopy=False)
        # Interrupted trials are re-queued by resume and run again: they do not use up the trial budget.
        trials = [t for t in everything if t.state in FINISHED and t.user_attrs.get("status") != "interrupted"]
        # After a trial, the other workers' running trials count too, or K workers overshoot by up to K-1.
        running = sum(t.state == optuna.trial.TrialState.RUNNING for t in everything) if count_running else 0
        if self.s.trials is not None and len(trials) + running >= self.s.trials:
            return "trials"
        if self.s.max_total_epochs is not None and sum(int(t.user_attrs.get("epochs_run", 0)) for t in trials) >= self.s.max_total_epochs:
            return "epochs"
        if self.s.deadline is not None and time.time() >= self.s.deadline:
            return "timeout"
        return None

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.exhausted(study, count_running=True):
            study.stop()


def _optimize(study: optuna.Study, objective: Objective, settings: SearchSettings,
              callbacks: list[Callable[..., None]] | None = None) -> None:
    budget = BudgetCallback(settings)
    if budget.exhausted(study):
        return
    timeout = None if settings.deadline is None else max(1.0, settings.deadline - time.time())
    study.optimize(objective, timeout=timeout, catch=(TrialError,), callbacks=[budget, *(callbacks or [])],
                   gc_after_trial=False)


def _worker_main(run_dir: str, storage: str, study_name: str, settings: dict[str, Any], slot: Slot) -> None:
    """Entry point of a worker process (spawned, so it starts clean: no inherited torch threads or locks).
    The slot's CUDA_VISIBLE_DEVICES is set before anything initializes CUDA."""
    os.environ.update(slot.env)
    os.environ["AUTOML_DEVICE_LABEL"] = slot.label
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates workers
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = SearchSettings(**{**settings, "device": slot.device})
    from automl.training import set_num_threads

    set_num_threads(s.threads or 1)
    space = load_space(Path(run_dir) / "space.yaml")
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage),
                              pruner=make_pruner(s, space_max_epochs(space)))
    study.sampler = make_sampler(s, space, offset=len(study.get_trials(deepcopy=False)) + 7919 * slot.index)
    _optimize(study, Objective(str(Path(run_dir) / "space.yaml"), s), s)


# --- public entry points ------------------------------------------------------------------------------------

def _study_for(info: RunInfo, space: SearchSpace, settings: SearchSettings, create: bool) -> optuna.Study:
    storage = open_storage(info.storage or "")
    sampler, pruner = make_sampler(settings, space), make_pruner(settings, space_max_epochs(space))
    direction = info.settings.get("direction") or space.objective.direction
    if create:
        try:
            study = optuna.create_study(storage=storage, sampler=sampler, pruner=pruner, study_name=info.study,
                                        direction=direction, load_if_exists=False)
        except optuna.exceptions.DuplicatedStudyError:
            raise UserInputError(
                f"Storage {redact_url(info.storage)} already has a study named {info.study!r}; resume it with "
                f"`automl resume {info.run_dir}` or choose another --study name."
            ) from None
        study.set_user_attr("automl", {"space": space.name, "metric": space.objective.metric, "seed": settings.seed,
                                       "run_dir": str(info.run_dir)})
        return study
    try:
        return optuna.load_study(study_name=info.study, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        raise UserInputError(f"Study {info.study!r} is not in storage {redact_url(info.storage)}.") from None


def start_search(space_path: str | Path, *, study: str | None = None, root: Path = Path("results"),
                 storage: str | None = None, progress: Callable[..., Any] | None = None,
                 **overrides: Any) -> RunInfo:
    """Create the run directory and study, then search until the budget is spent."""
    space = load_space(space_path)
    settings = SearchSettings.from_space(space, **overrides)
    if settings.sampler == "grid" and settings.trials is None:
        settings.trials = grid_size(space.space, settings.grid_points)
    if settings.trials is None and settings.timeout is None and settings.max_total_epochs is None:
        settings.trials = 20
    from automl.data import load_dataset

    # Validate the dataset before anything is written: a bad path or column fails fast with exit code 2.
    dataset = load_dataset(space.dataset, base_dir=space.base_dir).for_search()  # the search never holds test arrays
    space.resolve_objective(dataset.spec.task)
    check_some_feasible(space, dataset.spec)
    name = study or space.name
    info = create_run(name, Path(space_path), backend="optuna", storage=storage, seed=settings.seed,
                      settings={**asdict(settings), "direction": space.objective.direction,
                                "metric": space.objective.metric, "data_base_dir": str(space.base_dir)}, root=root)
    _fix_base_dir(info, space)
    st = _study_for(info, space, settings, create=True)
    _run(info, st, settings, progress, dataset)
    return info


def check_some_feasible(space: SearchSpace, spec: Any, n: int = 200, seed: int = 0) -> None:
    """Refuse a space in which no sampled architecture fits the data (checked analytically, no training)."""
    from collections import Counter

    from automl.models import check_feasible
    from automl.space import RandomSuggest

    rng = RandomSuggest(seed)
    reasons: Counter[str] = Counter()
    for _ in range(n):
        reason = check_feasible(sample(space.space, rng).config, spec)
        if reason is None:
            return
        reasons[reason.split(":")[0] if len(reasons) > 20 else reason] += 1
    common = "; ".join(f"{r} ({c}x)" for r, c in reasons.most_common(3))
    raise UserInputError(
        f"Search space {space.source}: none of {n} sampled configs is feasible for dataset "
        f"{space.dataset.get('name') or space.dataset.get('path')} (input shape {tuple(spec.input_shape)}). "
        f"Most common reasons: {common}. Allow smaller kernels, less pooling or fewer layers."
    )


def _fix_base_dir(info: RunInfo, space: SearchSpace) -> None:
    """The run dir holds a copy of the space; relative dataset paths must still resolve against the original."""
    import yaml

    if "path" in space.dataset and not Path(space.dataset["path"]).is_absolute() and space.base_dir is not None:
        raw = dict(space.raw)
        ds = dict(raw["dataset"])
        ds["path"] = str((space.base_dir / ds["path"]).resolve()) if (space.base_dir / ds["path"]).exists() else str(Path(ds["path"]).resolve())
        raw["dataset"] = ds
        info.space_path.write_text(yaml.safe_dump(raw, sort_keys=False))


def resume_search(run: str | Path, *, root: Path = Path("results"), storage: str | None = None,
                  progress: Callable[..., Any] | None = None, **overrides: Any) -> RunInfo:
    """Carry on a stopped run: interrupted trials are re-queued, finished ones are kept, the budget continues."""
    info = load_run(run, root=root, storage=storage)
    space = load_space(info.space_path)
    stored = {k: v for k, v in info.settings.items() if k in SearchSettings.__dataclass_fields__}
    stored.update({k: v for k, v in overrides.items() if v is not None})
    stored["deadline"] = None
    settings = SearchSettings(**stored)
    settings.validate()
    st = _study_for(info, space, settings, create=False)
    st.sampler = make_sampler(settings, space, offset=len(st.get_trials(deepcopy=False)))
    requeue_interrupted(st, info)
    _run(info, st, settings, progress, None)
    return info


def requeue_interrupted(study: optuna.Study, info: RunInfo) -> int:
    """RUNNING trials whose worker is gone and trials failed by Ctrl-C are marked failed and queued again."""
    live = _live_workers(info)
    trials = study.get_trials(deepcopy=False)
    # A finished trial cannot be updated (Optuna raises UpdateFinishedTrialError), so "already re-queued" is
    # read from the copies: every re-queued trial carries `requeued_from` = the number of the original.
    requeued = {t.user_attrs.get("requeued_from") for t in trials} - {None}
    n = 0
    for t in trials:
        worker = t.user_attrs.get("worker", "")
        dead_running = t.state == optuna.trial.TrialState.RUNNING and worker not in live
        interrupted = t.state == optuna.trial.TrialState.FAIL and t.user_attrs.get("status") == "interrupted"
        if not (dead_running or interrupted) or t.number in requeued:
            continue
        if dead_running:
            study._storage.set_trial_user_attr(t._trial_id, "status", "interrupted")
            study._storage.set_trial_user_attr(t._trial_id, "reason", "interrupted: its worker process died")
            study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        study.enqueue_trial(t.params, user_attrs={"requeued_from": t.number}, skip_if_exists=False)
        n += 1
    return n


def _live_workers(info: RunInfo) -> set[str]:
    path = info.run_dir / "workers.json"
    if not path.exists():
        return set()
    host = socket.gethostname()
    live = set()
    for w in json.loads(path.read_text()):
        h, _, pid = w.rpartition(":")
        if h != host:
            live.add(w)  # another machine: cannot tell, assume alive
            continue
        try:
            os.kill(int(pid), 0)
            live.add(w)
        except (OSError, ValueError):
            pass
    return live


def _write_workers(info: RunInfo, pids: list[int]) -> None:
    host = socket.gethostname()
    (info.run_dir / "workers.json").write_text(json.dumps([f"{host}:{p}" for p in pids]))


def _run(info: RunInfo, study: optuna.Study, settings: SearchSettings, progress: Callable[..., Any] | None,
         dataset: Any) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    slots = plan_slots(resolve_devices(settings.device), workers=settings.workers,
                       trials_per_gpu=settings.trials_per_gpu)
    settings.threads = settings.threads or threads_per_slot(len(slots), available_cores())
    if settings.timeout is not None and settings.deadline is None:
        settings.deadline = time.time() + settings.timeout
    objective = Objective(str(info.space_path), settings)
    if dataset is not None:
        space = load_space(info.space_path)
        objective._cache.update(space=space, dataset=dataset, **_metric(space, dataset))
    t0 = time.time()
    if len(slots) == 1:
        from automl.training import set_num_threads

        set_num_threads(settings.threads)
        objective.settings = SearchSettings(**{**asdict(settings), "device": slots[0].label})
        _write_workers(info, [os.getpid()])
        cb = [lambda st, tr: progress(st, tr, t0)] if progress else []
        try:
            _optimize(study, objective, settings, cb)
        finally:
            _write_workers(info, [])
        return
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker_main, args=(str(info.run_dir), info.storage, info.study, asdict(settings), slot),
                         daemon=False) for slot in slots]
    for p in procs:
        p.start()
    _write_workers(info, [p.pid for p in procs if p.pid])
    seen: set[int] = set()
    try:
        while any(p.is_alive() for p in procs):
            time.sleep(0.5)
            if progress:
                for tr in study.get_trials(deepcopy=False, states=FINISHED):
                    if tr.number not in seen:
                        seen.add(tr.number)
                        progress(study, tr, t0)
    except KeyboardInterrupt:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(10)
        raise
    finally:
        for p in procs:
            p.join()
        _write_workers(info, [])
    if progress:
        for tr in study.get_trials(deepcopy=False, states=FINISHED):
            if tr.number not in seen:
                progress(study, tr, t0)
    failed = [p.exitcode for p in procs if p.exitcode not in (0, None)]
    if failed:
        raise RuntimeError(f"{len(failed)} worker process(es) exited with codes {failed}; see the messages above.")


def _metric(space: SearchSpace, dataset: Any) -> dict[str, str]:
    obj = space.resolve_objective(dataset.spec.task)
    return {"metric": obj.metric, "direction": obj.direction}


# --- reading results ----------------------------------------------------------------------------------------

def load_trials(info: RunInfo) -> list[TrialRecord]:
    study = optuna.load_study(study_name=info.study, storage=open_storage(info.storage or ""))
    out = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        value = t.value if t.state == optuna.trial.TrialState.COMPLETE else a.get("value")
        out.append(TrialRecord(
            number=t.number, state=t.state.name, value=value, params=dict(t.params), history=a.get("history", []),
            best_epoch=int(a.get("best_epoch", 0)), epochs_run=int(a.get("epochs_run", 0)), reason=a.get("reason", ""),
            detail=a.get("detail", ""), seconds=float(a.get("seconds", 0.0)),
            duration=t.duration.total_seconds() if t.duration else None,
            started=t.datetime_start.timestamp() if t.datetime_start else None,
            finished=t.datetime_complete.timestamp() if t.datetime_complete else None,
            n_params=int(a.get("n_params", 0)), worker=a.get("worker", ""), device=a.get("device", ""),
            seed=a.get("seed"), threads=a.get("threads"),
        ))
    return out
