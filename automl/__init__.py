"""automl: hyperparameter search for PyTorch models from YAML search spaces.

    import automl
    run = automl.search("wine_tutorial.yaml", data=df, trials=6)   # a YAML path, shipped name or dict
    run.finalize()                                                  # the sealed test split, read once
    model = automl.load_model(run)
    model.predict(df)                                               # raw rows, encoded as in training

Everything is imported lazily: `import automl` loads no torch.
"""

from __future__ import annotations

from typing import Any

from automl._lazy import lazy_exports

_getattr, __dir__, __all__ = lazy_exports(__name__, {
    "api": ("Run", "load_run", "search"),
    "predict": ("FittedModel", "load_model"),
})
__all__ = [*__all__, "__version__"]


def _version() -> str:
    import importlib.metadata as md

    try:
        return md.version("automl")
    except md.PackageNotFoundError:  # a checkout that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return _version()
    return _getattr(name)
