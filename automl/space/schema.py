"""Load and validate a search-space YAML file into a `SearchSpace`.

Every problem in the file is collected and reported at once (`SpaceError`), each with its field path,
the offending value and what is allowed; unknown keys get a "did you mean" suggestion.

A parameter is written as one of
    key: 0.001                                       fixed value
    key: {value: true, when: {optimizer: sgd}}       fixed value, conditional
    key: {low: 1.0e-4, high: 0.1, log: true}         float (int when the key is an integer key)
    key: {type: int, low: 8, high: 64, step: 8}      int
    key: {choices: [relu, gelu]}                     categorical
and any of them may carry `when: {other_param: value-or-list}`. Per-layer settings live under
`conv_blocks:` / `dense_blocks:` with their count in `n_conv_blocks` / `n_dense_blocks`; names listed in the
block's `shared:` are sampled once for all layers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from automl.models.families import FAMILIES, GLOBAL_POOLS
from automl.models.initializers import INITIALIZERS
from automl.models.layers import LAYERS
from automl.space.errors import Issue, SpaceError, did_you_mean, fmt
from automl.space.keys import _B, _E, Key, _f, _i
from automl.space.params import Categorical, Condition, Fixed, Float, Int, Param, Repeat, Section, Space
from automl.training.losses import LOSSES, LOSSES_BY_TASK
from automl.training.optimizers import OPTIMIZERS
from automl.training.schedules import SCHEDULES
from automl.training.tasks import TASKS, default_direction, metrics_for

_PENALTY = _f(0.0, 100.0)

# Per-layer keys come from each layer kind (models/layers/); enum choices from the vocabulary registries.
BLOCKS = {LAYERS.get(k).list_key: (LAYERS.get(k).count_key, LAYERS.get(k).keys) for k in LAYERS}
CONV_KEYS, DENSE_KEYS = BLOCKS["conv_blocks"][1], BLOCKS["dense_blocks"][1]
MODEL_KEYS: dict[str, Key] = {
    "family": _E(FAMILIES), "embedding_dim": _i(1, 65536), **{n: _i(0, 64) for n, _ in BLOCKS.values()},
    "global_pool": _E(GLOBAL_POOLS), "init": _E((*INITIALIZERS, *INITIALIZERS.aliases())),
    "init_std": _f(0.0, 100.0, lo_open=True), "init_range": _f(0.0, 100.0, lo_open=True), "bias_init": _f(-100.0, 100.0),
    "max_params": _i(1, 10**12),
}
TRAINING_KEYS: dict[str, Key] = {
    "optimizer": _E(OPTIMIZERS), "lr": _f(0.0, 100.0, lo_open=True), "momentum": _f(0.0, 1.0, hi_open=True),
    "nesterov": _B, "rho": _f(0.0, 1.0, hi_open=True), "beta1": _f(0.0, 1.0, hi_open=True),
    "beta2": _f(0.0, 1.0, hi_open=True), "eps": _f(0.0, 1.0, lo_open=True), "weight_decay": _f(0.0, 100.0),
    "schedule": _E(SCHEDULES), "step_size": _i(1, 100_000), "gamma": _f(0.0, 1.0, lo_open=True),
    "decay_rate": _f(0.0, 1000.0), "final_lr_fraction": _f(0.0, 1.0), "warmup_pct": _f(0.0, 1.0, True, True),
    "restart_period": _i(1, 100_000), "restart_mult": _i(1, 100), "batch_size": _i(1, 10**7),
    "max_epochs": _i(1, 10**6), "patience": _i(0, 10**6), "min_delta": _f(0.0, None), "loss": _E(LOSSES),
    "label_smoothing": _f(0.0, 1.0, hi_open=True), "huber_delta": _f(0.0, None, lo_open=True),
    "l1": _PENALTY, "l2": _PENALTY, "activity_l1": _PENALTY, "activity_l2": _PENALTY, "grad_clip": _f(0.0, None),
}

# the Optuna backend's registries (torch- and optuna-free): a new sampler or pruner is one entry there
from automl.backends.optuna.samplers import PRUNERS as _PRUNERS, SAMPLERS as _SAMPLERS  # noqa: E402, I001

SAMPLERS, PRUNERS = _SAMPLERS.names(), _PRUNERS.names()
TOP_KEYS = ("name", "description", "dataset", "task", "objective", "model", "training", "search")
SEARCH_KEYS: dict[str, Key] = {
    "sampler": _E(SAMPLERS), "pruner": _E(PRUNERS), "trials": _i(1, 10**7), "timeout": _f(0.0, None, lo_open=True),
    "max_total_epochs": _i(1, 10**9), "seed": _i(0, 2**31 - 1), "grid_points": _i(1, 100), "min_epochs": _i(1, 10**6),
    "reduction_factor": _i(2, 100), "startup_trials": _i(0, 10**6), "percentile": _f(0.0, 100.0),
    "workers": _i(1, 1024), "trial_timeout": _f(0.0, None, lo_open=True), "budget": _E(("auto", "fixed")),
    "stall_tolerance": _f(0.0, None), "stall_window": _i(1, 10**6),
}
SPEC_KEYS = ("type", "low", "high", "log", "step", "choices", "value", "when")


@dataclass
class Objective:
    metric: str = "val_accuracy"
    direction: str = "maximize"
    cost: str | None = None  # a second objective to minimise (automl.finalize.pareto.COST_METRICS), or None


@dataclass
class SearchSpace:
    """A validated space file: what to search (`space`), on which data, for which objective."""

    name: str
    source: str
    dataset: dict[str, Any]
    task: str | None
    objective: Objective
    space: Space
    search: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    base_dir: Path | None = None

    def resolve_objective(self, task: str) -> Objective:
        """The objective once the task is known (file datasets may infer it only when loaded)."""
        issues = task_issues(self.task, self.objective.metric, task)
        if issues:
            raise SpaceError(self.source, issues)
        return self.objective


def task_issues(declared: str | None, metric: str, task: str) -> list[Issue]:
    """What the data's task (given or inferred) rules out: a declared `task:` it contradicts, an objective metric
    it does not report. `search` and `spaces validate` both ask this, so they cannot disagree."""
    issues = []
    if declared is not None and declared != task:
        issues.append(Issue("task", f"{fmt(declared)} does not match the data, which is a {task} task; set "
                            f"task: {task} (or dataset.task to read the target as {declared}), or remove `task:`"))
    if metric not in metrics_for(task):
        issues.append(Issue("objective.metric", f"{fmt(metric)} is not available for a {task} task (the data's); "
                            f"allowed: {', '.join(metrics_for(task))}"))
    return issues


# --- YAML reading -------------------------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """Safe loading, plus YAML 1.2 floats: PyYAML alone reads `1e-4` as a string."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise SpaceError(str(path), [Issue("", "file not found" if not path.exists() else "not a file")])
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise SpaceError(str(path), [Issue("", f"malformed YAML at {where}{problem}")]) from None
    except UnicodeDecodeError as e:
        raise SpaceError(str(path), [Issue("", f"not UTF-8 text ({e.reason})")]) from None


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a space file; raises `SpaceError` listing every problem."""
    data = read_yaml(path)
    return parse_space(data, source=str(path), base_dir=Path(path).resolve().parent)


# --- parsing ------------------------------------------------------------------------------------------------

class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[Issue] = []
        self.invalid: set[str] = set()  # paths of declared parameters whose own value is invalid (reported already)

    def err(self, path: str, msg: str) -> None:
        self.issues.append(Issue(path, msg))

    def unknown(self, path: str, key: Any, allowed: Any) -> None:
        allowed = list(allowed)
        self.err(f"{path}.{key}" if path else str(key),
                 f"unknown key{did_you_mean(key, allowed)}; allowed keys: {', '.join(allowed)}")

    # one parameter ------------------------------------------------------------------------------------------
    def param(self, path: str, name: str, raw: Any, key: Key) -> Param | None:
        when_raw = None
        if isinstance(raw, dict):
            unknown = [k for k in raw if k not in SPEC_KEYS]
            for k in unknown:
                self.unknown(path, k, SPEC_KEYS)
            if unknown:
                self.invalid.add(path)
                return None
            when_raw = raw.get("when")
            dist = self.dist(path, raw, key)
        elif isinstance(raw, list):
            self.err(path, f"a list is not a parameter value: write {{choices: {fmt(raw)}}} to search over it")
            self.invalid.add(path)
            return None
        else:
            dist = self.fixed(path, raw, key)
        if dist is None:
            self.invalid.add(path)
            return None
        when = self.when_raw(path, when_raw)
        return Param(name=name, dist=dist, when=when)  # condition paths resolved later

    def fixed(self, path: str, v: Any, key: Key) -> Fixed | None:
        if key.kind == "float" and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if not key.check(v):
            extra = did_you_mean(v, key.choices) if key.kind == "enum" and isinstance(v, str) else ""
            self.err(path, f"{fmt(v)} is not allowed{extra}; expected {key.allowed()}")
            return None
        return Fixed(v)

    def dist(self, path: str, raw: dict, key: Key) -> Float | Int | Categorical | Fixed | None:
        typ = raw.get("type")
        if typ is not None and typ not in ("float", "int", "categorical", "fixed"):
            self.err(f"{path}.type", f"{fmt(typ)} is not a parameter type{did_you_mean(typ, ['float', 'int', 'categorical'])}; "
                     "allowed: float, int, categorical, fixed")
            return None
        if "value" in raw:
            extra = [k for k in raw if k not in ("value", "when", "type")]
            if extra:
                self.err(path, f"a fixed value takes only `value` and `when`, not {', '.join(extra)}")
                return None
            return self.fixed(f"{path}.value", raw["value"], key)
        if "choices" in raw or typ == "categorical":
            extra = [k for k in raw if k not in ("choices", "when", "type")]
            if extra:
                self.err(path, f"a categorical parameter takes only `choices` and `when`, not {', '.join(extra)}")
                return None
            choices = raw.get("choices")
            if not isinstance(choices, list) or not choices:
                self.err(f"{path}.choices", f"{fmt(choices)} must be a non-empty list of values ({key.allowed()})")
                return None
            fixed = [self.fixed(f"{path}.choices[{j}]", c, key) for j, c in enumerate(choices)]
            if any(fx is None for fx in fixed):
                return None
            out = tuple(fx.value for fx in fixed)  # type: ignore[union-attr]
            if len({(type(c), c) for c in out}) != len(out):
                self.err(f"{path}.choices", f"{fmt(choices)} has duplicate values")
                return None
            return Categorical(out)
        if "low" in raw or "high" in raw or typ in ("float", "int"):
            return self.numeric(path, raw, key, typ)
        self.err(path, "a parameter mapping needs `value`, `choices`, or `low` and `high`")
        return None

    def numeric(self, path: str, raw: dict, key: Key, typ: str | None) -> Float | Int | None:
        if key.kind not in ("float", "int"):
            self.err(path, f"a numeric range does not fit this key: expected {key.allowed()}; use {{choices: [...]}}")
            return None
        typ = typ or key.kind
        if typ == "float" and key.kind == "int":
            self.err(f"{path}.type", "float is not allowed for an integer key; use type: int")
            return None
        lo, hi = raw.get("low"), raw.get("high")
        bad = False
        for nm, v in (("low", lo), ("high", hi)):
            if v is None:
                self.err(f"{path}.{nm}", "missing; a range needs both low and high")
                bad = True
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or (typ == "int" and not isinstance(v, int)):
                self.err(f"{path}.{nm}", f"{fmt(v)} is not {'an integer' if typ == 'int' else 'a number'}")
                bad = True
            elif not key.check(float(v) if key.kind == "float" else v):
                self.err(f"{path}.{nm}", f"{fmt(v)} is out of range; expected {key.allowed()}")
                bad = True
        log = raw.get("log", False)
        if not isinstance(log, bool):
            self.err(f"{path}.log", f"{fmt(log)} must be true or false")
            bad = True
        step = raw.get("step")
        if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0
                                 or (typ == "int" and not isinstance(step, int))):
            self.err(f"{path}.step", f"{fmt(step)} must be a positive {'integer' if typ == 'int' else 'number'}")
            bad = True
        if bad:
            return None
        for failed, where, msg in ((lo > hi, path, f"low {fmt(lo)} is greater than high {fmt(hi)}"),
                                   (log and lo <= 0, f"{path}.low", f"{fmt(lo)} must be > 0 on a log scale"),
                                   (log and step not in (None, 1), f"{path}.step",
                                    "step cannot be combined with log: true")):
            if failed:
                self.err(where, msg)
                return None
        if step is not None and not log and abs(((hi - lo) / step) - round((hi - lo) / step)) > 1e-9:
            reach = lo + math.floor((hi - lo) / step + 1e-9) * step
            self.err(f"{path}.high", f"{fmt(hi)} is not reachable from low {fmt(lo)} in steps of {fmt(step)}; use high: {reach:g}")
            return None
        if typ == "int":
            return Int(int(lo), int(hi), int(step or 1), bool(log))
        return Float(float(lo), float(hi), bool(log), None if step is None else float(step))

    def when_raw(self, path: str, raw: Any) -> tuple[Condition, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, dict) or not raw:
            self.err(f"{path}.when", f"{fmt(raw)} must be a mapping of parameter name to value or list of values")
            return ()
        return tuple(Condition(str(k), tuple(v) if isinstance(v, list) else (v,)) for k, v in raw.items())

    # sections -----------------------------------------------------------------------------------------------
    def section(self, sec_name: str, raw: Any, keys: dict[str, Key]) -> Section:
        if raw is None:
            return Section(sec_name)
        if not isinstance(raw, dict):
            self.err(sec_name, f"{fmt(raw)} must be a mapping of {sec_name} settings")
            return Section(sec_name)
        children: list[Param | Repeat] = []
        allowed = list(keys) + (list(BLOCKS) if sec_name == "model" else [])
        for k, v in raw.items():
            path = f"{sec_name}.{k}"
            if sec_name == "model" and k in BLOCKS:
                rep = self.block(path, str(k), v, raw)
                if rep is not None:
                    children.append(rep)
            elif k in keys:
                p = self.param(path, str(k), v, keys[k])
                if p is not None:
                    children.append(p)
            else:
                self.unknown(sec_name, k, allowed)
        if sec_name == "model":  # a count without per-layer settings still yields that many default layers
            for block, (count_key, _) in BLOCKS.items():
                if count_key in raw and block not in raw:
                    children.append(Repeat(block, f"model.{count_key}", ()))
        return Section(sec_name, tuple(children))

    def block(self, path: str, name: str, raw: Any, model_raw: dict) -> Repeat | None:
        count_key, keys = BLOCKS[name]
        if count_key not in model_raw:
            self.err(path, f"per-layer settings need a layer count: add model.{count_key} (an int or an int range)")
            return None
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            self.err(path, f"{fmt(raw)} must be a mapping of per-layer settings ({', '.join(keys)})")
            return None
        shared = raw.get("shared", [])
        if isinstance(shared, str):
            shared = [shared]
        if not isinstance(shared, list):
            self.err(f"{path}.shared", f"{fmt(shared)} must be a list of per-layer keys")
            shared = []
        for s in shared:
            if s not in keys:
                self.err(f"{path}.shared", f"{fmt(s)} is not a per-layer key{did_you_mean(s, keys)}; allowed: {', '.join(keys)}")
        body = []
        for k, v in raw.items():
            if k == "shared":
                continue
            if k not in keys:
                self.unknown(path, k, [*list(keys), "shared"])
                continue
            p = self.param(f"{path}.{k}", str(k), v, keys[k])
            if p is not None:
                body.append(p)
        return Repeat(name, f"model.{count_key}", tuple(body), frozenset(s for s in shared if s in keys))


def _resolve(space_root: Section, p: _Parser) -> Section:
    """Make condition paths absolute, check they exist and their values are possible, and order each section
    so that every parameter comes after the ones it depends on."""
    # index of every parameter by absolute path (per-layer ones with "{i}")
    index: dict[str, Param] = {}
    for sec in space_root.children:
        assert isinstance(sec, Section)
        for c in sec.children:
            if isinstance(c, Param):
                index[f"{sec.name}.{c.name}"] = c
            elif isinstance(c, Repeat):
                for q in c.body:
                    index[f"{sec.name}.{c.name}.{'' if q.name in c.shared else '{i}.'}{q.name}"] = q

    def absolute(sec: str, block: Repeat | None, ref: str) -> str | None:
        if "." in ref:
            if block is not None and ref.startswith(f"{sec}.{block.name}."):
                tail = ref.split(".")[-1]
                ref = f"{sec}.{block.name}.{'{i}.' if tail not in block.shared else ''}{tail}"
            return ref if ref in index else None
        if block is not None and any(q.name == ref for q in block.body):
            return f"{sec}.{block.name}.{'' if ref in block.shared else '{i}.'}{ref}"
        cand = f"{sec}.{ref}"
        return cand if cand in index else None

    def fix(sec: str, block: Repeat | None, q: Param, where: str) -> Param:
        conds = []
        for c in q.when:
            target = absolute(sec, block, c.path)
            if target is None and _names_invalid(p.invalid, sec, block, c.path):
                continue  # the parameter exists but its own value is wrong: that error is reported already
            if target is None:
                names = [k.split(".")[-1] for k in index] + list(index)
                hint = did_you_mean(c.path, names) or did_you_mean(c.path, [*MODEL_KEYS, *TRAINING_KEYS, *CONV_KEYS])
                p.err(f"{where}.when.{c.path}", f"condition on a parameter that does not exist in this space{hint}; "
                      "a condition can only name a parameter the file declares")
                continue
            if target == where.replace(".0.", ".{i}."):
                p.err(f"{where}.when", "a parameter cannot be conditioned on itself")
                continue
            dist = index[target].dist
            for v in c.values:
                if not dist.contains(v):
                    p.err(f"{where}.when.{c.path}", f"{fmt(v)} is never taken by {target}; its values: {_describe(dist)}")
            conds.append(Condition(target, c.values))
        return Param(q.name, q.dist, tuple(conds))

    new_sections = []
    for sec in space_root.children:
        assert isinstance(sec, Section)
        kids: list[Param | Repeat] = []
        for c in sec.children:
            if isinstance(c, Param):
                kids.append(fix(sec.name, None, c, f"{sec.name}.{c.name}"))
            elif isinstance(c, Repeat):
                body = tuple(fix(sec.name, c, q, f"{sec.name}.{c.name}.{q.name}") for q in c.body)
                count_param = index.get(c.count) if isinstance(c.count, str) else None
                if count_param is not None and not _is_int_dist(count_param.dist):
                    p.err(c.count, "a layer count must be an integer or an integer range")
                kids.append(Repeat(c.name, c.count, _order_body(body, c), c.shared))
        new_sections.append(Section(sec.name, _topo(sec.name, kids, p)))
    return Section("", tuple(new_sections))


def _names_invalid(invalid: set[str], sec: str, block: Repeat | None, ref: str) -> bool:
    """Does a condition's reference name a declared parameter that failed its own validation?"""
    cands = {ref, f"{sec}.{ref}"} | ({f"{sec}.{block.name}.{ref.split('.')[-1]}"} if block is not None else set())
    return bool(cands & invalid)


def _is_int_dist(d: Any) -> bool:
    if isinstance(d, Int):
        return True
    vals = d.choices if isinstance(d, Categorical) else (d.value,) if isinstance(d, Fixed) else ()
    return bool(vals) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in vals)


def _describe(dist: Any) -> str:
    if isinstance(dist, Categorical):
        return ", ".join(map(str, dist.choices))
    if isinstance(dist, Fixed):
        return f"only {dist.value!r}"
    return f"[{dist.low}, {dist.high}]"


def _deps(node: Param | Repeat, sec: str) -> set[str]:
    if not isinstance(node, Repeat):
        return {c.path for c in node.when}
    inner = [c for q in node.body for c in q.when if not c.path.startswith(f"{sec}.{node.name}.")]
    return {c.path for c in (*node.when, *inner)} | ({node.count} if isinstance(node.count, str) else set())


def _topo(sec: str, kids: list[Param | Repeat], p: _Parser) -> tuple[Param | Repeat, ...]:
    """Stable order with dependencies first; a cycle is an error."""
    names = {f"{sec}.{k.name}": k for k in kids}
    out: list[Param | Repeat] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(key: str) -> None:
        if key in done:
            return
        if key in visiting:
            p.err(key, "conditions form a cycle")
            return
        visiting.add(key)
        for d in sorted(_deps(names[key], sec)):
            dep_key = ".".join(d.split(".")[:2])
            if dep_key in names and dep_key != key:
                visit(dep_key)
            elif not d.startswith(f"{sec}.") and sec == "model" and d.startswith("training."):
                p.err(key, f"a model parameter cannot depend on {d}: training is sampled after model")
        visiting.discard(key)
        done.add(key)
        out.append(names[key])

    for k in names:
        visit(k)
    return tuple(out)


def _order_body(body: tuple[Param, ...], rep: Repeat) -> tuple[Param, ...]:
    """Within a layer: parameters another layer parameter depends on come first."""
    by = {q.name: q for q in body}
    out: list[Param] = []
    seen: set[str] = set()

    def visit(q: Param, depth: int = 0) -> None:
        if q.name in seen or depth > len(body):
            return
        for c in q.when:
            tail = c.path.split(".")[-1]
            if c.path.startswith("model.") and tail in by and by[tail] is not q:
                visit(by[tail], depth + 1)
        seen.add(q.name)
        out.append(q)

    for q in body:
        visit(q)
    return tuple(out)


def parse_space(data: Any, source: str = "<space>", base_dir: Path | None = None) -> SearchSpace:
    """Validate a loaded YAML document; raises `SpaceError` with every problem found."""
    p = _Parser(source)
    if not isinstance(data, dict):
        raise SpaceError(source, [Issue("", f"the file must be a YAML mapping with keys {', '.join(TOP_KEYS)}; got {type(data).__name__}")])
    for k in data:
        if k not in TOP_KEYS:
            p.unknown("", k, TOP_KEYS)
    name = data.get("name") or (Path(source).stem if source != "<space>" else "space")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        p.err("name", f"{fmt(name)} must be a simple name (letters, digits, '_', '-', '.')")
    dataset = data.get("dataset")
    if not isinstance(dataset, dict) or not ({"name", "path"} & set(dataset)):
        p.err("dataset", f"{fmt(dataset)} must be a mapping with `name` (a built-in dataset) or `path` (a CSV, Parquet or NPZ file)")
        dataset = {}
    else:
        p.issues += dataset_issues(dataset)
    task = data.get("task")
    if task is not None and task not in TASKS:
        p.err("task", f"{fmt(task)} is not a task{did_you_mean(task, TASKS)}; allowed: {', '.join(TASKS)}")
        task = None
    objective = _objective(p, data.get("objective"), task)
    search = data.get("search") or {}
    if not isinstance(search, dict):
        p.err("search", f"{fmt(search)} must be a mapping")
        search = {}
    for k, v in search.items():
        if k not in SEARCH_KEYS:
            p.unknown("search", k, SEARCH_KEYS)
        elif v is not None:
            p.fixed(f"search.{k}", v, SEARCH_KEYS[k])
    model_raw = data.get("model")
    if isinstance(model_raw, dict) and "factory" in model_raw:  # your own model: automl/models/factory.py
        from automl.models.factory import factory_model_section

        model = factory_model_section(p, model_raw, base_dir)
    else:
        model = p.section("model", model_raw, MODEL_KEYS)
    training = p.section("training", data.get("training"), TRAINING_KEYS)
    if task is not None:
        _check_loss_fits_task(p, training, task)
    root = _resolve(Section("", (model, training)), p)
    if p.issues:
        raise SpaceError(source, p.issues)
    return SearchSpace(
        name=name, source=source, dataset=dataset, task=task, objective=objective, space=Space(root),
        search=dict(search), description=str(data.get("description") or ""), raw=data, base_dir=base_dir,
    )


def dataset_issues(dataset: dict[str, Any]) -> list[Issue]:
    """The `dataset:` section checked by the loader's own model (`DatasetConfig`), every problem as an Issue:
    unknown keys with a suggestion, split ratios that do not sum to 1, wrong types and values."""
    from pydantic import ValidationError

    from automl.data.config import DatasetConfig, SplitConfig

    try:
        DatasetConfig.model_validate(dict(dataset))
    except ValidationError as e:
        return [_pydantic_issue(err, DatasetConfig, SplitConfig) for err in e.errors()]
    return []


def _pydantic_issue(err: Any, top: Any, split: Any) -> Issue:
    loc = [str(x) for x in err["loc"]]
    path = ".".join(["dataset", *loc])
    msg = str(err["msg"]).removeprefix("Value error, ")
    model = split if loc[:1] == ["split"] else top
    fields = list(model.model_fields)
    if err["type"] == "extra_forbidden":
        return Issue(path, f"unknown key{did_you_mean(loc[-1], fields)}; allowed keys: {', '.join(fields)}")
    if err["type"] == "literal_error":
        allowed = [x.strip(" '") for x in str(err.get("ctx", {}).get("expected", "")).replace(" or ", ",").split(",")]
        return Issue(path, f"{fmt(err['input'])} is not allowed{did_you_mean(err['input'], allowed)}; expected one of "
                           f"{', '.join(a for a in allowed if a)}")
    if not loc or (err["type"] == "value_error" and loc == ["split"]):
        return Issue(path, msg)
    return Issue(path, f"{fmt(err['input'])}: {msg}")


def _check_loss_fits_task(p: _Parser, training: Section, task: str) -> None:
    """A loss the trainer rejects for this task (mse on a multiclass task) would fail every trial."""
    allowed = ("auto", *LOSSES_BY_TASK[task])
    for c in training.children:
        if isinstance(c, Param) and c.name == "loss":
            values = [c.dist.value] if isinstance(c.dist, Fixed) else list(getattr(c.dist, "choices", ()))
            for v in values:
                if v in LOSSES and v not in allowed:
                    p.err("training.loss", f"{fmt(v)} does not fit a {task} task; allowed: {', '.join(allowed)}")


def _objective(p: _Parser, raw: Any, task: str | None) -> Objective:
    if isinstance(raw, list):  # [validation metric, cost]: a Pareto search (automl/finalize/pareto.py)
        return _two_objectives(p, raw, task)
    return _one_objective(p, raw, task, "objective")


def _one_objective(p: _Parser, raw: Any, task: str | None, where: str) -> Objective:
    raw = {} if raw is None else {"metric": raw} if isinstance(raw, str) else raw
    if not isinstance(raw, dict):
        p.err(where, f"{fmt(raw)} must be a mapping with `metric` and optional `direction`")
        return Objective()
    for k in raw:
        if k not in ("metric", "direction"):
            p.unknown(where, k, ("metric", "direction"))
    metric = raw.get("metric", "val_rmse" if task == "regression" else "val_accuracy")
    allowed = metrics_for(task)
    if metric not in allowed:
        p.err(f"{where}.metric", f"{fmt(metric)} is not a metric for {'a ' + task if task else 'any'} task"
              f"{did_you_mean(metric, allowed)}; allowed: {', '.join(allowed)}")
    direction = raw.get("direction", default_direction(str(metric)))
    if direction not in ("minimize", "maximize"):
        p.err(f"{where}.direction", f"{fmt(direction)} must be minimize or maximize")
        direction = "maximize"
    return Objective(str(metric), str(direction))


def _two_objectives(p: _Parser, raw: list, task: str | None) -> Objective:
    from automl.finalize.pareto import COST_METRICS

    if len(raw) == 1:
        return _one_objective(p, raw[0], task, "objective[0]")
    if len(raw) != 2:
        p.err("objective", f"a list of {len(raw)} objectives; allowed: one validation metric, or two: "
              "[{metric: val_accuracy, direction: maximize}, {metric: n_params, direction: minimize}] (a validation "
              f"metric, then a cost to minimise: {', '.join(COST_METRICS)})")
        return Objective()
    first = _one_objective(p, raw[0], task, "objective[0]")
    second = {"metric": raw[1]} if isinstance(raw[1], str) else raw[1]
    if not isinstance(second, dict) or "metric" not in second:
        p.err("objective[1]", f"{fmt(raw[1])} must be a mapping {{metric: COST, direction: minimize}} with COST one of "
              f"{', '.join(COST_METRICS)}")
        return first
    for k in second:
        if k not in ("metric", "direction"):
            p.unknown("objective[1]", k, ("metric", "direction"))
    cost = second["metric"]
    if cost not in COST_METRICS:
        p.err("objective[1].metric", f"{fmt(cost)} is not a cost metric{did_you_mean(str(cost), list(COST_METRICS))}; "
              f"allowed: {'; '.join(f'{k} ({v})' for k, v in COST_METRICS.items())}")
        return first
    if second.get("direction", "minimize") != "minimize":
        p.err("objective[1].direction", f"{fmt(second.get('direction'))}: a cost is minimised; allowed: minimize")
    return Objective(first.metric, first.direction, str(cost))
