"""The Ray backend: the Tune experiment (searcher, scheduler, budget, trainable, ledger) built from a prepared
`Job`, and Tune's restore for resume. Sampling is define-by-run through Ray's `OptunaSearch` (conditional and
repeated parameters reach Tune unchanged); `bohb` uses TuneBOHB over a ConfigSpace of the same space; `pbt`
starts from a seeded random population (Ray allows no searcher with PBT). The dataset is put once into the
object store (train and validation only) and unpickled once per worker process (`SharedData`)."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import warnings
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from ray.tune import Stopper
from ray.tune.stopper import NoopStopper

from automl.backends.base import Backend, Job
from automl.backends.devices import resolve_devices
from automl.backends.optuna.samplers import SAMPLERS
from automl.backends.prepare import space_max_epochs
from automl.backends.ray import ledger
from automl.backends.ray.bohb import BOHB_MISSING, configspace_from
from automl.backends.ray.connection import ray_session
from automl.backends.ray.settings import CHECKPOINTING, SCHEDULERS, RaySettings
from automl.backends.ray.trainable import SharedData, TrialContext, ray_trainable
from automl.space import SearchSpace, sample
from automl.space.errors import UserInputError
from automl.space.params import Float, Space
from automl.space.sampling import RandomSuggest
from automl.store.records import TrialRecord
from automl.store.run import RunInfo

log = logging.getLogger(__name__)

# --- define-by-run sampling (picklable: Tune saves the searcher with the experiment) --------------------------

def define_by_run(space: Space, trial: Any) -> None:
    """`OptunaSearch(space=partial(define_by_run, space))`: the neutral space sampled with Tune's Optuna trial."""
    sample(space, trial)


class RandomPopulation:
    """PBT's initial population: `tune.sample_from` calls this once per trial (seeded, conditional-aware)."""

    def __init__(self, space: Space, seed: int) -> None:
        self.space, self.seed, self.n = space, seed, 0

    def __call__(self, spec: Any = None) -> dict[str, Any]:
        self.n += 1
        return sample(self.space, RandomSuggest(self.seed * 1_000_003 + self.n)).params


class PerturbFloats:
    """PBT explore step: every float parameter of the trial is multiplied by 0.8 or 1.2 (clipped to its
    range), or resampled with probability 0.25. Categorical, integer and structural parameters are left
    alone, so the perturbed params still describe a valid config of the same space."""

    def __init__(self, space: Space, seed: int) -> None:
        self.space, self.rng = space, random.Random(seed)

    def __call__(self, config: dict[str, Any]) -> dict[str, Any]:
        params = dict(config.get("p") or {})
        for name, value in list(params.items()):
            try:
                dist = self.space.find(name).dist
            except KeyError:
                continue
            if not isinstance(dist, Float):
                continue
            if self.rng.random() < 0.25:
                new = RandomSuggest(self.rng).suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
            else:
                new = min(max(float(value) * self.rng.choice((0.8, 1.2)), dist.low), dist.high)
            params[name] = float(new)
        return {**config, "p": params}


def trial_name(offset: int, trial: Any) -> str:
    """Trial names/dirs `trial_00007_<id>`: the number is the creation index (the searcher's counter)."""
    m = re.match(r"\d+", str(trial.experiment_tag))
    return f"trial_{int(m.group()) - offset if m else 0:05d}_{trial.trial_id}"


# --- building the Tune experiment ---------------------------------------------------------------------------

@contextlib.contextmanager
def _hyperband_env(settings: RaySettings) -> Iterator[None]:
    """Synchronous HyperBand halves a bracket only once it is full, but Tune creates one pending trial at a time
    for a searcher (and `--max-concurrent` caps the live ones): every trial would land in the first bracket and
    run its full budget. For `hyperband` Tune may create up to `trials` pending trials (resources still bound
    what runs) and --max-concurrent is not applied."""
    if settings.scheduler != "hyperband" or "TUNE_MAX_PENDING_TRIALS_PG" in os.environ:
        yield
        return
    if settings.max_concurrent:
        log.warning("--max-concurrent is not applied with --scheduler hyperband (a bracket must fill before it is "
                    "halved); --cpus-per-trial/--gpus-per-trial bound how many trials run at once.")
    os.environ["TUNE_MAX_PENDING_TRIALS_PG"] = str(max(1, min(int(settings.trials or 64), 1000)))
    try:
        yield
    finally:
        os.environ.pop("TUNE_MAX_PENDING_TRIALS_PG", None)


_LIVE: dict[tuple[str, str], Stopper | None] = {}  # (kind, run dir) -> this session's stopper (None: none)


def _session_stopper(cls: type, key: tuple[str, str], state: dict[str, Any]) -> Stopper:
    """What a pickled stopper becomes when Tune restores its experiment state: in the driver of a session of
    that run, this session's stopper of that kind, or one that never stops (this session has none: a resume with
    `--budget fixed`); elsewhere (Tune's driver of a Ray client session) the stopper as it was pickled."""
    if key in _LIVE:
        return _LIVE[key] or NoopStopper()
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


class SessionStopper(Stopper):
    """Tune pickles the stopper into its experiment state and its restore brings the pickled one back over
    `RunConfig.stop`: a stale budget or the stall of an earlier session would end this one. Restored in the
    driver of this session, a stopper resolves to the one this session built (`_LIVE`)."""

    key: tuple[str, str]

    @classmethod
    def session(cls, run_dir: Path, stopper: SessionStopper | None) -> None:
        """This session's stopper of this kind for the run (None: it has none)."""
        _LIVE[(cls.__name__, str(Path(run_dir).resolve()))] = stopper

    def _register(self, run_dir: Path) -> None:
        self.key = (type(self).__name__, str(Path(run_dir).resolve()))
        _LIVE[self.key] = self

    @classmethod
    def close(cls, run_dir: Path) -> None:
        _LIVE.pop((cls.__name__, str(Path(run_dir).resolve())), None)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_session_stopper, (type(self), self.key, dict(self.__dict__)))


class EpochBudget(SessionStopper):
    """--max-total-epochs on Ray: counts the epochs every trial reports (those of finished trials in the ledger
    included); once they reach the budget the trial in flight is stopped and no new trial starts. Exact: the
    epochs recorded never sum past the budget (a cut trial is PRUNED, its reason says the budget was spent)."""

    def __init__(self, limit: int, run_dir: Path) -> None:
        self.limit, self.run_dir, self.used = limit, Path(run_dir), ledger.ledger_epochs(run_dir)
        self._register(run_dir)

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        self.used += result.get("automl_kind") == "epoch"
        return self.spent

    def stop_all(self) -> bool:
        return self.spent

    @property
    def spent(self) -> bool:
        return self.used >= self.limit


class StallStop(SessionStopper):
    """--budget auto on Ray: the stall rule of automl.backends.autostop (the one the Optuna backend applies) on
    the finished trials in the order they finished. The ledger hands each finished trial over (earlier
    sessions' trials are read from it at the start); once stalled, no new trial starts and Tune stops the
    running ones (recorded PRUNED, their reason says the search stalled). `stop` is the rule's estimate at the
    stall, the same record (`settings.stopped`) the Optuna backend keeps."""

    def __init__(self, settings: RaySettings, direction: str, run_dir: Path) -> None:
        from automl.backends.autostop import StallRule

        self.rule, self.metric = StallRule.of(settings, direction), settings.metric
        self.records: list[TrialRecord] = ledger.ledger_records(run_dir)
        self.stop: dict[str, Any] | None = None
        self._check()
        self._register(run_dir)

    def add(self, record: TrialRecord) -> None:
        self.records.append(record)
        self._check()

    def _check(self) -> None:
        from automl.backends.autostop import finished_records

        est = self.rule.check(finished_records(self.records, self.metric))
        if est.stalled and self.stop is None:
            self.stop = est.to_json()

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return self.spent

    def stop_all(self) -> bool:
        return self.spent

    @property
    def spent(self) -> bool:
        return self.stop is not None


def _search_alg(settings: RaySettings, space: SearchSpace, metric: str, mode: str,
                points: list[dict[str, Any]] | None = None) -> tuple[Any, int]:
    """(search_alg or None, Tune's first trial tag): PBT takes no searcher, BOHB its own over a ConfigSpace."""
    if settings.scheduler == "pbt":
        return None, 0
    if settings.scheduler == "bohb":
        cs = configspace_from(space.space, settings.seed)
        try:
            from ray.tune.search.bohb import TuneBOHB

            return TuneBOHB(space=cs, metric=metric, mode=mode, seed=settings.seed), 1
        except (ImportError, AssertionError):
            raise UserInputError(BOHB_MISSING) from None
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a search starts: no "study created" lines
    with warnings.catch_warnings():  # Optuna calls some sampler options "experimental"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = SAMPLERS.create(settings.searcher, settings, space, settings.seed)
    return OptunaSearch(space=partial(define_by_run, space.space), metric=metric, mode=mode, sampler=sampler,
                        points_to_evaluate=points or None), 1  # warm start: enqueued, run first


def _trainable(job: Job, done: dict[int, dict[str, Any]], bohb_choices: dict | None) -> Any:
    from ray import tune

    s: RaySettings = job.settings  # type: ignore[assignment]
    ctx = TrialContext(space=job.space.space, metric=job.metric, direction=job.direction, seed=s.seed,
                       device=s.trial_device, threads=s.threads or max(1, int(s.cpus_per_trial)), precision=s.precision, compile=s.compile,
                       trial_timeout=s.trial_timeout, checkpointing=s.scheduler in CHECKPOINTING,
                       bohb_choices=bohb_choices, done=done)
    import ray

    # train/val only, put once; each worker process unpickles it once (SharedData), not once per trial
    fn = tune.with_parameters(ray_trainable, data=SharedData(ray.put(job.data)), ctx=ctx)
    return tune.with_resources(fn, {"cpu": s.cpus_per_trial, "gpu": s.gpus})


def _stoppers(job: Job) -> tuple[EpochBudget | None, StallStop | None]:
    """This session's stoppers: the epoch budget (--max-total-epochs) and the stall rule (`--budget auto`)."""
    s, run_dir = job.settings, job.info.run_dir
    budget = EpochBudget(s.max_total_epochs, run_dir) if s.max_total_epochs else None
    stall = StallStop(s, job.direction, run_dir) if s.auto else None  # type: ignore[arg-type]
    EpochBudget.session(run_dir, budget)
    StallStop.session(run_dir, stall)
    return budget, stall


def _callbacks(job: Job, budget: EpochBudget | None, stall: StallStop | None) -> tuple[list[Any], Stopper | None]:
    """Tune's callbacks (the ledger feeds both stoppers the trials as they finish) and the combined stopper."""
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback
    from ray.tune.stopper import CombinedStopper

    stoppers = [x for x in (budget, stall) if x is not None]
    stop = CombinedStopper(*stoppers) if len(stoppers) > 1 else (stoppers[0] if stoppers else None)
    # result.json + progress.csv only (TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1 drops TensorBoard event files)
    return [JsonLoggerCallback(), CSVLoggerCallback(), ledger.Ledger(job.info.run_dir, job, budget, stall)], stop


def _run_config(job: Job, callbacks: list[Any], stop: Stopper | None) -> Any:
    from ray import tune

    s: RaySettings = job.settings  # type: ignore[assignment]
    keep = None if s.scheduler == "pbt" else 2  # PBT clones checkpoints: keep all (Tune's pruning of clones errs)
    return tune.RunConfig(
        name=ledger.EXPERIMENT, storage_path=s.storage_path or str(job.info.run_dir), verbose=0, stop=stop,
        failure_config=tune.FailureConfig(max_failures=s.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=keep), callbacks=callbacks,
    )


def _reopen_searcher(info: RunInfo) -> None:
    """A session the stall rule stopped left Tune's search generator `finished` (`stop_all` sets it): a resume
    that searches on (`--budget fixed`, or a rule that no longer holds) clears that flag in the newest saved
    state, which Tune's restore reads (and unpickles: resuming one's own search, as Tune's restore does)."""
    import ray.cloudpickle as cloudpickle

    fs, root = ledger._filesystem(ledger.experiment_path(info))
    import pyarrow.fs as pafs

    states = sorted(e.path for e in fs.get_file_info(pafs.FileSelector(root, allow_not_found=True))
                    if e.base_name.startswith("search_gen_state-"))
    if not states:
        return
    with fs.open_input_stream(states[-1]) as f:
        state = cloudpickle.loads(f.readall())
    if isinstance(state, dict) and state.get("finished"):
        state["finished"] = False
        with fs.open_output_stream(states[-1]) as f:
            f.write(cloudpickle.dumps(state))


def _restore(job: Job, trainable: Any, callbacks: list[Any], stop: Stopper | None) -> Any:
    """Tune's restore brings back the experiment as pickled; the driver-side ledger and stoppers of this
    session (progress printer, epochs already spent, trials finished) replace the pickled ones."""
    from ray import tune

    if job.info.settings.get("stopped"):
        _reopen_searcher(job.info)
    tuner = tune.Tuner.restore(ledger.experiment_path(job.info), trainable=trainable, resume_errored=True)
    local = getattr(tuner, "_local_tuner", None)  # None with a Ray client (ray://): the pickled ones stay
    if local is not None:
        rc = local.get_run_config()
        rc.callbacks, rc.stop = callbacks, stop
    return tuner


class RayBackend(Backend):
    name = "ray"
    settings_class = RaySettings
    fixed_on_resume = ("trials", "timeout")  # Tune restores the experiment as it was defined

    def check(self, space: SearchSpace, settings: Any) -> None:
        if settings.scheduler == "bohb":
            configspace_from(space.space, settings.seed)  # fails fast with the install hint
        if settings.address is None:
            resolve_devices(settings.device)  # a local Ray: the GPU asked for must be here
        if settings.trials is None and (settings.timeout or settings.max_total_epochs):
            settings.trials = 10**6  # until the time or epoch budget is spent

    def session(self, settings: Any) -> contextlib.AbstractContextManager[None]:
        return ray_session(settings)

    def check_warm_start(self, settings: Any) -> None:
        if settings.scheduler in ("pbt", "bohb"):
            raise UserInputError(f"--warm-start needs Ray's OptunaSearch searcher, which --scheduler "
                                 f"{settings.scheduler} replaces; use another scheduler (asha, hyperband, median, "
                                 "fifo) or --backend optuna.")

    def load_trials(self, info: RunInfo) -> list[TrialRecord]:
        from automl.backends.warm import with_notes

        return with_notes(ledger.load_trials(info), info)

    def run(self, job: Job, *, resume: bool) -> None:
        s: RaySettings = job.settings  # type: ignore[assignment]
        info = job.info
        if resume and not _has_experiment_state(info):
            state = ledger.experiment_path(info)
            raise UserInputError(f"Run {info.run_dir} has no Tune experiment state at {state} yet "
                                 "(the search was stopped before Tune's first snapshot); start it again.")
        if not resume:
            s.storage_path = s.storage_path or str(info.run_dir)
            info.settings["storage_path"] = s.storage_path
            info.storage = ledger.experiment_path(info)
            info.save()
            _warn_storage(s)
        mode = "max" if job.direction == "maximize" else "min"
        from automl.backends.warm import points

        search_alg, offset = _search_alg(s, job.space, job.metric, mode, points(job.warm) if job.warm else None)
        bohb_choices = getattr(getattr(search_alg, "_space", None), "automl_choices", None) if s.scheduler == "bohb" else None
        trainable = _trainable(job, ledger.ledger_done(info) if resume else {}, bohb_choices)
        budget, stall = _stoppers(job)
        callbacks, stop = _callbacks(job, budget, stall)
        try:
            self._fit(job, trainable, search_alg, offset, callbacks, stop, stall, resume=resume)
        finally:
            EpochBudget.close(info.run_dir)
            StallStop.close(info.run_dir)
        if s.auto or info.settings.get("stopped"):  # a resume with --budget fixed clears an earlier stop
            from automl.backends.autostop import record_stop

            record_stop(info, stall.stop if stall is not None else None)

    def _fit(self, job: Job, trainable: Any, search_alg: Any, offset: int, callbacks: list[Any],
             stop: Stopper | None, stall: StallStop | None, *, resume: bool) -> None:
        from ray import tune

        s: RaySettings = job.settings  # type: ignore[assignment]
        mode = "max" if job.direction == "maximize" else "min"
        if stall is not None and stall.spent:
            return  # stalled in an earlier session (a resume): no trial runs, as with the Optuna backend
        if resume:
            with _hyperband_env(s):
                _restore(job, trainable, callbacks, stop).fit()
        else:
            with _hyperband_env(s):
                namer = partial(trial_name, offset)
                param_space = {"p": tune.sample_from(RandomPopulation(job.space.space, s.seed))} if s.scheduler == "pbt" else None
                tuner = tune.Tuner(trainable, param_space=param_space, run_config=_run_config(job, callbacks, stop), tune_config=tune.TuneConfig(
                    metric=job.metric, mode=mode, search_alg=search_alg,
                    scheduler=SCHEDULERS.create(s.scheduler, s, job.space, space_max_epochs(job.space)),
                    num_samples=s.trials, time_budget_s=s.timeout, reuse_actors=s.reuse_actors,
                    max_concurrent_trials=None if s.scheduler == "hyperband" else s.max_concurrent,
                    trial_name_creator=namer, trial_dirname_creator=namer))
                tuner.fit()


def _warn_storage(settings: RaySettings) -> None:
    shared = "://" in (settings.storage_path or "")
    if settings.address and settings.scheduler in CHECKPOINTING and not shared:
        log.warning("--scheduler %s writes checkpoints from the worker nodes: on a multi-node cluster give "
                    "--storage-path a shared filesystem or a cloud URI (s3://, gs://).", settings.scheduler)


def _has_experiment_state(info: RunInfo) -> bool:
    from ray.tune import Tuner

    try:
        return bool(Tuner.can_restore(ledger.experiment_path(info)))
    except Exception:
        return False
