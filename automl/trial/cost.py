"""A trial's cost (the second objective of a Pareto search, automl/finalize/pareto.py), measured where it trains.

`n_params` and `latency_ms` are known before the first epoch, which is what lets the Pareto rule prune on them;
`train_seconds` grows with every epoch, so the reporter is given the seconds so far (a lower bound).
"""

from __future__ import annotations

import contextlib
import statistics
import time
from typing import Any

import torch

from automl.training.reporter import Decision, NullReporter, Reporter

_AMP = {"bf16": torch.bfloat16, "fp16": torch.float16}


def inference_latency_ms(model: torch.nn.Module, sample: torch.Tensor, device: Any, precision: str = "fp32",
                         min_seconds: float = 0.05, max_reps: int = 50) -> float:
    """Median milliseconds of one forward pass on one sample (batch size 1) under inference mode, on `device`,
    after a short warm-up. The model is left on `device`, in train mode."""
    dev = torch.device(device)
    model.to(dev)
    was_training = model.training
    model.eval()
    x = sample[:1].to(dev)
    amp = _AMP.get(precision)
    ctx = (lambda: torch.autocast(dev.type, dtype=amp)) if amp and not (amp is torch.float16 and dev.type != "cuda") \
        else contextlib.nullcontext
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times: list[float] = []
    try:
        with torch.inference_mode(), ctx():
            for _ in range(3):
                model(x)
            sync()
            start = time.perf_counter()
            while len(times) < max_reps and (len(times) < 5 or time.perf_counter() - start < min_seconds):
                t = time.perf_counter()
                model(x)
                sync()
                times.append(time.perf_counter() - t)
    finally:
        model.train(was_training)
    return 1000.0 * statistics.median(times)


def upfront_cost(cost_metric: str, model: torch.nn.Module, n_params: int, val_x: torch.Tensor, device: Any,
                 precision: str) -> float | None:
    """The cost known before training (None for train_seconds, which is only known at the end)."""
    if cost_metric == "n_params":
        return float(n_params)
    if cost_metric == "latency_ms":
        return inference_latency_ms(model, val_x, device, precision)
    return None


class CostReporter:
    """Adds the trial's cost (or, for train_seconds, the seconds so far) to every epoch's metrics."""

    def __init__(self, inner: Reporter | None, cost_metric: str, upfront: float | None) -> None:
        self.inner = inner if inner is not None else NullReporter()
        self.cost_metric = cost_metric
        self.upfront = upfront
        self.t0 = time.perf_counter()

    def report(self, epoch: int, metrics: dict[str, float]) -> Decision:
        cost = self.upfront if self.upfront is not None else time.perf_counter() - self.t0
        return self.inner.report(epoch, {**metrics, self.cost_metric: float(cost)})
