"""A zero-training objective for measuring the search machinery itself (benchmarks/scale.py, tests/test_scale.py).

A space names this module as its model factory:

    model:
      factory: automl.testing.replay:build
      x1: {low: 0.0, high: 1.0}         # any numeric hyperparameters: they shape the replayed curve
      x2: {low: 0.0, high: 1.0}
      sleep: 0.0                        # seconds per epoch (0 to 1): stands in for training time

Each trial then goes through the real CLI, backend, storage, reporter, pruner and finalize path, but instead of
training, the model's `automl_fit` replays a seeded synthetic learning curve (the final value a smooth function
of the hyperparameters, approached exponentially over the epochs, with seeded noise) and sleeps `sleep` seconds
per epoch. Whatever time a search then spends beyond `epochs x sleep` per trial is automl's and the backend's
own overhead. `run_trial` calls `automl_fit` only on a model that defines it; built-in families and user
factories do not, so normal searches are unchanged.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from automl.trial.reporter import Decision, NullReporter, Reporter

FIXED_KEYS = ("sleep", "curve")  # model keys that are not hyperparameters of the curve


def curve_value(params: Mapping[str, Any], epoch: int, seed: int) -> float:
    """Validation accuracy at `epoch` (1-based): a final level in (0.55, 0.95) peaked at x_i = 0.3 + 0.4 * i / n,
    reached with a time constant that also depends on the config, plus seeded per-epoch noise."""
    xs = [float(v) for k, v in sorted(params.items())
          if k not in FIXED_KEYS and isinstance(v, (int, float)) and not isinstance(v, bool)]
    n = max(1, len(xs))
    dist = sum((x - (0.3 + 0.4 * i / n)) ** 2 for i, x in enumerate(xs)) / n
    final = 0.55 + 0.4 * math.exp(-4.0 * dist)
    tau = 1.0 + 4.0 * (xs[0] % 1.0 if xs else 0.5)
    noise = random.Random(seed * 7919 + epoch).gauss(0.0, 0.005)
    return min(0.999, max(0.0, final * (1.0 - 0.5 * math.exp(-epoch / tau)) + noise))


class ReplayModel(nn.Module):
    """One parameter (so finalize, predict and export see a real module) and a constant output."""

    def __init__(self, config: Mapping[str, Any], n_out: int) -> None:
        super().__init__()
        self.params = dict(config.get("model", {}))
        self.training_cfg = dict(config.get("training", {}))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(x.shape[0], -1) + 0.0 * x.reshape(x.shape[0], -1)[:, :1]

    def automl_fit(self, *, objective_metric: str, direction: str, reporter: Reporter | None = None,
                   seed: int = 0, max_epochs: int | None = None) -> Any:
        """Replay the curve epoch by epoch through `reporter` (the backend's pruner may stop it) and return the
        `TrainResult` the trainer would: the best epoch's metrics, the curve, the stop reason."""
        from automl.training.trainer import TrainResult

        t0 = time.perf_counter()
        reporter = reporter if reporter is not None else NullReporter()
        epochs = int(max_epochs if max_epochs is not None else self.training_cfg.get("max_epochs", 10))
        sleep = float(self.params.get("sleep", 0.0) or 0.0)
        history: list[dict[str, float]] = []
        best: tuple[float, int, dict[str, float]] | None = None
        stop_reason, epoch = "max_epochs", 0
        sign = 1.0 if direction == "maximize" else -1.0
        for epoch in range(1, epochs + 1):
            if sleep > 0:
                time.sleep(sleep)
            acc = curve_value(self.params, epoch, seed)
            metrics = {"train_loss": 1.0 - acc + 0.02, "val_loss": 1.0 - acc, "val_accuracy": acc,
                       "val_auroc": acc, "val_balanced_accuracy": acc}
            metrics.setdefault(objective_metric, acc if direction == "maximize" else 1.0 - acc)
            history.append({"epoch": epoch, "lr": float(self.training_cfg.get("lr", 0.0) or 0.0), **metrics})
            value = metrics[objective_metric]
            if best is None or sign * value > sign * best[0]:
                best = (value, epoch, dict(metrics))
            if reporter.report(epoch, dict(metrics)) == Decision.STOP and epoch < epochs:  # as Trainer.fit
                stop_reason = "reporter"
                break
        assert best is not None
        return TrainResult(history=history, best_epoch=best[1], best_metrics=best[2], epochs_run=epoch,
                           stop_reason=stop_reason, state_dict={k: v.detach().cpu() for k, v in self.state_dict().items()},
                           train_seconds=time.perf_counter() - t0, samples_per_second=math.nan,
                           objective_metric=objective_metric, direction=direction, best_value=float(best[0]))


def build(config: Mapping[str, Any], data_spec: Any) -> nn.Module:
    """The factory a space names (`automl.testing.replay:build`)."""
    return ReplayModel(config, int(data_spec.n_outputs))
