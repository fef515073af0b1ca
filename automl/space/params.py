"""The backend-neutral search space: a tree of parameters, sections and repeated layer groups.

Backends never see YAML; they walk this tree through `automl.space.sampling.sample`, which asks a
`Suggest` object (an Optuna trial, a seeded RNG, or a replay of stored values) for each active value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class Float:
    low: float
    high: float
    log: bool = False
    step: float | None = None

    def contains(self, v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return False
        return self.low - 1e-12 * max(1.0, abs(self.low)) <= v <= self.high + 1e-12 * max(1.0, abs(self.high))

    def values(self, n_points: int = 3) -> list[float]:
        """Evenly spaced (log-spaced when log) grid points, for the grid sampler."""
        if n_points <= 1 or self.low == self.high:
            return [self.low]
        if self.log:
            a, b = math.log(self.low), math.log(self.high)
            return [float(math.exp(a + (b - a) * i / (n_points - 1))) for i in range(n_points)]
        return [float(self.low + (self.high - self.low) * i / (n_points - 1)) for i in range(n_points)]


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    step: int = 1
    log: bool = False

    def contains(self, v: Any) -> bool:
        return (isinstance(v, int) and not isinstance(v, bool) and self.low <= v <= self.high
                and (v - self.low) % self.step == 0)

    def values(self, n_points: int = 3) -> list[int]:
        allowed = list(range(self.low, self.high + 1, self.step))
        if len(allowed) <= n_points:
            return allowed
        idx = sorted({round(i * (len(allowed) - 1) / (n_points - 1)) for i in range(n_points)})
        return [allowed[i] for i in idx]


@dataclass(frozen=True)
class Categorical:
    choices: tuple[Any, ...]

    def contains(self, v: Any) -> bool:
        return any(v == c and type(v) is type(c) for c in self.choices)

    def values(self, n_points: int = 3) -> list[Any]:
        return list(self.choices)


@dataclass(frozen=True)
class Fixed:
    value: Any

    def contains(self, v: Any) -> bool:
        return v == self.value

    def values(self, n_points: int = 3) -> list[Any]:
        return [self.value]


Distribution = Union[Float, Int, Categorical, Fixed]


@dataclass(frozen=True)
class Condition:
    """Active only when the parameter at `path` (absolute; `{i}` = current layer index) is one of `values`."""

    path: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Param:
    name: str  # key inside its section/layer
    dist: Distribution
    when: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Repeat:
    """Per-layer parameters, `count` layers; `count` is an int or the absolute path of an Int parameter.

    Names in `shared` are sampled once and copied to every layer; the others are sampled per layer.
    """

    name: str  # e.g. "conv_blocks"
    count: int | str
    body: tuple[Param, ...]
    shared: frozenset[str] = frozenset()
    when: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Section:
    name: str
    children: tuple[Param | Repeat | Section, ...] = ()
    when: tuple[Condition, ...] = ()


@dataclass
class Space:
    """The whole searchable part of a space file: the `model` and `training` sections."""

    root: Section
    _max_counts: dict[str, int] = field(default_factory=dict, repr=False)

    def iter_params(self) -> list[tuple[str, Param]]:
        """Every parameter with its flat name, repeated groups expanded to their largest count."""
        return [(flat, p) for flat, p, _, _ in self.expanded()]

    def expanded(self, sec: Section | None = None,
                 prefix: str = "") -> Iterator[tuple[str, Param, Repeat | None, int]]:
        """(flat name, param, its repeated group or None, layer index) in sampling order; a group's shared
        parameters come first, as layer 0."""
        for child in (sec or self.root).children:
            flat = f"{prefix}{child.name}"
            if isinstance(child, Section):
                yield from self.expanded(child, flat + ".")
            elif isinstance(child, Param):
                yield flat, child, None, 0
            else:
                shared = [p for p in child.body if p.name in child.shared]
                yield from ((f"{flat}.{p.name}", p, child, 0) for p in shared)
                for i in range(self.max_count(child)):
                    yield from ((f"{flat}.{i}.{p.name}", p, child, i) for p in child.body if p not in shared)

    def max_count(self, rep: Repeat) -> int:
        if isinstance(rep.count, int):
            return rep.count
        dist = self.find(rep.count).dist
        if isinstance(dist, Int):
            return dist.high
        if isinstance(dist, Fixed):
            return int(dist.value)
        return max(int(c) for c in dist.choices)  # Categorical of ints

    def find(self, path: str) -> Param:
        """The Param at an absolute dotted path (layer index segments allowed)."""
        parts = path.split(".")
        node: Section | Repeat | Param = self.root
        for part in parts:
            if isinstance(node, Section):
                nxt = next((c for c in node.children if c.name == part), None)
            elif isinstance(node, Repeat):
                nxt = node if part.isdigit() or part == "{i}" else next((p for p in node.body if p.name == part), None)
            else:
                nxt = None
            if nxt is None:
                raise KeyError(path)
            node = nxt
        if not isinstance(node, Param):
            raise KeyError(path)
        return node
