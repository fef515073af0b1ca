"""The LCBench surrogate suite (benchmarks/surrogate.py): the surrogate reader reproduces yahpo_gym's numbers,
the speed-up metric scores identical runs exactly 1x, and the quick mode writes every key the summary promises.

Needs onnxruntime (the `test` extra) and the YAHPO data in ../shared/data/yahpo (CI has ../shared beside the
clone): under CI=true a missing one fails instead of skipping."""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import in_ci

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "yahpo"

pytest.importorskip("onnxruntime", reason="onnxruntime is needed to run the LCBench surrogate (onnx)")
if not (DATA / "lcbench" / "model.onnx").is_file():
    if in_ci():
        raise RuntimeError(f"CI=true: the YAHPO LCBench data is missing at {DATA} (expected ../shared/data/yahpo)")
    pytest.skip(f"the YAHPO LCBench data is not at {DATA}", allow_module_level=True)

sys.path.insert(0, str(ROOT / "benchmarks"))
import surrogate  # noqa: E402
import surrogate_lcbench  # noqa: E402
import surrogate_strategies  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))

# dehb 0.1.2 calls ConfigSpace 1.x's deprecated accessors on every step
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def bench() -> surrogate_lcbench.LCBench:
    return surrogate_lcbench.LCBench(DATA)


def test_reader_matches_yahpo_gym(bench: surrogate_lcbench.LCBench) -> None:
    """Numbers printed by yahpo_gym 1.0.2's own BenchmarkSet('lcbench').objective_function (18 rows, 3 tasks,
    epochs 1/17/52), against our onnxruntime reader: batched and as a learning curve."""
    ref = json.loads((ROOT / "tests" / "data" / "yahpo_lcbench_reference.json").read_text())
    rows = ref["rows"]
    got = bench.predict([r["config"] for r in rows])
    want = np.array([[r["y"][k] for k in surrogate_lcbench.Y_NAMES] for r in rows])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    for r in rows:
        c = bench.curve(r["config"]["OpenML_task_id"], r["config"])
        e = r["config"]["epoch"]
        assert c["val_error"][e - 1] == pytest.approx(100 - r["y"]["val_accuracy"], abs=1e-3)
        assert c["test_error"][e - 1] == pytest.approx(100 * (1 - r["y"]["test_balanced_accuracy"]), abs=1e-3)


def test_speedup_metric_on_hand_made_curves() -> None:
    """E_random / E_strategy, with a never-reached target counted at the whole budget."""
    budget = 200
    runs = {
        ("random", "t", 0): {"curve": [[1, 9.0, 1.0], [100, 5.0, 50.0]], "final": 5.0, "seconds": 99.0},
        ("fast", "t", 0): {"curve": [[1, 7.0, 1.0], [10, 4.0, 5.0]], "final": 4.0, "seconds": 80.0},
        ("never", "t", 0): {"curve": [[1, 6.0, 1.0]], "final": 6.0, "seconds": 70.0},
    }
    assert surrogate.speedups(runs, "fast", "t", [0], budget) == ([10.0], [10.0], 1)
    assert surrogate.speedups(runs, "never", "t", [0], budget) == ([0.5], [50.0 / 70.0], 0)
    assert surrogate.speedups(runs, "random", "t", [0], budget) == ([1.0], [1.0], 1)


def test_random_against_itself_is_exactly_one(bench: surrogate_lcbench.LCBench) -> None:
    """Two separate runs of random search with the same seed: every seed's speed-up is exactly 1.0 (a metric
    that scores identical runs above 1x measures the budget, not the strategy), and so is the median."""
    budget, tasks, seeds = 3 * 52, ["3945", "189909"], [0, 1, 2]
    runs = {}
    for name in ("random", "random-again"):
        for t in tasks:
            for s in seeds:
                tr = surrogate_strategies.run_strategy("random", bench, t, budget, s)
                curve = surrogate.steps(tr)
                runs[(name, t, s)] = {"curve": curve, "final": curve[-1][1], "seconds": float(tr.seconds[-1]),
                                      "test_error": tr.inc_test, "trials": tr.trials, "wall": 0.0}
    for t in tasks:
        ep, sec, reached = surrogate.speedups(runs, "random-again", t, seeds, budget)
        assert ep == [1.0] * len(seeds) and sec == [1.0] * len(seeds) and reached == len(seeds)
    agg = surrogate.aggregate(runs, ["random", "random-again"], tasks, budget)
    assert agg["strategies"]["random-again"]["speedup_median_all"] == 1.0


def test_every_strategy_spends_exactly_the_budget_and_repeats(bench: surrogate_lcbench.LCBench) -> None:
    """Each strategy uses the whole budget, no more, and a second run with the same seed is identical (the
    committed figures were assembled from runs at several commits with --reuse; that is only sound if a run
    repeats; an unnamed Optuna study once made Hyperband's bracket assignment random)."""
    names = [n for n in surrogate_strategies.STRATEGIES if n != "dehb" or surrogate.importlib.util.find_spec("dehb")]
    for name in names:
        tr = surrogate_strategies.run_strategy(name, bench, "3945", 80, 1)
        assert tr.spent == 80 and math.isfinite(tr.inc) and tr.trials >= 2, name
        assert np.all(np.diff(tr.best) <= 0) and np.all(np.diff(tr.seconds) >= 0), name
        again = surrogate_strategies.run_strategy(name, bench, "3945", 80, 1)
        assert surrogate.steps(again) == surrogate.steps(tr), name


def test_quick_mode_writes_the_summary_keys(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"other": {"kept": True}}))
    res = surrogate.main(["--quick", "--data-dir", str(DATA), "--out", str(tmp_path), "--summary", str(summary)])
    assert res["config"]["seeds"] == 3 and res["config"]["tasks"] == ["3945", "189909"]
    assert set(res["aggregate"]["strategies"]) >= {"random", "automl-default", "optuna-tpe", "ray-asha", "bohb"}
    assert res["aggregate"]["strategies"]["random"]["speedup_median_all"] == 1.0
    data = json.loads((tmp_path / "surrogate.json").read_text())
    with gzip.open(tmp_path / "surrogate.runs.json.gz", "rt") as f:
        runs = json.load(f)
    assert len(runs) == 2 * 3 * len(data["aggregate"]["strategies"])
    assert all(r["curve"][-1][0] <= 4 * 52 and r["final"] == r["curve"][-1][1] for r in runs)
    assert data["aggregate"]["strategies"]["automl-default"]["rank_all"] >= 1
    assert "| automl-default |" in (tmp_path / "surrogate.md").read_text()
    s = json.loads(summary.read_text())
    assert s["other"] == {"kept": True}
    sur = s["surrogate"]
    for key in ("speedup_vs_random_median", "rank_of_default", "heldout_speedup_vs_random_median",
                "dev_speedup_vs_random_median", "commit", "hardware", "date"):
        assert key in sur, key
    assert isinstance(sur["rank_of_default"], int) and 1 <= sur["rank_of_default"] <= sur["strategies_ranked"]
    assert sur["speedup_vs_random_median"] > 0 and sur["hardware"]["cores"] >= 1



def test_budget_study_reuses_the_suite_runs_and_one_regret_reference(tmp_path: Path,
                                                                     bench: surrogate_lcbench.LCBench) -> None:
    """benchmarks/surrogate_budget.py: its runs at each budget are the suite's runs (same function, same seeds),
    random scores exactly 1x at every budget, regret is measured against one reference per task over all budgets
    (so a larger budget's regret can only be lower or equal for the same seed's best), --seeds-at applies, and
    the summary key is written beside the other keys."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import surrogate_budget
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"other": {"kept": True}}))
    res = surrogate_budget.main(["--data-dir", str(DATA), "--budgets", "2,4", "--seeds", "2", "--seeds-at", "4=1",
                                 "--tasks", "3945,189909", "--strategies", "random,automl-default",
                                 "--random-reference", "6", "--processes", "1", "--out", str(tmp_path),
                                 "--summary", str(summary)])
    with gzip.open(tmp_path / "surrogate_budget.runs.json.gz", "rt") as f:
        runs = json.load(f)
    long = {(r["task"], r["seed"]): r for r in runs if r["budget_trainings"] == 6}
    runs = [r for r in runs if r["budget_trainings"] != 6]
    assert len(runs) == 2 * 2 * 2 + 1 * 2 * 2  # budget 2: 2 seeds; budget 4: 1 seed (--seeds-at)
    assert set(long) == {(t, s) for t in ("3945", "189909") for s in (0, 1)}  # one long random run per seed index
    for r in runs:  # random search at a smaller budget is a prefix of the long run: the matched speed-up's basis
        if r["strategy"] == "random":
            assert long[(r["task"], r["seed"])]["curve"][:len(r["curve"])] == r["curve"]
    for r in runs[:3]:
        tr = surrogate_strategies.run_strategy(r["strategy"], bench, r["task"], r["budget_trainings"] * 52, r["seed"])
        assert surrogate.steps(tr) == r["curve"]
    ref = res["summary"]["reference_val_error"]
    assert ref == {t: min(r["final"] for r in runs if r["task"] == t) for t in ("3945", "189909")}
    for b in ("2", "4"):
        row = res["summary"]["budgets"][b]
        assert row["random"]["speedup_median_all"] == 1.0
        assert row["random"]["matched_speedup_median_all"] == 1.0 and row["random"]["matched_censored_fraction"] == 0
        assert row["automl-default"]["matched_speedup_median_all"] > 0
        assert row["automl-default"]["regret_mean_all"] >= 0 and row["random"]["regret_mean_all"] >= 0
    assert res["config"]["seeds"] == {"2": 2, "4": 1}
    s = json.loads(summary.read_text())
    assert s["other"] == {"kept": True}
    assert set(s["surrogate_budget"]["by_budget_trainings"]) == {"2", "4"}
    assert "| 4 | 1 |" in (tmp_path / "surrogate_budget.md").read_text()
