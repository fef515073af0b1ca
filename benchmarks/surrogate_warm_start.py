"""Warm start across tasks, measured on the LCBench surrogate: does a finished search on one task make the
search on another get there sooner?

    python benchmarks/surrogate_warm_start.py --quick     # 2 target tasks, 3 seeds: about a minute
    python benchmarks/surrogate_warm_start.py             # -> results/benchmarks/warm_start_surrogate.{json,md}

Per target task T and seed s, two runs of automl's default strategy (`automl-default` of
benchmarks/surrogate_strategies.py: the Optuna backend's own sampler and pruner factories, the trainer's early
stopping) with the same epoch budget:

- cold: T from scratch, seed s;
- warm: T, seed s, seeded with the cold run of the *source* task S (same seed) exactly as
  `automl search --warm-start RUN` seeds a run on other data: S's top `--top` completed configs by validation
  accuracy, mapped onto the space by `automl.space.warm.map_config`, queued to run first by
  `automl.backends.warm.seed_optuna` (other data: they are re-trained and paid for, never taken as they are).

Each task's source is the next task of its own group in the listed order (development tasks warm-start
development tasks, held-out tasks held-out ones): a fixed pairing, not a chosen one. The source search's own
cost is not charged to the warm run: it is an earlier run the user already has.

Reported per group (development and held-out apart): the median over runs of the trained epochs the cold run
needed to first reach its own final best validation error, the epochs the warm run needed to reach that same
value (not reached within the budget: counted apart), their ratio (cold first-reach / warm first-reach, both
first-reach: identical runs score exactly 1), and the final regret difference (warm - cold best validation
error at the budget, in points; < 0: warm ended better).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from surrogate_lcbench import DEV_TASKS, MAX_EPOCH, LCBench  # noqa: E402
from surrogate_strategies import Spent, Tracker, automl  # noqa: E402


def run(bench: LCBench, task: str, seed: int, budget: int, seeds_from: list[dict[str, Any]] | None,
        top: int) -> tuple[Tracker, list[dict[str, Any]]]:
    """One automl-default run; returns its tracker and its completed trials (params, value), best first."""
    from surrogate_lcbench import automl_space

    from automl.backends.warm import Seed, WarmPlan, seed_optuna
    from automl.space.warm import map_config

    holder: dict[str, Any] = {}
    space = automl_space(bench)

    def on_study(study: Any) -> None:
        holder["study"] = study
        if not seeds_from:
            return
        plan = WarmPlan()
        for t in seeds_from[:top]:
            mapped, why = map_config(t["params"], space.space)
            if mapped is None:
                raise RuntimeError(f"a source config did not map onto the same space: {why}")
            plan.enqueued.append(Seed(source=t["source"], mapped=mapped, note="enqueued"))
        seed_optuna(study, plan, "val_accuracy")

    tr = Tracker(bench, task, budget)
    with contextlib.suppress(Spent):
        automl(on_study=on_study)(tr, seed)
    import optuna

    done = [t for t in holder["study"].trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
    done.sort(key=lambda t: -t.value)
    return tr, [{"params": dict(t.params), "value": float(t.value), "source": f"{task}#{t.number}"} for t in done]


def first_reach(best: np.ndarray, target: float) -> int | None:
    """Epochs spent when the best-so-far validation error first reaches `target` (1-based), else None."""
    hit = np.nonzero(best <= target + 1e-9)[0]
    return int(hit[0]) + 1 if hit.size else None


def group_stats(rows: list[dict[str, Any]], budget: int) -> dict[str, Any]:
    reached = [r for r in rows if r["warm_reach"] is not None]
    ratios = [r["cold_reach"] / r["warm_reach"] for r in reached]
    return {
        "runs": len(rows),
        "cold_first_reach_median": statistics.median(r["cold_reach"] for r in rows),
        "warm_reach_median": statistics.median(r["warm_reach"] if r["warm_reach"] is not None else budget + 1
                                               for r in rows),
        "warm_not_reached": len(rows) - len(reached),
        "ratio_median": statistics.median(ratios) if ratios else None,
        "ratio_median_all": statistics.median(
            [r["cold_reach"] / r["warm_reach"] if r["warm_reach"] else 0.0 for r in rows]),
        "share_warm_faster": sum(1 for r in rows if r["warm_reach"] is not None and r["warm_reach"] < r["cold_reach"])
        / len(rows),
        "final_diff_mean": statistics.fmean(r["warm_final"] - r["cold_final"] for r in rows),
        "final_diff_median": statistics.median(r["warm_final"] - r["cold_final"] for r in rows),
        "epochs_saved_median": statistics.median(r["cold_reach"] - (r["warm_reach"] or budget) for r in rows),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "yahpo"))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budget-trainings", type=int, default=5, help="budget in full trainings of 52 epochs")
    ap.add_argument("--top", type=int, default=10, help="configs queued from the source (automl's default)")
    ap.add_argument("--tasks", default=None, help="comma-separated target tasks (default: all 34)")
    ap.add_argument("--quick", action="store_true", help="2 tasks x 3 seeds, output to /tmp")
    ap.add_argument("--out", default=str(ROOT / "results" / "benchmarks"))
    ap.add_argument("--tag", default="", help="output warm_start_surrogate[_TAG].{json,md}; a tagged run does not "
                    "touch summary.json")
    a = ap.parse_args(argv)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bench = LCBench(a.data_dir)
    budget = a.budget_trainings * MAX_EPOCH
    dev = [t for t in bench.tasks if t in DEV_TASKS]
    held = [t for t in bench.tasks if t not in DEV_TASKS]
    if a.quick:
        dev, held, a.seeds, out = dev[:2], [], 3, Path("/tmp/warm_start_surrogate")
    elif a.tasks:
        keep = set(a.tasks.split(","))
        dev, held, out = [t for t in dev if t in keep], [t for t in held if t in keep], Path(a.out)
    else:
        out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    rows: list[dict[str, Any]] = []
    for group, tasks in (("dev", dev), ("heldout", held)):
        if len(tasks) < 2:
            continue
        source_of = {t: tasks[(i + 1) % len(tasks)] for i, t in enumerate(tasks)}
        for seed in range(a.seeds):
            cold = {t: run(bench, t, seed, budget, None, a.top) for t in tasks}
            for t in tasks:
                ctr, _ = cold[t]
                final = float(ctr.best[-1])
                wtr, _ = run(bench, t, seed, budget, cold[source_of[t]][1], a.top)
                rows.append({"group": group, "task": t, "source": source_of[t], "seed": seed,
                             "cold_final": final, "warm_final": float(wtr.best[-1]),
                             "cold_reach": first_reach(ctr.best, final), "warm_reach": first_reach(wtr.best, final),
                             "cold_test": ctr.inc_test, "warm_test": wtr.inc_test})
            print(f"{group} seed {seed}: {len(rows)} runs, {time.time() - t0:.0f}s", flush=True)
    res: dict[str, Any] = {
        "command": "python benchmarks/surrogate_warm_start.py" + (" " + " ".join(argv or sys.argv[1:])).rstrip(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "budget_epochs": budget, "seeds": a.seeds, "top": a.top, "surrogate_version": bench.version,
        "seconds": round(time.time() - t0, 1),
        "groups": {g: group_stats([r for r in rows if r["group"] == g], budget)
                   for g in ("dev", "heldout") if any(r["group"] == g for r in rows)},
        "runs": rows,
    }
    stem = "warm_start_surrogate" + (f"_{a.tag}" if a.tag else "")
    (out / f"{stem}.json").write_text(json.dumps(res, indent=1))
    (out / f"{stem}.md").write_text(markdown(res))
    print(markdown(res))
    if not a.quick and not a.tag and not a.tasks:
        from summary import update

        update("warm_start", {k: res[k] for k in ("command", "date", "budget_epochs", "seeds", "top", "groups")}
               | {"source": f"results/benchmarks/{stem}.json"}, out / "summary.json")
    return res


def markdown(res: dict[str, Any]) -> str:
    lines = ["# Warm start across tasks on the LCBench surrogate", "",
             f"`{res['command']}` ({res['date']}, {res['seconds']} s). automl's default strategy, budget "
             f"{res['budget_epochs']} epochs per run, {res['seeds']} seeds per task; warm = seeded with the top "
             f"{res['top']} configs of the source task's cold run (the next task of the same group), queued first "
             "and re-trained as `--warm-start` does for other data. Epochs to reach = trained epochs until the "
             "best-so-far validation error first reaches the cold run's final value.", "",
             "| tasks | runs | cold: epochs to its final (median) | warm: epochs to the same (median) | warm never "
             "reached | ratio cold/warm (median, reached) | warm faster | final val error warm - cold (mean, median, "
             "points) |", "|---|---|---|---|---|---|---|---|"]
    for g, s in res["groups"].items():
        lines.append(f"| {'development' if g == 'dev' else 'held-out'} | {s['runs']} | "
                     f"{s['cold_first_reach_median']:g} | {s['warm_reach_median']:g} | {s['warm_not_reached']} | "
                     + (f"{s['ratio_median']:.2f}x" if s["ratio_median"] is not None else "-")
                     + f" | {100 * s['share_warm_faster']:.0f}% | {s['final_diff_mean']:+.2f}, "
                     f"{s['final_diff_median']:+.2f} |")
    lines += ["", "A warm median above the budget means more than half the warm runs never reached the cold run's "
              "final value. Reproduce with the command above; every run is in the JSON (`runs`).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
