"""Under CI (`CI=true`), a test may not skip for a dependency that CI installs (.ci/run installs Chromium and
PostgreSQL; `pip install -e '.[test]'` installs Ray, ConfigSpace/hpbandster for BOHB, kaleido, psycopg,
optuna-dashboard): such a skip
means CI silently tested less, so it is reported as a failure. Skips for hardware CI does not have (a GPU,
CUDA) and every skip outside CI stay skips."""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any

import pytest

# what a skip reason names when a dependency that CI installs is missing
CI_INSTALLS = re.compile(r"chrom|postgres|psql|psycopg|configspace|hpbandster|bohb|\bray\b|ray\.|kaleido|"
                         r"optuna_dashboard|onnx", re.IGNORECASE)
HARDWARE = re.compile(r"\bgpu\b|cuda", re.IGNORECASE)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def must_not_skip(reason: str) -> bool:
    """A skip reason that, under CI, is a failure: a CI-installed dependency is missing (hardware excepted)."""
    return bool(CI_INSTALLS.search(reason)) and not HARDWARE.search(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail"):
        return
    reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
    if must_not_skip(reason):
        report.outcome = "failed"
        report.longrepr = (f"CI=true: skipped for a dependency CI installs, which is a failure here "
                           f"(the skip said: {reason})")


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """A module-level `pytest.importorskip("ray.tune")` skips at collection: the same rule (it becomes a
    collection error, which stops the run unless --continue-on-collection-errors)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci():
        reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
        if must_not_skip(reason):
            report.outcome = "failed"
            report.longrepr = f"CI=true: module skipped for a dependency CI installs (the skip said: {reason})"


@contextlib.contextmanager
def pinned_to_one_core():
    """Pin this process (and what it starts) to one CPU. The machine is shared; on a loaded 2-core box one torch
    thread per trial is several times faster than two (no spinning on a descheduled peer)."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    import torch

    cpus, threads = os.sched_getaffinity(0), torch.get_num_threads()
    # under pytest-xdist each test process takes a CPU of its own (gw0 the last, gw1 the one before, ...)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    os.sched_setaffinity(0, {sorted(cpus)[-1 - worker % len(cpus)]})
    try:
        yield
    finally:
        os.sched_setaffinity(0, cpus)
        torch.set_num_threads(threads)


def cli(*args: object, code: int = 0):
    """`automl ARGS` through Typer's CliRunner; fails with the output and traceback unless it exits `code`."""
    import traceback

    from typer.testing import CliRunner

    from automl.cli.main import app

    res = CliRunner().invoke(app, [str(a) for a in args])
    if res.exit_code != code:
        tb = "".join(traceback.format_exception(res.exception)) if res.exception else ""
        raise AssertionError(f"automl {' '.join(map(str, args))} -> {res.exit_code}, wanted {code}\n{res.output}\n{tb}")
    return res
