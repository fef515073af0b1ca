"""Optuna's samplers and pruners by name: the one list the YAML validator, the CLI and both backends read
(Ray's OptunaSearch takes the same samplers). Adding one is one entry here plus its test; the factories
import optuna inside, so reading the names stays cheap. A sampler factory takes (settings, space, seed), the
seed already shifted per worker and session; a pruner factory takes (settings, max_epochs)."""

from __future__ import annotations

from typing import Any

from automl.registry import Registry

SAMPLERS: Registry[Any] = Registry("sampler")
PRUNERS: Registry[Any] = Registry("pruner")


def _o() -> Any:
    import optuna

    return optuna


def _tpe(s: Any, space: Any, seed: int) -> Any:
    # bounded history (window.py): past 1,000 finished trials a plain TPE step costs O(n) and dominates a trial
    from automl.backends.optuna.window import WindowedTPESampler

    return WindowedTPESampler(seed=seed, n_startup_trials=s.startup_trials, multivariate=True, group=True,
                              constant_liar=s.concurrency != 1)


def _grid(s: Any, space: Any, seed: int) -> Any:
    from automl.space import grid_values

    return _o().samplers.GridSampler(grid_values(space.space, s.grid_points), seed=seed)


SAMPLERS.add("tpe", _tpe, doc="multivariate, grouped TPE (constant liar when trials run side by side; its density "
             "estimates use the best 25 and the latest of at most 1,000 finished trials)")
SAMPLERS.add("random", lambda s, space, seed: _o().samplers.RandomSampler(seed=seed), doc="uniform random")
SAMPLERS.add("cmaes", lambda s, space, seed: _o().samplers.CmaEsSampler(
    seed=seed, n_startup_trials=s.startup_trials,
    independent_sampler=_o().samplers.TPESampler(seed=seed, n_startup_trials=s.startup_trials)),
    doc="CMA-ES; TPE for the parameters it cannot model")
SAMPLERS.add("gp", lambda s, space, seed: _o().samplers.GPSampler(
    seed=seed, n_startup_trials=s.startup_trials, independent_sampler=_o().samplers.RandomSampler(seed=seed)),
    doc="Gaussian-process Bayesian optimization")
SAMPLERS.add("qmc", lambda s, space, seed: _o().samplers.QMCSampler(
    qmc_type="sobol", scramble=True, seed=seed, independent_sampler=_o().samplers.RandomSampler(seed=seed)),
    doc="scrambled Sobol quasi-random sequence")
SAMPLERS.add("grid", _grid, doc="every combination of `grid_points` values per parameter")


def _halving(s: Any, max_epochs: int) -> Any:
    return _o().pruners.SuccessiveHalvingPruner(min_resource=max(1, s.min_epochs), reduction_factor=s.reduction_factor)


PRUNERS.add("hyperband", lambda s, max_epochs: _o().pruners.HyperbandPruner(
    min_resource=max(1, s.min_epochs), max_resource=max(max_epochs, s.min_epochs, 1),
    reduction_factor=s.reduction_factor), doc="HyperBand over epochs")
PRUNERS.add("successive_halving", _halving, doc="asynchronous successive halving")
PRUNERS.add("asha", _halving, doc="the same as successive_halving (Ray's name for it)")
PRUNERS.add("median", lambda s, max_epochs: _o().pruners.MedianPruner(
    n_startup_trials=5, n_warmup_steps=max(1, s.min_epochs)), doc="below the median of earlier trials at an epoch")
PRUNERS.add("percentile", lambda s, max_epochs: _o().pruners.PercentilePruner(
    s.percentile, n_startup_trials=5, n_warmup_steps=max(1, s.min_epochs)),
    doc="below the `percentile` of earlier trials at an epoch")
PRUNERS.add("none", lambda s, max_epochs: _o().pruners.NopPruner(), doc="never prune")
