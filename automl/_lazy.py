"""PEP 562 lazy re-exports, so importing a package (say to read `automl.data.spec`) loads no torch."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]) -> tuple[Callable[[str], Any],
                                                                              Callable[[], list[str]], list[str]]:
    """(__getattr__, __dir__, __all__) for `package`, re-exporting each name from its submodule on first use.

    `exports` maps a submodule (relative to `package`) to the public names it provides.
    """
    where = {name: f"{package}.{mod}" for mod, names in exports.items() for name in names}
    public = sorted(where)

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name]), name)
        setattr(importlib.import_module(package), name, value)  # cache: next lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(public) | set(vars(importlib.import_module(package))))

    return __getattr__, __dir__, public
