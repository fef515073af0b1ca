"""Does automl's default keep improving with budget? The surrogate suite's speed-up over random search and final
regret at several budgets, on every LCBench task, development and held-out reported apart.

    python benchmarks/surrogate_budget.py --budgets 5,20 --seeds 2 --tasks 3945,189909 --out /tmp/sb   # ~1 min
    python benchmarks/surrogate_budget.py            # budgets 5,20,50,100; 10 seeds; 34 tasks; 2 processes

Each (budget, strategy, task, seed) is one run of benchmarks/surrogate_strategies.py exactly as
benchmarks/surrogate.py runs it (same strategies, same seeds, same Tracker that stops a run at its budget), so
the budget-5 rows here and surrogate.md's differ only in the number of seeds. The speed-up and its definition
are surrogate.py's (`aggregate`): epochs random search (seed s) needs to first reach its own final best / epochs
the strategy (seed s) needs to reach that value, a run that never reaches it counted at the whole budget; median
over seeds, then over tasks. It is computed within each budget, against random search at that budget.
Final regret here is measured against one reference per task, the best validation error any run found at any
budget, so that the rows of different budgets can be compared: a default that keeps improving with budget has a
regret that keeps falling.

A second speed-up, labelled apart, is the one Hyperband's and BOHB's papers quote (time to the same result):
epochs one long random search (same seed index, `--random-reference` trainings) needs to reach the strategy's
final best at the budget, divided by the epochs the strategy needed to first reach it. Random search at any
budget is a prefix of its long run (same seed, same configurations in the same order), so it scores exactly 1;
a value the long run never reaches counts at its whole length (a lower bound, its share reported as censored).

The runs go to OUT/surrogate_budget.runs.json.gz after each budget; `--resume` keeps the runs already there
(more seeds at a budget: rerun with a larger `--seeds-at` and `--resume`; the wall time adds up).
BOHB is left out by default: its KDE makes a run at 100 trainings cost about 30 s (vs 24 s for automl's TPE,
0.3 s for random search) on this 2-core machine; `--strategies` can add it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import multiprocessing as mp
import os
import statistics
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from surrogate import _git, _med, aggregate, hardware, reach, steps, versions  # noqa: E402
from surrogate_lcbench import DEV_TASKS, MAX_EPOCH, LCBench  # noqa: E402

_BENCH: LCBench | None = None


def _init(data_dir: str) -> None:
    global _BENCH
    warnings.filterwarnings("ignore")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    _BENCH = LCBench(data_dir)


def _one(job: tuple[int, str, str, int]) -> tuple[tuple[int, str, str, int], dict[str, Any]]:
    from surrogate_strategies import run_strategy

    trainings, name, task, seed = job
    assert _BENCH is not None
    w = time.perf_counter()
    tr = run_strategy(name, _BENCH, task, trainings * MAX_EPOCH, seed)
    curve = steps(tr)
    return job, {"curve": curve, "final": curve[-1][1], "test_error": tr.inc_test, "seconds": float(tr.seconds[-1]),
                 "trials": tr.trials, "wall": time.perf_counter() - w}


def matched(runs: dict[tuple[int, str, str, int], dict[str, Any]], ref_runs: dict[tuple[str, int], dict[str, Any]],
            budget: int, name: str, task: str, seeds: list[int], ref_trainings: int) -> tuple[list[float], int]:
    """Per seed: epochs a long random search (same seed index, `ref_trainings` x 52 epochs) needs to reach the
    strategy's final best at `budget`, divided by the epochs the strategy needed to first reach it; never
    reached -> the long run's whole length (the ratio is then a lower bound). Identical runs score exactly 1:
    random search's run at a smaller budget is a prefix of the long one. Returns the ratios and how many were
    censored."""
    out, censored = [], 0
    for s in seeds:
        x, r = runs.get((budget, name, task, s)), ref_runs.get((task, s))
        if x is None or r is None:
            continue
        ex = reach(x["curve"], x["final"])
        assert ex is not None
        er = reach(r["curve"], x["final"])
        if er is None:
            censored += 1
        out.append((er[0] if er else ref_trainings * MAX_EPOCH) / ex[0])
    return out, censored


def summarize(runs: dict[tuple[int, str, str, int], dict[str, Any]], budgets: list[int], names: list[str],
              tasks: list[str], ref_runs: dict[tuple[str, int], dict[str, Any]] | None = None,
              ref_trainings: int = 0) -> dict[str, Any]:
    """Per budget: surrogate.py's aggregate (speed-ups within the budget), regret against one reference per task
    over every budget (mean over tasks of the median over seeds), and, given long random-search runs, the
    speed-up to each strategy's own final result (`matched`)."""
    ref = {t: min(r["final"] for (_, _, tt, _), r in runs.items() if tt == t) for t in tasks}
    groups = {"all": tasks, "dev": [t for t in tasks if t in DEV_TASKS],
              "heldout": [t for t in tasks if t not in DEV_TASKS]}
    out: dict[str, Any] = {"reference_val_error": ref, "budgets": {}}
    for b in budgets:
        sub = {(n, t, s): r for (bb, n, t, s), r in runs.items() if bb == b}
        if not sub:
            continue
        agg = aggregate(sub, names, tasks, b * MAX_EPOCH)
        seeds_of: dict[tuple[str, str], list[int]] = {}
        for n, t, s in sorted(sub):
            seeds_of.setdefault((n, t), []).append(s)
        row: dict[str, Any] = {}
        for n in names:
            st = agg["strategies"][n]
            cell = {f"speedup_median_{g}": st[f"speedup_median_{g}"] for g in groups}
            cell.update({f"rank_{g}": st[f"rank_{g}"] for g in groups})
            cell["reached_fraction"] = st["reached_fraction"]
            cell["seeds_per_task"] = st["seeds_per_task"]
            per_task = {t: [sub[(n, t, s)] for s in seeds_of.get((n, t), [])] for t in tasks}
            regret = {t: _med([r["final"] - ref[t] for r in rs]) for t, rs in per_task.items()}
            test = {t: _med([r["test_error"] for r in rs]) for t, rs in per_task.items()}
            for g, ts in groups.items():
                cell[f"regret_mean_{g}"] = statistics.fmean([regret[t] for t in ts]) if ts else math.nan
                cell[f"test_error_mean_{g}"] = statistics.fmean([test[t] for t in ts]) if ts else math.nan
            if ref_runs:
                speed, cens, total = {}, 0, 0
                for t in tasks:
                    ratios, c = matched(runs, ref_runs, b, n, t, seeds_of.get((n, t), []), ref_trainings)
                    speed[t] = _med(ratios)
                    cens, total = cens + c, total + len(ratios)
                for g, ts in groups.items():
                    cell[f"matched_speedup_median_{g}"] = _med([speed[t] for t in ts])
                cell["matched_censored_fraction"] = cens / total if total else math.nan
            cell["trials_median"] = _med([r["trials"] for (nn, _, _), r in sub.items() if nn == n])
            cell["wall_seconds_median"] = _med([r["wall"] for (nn, _, _), r in sub.items() if nn == n])
            row[n] = cell
        out["budgets"][str(b)] = row
    return out


def _table(title: str, names: list[str], budgets: dict[str, Any], what: str, cell: Any, intro: str = "") -> list[str]:
    """A section with one row per budget and one column per strategy, `cell` formatting a strategy's figures."""
    return ["", f"## {title}", "", *([intro, ""] if intro else []), "| budget (trainings) | " + " | ".join(f"{n} {what}" for n in names) + " |",
            "|---|" + "---|" * len(names),
            *(f"| {b} | " + " | ".join(cell(row[n]) for n in names) + " |" for b, row in budgets.items())]


def write_markdown(res: dict[str, Any], path: Path) -> None:
    s, cfg = res["summary"], res["config"]
    names = cfg["strategies"]
    lines = [
        "# Surrogate suite by budget: does automl's default keep improving with budget?", "",
        f"`{res['command']}` · commit `{res['commit']}`{' (uncommitted changes)' if res['dirty'] else ''} · "
        f"{res['date']} · {res['hardware']['cpu']} ({res['hardware']['cores']} cores, {cfg['processes']} processes) · "
        f"{res['wall_seconds']:.0f} s" + (" (wall time summed over: " + "; ".join(f"`{c}`" for c in res["commands"])
                                           + ")" if len(res.get("commands", [])) > 1 else ""), "",
        f"YAHPO Gym LCBench, {len(cfg['tasks'])} tasks ({len(cfg['dev_tasks'])} development, "
        f"{len(cfg['tasks']) - len(cfg['dev_tasks'])} held-out), seeds per task at each budget as listed; budget "
        "in full 52-epoch trainings, summed over a run's trials. Speed-up: surrogate.py's definition, within each "
        "budget (epochs random search needs to first reach its own final best / epochs the strategy needs to reach "
        "it; not reached: the whole budget; median over seeds, then tasks). Regret: final best validation error "
        "minus the best any run found on the task at any budget (median over seeds, mean over tasks; points of "
        "validation error). Test error: 100 - test balanced accuracy of the incumbent (median over seeds, mean "
        "over tasks).", "",
        "## Speed-up over random search (median over tasks)", "",
        "| budget (trainings) | seeds/task | " + " | ".join(f"{n} all / dev / held-out" for n in names if n != "random")
        + " |", "|---|---|" + "---|" * (len(names) - 1),
    ]
    for b, row in s["budgets"].items():
        lines.append(f"| {b} | {cfg['seeds'][b]} | " + " | ".join(
            f"{row[n]['speedup_median_all']:.2f}x / {row[n]['speedup_median_dev']:.2f}x / "
            f"{row[n]['speedup_median_heldout']:.2f}x (rank {row[n]['rank_all']})" for n in names if n != "random") + " |")
    if "matched_speedup_median_all" in s["budgets"][next(iter(s["budgets"]))]["automl-default"]:
        lines += _table(f"Speed-up to the strategy's own final result (random search given up to "
                        f"{cfg['random_reference_trainings']} trainings)", names, s["budgets"],
                        "all / dev / held-out (censored)",
                        lambda c: f"{c['matched_speedup_median_all']:.2f}x / {c['matched_speedup_median_dev']:.2f}x / "
                                  f"{c['matched_speedup_median_heldout']:.2f}x ({100 * c['matched_censored_fraction']:.0f}%)",
                        intro="Epochs random search (same seed index, one long run) needs to reach the strategy's "
                              "final best at the budget / epochs the strategy needed to first reach it; median over "
                              "seeds, then tasks. This is how Hyperband's and BOHB's papers quote speed-ups (time to "
                              "the same result); it is not the suite's definition above, which fixes the target at "
                              "random search's own final result at the same budget. When the long random search never "
                              "reaches the value, it counts at its whole length, so the ratio is a lower bound there "
                              "('censored').")
    lines += _table("Final regret (validation error points) and test error", names, s["budgets"],
                    "regret dev / held-out · test err all",
                    lambda c: f"{c['regret_mean_dev']:.3f} / {c['regret_mean_heldout']:.3f} · {c['test_error_mean_all']:.2f}")
    lines += _table("Trials per run and cost (median)", names, s["budgets"], "trials · s/run",
                    lambda c: f"{c['trials_median']:.0f} · {c['wall_seconds_median']:.1f}")
    lines += ["", "## Reading it", "", *res.get("reading", [])]
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "yahpo"))
    ap.add_argument("--budgets", default="5,20,50,100", help="budgets in full 52-epoch trainings, comma-separated")
    ap.add_argument("--seeds", type=int, default=10, help="seeds per task and budget (default 10)")
    ap.add_argument("--seeds-at", action="append", default=[], metavar="BUDGET=N",
                    help="another number of seeds at one budget (e.g. 100=5: the largest budget costs the most)")
    ap.add_argument("--tasks", default=None, help="comma-separated task ids (default: all 34)")
    ap.add_argument("--strategies", default="random,automl-default,dehb",
                    help="comma-separated strategies of benchmarks/surrogate_strategies.py (random and automl-default "
                         "required)")
    ap.add_argument("--random-reference", type=int, default=1000, metavar="TRAININGS",
                    help="length of the long random-search runs (per task and seed) that the matched speed-up "
                         "reads (default 1000 trainings; 0: leave it out)")
    ap.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", default=str(ROOT / "results" / "benchmarks" / "surrogate_budget"))
    ap.add_argument("--resume", action="store_true", help="keep the runs already in OUT")
    ap.add_argument("--summary", default=None, help="a summary.json whose `surrogate_budget` key to set")
    a = ap.parse_args(argv)

    from surrogate_strategies import STRATEGIES

    bench = LCBench(a.data_dir)
    tasks = a.tasks.split(",") if a.tasks else list(bench.tasks)
    if [t for t in tasks if t not in bench.tasks]:
        ap.error(f"--tasks: allowed {', '.join(bench.tasks)}")
    names = a.strategies.split(",")
    if [n for n in names if n not in STRATEGIES] or "random" not in names or "automl-default" not in names:
        ap.error(f"--strategies must include random and automl-default, from {', '.join(STRATEGIES)}")
    budgets = [int(b) for b in a.budgets.split(",")]
    seeds = {b: a.seeds for b in budgets}
    for item in a.seeds_at:
        b, _, n = item.partition("=")
        if not (b.isdigit() and n.isdigit() and int(b) in seeds):
            ap.error(f"--seeds-at {item!r}: expected BUDGET=N with a budget from --budgets {a.budgets}")
        seeds[int(b)] = int(n)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    runs_file = out / "surrogate_budget.runs.json.gz"
    runs: dict[tuple[int, str, str, int], dict[str, Any]] = {}
    earlier: dict[str, Any] = {"wall_seconds": 0.0, "commands": []}  # of the runs --resume keeps
    if a.resume and (out / "surrogate_budget.json").is_file():
        old = json.loads((out / "surrogate_budget.json").read_text())
        earlier = {"wall_seconds": old["wall_seconds"], "commands": old.get("commands", [old["command"]])}
    if a.resume and runs_file.is_file():
        with gzip.open(runs_file, "rt") as f:
            for r in json.load(f):
                runs[(r["budget_trainings"], r["strategy"], r["task"], r["seed"])] = {
                    k: r[k] for k in ("curve", "final", "test_error", "seconds", "trials", "wall")}
    t0 = time.time()
    commit = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"))
    hw = hardware()
    res: dict[str, Any] = {}
    with mp.get_context("spawn").Pool(a.processes, initializer=_init, initargs=(a.data_dir,)) as pool:
        phases = [*budgets, *([a.random_reference] if a.random_reference else [])]
        for i, b in enumerate(phases):
            if i == len(budgets):  # the long random-search runs, one per task and seed index
                jobs = [(b, "random", t, s) for s in range(max(seeds.values())) for t in tasks
                        if (b, "random", t, s) not in runs]
            else:  # the slowest strategies first, so that the two processes finish together
                jobs = [(b, n, t, s) for n in reversed(names) for s in range(seeds[b]) for t in tasks
                        if (b, n, t, s) not in runs]
            for key, r in pool.imap_unordered(_one, jobs, chunksize=1):
                runs[key] = r
            print(f"budget {b}: {len(jobs)} runs, {time.time() - t0:.0f} s", flush=True)
            with gzip.open(runs_file, "wt", compresslevel=9) as f:
                json.dump([{"budget_trainings": k[0], "strategy": k[1], "task": k[2], "seed": k[3], **r}
                           for k, r in sorted(runs.items())], f, separators=(",", ":"))
            done = [bb for bb in budgets if any(k[0] == bb for k in runs)]
            ref_runs = {(k[2], k[3]): r for k, r in runs.items() if k[0] == a.random_reference and k[1] == "random"}
            if i < len(budgets) and a.random_reference not in budgets:
                ref_runs = {}  # only once every long run is in
            summ = summarize({k: r for k, r in runs.items() if k[0] in done and k[2] in tasks
                              and k[3] < seeds[k[0]] and k[1] in names}, done, names, tasks, ref_runs,
                             a.random_reference)
            d = {bb: summ["budgets"][str(bb)]["automl-default"] for bb in done}
            reading = [
                "- automl-default's median speed-up over random search (all tasks): "
                + ", ".join(f"{d[bb]['speedup_median_all']:.2f}x at {bb}" for bb in done)
                + "; >= 10x (issue 14's target) at a budget here: "
                + (", ".join(str(bb) for bb in done if d[bb]['speedup_median_all'] >= 10) or "none") + ".",
                "- automl-default's regret (dev / held-out): "
                + ", ".join(f"{d[bb]['regret_mean_dev']:.3f} / {d[bb]['regret_mean_heldout']:.3f} at {bb}"
                            for bb in done) + ".",
                *(["- automl-default's speed-up to its own final result (random search given up to "
                   f"{a.random_reference} trainings; all / dev / held-out, censored share): "
                   + ", ".join(f"{d[bb]['matched_speedup_median_all']:.2f}x / {d[bb]['matched_speedup_median_dev']:.2f}x"
                               f" / {d[bb]['matched_speedup_median_heldout']:.2f}x "
                               f"({100 * d[bb]['matched_censored_fraction']:.0f}%) at {bb}" for bb in done) + "."]
                  if ref_runs else []),
                "- random search's regret (dev / held-out): "
                + ", ".join(f"{summ['budgets'][str(bb)]['random']['regret_mean_dev']:.3f} / "
                            f"{summ['budgets'][str(bb)]['random']['regret_mean_heldout']:.3f} at {bb}"
                            for bb in done) + ".",
            ]
            cmd = "python benchmarks/surrogate_budget.py " + " ".join(argv if argv is not None else sys.argv[1:])
            res = {"command": cmd.strip(), "commit": commit, "dirty": dirty,
                   "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "hardware": hw,
                   "versions": versions(), "data": {"dir": a.data_dir, "version": bench.version},
                   "config": {"budgets_trainings": done, "seeds": {str(bb): seeds[bb] for bb in done}, "tasks": tasks,
                              "dev_tasks": [t for t in tasks if t in DEV_TASKS], "strategies": names,
                              "processes": a.processes, "random_reference_trainings": a.random_reference},
                   "wall_seconds": earlier["wall_seconds"] + time.time() - t0,
                   "commands": [*earlier["commands"], cmd.strip()], "summary": summ, "reading": reading,
                   "runs_file": runs_file.name}
            (out / "surrogate_budget.json").write_text(json.dumps(res, indent=1) + "\n")
            write_markdown(res, out / "surrogate_budget.md")
    if a.summary and res:
        import summary as summary_file  # benchmarks/summary.py: sets one key, restamps commit/date/hardware

        summary_file.update("surrogate_budget", {
            "by_budget_trainings": {b: {n: {k: row[n][k] for k in ("speedup_median_all", "speedup_median_dev",
                                                                    "speedup_median_heldout", "rank_all",
                                                                    "regret_mean_dev", "regret_mean_heldout",
                                                                    "matched_speedup_median_all",
                                                                    "matched_speedup_median_dev",
                                                                    "matched_speedup_median_heldout",
                                                                    "matched_censored_fraction")
                                            if k in row[n]}
                                        for n in names} for b, row in res["summary"]["budgets"].items()},
            "seeds_per_task": res["config"]["seeds"], "tasks": len(tasks),
            "random_reference_trainings": a.random_reference, "commit": commit, "hardware": hw, "date": res["date"],
            "command": res["command"], "source": str((out / "surrogate_budget.json").relative_to(ROOT))
            if out.resolve().is_relative_to(ROOT) else str(out / "surrogate_budget.json"),
        }, Path(a.summary))
    print((out / "surrogate_budget.md").read_text())
    return res


if __name__ == "__main__":
    main()
