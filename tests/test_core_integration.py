"""Integration tests for the core acceptance criteria: space -> sampled config -> data -> model -> trainer.

1. every shipped space: 20 seeded random configs each train one epoch (or are infeasible with a reason;
   a failure is allowed only for a NaN loss);
2. a fixed MNIST-1D CNN reaches >= 90 % validation accuracy in < 60 s on one core;
3. the names the YAML validator accepts are exactly the names the builders implement;
4. every built-in dataset and file layout loads and trains, hemolytic.npz through its shipped space;
5. the trial objective never reads the sealed test split;
6. run_trial records infeasible configs, NaN losses and invalid values instead of raising.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from automl.data import BUILTIN_DATASETS, Dataset, SealedSplit, Split, load_dataset, resolve_path
from automl.models import ACTIVATIONS as MODEL_ACTIVATIONS
from automl.models import build_model
from automl.models import config as model_config
from automl.models.activations import canonical_activation
from automl.models.initializers import INITIALIZERS as MODEL_INITIALIZERS
from automl.models.layers import conv as conv_layer
from automl.space import RandomSuggest, SpaceError, load_space, parse_space, sample, schema
from automl.space.schema import SearchSpace
from automl.training import LOSSES, LOSSES_BY_TASK, OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler
from automl.trial import STATUSES, TrialResult, run_trial

ACTIVATION_ALIASES = MODEL_ACTIVATIONS.aliases()
INITIALIZER_ALIASES = MODEL_INITIALIZERS.aliases()


class vocab:
    """The names the YAML validator accepts, read from its keys (each comes from a registry)."""

    ACTIVATIONS = schema.DENSE_KEYS["activation"].choices
    INITIALIZERS = schema.MODEL_KEYS["init"].choices
    OPTIMIZERS = schema.TRAINING_KEYS["optimizer"].choices
    SCHEDULES = schema.TRAINING_KEYS["schedule"].choices
    LOSSES = schema.TRAINING_KEYS["loss"].choices
    LOSSES_BY_TASK = schema.LOSSES_BY_TASK
    FAMILIES = schema.MODEL_KEYS["family"].choices
    POOLS = schema.CONV_KEYS["pool"].choices
    GLOBAL_POOLS = schema.MODEL_KEYS["global_pool"].choices
    PADDINGS = schema.CONV_KEYS["padding"].choices


REPO = Path(__file__).resolve().parents[1]
SPACES_DIR = REPO / "search_spaces"
SPACE_FILES = sorted(SPACES_DIR.glob("*.yaml"))
HEMOLYTIC = Path(__file__).resolve().parents[2] / "shared" / "data" / "hemolytic.npz"

N_CONFIGS = 20  # random configs per shipped space
SUBSAMPLE = 300  # rows per dataset for the one-epoch sweep (train + val + test)


@pytest.fixture(autouse=True)
def _one_thread():
    """The machine is shared: every test here runs torch on one intra-op thread."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _requires_shared_data(space: SearchSpace) -> None:
    path = space.dataset.get("path")
    if path is not None and "shared/data" in str(path) and not HEMOLYTIC.is_file():
        pytest.skip(f"shared data file missing: {HEMOLYTIC}")


def _trial(config: dict[str, Any], ds: Dataset, **kw: Any) -> TrialResult:
    """run_trial with the objective every task reports (val_loss) unless one is given."""
    kw.setdefault("objective_metric", "val_loss")
    kw.setdefault("direction", "minimize")
    return run_trial(config, ds, **kw)


def _trained(r: TrialResult, epochs: int | None = None) -> None:
    assert r.status == "complete", f"{r.status}: {r.reason}\n{r.detail[-2000:]}"
    assert r.value is not None and math.isfinite(r.value)
    assert r.n_params > 0 and r.history
    if epochs is not None:
        assert r.epochs_run == epochs and len(r.history) == epochs


# ------------------------------------------------------------------ 1. shipped spaces x 20 random configs


def test_shipped_spaces_are_all_collected():
    names = {p.stem for p in SPACE_FILES}
    expected = {"breast_cancer_mlp", "diabetes_mlp", "digits_cnn", "hemolytic_token_cnn", "mnist1d_cnn",
                "textbook_reference"}
    assert expected <= names, f"missing shipped spaces: {expected - names}"


@pytest.mark.parametrize("space_file", SPACE_FILES, ids=lambda p: p.stem)
def test_shipped_space_random_configs_train_one_epoch(space_file: Path):
    space = load_space(space_file)
    _requires_shared_data(space)
    ds = load_dataset(space.dataset | {"subsample": SUBSAMPLE}, base_dir=space.base_dir)
    assert len(ds.train) + len(ds.val) + ds.n_test <= SUBSAMPLE
    assert space.task in (None, ds.spec.task), f"space says task {space.task}, data is {ds.spec.task}"
    objective = space.resolve_objective(ds.spec.task)

    statuses: Counter[str] = Counter()
    configs: set[str] = set()
    problems: list[str] = []
    for i in range(N_CONFIGS):
        config = sample(space.space, RandomSuggest(1000 + i)).config
        text = json.dumps(config, sort_keys=True)  # a config must round-trip through JSON
        configs.add(text)
        r = run_trial(config, ds, objective_metric=objective.metric, direction=objective.direction, seed=i,
                      max_epochs=1)
        statuses[r.status] += 1
        where = f"{space.name} config #{i} ({r.status}: {r.reason!r}): {text}"
        if r.status in ("complete", "pruned"):
            if not (r.epochs_run == 1 and len(r.history) == 1 and r.value is not None and math.isfinite(r.value)):
                problems.append(f"{where}: epochs_run={r.epochs_run}, value={r.value}")
            elif objective.metric not in r.history[0]:
                problems.append(f"{where}: objective {objective.metric} not in the epoch report {r.history[0]}")
        elif r.status == "infeasible":
            if not r.reason.strip():
                problems.append(f"{where}: infeasible without a reason")
        elif r.status == "failed":
            if "nan" not in r.reason.lower():  # a NaN loss (extreme lr) is a legitimate outcome, nothing else
                problems.append(f"{where}\n{r.detail[-1500:]}")
        else:
            problems.append(f"{where}: unknown status, expected one of {STATUSES}")
    assert not problems, "\n\n".join(problems)
    assert len(configs) == N_CONFIGS, "the seeded sampler repeated configs"
    assert statuses["complete"] + statuses["pruned"] >= 1, f"no config of {space.name} trained: {statuses}"
    assert ds.test_reads == 0


# ------------------------------------------------------------------ 2. MNIST-1D CNN: >= 90 % in < 60 s, 1 core

MNIST1D_CNN = {
    "model": {
        "family": "cnn",
        "n_conv_blocks": 3,
        "conv_blocks": [
            {"filters": f, "kernel_size": 5, "padding": "same", "activation": "relu", "batch_norm": True,
             "pool": "max", "pool_size": 2}
            for f in (32, 64, 64)
        ],
        "global_pool": "flatten",
        "n_dense_blocks": 0,
        "init": "he_normal",
    },
    "training": {"optimizer": "adam", "lr": 3e-3, "schedule": "one_cycle", "batch_size": 64, "max_epochs": 20,
                 "patience": 0},
}


@pytest.mark.slow
def test_mnist1d_cnn_reaches_90_percent_val_accuracy_in_under_60s_on_one_core(record_property):
    space = load_space(SPACES_DIR / "mnist1d_cnn.yaml")
    ds = load_dataset(space.dataset, base_dir=space.base_dir)  # cached under ~/.cache/automl after first use
    assert (len(ds.train), len(ds.val), ds.n_test) == (3600, 400, 1000)
    assert torch.get_num_threads() == 1
    t0 = time.perf_counter()
    r = run_trial(copy.deepcopy(MNIST1D_CNN), ds, objective_metric="val_accuracy", direction="maximize", seed=0)
    seconds = time.perf_counter() - t0
    record_property("mnist1d_seconds", round(seconds, 2))
    record_property("mnist1d_val_accuracy", r.value)
    print(f"\nmnist1d CNN: val_accuracy {r.value} at epoch {r.best_epoch} in {seconds:.1f} s on 1 thread")
    _trained(r, epochs=20)
    assert r.value >= 0.90, f"val_accuracy {r.value:.4f} < 0.90"
    assert seconds < 60.0, f"training took {seconds:.1f} s >= 60 s"
    assert ds.test_reads == 0


# ------------------------------------------------------------------ 3. vocabulary agreement


@pytest.fixture(scope="module")
def tiny() -> dict[str, Dataset]:
    """One small dataset per task (the one-epoch runs below take milliseconds)."""
    return {
        "binary": load_dataset({"name": "breast_cancer", "subsample": 120}),
        "multiclass": load_dataset({"name": "wine", "subsample": 120}),
        "regression": load_dataset({"name": "diabetes", "subsample": 120}),
        "image": load_dataset({"name": "digits", "subsample": 120}),
    }


def _space_with(section: str, key: str, values: list[Any], task: str = "multiclass") -> dict[str, Any]:
    doc: dict[str, Any] = {"dataset": {"name": "wine"}, "task": task, "model": {"family": "mlp"}, "training": {}}
    if section == "dense_blocks":
        doc["model"].update(n_dense_blocks=1, dense_blocks={key: {"choices": values}})
    elif section == "conv_blocks":
        doc["model"].update(family="cnn", n_conv_blocks=1, conv_blocks={key: {"choices": values}})
    else:
        doc[section][key] = {"choices": values}
    return doc


def _validator_accepts(section: str, key: str, values: list[Any], task: str = "multiclass") -> bool:
    try:
        parse_space(_space_with(section, key, values, task))
    except SpaceError:
        return False
    return True


@pytest.mark.parametrize(
    ("section", "key", "names"),
    [
        ("dense_blocks", "activation", vocab.ACTIVATIONS),
        ("conv_blocks", "activation", vocab.ACTIVATIONS),
        ("model", "init", vocab.INITIALIZERS),
        ("training", "optimizer", vocab.OPTIMIZERS),
        ("training", "schedule", vocab.SCHEDULES),
        ("model", "family", vocab.FAMILIES),
        ("conv_blocks", "pool", vocab.POOLS),
        ("model", "global_pool", vocab.GLOBAL_POOLS),
        ("conv_blocks", "padding", vocab.PADDINGS),
    ],
)
def test_validator_accepts_every_vocab_name_and_rejects_unknown(section, key, names):
    for name in names:
        assert _validator_accepts(section, key, [name]), f"validator rejects {key} {name!r}"
    with pytest.raises(SpaceError, match="definitely_not_a_name"):
        parse_space(_space_with(section, key, ["definitely_not_a_name"]))


def test_vocab_tuples_equal_the_implementations():
    assert {canonical_activation(a) for a in vocab.ACTIVATIONS} == set(vocab.ACTIVATIONS)
    assert tuple(vocab.ACTIVATIONS) == tuple(MODEL_ACTIVATIONS)
    # aliases the builder also accepts are spellings of vocab names, never extra capabilities
    assert set(ACTIVATION_ALIASES.values()) <= set(vocab.ACTIVATIONS)
    assert set(vocab.INITIALIZERS) == set(MODEL_INITIALIZERS) | set(INITIALIZER_ALIASES)
    assert set(INITIALIZER_ALIASES.values()) <= set(MODEL_INITIALIZERS)
    assert tuple(vocab.OPTIMIZERS) == tuple(OPTIMIZERS)
    assert tuple(vocab.SCHEDULES) == tuple(SCHEDULES)
    assert tuple(vocab.LOSSES) == tuple(LOSSES)
    assert vocab.LOSSES_BY_TASK == LOSSES_BY_TASK
    assert tuple(schema.CONV_KEYS["activation"].choices) == tuple(vocab.ACTIVATIONS)
    assert tuple(vocab.FAMILIES) == tuple(model_config.FAMILIES)
    assert tuple(vocab.POOLS) == tuple(conv_layer.POOLS)
    assert tuple(vocab.GLOBAL_POOLS) == tuple(model_config.GLOBAL_POOLS)
    assert tuple(vocab.PADDINGS) == tuple(conv_layer.PADDINGS)


_ACTIVATION_MODULES = {
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU, "selu": nn.SELU, "silu": nn.SiLU,
    "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "mish": nn.Mish, "softplus": nn.Softplus, "identity": None,
}


@pytest.mark.parametrize("name", vocab.ACTIVATIONS)
def test_every_activation_builds_and_trains(name, tiny):
    assert name in _ACTIVATION_MODULES, f"no expectation for the new activation {name!r}"
    for ds, config in (
        (tiny["multiclass"], {"model": {"family": "mlp", "n_dense_blocks": 2,
                                        "dense_blocks": [{"units": 16, "activation": name}] * 2}}),
        (tiny["image"], {"model": {"family": "cnn", "n_conv_blocks": 1,
                                   "conv_blocks": [{"filters": 4, "activation": name}], "n_dense_blocks": 0}}),
    ):
        model = build_model(config, ds.spec)
        kinds = {type(m) for m in model.modules()}
        expected = _ACTIVATION_MODULES[name]
        if expected is not None:
            assert expected in kinds, f"{name!r} built no {expected.__name__}"
        else:
            assert not kinds & {c for c in _ACTIVATION_MODULES.values() if c is not None}
        _trained(_trial(config, ds, max_epochs=1), epochs=1)
        assert ds.test_reads == 0


@pytest.mark.parametrize("name", vocab.INITIALIZERS)
def test_every_initializer_builds_and_trains(name, tiny):
    ds = tiny["image"]
    config = {"model": {"family": "cnn", "n_conv_blocks": 1, "conv_blocks": [{"filters": 4}], "init": name,
                        "bias_init": 0.01}}
    torch.manual_seed(0)
    default = build_model({"model": {**config["model"], "init": "default"}}, ds.spec)
    torch.manual_seed(0)  # same draws as PyTorch's init above: any difference comes from the named scheme
    model = build_model(config, ds.spec)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            assert torch.isfinite(m.weight).all()
            assert torch.all(m.bias == 0.01), "bias_init not applied"
    if name != "default":  # a named scheme must change the weights' scale or values vs PyTorch's init
        w, w0 = model.body.conv1.conv.weight, default.body.conv1.conv.weight
        assert not torch.equal(w, w0)
    _trained(_trial(config, ds, max_epochs=1), epochs=1)


_OPTIMIZER_CLASSES = {
    "sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "adadelta": torch.optim.Adadelta,
    "rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
    "adamax": torch.optim.Adamax, "nadam": torch.optim.NAdam,
}


@pytest.mark.parametrize("name", vocab.OPTIMIZERS)
def test_every_optimizer_builds_and_trains(name, tiny):
    assert name in _OPTIMIZER_CLASSES, f"no expectation for the new optimizer {name!r}"
    layer = nn.Linear(3, 2)
    opt = make_optimizer(layer.parameters(), {"optimizer": name, "lr": 0.01, "momentum": 0.5})
    assert type(opt) is _OPTIMIZER_CLASSES[name]
    before = layer.weight.detach().clone()
    layer(torch.ones(4, 3)).square().sum().backward()
    opt.step()
    assert not torch.equal(before, layer.weight) and torch.isfinite(layer.weight).all()
    config = {"model": {"family": "mlp", "dense_blocks": [{"units": 16}]},
              "training": {"optimizer": name, "lr": 0.01, "batch_size": 32}}
    _trained(_trial(config, tiny["regression"], max_epochs=2), epochs=2)


@pytest.mark.parametrize("name", vocab.SCHEDULES)
def test_every_schedule_builds_and_trains(name, tiny):
    epochs, steps = 6, 3
    opt = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
    sched = make_scheduler(opt, {"schedule": name, "step_size": 2, "gamma": 0.5, "restart_period": 2}, epochs, steps)
    assert (sched is None) == (name == "none")
    lrs = []
    for _ in range(epochs):
        for _ in range(steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if sched is not None and name == "one_cycle":
                sched.step()
        if sched is not None and name != "one_cycle":
            sched.step()
    assert all(math.isfinite(v) and 0.0 <= v <= 0.1 + 1e-12 for v in lrs), lrs
    if name not in ("none",):
        assert len(set(lrs)) > 1, f"schedule {name!r} never changed the lr"
    config = {"model": {"family": "mlp", "dense_blocks": [{"units": 16}]},
              "training": {"schedule": name, "step_size": 1, "restart_period": 2, "batch_size": 32, "max_epochs": 3,
                           "patience": 0}}
    r = _trial(config, tiny["binary"])
    _trained(r, epochs=3)
    if name != "none":
        assert len({h["lr"] for h in r.history}) > 1, f"{name!r}: lr constant across epochs {r.history}"


@pytest.mark.parametrize("name", vocab.LOSSES)
def test_every_loss_trains_on_the_tasks_it_fits(name, tiny):
    tasks = [t for t in ("binary", "multiclass", "regression") if name == "auto" or name in vocab.LOSSES_BY_TASK[t]]
    assert tasks, f"loss {name!r} fits no task"
    for task in ("binary", "multiclass", "regression"):
        config = {"model": {"family": "mlp", "dense_blocks": [{"units": 8}]},
                  "training": {"loss": name, "batch_size": 32}}
        r = _trial(config, tiny[task], max_epochs=1)
        if task in tasks:
            _trained(r, epochs=1)
            assert _validator_accepts("training", "loss", [name], task)
        else:  # the builder rejects it, so the validator must too, and run_trial records it
            assert r.status == "failed" and name in r.reason, r
            assert not _validator_accepts("training", "loss", [name], task), (
                f"validator accepts loss {name!r} for a {task} task but the trainer rejects it")


# ------------------------------------------------------------------ 4. built-ins, file layouts, hemolytic


def _default_config(ds: Dataset) -> dict[str, Any]:
    if ds.spec.input_kind == "flat":
        return {"model": {"family": "mlp", "dense_blocks": [{"units": 16}]}, "training": {"batch_size": 32}}
    return {"model": {"family": "cnn", "n_conv_blocks": 1, "embedding_dim": 4,
                      "conv_blocks": [{"filters": 4, "pool": "max"}], "global_pool": "avg", "n_dense_blocks": 0},
            "training": {"batch_size": 32}}


@pytest.mark.parametrize("name", sorted(BUILTIN_DATASETS))
def test_every_builtin_dataset_loads_and_trains(name):
    ds = load_dataset({"name": name, "subsample": 200})
    assert len(ds.train) > 0 and len(ds.val) > 0 and ds.n_test > 0
    assert tuple(ds.train.x.shape[1:]) == ds.spec.input_shape
    _trained(_trial(_default_config(ds), ds, max_epochs=1), epochs=1)
    assert ds.test_reads == 0


def _labels(n: int, k: int = 2) -> np.ndarray:
    return np.arange(n) % k


def _write_layout(layout: str, d: Path) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n = 90
    if layout in ("csv", "tsv", "parquet"):
        df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 5, n), "color": rng.choice(["r", "g"], n),
                           "label": np.where(_labels(n) == 1, "yes", "no")})
        path = d / f"t.{layout}"
        if layout == "parquet":
            df.to_parquet(path)
        else:
            df.to_csv(path, index=False, sep="\t" if layout == "tsv" else ",")
        return {"path": str(path), "target": "label"}
    path = d / "t.npz"
    if layout == "npz_flat":
        np.savez(path, x=rng.normal(size=(n, 5)), y=_labels(n, 3))
    elif layout == "npz_image":
        np.savez(path, x=rng.random((n, 8, 8)), y=_labels(n, 3))
    elif layout == "npz_sequence":
        np.savez(path, x=rng.normal(size=(n, 20)), y=rng.normal(size=n))  # regression
        return {"path": str(path), "input": "sequence"}
    elif layout == "npz_tokens":
        np.savez(path, x=rng.integers(0, 7, (n, 12)), y=_labels(n))
    elif layout == "npz_per_class":
        np.savez(path, cats=rng.normal(size=(45, 10, 4)), dogs=rng.normal(size=(45, 10, 4)))
    elif layout == "npz_fixed_test":
        np.savez(path, x=rng.normal(size=(n, 4)), y=_labels(n), x_test=rng.normal(size=(20, 4)), y_test=_labels(20))
    else:
        raise AssertionError(layout)
    return {"path": str(path)}


@pytest.mark.parametrize(
    "layout",
    ["csv", "tsv", "parquet", "npz_flat", "npz_image", "npz_sequence", "npz_tokens", "npz_per_class",
     "npz_fixed_test"],
)
def test_every_file_layout_loads_and_trains(layout, tmp_path):
    ds = load_dataset(_write_layout(layout, tmp_path))
    assert len(ds.train) > 0 and len(ds.val) > 0 and ds.n_test > 0
    _trained(_trial(_default_config(ds), ds, max_epochs=1), epochs=1)
    assert ds.test_reads == 0


def test_hemolytic_loads_as_tokens_through_its_shipped_space_and_trains():
    if not HEMOLYTIC.is_file():
        pytest.skip(f"shared data file missing: {HEMOLYTIC}")
    space = load_space(SPACES_DIR / "hemolytic_token_cnn.yaml")
    assert resolve_path(space.dataset["path"], space.base_dir) == HEMOLYTIC.resolve()
    ds = load_dataset(space.dataset, base_dir=space.base_dir)
    s = ds.spec
    assert (s.task, s.input_kind, s.input_shape, s.vocab_size) == ("binary", "tokens", (200,), 21)
    assert s.class_names == ("negatives", "positives")
    assert len(ds.train) + len(ds.val) + ds.n_test == 634
    assert ds.train.x.dtype == torch.int64 and int(ds.train.x.min()) == 0 and int(ds.train.x.max()) == 20
    objective = space.resolve_objective(s.task)
    config = sample(space.space, RandomSuggest(0)).config
    r = run_trial(config, ds, objective_metric=objective.metric, direction=objective.direction, max_epochs=1)
    _trained(r, epochs=1)
    assert 0.0 <= r.value <= 1.0
    assert ds.test_reads == 0


# ------------------------------------------------------------------ 5. the objective never reads the test split


# a linear network under sgd with lr 1e6 overflows within its first epoch on any of the tiny datasets
DIVERGING = {"model": {"family": "mlp", "dense_blocks": [{"activation": "identity"}]},
             "training": {"optimizer": "sgd", "lr": 1e6, "batch_size": 16}}


class _NoPeeking(SealedSplit):
    def read(self, purpose: str) -> Split:
        raise AssertionError(f"test split read during a trial ({purpose})")


def test_run_trial_never_reads_the_test_split():
    ds = load_dataset({"name": "wine", "subsample": 120})
    assert ds.test_reads == 0
    guarded = Dataset(ds.spec, ds.train, ds.val, _NoPeeking(ds.read_test("setting up the guard")), ds.info)
    config = {"model": {"family": "mlp", "dense_blocks": [{"units": 8}]}, "training": {"max_epochs": 2}}
    results = [
        _trial(config, guarded, keep_model=True),  # complete
        _trial({"model": {"family": "mlp", "max_params": 1}}, guarded),  # infeasible
        _trial(DIVERGING, guarded, max_epochs=3),  # NaN
    ]
    assert [r.status for r in results] == ["complete", "infeasible", "failed"], results
    assert not any("test split read" in (r.reason + r.detail) for r in results)
    assert guarded.test_reads == 0 and guarded._test.reads == []
    # the counter does count: the guarded read above and a read now are both recorded on the real dataset
    ds.read_test("final report")
    assert ds.test_reads == 2


# ------------------------------------------------------------------ 6. failures are recorded, never raised


def test_infeasible_config_is_recorded_with_a_reason():
    ds = load_dataset({"name": "digits", "subsample": 200})  # 8x8 images
    config = {"model": {"family": "cnn", "n_conv_blocks": 4,
                        "conv_blocks": [{"filters": 4, "pool": "max", "pool_size": 2}] * 4}}
    r = _trial(config, ds)
    assert r.status == "infeasible" and r.value is None
    assert "conv block 4" in r.reason and "pool_size" in r.reason, r.reason
    r = _trial({"model": {"family": "mlp", "dense_blocks": [{"units": 4096}], "max_params": 10_000}}, ds)
    assert r.status == "infeasible" and "max_params" in r.reason, r.reason
    assert ds.test_reads == 0


def test_nan_loss_is_a_failed_trial_with_a_nan_reason(tiny):
    ds = tiny["binary"]
    for task in ("binary", "multiclass", "regression"):
        r = _trial(DIVERGING, tiny[task], max_epochs=3)
        assert r.status == "failed" and "nan" in r.reason.lower() and r.value is None, (task, r)
    scaled = Dataset(ds.spec, Split(ds.train.x * 1e30, ds.train.y), Split(ds.val.x * 1e30, ds.val.y),
                     SealedSplit(ds.val), ds.info)
    r = _trial({"model": {"family": "mlp"}, "training": {"optimizer": "sgd"}}, scaled, max_epochs=1)
    assert r.status == "failed" and "nan" in r.reason.lower() and r.value is None, r


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"model": {"family": "mlp", "dense_blocks": [{"activation": "sparkle"}]}}, "sparkle"),
        ({"model": {"family": "cnn", "conv_blocks": [{"activation": "sparkle"}]}}, "sparkle"),
        ({"model": {"family": "mlp", "init": "sparkle_normal"}}, "sparkle_normal"),
        ({"model": {"family": "transformer"}}, "transformer"),
        ({"model": {"family": "mlp", "dense_blocks": [{"dropout": 1.5}]}}, "dropout"),
        ({"training": {"optimizer": "sparkle"}}, "sparkle"),
        ({"training": {"schedule": "sparkle"}}, "sparkle"),
        ({"training": {"loss": "sparkle"}}, "sparkle"),
        ({"training": {"loss": "mse"}}, "mse"),  # a regression loss on a multiclass task
    ],
    ids=["activation-mlp", "activation-cnn", "init", "family", "dropout", "optimizer", "schedule", "loss",
         "loss-task"],
)
def test_invalid_value_is_a_failed_trial_naming_it(config, named, tiny):
    ds = tiny["image"]
    r = _trial(config, ds, max_epochs=1)  # must not raise
    assert r.status == "failed" and r.value is None, r
    assert named in r.reason, r.reason
    assert ds.test_reads == 0
