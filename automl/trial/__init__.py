"""The trial stage: one objective (`run_trial`) for every backend, finalize and the tests, its time limit,
the Reporter channel to the backend, and the one trial-seed rule.

`run_trial` and `TrialResult` import torch, so they load on first use: backends import the Reporter, the
watchdog and `trial_seed` from here without paying for torch.
"""

from __future__ import annotations

from automl._lazy import lazy_exports
from automl.trial.reporter import Decision, NullReporter, RecordingReporter, Reporter
from automl.trial.watchdog import TrialTimeout, shielded, watchdog

__getattr__, __dir__, _lazy = lazy_exports(__name__,
                                           {"run": ("run_trial", "TrialResult", "STATUSES", "_is_oom")})


def trial_seed(search_seed: int, number: int) -> int:
    """The training seed of trial `number`: distinct per trial, and the same for a given search seed whatever
    the backend, so finalize and a re-run reproduce a trial from its record."""
    return int(search_seed) * 100_003 + int(number)


__all__ = ["Decision", "NullReporter", "RecordingReporter", "Reporter", "TrialTimeout", "shielded", "trial_seed",
           "watchdog", *_lazy]
