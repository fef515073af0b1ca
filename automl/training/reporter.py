"""Re-export: the Reporter protocol lives in `automl.trial.reporter` (torch-free, so backends import it cheaply)."""

from automl.trial.reporter import Decision, NullReporter, RecordingReporter, Reporter

__all__ = ["Decision", "NullReporter", "RecordingReporter", "Reporter"]
