"""Live search progress: one line per finished trial plus a running summary (rich)."""

from __future__ import annotations

import math
import time
from typing import Any

from rich.console import Console


class ProgressPrinter:
    """Called by the backend after each finished trial: counts by state, best so far, elapsed, budget left."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=False, highlight=False)
        self.counts = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0}
        self.best: tuple[float, int] | None = None
        self.t0: float | None = None

    def __call__(self, study: Any, trial: Any, t0: float) -> None:
        self.t0 = t0
        state = trial.state.name
        self.counts[state] = self.counts.get(state, 0) + 1
        if state == "COMPLETE" and trial.value is not None and math.isfinite(trial.value):
            better = self.best is None or (
                trial.value > self.best[0] if study.direction.name == "MAXIMIZE" else trial.value < self.best[0])
            if better:
                self.best = (trial.value, trial.number)
        a = trial.user_attrs
        value = f"{trial.value:.4f}" if trial.value is not None else (f"{a['value']:.4f}" if a.get("value") is not None else "-")
        reason = f" ({a.get('reason')})" if state == "FAIL" and a.get("reason") else ""
        best = f"best {self.best[0]:.4f} (#{self.best[1]})" if self.best else "best -"
        s = study.user_attrs.get("automl", {})
        self.console.print(
            f"trial {trial.number:4d} {state:8s} {s.get('metric', 'value')}={value} epochs={a.get('epochs_run', 0):3d} "
            f"{a.get('seconds', 0):6.1f}s{reason} | done {self.counts['COMPLETE']} pruned {self.counts['PRUNED']} "
            f"failed {self.counts['FAIL']} | {best} | elapsed {time.time() - t0:6.0f}s",
            soft_wrap=True,
        )

    def done(self, info: Any) -> None:
        total = sum(self.counts.values())
        self.console.print(
            f"Search finished: {total} trials this session ({self.counts['COMPLETE']} complete, {self.counts['PRUNED']} "
            f"pruned, {self.counts['FAIL']} failed) in {time.time() - (self.t0 or time.time()):.0f}s. Run dir: {info.run_dir}"
        )
