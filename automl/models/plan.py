"""Shapes and parameter count of a config, computed analytically, before any weight exists.

A search backend calls `check_feasible` to prune a sampled point cheaply (no allocation, no forward);
`build_model` builds from the very same plan, so the two cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from automl.data.spec import DataSpec
from automl.models.config import ModelConfig
from automl.models.factory import is_factory_model
from automl.models.families import FAMILIES, pooled_features
from automl.models.layers import LAYERS

_INPUT_NDIM = {"flat": 1, "image": 3, "sequence": 2, "tokens": 1}


class InfeasibleConfig(ValueError):
    """A valid config whose network cannot exist for this data (shapes collapse, too many parameters)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ModelPlan:
    """Everything `build_model` needs, with `reason` set (and the plan cut short) when infeasible."""

    cfg: ModelConfig
    spec: DataSpec
    stem_shape: tuple[int, ...]  # the first block's input: (C, *S) for a cnn, (features,) for an mlp
    blocks: tuple[tuple[str, tuple[Any, ...]], ...]  # (layer kind, its stages) in network order
    pool_before: str | None  # the layer kind the global pool precedes; None when nothing is pooled
    n_head_in: int  # width entering the head; 0 when infeasible
    n_outputs: int
    n_params: int  # 0 when the shapes are infeasible
    reason: str | None

    @property
    def feasible(self) -> bool:
        return self.reason is None


def head_outputs(spec: DataSpec) -> int:
    """binary: 1 logit; multiclass: n_classes logits; regression: n_outputs values."""
    if spec.task == "binary":
        return 1
    if spec.task == "multiclass":
        n = spec.n_classes or spec.n_outputs
        if n < 2:
            raise ValueError(f"multiclass DataSpec {spec.name!r} needs n_classes >= 2, got {spec.n_classes}")
        return n
    if spec.task == "regression":
        if spec.n_outputs < 1:
            raise ValueError(f"regression DataSpec {spec.name!r} needs n_outputs >= 1, got {spec.n_outputs}")
        return spec.n_outputs
    raise ValueError(f"unknown task {spec.task!r} in DataSpec {spec.name!r}")


def validate_spec(spec: DataSpec) -> None:
    """Raise ValueError for a DataSpec no model can be built for (a data bug, not an infeasible config)."""
    if spec.input_kind not in _INPUT_NDIM:
        raise ValueError(f"unknown input_kind {spec.input_kind!r} in DataSpec {spec.name!r}")
    ndim = _INPUT_NDIM[spec.input_kind]
    shape = tuple(spec.input_shape)
    if len(shape) != ndim or any(not isinstance(d, int) or d < 1 for d in shape):
        raise ValueError(f"{spec.input_kind} input_shape must be {ndim} positive ints, got {shape} "
                         f"(DataSpec {spec.name!r})")
    if spec.input_kind == "tokens" and spec.vocab_size < 1:
        raise ValueError(f"tokens DataSpec {spec.name!r} needs vocab_size >= 1")
    head_outputs(spec)


def plan_model(config: Mapping[str, Any] | ModelConfig, data_spec: DataSpec) -> ModelPlan:
    """Resolve the config and propagate shapes through the family's layer kinds; ValueError for invalid
    values, `reason` for infeasible ones."""
    cfg = config if isinstance(config, ModelConfig) else ModelConfig.from_config(config)
    validate_spec(data_spec)
    n_out = head_outputs(data_spec)
    family = FAMILIES.get(cfg.family)
    stem_shape = shape = family.stem_shape(cfg, data_spec)
    blocks: list[tuple[str, tuple[Any, ...]]] = []
    pool_before, n_params = None, 0
    for name in (n for n in LAYERS if n in family.layers):
        kind = LAYERS.get(name)
        if kind.flat_input and len(shape) > 1:
            pool_before, shape = name, (pooled_features(cfg.global_pool, shape),)
        stages, shape, reason = kind.plan(getattr(cfg, kind.list_key), shape)
        blocks.append((name, stages))
        if reason is not None:
            return ModelPlan(cfg, data_spec, stem_shape, tuple(blocks), pool_before, 0, n_out, 0, reason)
        n_params += sum(st.n_params for st in stages)
    n_params += math.prod(shape) * n_out + n_out
    if data_spec.input_kind == "tokens":
        n_params += data_spec.vocab_size * cfg.embedding_dim
    reason = None
    if cfg.max_params is not None and n_params > cfg.max_params:
        reason = f"{n_params:,} parameters exceed max_params {cfg.max_params:,}"
    return ModelPlan(cfg, data_spec, stem_shape, tuple(blocks), pool_before, math.prod(shape), n_out, n_params,
                     reason)


def check_feasible(config: Mapping[str, Any], data_spec: DataSpec) -> str | None:
    """None if `build_model(config, data_spec)` will succeed, else a human-readable reason why not. Invalid
    values (unknown activation, dropout >= 1) raise ValueError: bugs of the space, not points of it."""
    if isinstance(config, Mapping) and is_factory_model(config.get("model")):
        return None  # the user's own model: checked by a forward pass at search start (models/factory.py)
    return plan_model(config, data_spec).reason


def count_params(config: Mapping[str, Any], data_spec: DataSpec) -> int:
    """Parameters the built model will have (0 if its shapes are infeasible), without building it."""
    return plan_model(config, data_spec).n_params
