"""Live search progress: one line per finished trial plus a running summary (rich), from TrialRecords only."""

from __future__ import annotations

import math
import time
from typing import Any

from rich.console import Console

from automl.store.records import TrialRecord


class ProgressPrinter:
    """Called in the driver after each finished trial (any backend): counts by state, best so far, elapsed."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=False, highlight=False)
        self.counts = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0}
        self.best: tuple[float, int] | None = None
        self.t0: float | None = None

    def __call__(self, rec: TrialRecord, metric: str, direction: str, t0: float) -> None:
        self.t0 = t0
        state = rec.state if rec.state in self.counts else "FAIL"
        self.counts[state] += 1
        v = rec.value if state == "COMPLETE" and rec.value is not None and math.isfinite(rec.value) else None
        if v is not None and (self.best is None or (v > self.best[0] if direction == "maximize" else v < self.best[0])):
            self.best = (v, rec.number)
        value = f"{rec.value:.4f}" if rec.value is not None else "-"
        reason = f" ({rec.reason})" if state == "FAIL" and rec.reason else ""
        best = f"best {self.best[0]:.4f} (#{self.best[1]})" if self.best else "best -"
        self.console.print(
            f"trial {rec.number:4d} {state:8s} {metric}={value} epochs={rec.epochs_run:3d} {rec.seconds:6.1f}s{reason} "
            f"| done {self.counts['COMPLETE']} pruned {self.counts['PRUNED']} failed {self.counts['FAIL']} | {best} "
            f"| elapsed {time.time() - t0:6.0f}s",
            soft_wrap=True,
        )

    def done(self, info: Any) -> None:
        total = sum(self.counts.values())
        self.console.print(
            f"Search finished: {total} trials this session ({self.counts['COMPLETE']} complete, {self.counts['PRUNED']} "
            f"pruned, {self.counts['FAIL']} failed) in {time.time() - (self.t0 or time.time()):.0f}s. Run dir: {info.run_dir}"
        )
