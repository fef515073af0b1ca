"""Search spaces: YAML schema, the backend-neutral representation, sampling and backend converters."""

from automl._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "converters": ("grid_size", "grid_values", "optuna_distributions"),
    "errors": ("Issue", "SpaceError", "UserInputError"),
    "params": ("Categorical", "Condition", "Fixed", "Float", "Int", "Param", "Repeat", "Section", "Space"),
    "sampling": ("RandomSuggest", "ReplaySuggest", "Sampled", "Suggest", "config_from_params", "flatten_config",
                 "sample"),
    "schema": ("Objective", "SearchSpace", "load_space", "parse_space", "read_yaml"),
    "shipped": ("resolve_space", "shipped_dir", "shipped_spaces"),
    "validate": ("validate_space",),
})
