"""Converters from the neutral `Space` to backend vocabularies. Imported only at the backend edge.

Define-by-run needs no conversion (an `optuna.Trial` is a `Suggest`, in the Optuna backend and in Ray Tune's
`OptunaSearch` alike); these helpers serve the samplers that want the whole space up front (grid, enqueueing).
"""

from __future__ import annotations

import math
from typing import Any

from automl.space.params import Categorical, Fixed, Float, Int, Space


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
    return math.prod(len(values) for values in grid_values(space, n_points).values())
