"""A minimal hand-written Optuna search on MNIST-1D: what a user writes without automl.

Plain PyTorch 1D CNN whose shape comes from `trial.suggest_*` (2-4 conv layers, filters, kernel size), a plain
training loop, Adam or SGD with a log-uniform learning rate, TPE + MedianPruner, `trial.report` and
`trial.should_prune` after every epoch. No early stopping: a trial trains `--epochs` epochs unless pruned, and
its value is the validation accuracy after its last epoch (the model a user would keep).

The data is `automl.data.load_dataset({"name": "mnist1d"})`, so train/validation are the very splits the
automl searches use; the test split stays sealed (the benchmark harness reads it after the search).

The budget is counted in training epochs summed over trials: the study stops after the trial during which the
budget was reached (as automl's `--max-total-epochs` does). Every trial trains deterministically from its
recorded seed, so the harness can retrain any trial exactly.

    python benchmarks/handwritten_optuna.py --budget-epochs 300 --seed 0 [--out trials.json]

`build_model`, `train_model` and `accuracy` are reused by benchmarks/handwritten_ray.py (same model code).
"""

from __future__ import annotations

import argparse
import json
import time

import optuna
import torch
import torch.nn.functional as F
from torch import nn

EPOCHS = 30  # per trial, as max_epochs in search_spaces/mnist1d_cnn.yaml
TRIAL_SEED_STRIDE = 100_003  # trial seed = search seed * stride + trial number (automl uses the same rule)


def load_data():
    """(train, val) splits of MNIST-1D, identical to the automl searches' (the test split is not returned)."""
    from automl.data import load_dataset

    ds = load_dataset({"name": "mnist1d"})
    return ds.train, ds.val


# --- the model and the training loop -------------------------------------------------------------------------

def build_model(p: dict, length: int = 40, n_classes: int = 10) -> nn.Module:
    layers: list[nn.Module] = []
    c_in = 1
    for i in range(p["n_layers"]):
        layers += [nn.Conv1d(c_in, p["filters"], p["kernel_size"], padding=p["kernel_size"] // 2), nn.ReLU()]
        if i < 2:  # two max-pools: 40 -> 10
            layers.append(nn.MaxPool1d(2))
            length //= 2
        c_in = p["filters"]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c_in * length, n_classes))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.inference_mode():
        return (model(x).argmax(1) == y).float().mean().item()


def train_model(p: dict, train, val, *, seed: int, epochs: int, report=None):
    """Train for `epochs` epochs (or until `report(epoch, val_acc)` returns True); returns (model, val_accs)."""
    torch.manual_seed(seed)
    model = build_model(p)
    if p["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=p["lr"])
    else:
        opt = torch.optim.SGD(model.parameters(), lr=p["lr"], momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    x, y, n, bs = train.x, train.y, len(train.y), p["batch_size"]
    val_accs: list[float] = []
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_accs.append(accuracy(model, val.x, val.y))
        if report is not None and report(epoch, val_accs[-1]):
            break
    return model, val_accs


# --- the search ----------------------------------------------------------------------------------------------

def suggest(trial: optuna.Trial) -> dict:
    return {
        "n_layers": trial.suggest_int("n_layers", 2, 4),
        "filters": trial.suggest_int("filters", 16, 96, log=True),
        "kernel_size": trial.suggest_categorical("kernel_size", [3, 5, 7, 9]),
        "lr": trial.suggest_float("lr", 1e-4, 3e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128]),
        "optimizer": trial.suggest_categorical("optimizer", ["adam", "sgd"]),
    }


def search(budget_epochs: int, seed: int = 0, *, epochs: int = EPOCHS, timeout: float | None = None,
           threads: int = 1, data=None) -> dict:
    torch.set_num_threads(threads)
    train, val = data if data is not None else load_data()
    used = {"epochs": 0}

    def objective(trial: optuna.Trial) -> float:
        p = suggest(trial)
        trial_seed = seed * TRIAL_SEED_STRIDE + trial.number
        trial.set_user_attr("seed", trial_seed)
        t0 = time.perf_counter()

        def report(epoch: int, acc: float) -> bool:
            used["epochs"] += 1
            trial.set_user_attr("epochs_run", epoch)
            trial.report(acc, epoch)
            return trial.should_prune()

        _, accs = train_model(p, train, val, seed=trial_seed, epochs=epochs, report=report)
        trial.set_user_attr("seconds", time.perf_counter() - t0)
        trial.set_user_attr("last_value", accs[-1])
        trial.set_user_attr("val_accs", accs)
        if len(accs) < epochs:
            raise optuna.TrialPruned()
        return accs[-1]

    def stop_at_budget(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if used["epochs"] >= budget_epochs:
            study.stop()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner())
    t_start = time.time()
    study.optimize(objective, timeout=timeout, callbacks=[stop_at_budget])
    trials = []
    for t in study.trials:
        trials.append({
            "number": t.number, "state": t.state.name, "params": t.params, "seed": t.user_attrs.get("seed"),
            "epochs_run": t.user_attrs.get("epochs_run", 0), "value": t.user_attrs.get("last_value"),
            "complete": t.state == optuna.trial.TrialState.COMPLETE, "seconds": t.user_attrs.get("seconds"),
            "val_accs": t.user_attrs.get("val_accs"), "threads": threads,
            "started": t.datetime_start.timestamp() if t.datetime_start else None,
            "finished": t.datetime_complete.timestamp() if t.datetime_complete else None,
        })
    return {"method": "handwritten_optuna", "seed": seed, "budget_epochs": budget_epochs, "epochs_per_trial": epochs,
            "epochs_used": used["epochs"], "t_start": t_start, "wall_s": time.time() - t_start, "trials": trials,
            "best": {"value": study.best_value, "params": study.best_params} if any(x["complete"] for x in trials)
            else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-epochs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=EPOCHS, help="epochs per trial")
    ap.add_argument("--timeout", type=float, default=None, help="seconds for the whole search")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--out", default=None, help="write the trials as JSON here")
    args = ap.parse_args()
    res = search(args.budget_epochs, args.seed, epochs=args.epochs, timeout=args.timeout, threads=args.threads)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=2)
    print(f"{len(res['trials'])} trials, {res['epochs_used']} epochs, {res['wall_s']:.1f} s; best {res['best']}")


if __name__ == "__main__":
    main()
