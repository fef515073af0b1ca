"""One results layout for every backend: run directory, trial records, finalize and reports on disk."""

from automl._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "records": ("STATES", "TrialRecord", "best_record", "counts", "ranked", "trials_frame"),
    "run": ("DEFAULT_ROOT", "RunInfo", "create_run", "environment", "load_run", "redact_url"),
})
