"""What Tune runs per trial: flat params -> nested config -> `run_trial` with the shared trial options ->
one `tune.report` per epoch and one final row (status, reason, history, threads). Failures are results.

Schedulers that pause trials (`hyperband`, `bohb`) or clone them (`pbt`) need checkpoints. `run_trial` keeps
no optimizer state between calls, so a checkpoint here is the trial's epoch count: a restored trial re-trains
its config deterministically (same seed) up to that epoch without reporting, then carries on. For HyperBand
and BOHB that reproduces the paused trial exactly (at the cost of recomputing its epochs); for PBT an
exploiting trial re-trains the perturbed config from scratch up to the cloned epoch instead of inheriting
weights, so the finished trial is always "this config trained for its epochs", which finalize reproduces.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl.backends.ray.bohb import BOHBParams
from automl.space import config_from_params
from automl.space.params import Space
from automl.trial import Decision, shielded, trial_seed


def trial_number(name: str) -> int | None:
    m = re.match(r"trial_(\d+)_", name or "")
    return int(m.group(1)) if m else None


def params_of(config: dict[str, Any]) -> dict[str, Any]:
    """The flat sampled params of a Tune trial config ({"p": {...}} under PBT, flat otherwise)."""
    if isinstance(config.get("p"), dict):
        return dict(config["p"])
    return {k: v for k, v in config.items() if not k.startswith("_")}


@dataclass
class TrialContext:
    """What every trial needs besides its params and the dataset (shipped once with `tune.with_parameters`)."""

    space: Space
    metric: str
    direction: str
    seed: int
    device: str
    threads: int
    precision: str
    compile: bool
    trial_timeout: float | None
    checkpointing: bool
    bohb_choices: dict[str, dict[str, Any]] | None = None
    done: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> ledger entry (resume)


class TuneReporter:
    """Reporter adapter: one `tune.report` per epoch with everything a stopped trial needs to be recorded
    (Ray ends the function inside `tune.report` when the scheduler stops the trial). Epochs up to
    `resume_epoch` are re-trained silently (the replay after a pause or a PBT clone)."""

    def __init__(self, base: dict[str, Any], metric: str, direction: str, resume_epoch: int,
                 checkpointing: bool, params: dict[str, Any]) -> None:
        self.base, self.metric, self.direction = base, metric, direction
        self.resume_epoch, self.checkpointing, self.params = resume_epoch, checkpointing, params
        self.best: float | None = None
        self.best_epoch = 0
        self.t0 = time.perf_counter()
        self.replayed: list[dict[str, float]] = []
        self.report_s = 0.0  # time blocked in tune.report (the driver's round trip), for the overhead breakdown

    def report(self, epoch: int, metrics: dict[str, float]) -> Decision:
        v = metrics.get(self.metric)
        if v is not None and math.isfinite(v) and (
                self.best is None or (v > self.best if self.direction == "maximize" else v < self.best)):
            self.best, self.best_epoch = float(v), epoch
        if epoch <= self.resume_epoch:
            self.replayed.append({"epoch": epoch, **metrics})
            return Decision.CONTINUE
        row = {**self.base, **metrics, "epoch": epoch, "automl_kind": "epoch", "metric_names": sorted(metrics),
               "best_value": self.best, "best_epoch": self.best_epoch,
               "trial_seconds": round(time.perf_counter() - self.t0, 4), "t": time.time()}
        if self.replayed:
            row["replayed_history"], self.replayed = self.replayed, []
        t = time.perf_counter()
        row["report_s"] = round(self.report_s, 4)  # the earlier epochs' round trips
        with shielded():  # a trial timeout must not tear Tune's report (deferred until it is done)
            self.report_s -= t  # += the time tune.report blocks, even when it ends the trial (SystemExit)
            try:
                self._report(row, epoch)
            finally:
                self.report_s += time.perf_counter()
        return Decision.CONTINUE

    def _report(self, row: dict[str, Any], epoch: int) -> None:
        from ray import tune

        if self.checkpointing:
            d = tempfile.mkdtemp(prefix="automl_ckpt_")
            try:
                Path(d, "state.json").write_text(json.dumps({"epoch": epoch, "params": self.params}))
                tune.report(row, checkpoint=tune.Checkpoint.from_directory(d))
            finally:
                shutil.rmtree(d, ignore_errors=True)
        else:
            tune.report(row)  # raises SystemExit here when the scheduler stops the trial


class SharedData:
    """The dataset in Ray's object store, resolved once per worker process: `tune.with_parameters` would fetch and
    unpickle (copy) it for every trial, while a reused actor runs many trials on the same data."""

    _cache: dict[str, Any] = {}  # object id -> dataset (this process; only the newest search's)

    def __init__(self, ref: Any) -> None:
        self.ref = ref

    def get(self) -> tuple[Any, bool]:
        """(the dataset, whether this call fetched it from the object store)."""
        key = self.ref.hex()
        fetched = key not in self._cache
        if fetched:
            import ray

            self._cache.clear()
            self._cache[key] = ray.get(self.ref)
        return self._cache[key], fetched


def warm_process() -> None:
    """A local Ray's `worker_process_setup_hook`: each worker process imports what a trial's actor needs (torch,
    the trainer, Tune's function trainable) when it starts (Ray prestarts them at `ray.init`), so the first
    trials do not wait for these imports. Never fails a worker: a failed import is left to the trial."""
    with contextlib.suppress(Exception):
        import ray.tune.trainable.function_trainable  # noqa: F401
        import torch  # noqa: F401

        import automl.trial  # noqa: F401
        from automl.training import set_num_threads  # noqa: F401


def _process_start() -> float | None:
    """When this worker process started (the overhead breakdown: a trial that waited for a fresh process)."""
    try:
        import psutil

        return float(psutil.Process().create_time())
    except Exception:
        return None


def ray_trainable(config: dict[str, Any], data: Any = None, ctx: TrialContext | None = None) -> None:
    """The function Tune runs per trial (see the module docstring); failures are results, never exceptions."""
    entered = time.time()  # before the imports: the first trial of a fresh actor process pays them
    import ray
    import torch
    from ray import tune

    from automl.training import set_num_threads
    from automl.trial import TrialResult, run_trial

    t_in = time.perf_counter()
    assert ctx is not None and data is not None
    fetched = True
    if isinstance(data, SharedData):
        data, fetched = data.get()
    tctx = tune.get_context()
    number = trial_number(tctx.get_trial_name()) or 0
    params = params_of(config)
    if ctx.bohb_choices is not None:
        params = BOHBParams(ctx.bohb_choices)(params)
    prior = ctx.done.get(number)
    if prior is not None and prior.get("params") == params:
        # finished before the driver died (after Tune's last snapshot): hand its final row back, train nothing
        if prior.get("final_row"):
            tune.report({**prior["final_row"], "automl_restored": True})
        return
    set_num_threads(max(1, int(ctx.threads)))
    seed = trial_seed(ctx.seed, number)
    resume_epoch = 0
    ckpt = tune.get_checkpoint()
    if ckpt is not None:
        with ckpt.as_directory() as d, contextlib.suppress(OSError, ValueError):
            resume_epoch = int(json.loads(Path(d, "state.json").read_text()).get("epoch", 0))
    base = {
        "attempt": uuid.uuid4().hex[:8], "number": number, "node_id": ray.get_runtime_context().get_node_id(),
        "host": socket.gethostname(), "pid": os.getpid(), "seed": seed, "device": ctx.device,
        "threads": torch.get_num_threads(), "trial_start": time.time(), "resumed_from": resume_epoch,
        "entered": entered, "process_start": _process_start(), "data_fetched": fetched,
    }
    t0 = time.perf_counter()
    try:
        cfg = config_from_params(ctx.space, params)
    except Exception as e:  # params that do not fit the space (e.g. a perturbation gone wrong)
        cfg = None
        bad = f"{type(e).__name__}: {e}"
    if ctx.bohb_choices is not None:  # Tune's config holds BOHB's JSON labels; rows carry the decoded params
        base["automl_params"] = params
    base["max_epochs"] = int((cfg or {}).get("training", {}).get("max_epochs") or 20)
    reporter = TuneReporter(base, ctx.metric, ctx.direction, resume_epoch, ctx.checkpointing, params)
    t_run = time.perf_counter()
    if cfg is None:
        final = TrialResult("failed", reason=f"params do not rebuild a config: {bad}"[:500], detail=bad,
                            seconds=time.perf_counter() - t0).to_attrs()
    else:
        final = run_trial(cfg, data, objective_metric=ctx.metric, direction=ctx.direction, reporter=reporter,
                          device=ctx.device, seed=seed, precision=ctx.precision, compile=ctx.compile,
                          timeout=ctx.trial_timeout).to_attrs()
    value = final.get("value")
    row = {**base, **final, ctx.metric: float(value) if value is not None else math.nan,
           "epoch": int(final.get("epochs_run") or 0), "automl_kind": "final", "t": time.time(),
           "trial_seconds": round(time.perf_counter() - t0, 4), "best_value": value,
           "report_s": round(reporter.report_s, 4), "setup_s": round(t_run - t_in, 4)}
    tune.report(row)


