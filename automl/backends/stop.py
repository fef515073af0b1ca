"""Stopping a search from outside: SIGTERM (what `kill`, `timeout`, systemd, Slurm and Kubernetes send) stops it
exactly like Ctrl-C, and a worker process never outlives the search that spawned it.

SIGTERM raises `Terminated`, a `KeyboardInterrupt`, so every path that already handles Ctrl-C (the running
trial marked interrupted and re-queued by resume, workers stopped, workers.json emptied) handles it too. The
CLI exits with 143 (128 + SIGTERM), the shell's code for a process ended by SIGTERM; Ctrl-C keeps 130.
Torch-free and optuna-free: workers and the driver import it cheaply.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from automl.trial.watchdog import defer_in_shield

PR_SET_PDEATHSIG = 1  # linux/prctl.h
ORPHAN_GRACE_S = 30.0  # an orphaned worker gets this long to record its trial as interrupted, then it exits


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would raise KeyboardInterrupt; `exit_code` is what the CLI exits with."""

    exit_code = 143


def _raise_terminated(signum: int, frame: Any) -> None:
    # One-shot: a second SIGTERM (systemd repeats it) must not tear the clean-up the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exc = Terminated("SIGTERM")
    if defer_in_shield(exc):  # mid storage write: raised as soon as the write is done
        return
    raise exc


def _raise_interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C as Python's default handler raises it, but kept out of a shielded block like SIGTERM."""
    exc = KeyboardInterrupt()
    if defer_in_shield(exc):
        return
    raise exc


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` in the main thread, and neither it nor Ctrl-C (when
    Python's default handler has it) tears a shielded storage write or read: raised when that ends.
    Elsewhere than the main thread signals cannot be handled: the block then leaves them as they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is signal.default_int_handler:  # not when SIGINT is ignored (started in the background)
        signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def worker_signals(parent_pid: int) -> None:
    """In a spawned worker, first thing: Ctrl-C is the parent's to handle (it stops the workers), SIGTERM stops
    the worker cleanly, and the worker gets SIGTERM when its parent dies, even by SIGKILL."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_terminated)
    die_with_parent(parent_pid)


def die_with_parent(parent_pid: int) -> None:
    """Linux: the kernel sends SIGTERM when the parent dies (prctl PR_SET_PDEATHSIG). Everywhere: a daemon
    thread polls the parent pid as well, and ends the process if it has not stopped `ORPHAN_GRACE_S` after
    its SIGTERM (a worker stuck in native code, or a platform without prctl)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="automl-parent-watch", daemon=True).start()


def _watch_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    # The parent may already be gone before prctl ran (then the kernel sends nothing): checked on every poll.
    while os.getppid() == parent_pid:
        time.sleep(poll_s)
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(ORPHAN_GRACE_S)
    os._exit(Terminated.exit_code)
