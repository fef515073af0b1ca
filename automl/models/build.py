"""`build_model(config, data_spec)`: the sampled `config["model"]` as a plain torch network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from automl.data.spec import DataSpec
from automl.models.factory import build_factory_model, is_factory_model
from automl.models.families import FAMILIES, GLOBAL_POOLS
from automl.models.initializers import ACTIVATION_ATTR, initialize
from automl.models.layers import LAYERS
from automl.models.plan import InfeasibleConfig, ModelPlan, plan_model


class Net(nn.Module):
    """body (stem, conv blocks, global pool, dense blocks) then a linear head.

    `forward(x, return_features=True)` also returns the head's input, the penultimate activations the
    trainer penalises for activity regularisation.
    """

    def __init__(self, body: nn.Sequential, head: nn.Linear, plan: ModelPlan | None = None) -> None:
        super().__init__()
        self.body = body
        self.head = head
        self.n_features = head.in_features
        self.n_outputs = head.out_features
        self.plan = plan  # kept for introspection (shapes, param count); not a module

    def forward(self, x: torch.Tensor,
                return_features: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        out = self.head(features)
        return (out, features) if return_features else out


def build_from_plan(plan: ModelPlan) -> Net:
    """Build and initialise the network of a feasible plan: stem, each layer kind's blocks, head."""
    if plan.reason is not None:
        raise InfeasibleConfig(plan.reason)
    cfg = plan.cfg
    layers = FAMILIES.get(cfg.family)(plan)
    for name, stages in plan.blocks:
        if name == plan.pool_before:
            pool_name = "flatten" if cfg.global_pool == "flatten" else "global_pool"
            layers[pool_name] = GLOBAL_POOLS.create(cfg.global_pool, len(plan.stem_shape) - 1)
        for stage in stages:
            layers[f"{name}{stage.index}"] = LAYERS.get(name).build(stage)
    head = nn.Linear(plan.n_head_in, plan.n_outputs)
    setattr(head, ACTIVATION_ATTR, "identity")  # logits / regression outputs: linear gain for He init
    model = Net(nn.Sequential(layers), head, plan)
    initialize(model, cfg.init, init_std=cfg.init_std, init_range=cfg.init_range, bias_init=cfg.bias_init)
    return model


def build_model(config: Mapping[str, Any], data_spec: DataSpec) -> nn.Module:
    """The network for a sampled config (`config["model"]`); InfeasibleConfig (a ValueError) with the reason
    `check_feasible` gives before any weight is allocated. A `model.factory` config is the user's own module
    (automl/models/factory.py), built by their function."""
    if is_factory_model(config.get("model") if isinstance(config, Mapping) else None):
        return build_factory_model(config, data_spec)
    return build_from_plan(plan_model(config, data_spec))
