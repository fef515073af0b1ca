"""Weight initialisers by config name, applied to Linear/Conv weights; biases get a constant.

BatchNorm (weight 1, bias 0) and the token embedding (N(0, 1), padding row 0) keep PyTorch's init: the
fan-based schemes are meaningless for them. Torch-free to import: the registry is what the validator reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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


def _torch(fn: str, **kwargs: Any) -> Callable[..., None]:
    """An initialiser calling torch.nn.init.<fn>(weight, **kwargs), importing torch only when called."""

    def fill(weight: torch.Tensor, **_: Any) -> None:
        from torch import nn

        getattr(nn.init, fn)(weight, **kwargs)

    return fill


def _he(fn: str) -> Callable[..., None]:
    def fill(weight: torch.Tensor, *, activation: str = "identity", **_: Any) -> None:
        from torch import nn

        nonlinearity, slope = he_nonlinearity(activation)
        getattr(nn.init, fn)(weight, a=slope, mode="fan_in", nonlinearity=nonlinearity)

    return fill


def _normal(weight: torch.Tensor, *, init_std: float = 0.05, **_: Any) -> None:
    from torch import nn

    nn.init.normal_(weight, mean=0.0, std=init_std)


def _uniform(weight: torch.Tensor, *, init_range: float = 0.05, **_: Any) -> None:
    from torch import nn

    nn.init.uniform_(weight, -init_range, init_range)


INITIALIZERS.add("default", lambda weight, **_: None, doc="leave PyTorch's init")
INITIALIZERS.add("glorot_uniform", _torch("xavier_uniform_"), aliases=("xavier_uniform",), doc="U(+-sqrt(6/(in+out)))")
INITIALIZERS.add("glorot_normal", _torch("xavier_normal_"), aliases=("xavier_normal",), doc="N(0, 2/(in+out))")
INITIALIZERS.add("he_uniform", _he("kaiming_uniform_"), aliases=("kaiming_uniform",), doc="fan-in, activation gain")
INITIALIZERS.add("he_normal", _he("kaiming_normal_"), aliases=("kaiming_normal",), doc="fan-in, activation gain")
INITIALIZERS.add("lecun_normal", _torch("kaiming_normal_", mode="fan_in", nonlinearity="linear"), doc="std 1/sqrt(in)")
INITIALIZERS.add("lecun_uniform", _torch("kaiming_uniform_", mode="fan_in", nonlinearity="linear"), doc="U(+-sqrt(3/in))")
INITIALIZERS.add("orthogonal", _torch("orthogonal_"), doc="a (semi-)orthogonal matrix")
INITIALIZERS.add("normal", _normal, doc="N(0, init_std)")
INITIALIZERS.add("uniform", _uniform, doc="U(-init_range, init_range)")


def canonical_initializer(name: object) -> str:
    return INITIALIZERS.resolve(name, "init", " (or xavier_*/kaiming_*)")


def initialize(model: nn.Module, init: str = "default", *, init_std: float = 0.05, init_range: float = 0.05,
               bias_init: float = 0.0) -> nn.Module:
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
