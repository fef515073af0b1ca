"""The Python API end to end: the README's example (examples/api_quickstart.py) on the wine table in memory,
run as a plain script without a main guard and with two worker processes; its predictions on the raw test
rows reproduce report.json's test figure. Then predict, export, runs and compare on that run via the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import automl
from automl.cli.main import app
from automl.data import split_indices
from automl.space.errors import UserInputError

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "api_quickstart.py"
SPLIT = (0.7, 0.15, 0.15)


def _readme_block() -> str:
    text = EXAMPLE.read_text()
    return text.split("# README-BEGIN\n", 1)[1].split("# README-END", 1)[0]


def test_the_readme_shows_the_example_verbatim():
    readme = (REPO / "README.md").read_text()
    assert _readme_block().strip() in readme


@pytest.fixture(scope="module")
def wine_run(tmp_path_factory):
    """The example script run from a fresh folder, as a user runs it: python api_quickstart.py."""
    where = tmp_path_factory.mktemp("api")
    out = subprocess.run([sys.executable, str(EXAMPLE)], cwd=where, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "test accuracy:" in out.stdout
    assert out.stdout.count(" | done ") == 6  # progress: one line per finished trial, from the worker processes
    return where / "results" / "wine_api"


def _test_rows(frame: pd.DataFrame) -> np.ndarray:
    # the loader's split of a table: class ids of the sorted labels, stratified, seed 0
    ids = np.unique(frame["target"].to_numpy(), return_inverse=True)[1]
    return split_indices(ids, SPLIT, 0, True)[2]


def test_predictions_on_the_raw_test_rows_reproduce_the_report(wine_run):
    from sklearn.datasets import load_wine

    run = automl.load_run(wine_run)
    assert run.finalized and (wine_run / "preprocessor.json").is_file() and (wine_run / "data.parquet").is_file()
    report = run.report
    assert report["test_reads"] == 1
    frame = load_wine(as_frame=True).frame
    te = _test_rows(frame)
    assert len(te) == report["data"]["n_test"]
    model = automl.load_model(run)
    labels = model.predict(frame.iloc[te])
    assert labels.dtype == np.int64  # integer classes come back as integers
    accuracy = float(np.mean(labels == frame["target"].to_numpy()[te]))
    assert accuracy == pytest.approx(report["best"]["test_metrics"]["accuracy"], abs=1e-12)
    metrics = model.evaluate(frame.iloc[te], frame["target"].iloc[te])
    assert metrics["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    proba = model.predict_proba(frame.iloc[te])
    assert proba.shape == (len(te), 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert (np.asarray(model.class_names)[proba.argmax(axis=1)] == np.asarray(model.class_names)[labels]).all()
    trials = run.trials()
    assert len(trials) == 6 and set(trials["state"]) <= {"COMPLETE", "PRUNED", "FAIL"}
    assert run.best_value == trials["value"][trials["state"] == "COMPLETE"].max()
    assert run.best_config["model"]["family"] == "mlp"


def test_cli_predict_on_a_raw_csv_reproduces_the_test_figure(wine_run, tmp_path):
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    te = _test_rows(frame)
    rows = frame.iloc[te].reset_index(drop=True)
    rows.insert(0, "row_id", [f"r{i}" for i in te])
    raw_csv = tmp_path / "wine_test.csv"
    rows.iloc[::-1].to_csv(raw_csv, index=False)  # any order: the output keeps the file's
    out = tmp_path / "pred.csv"
    r = CliRunner().invoke(app, ["predict", str(wine_run), str(raw_csv), "-o", str(out), "--id-column", "row_id"])
    assert r.exit_code == 0, r.output
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["row_id", "prediction", "proba_0", "proba_1", "proba_2"]
    assert pred["row_id"].tolist() == rows["row_id"].iloc[::-1].tolist()
    truth = rows.set_index("row_id").loc[pred["row_id"], "target"].to_numpy()
    report = json.loads((wine_run / "report.json").read_text())
    assert float(np.mean(pred["prediction"].to_numpy() == truth)) == pytest.approx(
        report["best"]["test_metrics"]["accuracy"], abs=1e-12)
    r = CliRunner().invoke(app, ["predict", str(wine_run), str(raw_csv), "-o", str(out), "--id-column", "nope"])
    assert r.exit_code == 2 and "--id-column 'nope'" in r.output
    r = CliRunner().invoke(app, ["predict", str(wine_run), str(raw_csv), "-o", str(tmp_path / "p.txt")])
    assert r.exit_code == 2 and ".csv" in r.output


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_cli_export_passes_the_parity_check(wine_run, tmp_path, fmt):
    pytest.importorskip("onnxruntime") if fmt == "onnx" else None
    import torch

    from automl.export import validation_inputs

    out = tmp_path / f"wine.{fmt}"
    r = CliRunner().invoke(app, ["export", str(wine_run), "--format", fmt, "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "within 1e-05" in r.output and out.is_file()
    assert (tmp_path / f"wine.{fmt}.preprocessor.json").is_file()
    # independently of the command's own check: the file's outputs equal the module's
    x = validation_inputs(wine_run)
    ref = automl.load_model(wine_run).module(x).detach().numpy()
    if fmt == "torchscript":
        got = torch.jit.load(str(out))(x).detach().numpy()
    else:
        import onnxruntime as ort

        got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
    assert got.shape == ref.shape and np.max(np.abs(got - ref)) <= 1e-5


def test_cli_export_refuses_an_unknown_format(wine_run, tmp_path):
    r = CliRunner().invoke(app, ["export", str(wine_run), "--format", "tflite", "-o", str(tmp_path / "m")])
    assert r.exit_code == 2 and "'tflite'" in r.output and "torchscript, onnx" in r.output


def test_runs_and_compare(wine_run, tmp_path):
    root = wine_run.parent
    r = CliRunner().invoke(app, ["runs", "--results-dir", str(root), "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    report = json.loads((wine_run / "report.json").read_text())
    (row,) = [x for x in rows if x["name"] == "wine_api"]
    assert row["backend"] == "optuna" and row["finalized"] is True and row["test_reads"] == 1
    assert sum(row["trials"].values()) == 6 and row["best_val"] == automl.load_run(wine_run).best_value
    assert row["test_value"] == report["best"]["test_metrics"]["accuracy"] and row["test_metric"] == "accuracy"
    assert row["size_bytes"] > (wine_run / "model.pt").stat().st_size
    table = CliRunner().invoke(app, ["runs", "--results-dir", str(root)])
    assert table.exit_code == 0 and "wine_api" in table.output
    r = CliRunner().invoke(app, ["compare", str(wine_run), str(wine_run), "--json"])
    assert r.exit_code == 0, r.output
    cols = json.loads(r.output)
    assert len(cols) == 2 and cols[0]["test_value"] == row["test_value"]
    assert "params" in cols[0] and cols[0]["params"] == report["best"]["params"]
    assert cols[0]["n_params"] == report["model"]["total_params"] > 0
    r = CliRunner().invoke(app, ["compare", str(wine_run), str(tmp_path / "missing")])
    assert r.exit_code == 2 and "No run found" in r.output
    r = CliRunner().invoke(app, ["compare", str(wine_run)])
    assert r.exit_code == 2 and "at least two" in r.output


def test_version_flag():
    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"automl {automl.__version__}"
    import importlib.metadata as md

    assert automl.__version__ == md.version("automl")


def test_search_refuses_bad_data_and_existing_runs_before_writing(tmp_path):
    space = {"name": "x", "dataset": {"name": "wine"}, "model": {"family": "mlp"}}
    with pytest.raises(UserInputError, match="data must be a pandas DataFrame"):
        automl.search(space, data=[1, 2, 3], results_dir=tmp_path)
    with pytest.raises(UserInputError, match="X has 3 rows but y has 2"):
        automl.search(space, data=(np.zeros((3, 2)), np.zeros(2)), results_dir=tmp_path)
    with pytest.raises(UserInputError, match="space must be a YAML path"):
        automl.search(42, results_dir=tmp_path)
    assert not (tmp_path / "x").exists()  # nothing half-made left behind
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "manifest.json").write_text("{}")
    with pytest.raises(UserInputError, match="already holds study 'y'"):
        automl.search({**space, "name": "y"}, results_dir=tmp_path)


def test_regression_from_numpy_arrays_predicts_in_the_targets_units(tmp_path):
    """(X, y) arrays in memory (saved as data.npz), a standardized regression target: predictions come back
    in the target's own units and reproduce the report's test RMSE in those units."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    space = {"name": "diabetes_api", "dataset": {"split": {"train": 0.8, "val": 0.1, "test": 0.1}},
             "objective": {"metric": "val_rmse", "direction": "minimize"},
             "model": {"family": "mlp", "n_dense_blocks": 1, "dense_blocks": {"units": 32}},
             "training": {"lr": {"low": 1.0e-3, "high": 1.0e-2, "log": True}, "max_epochs": 5}}
    run = automl.search(space, data=(x, y), trials=2, pruner="none", results_dir=tmp_path,
                        progress=False)
    assert (run.path / "data.npz").is_file()
    report = run.finalize(select=False)
    model = automl.load_model(run)
    assert model.task == "regression"
    te = split_indices(y, (0.8, 0.1, 0.1), 0, False)[2]
    pred = model.predict(x[te])
    assert pred.shape == (len(te),) and abs(pred.mean() - y.mean()) < 3 * y.std()  # not standardized units
    rmse = float(np.sqrt(np.mean((pred - y[te]) ** 2)))
    assert rmse == pytest.approx(report["best"]["test_metrics"]["rmse_original_units"], rel=1e-5)
    assert model.evaluate(x[te], y[te])["rmse"] == pytest.approx(report["best"]["test_metrics"]["rmse"], rel=1e-6)
    with pytest.raises(UserInputError, match="regression model"):
        model.predict_proba(x[:2])
