"""One line of facts per run directory, for `automl runs` and `automl compare`: read from the manifest, the
trial records, report.json and the test ledger; nothing is trained or read from the test split."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from automl.space.errors import UserInputError
from automl.store.ledger import TestLedger
from automl.store.run import MANIFEST, RunInfo, load_run


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_summary(info: RunInfo, *, with_params: bool = False) -> dict[str, Any]:
    """name, backend, trials by state, best validation, test figure and reads, finalized, size."""
    from automl.store.records import best_record, counts
    from automl.store.results import load_trials

    run_dir = Path(info.run_dir)
    direction = str(info.settings.get("direction", "maximize"))
    row: dict[str, Any] = {"name": info.study, "path": str(run_dir), "backend": info.backend,
                           "metric": info.settings.get("metric"), "direction": direction, "error": ""}
    best = None
    try:
        records = load_trials(info)
        row["trials"] = {k.lower(): v for k, v in counts(records).items() if v}
        best = best_record(records, direction)
    except Exception as e:  # one unreadable storage must not hide the other runs
        row["trials"], row["error"] = {}, f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
    row["best_val"] = None if best is None else best.value
    report = None
    if (run_dir / "report.json").exists():
        try:
            report = json.loads((run_dir / "report.json").read_text())
        except (OSError, ValueError):
            report = None
    row["finalized"] = report is not None and (run_dir / "model.pt").exists()
    row["test_metric"] = row["test_value"] = None
    if report is not None:
        key = str(report["objective"]["metric"]).removeprefix("val_")
        row["test_metric"], row["test_value"] = key, report["best"]["test_metrics"].get(key)
        row["chosen_trial"] = report["best"]["trial"]
        row["n_params"] = report.get("model", {}).get("total_params")
    row["test_reads"] = TestLedger(run_dir).total
    row["size_bytes"] = dir_size(run_dir)
    if with_params:
        row["params"] = report["best"]["params"] if report is not None else (best.params if best else {})
    return row


def all_runs(root: Path) -> list[dict[str, Any]]:
    """Every run directory directly under `root` (a folder holding manifest.json), oldest first."""
    if not root.is_dir():
        raise UserInputError(f"--results-dir {root} is not a folder; runs live in RESULTS_DIR/<study>/.")
    rows = []
    for manifest in sorted(root.glob(f"*/{MANIFEST}")):
        try:
            info = load_run(manifest.parent, root=root)
        except UserInputError as e:  # e.g. a storage whose password was not saved
            rows.append({"name": "?", "error": str(e)})
            continue
        rows.append(run_summary(info))
    return sorted(rows, key=lambda r: r.get("name", ""))


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if math.isfinite(v) else str(v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        return " ".join(f"{k} {n}" for k, n in v.items()) or "-"
    return "-" if v is None or v == "" else str(v)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
