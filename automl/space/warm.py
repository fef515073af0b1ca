"""Warm start, the pure part: a finished trial's flat parameters mapped onto a (possibly changed) space.

The mapping walks the *new* space with `sample` (so its own ranges, choices, log scales, steps and conditions
decide), answering each suggestion from the old parameters: a value outside a new range is clipped, a
categorical value that is no longer a choice skips the trial (a conditional one is only dropped), a parameter
the old trial does not have is left to the sampler, and an old parameter the new space does not ask for is
dropped. Every change goes into a note that the seeded trial carries. No torch, no Optuna here.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from automl.space.params import Fixed, Space
from automl.space.sampling import sample


@dataclass
class Mapped:
    """One old trial on the new space: the params to seed (a partial dict when some are left to the sampler),
    what changed, and each seeded param's distribution as ("float"|"int"|"categorical", ...) for Optuna."""

    params: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    dists: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    complete: bool = True  # every active parameter came from the old trial (no sampler fill-in)


class Skip(Exception):
    """The old trial cannot be expressed in the new space (the message says why)."""


def _show(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else repr(v) if isinstance(v, str) else str(v)


class _MapSuggest:
    """A `Suggest` that answers from old params, mapped onto each asked distribution."""

    def __init__(self, old: dict[str, Any], conditional: set[str]) -> None:
        self.old, self.conditional = old, conditional
        self.out: dict[str, Any] = {}
        self.dists: dict[str, tuple[Any, ...]] = {}
        self.changes: list[str] = []
        self.new: list[str] = []

    def _missing(self, name: str, placeholder: Any, why: str = "does not fit the new parameter") -> Any:
        """Left to the sampler; the placeholder only decides which later old params the walk still reaches."""
        self.new.append(name)
        if name in self.old:
            self.changes.append(f"{name}={_show(self.old[name])} dropped ({why}; sampled)")
        return placeholder

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float:
        if name not in self.old or isinstance(self.old[name], (bool, str)) or self.old[name] is None:
            return self._missing(name, math.sqrt(low * high) if log else (low + high) / 2)
        v = float(self.old[name])
        c = min(max(v, low), high)
        if step:
            c = min(high, low + round((c - low) / step) * step)
        if not math.isclose(c, v, rel_tol=1e-9, abs_tol=1e-12):
            self.changes.append(f"{name} {_show(v)} clipped to {_show(c)} (new range {_show(low)}..{_show(high)})")
        self.out[name], self.dists[name] = c, ("float", low, high, log, step)
        return c

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        v = self.old.get(name)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return self._missing(name, high)  # a count: the largest keeps every old layer's params reachable
        c = min(max(round(v), low), high)
        c = low + ((c - low) // step) * step
        if c != v:
            self.changes.append(f"{name} {_show(v)} clipped to {c} (new range {low}..{high})")
        self.out[name], self.dists[name] = c, ("int", low, high, log, step)
        return c

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        choices = list(choices)
        if name not in self.old:
            return self._missing(name, choices[0])
        v = self.old[name]
        hits = [c for c in choices if c == v and (type(c) is type(v) or isinstance(v, list))]
        if not hits:
            if name not in self.conditional:
                raise Skip(f"{name}={_show(v)} is not among the new choices {choices}")
            return self._missing(name, choices[0], f"not among the new choices {choices}")
        self.out[name], self.dists[name] = hits[0], ("categorical", tuple(choices))
        return hits[0]


def map_config(params: dict[str, Any], space: Space) -> tuple[Mapped | None, str]:
    """(the mapped trial, "") or (None, why it is skipped). See the module docstring for the rules."""
    conditional = {flat for flat, p, rep, _ in space.expanded() if p.when or (rep is not None and rep.when)}
    asked = {flat for flat, _, _, _ in space.expanded()}
    m = _MapSuggest(dict(params), conditional)
    try:
        sample(space, m)
    except Skip as e:
        return None, str(e)
    changes = list(m.changes)
    for name in sorted(set(params) - set(m.out) - set(m.new)):
        why = "inactive in the new space" if name in asked else "no longer in the space"
        dist = space.find(name).dist if name in asked else None
        if isinstance(dist, Fixed):
            why = f"fixed to {_show(dist.value)} in the new space"
        changes.append(f"{name} dropped ({why})")
    changes += [f"{n} new (sampled)" for n in m.new if n not in params]
    return Mapped(params=m.out, changes=changes, dists=m.dists, complete=not m.new), ""


def space_hash(raw: dict[str, Any]) -> str:
    """A fingerprint of what a trial's parameters mean: the space's `model` and `training` sections."""
    text = json.dumps({k: raw.get(k) for k in ("model", "training")}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


__all__ = ["Mapped", "map_config", "space_hash"]
