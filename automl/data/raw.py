"""From a `dataset:` section to the rows in memory (`RawData`), torch-free: `load_dataset` starts here, and so
does `automl spaces validate`, so the validator and the search read a file the same way and fail the same way."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from automl.data.config import DatasetConfig
from automl.data.errors import DataError
from automl.data.spec import DataSpec

_PROJECT_ROOT = Path(__file__).resolve().parents[2]  # repo root when running from a checkout


def parse_config(source: DatasetConfig | Mapping) -> DatasetConfig:
    """DatasetConfig from itself or a dict; pydantic errors become one DataError paragraph."""
    if isinstance(source, DatasetConfig):
        return source
    if not isinstance(source, Mapping):
        raise DataError(
            "dataset", f"the dataset section must be a mapping, got {type(source).__name__}: {source!r}"
        )
    try:
        return DatasetConfig.model_validate(dict(source))
    except ValidationError as e:
        where = source.get("path") or source.get("name") or "dataset"
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'dataset'}: {err['msg'].removeprefix('Value error, ')}"
            + (f" (got {err['input']!r})" if err["type"] not in ("missing",) and err["loc"] else "")
            for err in e.errors()
        )
        key = ".".join(str(p) for p in e.errors()[0]["loc"]) if e.errors() else None
        raise DataError(str(where), f"invalid dataset config: {problems}", key=key) from e


def resolve_path(path: str | Path, base_dir: Path | None = None) -> Path:
    """Absolute path, or relative to base_dir (the YAML's folder), then the CWD, then the project root."""
    p = Path(path).expanduser()
    if p.is_absolute():
        candidates = [p]
    else:
        candidates = [Path(base_dir) / p] if base_dir is not None else []
        candidates += [Path.cwd() / p, _PROJECT_ROOT / p]
    seen: list[Path] = []
    for c in candidates:
        if c not in seen:
            seen.append(c)
        if c.is_file():
            return c.resolve()
    dirs = [c for c in seen if c.is_dir()]
    if dirs:
        raise DataError(
            str(path), f"path {str(path)!r} is a directory ({dirs[0]}); point `path` at a file", key="path"
        )
    raise DataError(
        str(path),
        f"data file {str(path)!r} not found; looked in: {', '.join(str(c) for c in seen)}. Relative paths are "
        "resolved against the YAML file's folder, then the working directory",
        key="path",
    )


def expected_file(cfg: DatasetConfig) -> str:
    """What the file a `dataset:` section names must hold, in words (for a 'not found' message)."""
    suffixes = [x.lower().lstrip(".") for x in Path(str(cfg.path)).suffixes]
    fmt = cfg.format or next((x for x in reversed(suffixes) if x in ("npz", "csv", "tsv", "parquet")), None)
    if fmt == "npz":
        if cfg.classes:
            keys = ", ".join(f"{k} (class {v})" for k, v in sorted(cfg.classes.items(), key=lambda kv: kv[1]))
            what = f"an NPZ file with one array per class, keys {keys}, every array (N_k, *same sample shape)"
        else:
            what = (f"an NPZ file with arrays {cfg.x_key or 'x'} (features) and {cfg.y_key or 'y'} (targets), "
                    "or one array per class")
        if cfg.input == "tokens":
            what += ", samples as one-hot (L, C) sequences (zero rows = padding) or integer token ids (L,)"
        elif cfg.input != "auto":
            what += f", samples read as {cfg.input} inputs"
        return what
    kind = {"csv": "a CSV", "tsv": "a TSV", "parquet": "a Parquet"}.get(fmt or "", "a CSV/TSV/Parquet")
    what = f"{kind} table"
    if cfg.target is not None:
        targets = [cfg.target] if isinstance(cfg.target, str) else list(cfg.target)
        what += f" with the target column{'s' if len(targets) > 1 else ''} {', '.join(map(repr, targets))}"
    else:
        what += " with a target column named target, label, y or class"
    named = [*(cfg.features or []), *cfg.drop, *([cfg.split.column] if cfg.split.column else [])]
    if named:
        what += f" and the columns {', '.join(map(repr, named))}"
    return what


def data_path(cfg: DatasetConfig, base_dir: Path | None = None) -> Path:
    """The file of a `dataset: {path: ...}` section; when it is missing, the error says what it must hold and
    how to point the space at the user's copy."""
    assert cfg.path is not None
    try:
        return resolve_path(cfg.path, base_dir)
    except DataError as e:
        if "not found" not in e.detail:
            raise
        name = Path(str(cfg.path)).name
        raise DataError(e.source, f"{e.detail}. The file must be {expected_file(cfg)}. To use your copy, pass "
                        f"`--data /path/to/{name}` to automl search or automl spaces validate (data=... in "
                        "automl.search)", key=e.key) from None


def read_raw(source: DatasetConfig | Mapping, *, base_dir: Path | None = None) -> tuple[DatasetConfig, object]:
    """(config, RawData): a built-in or a CSV/TSV/Parquet/NPZ file read and checked, before any split."""
    from automl.data.builtin import read_builtin
    from automl.data.files import infer_format, read_npz, read_table

    cfg = parse_config(source)
    if cfg.name is not None:
        return cfg, read_builtin(cfg.name)
    path = data_path(cfg, base_dir)
    fmt = infer_format(path, cfg.format)
    src = str(path)
    return cfg, read_npz(path, cfg, src) if fmt == "npz" else read_table(path, fmt, cfg, src)


def raw_spec(raw: Any) -> DataSpec:
    """The `DataSpec` the loaded dataset will have, from the rows before the split, without torch (for
    `automl spaces validate`'s feasibility check). A table's width counts its categories over all rows where the
    loader counts the train rows': the same unless a category is absent from the train split."""
    from automl.data.files import TableEncoder

    if raw.table is not None:
        shape: tuple[int, ...] = (len(TableEncoder(standardize=False).fit(raw.table).feature_names),)
        kind, vocab = "flat", 0
    else:
        shape, kind, vocab = tuple(int(d) for d in raw.x.shape[1:]), raw.kind, raw.vocab_size
    if raw.task == "regression":
        n_classes, n_outputs = 0, int(raw.y.reshape(len(raw.y), -1).shape[1])
    else:
        n_classes = len(raw.class_names)
        n_outputs = 1 if raw.task == "binary" else n_classes
    return DataSpec(name=raw.name, task=raw.task, input_kind=kind, input_shape=shape, n_classes=n_classes,
                    n_outputs=n_outputs, vocab_size=vocab, class_names=tuple(raw.class_names))
