"""Warm start on real data: does a search on a 20% subsample of MNIST-1D make the full search get there sooner?

Three searches with the same small CNN space and the same epoch budget (`--max-total-epochs`), 1 worker:

1. cold: the full data, no warm start;
2. small: a stratified 20% subsample (`dataset.subsample`), same budget (each epoch ~5x cheaper), another
   sampler seed (with the same one its first random configs would be the cold search's own);
3. warm: the full data again, `warm_start=[small]`: the small run's top configs run first (other data, so
   they are re-trained, not taken), then TPE goes on.

Reported: the trained epochs (and wall seconds) each full search needed to reach the cold search's final best
validation accuracy (counted to the epoch, inside the trial that reached it), and the small search's cost on
top of the warm one. One seed unless --seeds says more.

    python benchmarks/warm_start.py --budget 90 --seeds 0 --out results/benchmarks
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]

# A small CNN space on MNIST-1D: a few seconds per trial on one core, so a 90-epoch search takes a few minutes.
SPACE: dict[str, Any] = {
    "dataset": {"name": "mnist1d", "split": {"val": 0.1, "seed": 0}},
    "objective": {"metric": "val_accuracy", "direction": "maximize"},
    "model": {"family": "cnn", "n_conv_blocks": {"low": 1, "high": 3},
              "conv_blocks": {"shared": ["activation"], "filters": {"low": 8, "high": 48, "log": True},
                              "kernel_size": {"choices": [3, 5, 7]}, "padding": "same",
                              "activation": {"choices": ["relu", "gelu"]}, "pool": {"choices": ["none", "max"]},
                              "pool_size": 2},
              "global_pool": {"choices": ["flatten", "avg"]}, "n_dense_blocks": 0},
    "training": {"optimizer": {"choices": ["adam", "sgd"]}, "lr": {"low": 1e-4, "high": 3e-2, "log": True},
                 "batch_size": {"choices": [32, 64, 128]}, "max_epochs": 10, "patience": 3},
    "search": {"sampler": "tpe", "pruner": "none", "startup_trials": 5},
}


def write(work: Path, name: str, subsample: int | None = None) -> Path:
    doc = {"name": name, **json.loads(json.dumps(SPACE))}
    if subsample:
        doc["dataset"]["subsample"] = subsample
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def trace(records: list[Any], metric: str) -> list[tuple[int, float, float]]:
    """(cumulative trained epochs, seconds, best-so-far value) after every epoch, in the order trials finished."""
    out, epochs, secs, best = [], 0, 0.0, float("-inf")
    for r in sorted(records, key=lambda r: (r.finished or 0, r.number)):
        per = r.seconds / max(1, r.epochs_run)
        for h in r.history[: r.epochs_run]:
            epochs, secs = epochs + 1, secs + per
            if isinstance(h.get(metric), (int, float)):
                best = max(best, float(h[metric]))
            out.append((epochs, round(secs, 2), best))
    return out


def reach(tr: list[tuple[int, float, float]], target: float) -> dict[str, Any]:
    hit = next(((e, s) for e, s, b in tr if b >= target - 1e-9), None)
    return {"epochs": hit[0] if hit else None, "seconds": hit[1] if hit else None,
            "final_best": tr[-1][2] if tr else None, "epochs_total": tr[-1][0] if tr else 0}


def one_seed(seed: int, budget: int, work: Path) -> dict[str, Any]:
    from automl.backends.prepare import start_search
    from automl.store.results import load_trials

    opts = {"root": work, "seed": seed, "workers": 1, "threads": 1, "max_total_epochs": budget}
    runs = {}
    t0 = time.time()
    runs["cold"] = start_search(write(work, f"cold{seed}"), **opts)
    t_cold = time.time() - t0
    t0 = time.time()
    # 1000 of the 5000 rows (20%); another seed, or its first (random) configs would be the cold search's own
    runs["small"] = start_search(write(work, f"small{seed}", subsample=1000), **{**opts, "seed": seed + 1000})
    t_small = time.time() - t0
    t0 = time.time()
    runs["warm"] = start_search(write(work, f"warm{seed}"), warm_start=[str(runs["small"].run_dir)],
                                warm_start_top=5, **opts)
    t_warm = time.time() - t0
    recs = {k: load_trials(v) for k, v in runs.items()}
    traces = {k: trace(v, "val_accuracy") for k, v in recs.items()}
    target = traces["cold"][-1][2]
    warm_seeded = [r for r in recs["warm"] if r.note]
    return {
        "seed": seed, "budget_epochs": budget, "target_val_accuracy": target,
        "cold": {**reach(traces["cold"], target), "trials": len(recs["cold"]), "search_seconds": round(t_cold, 1)},
        "warm": {**reach(traces["warm"], target), "trials": len(recs["warm"]), "search_seconds": round(t_warm, 1),
                 "seeded_trials": len(warm_seeded),
                 "seeded_best": max((r.value for r in warm_seeded if r.value is not None), default=None)},
        "small": {"epochs": traces["small"][-1][0] if traces["small"] else 0, "trials": len(recs["small"]),
                  "best_val_accuracy_on_subsample": traces["small"][-1][2] if traces["small"] else None,
                  "search_seconds": round(t_small, 1)},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--budget", type=int, default=90, help="--max-total-epochs of each search")
    ap.add_argument("--out", type=Path, default=None, help="write warm_start.json/.md here")
    args = ap.parse_args(argv)
    from automl.store.run import environment

    with tempfile.TemporaryDirectory() as work:
        rows = [one_seed(s, args.budget, Path(work)) for s in args.seeds]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    res = {"what": "epochs for a full MNIST-1D search to reach the cold search's final best validation accuracy, "
                   "cold vs warm-started from a 20% subsample search", "space": SPACE, "rows": rows,
           "commit": commit, "environment": environment()}
    lines = [f"# Warm start: {res['what']}", "",
             f"Each search: TPE, no pruner, 1 worker / 1 thread, `--max-total-epochs {args.budget}`; warm: the "
             "20% search's top 5 configs run first. Commit " + commit[:10] + f", {len(rows)} seed(s).", "",
             "| seed | target val acc | cold: epochs to target | cold s | warm: epochs to target | warm s | "
             "warm final best | 20% search epochs (~1/5 cost each) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        c, w, s = r["cold"], r["warm"], r["small"]
        lines.append(f"| {r['seed']} | {r['target_val_accuracy']:.4f} | {c['epochs']} | {c['seconds']} | "
                     f"{w['epochs'] if w['epochs'] is not None else 'not reached'} | {w['seconds']} | "
                     f"{w['final_best']:.4f} | {s['epochs']} |")
    def summary(key: str) -> str:
        got = [r[key]["epochs"] for r in rows if r[key]["epochs"] is not None]
        return (f"reached in {len(got)}/{len(rows)} seeds; epochs to target median {statistics.median(got):g}, "
                f"mean {statistics.fmean(got):.1f}" if got else f"reached in 0/{len(rows)} seeds")

    res["summary"] = {"cold": summary("cold"), "warm": summary("warm")}
    lines += ["", f"- cold: {res['summary']['cold']}", f"- warm: {res['summary']['warm']} (plus the 20% search, "
              "whose epochs cost about a fifth of a full-data epoch each)",
              "- seconds: summed training seconds of the trials up to that epoch (1 thread, shared 2-core machine)"]
    res["markdown"] = "\n".join(lines) + "\n"
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "warm_start.json").write_text(json.dumps(res, indent=2, default=str))
        (args.out / "warm_start.md").write_text(res["markdown"])
    print(res["markdown"])
    return res


if __name__ == "__main__":
    main()
