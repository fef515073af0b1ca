"""Weight initialisers by config name, applied to Linear/Conv weights; biases get a constant.

BatchNorm (weight 1, bias 0) and the token embedding (N(0, 1), padding row 0) keep PyTorch's init: the
fan-based schemes are meaningless for them. Torch-free to import: the registry is what the validator reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from automl.models.activations import he_nonlinearity
from automl.registry import Registry

if TYPE_CHECKING:
    import torch
    from torch import nn

# The builder tags every weight layer with the activation that follows it (identity for heads and
# projections) so He init can pick the matching gain.
ACTIVATION_ATTR = "_automl_activation"

# An initialiser fills one weight in place: fill(weight, activation=..., init_std=..., init_range=...).
INITIALIZERS: Registry[None] = Registry("initializer")


@INITIALIZERS.register("default", doc="leave PyTorch's init")
def _default(weight: torch.Tensor, **_: object) -> None:
    return None


@INITIALIZERS.register("glorot_uniform", aliases=("xavier_uniform",), doc="U(+-sqrt(6 / (fan_in + fan_out)))")
def _glorot_uniform(weight: torch.Tensor, **_: object) -> None:
    from torch import nn

    nn.init.xavier_uniform_(weight)


@INITIALIZERS.register("glorot_normal", aliases=("xavier_normal",), doc="N(0, 2 / (fan_in + fan_out))")
def _glorot_normal(weight: torch.Tensor, **_: object) -> None:
    from torch import nn

    nn.init.xavier_normal_(weight)


def _he(uniform: bool):
    def fill(weight: torch.Tensor, *, activation: str = "identity", **_: object) -> None:
        from torch import nn

        nonlinearity, slope = he_nonlinearity(activation)
        fn = nn.init.kaiming_uniform_ if uniform else nn.init.kaiming_normal_
        fn(weight, a=slope, mode="fan_in", nonlinearity=nonlinearity)

    return fill


INITIALIZERS.add("he_uniform", _he(True), aliases=("kaiming_uniform",), doc="fan-in uniform, gain of the activation")
INITIALIZERS.add("he_normal", _he(False), aliases=("kaiming_normal",), doc="fan-in normal, gain of the activation")


@INITIALIZERS.register("lecun_normal", doc="std = 1/sqrt(fan_in)")
def _lecun_normal(weight: torch.Tensor, **_: object) -> None:
    from torch import nn

    nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="linear")


@INITIALIZERS.register("lecun_uniform", doc="bound = sqrt(3/fan_in)")
def _lecun_uniform(weight: torch.Tensor, **_: object) -> None:
    from torch import nn

    nn.init.kaiming_uniform_(weight, mode="fan_in", nonlinearity="linear")


@INITIALIZERS.register("orthogonal", doc="a (semi-)orthogonal matrix")
def _orthogonal(weight: torch.Tensor, **_: object) -> None:
    from torch import nn

    nn.init.orthogonal_(weight)


@INITIALIZERS.register("normal", doc="N(0, init_std)")
def _normal(weight: torch.Tensor, *, init_std: float = 0.05, **_: object) -> None:
    from torch import nn

    nn.init.normal_(weight, mean=0.0, std=init_std)


@INITIALIZERS.register("uniform", doc="U(-init_range, init_range)")
def _uniform(weight: torch.Tensor, *, init_range: float = 0.05, **_: object) -> None:
    from torch import nn

    nn.init.uniform_(weight, -init_range, init_range)


def canonical_initializer(name: object) -> str:
    """Normalise an initialiser name (case, xavier_/kaiming_ aliases); ValueError names the accepted ones."""
    if not isinstance(name, str):
        raise ValueError(f"init must be a string, got {name!r}")
    key = INITIALIZERS.canonical(name.strip().lower())
    if key not in INITIALIZERS:
        raise ValueError(
            f"unknown init {name!r}; expected one of {', '.join(INITIALIZERS)} (or xavier_*/kaiming_*)"
        )
    return key


def initialize(
    model: nn.Module,
    init: str = "default",
    *,
    init_std: float = 0.05,
    init_range: float = 0.05,
    bias_init: float = 0.0,
) -> nn.Module:
    """Initialise every Linear/Conv of `model`; every such bias is set to `bias_init` (also for 'default')."""
    import torch
    from torch import nn

    fill = INITIALIZERS.get(canonical_initializer(init))
    with torch.no_grad():
        for module in model.modules():
            if not isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d)):
                continue
            fill(module.weight, activation=getattr(module, ACTIVATION_ATTR, "identity"), init_std=init_std,
                 init_range=init_range)
            if module.bias is not None:
                nn.init.constant_(module.bias, bias_init)
    return model
