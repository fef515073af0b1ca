"""Development-task sweep of automl's default strategy on the LCBench surrogate: TPE's own knobs and the pruner.

    python benchmarks/surrogate_sweep.py --tasks DEV --out results/benchmarks/sweep_b5 --no-summary \\
        --strategies random,automl-default,hb3,ei64,... --variant hb3='{"pruner": "hyperband", "min_epochs": 3}' ...

`surrogate.py` with more strategies: the same tracker, budget, seeds and report, plus variants that
`--variant` cannot express because they are not a `search:` setting -- TPE's internal knobs
(`n_ei_candidates`, `gamma`, `prior_weight`, `consider_endpoints`, independent instead of multivariate TPE) and
BOHB's "random fraction" (every 3rd trial drawn at random). Each knob variant is the strategy automl built on
2026-12-05 before its pruner changed (Hyperband from epoch 3: `HB3` below) with that one knob changed.
Run on the development tasks only (shared/data/yahpo/README.md); the exact commands are in benchmarks/README.md.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import surrogate
import surrogate_strategies as ss

HB3: dict[str, Any] = {"pruner": "hyperband", "min_epochs": 3}  # the default before the pruner sweep


class RandomFraction:
    """Every k-th trial sampled at random, the others by TPE (BOHB's `random_fraction` = 1/k)."""

    def __init__(self, tpe: Any, rnd: Any, k: int) -> None:
        self.tpe, self.rnd, self.k = tpe, rnd, k

    def _pick(self, trial: Any) -> Any:
        return self.rnd if trial.number % self.k == self.k - 1 else self.tpe

    def infer_relative_search_space(self, study: Any, trial: Any) -> Any:
        return self._pick(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: Any, trial: Any, space: Any) -> Any:
        return self._pick(trial).sample_relative(study, trial, space)

    def sample_independent(self, study: Any, trial: Any, name: str, dist: Any) -> Any:
        return self._pick(trial).sample_independent(study, trial, name, dist)

    def before_trial(self, study: Any, trial: Any) -> None:
        self.tpe.before_trial(study, trial)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        self.tpe.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.tpe.reseed_rng()
        self.rnd.reseed_rng()


def tpe_knob(settings: dict[str, Any], random_every: int = 0, **tpe: Any) -> Any:
    """automl's strategy with `settings`, its sampler built as the `tpe` registry entry builds it but with `tpe`
    keyword arguments changed (and every `random_every`-th trial random)."""

    def make(s: Any, space: Any) -> Any:
        import optuna

        from automl.backends.optuna.window import WindowedTPESampler

        kw = {"seed": s.seed, "n_startup_trials": s.startup_trials, "multivariate": True, "group": True, **tpe}
        sampler: Any = WindowedTPESampler(**kw)
        if random_every:
            sampler = RandomFraction(sampler, optuna.samplers.RandomSampler(seed=s.seed + 7), random_every)
        return sampler

    return ss.automl(settings, sampler=make)


def _gamma(frac: float) -> Any:
    def gamma(n: int) -> int:
        return min(math.ceil(frac * n), 25)

    return gamma


KNOBS: dict[str, tuple[Any, str]] = {
    "ei64": (tpe_knob(HB3, n_ei_candidates=64), "n_ei_candidates 64 (Optuna: 24)"),
    "g15": (tpe_knob(HB3, gamma=_gamma(0.15)), "good set = best 15% (Optuna: 10%), at most 25"),
    "g25": (tpe_knob(HB3, gamma=_gamma(0.25)), "good set = best 25%, at most 25"),
    "indep": (tpe_knob(HB3, multivariate=False, group=False), "independent TPE (not multivariate, not grouped)"),
    "endp": (tpe_knob(HB3, consider_endpoints=True), "consider_endpoints"),
    "rand3": (tpe_knob(HB3, random_every=3), "every 3rd trial random (BOHB's random fraction 1/3)"),
    "pw2": (tpe_knob(HB3, prior_weight=2.0), "prior_weight 2 (Optuna: 1)"),
    "pw05": (tpe_knob(HB3, prior_weight=0.5), "prior_weight 0.5"),
}

if __name__ == "__main__":
    if "--out" not in sys.argv or "--no-summary" not in sys.argv:
        raise SystemExit("surrogate_sweep.py: give --out FOLDER and --no-summary (the committed suite's files and "
                         "summary.json are surrogate.py's)")
    for name, (fn, what) in KNOBS.items():
        ss.STRATEGIES[name] = fn
        ss.DESCRIBE[name] = f"the strategy {HB3} (automl's default before 2026-12-05's pruner sweep) with {what}"
    surrogate.main(sys.argv[1:])
