"""benchmarks/surrogate_paired.py: the paired gain of automl variants over the default (no surrogate needed: it reads
runs files, here the committed ones behind the choice of the default's first pruning rung)."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import surrogate_paired  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))


def test_paired_gain_counts_each_task_seed_once_and_matches_the_committed_default_choice():
    """default minus variant per (task, seed): 2 wins, 1 loss, 1 tie here; random search is not a variant. On the
    committed development-task runs that chose min_epochs 3, the figures benchmarks/README.md quotes."""
    runs = [{"strategy": n, "task": t, "seed": s, "final": v} for n, t, s, v in [
        ("automl-default", "a", 0, 5.0), ("automl-default", "a", 1, 4.0), ("automl-default", "b", 0, 3.0),
        ("automl-default", "b", 1, 2.0), ("v", "a", 0, 4.0), ("v", "a", 1, 1.0), ("v", "b", 0, 4.0),
        ("v", "b", 1, 2.0), ("v", "c", 0, 0.0), ("random", "a", 0, 9.0)]]
    r = surrogate_paired.paired(runs)
    assert set(r) == {"v"} and r["v"]["pairs"] == 4  # task c has no default run to pair with
    assert (r["v"]["wins"], r["v"]["losses"], r["v"]["ties"]) == (2, 1, 1)
    assert r["v"]["mean_gain"] == pytest.approx((1 + 3 - 1 + 0) / 4)
    assert r["v"]["se"] == pytest.approx(np.std([1, 3, -1, 0], ddof=1) / 2)
    quoted = {("b5", "me3"): (0.88, 0.36), ("b20", "me3"): (0.84, 0.28), ("b5", "me2"): (0.83, 0.35),
              ("b5", "me5"): (0.76, 0.35), ("b20_more", "me2"): (0.85, 0.30), ("b20_more", "me5"): (0.96, 0.30)}
    for (budget, variant), (gain, se) in quoted.items():
        f = ROOT / "results" / "benchmarks" / f"surrogate.defaults_dev_{budget}.runs.json.gz"
        with gzip.open(f, "rt") as fh:
            r = surrogate_paired.paired(json.load(fh))[variant]
        assert r["pairs"] == 100 and round(r["mean_gain"], 2) == gain, (budget, variant, r)
        assert se is None or round(r["se"], 2) == se
