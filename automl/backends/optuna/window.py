"""TPE with a bounded history: the sampler's cost stops growing with the number of finished trials.

Optuna's TPE fits its two Parzen estimators on every finished trial at every sampling step, so a step costs
O(n): about 20 ms at 100 finished trials, 65 ms at 1,000 and 470 ms at 10,000 on this project's benchmark
machine (benchmarks/scale.py; docs/SCALING.md), where it becomes the largest part of a trial's overhead.

`WindowedTPESampler` fits them on at most `window` trials: the `keep_best` best complete trials of the whole
history (TPE's "good" set is its best min(25, 10 %) trials, so with keep_best >= 25 that set is exactly the
same as without the window) plus the most recent others. Only the "bad" density is estimated from a recent
subset; below `window` finished trials nothing changes at all.
"""

from __future__ import annotations

import copy
import heapq
import math
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

DEFAULT_WINDOW = 1000
KEEP_BEST = 25  # TPE's default gamma: the good set is min(ceil(0.1 n), 25) trials


def bounded(trials: list[FrozenTrial], window: int, keep_best: int, maximize: bool) -> list[FrozenTrial]:
    """At most `window` trials, in their original order: the best `keep_best` complete ones, then the most recent."""
    if len(trials) <= window:
        return trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)]
    pick = heapq.nlargest if maximize else heapq.nsmallest
    chosen = {t.number for t in pick(keep_best, complete, key=lambda t: t.value)}
    for t in reversed(trials):
        if len(chosen) >= window:
            break
        chosen.add(t.number)
    return [t for t in trials if t.number in chosen]


class _WindowedStudy:
    """The study as TPE's `_sample` sees it: every attribute passed through, the trial list bounded."""

    def __init__(self, study: optuna.Study, window: int, keep_best: int) -> None:
        self._study = study
        self._window = window
        self._keep_best = keep_best

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def _get_trials(self, *args: Any, **kwargs: Any) -> list[FrozenTrial]:
        trials = self._study._get_trials(*args, **kwargs)
        maximize = self._study.direction == optuna.study.StudyDirection.MAXIMIZE
        return bounded(trials, self._window, self._keep_best, maximize)


class _IncrementalGroups:
    """Optuna's grouped search space re-adds every finished trial's distributions at every step (O(n): 40 ms a
    step at 10,000 trials here); the decomposition does not depend on the order trials are added in, so adding
    each finished trial once gives the same groups."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._seen: set[int] = set()

    def calculate(self, study: optuna.Study, use_cache: bool = False) -> Any:
        inner = self._inner
        if inner._study_id is None:
            inner._study_id = study._study_id
        elif inner._study_id != study._study_id:
            raise ValueError("`_GroupDecomposedSearchSpace` cannot handle multiple studies.")
        states = (TrialState.COMPLETE, TrialState.PRUNED) if inner._include_pruned else (TrialState.COMPLETE,)
        for t in study._get_trials(deepcopy=False, states=states, use_cache=use_cache):
            if t.number not in self._seen:
                self._seen.add(t.number)
                inner._search_space.add_distributions(t.distributions)
        return copy.deepcopy(inner._search_space)


class WindowedTPESampler(optuna.samplers.TPESampler):
    """`TPESampler` whose density estimates use a bounded history (see the module docstring)."""

    def __init__(self, *args: Any, window: int = DEFAULT_WINDOW, keep_best: int = KEEP_BEST, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = int(window)
        self.keep_best = int(keep_best)
        groups = getattr(self, "_group_decomposed_search_space", None)
        if groups is not None and all(hasattr(groups, a) for a in ("_study_id", "_include_pruned", "_search_space")):
            self._group_decomposed_search_space = _IncrementalGroups(groups)

    def _sample(self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, Any]) -> dict[str, Any]:
        if len(study.directions) > 1 or self.window <= 0:  # multi-objective: Pareto ranks need every trial
            return super()._sample(study, trial, search_space)
        return super()._sample(_WindowedStudy(study, self.window, self.keep_best), trial, search_space)  # type: ignore[arg-type]
