"""Per-trial overhead of the Ray Tune backend next to the Optuna backend, on the same tiny search.

Each configuration runs in a fresh Python process (so neither backend finds anything warm) and searches the
same space (wine, MLP, EPOCHS epochs, TPE, no early stopping) for N trials. Overhead per trial is

    (wall time of the search - sum of the trials' own training seconds) / N

where a trial's training seconds are `run_trial`'s wall time (model build + training + validation), as
recorded in the run's TrialRecords. For Ray the search wall time is shown twice: with the Ray start-up
(`ray.init` in the driver) and without it (the Tuner alone, with Ray already running), since a cluster runs
long before a search and pays the start-up once. Both backends' figures are also given with the driver's start
apart (start_search's preparation before the backend runs: imports, dataset, run dir, the same for both):
"backend overhead/trial" is what the backend adds, its own start-up (for Ray: the Tuner and the first trial
actor) spread over the N trials.

`--breakdown` (Ray, one trial at a time) says where that goes: the search start-up split into its steps, then per
trial the driver's gap between trials, the function's setup, the per-epoch `tune.report` round trips and the
final row, next to training proper.

    python benchmarks/backend_overhead.py                 # 8 trials x 5 epochs, 1 and 2 at a time
    python benchmarks/backend_overhead.py --trials 16 --epochs 3 --json out.json
    python benchmarks/backend_overhead.py --breakdown --trials 8 --epochs 5
"""

from __future__ import annotations

import argparse
import itertools
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
t_init, marks = 0.0, {}
from automl.backends.base import BACKENDS
from automl.backends.prepare import start_search


def mark_run(cls):  # when the backend starts searching (after start_search's preparation: imports, data, run dir)
    run0 = cls.run
    def run(self, job, **kw):
        marks.setdefault("run", time.time())
        return run0(self, job, **kw)
    cls.run = run


if cfg["backend"] == "ray":
    import ray
    from automl.backends.ray.connection import connect
    from automl.backends.ray.settings import RaySettings
    t = time.perf_counter()
    connect(RaySettings(num_cpus=cfg["concurrency"]))
    t_init = time.perf_counter() - t
    from ray import tune as _tune
    from automl.backends.ray import experiment, ledger as _ledger
    mark_run(experiment.RayBackend)
    fit1 = _tune.Tuner.fit
    def fit(self):
        marks.setdefault("fit", time.time())
        return fit1(self)
    _tune.Tuner.fit = fit
    _ledger.Ledger.on_trial_start = lambda self, iteration, trials, trial, **i: marks.setdefault("trial_start", time.time())
    t, t_start = time.perf_counter(), time.time()
    info = start_search(cfg["space"], backend="ray", root=root, trials=cfg["trials"], scheduler="fifo", searcher="tpe",
                            max_concurrent=cfg["concurrency"], reuse_actors=cfg["reuse_actors"])
    wall, t_end = time.perf_counter() - t, time.time()
    ray.shutdown()
else:
    from automl.backends.optuna.workers import OptunaBackend
    mark_run(OptunaBackend)
    t, t_start = time.perf_counter(), time.time()
    info = start_search(cfg["space"], root=root, trials=cfg["trials"], sampler="tpe", pruner="none",
                        workers=cfg["concurrency"])
    wall, t_end = time.perf_counter() - t, time.time()
from automl.store.results import load_trials
recs = load_trials(info)
timeline = []
if cfg["backend"] == "ray":  # each trial's final row: when its function started and ended, its parts
    for f in sorted((info.run_dir / "tune").glob("trial_*/result.json")):
        rows = [json.loads(ln) for ln in f.read_text().splitlines() if ln.strip()]
        fin = next((r for r in rows if r.get("automl_kind") == "final"), None)
        if fin:
            timeline.append({k: fin.get(k) for k in ("number", "trial_start", "t", "seconds", "report_s", "setup_s",
                                                    "pid", "entered", "process_start")})
print("RESULT " + json.dumps({"wall": wall, "init": t_init, "train": sum(r.seconds for r in recs),
                              "n": len(recs), "states": sorted({r.state for r in recs}), "t_start": t_start,
                              "t_end": t_end, "t_run": marks.get("run"), "marks": marks, "timeline": timeline}))
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
    # the driver's start (start_search's preparation before the backend runs: imports, data, run dir; as for
    # Optuna) apart: what the backend itself adds per trial, its own start-up (Tuner, first actor) included
    r["driver_start_s"] = (r["t_run"] - r["t_start"]) if r.get("t_run") else None
    r["backend_overhead_per_trial"] = ((r["t_end"] - r["t_run"] - r["train"]) / r["n"]) if r.get("t_run") else None
    return r


def breakdown(r: dict) -> dict:
    """Where a Ray search's time went, from its trials' final rows (one trial at a time): the search start-up
    (Tuner setup and the first trial actor's process start, up to the first trial's function), per trial the
    gap between one trial's last report and the next one's function (the driver: result processing, ledger,
    searcher, trial start, actor reuse), the function's setup before `run_trial`, the per-epoch `tune.report`
    round trips (inside run_trial's seconds), training proper, and the tail after the last trial."""
    tl = sorted(r.get("timeline") or [], key=lambda x: x["trial_start"])
    if not tl:
        return {}
    n = len(tl)
    gaps = [b["trial_start"] - a["t"] for a, b in itertools.pairwise(tl)]
    report = sum(x.get("report_s") or 0 for x in tl)
    setup = sum(x.get("setup_s") or 0 for x in tl)
    train = sum(x["seconds"] for x in tl) - report
    startup = tl[0]["trial_start"] - r["t_start"]
    first = tl[0]
    marks = r.get("marks") or {}
    t_run = r.get("t_run") or r["t_start"]
    t_fit = marks.get("fit", t_run)
    t_trial = marks.get("trial_start", t_fit)  # Tune started the first trial (its actor is being set up)
    parts = {"prepare_s": t_run - r["t_start"],  # start_search: imports, space, data, run dir (as Optuna's)
             "backend_setup_s": t_fit - t_run,  # searcher, trainable (object store), callbacks
             "tuner_to_first_trial_s": t_trial - t_fit,  # Tune's setup until it starts trial 0
             "trial_start_to_function_s": first["entered"] - t_trial,  # actor + trainable deserialized + setup
             "first_imports_s": first["trial_start"] - first["entered"],
             "worker_process_age_at_trial_start_s": t_trial - (first.get("process_start") or t_trial)}
    tail = r["t_end"] - tl[-1]["t"]
    # the rest of each trial's function: TrialResult, the final row's report
    func = sum(x["t"] - x["trial_start"] for x in tl) - setup - train - report
    per = {"between_trials_s": sum(gaps) / n, "trainable_setup_s": setup / n, "epoch_reports_s": report / n,
           "final_row_s": func / n, "training_s": train / n}
    per["overhead_s"] = sum(v for k, v in per.items() if k != "training_s")
    return {"trials": n, "search_startup_s": startup, "startup_parts": parts, "tail_s": tail, "per_trial": per,
            "actor_pids": sorted({x.get("pid") for x in tl})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-reuse-check", action="store_true", help="skip the Ray run with reuse_actors=False")
    ap.add_argument("--marginal", type=int, metavar="M", help="also run M trials (M > --trials) at concurrency 1 and "
                    "report the marginal overhead per extra trial (start-up costs cancel out)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--summary", action="store_true", help="write the Ray figures (concurrency 1) into "
                    "results/benchmarks/summary.json's `overhead` key (the Optuna figure there comes from run.py)")
    ap.add_argument("--breakdown", action="store_true", help="Ray only, one trial at a time: where each trial's "
                    "time goes (search start-up, driver between trials, setup, per-epoch reports, training)")
    args = ap.parse_args()
    rows = []
    if args.breakdown:
        r = run_one("ray", 1, args.trials, args.epochs)
        r["breakdown"] = breakdown(r)
        print(_fmt(r))
        b = r["breakdown"]
        print(f"search start-up (Tuner + first actor, Ray running) {b['search_startup_s']:.2f}s, tail {b['tail_s']:.2f}s; "
              f"actor processes {len(b['actor_pids'])}")
        for k, v in b["startup_parts"].items():
            print(f"  start-up {k:22s} {v:7.3f}s")
        for k, v in b["per_trial"].items():
            print(f"  per trial {k:20s} {v:7.3f}s")
        steady = b["per_trial"]["overhead_s"]
        print(f"steady overhead per trial {steady:.3f}s = {10 * steady:.2f}% of a 10 s trial; with start-up and tail "
              f"spread over {b['trials']} trials: {steady + (b['search_startup_s'] + b['tail_s']) / b['trials']:.3f}s")
        if args.json:
            args.json.write_text(json.dumps(r, indent=2))
        return
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
    if args.summary:
        write_summary(rows, args)


def write_summary(rows: list[dict], args: argparse.Namespace) -> None:
    """Ray's overhead per trial at one trial at a time, driver start (and ray.init) excluded and given apart."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import summary

    one = {r["backend"]: r for r in rows if r["concurrency"] == 1 and r.get("reuse_actors", True)}
    ray, opt = one.get("ray"), one.get("optuna")
    if not ray or ray.get("backend_overhead_per_trial") is None:
        return
    prov = summary.provenance()
    doc = summary.load().get("overhead") or {}
    cmd = "python benchmarks/backend_overhead.py " + " ".join(sys.argv[1:])
    pct = 10 * ray["backend_overhead_per_trial"]
    doc.update(ray_pct=round(pct, 3), ray_pct_incl_ray_init=round(10 * ray["overhead_per_trial_incl_init"], 3),
               ray_driver_start_s=ray.get("driver_start_s"), ray_init_s=ray["init"],
               ray_optuna_same_search_pct=None if not opt or opt.get("backend_overhead_per_trial") is None
               else round(10 * opt["backend_overhead_per_trial"], 3),
               ray_target_pct=summary.TARGETS["ray_pct"], ray_met=pct <= summary.TARGETS["ray_pct"],
               ray_command=cmd, ray_date=prov["date"], ray_commit=prov["commit"],
               ray_hardware={**prov["hardware"], "load_average_at_start": list(os.getloadavg())},
               ray_what=f"{args.trials} trials x {args.epochs} epochs (wine MLP), one at a time, fresh process: (search "
                        "wall - driver start - the trials' training seconds) / trials, as % of a 10 s trial")
    summary.update("overhead", doc)


def _fmt(r: dict) -> str:
    name = r["backend"] + ("" if r["backend"] == "optuna" else f" reuse_actors={r['reuse_actors']}")
    incl = f", incl. ray.init {r['overhead_per_trial_incl_init']:.2f}s (init {r['init']:.1f}s)" if r["init"] else ""
    own = (f"; driver start {r['driver_start_s']:.1f}s apart: backend overhead/trial {r['backend_overhead_per_trial']:.3f}s "
           f"= {10 * r['backend_overhead_per_trial']:.2f}% of a 10 s trial" if r.get("backend_overhead_per_trial") is not None else "")
    return (f"{name:28s} x{r['concurrency']}: wall {r['wall']:6.1f}s, training {r['train']:5.1f}s, "
            f"overhead/trial {r['overhead_per_trial']:.2f}s{incl}{own}  [{r['n']} trials: {', '.join(r['states'])}]")


if __name__ == "__main__":
    t0 = time.time()
    main()
    print(f"benchmark took {time.time() - t0:.0f}s")
