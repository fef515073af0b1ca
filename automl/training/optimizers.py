"""Optimizers from `config["training"]` (see docs/CONFIG.md for the keys and defaults).

OPTIMIZERS maps each name to `factory(params, hp) -> torch.optim.Optimizer`, `hp` holding every resolved
hyperparameter; torch-free to import, so the YAML validator reads the names without loading torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from automl.registry import Registry

if TYPE_CHECKING:
    import torch

DEFAULT_LR = 1e-3
DEFAULT_EPS = 1e-8

OPTIMIZERS: Registry[torch.optim.Optimizer] = Registry("optimizer")


def _torch(name: str, cls: str, *keys: str, doc: str) -> None:
    """Register torch.optim.<cls>, given the hyperparameters named in `keys` (torch's argument names)."""

    def make(params: Iterable[Any], hp: Mapping[str, Any]) -> torch.optim.Optimizer:
        import torch

        if "nesterov" in keys and hp["nesterov"] and hp["momentum"] <= 0:
            raise ValueError(f"{name}: nesterov=True requires momentum > 0")
        return getattr(torch.optim, cls)(params, lr=hp["lr"], weight_decay=hp["weight_decay"], **{k: hp[k] for k in keys})

    OPTIMIZERS.add(name, make, doc=doc)


_torch("sgd", "SGD", "momentum", "nesterov", doc="SGD with optional momentum (Nesterov needs momentum > 0)")
_torch("adagrad", "Adagrad", "eps", doc="per-parameter lr from summed squared gradients")
_torch("adadelta", "Adadelta", "rho", "eps", doc="rho defaults to 0.9")
_torch("rmsprop", "RMSprop", "alpha", "eps", "momentum", doc="rho (torch's alpha) defaults to 0.99")
_torch("adam", "Adam", "betas", "eps", doc="Adam, weight_decay as plain L2")
_torch("adamw", "AdamW", "betas", "eps", doc="Adam with decoupled weight decay")
_torch("adamax", "Adamax", "betas", "eps", doc="Adam with the infinity norm")
_torch("nadam", "NAdam", "betas", "eps", doc="Adam with Nesterov momentum")


def setting(cfg: Mapping[str, Any], key: str, default: float) -> float:
    """A number of `config["training"]`; its default when absent or None (an inactive conditional)."""
    value = cfg.get(key)
    return float(default if value is None else value)


def make_optimizer(params: Iterable[Any], training_cfg: Mapping[str, Any] | None) -> torch.optim.Optimizer:
    """Build the optimizer named by `training_cfg["optimizer"]` (default "adam") over `params`; `rho` is
    rmsprop's alpha and adadelta's rho."""
    cfg = dict(training_cfg or {})
    name = str(cfg.get("optimizer") or "adam").lower()
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}")
    hp = {"lr": setting(cfg, "lr", DEFAULT_LR), "eps": setting(cfg, "eps", DEFAULT_EPS), "weight_decay": setting(cfg, "weight_decay", 0.0),
          "momentum": setting(cfg, "momentum", 0.0), "nesterov": bool(cfg.get("nesterov") or False),
          "betas": (setting(cfg, "beta1", 0.9), setting(cfg, "beta2", 0.999)), "rho": setting(cfg, "rho", 0.9),
          "alpha": setting(cfg, "rho", 0.99)}
    if hp["lr"] <= 0:
        raise ValueError(f"lr must be > 0, got {hp['lr']}")
    return OPTIMIZERS.create(name, params, hp)
