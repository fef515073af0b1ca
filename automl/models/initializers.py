"""Weight initialisers by config name, applied to Linear/Conv weights; biases get a constant.

BatchNorm (weight 1, bias 0) and the token embedding (N(0, 1), padding row 0) keep PyTorch's init: the
fan-based schemes are meaningless for them.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from automl.models.activations import he_nonlinearity

INITIALIZERS: tuple[str, ...] = (
    "default",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
    "lecun_uniform",
    "orthogonal",
    "normal",
    "uniform",
)

INITIALIZER_ALIASES: dict[str, str] = {
    "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal",
    "kaiming_uniform": "he_uniform",
    "kaiming_normal": "he_normal",
}

# The builder tags every weight layer with the activation that follows it (identity for heads and
# projections) so He init can pick the matching gain.
ACTIVATION_ATTR = "_automl_activation"

_WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)


def canonical_initializer(name: object) -> str:
    """Normalise an initialiser name (case, xavier_/kaiming_ aliases); ValueError names the accepted ones."""
    if not isinstance(name, str):
        raise ValueError(f"init must be a string, got {name!r}")
    key = name.strip().lower()
    key = INITIALIZER_ALIASES.get(key, key)
    if key not in INITIALIZERS:
        raise ValueError(
            f"unknown init {name!r}; expected one of {', '.join(INITIALIZERS)} (or xavier_*/kaiming_*)"
        )
    return key


@torch.no_grad()
def init_weight(
    weight: torch.Tensor,
    init: str,
    *,
    activation: str = "identity",
    init_std: float = 0.05,
    init_range: float = 0.05,
) -> None:
    """Fill one Linear/Conv weight in place; 'default' leaves it as PyTorch made it."""
    init = canonical_initializer(init)
    if init == "default":
        return
    if init == "glorot_uniform":
        nn.init.xavier_uniform_(weight)
    elif init == "glorot_normal":
        nn.init.xavier_normal_(weight)
    elif init in ("he_uniform", "he_normal"):
        nonlinearity, slope = he_nonlinearity(activation)
        fill = nn.init.kaiming_uniform_ if init == "he_uniform" else nn.init.kaiming_normal_
        fill(weight, a=slope, mode="fan_in", nonlinearity=nonlinearity)
    elif init == "lecun_normal":
        nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="linear")  # std = 1/sqrt(fan_in)
    elif init == "lecun_uniform":
        nn.init.kaiming_uniform_(weight, mode="fan_in", nonlinearity="linear")  # bound = sqrt(3/fan_in)
    elif init == "orthogonal":
        nn.init.orthogonal_(weight)
    elif init == "normal":
        nn.init.normal_(weight, mean=0.0, std=init_std)
    elif init == "uniform":
        nn.init.uniform_(weight, -init_range, init_range)
    else:  # pragma: no cover - canonical_initializer guards this
        raise AssertionError(init)


@torch.no_grad()
def initialize(
    model: nn.Module,
    init: str = "default",
    *,
    init_std: float = 0.05,
    init_range: float = 0.05,
    bias_init: float = 0.0,
) -> nn.Module:
    """Initialise every Linear/Conv of `model`; every such bias is set to `bias_init` (also for 'default')."""
    for module in model.modules():
        if not isinstance(module, _WEIGHT_LAYERS):
            continue
        init_weight(
            module.weight,
            init,
            activation=getattr(module, ACTIVATION_ATTR, "identity"),
            init_std=init_std,
            init_range=init_range,
        )
        if module.bias is not None:
            nn.init.constant_(module.bias, bias_init)
    return model


def expected_std(
    init: str,
    fan_in: int,
    fan_out: int,
    activation: str = "identity",
    init_std: float = 0.05,
    init_range: float = 0.05,
) -> float:
    """Theoretical weight std of an initialiser (for tests and docs); NaN for 'default'/'orthogonal'."""
    init = canonical_initializer(init)
    if init == "glorot_uniform" or init == "glorot_normal":
        return math.sqrt(2.0 / (fan_in + fan_out))
    if init in ("he_uniform", "he_normal"):
        nonlinearity, slope = he_nonlinearity(activation)
        return nn.init.calculate_gain(nonlinearity, slope) / math.sqrt(fan_in)
    if init in ("lecun_normal", "lecun_uniform"):
        return 1.0 / math.sqrt(fan_in)
    if init == "normal":
        return init_std
    if init == "uniform":
        return init_range / math.sqrt(3.0)
    return math.nan
