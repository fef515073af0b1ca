"""`automl spaces validate` refuses what `automl search` refuses (the dataset section, the data file, its
columns, the task and objective the data allows), all at once; conditions on an invalid parameter; `--data PATH`
for search and validate (the shipped hemolytic space without its file); the generated key reference.

Real files in tmp_path, real CLI (Typer's CliRunner), real (tiny) searches.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from automl.cli.main import app
from automl.space import SpaceError, parse_space

ROOT = Path(__file__).resolve().parents[1]
HEMOLYTIC = ROOT.parent / "shared" / "data" / "hemolytic.npz"


def cli(*args, code: int = 0):
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == code, f"automl {' '.join(map(str, args))} -> {res.exit_code}, wanted {code}\n{res.output}"
    assert "Traceback" not in res.output
    return res


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def wine_csv(tmp_path_factory) -> Path:
    """The wine table (multiclass, 3 classes) as a CSV with a `target` column."""
    from sklearn.datasets import load_wine

    path = tmp_path_factory.mktemp("data") / "wine.csv"
    load_wine(as_frame=True).frame.to_csv(path, index=False)
    return path


def write_space(tmp: Path, name: str = "s", **sections) -> Path:
    doc: dict = {
        "name": name,
        "dataset": {"name": "wine"},
        "objective": {"metric": "val_accuracy"},
        "model": {"family": "mlp", "n_dense_blocks": 1, "dense_blocks": {"units": {"low": 4, "high": 8}}},
        "training": {"optimizer": "adam", "lr": {"low": 1e-3, "high": 1e-1, "log": True}, "batch_size": 32,
                     "max_epochs": 2, "patience": 2},
    }
    doc.update(sections)
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def tiny_hemolytic(path: Path, n: int = 20, length: int = 24) -> Path:
    """An NPZ with hemolytic.npz's layout: `positives` and `negatives`, one-hot (N, L, 20), zero rows = padding."""
    rng = np.random.default_rng(0)

    def one_hot(k: int) -> np.ndarray:
        a = np.zeros((k, length, 20))
        for i, n_res in enumerate(rng.integers(8, length, k)):
            a[i, np.arange(n_res), rng.integers(0, 20, n_res)] = 1.0
        return a

    np.savez(path, positives=one_hot(n), negatives=one_hot(n))
    return path


# --- validate says what search says ---------------------------------------------------------------------------

def _cases(csv: Path) -> dict[str, tuple[dict, str, list[str]]]:
    return {
        "wrong data path": ({"dataset": {"path": "no_such.csv", "target": "target"}}, "dataset.path",
                            ["no_such.csv", "not found", "--data"]),
        "target typo": ({"dataset": {"path": str(csv), "target": "targt"}}, "dataset.target",
                        ["'targt' is not in the file", "Did you mean 'target'?"]),
        "unknown dataset key": ({"dataset": {"path": str(csv), "targets": "target"}}, "dataset.targets",
                                ['unknown key (did you mean "target"?)']),
        "split sums to 1.1": ({"dataset": {"path": str(csv), "split": {"train": 0.8, "val": 0.2, "test": 0.1}}},
                              "dataset.split", ["sum to 1.1", "must sum to 1"]),
        "val_auroc on a multiclass table": ({"dataset": {"path": str(csv), "target": "target"},
                                             "objective": {"metric": "val_auroc"}}, "objective.metric",
                                            ["'val_auroc' is not available for a multiclass task", "val_accuracy"]),
        "val_auroc on a multiclass built-in": ({"objective": {"metric": "val_auroc"}}, "objective.metric",
                                               ["multiclass"]),
        "declared task the data contradicts": ({"task": "binary"}, "task", ["'binary' does not match the data",
                                                                            "multiclass"]),
        "no config fits the data": ({"dataset": {"name": "digits"},  # 8x8 images: two valid 7x7 convs never fit
                                     "model": {"family": "cnn", "n_conv_blocks": 2,
                                               "conv_blocks": {"kernel_size": 7, "padding": "valid"}}},
                                    "model", ["none of 200 sampled configs is feasible", "(1, 8, 8)"]),
    }


CASES = ["wrong data path", "target typo", "unknown dataset key", "split sums to 1.1",
         "val_auroc on a multiclass table", "val_auroc on a multiclass built-in", "declared task the data contradicts",
         "no config fits the data"]


@pytest.mark.parametrize("case", CASES)
def test_validate_refuses_what_search_refuses(case, wine_csv, tmp_path):
    patch, field, needles = _cases(wine_csv)[case]
    space = write_space(tmp_path, **patch)
    out = one_line(cli("spaces", "validate", space, code=2).output)
    assert f"- {field}:" in out, out
    for n in needles:
        assert n in out, (n, out)
    searched = one_line(cli("search", space, "--trials", 1, "--results-dir", tmp_path / "res", code=2).output)
    assert field.split(".")[-1] in searched or needles[0] in searched, searched
    assert not (tmp_path / "res").exists()


def test_every_problem_is_reported_at_once(wine_csv, tmp_path):
    space = write_space(tmp_path, dataset={"path": str(wine_csv), "target": "targt", "drop": ["colour"],
                                           "split": {"train": 0.8, "val": 0.2, "test": 0.1}},
                        training={"optimizer": "Adam", "momentum": {"value": 0.9, "when": {"optimizer": "sgd"}}})
    out = cli("spaces", "validate", space, code=2).output
    assert "4 problems found" in out, out
    for field in ("dataset.split:", "dataset.target:", "dataset.drop:", "training.optimizer:"):
        assert f"- {field}" in out, (field, out)


def test_skip_data_checks_the_file_alone(tmp_path):
    space = write_space(tmp_path, dataset={"path": "elsewhere/table.csv", "target": "y"})
    assert "not found" in cli("spaces", "validate", space, code=2).output
    out = cli("spaces", "validate", "--skip-data", space).output
    assert "OK   " in out and "data not checked" in out
    bad = write_space(tmp_path, "bad", dataset={"path": "elsewhere/table.csv", "targets": "y"})
    assert "dataset.targets" in cli("spaces", "validate", "--skip-data", bad, code=2).output  # schema still checked


def test_tutorial_space_fits_a_binary_table_and_not_a_multiclass_one(wine_csv, tmp_path):
    """The README tutorial's space (val_auroc): fine on its binary churn table, refused on a multiclass one."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```yaml\n(\s*name: churn\n.*?)```", readme, re.S)
    assert block, "the tutorial's space is no longer in the README"
    space = tmp_path / "my_space.yaml"
    space.write_text(block.group(1))
    rng = np.random.default_rng(0)
    churn = tmp_path / "churn.csv"
    import pandas as pd

    pd.DataFrame({"tenure": rng.integers(1, 60, 80), "plan": rng.choice(["a", "b"], 80),
                  "churned": np.tile([0, 1], 40)}).to_csv(churn, index=False)
    assert "OK   " in cli("spaces", "validate", space, "--data", churn).output
    multiclass = tmp_path / "wine_churned.csv"
    pd.read_csv(wine_csv).rename(columns={"target": "churned"}).to_csv(multiclass, index=False)
    out = one_line(cli("spaces", "validate", space, "--data", multiclass, code=2).output)
    assert "objective.metric: 'val_auroc' is not available for a multiclass task" in out
    assert "OK   " in cli("spaces", "validate", ROOT / "examples" / "wine_tutorial.yaml").output


def test_shipped_spaces_validate_with_their_data():
    from automl.space.shipped import shipped_spaces

    names = [n for n in shipped_spaces() if n != "hemolytic_token_cnn" or HEMOLYTIC.is_file()]
    out = cli("spaces", "validate", *names).output
    assert out.count("OK   ") == len(names) and "data not checked" not in out
    if not HEMOLYTIC.is_file():
        pytest.skip("shared data file missing: hemolytic.npz (the other shipped spaces were checked)")


def test_validating_with_the_data_loads_no_torch():
    code = ("import sys; from automl.space.validate import validate_space; "
            "validate_space('examples/wine_tutorial.yaml'); print(sorted(m for m in ('torch', 'ray', 'optuna') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


# --- conditions on a parameter whose own value is invalid -----------------------------------------------------

@pytest.mark.parametrize(("section", "bad_path"), [
    ({"training": {"optimizer": "Adam", "momentum": {"value": 0.9, "when": {"optimizer": "sgd"}}}},
     "training.optimizer"),
    ({"training": {"optimizer": {"choices": ["sgd", "Adam"]}, "nesterov": {"value": True, "when": {"optimizer": "sgd"}}}},
     "training.optimizer.choices[1]"),
    ({"model": {"family": "cnn", "n_conv_blocks": 1,
                "conv_blocks": {"pool": "maxx", "pool_size": {"value": 2, "when": {"pool": "max"}}}}},
     "model.conv_blocks.pool"),
])
def test_a_condition_on_an_invalid_parameter_is_not_reported_missing(section, bad_path):
    doc = {"name": "t", "dataset": {"name": "wine"}, **section}
    with pytest.raises(SpaceError) as ei:
        parse_space(doc, "c.yaml")
    assert [i.path for i in ei.value.issues] == [bad_path], str(ei.value)
    assert "does not exist" not in str(ei.value)
    doc = {"name": "t", "dataset": {"name": "wine"},  # a condition on a parameter that truly is absent still is one
           "training": {"momentum": {"value": 0.9, "when": {"optimizer": "sgd"}}}}
    with pytest.raises(SpaceError, match="does not exist"):
        parse_space(doc, "c.yaml")


# --- --data PATH ------------------------------------------------------------------------------------------------

def test_shipped_hemolytic_space_without_its_file_says_to_pass_data(tmp_path):
    space = tmp_path / "hemolytic_token_cnn.yaml"  # the shipped file, away from the shared data it points at
    shutil.copy(ROOT / "search_spaces" / "hemolytic_token_cnn.yaml", space)
    for args in (("search", space, "--results-dir", tmp_path / "res"), ("spaces", "validate", space)):
        out = one_line(cli(*args, code=2).output)
        assert "hemolytic.npz' not found" in out, out
        assert "--data /path/to/hemolytic.npz" in out and "positives (class 1)" in out and "negatives (class 0)" in out
    assert not (tmp_path / "res").exists()
    npz = tiny_hemolytic(tmp_path / "mine.npz")
    assert "OK   " in cli("spaces", "validate", space, "--data", npz).output
    assert "OK   " in cli("spaces", "validate", "hemolytic_token_cnn", "--data", npz).output


def test_search_data_option_runs_on_the_given_file(wine_csv, tmp_path):
    space = write_space(tmp_path, "on_csv", dataset={"name": "wine", "split": {"train": 0.6, "val": 0.2, "test": 0.2}})
    missing = one_line(cli("search", space, "--data", tmp_path / "nope.csv", "--results-dir", tmp_path, code=2).output)
    assert "--data" in missing and "nope.csv" in missing and "does not exist" in missing
    cli("search", space, "--data", wine_csv, "--trials", 1, "--sampler", "random", "--pruner", "none",
        "--no-finalize", "--results-dir", tmp_path)
    run_space = yaml.safe_load((tmp_path / "on_csv" / "space.yaml").read_text())
    assert run_space["dataset"] == {"split": {"train": 0.6, "val": 0.2, "test": 0.2}, "path": str(wine_csv.resolve())}
    from automl.api import load_run

    assert [r.state for r in load_run(tmp_path / "on_csv").records()] == ["COMPLETE"]
    again = one_line(cli("search", space, "--data", wine_csv, "--results-dir", tmp_path, code=2).output)
    assert "already holds study 'on_csv'" in again and "automl resume" in again


def test_api_and_cli_repoint_the_dataset_by_one_rule():
    from automl.space.validate import point_at_file

    assert point_at_file({"name": "wine", "split": {"seed": 1}, "subsample": 50}, {"path": "/d.csv"}) == \
        {"split": {"seed": 1}, "subsample": 50, "path": "/d.csv"}
    assert point_at_file({"path": "a.npz", "input": "tokens", "classes": {"p": 1, "n": 0}}, {"path": "/b.npz"}) == \
        {"input": "tokens", "classes": {"p": 1, "n": 0}, "path": "/b.npz"}
    import automl.api as api

    assert not hasattr(api, "_FILE_KEYS")  # the API has no rule of its own


# --- the key reference ------------------------------------------------------------------------------------------

def test_the_key_reference_is_generated_and_up_to_date():
    from automl.data.config import DatasetConfig, SplitConfig
    from automl.space import docs
    from automl.space.schema import MODEL_KEYS, SEARCH_KEYS, TOP_KEYS, TRAINING_KEYS
    from automl.training.tasks import TASKS, metrics_for

    assert docs.main(["--check"]) == 0, "docs/CONFIG.md is stale: run python -m automl.space.docs --write"
    text = (ROOT / "docs" / "CONFIG.md").read_text()
    section = text[text.index(docs.BEGIN):text.index(docs.END)]
    from automl.models.layers import LAYERS

    keys = [*TOP_KEYS, *(k for k in DatasetConfig.model_fields if k != "split"),
            *(f"split.{k}" for k in SplitConfig.model_fields), *MODEL_KEYS, *TRAINING_KEYS, *SEARCH_KEYS,
            *(f"{LAYERS.get(n).list_key}.{k}" for n in LAYERS for k in LAYERS.get(n).keys)]
    for k in keys:
        assert f"| `{k}` |" in section, k
    for t in TASKS:
        row = next(line for line in section.splitlines() if line.startswith(f"| {t} |"))
        assert all(m in row for m in metrics_for(t)), row
    assert "val_auroc" not in next(line for line in section.splitlines() if line.startswith("| multiclass |"))
    stale = docs.replace_section(text, docs.generate().replace("| `drop` |", "| `dropped` |"))
    assert stale != text  # the check would notice an edit
