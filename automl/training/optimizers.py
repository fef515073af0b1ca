"""Optimizers from `config["training"]` (see docs/CONFIG.md for the keys and defaults).

OPTIMIZERS maps each name to `factory(params, hp) -> torch.optim.Optimizer`, with `hp` the resolved
hyperparameters; torch-free to import, so the YAML validator reads the names without loading torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automl.registry import Registry

if TYPE_CHECKING:
    import torch

DEFAULT_LR = 1e-3
DEFAULT_EPS = 1e-8


@dataclass(frozen=True)
class Hyper:
    """The optimizer keys of `config["training"]`, defaults filled; `rho` is None when not set."""

    lr: float = DEFAULT_LR
    eps: float = DEFAULT_EPS
    weight_decay: float = 0.0
    momentum: float = 0.0
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    rho: float | None = None


OPTIMIZERS: Registry[torch.optim.Optimizer] = Registry("optimizer")


@OPTIMIZERS.register("sgd", doc="SGD with optional (Nesterov) momentum")
def _sgd(params: Iterable[Any], hp: Hyper) -> torch.optim.Optimizer:
    import torch

    if hp.nesterov and hp.momentum <= 0:
        raise ValueError("sgd: nesterov=True requires momentum > 0")
    return torch.optim.SGD(params, lr=hp.lr, momentum=hp.momentum, nesterov=hp.nesterov, weight_decay=hp.weight_decay)


@OPTIMIZERS.register("adagrad")
def _adagrad(params: Iterable[Any], hp: Hyper) -> torch.optim.Optimizer:
    import torch

    return torch.optim.Adagrad(params, lr=hp.lr, eps=hp.eps, weight_decay=hp.weight_decay)


@OPTIMIZERS.register("adadelta", doc="rho defaults to 0.9")
def _adadelta(params: Iterable[Any], hp: Hyper) -> torch.optim.Optimizer:
    import torch

    rho = 0.9 if hp.rho is None else hp.rho
    return torch.optim.Adadelta(params, lr=hp.lr, rho=rho, eps=hp.eps, weight_decay=hp.weight_decay)


@OPTIMIZERS.register("rmsprop", doc="rho (torch's alpha) defaults to 0.99")
def _rmsprop(params: Iterable[Any], hp: Hyper) -> torch.optim.Optimizer:
    import torch

    alpha = 0.99 if hp.rho is None else hp.rho
    return torch.optim.RMSprop(params, lr=hp.lr, alpha=alpha, eps=hp.eps, momentum=hp.momentum,
                               weight_decay=hp.weight_decay)


def _adam_like(cls: str, doc: str) -> None:
    def make(params: Iterable[Any], hp: Hyper) -> torch.optim.Optimizer:
        import torch

        return getattr(torch.optim, cls)(params, lr=hp.lr, betas=hp.betas, eps=hp.eps, weight_decay=hp.weight_decay)

    OPTIMIZERS.add(cls.lower(), make, doc=doc)


_adam_like("Adam", "Adam, weight_decay as plain L2")
_adam_like("AdamW", "Adam with decoupled weight decay")
_adam_like("Adamax", "Adam with the infinity norm")
_adam_like("NAdam", "Adam with Nesterov momentum")


def _f(cfg: Mapping[str, Any], key: str, default: float) -> float:
    value = cfg.get(key)
    return float(default if value is None else value)


def make_optimizer(params: Iterable[Any], training_cfg: Mapping[str, Any] | None) -> torch.optim.Optimizer:
    """Build the optimizer named by `training_cfg["optimizer"]` (default "adam") over `params`.

    Keys read: lr, momentum, nesterov (sgd), rho (rmsprop alpha / adadelta rho), beta1, beta2, eps,
    weight_decay (decoupled for adamw, plain L2 for the others). Unknown names raise ValueError.
    """
    cfg = dict(training_cfg or {})
    name = str(cfg.get("optimizer") or "adam").lower()
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}")
    hp = Hyper(lr=_f(cfg, "lr", DEFAULT_LR), eps=_f(cfg, "eps", DEFAULT_EPS), weight_decay=_f(cfg, "weight_decay", 0.0),
               momentum=_f(cfg, "momentum", 0.0), nesterov=bool(cfg.get("nesterov") or False),
               betas=(_f(cfg, "beta1", 0.9), _f(cfg, "beta2", 0.999)),
               rho=None if cfg.get("rho") is None else float(cfg["rho"]))
    if hp.lr <= 0:
        raise ValueError(f"lr must be > 0, got {hp.lr}")
    return OPTIMIZERS.create(name, params, hp)
