"""Surrogate suite: search strategies compared on YAHPO Gym's LCBench surrogate (34 OpenML tasks, an MLP's 7
hyperparameters, epochs 1-52 as the fidelity) over many seeds, in minutes and without training.

    python benchmarks/surrogate.py --quick                 # 2 tasks, 3 seeds, a small budget: < 60 s
    python benchmarks/surrogate.py                         # every task, 30 seeds -> results/benchmarks/surrogate.*

Every strategy gets the same budget, `--budget-trainings` x 52 epochs summed over its trials (the simulated
seconds of the surrogate's `time` column are tracked too). Objective: validation error = 100 - val_accuracy
(%). Regret: a run's best validation error so far minus the best validation error any run of any strategy
found on that task (pooled). Speed-up of strategy X on a task and seed s: the epochs random search (seed s)
needed to first reach its own final best, divided by the epochs X (seed s) needed to reach that same value;
when X never reaches it within the budget, X is counted at the whole budget (so that seed's speed-up is at
most E_random / budget: a capped, flattering figure for X). Per task: the median over seeds; per strategy: the
median over tasks (all, development and held-out tasks separately). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from surrogate_lcbench import DEV_TASKS, MAX_EPOCH, LCBench  # noqa: E402
from surrogate_strategies import DESCRIBE, STRATEGIES, Tracker, automl, run_strategy  # noqa: E402

QUICK_TASKS = ("3945", "189909")
NOTES = [
    "- Seeds are paired by index, but random search draws from its own stream (seed + 1000003): the Optuna "
    "strategies' first trials come from a RandomSampler with the run's seed and would otherwise replay random "
    "search's configurations one for one, pinning their speed-up at exactly 1 whenever random found its best early.",
    "- BOHB and DEHB train every (configuration, budget) from scratch, as their packages do, and pay the whole "
    "budget each time; the pruning strategies (automl, Optuna Hyperband, ASHA) continue a trial and pay each epoch once.",
    "- The budget is small (5 trainings' worth of epochs): plain TPE (5 full trials) never leaves its 10 random "
    "startup trials; automl's default runs about 20 trials (median 19; successive halving and early stopping end "
    "most before epoch 52) and models from its 4th trial on; BOHB and DEHB make 49 evaluations from scratch "
    "(most of 2 or 6 epochs). "
    "Speed-ups of 20-55x (BOHB's paper) come from budgets of hundreds of full trainings; `--budget-trainings N` "
    "runs a larger budget (cost grows about linearly; BOHB's KDE dominates).",
    "- automl's default changed three times on 2026-12-05, each change picked on the development tasks only: the "
    "first pruning rung from epoch 1 to 3 (`surrogate.defaults_dev_b5.md`, `surrogate.defaults_dev_b20.md`: 'me3' "
    "there), 3 random startup trials instead of 10 ('me3st3' there; checked on real training by "
    "`benchmarks/startup_real.py`), then successive halving from epoch 5 instead of Hyperband from epoch 3 "
    "(`sweep_b5/surrogate.md`, `sweep_b20/surrogate.md`: 'sh5' there, 'hb3' the default before; checked on real "
    "training at equal epoch budgets by `benchmarks/pruner_real.py`). The last two were reported as "
    "'automl-proposed' while the real-training check ran, so their held-out figures were seen before they became "
    "the default. In this table automl-default is rerun (`--rerun automl-default`), the other strategies' runs "
    "are reused.",
    "- The any-time figures are in epochs; 'speed-up in sim. time' uses the surrogate's predicted seconds "
    "(the same definition, with simulated seconds instead of epochs).",
]
# A proposal for automl's defaults, tuned on the development tasks only (see benchmarks/README.md): settings
# a space's `search:` block (OptunaSettings) takes, plus "patience" for the trainer's early stopping; reported as
# the strategy `automl-proposed` while it is not empty.
# History: startup_trials 3 was picked on the development tasks at a budget of 5 trainings
# (results/benchmarks/surrogate.tuning.md, before the study-name fix), and ranked first again with min_epochs 3
# ("me3st3", results/benchmarks/surrogate.defaults_dev_b{5,20}.md). It became the default on 2026-12-05 once
# benchmarks/startup_real.py had checked it on real training with shipped 20+-parameter spaces. Successive halving
# from epoch 5 (results/benchmarks/sweep_b{5,20}/, 'sh5') was the proposal while benchmarks/pruner_real.py checked
# it on real training; it became the default the same day. No proposal since.
PROPOSED: dict[str, Any] = {}


def variant(spec: dict[str, Any]) -> Any:
    """automl's strategy with some settings changed; OptunaSettings.build validates them."""
    spec = dict(spec)
    patience = spec.pop("patience", None)
    return automl(spec, patience)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return ""


def hardware() -> dict[str, Any]:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")), "")
    except Exception:
        pass
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(), "python": platform.python_version(),
            "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for p in ("optuna", "ray", "hpbandster", "ConfigSpace", "dehb", "onnxruntime", "numpy"):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "not installed"
    return out


def steps(tr: Tracker) -> list[list[float]]:
    """The any-time curve as its change points: [epochs spent, best val error, simulated seconds]."""
    out: list[list[float]] = []
    prev = math.inf
    for k in range(tr.budget):
        if tr.best[k] < prev:
            prev = float(tr.best[k])
            out.append([k + 1, round(prev, 6), round(float(tr.seconds[k]), 3)])
    return out


def reach(curve: list[list[float]], target: float) -> tuple[int, float] | None:
    """(epochs, simulated seconds) at which the curve first gets to `target` or below."""
    for e, v, s in curve:
        if v <= target:
            return int(e), float(s)
    return None


def speedups(runs: dict[tuple[str, str, int], dict[str, Any]], strategy: str, task: str, seeds: list[int],
             budget: int) -> tuple[list[float], list[float], int]:
    """Per seed: E_random / E_strategy in epochs, the same in simulated seconds, and how many seeds reached."""
    ep, sec, reached = [], [], 0
    for s in seeds:
        r, x = runs.get(("random", task, s)), runs.get((strategy, task, s))
        if r is None or x is None:
            continue
        target = r["final"]
        er, tr_ = reach(r["curve"], target)  # random reaches its own final value by definition
        got = reach(x["curve"], target)
        if got is None:
            ex, tx = budget, x["seconds"]
        else:
            ex, tx = got
            reached += 1
        ep.append(er / ex)
        sec.append(tr_ / tx if tx > 0 else math.nan)
    return ep, sec, reached


def _med(xs: list[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return float(statistics.median(xs)) if xs else math.nan


def aggregate(runs: dict[tuple[str, str, int], dict[str, Any]], strategies: list[str], tasks: list[str],
              budget: int) -> dict[str, Any]:
    oracle = {t: min(r["final"] for (_, tt, _), r in runs.items() if tt == t) for t in tasks}
    per_task: dict[str, dict[str, Any]] = {}
    for t in tasks:
        per_task[t] = {"development": t in DEV_TASKS, "best_val_error_pooled": oracle[t], "strategies": {}}
        for name in strategies:
            seeds = sorted(s for (n, tt, s) in runs if n == name and tt == t)
            ep, sec, reached = speedups(runs, name, t, seeds, budget)
            finals = [runs[(name, t, s)]["final"] for s in seeds]
            per_task[t]["strategies"][name] = {
                "seeds": len(seeds), "speedup_median": _med(ep), "speedup_time_median": _med(sec),
                "reached_random_final": reached, "final_regret_median": _med([f - oracle[t] for f in finals]),
                "final_val_error_median": _med(finals),
                "final_test_error_median": _med([runs[(name, t, s)]["test_error"] for s in seeds]),
                "trials_median": _med([runs[(name, t, s)]["trials"] for s in seeds]),
                "wall_seconds_median": _med([runs[(name, t, s)]["wall"] for s in seeds]),
            }
    table: dict[str, dict[str, Any]] = {}
    for name in strategies:
        row: dict[str, Any] = {}
        for label, group in (("all", tasks), ("dev", [t for t in tasks if t in DEV_TASKS]),
                             ("heldout", [t for t in tasks if t not in DEV_TASKS])):
            cells = [per_task[t]["strategies"][name] for t in group]
            row[f"speedup_median_{label}"] = _med([c["speedup_median"] for c in cells])
            row[f"speedup_time_median_{label}"] = _med([c["speedup_time_median"] for c in cells])
            row[f"final_regret_median_{label}"] = _med([c["final_regret_median"] for c in cells])
        row["seeds_per_task"] = min(per_task[t]["strategies"][name]["seeds"] for t in tasks)
        row["reached_fraction"] = (sum(per_task[t]["strategies"][name]["reached_random_final"] for t in tasks)
                                   / max(1, sum(per_task[t]["strategies"][name]["seeds"] for t in tasks)))
        table[name] = row
    def key(label: str) -> Any:  # higher median speed-up first; a NaN (no tasks in the group) last
        return lambda n: -table[n][f"speedup_median_{label}"] if not math.isnan(table[n][f"speedup_median_{label}"]) else math.inf

    order = sorted(strategies, key=key("all"))
    for label in ("all", "dev", "heldout"):
        ranked = sorted(strategies, key=key(label))
        for n in strategies:
            table[n][f"rank_{label}"] = ranked.index(n) + 1
    # any-time regret: median over seeds of (best so far - pooled best), then mean over tasks, on a grid
    grid = sorted({max(1, round(budget * f)) for f in np.linspace(0.01, 1.0, 100)})
    anytime = {}
    for name in strategies:
        rows = []
        for t in tasks:
            seeds = sorted(s for (n, tt, s) in runs if n == name and tt == t)
            mat = np.array([_at(runs[(name, t, s)]["curve"], grid) for s in seeds]) - oracle[t]
            rows.append(np.median(mat, axis=0))
        anytime[name] = [round(float(v), 5) for v in np.mean(rows, axis=0)]
    return {"oracle": oracle, "per_task": per_task, "strategies": table, "order": order,
            "anytime": {"epochs": grid, "mean_over_tasks_of_median_regret": anytime}}


def _at(curve: list[list[float]], grid: list[int]) -> list[float]:
    out, j, cur = [], 0, math.inf
    for g in grid:
        while j < len(curve) and curve[j][0] <= g:
            cur = curve[j][1]
            j += 1
        out.append(cur)
    return out


def write_markdown(res: dict[str, Any], path: Path) -> None:
    agg, cfg = res["aggregate"], res["config"]
    t = agg["strategies"]
    lines = [
        "# Surrogate suite: LCBench (YAHPO Gym)", "",
        f"`{res['command']}` · commit `{res['commit']}` · {res['date']} · {res['hardware']['cpu']} "
        f"({res['hardware']['cores']} cores) · {res['wall_seconds']:.0f} s", "",
        f"Budget per run: {cfg['budget_epochs']} epochs ({cfg['budget_trainings']} full 52-epoch trainings), "
        f"{len(cfg['tasks'])} tasks ({len([x for x in cfg['tasks'] if x in DEV_TASKS])} development, "
        f"{len([x for x in cfg['tasks'] if x not in DEV_TASKS])} held-out), seeds per task as listed. Objective: "
        "validation error (100 - val_accuracy, %). Speed-up: epochs random search needs to first reach its own "
        "final best / epochs the strategy needs to reach that value (same seed index; a run that never reaches "
        "it counts at the whole budget); median over seeds, then median over tasks. Regret: best validation "
        "error so far minus the best any run found on that task (pooled over all strategies and seeds); test "
        "error = 100 - test balanced accuracy (%) of the incumbent epoch's model.", "",
        "| strategy | seeds/task | speed-up all | dev | held-out | rank (all) | speed-up in sim. time (all) | "
        "runs reaching random's final | final regret (all) | dev | held-out |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in agg["order"]:
        r = t[n]
        lines.append(f"| {n} | {r['seeds_per_task']} | {r['speedup_median_all']:.2f}x | {r['speedup_median_dev']:.2f}x | "
                     f"{r['speedup_median_heldout']:.2f}x | {r['rank_all']} | {r['speedup_time_median_all']:.2f}x | "
                     f"{100 * r['reached_fraction']:.0f}% | {r['final_regret_median_all']:.3f} | "
                     f"{r['final_regret_median_dev']:.3f} | {r['final_regret_median_heldout']:.3f} |")
    tg = res["targets"]
    lines += ["", "## Targets", "",
              f"- automl's default is rank 1 on the median speed-up over all tasks: **{'met' if tg['rank_1'] else 'not met'}** "
              f"(rank {tg['rank_of_default']} of {len(t)}).",
              f"- automl's default >= 10x faster than random search to random's final regret: "
              f"**{'met' if tg['speedup_10x'] else 'not met'}** ({tg['speedup_vs_random_median']:.2f}x over all tasks; "
              f"{t['automl-default']['speedup_median_dev']:.2f}x dev, {t['automl-default']['speedup_median_heldout']:.2f}x held-out).",
              "", "## Strategies", ""]
    for n in agg["order"]:
        lines.append(f"- **{n}**: {' '.join(res['describe'][n].split())}")
    grid, curves = agg["anytime"]["epochs"], agg["anytime"]["mean_over_tasks_of_median_regret"]
    marks = [g for g in grid if g in {grid[9], grid[24], grid[49], grid[-1]}] if len(grid) >= 50 else grid[-1:]
    lines += ["", "## Any-time regret (median over seeds, mean over all tasks; validation error points)", "",
              "| strategy | " + " | ".join(f"{m} epochs" for m in marks) + " |", "|---|" + "---|" * len(marks)]
    for n in agg["order"]:
        lines.append(f"| {n} | " + " | ".join(f"{curves[n][grid.index(m)]:.3f}" for m in marks) + " |")
    lines += ["", "## Notes", "", *NOTES]
    if res.get("reused"):
        lines += ["", f"Runs reused from `{res['reused']['file']}` (commit `{res['reused']['commit']}`, "
                  f"{res['reused']['runs']} runs; run again: {res['reused'].get('rerun') or 'none'})."]
    if res.get("left_out"):
        lines += ["", "Left out: " + "; ".join(f"{n}: {why}" for n, why in res["left_out"].items())]
    lines += ["", "## Per task (median speed-up over seeds / median final regret)", "",
              "| task | set | " + " | ".join(agg["order"]) + " |", "|---|---|" + "---|" * len(agg["order"])]
    for task, pt in agg["per_task"].items():
        cells = [f"{pt['strategies'][n]['speedup_median']:.2f}x / {pt['strategies'][n]['final_regret_median']:.3f}"
                 for n in agg["order"]]
        lines.append(f"| {task} | {'dev' if pt['development'] else 'held-out'} | " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n")


def update_summary(path: Path, res: dict[str, Any]) -> None:
    """Create or update only the `surrogate` key of results/benchmarks/summary.json."""
    summary = json.loads(path.read_text()) if path.is_file() else {}
    t = res["aggregate"]["strategies"]
    d = t["automl-default"]
    summary["surrogate"] = {
        "speedup_vs_random_median": d["speedup_median_all"],
        "rank_of_default": d["rank_all"],
        "heldout_speedup_vs_random_median": d["speedup_median_heldout"],
        "dev_speedup_vs_random_median": d["speedup_median_dev"],
        "strategies_ranked": len(t),
        "best_strategy": res["aggregate"]["order"][0],
        "speedup_vs_random_median_by_strategy": {n: t[n]["speedup_median_all"] for n in res["aggregate"]["order"]},
        "target_rank_1_met": res["targets"]["rank_1"],
        "target_10x_met": res["targets"]["speedup_10x"],
        "budget_epochs": res["config"]["budget_epochs"], "seeds_per_task": res["config"]["seeds"],
        "tasks": len(res["config"]["tasks"]),
        "commit": res["commit"], "hardware": res["hardware"], "date": res["date"], "command": res["command"],
        "source": "results/benchmarks/surrogate.json",
    }
    path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "yahpo"),
                    help="folder holding VERSION and lcbench/ (default: ../shared/data/yahpo beside the repo)")
    ap.add_argument("--quick", action="store_true", help=f"tasks {', '.join(QUICK_TASKS)}, 3 seeds, budget 4 trainings")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per task (default 30; quick: 3)")
    ap.add_argument("--seeds-for", action="append", default=[], metavar="STRATEGY=N",
                    help="fewer seeds for one strategy (e.g. bohb=10); reported per strategy")
    ap.add_argument("--budget-trainings", type=int, default=None, help="budget in full trainings of 52 epochs (default 5; quick: 4)")
    ap.add_argument("--tasks", default=None, help="comma-separated task ids (default: all 34; quick: 2)")
    ap.add_argument("--strategies", default=None, help=f"comma-separated, from {', '.join(STRATEGIES)}, automl-proposed")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                    help='an extra automl strategy with settings changed, e.g. v1=\'{"startup_trials": 5, "patience": 0}\'')
    ap.add_argument("--reuse", default=None, help="a surrogate.json whose runs are kept instead of run again")
    ap.add_argument("--rerun", default="", help="comma-separated strategies to run again rather than reuse")
    ap.add_argument("--out", default=str(ROOT / "results" / "benchmarks"), help="output folder")
    ap.add_argument("--summary", default=None, help="summary.json to update (default: OUT/summary.json)")
    ap.add_argument("--no-summary", action="store_true", help="do not touch summary.json")
    a = ap.parse_args(argv)

    warnings.filterwarnings("ignore")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    bench = LCBench(a.data_dir)
    tasks = a.tasks.split(",") if a.tasks else list(QUICK_TASKS if a.quick else bench.tasks)
    unknown = [t for t in tasks if t not in bench.tasks]
    if unknown:
        ap.error(f"--tasks {','.join(unknown)}: not LCBench tasks; allowed: {', '.join(bench.tasks)}")
    n_seeds = a.seeds or (3 if a.quick else 30)
    trainings = a.budget_trainings or (4 if a.quick else 5)
    budget = trainings * MAX_EPOCH
    strategies = dict(STRATEGIES)
    if PROPOSED:
        strategies["automl-proposed"] = variant(PROPOSED)
        DESCRIBE["automl-proposed"] = (f"automl's strategy with {json.dumps(PROPOSED)} changed (a proposal for its "
                                       "defaults, tuned on the development tasks only)")
    for item in a.variant:
        vname, _, spec = item.partition("=")
        try:
            strategies[vname] = variant(json.loads(spec))
        except (ValueError, TypeError) as e:
            ap.error(f"--variant {item!r}: expected NAME={{json of settings}}: {e}")
        DESCRIBE[vname] = f"automl's strategy with {spec} changed"
    skipped: dict[str, str] = {}
    if importlib.util.find_spec("dehb") is None:  # not in the test extra: it pins numpy<2 (see README)
        skipped["dehb"] = "the `dehb` package is not installed (pip install dehb)"
    names = a.strategies.split(",") if a.strategies else [n for n in strategies if n not in skipped]
    bad = [n for n in names if n not in strategies or n in skipped]
    if bad or "random" not in names or "automl-default" not in names:
        ap.error(f"--strategies must include random and automl-default, from {', '.join(strategies)}; got {a.strategies}"
                 + "".join(f"; {n}: {why}" for n, why in skipped.items()))
    for n, why in skipped.items():
        print(f"note: {n} left out: {why}", flush=True)
    per = {n: n_seeds for n in names}
    for item in a.seeds_for:
        n, _, k = item.partition("=")
        if n not in per or not k.isdigit():
            ap.error(f"--seeds-for {item!r}: expected STRATEGY=N with a strategy from {', '.join(names)}")
        per[n] = int(k)

    t0 = time.time()
    a.commit = _git("rev-parse", "HEAD")  # the code that runs: taken at the start, not when a seed finishes
    a.dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"))
    runs: dict[tuple[str, str, int], dict[str, Any]] = {}
    reused: dict[str, Any] = {}
    if a.reuse:
        old = json.loads(Path(a.reuse).read_text())
        if "runs" not in old:  # the runs live beside it, gzipped
            with gzip.open(Path(a.reuse).with_name("surrogate.runs.json.gz"), "rt") as f:
                old["runs"] = json.load(f)
        if old["config"]["budget_epochs"] != budget or old["data"]["version"] != bench.version:
            ap.error(f"--reuse {a.reuse}: its budget ({old['config']['budget_epochs']}) or data version differs")
        for r in old["runs"]:
            key = (r["strategy"], r["task"], r["seed"])
            if key[0] in names and key[0] not in a.rerun.split(",") and key[1] in tasks and key[2] < per[key[0]]:
                runs[key] = {k: r[k] for k in ("curve", "final", "test_error", "seconds", "trials", "wall")}
        reused = {"file": a.reuse, "commit": old["commit"], "runs": len(runs), "rerun": a.rerun}
    for seed in range(n_seeds):  # seeds outermost: an interrupted run still has every task and strategy
        for task in tasks:
            for name in names:
                if seed >= per[name] or (name, task, seed) in runs:
                    continue
                w = time.perf_counter()
                tr = run_strategy(name, bench, task, budget, seed, strategies)
                curve = steps(tr)
                runs[(name, task, seed)] = {"curve": curve, "final": curve[-1][1], "test_error": tr.inc_test,
                                            "seconds": float(tr.seconds[-1]), "trials": tr.trials,
                                            "wall": time.perf_counter() - w}
        print(f"seed {seed} done, {time.time() - t0:.0f} s", flush=True)
        res = report(a, argv, runs, names, tasks, seed + 1, per, trainings, budget, bench, t0, skipped, reused)
    print((Path(a.out) / "surrogate.md").read_text().split("## Strategies")[0])
    return res


def report(a: argparse.Namespace, argv: list[str] | None, runs: dict[tuple[str, str, int], dict[str, Any]],
           names: list[str], tasks: list[str], seeds_done: int, per: dict[str, int], trainings: int, budget: int,
           bench: LCBench, t0: float, skipped: dict[str, str], reused: dict[str, Any]) -> dict[str, Any]:
    """Aggregate and write surrogate.json/.md (and the summary) for the seeds done so far: a long run that is
    stopped keeps complete seeds of every task and strategy."""
    agg = aggregate(runs, names, tasks, budget)
    d = agg["strategies"]["automl-default"]
    cmd = "python benchmarks/surrogate.py " + " ".join(argv if argv is not None else sys.argv[1:])
    res = {
        "command": cmd.strip(), "commit": a.commit, "dirty": a.dirty,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "hardware": hardware(),
        "versions": versions(), "data": {"dir": str(a.data_dir), "version": bench.version},
        "config": {"tasks": tasks, "dev_tasks": [t for t in tasks if t in DEV_TASKS], "seeds": seeds_done,
                   "seeds_per_strategy": per, "budget_trainings": trainings, "budget_epochs": budget,
                   "objective": "validation error = 100 - val_accuracy (%)",
                   "regret": "best val error so far - best val error of all runs pooled on the task",
                   "speedup": "E_random(seed) / E_strategy(seed); E = epochs to first reach random(seed)'s final "
                              "best; not reached -> the whole budget; median over seeds, then over tasks"},
        "describe": {n: DESCRIBE[n] for n in names}, "left_out": skipped, "reused": reused,
        "wall_seconds": time.time() - t0,
        "targets": {"rank_of_default": d["rank_all"], "rank_1": d["rank_all"] == 1,
                    "speedup_vs_random_median": d["speedup_median_all"], "speedup_10x": d["speedup_median_all"] >= 10},
        "aggregate": agg,
        "runs_file": "surrogate.runs.json.gz",
    }
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    # every run's any-time curve (change points: epochs, best val error, simulated seconds), gzipped: megabytes
    with gzip.open(out / "surrogate.runs.json.gz", "wt", compresslevel=9) as f:
        json.dump([{"strategy": n, "task": t, "seed": s, **r} for (n, t, s), r in runs.items()], f,
                  separators=(",", ":"))
    (out / "surrogate.json").write_text(json.dumps(res, indent=1) + "\n")
    write_markdown(res, out / "surrogate.md")
    if not a.no_summary:
        update_summary(Path(a.summary) if a.summary else out / "summary.json", res)
    return res


if __name__ == "__main__":
    main()
