"""A start barrier for worker processes: each worker loads torch and the data, then waits until its siblings
have too, so all begin asking the study for trials at the same moment.

Why: without it, a worker that happened to start a second earlier could take every trial of a small budget, and
the sampler's first (random) trials would be drawn one worker at a time rather than side by side. The barrier is
a folder of marker files (local processes only, no locks): worker i writes `ready-i` and waits until there are as
many markers as workers. It never blocks a search: the driver writes `go` when a worker exited before its
siblings got going, a worker that cannot write its marker writes `go` (or, failing that, goes alone), and every
worker goes on by itself after `wait_s` whatever happened (a sibling stuck in CUDA start-up) or when the folder
is gone (the search ended). The folder lives in the temp dir, named after the driver's pid, so a session can
sweep the ones a killed driver left. Torch-free and optuna-free.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

GO = "go"
PREFIX = "automl-start-"
WAIT_S = 120.0  # the most a ready worker waits for its siblings before it starts alone
POLL_S = 0.02


def make_folder() -> str | None:
    """A fresh barrier folder for this driver, or None when the temp dir cannot take one (no barrier then)."""
    sweep()
    try:
        return tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
    except OSError:
        return None


def sweep() -> None:
    """Removes the barrier folders of drivers that are no longer alive (killed by SIGKILL: no clean-up ran)."""
    for p in Path(tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        pid = p.name[len(PREFIX):].partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def ready_count(folder: str | Path) -> int:
    return sum(1 for _ in Path(folder).glob("ready-*"))


def release(folder: str | Path) -> None:
    """Lets every waiting worker go now (the driver: a sibling exited before it got ready). Never raises."""
    with contextlib.suppress(OSError):
        (Path(folder) / GO).touch()


def wait_for_siblings(folder: str | Path, index: int, workers: int, wait_s: float = WAIT_S) -> float:
    """Marks worker `index` ready and waits until `workers` are, the driver released them, the folder is gone
    (the search ended) or `wait_s` passed. Returns the seconds waited."""
    folder = Path(folder)
    t0 = time.monotonic()
    try:
        tmp = folder / f".ready-{index}.{os.getpid()}"
        tmp.touch()
        tmp.rename(folder / f"ready-{index}")  # atomic: a sibling never counts a half-made marker
    except OSError:  # the folder is gone (nothing to wait for) or cannot take a marker: nobody waits on this one
        release(folder)
        return 0.0
    while time.monotonic() - t0 < wait_s:
        if not folder.is_dir() or (folder / GO).exists() or ready_count(folder) >= workers:
            break
        time.sleep(POLL_S)
    return time.monotonic() - t0
