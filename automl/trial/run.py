"""One objective for every backend, finalize and the tests: config + data -> trained model + TrialResult.

Failures never escape as exceptions: an infeasible architecture, a NaN loss, out-of-memory or any error
inside training becomes a result with `status` and `reason`, so a search records it and goes on.
"""

from __future__ import annotations

import functools
import gc
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import torch

from automl.data.dataset import Dataset
from automl.models import InfeasibleConfig, build_model, check_feasible
from automl.training import Reporter, TrialFailed, train
from automl.trial.watchdog import TrialTimeout, watchdog

STATUSES = ("complete", "pruned", "failed", "infeasible")


@dataclass
class TrialResult:
    status: str  # one of STATUSES
    value: float | None = None  # the objective at the best epoch (None when failed/infeasible)
    best_epoch: int = 0
    epochs_run: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_metrics: dict[str, float] = field(default_factory=dict)
    reason: str = ""  # why it failed / was infeasible / was pruned
    detail: str = ""  # traceback for unexpected errors
    seconds: float = 0.0
    n_params: int = 0
    stop_reason: str = ""
    samples_per_second: float = 0.0
    precision: str = "fp32"
    compiled: bool = False
    cost_metric: str = ""  # a cost objective (automl.finalize.pareto): its name, and its value for this trial
    cost: float | None = None
    model: torch.nn.Module | None = field(default=None, repr=False)  # kept only when asked
    audit: dict[str, Any] | None = None  # AUTOML_AUDIT_TEST_ARRAYS=1: what this trial's process holds

    def to_attrs(self) -> dict[str, Any]:
        """JSON-safe summary stored with the trial (Optuna user attrs, Ray results)."""
        return {**({"audit": self.audit} if self.audit is not None else {}),
                "status": self.status, "value": self.value, "best_epoch": self.best_epoch,
                "epochs_run": self.epochs_run, "history": self.history, "best_metrics": self.best_metrics,
                "reason": self.reason, "detail": self.detail[-4000:], "seconds": round(self.seconds, 4),
                "n_params": self.n_params, "stop_reason": self.stop_reason,
                "samples_per_second": round(self.samples_per_second, 1), "precision": self.precision,
                "compiled": self.compiled,
                **({"cost_metric": self.cost_metric, "cost": self.cost} if self.cost_metric else {})}


def _is_oom(e: BaseException) -> bool:
    oom_type = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    text = str(e).lower()
    return (oom_type is not None and isinstance(e, oom_type)) or "out of memory" in text or "can't allocate memory" in text


def run_trial(config: dict[str, Any], dataset: Dataset, *, objective_metric: str, direction: str,
              reporter: Reporter | None = None, device: str | torch.device = "cpu", seed: int = 0,
              max_epochs: int | None = None, keep_model: bool = False, precision: str = "fp32",
              compile: bool = False, timeout: float | None = None, cost_metric: str | None = None) -> TrialResult:
    """Build, train and validate one config. Reads train/val only: the test split stays sealed.

    `timeout` (seconds) stops a trial that hangs; it is recorded as failed with reason "timeout".
    `cost_metric` (n_params, latency_ms, train_seconds): the trial's cost is measured, recorded in `cost`, and
    passed to the reporter with every epoch's metrics (under its name: what the Pareto pruning rule reads)."""
    res = _run_trial(config, dataset, objective_metric=objective_metric, direction=direction, reporter=reporter,
                     device=device, seed=seed, max_epochs=max_epochs, keep_model=keep_model, precision=precision,
                     compile=compile, timeout=timeout, cost_metric=cost_metric)
    if os.environ.get("AUTOML_AUDIT_TEST_ARRAYS") == "1":  # evidence that search processes hold no test data
        from automl.data.dataset import test_arrays_in_process

        # and whether this process ran a data loader (an Optuna worker gets the driver's arrays: it never does)
        res.audit = {"pid": os.getpid(), "test_arrays_in_process": test_arrays_in_process(),
                     "dataset_holds_test_arrays": dataset.holds_test_arrays, "sklearn_imported": "sklearn" in sys.modules}
    return res


def _run_trial(config: dict[str, Any], dataset: Dataset, *, objective_metric: str, direction: str,
               reporter: Reporter | None, device: str | torch.device, seed: int, max_epochs: int | None,
               keep_model: bool, precision: str, compile: bool, timeout: float | None,
               cost_metric: str | None = None) -> TrialResult:
    t0 = time.perf_counter()
    result = functools.partial(TrialResult, precision=precision, compiled=bool(compile), cost_metric=cost_metric or "")  # what it trained with
    spec = dataset.spec
    model = None
    try:
        # inside the try: check_feasible raises ValueError for an invalid value (unknown activation, ...)
        reason = check_feasible(config, spec)
        if reason:
            return result("infeasible", reason=reason, seconds=time.perf_counter() - t0)
        with watchdog(timeout):
            torch.manual_seed(seed)
            model = build_model(config, spec)
            n_params = sum(p.numel() for p in model.parameters())
            upfront = None
            if cost_metric is not None:
                from automl.trial.cost import CostReporter, upfront_cost

                upfront = upfront_cost(cost_metric, model, n_params, dataset.val.x, device, precision)
                reporter = CostReporter(reporter, cost_metric, upfront)
            if callable(getattr(model, "automl_fit", None)):  # automl.testing.replay: no training (benchmarks)
                res = model.automl_fit(objective_metric=objective_metric, direction=direction, reporter=reporter,
                                       seed=seed, max_epochs=max_epochs)
            else:
                res = train(model, config.get("training", {}), dataset.train, dataset.val, spec.task,
                            objective_metric=objective_metric, direction=direction, reporter=reporter,
                            device=device, seed=seed, max_epochs=max_epochs, precision=precision, compile=compile)
    except TrialTimeout:
        return result("failed", reason=f"timeout: timed out after {timeout:g} s", detail=traceback.format_exc(),
                      seconds=time.perf_counter() - t0)
    except InfeasibleConfig as e:
        return result("infeasible", reason=str(e), seconds=time.perf_counter() - t0)
    except TrialFailed as e:
        msg = "non-finite loss (NaN/inf)" if e.reason == "nan" else e.reason
        detail = f"{msg} at epoch {e.epoch}" if e.epoch else msg
        return result("failed", reason=msg, detail=detail, history=e.history, epochs_run=len(e.history),
                      seconds=time.perf_counter() - t0)
    except Exception as e:  # recorded, never fatal to the search
        if _is_oom(e):
            model = None
            e.__traceback__ = None  # the traceback's frames hold the failed tensors
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            return result("failed", reason="out of memory", detail=str(e)[:2000], seconds=time.perf_counter() - t0)
        return result("failed", reason=f"{type(e).__name__}: {e}"[:500], detail=traceback.format_exc(),
                      seconds=time.perf_counter() - t0)
    value = res.best_value
    status = "pruned" if res.stop_reason == "reporter" else "complete"
    if value is None or not math.isfinite(value):
        status, reason = "failed", f"objective {objective_metric} is not finite ({value})"
    return result(
        status=status, value=None if status == "failed" else float(value), best_epoch=res.best_epoch,
        epochs_run=res.epochs_run, history=res.history, best_metrics=res.best_metrics,
        reason=reason or ("pruned by the scheduler on its validation curve" if status == "pruned" else ""),
        seconds=time.perf_counter() - t0, n_params=n_params, stop_reason=res.stop_reason,
        samples_per_second=res.samples_per_second, model=model if keep_model else None,
        cost=None if cost_metric is None else (res.train_seconds if upfront is None else upfront),
    )
