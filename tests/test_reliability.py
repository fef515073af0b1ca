"""Reliability and security: trial faults, concurrent workers on SQLite and PostgreSQL, bad input, fuzzing.

Everything runs for real: the `automl` console script in subprocesses, real storages, real training.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automl.space import SpaceError, parse_space
from automl.space.errors import UserInputError

ROOT = Path(__file__).resolve().parents[1]
AUTOML = str(Path(sys.executable).parent / "automl")


def write_space(tmp: Path, name: str = "tiny", **over) -> Path:
    doc = {
        "name": name,
        "dataset": {"name": "wine"},
        "model": {"family": "mlp", "n_dense_blocks": 1, "dense_blocks": {"units": {"low": 4, "high": 16}}},
        "training": {"optimizer": "adam", "lr": {"low": 1e-3, "high": 1e-1, "log": True}, "batch_size": 64,
                     "max_epochs": 1, "patience": 0},
    }
    for k, v in over.items():
        doc[k] = v
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([AUTOML, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def study_trials(storage: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)


# --- trial faults ---------------------------------------------------------------------------------------------

def test_trial_faults_are_recorded_and_the_search_goes_on(tmp_path):
    """NaN loss -> failed 'non-finite'; an exception -> failed with its traceback; a hang -> 'timeout'."""
    space = write_space(tmp_path, "faults", training={
        "optimizer": "sgd", "batch_size": 64, "patience": 0,
        # lr 100 with sgd diverges to NaN; loss mse on a multiclass task raises inside training;
        # max_epochs 100000 runs far past the 3 s trial timeout
        "lr": {"choices": [0.01, 100.0]},
        "loss": {"choices": ["auto", "mse"]},
        "max_epochs": {"choices": [1, 100000]},
    })
    r = run_cli("search", str(space), "--trials", "12", "--sampler", "random", "--pruner", "none",
                "--trial-timeout", "3", "--no-finalize", "--results-dir", str(tmp_path / "res"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    trials = study_trials(f"sqlite:///{tmp_path}/res/faults/study.db", "faults")
    assert len(trials) == 12
    reasons = [t.user_attrs.get("reason", "") for t in trials if t.state.name == "FAIL"]
    assert any("non-finite" in x for x in reasons), reasons
    assert any("timeout" in x for x in reasons), reasons
    raised = [t for t in trials if "ValueError" in t.user_attrs.get("reason", "")]
    assert raised and "Traceback" in raised[0].user_attrs["detail"]
    assert any(t.state.name == "COMPLETE" for t in trials)


def test_timeout_is_deferred_out_of_a_shielded_storage_write():
    """An alarm that fires inside `shielded()` (a storage write) is raised only once the block is done."""
    import time as _time

    from automl.trial.watchdog import TrialTimeout, shielded, watchdog

    finished_block = False
    t0 = _time.perf_counter()
    with pytest.raises(TrialTimeout), watchdog(0.2):
        with shielded():
            _time.sleep(0.5)  # the alarm fires here, mid-"write"
            finished_block = True
        _time.sleep(5)  # never reached: raised on leaving the shielded block
    assert finished_block
    assert 0.45 < _time.perf_counter() - t0 < 2.0
    with pytest.raises(TrialTimeout), watchdog(0.2):  # outside a shielded block it interrupts at once
        _time.sleep(5)


def test_timeout_in_a_worker_thread_interrupts_and_defers_out_of_a_shielded_block():
    """Off the main thread (Ray runs trainables in a thread) the watchdog raises asynchronously, and still
    waits for a shielded block to end; a block that ends in time is never hit afterwards."""
    import threading
    import time as _time

    from automl.trial.watchdog import TrialTimeout, shielded, watchdog

    def busy(seconds: float) -> None:  # pure Python: an asynchronous exception lands between bytecodes
        end = _time.perf_counter() + seconds
        while _time.perf_counter() < end:
            pass

    out: dict[str, float | bool] = {}

    def trial() -> None:
        t0 = _time.perf_counter()
        with contextlib.suppress(TrialTimeout), watchdog(0.2):
            with shielded():
                busy(0.5)
            out["after_shield"] = True  # never reached: raised on leaving the shielded block
        out["shielded"] = _time.perf_counter() - t0
        t0 = _time.perf_counter()
        with contextlib.suppress(TrialTimeout), watchdog(0.2):
            busy(5)
        out["plain"] = _time.perf_counter() - t0
        with watchdog(0.3):
            busy(0.05)
        busy(0.5)  # the cancelled timer must not fire here
        out["clean"] = True

    t = threading.Thread(target=trial)
    t.start()
    t.join(30)
    assert "after_shield" not in out and 0.45 < out["shielded"] < 2.0, out
    assert out["plain"] < 2.0 and out["clean"] is True, out


# --- concurrency ------------------------------------------------------------------------------------------------

def _concurrent_run(tmp_path: Path, storage: str | None, n_trials: int = 200, workers: int = 4):
    space = write_space(tmp_path, "conc", model={"family": "mlp", "n_dense_blocks": 1, "dense_blocks": {"units": 4}})
    args = ["search", str(space), "--trials", str(n_trials), "--workers", str(workers), "--sampler", "random",
            "--pruner", "none", "--no-finalize", "--results-dir", str(tmp_path / "res")]
    if storage:
        args += ["--storage", storage]
    r = run_cli(*args, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r


def _check_concurrent(trials, out: str, n_trials: int, workers: int) -> dict:
    numbers = [t.number for t in trials]
    # A worker that asked for a trial past the budget at the same moment as another gets a "surplus" trial:
    # Optuna keeps it as FAIL; it never trained (no worker, no epochs) and is no automl record.
    surplus = [t for t in trials if t.user_attrs.get("status") == "surplus"]
    assert len(surplus) <= workers - 1 and all(t.state.name == "FAIL" and "worker" not in t.user_attrs
                                               and "epochs_run" not in t.user_attrs for t in surplus), surplus
    assert all(t.number >= n_trials for t in surplus)  # the storage's numbers are the budget's tickets
    trials = [t for t in trials if t not in surplus]
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED", "FAIL")]
    figures = {"trials": len(trials), "unique_numbers": len(set(numbers)), "finished": len(finished),
               "failed": sum(t.state.name == "FAIL" for t in trials), "surplus": len(surplus),
               "workers": len({t.user_attrs.get("worker") for t in trials})}
    print("concurrency figures:", figures)
    assert len(set(numbers)) == len(numbers), "duplicate trial numbers"
    assert sorted(numbers) == list(range(len(numbers))), "a trial number is missing"
    assert len(finished) == n_trials  # the trial budget is exact with several workers
    assert figures["failed"] == 0, [t.user_attrs.get("reason") for t in trials if t.state.name == "FAIL"]
    assert figures["workers"] == workers
    assert "database is locked" not in out
    return figures


def test_four_workers_on_sqlite_200_trials(tmp_path):
    r = _concurrent_run(tmp_path, None)
    trials = study_trials(f"sqlite:///{tmp_path}/res/conc/study.db", "conc")
    _check_concurrent(trials, r.stdout + r.stderr, 200, 4)


@pytest.fixture
def postgres_url():
    """A fresh database on the local PostgreSQL server (started by .ci/run); skipped if there is none."""
    if shutil.which("psql") is None or os.geteuid() != 0 or shutil.which("su") is None:
        pytest.skip("PostgreSQL (Debian's postgresql, run as root) is not available here")
    if shutil.which("pg_lsclusters") and shutil.which("pg_ctlcluster"):  # whatever version is installed
        listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
        for version, cluster, *_ in (ln.split() for ln in listed.splitlines() if len(ln.split()) >= 2):
            subprocess.run(["pg_ctlcluster", version, cluster, "start"], capture_output=True)
    ok = subprocess.run(["su", "postgres", "-c", "psql -tAc 'select 1'"], capture_output=True, text=True)
    if ok.returncode != 0:
        pytest.skip(f"PostgreSQL server not running: {ok.stderr.strip()}")
    db, password = f"automl_{secrets.token_hex(4)}", secrets.token_hex(8)

    def psql(sql: str) -> None:
        subprocess.run(["su", "postgres", "-c", f'psql -v ON_ERROR_STOP=1 -c "{sql}"'], check=True, capture_output=True)

    psql(f"CREATE ROLE {db} LOGIN PASSWORD '{password}'")
    psql(f"CREATE DATABASE {db} OWNER {db}")
    yield f"postgresql+psycopg://{db}:{password}@127.0.0.1:5432/{db}", password
    psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    psql(f"DROP ROLE IF EXISTS {db}")


def test_four_workers_on_postgresql_200_trials_and_password_redacted(tmp_path, postgres_url):
    url, password = postgres_url
    r = _concurrent_run(tmp_path, url)
    _check_concurrent(study_trials(url, "conc"), r.stdout + r.stderr, 200, 4)
    run_dir = tmp_path / "res" / "conc"
    manifest = (run_dir / "manifest.json").read_text()
    assert password not in manifest and "***" in manifest
    assert password not in r.stdout + r.stderr
    # finalize needs the password again (it was not saved) and must not print or store it
    f = run_cli("finalize", str(run_dir), "--storage", url, cwd=tmp_path)
    assert f.returncode == 0, f.stderr
    for name in ("report.json", "report.md"):
        assert password not in (run_dir / name).read_text()
    assert password not in f.stdout + f.stderr
    missing = run_cli("trials", str(run_dir), cwd=tmp_path)
    assert missing.returncode == 2 and "--storage" in missing.stderr and password not in missing.stderr


# --- bad input: exit code 2, one clear paragraph, no traceback ----------------------------------------------------

def _bad_files(tmp: Path) -> dict[str, tuple[list[str], list[str]]]:
    """case -> (CLI args, substrings the message must contain)."""
    cases: dict[str, tuple[list[str], list[str]]] = {}

    def space_file(name: str, text: str) -> str:
        p = tmp / f"{name}.yaml"
        p.write_text(text)
        return str(p)

    base = "dataset: {name: wine}\n"
    cases["malformed YAML"] = (["search", space_file("malformed", "name: x\nmodel: {a: [1, 2\n")],
                               ["malformed.yaml", "line 3"])
    cases["unknown key"] = (["search", space_file("unknown", base + "trainig: {lr: 0.1}\n")],
                            ["unknown.yaml", "trainig", 'did you mean "training"'])
    cases["wrong type"] = (["search", space_file("wrongtype", base + "training: {batch_size: big}\n")],
                           ["training.batch_size", "'big'", "integer"])
    cases["low > high"] = (["search", space_file("lowhigh", base + "training: {lr: {low: 0.1, high: 0.01}}\n")],
                           ["training.lr", "greater than high"])
    cases["empty choices"] = (["search", space_file("empty", base + "training: {optimizer: {choices: []}}\n")],
                              ["training.optimizer.choices", "non-empty"])
    cases["log with low <= 0"] = (["search", space_file("logzero", base + "training: {lr: {low: 0.0, high: 0.1, log: true}}\n")],
                                  ["training.lr.low", "0"])
    cases["condition on missing parameter"] = (
        ["search", space_file("cond", base + "training: {momentum: {low: 0.8, high: 0.9, when: {optimiser: sgd}}}\n")],
        ["training.momentum.when.optimiser", "does not exist", 'did you mean "optimizer"'])
    cases["missing dataset file"] = (["search", space_file("nofile", "dataset: {path: nowhere.csv, target: y}\n")],
                                     ["nowhere.csv"])
    np.savez(tmp / "wrongkeys.npz", features=np.zeros((10, 3)), labels=np.zeros(10))
    cases["NPZ with wrong keys"] = (
        ["search", space_file("npzkeys", f"dataset: {{path: {tmp}/wrongkeys.npz, x_key: x, y_key: y}}\n")],
        ["wrongkeys.npz", "features"])
    np.savez(tmp / "ragged.npz", a=np.zeros((10, 3)), b=np.zeros((10, 4)))
    cases["NPZ with ragged arrays"] = (["search", space_file("ragged", f"dataset: {{path: {tmp}/ragged.npz}}\n")],
                                       ["ragged.npz"])
    pd.DataFrame({"a": np.arange(20.0), "label": [0, 1] * 10}).to_csv(tmp / "t.csv", index=False)
    cases["CSV without target"] = (["search", space_file("notarget", f"dataset: {{path: {tmp}/t.csv, target: lable}}\n")],
                                   ["t.csv", "lable", "label"])
    pd.DataFrame({"a": np.arange(20.0), "label": [1] * 20}).to_csv(tmp / "one.csv", index=False)
    cases["single-class target"] = (["search", space_file("oneclass", f"dataset: {{path: {tmp}/one.csv, target: label, task: binary}}\n")],
                                    ["one.csv", "label"])
    pd.DataFrame({"a": [1.0, np.inf, 3.0, np.nan] * 5, "label": [0, 1] * 10}).to_csv(tmp / "nan.csv", index=False)
    cases["NaN/inf features"] = (["search", space_file("nanfeat", f"dataset: {{path: {tmp}/nan.csv, target: label}}\n")],
                                 ["nan.csv"])
    cases["every config infeasible"] = (
        ["search", space_file("infeasible", "dataset: {name: mnist1d, subsample: 300}\nmodel: {family: cnn, n_conv_blocks: 6, "
                              "conv_blocks: {kernel_size: 7, padding: valid, pool: max, pool_size: 2}}\n")],
        ["infeasible.yaml", "none of", "feasible"])
    cases["unknown shipped space"] = (["search", "mnist1d_cnm"], ["mnist1d_cnm", 'did you mean "mnist1d_cnn"'])
    cases["bad sampler"] = (["search", space_file("ok", base), "--sampler", "tpee"], ["tpee", "allowed"])
    cases["missing run"] = (["best", str(tmp / "no_such_run")], ["no_such_run"])
    return cases


def test_bad_input_table(tmp_path):
    cases = _bad_files(tmp_path)
    assert len(cases) >= 17
    rows = []

    def run(args: list[str]) -> subprocess.CompletedProcess:
        extra = ["--results-dir", str(tmp_path / "res")] if args[0] != "best" else []
        return run_cli(*args, *extra, cwd=tmp_path)

    with ThreadPoolExecutor(2) as pool:  # two CLI processes at a time (each case its own file and study)
        results = list(pool.map(run, [args for args, _ in cases.values()]))
    for (name, (_args, needles)), r in zip(cases.items(), results, strict=True):
        out = r.stdout + r.stderr
        rows.append((name, r.returncode))
        assert r.returncode == 2, f"{name}: exit {r.returncode}\n{out}"
        assert "Traceback" not in out, f"{name}: traceback\n{out}"
        for needle in needles:
            assert needle.lower() in out.lower(), f"{name}: {needle!r} not in\n{out}"
    print("bad-input cases:", rows)
    # nothing was created for bad input: no half-made run directories
    assert not any((tmp_path / "res").glob("*/manifest.json"))


# --- fuzzing: no input produces a traceback -----------------------------------------------------------------------

_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=8), st.sampled_from(["relu", "sgd", "adam", "low", "high", "choices", "when"]))
_keys = st.one_of(st.text(max_size=8), st.sampled_from(
    ["model", "training", "dataset", "name", "task", "objective", "search", "low", "high", "log", "step", "choices",
     "value", "when", "type", "conv_blocks", "n_conv_blocks", "dense_blocks", "n_dense_blocks", "shared", "lr",
     "optimizer", "momentum", "filters", "family", "metric", "direction", "sampler"]))
_tree = st.recursive(_scalar, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(_keys, c, max_size=5)),
                     max_leaves=25)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _tree, max_size=6))
def test_fuzz_parser_never_crashes(doc):
    try:
        parse_space(doc, "fuzz.yaml")
    except SpaceError as e:
        assert "fuzz.yaml" in str(e)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_fuzz_yaml_text_never_crashes(tmp_path, text):
    from automl.space import load_space

    f = tmp_path / "fuzz.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(UserInputError):
        load_space(f)


# --- security -----------------------------------------------------------------------------------------------------

def test_no_unsafe_deserialization_in_the_code():
    """YAML only through safe loaders, no pickle/eval of user files, torch.load only with weights_only=True,
    no Tune ExperimentAnalysis (it unpickles the experiment state of a run folder)."""
    sources = [p for d in ("automl", "cli", "benchmarks") for p in (ROOT / d).rglob("*.py")]
    assert sources
    for p in sources:
        text = p.read_text()
        assert not re.search(r"\bpickle\.loads?\(", text), p
        assert not re.search(r"(?<![\w.])eval\(", text), p
        assert "allow_pickle=True" not in text, p
        # Tune's readers unpickle the run folder's experiment state: Ray runs are read as JSON
        assert not re.search(r"ExperimentAnalysis\(|import .*ExperimentAnalysis|from_json_state\(", text), p
        for m in re.finditer(r"yaml\.load\(", text):
            call = text[m.start(): text.find("\n", m.start())]
            assert "Loader=_Loader" in call or "SafeLoader" in call, (p, call)
        for m in re.finditer(r"torch\.load\(", text):
            call = text[m.start(): text.find("\n", m.start())]
            assert "weights_only=True" in call, (p, call)


def test_npz_with_object_arrays_is_refused_not_unpickled(tmp_path):
    from automl.data import DataError, load_dataset

    np.savez(tmp_path / "obj.npz", x=np.array([object(), object()], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DataError) as ei:
        load_dataset({"path": str(tmp_path / "obj.npz")})
    assert "obj.npz" in str(ei.value)


def test_final_weights_load_with_weights_only_and_reproduce_the_search(tmp_path):
    import torch

    space = write_space(tmp_path, "weights")
    # 2 workers -> each trains with cores // 2 threads, while finalize runs in the parent process
    r = run_cli("search", str(space), "--trials", "2", "--workers", "2", "--results-dir", str(tmp_path / "res"),
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    run_dir = tmp_path / "res" / "weights"
    state = torch.load(run_dir / "model.pt", weights_only=True)
    report = json.loads((run_dir / "report.json").read_text())
    # retraining the best trial with its own seed and thread count reproduces its search result exactly
    assert report["best"]["val_value"] == pytest.approx(report["best"]["search_value"], abs=1e-9)
    from automl.data import load_dataset
    from automl.models import build_model

    model = build_model(report["best"]["config"], load_dataset({"name": "wine"}).spec)
    model.load_state_dict(state)
    assert sum(p.numel() for p in model.parameters()) == report["model"]["total_params"]
