"""Reading a run's results whatever the backend: trials, best config, tables and exports."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from automl.space import config_from_params, load_space
from automl.space.errors import UserInputError
from automl.store.records import STATES, TrialRecord, best_record, trials_frame
from automl.store.run import RunInfo, load_run


def load_trials(info: RunInfo) -> list[TrialRecord]:
    """The run's trials, read by the backend that wrote them (the backend registry knows which)."""
    from automl.backends.prepare import load_trials as backend_trials

    return backend_trials(info)


def trained_numbers(info: RunInfo) -> set[int]:
    """Trials that trained to an end (complete, pruned, or failed for a reason other than an interruption):
    `resume` compares them before and after to know whether anything new was trained."""
    return {r.number for r in load_trials(info) if trained(r)}


def trained(r: TrialRecord) -> bool:
    """Trained to an end: complete, pruned, or failed for a reason of its config (not interrupted)."""
    return r.state in ("COMPLETE", "PRUNED") or (r.state == "FAIL" and not r.reason.startswith("interrupted"))


def best_config(run: str | Path, *, root: Path = Path("results"), storage: str | None = None) -> dict[str, Any]:
    info = load_run(run, root=root, storage=storage)
    space = load_space(info.space_path)
    direction = info.settings.get("direction", space.objective.direction)
    rec = best_record(load_trials(info), direction)
    if rec is None:
        raise UserInputError(f"Run {info.run_dir} has no completed trial yet; see `automl trials {run}`.")
    return {"study": info.study, "trial": rec.number, "objective": info.settings.get("metric", space.objective.metric),
            "value": rec.value, "params": rec.params, "config": config_from_params(space.space, rec.params)}


def print_trials(run: str | Path, *, root: Path = Path("results"), storage: str | None = None,
                 export: Path | None = None, state: str | None = None, top: int | None = 20) -> None:
    """The best `top` trials as a table (None: all), saying how many are left out; or all of them exported."""
    from rich.console import Console
    from rich.table import Table

    info = load_run(run, root=root, storage=storage)
    records = load_trials(info)
    if state:
        wanted = state.upper()
        allowed = STATES
        if wanted not in allowed:
            raise UserInputError(f"--state {state!r} is not a trial state; allowed: {', '.join(s.lower() for s in allowed)}.")
        records = [r for r in records if r.state == wanted]
    df = trials_frame(records)
    if export is not None:
        if export.suffix == ".csv":
            df.to_csv(export, index=False)
        elif export.suffix == ".parquet":
            df.to_parquet(export, index=False)
        else:
            raise UserInputError(f"--export {export}: unsupported file type {export.suffix!r}; allowed: .csv, .parquet.")
        Console().print(f"Wrote {len(df)} trials to {export}")
        return
    direction = info.settings.get("direction", "maximize")
    sign = -1 if direction == "maximize" else 1

    def key(r: TrialRecord) -> tuple:
        v = r.value if r.value is not None and math.isfinite(r.value) else None
        return (r.state != "COMPLETE", v is None, sign * (v or 0.0), r.number)

    table = Table(title=f"{info.study}: {len(records)} trials ({info.settings.get('metric', 'value')}, {direction})")
    for col in ("#", "state", "value", "epochs", "seconds", "n_params", "reason / note"):
        table.add_column(col, overflow="fold")
    shown = sorted(records, key=key)[:top]
    for r in shown:
        table.add_row(str(r.number), r.state, "-" if r.value is None else f"{r.value:.4f}", str(r.epochs_run),
                      f"{r.seconds:.1f}", str(r.n_params), "; ".join(x for x in (r.reason[:60], r.note[:200]) if x))
    Console(width=140).print(table)
    if len(shown) < len(records):
        Console(width=140).print(f"showing the best {len(shown)} of {len(records)} trials (--top N or --all for "
                                 "more; --export FILE writes every trial)", soft_wrap=True, markup=False)
