"""The Optuna backend end to end, for real: SQLite storage in tmp_path, real training, no mocks.

Every search is tiny (wine or a digits subsample, 2-5 epochs, one small MLP layer) so the whole file runs in
about two minutes on a loaded 2-core machine. Searches run in-process through Typer's CliRunner unless the
test needs a real process (Ctrl-C, kill -9, worker processes, Optuna's own CLI and dashboard).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from itertools import product
from pathlib import Path

import optuna
import pytest
import yaml

from automl.backends.optuna.samplers import PRUNERS, SAMPLERS
from tests.conftest import cli, pinned_to_one_core

BIN = Path(sys.executable).parent
AUTOML = str(BIN / "automl")
FINISHED = ("COMPLETE", "PRUNED", "FAIL")
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


# --- helpers ------------------------------------------------------------------------------------------------

@pytest.fixture(autouse=True, scope="module")
def one_core():
    """Pin this module, and the processes it starts, to one CPU. The machine is shared; on a loaded 2-core
    box one torch thread per trial is several times faster than two (no spinning on a descheduled peer)."""
    with pinned_to_one_core():
        yield


def write_space(tmp: Path, name: str = "tiny", *, dataset: dict | None = None, model: dict | None = None,
                training: dict | None = None, search: dict | None = None) -> Path:
    """A tiny space YAML: one small dense layer on wine, 2 epochs, two searched parameters."""
    doc: dict = {
        "name": name,
        "dataset": dataset or {"name": "wine"},
        "objective": {"metric": "val_accuracy", "direction": "maximize"},
        "model": {"family": "mlp", "n_dense_blocks": 1,
                  "dense_blocks": {"units": {"low": 4, "high": 16}, "activation": "relu"}},
        "training": {"optimizer": "adam", "lr": {"low": 1e-3, "high": 1e-1, "log": True}, "batch_size": 32,
                     "max_epochs": 2, "patience": 5},
    }
    if model:
        doc["model"].update(model)
    if training:
        doc["training"].update(training)
    if search:
        doc["search"] = search
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def slow_space(tmp: Path, name: str = "slow", epochs: int = 40) -> Path:
    """Trials of roughly a second even on an idle machine (digits subsample, batch 8, 40 epochs of ~25 ms, no
    early stopping): long enough to catch one RUNNING (with early stopping, trials of 9-15 epochs ran 0.5 s on an
    idle CI machine and all three ended before the test could interrupt one)."""
    return write_space(tmp, name, dataset={"name": "digits", "subsample": 600},
                       model={"dense_blocks": {"units": {"low": 32, "high": 64}, "activation": "relu"}},
                       training={"batch_size": 8, "max_epochs": epochs, "patience": 0,
                                 "lr": {"low": 1e-3, "high": 1e-2, "log": True}})




def storage_url(run_dir: Path) -> str:
    return f"sqlite:///{run_dir / 'study.db'}"


def trials_of(run_dir: Path, study: str | None = None) -> list[optuna.trial.FrozenTrial]:
    study = study or json.loads((run_dir / "manifest.json").read_text())["study"]
    return optuna.load_study(study_name=study, storage=storage_url(run_dir)).get_trials()


def states(trials) -> list[str]:
    return [t.state.name for t in trials]


def real(trials):
    """Finished trials that count against the budget (interrupted ones are re-queued and run again)."""
    return [t for t in trials if t.state.name in FINISHED and t.user_attrs.get("status") != "interrupted"]


def report_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "report.json").read_text())


def search(space: Path, res: Path, *extra, study: str | None = None, code: int = 0):
    args = ["search", space, "--results-dir", res, *extra]
    if study:
        args += ["--study", study]
    return cli(*args, code=code)


# --- 1. every sampler and every pruner end to end -------------------------------------------------------------

@pytest.mark.parametrize("sampler", [n for n in SAMPLERS.names() if n != "grid"])  # grid: its own test below
def test_sampler_end_to_end(tmp_path, sampler):
    """4 trials (the last 2 from the sampler's model: startup_trials 2), then finalize writes report.json."""
    space = write_space(tmp_path, search={"startup_trials": 2})
    out = search(space, tmp_path, "--trials", 4, "--sampler", sampler, "--pruner", "none", "--seed", 1).output
    run = tmp_path / "tiny"
    trials = trials_of(run)
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert states(trials) == ["COMPLETE"] * 4, [t.user_attrs.get("reason") for t in trials]
    assert all(set(t.params) == {"model.dense_blocks.0.units", "training.lr"} for t in trials)
    assert all(t.user_attrs["epochs_run"] == 2 for t in trials)
    rep = report_of(run)
    assert rep["budget"]["settings"]["sampler"] == sampler
    assert rep["budget"]["by_state"]["COMPLETE"] == 4
    assert rep["test_reads"] == 1
    assert rep["best"]["trial"] in range(4)
    assert (run / "report.md").exists() and (run / "model.pt").exists()
    assert "Best trial #" in out and "Traceback" not in out


def test_grid_sampler_runs_the_whole_tiny_grid(tmp_path):
    """2 x 2 grid, no --trials: the budget is the grid size and every point is tried exactly once."""
    space = write_space(tmp_path, "grid", model={"dense_blocks": {"units": {"choices": [4, 8]}, "activation": "relu"}},
                        training={"lr": {"choices": [0.01, 0.1]}})
    search(space, tmp_path, "--sampler", "grid", "--pruner", "none")
    trials = trials_of(tmp_path / "grid")
    assert states(trials) == ["COMPLETE"] * 4
    points = {(t.params["model.dense_blocks.0.units"], t.params["training.lr"]) for t in trials}
    assert points == set(product([4, 8], [0.01, 0.1]))
    assert report_of(tmp_path / "grid")["budget"]["settings"]["sampler"] == "grid"


@pytest.mark.parametrize("pruner", PRUNERS.names())  # every registered pruner, so a new one is tested here
def test_pruner_end_to_end(tmp_path, pruner):
    """5 trials of up to 3 epochs: every trial finishes COMPLETE or PRUNED (a pruned one stopped early). First rung
    at epoch 1 (`min_epochs: 1`; the default 3 would leave no rung before the last epoch of so short a trial)."""
    space = write_space(tmp_path, training={"max_epochs": 3}, search={"min_epochs": 1})
    search(space, tmp_path, "--trials", 5, "--sampler", "random", "--pruner", pruner, "--seed", 2)
    run = tmp_path / "tiny"
    trials = trials_of(run)
    assert len(trials) == 5 and set(states(trials)) <= {"COMPLETE", "PRUNED"}
    assert trials[0].state.name == "COMPLETE"  # nothing to compare the first trial with
    for t in trials:
        assert t.user_attrs["epochs_run"] == (3 if t.state.name == "COMPLETE" else len(t.intermediate_values))
        if t.state.name == "PRUNED":
            assert t.user_attrs["epochs_run"] < 3 and "pruned" in t.user_attrs["reason"]
        assert sorted(t.intermediate_values) == list(range(1, t.user_attrs["epochs_run"] + 1))
    if pruner == "none":
        assert states(trials) == ["COMPLETE"] * 5
    rep = report_of(run)
    assert rep["budget"]["settings"]["pruner"] == pruner and rep["test_reads"] == 1


def test_a_trial_the_pruner_stops_at_its_last_epoch_is_complete(tmp_path):
    """Successive halving whose only rung is the last epoch (min_epochs = max_epochs = 2): every trial trained in
    full, so each is COMPLETE with its value (a PRUNED trial would be lost to TPE's model and to selection)."""
    space = write_space(tmp_path, search={"min_epochs": 2})
    search(space, tmp_path, "--trials", 6, "--sampler", "random", "--pruner", "successive_halving", "--seed", 1,
           "--no-finalize")
    trials = trials_of(tmp_path / "tiny")
    assert states(trials) == ["COMPLETE"] * 6, [t.user_attrs.get("reason") for t in trials]
    assert all(t.user_attrs["epochs_run"] == 2 and t.value is not None for t in trials)
    assert all(sorted(t.intermediate_values) == [1, 2] for t in trials)  # the last epoch was still reported


# --- 2. budgets -----------------------------------------------------------------------------------------------

def test_budget_max_total_epochs_stops_the_search(tmp_path):
    """max_total_epochs 6 with 2-epoch trials: exactly 3 trials; the sum reaches 6 and nothing runs after."""
    space = write_space(tmp_path)
    search(space, tmp_path, "--max-total-epochs", 6, "--sampler", "random", "--pruner", "none", "--no-finalize")
    trials = trials_of(tmp_path / "tiny")
    epochs = [t.user_attrs["epochs_run"] for t in trials]
    assert set(states(trials)) == {"COMPLETE"}
    assert sum(epochs) >= 6 and sum(epochs[:-1]) < 6, epochs
    assert len(trials) == 3
    assert not (tmp_path / "tiny" / "report.json").exists()  # --no-finalize


def test_budget_timeout_stops_the_search(tmp_path):
    """--timeout 3 and no trial count: several trials, none started after the deadline, stops soon after it."""
    space = write_space(tmp_path)
    t0 = time.time()
    search(space, tmp_path, "--timeout", 3, "--sampler", "random", "--pruner", "none", "--no-finalize")
    wall = time.time() - t0
    trials = trials_of(tmp_path / "tiny")
    assert len(trials) >= 2 and set(states(trials)) == {"COMPLETE"}
    first = min(t.datetime_start.timestamp() for t in trials)  # the deadline is set just before this
    last_start = max(t.datetime_start.timestamp() for t in trials)
    last_end = max(t.datetime_complete.timestamp() for t in trials)
    longest = max(t.duration.total_seconds() for t in trials)
    assert last_start <= first + 3 + 0.5
    assert last_end <= first + 3 + longest + 1.0
    assert wall < 3 + 60, wall  # dataset loading and imports on a loaded machine, not more trials


def test_budget_trials_is_exact_with_one_worker(tmp_path):
    space = write_space(tmp_path)
    search(space, tmp_path, "--trials", 2, "--sampler", "random", "--pruner", "none", "--no-finalize")
    assert len(trials_of(tmp_path / "tiny")) == 2
    # resume with a larger total runs only the difference
    cli("resume", tmp_path / "tiny", "--trials", 3, "--no-finalize")
    assert states(trials_of(tmp_path / "tiny")) == ["COMPLETE"] * 3


# --- 3. seeds -------------------------------------------------------------------------------------------------

def test_same_seed_same_configs_other_seed_other_configs(tmp_path):
    space = write_space(tmp_path, search={"startup_trials": 2})  # trials 3-4 come from TPE's model

    def configs(seed: int, study: str) -> list[dict]:
        search(space, tmp_path, "--trials", 4, "--sampler", "tpe", "--pruner", "none", "--seed", seed,
               "--no-finalize", study=study)
        return [t.params for t in trials_of(tmp_path / study, study)]

    a, b, c = configs(7, "a"), configs(7, "b"), configs(8, "c")
    assert a == b
    assert a != c and a[0] != c[0]
    assert len({json.dumps(p, sort_keys=True) for p in a}) == 4


def test_the_default_tpe_models_from_the_fourth_trial(tmp_path):
    """The default `startup_trials` is 3 (benchmarks/startup_real.py): TPE's first 3 trials are its random
    startup, the very configs a RandomSampler with the same seed draws, and the 4th comes from its model. With
    Optuna's 10 the 4th would still be the random one."""
    space = write_space(tmp_path)  # no startup_trials in the space: the default

    def configs(sampler: str) -> list[dict]:
        search(space, tmp_path, "--trials", 4, "--sampler", sampler, "--pruner", "none", "--seed", 3,
               "--no-finalize", study=sampler)
        return [t.params for t in trials_of(tmp_path / sampler, sampler)]

    tpe, rnd = configs("tpe"), configs("random")
    assert tpe[:3] == rnd[:3]
    assert tpe[3] != rnd[3]


def test_the_default_pruner_halves_from_the_fifth_epoch(tmp_path):
    """The default pruner is successive halving with its first rung at epoch 5 (picked on the LCBench development
    tasks, checked by benchmarks/pruner_real.py): in a search whose space and command line name no pruner, every
    pruned trial stopped at a rung 5 * 3**k, some were pruned, and the run records the settings. Under the old
    default (Hyperband from epoch 3: rungs 3 and 9 here) trials stopped at epoch 3 or 9."""
    space = write_space(tmp_path, training={"max_epochs": 16, "patience": 0})
    search(space, tmp_path, "--trials", 10, "--sampler", "random", "--seed", 2, "--no-finalize", study="dflt")
    trials = real(trials_of(tmp_path / "dflt", "dflt"))
    pruned = [t.user_attrs["epochs_run"] for t in trials if t.state.name == "PRUNED"]
    assert pruned and set(pruned) <= {5, 15}, pruned
    assert all(t.user_attrs["epochs_run"] == 16 for t in trials if t.state.name == "COMPLETE")
    settings = json.loads((tmp_path / "dflt" / "manifest.json").read_text())["settings"]
    assert (settings["pruner"], settings["min_epochs"], settings["reduction_factor"]) == ("successive_halving", 5, 3)


# --- 4. worker processes --------------------------------------------------------------------------------------

def test_two_workers_share_the_sqlite_storage(tmp_path):
    space = slow_space(tmp_path, epochs=3)
    search(space, tmp_path, "--trials", 4, "--workers", 2, "--sampler", "random", "--pruner", "none",
           "--no-finalize", "--seed", 5, study="w2")
    trials = trials_of(tmp_path / "w2")
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) == len(trials)
    assert set(states(trials)) == {"COMPLETE"}
    # the budget is shared and exact: trial numbers are the storage's tickets; a worker that asked past the
    # budget gets a "surplus" trial that never trains and is no record
    assert len([t for t in trials if t.user_attrs.get("status") != "surplus"]) == 4
    assert all(t.user_attrs.get("epochs_run") is None for t in trials if t.user_attrs.get("status") == "surplus")
    from automl.store.results import load_trials
    from automl.store.run import load_run

    assert len(load_trials(load_run(tmp_path / "w2"))) == 4
    trials = [t for t in trials if t.user_attrs.get("status") != "surplus"]
    workers = {t.user_attrs["worker"] for t in trials}
    pids = {int(w.rpartition(":")[2]) for w in workers}
    assert len(pids) == 2 and os.getpid() not in pids, workers
    # the start barrier: both workers asked for their first trial together, once both had loaded torch and the data
    firsts = [min(t.datetime_start for t in trials if t.user_attrs["worker"] == w) for w in workers]
    assert abs((firsts[0] - firsts[1]).total_seconds()) < 2.0, firsts
    # each worker has its own sampler stream: no config is sampled twice
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == len(trials)
    assert json.loads((tmp_path / "w2" / "workers.json").read_text()) == []
    # the workers trained on the driver's arrays, handed over in one file that the search removed at its end
    assert not (tmp_path / "w2" / "search_data.pt").exists()


# --- 5. interrupt and resume ----------------------------------------------------------------------------------

def _stopped_output(proc: subprocess.Popen, timeout: float = 120) -> str:
    """The search's output once it has stopped; if it does not stop in time, fail with what it printed so far
    and the processes still alive under it (a hang must say where it is)."""
    try:
        return proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        tree = subprocess.run(["ps", "-o", "pid,ppid,stat,etime,args", "--ppid", str(proc.pid), "-p", str(proc.pid)],
                              capture_output=True, text=True).stdout
        proc.kill()
        out = proc.communicate()[0]
        raise AssertionError(f"the search did not stop within {timeout:.0f} s of the signal.\nprocesses:\n{tree}\n"
                             f"output:\n{out}") from None


def _start_and_wait_for_running(space: Path, res: Path, trials: int, *extra: str) -> tuple[subprocess.Popen, Path]:
    """Start a real `automl search` and return once a trial is COMPLETE and another one is mid-training."""
    proc = subprocess.Popen([AUTOML, "search", str(space), "--trials", str(trials), "--no-finalize", "--sampler",
                             "random", "--pruner", "none", "--seed", "3", "--results-dir", str(res), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            # as from a terminal: a CI runner may start us with SIGINT ignored, which the
                            # child would inherit and then never see Ctrl-C
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    run = res / space.stem
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"search ended before it could be interrupted:\n{proc.stdout.read()}")
        time.sleep(0.1)
        if not (run / "workers.json").exists():  # written as the search starts (its study may be in the making)
            continue
        try:
            trials = trials_of(run, space.stem)
        except Exception:  # the study is being created
            continue
        done = [t.duration.total_seconds() for t in trials if t.state.name == "COMPLETE"]
        now = time.time()
        # signal in the first half of a trial (judged by the finished ones), not as it ends
        running = [t for t in trials if t.state.name == "RUNNING" and 0.1 < now - t.datetime_start.timestamp() < min(done or [0]) / 2]
        if running:
            return proc, run
    proc.kill()
    raise AssertionError("no trial finished within 180 s")


def _check_resumed(run: Path, before: list, n: int, interrupted_reason: str) -> None:
    done_before = {t.number: (t.params, t.value) for t in before if t.state.name == "COMPLETE"}
    cli("resume", run, "--trials", n, "--no-finalize")
    after = trials_of(run)
    assert len(real(after)) == n
    assert not [t for t in after if t.state.name in ("RUNNING", "WAITING")]
    # the interrupted trial stays FAIL with its reason and was re-queued once with the same params
    interrupted = [t for t in after if t.user_attrs.get("status") == "interrupted"]
    assert len(interrupted) == 1 and interrupted[0].state.name == "FAIL"
    assert interrupted_reason in interrupted[0].user_attrs["reason"]
    copies = [t for t in after if t.user_attrs.get("requeued_from") is not None]
    assert len(copies) == 1 and copies[0].user_attrs["requeued_from"] == interrupted[0].number
    assert copies[0].params == interrupted[0].params and copies[0].state.name == "COMPLETE"
    # no completed trial lost or changed, none repeated
    kept = {t.number: (t.params, t.value) for t in after if t.number in done_before}
    assert kept == done_before
    complete = [json.dumps(t.params, sort_keys=True) for t in after if t.state.name == "COMPLETE"]
    assert len(complete) == len(set(complete)) == n


def test_ctrl_c_then_resume_completes_the_budget(tmp_path):
    space = slow_space(tmp_path)
    proc, run = _start_and_wait_for_running(space, tmp_path, 3)
    proc.send_signal(signal.SIGINT)
    out = _stopped_output(proc)
    assert proc.returncode == 130, out
    assert "Interrupted" in out and "automl resume" in out
    assert "Traceback" not in out, out
    before = trials_of(run)
    assert "COMPLETE" in states(before)
    fail = [t for t in before if t.state.name == "FAIL"]
    assert len(fail) == 1 and fail[0].user_attrs["status"] == "interrupted"
    assert "RUNNING" not in states(before)
    _check_resumed(run, before, 3, "Ctrl-C")


def test_kill_9_then_resume_requeues_the_running_trial(tmp_path):
    space = slow_space(tmp_path)
    proc, run = _start_and_wait_for_running(space, tmp_path, 3)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)  # reap it: a zombie's pid still answers kill(pid, 0)
    assert proc.returncode == -signal.SIGKILL
    before = trials_of(run)
    assert states(before).count("RUNNING") == 1 and "COMPLETE" in states(before)
    assert json.loads((run / "workers.json").read_text()) == [f"{socket.gethostname()}:{proc.pid}"]
    _check_resumed(run, before, 3, "worker process died")


def test_sigterm_stops_like_ctrl_c_and_resume_refuses_while_the_search_lives(tmp_path):
    """`kill PID` (SIGTERM): exit 143, the running trial recorded as interrupted and re-queued by resume,
    workers.json emptied. While the search still runs, `automl resume` refuses (exit 2) and names its pid."""
    space = slow_space(tmp_path)
    proc, run = _start_and_wait_for_running(space, tmp_path, 3)
    refused = cli("resume", run, "--trials", 3, "--no-finalize", code=2).output
    assert f"{socket.gethostname()}:{proc.pid}" in refused and "being searched right now" in refused
    proc.send_signal(signal.SIGTERM)
    out = _stopped_output(proc)
    assert proc.returncode == 143, out
    assert "Interrupted by SIGTERM" in out and "automl resume" in out and "Traceback" not in out, out
    assert json.loads((run / "workers.json").read_text()) == []
    before = trials_of(run)
    fail = [t for t in before if t.state.name == "FAIL"]
    assert len(fail) == 1 and fail[0].user_attrs["status"] == "interrupted", [t.user_attrs for t in before]
    assert "RUNNING" not in states(before) and "COMPLETE" in states(before)
    _check_resumed(run, before, 3, "SIGTERM")


def _pid_alive(pid: int) -> bool:
    """Running, not a zombie (an orphan's zombie waits for whatever reaps it: it trains nothing)."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        state = next(ln for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ln.startswith("State:"))
    except (OSError, StopIteration):
        return True
    return "Z" not in state.split()[1]


def test_workers_exit_when_their_parent_is_killed_9(tmp_path):
    """kill -9 of the driver of a 2-worker search: no worker goes on training without it; each records its
    running trial as interrupted (SIGTERM from the kernel), so nothing is left RUNNING."""
    space = slow_space(tmp_path)
    proc, run = _start_and_wait_for_running(space, tmp_path, 6, "--workers", "2")
    holders = json.loads((run / "workers.json").read_text())
    pids = [int(w.rpartition(":")[2]) for w in holders]
    assert pids[0] == proc.pid and len(pids) == 3, holders
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    deadline = time.time() + 60
    while any(_pid_alive(p) for p in pids[1:]) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(_pid_alive(p) for p in pids[1:]), "a worker outlived its parent"
    after = trials_of(run)
    seen = [(t.number, t.state.name, t.user_attrs.get("reason")) for t in after]
    interrupted = [t for t in after if t.user_attrs.get("status") == "interrupted"]
    assert interrupted and all("SIGTERM" in t.user_attrs["reason"] for t in interrupted), seen
    # a trial that had begun training was recorded; one cut while Optuna was still creating it (no worker
    # attr yet, nothing trained) stays RUNNING, and resume re-queues it as it does after any kill -9
    assert all("worker" not in t.user_attrs for t in after if t.state.name == "RUNNING"), seen
    assert (run / "search_data.pt").exists()  # the killed driver could not remove the workers' data file ...
    cli("resume", run, "--trials", 6, "--workers", 1, "--no-finalize")
    final = trials_of(run)
    assert len(real(final)) == 6 and not [t for t in final if t.state.name in ("RUNNING", "WAITING")]
    assert not (run / "search_data.pt").exists()  # ... the next session did, even with one worker


def test_sigterm_stops_a_two_worker_search_and_its_workers(tmp_path):
    """SIGTERM to the driver of a 2-worker search: exit 143, both workers gone, each running trial that had
    begun training recorded as interrupted, workers.json emptied."""
    space = slow_space(tmp_path)
    proc, run = _start_and_wait_for_running(space, tmp_path, 6, "--workers", "2")
    pids = [int(w.rpartition(":")[2]) for w in json.loads((run / "workers.json").read_text())]
    proc.send_signal(signal.SIGTERM)
    out = _stopped_output(proc)
    assert proc.returncode == 143, out
    assert "Interrupted by SIGTERM" in out and "Traceback" not in out, out
    assert not any(_pid_alive(p) for p in pids[1:]), "a worker outlived its search"
    assert json.loads((run / "workers.json").read_text()) == []
    after = trials_of(run)
    seen = [(t.number, t.state.name, t.user_attrs.get("reason")) for t in after]
    assert [t for t in after if t.user_attrs.get("status") == "interrupted"], seen
    assert all("worker" not in t.user_attrs for t in after if t.state.name == "RUNNING"), seen


def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace():
    """Stopping the workers (Ctrl-C, SIGTERM): one stuck in native code, deaf to SIGTERM, is killed once the grace
    period is over instead of leaving the search waiting on it."""
    from automl.backends.optuna.workers import WorkerProcess, _stop

    deaf = WorkerProcess.__new__(WorkerProcess)  # the real class around a process that ignores SIGTERM
    deaf._p = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
                                "signal.SIG_IGN); print('ready', flush=True); time.sleep(120)"],
                               stdout=subprocess.PIPE, text=True)
    assert deaf._p.stdout.readline().strip() == "ready"
    t0 = time.time()
    _stop([deaf], grace_s=1.0)
    assert not deaf.is_alive() and deaf.exitcode == -signal.SIGKILL and 1.0 <= time.time() - t0 < 15
    deaf._p.stdout.close()


_BARRIER_CHILD = ("import sys, time; from automl.backends.optuna.barrier import wait_for_siblings; "
                  "w = wait_for_siblings(sys.argv[1], int(sys.argv[2]), 2, wait_s=float(sys.argv[3])); "
                  "print(time.time(), w, flush=True)")


def _barrier_child(folder: Path, index: int, wait_s: float = 60) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _BARRIER_CHILD, str(folder), str(index), str(wait_s)],
                            stdout=subprocess.PIPE, text=True)


def _released(child: subprocess.Popen) -> tuple[float, float]:
    """(the time the child went, the seconds it waited)."""
    out = child.communicate(timeout=60)[0].split()
    return float(out[0]), float(out[1])


def _until_ready(folder: Path, n: int) -> None:
    from automl.backends.optuna.barrier import ready_count

    deadline = time.time() + 30
    while ready_count(folder) < n:
        assert time.time() < deadline, f"no worker became ready in {folder} within 30 s"
        time.sleep(0.02)


def test_the_start_barrier_holds_workers_until_all_are_ready_and_never_blocks_a_search(tmp_path):
    """Real processes: the early worker waits for the late one and both go within a moment of each other; a
    worker alone goes when the driver releases it (a sibling exited), when the folder goes away (the search
    ended) or when its wait runs out; a folder that is already gone holds nobody; a killed driver's folder is
    swept by the next session."""
    from automl.backends.optuna import barrier

    children: list[subprocess.Popen] = []
    try:
        children.append(early := _barrier_child(tmp_path, 0))
        _until_ready(tmp_path, 1)
        time.sleep(1.5)
        assert early.poll() is None, "the early worker went before its sibling was ready"
        t_late = time.time()
        children.append(late := _barrier_child(tmp_path, 1))
        (t0, w0), (t1, w1) = _released(early), _released(late)
        assert t0 >= t_late and w0 >= 1.5, (t0, t_late, w0)
        assert abs(t0 - t1) < 1.0 and w1 < 1.0, (t0, t1, w1)

        for name, let_go in (("released", barrier.release), ("removed", shutil.rmtree)):
            (folder := tmp_path / name).mkdir()
            children.append(alone := _barrier_child(folder, 0))
            _until_ready(folder, 1)
            time.sleep(0.5)
            assert alone.poll() is None, name
            let_go(folder)
            assert _released(alone)[1] < 30, name

        (tmp_path / "timed").mkdir()
        children.append(timed := _barrier_child(tmp_path / "timed", 0, wait_s=0.5))  # no sibling ever comes
        assert 0.5 <= _released(timed)[1] < 10
        assert barrier.wait_for_siblings(tmp_path / "gone", 0, 2, wait_s=30) == 0.0
    finally:
        for c in children:
            c.kill()
            c.communicate()

    # a driver killed by SIGKILL leaves its folder in the temp dir: the next session's sweep removes it
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = Path(tempfile.mkdtemp(prefix=f"{barrier.PREFIX}{dead.pid}-"))
    mine = barrier.make_folder()
    try:
        assert mine and Path(mine).name.startswith(f"{barrier.PREFIX}{os.getpid()}-") and Path(mine).is_dir()
        assert not left.exists()
    finally:
        shutil.rmtree(left, ignore_errors=True)
        shutil.rmtree(mine, ignore_errors=True)


def test_the_driver_releases_the_barrier_when_a_worker_exits_before_its_siblings_are_ready(tmp_path):
    """The driver's loop (`_drive`, the code a search runs): one worker exited at start-up while its sibling waits
    at the barrier; the driver writes `go` at once instead of leaving the sibling to wait out its 120 s."""
    from automl.backends.optuna import barrier
    from automl.backends.optuna.workers import OptunaBackend, WorkerProcess

    class Job:  # what `_drive` reads of a job
        class info:
            run_dir = tmp_path

        @staticmethod
        def finished(record):
            pass

    class Study:
        @staticmethod
        def get_trials(deepcopy=False, states=None):
            return []

    def proc(code: str) -> WorkerProcess:
        p = WorkerProcess.__new__(WorkerProcess)
        p._p = subprocess.Popen([sys.executable, "-c", code])
        return p

    folder = tmp_path / "start"
    folder.mkdir()
    waiting = proc(_BARRIER_CHILD.replace("sys.argv[1]", repr(str(folder))).replace("int(sys.argv[2])", "0")
                   .replace("float(sys.argv[3])", "120"))
    crashed = proc("import sys; sys.exit(3)")
    t0 = time.time()
    try:
        with pytest.raises(RuntimeError, match=r"exited with codes \[3\]"):
            OptunaBackend()._drive(Job, Study, [waiting, crashed], str(folder))
    finally:
        waiting.kill()
    assert (folder / barrier.GO).exists() and time.time() - t0 < 30


def test_live_holders_ignores_dead_and_reused_pids(tmp_path):
    from automl.store.run import live_holders, write_holders

    dead, zombie = subprocess.Popen([sys.executable, "-c", "pass"]), subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    deadline = time.time() + 30
    while _pid_alive(zombie.pid) and time.time() < deadline:  # exited, not reaped: a zombie
        time.sleep(0.05)
    write_holders(tmp_path, [os.getpid(), dead.pid, zombie.pid])
    assert live_holders(tmp_path) == [f"{socket.gethostname()}:{os.getpid()}"]
    zombie.wait()
    (tmp_path / "workers.json").write_text(json.dumps(["elsewhere:12", f"{socket.gethostname()}:{os.getpid()}"]))
    os.utime(tmp_path / "workers.json", (1e9, 1e9))  # written in 2001: this process started after it (reused pid)
    assert live_holders(tmp_path) == (["elsewhere:12"] if Path("/proc/self/stat").exists() else
                                      ["elsewhere:12", f"{socket.gethostname()}:{os.getpid()}"])


# --- 6. the sealed test split ---------------------------------------------------------------------------------

def test_test_split_read_once_per_finalize_and_never_by_the_search(tmp_path, monkeypatch):
    from automl.data.dataset import SealedSplit

    reads: list[str] = []
    original = SealedSplit.read

    def counting_read(self, purpose):  # a spy: counts, then reads for real
        reads.append(purpose)
        return original(self, purpose)

    monkeypatch.setattr(SealedSplit, "read", counting_read)
    space = write_space(tmp_path)
    search(space, tmp_path, "--trials", 3, "--sampler", "random", "--pruner", "none", "--no-finalize")
    assert reads == []  # sampling, training and validating 3 trials never touched the test split
    out = cli("finalize", tmp_path / "tiny", "--top-k", 2, "--seeds", 2).output
    assert reads == ["finalize"]
    rep = report_of(tmp_path / "tiny")
    assert rep["test_reads"] == 1 and "read 1 time" in out
    assert [c["n_seeds"] for c in rep["top_k"]] == [2, 2]
    assert all(len(c["runs"]) == 2 for c in rep["top_k"])
    # search + finalize in one command: one read as well
    reads.clear()
    search(space, tmp_path, "--trials", 3, "--sampler", "random", "--top-k", 2, "--seeds", 2, study="again")
    assert reads == ["finalize"] and report_of(tmp_path / "again")["test_reads"] == 1


# --- 10. failing trials ---------------------------------------------------------------------------------------

def test_failed_and_infeasible_trials_are_recorded_and_the_search_goes_on(tmp_path):
    """Grid over units {8, 4096} x lr {0.01, 100} with max_params 1000 and plain SGD on a linear-activation
    MLP: two infeasible trials, one that diverges to NaN (lr 100, every seed), one that completes; all four
    are recorded with their reasons and finalize still runs."""
    space = write_space(tmp_path, "faulty",
                        model={"max_params": 1000, "dense_blocks": {"units": {"choices": [8, 4096]}, "activation": "identity"}},
                        training={"optimizer": "sgd", "lr": {"choices": [0.01, 100.0]}})
    out = search(space, tmp_path, "--sampler", "grid", "--pruner", "none").output
    run = tmp_path / "faulty"
    by_point = {(t.params["model.dense_blocks.0.units"], t.params["training.lr"]): t for t in trials_of(run)}
    assert len(by_point) == 4
    for lr in (0.01, 100.0):
        t = by_point[(4096, lr)]
        assert t.state.name == "FAIL" and t.user_attrs["status"] == "infeasible"
        assert "exceed max_params" in t.user_attrs["reason"]
    nan = by_point[(8, 100.0)]
    assert nan.state.name == "FAIL" and nan.user_attrs["status"] == "failed"
    assert "non-finite" in nan.user_attrs["reason"]
    assert by_point[(8, 0.01)].state.name == "COMPLETE"
    assert report_of(run)["best"]["params"] == {"model.dense_blocks.0.units": 8, "training.lr": 0.01}
    assert "Traceback" not in out and "(non-finite" in out
    table = cli("trials", run).output
    assert table.count("FAIL") == 3 and "exceed max_params" in table and "non-finite loss" in table
    csv = tmp_path / "fail.csv"
    cli("trials", run, "--state", "fail", "--export", csv)
    import pandas as pd

    df = pd.read_csv(csv)
    assert sorted(df["state"]) == ["FAIL"] * 3
    assert df["reason"].str.contains("max_params").sum() == 2 and df["reason"].str.contains("non-finite").sum() == 1


# --- 9. Optuna's own tools read our storage -------------------------------------------------------------------

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("optuna_tools")
    space = write_space(tmp, "shared")
    search(space, tmp, "--trials", 3, "--sampler", "random", "--pruner", "none", "--no-finalize")
    return tmp / "shared"


def test_optuna_cli_lists_the_study(finished_run):
    out = subprocess.run([str(BIN / "optuna"), "studies", "--storage", storage_url(finished_run), "-f", "json"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    (row,) = json.loads(out)
    assert row["name"] == "shared" and row["n_trials"] == 3 and row["direction"] == ["MAXIMIZE"]
    assert row["user_attrs"]["automl"]["metric"] == "val_accuracy"
    table = subprocess.run([str(BIN / "optuna"), "studies", "--storage", storage_url(finished_run)],
                           capture_output=True, text=True, timeout=120, check=True).stdout
    header = [c.strip() for c in table.splitlines()[1].strip("|").split("|")]
    assert header[:3] == ["name", "direction", "n_trials"]
    assert [c.strip() for c in table.splitlines()[3].strip("|").split("|")][:3] == ["shared", "('MAXIMIZE',)", "3"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_optuna_dashboard_opens_the_storage(finished_run):
    pytest.importorskip("optuna_dashboard")
    port = _free_port()
    server = subprocess.Popen([str(BIN / "optuna-dashboard"), storage_url(finished_run), "--host", "127.0.0.1",
                               "--port", str(port), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/studies", timeout=5) as r:
                    studies = json.loads(r.read())["study_summaries"]
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise AssertionError(f"dashboard did not start: {server.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.3)
        (summary,) = studies
        assert summary["study_name"] == "shared" and summary["directions"] == ["maximize"]
        with urllib.request.urlopen(f"{base}/api/studies/{summary['study_id']}", timeout=30) as r:
            detail = json.loads(r.read())
        assert len(detail["trials"]) == 3 and {t["state"] for t in detail["trials"]} == {"Complete"}
        assert all("epochs_run" in {a["key"] for a in t["user_attrs"]} for t in detail["trials"])
    finally:
        server.terminate()
        server.wait(30)
    assert server.returncode is not None


def test_a_trial_created_past_the_trial_budget_never_runs_and_is_no_record(tmp_path):
    """Two workers asking at the same moment: the storage's trial numbers decide who is within the budget."""
    from automl.backends.optuna.objective import Objective, TrialError
    from automl.backends.optuna.settings import OptunaSettings
    from automl.backends.optuna.storage import surplus

    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", study_name="s")
    for _ in range(2):
        study.tell(study.ask(), 0.5)
    # a 2-trial budget already taken: the next trial is refused before the space or the data is read (the
    # space file does not even exist), and it stops the study
    objective = Objective(str(tmp_path / "no-space-needed.yaml"), OptunaSettings(trials=2))
    study.optimize(objective, n_trials=5, catch=(TrialError,))
    frozen = study.get_trials()
    assert [surplus(t) for t in frozen] == [False, False, True]
    assert frozen[2].state.name == "FAIL" and "epochs_run" not in frozen[2].user_attrs


def _open_at(url: str, start: float) -> str:
    from automl.backends.optuna.storage import open_storage

    time.sleep(max(0.0, start - time.time()))
    try:
        open_storage(url)
        return "ok"
    except Exception as e:
        return f"{type(e).__name__}: {e}"


def test_processes_opening_a_new_sqlite_storage_at_once_all_succeed(tmp_path):
    """A search creating its study.db while another process (`automl trials`, a test polling the run) opens it:
    they race on creating the tables and stamping the schema version ("UNIQUE constraint failed:
    alembic_version.version_num" stopped a search in CI); the loser opens the database again."""
    import concurrent.futures
    import multiprocessing

    with concurrent.futures.ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_open_at, [f"sqlite:///{tmp_path / 'warm.db'}"] * 4, [0.0] * 4))  # imports done
        for round_ in range(5):
            url = f"sqlite:///{tmp_path / f'race{round_}.db'}"
            got = list(pool.map(_open_at, [url] * 4, [time.time() + 0.5] * 4))
            assert got == ["ok"] * 4, got
