"""A budget that stops itself (`--budget auto`): the search ends when the best-so-far curve has stalled.

The rule, on the finished trials in the order they finished (torch- and optuna-free, so the Optuna callback,
a Ray stopper, the progress line and the surrogate benchmark all apply the same function):

    stop after n finished trials when  n >= min_trials  and
        gain = best(first n) - best(first n - window)   (signed so that better is positive)  <=  noise

`best(first k)` is the best objective over the complete trials among the first k finished (pruned and failed
trials count as trials spent, they never improve the best). `noise` is the standard error of the best value:
`--stall-tolerance` when given; for accuracy metrics the Agresti-Coull binomial standard error of the best
accuracy on the n_val validation rows (the noise notion finalize's selection uses, automl.finalize.select);
otherwise the scatter of the best trial's last epochs around a straight line (the epoch-to-epoch noise of
its validation metric). A gain no larger than that noise is a gain the validation split cannot tell from luck.

Constants: window W = `--stall-window`, else max(30, startup_trials) finished trials; min_trials = 2W (the
sampler's random startup is over and the model-based sampler has had at least W trials). W is the shortest window
whose mean regret stays at about the noise on the surrogate suite's 10 development tasks, among 10, 20, 30, 50
(and windows growing with the search, which paid more for the same saving). Picked as 30 when the default
strategy's first pruning rung was epoch 1; re-picked as 20 by the same rule when that rung moved to epoch 3
(2026-12-05: 20 paid 0.18 points for 12% of the budget saved, 30 saved only 4%); re-picked as 30 when the default
pruner became successive halving from epoch 5 (2026-12-06: at a 0.3-point noise 20 pays 0.43 points for 23%
saved, 30 pays 0.11 for 8%, 10 pays 1.07); then measured on the held-out tasks (results/benchmarks/autostop.md).
A hard cap always holds:
`--budget auto` without --trials/--timeout/--max-total-epochs caps at `DEFAULT_CAP` trials.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_CAP = 200  # trials, when --budget auto is given without any other budget
WINDOW = 30  # picked on the surrogate suite's development tasks (results/benchmarks/autostop.md)
ACCURACY_METRICS = ("val_accuracy", "val_balanced_accuracy")  # as automl.finalize.select (kept torch-free here)
BUDGETS = ("auto", "fixed")


def binomial_se(p: float, n: int) -> float:
    """Agresti-Coull standard error of a proportion (the same formula as automl.finalize.select)."""
    n_t = n + 4
    p_t = (p * n + 2) / n_t
    return math.sqrt(max(p_t * (1 - p_t), 0.0) / n_t)


def curve_noise(values: Sequence[float], last: int = 8) -> float:
    """Standard deviation of the last `last` epoch values around their least-squares line (0 with < 4)."""
    ys = [float(v) for v in values if v is not None and math.isfinite(v)][-last:]
    n = len(ys)
    if n < 4:
        return 0.0
    xm, ym = (n - 1) / 2, sum(ys) / n
    sxx = sum((i - xm) ** 2 for i in range(n))
    slope = sum((i - xm) * (y - ym) for i, y in enumerate(ys)) / sxx
    res = [y - (ym + slope * (i - xm)) for i, y in enumerate(ys)]
    return math.sqrt(sum(r * r for r in res) / (n - 2))


@dataclass(frozen=True)
class Finished:
    """One finished trial as the rule sees it: its objective (None unless complete) and its per-epoch curve."""

    value: float | None
    curve: tuple[float, ...] = ()


@dataclass(frozen=True)
class Estimate:
    """Where the rule stands after `n` finished trials."""

    n: int
    stalled: bool
    best: float | None
    gain: float | None  # improvement of the best over the last `window` trials (None: too few trials yet)
    noise: float
    window: int
    min_trials: int
    noise_from: str

    def line(self) -> str:
        """The progress line's part: 'stall: gain 0.0000 <= noise 0.0520 over the last 10 trials'."""
        if self.gain is None:
            return f"auto-stop: {self.n}/{self.min_trials} trials before it may stop"
        rel = "<=" if self.gain <= self.noise else ">"
        gain = "none" if math.isinf(self.gain) else f"{self.gain:.4f}"
        head = "stalled" if self.stalled else "auto-stop"
        return f"{head}: gain {gain} {rel} noise {self.noise:.4f} over the last {self.window} trials"

    def reason(self) -> str:
        return (f"stalled: no gain > noise ({self.noise:.4g}, {self.noise_from}) in the last {self.window} "
                f"trials (gain {self.gain:.4g}; best {self.best:.4g} after {self.n} trials)")

    def to_json(self) -> dict[str, Any]:
        return {"stopped_by": "stalled", "trials": self.n, "window": self.window, "min_trials": self.min_trials,
                "gain": self.gain, "noise": self.noise, "noise_from": self.noise_from, "best": self.best,
                "reason": self.reason()}


@dataclass(frozen=True)
class StallRule:
    direction: str = "maximize"
    window: int = WINDOW
    min_trials: int = 2 * WINDOW
    tolerance: float | None = None  # --stall-tolerance: the noise, given
    metric: str = ""
    val_rows: int | None = None  # validation rows (accuracy metrics: binomial SE)

    @classmethod
    def of(cls, settings: Any, direction: str) -> StallRule:
        """The rule of a search's settings: `--stall-window W`, else max(30, startup_trials); at least 2W trials."""
        window = getattr(settings, "stall_window", None) or max(WINDOW, int(getattr(settings, "startup_trials", 10) or 0))
        return cls(direction=direction, window=window, min_trials=2 * window,
                   tolerance=getattr(settings, "stall_tolerance", None), metric=getattr(settings, "metric", "") or "",
                   val_rows=getattr(settings, "val_rows", None))

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.direction == "maximize" else a < b

    def _best(self, trials: Sequence[Finished]) -> tuple[float | None, int | None]:
        best, at = None, None
        for i, t in enumerate(trials):
            v = t.value
            if v is not None and math.isfinite(v) and (best is None or self._better(v, best)):
                best, at = v, i
        return best, at

    def noise(self, trials: Sequence[Finished]) -> tuple[float, str]:
        best, at = self._best(trials)
        if self.tolerance is not None:
            return float(self.tolerance), "--stall-tolerance"
        if best is None:
            return 0.0, "no complete trial"
        if self.metric in ACCURACY_METRICS and self.val_rows:
            return binomial_se(min(max(best, 0.0), 1.0), self.val_rows), f"binomial SE on {self.val_rows} rows"
        return curve_noise(trials[at].curve if at is not None else ()), "the best trial's epoch-to-epoch scatter"

    def check(self, trials: Sequence[Finished]) -> Estimate:
        n = len(trials)
        noise, source = self.noise(trials)
        best, _ = self._best(trials)
        window = self.window
        if n < max(self.min_trials, self.window):
            return Estimate(n, False, best, None, noise, window, self.min_trials, source)
        before, _ = self._best(trials[: n - window])
        if best is None or before is None:  # nothing complete yet, or only in the window: not stalled
            gain = math.inf
        else:
            gain = (best - before) if self.direction == "maximize" else (before - best)
        return Estimate(n, gain <= noise, best, gain, noise, window, self.min_trials, source)


def finished_records(records: Sequence[Any], metric: str) -> list[Finished]:
    """TrialRecords (any backend) -> what the rule reads, in the order they finished; trials that use no budget
    (interrupted, still running, warm-start trials taken untrained) are left out."""
    done = [r for r in records if r.state in ("COMPLETE", "PRUNED", "FAIL") and not r.note.startswith("taken from")]
    done.sort(key=lambda r: (r.finished if r.finished is not None else math.inf, r.number))
    return [Finished(r.value if r.state == "COMPLETE" else None,
                     tuple(h[metric] for h in r.history if metric in h)) for r in done]


def record_stop(info: Any, stop: dict[str, Any] | None) -> None:
    """Keep why the search stopped in the run's manifest (`settings.stopped`: stopped_by "stalled" and the
    rule's numbers), where finalize copies it into report.json; a session that ran to its cap clears it."""
    import json
    import os

    from automl.store.run import MANIFEST

    if stop:
        info.settings["stopped"] = stop
    else:
        info.settings.pop("stopped", None)
    path = info.run_dir / MANIFEST
    d = json.loads(path.read_text())
    d.setdefault("settings", {}).pop("stopped", None)
    if stop:
        d["settings"]["stopped"] = stop
    tmp = path.with_name(MANIFEST + ".tmp")
    tmp.write_text(json.dumps(d, indent=2, default=str))
    os.replace(tmp, path)
