"""Accuracy against parameter count on MNIST-1D: the Pareto front with and without the Pareto rung pruning rule.

Both searches of a pair use the random sampler with the same seed, so they draw the same configs in the same
order (a random sampler's draws do not depend on earlier results): the only difference is that one prunes
(`--pruner hyperband`: the Pareto rung rule at epochs 1 and 3 of 9, automl/finalize/pareto.py) and one does not
(`--pruner none`). What pruning saved is then the difference in epochs trained, and what it cost is read off
the fronts directly: which points of the unpruned front the pruned search lost, and the hypervolume of both
(against one reference point: the worst accuracy and the largest parameter count of either search, the count
on a log10 axis).

    nice python benchmarks/multiobjective.py                      # 30 trials x 9 epochs, seed 0
    nice python benchmarks/multiobjective.py --trials 30 --seeds 0 1 --out results/benchmarks/multiobjective
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

SPACE = """\
name: mnist1d_pareto
dataset: {{name: mnist1d, split: {{val: 0.1, seed: 0}}}}
task: multiclass
objective: [{{metric: val_accuracy, direction: maximize}}, {{metric: n_params, direction: minimize}}]
model:
  family: cnn
  n_conv_blocks: {{low: 1, high: 3}}
  conv_blocks:
    shared: [activation]
    filters: {{low: 4, high: 64, log: true}}
    kernel_size: {{choices: [3, 5, 7]}}
    padding: same
    activation: {{choices: [relu, gelu]}}
    pool: {{choices: [none, max]}}
    pool_size: 2
  global_pool: {{choices: [flatten, avg]}}
  n_dense_blocks: {{low: 0, high: 1}}
  dense_blocks:
    units: {{low: 16, high: 128, log: true}}
    activation: relu
training:
  optimizer: adam
  lr: {{low: 1.0e-3, high: 3.0e-2, log: true}}
  batch_size: 64
  max_epochs: {epochs}
  patience: 0
search: {{sampler: random, min_epochs: 1, reduction_factor: 3}}
"""


def one(root: Path, *, pruner: str, trials: int, epochs: int, seed: int) -> dict[str, Any]:
    import automl
    from automl.finalize.pareto import pareto_front, points_of

    space = root / f"space_{epochs}.yaml"
    space.write_text(SPACE.format(epochs=epochs))
    t0 = time.perf_counter()
    run = automl.search(str(space), results_dir=root / "results", study=f"{pruner}_s{seed}", trials=trials,
                        pruner=pruner, seed=seed, threads=1, progress=False)
    wall = time.perf_counter() - t0
    recs = run.records()
    front = pareto_front(points_of(recs), maximize=True)
    return {
        "pruner": pruner, "seed": seed, "trials": len(recs), "wall_seconds": round(wall, 1),
        "complete": sum(r.state == "COMPLETE" for r in recs), "pruned": sum(r.state == "PRUNED" for r in recs),
        "failed": sum(r.state == "FAIL" for r in recs), "epochs": sum(r.epochs_run for r in recs),
        "train_seconds": round(sum(r.seconds for r in recs), 1),
        "front": [{"trial": p.trial, "val_accuracy": round(p.value, 4), "n_params": int(p.cost)} for p in front],
        "trials_detail": [{"trial": r.number, "state": r.state, "val_accuracy": r.value, "n_params": r.cost,
                           "epochs": r.epochs_run, "reason": r.reason[:200]} for r in recs],
    }


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """a: with pruning, b: without (same configs)."""
    from automl.finalize.pareto import Point, dominates, hypervolume

    fa = [Point(p["trial"], p["val_accuracy"], p["n_params"]) for p in a["front"]]
    fb = [Point(p["trial"], p["val_accuracy"], p["n_params"]) for p in b["front"]]
    allpts = [t for run in (a, b) for t in run["trials_detail"] if t["state"] == "COMPLETE"]
    ref = (min(t["val_accuracy"] for t in allpts), max(t["n_params"] for t in allpts))
    lost = [p for p in fb if p.trial not in {q.trial for q in fa}]
    return {
        "epochs_saved": b["epochs"] - a["epochs"], "epochs_saved_pct": round(100 * (1 - a["epochs"] / b["epochs"]), 1),
        "train_seconds_saved_pct": round(100 * (1 - a["train_seconds"] / b["train_seconds"]), 1),
        "hypervolume_pruned": round(hypervolume(fa, True, ref), 4),
        "hypervolume_unpruned": round(hypervolume(fb, True, ref), 4), "reference": ref,
        "unpruned_front_points_lost": [{"trial": p.trial, "val_accuracy": p.value, "n_params": int(p.cost)} for p in lost],
        "pruned_front_points_dominated_by_unpruned": sum(
            any(dominates((q.value, q.cost), (p.value, p.cost), True) for q in fb) for p in fa),
    }


def markdown(out: dict[str, Any]) -> str:
    lines = ["# Accuracy against parameter count on MNIST-1D: the front with and without pruning", "",
             f"`python benchmarks/multiobjective.py --trials {out['trials']} --epochs {out['epochs']} --seeds "
             f"{' '.join(map(str, out['seeds']))}` ({out['machine']}; {out['when']}). Random sampler, same seed in "
             "both searches of a pair: the same configs in the same order; one prunes by the Pareto rung rule "
             f"(rungs at epochs {out['rungs']}), one does not. One worker, one torch thread, a machine shared with "
             "other jobs (seconds are noisy; epochs are exact).", ""]
    for pair in out["pairs"]:
        a, b, c = pair["pruned"], pair["unpruned"], pair["comparison"]
        lines += [f"## Seed {a['seed']}", "",
                  "| search | complete | pruned | epochs trained | training s | front size | hypervolume |",
                  "|---|---|---|---|---|---|---|",
                  f"| with pruning | {a['complete']} | {a['pruned']} | {a['epochs']} | {a['train_seconds']} | "
                  f"{len(a['front'])} | {c['hypervolume_pruned']} |",
                  f"| without | {b['complete']} | {b['pruned']} | {b['epochs']} | {b['train_seconds']} | "
                  f"{len(b['front'])} | {c['hypervolume_unpruned']} |", "",
                  f"Pruning saved {c['epochs_saved']} epochs ({c['epochs_saved_pct']}%) and "
                  f"{c['train_seconds_saved_pct']}% of the training seconds. Points of the unpruned front that the "
                  f"pruned search lost: {len(c['unpruned_front_points_lost'])}"
                  + (" (" + ", ".join(f"#{p['trial']} acc {p['val_accuracy']:.4f} at {p['n_params']} params"
                                       for p in c['unpruned_front_points_lost']) + ")"
                     if c["unpruned_front_points_lost"] else "")
                  + f"; pruned-front points dominated by the unpruned front: "
                  f"{c['pruned_front_points_dominated_by_unpruned']}.", ""]
        for name, run in (("with pruning", a), ("without pruning", b)):
            lines += [f"Front {name} (cheapest first): " + "; ".join(
                f"#{p['trial']} {p['val_accuracy']:.4f} @ {p['n_params']}" for p in run["front"]), ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=9)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--out", default="results/benchmarks/multiobjective")
    args = ap.parse_args()
    from automl.finalize.pareto import rungs

    pairs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            runs = {p: one(Path(tmp), pruner=p, trials=args.trials, epochs=args.epochs, seed=seed)
                    for p in ("hyperband", "none")}
            pairs.append({"pruned": runs["hyperband"], "unpruned": runs["none"],
                          "comparison": compare(runs["hyperband"], runs["none"])})
            print(json.dumps(pairs[-1]["comparison"]), flush=True)
    out = {"trials": args.trials, "epochs": args.epochs, "seeds": args.seeds, "rungs": rungs(1, 3, args.epochs),
           "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
           "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "pairs": pairs}
    base = Path(args.out)
    base.parent.mkdir(parents=True, exist_ok=True)
    base.with_suffix(".json").write_text(json.dumps(out, indent=1))
    base.with_suffix(".md").write_text(markdown(out))
    print(markdown(out))


if __name__ == "__main__":
    main()
