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


RACES = ("already exists", "UNIQUE constraint failed", "duplicate key")


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """RDB storages get heartbeats so a trial whose process died is noticed and retried; journal files
    (`journal:PATH` or a path ending in .log/.journal) use Optuna's file journal."""
    if url.startswith("journal:") or url.endswith((".log", ".journal")):
        path = url.removeprefix("journal:")
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}
    attempts = 5
    for attempt in range(attempts):
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
            # then creates): "table ... already exists", or on stamping its schema version (Optuna inserts the
            # alembic_version row): "UNIQUE constraint failed" (SQLite), "duplicate key" (PostgreSQL). The other
            # one won (a search and `automl trials` or a test polling the new run): open it again.
            if attempt < attempts - 1 and any(m in str(e) for m in RACES):
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


def set_user_attrs(trial: optuna.Trial, attrs: dict[str, Any]) -> None:
    """A trial's user attrs in one multi-row upsert on SQLite and PostgreSQL. Optuna's `set_user_attr` is a
    transaction per attr (a SELECT, an upsert and a commit): the ~20 a trial writes cost 0.55 s on PostgreSQL
    on this loaded machine, 0.1 s on SQLite. Other storages: one by one, as before."""
    import json

    backend = getattr(trial.storage, "_backend", trial.storage)
    dialect = backend.engine.name if isinstance(backend, optuna.storages.RDBStorage) else ""
    if dialect in ("sqlite", "postgresql") and attrs:
        from optuna.storages._rdb import models

        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        table, tm = models.TrialUserAttributeModel.__table__, models.TrialModel.__table__
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.trial_id, table.c.key],
                                          set_={"value_json": stmt.excluded.value_json})
        rows = [{"trial_id": trial._trial_id, "key": k, "value_json": json.dumps(v)} for k, v in attrs.items()]
        with backend.engine.begin() as conn:
            state = conn.execute(tm.select().with_only_columns(tm.c.state).where(tm.c.trial_id == trial._trial_id)
                                 ).scalar_one()
            backend.check_trial_is_updatable(trial._trial_id, state)  # the error Optuna raises, e.g. when finished
            conn.execute(stmt, rows)
        trial._cached_frozen_trial.user_attrs.update(attrs)
        return
    for k, v in attrs.items():
        trial.set_user_attr(k, v)


def record_of(t: optuna.trial.FrozenTrial) -> TrialRecord:
    """One Optuna trial (our user attrs) as a TrialRecord: what progress, trials, finalize and reports read."""
    complete = t.state == optuna.trial.TrialState.COMPLETE
    # t.values[0], not t.value: with a cost objective (two directions) the value is the first of two
    return _record(t.number, t.state, (t.values[0] if t.values else None) if complete else None, dict(t.params),
                   t.user_attrs,
                   t.datetime_start, t.datetime_complete)


def _record(number: int, trial_state: optuna.trial.TrialState, objective: float | None, params: dict[str, Any],
            a: dict[str, Any], start: Any, complete: Any) -> TrialRecord:
    value = objective if trial_state == optuna.trial.TrialState.COMPLETE else a.get("value")
    # Optuna keeps a Ctrl-C'd trial as FAIL (its own tools read that); ours say INTERRUPTED, never "failed"
    state = "INTERRUPTED" if trial_state.name == "FAIL" and a.get("status") == "interrupted" else trial_state.name
    return TrialRecord(
        number=number, state=state, value=value, params=params, history=a.get("history", []),
        best_epoch=int(a.get("best_epoch", 0)), epochs_run=int(a.get("epochs_run", 0)), reason=a.get("reason", ""),
        detail=a.get("detail", ""), seconds=float(a.get("seconds", 0.0)),
        duration=(complete - start).total_seconds() if start and complete else None,
        started=start.timestamp() if start else None,
        finished=complete.timestamp() if complete else None,
        n_params=int(a.get("n_params", 0)), worker=a.get("worker", ""), device=a.get("device", ""),
        seed=a.get("seed"), threads=a.get("threads"), precision=a.get("precision", ""),
        compiled=bool(a.get("compiled", False)), note=a.get("warm_note", ""), cost=a.get("cost"),
    )


def load_trials(info: RunInfo) -> list[TrialRecord]:
    storage = open_storage(info.storage or "")
    if isinstance(storage, optuna.storages.RDBStorage):
        records = _rdb_records(storage, info.study)
        if records is not None:
            return records
    try:
        study = optuna.load_study(study_name=info.study, storage=storage)
    except KeyError:  # e.g. `--storage` names another database
        raise UserInputError(f"Study {info.study!r} is not in storage {redact_url(info.storage)}.") from None
    return [record_of(t) for t in study.get_trials(deepcopy=False) if not surplus(t)]


def _rdb_records(storage: optuna.storages.RDBStorage, study_name: str) -> list[TrialRecord] | None:
    """The study's trials as TrialRecords in four plain SELECTs. Optuna's own read builds every trial through
    the ORM with its intermediate values and system attrs, which records do not need: 25 s for 10,000 trials on
    SQLite here (benchmarks/scale.py), paid by every `automl trials`, `report`, `finalize` and `resume`, versus
    about 2 s this way. None when the tables are not Optuna's current schema (then Optuna's read is used)."""
    import json

    from optuna.distributions import json_to_distribution
    from optuna.storages._rdb import models
    from sqlalchemy import select

    try:
        study_id = storage.get_study_id_from_name(study_name)
    except KeyError:
        raise UserInputError(f"Study {study_name!r} is not in storage {redact_url(str(storage.engine.url))}.") from None
    tm, pm = models.TrialModel.__table__, models.TrialParamModel.__table__
    vm, am = models.TrialValueModel.__table__, models.TrialUserAttributeModel.__table__
    inf = {models.TrialValueModel.TrialValueType.INF_POS: float("inf"),
           models.TrialValueModel.TrialValueType.INF_NEG: float("-inf")}
    try:
        with storage.engine.connect() as conn:
            trials = conn.execute(select(tm.c.trial_id, tm.c.number, tm.c.state, tm.c.datetime_start,
                                         tm.c.datetime_complete).where(tm.c.study_id == study_id)).all()
            ids = select(tm.c.trial_id).where(tm.c.study_id == study_id)
            params = conn.execute(select(pm.c.trial_id, pm.c.param_name, pm.c.param_value, pm.c.distribution_json)
                                  .where(pm.c.trial_id.in_(ids)).order_by(pm.c.param_id)).all()
            values = conn.execute(select(vm.c.trial_id, vm.c.value, vm.c.value_type)
                                  .where(vm.c.trial_id.in_(ids), vm.c.objective == 0)).all()
            attrs = conn.execute(select(am.c.trial_id, am.c.key, am.c.value_json).where(am.c.trial_id.in_(ids))
                                 .order_by(am.c.trial_user_attribute_id)).all()
    except Exception:  # an older or newer Optuna schema: let Optuna read it
        return None
    dists: dict[str, Any] = {}
    by_trial: dict[int, dict[str, Any]] = {tid: {} for tid, *_ in trials}
    for tid, name, value, dist_json in params:
        d = dists.get(dist_json) or dists.setdefault(dist_json, json_to_distribution(dist_json))
        by_trial[tid][name] = d.to_external_repr(value)
    value_of = {tid: inf.get(vtype, v) for tid, v, vtype in values}
    user: dict[int, dict[str, Any]] = {tid: {} for tid, *_ in trials}
    for tid, key, value_json in attrs:
        user[tid][key] = json.loads(value_json)
    out = []
    for tid, number, state, start, complete in sorted(trials, key=lambda r: r[1]):
        a = user[tid]
        if a.get("status") == "surplus":
            continue
        out.append(_record(number, state, value_of.get(tid), by_trial[tid], a, start, complete))
    return out


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
