"""The Python API: `search` -> `Run` -> `finalize` -> `load_model`, the same steps as the CLI.

In-memory data (a DataFrame, or `(X, y)` arrays) is written into the run directory (Parquet / NPZ, never
pickle) and the space's `dataset:` points at that file, so every worker process, Ray trial, finalize and
resume read the same rows.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from automl.space.errors import UserInputError


class Run:
    """A run directory: its trials, best config, report and finalized model."""

    def __init__(self, info: Any) -> None:
        self.info = info

    @property
    def path(self) -> Path:
        return Path(self.info.run_dir)

    @property
    def run_dir(self) -> Path:
        return self.path

    @property
    def name(self) -> str:
        return str(self.info.study)

    def records(self) -> list[Any]:
        from automl.store.results import load_trials

        return load_trials(self.info)

    def trials(self) -> Any:
        """One row per trial (state, value, epochs, params.<name> ...) as a pandas DataFrame."""
        from automl.store.records import trials_frame

        return trials_frame(self.records())

    @property
    def direction(self) -> str:
        return str(self.info.settings.get("direction", "maximize"))

    @property
    def metric(self) -> str:
        return str(self.info.settings.get("metric", "value"))

    def _best(self) -> Any:
        from automl.store.records import best_record

        rec = best_record(self.records(), self.direction)
        if rec is None:
            raise UserInputError(f"Run {self.path} has no completed trial yet; see run.trials().")
        return rec

    @property
    def best_config(self) -> dict[str, Any]:
        """The config of the best completed trial by its validation objective (finalize may choose another
        within noise: see `report['best']['config']`)."""
        from automl.space import config_from_params, load_space

        return config_from_params(load_space(self.info.space_path).space, self._best().params)

    @property
    def best_value(self) -> float:
        return float(self._best().value)

    @property
    def report(self) -> dict[str, Any] | None:
        """report.json as a dict, or None before finalize."""
        path = self.path / "report.json"
        return json.loads(path.read_text()) if path.exists() else None

    @property
    def finalized(self) -> bool:
        return (self.path / "report.json").exists() and (self.path / "model.pt").exists()

    def finalize(self, **options: Any) -> dict[str, Any]:
        """Choose the winner, retrain it, read the sealed test split once; returns report.json's content.
        Options as `automl finalize`: top_k, seeds, refit_full, device, again, select, and pick (a run with a
        cost objective: the point of its Pareto front to test, e.g. "knee", 2, "n_params<=20000")."""
        from automl.finalize import finalize_run

        return finalize_run(self.info, **options).data

    def load_model(self, device: str = "cpu") -> Any:
        from automl.predict import load_model

        return load_model(self, device=device)

    def __repr__(self) -> str:
        return f"Run({self.name!r}, path={str(self.path)!r}, backend={self.info.backend!r})"


def load_run(path_or_name: str | Path, *, results_dir: str | Path = "results", storage: str | None = None) -> Run:
    """A run by its directory or its study name under `results_dir`."""
    from automl.store.run import load_run as load_info

    return Run(load_info(path_or_name, root=Path(results_dir), storage=storage))


def _space_dict(space: Any) -> tuple[dict[str, Any], Path | None]:
    """(the raw space mapping, the folder relative data paths resolve against)."""
    from automl.space import read_yaml, resolve_space

    if isinstance(space, Mapping):
        return copy.deepcopy(dict(space)), Path.cwd()
    if isinstance(space, (str, Path)):
        path = resolve_space(space)
        raw = read_yaml(path)
        if not isinstance(raw, Mapping):
            raise UserInputError(f"Search space {path} is not a YAML mapping.")
        return dict(raw), path.resolve().parent
    raise UserInputError(f"space must be a YAML path, a shipped space name or a dict; got {type(space).__name__}.")


def _write_data(data: Any, run_dir: Path, target: str | None) -> dict[str, Any]:
    """In-memory data -> a file in the run directory; returns the dataset keys that point at it."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        df = data.copy()
        df.columns = [str(c) for c in df.columns]
        path = run_dir / "data.parquet"
        try:
            df.reset_index(drop=True).to_parquet(path, index=False)
        except (ValueError, TypeError, ImportError) as e:  # pyarrow refuses mixed-type object columns
            raise UserInputError(f"data: the DataFrame cannot be saved as Parquet for the workers ({e}); give "
                                 "each column one type (numbers, bool or text).") from e
        return {"path": str(path), **({"target": target} if target else {})}
    if isinstance(data, tuple) and len(data) == 2:
        x, y = np.asarray(data[0]), np.asarray(data[1])
        if x.dtype == object or y.dtype == object:
            raise UserInputError("data=(X, y): X and y must be numeric (or y text) arrays, not object arrays.")
        if len(x) != len(y):
            raise UserInputError(f"data=(X, y): X has {len(x)} rows but y has {len(y)}.")
        if target is not None:
            raise UserInputError("target= names a DataFrame column; with data=(X, y) the target is y.")
        path = run_dir / "data.npz"
        np.savez(path, x=x, y=y)
        return {"path": str(path)}
    if isinstance(data, (str, Path)):
        p = Path(data).expanduser()
        if not p.is_file():
            raise UserInputError(f"data={str(data)!r}: no such file; give a CSV/TSV/Parquet/NPZ path, a DataFrame "
                                 "or (X, y) arrays.")
        return {"path": str(p.resolve()), **({"target": target} if target else {})}
    raise UserInputError(f"data must be a pandas DataFrame, a tuple (X, y) of NumPy arrays or a file path; got "
                         f"{type(data).__name__}.")


def search(space: Any, data: Any = None, *, backend: str = "optuna", results_dir: str | Path = "results",
           study: str | None = None, target: str | None = None, progress: Any = True, model: Any = None,
           **options: Any) -> Run:
    """Search a space (YAML path, shipped name or dict), optionally on in-memory data; returns the Run.

    `model`: your own factory `build(config, data_spec) -> nn.Module` (defined in an importable module, not in
    `__main__`) or its "module:function" name, in place of the space's built-in family; the space's `model:`
    keys (without `family`) are its hyperparameters. See automl/models/factory.py.

    `options` are the CLI's: trials, timeout, max_total_epochs, workers, seed, sampler, pruner, device, ...,
    and `warm_start=[run or path, ...]` (with `warm_start_top=K`): earlier runs whose trials seed this search.
    `budget="auto"` (with `stall_tolerance`, `stall_window`): stop once the best has stalled, within the cap.
    `progress`: True prints one line per finished trial (as the CLI does), False is silent, or a callable
    progress(record, metric, direction, t0). Call `run.finalize()` afterwards for the test figure and model.
    """
    if progress is True:
        from automl.report.progress import ProgressPrinter

        progress = ProgressPrinter()
    options["progress"] = progress or None
    from automl.store.run import MANIFEST

    raw, base_dir = _space_dict(space)
    if model is not None:
        from automl.models.factory import apply_model_arg

        apply_model_arg(raw, model)
    if "finalize" in options:
        raise UserInputError("search() does not finalize; call run.finalize(...) on the returned Run.")
    root = Path(results_dir)
    name = study or str(raw.get("name") or "search")
    run_dir = (root / name).resolve()
    if (run_dir / MANIFEST).exists():
        raise UserInputError(f"Run directory {run_dir} already holds study {name!r}. Load it with "
                             f"automl.load_run({str(run_dir)!r}), or pass study='another_name' (nothing was changed).")
    ds = dict(raw.get("dataset") or {})
    fresh = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        info = _start(raw, ds, data, target, run_dir, base_dir, backend=backend, name=name, root=root, **options)
    except BaseException:
        if fresh and not (run_dir / MANIFEST).exists():  # nothing was searched: leave no half-made run dir
            import shutil

            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return Run(info)


def _start(raw: dict[str, Any], ds: dict[str, Any], data: Any, target: str | None, run_dir: Path,
           base_dir: Path | None, *, backend: str, name: str, root: Path, **options: Any) -> Any:
    import yaml

    from automl.backends.prepare import start_search
    from automl.space import parse_space

    if data is not None:  # the same rule as the CLI's --data PATH
        from automl.space.validate import point_at_file

        raw["dataset"] = point_at_file(ds, _write_data(data, run_dir, target))
    elif target is not None:
        raise UserInputError("target= applies with data=...; in a space file set dataset.target.")
    elif "path" in ds and base_dir is not None and not Path(ds["path"]).is_absolute():
        ds["path"] = str((base_dir / ds["path"]).resolve())
        raw["dataset"] = ds
    parse_space(raw, source="space", base_dir=base_dir)  # every problem reported before the search starts
    from automl.models.factory import pin_factory_path

    raw = dict(pin_factory_path(raw, base_dir))  # the run dir's copy must still find a model factory's module
    space_file = run_dir / "space.yaml"
    space_file.write_text(yaml.safe_dump(raw, sort_keys=False))
    return start_search(space_file, backend=backend, study=name, root=root, **options)
