"""Warm start end to end, for real: tiny searches on wine (2 epochs, one small layer), real SQLite, real Ray.

Same data and space: the source's trials are taken into the new study without retraining. A changed space or
other data: the source's top configs are mapped onto the new space and run first, each with a note of what
changed. Bad sources exit with code 2.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import optuna
import pytest
import yaml
from typer.testing import CliRunner

from automl.cli.main import app
from automl.space import load_space
from automl.space.warm import map_config

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


def write_space(tmp: Path, name: str, *, dataset: dict | None = None, model: dict | None = None,
                training: dict | None = None) -> Path:
    doc: dict = {
        "name": name,
        "dataset": dataset or {"name": "wine"},
        "objective": {"metric": "val_accuracy", "direction": "maximize"},
        "model": {"family": "mlp", "n_dense_blocks": 1,
                  "dense_blocks": {"units": {"low": 4, "high": 16}, "activation": "relu"}},
        "training": {"optimizer": "adam", "lr": {"low": 1e-3, "high": 1e-1, "log": True}, "batch_size": 32,
                     "max_epochs": 2, "patience": 5},
        "search": {"pruner": "none", "seed": 0},
    }
    doc["model"].update(model or {})
    doc["training"].update(training or {})
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def cli(*args, code: int = 0):
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == code, f"automl {' '.join(map(str, args))} -> {res.exit_code}\n{res.output}\n{res.exception!r}"
    return res


def search(space: Path, res: Path, *extra, code: int = 0):
    return cli("search", space, "--results-dir", res, "--no-finalize", "--workers", 1, *extra, code=code)


def study_of(run_dir: Path) -> optuna.Study:
    name = json.loads((run_dir / "manifest.json").read_text())["study"]
    return optuna.load_study(study_name=name, storage=f"sqlite:///{run_dir / 'study.db'}")


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def test_same_space_and_data_takes_trials_without_retraining(tmp_path):
    res = tmp_path / "results"
    space = write_space(tmp_path, "tiny")
    search(space, res, "--trials", 3)
    src = {t.number: t for t in study_of(res / "tiny").get_trials()}
    out = search(space, res, "--trials", 2, "--study", "again", "--warm-start", "tiny").output
    assert "3 trials taken from tiny without retraining" in out
    trials = study_of(res / "again").get_trials()
    taken = [t for t in trials if t.user_attrs.get("status") == "warm"]
    assert len(taken) == 3 and len(trials) == 5  # the taken trials use none of the 2-trial budget
    for t in taken:
        s = src[int(t.user_attrs["warm_from"].split("#")[1])]
        assert t.state == s.state and t.value == s.value and t.params == s.params
        assert t.intermediate_values == s.intermediate_values  # the pruners see their curves
        assert t.user_attrs["epochs_run"] == 0 and t.user_attrs["seconds"] == 0.0  # nothing trained here
    trained = [t for t in trials if "warm_from" not in t.user_attrs]
    assert len(trained) == 2 and all(t.user_attrs["epochs_run"] > 0 for t in trained)
    assert manifest(res / "again")["settings"]["warm_start"][0]["mode"] == "taken"
    table = cli("trials", "again", "--results-dir", res).output
    assert "taken from tiny#" in table
    cli("resume", "again", "--results-dir", res, "--trials", 3, "--no-finalize")  # resume: still not budget
    trials = study_of(res / "again").get_trials()
    assert len(trials) == 6 and sum("warm_from" not in t.user_attrs for t in trials) == 3

    import automl  # the Python API: the same, through search(warm_start=[...])

    run = automl.search(str(space), results_dir=res, study="api", warm_start=[str(res / "tiny")], trials=1,
                        progress=False, workers=1)
    notes = [r.note for r in run.records()]
    assert sum(n.startswith("taken from tiny#") for n in notes) == 3 and len(notes) == 4


def test_changed_space_enqueues_mapped_configs_first(tmp_path):
    res = tmp_path / "results"
    old = write_space(tmp_path, "old", model={"dense_blocks": {"units": {"low": 12, "high": 16}, "activation": "relu"}})
    search(old, res, "--trials", 3)
    # units narrowed to 4..8 (every old value is clipped to 8), lr no longer searched, dropout new
    new = write_space(tmp_path, "new", model={"dense_blocks": {"units": {"low": 4, "high": 8}, "activation": "relu",
                                                               "dropout": {"low": 0.0, "high": 0.3}}},
                      training={"lr": 0.01})
    out = search(new, res, "--trials", 3, "--warm-start", res / "old", "--warm-start-top", 2).output
    assert "top 2 configs of old run first (a changed space)" in out
    trials = sorted(study_of(res / "new").get_trials(), key=lambda t: t.number)
    assert len(trials) == 3
    first, last = trials[:2], trials[2]
    best = sorted(study_of(res / "old").get_trials(), key=lambda t: (-t.value, t.number))[:2]
    assert [t.user_attrs["warm_from"] for t in first] == [f"old#{t.number}" for t in best]
    for t in first:
        assert t.params["model.dense_blocks.0.units"] == 8 and t.user_attrs["epochs_run"] > 0
        note = t.user_attrs["warm_note"]
        assert "model.dense_blocks.0.units" in note and "clipped to 8" in note
        assert "training.lr dropped (fixed to 0.01" in note and "model.dense_blocks.0.dropout new (sampled)" in note
    assert "warm_from" not in last.user_attrs
    assert manifest(res / "new")["settings"]["warm_start"][0]["mode"] == "enqueued"


def test_other_data_enqueues_top_configs(tmp_path):
    res = tmp_path / "results"
    small = write_space(tmp_path, "small", dataset={"name": "wine", "subsample": 100})
    search(small, res, "--trials", 3)
    full = write_space(tmp_path, "full")
    out = search(full, res, "--trials", 2, "--warm-start", "small", "--warm-start-top", 1).output
    assert "top 1 configs of small run first (other data)" in out
    best = max(study_of(res / "small").get_trials(), key=lambda t: (t.value, -t.number))
    first, second = sorted(study_of(res / "full").get_trials(), key=lambda t: t.number)
    assert first.user_attrs["warm_from"] == f"small#{best.number}" and first.params == best.params
    assert first.user_attrs["warm_note"].startswith(f"enqueued from small#{best.number}")
    assert "warm_from" not in second.user_attrs and first.user_attrs["epochs_run"] > 0


def test_map_config_rules(tmp_path):
    """The pure mapping: clip, drop, skip an unconditional categorical, drop a conditional one."""
    space = load_space(write_space(tmp_path, "m", training={"optimizer": {"choices": ["adam", "sgd"]},
                                                            "momentum": {"low": 0.5, "high": 0.9,
                                                                         "when": {"optimizer": "sgd"}}})).space
    old = {"model.dense_blocks.0.units": 40, "training.lr": 0.5, "training.optimizer": "sgd",
           "training.momentum": 0.99, "training.gone": 3}
    m, why = map_config(old, space)
    assert why == "" and m is not None
    assert m.params == {"model.dense_blocks.0.units": 16, "training.lr": 0.1, "training.optimizer": "sgd",
                        "training.momentum": 0.9}
    assert any("training.gone dropped (no longer in the space)" in c for c in m.changes)
    m, why = map_config({**old, "training.optimizer": "rmsprop"}, space)
    assert m is None and "training.optimizer='rmsprop' is not among the new choices" in why
    m, _ = map_config({**old, "training.optimizer": "adam"}, space)  # momentum inactive under adam: dropped
    assert m is not None and "training.momentum" not in m.params


def test_bad_sources_exit_2(tmp_path):
    res = tmp_path / "results"
    space = write_space(tmp_path, "src", training={"optimizer": {"choices": ["adam"]}})
    out = search(space, res, "--study", "x", "--warm-start", "nope", code=2).output
    assert "--warm-start nope: No run found" in out and not (res / "x").exists()
    search(space, res, "--trials", 2)
    other = write_space(tmp_path, "other", training={"optimizer": {"choices": ["sgd"]}})
    out = search(other, res, "--warm-start", "src", code=2).output
    assert "none of its 2 completed trials maps onto space" in out and "'adam' is not among the new choices" in out
    assert not (res / "other").exists()
    assert "--warm-start-top 0 must be at least 1" in search(other, res, "--warm-start", "src", "--warm-start-top", 0,
                                                             code=2).output
    out = cli("search", space, "--results-dir", res, "--study", "r", "--backend", "ray", "--scheduler", "pbt",
              "--warm-start", "src", code=2).output
    assert "--warm-start needs Ray's OptunaSearch" in out
    assert "does not combine with --sampler grid" in search(space, res, "--study", "g", "--sampler", "grid",
                                                            "--warm-start", "src", code=2).output


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_ray_runs_warm_configs_first(tmp_path):
    """Ray's OptunaSearch takes the mapped configs as points_to_evaluate: they are its first trials."""
    ray = pytest.importorskip("ray")
    from automl.backends.prepare import start_search
    from automl.store.results import load_trials
    from automl.store.run import load_run

    res = tmp_path / "results"
    space = write_space(tmp_path, "src")
    search(space, res, "--trials", 3)
    base = tempfile.mkdtemp(prefix="amlw", dir="/tmp")
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, object_store_memory=100_000_000,
             _temp_dir=base, logging_level="WARNING")
    try:
        info = start_search(space, backend="ray", study="on_ray", root=res, trials=3, scheduler="fifo",
                            max_concurrent=1, warm_start=["src"], warm_start_top=2)
    finally:
        ray.shutdown()
        shutil.rmtree(base, ignore_errors=True)
    best = sorted(study_of(res / "src").get_trials(), key=lambda t: (-t.value, t.number))[:2]
    recs = sorted(load_trials(load_run(info.run_dir)), key=lambda r: r.number)
    assert len(recs) == 3 and all(r.epochs_run > 0 for r in recs)  # Ray re-evaluates: nothing is taken
    assert [r.params for r in recs[:2]] == [t.params for t in best]
    assert [r.note.split(" (")[0] for r in recs] == [f"enqueued from src#{t.number}" for t in best] + [""]
    assert manifest(info.run_dir)["settings"]["warm_start"][0]["mode"] == "enqueued"
