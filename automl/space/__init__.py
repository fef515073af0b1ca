"""Search spaces: YAML schema, the backend-neutral representation, sampling and backend converters."""

from automl.space.converters import grid_size, grid_values, optuna_distributions
from automl.space.errors import Issue, SpaceError, UserInputError
from automl.space.params import Categorical, Condition, Fixed, Float, Int, Param, Repeat, Section, Space
from automl.space.sampling import (
    RandomSuggest,
    ReplaySuggest,
    Sampled,
    Suggest,
    config_from_params,
    flatten_config,
    sample,
)
from automl.space.schema import Objective, SearchSpace, load_space, parse_space, read_yaml

__all__ = [
    "Categorical",
    "Condition",
    "Fixed",
    "Float",
    "Int",
    "Issue",
    "Objective",
    "Param",
    "RandomSuggest",
    "Repeat",
    "ReplaySuggest",
    "Sampled",
    "SearchSpace",
    "Section",
    "Space",
    "SpaceError",
    "Suggest",
    "UserInputError",
    "config_from_params",
    "flatten_config",
    "grid_size",
    "grid_values",
    "load_space",
    "optuna_distributions",
    "parse_space",
    "read_yaml",
    "sample",
]
