"""The key reference of a space file, generated from the schema and the registries so it cannot drift.

    python -m automl.space.docs            # print the reference (Markdown)
    python -m automl.space.docs --write    # replace the generated section of docs/CONFIG.md
    python -m automl.space.docs --check    # exit 1 when docs/CONFIG.md is stale (tests/test_validate.py)

Every key the validator accepts is listed with its type or allowed values and its default: `dataset:` from the
loader's pydantic model, `model:` from the model config dataclasses, per-layer keys from each layer kind,
`training:` from the trainer's constants, `search:` from the Optuna backend's settings.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from pathlib import Path
from typing import Any

BEGIN = "<!-- BEGIN GENERATED: python -m automl.space.docs --write (do not edit by hand) -->"
END = "<!-- END GENERATED -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "CONFIG.md"

TOP_DOCS = {
    "name": "the study name (default: the file name); letters, digits, `_`, `-`, `.`",
    "description": "one line shown by `automl spaces list`",
    "dataset": "where the data comes from and how it is split (below)",
    "task": "binary | multiclass | regression; inferred from the data when absent, and checked against it",
    "objective": "`metric` (below, per task) and `direction` (default: by the metric); a bare string is the metric. "
                 "Or a list of two: the metric, then a cost to minimise (`n_params`, `latency_ms`, `train_seconds`): "
                 "the search returns the Pareto front (README, *Accuracy against cost*)",
    "model": "the architecture's parameters (below)",
    "training": "the optimizer, schedule, loss and regularization parameters (below)",
    "search": "the sampler, pruner and budget (below); command-line options override them",
}
SPEC_DOCS = {
    "value": "a fixed value: `key: 3` or `key: {value: 3, when: ...}`",
    "choices": "a categorical: `{choices: [relu, gelu]}`",
    "low": "a range's lower bound (with `high`)", "high": "a range's upper bound",
    "log": "sample the range on a log scale (low > 0)", "step": "a range's grid step (not with log)",
    "type": "float | int | categorical | fixed (inferred; `int` makes a range of a float key integral)",
    "when": "`{parameter: value or [values]}`: the parameter exists only when the other takes those values",
}
# training defaults that live as literals in automl/training (optimizers.py, trainer.py, losses.py, penalties.py)
_TRAINING_LITERALS: dict[str, Any] = {
    "optimizer": "adam", "momentum": 0.0, "nesterov": False, "rho": "0.9 (adadelta), 0.99 (rmsprop)", "beta1": 0.9,
    "beta2": 0.999, "weight_decay": 0.0, "schedule": "none", "min_delta": 0.0, "loss": "auto", "label_smoothing": 0.0,
    "huber_delta": 1.0, "l1": 0.0, "l2": 0.0, "activity_l1": 0.0, "activity_l2": 0.0, "grad_clip": 0.0,
}


def _v(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return [*out, ""]


def _annotation(ann: Any) -> str:
    """A pydantic field's annotation in words: 'one of a, b' for a Literal, 'text or list of text' ..."""
    args = typing.get_args(ann)
    origin = typing.get_origin(ann)
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    if args and origin is not list and origin is not dict:
        return " or ".join(_annotation(a) for a in args if a is not type(None))
    names = {str: "text", int: "integer", float: "number", bool: "true or false"}
    if origin is list:
        return f"list of {_annotation(args[0])}"
    if origin is dict:
        return f"mapping {_annotation(args[0])} -> {_annotation(args[1])}"
    return names.get(ann, getattr(ann, "__name__", str(ann)))


def _pydantic_rows(model: Any, prefix: str = "") -> list[tuple[str, ...]]:
    from pydantic_core import PydanticUndefined

    rows = []
    for name, f in model.model_fields.items():
        if name == "split":
            continue
        default = f.default_factory() if f.default_factory is not None else f.default
        default = None if default is PydanticUndefined else default
        kind = _annotation(f.annotation)
        for m in f.metadata:  # Field(ge=...) bounds
            if getattr(m, "ge", None) is not None:
                kind += f" >= {m.ge}"
        rows.append((f"`{prefix}{name}`", kind, _v(default if default != [] else "[]"), f.description or ""))
    return rows


def _key_rows(keys: dict[str, Any], defaults: dict[str, Any], prefix: str = "") -> list[tuple[str, ...]]:
    """One row per key the validator accepts; '-' where the code keeps no default (the key is unset)."""
    return [(f"`{prefix}{k}`", key.allowed(), _v(defaults.get(k))) for k, key in keys.items()]


def _registry(title: str, reg: Any) -> list[str]:
    aliases = reg.aliases()
    rows = []
    for n in reg.names():
        al = [a for a, c in aliases.items() if c == n]
        rows.append((f"`{n}`" + (f" (also {', '.join(al)})" if al else ""), reg.doc(n)))
    return [f"**{title}**", "", *_table(("name", "what it is"), rows)]


def generate() -> str:
    """The Markdown reference of every key, built from the live schema and registries."""
    from automl.backends.optuna.samplers import PRUNERS, SAMPLERS
    from automl.backends.optuna.settings import OptunaSettings
    from automl.data.builtin import BUILTIN_DATASETS
    from automl.data.config import DatasetConfig, SplitConfig
    from automl.models.activations import ACTIVATIONS
    from automl.models.config import ModelConfig
    from automl.models.families import FAMILIES, GLOBAL_POOLS
    from automl.models.initializers import INITIALIZERS
    from automl.models.layers import LAYERS
    from automl.space.schema import MODEL_KEYS, SEARCH_KEYS, SPEC_KEYS, TOP_KEYS, TRAINING_KEYS
    from automl.training import trainer
    from automl.training.losses import LOSSES, LOSSES_BY_TASK
    from automl.training.optimizers import DEFAULT_EPS, DEFAULT_LR, OPTIMIZERS
    from automl.training.schedules import SCHEDULES, ScheduleParams
    from automl.training.tasks import TASKS, default_direction, metrics_for

    out = [BEGIN, "", "## Every key of a space file", "",
           "Generated from the validator's schema and the registries (`python -m automl.space.docs --write`); "
           "`automl spaces validate` accepts exactly these keys. Any model, training or search key takes a fixed "
           "value or a search range (see *Parameter forms*).", ""]
    out += ["### Top level", "", *_table(("key", "what it is"), [(f"`{k}`", TOP_DOCS[k]) for k in TOP_KEYS])]

    out += ["### `dataset:`", "",
            "Exactly one of `name` (built-in: " + ", ".join(BUILTIN_DATASETS) + ") or `path` (a CSV, TSV, "
            "Parquet or NPZ file). `--data PATH` on `automl search` / `automl spaces validate` replaces the file "
            "and keeps the other keys (a built-in's `split`, `standardize*`, `subsample`).", ""]
    rows = _pydantic_rows(DatasetConfig) + _pydantic_rows(SplitConfig, "split.")
    out += _table(("key", "type / allowed", "default", "what it is"), rows)

    out += ["### `task:` and `objective:`", "",
            "The objective metric must be one the task reports; with no `task:` the task is inferred from the "
            "data and the metric is checked against it (`automl spaces validate` reads the data to do so). "
            "Default metric: `val_accuracy` (`val_rmse` for regression); default direction: by the metric.", ""]
    out += _table(("task", "`objective.metric`", "losses (`training.loss`)"),
                  [(t, ", ".join(f"{m} ({default_direction(m)})" for m in metrics_for(t)),
                    ", ".join(("auto", *LOSSES_BY_TASK[t]))) for t in TASKS])

    model_defaults = {f.name: f.default for f in dataclasses.fields(ModelConfig)
                      if f.default is not dataclasses.MISSING}
    for k in LAYERS:
        stacking = [f for f in FAMILIES.names() if k in FAMILIES.get(f).layers]
        model_defaults[LAYERS.get(k).count_key] = f"1 for {', '.join(stacking)}; else 0 (not stacked)"
    out += ["### `model:`", "", *_table(("key", "type / allowed", "default"), _key_rows(MODEL_KEYS, model_defaults))]
    from automl.models.factory import FACTORY_KEY, PATH_KEY  # torch-free module: names only

    out += [f"**Your own model** instead of these keys: `model.{FACTORY_KEY}:` `\"module:function\"` naming "
            "`build(config, data_spec) -> nn.Module`; optional `model.{PATH_KEY}:` the folder it is imported from "
            "(default: the space file's folder); every other key under `model:` is the factory's own hyperparameter "
            "(any name but the keys above), in any parameter form. See *Your own model* above.".replace(
                "{PATH_KEY}", PATH_KEY), ""]
    for k in LAYERS:
        kind = LAYERS.get(k)
        d = {f.name: f.default for f in dataclasses.fields(kind.config)}
        out += [f"**`model.{kind.list_key}:`** one value per layer (`{kind.count_key}` layers); names listed "
                "in its `shared:` are sampled once for all layers", "",
                *_table(("key", "type / allowed", "default"), _key_rows(dict(kind.keys), d, f"{kind.list_key}."))]

    training_defaults = {**_TRAINING_LITERALS, "lr": DEFAULT_LR, "eps": DEFAULT_EPS,
                         "batch_size": trainer.DEFAULT_BATCH_SIZE, "max_epochs": trainer.DEFAULT_MAX_EPOCHS,
                         "patience": trainer.DEFAULT_PATIENCE,
                         **{f.name: f.default for f in dataclasses.fields(ScheduleParams)
                            if f.default is not dataclasses.MISSING}}
    out += ["### `training:`", "",
            *_table(("key", "type / allowed", "default"), _key_rows(TRAINING_KEYS, training_defaults))]

    search_defaults = {f.name: f.default for f in dataclasses.fields(OptunaSettings)}
    search_defaults["trials"] = "20 when no other budget is set"
    out += ["### `search:`", "",
            *_table(("key", "type / allowed", "default"), _key_rows(SEARCH_KEYS, search_defaults))]

    out += ["### Parameter forms", "", *_table(("key", "meaning"), [(f"`{k}`", SPEC_DOCS[k]) for k in SPEC_KEYS])]

    out += ["### Names", ""]
    for title, reg in (("families", FAMILIES), ("global pools", GLOBAL_POOLS), ("activations", ACTIVATIONS),
                       ("initializers", INITIALIZERS), ("optimizers", OPTIMIZERS), ("schedules", SCHEDULES),
                       ("losses", LOSSES), ("samplers", SAMPLERS), ("pruners", PRUNERS)):
        out += _registry(title, reg)
    return "\n".join([*out, END]) + "\n"


def replace_section(text: str, section: str) -> str:
    """`text` with its generated section replaced (appended when it has none)."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + section.rstrip("\n") + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n" + section


def main(argv: list[str]) -> int:
    section = generate()
    if "--write" in argv:
        DOC.write_text(replace_section(DOC.read_text(encoding="utf-8"), section), encoding="utf-8")
        print(f"wrote the generated section of {DOC}")
        return 0
    if "--check" in argv:
        current = DOC.read_text(encoding="utf-8")
        if replace_section(current, section) != current:
            print(f"{DOC} is stale: run python -m automl.space.docs --write", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
