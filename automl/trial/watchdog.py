"""A per-trial time limit that never interrupts a storage write.

In the main thread SIGALRM raises `TrialTimeout`; in any other thread (Ray Tune runs a function trainable in
a thread of its actor) a timer raises it asynchronously in the trial's thread. Code that must not be torn in
the middle, such as a backend writing a trial's intermediate value to its database, runs inside
`shielded()`: a timeout that fires there is deferred and raised as soon as the shielded block ends.
Torch-free, so the backends can import it cheaply.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class TrialTimeout(Exception):
    """Raised inside a trial when it runs past its time limit."""


@dataclass
class _Guard:
    depth: int = 0  # nesting of shielded() blocks
    pending: bool = False  # a timeout fired inside a shielded block


_guards: dict[int, _Guard] = {}  # by thread id: the timer thread must see the trial thread's shield
_lock = threading.Lock()


def _guard(ident: int | None = None) -> _Guard:
    return _guards.setdefault(threading.get_ident() if ident is None else ident, _Guard())


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Defer a pending timeout until this block is done (used around storage writes)."""
    g = _guard()
    with _lock:
        g.depth += 1
    try:
        yield
    finally:
        with _lock:
            g.depth -= 1
            fire, g.pending = g.depth == 0 and g.pending, g.pending and g.depth > 0
        if fire:
            raise TrialTimeout("timed out")


def _async_raise(ident: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc) if exc else None)


@contextlib.contextmanager
def watchdog(seconds: float | None) -> Iterator[None]:
    """Limit the block to `seconds` (Unix main thread: SIGALRM; other threads: an asynchronous exception)."""
    if not seconds:
        yield
        return
    ident, g = threading.get_ident(), _guard()
    g.pending = False
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def _raise(signum: int, frame: Any) -> None:
            if g.depth > 0:
                g.pending = True
                return
            raise TrialTimeout("timed out")

        previous = signal.signal(signal.SIGALRM, _raise)
        signal.setitimer(signal.ITIMER_REAL, float(seconds))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            g.pending = False
        return
    state = {"done": False, "fired": False}

    def _fire() -> None:
        with _lock:
            if state["done"]:
                return
            if g.depth > 0:
                g.pending = True
            else:
                state["fired"] = True
                _async_raise(ident, TrialTimeout)

    timer = threading.Timer(float(seconds), _fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with _lock:
            state["done"] = True
            g.pending = False
        if state["fired"]:
            _async_raise(ident, None)  # not delivered yet: the block ended right at the limit
