"""Optimizers from `config["training"]` (see docs/CONFIG.md for the keys and defaults)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

OPTIMIZERS: tuple[str, ...] = ("sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw", "adamax", "nadam")

DEFAULT_LR = 1e-3
DEFAULT_EPS = 1e-8
DEFAULT_RHO = {"rmsprop": 0.99, "adadelta": 0.9}


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
    lr = _f(cfg, "lr", DEFAULT_LR)
    eps = _f(cfg, "eps", DEFAULT_EPS)
    wd = _f(cfg, "weight_decay", 0.0)
    momentum = _f(cfg, "momentum", 0.0)
    betas = (_f(cfg, "beta1", 0.9), _f(cfg, "beta2", 0.999))
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr}")

    if name == "sgd":
        nesterov = bool(cfg.get("nesterov") or False)
        if nesterov and momentum <= 0:
            raise ValueError("sgd: nesterov=True requires momentum > 0")
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=wd)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=eps, weight_decay=wd)
    if name == "adadelta":
        rho = _f(cfg, "rho", DEFAULT_RHO["adadelta"])
        return torch.optim.Adadelta(params, lr=lr, rho=rho, eps=eps, weight_decay=wd)
    if name == "rmsprop":
        alpha = _f(cfg, "rho", DEFAULT_RHO["rmsprop"])
        return torch.optim.RMSprop(params, lr=lr, alpha=alpha, eps=eps, momentum=momentum, weight_decay=wd)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    if name == "adamax":
        return torch.optim.Adamax(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    if name == "nadam":
        return torch.optim.NAdam(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}")
