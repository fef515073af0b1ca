"""The search strategies of the surrogate suite, each driven through the same `Tracker`.

The tracker charges every trained epoch against one budget (epochs summed over trials) and adds the
surrogate's simulated seconds for it; it records the best validation error seen at any trained epoch (every
epoch's model is a model the user could keep: automl's trainer restores the best epoch). It raises `Spent`
when the budget is used up, in the middle of a trial if need be, so every strategy gets exactly the same
number of epochs. Strategies that continue a trial (pruners, ASHA) pay for each epoch once; BOHB and DEHB
evaluate f(config, budget) from scratch, as their packages do, and pay the whole budget each time.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
from surrogate_lcbench import HP_NAMES, MAX_EPOCH, LCBench, automl_space, config_space, flat_config


class Spent(Exception):
    """The epoch budget is used up."""


class Tracker:
    """One run of one strategy on one task: the any-time best validation error per epoch spent."""

    def __init__(self, bench: LCBench, task: str, budget: int) -> None:
        self.bench, self.task, self.budget = bench, task, budget
        self.best = np.full(budget, np.inf)  # best val error (%) after k+1 epochs
        self.seconds = np.zeros(budget)  # simulated seconds after k+1 epochs
        self.spent = 0
        self.clock = 0.0
        self.inc = math.inf
        self.inc_test = math.nan  # test error (100 - balanced acc %) of the incumbent epoch's model
        self.trials = 0
        self._cache: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}

    def curve(self, config: dict[str, Any]) -> dict[str, np.ndarray]:
        key = tuple(config[n] for n in HP_NAMES)
        if key not in self._cache:
            self._cache[key] = self.bench.curve(self.task, config)
        return self._cache[key]

    def train(self, config: dict[str, Any], epoch: int) -> float:
        """Charge one epoch (1-based) of `config`; returns its val error. Raises Spent once the budget is gone."""
        if self.spent >= self.budget:
            raise Spent
        c = self.curve(config)
        err = float(c["val_error"][epoch - 1])
        self.clock += float(c["epoch_seconds"][epoch - 1])
        if err < self.inc:
            self.inc, self.inc_test = err, float(c["test_error"][epoch - 1])
        self.best[self.spent] = self.inc
        self.seconds[self.spent] = self.clock
        self.spent += 1
        return err

    def from_scratch(self, config: dict[str, Any], epochs: int) -> float:
        """Train a fresh model for `epochs` epochs (BOHB, DEHB): the val error at its last epoch."""
        self.trials += 1
        err = math.nan
        for e in range(1, epochs + 1):
            err = self.train(config, e)
        return err


# --- strategies -----------------------------------------------------------------------------------------------

def _optuna_loop(tr: Tracker, space: Any, sampler: Any, pruner: Any, patience: int, seed: int,
                 on_tell: Callable[[float | None, list[float]], None] | None = None,
                 on_study: Callable[[Any], None] | None = None) -> None:
    """automl's trial loop on the surrogate: sample with `automl.space.sample`, one `trial.report` of
    val_accuracy per epoch then `should_prune`, the trainer's early stopping (patience on val_accuracy, checked
    after the report as `Trainer.fit` does), the trial's value = its best epoch (what `run_trial` returns).
    `on_tell(value or None if pruned, per-epoch val_accuracy)`: told after each finished trial (auto-stop).
    `on_study(study)`: called once the study exists, before the first trial (warm start enqueues there)."""
    import optuna

    from automl.space import sample
    from automl.training.trainer import _improves

    # A named study, as automl's always is: HyperbandPruner puts trials into brackets by a hash of the study name
    # and trial number, and an unnamed study gets a random name (the runs would not repeat).
    study = optuna.create_study(direction=space.objective.direction, sampler=sampler, pruner=pruner,
                                study_name=f"lcbench-{tr.task}-seed{seed}")
    if on_study is not None:
        on_study(study)
    while True:
        trial = study.ask()
        config = flat_config(sample(space.space, trial).config)
        tr.trials += 1
        best: float | None = None
        since, pruned = 0, False
        accs: list[float] = []
        for epoch in range(1, MAX_EPOCH + 1):
            acc = 100.0 - tr.train(config, epoch)
            accs.append(acc)
            if _improves(acc, best, "maximize", 0.0):
                best, since = acc, 0
            else:
                since += 1
            trial.report(acc, epoch)
            if trial.should_prune() and epoch < MAX_EPOCH:  # as Trainer.fit: a stop after the last epoch is moot
                pruned = True
                break
            if patience > 0 and since >= patience:
                break
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, best)
        if on_tell is not None:
            on_tell(None if pruned else best, accs)


def automl(overrides: dict[str, Any] | None = None, patience: int | None = None,
           on_tell: Callable[[Tracker, float | None, list[float]], None] | None = None,
           on_study: Callable[[Any], None] | None = None,
           sampler: Callable[[Any, Any], Any] | None = None) -> Callable[[Tracker, int], None]:
    """automl's default strategy as `automl search SPACE` builds it with no flags: `OptunaSettings.build` of
    the space's (empty) `search:` block plus `--seed`, then the backend's own `make_sampler`/`make_pruner`
    (the SAMPLERS/PRUNERS registry entries: multivariate grouped TPE with `startup_trials`, the default pruner --
    successive halving from `min_epochs` with `reduction_factor` since 2026-12-05, Hyperband before), and the
    trainer's DEFAULT_PATIENCE.
    `overrides`/`patience` give the proposed variants (settings a space's `search:` block can set); `on_tell`
    sees each finished trial (benchmarks/surrogate_autostop.py); `on_study` sees the new study before its
    first trial (benchmarks/surrogate_warm_start.py enqueues the warm-start configs there); `sampler(settings,
    space)` replaces the registry's sampler (benchmarks/surrogate_sweep.py varies TPE's own knobs with it)."""

    def run(tr: Tracker, seed: int) -> None:
        from automl.backends.optuna.settings import OptunaSettings
        from automl.backends.optuna.workers import make_pruner, make_sampler
        from automl.training.trainer import DEFAULT_PATIENCE

        space = automl_space(tr.bench)
        s = OptunaSettings.build(dict(overrides or {}), {"seed": seed})
        _optuna_loop(tr, space, (sampler or make_sampler)(s, space), make_pruner(s, space),
                     DEFAULT_PATIENCE if patience is None else patience, seed,
                     None if on_tell is None else lambda v, c: on_tell(tr, v, c), on_study)

    return run


# Random search draws from its own stream. The Optuna strategies' first trials come from a RandomSampler seeded
# with the run's seed (TPE's startup trials, Hyperband's random sampler): with the same seed they would replay
# random search's configurations one for one, and their speed-up would be pinned at exactly 1 whenever random
# search found its best early, whatever the strategy does later.
RANDOM_STREAM = 1_000_003


def random_search(tr: Tracker, seed: int) -> None:
    """Uniform random configurations (Optuna's RandomSampler over the same space, seeded seed + 1000003 so that
    it does not replay the configurations of the other Optuna strategies' random startup), 52 epochs each."""
    import optuna

    _optuna_loop(tr, automl_space(tr.bench), optuna.samplers.RandomSampler(seed=seed + RANDOM_STREAM),
                 optuna.pruners.NopPruner(), 0, seed)


def optuna_tpe(tr: Tracker, seed: int) -> None:
    """Optuna's TPESampler with its own defaults (independent TPE, 10 startup trials), no pruning, 52 epochs."""
    import optuna

    _optuna_loop(tr, automl_space(tr.bench), optuna.samplers.TPESampler(seed=seed), optuna.pruners.NopPruner(), 0, seed)


def optuna_hyperband(tr: Tracker, seed: int) -> None:
    """Hyperband proper: Optuna's RandomSampler + HyperbandPruner(min 1, max 52, reduction 3), no early stop."""
    import optuna

    _optuna_loop(tr, automl_space(tr.bench), optuna.samplers.RandomSampler(seed=seed),
                 optuna.pruners.HyperbandPruner(min_resource=1, max_resource=MAX_EPOCH, reduction_factor=3), 0, seed)


class _TuneTrial:
    """What ASHAScheduler reads of a trial: its id."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id


def ray_asha(tr: Tracker, seed: int) -> None:
    """Ray Tune's ASHAScheduler (its defaults: grace_period 1, reduction_factor 4, one bracket; max_t 52),
    its decisions taken from its own on_trial_add/on_trial_result/on_trial_complete without starting Ray, one
    trial at a time; configurations drawn by Tune's own search-space domains (randint, lograndint, uniform,
    loguniform, what Tune's default random search samples) from a seeded RandomState."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, TrialScheduler

    rs = np.random.RandomState(seed)
    np.random.seed(seed)  # on_trial_add draws a bracket with np.random (one bracket: no effect)
    domains = {}
    for n in HP_NAMES:
        h = tr.bench.hps[n]
        lo, hi = h["lower"], h["upper"]
        if h["type"] == "uniform_int":  # Tune's integer upper bounds are exclusive
            domains[n] = (tune.lograndint if h["log"] else tune.randint)(int(lo), int(hi) + 1)
        else:
            domains[n] = (tune.loguniform if h["log"] else tune.uniform)(float(lo), float(hi))
    sched = ASHAScheduler(time_attr="training_iteration", metric="val_accuracy", mode="max", max_t=MAX_EPOCH)
    i = 0
    draws: dict[str, list[Any]] = {}
    while True:
        if i % 256 == 0:  # Tune's domains draw in batches (size=256): the same distribution, less overhead
            draws = {n: list(d.sample(size=256, random_state=rs)) for n, d in domains.items()}
        config = {n: (int(v) if tr.bench.hps[n]["type"] == "uniform_int" else float(v))
                  for n, v in ((n, draws[n][i % 256]) for n in HP_NAMES)}
        trial = _TuneTrial(f"t{i}")
        i += 1
        tr.trials += 1
        sched.on_trial_add(None, trial)
        result: dict[str, Any] = {}
        for epoch in range(1, MAX_EPOCH + 1):
            result = {"training_iteration": epoch, "val_accuracy": 100.0 - tr.train(config, epoch)}
            if sched.on_trial_result(None, trial, result) == TrialScheduler.STOP:
                break
        sched.on_trial_complete(None, trial, result)


def bohb(tr: Tracker, seed: int) -> None:
    """BOHB from hpbandster: its CG_BOHB model (default settings) and its SuccessiveHalving iterations, made by
    hpbandster's own `BOHB.get_next_iteration` (eta 3, budgets 52/27..52 epochs, rounded), run in the order
    `Master.run` runs them, one job at a time and without Pyro; loss = val error after `budget` epochs."""
    from hpbandster.core.dispatcher import Job
    from hpbandster.optimizers.bohb import BOHB
    from hpbandster.optimizers.config_generators.bohb import BOHB as CG_BOHB

    np.random.seed(seed)  # CG_BOHB draws with np.random
    cg = CG_BOHB(configspace=config_space(tr.bench, seed))

    class _Master:  # the attributes BOHB.get_next_iteration reads
        eta = 3
        min_budget, max_budget = 1.0, float(MAX_EPOCH)
        max_SH_iter = -int(np.log(min_budget / max_budget) / np.log(eta)) + 1
        budgets = max_budget * np.power(eta, -np.linspace(max_SH_iter - 1, 0, max_SH_iter))
        config_generator = cg

    master = _Master()
    iterations: list[Any] = []
    while True:
        next_run = None
        for it in iterations:
            if not it.is_finished:
                next_run = it.get_next_run()
                if next_run is not None:
                    break
        if next_run is None:
            iterations.append(BOHB.get_next_iteration(master, len(iterations)))
            continue
        config_id, config, budget = next_run
        job = Job(config_id, config=config, budget=budget)
        cfg = {n: config[n] for n in HP_NAMES}
        job.result = {"loss": tr.from_scratch(cfg, max(1, round(budget))), "info": {}}
        iterations[config_id[0]].register_result(job)
        cg.new_result(job)


def dehb(tr: Tracker, seed: int) -> None:
    """DEHB from the `dehb` package through its ask/tell interface (defaults: mutation 0.5, crossover 0.5,
    rand1_bin, eta 3), fidelity 1..52 epochs (rounded), one worker; fitness = val error after that many
    epochs, cost = those epochs. Its log and state files go to a temporary folder."""
    from dehb import DEHB

    with tempfile.TemporaryDirectory() as out:
        opt = DEHB(cs=config_space(tr.bench, seed), min_fidelity=1, max_fidelity=MAX_EPOCH, eta=3, n_workers=1,
                   seed=seed, output_path=out, log_level="ERROR", save_freq="end")
        while True:
            job = opt.ask()
            cfg = dict(job["config"])  # a ConfigSpace Configuration already
            epochs = max(1, round(job["fidelity"]))
            err = tr.from_scratch({n: cfg[n] for n in HP_NAMES}, epochs)
            opt.tell(job, {"fitness": err, "cost": float(epochs)})


STRATEGIES: dict[str, Callable[[Tracker, int], None]] = {
    "random": random_search,
    "automl-default": automl(),
    "optuna-tpe": optuna_tpe,
    "optuna-hyperband": optuna_hyperband,
    "ray-asha": ray_asha,
    "bohb": bohb,
    "dehb": dehb,
}
DESCRIBE = {
    "random": random_search.__doc__,
    "automl-default": automl.__doc__,
    "optuna-tpe": optuna_tpe.__doc__,
    "optuna-hyperband": optuna_hyperband.__doc__,
    "ray-asha": ray_asha.__doc__,
    "bohb": bohb.__doc__,
    "dehb": dehb.__doc__,
}


def run_strategy(name: str, bench: LCBench, task: str, budget: int, seed: int,
                 strategies: dict[str, Callable[[Tracker, int], None]] | None = None) -> Tracker:
    """One run to the end of its budget."""
    tr = Tracker(bench, task, budget)
    with contextlib.suppress(Spent):
        (strategies or STRATEGIES)[name](tr, seed)
    if tr.spent != budget:
        raise RuntimeError(f"{name} on task {task} seed {seed} stopped after {tr.spent} of {budget} epochs")
    return tr
