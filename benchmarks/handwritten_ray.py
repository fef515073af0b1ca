"""A minimal hand-written Ray Tune search on MNIST-1D with ASHA: what a user writes without automl.

Same model and training loop as benchmarks/handwritten_optuna.py (imported from it), the same ranges as
`tune.*` distributions, Tune's default random search, an ASHA scheduler on the validation accuracy, and one
`tune.report` per epoch. Ray runs locally (`ray.init(num_cpus=2, include_dashboard=False)`).

The budget is counted in training epochs summed over trials (one epoch = one reported result): a Tune
`Stopper` ends the whole experiment once it is reached. Trials run one at a time by default
(`--concurrency 1`) so that the epoch count and the incumbent trajectory compare one to one with the other
searches of the benchmark; each trial's seed is derived from its index and reported, so the harness can
retrain it exactly.

    python benchmarks/handwritten_ray.py --budget-epochs 300 --seed 0 [--out trials.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from handwritten_optuna import EPOCHS, TRIAL_SEED_STRIDE, load_data, train_model  # noqa: E402

SPACE = {  # the ranges of handwritten_optuna.suggest
    "n_layers": ("randint", 2, 5),  # upper bound exclusive
    "filters": ("lograndint", 16, 97),
    "kernel_size": ("choice", [3, 5, 7, 9]),
    "lr": ("loguniform", 1e-4, 3e-2),
    "batch_size": ("choice", [32, 64, 128]),
    "optimizer": ("choice", ["adam", "sgd"]),
}


def param_space() -> dict:
    from ray import tune

    return {k: getattr(tune, kind)(*args) for k, (kind, *args) in SPACE.items()}


def trainable(config: dict, data=None, seed: int = 0, epochs: int = EPOCHS, threads: int = 1) -> None:
    import torch
    from ray import tune

    torch.set_num_threads(threads)
    train, val = data
    index = int(tune.get_context().get_trial_id().rsplit("_", 1)[1])  # "<experiment>_00003" -> 3
    trial_seed = seed * TRIAL_SEED_STRIDE + index

    def report(epoch: int, acc: float) -> bool:
        tune.report({"val_accuracy": acc, "epoch": epoch, "seed": trial_seed, "index": index, "wall": time.time()})
        return False  # ASHA stops the trial inside tune.report

    train_model(config, train, val, seed=trial_seed, epochs=epochs, report=report)


def search(budget_epochs: int, seed: int = 0, *, epochs: int = EPOCHS, timeout: float | None = None,
           threads: int = 1, concurrency: int = 1, num_cpus: int = 2, data=None, storage: str | None = None) -> dict:
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    # Ray's workers import this file and handwritten_optuna by name: put benchmarks/ on their path.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    import logging

    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import BasicVariantGenerator

    class EpochBudget(tune.Stopper):
        def __init__(self) -> None:
            self.used = 0

        def __call__(self, trial_id: str, result: dict) -> bool:
            self.used += 1
            return False

        def stop_all(self) -> bool:
            return self.used >= budget_epochs

    class Collect(tune.Callback):  # every reported result, kept in the driver
        def __init__(self) -> None:
            self.rows: dict[str, list[dict]] = {}
            self.configs: dict[str, dict] = {}
            self.errors: dict[str, str] = {}

        def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
            self.configs[trial.trial_id] = {k: trial.config[k] for k in SPACE}
            self.rows.setdefault(trial.trial_id, []).append(
                {k: result[k] for k in ("val_accuracy", "epoch", "seed", "index", "wall", "time_this_iter_s")})

        def on_trial_error(self, iteration, trials, trial, **info) -> None:
            self.configs[trial.trial_id] = {k: trial.config[k] for k in SPACE}
            self.errors[trial.trial_id] = str(getattr(trial, "error_file", "") or "error")

    train, val = data if data is not None else load_data()
    # Tune's default random search queues up to 200 pending trials; keep it to what can run.
    os.environ.setdefault("TUNE_MAX_PENDING_TRIALS_PG", str(concurrency))
    t_start = time.time()
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
             logging_level=logging.WARNING)
    t_ready = time.time()
    storage = storage or tempfile.mkdtemp(prefix="handwritten_ray_")
    budget, collect = EpochBudget(), Collect()
    try:
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(trainable, data=(train, val), seed=seed, epochs=epochs,
                                                     threads=threads), {"cpu": 1}),
            param_space=param_space(),
            tune_config=tune.TuneConfig(
                metric="val_accuracy", mode="max", num_samples=budget_epochs,
                search_alg=BasicVariantGenerator(random_state=seed, max_concurrent=concurrency),
                scheduler=ASHAScheduler(max_t=epochs, grace_period=1, reduction_factor=2),
                time_budget_s=timeout,
            ),
            run_config=tune.RunConfig(name="mnist1d", storage_path=str(Path(storage).resolve()), stop=budget,
                                      callbacks=[collect], verbose=0),
        )
        tuner.fit()
        t_end = time.time()
    finally:
        ray.shutdown()
    trials = []
    for tid, config in collect.configs.items():
        rows = collect.rows.get(tid, [])
        if not rows:
            trials.append({"state": "FAIL", "error": collect.errors.get(tid, "no result"), "params": config,
                           "epochs_run": 0, "complete": False})
            continue
        last = rows[-1]
        n_epochs = int(last["epoch"])
        trials.append({
            "number": int(last["index"]), "params": config, "seed": int(last["seed"]), "epochs_run": n_epochs,
            "value": float(last["val_accuracy"]), "complete": n_epochs == epochs and tid not in collect.errors,
            "state": "FAIL" if tid in collect.errors else ("COMPLETE" if n_epochs == epochs else "STOPPED"),
            "started": rows[0]["wall"] - rows[0]["time_this_iter_s"], "finished": last["wall"],
            "val_accs": [float(r["val_accuracy"]) for r in rows], "threads": threads,
        })
    trials.sort(key=lambda t: (t.get("finished") or float("inf"), t.get("number", 0)))
    done = [t for t in trials if t["complete"]]
    best = max(done, key=lambda t: (t["value"], -t["number"])) if done else None
    return {"method": "handwritten_ray", "seed": seed, "budget_epochs": budget_epochs, "epochs_per_trial": epochs,
            "epochs_used": budget.used, "t_start": t_start, "ray_init_s": t_ready - t_start,
            "wall_s": t_end - t_start, "trials": trials,
            "best": {"value": best["value"], "params": best["params"]} if best else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-epochs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=EPOCHS, help="epochs per trial (ASHA's max_t)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds for the whole search")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per trial")
    ap.add_argument("--concurrency", type=int, default=1, help="trials at a time")
    ap.add_argument("--out", default=None, help="write the trials as JSON here")
    args = ap.parse_args()
    res = search(args.budget_epochs, args.seed, epochs=args.epochs, timeout=args.timeout, threads=args.threads,
                 concurrency=args.concurrency)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=2)
    print(f"{len(res['trials'])} trials, {res['epochs_used']} epochs, {res['wall_s']:.1f} s; best {res['best']}")


if __name__ == "__main__":
    main()
