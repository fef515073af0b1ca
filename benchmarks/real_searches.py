"""What the real-training comparisons of search settings share (startup_real.py, pruner_real.py): a shipped
space copied with its `search:` block changed, one CLI search per (setting, seed) run side by side and reused
when finished, the finished trials read back, and paired differences with a 95% t interval."""

from __future__ import annotations

import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DONE = "real_search.done"  # written once a search has finished: its wall seconds


def space_copy(name: str, label: str, search: dict[str, Any], folder: Path) -> Path:
    """search_spaces/NAME.yaml with `search` merged into its `search:` block (a None value removes that key),
    written to FOLDER/NAME-LABEL.yaml; a relative dataset path made absolute (the copy lives elsewhere)."""
    src = ROOT / "search_spaces" / f"{name}.yaml"
    doc = yaml.safe_load(src.read_text())
    block = doc.setdefault("search", {})
    for k, v in search.items():
        if v is None:
            block.pop(k, None)
        else:
            block[k] = v
    ds = doc.get("dataset", {})
    if isinstance(ds.get("path"), str) and not os.path.isabs(ds["path"]):
        ds["path"] = str((src.parent / ds["path"]).resolve())
    out = folder / f"{name}-{label}.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def read_study(run_dir: Path) -> dict[str, Any] | None:
    """The finished trials of one search: number, state, validation score (a pruned trial: its best reported
    epoch; a failed one: NaN), epochs trained, hyperparameter count. None when there is no study yet."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    db = run_dir / "study.db"
    if not db.is_file():
        return None
    url = f"sqlite:///{db}"
    names = optuna.get_all_study_names(url)
    if not names:
        return None
    study = optuna.load_study(study_name=names[0], storage=url)
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
    rows = []
    for t in sorted(study.trials, key=lambda t: t.number):
        if t.state.name == "COMPLETE":
            v = float(t.value)
        elif t.state.name == "PRUNED" and t.intermediate_values:
            v = sign * max(sign * x for x in t.intermediate_values.values())
        elif t.state.name == "FAIL":
            v = math.nan
        else:
            continue
        rows.append({"number": t.number, "state": t.state.name, "value": v, "n_params": len(t.params),
                     "epochs": int(t.user_attrs.get("epochs_run", 0))})
    return {"direction": "maximize" if sign > 0 else "minimize", "trials": rows}


def run_search(space: Path, run_root: Path, study: str, seed: int) -> dict[str, Any]:
    """`automl search SPACE --no-finalize --threads 1` into RUN_ROOT/STUDY, or the finished search already there
    (an interrupted one is started again from scratch)."""
    run_dir = run_root / study
    got = read_study(run_dir)
    if got is not None and (run_dir / DONE).is_file():
        return {**got, "reused": True, "wall_s": float((run_dir / DONE).read_text())}
    if run_dir.exists():
        shutil.rmtree(run_dir)
    cmd = [sys.executable, "-m", "automl.cli.main", "search", str(space), "--seed", str(seed), "--study", study,
           "--results-dir", str(run_root), "--no-finalize", "--threads", "1"]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    wall = time.time() - t0
    (run_dir / DONE).write_text(f"{wall:.1f}")
    got = read_study(run_dir)
    assert got is not None
    return {**got, "reused": False, "wall_s": wall}


def run_grid(paths: dict[str, Path], seeds: int, jobs: int, run_root: Path,
             study: Callable[[str, int], str]) -> dict[str, dict[int, dict[str, Any]]]:
    """Every setting (label -> space file) x seeds 1..SEEDS, JOBS searches side by side: runs[label][seed]."""
    grid = [(k, s) for s in range(1, seeds + 1) for k in paths]
    with ThreadPoolExecutor(jobs) as ex:
        got = list(ex.map(lambda ks: run_search(paths[ks[0]], run_root, study(*ks), ks[1]), grid))
    runs: dict[str, dict[int, dict[str, Any]]] = {}
    for (k, s), r in zip(grid, got, strict=True):
        runs.setdefault(k, {})[s] = r
    return runs


def paired(d: list[float]) -> dict[str, Any]:
    """Mean of paired differences, its two-sided 95% t interval, wins / losses / ties."""
    from scipy import stats

    mean = statistics.fmean(d)
    half = stats.t.ppf(0.975, len(d) - 1) * statistics.stdev(d) / len(d) ** 0.5 if len(d) > 1 else math.nan
    return {"diff_vs_first": mean, "ci95": [mean - half, mean + half],
            "wins": sum(x > 0 for x in d), "losses": sum(x < 0 for x in d), "ties": sum(x == 0 for x in d)}
