"""Honest results: the persistent test ledger, search processes without test data, noise-aware selection,
baselines in every report, --refit-full without a contaminated validation figure, meaningful exit codes and
finalize reproducing a trial's whole learning curve.

Real searches on real (small) data through the real console script or the library; SQLite in tmp_path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
AUTOML = str(Path(sys.executable).parent / "automl")


def write_space(tmp: Path, name: str, dataset: dict | None = None, **over) -> Path:
    doc = {
        "name": name,
        "dataset": dataset or {"name": "wine", "split": {"train": 0.6, "val": 0.2, "test": 0.2, "seed": 0}},
        "model": {"family": "mlp", "n_dense_blocks": 1, "dense_blocks": {"units": {"low": 4, "high": 32}}},
        "training": {"optimizer": "adam", "lr": {"low": 1e-3, "high": 1e-1, "log": True}, "batch_size": 32,
                     "max_epochs": 3, "patience": 0},
    }
    doc.update(over)
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run_cli(*args, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([AUTOML, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


def report_of(run: Path) -> dict:
    return json.loads((run / "report.json").read_text())


# --- 1. the persistent test ledger ----------------------------------------------------------------------------

def test_ledger_counts_every_read_and_resume_only_rereads_after_new_training(tmp_path):
    space = write_space(tmp_path, "ledger")
    res = tmp_path / "res"
    r = run_cli("search", space, "--trials", 3, "--sampler", "random", "--pruner", "none", "--top-k", 2,
                "--seeds", 2, "--results-dir", res, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    run = res / "ledger"
    rep = report_of(run)
    assert rep["test_reads"] == 1 and rep["unbiased"] and rep["warning"] == ""
    entry = json.loads((run / "test_ledger.jsonl").read_text())
    assert entry["read"] == 1 and entry["purpose"] == "finalize" and entry["baselines"] == ["trivial", "linear"]
    assert [len(s["seeds"]) for s in entry["scored"]] == [2, 2] and entry["automl_version"]

    # a second finalize is refused (exit 2) and changes nothing
    before = (run / "report.json").read_bytes()
    again = run_cli("finalize", run, cwd=tmp_path)
    assert again.returncode == 2 and "already read its sealed test split 1 time" in again.stderr
    assert "Traceback" not in again.stderr and (run / "report.json").read_bytes() == before

    # resume that trains nothing new: no re-finalize, report.json byte-identical, no ledger line
    noop = run_cli("resume", run, cwd=tmp_path)
    assert noop.returncode == 0, noop.stderr
    assert "Nothing new was trained" in noop.stdout
    assert (run / "report.json").read_bytes() == before
    assert len((run / "test_ledger.jsonl").read_text().splitlines()) == 1

    # resume that trains new trials: finalizes as a new read, says so, keeps the earlier top-k/seeds options
    more = run_cli("resume", run, "--trials", 5, cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert "2 new trial(s) trained: finalizing again, as test read #2" in more.stdout
    rep = report_of(run)
    assert rep["test_reads"] == 2 and not rep["unbiased"] and "read 2 times" in rep["warning"]
    assert rep["finalize"]["top_k"] == 2 and rep["finalize"]["seeds"] == 2
    assert "NOT unbiased" in (run / "report.md").read_text()

    # --again: read 3, over the run's life (not per process)
    a3 = run_cli("finalize", run, "--again", cwd=tmp_path)
    assert a3.returncode == 0, a3.stderr
    assert report_of(run)["test_reads"] == 3 and "read 3 times over this run's life" in a3.stdout
    assert [e["read"] for e in map(json.loads, (run / "test_ledger.jsonl").read_text().splitlines())] == [1, 2, 3]


# --- 2. search processes never hold test data -------------------------------------------------------------------

@pytest.mark.parametrize("workers", [1, 2])
def test_no_search_process_holds_test_arrays(tmp_path, workers):
    from automl.data import load_dataset
    from automl.data.dataset import test_arrays_in_process

    # the audit can fail: a process that loaded the full dataset holds its test arrays
    full = load_dataset({"name": "wine"})
    assert full.holds_test_arrays and test_arrays_in_process() >= 1
    assert not full.for_search().holds_test_arrays and len(full.for_search()._test) == full.n_test
    with pytest.raises(RuntimeError, match="withheld"):
        full.for_search().read_test("a trial peeking")
    del full

    space = write_space(tmp_path, "sealed")
    r = run_cli("search", space, "--trials", 6, "--workers", workers, "--sampler", "random", "--pruner", "none",
                "--no-finalize", "--results-dir", tmp_path / "res", cwd=tmp_path,
                env={"AUTOML_AUDIT_TEST_ARRAYS": "1"})
    assert r.returncode == 0, r.stderr
    trials = optuna.load_study(study_name="sealed", storage=f"sqlite:///{tmp_path}/res/sealed/study.db").trials
    audits = [t.user_attrs["audit"] for t in trials]
    assert len(audits) == 6
    assert all(a["test_arrays_in_process"] == 0 and a["dataset_holds_test_arrays"] is False for a in audits), audits
    pids = {a["pid"] for a in audits}
    assert len(pids) == workers  # each worker process was audited (1 worker: the search process itself)
    # worker processes trained on the driver's arrays (automl.data.handoff) and never ran wine's loader
    assert all(a["sklearn_imported"] is (workers == 1) for a in audits), audits


# --- 3. noise-aware selection (wine, the tutorial's space, 27-row validation) ------------------------------------

@pytest.mark.timeout(1800)  # five real searches, two at a time (one CPU each): 44 s alone on a 2-core AMD EPYC
def test_noise_aware_winner_beats_the_trial_number_tie_break_on_wine():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import selection_wine
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    res = selection_wine.main(["--seeds", "0", "1", "2", "3", "4", "--jobs", "2"])
    rows = res["rows"]
    assert all(r["n_val"] == 27 for r in rows)
    assert res["noise_mean"] > res["tiebreak_mean"], res["markdown"]
    assert any(r["noise_winner"] != r["tiebreak_winner"] for r in rows)
    assert all("cross-validation" in (r["why"] or "") for r in rows if r["noise_winner"] != r["tiebreak_winner"])


def test_selection_report_lists_candidates_and_can_be_switched_off(tmp_path):
    from automl.backends.prepare import start_search
    from automl.finalize import finalize_run
    from automl.finalize.select import binomial_se

    assert binomial_se(1.0, 27) > 0.03 and binomial_se(0.5, 10_000) < 0.006
    info = start_search(ROOT / "examples" / "wine_tutorial.yaml", study="sel", root=tmp_path, trials=12, seed=0,
                        workers=1, threads=1)
    rep = finalize_run(info).data
    sel = rep["selection"]
    assert sel["method"] == "noise-aware" and sel["noise"]["n_val"] == 27 and sel["noise"]["se"] > 0
    scored = [c for c in sel["candidates"] if "cv_mean" in c]
    assert len(scored) >= 2 and all(len(c["cv_scores"]) == sel["evidence"]["folds"] for c in scored)
    assert rep["best"]["trial"] == scored[0]["trial"]  # the winner has the best cross-validated mean
    md = (tmp_path / "sel" / "report.md").read_text()
    assert "Selection beyond validation noise" in md and f"(time budget {sel['evidence']['budget_seconds']:.1f} s)" in md
    from automl.report import write_report

    html = write_report(info).html.read_text()
    assert 'id="selection"' in html and f"s of a {sel['evidence']['budget_seconds']} s budget" in html
    off = finalize_run(info, again=True, select=False).data
    assert off["selection"]["method"] == "best validation value"
    assert off["best"]["trial"] == off["selection"]["search_best"]


def test_selection_uses_three_folds_when_two_candidates_at_five_would_not_fit_its_budget(tmp_path):
    """The budget is about a quarter of the search's training time; two candidates are the least that is a choice.
    When two at 5 folds would cost more (long trials, a short search: MNIST-1D's 300 s searches spent 176-374 s
    selecting against budgets of 146-156 s), 3 folds are used; a fold count the user set is kept, and a clear
    winner (one trial within the noise) is not re-scored at all."""
    import dataclasses

    from automl.backends.prepare import load_trials, start_search
    from automl.data import load_dataset
    from automl.finalize.select import SelectionSettings, choose_winner
    from automl.space import load_space
    from automl.store.records import ranked

    info = start_search(ROOT / "examples" / "wine_tutorial.yaml", study="folds", root=tmp_path, trials=12, seed=0,
                        workers=1, threads=1)
    space = load_space(info.space_path)
    data = load_dataset(space.dataset, base_dir=space.base_dir).for_search()
    records = load_trials(info)

    def select(seconds: float, **kw):
        recs = [dataclasses.replace(r, seconds=seconds) for r in records]
        return choose_winner(recs, ranked(recs, "maximize"), data, metric="val_accuracy", direction="maximize",
                             space=space.space, settings=SelectionSettings(**kw), seed=0, device="cpu",
                             precision="fp32").report

    # 12 trials of 100 s: a 300 s budget; two candidates at 5 folds cost 2 x 100 s x 5 x 0.8 x n_tv/n_train > 300 s
    tight = select(100.0)
    assert tight["noise"]["n_within"] >= 2, tight  # wine's 27 validation rows: many trials tie at the top
    ev = tight["evidence"]
    assert ev["folds"] == 3 and ev["folds_reduced_from"] == 5 and "rather than 5 folds" in ev["kind"]
    scored = [c for c in tight["candidates"] if "cv_mean" in c]
    assert len(scored) == 2 and all(len(c["cv_scores"]) == 3 for c in scored)
    assert ev["estimated_seconds"] > ev["budget_seconds"] == 300.0  # over it still, and the report says by how much
    # the user's fold count is kept; short trials (the 60 s floor of the budget) keep the default 5
    assert select(100.0, folds=5)["evidence"]["folds"] == 5
    roomy = select(0.5)["evidence"]
    assert roomy["folds"] == 5 and "folds_reduced_from" not in roomy and roomy["budget_seconds"] == 60.0
    # one trial clear of the rest: nothing to choose, so no fold count is cut (and nothing is trained)
    best = ranked(records, "maximize")[0]
    clear = [dataclasses.replace(r, seconds=100.0, value=1.0 if r.number == best.number else 0.5) for r in records]
    one = choose_winner(clear, ranked(clear, "maximize"), data, metric="val_accuracy", direction="maximize",
                        space=space.space, settings=SelectionSettings(), seed=0, device="cpu", precision="fp32").report
    assert one["noise"]["n_within"] == 1 and one["evidence"]["folds"] == 5 and "folds_reduced_from" not in one["evidence"]
    assert one["evidence"]["candidates_scored"] == 0 and "clear winner" in one["why"]


# --- 4. baselines in every report --------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset,metric,task", [
    ("digits", "val_accuracy", "multiclass"), ("wine", "val_accuracy", "multiclass"),
    ("breast_cancer", "val_auroc", "binary"), ("diabetes", "val_r2", "regression"),
])
def test_reports_show_trivial_and_linear_baselines(tmp_path, dataset, metric, task):
    from automl.backends.prepare import start_search
    from automl.finalize import finalize_run

    space = write_space(tmp_path, dataset, dataset={"name": dataset}, objective={"metric": metric})
    info = start_search(space, root=tmp_path, trials=2, sampler="random", pruner="none", workers=1, threads=1)
    rep = finalize_run(info).data
    assert rep["data"]["task"] == task
    names = [b["name"] for b in rep["baselines"]]
    assert names == ["trivial", "linear"]
    key = metric.removeprefix("val_")
    for b in rep["baselines"]:
        assert b["val_metrics"][metric] is not None and b["test_metrics"][key] is not None
    trivial, linear = rep["baselines"]
    if task == "regression":
        assert trivial["test_metrics"]["r2"] <= 0.0 < linear["test_metrics"]["r2"]
        assert "rmse_original_units" in linear["test_metrics"]
        best = rep["best"]  # the searched model: validation in the target's units too, written by finalize
        std = rep["data"]["info"]["target_standardization"]["std"][0]
        assert best["val_metrics"]["val_rmse_original_units"] == pytest.approx(best["val_metrics"]["val_rmse"] * std)
    elif task == "binary":
        assert trivial["test_metrics"]["auroc"] == pytest.approx(0.5) and linear["test_metrics"]["auroc"] > 0.9
    else:
        assert trivial["test_metrics"]["accuracy"] < 0.5 < linear["test_metrics"]["accuracy"]
    md = (tmp_path / info.study / "report.md").read_text()
    assert "baseline: trivial" in md and "baseline: linear" in md
    assert json.loads((tmp_path / info.study / "test_ledger.jsonl").read_text())["baselines"] == names
    if dataset == "wine":  # the HTML report shows them too
        from automl.report import write_report

        html = write_report(info).html.read_text()
        assert 'id="baselines"' in html and "logistic regression" in html


# --- 5. --refit-full: no train-contaminated validation figure ---------------------------------------------------

def test_refit_full_reports_no_validation_figure(tmp_path):
    space = write_space(tmp_path, "refit")
    r = run_cli("search", space, "--trials", 2, "--sampler", "random", "--pruner", "none", "--refit-full",
                "--results-dir", tmp_path / "res", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rep = report_of(tmp_path / "res" / "refit")
    b = rep["best"]
    assert rep["finalize"]["fit_on"] == "train+val"
    assert b["val_value"] is None and b["val_metrics"] == {} and b["val_test_gap"] is None
    assert "refit-full" in b["val_note"] and b["test_metrics"]["accuracy"] is not None
    assert all(run["val_metrics"] == {} for c in rep["top_k"] for run in c["runs"])
    assert "n/a (trained on it, --refit-full)" in r.stdout
    assert "no validation figure is honest" in (tmp_path / "res" / "refit" / "report.md").read_text()


# --- 6. exit codes ------------------------------------------------------------------------------------------------

def test_a_search_whose_every_trial_failed_exits_1_with_the_reasons_counted(tmp_path):
    # mse on a multiclass task raises inside every trial: not bad input of the file, a failed run
    space = write_space(tmp_path, "allfail", training={"optimizer": "adam", "lr": 0.01, "batch_size": 32,
                                                       "max_epochs": 1, "loss": "mse"})
    r = run_cli("search", space, "--trials", 3, "--sampler", "random", "--results-dir", tmp_path / "res",
                cwd=tmp_path)
    if r.returncode == 2:  # the validator may refuse the loss/task pair up front: then it is bad input
        assert "loss" in r.stderr and "Traceback" not in r.stderr
        space = write_space(tmp_path, "allfail", training={"optimizer": "sgd", "lr": 1.0e6, "batch_size": 32,
                                                           "max_epochs": 2})
        r = run_cli("search", space, "--trials", 3, "--sampler", "random", "--pruner", "none", "--results-dir",
                    tmp_path / "res2", cwd=tmp_path)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "No trial of" in r.stderr and "failure reasons: 3x" in r.stderr and "Traceback" not in r.stderr
    assert not list(tmp_path.glob("res*/allfail/report.json"))


# --- 7. finalize reproduces the trial: the whole per-epoch history, not one accuracy ------------------------------

def test_finalize_reproduces_the_trials_whole_learning_curve(tmp_path):
    from automl.backends.prepare import start_search
    from automl.finalize import finalize_run
    from automl.store.results import load_trials

    space = write_space(tmp_path, "repro", training={"optimizer": "adam", "lr": {"low": 1e-3, "high": 1e-1, "log": True},
                                                     "batch_size": 16, "max_epochs": 8, "patience": 0})
    info = start_search(space, root=tmp_path, trials=3, sampler="random", pruner="none", workers=2, seed=3)
    rep = finalize_run(info, select=False).data
    rec = next(r for r in load_trials(info) if r.number == rep["best"]["trial"])
    history = rep["best"]["runs"][0]["history"]
    assert rep["best"]["runs"][0]["seed"] == rec.seed and len(history) == len(rec.history) == 8
    for mine, theirs in zip(history, rec.history, strict=True):
        assert set(mine) == set(theirs)
        for k in mine:  # same seed + same thread count: the same floats, epoch by epoch
            assert mine[k] == theirs[k], (k, mine, theirs)


def test_no_ray_trial_or_driver_holds_test_arrays(tmp_path, monkeypatch):
    """The Ray backend: the driver keeps only the search form of the data, and each trial (in Ray's worker
    processes) records that its process holds no test arrays."""
    monkeypatch.setenv("AUTOML_AUDIT_TEST_ARRAYS", "1")  # inherited by the local Ray's worker processes
    space = write_space(tmp_path, "sealed_ray")
    r = run_cli("search", space, "--backend", "ray", "--scheduler", "fifo", "--trials", 3, "--max-concurrent", 1, "--no-finalize",
                "--results-dir", tmp_path / "res", cwd=tmp_path, env={"AUTOML_AUDIT_TEST_ARRAYS": "1"})
    assert r.returncode == 0, r.stderr
    entries = [json.loads(line) for line in (tmp_path / "res" / "sealed_ray" / "ray_trials.jsonl").read_text().splitlines()]
    audits = [e["final_row"]["audit"] for e in entries]
    assert len(audits) == 3
    assert all(a["test_arrays_in_process"] == 0 and a["dataset_holds_test_arrays"] is False for a in audits), audits
    assert os.getpid() not in {a["pid"] for a in audits}  # measured in the trial processes, not here
