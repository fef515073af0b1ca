"""One results layout for every backend: run directory, trial records, finalize and reports on disk."""

from automl.store.records import STATES, TrialRecord, best_record, counts, ranked, trials_frame
from automl.store.run import DEFAULT_ROOT, RunInfo, create_run, environment, load_run, redact_url

__all__ = [
    "DEFAULT_ROOT", "STATES", "RunInfo", "TrialRecord", "best_record", "counts", "create_run", "environment",
    "load_run", "ranked", "redact_url", "trials_frame",
]
