"""`--budget auto`: the stall rule on hand-made best-so-far curves, then a real search (wine, Optuna, SQLite)
that stops itself before its cap and says why (progress line, manifest, report.json), and the same on Ray."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from automl.backends.autostop import (
    DEFAULT_CAP,
    Finished,
    StallRule,
    binomial_se,
    curve_noise,
    finished_records,
)
from automl.store.records import TrialRecord
from tests.conftest import pinned_to_one_core

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


def trials(values: list[float | None]) -> list[Finished]:
    return [Finished(v) for v in values]


def first_stop(rule: StallRule, values: list[float | None]) -> int | None:
    """The number of finished trials after which the rule stops a search that runs these trials in order."""
    for n in range(1, len(values) + 1):
        if rule.check(trials(values[:n])).stalled:
            return n
    return None


def test_it_stops_on_a_plateau_once_the_window_shows_no_gain_beyond_the_noise():
    rule = StallRule(window=10, min_trials=20, tolerance=0.01)
    values = [0.5 + 0.02 * i for i in range(15)] + [0.7] * 40  # improves until trial 15, then flat
    # best stops moving after trial 15 (0.78): the window of 10 shows no gain from trial 25 on
    assert first_stop(rule, values) == 25
    est = rule.check(trials(values[:25]))
    assert est.stalled and est.gain == pytest.approx(0.0) and est.noise == 0.01 and est.n == 25
    assert "stalled" in est.reason() and "last 10 trials" in est.reason()


def test_it_does_not_stop_while_the_best_keeps_improving_by_more_than_the_noise():
    rule = StallRule(window=10, min_trials=20, tolerance=0.01)
    values = [0.1 + 0.005 * i for i in range(200)]  # +0.05 per window of 10 > 0.01
    assert first_stop(rule, values) is None
    # gains smaller than the noise are not progress: the same curve stops under a tolerance of 0.06
    assert first_stop(StallRule(window=10, min_trials=20, tolerance=0.06), values) == 20


def test_never_before_min_trials_even_on_a_flat_curve():
    rule = StallRule(window=5, min_trials=30, tolerance=0.0)
    assert first_stop(rule, [0.9] * 100) == 30
    assert not rule.check(trials([0.9] * 29)).stalled
    assert rule.check(trials([0.9] * 29)).gain is None  # the estimate says it may not stop yet


def test_minimize_pruned_trials_and_no_complete_trial():
    rule = StallRule(direction="minimize", window=4, min_trials=8, tolerance=0.0)
    # losses that keep falling, with pruned trials (None) in between: not stalled
    assert first_stop(rule, [1.0, None, 0.9, None, 0.8, None, 0.7, None, 0.6, None, 0.5, None]) is None
    # the last 4 trials pruned: the best is as it was: stalled
    assert first_stop(rule, [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, None, None, None, None]) == 10
    # nothing complete (all pruned or failed): never "stalled" (there is no best to have stalled)
    assert first_stop(rule, [None] * 30) is None


def test_the_noise_is_the_binomial_se_for_accuracy_and_the_curves_scatter_otherwise():
    acc = StallRule(metric="val_accuracy", val_rows=27)
    noise, source = acc.noise(trials([0.8, 1.0]))
    assert noise == pytest.approx(binomial_se(1.0, 27)) and 0.04 < noise < 0.05 and "27 rows" in source
    # a straight line has no scatter around itself; a zig-zag does
    assert curve_noise([1.0, 0.9, 0.8, 0.7, 0.6]) == pytest.approx(0.0, abs=1e-12)
    assert curve_noise([1.0, 0.8, 1.0, 0.8, 1.0, 0.8]) > 0.05
    loss = StallRule(direction="minimize", metric="val_loss")
    noise, source = loss.noise([Finished(0.5, (1.0, 0.8, 0.9, 0.7, 0.8, 0.6)), Finished(0.9, ())])
    assert noise > 0 and "scatter" in source
    assert StallRule(tolerance=0.2, metric="val_accuracy", val_rows=27).noise(trials([0.5]))[0] == 0.2


def test_records_are_read_in_the_order_they_finished_and_warm_trials_do_not_count():
    def rec(n, state, value, finished, note=""):
        return TrialRecord(number=n, state=state, value=value, params={}, finished=finished, note=note,
                           history=[{"val_accuracy": 0.5}, {"val_accuracy": value or 0.4}])

    got = finished_records([rec(0, "COMPLETE", 0.7, 5.0), rec(1, "PRUNED", 0.3, 2.0), rec(2, "RUNNING", None, None),
                            rec(3, "COMPLETE", 0.9, 1.0, note="taken from run a"), rec(4, "INTERRUPTED", None, 3.0)],
                           "val_accuracy")
    assert [f.value for f in got] == [None, 0.7]  # the pruned trial finished first; its value is no best
    assert got[1].curve == (0.5, 0.7)


def test_budget_auto_is_validated_and_capped():
    from automl.backends.optuna.settings import OptunaSettings
    from automl.space.errors import UserInputError

    with pytest.raises(UserInputError, match="--budget 'sometimes' is not allowed; allowed: auto"):
        OptunaSettings.build({}, {"budget": "sometimes"})
    with pytest.raises(UserInputError, match=r"--stall-tolerance .* applies with --budget auto"):
        OptunaSettings.build({}, {"stall_tolerance": 0.01})
    with pytest.raises(UserInputError, match="--stall-window 5 applies with --budget auto"):
        OptunaSettings.build({}, {"stall_window": 5})
    with pytest.raises(UserInputError, match="--stall-window 0 must be at least 1"):
        OptunaSettings.build({"budget": "auto"}, {"stall_window": 0})
    rules = [StallRule.of(OptunaSettings.build(search, over), "maximize") for search, over in (
        ({"budget": "auto"}, {}), ({"budget": "auto", "startup_trials": 40}, {}), ({"budget": "auto"}, {"stall_window": 10}))]
    assert [(r.window, r.min_trials) for r in rules] == [(30, 60), (40, 80), (10, 20)]
    assert DEFAULT_CAP == 200


# --- a real search -------------------------------------------------------------------------------------------

def wine_space(tmp: Path, **search) -> Path:
    doc = {
        "name": "wine_auto", "dataset": {"name": "wine", "split": {"train": 0.7, "val": 0.15, "test": 0.15, "seed": 0}},
        "objective": {"metric": "val_accuracy", "direction": "maximize"},
        "model": {"family": "mlp", "n_dense_blocks": 1,
                  "dense_blocks": {"units": {"low": 8, "high": 32}, "activation": "relu"}},
        "training": {"optimizer": "adam", "lr": {"low": 3e-3, "high": 3e-2, "log": True}, "batch_size": 32,
                     "max_epochs": 3, "patience": 3},
        "search": {"sampler": "tpe", "pruner": "none", "seed": 0, **search},
    }
    path = tmp / "wine_auto.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def one_core():
    with pinned_to_one_core():
        yield


def test_a_wine_search_with_budget_auto_stops_before_its_cap_and_says_why(tmp_path, one_core):
    """Wine's validation split has 27 rows: accuracy saturates within a few trials, and a gain below its
    binomial standard error (about 0.045 at 100%) is no gain. A window of 10 trials (at least 20) keeps the test
    short; the cap (60 trials) would run three times longer."""
    from automl.cli.main import app

    space = wine_space(tmp_path)
    res = CliRunner().invoke(app, ["search", str(space), "--trials", "60", "--budget", "auto", "--stall-window", "10",
                                   "--results-dir",
                                   str(tmp_path / "results"), "--no-finalize"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "budget auto (stops when the best has gained no more than the validation noise" in out
    assert "at most 60 trials" in out
    assert "auto-stop: 1/20 trials before it may stop" in out
    run = tmp_path / "results" / "wine_auto"
    manifest = json.loads((run / "manifest.json").read_text())
    stop = manifest["settings"]["stopped"]
    assert stop["stopped_by"] == "stalled" and stop["window"] == 10 and stop["min_trials"] == 20
    assert 20 <= stop["trials"] < 60 and stop["gain"] <= stop["noise"]
    assert stop["noise"] == pytest.approx(binomial_se(stop["best"], 27))
    assert f"stopped before the cap: {stop['reason']}" in out
    assert "| stalled: gain" in out

    import automl

    r = automl.load_run(run)
    counted = [t for t in r.records() if t.state in ("COMPLETE", "PRUNED", "FAIL")]
    assert len(counted) == stop["trials"]  # one worker: it stopped right after the trial that stalled it
    # the rule, applied to the stored trials, agrees with the stop that was recorded
    est = StallRule(window=10, min_trials=20, metric="val_accuracy", val_rows=27).check(
        finished_records(r.records(), "val_accuracy"))
    assert est.stalled and est.n == stop["trials"] and est.best == stop["best"]
    assert not StallRule(window=10, min_trials=20, metric="val_accuracy", val_rows=27).check(
        finished_records(r.records(), "val_accuracy")[:-1]).stalled

    # report.json records it; the HTML report says why the search stopped
    report = r.finalize(select=False)
    assert report["budget"]["stopped_by"] == "stalled" and report["budget"]["stopped"]["trials"] == stop["trials"]
    from automl.report.figures import history_figure

    fig = history_figure(r.records(), "maximize", "val_accuracy", stopped=report["budget"]["stopped"])
    assert any("stalled" in (a.text or "") for a in fig.layout.annotations)
    assert math.isfinite(r.best_value)


def test_budget_auto_with_a_given_tolerance_through_the_api(tmp_path, one_core):
    """A tolerance of 1.0 (accuracy can never gain that much): it stops at the earliest it may, min_trials."""
    import automl

    run = automl.search(wine_space(tmp_path, startup_trials=2, stall_window=10), results_dir=tmp_path / "r",
                        budget="auto", stall_tolerance=1.0, trials=40, progress=False)
    stop = run.info.settings["stopped"]
    assert stop["trials"] == 20 and stop["noise"] == 1.0 and stop["noise_from"] == "--stall-tolerance"
    assert json.loads((run.path / "manifest.json").read_text())["settings"]["stopped"] == stop

    # resume keeps the rule (still stalled: no trial), and `--budget fixed` spends the larger cap
    from automl.cli.main import app

    res = CliRunner().invoke(app, ["resume", str(run.path), "--trials", "23", "--no-finalize"])
    assert res.exit_code == 0, res.output
    assert "0 trials this session" in res.output and "stopped before the cap: stalled" in res.output
    res = CliRunner().invoke(app, ["resume", str(run.path), "--trials", "23", "--budget", "fixed", "--no-finalize"])
    assert res.exit_code == 0, res.output
    assert "3 trials this session" in res.output and "stopped before the cap" not in res.output
    assert "stopped" not in json.loads((run.path / "manifest.json").read_text())["settings"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ray_with_budget_auto_stops_itself_records_why_and_resume_keeps_the_rule(tmp_path):
    """The same rule on a real local Ray (a Tune stopper fed by the ledger): a tolerance of 1.0 stalls at the
    earliest it may, min_trials = 2 x 3 trials, before the cap of 9; the progress lines, manifest and report say
    why. Resume keeps the rule (0 trials), `--budget fixed` spends the rest of the cap and clears the stop."""
    import ray.tune  # noqa: F401 - installed by the test extra: a missing Ray fails, never skips

    from tests.conftest import cli

    results = tmp_path / "results"
    space = wine_space(tmp_path)
    res = cli("search", space, "--backend", "ray", "--scheduler", "fifo", "--max-concurrent", "1", "--trials", "9", "--budget", "auto", "--stall-window", "3",
              "--stall-tolerance", "1.0", "--results-dir", results, "--no-finalize")
    out = res.output
    assert "budget auto (stops when the best has gained no more than the validation noise 1 in the last 3 trials" in out
    assert "auto-stop: 1/6 trials before it may stop" in out and "| stalled: gain" in out
    run = results / "wine_auto"
    stop = json.loads((run / "manifest.json").read_text())["settings"]["stopped"]
    assert stop["stopped_by"] == "stalled" and stop["trials"] == 6 and stop["window"] == 3
    assert stop["noise"] == 1.0 and stop["noise_from"] == "--stall-tolerance" and stop["gain"] <= 1.0
    assert f"stopped before the cap: {stop['reason']}" in out

    import automl

    r = automl.load_run(run)
    recs = r.records()
    assert len(recs) == 6 and all(t.state == "COMPLETE" for t in recs), [(t.state, t.reason) for t in recs]
    est = StallRule(window=3, min_trials=6, tolerance=1.0).check(finished_records(recs, "val_accuracy"))
    assert est.stalled and est.n == 6 and est.best == stop["best"]
    report = r.finalize(select=False)
    assert report["budget"]["stopped_by"] == "stalled" and report["budget"]["stopped"]["trials"] == 6

    res = cli("resume", run, "--no-finalize")
    assert "0 trials this session" in res.output and "stopped before the cap: stalled" in res.output
    assert len(automl.load_run(run).records()) == 6
    res = cli("resume", run, "--budget", "fixed", "--no-finalize")
    assert "stopped before the cap" not in res.output
    assert "stopped" not in json.loads((run / "manifest.json").read_text())["settings"]
    recs = automl.load_run(run).records()
    assert len(recs) == 9 and all(t.state == "COMPLETE" for t in recs), [(t.state, t.reason) for t in recs]
