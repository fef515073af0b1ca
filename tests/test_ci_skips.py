"""CI: under CI=true (tests/conftest.py) a skip for a dependency CI installs is a failure, while hardware skips
and every skip outside CI stay skips (checked on a throw-away test module run by a real pytest with this
conftest); .ci/run starts the PostgreSQL version that is installed, not a hard-coded one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import must_not_skip

MODULE = '''
import pytest

def test_chromium():
    pytest.skip("Chromium is not installed (apt-get install chromium)")

def test_postgres():
    pytest.skip("PostgreSQL server not running: could not connect")

def test_bohb():
    pytest.importorskip("ConfigSpace_surely_missing_for_this_test")

def test_kaleido():
    pytest.skip("kaleido is not installed")

def test_gpu():
    pytest.skip("needs a CUDA GPU; none is visible on this machine")

def test_data():
    pytest.skip("shared data file missing: hemolytic.npz")

@pytest.mark.skipif(True, reason="Ray is not installed")
def test_ray_mark():
    pass
'''

RAY_MODULE = '''
import pytest
pytest.importorskip("ray_surely_missing.tune", reason="ray.tune is not installed")

def test_never_collected():
    pass
'''


def _run(tmp_path: Path, ci: str) -> str:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_mod.py").write_text(MODULE)
    (tmp_path / "test_ray_mod.py").write_text(RAY_MODULE)
    env = {**os.environ, "CI": ci}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-o", "addopts=",
                          "--continue-on-collection-errors", str(tmp_path)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    return out.stdout + out.stderr


def test_under_ci_dependency_skips_fail_and_hardware_skips_stay(tmp_path):
    out = _run(tmp_path, "true")
    for name in ("test_chromium", "test_postgres", "test_bohb", "test_kaleido", "test_ray_mark"):
        assert f"test_mod.py::{name} - CI=true" in out, out  # FAILED, or ERROR for a skipif mark (setup)
    assert "ERROR test_ray_mod.py" in out, out  # a module skipped at collection: a collection error
    assert "SKIPPED" in out and "needs a CUDA GPU" in out and "shared data file missing" in out, out
    assert "dependency CI installs" in out


def test_outside_ci_every_skip_stays_a_skip(tmp_path):
    out = _run(tmp_path, "false")
    assert "FAILED" not in out and "ERROR" not in out, out
    assert "8 skipped" in out or "7 skipped" in out, out


@pytest.mark.parametrize(("reason", "fails"), [
    ("Chromium is not installed (apt-get install chromium)", True),
    ("PostgreSQL (Debian's postgresql, run as root) is not available here", True),
    ("could not import 'ConfigSpace': No module named 'ConfigSpace'", True),
    ("could not import 'ray.tune': No module named 'ray'", True),
    ("could not import 'optuna_dashboard'", True),
    ("kaleido is not installed", True),
    ("could not import 'onnxruntime': No module named 'onnxruntime'", True),
    ("needs a CUDA GPU; none is visible on this machine", False),
    ("shared data file missing: ../shared/data/hemolytic.npz", False),
    ("the automl console script is not installed next to this interpreter", False),
])
def test_which_skip_reasons_are_dependency_skips(reason, fails):
    assert must_not_skip(reason) is fails


def _postgres_block(tmp_path: Path, clusters: str, versions: list[str]) -> list[str]:
    """Run .ci/run's PostgreSQL block with stand-in pg_lsclusters/pg_createcluster/pg_ctlcluster that log
    their arguments; returns the log."""
    text = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    block = text[text.index("# >>> postgres"):text.index("# <<< postgres")]
    bin_dir, lib, log = tmp_path / "bin", tmp_path / "lib", tmp_path / "calls.log"
    bin_dir.mkdir()
    lib.mkdir()
    for v in versions:
        (lib / v).mkdir()
    state = tmp_path / "clusters"
    state.write_text(clusters)
    stubs = {
        "pg_lsclusters": f'cat "{state}"',
        "pg_createcluster": f'echo "create $*" >> "{log}"; echo "$1 $2 5432 down postgres" >> "{state}"',
        "pg_ctlcluster": f'echo "ctl $*" >> "{log}"',
    }
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PG_LIB": str(lib)}
    subprocess.run(["bash", "-euo", "pipefail", "-c", block], env=env, check=True, timeout=60)
    return log.read_text().splitlines() if log.exists() else []


def test_ci_starts_the_installed_postgresql_version(tmp_path):
    calls = _postgres_block(tmp_path, "17 main 5432 down postgres /var/lib/postgresql/17/main log\n", ["17"])
    assert calls == ["ctl 17 main start"]


def test_ci_creates_a_cluster_for_the_newest_installed_version_when_none_exists(tmp_path):
    calls = _postgres_block(tmp_path, "", ["9.6", "16", "17"])
    assert calls == ["create 17 main", "ctl 17 main start"]
