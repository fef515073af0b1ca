"""The test ledger: every read of a run's sealed test split, appended to the run directory for its whole life.

One JSON line per read (`test_ledger.jsonl`): when, why, which configs and seeds and baselines were scored,
the automl version. The line is written and fsync'd *before* the figures exist, so a crash after the read
still counts it. Reports show the total over the run's life; only the first read gives an unbiased estimate.
Torch-free: `automl trials`, `runs` and the reports read it cheaply.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

LEDGER_FILE = "test_ledger.jsonl"


def _version() -> str | None:
    import importlib.metadata as md

    try:
        return md.version("automl")
    except md.PackageNotFoundError:
        return None


class TestLedger:
    """Append-only record of test-split reads for one run directory."""

    __test__ = False  # not a pytest class

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LEDGER_FILE

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):  # a line cut by a kill mid-write is skipped
                out.append(json.loads(line))
        return out

    @property
    def total(self) -> int:
        return len(self.entries())

    def append(self, *, purpose: str, scored: list[dict[str, Any]], baselines: list[str], n_test: int,
               note: str = "") -> dict[str, Any]:
        """Record one read; returns the entry (with its 1-based `read` number over the run's life)."""
        entry = {"read": self.total + 1, "time": time.time(),
                 "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "purpose": purpose,
                 "scored": scored, "baselines": baselines, "n_test": n_test, "automl_version": _version(),
                 "pid": os.getpid(), "note": note}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(entry, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return entry
