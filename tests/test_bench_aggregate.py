"""The search-efficiency ratio of benchmarks/run.py: first reach against first reach, at an equal budget.

An audit found the old ratio (random's total epochs / automl's first reach) scored identical runs above 1x.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        yield importlib.import_module("run")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def _run(seed: int, accs: list[float], epochs: int = 10, budget: int = 40, stopped_by: str = "epochs") -> dict:
    traj, cum, best = [], 0, None
    for i, a in enumerate(accs):
        cum += epochs
        best = a if best is None or a > best else best
        traj.append({"trial": i, "cum_epochs": cum, "incumbent_test_acc": best})
    final = {"best_val": best, "incumbent_test_acc": best}
    return {"seed": seed, "trajectory": traj, "epochs_used": cum, "budget_epochs": budget, "stopped_by": stopped_by,
            "n_trials": len(accs), "search_wall_s": 1.0, "final": final}


def _runs(per_method: dict[str, list[dict]]) -> dict[str, dict[int, dict]]:
    runs = {m: {r["seed"]: r for r in rs} for m, rs in per_method.items()}
    for m in ("handwritten_optuna", "handwritten_ray"):
        runs.setdefault(m, {r["seed"]: r for r in per_method["random"]})
    return runs


def test_identical_runs_score_exactly_one(bench):
    same = [_run(0, [0.5, 0.8, 0.7, 0.6])]
    agg = bench.aggregate_search(_runs({"random": same, "automl": same}), [0])
    assert agg["headline"]["automl"]["ratio_per_seed"] == [1.0]


def test_first_reach_against_first_reach(bench):
    rnd = _run(0, [0.5, 0.6, 0.8, 0.7])          # random reaches its final 0.8 after 30 epochs
    aut = _run(0, [0.9, 0.6, 0.6, 0.6])          # automl reaches 0.8 after 10
    agg = bench.aggregate_search(_runs({"random": [rnd], "automl": [aut]}), [0])
    assert agg["per_seed"]["0"]["random_epochs_to_reach"] == 30
    assert agg["headline"]["automl"]["ratio_per_seed"] == [3.0]


def test_a_trial_past_the_budget_does_not_count(bench):
    rnd = _run(0, [0.5, 0.6, 0.8, 0.7])
    aut = _run(0, [0.1, 0.1, 0.1, 0.1, 0.99])    # its only good trial ends at 50 epochs, over the 40 budget
    agg = bench.aggregate_search(_runs({"random": [rnd], "automl": [aut]}), [0])
    assert agg["headline"]["automl"]["ratio_per_seed"] == [None]
    assert agg["per_seed"]["0"]["automl"]["test_acc_at_budget"] == 0.1


def test_seeds_cut_short_are_left_out_and_counted_and_errors_count(bench):
    runs = _runs({"random": [_run(0, [0.5, 0.8]), _run(1, [0.5, 0.8], stopped_by="timeout"), _run(2, [0.5, 0.8])],
                  "automl": [_run(0, [0.8, 0.5]), _run(1, [0.8, 0.5])]})
    runs["automl"][2] = {"seed": 2, "error": "RuntimeError: boom"}
    agg = bench.aggregate_search(runs, [0, 1, 2])
    h = agg["headline"]["automl"]
    assert "excluded" in agg["per_seed"]["1"]
    assert h["seeds_excluded"] == 1 and h["seeds"] == 2 and h["seeds_errors"] == 1
    assert h["ratio_per_seed"] == [2.0, None]
