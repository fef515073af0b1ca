"""automl benchmarks in one command: search efficiency, overhead, scaling, accuracy against published numbers.

    python benchmarks/run.py --mode quick     # <= 15 min on 2 CPU cores; results/benchmarks/benchmarks.{json,md}
    python benchmarks/run.py --mode full      # more seeds and epochs (hours)
    python benchmarks/run.py --mode smoke --out /tmp/bench_smoke   # a dry run of every code path (minutes)

Sections (every ratio is measured side by side in the same run; see benchmarks/README.md):
  1. search efficiency on search_spaces/mnist1d_cnn.yaml: automl's default (TPE + hyperband), random search
     without pruning, a hand-written Optuna script and a hand-written Ray Tune script (ASHA), each over the
     same seeds with the same budget in training epochs. Trajectories per trial: cumulative epochs, wall time,
     best validation accuracy, and the TEST accuracy of the incumbent, obtained after the search by retraining
     each incumbent (deterministic under its recorded seed; verified against its recorded validation
     accuracy) and reading the sealed test split in this harness only. Headline: how many times fewer epochs
     automl needs to reach the test accuracy random search reaches with its whole budget.
  2. overhead: automl's Trainer vs a minimal hand-written loop (benchmarks/trainer_throughput.py), and the
     Optuna backend's per-trial overhead as a fraction of a 10 s trial.
  3. scaling: trials/hour with 1 vs 2 workers.
  4. accuracy: the searched MNIST-1D model next to the published MNIST-1D table, and short searches with
     finalize on digits and breast_cancer.

Searches of sections 1 and 4 run as separate processes, `--lanes` at a time (default: one per core, one
torch thread each); sections 2 and 3 run alone, before them. Quick mode plans the epochs per search from the
measured cost of an epoch, prints a time estimate, and gives every search a timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

MNIST1D_SPACE = ROOT / "search_spaces" / "mnist1d_cnn.yaml"
PUBLISHED_SPACES = {"digits": ROOT / "search_spaces" / "digits_cnn.yaml",
                    "breast_cancer": ROOT / "search_spaces" / "breast_cancer_mlp.yaml"}
MNIST1D_PUBLISHED = {"logistic regression": 0.32, "MLP": 0.68, "CNN": 0.94, "human": 0.96}  # Greydanus 2020
METHODS = ("automl", "random", "handwritten_optuna", "handwritten_ray")
METHOD_LABELS = {
    "automl": "automl default (TPE + hyperband)",
    "random": "automl random search, no pruning",
    "handwritten_optuna": "hand-written Optuna (TPE + MedianPruner)",
    "handwritten_ray": "hand-written Ray Tune (random + ASHA)",
}
# issue 14's targets (benchmarks/summary.py holds the same, for the README table)
TARGETS = {"epochs_ratio": 5.0, "trainer_ratio": 0.97, "optuna_pct": 3.0, "ray_pct": 5.0, "scaling": 1.8}
REPRO_TOL = 1e-6

# Budgets per mode. search_epochs None: planned from the measured epoch cost to fit budget_s.
MODES: dict[str, dict[str, Any]] = {
    "smoke": {
        "ray_overhead": {"trials": 3, "epochs": 2},
        "budget_s": None, "seeds": 1, "search_epochs": 9, "trial_epochs": 3, "patience": 2,
        "throughput": {"epochs": 1, "repeats": 2},
        "overhead": {"trials": 2, "trial_s": 1.5, "baselines": 1},
        "scaling": {"trials": 4, "trial_s": 1.0},
        "published": {"timeout_s": 15, "trials": 3, "max_epochs": 3},
    },
    "quick": {
        "ray_overhead": {"trials": 8, "epochs": 5},
        "budget_s": 15 * 60, "seeds": 3, "search_epochs": None, "trial_epochs": None, "patience": None,
        "throughput": {"epochs": 2, "repeats": 4},
        "overhead": {"trials": 5, "trial_s": 10.0, "baselines": 0},
        "scaling": {"trials": 8, "trial_s": 3.0},
        "published": {"timeout_s": 30, "trials": 30, "max_epochs": None},
    },
    "full": {
        "ray_overhead": {"trials": 16, "epochs": 5},
        "budget_s": None, "seeds": 5, "search_epochs": 500, "trial_epochs": None, "patience": None,
        "throughput": {"epochs": 3, "repeats": 8},
        "overhead": {"trials": 12, "trial_s": 10.0, "baselines": 2},
        "scaling": {"trials": 30, "trial_s": 5.0},
        "published": {"timeout_s": 300, "trials": 60, "max_epochs": None},
    },
}
# Planning constants (seconds unless noted).
PLAN_MARGIN_S = 75  # quick mode plans for budget_s minus this
CONTENTION = 1.15  # an epoch is a little slower with every lane busy
RETRAIN_FRAC = 0.6  # retraining the incumbents costs about this fraction of the search's epochs
STARTUP_S = {"automl": 8.0, "random": 8.0, "handwritten_optuna": 7.0, "handwritten_ray": 30.0, "published": 8.0}
PACKING = 0.85  # lanes are not all busy all the time (the last jobs, Ray exclusivity)


def log(msg: str) -> None:
    print(msg, flush=True)


def _mean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return statistics.fmean(xs) if xs else None


def _sd(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return statistics.stdev(xs) if len(xs) > 1 else None


# --- environment ---------------------------------------------------------------------------------------------

def hardware_and_versions(lanes: int, threads: int) -> dict[str, Any]:
    import torch

    from automl.store.run import environment

    env = environment()
    cpu_model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    commit = None
    with contextlib.suppress(Exception):
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        commit = f"{commit}{' (uncommitted changes)' if dirty else ''}"
    return {
        "cpu_model": cpu_model, "cpu_count": os.cpu_count(), "cores_usable": env.get("cpu_affinity"),
        "torch_threads_default": torch.get_num_threads(), "lanes": lanes, "torch_threads_per_lane": threads,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": env["python"], "platform": env["platform"], "packages": env["packages"], "git_commit": commit,
    }


# --- spaces --------------------------------------------------------------------------------------------------

def _write_yaml(path: Path, doc: dict) -> Path:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def mnist1d_space(work: Path, mode: dict) -> tuple[Path, int]:
    """The shipped space, or (smoke) a copy with fewer epochs per trial. Returns (path, max epochs per trial)."""
    from automl.space import read_yaml

    raw = read_yaml(MNIST1D_SPACE)
    if mode["trial_epochs"] is None:
        return MNIST1D_SPACE, int(raw["training"]["max_epochs"])
    raw["training"] = {**raw["training"], "max_epochs": mode["trial_epochs"], "patience": mode["patience"]}
    raw["search"] = {**raw.get("search", {}), "min_epochs": 1}
    return _write_yaml(work / "spaces" / "mnist1d_cnn.yaml", raw), mode["trial_epochs"]


def published_space(work: Path, name: str, mode: dict) -> Path:
    from automl.space import read_yaml

    if mode["published"]["max_epochs"] is None:
        return PUBLISHED_SPACES[name]
    raw = read_yaml(PUBLISHED_SPACES[name])
    raw["training"] = {**raw["training"], "max_epochs": mode["published"]["max_epochs"], "patience": 2}
    return _write_yaml(work / "spaces" / PUBLISHED_SPACES[name].name, raw)


FIXED_MODEL = {  # one fixed, mid-sized CNN for the overhead and scaling sections
    "family": "cnn", "n_conv_blocks": 3,
    "conv_blocks": {"filters": 32, "kernel_size": 5, "padding": "same", "activation": "relu", "pool": "max",
                    "pool_size": 2},
    "global_pool": "flatten", "n_dense_blocks": 1, "dense_blocks": {"units": 64, "activation": "relu"},
}


def fixed_space(work: Path, name: str, max_epochs: int) -> Path:
    """A space of fixed values only: every trial trains the same config for `max_epochs` (no early stopping)."""
    doc = {
        "name": name, "dataset": {"name": "mnist1d", "split": {"val": 0.1, "seed": 0}}, "task": "multiclass",
        "objective": {"metric": "val_accuracy", "direction": "maximize"}, "model": FIXED_MODEL,
        "training": {"optimizer": "adam", "lr": 1e-3, "batch_size": 64, "max_epochs": int(max_epochs), "patience": 0},
        "search": {"sampler": "random", "pruner": "none", "seed": 0},
    }
    return _write_yaml(work / "spaces" / f"{name}.yaml", doc)


# --- calibration and plan ------------------------------------------------------------------------------------

def calibrate(work: Path, space_path: Path, lane_threads: int, cores: int, n_configs: int) -> dict[str, Any]:
    """Seconds per epoch: random configs of the mnist1d space at the lanes' thread count, and the fixed config at
    1 thread and at all cores (what a single Optuna worker uses)."""
    from automl.data import load_dataset
    from automl.space import RandomSuggest, load_space, sample
    from automl.training import set_num_threads
    from automl.trial import run_trial

    t0 = time.perf_counter()
    space = load_space(space_path)
    ds = load_dataset(space.dataset, base_dir=space.base_dir)
    load_s = time.perf_counter() - t0
    rng = RandomSuggest(12345)
    set_num_threads(lane_threads)
    per_epoch = []
    tries = 0
    while len(per_epoch) < n_configs and tries < 5 * n_configs:
        tries += 1
        cfg = sample(space.space, rng).config
        res = run_trial(cfg, ds, objective_metric="val_accuracy", direction="maximize", seed=tries, max_epochs=1)
        if res.status in ("complete", "pruned") and res.epochs_run:
            per_epoch.append(res.seconds / res.epochs_run)
    if not per_epoch:
        raise RuntimeError("calibration: no sampled config of the mnist1d space trained")
    fixed_cfg = sample(load_space(fixed_space(work, "bench_calibration", 2)).space, rng).config
    fixed = {}
    for threads in sorted({1, cores}):
        set_num_threads(threads)
        runs = [run_trial(fixed_cfg, ds, objective_metric="val_accuracy", direction="maximize", seed=0, max_epochs=1)
                for _ in range(2)]
        if any(r.status != "complete" for r in runs):
            raise RuntimeError(f"calibration: the fixed config did not train: {runs[0].status} {runs[0].reason}")
        fixed[threads] = min(r.seconds for r in runs)
    set_num_threads(lane_threads)
    return {"space_epoch_s": statistics.fmean(per_epoch), "space_epoch_s_samples": [round(x, 3) for x in per_epoch],
            "fixed_epoch_s_1thread": fixed[1], "fixed_epoch_s_all_cores": fixed[cores], "data_load_s": load_s,
            "seconds": time.perf_counter() - t0}


def make_plan(mode_name: str, mode: dict, cal: dict, *, lanes: int, seeds: list[int], trial_epochs: int,
              search_epochs: int | None, budget_s: float | None, elapsed_s: float) -> dict[str, Any]:
    c_space = cal["space_epoch_s"] * (CONTENTION if lanes > 1 else 1.0)
    c_fixed1, c_fixed_all = cal["fixed_epoch_s_1thread"], cal["fixed_epoch_s_all_cores"]
    tp, ov, sc, pub = mode["throughput"], mode["overhead"], mode["scaling"], mode["published"]
    # Section 2a: warm-up + repeats x (trainer, hand loop) x epochs, one thread; ~1.5 fixed epochs per CNN1D epoch.
    s2a = (tp["repeats"] * 2 * tp["epochs"] + 0.5) * c_fixed1 * 1.5 + 5
    ov_epochs = max(1, round(ov["trial_s"] / c_fixed_all))
    s2b = (ov["trials"] + ov["baselines"]) * ov_epochs * c_fixed_all + 10
    sc_epochs = max(1, round(sc["trial_s"] / c_fixed_all))
    s3 = sc["trials"] * sc_epochs * c_fixed_all + sc["trials"] * sc_epochs * c_fixed1 / 2 + 15
    ro = mode["ray_overhead"]
    s2r = 45 + 2 * ro["trials"] * (ro["epochs"] * 0.1 + 0.5)  # two fresh processes (Ray start-up), tiny trials
    n_s1 = len(seeds) * len(METHODS)
    startups = sum(STARTUP_S[m] for m in METHODS) * len(seeds)
    pub_job = pub["timeout_s"] * 1.25 + STARTUP_S["published"] + 10
    pub_total = 2 * pub_job
    if search_epochs is None:
        assert budget_s is not None
        left = budget_s - PLAN_MARGIN_S - elapsed_s - s2a - s2b - s2r - s3
        lane_s = left * lanes * PACKING - startups - pub_total
        search_epochs = int(lane_s / (n_s1 * c_space * (1 + RETRAIN_FRAC)))
        search_epochs = max(trial_epochs, search_epochs // 5 * 5)  # the time budget wins; a warning says why
    search_s = search_epochs * c_space
    s1_job = {m: STARTUP_S[m] + search_s * (1 + RETRAIN_FRAC) for m in METHODS}
    pool_s = (sum(s1_job.values()) * len(seeds) + pub_total) / (lanes * PACKING)
    plan = {
        "mode": mode_name, "seeds": seeds, "lanes": lanes, "search_epochs": search_epochs,
        "epochs_per_trial": trial_epochs, "epoch_s_planned": round(c_space, 3),
        "search_timeout_s": round(search_s * 2 + 30, 1),  # a safety net; the epoch budget should bind
        # a safety net: incumbents are a subset of the search's trials, so retraining costs at most the search
        "retrain_limit_s": round(search_s * 1.5 + 20, 1),
        "overhead_trial_epochs": ov_epochs, "scaling_trial_epochs": sc_epochs,
        "estimate_s": {"calibration": round(elapsed_s, 1), "2a_throughput": round(s2a, 1),
                       "2b_overhead": round(s2b, 1), "2b_ray_overhead": round(s2r, 1), "3_scaling": round(s3, 1),
                       "1+4_searches": round(pool_s, 1)},
        "budget_s": budget_s,
    }
    plan["estimate_s"]["total"] = round(sum(plan["estimate_s"].values()), 1)
    return plan


# --- section 2a: trainer throughput --------------------------------------------------------------------------

def section_throughput(epochs: int, repeats: int, threads: int) -> dict[str, Any]:
    """Calls benchmarks/trainer_throughput.py's functions (same model, weights, batches, interleaved repeats)."""
    import torch

    tt = importlib.import_module("trainer_throughput")
    from automl.training import set_num_threads

    set_num_threads(threads)
    device = torch.device("cpu")
    tr, va = tt.load_mnist1d()
    runners = {"trainer": tt.run_trainer, "hand_loop": tt.run_hand_loop}
    for fn in runners.values():
        fn(tr.subset(512), va.subset(256), 1, 128, device)
    runs: dict[str, list[dict]] = {k: [] for k in runners}
    for r in range(repeats):
        for name in (["trainer", "hand_loop"] if r % 2 == 0 else ["hand_loop", "trainer"]):
            runs[name].append(runners[name](tr, va, epochs, 128, device))

    def fig(key: str) -> dict[str, float]:
        t = statistics.median(x[key] for x in runs["trainer"])
        h = statistics.median(x[key] for x in runs["hand_loop"])
        paired = [a[key] / b[key] for a, b in zip(runs["trainer"], runs["hand_loop"], strict=True)]
        return {"trainer": round(t, 1), "hand_loop": round(h, 1), "ratio": round(t / h, 4),
                "paired_ratio_median": round(statistics.median(paired), 4)}

    return {
        "source": "benchmarks/trainer_throughput.py (run_trainer, run_hand_loop, load_mnist1d)",
        "model": "CNN1D conv(1-32-64-64, k5) + 2 maxpool + dense128 + head10", "batch_size": 128,
        "epochs_per_run": epochs, "repeats": repeats, "torch_threads": threads,
        "train_wall": {"validation": "excluded from both", **fig("train_sps")},
        "e2e_wall": {"validation": "included in both", **fig("e2e_sps")},
        "e2e_cpu": {"validation": "included in both; per CPU-second of this process", **fig("e2e_cpu_sps")},
        "headline": "train_wall.ratio", "ratio": fig("train_sps")["ratio"], "target": TARGETS["trainer_ratio"],
        "final_val_accuracy": {k: [round(x["final_val_accuracy"], 6) for x in v] for k, v in runs.items()},
    }


# --- section 2b: Optuna backend overhead ---------------------------------------------------------------------

def section_overhead(work: Path, n_trials: int, trial_epochs: int, baselines: int, cores: int) -> dict[str, Any]:
    """N trials of one fixed ~10 s config through start_search (1 worker, all cores), in this process.

    Training proper = run_trial's own time minus the time spent in the backend's per-epoch reporter (timed by
    wrapping OptunaReporter.report here, in the harness), so per-epoch storage writes count as overhead.
    Overhead per trial = (start_search wall - sum of training proper) / N. A direct run_trial of the same
    config (no backend) is timed as a cross-check."""
    import automl.backends.optuna.objective as ob
    from automl.backends.prepare import load_trials, start_search
    from automl.data import load_dataset
    from automl.space import load_space
    from automl.training import set_num_threads
    from automl.trial import run_trial

    space_path = fixed_space(work, "bench_overhead", trial_epochs)
    space = load_space(space_path)
    ds = load_dataset(space.dataset, base_dir=space.base_dir)
    from automl.space import RandomSuggest, sample

    config = sample(space.space, RandomSuggest(0)).config  # every value is fixed
    set_num_threads(cores)
    direct = [run_trial(config, ds, objective_metric="val_accuracy", direction="maximize", seed=b).seconds
              for b in range(baselines)]
    report_s: list[float] = []
    original = ob.OptunaReporter.report

    def timed_report(self, epoch, metrics):  # harness-only instrumentation
        t = time.perf_counter()
        try:
            return original(self, epoch, metrics)
        finally:
            report_s.append(time.perf_counter() - t)

    ob.OptunaReporter.report = timed_report
    try:
        t0 = time.time()
        info = start_search(space_path, study="overhead", root=work / "runs", sampler="random", pruner="none",
                               trials=n_trials, seed=0, workers=1, timeout=None)
        wall = time.time() - t0
    finally:
        ob.OptunaReporter.report = original
    recs = [r for r in load_trials(info) if r.state == "COMPLETE"]
    n = max(1, len(recs))
    train_s = sum(r.seconds for r in recs) - sum(report_s)
    per_trial = (wall - train_s) / n
    startup = (min(r.started for r in recs) - t0) if recs and all(r.started for r in recs) else 0.0
    mean_trial = statistics.fmean(r.seconds for r in recs) if recs else math.nan
    return {
        "what": "per-trial overhead of the Optuna backend (start_search, 1 worker, SQLite) beyond training",
        "config": "fixed mnist1d CNN (3 conv blocks x 32 filters, k5, dense 64, adam, batch 64), no early stopping",
        "trials": len(recs), "epochs_per_trial": trial_epochs, "torch_threads": cores,
        "mean_trial_s": round(mean_trial, 3), "wall_s": round(wall, 3), "training_s": round(train_s, 3),
        "reporter_s_total": round(sum(report_s), 4), "reports": len(report_s),
        "definition": "overhead per trial = (start_search wall - sum of training proper) / N; training proper = "
                      "run_trial's time minus the time in the backend's per-epoch reporter (counted as overhead)",
        "overhead_per_trial_s": round(per_trial, 4),
        "overhead_pct_of_10s": round(100 * per_trial / 10.0, 3),
        "overhead_pct_of_measured_trial": round(100 * per_trial / mean_trial, 3) if recs else None,
        "startup_s": round(startup, 3),
        "startup_what": "once per search: space, dataset, feasibility check, run dir, study creation, first sampling",
        "steady_overhead_per_trial_s": round((wall - startup - train_s) / n, 4),
        "steady_overhead_pct_of_10s": round(100 * (wall - startup - train_s) / n / 10.0, 3),
        "direct_run_trial_s": [round(x, 3) for x in direct],
        "overhead_vs_direct_s": round((wall - len(recs) * statistics.fmean(direct)) / n, 4) if direct and recs else None,
        "target_pct": TARGETS["optuna_pct"],
        "note": ("trials of ~10 s measured directly" if abs(mean_trial - 10) < 3 else
                 f"trials of {mean_trial:.1f} s measured; the per-trial overhead in seconds is expressed as a "
                 "fraction of a 10 s trial (extrapolated: besides the per-epoch reports, counted here, the overhead "
                 "does not grow with the trial's length)"),
    }


def section_ray_overhead(trials: int, epochs: int) -> dict[str, Any]:
    """The Ray figure from benchmarks/backend_overhead.py (`run_one`: a fresh process per backend, the same tiny
    wine MLP search, TPE, no early stopping, one trial at a time), with its Optuna figure alongside."""
    path = HERE / "backend_overhead.py"
    if not path.exists():
        return {"ray_overhead": None,
                "reason": "TODO: benchmarks/backend_overhead.py (per-trial overhead Ray vs Optuna) is missing."}
    mod = importlib.import_module("backend_overhead")
    run_one = getattr(mod, "run_one", None)
    if run_one is None:
        return {"ray_overhead": None,
                "reason": "TODO: benchmarks/backend_overhead.py has no run_one(backend, concurrency, trials, epochs); "
                          "wire its Ray figure in here."}
    rows = {backend: run_one(backend, 1, trials, epochs) for backend in ("optuna", "ray")}
    ray_, opt = rows["ray"], rows["optuna"]
    return {
        "source": "benchmarks/backend_overhead.py run_one(backend, concurrency=1, trials, epochs)",
        "search": f"wine MLP, TPE, no early stopping, {trials} trials x {epochs} epochs, 1 at a time, fresh process",
        "definition": "(search wall - sum of the trials' run_trial seconds) / trials",
        "ray_overhead": {
            "per_trial_s": round(ray_["overhead_per_trial"], 4),
            "pct_of_10s": round(10 * ray_["overhead_per_trial"], 3),
            "per_trial_incl_ray_init_s": round(ray_["overhead_per_trial_incl_init"], 4),
            "pct_of_10s_incl_ray_init": round(10 * ray_["overhead_per_trial_incl_init"], 3),
            "ray_init_s": round(ray_["init"], 3), "trials": ray_["n"], "states": ray_["states"],
        },
        "optuna_same_search": {"per_trial_s": round(opt["overhead_per_trial"], 4),
                               "pct_of_10s": round(10 * opt["overhead_per_trial"], 3), "trials": opt["n"]},
        "headline": "ray_overhead.pct_of_10s (Ray already running; with ray.init alongside)",
        "target_pct": TARGETS["ray_pct"], "raw": rows,
    }


# --- section 3: scaling --------------------------------------------------------------------------------------

def section_scaling(work: Path, n_trials: int, trial_epochs: int, cores: int) -> dict[str, Any]:
    from automl.backends.prepare import load_trials, start_search

    space_path = fixed_space(work, "bench_scaling", trial_epochs)
    out: dict[str, Any] = {"what": "trials/hour, start_search with 1 vs 2 workers, same fixed short trials "
                                   "(random sampler, no pruner, fixed config)",
                           "trials": n_trials, "epochs_per_trial": trial_epochs, "runs": {}}
    for workers in (1, 2):
        t0 = time.time()
        info = start_search(space_path, study=f"scaling_w{workers}", root=work / "runs", sampler="random",
                            pruner="none", trials=n_trials, seed=0, workers=workers, timeout=None)
        wall = time.time() - t0
        recs = [r for r in load_trials(info) if r.state == "COMPLETE"]
        span = (max(r.finished for r in recs) - min(r.started for r in recs)) if recs else math.nan
        out["runs"][str(workers)] = {
            "workers": workers, "torch_threads_per_worker": max(1, cores // workers), "completed": len(recs),
            "wall_s": round(wall, 3), "trials_per_hour": round(len(recs) * 3600 / wall, 1),
            "steady_span_s": round(span, 3), "trials_per_hour_steady": round(len(recs) * 3600 / span, 1),
            "mean_trial_s": round(statistics.fmean(r.seconds for r in recs), 3) if recs else None,
        }
    r1, r2 = out["runs"]["1"], out["runs"]["2"]
    out["ratio"] = round(r2["trials_per_hour"] / r1["trials_per_hour"], 3)
    out["ratio_steady"] = round(r2["trials_per_hour_steady"] / r1["trials_per_hour_steady"], 3)
    out["headline"] = "ratio (end to end: start_search wall incl. spawning worker processes)"
    out["target"] = TARGETS["scaling"]
    return out


# --- sections 1 and 4: search jobs (separate processes) ------------------------------------------------------

def _normalize_automl(recs: list[Any]) -> list[dict]:
    return [{"number": r.number, "state": r.state, "complete": r.state == "COMPLETE", "value": r.value,
             "epochs_run": r.epochs_run, "seed": r.seed, "params": r.params, "started": r.started,
             "finished": r.finished, "seconds": r.seconds} for r in recs]


def trajectory(trials: list[dict], t_start: float) -> tuple[list[dict], list[int]]:
    """One point per finished trial in completion order; incumbent = best validation among complete trials
    (ties keep the earlier one). Returns (points, incumbent trial numbers in the order they took over)."""
    order = sorted(trials, key=lambda t: (t.get("finished") is None, t.get("finished") or 0, t.get("number", 0)))
    points, incumbents = [], []
    cum, best, inc = 0, None, None
    for t in order:
        cum += int(t.get("epochs_run") or 0)
        v = t.get("value")
        if t.get("complete") and v is not None and math.isfinite(v) and (best is None or v > best):
            best, inc = v, t["number"]
            incumbents.append(inc)
        points.append({"trial": t.get("number"), "state": t.get("state"), "epochs_run": t.get("epochs_run"),
                       "cum_epochs": cum, "wall_s": round(t["finished"] - t_start, 2) if t.get("finished") else None,
                       "value": v, "best_val": best, "incumbent": inc})
    return points, incumbents


def _retrain_all(trials: list[dict], incumbents: list[int], retrain, deadline: float) -> dict[int, dict]:
    by_number = {t["number"]: t for t in trials}
    out: dict[int, dict] = {}
    # The final incumbent first (the headline's target and the final accuracy need it), then in order.
    for n in incumbents[-1:] + incumbents[:-1]:
        t = by_number[n]
        if time.time() > deadline:
            out[n] = {"test_accuracy": None, "skipped": "retrain time limit reached"}
            continue
        t0 = time.perf_counter()
        try:
            val, test = retrain(t)
        except Exception as e:  # recorded, the other incumbents still run
            out[n] = {"test_accuracy": None, "error": f"{type(e).__name__}: {e}"[:300]}
            continue
        diff = None if val is None or t["value"] is None else abs(val - t["value"])
        out[n] = {"recorded_val": t["value"], "retrained_val": val, "abs_diff": diff,
                  "reproduced": diff is not None and diff <= REPRO_TOL, "test_accuracy": test,
                  "epochs": t["epochs_run"], "seed": t["seed"], "seconds": round(time.perf_counter() - t0, 2)}
    return out


def retest_automl(space: Any, t: dict, ds: Any, test: Any) -> tuple[float | None, float]:
    """Re-train an automl trial from its params and seed (training is deterministic under a seed) and test it
    once: (re-trained validation value, test accuracy). Also used by benchmarks/mnist1d_compare.py."""
    from automl.space import config_from_params
    from automl.training import evaluate
    from automl.trial import run_trial

    config = config_from_params(space.space, t["params"])
    res = run_trial(config, ds, objective_metric="val_accuracy", direction="maximize", seed=int(t["seed"]),
                    keep_model=True)
    if res.model is None:
        raise RuntimeError(f"retrain {res.status}: {res.reason}")
    return res.value, evaluate(res.model, test, ds.spec.task, training_cfg=config.get("training"))["accuracy"]


def job_search(spec: dict) -> dict:
    import torch

    from automl.data import load_dataset
    from automl.training import set_num_threads

    set_num_threads(spec["threads"])
    method, seed, budget = spec["method"], spec["seed"], spec["search_epochs"]
    ds = load_dataset({"name": "mnist1d", "split": {"val": 0.1, "seed": 0}})
    t_job = time.time()
    extra: dict[str, Any] = {}
    if method in ("automl", "random"):
        from automl.backends.prepare import load_trials, start_search
        from automl.space import load_space

        sampler, pruner = ("tpe", "hyperband") if method == "automl" else ("random", "none")
        t_start = time.time()
        info = start_search(spec["space"], study=spec["name"], root=Path(spec["work"]), sampler=sampler, pruner=pruner,
                            trials=10**6, timeout=spec["timeout_s"], max_total_epochs=budget, workers=1,
                            threads=spec["threads"], seed=seed)
        wall = time.time() - t_start
        trials = _normalize_automl(load_trials(info))
        space = load_space(info.space_path)
        extra = {"sampler": sampler, "pruner": pruner, "settings": {k: info.settings.get(k) for k in (
            "sampler", "pruner", "min_epochs", "reduction_factor", "startup_trials", "threads", "workers",
            "max_total_epochs", "timeout")}}
        if not torch.equal(ds.train.x, load_dataset(space.dataset, base_dir=space.base_dir).train.x):
            raise RuntimeError("the space's dataset split differs from the benchmark's")

        def retrain(t: dict) -> tuple[float | None, float | None]:
            return retest_automl(space, t, ds, test)
    else:
        import handwritten_optuna as ho

        train, val = ho.load_data()
        if not (torch.equal(train.x, ds.train.x) and torch.equal(val.y, ds.val.y)):
            raise RuntimeError("load_dataset({'name': 'mnist1d'}) splits differ from the space's")
        if method == "handwritten_optuna":
            res = ho.search(budget, seed, epochs=spec["trial_epochs"], timeout=spec["timeout_s"],
                            threads=spec["threads"], data=(train, val))
        else:
            import handwritten_ray as hr

            res = hr.search(budget, seed, epochs=spec["trial_epochs"], timeout=spec["timeout_s"],
                            threads=spec["threads"], concurrency=1, num_cpus=2, data=(train, val),
                            storage=str(Path(spec["work"]) / spec["name"]))
            extra = {"ray_init_s": round(res["ray_init_s"], 2), "concurrency": 1, "ray_num_cpus": 2}
            set_num_threads(spec["threads"])
        trials, t_start, wall = res["trials"], res["t_start"], res["wall_s"]
        for i, t in enumerate(trials):
            t.setdefault("number", -1 - i)

        def retrain(t: dict) -> tuple[float | None, float | None]:
            model, accs = ho.train_model(t["params"], train, val, seed=int(t["seed"]), epochs=int(t["epochs_run"]))
            return accs[-1], ho.accuracy(model, test.x, test.y)

    search_done = time.time()
    points, incumbents = trajectory(trials, t_start)
    test = ds.read_test("benchmark")  # the harness's one read of the sealed test split, after the search
    retrained = _retrain_all(trials, incumbents, retrain, deadline=search_done + spec["retrain_limit_s"])
    for p in points:
        p["incumbent_test_acc"] = retrained.get(p["incumbent"], {}).get("test_accuracy") if p["incumbent"] is not None else None
    used = points[-1]["cum_epochs"] if points else 0
    states: dict[str, int] = {}
    for t in trials:
        states[t["state"]] = states.get(t["state"], 0) + 1
    return {
        "method": method, "seed": seed, "budget_epochs": budget, "epochs_used": used,
        "stopped_by": "epochs" if used >= budget else "timeout", "timeout_s": spec["timeout_s"],
        "search_wall_s": round(wall, 2), "retrain_s": round(time.time() - search_done, 2),
        "job_s": round(time.time() - t_job, 2), "n_trials": len(trials), "states": states,
        "trajectory": points, "incumbents": {str(k): v for k, v in retrained.items()},
        "final": points[-1] if points else None, "test_reads": ds.test_reads, **extra,
    }


def job_published(spec: dict) -> dict:
    from automl.backends.prepare import start_search
    from automl.finalize import finalize_run

    t0 = time.time()
    info = start_search(spec["space"], study=spec["name"], root=Path(spec["work"]), trials=spec["trials"],
                        timeout=spec["timeout_s"], workers=1, threads=spec["threads"], seed=0)
    search_s = time.time() - t0
    rep = finalize_run(info).data
    b = rep["best"]
    return {
        "dataset": rep["data"]["name"], "space": Path(spec["space"]).name, "objective": rep["objective"],
        "trials": rep["budget"]["trials"], "by_state": {k: v for k, v in rep["budget"]["by_state"].items() if v},
        "epochs": rep["budget"]["epochs"], "search_s": round(search_s, 2),
        "sampler": rep["budget"]["settings"].get("sampler"), "pruner": rep["budget"]["settings"].get("pruner"),
        "best_trial": b["trial"], "search_value": b["search_value"], "val_metrics": b["val_metrics"],
        "test_metrics": b["test_metrics"], "n_test": rep["data"]["n_test"], "test_reads": rep["test_reads"],
        "finalize_s": rep["finalize"]["seconds"], "seed": 0,
        "budget": {"trials": spec["trials"], "timeout_s": spec["timeout_s"]},
    }


def run_job(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    try:
        result = (job_published if spec["kind"] == "published" else job_search)(spec)
    except Exception:
        result = {"error": traceback.format_exc()[-3000:]}
    result["job"] = {k: v for k, v in spec.items() if k not in ("work", "result")}
    Path(spec["result"]).write_text(json.dumps(result, indent=1, default=str))


class Pool:
    """Runs job specs as `python run.py --job SPEC`, `lanes` at a time, never two Ray jobs at once."""

    def __init__(self, work: Path, lanes: int, deadline: float | None) -> None:
        self.work, self.lanes, self.deadline = work / "jobs", lanes, deadline
        self.work.mkdir(parents=True, exist_ok=True)

    def _clip(self, spec: dict) -> None:
        """A job started late gets what is left before the deadline (recorded as clipped_to_deadline)."""
        if self.deadline is None:
            return
        left = self.deadline - time.time() - STARTUP_S[spec["method"]]
        need = spec["timeout_s"] + spec.get("retrain_limit_s", 0.25 * spec["timeout_s"])
        if left < need:
            scale = max(left, 20.0) / need
            spec["timeout_s"] = round(spec["timeout_s"] * scale, 1)
            if "retrain_limit_s" in spec:
                spec["retrain_limit_s"] = round(spec["retrain_limit_s"] * scale, 1)
            spec["clipped_to_deadline"] = True

    def run(self, specs: list[dict], on_done) -> dict[str, dict]:
        queue, running, results = list(specs), {}, {}
        while queue or running:
            ray_busy = any(s["method"] == "handwritten_ray" for s, _, _ in running.values())
            while len(running) < self.lanes:
                pick = next((s for s in queue if not (ray_busy and s["method"] == "handwritten_ray")), None)
                if pick is None:
                    break
                queue.remove(pick)
                self._clip(pick)
                pick["result"] = str(self.work / f"{pick['name']}.result.json")
                spec_path = self.work / f"{pick['name']}.spec.json"
                spec_path.write_text(json.dumps(pick))
                logf = open(self.work / f"{pick['name']}.log", "w")  # noqa: SIM115 (closed when the job ends)
                proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--job", str(spec_path)],
                                        stdout=logf, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
                running[pick["name"]] = (pick, proc, (logf, time.time()))
                ray_busy = ray_busy or pick["method"] == "handwritten_ray"
            time.sleep(0.5)
            for name, (spec, proc, (logf, started)) in list(running.items()):
                if proc.poll() is None and time.time() - started > spec["kill_after_s"]:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGTERM)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(15)
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                if proc.poll() is None:
                    continue
                logf.close()
                del running[name]
                path = Path(spec["result"])
                if path.exists():
                    res = json.loads(path.read_text())
                else:
                    tail = (self.work / f"{name}.log").read_text()[-2000:]
                    res = {"error": f"job process exited with code {proc.returncode} and no result "
                                    f"(killed after {spec['kill_after_s']:.0f} s?); log tail:\n{tail}", "job": spec}
                results[name] = res
                on_done(spec, res, time.time() - started)
        return results


def _elapsed(t0: float) -> str:
    s = int(time.time() - t0)
    return f"{s // 60:02d}:{s % 60:02d}"


def _job_line(spec: dict, res: dict, secs: float) -> str:
    if "error" in res:
        return f"{spec['name']}: ERROR {res['error'].strip().splitlines()[-1][:160]}"
    if spec["kind"] == "published":
        return (f"{spec['name']}: {res['trials']} trials, test {res['test_metrics']} ({secs:.0f} s)")
    f = res.get("final") or {}
    return (f"{spec['name']}: {res['n_trials']} trials, {res['epochs_used']}/{res['budget_epochs']} epochs "
            f"(stopped by {res['stopped_by']}), best val {f.get('best_val')}, incumbent test "
            f"{f.get('incumbent_test_acc')} ({secs:.0f} s)")


# --- aggregation ---------------------------------------------------------------------------------------------

def first_reach(points: list[dict], target: float, budget: int | None = None) -> int | None:
    """Epochs spent when the incumbent's test accuracy first reaches `target`, counting only trials that ended
    within `budget` epochs (a trial that crosses the budget does not count: equal budgets, exactly)."""
    for p in points:
        if budget is not None and p["cum_epochs"] > budget:
            return None
        acc = p.get("incumbent_test_acc")
        if acc is not None and acc >= target - 1e-12:
            return p["cum_epochs"]
    return None


def best_within(points: list[dict], budget: int) -> float | None:
    """The incumbent's test accuracy after the last trial that ended within `budget` epochs."""
    acc = None
    for p in points:
        if p["cum_epochs"] > budget:
            break
        acc = p.get("incumbent_test_acc", acc)
    return acc


def aggregate_search(runs: dict[str, dict[int, dict]], seeds: list[int]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for m in METHODS:
        rs = [runs.get(m, {}).get(s) for s in seeds]
        ok = [r for r in rs if r and "error" not in r]
        fin = [r["final"] for r in ok if r.get("final")]
        summary[m] = {
            "label": METHOD_LABELS[m], "seeds_ok": len(ok),
            "errors": {str(s): r["error"][-500:] for s, r in zip(seeds, rs, strict=True) if r and "error" in r},
            "epochs_used_mean": _mean([r["epochs_used"] for r in ok]),
            "trials_mean": _mean([r["n_trials"] for r in ok]),
            "search_wall_s_mean": _mean([r["search_wall_s"] for r in ok]),
            "final_best_val_mean": _mean([f["best_val"] for f in fin if f["best_val"] is not None]),
            "final_test_acc_mean": _mean([f["incumbent_test_acc"] for f in fin if f["incumbent_test_acc"] is not None]),
            "final_test_acc_sd": _sd([f["incumbent_test_acc"] for f in fin if f["incumbent_test_acc"] is not None]),
            "final_test_acc_per_seed": {str(r["seed"]): (r.get("final") or {}).get("incumbent_test_acc") for r in ok},
            "stopped_by": {str(r["seed"]): r["stopped_by"] for r in ok},
        }
    # Headline, first-reach against first-reach at an equal budget: random search's incumbent test accuracy after
    # the last trial that ended within the budget is the target; each method's ratio is the epochs random needed to
    # first reach it over the epochs the method needed (so identical runs score exactly 1x). Seeds where any method
    # was cut short by the timeout are left out of the headline and counted.
    per_seed: dict[str, dict] = {}
    for s in seeds:
        rnd = runs.get("random", {}).get(s)
        if not rnd or "error" in rnd or not rnd.get("trajectory"):
            per_seed[str(s)] = {"excluded": "random search failed or produced no trajectory"}
            continue
        budget = rnd["budget_epochs"]
        short = sorted(m for m in METHODS if (r := runs.get(m, {}).get(s)) and "error" not in r
                       and r.get("stopped_by") != "epochs")
        if short:
            per_seed[str(s)] = {"excluded": f"stopped by the timeout before the epoch budget: {', '.join(short)}"}
            continue
        target = best_within(rnd["trajectory"], budget)
        if target is None:
            per_seed[str(s)] = {"excluded": "random search finished no trial within the budget"}
            continue
        ref = first_reach(rnd["trajectory"], target, budget)
        row: dict[str, Any] = {"random_final_test_acc": target, "random_epochs_to_reach": ref, "budget_epochs": budget}
        for m in METHODS:
            if m == "random":
                continue
            r = runs.get(m, {}).get(s)
            if not r or "error" in r:
                row[m] = {"reached": None, "error": True, "note": "run failed (counted as an error, not dropped)"}
                continue
            e = first_reach(r["trajectory"], target, budget)
            row[m] = {"epochs_to_reach": e, "reached": e is not None, "ratio": round(ref / e, 3) if e else None,
                      "epochs_used": r["epochs_used"], "test_acc_at_budget": best_within(r["trajectory"], budget)}
        per_seed[str(s)] = row
    headline = {}
    for m in METHODS:
        if m == "random":
            continue
        cells = [v[m] for v in per_seed.values() if m in v]
        ratios = [c["ratio"] for c in cells if c.get("ratio")]
        headline[m] = {"ratio_per_seed": [c.get("ratio") for c in cells], "ratio_mean": _mean(ratios),
                       "ratio_median": statistics.median(ratios) if ratios else None,
                       "seeds_reached": sum(bool(c.get("reached")) for c in cells), "seeds": len(cells),
                       "seeds_errors": sum(bool(c.get("error")) for c in cells),
                       "seeds_excluded": sum("excluded" in v for v in per_seed.values())}
    repro = [(m, s, n, v) for m in METHODS for s, r in runs.get(m, {}).items() if "error" not in r
             for n, v in r.get("incumbents", {}).items() if "reproduced" in v]
    return {
        "methods": summary, "per_seed": per_seed, "headline": headline,
        "reproducibility": {
            "incumbents_retrained": len(repro), "reproduced_within": REPRO_TOL,
            "reproduced": sum(v["reproduced"] for *_, v in repro),
            "mismatches": [{"method": m, "seed": s, "trial": n, "recorded": v["recorded_val"],
                            "retrained": v["retrained_val"], "abs_diff": v["abs_diff"]}
                           for m, s, n, v in repro if not v["reproduced"]],
            "skipped": sum(1 for m in METHODS for r in runs.get(m, {}).values() if "error" not in r
                           for v in r.get("incumbents", {}).values() if "reproduced" not in v),
        },
        "definition": ("ratio = epochs random search needs until its incumbent's test accuracy first reaches its "
                       "final value at the budget / epochs the method needs to first reach that value (same seed, "
                       "only trials that ended within the budget count; identical runs score exactly 1x; seeds "
                       "cut short by the timeout are left out and counted)"),
    }


# --- Markdown ------------------------------------------------------------------------------------------------

def _f(v: Any, nd: int = 4) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{nd}f}" if math.isfinite(v) else str(v)
    return str(v)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def markdown(doc: dict) -> str:
    env, plan, secs = doc["environment"], doc["plan"], doc["sections"]
    lines = [f"# automl benchmarks ({doc['mode']} mode)", "",
             f"{doc['created']}; {env['cpu_model']}, {env['cpu_count']} CPUs ({env['cores_usable']} usable), "
             f"{env['lanes']} lanes x {env['torch_threads_per_lane']} torch thread(s); Python {env['python']}, "
             + ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v) + f"; commit {env['git_commit']}.",
             f"Wall time {doc['wall_s'] / 60:.1f} min (estimated {plan['estimate_s']['total'] / 60:.1f} min). "
             f"Seeds {plan['seeds']}; {plan['search_epochs']} training epochs per search in section 1 "
             f"({plan['epochs_per_trial']} max per trial).", "",
             "| figure | value | target | met |", "|---|---|---|---|"]
    s1 = secs.get("search_efficiency")
    if s1:
        h = s1["headline"]["automl"]
        per = ", ".join(_f(x, 2) + "x" if x else "not reached" for x in h["ratio_per_seed"])
        ok = (h["seeds_reached"] == h["seeds"] and h["ratio_mean"] is not None
              and h["ratio_mean"] >= TARGETS["epochs_ratio"]) if h["seeds"] else None
        val = (f"{_f(h['ratio_mean'], 2)}x mean (per seed: {per}); reached in {h['seeds_reached']}/{h['seeds']} seeds"
               if h["seeds_reached"] else f"automl never reached random search's final test accuracy ({per})")
        if h.get("seeds_excluded"):
            val += f"; {h['seeds_excluded']} seed(s) left out (cut short by the timeout)"
        lines.append(f"| 1. epochs random search needs / epochs automl needs for the same test accuracy | {val} "
                     f"| >= {TARGETS['epochs_ratio']:.0f}x | {_met(ok)} |")
        rp = s1["reproducibility"]
        lines.append(f"| 1. incumbents reproduced by retraining (val acc within {REPRO_TOL:g}) | "
                     f"{rp['reproduced']}/{rp['incumbents_retrained']} (skipped {rp['skipped']}) | all | "
                     f"{_met(rp['reproduced'] == rp['incumbents_retrained'] if rp['incumbents_retrained'] else None)} |")
    tp = secs.get("throughput")
    if tp and "error" not in tp:
        lines.append(f"| 2a. Trainer samples/s ÷ hand-written loop (training phase, median of {tp['repeats']}) | "
                     f"{tp['ratio']:.3f} (end to end {tp['e2e_wall']['ratio']:.3f}, per CPU-s {tp['e2e_cpu']['ratio']:.3f}) "
                     f"| >= {TARGETS['trainer_ratio']} | {_met(tp['ratio'] >= TARGETS['trainer_ratio'])} |")
    ov = secs.get("overhead")
    if ov and "error" not in ov:
        lines.append(f"| 2b. Optuna backend overhead per trial, % of a 10 s trial | {ov['overhead_pct_of_10s']:.2f}% "
                     f"({ov['overhead_per_trial_s']:.3f} s/trial over {ov['trials']} trials of {ov['mean_trial_s']:.1f} s, "
                     f"incl. {ov['startup_s']:.2f} s search start-up; steady state {ov['steady_overhead_pct_of_10s']:.2f}%) "
                     f"| <= {TARGETS['optuna_pct']:g}% | {_met(ov['overhead_pct_of_10s'] <= TARGETS['optuna_pct'])} |")
    ro = secs.get("ray_overhead")
    if ro is not None and "error" in ro:
        lines.append(f"| 2b. Ray backend overhead per trial | failed: {ro['error'].strip().splitlines()[-1][:150]} "
                     f"| <= {TARGETS['ray_pct']:g}% | n/a |")
    elif ro is not None:
        fig = ro.get("ray_overhead")
        if fig is None:
            lines.append(f"| 2b. Ray backend overhead per trial | not measured: {ro.get('reason', '')} "
                         f"| <= {TARGETS['ray_pct']:g}% | n/a |")
        else:
            o = ro["optuna_same_search"]
            lines.append(f"| 2b. Ray backend overhead per trial, % of a 10 s trial (backend_overhead.py) | "
                         f"{fig['pct_of_10s']:.2f}% ({fig['per_trial_s']:.3f} s/trial; incl. ray.init "
                         f"{fig['pct_of_10s_incl_ray_init']:.2f}%; Optuna on the same search {o['pct_of_10s']:.2f}%) "
                         f"| <= {TARGETS['ray_pct']:g}% | {_met(fig['pct_of_10s'] <= TARGETS['ray_pct'])} |")
    sc = secs.get("scaling")
    if sc and "error" not in sc:
        lines.append(f"| 3. trials/hour, 2 workers ÷ 1 worker (end to end) | {sc['ratio']:.2f}x "
                     f"({sc['runs']['1']['trials_per_hour']:.0f} → {sc['runs']['2']['trials_per_hour']:.0f}/h; "
                     f"steady state {sc['ratio_steady']:.2f}x) | >= {TARGETS['scaling']}x | "
                     f"{_met(sc['ratio'] >= TARGETS['scaling'])} |")
    pub = secs.get("published")
    if pub:
        m = pub["mnist1d"]
        lines.append(f"| 4. searched MNIST-1D CNN, test accuracy (automl, mean over seeds) | "
                     f"{_pct(m['automl_test_acc_mean'])} | published CNN {_pct(MNIST1D_PUBLISHED['CNN'])} | "
                     f"{_met(None if m['automl_test_acc_mean'] is None else m['automl_test_acc_mean'] >= MNIST1D_PUBLISHED['CNN'])} |")
        for name in PUBLISHED_SPACES:
            r = pub.get(name) or {}
            text = r.get("error", "").strip().splitlines()[-1][:100] if "error" in r else \
                ", ".join(f"{k} {_f(v)}" for k, v in r.get("test_metrics", {}).items() if k != "loss")
            lines.append(f"| 4. {name}: test metrics after a short search + finalize | {text} | (reference) | n/a |")
    lines.append("")
    for name, sec in secs.items():
        if isinstance(sec, dict) and "error" in sec and isinstance(sec["error"], str):
            lines += [f"Section `{name}` failed: `{sec['error'].strip().splitlines()[-1][:300]}`", ""]

    if s1:
        lines += ["## 1. Search efficiency (MNIST-1D CNN space)", "",
                  f"Budget: {plan['search_epochs']} training epochs per search (max {plan['epochs_per_trial']} per "
                  f"trial), seeds {plan['seeds']}, timeout {plan['search_timeout_s']:.0f} s per search. Test accuracy "
                  "is the incumbent's (best validation so far), retrained after the search.", "",
                  "| method | seeds ok | epochs used | trials | search wall s | final best val | final test acc "
                  "| epochs-to-reach ratio vs random (per seed) |", "|---|---|---|---|---|---|---|---|"]
        for m, r in s1["methods"].items():
            h = s1["headline"].get(m)
            ratio = "(reference)" if m == "random" else ", ".join(
                _f(x, 2) + "x" if x else "not reached" for x in (h or {}).get("ratio_per_seed", []))
            sd = r["final_test_acc_sd"]
            lines.append(f"| {r['label']} | {r['seeds_ok']} | {_f(r['epochs_used_mean'], 0)} | {_f(r['trials_mean'], 1)} "
                         f"| {_f(r['search_wall_s_mean'], 0)} | {_f(r['final_best_val_mean'])} | "
                         f"{_f(r['final_test_acc_mean'])}{' ± ' + _f(sd) if sd is not None else ''} | {ratio} |")
        lines.append("")
        for m, r in s1["methods"].items():
            for s, err in r["errors"].items():
                lines.append(f"- {m} seed {s} failed: `{err.strip().splitlines()[-1][:200]}`")
            timed = [s for s, how in r["stopped_by"].items() if how != "epochs"]
            if timed:
                lines.append(f"- {m}: seeds {timed} were stopped by the timeout before the epoch budget.")
        for mm in s1["reproducibility"]["mismatches"]:
            lines.append(f"- NOT reproduced: {mm['method']} seed {mm['seed']} trial {mm['trial']}: recorded "
                         f"{mm['recorded']}, retrained {mm['retrained']} (|diff| {mm['abs_diff']:.2e})")
        lines += ["", s1["definition"] + ". With the same seed, automl's TPE starts with the same seeded random "
                  "configs (and trial seeds) as random search, so the first trials of the two are identical: the "
                  "comparison is paired.", ""]
    if tp and "error" not in tp:
        lines += ["## 2. Overhead", "",
                  f"Trainer vs hand-written loop ({tp['model']}, batch {tp['batch_size']}, {tp['torch_threads']} thread, "
                  f"{tp['epochs_per_run']} epoch(s) x {tp['repeats']} interleaved repeats): "
                  f"training phase {tp['train_wall']['trainer']:.0f} vs {tp['train_wall']['hand_loop']:.0f} samples/s.", ""]
    if ov and "error" not in ov:
        lines += [f"Optuna backend: {ov['trials']} trials of {ov['epochs_per_trial']} epochs (~{ov['mean_trial_s']:.1f} s), "
                  f"wall {ov['wall_s']:.1f} s, training {ov['training_s']:.1f} s, per-epoch reporting "
                  f"{ov['reporter_s_total']:.3f} s in total, search start-up {_f(ov['startup_s'], 2)} s (shared by the "
                  f"{ov['trials']} trials); direct run_trial (no backend, cross-check) {ov['direct_run_trial_s']} s. "
                  f"{ov['note']}.", ""]
    if sc and "error" not in sc:
        r1, r2 = sc["runs"]["1"], sc["runs"]["2"]
        lines += ["## 3. Scaling", "",
                  f"{sc['trials']} trials of {sc['epochs_per_trial']} epochs: 1 worker ({r1['torch_threads_per_worker']} "
                  f"threads) {r1['wall_s']:.1f} s, 2 workers ({r2['torch_threads_per_worker']} thread each) "
                  f"{r2['wall_s']:.1f} s.", ""]
    if pub:
        m = pub["mnist1d"]
        lines += ["## 4. Accuracy against published numbers", "", "| MNIST-1D model | test accuracy |", "|---|---|"]
        lines += [f"| {k} (Greydanus 2020) | {_pct(v)} |" for k, v in MNIST1D_PUBLISHED.items()]
        lines.append(f"| automl search, this run ({plan['search_epochs']} epochs; per seed "
                     f"{', '.join(_pct(v) for v in m['automl_test_acc_per_seed'].values())}) | "
                     f"{_pct(m['automl_test_acc_mean'])} |")
        lines.append("")
        for name in PUBLISHED_SPACES:
            r = pub.get(name) or {}
            if "error" in r or not r:
                continue
            lines.append(f"- {name} ({r['space']}, {r['sampler']} + {r['pruner']}, {r['trials']} trials, "
                         f"{r['search_s']:.0f} s): best trial #{r['best_trial']}, validation "
                         f"{', '.join(f'{k} {_f(v)}' for k, v in r['val_metrics'].items() if k != 'val_loss')}; "
                         f"test (n={r['n_test']}, read {r['test_reads']} time) "
                         f"{', '.join(f'{k} {_f(v)}' for k, v in r['test_metrics'].items() if k != 'loss')}.")
        lines.append("")
    lines += ["Reproduce: `python benchmarks/run.py --mode " + doc["mode"] + "`; details in `benchmarks.json`.", ""]
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------------------

def reaggregate(folder: Path) -> None:
    """Recompute the search-efficiency figures of a committed run with the current definitions."""
    doc = json.loads((folder / "benchmarks.json").read_text())
    s1 = doc["sections"].get("search_efficiency")
    if s1:
        runs = s1["runs"]
        seeds = sorted({s for per in runs.values() for s in per}, key=int)
        doc["sections"]["search_efficiency"] = {**aggregate_search(runs, seeds), "runs": runs}
        doc["reaggregated"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    (folder / "benchmarks.json").write_text(json.dumps(doc, indent=1, default=str))
    (folder / "benchmarks.md").write_text(markdown(doc))
    log(markdown(doc))


def main() -> None:
    ap = argparse.ArgumentParser(description="automl benchmarks: search efficiency, overhead, scaling, accuracy.")
    ap.add_argument("--mode", choices=list(MODES), default="quick")
    ap.add_argument("--smoke", action="store_true", help="same as --mode smoke")
    ap.add_argument("--out", default=str(ROOT / "results" / "benchmarks"), help="folder for benchmarks.json/.md")
    ap.add_argument("--work-dir", default=None, help="scratch folder for run dirs (default: a temp dir, removed)")
    ap.add_argument("--keep-work", action="store_true", help="keep the scratch folder")
    ap.add_argument("--lanes", type=int, default=None, help="searches at a time (default: min(cores, 4))")
    ap.add_argument("--seeds", type=int, default=None, help="number of seeds (0..N-1) in section 1")
    ap.add_argument("--search-epochs", type=int, default=None, help="epoch budget per search in section 1")
    ap.add_argument("--sections", default="1,2,3,4", help="comma-separated subset of 1,2,3,4")
    ap.add_argument("--job", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--reaggregate", default=None, metavar="FOLDER",
                    help="recompute section 1's figures from the runs stored in FOLDER/benchmarks.json (no training)")
    args = ap.parse_args()
    if args.reaggregate:
        reaggregate(Path(args.reaggregate))
        return
    if args.job:
        run_job(args.job)
        return
    mode_name = "smoke" if args.smoke else args.mode
    mode = MODES[mode_name]
    sections = {int(x) for x in args.sections.split(",") if x.strip()}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    lanes = args.lanes or max(1, min(cores, 4))
    lane_threads = max(1, cores // lanes)
    seeds = list(range(args.seeds if args.seeds is not None else mode["seeds"]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="automl_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    log(f"[00:00] automl benchmarks, mode {mode_name}: sections {sorted(sections)}, {cores} cores, {lanes} lanes "
        f"x {lane_threads} thread(s); scratch {work}")

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    env = hardware_and_versions(lanes, lane_threads)
    space_path, trial_epochs = mnist1d_space(work, mode)
    cal = calibrate(work, space_path, lane_threads, cores, n_configs=2 if mode_name == "smoke" else 4)
    plan = make_plan(mode_name, mode, cal, lanes=lanes, seeds=seeds, trial_epochs=trial_epochs,
                     search_epochs=args.search_epochs or mode["search_epochs"], budget_s=mode["budget_s"],
                     elapsed_s=time.time() - t0)
    est = plan["estimate_s"]
    log(f"[{_elapsed(t0)}] calibration: {cal['space_epoch_s']:.2f} s per epoch (mnist1d space, {lane_threads} thread), "
        f"fixed CNN {cal['fixed_epoch_s_1thread']:.2f} s (1 thread) / {cal['fixed_epoch_s_all_cores']:.2f} s "
        f"({cores} threads)")
    log(f"[{_elapsed(t0)}] plan: section 1 = {len(METHODS)} methods x {len(seeds)} seeds x {plan['search_epochs']} "
        f"epochs (max {trial_epochs}/trial, timeout {plan['search_timeout_s']:.0f} s/search); estimate "
        + ", ".join(f"{k} {v / 60:.1f} min" for k, v in est.items()))
    if mode["budget_s"] and est["total"] > mode["budget_s"]:
        log(f"WARNING: the estimate exceeds the {mode['budget_s'] / 60:.0f} min budget of {mode_name} mode; per-search "
            "timeouts will cut searches short.")
    if plan["search_epochs"] < 4 * trial_epochs:
        log(f"WARNING: {plan['search_epochs']} epochs per search is only a few full trials of {trial_epochs} epochs; "
            "section 1's figures will be noisy (this machine is slow or busy, or the mode is small).")

    doc: dict[str, Any] = {
        "benchmark": "automl", "mode": mode_name, "created": dt.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]), "environment": env, "calibration": cal,
        "plan": plan, "targets": TARGETS, "sections": {},
    }
    secs = doc["sections"]

    def guarded(name: str, fn, *a) -> None:
        t = time.time()
        try:
            secs[name] = fn(*a)
        except Exception:
            secs[name] = {"error": traceback.format_exc()[-3000:]}
        secs[name]["seconds"] = round(time.time() - t, 1)
        log(f"[{_elapsed(t0)}] {name} done in {secs[name]['seconds']:.0f} s"
            + (f": ERROR {secs[name]['error'].strip().splitlines()[-1]}" if "error" in secs[name] else ""))

    if 2 in sections:
        guarded("throughput", section_throughput, mode["throughput"]["epochs"], mode["throughput"]["repeats"], 1)
        guarded("overhead", section_overhead, work, mode["overhead"]["trials"], plan["overhead_trial_epochs"],
                mode["overhead"]["baselines"], cores)
        guarded("ray_overhead", section_ray_overhead, mode["ray_overhead"]["trials"], mode["ray_overhead"]["epochs"])
    if 3 in sections:
        guarded("scaling", section_scaling, work, mode["scaling"]["trials"], plan["scaling_trial_epochs"], cores)

    specs: list[dict] = []
    runs_root = str(work / "runs")
    if 4 in sections:
        pub = mode["published"]
        for name in PUBLISHED_SPACES:
            specs.append({"kind": "published", "method": "published", "name": f"published_{name}",
                          "space": str(published_space(work, name, mode)), "work": runs_root, "threads": lane_threads,
                          "trials": pub["trials"], "timeout_s": pub["timeout_s"],
                          "kill_after_s": pub["timeout_s"] * 3 + 120})
    if 1 in sections:
        for s in seeds:  # Ray first in each seed: Ray jobs never overlap, the pool fills the other lanes
            for m in ("handwritten_ray", "automl", "random", "handwritten_optuna"):
                specs.append({"kind": "search", "method": m, "seed": s, "name": f"{m}_s{s}", "space": str(space_path),
                              "work": runs_root, "threads": lane_threads, "search_epochs": plan["search_epochs"],
                              "trial_epochs": trial_epochs, "timeout_s": plan["search_timeout_s"],
                              "retrain_limit_s": plan["retrain_limit_s"],
                              "kill_after_s": 2 * STARTUP_S[m] + plan["search_timeout_s"] + plan["retrain_limit_s"] + 120})
    if specs and specs[0]["kind"] == "published" and len(specs) > 2:
        specs = [specs[2], specs[0], specs[1], *specs[3:]]  # the first Ray search starts at once
    if specs:
        log(f"[{_elapsed(t0)}] starting {len(specs)} search jobs, {lanes} at a time")
        deadline = t0 + mode["budget_s"] - 45 if mode["budget_s"] else None
        pool = Pool(work, lanes, deadline)
        results = pool.run(specs, lambda spec, res, secs_: log(f"[{_elapsed(t0)}] {_job_line(spec, res, secs_)}"))
        runs: dict[str, dict[int, dict]] = {}
        for spec in specs:
            if spec["kind"] == "search":
                runs.setdefault(spec["method"], {})[spec["seed"]] = results[spec["name"]]
        if 1 in sections:
            secs["search_efficiency"] = aggregate_search(runs, seeds)
            secs["search_efficiency"]["runs"] = runs
        if 4 in sections:
            automl_runs = runs.get("automl", {})
            per_seed = {str(s): (r.get("final") or {}).get("incumbent_test_acc") for s, r in automl_runs.items()
                        if "error" not in r}
            secs["published"] = {
                "mnist1d": {"published": MNIST1D_PUBLISHED, "automl_test_acc_per_seed": per_seed,
                            "automl_test_acc_mean": _mean([v for v in per_seed.values() if v is not None]),
                            "source": "section 1, automl default: the final incumbent of each seed, retrained, tested"},
                **{name: results[f"published_{name}"] for name in PUBLISHED_SPACES},
            }
    doc["wall_s"] = round(time.time() - t0, 1)
    (out / "benchmarks.json").write_text(json.dumps(doc, indent=1, default=str))
    md = markdown(doc)
    (out / "benchmarks.md").write_text(md)
    log(f"[{_elapsed(t0)}] wrote {out / 'benchmarks.json'} and {out / 'benchmarks.md'}\n")
    log(md)
    if out.resolve() == (ROOT / "results" / "benchmarks").resolve():  # the committed figures: into summary.json
        import summary

        summary.from_run(out / "benchmarks.json")
    if not args.work_dir and not args.keep_work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
