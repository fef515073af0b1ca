"""Backend-neutral trial records: what `trials`, `best`, finalize and the reports read.

Each backend adapts its own storage (Optuna trials with user attrs; Ray Tune results) into `TrialRecord`s.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

# INTERRUPTED: stopped by Ctrl-C or SIGTERM (or its worker died); not a failure of its config: resume runs it again
STATES = ("COMPLETE", "PRUNED", "FAIL", "INTERRUPTED", "RUNNING", "WAITING")


@dataclass
class TrialRecord:
    number: int
    state: str  # COMPLETE | PRUNED | FAIL | INTERRUPTED | RUNNING | WAITING
    value: float | None  # objective at the trial's best epoch (pruned trials: best reported so far)
    params: dict[str, Any]  # flat sampled parameters
    history: list[dict[str, float]] = field(default_factory=list)  # per-epoch metrics
    best_epoch: int = 0
    epochs_run: int = 0
    reason: str = ""  # failure / infeasibility / pruning reason
    detail: str = ""  # traceback for failures
    seconds: float = 0.0  # training wall time of the trial
    duration: float | None = None  # backend wall time (start -> end) incl. overhead
    started: float | None = None
    finished: float | None = None
    n_params: int = 0
    worker: str = ""  # host:pid or Ray node id
    device: str = ""
    seed: int | None = None
    threads: int | None = None  # torch threads the trial trained with (CPU results depend on it)
    precision: str = ""  # autocast precision and torch.compile as the trial trained (what finalize reproduces)
    compiled: bool = False
    note: str = ""  # warm start: where the trial came from and what the mapping onto this space changed
    cost: float | None = None  # a cost objective's value (the manifest's cost_metric; automl.finalize.pareto)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def best_record(records: list[TrialRecord], direction: str) -> TrialRecord | None:
    """The best COMPLETE trial, by its validation objective only."""
    done = [r for r in records if r.state == "COMPLETE" and r.value is not None and math.isfinite(r.value)]
    if not done:
        return None
    return (max if direction == "maximize" else min)(done, key=lambda r: (r.value, -r.number))


def ranked(records: list[TrialRecord], direction: str) -> list[TrialRecord]:
    done = [r for r in records if r.state == "COMPLETE" and r.value is not None and math.isfinite(r.value)]
    return sorted(done, key=lambda r: (-r.value if direction == "maximize" else r.value, r.number))


def counts(records: list[TrialRecord]) -> dict[str, int]:
    out = {s: 0 for s in STATES}
    for r in records:
        out[r.state] = out.get(r.state, 0) + 1
    return out


def failure_summary(records: list[TrialRecord], top: int = 5) -> str:
    """'trials by state: ...; failure reasons: 3x "timeout: ...", ...' for a run with nothing to show (interrupted
    trials are counted as such: no reason of theirs is a failure of the config)."""
    from collections import Counter

    by_state = ", ".join(f"{k.lower()} {v}" for k, v in counts(records).items() if v) or "no trials"
    reasons = Counter((r.reason or "no reason recorded").split("\n")[0][:120] for r in records if r.state == "FAIL")
    text = f"trials by state: {by_state}"
    if reasons:
        text += "; failure reasons: " + "; ".join(f'{n}x "{why}"' for why, n in reasons.most_common(top))
        if len(reasons) > top:
            text += f"; and {len(reasons) - top} other reason(s)"
    return text


FRAME_COLUMNS = ("number", "state", "value", "best_epoch", "epochs_run", "seconds", "duration", "n_params", "reason",
                 "worker", "device", "seed")


def trials_frame(records: list[TrialRecord]):
    """A pandas DataFrame, one row per trial, params as `params.<name>` columns (JSON-able for CSV/Parquet)."""
    import pandas as pd

    rows = []
    for r in records:
        row = {c: getattr(r, c) for c in FRAME_COLUMNS}
        if r.note:
            row["note"] = r.note
        for k, v in r.params.items():
            row[f"params.{k}"] = v if isinstance(v, (int, float, str, bool)) or v is None else json.dumps(v)
        rows.append(row)
    # No rows (e.g. `--state fail` on a run without failures): keep the header, so the export reads back.
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(FRAME_COLUMNS))
