"""results/benchmarks/summary.json: stable keys, and the README's benchmark table generated from it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import summary  # noqa: E402


def test_committed_summary_has_the_stable_keys() -> None:
    doc = json.loads((ROOT / "results" / "benchmarks" / "summary.json").read_text())
    for key in ("speedup_vs_random_median", "rank_of_default", "heldout_speedup_vs_random_median"):
        assert isinstance(doc["surrogate"][key], (int, float)), key
    for key in ("mnist1d", "scaling", "overhead", "trainer", "commit", "hardware", "date"):
        assert key in doc, key  # present even before the run that fills it (then null)
    for key, prefix in (("surrogate", ""), ("scaling", ""), ("trainer", ""), ("overhead", "optuna_"),
                        ("overhead", "ray_")):
        if (doc.get(key) and f"{prefix}pct" in doc[key]) or (doc.get(key) and not prefix):
            assert doc[key][prefix + "command"].startswith("python benchmarks/"), (key, prefix)
            assert doc[key][prefix + "date"] and doc[key][prefix + "commit"], (key, prefix)


def test_readme_table_is_generated_from_the_committed_summary() -> None:
    assert summary.main(["--check", str(ROOT / "README.md")]) == 0, (
        "README's benchmark table differs from results/benchmarks/summary.json: "
        "run python benchmarks/summary.py --readme README.md")


def test_update_keeps_other_keys_and_the_table_reads_targets(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    summary.update("surrogate", {"speedup_vs_random_median": 12.0, "rank_of_default": 1,
                                 "heldout_speedup_vs_random_median": 11.0, "dev_speedup_vs_random_median": 13.0,
                                 "strategies_ranked": 3, "best_strategy": "automl-default",
                                 "speedup_vs_random_median_by_strategy": {"automl-default": 12.0},
                                 "tasks": 2, "seeds_per_task": 3, "budget_epochs": 10, "command": "x",
                                 "date": "2026-01-01"}, path)
    summary.update("scaling", {"two_vs_one": 1.5, "command": "python benchmarks/scaling.py", "date": "d"}, path)
    doc = summary.load(path)
    assert doc["surrogate"]["rank_of_default"] == 1 and doc["scaling"]["two_vs_one"] == 1.5
    assert doc["mnist1d"] is None and doc["commit"]
    rows = {line.split(" | ")[0].lstrip("| "): line for line in summary.table(doc).splitlines() if line.startswith("| ")}
    speed = next(v for k, v in rows.items() if "median speed-up" in k)
    assert "12.00x" in speed and "| yes |" in speed  # >= 10x met
    scale = next(v for k, v in rows.items() if "2 workers" in k)
    assert "1.50x" in scale and "**no**" in scale  # below 1.8x
    assert "not measured yet" in next(v for k, v in rows.items() if "same space" in k)


def test_check_fails_on_a_stale_table(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    summary.update("trainer", {"ratio_vs_hand_loop": 0.9, "end_to_end_ratio": 0.9, "command": "c", "date": "d"}, path)
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{summary.BEGIN}\nold\n{summary.END}\n")
    assert summary.main(["--summary", str(path), "--check", str(readme)]) == 1
    assert summary.main(["--summary", str(path), "--readme", str(readme)]) == 0
    assert summary.main(["--summary", str(path), "--check", str(readme)]) == 0
    assert "0.900" in readme.read_text() and "**no**" in readme.read_text()


def test_budget_row_lists_budgets_in_numeric_order(tmp_path: Path) -> None:
    """summary.json keeps its keys sorted ("100" < "20" < "5" as strings): the row must read 5, 20, 100."""
    path = tmp_path / "summary.json"
    cell = {"speedup_median_all": 1.5, "rank_all": 1}
    by = {b: {"automl-default": {**cell, "speedup_median_all": float(b)}, "random": {**cell, "rank_all": 2}}
          for b in ("100", "20", "5")}
    summary.update("surrogate_budget", {"by_budget_trainings": by, "seeds_per_task": {"5": 10, "20": 10, "100": 5},
                                        "tasks": 34, "command": "python benchmarks/surrogate_budget.py",
                                        "date": "2026-12-06"}, path)
    row = next(ln for ln in summary.table(summary.load(path)).splitlines() if "by budget" in ln)
    assert "5.00x at 5 trainings (rank 1 of 2); 20.00x at 20 trainings (rank 1 of 2); 100.00x at 100" in row
    assert "10 at 5, 10 at 20, 5 at 100" in row


def test_scaling_row_shows_every_committed_run_and_where_the_target_fails(tmp_path: Path) -> None:
    """One machine's run may meet 1.8x where another's does not: the row names both, the met column too."""
    path = tmp_path / "summary.json"
    summary.update("scaling", {"two_vs_one": 1.9, "two_vs_one_steady": 1.95, "command": "python benchmarks/scaling.py",
                               "date": "2026-12-06", "hardware": {"cpu": "Xeon"},
                               "other_runs": [{"label": "epyc", "two_vs_one": 1.67}]}, path)
    row = next(ln for ln in summary.table(summary.load(path)).splitlines() if "2 workers" in ln)
    assert "1.90x (steady state 1.95x) on Xeon; other committed runs: 1.67x (epyc)" in row
    assert "| yes; **no** on epyc |" in row


def test_mnist1d_best_mean_within_noise_is_not_shown_as_a_plain_win(tmp_path: Path) -> None:
    """automl's default with the best mean but a paired interval holding 0 against another method: the met column
    says so; with every interval below 0 it is a plain yes, and not being best is **no**."""
    path = tmp_path / "summary.json"

    def row(best: bool, ci: list[float]) -> str:
        methods = {"automl-default": {"mean": 0.99, "std": 0.003}, "tpe-median": {"mean": 0.985, "std": 0.005}}
        summary.update("mnist1d", {"same_space": {
            "methods": methods, "budget": "10 min wall", "seeds": 4, "command": "python benchmarks/mnist1d_compare.py",
            "automl_best": best, "vs_automl": {"tpe-median": {"mean": -0.005, "ci95": ci}}}}, path)
        return next(ln for ln in summary.table(summary.load(path)).splitlines() if "same space" in ln)

    assert "| yes by the mean; not outside noise against tpe-median (paired 95% intervals hold 0) |" in \
        row(True, [-0.01, 0.004])
    assert "| yes |" in row(True, [-0.01, -0.002])
    doc = summary.load(path)
    doc["mnist1d"]["same_space"]["checks"] = [{"label": "the Xeon rerun", "automl_best": False, "best_method": "tpe-median"}]
    path.write_text(json.dumps(doc))
    line = next(ln for ln in summary.table(summary.load(path)).splitlines() if "same space" in ln)
    assert "| yes; **no** in the Xeon rerun (best: tpe-median) |" in line
    doc["mnist1d"]["same_space"]["checks"][0]["vs_automl"] = {"tpe-median": {"mean": 0.0015, "ci95": [-0.0077, 0.0107]}}
    path.write_text(json.dumps(doc))
    line = next(ln for ln in summary.table(summary.load(path)).splitlines() if "same space" in ln)
    assert ("**no** in the Xeon rerun (best: tpe-median; paired vs automl-default: tpe-median +0.15 [-0.77, +1.07] "
            "points) |") in line
    assert "| **no** |" in row(False, [-0.01, 0.004])
