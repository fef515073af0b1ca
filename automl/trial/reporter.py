"""The only channel between the training loop and a search backend.

The trainer calls `reporter.report(epoch, metrics)` once per epoch and obeys the returned decision.
Backends (Optuna, Ray Tune) supply adapters; the trainer never imports them.
"""

from __future__ import annotations

import enum
from typing import Protocol, runtime_checkable


class Decision(enum.Enum):
    CONTINUE = "continue"
    STOP = "stop"  # the backend pruned / early-stopped this trial


@runtime_checkable
class Reporter(Protocol):
    def report(self, epoch: int, metrics: dict[str, float]) -> Decision:
        """Receive epoch `epoch` (1-based) metrics, e.g. {"train_loss", "val_loss", "val_accuracy", ...}."""
        ...


class NullReporter:
    """Never stops a trial; used by finalize, unit tests and re-training."""

    def report(self, epoch: int, metrics: dict[str, float]) -> Decision:
        return Decision.CONTINUE


class RecordingReporter:
    """Keeps every report; stops after `stop_after` epochs if given (handy in tests)."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.history: list[tuple[int, dict[str, float]]] = []
        self.stop_after = stop_after

    def report(self, epoch: int, metrics: dict[str, float]) -> Decision:
        self.history.append((epoch, dict(metrics)))
        if self.stop_after is not None and epoch >= self.stop_after:
            return Decision.STOP
        return Decision.CONTINUE
