"""Per-trial overhead of the Ray Tune backend next to the Optuna backend, on the same tiny search.

Each configuration runs in a fresh Python process (so neither backend finds anything warm) and searches the
same space (wine, MLP, EPOCHS epochs, TPE, no early stopping) for N trials. Overhead per trial is

    (wall time of the search - sum of the trials' own training seconds) / N

where a trial's training seconds are `run_trial`'s wall time (model build + training + validation), as
recorded in the run's TrialRecords. For Ray the search wall time is shown twice: with the Ray start-up
(`ray.init` in the driver) and without it (the Tuner alone, with Ray already running), since a cluster runs
long before a search and pays the start-up once.

    python benchmarks/backend_overhead.py                 # 8 trials x 5 epochs, 1 and 2 at a time
    python benchmarks/backend_overhead.py --trials 16 --epochs 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

SPACE = """\
name: overhead
dataset: {{name: wine, split: {{train: 0.7, val: 0.15, test: 0.15, seed: 0}}}}
objective: {{metric: val_accuracy, direction: maximize}}
model:
  family: mlp
  n_dense_blocks: {{low: 1, high: 2}}
  dense_blocks:
    units: {{low: 8, high: 64, log: true}}
    activation: {{choices: [relu, tanh]}}
training:
  optimizer: {{choices: [adam, sgd]}}
  lr: {{low: 1.0e-3, high: 1.0e-1, log: true}}
  momentum: {{low: 0.5, high: 0.99, when: {{optimizer: sgd}}}}
  batch_size: 32
  max_epochs: {epochs}
  patience: 0
"""

CHILD = """
import json, os, sys, time
from pathlib import Path
cfg = json.loads(sys.argv[1])
root = Path(cfg["root"])
t_init = 0.0
if cfg["backend"] == "ray":
    import ray
    from automl.backends.prepare import start_search
    from automl.backends.ray.connection import connect
    from automl.backends.ray.settings import RaySettings
    t = time.perf_counter()
    connect(RaySettings(num_cpus=cfg["concurrency"]))
    t_init = time.perf_counter() - t
    t = time.perf_counter()
    info = start_search(cfg["space"], backend="ray", root=root, trials=cfg["trials"], scheduler="fifo", searcher="tpe",
                            max_concurrent=cfg["concurrency"], reuse_actors=cfg["reuse_actors"])
    wall = time.perf_counter() - t
    ray.shutdown()
else:
    from automl.backends.prepare import start_search
    t = time.perf_counter()
    info = start_search(cfg["space"], root=root, trials=cfg["trials"], sampler="tpe", pruner="none",
                        workers=cfg["concurrency"])
    wall = time.perf_counter() - t
from automl.store.results import load_trials
recs = load_trials(info)
print("RESULT " + json.dumps({"wall": wall, "init": t_init, "train": sum(r.seconds for r in recs),
                              "n": len(recs), "states": sorted({r.state for r in recs})}))
"""


def run_one(backend: str, concurrency: int, trials: int, epochs: int, reuse_actors: bool = True) -> dict:
    with tempfile.TemporaryDirectory(prefix="overhead_") as d:
        space = Path(d, "space.yaml")
        space.write_text(SPACE.format(epochs=epochs))
        cfg = {"backend": backend, "concurrency": concurrency, "trials": trials, "space": str(space),
               "root": str(Path(d, "results")), "reuse_actors": reuse_actors}
        env = {**os.environ, "RAY_TMPDIR": d} if backend == "ray" else dict(os.environ)
        p = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True, text=True, env=env,
                           timeout=900)
        line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            raise RuntimeError(f"{backend} run failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
        r = json.loads(line[len("RESULT "):])
    r.update(backend=backend, concurrency=concurrency, reuse_actors=reuse_actors)
    r["overhead_per_trial"] = (r["wall"] - r["train"]) / r["n"]  # Ray: the Tuner alone (Ray already up)
    r["overhead_per_trial_incl_init"] = (r["wall"] + r["init"] - r["train"]) / r["n"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-reuse-check", action="store_true", help="skip the Ray run with reuse_actors=False")
    ap.add_argument("--marginal", type=int, metavar="M", help="also run M trials (M > --trials) at concurrency 1 and "
                    "report the marginal overhead per extra trial (start-up costs cancel out)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    if args.marginal:
        for backend in ("optuna", "ray"):
            a = run_one(backend, 1, args.trials, args.epochs)
            b = run_one(backend, 1, args.marginal, args.epochs)
            extra = ((b["wall"] - b["train"]) - (a["wall"] - a["train"])) / (b["n"] - a["n"])
            rows.append({"backend": backend, "marginal_overhead_per_trial": extra, "small": a, "large": b})
            print(f"{backend:8s} marginal overhead per extra trial ({a['n']} -> {b['n']} trials, x1): {extra:.3f}s "
                  f"[walls {a['wall']:.1f}s / {b['wall']:.1f}s, training {a['train']:.1f}s / {b['train']:.1f}s]",
                  flush=True)
    for c in [] if args.marginal else args.concurrency:
        for backend in ("optuna", "ray"):
            rows.append(run_one(backend, c, args.trials, args.epochs))
            print(_fmt(rows[-1]), flush=True)
        if not args.no_reuse_check:
            rows.append(run_one("ray", c, args.trials, args.epochs, reuse_actors=False))
            print(_fmt(rows[-1]), flush=True)
    print(textwrap.dedent(f"""
        {args.trials} trials x {args.epochs} epochs (wine MLP, TPE, no early stopping), {os.cpu_count()} CPUs.
        overhead/trial = (search wall - sum of trial training seconds) / trials; Ray's with and without ray.init."""))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def _fmt(r: dict) -> str:
    name = r["backend"] + ("" if r["backend"] == "optuna" else f" reuse_actors={r['reuse_actors']}")
    incl = f", incl. ray.init {r['overhead_per_trial_incl_init']:.2f}s (init {r['init']:.1f}s)" if r["init"] else ""
    return (f"{name:28s} x{r['concurrency']}: wall {r['wall']:6.1f}s, training {r['train']:5.1f}s, "
            f"overhead/trial {r['overhead_per_trial']:.2f}s{incl}  [{r['n']} trials: {', '.join(r['states'])}]")


if __name__ == "__main__":
    t0 = time.time()
    main()
    print(f"benchmark took {time.time() - t0:.0f}s")
