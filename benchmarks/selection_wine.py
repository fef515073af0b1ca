"""Noise-aware winner vs the trial-number tie-break, on a 27-row validation split (wine, the tutorial's space).

For each search seed: one `automl search` (TPE + Hyperband, the space's 40 trials, 1 worker), then

* read 1: finalize with noise-aware selection (the default) -> its winner's test accuracy;
* read 2: finalize `--again --selection best` (the best validation value, ties broken by trial number).

Both winners are retrained with their trial's seed on the training split and scored on the same test split;
the second read is recorded in the run's ledger like any other (this script measures the *selection rule*,
not a model, so reading twice is the point). Also reports the linear baseline (logistic regression).

    python benchmarks/selection_wine.py --seeds 0 1 2 3 4 --out results/benchmarks

With `--jobs N`, seeds run side by side in spawned processes, each pinned to a CPU of its own (finalize uses every
core it may run on; unpinned, two seeds on 2 cores oversubscribed them and took 2x the CPU time). The rows equal
`--jobs 1`'s (checked on seeds 0-4, 2026-12-07, 2-core AMD EPYC): 50 s instead of 67 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "examples" / "wine_tutorial.yaml"


def run_seed(seed: int, work: Path, trials: int | None = None) -> dict:
    from automl.backends.prepare import start_search
    from automl.finalize import finalize_run

    info = start_search(SPACE, study=f"wine_seed{seed}", root=work, seed=seed, workers=1, threads=1, trials=trials)
    noise = finalize_run(info).data
    best = finalize_run(info, again=True, select=False).data
    acc = lambda rep: rep["best"]["test_metrics"]["accuracy"]  # noqa: E731
    return {"seed": seed, "n_val": noise["data"]["n_val"], "n_test": noise["data"]["n_test"],
            "complete": noise["budget"]["by_state"]["COMPLETE"],
            "noise_winner": noise["best"]["trial"], "noise_test_accuracy": acc(noise),
            "tiebreak_winner": best["best"]["trial"], "tiebreak_test_accuracy": acc(best),
            "linear_test_accuracy": next(b["test_metrics"]["accuracy"] for b in noise["baselines"] if b["name"] == "linear"),
            "why": noise["selection"].get("why"), "selection_seconds": noise["selection"].get("evidence", {}).get("seconds")}


def _pin_to_one_cpu(cpus: Any) -> None:
    """Pool initializer: each worker takes a CPU of its own, so finalize (which uses every core it may run on) and
    the search keep to one thread each and side-by-side seeds do not oversubscribe the machine."""
    if hasattr(os, "sched_setaffinity"):  # elsewhere (macOS, Windows) unpinned: finalize may oversubscribe
        os.sched_setaffinity(0, {cpus.get()})


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--trials", type=int, default=None, help="default: the space's 40")
    ap.add_argument("--out", type=Path, default=None, help="write selection_wine.json/.md here")
    ap.add_argument("--jobs", type=int, default=1, help="seeds side by side (one thread each; same rows as 1)")
    args = ap.parse_args(argv)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as work:
        if args.jobs <= 1 or len(args.seeds) <= 1:
            rows = [run_seed(s, Path(work), args.trials) for s in args.seeds]
        else:  # spawned children import this module by name: its folder on their path (and the repo's, for automl);
            # spawn hands them this process's sys.path (PYTHONPATH would be overridden by it)
            here = str(Path(__file__).resolve().parent)
            added = [p for p in (here, str(ROOT)) if p not in sys.path]
            sys.path[:0] = added
            try:
                ctx = multiprocessing.get_context("spawn")
                usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
                n = min(args.jobs, len(args.seeds), len(usable) if usable else args.jobs)
                if n < args.jobs:
                    print(f"--jobs {args.jobs}: {n} side by side ({len(usable or [])} usable CPUs, "
                          f"{len(args.seeds)} seeds)")
                cpus = ctx.Queue()
                for cpu in (usable or [])[:n]:
                    cpus.put(cpu)
                with ProcessPoolExecutor(n, mp_context=ctx, initializer=_pin_to_one_cpu, initargs=(cpus,)) as pool:
                    rows = list(pool.map(run_seed, args.seeds, [Path(work)] * len(args.seeds),
                                         [args.trials] * len(args.seeds)))
            finally:
                for p in added:
                    sys.path.remove(p)
    res = {"what": "test accuracy of the noise-aware winner vs the trial-number tie-break (wine, tutorial space)",
           "space": str(SPACE.relative_to(ROOT)), "seeds": args.seeds, "rows": rows,
           "noise_mean": statistics.fmean(r["noise_test_accuracy"] for r in rows),
           "tiebreak_mean": statistics.fmean(r["tiebreak_test_accuracy"] for r in rows),
           "linear_mean": statistics.fmean(r["linear_test_accuracy"] for r in rows),
           "seconds": round(time.time() - t0, 1), "machine": platform.processor() or platform.machine()}
    lines = [f"# {res['what']}", "", "| seed | complete | noise winner | test acc | tie-break winner | test acc | linear |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['seed']} | {r['complete']} | #{r['noise_winner']} | {r['noise_test_accuracy']:.4f} | "
                     f"#{r['tiebreak_winner']} | {r['tiebreak_test_accuracy']:.4f} | {r['linear_test_accuracy']:.4f} |")
    lines += [f"| mean | | | **{res['noise_mean']:.4f}** | | **{res['tiebreak_mean']:.4f}** | {res['linear_mean']:.4f} |",
              "", f"{len(rows)} searches, {res['seconds']} s in all."]
    res["markdown"] = "\n".join(lines)
    print(res["markdown"])
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "selection_wine.json").write_text(json.dumps(res, indent=2))
        (args.out / "selection_wine.md").write_text(res["markdown"] + "\n")
    return res


if __name__ == "__main__":
    main()
