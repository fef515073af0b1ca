"""A layer kind's one entry in LAYERS, and the value checks every config resolver shares.

Resolvers raise ValueError for values wrong in kind (an unknown activation, a negative dropout): that is a bug
in the search space, not an infeasible point of it.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automl.models.activations import canonical_activation
from automl.registry import Registry

if TYPE_CHECKING:
    from torch import nn

    from automl.space.keys import Key


@dataclass(frozen=True)
class LayerKind:
    """One layer kind: per-layer YAML keys, config dataclass, shape/param rule and module builder.

    Calling it resolves one layer's dict into its config dataclass, so LAYERS is a name -> factory registry.
    `plan(configs, shape) -> (stages, out_shape, reason)`; every stage has `.index`, `.cfg` and `.n_params`.
    """

    name: str  # module prefix ("conv" -> conv1, conv2, ...) and YAML keys conv_blocks / n_conv_blocks
    keys: Mapping[str, Key]  # one per config field: the validator's rule, and the resolver's
    config: type  # frozen dataclass; its field defaults are the layer's defaults
    plan: Callable[[tuple[Any, ...], tuple[int, ...]], tuple[tuple[Any, ...], tuple[int, ...], str | None]]
    build: Callable[[Any], nn.Module]
    flat_input: bool = False  # True: takes (features,); a (C, *S) map is globally pooled before it

    @property
    def list_key(self) -> str:
        return f"{self.name}_blocks"

    @property
    def count_key(self) -> str:
        return f"n_{self.name}_blocks"

    def __call__(self, entry: Mapping[str, Any], where: str) -> Any:
        """A layer's dict -> its config: absent keys take the defaults, values are checked by their key."""
        default, values = self.config(), {}
        for name, key in self.keys.items():
            v, path = get(entry, name, getattr(default, name)), f"{where}.{name}"
            if name == "activation":  # aliases and case are accepted here, the validator offers canonical names
                v = canonical_activation(v)
            elif key.kind == "int":
                v = as_int(v, path, minimum=None if key.lo is None else int(key.lo))
            elif key.kind == "enum":
                v = choice(entry, name, v, key.choices, where)
            elif key.kind == "bool" and not isinstance(v, bool):
                raise ValueError(f"{path} must be true or false, got {v!r}")
            elif key.kind == "float" and not key.check(as_float(v, path)):
                raise ValueError(f"{path} must be {key.allowed()}, got {v!r}")
            values[name] = float(v) if key.kind == "float" else v
        return self.config(**values)


LAYERS: Registry[Any] = Registry("layer kind")


def get(m: Mapping[str, Any], key: str, default: Any) -> Any:
    value = m.get(key)
    return default if value is None else value


def as_int(value: Any, name: str, minimum: int | None = None) -> int:
    """Accept ints and integral floats (some samplers return 32.0), never bools."""
    integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not integral:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def as_float(value: Any, name: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


def choice(m: Mapping[str, Any], key: str, default: str, allowed: Iterable[str], where: str) -> str:
    value = get(m, key, default)
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        raise ValueError(f"{where}.{key} must be one of {', '.join(allowed)}, got {value!r}")
    return value.strip().lower()


def tag(layer: nn.Module, activation: str) -> nn.Module:
    """Remember which activation follows a weight layer, for He init's gain."""
    from automl.models.initializers import ACTIVATION_ATTR

    setattr(layer, ACTIVATION_ATTR, activation)
    return layer


def main_path(weight: nn.Module, bn: nn.Module | None, activation: str, weight_name: str) -> OrderedDict[str, nn.Module]:
    """weight layer -> BN -> activation (omitted for identity), the main path of every block."""
    from automl.models.activations import make_activation

    layers = OrderedDict([(weight_name, tag(weight, activation))])
    if bn is not None:
        layers["bn"] = bn
    if activation != "identity":
        layers["act"] = make_activation(activation)
    return layers
