"""Finalize: choose the winner beyond validation noise, retrain it, read the sealed test split once, with baselines.

    from automl.finalize import finalize_run
    report = finalize_run(load_run("results/wine"))      # report.data is report.json
"""

from __future__ import annotations

from typing import Any

__all__ = ["FinalReport", "SelectionSettings", "check_can_read", "finalize_run"]


def __getattr__(name: str) -> Any:  # lazy: importing the package pulls no torch
    if name in ("FinalReport", "check_can_read", "finalize_run"):
        from automl.finalize import finalize as mod

        return getattr(mod, name)
    if name == "SelectionSettings":
        from automl.finalize.select import SelectionSettings

        return SelectionSettings
    raise AttributeError(f"module 'automl.finalize' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
