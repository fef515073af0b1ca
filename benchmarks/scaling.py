"""Trials/hour of the Optuna backend with 1 vs 2 workers, end to end, and where each trial's time goes.

Each configuration is one `start_search` in a fresh Python process (the driver), timed from the call to its
return: worker start-up, data loading, every trial and the last trial in flight at the deadline all count. The
search is a `--minutes`-long time budget on MNIST-1D with one fixed mid-sized CNN (benchmarks/run.py's
FIXED_MODEL), so every trial costs the same; only the learning rate is sampled (TPE), so the sampler and the
storage work as in a real search. Torch threads per worker follow the backend's default (cores // workers)
unless `--threads` is given. SQLite storage, no pruner.

Per trial, the time is split into (summed over all processes, divided by the trials finished):
    sample    the Optuna trial's suggestions (TPE reading the study), config
    build     model construction
    train     the training phase of every epoch (run_trial's train() minus validation and reporting)
    validate  per-epoch validation
    report    per-epoch storage writes and pruning checks (trial.report / should_prune)
    store     ask + user attrs + tell (the trial's rows in the storage), the budget check after each trial
    other     the rest of the trial's wall time in its worker (Python between the parts)
plus, per run, each process's start-up (process start -> its first trial) and the driver's polling of the
storage for progress lines. The timers are installed by a `sitecustomize` module this script puts first on the
PYTHONPATH of the runs (drivers and the workers they start), so the code measured is the code shipped.

    python benchmarks/scaling.py                      # 5-minute searches, 1 and 2 workers
    python benchmarks/scaling.py --quick              # 1-minute searches (a smoke test of the script)
    python benchmarks/scaling.py --minutes 5 --workers 1 2 --epochs 3 --out results/benchmarks/scaling
    python benchmarks/scaling.py --from-json          # rewrite scaling.md and the summary key from scaling.json

Writes OUT.json and OUT.md (default results/benchmarks/scaling.{json,md}); records the load average, since a
busy machine changes every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = 1.8

FIXED_MODEL = {  # as benchmarks/run.py's overhead and scaling sections
    "family": "cnn", "n_conv_blocks": 3,
    "conv_blocks": {"filters": 32, "kernel_size": 5, "padding": "same", "activation": "relu", "pool": "max",
                    "pool_size": 2},
    "global_pool": "flatten", "n_dense_blocks": 1, "dense_blocks": {"units": 64, "activation": "relu"},
}

# Installed in every process of a run (driver and workers): wraps the phases with timers, dumps them at exit.
SITECUSTOMIZE = r'''
import atexit, json, os, time
_DIR = os.environ.get("AUTOML_SCALING_PROF")
if _DIR:
    T = {"pid": os.getpid(), "t_process": None, "t_ready": None, "first_ask": None, "phases": {}, "trials": 0,
         "trial_wall": 0.0}
    try:
        import psutil
        T["t_process"] = psutil.Process().create_time()
    except Exception:
        pass

    def _add(k, dt):
        T["phases"][k] = T["phases"].get(k, 0.0) + dt

    def _timed(k, f):
        def w(*a, **kw):
            t = time.perf_counter()
            try:
                return f(*a, **kw)
            finally:
                _add(k, time.perf_counter() - t)
        w.__wrapped__ = f
        return w

    def _dump():
        with open(os.path.join(_DIR, f"{os.getpid()}.json"), "w") as fh:
            json.dump(T, fh)

    atexit.register(_dump)

    def _install():
        import optuna
        import optuna.study._optimize as opt
        import automl.backends.optuna.objective as ob
        import automl.trial.run as run

        ob.sample = _timed("sample", ob.sample)
        run.build_model = _timed("build", run.build_model)
        train0 = run.train
        def train(*a, **kw):
            t = time.perf_counter()
            res = train0(*a, **kw)
            dt = time.perf_counter() - t
            _add("validate", res.eval_seconds)
            _add("train_total", dt)
            return res
        run.train = train
        ob.OptunaReporter.report = _timed("report", ob.OptunaReporter.report)
        optuna.trial.Trial.set_user_attr = _timed("attrs", optuna.trial.Trial.set_user_attr)
        opt._tell_with_warning = _timed("store", opt._tell_with_warning)
        ask0 = optuna.study.Study.ask
        def ask(self, *a, **kw):
            if T["first_ask"] is None:
                T["first_ask"] = time.time()
            t = time.perf_counter()
            try:
                return ask0(self, *a, **kw)
            finally:
                _add("store", time.perf_counter() - t)
        optuna.study.Study.ask = ask
        ob.BudgetCallback.__call__ = _timed("store", ob.BudgetCallback.__call__)
        call0 = ob.Objective.__call__
        def call(self, trial):
            t = time.perf_counter()
            try:
                return call0(self, trial)
            finally:
                T["trials"] += 1
                T["trial_wall"] += time.perf_counter() - t
        ob.Objective.__call__ = call
        get0 = optuna.study.Study.get_trials
        def get_trials(self, *a, **kw):
            t = time.perf_counter()
            try:
                return get0(self, *a, **kw)
            finally:
                _add("get_trials", time.perf_counter() - t)
        optuna.study.Study.get_trials = get_trials
        T["t_ready"] = time.time()

    _install()
'''

CHILD = r'''
import json, os, sys, time
cfg = json.loads(sys.argv[1])
from automl.backends.prepare import start_search
from automl.store.results import load_trials
t0, w0 = time.time(), time.perf_counter()
kw = {"threads": cfg["threads"]} if cfg["threads"] else {}
from pathlib import Path
info = start_search(cfg["space"], root=Path(cfg["root"]), study=f"scaling_w{cfg['workers']}", sampler="tpe", pruner="none",
                    timeout=cfg["timeout"], trials=None, seed=0, workers=cfg["workers"], storage=None, **kw)
wall = time.perf_counter() - w0
recs = load_trials(info)
print("RESULT " + json.dumps({"wall": wall, "t0": t0, "t1": t0 + wall, "pid": os.getpid(), "records": [
    {"n": r.number, "state": r.state, "started": r.started, "finished": r.finished, "seconds": r.seconds,
     "worker": r.worker, "threads": r.threads} for r in recs]}))
'''


def write_space(folder: Path, epochs: int) -> Path:
    doc = {
        "name": "scaling", "dataset": {"name": "mnist1d", "split": {"val": 0.1, "seed": 0}}, "task": "multiclass",
        "objective": {"metric": "val_accuracy", "direction": "maximize"}, "model": FIXED_MODEL,
        "training": {"optimizer": "adam", "lr": {"low": 1e-4, "high": 1e-2, "log": True}, "batch_size": 64,
                     "max_epochs": int(epochs), "patience": 0},
        "search": {"sampler": "tpe", "pruner": "none", "seed": 0},
    }
    path = folder / "scaling.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_one(workers: int, minutes: float, epochs: int, threads: int | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="scaling_") as d:
        d = Path(d)
        (d / "site").mkdir()
        (d / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        prof = d / "prof"
        prof.mkdir()
        space = write_space(d, epochs)
        cfg = {"space": str(space), "root": str(d / "results"), "workers": workers, "timeout": minutes * 60,
               "threads": threads}
        env = {**os.environ, "AUTOML_SCALING_PROF": str(prof),
               "PYTHONPATH": os.pathsep.join(p for p in (str(d / "site"), str(ROOT), os.environ.get("PYTHONPATH")) if p)}
        load0 = os.getloadavg()
        p = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True, text=True, env=env,
                           timeout=minutes * 60 + 900, cwd=str(ROOT))
        load1 = os.getloadavg()
        line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            raise RuntimeError(f"{workers}-worker run failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
        r = json.loads(line[len("RESULT "):])
        procs = [json.loads(f.read_text()) for f in prof.glob("*.json")]
    return summarize(r, procs, workers, minutes, epochs, threads, load0, load1)


def summarize(r: dict, procs: list[dict], workers: int, minutes: float, epochs: int, threads: int | None,
              load0: tuple, load1: tuple) -> dict[str, Any]:
    recs = r["records"]
    done = [x for x in recs if x["state"] == "COMPLETE"]
    n = len(done)
    fin = sorted(x["finished"] for x in done if x["finished"])
    # steady state: trials finished after the first one, over the time from the first to the last finish
    steady = (len(fin) - 1) * 3600 / (fin[-1] - fin[0]) if len(fin) > 2 and fin[-1] > fin[0] else None
    trainers = [p for p in procs if p["trials"]]
    driver = next((p for p in procs if p["pid"] == r["pid"]), None)
    ph: dict[str, float] = {}
    wall_in_trials = 0.0
    for p in trainers:
        for k, v in p["phases"].items():
            if k != "get_trials":
                ph[k] = ph.get(k, 0.0) + v
        wall_in_trials += p["trial_wall"]
    trials_run = sum(p["trials"] for p in trainers) or 1
    parts = {
        "sample": ph.get("sample", 0.0), "build": ph.get("build", 0.0),
        "train": ph.get("train_total", 0.0) - ph.get("validate", 0.0) - ph.get("report", 0.0),
        "validate": ph.get("validate", 0.0), "report": ph.get("report", 0.0),
        "store": ph.get("store", 0.0) + ph.get("attrs", 0.0),
    }
    # inside the objective: sample, build, train, validate, report, the user attrs; the rest of its wall is "other"
    inside = sum(parts[k] for k in ("sample", "build", "train", "validate", "report")) + ph.get("attrs", 0.0)
    parts["other"] = max(0.0, wall_in_trials - inside)
    per_trial = {k: round(v / trials_run, 4) for k, v in parts.items()}
    startup = {str(p["pid"]): round((p["first_ask"] or 0) - (p["t_process"] or r["t0"]), 3)
               for p in trainers if p["first_ask"]}
    poll = driver["phases"].get("get_trials", 0.0) if driver and driver not in trainers else None
    return {
        "workers": workers, "minutes": minutes, "epochs_per_trial": epochs, "threads_arg": threads,
        "torch_threads": sorted({x["threads"] for x in done if x.get("threads")}),
        "wall_s": round(r["wall"], 2), "completed": n, "trials_run": trials_run,
        "states": {s: sum(x["state"] == s for x in recs) for s in sorted({x["state"] for x in recs})},
        "trials_per_hour": round(n * 3600 / r["wall"], 1),
        "trials_per_hour_steady": round(steady, 1) if steady else None,
        "mean_trial_s": round(sum(x["seconds"] for x in done) / n, 3) if n else None,
        "per_trial_s": per_trial, "process_startup_s": startup,
        "first_trial_after_s": round(min((p["first_ask"] for p in trainers if p["first_ask"]), default=r["t0"]) - r["t0"], 3),
        "driver_poll_s": round(poll, 3) if poll is not None else None,
        "trainer_processes": len(trainers), "loadavg_before": [round(x, 2) for x in load0],
        "loadavg_after": [round(x, 2) for x in load1],
    }


CALIBRATE = r'''
import json, sys, time
from automl.data import load_dataset
from automl.space import load_space, RandomSuggest, sample
from automl.training import set_num_threads
from automl.trial import run_trial
space = load_space(sys.argv[1])
ds = load_dataset(space.dataset, base_dir=space.base_dir).for_search()
cfg = sample(space.space, RandomSuggest(0)).config
out = {}
for rep in range(int(sys.argv[2])):
    for threads in (1, 2):
        set_num_threads(threads)
        t = time.perf_counter()
        run_trial(cfg, ds, objective_metric="val_accuracy", direction="maximize", max_epochs=1, seed=0)
        out.setdefault(threads, []).append(time.perf_counter() - t)
print("RESULT " + json.dumps({str(k): min(v) for k, v in out.items()}))
'''


def calibrate(epochs: int, repeats: int = 3) -> dict[str, Any]:
    """One epoch of the fixed model at 1 and at 2 torch threads (best of `repeats`, interleaved), in one
    process: how much faster a single worker's two threads train than one. With speed-up S, two 1-thread workers
    can reach at most 2/S times the trials/hour of one 2-thread worker, whatever the backend does."""
    with tempfile.TemporaryDirectory(prefix="scaling_cal_") as d:
        space = write_space(Path(d), epochs)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
        load0 = os.getloadavg()
        p = subprocess.run([sys.executable, "-c", CALIBRATE, str(space), str(repeats)], capture_output=True, text=True,
                           env=env, timeout=900, cwd=str(ROOT))
        line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            raise RuntimeError(f"calibration failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
        t = json.loads(line[len("RESULT "):])
    speedup = t["1"] / t["2"]
    return {"epoch_s_1_thread": round(t["1"], 3), "epoch_s_2_threads": round(t["2"], 3),
            "speedup_2_threads": round(speedup, 3), "ceiling_ratio": round(2 / speedup, 3),
            "loadavg": [round(x, 2) for x in load0]}


def markdown(out: dict[str, Any]) -> str:
    runs = out["runs"]
    lines = [f"# Scaling: trials/hour with 1 vs 2 Optuna workers ({out['minutes']:g}-minute searches)", "",
             f"{out['when']}; {out['cpus']} CPUs; {out['python']}; commit {out['commit']}.",
             f"Command: `{out['command']}`", "",
             f"Search: MNIST-1D, fixed CNN ({out['epochs']} epochs per trial, no early stopping), lr sampled by TPE, "
             "SQLite, time budget; end to end = start_search wall in a fresh driver process (worker start-up, data "
             "loading and the trials in flight at the deadline included).", "",
             "| workers | torch threads | trials | wall s | trials/hour | steady trials/hour | load avg (1 min) before/after |",
             "|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['workers']} | {', '.join(map(str, r['torch_threads']))} | {r['completed']} | {r['wall_s']} | "
                     f"{r['trials_per_hour']} | {r['trials_per_hour_steady']} | {r['loadavg_before'][0]} / {r['loadavg_after'][0]} |")
    if out.get("ratio") is not None:
        met = "met" if out["ratio"] >= TARGET else "**not met**"
        lines += ["", f"**Ratio 2 workers / 1 worker: {out['ratio']}x end to end** (steady state {out['ratio_steady']}x); "
                      f"target >= {TARGET}x: {met}."]
    lines += ["", "Per trial (seconds, summed over the processes that ran trials, divided by the trials they ran):", "",
              "| workers | sample | build | train | validate | report | store | other | process start-up -> first trial | driver polling s |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        p = r["per_trial_s"]
        lines.append(f"| {r['workers']} | {p['sample']} | {p['build']} | {p['train']} | {p['validate']} | {p['report']} | "
                     f"{p['store']} | {p['other']} | {', '.join(f'{v:g}' for v in r['process_startup_s'].values())} | "
                     f"{r['driver_poll_s'] if r['driver_poll_s'] is not None else '-'} |")
    cal = out.get("calibration")
    if cal:
        lines += ["", f"Calibration (one process, one epoch of the same model, best of 3): {cal['epoch_s_1_thread']} s at 1 "
                      f"torch thread, {cal['epoch_s_2_threads']} s at 2: the single worker's two threads train "
                      f"{cal['speedup_2_threads']}x faster than one, so two 1-thread workers can reach at most "
                      f"**{cal['ceiling_ratio']}x** its trials/hour (backend overheads and start-up count on top). "
                      f"Load average {cal['loadavg'][0]}."]
        by = {r["workers"]: r for r in runs}
        if 1 in by and 2 in by and by[1]["per_trial_s"]["train"] and by[2]["per_trial_s"]["train"]:
            eff = by[2]["per_trial_s"]["train"] / by[1]["per_trial_s"]["train"]
            lines += ["", f"In the searches themselves the single worker's trials trained in {by[1]['per_trial_s']['train']} s "
                          f"(2 threads) and the 2-worker trials in {by[2]['per_trial_s']['train']} s (1 thread each): "
                          f"there the two threads were {eff:.3f}x as fast as one, not the calibration's "
                          f"{cal['speedup_2_threads']}x, so the bound that applies to these runs is about "
                          f"{2 / eff:.2f}x. The calibration is a best of 3 with nothing else running; in a search "
                          "the driver, the storage and the other process's work interrupt a thread, and torch's "
                          "two intra-op threads wait for each other at every operation."]
    lines += ["", "Load average matters: on a machine shared with other jobs every figure above is distorted, the "
                  "ratio most of all (torch's threads wait for each other when the cores are taken: two threads can "
                  "train far slower than one, which inflates the ratio). Only a quiet machine's run is the figure."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0, help="time budget of each search (default 5)")
    ap.add_argument("--quick", action="store_true", help="1-minute searches (checks the script, not the figure)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--epochs", type=int, default=3, help="epochs per trial (default 3: trials of a few seconds)")
    ap.add_argument("--threads", type=int, help="torch threads per worker (default: cores // workers)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks" / "scaling",
                    help="writes OUT.json and OUT.md")
    ap.add_argument("--no-calibrate", action="store_true", help="skip the 1- vs 2-thread epoch timing")
    ap.add_argument("--from-json", action="store_true",
                    help="run nothing: rewrite OUT.md (and the summary key) from an existing OUT.json")
    args = ap.parse_args()
    default = ROOT / "results" / "benchmarks" / "scaling"
    if args.from_json:
        out = json.loads(args.out.with_suffix(".json").read_text())
        args.out.with_suffix(".md").write_text(markdown(out))
        print(f"rewrote {args.out.with_suffix('.md')}")
        if out["ratio"] is not None and args.out.resolve() == default.resolve():
            update_summary(out)
        return
    minutes = 1.0 if args.quick else args.minutes
    cal = None if args.no_calibrate else calibrate(args.epochs)
    if cal:
        print(f"calibration: epoch {cal['epoch_s_1_thread']}s at 1 thread, {cal['epoch_s_2_threads']}s at 2 "
              f"(speed-up {cal['speedup_2_threads']}x): ceiling for 2 workers / 1 worker {cal['ceiling_ratio']}x", flush=True)
    runs = []
    for w in args.workers:
        r = run_one(w, minutes, args.epochs, args.threads)
        runs.append(r)
        print(f"{w} worker(s): {r['completed']} trials in {r['wall_s']}s = {r['trials_per_hour']}/h "
              f"(steady {r['trials_per_hour_steady']}/h), threads {r['torch_threads']}, per trial {r['per_trial_s']}, "
              f"start-up {r['process_startup_s']}, load {r['loadavg_before'][0]} -> {r['loadavg_after'][0]}", flush=True)
    by = {r["workers"]: r for r in runs}
    ratio = ratio_steady = None
    if 1 in by and 2 in by:
        ratio = round(by[2]["trials_per_hour"] / by[1]["trials_per_hour"], 3)
        if by[1]["trials_per_hour_steady"] and by[2]["trials_per_hour_steady"]:
            ratio_steady = round(by[2]["trials_per_hour_steady"] / by[1]["trials_per_hour_steady"], 3)
        print(f"ratio 2/1 workers: {ratio}x end to end, {ratio_steady}x steady state (target >= {TARGET}x)")
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    except OSError:
        commit = "?"
    sys.path.insert(0, str(HERE))
    import summary

    out = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "cpus": os.cpu_count(), "cpu": summary.hardware()["cpu"],
           "python": platform.python_version(),
           "commit": commit, "command": "python " + " ".join([str(Path(sys.argv[0])), *sys.argv[1:]]),
           "minutes": minutes, "epochs": args.epochs, "calibration": cal, "runs": runs, "ratio": ratio,
           "ratio_steady": ratio_steady, "target": TARGET}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(out, indent=2))
    args.out.with_suffix(".md").write_text(markdown(out))
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")
    if ratio is not None and not args.quick and args.out.resolve() == default.resolve():
        update_summary(out)


def other_runs(folder: Path = ROOT / "results" / "benchmarks") -> list[dict[str, Any]]:
    """The earlier full runs kept beside scaling.json (scaling_<label>.json: another machine, or an earlier run on
    this one), so that the summary shows every committed measurement, not only the last."""
    found = []
    for f in sorted(folder.glob("scaling_*.json")):
        o = json.loads(f.read_text())
        if o.get("ratio") is None:
            continue
        found.append({"label": f.stem.removeprefix("scaling_"), "cpu": o.get("cpu"), "date": o.get("when"),
                      "two_vs_one": o["ratio"], "two_vs_one_steady": o.get("ratio_steady"),
                      "source": str(f.relative_to(ROOT))})
    return found


def update_summary(out: dict[str, Any]) -> None:
    """Set the `scaling` key of results/benchmarks/summary.json from a default-location run."""
    sys.path.insert(0, str(HERE))
    import summary

    ratio, cal, runs, hw = out["ratio"], out["calibration"], out["runs"], summary.hardware()
    summary.update("scaling", {
        "two_vs_one": ratio, "two_vs_one_steady": out["ratio_steady"], "target": TARGET, "met": ratio >= TARGET,
        "what": f"trials/hour of {out['minutes']:g}-minute Optuna searches (fixed CNN, lr by TPE, SQLite), 2 workers / 1 "
                "worker, end to end: worker start-up, data loading and the trial in flight at the deadline count",
        "ceiling_from_threads": (cal or {}).get("ceiling_ratio"), "command": out["command"], "commit": out["commit"],
        "date": out["when"], "source": "results/benchmarks/scaling.json", "other_runs": other_runs(),
        "hardware": {**hw, "cpu": out.get("cpu") or hw["cpu"],
                     "load_average": [r["loadavg_before"] for r in runs]}})

if __name__ == "__main__":
    main()
