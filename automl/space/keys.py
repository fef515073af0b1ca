"""What one YAML key accepts (kind, allowed values or bounds): shared by the schema and the layer kinds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Key:
    """What one known key accepts: its kind and the allowed values or bounds."""

    kind: str  # "float" | "int" | "bool" | "enum"
    choices: tuple[str, ...] = ()
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def allowed(self) -> str:
        if self.kind == "enum":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        num = (lambda x: str(int(x))) if self.kind == "int" else (lambda x: f"{x:g}")
        lo = "-inf" if self.lo is None else num(self.lo)
        hi = "inf" if self.hi is None else num(self.hi)
        what = "an integer" if self.kind == "int" else "a number"
        return f"{what} in {'(' if self.lo_open else '['}{lo}, {hi}{')' if self.hi_open else ']'}"

    def check(self, v: Any) -> bool:
        if self.kind == "enum":
            return isinstance(v, str) and v in self.choices
        if self.kind == "bool":
            return isinstance(v, bool)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return False
        if self.kind == "int" and not isinstance(v, int):
            return False
        if isinstance(v, float) and not math.isfinite(v):
            return False
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        return not (self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)))


def _f(lo=None, hi=None, lo_open=False, hi_open=False) -> Key:
    return Key("float", lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)


def _i(lo=None, hi=None) -> Key:
    return Key("int", lo=lo, hi=hi)


_E = lambda choices: Key("enum", choices=tuple(choices))  # noqa: E731
_B = Key("bool")


_DROPOUT = _f(0.0, 1.0, hi_open=True)
