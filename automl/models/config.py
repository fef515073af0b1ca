"""`config["model"]` (a plain dict, keys optional) resolved into typed, validated dataclasses.

Every default lives here or in the layer kind's module, once, so the feasibility check and the builder can
never disagree. A key that is absent or None (an inactive conditional parameter) takes its default; unknown
keys are ignored. Values that are wrong in kind (an unknown activation, a negative dropout) raise ValueError:
that is a bug in the search space, not an infeasible point of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from automl.models.families import FAMILIES, GLOBAL_POOLS
from automl.models.initializers import canonical_initializer
from automl.models.layers import LAYERS, LayerKind
from automl.models.layers.base import as_float, as_int, choice, get
from automl.models.layers.conv import ConvBlockConfig
from automl.models.layers.dense import DenseBlockConfig

DEFAULT_MAX_PARAMS = 50_000_000


@dataclass(frozen=True)
class ModelConfig:
    """The resolved `config["model"]`; `<kind>_blocks` holds each layer kind's configs (empty if unused)."""

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
        config = {} if config is None else config
        if not isinstance(config, Mapping):
            raise ValueError(f"config must be a dict, got {type(config).__name__}")
        model = config.get("model")
        return cls.from_model_dict({} if model is None else model)

    @classmethod
    def from_model_dict(cls, m: Mapping[str, Any]) -> ModelConfig:
        """Resolve `config["model"]` itself."""
        if not isinstance(m, Mapping):
            raise ValueError(f'config["model"] must be a dict, got {type(m).__name__}')
        family = choice(m, "family", "mlp", FAMILIES, "model")
        used = FAMILIES.get(family).layers  # a kind the family does not stack gets no blocks, whatever was sampled
        blocks = {LAYERS.get(k).list_key: _blocks(m, LAYERS.get(k)) if k in used else () for k in LAYERS}
        max_params = get(m, "max_params", DEFAULT_MAX_PARAMS)
        if max_params is not None:
            max_params = as_int(max_params, "model.max_params", minimum=1)
        return cls(family=family, max_params=max_params, **blocks,
                   embedding_dim=as_int(get(m, "embedding_dim", 16), "model.embedding_dim", minimum=1),
                   global_pool=choice(m, "global_pool", "flatten", GLOBAL_POOLS, "model"),
                   init=canonical_initializer(get(m, "init", "default")),
                   init_std=as_float(get(m, "init_std", 0.05), "model.init_std", positive=True),
                   init_range=as_float(get(m, "init_range", 0.05), "model.init_range", positive=True),
                   bias_init=as_float(get(m, "bias_init", 0.0), "model.bias_init"))


def _blocks(m: Mapping[str, Any], kind: LayerKind) -> tuple:
    """n blocks: the first n entries of the list; entries past its end (or a missing list) take defaults."""
    entries = get(m, kind.list_key, [])
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise ValueError(f"model.{kind.list_key} must be a list of dicts, got {type(entries).__name__}")
    n_raw = m.get(kind.count_key)
    if n_raw is None:
        n = len(entries) if entries else 1  # a kind the family stacks has one default block
    else:
        n = as_int(n_raw, f"model.{kind.count_key}", minimum=0)
    out = []
    for i in range(n):
        entry = entries[i] if i < len(entries) else {}
        entry = {} if entry is None else entry
        if not isinstance(entry, Mapping):
            raise ValueError(f"model.{kind.list_key}[{i}] must be a dict, got {type(entry).__name__}")
        out.append(kind(entry, f"model.{kind.list_key}[{i}]"))
    return tuple(out)
