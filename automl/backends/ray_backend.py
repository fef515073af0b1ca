"""The cluster backend: Ray Tune runs `run_trial` on every node of a Ray cluster (or a local Ray).

Same space, same objective, same run directory as the Optuna backend; only the execution differs:

* sampling: Ray's `OptunaSearch` with a define-by-run function (`tpe` or `random`), so conditional and
  repeated parameters reach Tune unchanged; `bohb` uses `TuneBOHB` over a ConfigSpace built from the same
  space (conditions included); `pbt` starts from a seeded random population (Ray allows no searcher with PBT);
* early stopping: a Tune scheduler (`asha`, `hyperband`, `bohb`, `median`, `pbt`, `fifo`) on the validation
  objective, with epochs as the time attribute (`epoch` in every result);
* data: the dataset is loaded once in the driver and shipped through the object store
  (`tune.with_parameters`); the test split never leaves the driver;
* results: every epoch is one `tune.report`; a trial that returns reports one final row with its status,
  reason, history and timings. The driver also appends each finished trial to `ray_trials.jsonl` in the run
  dir (written at once, fsync'd), so a driver killed between two Tune snapshots loses nothing: `load_trials`
  merges Tune's experiment with that ledger into the backend-neutral `TrialRecord`s, and `resume` does not
  train a finished trial again.

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
import logging
import math
import os
import random
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ray.tune import Callback

from automl.reporter import Decision
from automl.space import SearchSpace, config_from_params, load_space, sample
from automl.space.errors import UserInputError
from automl.space.params import Categorical, Condition, Fixed, Float, Int, Param, Repeat, Section, Space
from automl.space.sampling import RandomSuggest
from automl.store.records import TrialRecord
from automl.store.run import RunInfo, create_run, load_run

SCHEDULERS = ("asha", "hyperband", "bohb", "median", "pbt", "fifo")
SEARCHERS = ("tpe", "random")
CHECKPOINTING = ("hyperband", "bohb", "pbt")  # schedulers that pause/clone trials
EXPERIMENT = "tune"  # the Tune experiment folder under storage_path
LEDGER = "ray_trials.jsonl"
log = logging.getLogger(__name__)


@dataclass
class RaySettings:
    """Everything that decides a Ray search besides the space; CLI flags override the space's `search:`."""

    scheduler: str = "asha"
    searcher: str = "tpe"
    trials: int | None = None
    timeout: float | None = None
    seed: int = 0
    address: str | None = None  # None: start a local Ray; "auto", "HOST:PORT" or "ray://HOST:PORT"
    max_concurrent: int | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    storage_path: str | None = None  # Tune's experiment storage; default: the run dir
    device: str | None = None  # default: cuda when gpus_per_trial > 0, else cpu
    min_epochs: int = 1  # ASHA grace period / median grace period
    reduction_factor: int = 3
    startup_trials: int = 10
    max_failures: int = 2  # retries of a trial whose process or node died
    reuse_actors: bool = True
    pbt_interval: int | None = None  # epochs between PBT perturbations (default max_epochs // 4)
    num_cpus: int | None = None  # local Ray only: CPUs it may use (default: all)

    @classmethod
    def from_space(cls, space: SearchSpace, **overrides: Any) -> RaySettings:
        keys = ("trials", "timeout", "seed", "min_epochs", "reduction_factor", "startup_trials")
        values = {k: v for k, v in space.search.items() if k in keys and v is not None}
        if space.search.get("sampler") in SEARCHERS:
            values["searcher"] = space.search["sampler"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key, hint in _OPTUNA_ONLY.items():
            if values.pop(key, None) is not None and key in overrides:
                raise UserInputError(f"--{key.replace('_', '-')} belongs to the Optuna backend; with --backend ray {hint}.")
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise UserInputError(f"Unknown Ray backend setting(s): {', '.join(unknown)}.")
        s = cls(**values)
        s.validate()
        return s

    def validate(self) -> None:
        if self.scheduler not in SCHEDULERS:
            raise UserInputError(f"--scheduler {self.scheduler!r} is not a Ray Tune scheduler here; "
                                 f"allowed: {', '.join(SCHEDULERS)}.")
        if self.searcher not in SEARCHERS:
            raise UserInputError(f"--searcher {self.searcher!r} is not supported with --backend ray; "
                                 f"allowed: {', '.join(SEARCHERS)}.")
        if self.trials is not None and self.trials < 1:
            raise UserInputError(f"--trials {self.trials} must be at least 1.")
        if self.timeout is not None and self.timeout <= 0:
            raise UserInputError(f"--timeout {self.timeout} must be a positive number of seconds.")
        if self.max_concurrent is not None and self.max_concurrent < 1:
            raise UserInputError(f"--max-concurrent {self.max_concurrent} must be at least 1.")
        if self.cpus_per_trial <= 0:
            raise UserInputError(f"--cpus-per-trial {self.cpus_per_trial} must be positive.")
        if self.gpus_per_trial < 0:
            raise UserInputError(f"--gpus-per-trial {self.gpus_per_trial} must be 0 or more (fractions allowed).")
        if self.max_failures < 0:
            raise UserInputError(f"max_failures {self.max_failures} must be 0 or more.")
        if self.address is not None and not self.address.strip():
            raise UserInputError("--address is empty; use auto, HOST:PORT or ray://HOST:PORT.")

    @property
    def trial_device(self) -> str:
        return self.device or ("cuda" if self.gpus_per_trial > 0 else "cpu")


_OPTUNA_ONLY = {
    "sampler": "use --searcher tpe|random (or --scheduler bohb)",
    "pruner": "use --scheduler asha|hyperband|bohb|median|pbt|fifo",
    "workers": "use --max-concurrent N (trials run wherever the cluster has --cpus-per-trial free)",
    "max_total_epochs": "use --trials or --timeout",
    "storage": "use --storage-path (a folder, shared filesystem or cloud URI for Tune's experiment)",
}


# --- define-by-run sampling (picklable: Tune saves the searcher with the experiment) --------------------------

class DefineByRun:
    """`OptunaSearch(space=DefineByRun(space))`: the neutral space sampled with the Optuna trial Tune gives."""

    def __init__(self, space: Space) -> None:
        self.space = space

    def __call__(self, trial: Any) -> None:
        sample(self.space, trial)
        return None


class RandomPopulation:
    """PBT's initial population: `tune.sample_from` calls this once per trial (seeded, conditional-aware)."""

    def __init__(self, space: Space, seed: int) -> None:
        self.space, self.seed, self.n = space, seed, 0

    def __call__(self, spec: Any = None) -> dict[str, Any]:
        self.n += 1
        return sample(self.space, RandomSuggest(self.seed * 1_000_003 + self.n)).params


class PerturbFloats:
    """PBT explore step: every float parameter of the trial is multiplied by 0.8 or 1.2 (clipped to its
    range), or resampled with probability 0.25. Categorical, integer and structural parameters are left
    alone, so the perturbed params still describe a valid config of the same space."""

    def __init__(self, space: Space, seed: int) -> None:
        self.space = space
        self.rng = random.Random(seed)

    def __call__(self, config: dict[str, Any]) -> dict[str, Any]:
        params = dict(config.get("p") or {})
        for name, value in list(params.items()):
            try:
                dist = self.space.find(name).dist
            except KeyError:
                continue
            if not isinstance(dist, Float):
                continue
            if self.rng.random() < 0.25:
                new = RandomSuggest(self.rng).suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
            else:
                new = min(max(float(value) * self.rng.choice((0.8, 1.2)), dist.low), dist.high)
            params[name] = float(new)
        return {**config, "p": params}


class TrialNamer:
    """Trial names/dirs `trial_00007_<id>`: the number is the creation index (the searcher's counter)."""

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def __call__(self, trial: Any) -> str:
        m = re.match(r"\d+", str(trial.experiment_tag))
        n = int(m.group()) - self.offset if m else 0
        return f"trial_{n:05d}_{trial.trial_id}"


def trial_number(name: str) -> int | None:
    m = re.match(r"trial_(\d+)_", name or "")
    return int(m.group(1)) if m else None


def params_of(config: dict[str, Any]) -> dict[str, Any]:
    """The flat sampled params of a Tune trial config ({"p": {...}} under PBT, flat otherwise)."""
    if isinstance(config.get("p"), dict):
        return dict(config["p"])
    return {k: v for k, v in config.items() if not k.startswith("_")}


# --- ConfigSpace for BOHB -----------------------------------------------------------------------------------

def configspace_from(space: Space, seed: int = 0) -> Any:
    """The space as a ConfigSpace with its conditions: `when:` becomes InCondition, a layer of a repeated group
    exists when the layer count is greater than its index. Fixed values are left out (the trainable's
    `config_from_params` supplies them)."""
    try:
        import ConfigSpace as CS
    except ImportError:
        raise UserInputError(_BOHB_MISSING) from None

    cs = CS.ConfigurationSpace(seed=seed)
    hps: dict[str, Any] = {}
    fixed: dict[str, Any] = {}
    choices_map: dict[str, dict[str, Any]] = {}

    def make(name: str, p: Param) -> Any:
        d = p.dist
        if isinstance(d, Float):
            return CS.UniformFloatHyperparameter(name, lower=d.low, upper=d.high, log=d.log)
        if isinstance(d, Int):
            return CS.UniformIntegerHyperparameter(name, lower=d.low, upper=d.high, log=d.log)
        assert isinstance(d, Categorical)
        labels = [json.dumps(c) for c in d.choices]  # ConfigSpace wants str/number choices; bools survive as JSON
        choices_map[name] = dict(zip(labels, d.choices, strict=True))
        return CS.CategoricalHyperparameter(name, labels)

    def parent_condition(child: Any, cond: Condition, layer: int | None) -> Any | bool | None:
        path = cond.path.replace("{i}", str(layer)) if layer is not None else cond.path
        if path in fixed:
            return any(fixed[path] == v for v in cond.values)  # static: True (always) / False (never)
        parent = hps.get(path)
        if parent is None:
            return False
        if path in choices_map:
            labels = [lab for lab, v in choices_map[path].items() if any(v == c for c in cond.values)]
            return CS.InCondition(child, parent, labels) if labels else False
        return CS.InCondition(child, parent, list(cond.values))

    def add(name: str, p: Param, extra: list[Any], layer: int | None, pending: list[Any]) -> None:
        if isinstance(p.dist, Fixed):
            fixed[name] = p.dist.value
            return
        hp = make(name, p)
        conds: list[Any] = []
        for c in extra:
            conds.append(c(hp))
        for cond in p.when:
            conds.append(parent_condition(hp, cond, layer))
        if any(c is False for c in conds):
            return  # can never be active
        conds = [c for c in conds if c is not True and c is not None]
        cs.add(hp)
        hps[name] = hp
        if len(conds) == 1:
            pending.append(conds[0])
        elif conds:
            pending.append(CS.AndConjunction(*conds))

    def count_condition(rep: Repeat, layer: int) -> Callable[[Any], Any]:
        def cond(hp: Any) -> Any:
            if isinstance(rep.count, int):
                return layer < rep.count
            if rep.count in fixed:
                return layer < int(fixed[rep.count])
            parent = hps.get(rep.count)
            if parent is None:
                return False
            lo = int(getattr(parent, "lower", min(int(c) for c in choices_map.get(rep.count, {"0": 0}).values())))
            if layer < lo:
                return True
            return CS.GreaterThanCondition(hp, parent, layer)
        return cond

    def walk(sec: Section, prefix: str) -> None:
        for child in sec.children:
            flat = f"{prefix}{child.name}"
            pending: list[Any] = []
            if isinstance(child, Section):
                walk(child, flat + ".")
            elif isinstance(child, Param):
                add(flat, child, [], None, pending)
            else:
                n = space.max_count(child)
                for p in child.body:
                    if p.name in child.shared:
                        add(f"{flat}.{p.name}", p, [count_condition(child, 0)], 0, pending)
                for i in range(n):
                    for p in child.body:
                        if p.name not in child.shared:
                            add(f"{flat}.{i}.{p.name}", p, [count_condition(child, i)], i, pending)
            for c in pending:
                cs.add(c)

    walk(space.root, "")
    cs.automl_choices = choices_map  # type: ignore[attr-defined]
    return cs


_BOHB_MISSING = ("--scheduler bohb needs the packages ConfigSpace and hpbandster (Ray's TuneBOHB); install them "
                 "with `pip install 'automl[bohb]'` (or `pip install ConfigSpace hpbandster`), or use "
                 "--scheduler asha or hyperband.")


class BOHBParams:
    """Turns a TuneBOHB suggestion back into our flat params (JSON labels -> values, numpy -> Python)."""

    def __init__(self, choices: dict[str, dict[str, Any]]) -> None:
        self.choices = choices

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in params.items():
            if k in self.choices:
                out[k] = self.choices[k].get(v, v)
            elif hasattr(v, "item"):
                out[k] = v.item()
            else:
                out[k] = v
        return out


# --- the trainable ------------------------------------------------------------------------------------------

@dataclass
class TrialContext:
    """What every trial needs besides its params and the dataset (shipped once with `tune.with_parameters`)."""

    space: Space
    metric: str
    direction: str
    seed: int
    device: str
    threads: int
    checkpointing: bool
    scheduler: str
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

    def report(self, epoch: int, metrics: dict[str, float]) -> Decision:
        from ray import tune

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
        if self.checkpointing:
            d = tempfile.mkdtemp(prefix="automl_ckpt_")
            try:
                Path(d, "state.json").write_text(json.dumps({"epoch": epoch, "params": self.params}))
                tune.report(row, checkpoint=tune.Checkpoint.from_directory(d))
            finally:
                shutil.rmtree(d, ignore_errors=True)
        else:
            tune.report(row)  # raises SystemExit here when the scheduler stops the trial
        return Decision.CONTINUE


def ray_trainable(config: dict[str, Any], data: Any = None, ctx: TrialContext | None = None) -> None:
    """The function Tune runs per trial: flat params -> nested config -> `run_trial` -> per-epoch reports and
    one final row (status, reason, history). Failures are results, never exceptions."""
    import ray
    from ray import tune

    from automl.training import set_num_threads
    from automl.trial import run_trial

    assert ctx is not None and data is not None
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
    seed = int(ctx.seed) * 100_003 + number
    resume_epoch = 0
    ckpt = tune.get_checkpoint()
    if ckpt is not None:
        with ckpt.as_directory() as d, contextlib.suppress(OSError, ValueError):
            resume_epoch = int(json.loads(Path(d, "state.json").read_text()).get("epoch", 0))
    base = {
        "attempt": uuid.uuid4().hex[:8], "number": number, "node_id": ray.get_runtime_context().get_node_id(),
        "host": socket.gethostname(), "pid": os.getpid(), "seed": seed, "device": ctx.device,
        "trial_start": time.time(), "resumed_from": resume_epoch,
    }
    t0 = time.perf_counter()
    try:
        cfg = config_from_params(ctx.space, params)
    except Exception as e:  # params that do not fit the space (e.g. a perturbation gone wrong)
        cfg = None
        bad = f"{type(e).__name__}: {e}"
    base["max_epochs"] = int((cfg or {}).get("training", {}).get("max_epochs") or 20)
    reporter = TuneReporter(base, ctx.metric, ctx.direction, resume_epoch, ctx.checkpointing, params)
    if cfg is None:
        final = {"status": "failed", "reason": f"params do not rebuild a config: {bad}"[:500], "detail": bad,
                 "history": [], "best_epoch": 0, "epochs_run": 0, "n_params": 0, "stop_reason": "",
                 "value": None, "seconds": time.perf_counter() - t0, "samples_per_second": 0.0}
    else:
        res = run_trial(cfg, data, objective_metric=ctx.metric, direction=ctx.direction, reporter=reporter,
                        device=ctx.device, seed=seed)
        final = res.to_attrs()
    value = final.get("value")
    row = {**base, **final, ctx.metric: float(value) if value is not None else math.nan,
           "epoch": int(final.get("epochs_run") or 0), "automl_kind": "final", "t": time.time(),
           "trial_seconds": round(time.perf_counter() - t0, 4), "best_value": value}
    tune.report(row)


# --- Ray connection -----------------------------------------------------------------------------------------

_DRIVER_ENV = {
    "RAY_CHDIR_TO_TRIAL_DIR": "0",  # no per-trial chdir (workers of a local Ray inherit it; runtime_env for clusters)
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",  # JSON + CSV loggers are added explicitly, no TensorBoard files
    "RAY_AIR_NEW_OUTPUT": "0",  # with verbose=0: no Tune tables on the console, our progress lines only
}


def _token_available() -> bool:
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return True
    return (Path.home() / ".ray" / "auth_token").exists()


def _token_mode() -> None:
    """RAY_AUTH_MODE=token for this process; Ray caches its config at import, so refresh it too."""
    os.environ["RAY_AUTH_MODE"] = "token"
    with contextlib.suppress(Exception):
        from ray._raylet import Config

        Config.initialize("")


def connect(settings: RaySettings, *, quiet: bool = True) -> bool:
    """Connect to the cluster at `settings.address`, or start a local Ray (dashboard off, loopback).
    Returns True when this call started Ray (the caller shuts it down)."""
    import ray

    for k, v in _DRIVER_ENV.items():
        os.environ.setdefault(k, v)
    if ray.is_initialized():
        return False
    env_vars = {"RAY_CHDIR_TO_TRIAL_DIR": "0"}
    kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=not quiet,
                                  logging_level=logging.WARNING, runtime_env={"env_vars": env_vars})
    address = settings.address
    if address:
        if (address not in ("auto",) and not address.startswith("ray://") and "RAY_AUTH_MODE" not in os.environ
                and _token_available()):
            _token_mode()  # `ray start --head` turns token auth on by default in Ray 2.60
        try:
            ray.init(address=address, **kwargs)
        except Exception as e:
            raise UserInputError(
                f"Cannot connect to the Ray cluster at --address {address}: {type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}. Check that `ray start --head` runs there and the "
                "port is reachable; clusters with token auth (the default of `ray start` in Ray 2.60) need "
                "RAY_AUTH_MODE=token and the cluster's token in ~/.ray/auth_token or RAY_AUTH_TOKEN."
            ) from None
        return True
    ray.init(num_cpus=settings.num_cpus, dashboard_host="127.0.0.1", _node_ip_address="127.0.0.1", **kwargs)
    return True


# --- building the Tune experiment ---------------------------------------------------------------------------

@contextlib.contextmanager
def _hyperband_env(settings: RaySettings) -> Any:
    """Synchronous HyperBand halves a bracket only once it is full, but Tune creates one pending trial at a time
    for a searcher (and `--max-concurrent` caps the live ones): every trial would land in the first bracket and
    run its full budget. For `hyperband` Tune may create up to `trials` pending trials (resources still bound
    what runs) and --max-concurrent is not applied."""
    if settings.scheduler != "hyperband" or "TUNE_MAX_PENDING_TRIALS_PG" in os.environ:
        yield
        return
    if settings.max_concurrent:
        log.warning("--max-concurrent is not applied with --scheduler hyperband (a bracket must fill before it is "
                    "halved); --cpus-per-trial/--gpus-per-trial bound how many trials run at once.")
    os.environ["TUNE_MAX_PENDING_TRIALS_PG"] = str(max(1, min(int(settings.trials or 64), 1000)))
    try:
        yield
    finally:
        os.environ.pop("TUNE_MAX_PENDING_TRIALS_PG", None)


def _max_epochs(space: SearchSpace) -> int:
    from automl.backends.optuna_backend import space_max_epochs

    return space_max_epochs(space)


def _searcher(settings: RaySettings, space: SearchSpace, metric: str, mode: str) -> tuple[Any, int, str]:
    """(search_alg or None, trial-number offset, name of the sampler used)."""
    if settings.scheduler == "pbt":
        return None, 0, "random (PBT population)"
    if settings.scheduler == "bohb":
        cs = configspace_from(space.space, settings.seed)
        try:
            from ray.tune.search.bohb import TuneBOHB

            return TuneBOHB(space=cs, metric=metric, mode=mode, seed=settings.seed), 1, "bohb"
        except (ImportError, AssertionError):
            raise UserInputError(_BOHB_MISSING) from None
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if settings.searcher == "random":
        sampler = optuna.samplers.RandomSampler(seed=settings.seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=settings.seed, n_startup_trials=settings.startup_trials,
                                             multivariate=True, group=True, constant_liar=True)
    return OptunaSearch(space=DefineByRun(space.space), metric=metric, mode=mode, sampler=sampler), 1, settings.searcher


def _scheduler(settings: RaySettings, space: SearchSpace, max_epochs: int) -> Any:
    from ray.tune import schedulers as S

    s, rf, grace = settings.scheduler, settings.reduction_factor, max(1, settings.min_epochs)
    # max_t one epoch past the longest trial: a trial given its full budget ends on its own and reports its
    # final row (status, n_params, history) instead of being cut at max_t; the rungs stay the same
    max_t = max(max_epochs, grace) + 1
    if s == "asha":
        return S.ASHAScheduler(time_attr="epoch", max_t=max_t, grace_period=grace, reduction_factor=rf)
    if s == "hyperband":
        return S.HyperBandScheduler(time_attr="epoch", max_t=max_t, reduction_factor=rf)
    if s == "bohb":
        return S.HyperBandForBOHB(time_attr="epoch", max_t=max_t, reduction_factor=rf)
    if s == "median":
        return S.MedianStoppingRule(time_attr="epoch", grace_period=grace, min_samples_required=3)
    if s == "pbt":
        interval = settings.pbt_interval or max(1, max_epochs // 4)
        return S.PopulationBasedTraining(time_attr="epoch", perturbation_interval=interval,
                                         custom_explore_fn=PerturbFloats(space.space, settings.seed),
                                         quantile_fraction=0.25)
    return S.FIFOScheduler()


def _trainable(settings: RaySettings, space: SearchSpace, dataset: Any, metric: str, direction: str,
               done: dict[int, dict[str, Any]] | None = None, bohb_choices: dict | None = None) -> Any:
    from ray import tune

    # the trials get train/val only: the sealed test split stays in the driver
    shipped = dataset.for_search()
    ctx = TrialContext(space=space.space, metric=metric, direction=direction, seed=settings.seed,
                       device=settings.trial_device, threads=max(1, int(settings.cpus_per_trial)),
                       checkpointing=settings.scheduler in CHECKPOINTING, scheduler=settings.scheduler,
                       bohb_choices=bohb_choices, done=done or {})
    fn = tune.with_parameters(ray_trainable, data=shipped, ctx=ctx)
    return tune.with_resources(fn, {"cpu": settings.cpus_per_trial, "gpu": settings.gpus_per_trial})


def _run_config(settings: RaySettings, info: RunInfo, callbacks: list[Any]) -> Any:
    from ray import tune
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    # PBT clones checkpoints between trials: keep all (a few bytes each; Tune's pruning of cloned ones errs)
    keep = None if settings.scheduler == "pbt" else 2
    # result.json + progress.csv only (TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1 drops TensorBoard event files)
    callbacks = [JsonLoggerCallback(), CSVLoggerCallback(), *callbacks]
    return tune.RunConfig(
        name=EXPERIMENT, storage_path=settings.storage_path or str(info.run_dir), verbose=0,
        failure_config=tune.FailureConfig(max_failures=settings.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=keep), callbacks=callbacks,
    )


def experiment_path(info: RunInfo) -> str:
    sp = info.settings.get("storage_path") or str(info.run_dir)
    return sp.rstrip("/") + "/" + EXPERIMENT


# --- the ledger and live progress (driver side) -------------------------------------------------------------

_SESSION: dict[str, Any] = {}  # this driver's progress printer and start time (not pickled with the Tuner)


class Ledger(Callback):
    """Driver-side Tune callback: appends each finished trial to `ray_trials.jsonl` in the run dir at once
    (fsync'd), and prints the progress line. Tune pickles it with the experiment, so a restored experiment
    brings it back; the printer comes from `_SESSION`."""

    def __init__(self, run_dir: Path, metric: str, direction: str) -> None:
        self.run_dir, self.metric, self.direction = Path(run_dir), metric, direction
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.recovered: dict[str, int] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"run_dir": self.run_dir, "metric": self.metric, "direction": self.direction}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.rows, self.recovered = {}, {}

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        self.rows.setdefault(trial.trial_id, []).append(_compact(result))

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        # a node that died counts as preemption for Tune (not in num_failures): count restarts here
        self.recovered[trial.trial_id] = self.recovered.get(trial.trial_id, 0) + 1

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finish(trial, "TERMINATED")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._finish(trial, "ERROR")

    def _finish(self, trial: Any, status: str) -> None:
        rows = self.rows.pop(trial.trial_id, [])
        if rows and rows[-1].get("automl_restored"):
            return  # a finished trial that resume handed back: its ledger line is already there
        restarts = max(self.recovered.pop(trial.trial_id, 0), trial.run_metadata.num_failures)
        error = _read_error(trial) if status == "ERROR" or restarts else ""
        rec = record_from_rows(trial_number(str(trial)) or 0, params_of(trial.config), rows, status, error,
                               num_failures=restarts)
        final = next((r for r in reversed(rows) if r.get("automl_kind") == "final"), None)
        if final is not None:  # what resume reports back for it: our keys only, none of Tune's own
            final = {k: v for k, v in final.items() if k not in _KEEP_TUNE}
        entry = {"trial_id": trial.trial_id, "name": str(trial), "status": status, "params": rec.params,
                 "record": rec.to_dict(), "final_row": final, "t": time.time()}
        with open(self.run_dir / LEDGER, "a") as f:
            f.write(json.dumps(entry, default=_json_default) + "\n")
            f.flush()
            os.fsync(f.fileno())
        progress = _SESSION.get("progress")
        if progress is not None:
            progress(_StudyShim(self.metric, self.direction), _TrialShim(rec), _SESSION.get("t0", time.time()))


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    return str(o)


_KEEP_TUNE = ("training_iteration", "time_total_s", "timestamp", "done", "trial_id")


def _compact(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "config" and (k in _KEEP_TUNE or not k.startswith(("time_", "date",
                                                                                                          "hostname", "node_ip")))}


class _StudyShim:
    """What `cli.progress.ProgressPrinter` reads from an Optuna study."""

    def __init__(self, metric: str, direction: str) -> None:
        self.direction = SimpleNamespace(name=direction.upper())
        self.user_attrs = {"automl": {"metric": metric}}


class _TrialShim:
    def __init__(self, rec: TrialRecord) -> None:
        self.number = rec.number
        self.state = SimpleNamespace(name=rec.state if rec.state in ("COMPLETE", "PRUNED", "FAIL") else "FAIL")
        self.value = rec.value if rec.state == "COMPLETE" else None
        self.user_attrs = {"epochs_run": rec.epochs_run, "seconds": rec.seconds, "reason": rec.reason,
                           "value": rec.value}


# --- rows -> TrialRecord ------------------------------------------------------------------------------------

def record_from_rows(number: int, params: dict[str, Any], rows: list[dict[str, Any]], status: str,
                     error: str = "", num_failures: int = 0) -> TrialRecord:
    """One trial's Tune results (its result.json rows) -> TrialRecord. `status` is Tune's trial status."""
    mine = [r for r in rows if r.get("automl_kind") in ("epoch", "final")]
    final = next((r for r in reversed(mine) if r.get("automl_kind") == "final"), None)
    last = mine[-1] if mine else {}
    history = _history(mine, final)
    best_value, best_epoch = _best(history, last)
    started = min((r["trial_start"] for r in mine if r.get("trial_start")), default=None)
    finished = max((r["t"] for r in mine if r.get("t")), default=None)
    rec = TrialRecord(
        number=number, state="RUNNING", value=None, params=params, history=history,
        best_epoch=best_epoch, epochs_run=max((int(h.get("epoch", 0)) for h in history), default=0),
        seconds=float(last.get("trial_seconds") or 0.0),
        duration=(finished - started) if started and finished else None, started=started, finished=finished,
        worker=str(last.get("node_id", "")), device=str(last.get("device", "")), seed=last.get("seed"),
    )
    retried = f" (after {num_failures} retr{'y' if num_failures == 1 else 'ies'})" if num_failures else ""
    if final is not None:
        st = final.get("status")
        rec.n_params = int(final.get("n_params") or 0)
        rec.seconds = float(final.get("seconds") or rec.seconds)
        rec.detail = str(final.get("detail") or "")
        rec.reason = str(final.get("reason") or "")
        rec.best_epoch = int(final.get("best_epoch") or rec.best_epoch)
        rec.epochs_run = int(final.get("epochs_run") or rec.epochs_run)
        if st == "complete":
            rec.state, rec.value = "COMPLETE", _num(final.get("value"))
        elif st == "pruned":
            rec.state, rec.value = "PRUNED", _num(final.get("value"))
        else:
            rec.state, rec.value = "FAIL", None
            rec.reason = f"{st}: {rec.reason}" if st and not rec.reason.startswith(st) else rec.reason
    elif status == "ERROR":
        rec.state, rec.value = "FAIL", None
        rec.reason = (f"trial process failed{retried}: {error}" if error else f"trial process failed{retried}")[:500]
        rec.detail = error
    elif status == "TERMINATED":
        max_epochs = int(last.get("max_epochs") or 0)
        if mine and max_epochs and rec.epochs_run >= max_epochs:
            rec.state, rec.value = "COMPLETE", best_value  # stopped at the scheduler's max_t = its full budget
        elif mine:
            rec.state, rec.value = "PRUNED", best_value
            rec.reason = f"stopped early by the scheduler at epoch {rec.epochs_run}"
        else:
            rec.state, rec.reason = "FAIL", "the trial ended without reporting a result"
    else:
        rec.state = "RUNNING" if status in ("RUNNING", "PAUSED") else "WAITING"
        rec.value = best_value
    if num_failures and (final is not None or status != "ERROR"):  # ERROR's reason says it already
        note = f"retried {num_failures} time{'s' if num_failures > 1 else ''} after its process or node died"
        note += f" ({error})" if error else ""
        rec.reason = (f"{rec.reason}; {note}" if rec.reason else note)[:500]
    return rec


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _history(rows: list[dict[str, Any]], final: dict[str, Any] | None) -> list[dict[str, float]]:
    if final is not None and final.get("history"):
        return list(final["history"])
    by_epoch: dict[int, dict[str, float]] = {}
    for r in rows:  # later attempts overwrite earlier ones; replayed epochs fill what a restore skipped
        for h in r.get("replayed_history") or []:
            by_epoch.setdefault(int(h["epoch"]), dict(h))
        if r.get("automl_kind") == "epoch":
            names = r.get("metric_names") or []
            by_epoch[int(r["epoch"])] = {"epoch": int(r["epoch"]), **{k: r[k] for k in names if k in r}}
    if rows:  # drop epochs of an earlier attempt beyond what the last attempt reached
        last_attempt = rows[-1].get("attempt")
        top = max((int(r["epoch"]) for r in rows if r.get("attempt") == last_attempt and "epoch" in r), default=None)
        if top is not None:
            by_epoch = {e: h for e, h in by_epoch.items() if e <= top}
    return [by_epoch[e] for e in sorted(by_epoch)]


def _best(history: list[dict[str, float]], last: dict[str, Any]) -> tuple[float | None, int]:
    v, e = _num(last.get("best_value")), int(last.get("best_epoch") or 0)
    return v, e


def _read_error(trial: Any) -> str:
    try:
        fs = trial.storage.storage_filesystem
        path = Path(trial.storage.trial_fs_path, trial.run_metadata.error_filename or "error.txt").as_posix()
        with fs.open_input_stream(path) as f:
            text = f.readall().decode("utf-8", "replace")
    except Exception:
        try:
            text = Path(trial.local_path or "", trial.run_metadata.error_filename or "error.txt").read_text()
        except Exception:
            return ""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    key = next((ln for ln in lines if "Error" in ln and ":" in ln and not ln.startswith("File ")), lines[-1] if lines else "")
    return key[:500]


# --- public entry points ------------------------------------------------------------------------------------

def start_ray_search(space_path: str | Path, *, study: str | None = None, root: Path = Path("results"),
                     progress: Callable[..., Any] | None = None, **overrides: Any) -> RunInfo:
    """Create the run directory and search with Ray Tune until `trials` trials have finished (or `timeout`).

    Overrides: scheduler, searcher, trials, timeout, seed, address, max_concurrent, cpus_per_trial,
    gpus_per_trial, storage_path, device, min_epochs, reduction_factor, startup_trials, max_failures,
    reuse_actors, pbt_interval, num_cpus.
    """
    space = load_space(space_path)
    settings = RaySettings.from_space(space, **overrides)
    if settings.trials is None and settings.timeout is None:
        settings.trials = 20
    if settings.trials is None:
        settings.trials = 10**6  # until the timeout
    if settings.scheduler == "bohb":
        configspace_from(space.space, settings.seed)  # fails fast with the install hint
    from automl.data import load_dataset

    dataset = load_dataset(space.dataset, base_dir=space.base_dir).for_search()  # the driver never holds test arrays
    obj = space.resolve_objective(dataset.spec.task)
    with _ray_session(settings):  # connect first: an unreachable cluster leaves no half-made run dir
        return _start(space_path, space, settings, dataset, obj, study, root, progress)


def _start(space_path: str | Path, space: SearchSpace, settings: RaySettings, dataset: Any, obj: Any,
           study: str | None, root: Path, progress: Callable[..., Any] | None) -> RunInfo:
    name = study or space.name
    run_settings = {**asdict(settings), "direction": obj.direction, "metric": obj.metric,
                    "data_base_dir": str(space.base_dir), "sampler": settings.searcher,
                    "pruner": settings.scheduler, "workers": settings.max_concurrent}
    info = create_run(name, Path(space_path), backend="ray", storage=None, seed=settings.seed,
                      settings=run_settings, root=root)
    if not settings.storage_path:
        settings.storage_path = str(info.run_dir)
    info.settings["storage_path"] = settings.storage_path
    info.storage = experiment_path(info)
    info.save()
    from automl.backends.optuna_backend import _fix_base_dir

    _fix_base_dir(info, space)
    _warn_storage(settings)
    _fit(info, settings, space, dataset, obj.metric, obj.direction, progress, restore=False)
    return info


def _warn_storage(settings: RaySettings) -> None:
    sp = settings.storage_path or ""
    if settings.address and settings.scheduler in CHECKPOINTING and "://" not in sp:
        log.warning("--scheduler %s writes checkpoints from the worker nodes: on a multi-node cluster give "
                    "--storage-path a shared filesystem or a cloud URI (s3://, gs://).", settings.scheduler)


def _fit(info: RunInfo, settings: RaySettings, space: SearchSpace, dataset: Any, metric: str, direction: str,
         progress: Callable[..., Any] | None, restore: bool) -> Any:
    from ray import tune

    stack = contextlib.ExitStack()
    try:
        mode = "max" if direction == "maximize" else "min"
        search_alg, offset, _ = _searcher(settings, space, metric, mode)
        bohb_choices = getattr(search_alg, "_space", None)
        bohb_choices = getattr(bohb_choices, "automl_choices", None) if settings.scheduler == "bohb" else None
        done = _ledger_done(info) if restore else {}
        trainable = _trainable(settings, space, dataset, metric, direction, done, bohb_choices)
        _SESSION.update(progress=progress, t0=time.time())
        stack.enter_context(_hyperband_env(settings))
        if restore:  # the Ledger callback comes back with the experiment
            tuner = tune.Tuner.restore(experiment_path(info), trainable=trainable, resume_errored=True)
        else:
            namer = TrialNamer(offset)
            param_space = None
            if settings.scheduler == "pbt":
                param_space = {"p": tune.sample_from(RandomPopulation(space.space, settings.seed))}
            tuner = tune.Tuner(
                trainable, param_space=param_space,
                tune_config=tune.TuneConfig(
                    metric=metric, mode=mode, search_alg=search_alg,
                    scheduler=_scheduler(settings, space, _max_epochs(space)), num_samples=settings.trials,
                    max_concurrent_trials=None if settings.scheduler == "hyperband" else settings.max_concurrent,
                    time_budget_s=settings.timeout,
                    reuse_actors=settings.reuse_actors, trial_name_creator=namer, trial_dirname_creator=namer),
                run_config=_run_config(settings, info, [Ledger(info.run_dir, metric, direction)]),
            )
        return tuner.fit()
    finally:
        stack.close()
        _SESSION.clear()


@contextlib.contextmanager
def _ray_session(settings: RaySettings) -> Any:
    """Connected (or a local Ray started) for the block; a Ray this call started is shut down after it."""
    started = connect(settings)
    try:
        yield
    finally:
        if started:
            import ray

            ray.shutdown()


def _ledger(info: RunInfo) -> list[dict[str, Any]]:
    path = info.run_dir / LEDGER
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(line))  # a line cut by a kill is skipped
    return out


def _ledger_done(info: RunInfo) -> dict[int, dict[str, Any]]:
    """Trials that finished (not errored) per the ledger, by number: resume hands their result back."""
    done: dict[int, dict[str, Any]] = {}
    for e in _ledger(info):
        n = trial_number(e.get("name", ""))
        if n is not None and e.get("status") == "TERMINATED":
            done[n] = {"params": e.get("params"), "final_row": e.get("final_row")}
    return done


def resume_ray_search(run: str | Path, *, root: Path = Path("results"), progress: Callable[..., Any] | None = None,
                      **overrides: Any) -> RunInfo:
    """Restore the Tune experiment of a stopped or killed run and finish it: finished trials are kept (not
    trained again), interrupted and errored ones run again (from their checkpoint where there is one)."""
    info = load_run(run, root=root)
    if info.backend != "ray":
        raise UserInputError(f"Run {info.run_dir} was searched with backend {info.backend!r}, not ray.")
    stored = {k: v for k, v in info.settings.items() if k in RaySettings.__dataclass_fields__}
    for k in ("trials", "timeout"):
        if overrides.get(k) is not None:
            raise UserInputError(f"--{k} cannot change a Ray run on resume (Tune restores the experiment as it was "
                                 "defined); start a new search with --study NAME for more trials.")
    stored.update({k: v for k, v in overrides.items() if v is not None})
    settings = RaySettings(**stored)
    settings.validate()
    space = load_space(info.space_path)
    from automl.data import load_dataset

    dataset = load_dataset(space.dataset, base_dir=space.base_dir).for_search()
    obj = space.resolve_objective(dataset.spec.task)
    if not _has_experiment_state(info):
        raise UserInputError(f"Run {info.run_dir} has no Tune experiment state at {experiment_path(info)} yet "
                             "(the search was stopped before Tune's first snapshot); start it again.")
    with _ray_session(settings):
        _fit(info, settings, space, dataset, obj.metric, obj.direction, progress, restore=True)
    return info


def _has_experiment_state(info: RunInfo) -> bool:
    from ray.tune import Tuner

    try:
        return bool(Tuner.can_restore(experiment_path(info)))
    except Exception:
        return False


# --- reading results ----------------------------------------------------------------------------------------

def _tune_trials(info: RunInfo) -> list[tuple[Any, list[dict[str, Any]]]]:
    """(Trial, result rows) for every trial in the newest Tune snapshot; [] when there is none yet."""
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
    from ray.tune import ExperimentAnalysis

    try:
        ea = ExperimentAnalysis(experiment_path(info))
    except (ValueError, FileNotFoundError):
        return []
    out = []
    for t in ea.trials:
        rows: list[dict[str, Any]] = []
        try:
            with t.storage.storage_filesystem.open_input_stream(
                    Path(t.storage.trial_fs_path, "result.json").as_posix()) as f:
                for line in f.readall().decode("utf-8").splitlines():
                    with contextlib.suppress(json.JSONDecodeError):
                        rows.append(json.loads(line))
        except (FileNotFoundError, OSError):
            pass
        out.append((t, rows))
    return out


def load_trials(info: RunInfo) -> list[TrialRecord]:
    """Tune's experiment (newest snapshot + each trial's result.json) merged with the ledger of finished
    trials, as TrialRecords numbered in creation order."""
    by_number: dict[int, TrialRecord] = {}
    for t, rows in _tune_trials(info):
        n = trial_number(str(t))
        if n is None:
            n = trial_number(Path(t.storage.trial_fs_path).name) if t.storage else None
        n = n if n is not None else len(by_number)
        # an error file on a trial that did not end in ERROR: it was restarted (its node or process died)
        error = _read_error(t) if t.status == "ERROR" or t.run_metadata.error_filename else ""
        restarts = t.run_metadata.num_failures or (1 if error and t.status != "ERROR" else 0)
        by_number[n] = record_from_rows(n, params_of(t.config), rows, t.status, error, num_failures=restarts)
    extra: list[TrialRecord] = []
    for e in _ledger(info):  # finished trials: the ledger is written at once, Tune's snapshot may lag
        n = trial_number(e.get("name", ""))
        rec = TrialRecord(**e["record"])
        if n is None:
            continue
        if n in by_number and by_number[n].params != rec.params:
            extra.append(rec)  # a finished trial Tune never saved, replaced by a different suggestion
            continue
        current = by_number.get(n)
        if current is None or current.state in ("RUNNING", "WAITING") or _more_complete(rec, current):
            by_number[n] = rec
    out = [by_number[n] for n in sorted(by_number)]
    top = (max(by_number) + 1) if by_number else 0
    for i, rec in enumerate(extra):
        rec.number = top + i
        out.append(rec)
    return out


def _more_complete(ledger: TrialRecord, tune_rec: TrialRecord) -> bool:
    unfinished = tune_rec.state not in ("COMPLETE", "FAIL", "PRUNED")
    return unfinished or ledger.epochs_run > tune_rec.epochs_run
