"""Optuna storages (RDB with heartbeats, SQLite in WAL mode, journal files) and the way back from Optuna's
trials to backend-neutral `TrialRecord`s; the live-worker file that tells resume which trials were cut."""

from __future__ import annotations

import time
import warnings
from typing import Any

import optuna

from automl.space.errors import UserInputError
from automl.store.records import TrialRecord
from automl.store.run import RunInfo, live_holders, redact_url

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)


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
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna; say so once, not per open
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
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
                "Allowed: sqlite:///PATH, postgresql://USER:PASSWORD@HOST/DB, mysql://..., or journal:PATH.") from None
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


def record_of(t: optuna.trial.FrozenTrial) -> TrialRecord:
    """One Optuna trial (our user attrs) as a TrialRecord: what progress, trials, finalize and reports read."""
    a = t.user_attrs
    # t.values, not t.value: with a cost objective (two directions) the value is the first of two
    value = (t.values[0] if t.values else None) if t.state == optuna.trial.TrialState.COMPLETE else a.get("value")
    # Optuna keeps a Ctrl-C'd trial as FAIL (its own tools read that); ours say INTERRUPTED, never "failed"
    state = "INTERRUPTED" if t.state.name == "FAIL" and a.get("status") == "interrupted" else t.state.name
    return TrialRecord(
        number=t.number, state=state, value=value, params=dict(t.params), history=a.get("history", []),
        best_epoch=int(a.get("best_epoch", 0)), epochs_run=int(a.get("epochs_run", 0)), reason=a.get("reason", ""),
        detail=a.get("detail", ""), seconds=float(a.get("seconds", 0.0)),
        duration=t.duration.total_seconds() if t.duration else None,
        started=t.datetime_start.timestamp() if t.datetime_start else None,
        finished=t.datetime_complete.timestamp() if t.datetime_complete else None,
        n_params=int(a.get("n_params", 0)), worker=a.get("worker", ""), device=a.get("device", ""),
        seed=a.get("seed"), threads=a.get("threads"), precision=a.get("precision", ""),
        compiled=bool(a.get("compiled", False)), note=a.get("warm_note", ""), cost=a.get("cost"),
    )


def load_trials(info: RunInfo) -> list[TrialRecord]:
    try:
        study = optuna.load_study(study_name=info.study, storage=open_storage(info.storage or ""))
    except KeyError:  # e.g. `--storage` names another database
        raise UserInputError(f"Study {info.study!r} is not in storage {redact_url(info.storage)}.") from None
    return [record_of(t) for t in study.get_trials(deepcopy=False) if not surplus(t)]


def surplus(t: optuna.trial.FrozenTrial) -> bool:
    """A trial a worker created past the trial budget (see objective.SURPLUS): it never ran, it is no record."""
    return t.user_attrs.get("status") == "surplus"


def requeue_interrupted(study: optuna.Study, info: RunInfo) -> int:
    """RUNNING trials whose worker is gone and trials failed by Ctrl-C are marked failed and queued again."""
    live = set(live_holders(info.run_dir))
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
