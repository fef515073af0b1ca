"""Search-space language: parsing, validation messages, sampling, converters (property-tested)."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automl.space import (
    Categorical,
    Fixed,
    Float,
    Int,
    RandomSuggest,
    SpaceError,
    config_from_params,
    flatten_config,
    grid_values,
    load_space,
    optuna_distributions,
    parse_space,
    sample,
)
from automl.space.schema import DENSE_KEYS, TRAINING_KEYS

ROOT = Path(__file__).resolve().parents[1]
SPACES = sorted((ROOT / "search_spaces").glob("*.yaml"))
optuna.logging.set_verbosity(optuna.logging.WARNING)


def minimal(**sections):
    return {"name": "t", "dataset": {"name": "mnist1d"}, **sections}


# --- parsing ------------------------------------------------------------------------------------------------

def test_shipped_spaces_are_valid():
    assert len(SPACES) >= 6
    for f in SPACES:
        s = load_space(f)
        assert s.space.iter_params(), f


def test_parameter_kinds():
    s = parse_space(minimal(training={
        "lr": {"low": 1e-4, "high": 1e-1, "log": True},
        "batch_size": {"type": "int", "low": 16, "high": 128, "step": 16},
        "optimizer": {"choices": ["adam", "sgd"]},
        "max_epochs": 7,
        "momentum": {"value": 0.9, "when": {"optimizer": "sgd"}},
    }))
    params = dict(s.space.iter_params())
    assert params["training.lr"].dist == Float(1e-4, 1e-1, log=True)
    assert params["training.batch_size"].dist == Int(16, 128, step=16)
    assert params["training.optimizer"].dist == Categorical(("adam", "sgd"))
    assert params["training.max_epochs"].dist == Fixed(7)
    assert params["training.momentum"].when[0].path == "training.optimizer"


def test_yaml_reads_exponent_floats(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("dataset: {name: mnist1d}\ntraining:\n  lr: {low: 1e-4, high: 1e-1, log: true}\n")
    s = load_space(f)
    assert dict(s.space.iter_params())["training.lr"].dist.low == pytest.approx(1e-4)
    assert s.name == "s"


def test_conditionals_only_when_parent_takes_value():
    s = parse_space(minimal(training={
        "optimizer": {"choices": ["sgd", "rmsprop", "adadelta", "adam"]},
        "momentum": {"low": 0.8, "high": 0.99, "when": {"optimizer": "sgd"}},
        "nesterov": {"choices": [True, False], "when": {"momentum": [0.9]}},  # never exactly 0.9 -> never active
        "rho": {"low": 0.8, "high": 0.99, "when": {"optimizer": ["rmsprop", "adadelta"]}},
    }))
    seen = set()
    for seed in range(60):
        cfg = sample(s.space, RandomSuggest(seed)).config["training"]
        seen.add(cfg["optimizer"])
        assert ("momentum" in cfg) == (cfg["optimizer"] == "sgd")
        assert ("rho" in cfg) == (cfg["optimizer"] in ("rmsprop", "adadelta"))
        assert "nesterov" not in cfg
    assert seen == {"sgd", "rmsprop", "adadelta", "adam"}


def test_repeated_groups_and_shared_values():
    s = parse_space(minimal(model={
        "family": "cnn",
        "n_conv_blocks": {"low": 1, "high": 4},
        "conv_blocks": {
            "shared": ["activation"],
            "filters": {"low": 8, "high": 64},
            "activation": {"choices": ["relu", "gelu", "tanh"]},
            "pool": {"choices": ["none", "max"]},
            "pool_size": {"choices": [2, 3], "when": {"pool": "max"}},
        },
    }))
    counts = set()
    for seed in range(50):
        smp = sample(s.space, RandomSuggest(seed))
        m = smp.config["model"]
        counts.add(m["n_conv_blocks"])
        assert len(m["conv_blocks"]) == m["n_conv_blocks"]
        assert len({b["activation"] for b in m["conv_blocks"]}) == 1  # shared
        assert "model.conv_blocks.activation" in smp.params
        for i, b in enumerate(m["conv_blocks"]):
            assert ("pool_size" in b) == (b["pool"] == "max")
            assert f"model.conv_blocks.{i}.filters" in smp.params
        assert f"model.conv_blocks.{m['n_conv_blocks']}.filters" not in smp.params
    assert counts == {1, 2, 3, 4}


def test_count_without_block_gives_default_layers():
    s = parse_space(minimal(model={"n_dense_blocks": 3}))
    assert sample(s.space, RandomSuggest(0)).config["model"]["dense_blocks"] == [{}, {}, {}]


# --- errors -------------------------------------------------------------------------------------------------

BAD = [
    ({"model": {"famly": "cnn"}}, "model.famly", 'did you mean "family"'),
    ({"training": {"lr": {"low": 0.1, "high": 0.01}}}, "training.lr", "greater than high"),
    ({"training": {"lr": {"low": 0.0, "high": 0.1, "log": True}}}, "training.lr.low", "(0, 100]"),
    ({"training": {"momentum": {"low": -1.0, "high": 0.5}}}, "training.momentum.low", "out of range"),
    ({"training": {"optimizer": {"choices": []}}}, "training.optimizer.choices", "non-empty list"),
    ({"training": {"optimizer": {"choices": ["adam", "adma"]}}}, "training.optimizer.choices[1]", 'did you mean "adam"'),
    ({"training": {"batch_size": "big"}}, "training.batch_size", "expected an integer"),
    ({"training": {"batch_size": 3.5}}, "training.batch_size", "expected an integer"),
    ({"training": {"momentum": {"value": 0.9, "when": {"optimiser": "sgd"}}}}, "training.momentum.when.optimiser", "does not exist"),
    ({"training": {"optimizer": {"choices": ["sgd"]}, "momentum": {"value": 0.9, "when": {"optimizer": "sgdd"}}}},
     "training.momentum.when.optimizer", "never taken"),
    ({"model": {"conv_blocks": {"filters": 8}}}, "model.conv_blocks", "n_conv_blocks"),
    ({"model": {"n_conv_blocks": 2, "conv_blocks": {"shared": ["filtres"]}}}, "model.conv_blocks.shared", 'did you mean "filters"'),
    ({"training": {"lr": [0.1, 0.01]}}, "training.lr", "{choices:"),
    ({"training": {"lr": {"low": 0.1}}}, "training.lr.high", "missing"),
    ({"training": {"lr": {"type": "floot", "low": 0.1, "high": 1}}}, "training.lr.type", 'did you mean "float"'),
    ({"training": {"batch_size": {"type": "float", "low": 1, "high": 2}}}, "training.batch_size.type", "integer key"),
    ({"objective": {"metric": "val_acuracy"}}, "objective.metric", 'did you mean "val_accuracy"'),
    ({"training": {"batch_size": {"low": 8, "high": 83, "step": 7}}}, "training.batch_size.high", "use high: 78"),
    ({"task": "clasification"}, "task", "multiclass"),
    ({"dataset": None}, "dataset", "built-in dataset"),
    ({"model": {"n_conv_blocks": {"choices": ["a"]}}}, "model.n_conv_blocks.choices[0]", "integer"),
    ({"training": {"optimizer": {"value": "sgd", "when": {"optimizer": "sgd"}}}}, "training.optimizer.when", "itself"),
]


@pytest.mark.parametrize(("patch", "path", "needle"), BAD)
def test_errors_name_field_value_and_allowed(patch, path, needle):
    doc = minimal()
    doc.update(patch)
    with pytest.raises(SpaceError) as ei:
        parse_space(doc, "bad.yaml")
    msg = str(ei.value)
    assert "bad.yaml" in msg
    assert any(i.path == path for i in ei.value.issues), msg
    assert needle in msg


def test_all_problems_reported_at_once():
    doc = minimal(model={"famly": 1, "init": "he"}, training={"lr": {"low": 1, "high": 0}, "optimizr": "adam"})
    with pytest.raises(SpaceError) as ei:
        parse_space(doc, "x.yaml")
    assert len(ei.value.issues) == 4


def test_malformed_yaml_names_line(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text("name: x\nmodel: {a: [1, 2\n")
    with pytest.raises(SpaceError) as ei:
        load_space(f)
    assert "broken.yaml" in str(ei.value) and "line 3" in str(ei.value)


def test_yaml_is_loaded_safely(tmp_path):
    f = tmp_path / "evil.yaml"
    f.write_text("name: !!python/object/apply:os.system ['echo pwned']\ndataset: {name: mnist1d}\n")
    with pytest.raises(SpaceError) as ei:
        load_space(f)
    assert "malformed YAML" in str(ei.value)


def test_missing_file():
    with pytest.raises(SpaceError, match="file not found"):
        load_space("/nonexistent/space.yaml")


# --- property tests: random spaces, sampled by RandomSuggest and by Optuna define-by-run --------------------

_enum_keys = {k: v for k, v in {**__import__("automl.space.schema", fromlist=["x"]).TRAINING_KEYS}.items() if v.kind == "enum"}


@st.composite
def float_spec(draw, lo=1e-5, hi=1.0):
    a = draw(st.floats(lo, hi, allow_nan=False))
    b = draw(st.floats(lo, hi, allow_nan=False))
    return {"low": min(a, b), "high": max(a, b), "log": draw(st.booleans())}


@st.composite
def random_space(draw):
    step = draw(st.integers(1, 8))
    opt_choices = draw(st.lists(st.sampled_from(TRAINING_KEYS["optimizer"].choices), min_size=1, max_size=5, unique=True))
    cond_on = draw(st.sampled_from(opt_choices))
    training = {
        "optimizer": {"choices": opt_choices},
        "lr": draw(float_spec()),
        "momentum": {**draw(float_spec(0.0, 0.99)), "log": False, "when": {"optimizer": cond_on}},
        "batch_size": {"type": "int", "low": 8, "high": 8 + step * draw(st.integers(0, 60)), "step": step},
        "schedule": {"choices": draw(st.lists(st.sampled_from(TRAINING_KEYS["schedule"].choices), min_size=1, max_size=3, unique=True))},
    }
    hi = draw(st.integers(0, 4))
    model = {
        "family": "cnn",
        "n_conv_blocks": {"low": draw(st.integers(0, hi)), "high": hi},
        "conv_blocks": {
            "shared": draw(st.lists(st.sampled_from(["activation", "kernel_size", "pool"]), unique=True, max_size=2)),
            "filters": {"low": 4, "high": 64, "log": draw(st.booleans())},
            "kernel_size": {"choices": draw(st.lists(st.integers(1, 9), min_size=1, max_size=4, unique=True))},
            "activation": {"choices": draw(st.lists(st.sampled_from(DENSE_KEYS["activation"].choices), min_size=1, max_size=3, unique=True))},
            "pool": {"choices": ["none", "max", "avg"]},
            "pool_size": {"choices": [2, 3], "when": {"pool": ["max", "avg"]}},
            "dropout": {"low": 0.0, "high": 0.5},
        },
    }
    return minimal(model=model, training=training)


def _check_inside(space, smp):
    """Every sampled value lies in its declared distribution; inactive parameters are absent."""
    params = dict(space.iter_params())
    for name, value in smp.params.items():
        generic = name
        if name not in params:
            raise AssertionError(f"{name} sampled but not declared")
        dist = params[generic].dist
        if isinstance(dist, Float):
            assert dist.low - 1e-9 <= value <= dist.high + 1e-9, (name, value)
        else:
            assert dist.contains(value), (name, value, dist)
    t = smp.config["training"]
    cond = next(c for c in params["training.momentum"].when)
    assert ("momentum" in t) == (t["optimizer"] in cond.values)
    m = smp.config["model"]
    assert len(m["conv_blocks"]) == m["n_conv_blocks"]
    for b in m["conv_blocks"]:
        assert ("pool_size" in b) == (b["pool"] in ("max", "avg"))
    # the flat params rebuild exactly the same nested config
    assert config_from_params(space, smp.params) == smp.config
    flat = flatten_config(smp.config)
    for k, v in smp.params.items():
        if ".conv_blocks." in k and k.count(".") == 2:  # shared: copied into every layer
            continue
        assert flat[k] == v


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_space(), st.integers(0, 2**31 - 1))
def test_property_random_sampling_stays_inside(doc, seed):
    s = parse_space(doc)
    _check_inside(s.space, sample(s.space, RandomSuggest(seed)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_space(), st.integers(0, 1000))
def test_property_optuna_define_by_run_stays_inside(doc, seed):
    s = parse_space(doc)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=3))
    dists = optuna_distributions(s.space)
    for _ in range(6):
        trial = study.ask()
        smp = sample(s.space, trial)
        _check_inside(s.space, smp)
        for name, value in trial.params.items():  # Optuna's own view agrees with the converter
            assert dists[name]._contains(dists[name].to_internal_repr(value)), (name, value)
        study.tell(trial, float(len(smp.params)))


def test_optuna_same_seed_same_sequence():
    s = load_space(ROOT / "search_spaces" / "mnist1d_cnn.yaml")

    def run(seed):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=2))
        out = []
        for i in range(5):
            t = study.ask()
            out.append(sample(s.space, t).params)
            study.tell(t, float(i))
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_grid_values_cover_categoricals_and_ranges():
    s = load_space(ROOT / "search_spaces" / "textbook_reference.yaml")
    g = grid_values(s.space)
    assert g["training.lr"] == [0.1, 0.01, 0.001, 0.0001]
    assert g["training.momentum"] == [0.8, 0.9, 0.95]
    assert set(g["model.dense_blocks.dropout"]) == {0.1, 0.25, 0.5, 0.75}
    f = Float(1e-4, 1e-2, log=True).values(3)
    assert [round(math.log10(v)) for v in f] == [-4, -3, -2]
    assert Int(1, 10, step=1).values(4) == [1, 4, 7, 10]


def test_every_space_file_is_plain_safe_yaml():
    for f in SPACES:
        assert isinstance(yaml.safe_load(f.read_text()), dict)
