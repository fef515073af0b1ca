"""Your own model: a 1D ResNet factory written here into a temporary folder (not on the Python path) is searched
on MNIST-1D through both backends (Optuna worker processes and Ray trials re-import it by its name), finalized,
predicted through `automl predict` and exported; bad factories stop the search before any trial with exit 2."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import automl
from automl.cli.main import app
from automl.data import subsample_indices
from automl.data.builtin import mnist1d_arrays
from automl.space.errors import UserInputError

pytestmark = pytest.mark.slow
SUBSAMPLE = 1000

RESNET = '''
from torch import nn


class Block(nn.Module):
    def __init__(self, c_in, c_out, k):
        super().__init__()
        self.body = nn.Sequential(nn.Conv1d(c_in, c_out, k, padding=k // 2), nn.BatchNorm1d(c_out), nn.ReLU(),
                                  nn.Conv1d(c_out, c_out, k, padding=k // 2), nn.BatchNorm1d(c_out))
        self.skip = nn.Identity() if c_in == c_out else nn.Conv1d(c_in, c_out, 1)

    def forward(self, x):
        return nn.functional.relu(self.body(x) + self.skip(x))


class ResNet1d(nn.Module):
    def __init__(self, c_in, width, depth, k, n_out):
        super().__init__()
        self.blocks = nn.Sequential(*[Block(c_in if i == 0 else width, width, k) for i in range(depth)])
        self.head = nn.Linear(width, n_out)

    def forward(self, x):
        return self.head(self.blocks(x).mean(dim=-1))


def build(config, data_spec):
    m = config["model"]
    assert "factory" not in m and "factory_path" not in m  # only the factory's own hyperparameters
    assert set(config["training"]) >= {"lr", "max_epochs"}
    return ResNet1d(data_spec.input_shape[0], m["width"], m["depth"], m["kernel_size"], data_spec.n_classes)
'''

SPACE = """\
name: {name}
dataset: {{name: mnist1d, subsample: {subsample}, split: {{val: 0.2, seed: 0}}}}
objective: {{metric: val_accuracy, direction: maximize}}
model:
  factory: {factory}
  width: {{low: 8, high: 16, log: true}}
  depth: {{choices: [1, 2]}}
  kernel_size: {{choices: [3, 5]}}
training:
  optimizer: adam
  lr: {{low: 3.0e-3, high: 1.0e-2, log: true}}
  batch_size: 64
  max_epochs: 2
  patience: 0
search: {{seed: 0, sampler: random, pruner: none}}
"""


@pytest.fixture(scope="module")
def user_code(tmp_path_factory):
    """A folder with the factory module and the space, neither on sys.path; sys.path/modules restored after."""
    folder = tmp_path_factory.mktemp("user_code")
    (folder / "fx_resnet.py").write_text(RESNET)
    path, modules = list(sys.path), set(sys.modules)
    yield folder
    sys.path[:] = path
    for m in set(sys.modules) - modules:
        if m.startswith("fx_"):
            del sys.modules[m]


def write_space(folder: Path, name: str, factory: str = "fx_resnet:build") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(SPACE.format(name=name, factory=factory, subsample=SUBSAMPLE))
    return path


def cli(*args: object, ok: bool = True):
    r = CliRunner().invoke(app, [str(a) for a in args])
    if ok:
        assert r.exit_code == 0, r.output + repr(r.exception)
    return r


def mnist1d_test_rows() -> tuple[np.ndarray, np.ndarray]:
    """The raw MNIST-1D test rows a SUBSAMPLE-row run keeps: its stratified share of the package's fixed 1000."""
    a = mnist1d_arrays()
    n_pool = max(1, round(SUBSAMPLE * len(a["x"]) / (len(a["x"]) + len(a["x_test"]))))
    te = subsample_indices(a["y_test"], SUBSAMPLE - n_pool, 0, True)
    return a["x_test"][te], a["y_test"][te]



@pytest.fixture(scope="module")
def optuna_run(user_code, tmp_path_factory, monkeypatch_module):
    """Searched from another folder with 2 Optuna worker processes, each importing the factory on its own."""
    space = write_space(user_code, "fx_optuna")
    elsewhere = tmp_path_factory.mktemp("cwd")
    monkeypatch_module.chdir(elsewhere)
    cli("search", space, "--trials", 3, "--workers", 2, "--selection", "best", "--results-dir", elsewhere / "results")
    return elsewhere / "results" / "fx_optuna"


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_optuna_search_finalize_and_cli_predict_reproduce_the_test_figure(optuna_run, tmp_path):
    run = automl.load_run(optuna_run)
    trials = run.trials()
    # the budget is shared; a worker that started its trial just before the count was reached may add one
    assert 3 <= len(trials) <= 4 and set(trials["state"]) == {"COMPLETE"}, trials[["state", "reason"]]
    pids = {int(str(w).rpartition(":")[2]) for w in trials["worker"]}
    assert pids and os.getpid() not in pids  # worker processes imported the factory on their own
    report = run.report
    model = report["best"]["config"]["model"]
    assert model["factory"] == "fx_resnet:build"
    assert Path(model["factory_path"]).is_absolute() and (Path(model["factory_path"]) / "fx_resnet.py").is_file()
    assert {"width", "depth", "kernel_size"} <= set(model)
    x, y = mnist1d_test_rows()
    assert len(y) == report["data"]["n_test"]
    rows = tmp_path / "rows.npz"
    np.savez(rows, x=x)
    out = tmp_path / "pred.csv"
    cli("predict", optuna_run, rows, "-o", out)
    pred = pd.read_csv(out)
    accuracy = float(np.mean(pred["prediction"].to_numpy() == y))
    assert accuracy == pytest.approx(report["best"]["test_metrics"]["accuracy"], abs=1e-12)
    assert accuracy > 0.2  # learned something in 2 epochs (10 classes: chance is 0.1)
    assert type(automl.load_model(run).module).__name__ == "ResNet1d"


def test_export_torchscript_of_a_factory_model(optuna_run, tmp_path):
    import torch

    from automl.export import validation_inputs

    out = tmp_path / "resnet.pt"
    r = cli("export", optuna_run, "--format", "torchscript", "-o", out)
    assert "within 1e-05" in r.output
    x = validation_inputs(optuna_run)
    ref = automl.load_model(optuna_run).module(x).detach().numpy()
    got = torch.jit.load(str(out))(x).detach().numpy()
    assert got.shape == ref.shape == (len(x), 10) and np.max(np.abs(got - ref)) <= 1e-5


def test_ray_backend_searches_the_same_factory(user_code, tmp_path, monkeypatch):
    pytest.importorskip("ray.tune")
    space = write_space(user_code, "fx_ray")
    monkeypatch.chdir(tmp_path)
    cli("search", space, "--backend", "ray", "--trials", 3, "--max-concurrent", 2, "--scheduler", "asha",
        "--selection", "best", "--results-dir", tmp_path / "results")
    run = automl.load_run(tmp_path / "results" / "fx_ray")
    trials = run.trials()  # in Ray worker processes, under the ASHA scheduler
    assert len(trials) == 3 and set(trials["state"]) <= {"COMPLETE", "PRUNED"}, trials[["state", "reason"]]
    assert (trials["state"] == "COMPLETE").any()
    assert run.report["best"]["config"]["model"]["factory"] == "fx_resnet:build"
    x, y = mnist1d_test_rows()
    acc = float(np.mean(run.load_model().predict(x).astype(int) == y))
    assert acc == pytest.approx(run.report["best"]["test_metrics"]["accuracy"], abs=1e-12)


def test_python_api_takes_the_factory_function(user_code, tmp_path):
    sys.path.insert(0, str(user_code))
    import fx_resnet

    sys.path.remove(str(user_code))  # the run must find it again by the function's module folder
    space = {"name": "fx_api", "dataset": {"name": "mnist1d", "subsample": 600, "split": {"val": 0.2, "seed": 0}},
             "model": {"width": 8, "depth": 1, "kernel_size": {"choices": [3, 5]}},
             "training": {"optimizer": "adam", "lr": 0.005, "batch_size": 64, "max_epochs": 1}}
    run = automl.search(space, model=fx_resnet.build, trials=2, results_dir=tmp_path / "results", progress=False)
    assert set(run.trials()["state"]) == {"COMPLETE"}
    assert run.best_config["model"]["factory"] == "fx_resnet:build"
    assert run.best_config["model"]["factory_path"] == str(user_code.resolve())
    saved = (run.path / "space.yaml").read_text()
    assert str(user_code.resolve()) in saved  # the run's own copy pins the folder


def test_python_api_refuses_a_factory_it_cannot_reimport(tmp_path):
    def build(config, data_spec):  # a nested function: no module path leads back to it
        raise AssertionError("never called")

    with pytest.raises(UserInputError, match="re-import"):
        automl.search({"dataset": {"name": "mnist1d"}}, model=build, trials=1, results_dir=tmp_path, progress=False)
    assert not (tmp_path / "search").exists()


BAD = {
    "not importable": ("fx_nowhere:build", None, ["'fx_nowhere:build'", "not importable", "fx_nowhere.py"]),
    "no such function": ("fx_resnet:buidl", None, ["'fx_resnet:buidl'", "has no 'buidl'", "build"]),
    "wrong signature": ("fx_sig:build", "def build(config):\n    raise AssertionError\n",
                        ["'fx_sig:build'", "build(config)", "build(config, data_spec)"]),
    "not a module": ("fx_nonmod:build", "def build(config, data_spec):\n    return [1, 2]\n",
                     ["'fx_nonmod:build'", "returned list", "not a torch nn.Module"]),
    "wrong output shape": ("fx_shape:build", textwrap.dedent("""\
        from torch import nn
        def build(config, data_spec):
            return nn.Sequential(nn.Flatten(), nn.Linear(40, 3))
        """), ["'fx_shape:build'", "to (2, 3)", "expects a tensor shaped (2, 10)"]),
    "raises": ("fx_raises:build", "def build(config, data_spec):\n    raise KeyError('widht')\n",
               ["'fx_raises:build'", "KeyError", "widht"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_factory_exits_2_before_any_trial(user_code, tmp_path, case):
    factory, source, needles = BAD[case]
    if source is not None:
        (user_code / f"{factory.split(':')[0]}.py").write_text(source)
    space = write_space(user_code, f"fx_bad_{case.replace(' ', '_')}", factory)
    r = cli("search", space, "--trials", 1, "--results-dir", tmp_path / "results", ok=False)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    text = " ".join(r.output.split())
    for needle in needles:
        assert needle in text, (needle, r.output)
    assert not (tmp_path / "results").exists()  # no run dir, no trial


def test_validate_reports_factory_problems_with_the_space_file(user_code):
    space = write_space(user_code, "fx_validate", "fx_nowhere:build")
    r = cli("spaces", "validate", space, ok=False)
    assert r.exit_code == 2 and "model.factory" in r.output and "not importable" in r.output
    bad = user_code / "fx_mixed.yaml"
    bad.write_text(SPACE.format(name="m", factory="'not a name'", subsample=100).replace(
        "  width:", "  family: cnn\n  width:"))
    r = cli("spaces", "validate", bad, ok=False)
    assert r.exit_code == 2
    assert "model.factory: 'not a name' is not a factory name" in r.output
    assert "model.family: a built-in family key cannot be combined" in r.output
    assert "OK" in cli("spaces", "validate", write_space(user_code, "fx_good")).output


def test_built_in_families_still_reject_unknown_model_keys():
    from automl.space import parse_space
    from automl.space.errors import SpaceError

    with pytest.raises(SpaceError, match=r"model\.width: unknown key"):
        parse_space({"dataset": {"name": "wine"}, "model": {"family": "mlp", "width": 3}})


def test_the_example_factory_fits_mnist1d_for_every_sampled_shape():
    """examples/custom_model.yaml + my_models.py: valid, and each sampled config passes the start-of-search check."""
    import torch

    from automl.data import load_dataset
    from automl.models import build_model, check_feasible
    from automl.models.factory import check_factory
    from automl.space import RandomSuggest, load_space, sample

    space = load_space(Path(__file__).resolve().parents[1] / "examples" / "custom_model.yaml")
    spec = load_dataset(space.dataset, base_dir=space.base_dir).spec
    rng = RandomSuggest(0)
    seen = set()
    for _ in range(6):
        config = sample(space.space, rng).config
        assert config["model"]["factory"] == "my_models:build" and check_feasible(config, spec) is None
        assert check_factory(config, spec)
        m = config["model"]
        seen.add((m["depth"], "dropout" in m))
        model = build_model(config, spec)
        assert model(torch.zeros(3, 1, 40)).shape == (3, 10)
    assert {d for d, _ in seen} == {2, 3} and all(has == (d == 3) for d, has in seen)  # the `when:` condition
