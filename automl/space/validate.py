"""`automl spaces validate`: the whole space checked the way `automl search` checks it, without training.

Schema (every section, `dataset:` included) first; then, unless the data checks are skipped, the data itself,
read by the loader `search` uses (`automl.data.raw.read_raw`): the file exists and parses, the target and the
named columns exist, the task (given or inferred from the data) fits the declared `task:` and the objective,
and some sampled architecture fits the data's shape (`check_some_feasible`, as `search` runs it). Every problem
that can be found in one pass is reported together in one `SpaceError`. Torch is never imported.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl.space.errors import Issue, SpaceError, UserInputError
from automl.space.schema import SearchSpace, dataset_issues, parse_space, read_yaml, task_issues
from automl.training.tasks import TASKS, metrics_for

# the dataset keys a file keeps when the data is swapped (`--data`, automl.search(data=...)); a built-in's
# file-only keys do not apply to the new file, its split and standardization do
FILE_KEYS = ("target", "task", "features", "drop", "classes", "standardize", "standardize_target", "split",
             "subsample", "format", "x_key", "y_key", "input")
BUILTIN_KEPT = ("split", "standardize", "standardize_target", "subsample")
_TABLES = ("csv", "tsv", "parquet")


def point_at_file(dataset: Mapping[str, Any], keys: Mapping[str, Any]) -> dict[str, Any]:
    """A `dataset:` section re-pointed at another file (`keys`: its `path`, maybe `target`), keeping the
    settings that still apply. The one rule for `--data PATH` and `automl.search(data=...)`."""
    kept = {k: v for k, v in dataset.items() if k in FILE_KEYS}
    if "name" in dataset:
        kept = {k: v for k, v in kept.items() if k in BUILTIN_KEPT}
    return {**kept, **keys}


def check_data_file(data: str | Path, option: str = "--data") -> Path:
    """The absolute path of an existing data file given on the command line; UserInputError otherwise."""
    p = Path(data).expanduser()
    if not p.is_file():
        what = "is a directory" if p.is_dir() else "does not exist"
        raise UserInputError(f"{option} {str(data)!r} {what}; give a CSV/TSV/Parquet/NPZ file (the space's "
                             "dataset settings such as target, split and classes still apply to it).")
    return p.resolve()


def with_data(raw: Mapping[str, Any], data: str | Path, option: str = "--data") -> dict[str, Any]:
    """The space document with its dataset file replaced by `data` (which must exist)."""
    out = copy.deepcopy(dict(raw))
    ds = out.get("dataset") if isinstance(out.get("dataset"), Mapping) else {}
    out["dataset"] = point_at_file(ds, {"path": str(check_data_file(data, option))})
    return out


@dataclass
class Validated:
    """A space that passed: the parsed space, and what was read of its data (None when the data was not checked)."""

    space: SearchSpace
    data: str | None = None


def validate_space(path: str | Path, *, data: str | Path | None = None, check_data: bool = True) -> Validated:
    """Check a space file as `search` would (with `data` replacing its dataset file); raises `SpaceError` with
    every problem found."""
    source = str(path)
    doc = read_yaml(path)
    base_dir = Path(path).resolve().parent
    if data is not None and isinstance(doc, Mapping):
        doc = with_data(doc, data)
    issues: list[Issue] = []
    space = None
    try:
        space = parse_space(doc, source=source, base_dir=base_dir)
    except SpaceError as e:
        issues += e.issues
    facts: list[str] = []
    if check_data and isinstance(doc, Mapping) and isinstance(doc.get("dataset"), Mapping):
        issues += data_issues(doc, base_dir, space, facts)
    if issues:
        raise SpaceError(source, issues)
    assert space is not None
    return Validated(space, facts[0] if facts else None)


def data_issues(doc: Mapping[str, Any], base_dir: Path | None, space: SearchSpace | None = None,
                facts: list[str] | None = None) -> list[Issue]:
    """The problems only the data shows: read it as `search` does, then ask `task_issues` and the feasibility
    check as `search` does. `facts` receives a one-line description of the data read."""
    from automl.data.errors import DataError
    from automl.data.raw import raw_spec, read_raw, resolve_path

    ds = dict(doc["dataset"])
    bad = dataset_issues(ds)
    if bad or not ({"name", "path"} & set(ds)):  # reported by the schema; what else can still be checked?
        lenient = {k: v for k, v in ds.items() if k in ("name", "path")
                   or not any(i.path.split(".")[1:2] == [k] for i in bad)}
        if isinstance(ds.get("path"), str) and not dataset_issues(lenient):
            try:
                return _missing_columns(lenient, base_dir)
            except DataError as e:
                return [_issue(e)]
        if isinstance(ds.get("path"), str):
            try:
                resolve_path(ds["path"], base_dir)
            except DataError as e:
                return [_issue(e)]
        return []
    try:
        missing = _missing_columns(ds, base_dir)
        if missing:
            return missing
        _, raw = read_raw(ds, base_dir=base_dir)
        spec = raw_spec(raw)
    except DataError as e:
        return [_issue(e)]
    if facts is not None:
        facts.append(f"{raw.source}: {spec.task}, {len(raw.y)} rows, {spec.input_kind} input "  # type: ignore[attr-defined]
                     f"{tuple(spec.input_shape)}")
    if space is None:  # the schema failed elsewhere: still check what can be read of task and objective
        declared = doc.get("task") if doc.get("task") in TASKS else None
        obj = doc.get("objective")
        metric = obj.get("metric") if isinstance(obj, Mapping) else obj
        if not isinstance(metric, str) or metric not in metrics_for(None):
            return []
        return task_issues(declared, metric, spec.task)
    issues = task_issues(space.task, space.objective.metric, spec.task)
    if not issues:
        from automl.backends.prepare import check_some_feasible

        try:
            check_some_feasible(space, spec)
        except UserInputError as e:
            issues.append(Issue("model", str(e).split(": ", 1)[-1]))
    return issues


def _missing_columns(ds: dict[str, Any], base_dir: Path | None) -> list[Issue]:
    """Every named column a table lacks (target, features, drop, split.column), not only the first."""
    from automl.data.errors import DataError
    from automl.data.files import _check_columns, _read_table, infer_format
    from automl.data.raw import data_path, parse_config

    cfg = parse_config(ds)
    if cfg.path is None:
        return []
    path = data_path(cfg, base_dir)
    fmt = infer_format(path, cfg.format)
    if fmt not in _TABLES:
        return []
    columns = list(_read_table(path, fmt, str(path)).columns)
    targets = [] if cfg.target is None else [cfg.target] if isinstance(cfg.target, str) else list(cfg.target)
    issues = []
    for field, names in (("target", targets), ("features", cfg.features or []), ("drop", cfg.drop),
                         ("split.column", [cfg.split.column] if cfg.split.column else [])):
        for n in names:
            try:
                _check_columns([n], columns, source=str(path), field_name=field)
            except DataError as e:
                issues.append(_issue(e, f"dataset.{field}"))
    return issues


def _issue(e: Any, path: str | None = None) -> Issue:
    from automl.data.config import DatasetConfig

    key = str(e.key or "")
    if path is None:
        path = f"dataset.{key}" if key.split(".")[0] in DatasetConfig.model_fields else "dataset"
    return Issue(path, str(e))
