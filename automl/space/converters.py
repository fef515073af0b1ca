"""Converters from the neutral `Space` to backend vocabularies. Imported only at the backend edge.

Define-by-run needs no conversion (an `optuna.Trial` is a `Suggest`); these helpers serve the samplers
that want the whole space up front (grid, enqueueing a known config) and Ray Tune's `OptunaSearch`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from automl.space.params import Categorical, Fixed, Float, Int, Space
from automl.space.sampling import sample


def optuna_distributions(space: Space) -> dict[str, Any]:
    """Every searchable parameter (repeated groups at their largest count) as an Optuna distribution."""
    import optuna.distributions as od

    out: dict[str, Any] = {}
    for name, p in space.iter_params():
        d = p.dist
        if isinstance(d, Float):
            out[name] = od.FloatDistribution(d.low, d.high, log=d.log, step=d.step)
        elif isinstance(d, Int):
            out[name] = od.IntDistribution(d.low, d.high, log=d.log, step=d.step)
        elif isinstance(d, Categorical):
            out[name] = od.CategoricalDistribution(list(d.choices))
    return out


def grid_values(space: Space, n_points: int = 3) -> dict[str, list[Any]]:
    """Values per parameter for Optuna's GridSampler; ranges are cut into `n_points` (log-spaced if log)."""
    return {name: p.dist.values(n_points) for name, p in space.iter_params() if not isinstance(p.dist, Fixed)}


def grid_size(space: Space, n_points: int = 3) -> int:
    n = 1
    for values in grid_values(space, n_points).values():
        n *= len(values)
    return n


def ray_define_by_run(space: Space) -> Callable[[Any], dict[str, Any] | None]:
    """The function Ray Tune's `OptunaSearch(space=...)` calls with an Optuna trial.

    Conditional and repeated parameters survive because sampling is define-by-run; the flat params Ray
    hands to the trainable are turned back into the nested config with `config_from_params`.
    """

    def define(trial: Any) -> None:
        sample(space, trial)
        return None

    return define
