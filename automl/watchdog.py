"""A per-trial time limit that never interrupts a storage write.

SIGALRM raises `TrialTimeout` in the trial's (main) thread. Code that must not be torn in the middle,
such as a backend writing a trial's intermediate value to its database, runs inside `shielded()`: an
alarm that fires there is deferred and raised as soon as the shielded block ends. Torch-free, so the
backends can import it cheaply.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


class TrialTimeout(Exception):
    """Raised inside a trial when it runs past its time limit."""


_state = threading.local()


def _depth() -> int:
    return getattr(_state, "depth", 0)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Defer a pending timeout until this block is done (used around storage writes)."""
    _state.depth = _depth() + 1
    try:
        yield
    finally:
        _state.depth = _depth() - 1
        if _state.depth == 0 and getattr(_state, "pending", None):
            message, _state.pending = _state.pending, None
            raise TrialTimeout(message)


@contextlib.contextmanager
def watchdog(seconds: float | None) -> Iterator[None]:
    """Limit the block to `seconds` (main thread on Unix; elsewhere the limit is not enforced)."""
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return
    message = f"timed out after {seconds:g} s"

    def _raise(signum: int, frame: Any) -> None:
        if _depth() > 0:
            _state.pending = message
            return
        raise TrialTimeout(message)

    previous = signal.signal(signal.SIGALRM, _raise)
    _state.pending = None
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _state.pending = None
