"""Optuna's samplers and pruners by name: the one list the YAML validator, the CLI and the backend read.

Adding one is one entry here (its factory imports optuna inside, so reading the names stays cheap).
A sampler factory takes (settings, space, seed); `seed` already carries the worker's or session's offset.
A pruner factory takes (settings, max_epochs).
"""

from __future__ import annotations

from typing import Any

from automl.registry import Registry

SAMPLERS: Registry[Any] = Registry("sampler")
PRUNERS: Registry[Any] = Registry("pruner")


@SAMPLERS.register("tpe", doc="multivariate, grouped TPE (constant liar with several workers)")
def _tpe(settings: Any, space: Any, seed: int) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=settings.startup_trials, multivariate=True,
                                      group=True, constant_liar=settings.workers > 1)


@SAMPLERS.register("random", doc="uniform random sampling")
def _random(settings: Any, space: Any, seed: int) -> Any:
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


@SAMPLERS.register("cmaes", doc="CMA-ES; TPE for the parameters it cannot model")
def _cmaes(settings: Any, space: Any, seed: int) -> Any:
    import optuna

    return optuna.samplers.CmaEsSampler(
        seed=seed, n_startup_trials=settings.startup_trials,
        independent_sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=settings.startup_trials))


@SAMPLERS.register("gp", doc="Gaussian-process Bayesian optimization")
def _gp(settings: Any, space: Any, seed: int) -> Any:
    import optuna

    return optuna.samplers.GPSampler(seed=seed, n_startup_trials=settings.startup_trials,
                                     independent_sampler=optuna.samplers.RandomSampler(seed=seed))


@SAMPLERS.register("qmc", doc="scrambled Sobol quasi-random sequence")
def _qmc(settings: Any, space: Any, seed: int) -> Any:
    import optuna

    return optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=seed,
                                      independent_sampler=optuna.samplers.RandomSampler(seed=seed))


@SAMPLERS.register("grid", doc="every combination of `grid_points` values per parameter")
def _grid(settings: Any, space: Any, seed: int) -> Any:
    import optuna

    from automl.space import grid_values

    return optuna.samplers.GridSampler(grid_values(space.space, settings.grid_points), seed=seed)


@PRUNERS.register("hyperband", doc="HyperBand over epochs")
def _hyperband(settings: Any, max_epochs: int) -> Any:
    import optuna

    lo = max(1, settings.min_epochs)
    return optuna.pruners.HyperbandPruner(min_resource=lo, max_resource=max(max_epochs, lo),
                                          reduction_factor=settings.reduction_factor)


def _halving(settings: Any, max_epochs: int) -> Any:
    import optuna

    return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, settings.min_epochs),
                                                  reduction_factor=settings.reduction_factor)


PRUNERS.add("successive_halving", _halving, doc="asynchronous successive halving")
PRUNERS.add("asha", _halving, doc="the same as successive_halving (Ray's name for it)")


@PRUNERS.register("median", doc="stop a trial below the median of earlier trials at the same epoch")
def _median(settings: Any, max_epochs: int) -> Any:
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=max(1, settings.min_epochs))


@PRUNERS.register("percentile", doc="stop a trial below the `percentile` of earlier trials")
def _percentile(settings: Any, max_epochs: int) -> Any:
    import optuna

    return optuna.pruners.PercentilePruner(settings.percentile, n_startup_trials=5,
                                           n_warmup_steps=max(1, settings.min_epochs))


@PRUNERS.register("none", doc="never prune")
def _none(settings: Any, max_epochs: int) -> Any:
    import optuna

    return optuna.pruners.NopPruner()
