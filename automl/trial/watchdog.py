"""A per-trial time limit that never interrupts a storage write.

In the main thread SIGALRM raises `TrialTimeout`; in any other thread (Ray Tune runs a function trainable in
a thread of its actor) a timer raises it asynchronously in the trial's thread. Code that must not be torn in
the middle, such as a backend writing a trial's intermediate value to its database, runs inside
`shielded()`: a timeout that fires there is deferred and raised as soon as the shielded block ends, and so is
a stop signal whose handler asks for it (`defer_in_shield`: SIGTERM, see automl.backends.stop).
Torch-free, so the backends can import it cheaply.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import threading
from collections.abc import Iterator


class TrialTimeout(Exception):
    """Raised inside a trial when it runs past its time limit."""


class _Guard:
    depth = 0  # nesting of shielded() blocks in the trial's thread
    pending = False  # a timeout fired inside a shielded block
    armed = False  # a watchdog of another thread may still raise into this one
    stop: BaseException | None = None  # a stop signal (SIGTERM) that arrived inside a shielded block


_guards: dict[int, _Guard] = {}  # by thread id: the timer thread must see the trial thread's shield
_lock = threading.Lock()


def _guard() -> _Guard:
    return _guards.setdefault(threading.get_ident(), _Guard())


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
            fire = g.depth == 0 and g.pending
            g.pending = g.pending and not fire
        stop = g.stop if g.depth == 0 else None
        if stop is not None:
            g.stop = None
            raise stop
        if fire:
            raise TrialTimeout("timed out")


def defer_in_shield(exc: BaseException) -> bool:
    """For a signal handler (it runs in the main thread, between two bytecodes): inside a shielded block of
    this thread, keep `exc` to raise when the block ends and return True; outside one, return False (the
    handler raises it now). Lock-free: the handler may have interrupted this very thread holding the lock."""
    g = _guard()
    if g.depth > 0:
        g.stop = exc
        return True
    return False


def _fire(g: _Guard, ident: int) -> None:
    """The time is up: raise in the trial's thread now, or when its shielded block ends."""
    if threading.get_ident() == ident:  # SIGALRM, in the trial's own (main) thread: no lock here
        if g.depth > 0:
            g.pending = True
            return
        raise TrialTimeout("timed out")
    with _lock:
        if g.armed and g.depth > 0:
            g.pending = True
        elif g.armed:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(TrialTimeout))


@contextlib.contextmanager
def watchdog(seconds: float | None) -> Iterator[None]:
    """Limit the block to `seconds` (Unix main thread: SIGALRM; other threads: an asynchronous exception)."""
    if not seconds:
        yield
        return
    ident, g = threading.get_ident(), _guard()
    g.pending, g.armed = False, True
    alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if alarm:
        previous = signal.signal(signal.SIGALRM, lambda signum, frame: _fire(g, ident))
        signal.setitimer(signal.ITIMER_REAL, float(seconds))
    else:
        timer = threading.Timer(float(seconds), _fire, (g, ident))
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        with _lock:
            g.armed, g.pending = False, False
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        else:
            timer.cancel()
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)  # one not delivered yet


__all__ = ["TrialTimeout", "defer_in_shield", "shielded", "watchdog"]
