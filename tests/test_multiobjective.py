"""Accuracy against cost (issue 16 item 3): a space names a cost next to its validation metric, the Optuna backend
searches both, the Pareto rung rule prunes, `finalize --pick` tests one point of the front once, the report draws
the front and its evolution, and predict / export work for the picked model. Real training on wine, real SQLite."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from automl.finalize.pareto import (
    Curve,
    Point,
    best_by,
    dominated_at_rung,
    dominates,
    hypervolume,
    knee,
    pareto_front,
    pick_point,
    rungs,
)
from automl.space import parse_space
from automl.space.errors import SpaceError, UserInputError
from tests.conftest import cli

SPACE = """\
name: wine_mo
dataset: {name: wine}
task: multiclass
objective: [{metric: val_accuracy, direction: maximize}, {metric: %(cost)s, direction: minimize}]
model:
  family: mlp
  n_dense_blocks: {low: 1, high: 2}
  dense_blocks:
    units: {low: 2, high: 64, log: true}
    activation: {choices: [relu, tanh]}
training:
  optimizer: adam
  lr: {low: 1.0e-3, high: 1.0e-1, log: true}
  batch_size: 32
  max_epochs: %(epochs)d
  patience: 0
search: {sampler: random, pruner: %(pruner)s, min_epochs: 1, reduction_factor: 3, trials: %(trials)d, seed: 0}
"""


def _space(tmp: Path, cost: str = "n_params", pruner: str = "hyperband", trials: int = 10, epochs: int = 9) -> Path:
    p = tmp / f"wine_mo_{cost}_{pruner}.yaml"
    p.write_text(SPACE % {"cost": cost, "pruner": pruner, "trials": trials, "epochs": epochs})
    return p


# --- the schema --------------------------------------------------------------------------------------------

def _parse(objective: str):
    return parse_space(json.loads(json.dumps({"dataset": {"name": "wine"}, "task": "multiclass",
                                              "objective": objective, "model": {"family": "mlp"}})))


def test_objective_list_names_a_cost() -> None:
    obj = _parse([{"metric": "val_accuracy"}, {"metric": "latency_ms", "direction": "minimize"}]).objective
    assert (obj.metric, obj.direction, obj.cost) == ("val_accuracy", "maximize", "latency_ms")
    one = _parse([{"metric": "val_loss"}]).objective  # a list of one is the single-objective case
    assert (one.metric, one.direction, one.cost) == ("val_loss", "minimize", None)
    assert _parse({"metric": "val_accuracy"}).objective.cost is None


@pytest.mark.parametrize(("objective", "field", "says"), [
    ([{"metric": "val_accuracy"}, {"metric": "n_param"}], "objective[1].metric", 'did you mean "n_params"'),
    ([{"metric": "val_accuracy"}, {"metric": "n_params", "direction": "maximize"}], "objective[1].direction",
     "allowed: minimize"),
    ([{"metric": "val_accuracy"}, {"metric": "n_params"}, {"metric": "latency_ms"}], "objective", "a list of 3"),
    ([{"metric": "val_acc"}, {"metric": "n_params"}], "objective[0].metric", "allowed"),
    ([{"metric": "val_accuracy"}, {"cost": "n_params"}], "objective[1]", "train_seconds"),
])
def test_bad_objective_lists_are_refused_with_their_field(objective: list, field: str, says: str) -> None:
    with pytest.raises(SpaceError) as e:
        _parse(objective)
    text = str(e.value)
    assert field in text and says in text, text


# --- the front, the pick, the pruning rule -----------------------------------------------------------------

FRONT_PTS = [Point(0, 0.70, 40), Point(1, 0.90, 70), Point(2, 0.95, 400), Point(3, 0.85, 300), Point(4, 0.90, 90),
             Point(5, 0.70, 40)]


def test_pareto_front_dominance_and_ties() -> None:
    assert dominates((0.9, 10), (0.8, 10), True) and dominates((0.8, 5), (0.8, 10), True)
    assert not dominates((0.8, 10), (0.8, 10), True) and not dominates((0.9, 20), (0.8, 10), True)
    assert dominates((0.1, 10), (0.2, 10), False)  # a minimised metric (val_loss)
    front = pareto_front(FRONT_PTS, maximize=True)
    assert [p.trial for p in front] == [0, 1, 2]  # cheapest first; #5 ties #0 exactly and is left out
    assert [p.trial for p in pareto_front(FRONT_PTS, maximize=False)] == [0]


def test_pick_by_index_bound_and_knee() -> None:
    front = pareto_front(FRONT_PTS, True)
    assert pick_point(front, "2", "n_params", True)[0].trial == 2
    assert pick_point(front, "n_params<=100", "n_params", True)[0].trial == 1
    assert pick_point(front, "n_params<70", "n_params", True)[0].trial == 0
    p, why = pick_point(front, "knee", "n_params", True)
    assert p.trial == 1 and "knee" in why  # 0.70 -> 0.90 for 1.75x the parameters, then +0.05 for 5.7x
    assert knee(front[:2], True).trial == 1  # two points: the better one
    for bad, says in (("7", "indexed 0..2"), ("n_params<=10", "cheapest costs 40"), ("latency_ms<=3", "not a way"),
                      ("best", "not a way")):
        with pytest.raises(UserInputError, match=says):
            pick_point(front, bad, "n_params", True)


def test_rungs_and_the_rule() -> None:
    assert rungs(1, 3, 30) == [1, 3, 9, 27] and rungs(3, 3, 9) == [3] and rungs(2, 2, 2) == []
    hist = ({"epoch": 1, "val_accuracy": 0.5}, {"epoch": 2, "val_accuracy": 0.8}, {"epoch": 3, "val_accuracy": 0.7})
    assert best_by(hist, "val_accuracy", 1, True) == 0.5 and best_by(hist, "val_accuracy", 3, True) == 0.8
    front = [Curve(7, 0.8, 100.0, hist)]
    # dominated: the front trial was at least as good by the same epoch and costs no more
    assert "#7" in (dominated_at_rung(2, 0.75, 150.0, front, "val_accuracy", True) or "")
    assert dominated_at_rung(1, 0.75, 150.0, front, "val_accuracy", True) is None  # at epoch 1 the front had 0.5
    assert dominated_at_rung(2, 0.75, 50.0, front, "val_accuracy", True) is None  # cheaper: never pruned by it
    assert dominated_at_rung(2, 0.80, 100.0, front, "val_accuracy", True) is None  # a tie is not domination


def test_hypervolume_grows_with_the_front() -> None:
    ref = (0.5, 1000.0)
    small = [Point(0, 0.7, 40)]
    assert 0 < hypervolume(small, True, ref) < hypervolume(pareto_front(FRONT_PTS, True), True, ref)
    assert hypervolume([], True, ref) == 0.0


# --- end to end on the Optuna backend ----------------------------------------------------------------------

def _check_pruned_trials_were_dominated(records: list) -> int:
    """Every PRUNED trial was dominated, at the epoch it stopped, by a trial that had COMPLETEd before it."""
    done = [r for r in records if r.state == "COMPLETE"]
    pruned = [r for r in records if r.state == "PRUNED"]
    for p in pruned:
        assert "Pareto rung rule" in p.reason, p.reason
        e = p.epochs_run
        mine = best_by(p.history, "val_accuracy", e, True)
        by = [f for f in done if f.finished is not None and p.finished is not None and f.finished <= p.finished
              and f.cost <= p.cost
              and dominates((best_by(f.history, "val_accuracy", e, True), f.cost), (mine, p.cost), True)]
        assert by, f"trial #{p.number} was pruned at epoch {e} but no earlier COMPLETE trial dominates it there"
        assert e in rungs(1, 3, 9)
    return len(pruned)


@pytest.mark.slow
def test_pareto_search_finalize_pick_report_predict_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    space = _space(tmp_path)
    res = cli("search", space, "--results-dir", "results")
    assert "Two objectives: the Pareto front has" in res.output and "not finalized" in res.output
    run = tmp_path / "results" / "wine_mo"
    assert not (run / "report.json").exists()
    import automl

    records = automl.load_run(run).records()
    assert len(records) == 10 and all(r.cost is not None for r in records if r.state in ("COMPLETE", "PRUNED"))
    for r in records:
        if r.state == "COMPLETE":  # the cost is the model's parameter count, as built
            assert r.cost == r.n_params > 0
    assert _check_pruned_trials_were_dominated(records) >= 1, "the rule pruned nothing on this seed"
    # finalize needs a point: without --pick it names the front and exits 2, nothing is read
    bad = cli("finalize", run, code=2)
    assert "--pick" in bad.output and "Its front: 0: #" in bad.output
    cli("finalize", run, "--pick", "n_params<=1", code=2)
    cli("finalize", run, "--pick", "cheapest", code=2)
    assert not (run / "test_ledger.jsonl").exists() or not (run / "test_ledger.jsonl").read_text().strip()
    out = cli("finalize", run, "--pick", "knee").output
    assert "Picked trial #" in out and "Pareto front of" in out
    report = json.loads((run / "report.json").read_text())
    pa = report["pareto"]
    front_trials = [row["trial"] for row in pa["front"]]
    assert report["best"]["trial"] == pa["picked"]["trial"] in front_trials and report["test_reads"] == 1
    assert pa["final_cost"] == pa["picked"]["cost"]  # the tested model has the parameters the search counted
    costs = [row["cost"] for row in pa["front"]]
    values = [row["value"] for row in pa["front"]]
    assert costs == sorted(costs) and values == sorted(values) and len(set(values)) == len(values)
    done = [r for r in records if r.state == "COMPLETE"]
    for r in done:  # nothing off the front beats a front point on both
        assert not any(dominates((r.value, r.cost), (v, c), True) for v, c in zip(values, costs, strict=True))
    # a second finalize is a second read: refused without --again
    cli("finalize", run, "--pick", "0", code=2)
    # the picked model predicts and exports
    rows = tmp_path / "rows.csv"
    from sklearn.datasets import load_wine

    x = load_wine(as_frame=True).data.head(5)
    x.to_csv(rows, index=False)
    cli("predict", run, rows, "-o", tmp_path / "pred.csv")
    import pandas as pd

    pred = pd.read_csv(tmp_path / "pred.csv")
    assert len(pred) == 5 and {"prediction"} <= set(pred.columns)
    model = automl.load_run(run).load_model()
    proba = model.predict_proba(x) if hasattr(model, "predict_proba") else None
    if proba is not None:
        assert np.allclose(np.asarray(proba).sum(axis=1), 1.0, atol=1e-5)
    cli("export", run, "--format", "torchscript", "-o", tmp_path / "model.ts")
    assert (tmp_path / "model.ts").stat().st_size > 0
    # the report draws the front and its evolution, and lists the front
    rep = cli("report", run)
    html = (run / "report.html").read_text()
    assert 'id="sec-pareto"' in html and 'id="pareto-front"' in html and "hypervolume" in html
    assert "Pareto front" in (run / "report.md").read_text()
    assert "12 figures" in rep.output
    from tests.test_report import CHROMIUM, _assert_rendered, _dump_dom

    if CHROMIUM is not None:
        _assert_rendered(_dump_dom(run / "report.html", tmp_path), names=["pareto", "history", "learning_curves"])


@pytest.mark.slow
def test_latency_cost_without_pruning(tmp_path: Path) -> None:
    import automl

    run = automl.search(_space(tmp_path, cost="latency_ms", pruner="none", trials=3, epochs=2),
                        results_dir=tmp_path / "results", progress=False)
    recs = run.records()
    assert [r.state for r in recs] == ["COMPLETE"] * 3  # --pruner none: nothing pruned
    assert all(r.cost is not None and 0 < r.cost < 1000 for r in recs)  # milliseconds per sample
    rep = run.finalize(pick="latency_ms<=1000")
    assert rep["pareto"]["cost_metric"] == "latency_ms" and math.isfinite(rep["pareto"]["final_cost"])
    assert run.load_model() is not None


@pytest.mark.slow
def test_train_seconds_cost_search_with_pick_finalizes_in_one_go(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = cli("search", _space(tmp_path, cost="train_seconds", trials=3, epochs=2), "--pick", "knee",
              "--results-dir", "results").output
    assert "Picked trial #" in out
    import automl

    run = automl.load_run(tmp_path / "results" / "wine_mo")
    for r in run.records():
        assert r.state != "COMPLETE" or 0 < r.cost <= r.seconds + 1e-6  # training seconds, within the trial's
    assert run.report["pareto"]["pick"] == "knee" and run.report["objective"]["cost"] == "train_seconds"


def test_what_a_cost_objective_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each exits 2 naming the option and what is allowed, before anything trains or is written."""
    monkeypatch.chdir(tmp_path)
    space = _space(tmp_path)
    ray = cli("search", space, "--backend", "ray", "--results-dir", "results", code=2).output
    assert "objective" in ray and "--backend optuna" in ray and "single objective" in ray
    assert "cmaes" in cli("search", space, "--sampler", "cmaes", "--results-dir", "results", code=2).output
    med = cli("search", space, "--pruner", "median", "--results-dir", "results", code=2).output
    assert "hyperband" in med and "none" in med
    assert "--budget auto" in cli("search", space, "--budget", "auto", "--results-dir", "results", code=2).output
    assert "not a way" in cli("search", space, "--pick", "fastest", "--results-dir", "results", code=2).output
    single = tmp_path / "single.yaml"
    single.write_text(SPACE.replace("[{metric: val_accuracy, direction: maximize}, {metric: %(cost)s, direction: "
                                    "minimize}]", "{metric: val_accuracy}")
                      % {"pruner": "none", "trials": 1, "epochs": 1})
    out = cli("search", single, "--pick", "knee", "--results-dir", "results", code=2).output
    assert "one objective" in out
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())
