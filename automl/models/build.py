"""`build_model(config, data_spec)`: the sampled `config["model"]` as a plain torch network."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from automl.data.spec import DataSpec
from automl.models.blocks import GlobalPool, TokenEmbedding, conv_block, dense_block
from automl.models.initializers import ACTIVATION_ATTR, initialize
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

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        out = self.head(features)
        if return_features:
            return out, features
        return out


def _stem(plan: ModelPlan) -> OrderedDict[str, nn.Module]:
    spec, cfg = plan.spec, plan.cfg
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if cfg.family == "cnn":
        if spec.input_kind == "tokens":
            layers["embed"] = TokenEmbedding(spec.vocab_size, cfg.embedding_dim)
        elif spec.input_kind == "flat":
            layers["unflatten"] = nn.Unflatten(1, (1, spec.input_shape[0]))  # (N, F) -> (N, 1, F) signal
    else:
        if spec.input_kind == "tokens":
            layers["embed"] = nn.Embedding(spec.vocab_size, cfg.embedding_dim, padding_idx=0)
            layers["flatten"] = nn.Flatten(1)
        elif spec.input_kind != "flat":
            layers["flatten"] = nn.Flatten(1)
    return layers


def build_from_plan(plan: ModelPlan) -> Net:
    """Build and initialise the network of a feasible plan."""
    if plan.reason is not None:
        raise InfeasibleConfig(plan.reason)
    cfg = plan.cfg
    layers = _stem(plan)
    for stage in plan.conv:
        layers[f"conv{stage.index}"] = conv_block(stage)
    if cfg.family == "cnn":
        if cfg.global_pool == "flatten":
            layers["flatten"] = nn.Flatten(1)
        else:
            layers["global_pool"] = GlobalPool(cfg.global_pool, len(plan.stem_size))
    for stage in plan.dense:
        layers[f"dense{stage.index}"] = dense_block(stage)
    head = nn.Linear(plan.n_head_in, plan.n_outputs)
    setattr(head, ACTIVATION_ATTR, "identity")  # logits / regression outputs: linear gain for He init
    model = Net(nn.Sequential(layers), head, plan)
    initialize(model, cfg.init, init_std=cfg.init_std, init_range=cfg.init_range, bias_init=cfg.bias_init)
    return model


def build_model(config: Mapping[str, Any], data_spec: DataSpec) -> Net:
    """The network for a sampled config (reads `config["model"]`, absent keys take CONFIG.md defaults).

    Raises InfeasibleConfig (a ValueError) with the reason `check_feasible` gives, before allocating any
    weight; ValueError for invalid values.
    """
    return build_from_plan(plan_model(config, data_spec))
