"""The Ray Tune backend against real Ray: a two-node cluster on this machine, a worker node killed mid-search,
a driver killed mid-search and resumed, and every scheduler once on a local Ray.

Cluster processes are started with a marker in their environment and stopped by pid (never `ray stop`, which
would stop every Ray on the machine). Each test has its own time limit; the whole module takes a few minutes on
two cores.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ray.tune")

from automl.space.errors import UserInputError
from automl.store.run import load_run

pytestmark = pytest.mark.slow
AUTOML = [sys.executable, "-m", "automl.cli.main"]
MARK = "AUTOML_RAY_TEST"

SPACE = """\
name: {name}
dataset: {{name: wine, split: {{train: 0.7, val: 0.15, test: 0.15, seed: 0}}}}
objective: {{metric: val_accuracy, direction: maximize}}
model:
  family: mlp
  n_dense_blocks: {{low: 1, high: 2}}
  dense_blocks:
    units: {{low: 8, high: 32, log: true}}
    activation: {{choices: [relu, tanh]}}
training:
  optimizer: {{choices: [adam, sgd]}}
  lr: {{low: 1.0e-3, high: 1.0e-1, log: true}}
  momentum: {{low: 0.5, high: 0.99, when: {{optimizer: sgd}}}}
  batch_size: {batch}
  max_epochs: {epochs}
  patience: 0
search: {{seed: 0}}
"""


def write_space(folder: Path, name: str, epochs: int, batch: int = 32) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(SPACE.format(name=name, epochs=epochs, batch=batch))
    return path


# --- processes, by marker ----------------------------------------------------------------------------------

def pids_marked(value_prefix: str) -> list[int]:
    """Pids whose environment has AUTOML_RAY_TEST starting with `value_prefix` (this test's processes only)."""
    needle = f"{MARK}={value_prefix}".encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            env = Path(f"/proc/{d}/environ").read_bytes()
        except OSError:
            continue
        if any(item.startswith(needle) for item in env.split(b"\0")):
            out.append(int(d))
    return out


def with_descendants(pids: list[int]) -> list[int]:
    """The pids and every process below them (Ray's workers are children of the raylet)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = set(), list(pids)
    while todo:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo.extend(children.get(p, []))
    return sorted(out)


def kill_marked(value_prefix: str) -> None:
    for _ in range(3):
        pids = with_descendants(pids_marked(value_prefix))
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Cluster:
    """A head and a worker node on loopback, one CPU each, token auth with a token file of their own."""

    def __init__(self) -> None:
        self.base = tempfile.mkdtemp(prefix="amlr", dir="/tmp")  # short: Ray's unix socket paths are limited
        self.token = Path(self.base, "auth_token")
        self.token.write_text(secrets.token_hex(32))
        self.env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(self.token),
                    "RAY_TMPDIR": self.base}
        self.port = 0

    def _node_flags(self) -> list[str]:
        p = free_ports(6)
        return [f"--dashboard-agent-listen-port={p[0]}", f"--dashboard-agent-grpc-port={p[1]}",
                f"--metrics-export-port={p[2]}", f"--runtime-env-agent-port={p[3]}",
                f"--node-manager-port={p[4]}", f"--object-manager-port={p[5]}"]

    def start(self) -> None:
        self.port = free_ports(1)[0]
        common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--object-store-memory=100000000",
                  "--disable-usage-stats"]
        head = ["ray", "start", "--head", f"--port={self.port}", "--include-dashboard=false",
                f"--temp-dir={self.base}/h", *common, *self._node_flags()]
        subprocess.run(head, env={**self.env, MARK: f"{self.base}/h"}, check=True, capture_output=True, timeout=120)
        worker = ["ray", "start", f"--address=127.0.0.1:{self.port}", '--resources={"worker_node": 1}',
                  f"--temp-dir={self.base}/w", *common, *self._node_flags()]
        subprocess.run(worker, env={**self.env, MARK: f"{self.base}/w"}, check=True, capture_output=True, timeout=120)

    def node_id(self, node: str) -> str:
        files = glob.glob(f"{self.base}/{node}/session_latest/metrics_export_port_*")
        return files[0].rsplit("_", 1)[-1] if files else ""

    def kill_node(self, node: str) -> None:
        kill_marked(f"{self.base}/{node}")

    def stop(self) -> None:
        kill_marked(self.base)
        shutil.rmtree(self.base, ignore_errors=True)


def run_cli(args: list[str], env: dict[str, str], timeout: float, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*AUTOML, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def records(run_dir: Path):
    from automl.store.results import load_trials

    return load_trials(load_run(run_dir))


def result_rows(run_dir: Path) -> dict[str, list[dict]]:
    out = {}
    for f in sorted(run_dir.glob("tune/trial_*/result.json")):
        out[f.parent.name] = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out


FINISHED = ("COMPLETE", "PRUNED", "FAIL")


# --- a real two-node cluster --------------------------------------------------------------------------------

@pytest.fixture(scope="class")
def cluster():
    c = Cluster()
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.mark.timeout(240)
class TestCluster:
    def test_trials_run_on_both_nodes(self, cluster: Cluster, tmp_path: Path) -> None:
        space = write_space(tmp_path, "two_nodes", epochs=3)
        env = {**cluster.env, MARK: f"{cluster.base}/driver"}
        p = run_cli(["search", str(space), "--backend", "ray", "--address", f"127.0.0.1:{cluster.port}",
                     "--trials", "6", "--max-concurrent", "2", "--cpus-per-trial", "1", "--results-dir", "results"],
                    env, 200, tmp_path)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        run_dir = tmp_path / "results" / "two_nodes"
        recs = records(run_dir)
        assert len(recs) == 6 and all(r.state in FINISHED for r in recs)
        assert [r.number for r in recs] == list(range(6))
        nodes = {r.worker for r in recs}
        assert nodes == {cluster.node_id("h"), cluster.node_id("w")}, nodes
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["backend"] == "ray"
        report = json.loads((run_dir / "report.json").read_text())  # finalize ran locally on the Ray run
        assert report["backend"] == "ray" and report["test_reads"] == 1
        t = run_cli(["trials", "two_nodes", "--results-dir", "results"], env, 60, tmp_path)
        assert t.returncode == 0 and "two_nodes: 6 trials" in t.stdout

    def test_worker_node_killed_mid_search(self, cluster: Cluster, tmp_path: Path) -> None:
        space = write_space(tmp_path, "node_kill", epochs=60, batch=8)
        env = {**cluster.env, MARK: f"{cluster.base}/driver"}
        worker = cluster.node_id("w")
        proc = subprocess.Popen(
            [*AUTOML, "search", str(space), "--backend", "ray", "--address", f"127.0.0.1:{cluster.port}",
             "--trials", "8", "--max-concurrent", "2", "--scheduler", "fifo", "--no-finalize",
             "--results-dir", "results"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        victim = None
        started = time.time()
        deadline = started + 90
        while time.time() < deadline and victim is None and proc.poll() is None:
            # the driver's staging copy of the results lives in the head node's session dir (one folder per run)
            runs = [d for d in glob.glob(f"{cluster.base}/h/session_latest/artifacts/*") if os.stat(d).st_mtime >= started - 1]
            for f in [f for d in runs for f in glob.glob(f"{d}/tune/driver_artifacts/trial_*/result.json")]:
                rows = [json.loads(x) for x in Path(f).read_text().splitlines() if x.strip()]
                if rows and rows[-1].get("node_id") == worker and rows[-1].get("automl_kind") == "epoch":
                    victim = Path(f).parent.name
                    break
            time.sleep(0.2)
        assert victim is not None, "no trial was seen running on the worker node"
        cluster.kill_node("w")
        out, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0, out[-4000:]
        recs = records(tmp_path / "results" / "node_kill")
        assert len(recs) == 8, [(r.number, r.state) for r in recs]
        assert all(r.state in FINISHED for r in recs)
        assert all(r.reason for r in recs if r.state == "FAIL")
        hit = next(r for r in recs if r.number == int(victim.split("_")[1]))
        # Tune retries a trial whose node died (FailureConfig max_failures=2, and a lost node does not even
        # count): the trial finishes on the surviving head node, and its record says it was retried
        assert hit.state == "COMPLETE", (hit.state, hit.reason, hit.worker)
        assert hit.worker == cluster.node_id("h") != worker, (hit.worker, worker)
        assert re.search(r"retried \d+ times? after its process or node died", hit.reason), hit.reason


# --- the driver killed mid-search, then `automl resume` -----------------------------------------------------

@pytest.mark.timeout(300)
def test_driver_killed_then_resume(tmp_path: Path) -> None:
    space = write_space(tmp_path, "driver_kill", epochs=40, batch=8)
    base = tempfile.mkdtemp(prefix="amlr", dir="/tmp")
    env = {**os.environ, "RAY_TMPDIR": base, MARK: base}
    run_dir = tmp_path / "results" / "driver_kill"
    try:
        proc = subprocess.Popen(
            [*AUTOML, "search", str(space), "--backend", "ray", "--trials", "8", "--max-concurrent", "2",
             "--scheduler", "fifo", "--no-finalize", "--results-dir", "results"],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ledger = run_dir / "ray_trials.jsonl"
        deadline = time.time() + 150
        while time.time() < deadline and proc.poll() is None:
            n = len(ledger.read_text().splitlines()) if ledger.exists() else 0
            if n >= 3 and list((run_dir / "tune").glob("experiment_state-*.json")):
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the search finished before it could be killed: " + proc.stdout.read()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        kill_marked(base)  # the local Ray the killed driver had started

        before = {r.number: r for r in records(run_dir) if r.state in FINISHED}
        assert len(before) >= 3
        nodes_before = {r.worker for r in before.values()}
        snapshot_done = _terminated_in_snapshot(run_dir)
        files_before = {name: (run_dir / "tune" / name / "result.json").read_bytes() for name in snapshot_done}

        env2 = {**env, MARK: base + "/resume"}
        p = run_cli(["resume", "driver_kill", "--no-finalize", "--results-dir", "results"], env2, 200, tmp_path)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]

        after = {r.number: r for r in records(run_dir)}
        assert sorted(after) == list(range(8)), sorted(after)
        assert all(r.state in FINISHED for r in after.values())
        for n, old in before.items():  # finished trials kept as they were, not trained again
            new = after[n]
            assert (new.params, new.state, new.value, new.epochs_run, new.history) == (
                old.params, old.state, old.value, old.epochs_run, old.history), n
        rows = result_rows(run_dir)
        for name, trial_rows in rows.items():
            n = int(name.split("_")[1])
            if n in before:  # no epoch trained for it by the resumed session (a new Ray node id)
                assert all(r.get("node_id") in nodes_before for r in trial_rows if r.get("automl_kind") == "epoch")
        for name, data in files_before.items():  # trials Tune had saved as finished: files untouched
            assert (run_dir / "tune" / name / "result.json").read_bytes() == data
        assert len(after) - len(before) >= 1  # the interrupted/pending ones ran in the resumed session
    finally:
        kill_marked(base)
        shutil.rmtree(base, ignore_errors=True)


def _terminated_in_snapshot(run_dir: Path) -> list[str]:
    from ray.tune import ExperimentAnalysis

    ea = ExperimentAnalysis(str(run_dir / "tune"))
    return [Path(t.path).name for t in ea.trials if t.status == "TERMINATED"
            and (run_dir / "tune" / Path(t.path).name / "result.json").exists()]


# --- schedulers x searchers on one local Ray ----------------------------------------------------------------

@pytest.fixture(scope="module")
def local_ray():
    import ray

    base = tempfile.mkdtemp(prefix="amlr", dir="/tmp")
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100_000_000,
             _temp_dir=base, logging_level="WARNING")
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(base, ignore_errors=True)


def _bohb_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("ConfigSpace", "hpbandster"))


@pytest.mark.timeout(180)
@pytest.mark.parametrize("scheduler,searcher", [
    ("asha", "tpe"), ("hyperband", "random"), ("median", "tpe"), ("fifo", "random"), ("pbt", None), ("bohb", None),
])
def test_scheduler_matrix(local_ray, tmp_path: Path, scheduler: str, searcher: str | None) -> None:
    from automl.backends.prepare import start_search

    space = write_space(tmp_path, f"m_{scheduler}", epochs=4)
    options = {"backend": "ray", "root": tmp_path / "results", "trials": 4, "scheduler": scheduler,
               "searcher": searcher, "max_concurrent": 2, "pbt_interval": 1}
    if scheduler == "bohb" and not _bohb_installed():  # a clear message, nothing half-written; then a skip
        with pytest.raises(UserInputError, match="pip install"):  # (which conftest fails under CI=true)
            start_search(space, **options)
        assert not (tmp_path / "results").exists()
        pytest.skip("BOHB needs ConfigSpace and hpbandster: pip install 'automl[bohb]'")
    info = start_search(space, **options)  # with them installed, any error fails the test
    recs = records(info.run_dir)
    assert len(recs) == 4 and all(r.state in FINISHED for r in recs), [(r.state, r.reason) for r in recs]
    assert any(r.state == "COMPLETE" for r in recs)
    for r in recs:
        assert r.epochs_run <= 4 and len(r.history) == r.epochs_run
        assert [h["epoch"] for h in r.history] == list(range(1, r.epochs_run + 1))
    # the dataset is fetched from the object store once per actor process, not once per trial
    finals = [row for rs in result_rows(info.run_dir).values() for row in rs if row.get("automl_kind") == "final"]
    fetches: dict[int, int] = {}
    for row in finals:
        fetches[row["pid"]] = fetches.get(row["pid"], 0) + bool(row["data_fetched"])
    assert finals and all(n <= 1 for n in fetches.values()), fetches
    if scheduler in ("hyperband", "pbt", "bohb"):  # pausing schedulers: trials resumed from their epoch count
        rows = [row for rs in result_rows(info.run_dir).values() for row in rs]
        assert all(row.get("resumed_from", 0) < row["epoch"] for row in rows if row.get("automl_kind") == "epoch")


class _Trap:
    """Unpickling this writes `marker`: a stand-in for code hidden in someone else's run folder."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def _booby_trap(experiment: Path, marker: Path) -> int:
    """Every pickle of the Tune experiment, and every pickled field of its JSON snapshot, replaced by a trap."""
    import cloudpickle
    from ray._common.utils import binary_to_hex

    payload = cloudpickle.dumps(_Trap(marker))
    n = 0
    for pkl in experiment.rglob("*.pkl"):
        pkl.write_bytes(payload)
        n += 1
    for state_file in experiment.glob("experiment_state-*.json"):
        state = json.loads(state_file.read_text())
        for item in state["trial_data"]:
            trial = json.loads(item[0])
            for key in ("results", "extra_arg", "placement_group_factory", "_resources", "storage"):
                trial[key] = binary_to_hex(payload)
            trial["config"]["_evil"] = {"_type": "CLOUDPICKLE_FALLBACK", "value": binary_to_hex(payload)}
            item[0] = json.dumps(trial)
            n += 1
        state_file.write_text(json.dumps(state))
    return n


@pytest.mark.timeout(240)
def test_reading_a_ray_run_never_unpickles(local_ray, tmp_path: Path) -> None:
    """`trials`, `best` and `report` read a Ray run from JSON alone: a run folder whose pickles are all traps
    is listed without running any of them (while Tune's own reader does run them: the trap works)."""
    from typer.testing import CliRunner

    from automl.backends.prepare import start_search
    from automl.cli.main import app

    space = write_space(tmp_path, "trap", epochs=2)
    info = start_search(space, backend="ray", root=tmp_path / "results", trials=2, scheduler="fifo", max_concurrent=1)
    honest = records(info.run_dir)
    marker = tmp_path / "pwned"
    assert _booby_trap(info.run_dir / "tune", marker) >= 3
    recs = records(info.run_dir)
    assert [(r.number, r.state, r.value, r.params) for r in recs] == [
        (r.number, r.state, r.value, r.params) for r in honest]
    runner = CliRunner()
    for args in (["trials", "trap"], ["best", "trap"], ["report", "trap"]):
        res = runner.invoke(app, [*args, "--results-dir", str(tmp_path / "results")])
        assert res.exit_code == 0, (args, res.output, res.exception)
    assert not marker.exists(), "reading the run unpickled a file of its experiment folder"
    from ray.tune import ExperimentAnalysis

    with contextlib.suppress(Exception):
        ExperimentAnalysis(str(info.run_dir / "tune"))
    assert marker.exists(), "the trap did not fire for Tune's own reader: this test would prove nothing"


@pytest.mark.timeout(120)
def test_a_local_ray_started_for_a_search_warms_its_workers(tmp_path: Path) -> None:
    """connect() gives a local Ray a worker setup hook: a worker process has torch imported before any trial
    runs in it (a task that imports nothing itself sees it), so the first trials do not wait for the import."""
    code = textwrap.dedent("""
        import sys, ray
        from automl.backends.ray.connection import connect
        from automl.backends.ray.settings import RaySettings
        assert connect(RaySettings(num_cpus=1))
        probe = ray.remote(lambda: ("torch" in sys.modules, "automl.trial" in sys.modules))
        print("PROBE", ray.get(probe.remote()))
        ray.shutdown()
    """)
    base = tempfile.mkdtemp(prefix="amlw", dir="/tmp")  # short: Ray's socket paths must fit
    env = {**os.environ, "RAY_TMPDIR": base, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    try:
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=110)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert "PROBE (True, True)" in p.stdout, p.stdout[-2000:] + p.stderr[-3000:]


def test_flags_are_checked(tmp_path: Path) -> None:
    from automl.backends.prepare import start_search

    space = write_space(tmp_path, "flags", epochs=2)
    with pytest.raises(UserInputError, match="--backend ray"):
        start_search(space, backend="optuna", root=tmp_path / "r", scheduler="asha", address=None)
    with pytest.raises(UserInputError, match="allowed: optuna, ray"):
        start_search(space, backend="dask", root=tmp_path / "r")
    with pytest.raises(UserInputError, match="--scheduler"):
        start_search(space, backend="ray", root=tmp_path / "r", pruner="median")
    with pytest.raises(UserInputError, match="allowed: asha"):
        start_search(space, backend="ray", root=tmp_path / "r", scheduler="pb2")
    assert not (tmp_path / "r").exists()


def test_bohb_configspace_keeps_conditions() -> None:
    pytest.importorskip("ConfigSpace")
    from automl.backends.ray.bohb import BOHBParams, configspace_from
    from automl.space import config_from_params, parse_space

    space = parse_space(yaml.safe_load(SPACE.format(name="cs", epochs=2, batch=32)), source="cs.yaml")
    cs = configspace_from(space.space, seed=0)
    to_params = BOHBParams(cs.automl_choices)
    for cfg in cs.sample_configuration(30):
        params = to_params(dict(cfg))
        config = config_from_params(space.space, params)  # every active value present, nothing extra
        assert ("momentum" in config["training"]) == (config["training"]["optimizer"] == "sgd")
        assert len(config["model"]["dense_blocks"]) == config["model"]["n_dense_blocks"]
        n = config["model"]["n_dense_blocks"]
        assert ("model.dense_blocks.1.units" in params) == (n == 2)


def test_trials_a_stopper_ends_are_recorded_and_pending_ones_left_out(tmp_path: Path) -> None:
    """`stop_all` (the search stalled, or the epoch budget is spent) TERMINATEs the trials in flight without
    Tune's on_trial_complete: the ledger records those that reported as PRUNED with the reason, and marks those
    that never reported as never run (no record), instead of leaving them to read as failed."""
    from types import SimpleNamespace

    from automl.backends.ray import ledger

    class Trial(SimpleNamespace):
        def __str__(self) -> str:
            return self.name

    def trial(n: int, reported: bool) -> Trial:
        return Trial(name=f"trial_{n:05d}_t{n}", trial_id=f"t{n}", status="TERMINATED", config={"x": n},
                     has_reported_at_least_once=reported, run_metadata=SimpleNamespace(num_failures=0))

    stall = SimpleNamespace(spent=True, added=[])
    stall.add = stall.added.append
    led = ledger.Ledger(tmp_path, stall=stall)
    cut, pending = trial(3, True), trial(4, False)
    led.on_trial_result(0, [], cut, {"automl_kind": "epoch", "epoch": 1, "val_accuracy": 0.5, "metric_names":
                                     ["val_accuracy"], "best_value": 0.5, "best_epoch": 1, "max_epochs": 5,
                                     "trial_start": 1.0, "t": 2.0})
    led.on_experiment_end([cut, pending])
    entries = [json.loads(line) for line in (tmp_path / ledger.LEDGER).read_text().splitlines()]
    assert [(e["name"], e["status"]) for e in entries] == [("trial_00003_t3", "TERMINATED"),
                                                          ("trial_00004_t4", ledger.NEVER_RAN)]
    rec = entries[0]["record"]
    assert rec["state"] == "PRUNED" and rec["reason"] == "stopped at epoch 1: the search stalled (--budget auto)"
    assert [r.number for r in stall.added] == [3]  # the stall rule saw the cut trial too
    assert [r.number for r in ledger.ledger_records(tmp_path)] == [3]


def test_bohb_records_integer_choices_as_integers_so_the_best_trial_can_be_retrained(tmp_path: Path) -> None:
    """TuneBOHB sees categorical choices as JSON labels ('16'); the trial trains on the decoded value, and the
    record must hold that value too, or re-training the best trial fails its schema check (found by
    benchmarks/mnist1d_compare.py: `kernel_size must be an integer, got '7'`)."""
    from automl.backends.prepare import start_search  # ConfigSpace + hpbandster come with the `test` extra
    from automl.space import config_from_params, parse_space

    text = SPACE.format(name="bohbint", epochs=2, batch="{choices: [16, 32]}")
    path = tmp_path / "bohbint.yaml"
    path.write_text(text)
    info = start_search(path, backend="ray", root=tmp_path / "results", trials=3, scheduler="bohb", max_concurrent=1)
    recs = [r for r in records(info.run_dir) if r.params]
    assert recs
    space = parse_space(yaml.safe_load(text), source="bohbint.yaml")
    for r in recs:
        assert r.params["training.batch_size"] in (16, 32) and type(r.params["training.batch_size"]) is int, r.params
        assert r.params["model.dense_blocks.0.activation"] in ("relu", "tanh"), r.params
        config_from_params(space.space, r.params)
