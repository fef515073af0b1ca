"""Errors that name the file, the field path, the offending value and what is allowed."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class UserInputError(ValueError):
    """Bad input from the user: the CLI prints the message (no traceback) and exits with code 2."""


class RunFailed(RuntimeError):
    """Not bad input: the run itself produced nothing usable (no trial completed, the winner could not be
    retrained). The CLI prints the message with its counted reasons and exits with code 1."""


@dataclass(frozen=True)
class Issue:
    path: str  # dotted field path, e.g. "training.optimizer.choices[2]"
    message: str  # what is wrong and what is allowed

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SpaceError(UserInputError):
    """Every problem found in one search-space file, reported together."""

    def __init__(self, source: str, issues: Iterable[Issue]) -> None:
        self.source = source
        self.issues = list(issues)
        n = len(self.issues)
        lines = "\n".join(f"  - {i}" for i in self.issues)
        super().__init__(f"Invalid search space {source}: {n} problem{'s' if n != 1 else ''} found.\n{lines}")


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: typos are mostly swaps, drops and doublings."""
    d = [list(range(len(b) + 1))] + [[i] + [0] * len(b) for i in range(1, len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def did_you_mean(word: object, allowed: Iterable[object]) -> str:
    """' (did you mean "x"?)' for the closest allowed name, or '' when nothing is close."""
    word = str(word)
    names = [str(a) for a in allowed]
    close = difflib.get_close_matches(word, names, n=5, cutoff=0.6)
    close += [n for n in names if _edit_distance(word.lower(), n.lower()) <= max(1, len(word) // 4) and n not in close]
    if not close:
        return ""
    best = min(close, key=lambda n: (_edit_distance(word.lower(), n.lower()), -difflib.SequenceMatcher(None, word, n).ratio()))
    return f' (did you mean "{best}"?)'


def fmt(value: object) -> str:
    """Short repr of an offending value for messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
