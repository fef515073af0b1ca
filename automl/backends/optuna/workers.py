"""The Optuna backend: one study per run, searched in this process or in K spawned worker processes (one per
device slot) that share the storage; the budget callback stops them all."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import optuna

from automl.backends.base import Backend, Job
from automl.backends.devices import Slot, plan_slots, resolve_devices, threads_per_slot
from automl.backends.optuna.barrier import WAIT_S, make_folder, ready_count, release, wait_for_siblings
from automl.backends.optuna.objective import BudgetCallback, Objective, TrialError, quiet_optuna
from automl.backends.optuna.samplers import PRUNERS, SAMPLERS
from automl.backends.optuna.settings import OptunaSettings
from automl.backends.optuna.storage import (
    FINISHED,
    load_trials,
    open_storage,
    record_of,
    requeue_interrupted,
    surplus,
)
from automl.backends.prepare import space_max_epochs
from automl.backends.stop import Terminated, worker_signals
from automl.space import SearchSpace, grid_size, load_space
from automl.space.errors import UserInputError
from automl.store.records import TrialRecord
from automl.store.run import RunInfo, redact_url, write_holders
from automl.trial import shielded

POLL_S = 0.5  # the driver's shortest interval between reads of the study for progress lines (two or more workers)


def make_sampler(settings: OptunaSettings, space: SearchSpace, offset: int = 0) -> optuna.samplers.BaseSampler:
    """`offset` shifts the seed: each worker and each resumed session must not replay the first session's
    random stream (the same seed would sample the same configs again)."""
    return SAMPLERS.create(settings.sampler, settings, space, settings.seed + offset)


def make_pruner(settings: OptunaSettings, space: SearchSpace) -> optuna.pruners.BasePruner:
    return PRUNERS.create(settings.pruner, settings, space_max_epochs(space))


def _optimize(study: optuna.Study, objective: Objective, settings: OptunaSettings,
              callbacks: list[Callable[..., None]] | None = None) -> None:
    budget = BudgetCallback(settings)
    if budget.exhausted(study):
        return
    timeout = None if settings.deadline is None else max(1.0, settings.deadline - time.time())
    study.optimize(objective, timeout=timeout, catch=(TrialError,), callbacks=[budget, *(callbacks or [])],
                   gc_after_trial=False)


def _worker_main(run_dir: str, storage: str, study_name: str, settings: dict[str, Any], slot: Slot,
                 parent_pid: int | None = None, data: str | None = None,
                 start: dict[str, Any] | None = None) -> None:
    """Entry point of a worker process (spawned, so it starts clean: no inherited torch threads or locks).
    The slot's CUDA_VISIBLE_DEVICES is set before anything initializes CUDA. The parent handles Ctrl-C and
    stops the workers with SIGTERM, which records the running trial as interrupted; a worker whose parent
    died (even by SIGKILL) stops the same way."""
    worker_signals(parent_pid or os.getppid())
    try:
        _work(run_dir, storage, study_name, settings, slot, data, start)
    except KeyboardInterrupt:  # SIGTERM: the trial is recorded as interrupted; no traceback for it
        sys.exit(Terminated.exit_code)


def _work(run_dir: str, storage: str, study_name: str, settings: dict[str, Any], slot: Slot,
          data: str | None = None, start: dict[str, Any] | None = None) -> None:
    os.environ.update(slot.env)
    os.environ["AUTOML_DEVICE_LABEL"] = slot.label
    quiet_optuna()
    s = OptunaSettings(**{**settings, "device": slot.device})
    from automl.training import set_num_threads

    set_num_threads(s.threads or 1)
    space = load_space(Path(run_dir) / "space.yaml")
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage), pruner=make_pruner(s, space))
    study.sampler = make_sampler(s, space, offset=len(study.get_trials(deepcopy=False)) + 7919 * slot.index)
    objective = Objective(str(Path(run_dir) / "space.yaml"), s, data_path=data)
    objective._load()  # the data, once per worker and before its first trial (not inside the first trial's time)
    if start:  # all workers begin together (automl.backends.optuna.barrier), never past the search's deadline
        wait_s = WAIT_S if s.deadline is None else min(WAIT_S, max(0.0, s.deadline - time.time()))
        wait_for_siblings(start["dir"], slot.index, int(start["workers"]), wait_s)
    _optimize(study, objective, s)


class WorkerProcess:
    """A worker as a fresh `python -m automl.backends.optuna.worker` process (see that module for why not
    multiprocessing's spawn), with the small Process-like surface the driver loop uses."""

    def __init__(self, args: dict[str, Any]) -> None:
        import automl

        env = dict(os.environ)
        root = str(Path(automl.__file__).resolve().parents[1])  # importable from a checkout, too
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self._p = subprocess.Popen([sys.executable, "-m", "automl.backends.optuna.worker"], stdin=subprocess.PIPE,
                                   env=env)
        assert self._p.stdin is not None
        self._p.stdin.write(json.dumps(args, default=str).encode())
        self._p.stdin.close()

    @property
    def pid(self) -> int:
        return self._p.pid

    @property
    def exitcode(self) -> int | None:
        return self._p.poll()

    def is_alive(self) -> bool:
        return self._p.poll() is None

    def terminate(self) -> None:
        self._p.terminate()

    def kill(self) -> None:
        self._p.kill()

    def join(self, timeout: float | None = None) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._p.wait(timeout)


class OptunaBackend(Backend):
    name = "optuna"
    settings_class = OptunaSettings
    storage_url = True
    multi_objective = True  # a cost objective: Optuna studies with two directions (automl.finalize.pareto)

    def check(self, space: SearchSpace, settings: Any) -> None:
        if settings.sampler == "grid" and settings.trials is None:
            settings.trials = grid_size(space.space, settings.grid_points)

    def check_warm_start(self, settings: Any) -> None:
        if settings.sampler == "grid":
            raise UserInputError("--warm-start does not combine with --sampler grid: the grid sampler walks its own "
                                 "fixed list of configs; use --sampler tpe (or random) to start from earlier runs.")

    def load_trials(self, info: RunInfo) -> list[TrialRecord]:
        return load_trials(info)

    def run(self, job: Job, *, resume: bool) -> None:
        from automl.data.handoff import remove_search_data

        quiet_optuna()
        remove_search_data(job.info.run_dir)  # a data file an earlier session's killed driver left behind
        s: OptunaSettings = job.settings  # type: ignore[assignment]
        study = self._study(job.info, job.space, s, create=not resume)
        if resume:
            study.sampler = make_sampler(s, job.space, offset=len(study.get_trials(deepcopy=False)))
            requeue_interrupted(study, job.info)
        elif job.warm is not None:
            from automl.backends.warm import seed_optuna

            seed_optuna(study, job.warm, job.metric)
        slots = plan_slots(resolve_devices(s.device), workers=s.workers, trials_per_gpu=s.trials_per_gpu)
        s.threads = s.threads or threads_per_slot(len(slots), _cores())
        if s.timeout is not None and s.deadline is None:
            s.deadline = time.time() + s.timeout
        if s.auto:
            study.set_user_attr("autostop", {})  # this session's stop, if it stalls (an earlier one is history)
        if len(slots) == 1:
            self._in_process(job, study, s, slots[0])
        else:
            self._in_workers(job, study, s, slots)
        if s.auto or job.info.settings.get("stopped"):  # a resume with --budget fixed clears an earlier stop
            from automl.backends.autostop import record_stop

            record_stop(job.info, (study.user_attrs.get("autostop") or None) if s.auto else None)

    def _in_process(self, job: Job, study: optuna.Study, s: OptunaSettings, slot: Slot) -> None:
        from automl.training import set_num_threads

        set_num_threads(s.threads or 1)
        objective = Objective(str(job.info.space_path), replace(s, device=slot.label))
        objective._cache.update(space=job.space, dataset=job.data, metric=job.metric, direction=job.direction)
        write_holders(job.info.run_dir, [os.getpid()])
        try:
            _optimize(study, objective, s, [lambda st, tr: surplus(tr) or job.finished(record_of(tr))])
        finally:
            write_holders(job.info.run_dir, [])

    def _in_workers(self, job: Job, study: optuna.Study, s: OptunaSettings, slots: list[Slot]) -> None:
        from automl.data.handoff import FILE, remove_search_data, save_search_data

        info = job.info
        procs: list[WorkerProcess] = []
        start = make_folder()  # the start barrier's markers (None: no barrier); removed with the search
        try:
            # the driver's arrays, handed over as one file (automl.data.handoff); removed when the search ends
            data_file = info.run_dir / FILE
            data = str(data_file) if save_search_data(job.data, data_file) else None
            if data is None:
                print(f"note: could not write {data_file}; each worker loads the data itself", file=sys.stderr)
            try:
                for slot in slots:
                    procs.append(WorkerProcess({"run_dir": str(info.run_dir), "storage": info.storage,
                                                "study": info.study, "settings": asdict(s), "slot": asdict(slot),
                                                "parent_pid": os.getpid(), "data": data,
                                                "start": start and {"dir": start, "workers": len(slots)}}))
            except BaseException:  # a worker that could not start: the ones that did stop with the search
                _stop(procs)
                raise
            self._drive(job, study, procs, start)
        finally:
            remove_search_data(info.run_dir)
            if start:
                shutil.rmtree(start, ignore_errors=True)

    def _drive(self, job: Job, study: optuna.Study, procs: list[WorkerProcess], start: str | None = None) -> None:
        info = job.info
        write_holders(info.run_dir, [os.getpid(), *(p.pid for p in procs if p.pid)])  # the driver holds the run too
        # trials of earlier sessions (resume) are not reported again: the printer summed them up in one line
        seen = {t.number for t in study.get_trials(deepcopy=False, states=FINISHED)}

        def report() -> None:
            for tr in study.get_trials(deepcopy=False, states=FINISHED):
                if tr.number not in seen:
                    seen.add(tr.number)
                    surplus(tr) or job.finished(record_of(tr))

        try:
            next_poll = time.monotonic()
            while any(p.is_alive() for p in procs):
                time.sleep(0.1)  # a finished search is noticed at once; the storage is read less often
                if start and not all(p.is_alive() for p in procs):  # one exited: none may wait for it
                    if ready_count(start) < len(procs):
                        release(start)
                    start = None
                if time.monotonic() >= next_poll:
                    t = time.monotonic()
                    with shielded():  # Ctrl-C and SIGTERM wait for the storage read (a torn one logs a traceback)
                        report()
                    # reading the study for progress lines costs CPU the workers train with (the trials in flight
                    # are read again every time): at most ~1% of a core, and at least every POLL_S
                    next_poll = time.monotonic() + max(POLL_S, 100 * (time.monotonic() - t))
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: each worker records its running trial as interrupted
            _stop(procs)
            raise
        finally:
            for p in procs:
                p.join()
            write_holders(info.run_dir, [])
        report()
        failed = [p.exitcode for p in procs if p.exitcode not in (0, None)]
        if failed:
            raise RuntimeError(f"{len(failed)} worker process(es) exited with codes {failed}; see the messages above.")

    def _study(self, info: RunInfo, space: SearchSpace, s: OptunaSettings, create: bool) -> optuna.Study:
        storage = open_storage(info.storage or "")
        sampler, pruner = make_sampler(s, space), make_pruner(s, space)
        if not create:
            try:
                return optuna.load_study(study_name=info.study, storage=storage, sampler=sampler, pruner=pruner)
            except KeyError:
                raise UserInputError(f"Study {info.study!r} is not in storage {redact_url(info.storage)}.") from None
        try:
            direction = info.settings.get("direction") or space.objective.direction
            study = optuna.create_study(storage=storage, sampler=sampler, pruner=pruner, study_name=info.study,
                                        directions=[direction, *(["minimize"] if space.objective.cost else [])])
        except optuna.exceptions.DuplicatedStudyError:
            raise UserInputError(
                f"Storage {redact_url(info.storage)} already has a study named {info.study!r}; resume it with "
                f"`automl resume {info.run_dir}` or choose another --study name.") from None
        study.set_user_attr("automl", {"space": space.name, "metric": space.objective.metric, "seed": s.seed,
                                       **({"cost": space.objective.cost} if space.objective.cost else {}),
                                       "run_dir": str(info.run_dir)})
        return study


def _stop(procs: list[WorkerProcess], grace_s: float = 30) -> None:
    """SIGTERM to each live worker (it records its running trial as interrupted), then SIGKILL to any that has not
    exited within `grace_s` (stuck in native code: its trial stays RUNNING and resume re-queues it)."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.time() + grace_s
    for p in procs:
        p.join(max(0.1, deadline - time.time()))
        if p.is_alive():
            p.kill()
            p.join(5)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
