"""benchmarks/mnist1d_compare.py: the budget cut and the counting of failed jobs (no training here; the harness's
re-training is exercised by running the script, see benchmarks/README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import mnist1d_compare as mc  # noqa: E402


def _t(n: int, value: float, finished: float, state: str = "COMPLETE") -> dict:
    return {"number": n, "state": state, "value": value, "params": {"p": n}, "seed": n, "finished": finished,
            "best_epoch": 3}


def test_only_trials_finished_within_the_budget_are_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    picked = []
    monkeypatch.setattr(mc, "_retest_automl", lambda t, ds, test: (picked.append(t["number"]) or t["value"], 0.9))
    job = {"method": "automl-default", "seed": 0, "budget_s": 100.0,
           "trials": [_t(0, 0.80, 40), _t(1, 0.95, 101), _t(2, 0.85, 99.5), _t(3, 0.99, 60, "PRUNED")]}
    mc.evaluate_job(job, None, None)
    assert picked == [2]  # 0.95 finished after the budget, 0.99 was pruned
    assert job["trials_in_budget"] == 2 and job["trials_after_budget"] == 1
    assert job["best"]["reproduced"] and job["best"]["test_accuracy"] == 0.9


def test_handwritten_trials_are_handed_over_at_their_best_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    monkeypatch.setattr(mc, "_retest_handwritten", lambda t, ds, test: (seen.append(t["best_epoch"]) or t["value"], 0.5))
    trial = {"number": 0, "state": "COMPLETE", "complete": True, "value": 0.7, "params": {}, "seed": 1,
             "finished": 5.0, "val_accs": [0.5, 0.9, 0.8, 0.9, 0.7]}
    job = {"method": "handwritten-optuna", "seed": 0, "budget_s": 10.0, "trials": [trial]}
    mc.evaluate_job(job, None, None)
    assert seen == [2] and job["best"]["value"] == 0.9  # the first epoch with the best validation accuracy


def test_errors_and_empty_jobs_are_counted_not_averaged() -> None:
    jobs = [{"method": "random", "seed": 0, "best": {"test_accuracy": 0.9, "value": 0.9, "reproduced": True}},
            {"method": "random", "seed": 1, "best": {"test_accuracy": 0.8, "value": 0.85, "reproduced": False}},
            {"method": "random", "seed": 2, "error": "crashed"},
            {"method": "automl-default", "seed": 0, "no_trial": True},
            {"method": "automl-default", "seed": 1, "best": {"test_accuracy": 0.7, "value": 0.7, "reproduced": True}}]
    c = mc.comparison(jobs, list(mc.SAME_SPACE), "w", 60.0, 3, "cmd")
    r, a = c["detail"]["random"], c["detail"]["automl-default"]
    assert r["mean"] == pytest.approx(0.85) and r["errors"] == 1 and r["not_reproduced"] == 1 and r["seeds"] == [0, 1]
    assert a["mean"] == pytest.approx(0.7) and a["no_trial"] == 1 and a["seeds"] == [1]
    assert c["best_method"] == "random" and c["automl_best"] is False
    assert "ray-asha" not in c["detail"]  # methods that did not run are not listed


def test_differences_are_paired_by_seed_with_a_t_interval() -> None:
    """Only seeds both methods measured are paired; the interval is mean +- t(0.975, n-1) * sd / sqrt(n)."""
    def job(m: str, seed: int, acc: float) -> dict:
        return {"method": m, "seed": seed, "best": {"test_accuracy": acc, "value": acc, "reproduced": True}}

    jobs = [job("automl-default", 0, 0.98), job("automl-default", 1, 0.99), job("automl-default", 2, 0.97),
            job("random", 0, 0.99), job("random", 1, 0.99), job("random", 2, 0.99), job("optuna-tpe", 1, 0.95),
            {"method": "optuna-tpe", "seed": 0, "error": "crashed"}]
    v = mc.comparison(jobs, list(mc.SAME_SPACE), "w", 60.0, 3, "cmd")["vs_automl"]
    assert set(v) == {"random", "optuna-tpe"}
    assert v["random"]["seeds"] == [0, 1, 2] and v["random"]["mean"] == pytest.approx(0.01)
    half = 4.302652729911275 * 0.01 / 3 ** 0.5  # diffs 0.01, 0.00, 0.02: sd 0.01
    assert v["random"]["ci95"] == pytest.approx([0.01 - half, 0.01 + half])
    assert v["optuna-tpe"]["seeds"] == [1] and v["optuna-tpe"]["ci95"] is None  # one pair: no interval
    assert "95% t interval" in mc.markdown({"command": "c", "date": "d", "commit": "0" * 12, "hardware": {
        "cores": 2, "cpu": "x", "load_average_at_start": [0]}, "jobs": [], "same_space": mc.comparison(
        jobs, list(mc.SAME_SPACE), "w", 60.0, 3, "cmd")})


def test_automl_alone_is_not_best() -> None:
    jobs = [{"method": "automl-default", "seed": 0, "best": {"test_accuracy": 0.9, "value": 0.9, "reproduced": True}}]
    assert mc.comparison(jobs, list(mc.SAME_SPACE), "w", 60.0, 1, "cmd")["automl_best"] is None


def test_jobs_on_disk_are_reused_not_run_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The full mode is run in parts: a job whose file exists (same method, seed and budget) is not launched again,
    and its evaluation is not redone (no second read of the test split for it)."""
    import automl.data as data

    launched, evaluated = [], []
    done = {"method": "random", "seed": 0, "budget_s": 60.0, "evaluated": "then", "commit": "abc",
            "best": {"test_accuracy": 0.9, "value": 0.9, "reproduced": True}}
    jobs_dir = tmp_path / "mnist1d_compare_jobs"  # the default, OUT/mnist1d_compare_jobs
    jobs_dir.mkdir()
    mc.job_path(jobs_dir, "random", 0, 60.0).write_text(__import__("json").dumps(done))

    def fake_launch(m, seed, budget_s, work):
        launched.append((m, seed))
        return {"method": m, "seed": seed, "budget_s": budget_s, "trials": []}

    class DS:
        test_reads = 0

        def read_test(self, who):
            self.test_reads += 1
            return None

    monkeypatch.setattr(mc, "launch", fake_launch)
    monkeypatch.setattr(mc, "evaluate_job", lambda j, ds, test: evaluated.append(j["method"]) or j.update(no_trial=True))
    monkeypatch.setattr(data, "load_dataset", lambda spec: DS())
    mc.main(["--minutes", "1", "--seeds", "1", "--methods", "random,automl-default", "--out", str(tmp_path),
             "--no-summary"])
    assert launched == [("automl-default", 0)] and evaluated == ["automl-default"]
    saved = __import__("json").loads(mc.job_path(jobs_dir, "automl-default", 0, 60.0).read_text())
    assert saved["evaluated"] and saved["no_trial"] and "load_average_at_start" in saved
    doc = __import__("json").loads((tmp_path / "mnist1d_compare.json").read_text())
    assert doc["jobs_reused"] == 1 and doc["test_reads"] == 1
    assert doc["same_space"]["detail"]["random"]["mean"] == pytest.approx(0.9)


def test_a_check_run_is_kept_beside_the_headline_and_replaced_by_label(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`--check LABEL` records the run's same-space comparison under mnist1d.same_space.checks (a rerun with the same
    label replaces it) and leaves the headline figures alone; without a headline there is nothing to check against."""
    import json

    import summary

    import automl.data as data

    def job(m: str, seed: int, acc: float) -> dict:
        return {"method": m, "seed": seed, "budget_s": 60.0, "evaluated": "then", "commit": "abc", "cpu": "AMD EPYC",
                "cores": 2, "best": {"test_accuracy": acc, "value": acc, "reproduced": True}}

    jobs_dir = tmp_path / "jobs"
    jobs_dir.mkdir()
    for j in (job("automl-default", 0, 0.98), job("tpe-median", 0, 0.99), job("automl-default", 1, 0.97),
              job("tpe-median", 1, 0.99)):
        mc.job_path(jobs_dir, j["method"], j["seed"], 60.0).write_text(json.dumps(j))
    monkeypatch.setattr(data, "load_dataset", lambda spec: type("DS", (), {"test_reads": 0})())
    path = tmp_path / "summary.json"
    argv = ["--minutes", "1", "--seeds", "2", "--methods", "automl-default,tpe-median", "--jobs-dir", str(jobs_dir),
            "--out", str(tmp_path / "check"), "--summary", str(path), "--check", "more seeds"]
    with pytest.raises(SystemExit, match="no headline"):
        mc.main(argv)
    headline = {"same_space": {"methods": {"automl-default": {"mean": 0.5, "std": 0.0}}, "automl_best": True}}
    summary.update("mnist1d", headline, path)
    mc.main(argv)
    mc.main(argv)  # the same label again: replaced, not added
    m = summary.load(path)["mnist1d"]
    assert m["same_space"]["methods"] == headline["same_space"]["methods"] and m["same_space"]["automl_best"] is True
    (c,) = m["same_space"]["checks"]
    assert c["label"] == "more seeds" and c["best_method"] == "tpe-median" and c["automl_best"] is False
    assert c["hardware"] == ["2-core AMD EPYC"] and c["vs_automl"]["tpe-median"]["mean"] == pytest.approx(0.015)
    assert "--check 'more seeds'" in c["command"] and c["job_commits"] == ["abc"] and c["source"].endswith("check/mnist1d_compare.md")


# --- benchmarks/mnist1d_select_replay.py: a shorter search replayed from a 10-minute job ---------------------------

def test_the_replay_keeps_the_trials_started_before_the_deadline_and_ends_with_the_last_of_them() -> None:
    import mnist1d_select_replay as rp

    trials = [{**_t(0, 0.8, 50), "started": 5}, {**_t(1, 0.9, 130), "started": 90},  # in flight at 100: finishes
              {**_t(2, 0.99, 140), "started": 101}, {**_t(3, 0.7, 60, "PRUNED"), "started": 55}]
    kept, end, unfinished = rp.truncate(trials, 100.0)
    assert [t["number"] for t in kept] == [0, 1, 3] and end == 130 and unfinished == []
    kept, end, unfinished = rp.truncate([*trials, {**_t(4, 0.5, None), "started": 95}], 100.0)
    assert unfinished == [4] and end == 130  # a trial that never finished: the replay reports it, cannot time it
    assert rp.truncate(trials, 1.0)[:2] == ([], None)


def test_the_replay_counts_a_search_plus_selection_past_the_budget_apart(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    import json
    import types

    import mnist1d_select_replay as rp

    import automl.finalize.select as sel

    def fake_choose(records, done, *a, **k):  # stands in for the CV training: its pick is the runner-up
        return types.SimpleNamespace(winner=done[-1], report={"evidence": {}})

    monkeypatch.setattr(sel, "choose_winner", fake_choose)
    monkeypatch.setattr(rp, "_retest_automl", lambda t, ds, test: (t["value"], 0.5 + t["number"] / 100))

    def job(seed: int, end: float) -> dict:
        return {"seed": seed, "budget_s": 100.0, "trials": [{**_t(0, 0.8, 9), "started": 1, "threads": 1},
                                                           {**_t(1, 0.9, end), "started": 5, "threads": 1}]}

    early = rp.replay(job(3, 10.0), 7.0, None, None)  # 10 s of search, then the data load and the selection
    assert early["trials_started_before_deadline"] == 2 and early["search_end_s"] == 10.0 and early["in_budget"]
    assert early["winner"]["number"] == 0 and early["best_by_val"]["number"] == 1  # the pick, then best by val
    assert early["winner"]["reproduced"] and early["winner"]["test_accuracy"] == 0.5
    assert early["total_s"] == pytest.approx(10.0 + early["selection_s"], abs=0.11)
    late = rp.replay(job(4, 99.99), 7.0, None, None)  # the selection cannot fit in 0.01 s
    assert late["in_budget"] is False and late["total_s"] >= 100.0  # rounded to 0.1 s
    # the table: a total past the budget is listed and left out of the selection's figures, not averaged in
    args = types.SimpleNamespace(out=tmp_path, search_s=7.0, budget_s=100.0, rival="tpe-median")
    for r, ten in ((early, 0.97), (late, 0.98)):
        r["ten_minute_best_by_val"] = ten
    rp.write(args, [early, late], {3: {"test_accuracy": 0.6}, 4: {"test_accuracy": 0.7}})
    doc = json.loads((tmp_path / "replay.json").read_text())
    assert doc["over_budget"] == [4] and doc["errors"] == [] and doc["not_reproduced"] == []
    assert doc["methods"]["automl search (7 s) + noise-aware selection"] == {"n": 1, "mean": 0.5, "std": None}
    assert doc["methods"]["automl search (600 s), best by validation"]["n"] == 2
    assert doc["paired"]["rival_minus_selection"] is None  # one seed in budget: no interval
    assert "| 4 |" in (tmp_path / "replay.md").read_text() and "Over budget (counted apart): [4]" in \
        (tmp_path / "replay.md").read_text()


def test_the_replay_pairs_by_seed_with_a_t_interval() -> None:
    import mnist1d_select_replay as rp

    p = rp.paired({1: 0.9, 2: 0.8, 3: 0.7}, {1: 0.8, 2: 0.8, 3: 0.8, 4: 0.1})
    assert p["seeds"] == [1, 2, 3] and p["diffs"] == pytest.approx([0.1, 0.0, -0.1]) and p["mean"] == pytest.approx(0)
    assert p["ci95"] == pytest.approx([-4.303 * 0.1 / 3 ** 0.5, 4.303 * 0.1 / 3 ** 0.5], abs=1e-4)  # t(0.975, 2)
    assert rp.paired({1: 0.9}, {1: 0.8}) is None
