"""Activation names of the config, as modules, plus the gain PyTorch's He init should use for each."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

ACTIVATIONS: tuple[str, ...] = (
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "selu",
    "silu",
    "tanh",
    "sigmoid",
    "mish",
    "softplus",
    "identity",
)

# Accepted spellings that map onto a canonical name (not listed in ACTIVATIONS so spaces stay canonical).
ACTIVATION_ALIASES: dict[str, str] = {"swish": "silu", "linear": "identity", "none": "identity"}

LEAKY_RELU_SLOPE = 0.01  # nn.LeakyReLU's default; the He init gain must use the same slope

_FACTORIES: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(LEAKY_RELU_SLOPE),
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "selu": nn.SELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "mish": nn.Mish,
    "softplus": nn.Softplus,
    "identity": nn.Identity,
}

# nn.init.calculate_gain knows these nonlinearities; the smooth rectifiers (elu, gelu, silu, mish, softplus)
# are closest to relu, so He init treats them as relu.
_HE_NONLINEARITY: dict[str, tuple[str, float]] = {
    "relu": ("relu", 0.0),
    "leaky_relu": ("leaky_relu", LEAKY_RELU_SLOPE),
    "selu": ("selu", 0.0),
    "tanh": ("tanh", 0.0),
    "sigmoid": ("sigmoid", 0.0),
    "identity": ("linear", 0.0),
}


def canonical_activation(name: object) -> str:
    """Normalise an activation name (case, aliases); ValueError names the accepted ones."""
    if not isinstance(name, str):
        raise ValueError(f"activation must be a string, got {name!r}")
    key = name.strip().lower()
    key = ACTIVATION_ALIASES.get(key, key)
    if key not in _FACTORIES:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}")
    return key


def make_activation(name: str) -> nn.Module:
    """A fresh activation module (nn.Identity for 'identity')."""
    return _FACTORIES[canonical_activation(name)]()


def he_nonlinearity(name: str) -> tuple[str, float]:
    """(nonlinearity, negative_slope) for nn.init.kaiming_* matching the activation after a layer."""
    return _HE_NONLINEARITY.get(canonical_activation(name), ("relu", 0.0))
