"""Activations by config name: the registry the YAML validator, the builder and He init all read.

Torch-free to import (each factory imports torch when a network is built), so validating a space stays fast.
Adding an activation is one `ACTIVATIONS.add` line (plus its He gain below when it is not relu-like).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from automl.registry import Registry

if TYPE_CHECKING:
    from torch import nn

LEAKY_RELU_SLOPE = 0.01  # nn.LeakyReLU's default; the He init gain must use the same slope


def _torch(cls: str, **kwargs: Any) -> Callable[[], nn.Module]:
    """A factory for `torch.nn.<cls>(**kwargs)` that imports torch only when called."""

    def make() -> nn.Module:
        from torch import nn

        return getattr(nn, cls)(**kwargs)

    return make


# Aliases are accepted spellings (not offered by the validator, so spaces stay canonical).
ACTIVATIONS: Registry[nn.Module] = Registry("activation")
ACTIVATIONS.add("relu", _torch("ReLU"), doc="max(0, x)")
ACTIVATIONS.add("leaky_relu", _torch("LeakyReLU", negative_slope=LEAKY_RELU_SLOPE), doc="x, or 0.01 x below 0")
ACTIVATIONS.add("elu", _torch("ELU"), doc="x, or exp(x) - 1 below 0")
ACTIVATIONS.add("gelu", _torch("GELU"), doc="x * Phi(x)")
ACTIVATIONS.add("selu", _torch("SELU"), doc="scaled ELU (self-normalising)")
ACTIVATIONS.add("silu", _torch("SiLU"), doc="x * sigmoid(x)", aliases=("swish",))
ACTIVATIONS.add("tanh", _torch("Tanh"), doc="tanh(x)")
ACTIVATIONS.add("sigmoid", _torch("Sigmoid"), doc="1 / (1 + exp(-x))")
ACTIVATIONS.add("mish", _torch("Mish"), doc="x * tanh(softplus(x))")
ACTIVATIONS.add("softplus", _torch("Softplus"), doc="log(1 + exp(x))")
ACTIVATIONS.add("identity", _torch("Identity"), doc="x (no activation)", aliases=("linear", "none"))

# nn.init.calculate_gain knows these nonlinearities; the smooth rectifiers (elu, gelu, silu, mish, softplus)
# are closest to relu, so He init treats them (and any activation missing here) as relu.
_HE_NONLINEARITY: dict[str, tuple[str, float]] = {
    "leaky_relu": ("leaky_relu", LEAKY_RELU_SLOPE),
    "selu": ("selu", 0.0),
    "tanh": ("tanh", 0.0),
    "sigmoid": ("sigmoid", 0.0),
    "identity": ("linear", 0.0),
}


def canonical_activation(name: object) -> str:
    return ACTIVATIONS.resolve(name, "activation")


def make_activation(name: str) -> nn.Module:
    """A fresh activation module (nn.Identity for 'identity')."""
    return ACTIVATIONS.create(canonical_activation(name))


def he_nonlinearity(name: str) -> tuple[str, float]:
    """(nonlinearity, negative_slope) for nn.init.kaiming_* matching the activation after a layer."""
    return _HE_NONLINEARITY.get(canonical_activation(name), ("relu", 0.0))
