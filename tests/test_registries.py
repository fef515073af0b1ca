"""Every vocabulary has one registry: the names the YAML validator accepts are exactly the implemented ones,
and every registered entry builds and works. Adding a name is one registry entry plus a case here when the
entry needs an expectation the generic checks below cannot give."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from automl.data.spec import DataSpec
from automl.models import build_model, plan_model
from automl.models.activations import ACTIVATIONS, canonical_activation, make_activation
from automl.models.families import FAMILIES, GLOBAL_POOLS, pooled_features
from automl.models.initializers import INITIALIZERS, initialize
from automl.models.layers import LAYERS
from automl.models.layers.conv import PADDINGS, POOLS
from automl.space import schema
from automl.training import compute_metrics, metric_keys
from automl.training.losses import DEFAULT_LOSS, LOSSES, LOSSES_BY_TASK, make_loss, prepare_targets
from automl.training.optimizers import OPTIMIZERS, make_optimizer
from automl.training.schedules import PER_BATCH_SCHEDULES, SCHEDULES, make_scheduler
from automl.training.tasks import METRICS_BY_TASK, TASKS, metrics_for

torch.set_num_threads(1)

CONV, DENSE = schema.BLOCKS["conv_blocks"][1], schema.BLOCKS["dense_blocks"][1]

# (validator key, the registry it must equal, aliases the validator also accepts)
VOCABULARIES = [
    (CONV["activation"], ACTIVATIONS, False),
    (DENSE["activation"], ACTIVATIONS, False),
    (schema.MODEL_KEYS["init"], INITIALIZERS, True),
    (schema.MODEL_KEYS["family"], FAMILIES, False),
    (schema.MODEL_KEYS["global_pool"], GLOBAL_POOLS, False),
    (CONV["padding"], PADDINGS, False),
    (CONV["pool"], POOLS, False),
    (schema.TRAINING_KEYS["optimizer"], OPTIMIZERS, False),
    (schema.TRAINING_KEYS["schedule"], SCHEDULES, False),
    (schema.TRAINING_KEYS["loss"], LOSSES, False),
]


@pytest.mark.parametrize(("key", "registry", "with_aliases"), VOCABULARIES, ids=lambda v: getattr(v, "kind", ""))
def test_validator_accepts_exactly_the_registered_names(key, registry, with_aliases):
    expected = (*registry.names(), *(registry.aliases() if with_aliases else ()))
    assert key.kind == "enum" and tuple(key.choices) == expected
    assert len(registry) > 0 and all(callable(registry.get(n)) for n in registry)


def test_layer_kinds_are_the_validators_blocks_with_their_own_keys():
    assert list(schema.BLOCKS) == [LAYERS.get(k).list_key for k in LAYERS]
    for name in LAYERS:
        kind = LAYERS.get(name)
        assert schema.BLOCKS[kind.list_key] == (kind.count_key, kind.keys)
        assert schema.MODEL_KEYS[kind.count_key].kind == "int"
        default = kind({}, f"model.{kind.list_key}[0]")
        assert set(kind.keys) == {f.name for f in dataclasses.fields(default)}, name
        assert default == type(default)()  # an empty dict resolves to the dataclass defaults


def _spec(kind: str, shape: tuple[int, ...], task: str = "multiclass") -> DataSpec:
    return DataSpec("t", task, kind, shape, n_classes=3 if task == "multiclass" else 0,
                    n_outputs=3 if task == "multiclass" else 1, vocab_size=11 if kind == "tokens" else 0)


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("residual", [False, True])
def test_every_layer_kind_builds_the_shape_and_params_its_plan_says(name, residual):
    kind = LAYERS.get(name)
    family = next(f for f in FAMILIES if name in FAMILIES.get(f).layers)
    spec = _spec("image", (2, 9, 9)) if family == "cnn" else _spec("flat", (7,))
    blocks = [{"residual": residual, "batch_norm": residual}, {"residual": residual}]
    config = {"model": {"family": family, kind.list_key: blocks, kind.count_key: 2}}
    plan = plan_model(config, spec)
    stages = dict(plan.blocks)[name]
    assert plan.feasible and [st.index for st in stages] == [1, 2]
    model = build_model(config, spec)
    for st in stages:
        module = getattr(model.body, f"{name}{st.index}")
        assert sum(p.numel() for p in module.parameters()) == st.n_params
    assert sum(p.numel() for p in model.parameters()) == plan.n_params
    out, feats = model(torch.randn(4, *spec.input_shape), return_features=True)
    assert out.shape == (4, 3) and feats.shape == (4, plan.n_head_in)


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_every_activation_runs(name):
    x = torch.linspace(-3, 3, 13)
    y = make_activation(name)(x)
    assert isinstance(make_activation(name), nn.Module) and y.shape == x.shape and torch.isfinite(y).all()
    assert canonical_activation(name.upper()) == name
    for alias, target in ACTIVATIONS.aliases().items():
        assert type(make_activation(alias)) is type(make_activation(target))


@pytest.mark.parametrize("name", [*INITIALIZERS.names(), *INITIALIZERS.aliases()])
def test_every_initializer_fills_weights(name):
    torch.manual_seed(0)
    layer = nn.Linear(64, 32)
    before = layer.weight.detach().clone()
    initialize(layer, name, bias_init=0.5)
    assert torch.isfinite(layer.weight).all() and torch.all(layer.bias == 0.5)
    assert torch.equal(before, layer.weight) == (INITIALIZERS.canonical(name) == "default")


@pytest.mark.parametrize("name", GLOBAL_POOLS.names())
def test_every_global_pool_gives_the_planned_width(name):
    x = torch.randn(2, 3, 5, 4)
    out = GLOBAL_POOLS.create(name, 2)(x)
    assert out.shape == (2, pooled_features(name, (3, 5, 4)))


@pytest.mark.parametrize("name", POOLS.names())
def test_every_pool_runs_or_is_none(name):
    pool = POOLS.create(name, 1, 2)
    x = torch.randn(2, 3, 8)
    assert (pool is None) == (name == "none")
    if pool is not None:
        assert pool(x).shape == (2, 3, 4)


@pytest.mark.parametrize("name", PADDINGS.names())
def test_every_padding_rule_matches_torch(name):
    for k, s in ((3, 1), (2, 1), (3, 2)):
        size = PADDINGS.get(name)((10,), k, s, "")
        config = {"model": {"family": "cnn", "conv_blocks": [{"filters": 2, "kernel_size": k, "stride": s,
                                                              "padding": name}], "n_dense_blocks": 0}}
        if isinstance(size, str):  # infeasible: the planner reports the rule's reason
            assert size in plan_model(config, _spec("sequence", (1, 10))).reason
            continue
        model = build_model(config, _spec("sequence", (1, 10)))
        assert model.body.conv1(torch.randn(2, 1, 10)).shape == (2, 2, *size)


@pytest.mark.parametrize("name", FAMILIES.names())
@pytest.mark.parametrize("kind", ["flat", "image", "sequence", "tokens"])
def test_every_family_builds_for_every_input_kind(name, kind):
    shape = {"flat": (12,), "image": (1, 8, 8), "sequence": (2, 12), "tokens": (12,)}[kind]
    spec = _spec(kind, shape)
    model = build_model({"model": {"family": name}}, spec)
    x = torch.randint(0, 11, (2, *shape)) if kind == "tokens" else torch.randn(2, *shape)
    assert model(x).shape == (2, 3)
    assert sum(p.numel() for p in model.parameters()) == plan_model({"model": {"family": name}}, spec).n_params


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_constructs_and_steps(name):
    layer = nn.Linear(3, 2)
    opt = make_optimizer(layer.parameters(), {"optimizer": name, "lr": 0.01, "momentum": 0.5})
    assert isinstance(opt, torch.optim.Optimizer) and type(opt).__name__.lower() == name
    before = layer.weight.detach().clone()
    layer(torch.ones(4, 3)).square().sum().backward()
    opt.step()
    assert not torch.equal(before, layer.weight)


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_every_schedule_constructs_and_moves_the_lr(name):
    opt = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
    sched = make_scheduler(opt, {"schedule": name, "step_size": 1, "restart_period": 2}, 4, 3)
    assert (sched is None) == (name == "none")
    lrs = set()
    for _ in range(4 * (3 if name in PER_BATCH_SCHEDULES else 1)):
        lrs.add(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
    assert (len(lrs) > 1) == (name != "none") and all(0 <= v <= 0.1 + 1e-12 for v in lrs)


@pytest.mark.parametrize("task", TASKS)
def test_every_loss_of_a_task_gives_a_finite_scalar(task):
    assert LOSSES_BY_TASK[task] and DEFAULT_LOSS[task] == LOSSES_BY_TASK[task][0]
    n_out = {"binary": 1, "multiclass": 3, "regression": 2}[task]
    y = prepare_targets(torch.tensor([0, 1, 2, 1]) % (2 if task == "binary" else 3), task)
    if task == "regression":
        y = torch.randn(4, 2)
    for name in ("auto", *LOSSES_BY_TASK[task]):
        loss = make_loss({"loss": name}, task)(torch.randn(4, n_out), y)
        assert loss.dim() == 0 and math.isfinite(float(loss))
    assert set(LOSSES.names()) == {"auto", *(n for t in TASKS for n in LOSSES_BY_TASK[t])}


@pytest.mark.parametrize("task", TASKS)
def test_objective_metrics_are_the_ones_the_trainer_reports(task):
    assert set(metrics_for(task)) == set(metric_keys(task)) - {"train_loss"}
    n_out = 3 if task == "multiclass" else 1
    outputs, targets = torch.randn(6, n_out), torch.tensor([0, 1, 0, 1, 1, 0])
    assert set(compute_metrics(task, outputs, targets.float() if task != "multiclass" else targets)) == set(
        METRICS_BY_TASK[task])


def test_search_help_lists_each_registry_vocabulary():
    """`automl search --help` reads its vocabularies from the registries, so a new entry shows up there."""
    import typer

    from automl.backends.base import BACKENDS
    from automl.backends.optuna.samplers import PRUNERS, SAMPLERS
    from automl.backends.ray.settings import SCHEDULERS
    from automl.training.tasks import PRECISIONS
    from cli.main import app

    helps = {p.name: p.help for p in typer.main.get_command(app).commands["search"].params}
    assert helps["sampler"] == " | ".join(SAMPLERS.names())
    assert helps["pruner"] == " | ".join(PRUNERS.names())
    for option, names in (("scheduler", SCHEDULERS.names()), ("precision", PRECISIONS),
                          ("backend", BACKENDS.names()), ("searcher", [n for n in SAMPLERS.names() if n != "grid"])):
        assert " | ".join(names) in helps[option], (option, helps[option])
