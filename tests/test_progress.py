"""What a search prints as it goes (automl.report.progress), for real: tiny searches on wine with SQLite in
tmp_path, a real Ctrl-C to a real `automl search` process, and the README against `automl --help`.

- the plan (budget, workers, sampler/pruner or searcher/scheduler) is printed before the data loads, for both
  backends; then the data's sizes and the run directory, on a line of its own;
- each trial line has the time elapsed and an ETA or the time left;
- resume sums up earlier trials in one line instead of printing them again, and counts this session only;
- interrupted trials are INTERRUPTED, not FAIL, and the Ctrl-C message names the run's real path;
- `automl trials` says how many rows it leaves out;
- the README's Commands table lists every command, and the dashboard extra is installable as documented.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from automl.cli.main import app
from automl.store.records import TrialRecord, counts, failure_summary
from tests.conftest import cli, pinned_to_one_core

REPO = Path(__file__).resolve().parents[1]
AUTOML = str(Path(sys.executable).parent / "automl")
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
TRIAL_LINE = re.compile(r"^trial +(\d+) (COMPLETE|PRUNED|FAIL|INTERRUPTED) ", re.MULTILINE)


@pytest.fixture(autouse=True, scope="module")
def one_core():
    """Pin this module (and what it starts) to one CPU: the machine is shared with other jobs."""
    with pinned_to_one_core():
        yield


def write_space(tmp: Path, name: str = "tiny", dataset: dict | None = None, training: dict | None = None) -> Path:
    import yaml

    doc = {
        "name": name,
        "dataset": dataset or {"name": "wine"},
        "objective": {"metric": "val_accuracy", "direction": "maximize"},
        "model": {"family": "mlp", "n_dense_blocks": 1,
                  "dense_blocks": {"units": {"low": 4, "high": 16}, "activation": "relu"}},
        "training": {"optimizer": "adam", "lr": {"low": 1e-3, "high": 1e-1, "log": True}, "batch_size": 32,
                     "max_epochs": 2, "patience": 5, **(training or {})},
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path




# --- the plan, before anything is loaded ------------------------------------------------------------------------

def test_the_plan_is_printed_before_the_data_loads(tmp_path):
    """The data file is missing: the search fails at loading (exit 2), after it said what it was about to do."""
    space = write_space(tmp_path, "nodata", dataset={"path": "missing.csv", "target": "y"})
    res = cli("search", space, "--trials", 7, "--sampler", "random", "--pruner", "median", "--results-dir", tmp_path,
              code=2)
    out = res.stdout
    assert "Search nodata (optuna): budget 7 trials; up to 2 epochs per trial" in out, res.output
    assert "1 worker (this process), sampler random, pruner median, device cpu, seed 0" in out, res.output
    assert "missing.csv" in res.stderr and not (tmp_path / "nodata").exists()


def test_the_ray_plan_is_printed_before_the_data_loads_and_before_ray_starts(tmp_path):
    pytest.importorskip("ray.tune", reason="ray is not installed")
    space = write_space(tmp_path, "nodata", dataset={"path": "missing.csv", "target": "y"})
    res = cli("search", space, "--backend", "ray", "--timeout", 90, "--max-concurrent", 2, "--scheduler", "median",
              "--searcher", "random", "--results-dir", tmp_path, code=2)
    out = res.stdout
    # a time budget only: Ray's stand-in trial count (10**6) is not shown as a budget
    assert "Search nodata (ray): budget 1m30s (90s); up to 2 epochs per trial" in out, res.output
    assert "a local Ray, 2 trials at once, 1 CPU per trial, searcher random, scheduler median" in out, res.output
    assert "1000000" not in out and "missing.csv" in res.stderr


# --- a search and its resume -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A 3-trial search with a time budget too, started from the results' parent folder, into a run path far
    longer than a terminal (CliRunner's console is 80 columns wide)."""
    tmp = tmp_path_factory.mktemp("progress")
    space = write_space(tmp)
    root = tmp / "r" / ("a_long_results_folder_" * 4)
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        res = cli("search", space, "--trials", 3, "--timeout", 600, "--sampler", "random", "--pruner", "none",
                  "--no-finalize", "--results-dir", root)
    finally:
        os.chdir(cwd)
    return tmp, root / "tiny", res.stdout


def test_the_plan_then_the_data_sizes_then_the_run_dir_come_first(searched):
    tmp, run, out = searched
    lines = out.splitlines()
    assert lines[0] == "Search tiny (optuna): budget 3 trials, 10m00s (600s); up to 2 epochs per trial", out
    assert lines[1].strip().startswith("1 worker (this process), sampler random, pruner none")
    # wine: 178 rows split 80/10/10, stratified
    assert lines[2] == "  data wine: 142 train / 18 validation / 18 test (sealed) rows, input (13,), 3 classes"
    rel = str(run.relative_to(tmp))
    assert len(rel) > 80 and lines[3] == f"  run dir: {rel}", out  # relative to the working folder, unwrapped
    assert TRIAL_LINE.match(lines[4]), out


def test_each_trial_line_has_the_elapsed_time_an_eta_and_the_time_left(searched):
    _, _, out = searched
    lines = [ln for ln in out.splitlines() if TRIAL_LINE.match(ln)]
    assert len(lines) == 3, out
    for i, line in enumerate(lines):
        m = re.search(r"\| elapsed (\d+)s, (ETA (\d+)s|last trial done), (\d+)m(\d\d)s left$", line)
        assert m, line
        assert (m.group(3) is None) == (i == 2), line  # an ETA until the last trial of the budget
        assert abs(600 - (int(m.group(4)) * 60 + int(m.group(5))) - int(m.group(1))) <= 1, line  # rounding
    done = [ln for ln in out.splitlines() if ln.startswith("Search finished")]
    assert len(done) == 1 and done[0].startswith("Search finished: 3 trials this session (3 complete, 0 pruned, 0 failed)")


def test_resume_sums_up_earlier_trials_and_counts_this_session_only(searched):
    _, run, _ = searched
    # two worker processes: their driver reads every finished trial of the storage, earlier ones included
    out = cli("resume", run, "--trials", 4, "--workers", 2, "--no-finalize").stdout
    assert "Resuming tiny (optuna): budget 4 trials in all" in out and "2 worker processes" in out, out
    assert re.search(r"^3 trials already done \(3 complete\); best val_accuracy [01]\.\d{4} \(#[0-2]\)$", out, re.M), out
    numbers = [int(n) for n, _ in TRIAL_LINE.findall(out)]
    assert numbers and min(numbers) >= 3, out  # none of the earlier trials printed again
    assert len(numbers) == 1, out  # the budget is exact: 3 done + 1, even when both workers ask at once
    assert f"Search finished: {len(numbers)} trials this session ({len(numbers)} complete," in out, out
    # nothing left to do: it says so, and reports neither old trials nor their time
    from automl.store.results import load_trials
    from automl.store.run import load_run

    total = len(load_trials(load_run(run)))
    out = cli("resume", run, "--trials", total, "--no-finalize").stdout
    assert f"{total} trials already done ({total} complete)" in out and not TRIAL_LINE.search(out), out
    assert (f"Search finished: 0 trials this session: the budget was already spent ({total} of {total} trials); "
            "give a larger --trials to go on") in out, out
    # a storage without the run's study: one clear line, no traceback (the earlier trials are read first now)
    res = cli("resume", run, "--storage", f"sqlite:///{run.parent / 'other.db'}", "--no-finalize", code=2)
    assert "Study 'tiny' is not in storage sqlite:///" in res.stderr, res.output


def test_trials_says_how_many_rows_it_leaves_out(searched):
    _, run, _ = searched
    out = cli("trials", run, "--top", 2).stdout
    assert out.count("COMPLETE") == 2 and re.search(r"showing the best 2 of ([4-9]) trials \(--top N or --all", out), out
    n = int(re.search(r"of (\d) trials", out).group(1))
    full = cli("trials", run, "--all").stdout
    assert full.count("COMPLETE") == n and "showing" not in full
    assert "showing" not in cli("trials", run, "--top", n).stdout


# --- Ctrl-C: interrupted trials and the message ------------------------------------------------------------------

def _wait_for_a_running_trial(run: Path, proc: subprocess.Popen, study: str) -> None:
    import optuna

    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"search ended before it could be interrupted:\n{proc.stdout.read()}")
        time.sleep(0.1)
        if not (run / "workers.json").exists():
            continue
        try:
            trials = optuna.load_study(study_name=study, storage=f"sqlite:///{run / 'study.db'}").get_trials()
        except Exception:  # the study is being created
            continue
        done = [t.duration.total_seconds() for t in trials if t.state.name == "COMPLETE"]
        now = time.time()
        if [t for t in trials if t.state.name == "RUNNING" and 0.1 < now - t.datetime_start.timestamp() < min(done or [0]) / 2]:
            return
    proc.kill()
    raise AssertionError("no trial finished within 180 s")


def test_ctrl_c_names_the_run_and_the_trial_is_interrupted_not_failed(tmp_path, monkeypatch):
    # about a second a trial: digits subsample, batch 8, 40 epochs, no early stopping (with it, three trials of 9-11
    # epochs ended in 4 s on an idle CI machine before the test could interrupt one)
    space = write_space(tmp_path, "slow", dataset={"name": "digits", "subsample": 600},
                        training={"batch_size": 8, "max_epochs": 40, "patience": 0})
    proc = subprocess.Popen([AUTOML, "search", str(space), "--trials", "3", "--no-finalize", "--sampler", "random",
                             "--pruner", "none", "--seed", "3", "--results-dir", "results"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    run = tmp_path / "results" / "slow"
    _wait_for_a_running_trial(run, proc, "slow")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    # the message names the run as typed from where the search ran, on a line of its own
    assert err.rstrip().endswith("Continue with:\n  automl resume results/slow"), err
    assert "RUN" not in err and "Traceback" not in err, err

    from automl.store.results import load_trials
    from automl.store.run import load_run

    records = load_trials(load_run(run))
    c = counts(records)
    assert c["INTERRUPTED"] == 1 and c["FAIL"] == 0 and c["COMPLETE"] >= 1, c
    assert "interrupted 1" in failure_summary(records) and "fail" not in failure_summary(records)
    monkeypatch.chdir(tmp_path)
    table = cli("trials", "results/slow").stdout
    assert table.count("INTERRUPTED") == 1 and "FAIL" not in table, table
    assert cli("trials", "results/slow", "--state", "interrupted").stdout.count("INTERRUPTED") == 1
    # resume: the earlier session is one line, its interrupted trial counted as such; it runs again
    n_done = c["COMPLETE"]
    out = cli("resume", "results/slow", "--trials", n_done + 1, "--no-finalize").stdout
    assert f"{n_done + 1} trials already done ({n_done} complete, 1 interrupted)" in out, out
    assert "Search finished: 1 trials this session (1 complete, 0 pruned, 0 failed)" in out, out


def test_the_interrupt_message_without_a_run_and_after_sigterm():
    from automl.backends.stop import Terminated
    from automl.cli.main import interrupted_message

    assert interrupted_message(KeyboardInterrupt()) == "\nInterrupted."  # nothing was created yet
    e = Terminated("SIGTERM")
    e.run_dir = Path.cwd() / "results" / "x"
    assert interrupted_message(e).startswith("\nInterrupted by SIGTERM.")
    assert interrupted_message(e).endswith("\n  automl resume results/x")


def test_eta_from_the_trial_rate_and_time_left_from_the_timeout():
    from automl.report.progress import ProgressPrinter, duration

    p = ProgressPrinter()
    p.trials, p.before = 10, 2  # resumed: 2 of 10 done before
    p.counts["COMPLETE"], p.counts["INTERRUPTED"] = 2, 1  # interrupted trials run again: not counted
    assert p.timing(40.0) == "elapsed 40s, ETA 2m00s"  # 6 left at 20 s each
    p.timeout = 100
    assert p.timing(40.0) == "elapsed 40s, 1m00s left"  # the time budget ends it before the 2m ETA: no ETA
    p.timeout = 200
    assert p.timing(40.0) == "elapsed 40s, ETA 2m00s, 2m40s left"
    p.trials, p.timeout = None, 100
    p.max_total_epochs, p.before_epochs, p.epochs = 30, 10, 5
    assert p.timing(10.0) == "elapsed 10s, ETA 30s, 1m30s left"  # 15 epochs left at 2 s each
    assert [duration(s) for s in (0, 59.4, 61, 3600 + 125)] == ["0s", "59s", "1m01s", "1h02m"]
    rec = TrialRecord(number=5, state="INTERRUPTED", value=None, params={}, reason="interrupted (Ctrl-C)")
    assert failure_summary([rec]) == "trials by state: interrupted 1"


# --- README and packaging --------------------------------------------------------------------------------------

def _readme_commands() -> set[str]:
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Commands", 1)[1].split("\n\n", 2)[1]
    # a pipe inside a table cell must be escaped (`a\|b`), or GitHub splits the cell there
    cells = [re.split(r"(?<!\\)\|", row)[1].replace("\\|", "|").strip() for row in table.splitlines()
             if row.startswith("| `automl")]
    names: set[str] = set()
    for cell in cells:
        words = cell.split("`")[1].split()  # `automl spaces list|show|validate` -> spaces, spaces list, ...
        if len(words) < 2 or words[1].startswith("-"):
            continue
        names.add(words[1])
        if len(words) > 2 and re.fullmatch(r"[a-z]+(\|[a-z]+)*", words[2]):
            names.update(f"{words[1]} {sub}" for sub in words[2].split("|"))
    return names


def test_the_readme_commands_table_lists_every_command():
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    wanted = set()
    for name in group.list_commands(ctx):
        wanted.add(name)
        sub = group.get_command(ctx, name)
        if hasattr(sub, "list_commands"):
            wanted.update(f"{name} {s}" for s in sub.list_commands(ctx))
    assert "report" in wanted and "spaces validate" in wanted
    missing = wanted - _readme_commands()
    assert not missing, f"README's Commands table lacks: {sorted(missing)}"


def test_the_dashboard_is_an_extra_and_the_readme_says_how_to_open_a_run():
    pyproject = (REPO / "pyproject.toml").read_text()
    extras = pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    assert re.search(r'^dashboard = \["optuna-dashboard>=[\d.]+"\]', extras, re.M), extras
    readme = (REPO / "README.md").read_text()
    assert "pip install -e '.[dashboard]'" in readme
    m = re.search(r"^optuna-dashboard (sqlite:///results/(\w+)/study\.db)", readme, re.M)
    assert m, "README: the command that opens a run's storage"
    # the same storage a run of that name keeps (created relative to where the user runs automl)
    from automl.store.run import default_storage

    assert default_storage(Path("results") / m.group(2)) == f"sqlite:///{Path.cwd() / 'results' / m.group(2) / 'study.db'}"
