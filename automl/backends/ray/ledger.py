"""Finished trials, written at once: the driver appends each to `ray_trials.jsonl` in the run dir (fsync'd),
so a driver killed between two Tune snapshots loses nothing, and prints its progress line from the same
`TrialRecord`. `load_trials` merges Tune's experiment with that ledger; resume hands finished trials back
instead of training them again.

Reading a run (`trials`, `best`, `report`, `finalize`) never unpickles: Tune's snapshot is read as plain JSON
(`tune_snapshot`), its pickled fields skipped, so opening a run folder from someone else cannot run code.
Only `automl resume` restores the Tune experiment with Tune's own (unpickling) restore: that is continuing
one's own search."""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray.tune import Callback

from automl.backends.ray.trainable import params_of, trial_number
from automl.store.records import TrialRecord
from automl.store.run import RunInfo

EXPERIMENT = "tune"  # the Tune experiment folder under storage_path
LEDGER = "ray_trials.jsonl"
NEVER_RAN = "NEVER_RAN"  # a pending trial a stopper ended before it started: no trial at all


def experiment_path(info: RunInfo) -> str:
    sp = info.settings.get("storage_path") or str(info.run_dir)
    return sp.rstrip("/") + "/" + EXPERIMENT


class Ledger(Callback):
    """The driver-side Tune callback that writes the ledger. Tune pickles it with the experiment; the backend
    attaches a fresh one to a restored experiment, so only the run dir travels in the pickle."""

    def __init__(self, run_dir: Path, job: Any = None, budget: Any = None, stall: Any = None) -> None:
        self.run_dir, self.job, self.budget, self.stall = Path(run_dir), job, budget, stall
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.recovered: dict[str, int] = {}
        self.finished: set[str] = set()

    def __getstate__(self) -> dict[str, Any]:
        return {"run_dir": self.run_dir}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["run_dir"])  # type: ignore[misc]

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        self.rows.setdefault(trial.trial_id, []).append(_compact(result))

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        # a node that died counts as preemption for Tune (not in num_failures): count restarts here
        self.recovered[trial.trial_id] = self.recovered.get(trial.trial_id, 0) + 1

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finish(trial, "TERMINATED")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finish(trial, "ERROR")

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        """Trials a stopper ended (`stop_all`: the epoch budget spent, the search stalled) are TERMINATED by Tune
        without `on_trial_complete`: recorded here; those that never reported an epoch (pending, or still
        starting) as never run, which `load_trials` leaves out (they trained nothing)."""
        known = None
        for trial in trials:
            if trial.status != "TERMINATED" or trial.trial_id in self.finished:
                continue
            if trial.trial_id in self.rows:
                self._finish(trial, "TERMINATED")
            elif self._stopped() and not getattr(trial, "has_reported_at_least_once", True):
                known = known if known is not None else {e.get("trial_id") for e in _ledger(self.run_dir)}
                if trial.trial_id not in known:  # not a trial an earlier session finished
                    self._write({"trial_id": trial.trial_id, "name": str(trial), "status": NEVER_RAN, "t": time.time()})

    def _stopped(self) -> str:
        """Why a stopper ended the search ('' while none did)."""
        if self.stall is not None and self.stall.spent:
            return "the search stalled (--budget auto)"
        if self.budget is not None and self.budget.spent:
            return "the --max-total-epochs budget is spent"
        return ""

    def _write(self, entry: dict[str, Any]) -> None:
        with open(self.run_dir / LEDGER, "a") as f:
            f.write(json.dumps(entry, default=lambda o: o.item() if hasattr(o, "item") else str(o)) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def _finish(self, trial: Any, status: str) -> None:
        self.finished.add(trial.trial_id)
        rows = self.rows.pop(trial.trial_id, [])
        if rows and rows[-1].get("automl_restored"):
            return  # a finished trial that resume handed back: its ledger line is already there
        restarts = max(self.recovered.pop(trial.trial_id, 0), trial.run_metadata.num_failures)
        error = _read_error(trial) if status == "ERROR" or restarts else ""
        rec = record_from_rows(trial_number(str(trial)) or 0, params_of(trial.config), rows, status, error,
                               num_failures=restarts)
        if rec.state == "PRUNED" and self._stopped():
            rec.reason = f"stopped at epoch {rec.epochs_run}: {self._stopped()}"
        final = next((r for r in reversed(rows) if r.get("automl_kind") == "final"), None)
        if final is not None:  # what resume reports back for it: our keys only, none of Tune's own
            final = {k: v for k, v in final.items() if k not in _KEEP_TUNE}
        entry = {"trial_id": trial.trial_id, "name": str(trial), "status": status, "params": rec.params,
                 "record": rec.to_dict(), "final_row": final, "t": time.time()}
        self._write(entry)
        if self.stall is not None:
            self.stall.add(rec)
        if self.job is not None:
            self.job.finished(rec)


_KEEP_TUNE = ("training_iteration", "time_total_s", "timestamp", "done", "trial_id")


def _compact(result: dict[str, Any]) -> dict[str, Any]:
    drop = ("time_", "date", "hostname", "node_ip")
    return {k: v for k, v in result.items() if k != "config" and (k in _KEEP_TUNE or not k.startswith(drop))}


# --- rows -> TrialRecord ------------------------------------------------------------------------------------

def record_from_rows(number: int, params: dict[str, Any], rows: list[dict[str, Any]], status: str,
                     error: str = "", num_failures: int = 0) -> TrialRecord:
    """One trial's Tune results (its result.json rows) -> TrialRecord. `status` is Tune's trial status."""
    mine = [r for r in rows if r.get("automl_kind") in ("epoch", "final")]
    params = next((r["automl_params"] for r in mine if r.get("automl_params")), params)  # BOHB: decoded labels
    final = next((r for r in reversed(mine) if r.get("automl_kind") == "final"), None)
    last = mine[-1] if mine else {}
    history = _history(mine, final)
    best_value, best_epoch = _num(last.get("best_value")), int(last.get("best_epoch") or 0)
    started = min((r["trial_start"] for r in mine if r.get("trial_start")), default=None)
    finished = max((r["t"] for r in mine if r.get("t")), default=None)
    rec = TrialRecord(
        number=number, state="RUNNING", value=None, params=params, history=history,
        best_epoch=best_epoch, epochs_run=max((int(h.get("epoch", 0)) for h in history), default=0),
        seconds=float(last.get("trial_seconds") or 0.0),
        duration=(finished - started) if started and finished else None, started=started, finished=finished,
        worker=str(last.get("node_id", "")), device=str(last.get("device", "")), seed=last.get("seed"),
        threads=last.get("threads"),
    )
    retried = f" (after {num_failures} retr{'y' if num_failures == 1 else 'ies'})" if num_failures else ""
    if final is not None:  # what run_trial returned; failed or infeasible: FAIL with its reason, as every backend
        for k, cast in (("n_params", int), ("seconds", float), ("best_epoch", int), ("epochs_run", int)):
            setattr(rec, k, cast(final.get(k) or getattr(rec, k)))
        rec.detail, rec.reason = str(final.get("detail") or ""), str(final.get("reason") or "")
        rec.precision, rec.compiled = str(final.get("precision") or ""), bool(final.get("compiled"))
        rec.state = {"complete": "COMPLETE", "pruned": "PRUNED"}.get(final.get("status"), "FAIL")
        rec.value = _num(final.get("value")) if rec.state != "FAIL" else None
    elif status == "ERROR":
        rec.state, rec.value = "FAIL", None
        rec.reason = (f"trial process failed{retried}: {error}" if error else f"trial process failed{retried}")[:500]
        rec.detail = error
    elif status == "TERMINATED":
        max_epochs = int(last.get("max_epochs") or 0)
        if mine and max_epochs and rec.epochs_run >= max_epochs:
            rec.state, rec.value = "COMPLETE", best_value  # stopped at the scheduler's max_t = its full budget
        elif mine:
            rec.state, rec.value = "PRUNED", best_value
            rec.reason = f"stopped early by the scheduler at epoch {rec.epochs_run}"
        else:
            rec.state, rec.reason = "FAIL", "the trial ended without reporting a result"
    else:
        rec.state = "RUNNING" if status in ("RUNNING", "PAUSED") else "WAITING"
        rec.value = best_value
    if num_failures and (final is not None or status != "ERROR"):  # ERROR's reason says it already
        note = f"retried {num_failures} time{'s' if num_failures > 1 else ''} after its process or node died"
        note += f" ({error})" if error else ""
        rec.reason = (f"{rec.reason}; {note}" if rec.reason else note)[:500]
    return rec


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _history(rows: list[dict[str, Any]], final: dict[str, Any] | None) -> list[dict[str, float]]:
    if final is not None and final.get("history"):
        return list(final["history"])
    by_epoch: dict[int, dict[str, float]] = {}
    for r in rows:  # later attempts overwrite earlier ones; replayed epochs fill what a restore skipped
        for h in r.get("replayed_history") or []:
            by_epoch.setdefault(int(h["epoch"]), dict(h))
        if r.get("automl_kind") == "epoch":
            names = r.get("metric_names") or []
            by_epoch[int(r["epoch"])] = {"epoch": int(r["epoch"]), **{k: r[k] for k in names if k in r}}
    if rows:  # drop epochs of an earlier attempt beyond what the last attempt reached
        last_attempt = rows[-1].get("attempt")
        top = max((int(r["epoch"]) for r in rows if r.get("attempt") == last_attempt and "epoch" in r), default=None)
        if top is not None:
            by_epoch = {e: h for e, h in by_epoch.items() if e <= top}
    return [by_epoch[e] for e in sorted(by_epoch)]


def _read_error(trial: Any) -> str:
    name = trial.run_metadata.error_filename or "error.txt"  # run_metadata: as _finish reads it
    try:
        storage = trial.storage
        with storage.storage_filesystem.open_input_stream(Path(storage.trial_fs_path, name).as_posix()) as f:
            text = f.readall().decode("utf-8", "replace")
    except Exception:
        try:
            text = Path(trial.local_path or "", name).read_text()
        except Exception:
            return ""
    return _error_line(text)


def _error_line(text: str) -> str:
    """The line of a Tune error file that names the error (not the traceback's frames)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    key = next((ln for ln in lines if "Error" in ln and ":" in ln and not ln.startswith("File ")), lines[-1] if lines else "")
    return key[:500]


def _jsonl(text: str | None) -> list[dict[str, Any]]:
    out = []
    for line in (text or "").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(line))  # a line cut by a kill is skipped
    return out


def _ledger(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir, LEDGER)
    return _jsonl(path.read_text()) if path.exists() else []


def ledger_done(info: RunInfo) -> dict[int, dict[str, Any]]:
    """Trials that finished (not errored) per the ledger, by number: resume hands their result back."""
    return {n: {"params": e.get("params"), "final_row": e.get("final_row")} for e in _ledger(info.run_dir)
            if (n := trial_number(e.get("name", ""))) is not None and e.get("status") == "TERMINATED"}


def ledger_records(run_dir: Path) -> list[TrialRecord]:
    """The finished trials of a run per its ledger, as records (what the stall rule of a resumed run reads)."""
    return [TrialRecord(**e["record"]) for e in _ledger(run_dir) if e.get("record")]


def ledger_epochs(run_dir: Path) -> int:
    """Epochs the finished trials of a run trained (what an epoch budget has already spent)."""
    return sum(int(e.get("record", {}).get("epochs_run") or 0) for e in _ledger(run_dir))


# --- reading results ----------------------------------------------------------------------------------------

@dataclass
class TuneTrial:
    """One trial of Tune's newest snapshot, read as plain JSON (Tune's own `ExperimentAnalysis` and
    `Trial.from_json_state` unpickle parts of it)."""

    name: str
    trial_id: str
    status: str
    config: dict[str, Any]
    path: str  # the trial's folder on `fs`
    num_failures: int = 0
    error_filename: str | None = None
    fs: Any = None

    def read(self, name: str) -> str | None:
        """A text file of the trial's folder, or None."""
        try:
            with self.fs.open_input_stream(f"{self.path}/{name}") as f:
                return f.readall().decode("utf-8", "replace")
        except (FileNotFoundError, OSError):
            return None


def _filesystem(path: str) -> tuple[Any, str]:
    """pyarrow filesystem + path of the experiment folder (a local path, or a URI such as s3://)."""
    import pyarrow.fs as pafs

    if "://" in path:
        return pafs.FileSystem.from_uri(path)
    return pafs.LocalFileSystem(), Path(path).resolve().as_posix()


def _pickled(value: Any) -> bool:
    return isinstance(value, dict) and value.get("_type") == "CLOUDPICKLE_FALLBACK"


def _plain(value: Any) -> Any:
    """A value of Tune's JSON with its pickled fallbacks dropped (never loaded)."""
    if isinstance(value, dict):
        return None if _pickled(value) else {k: _plain(v) for k, v in value.items() if not _pickled(v)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def tune_snapshot(info: RunInfo) -> list[TuneTrial]:
    """The trials of the newest `experiment_state-*.json` under the run's Tune experiment; [] before the first."""
    import pyarrow.fs as pafs

    try:
        fs, root = _filesystem(experiment_path(info))
        entries = fs.get_file_info(pafs.FileSelector(root, allow_not_found=True))
    except (OSError, ValueError):
        return []
    states = sorted((e for e in entries if e.base_name.startswith("experiment_state") and e.base_name.endswith(".json")),
                    key=lambda e: (e.mtime_ns or 0, e.base_name))
    if not states:
        return []
    try:
        with fs.open_input_stream(states[-1].path) as f:
            snapshot = json.loads(f.readall().decode("utf-8"))
    except (OSError, ValueError):
        return []
    folders = [e.base_name for e in entries if e.type == pafs.FileType.Directory]
    out = []
    for item in snapshot.get("trial_data") or []:
        try:
            state, meta = json.loads(item[0]), json.loads(item[1]) if len(item) > 1 and item[1] else {}
        except (TypeError, ValueError, IndexError):
            continue
        trial_id = str(state.get("trial_id") or "")
        folder = state.get("custom_dirname") or next((d for d in folders if trial_id and d.endswith(trial_id)), "")
        name = state.get("custom_trial_name") or folder or f"{state.get('trainable_name', 'trial')}_{trial_id}"
        status = str(state.get("status") or "PENDING")
        out.append(TuneTrial(
            name=str(name), trial_id=trial_id, fs=fs, path=f"{root}/{folder}" if folder else root,
            status="PENDING" if status == "RUNNING" else status,  # as Tune restores it: nothing runs now
            config=_plain(state.get("config") or {}), num_failures=int(meta.get("num_failures") or 0),
            error_filename=meta.get("error_filename"),
        ))
    return out


def load_trials(info: RunInfo) -> list[TrialRecord]:
    """Tune's experiment (newest snapshot + each trial's result.json, JSON only: nothing is unpickled) merged
    with the ledger of finished trials, as TrialRecords numbered in creation order."""
    by_number: dict[int, TrialRecord] = {}
    for t in tune_snapshot(info):
        n = next((k for k in (trial_number(t.name), trial_number(Path(t.path).name)) if k is not None),
                 len(by_number))
        # an error file on a trial that did not end in ERROR: it was restarted (its node or process died)
        error = ""
        if t.status == "ERROR" or t.error_filename:
            error = _error_line(t.read(t.error_filename or "error.txt") or "")
        restarts = t.num_failures or (1 if error and t.status != "ERROR" else 0)
        by_number[n] = record_from_rows(n, params_of(t.config), _jsonl(t.read("result.json")), t.status, error,
                                        num_failures=restarts)
    extra: list[TrialRecord] = []
    for e in _ledger(info.run_dir):  # finished trials: the ledger is written at once, Tune's snapshot may lag
        n = trial_number(e.get("name", ""))
        if n is not None and e.get("status") == NEVER_RAN:
            if n in by_number and by_number[n].state in ("FAIL", "WAITING") and not by_number[n].history:
                del by_number[n]  # pending when a stopper ended the search: it never ran
            continue
        if n is None or not e.get("record"):
            continue
        rec = TrialRecord(**e["record"])
        current = by_number.get(n)
        if current is not None and current.params != rec.params:
            extra.append(rec)  # a finished trial Tune never saved, replaced by a different suggestion
        elif current is None or current.state not in ("COMPLETE", "FAIL", "PRUNED") or \
                rec.epochs_run >= current.epochs_run:  # the ledger's record is at least as complete as Tune's
            by_number[n] = rec
    top = (max(by_number) + 1) if by_number else 0
    for i, rec in enumerate(extra):
        rec.number = top + i
    return [by_number[n] for n in sorted(by_number)] + extra
