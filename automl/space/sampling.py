"""Turn a `Space` into a plain nested config dict by asking a `Suggest` for each active value.

An Optuna trial satisfies `Suggest` as it is (define-by-run), so conditional and repeated
parameters reach Optuna and Ray Tune's `OptunaSearch` unchanged. `RandomSuggest` serves tests and
`ReplaySuggest` rebuilds the nested config from the flat parameters a backend stored.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Protocol

from automl.space.params import Categorical, Condition, Fixed, Float, Int, Param, Repeat, Section, Space


class Suggest(Protocol):
    """The three calls define-by-run samplers share (an `optuna.Trial` is one)."""

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float: ...

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int: ...

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


@dataclass
class Sampled:
    config: dict[str, Any]  # nested: {"model": {...}, "training": {...}}
    params: dict[str, Any]  # flat name -> value, only the values a sampler chose (no fixed ones)


def _draw(suggest: Suggest, name: str, dist: Any) -> Any:
    if isinstance(dist, Fixed):
        return dist.value
    if isinstance(dist, Float):
        return suggest.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, Int):
        return suggest.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, Categorical):
        return suggest.suggest_categorical(name, list(dist.choices))
    raise TypeError(dist)


def _active(when: tuple[Condition, ...], ctx: dict[str, Any], layer: int | None) -> bool:
    for cond in when:
        path = cond.path.replace("{i}", str(layer)) if layer is not None else cond.path
        if path not in ctx:
            return False  # the parent is itself inactive
        if not any(ctx[path] == v for v in cond.values):
            return False
    return True


def sample(space: Space, suggest: Suggest) -> Sampled:
    """Walk the space in a fixed order; the order defines the sequence a seeded sampler produces."""
    ctx: dict[str, Any] = {}  # absolute path -> value, for conditions and counts
    params: dict[str, Any] = {}

    def param(p: Param, flat: str, layer: int | None) -> tuple[bool, Any]:
        if not _active(p.when, ctx, layer):
            return False, None
        value = _draw(suggest, flat, p.dist)
        if not isinstance(p.dist, Fixed):
            params[flat] = value
        ctx[flat] = value
        return True, value

    def section(sec: Section, prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for child in sec.children:
            flat = f"{prefix}{child.name}"
            if isinstance(child, Section):
                if _active(child.when, ctx, None):
                    out[child.name] = section(child, flat + ".")
            elif isinstance(child, Param):
                ok, value = param(child, flat, None)
                if ok:
                    out[child.name] = value
            elif _active(child.when, ctx, None):
                out[child.name] = repeat(child, flat)
        return out

    def repeat(rep: Repeat, flat: str) -> list[dict[str, Any]]:
        n = rep.count if isinstance(rep.count, int) else int(ctx.get(rep.count, 0))
        layers: list[dict[str, Any]] = [{} for _ in range(n)]
        if n == 0:
            return layers
        for p in rep.body:  # shared values first: one draw, copied to every layer
            if p.name in rep.shared:
                ok, value = param(p, f"{flat}.{p.name}", 0)
                if ok:
                    for i, layer in enumerate(layers):
                        layer[p.name] = value
                        ctx[f"{flat}.{i}.{p.name}"] = value
        for i, layer in enumerate(layers):
            for p in rep.body:
                if p.name not in rep.shared:
                    ok, value = param(p, f"{flat}.{i}.{p.name}", i)
                    if ok:
                        layer[p.name] = value
        return layers

    return Sampled(config=section(space.root, ""), params=params)


class RandomSuggest:
    """Uniform / log-uniform draws from a seeded `random.Random`; for tests and smoke runs."""

    def __init__(self, seed: int | random.Random = 0) -> None:
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed)

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float:
        if log:
            v = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        else:
            v = self.rng.uniform(low, high)
        if step:
            v = low + round((v - low) / step) * step
        return min(max(v, low), high)

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        if log:
            v = round(math.exp(self.rng.uniform(math.log(low), math.log(high + 1) - 1e-9)) - 0.5)
            v = low + ((min(max(v, low), high) - low) // step) * step
            return int(v)
        return self.rng.randrange(low, high + 1, step)

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self.rng.choice(list(choices))


class ReplaySuggest:
    """Answers every suggestion from stored flat params (a finished trial), so the nested config is rebuilt
    exactly; a name missing from the store is an error, not a silent default."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def _get(self, name: str) -> Any:
        if name not in self.params:
            raise KeyError(f"parameter {name!r} is not in the stored trial parameters")
        return self.params[name]

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float:
        return float(self._get(name))

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return int(self._get(name))

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        value = self._get(name)  # the declared choice restores its type (JSON turned a tuple into a list)
        return next((c for c in choices if c == value), value)


def config_from_params(space: Space, params: dict[str, Any]) -> dict[str, Any]:
    """The nested config a trial with these flat params trained."""
    return sample(space, ReplaySuggest(params)).config


def flatten_config(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config -> flat dotted keys (layers as indices); the inverse view used in tables."""
    out: dict[str, Any] = {}
    for k, v in config.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten_config(v, key + "."))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, layer in enumerate(v):
                out.update(flatten_config(layer, f"{key}.{i}."))
        else:
            out[key] = v
    return out
