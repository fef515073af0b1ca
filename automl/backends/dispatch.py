"""Pick the backend of a run: `automl search --backend`, and `automl resume` by the run's manifest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from automl.space.errors import UserInputError
from automl.store.run import RunInfo, load_run

BACKENDS = ("optuna", "ray")
RAY_FLAGS = ("address", "scheduler", "searcher", "max_concurrent", "cpus_per_trial", "gpus_per_trial", "storage_path")


def check_backend(backend: str, ray_flags: dict[str, Any]) -> None:
    """Unknown backends and Ray-only flags given to the Optuna backend are user errors, not silently ignored."""
    if backend not in BACKENDS:
        raise UserInputError(f"--backend {backend!r} is not a backend; allowed: {', '.join(BACKENDS)}.")
    if backend == "optuna":
        given = [k for k, v in ray_flags.items() if v is not None]
        if given:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            raise UserInputError(f"{flags}: Ray Tune option(s); add --backend ray (the Optuna backend uses "
                                 "--sampler, --pruner and --workers).")


def resume_any(run: str | Path, *, root: Path = Path("results"), storage: str | None = None,
               progress: Callable[..., Any] | None = None, **overrides: Any) -> RunInfo:
    """Continue a run with the backend that started it (manifest `backend`)."""
    info = load_run(run, root=root, storage=storage if storage else None)
    if info.backend == "ray":
        from automl.backends.ray_backend import resume_ray_search

        if overrides.get("workers") is not None:
            raise UserInputError("--workers belongs to the Optuna backend; a Ray run keeps its --max-concurrent.")
        if storage is not None:
            raise UserInputError("--storage is an Optuna storage URL; a Ray run reads its Tune experiment from the "
                                 "storage path in its manifest.")
        rest = {k: v for k, v in overrides.items() if k != "workers"}
        return resume_ray_search(info.run_dir, root=root, progress=progress, **rest)
    from automl.backends.optuna_backend import resume_search

    return resume_search(run, root=root, storage=storage, progress=progress, **overrides)
