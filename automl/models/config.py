"""`config["model"]` (a plain dict, keys optional) resolved into typed, validated dataclasses.

Every default lives here, once, so the feasibility check and the builder can never disagree. A key that is
absent or None (an inactive conditional parameter) takes its default; unknown keys are ignored. Values that
are wrong in kind (an unknown activation, a negative dropout) raise ValueError: that is a bug in the search
space, not an infeasible point of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from automl.models.activations import canonical_activation
from automl.models.initializers import canonical_initializer

FAMILIES = ("mlp", "cnn")
PADDINGS = ("same", "valid")
POOLS = ("none", "max", "avg")
GLOBAL_POOLS = ("flatten", "avg", "max")

DEFAULT_N_CONV_BLOCKS_CNN = 1  # CONFIG.md gives no default for a cnn without n_conv_blocks/conv_blocks
DEFAULT_MAX_PARAMS = 50_000_000


@dataclass(frozen=True)
class ConvBlockConfig:
    """One conv block: conv -> BN -> activation -> (residual add) -> pool -> dropout."""

    filters: int = 32
    kernel_size: int = 3
    stride: int = 1
    padding: str = "same"
    activation: str = "relu"
    pool: str = "none"
    pool_size: int = 2
    batch_norm: bool = False
    dropout: float = 0.0
    residual: bool = False


@dataclass(frozen=True)
class DenseBlockConfig:
    """One dense block: linear -> BN -> activation -> (residual add) -> dropout."""

    units: int = 64
    activation: str = "relu"
    batch_norm: bool = False
    dropout: float = 0.0
    residual: bool = False


@dataclass(frozen=True)
class ModelConfig:
    """The resolved `config["model"]`."""

    family: str = "mlp"
    embedding_dim: int = 16
    conv_blocks: tuple[ConvBlockConfig, ...] = ()
    global_pool: str = "flatten"
    dense_blocks: tuple[DenseBlockConfig, ...] = field(default_factory=lambda: (DenseBlockConfig(),))
    init: str = "default"
    init_std: float = 0.05
    init_range: float = 0.05
    bias_init: float = 0.0
    max_params: int | None = DEFAULT_MAX_PARAMS

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> ModelConfig:
        """Resolve the full sampled config (reads its "model" entry)."""
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise ValueError(f"config must be a dict, got {type(config).__name__}")
        model = config.get("model")
        return cls.from_model_dict({} if model is None else model)

    @classmethod
    def from_model_dict(cls, m: Mapping[str, Any]) -> ModelConfig:
        """Resolve `config["model"]` itself."""
        if not isinstance(m, Mapping):
            raise ValueError(f'config["model"] must be a dict, got {type(m).__name__}')
        family = _choice(m, "family", "mlp", FAMILIES, "model")
        if family == "cnn":
            conv_blocks = _blocks(m, "conv_blocks", "n_conv_blocks", DEFAULT_N_CONV_BLOCKS_CNN, _conv_block)
        else:
            conv_blocks = ()  # family "mlp" has no conv blocks, whatever else was sampled
        dense_blocks = _blocks(m, "dense_blocks", "n_dense_blocks", 1, _dense_block)
        max_params = _get(m, "max_params", DEFAULT_MAX_PARAMS)
        if max_params is not None:
            max_params = _int(max_params, "model.max_params", minimum=1)
        return cls(
            family=family,
            embedding_dim=_int(_get(m, "embedding_dim", 16), "model.embedding_dim", minimum=1),
            conv_blocks=conv_blocks,
            global_pool=_choice(m, "global_pool", "flatten", GLOBAL_POOLS, "model"),
            dense_blocks=dense_blocks,
            init=canonical_initializer(_get(m, "init", "default")),
            init_std=_float(_get(m, "init_std", 0.05), "model.init_std", positive=True),
            init_range=_float(_get(m, "init_range", 0.05), "model.init_range", positive=True),
            bias_init=_float(_get(m, "bias_init", 0.0), "model.bias_init"),
            max_params=max_params,
        )


def _get(m: Mapping[str, Any], key: str, default: Any) -> Any:
    value = m.get(key)
    return default if value is None else value


def _int(value: Any, name: str, minimum: int | None = None) -> int:
    """Accept ints and integral floats (some samplers return 32.0), never bools."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{name} must be an integer, got {value!r}")
        value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _float(value: Any, name: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _dropout(value: Any, name: str) -> float:
    p = _float(value, name)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {p}")
    return p


def _choice(m: Mapping[str, Any], key: str, default: str, allowed: Sequence[str], where: str) -> str:
    value = _get(m, key, default)
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        raise ValueError(f"{where}.{key} must be one of {', '.join(allowed)}, got {value!r}")
    return value.strip().lower()


def _blocks(m: Mapping[str, Any], list_key: str, n_key: str, n_default: int, make: Any) -> tuple:
    """n blocks: the first n entries of the list; entries past its end (or a missing list) take defaults."""
    entries = _get(m, list_key, [])
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise ValueError(f"model.{list_key} must be a list of dicts, got {type(entries).__name__}")
    n_raw = m.get(n_key)
    if n_raw is None:
        n = len(entries) if entries else n_default
    else:
        n = _int(n_raw, f"model.{n_key}", minimum=0)
    out = []
    for i in range(n):
        entry = entries[i] if i < len(entries) else {}
        entry = {} if entry is None else entry
        if not isinstance(entry, Mapping):
            raise ValueError(f"model.{list_key}[{i}] must be a dict, got {type(entry).__name__}")
        out.append(make(entry, f"model.{list_key}[{i}]"))
    return tuple(out)


def _conv_block(b: Mapping[str, Any], where: str) -> ConvBlockConfig:
    d = ConvBlockConfig()
    return ConvBlockConfig(
        filters=_int(_get(b, "filters", d.filters), f"{where}.filters", minimum=1),
        kernel_size=_int(_get(b, "kernel_size", d.kernel_size), f"{where}.kernel_size", minimum=1),
        stride=_int(_get(b, "stride", d.stride), f"{where}.stride", minimum=1),
        padding=_choice(b, "padding", d.padding, PADDINGS, where),
        activation=canonical_activation(_get(b, "activation", d.activation)),
        pool=_choice(b, "pool", d.pool, POOLS, where),
        pool_size=_int(_get(b, "pool_size", d.pool_size), f"{where}.pool_size", minimum=1),
        batch_norm=_bool(_get(b, "batch_norm", d.batch_norm), f"{where}.batch_norm"),
        dropout=_dropout(_get(b, "dropout", d.dropout), f"{where}.dropout"),
        residual=_bool(_get(b, "residual", d.residual), f"{where}.residual"),
    )


def _dense_block(b: Mapping[str, Any], where: str) -> DenseBlockConfig:
    d = DenseBlockConfig()
    return DenseBlockConfig(
        units=_int(_get(b, "units", d.units), f"{where}.units", minimum=1),
        activation=canonical_activation(_get(b, "activation", d.activation)),
        batch_norm=_bool(_get(b, "batch_norm", d.batch_norm), f"{where}.batch_norm"),
        dropout=_dropout(_get(b, "dropout", d.dropout), f"{where}.dropout"),
        residual=_bool(_get(b, "residual", d.residual), f"{where}.residual"),
    )
