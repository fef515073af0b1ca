"""Model families and global pools by config name: what the validator offers and the planner/builder use.

A family says which layer kinds its network stacks (in LAYERS order) and how the input becomes the first
block's input. Torch-free to import; modules are built with torch imported inside.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automl.registry import Registry

if TYPE_CHECKING:
    from torch import nn

    from automl.data.spec import DataSpec
    from automl.models.config import ModelConfig
    from automl.models.plan import ModelPlan


@dataclass(frozen=True)
class Family:
    """`stem_shape(cfg, spec)`: the first block's input shape; calling it builds the stem modules of a plan."""

    layers: tuple[str, ...]
    stem_shape: Callable[[ModelConfig, DataSpec], tuple[int, ...]]
    stem: Callable[[ModelPlan], OrderedDict[str, nn.Module]]

    def __call__(self, plan: ModelPlan) -> OrderedDict[str, nn.Module]:
        return self.stem(plan)


FAMILIES: Registry[Any] = Registry("family")
# global pool -> factory(n_spatial) -> the module turning (N, C, *S) into (N, features)
GLOBAL_POOLS: Registry[Any] = Registry("global pool")


def _mlp_shape(cfg: ModelConfig, spec: DataSpec) -> tuple[int, ...]:
    return (math.prod(spec.input_shape) * (cfg.embedding_dim if spec.input_kind == "tokens" else 1),)


def _mlp_stem(plan: ModelPlan) -> OrderedDict[str, nn.Module]:
    from torch import nn

    spec, layers = plan.spec, OrderedDict()
    if spec.input_kind == "tokens":
        layers["embed"] = nn.Embedding(spec.vocab_size, plan.cfg.embedding_dim, padding_idx=0)
    if spec.input_kind != "flat":
        layers["flatten"] = nn.Flatten(1)
    return layers


def _cnn_shape(cfg: ModelConfig, spec: DataSpec) -> tuple[int, ...]:
    shape = tuple(spec.input_shape)
    if spec.input_kind == "tokens":
        return (cfg.embedding_dim, *shape)  # embedded channels-first
    return (1, *shape) if spec.input_kind == "flat" else shape  # a flat row is a 1-channel signal


def _cnn_stem(plan: ModelPlan) -> OrderedDict[str, nn.Module]:
    from torch import nn

    from automl.models.blocks import TokenEmbedding

    spec, layers = plan.spec, OrderedDict()
    if spec.input_kind == "tokens":
        layers["embed"] = TokenEmbedding(spec.vocab_size, plan.cfg.embedding_dim)
    elif spec.input_kind == "flat":
        layers["unflatten"] = nn.Unflatten(1, (1, spec.input_shape[0]))  # (N, F) -> (N, 1, F) signal
    return layers


FAMILIES.add("mlp", Family(("dense",), _mlp_shape, _mlp_stem), doc="flattened input -> dense blocks")
FAMILIES.add("cnn", Family(("conv", "dense"), _cnn_shape, _cnn_stem),
             doc="channels-first signal -> conv blocks -> global pool -> dense blocks")


def pooled_features(mode: str, shape: tuple[int, ...]) -> int:
    """Width after the global pool of a (C, *S) feature map."""
    return math.prod(shape) if mode == "flatten" else shape[0]


def _global_pool(mode: str) -> Callable[[int], nn.Module]:
    def make(n_spatial: int) -> nn.Module:
        from torch import nn

        from automl.models.blocks import GlobalPool

        return nn.Flatten(1) if mode == "flatten" else GlobalPool(mode, n_spatial)

    return make


GLOBAL_POOLS.add("flatten", _global_pool("flatten"), doc="keep every position: C * prod(S) features")
GLOBAL_POOLS.add("avg", _global_pool("avg"), doc="mean over all positions: C features")
GLOBAL_POOLS.add("max", _global_pool("max"), doc="max over all positions: C features")
