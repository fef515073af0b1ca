"""A Keras-style table of a model: layer, type, output shape, parameters."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from automl.data.spec import DataSpec
from automl.models.blocks import Residual


@dataclass(frozen=True)
class LayerRow:
    """One executed layer; `params` counts only its own (non-nested) parameters, so rows sum to the total."""

    name: str
    type: str
    output_shape: tuple[int, ...]  # per sample, batch dim dropped
    params: int

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "output_shape": list(self.output_shape)}


@dataclass(frozen=True)
class ModelSummary:
    """Rows in execution order plus totals; `str()` renders a table, `to_dict()` is JSON-ready."""

    rows: tuple[LayerRow, ...]
    total_params: int
    trainable_params: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def to_dict(self) -> dict[str, Any]:
        return {"rows": [r.to_dict() for r in self.rows], "total_params": self.total_params,
                "trainable_params": self.trainable_params, "non_trainable_params": self.non_trainable_params,
                "input_shape": list(self.input_shape), "output_shape": list(self.output_shape)}

    def __str__(self) -> str:
        header = ("Layer", "Type", "Output shape", "Params")
        body = [(r.name, r.type, _shape(r.output_shape), f"{r.params:,}") for r in self.rows]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]

        def fmt(row: tuple[str, str, str, str]) -> str:
            return "  ".join([*(cell.ljust(w) for cell, w in zip(row[:3], widths[:3], strict=True)), row[3].rjust(widths[3])])

        rule = "-" * len(fmt(header))
        return "\n".join([
            f"input {_shape(self.input_shape)} -> output {_shape(self.output_shape)}", rule, fmt(header), rule,
            *(fmt(row) for row in body), rule,
            f"Total params:         {self.total_params:,}",
            f"Trainable params:     {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
        ])


def _shape(shape: tuple[int, ...]) -> str:
    return "(N, " + ", ".join(map(str, shape)) + ")" if shape else "(N,)"


def dummy_input(data_spec: DataSpec, batch: int = 2, device: torch.device | None = None) -> torch.Tensor:
    """A batch shaped like the data: random token ids for tokens inputs, Gaussian floats otherwise."""
    shape = (batch, *data_spec.input_shape)
    if data_spec.input_kind == "tokens":
        return torch.randint(0, max(data_spec.vocab_size, 1), shape, device=device)
    return torch.randn(shape, device=device)


def model_summary(model: nn.Module, data_spec: DataSpec) -> ModelSummary:
    """Run a dummy batch of 2 (eval mode, no grad) through forward hooks to record every layer's output."""
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    recorded: list[LayerRow] = []
    handles = []

    def hook_for(name: str, module: nn.Module):
        own = sum(p.numel() for p in module.parameters(recurse=False))

        def hook(_mod: nn.Module, _inp: Any, out: Any) -> None:
            tensor = out[0] if isinstance(out, (tuple, list)) else out
            shape = tuple(tensor.shape[1:]) if isinstance(tensor, torch.Tensor) else ()
            recorded.append(LayerRow(name, type(module).__name__, shape, own))

        return hook

    for name, module in model.named_modules():
        if not name:
            continue
        is_leaf = next(module.children(), None) is None
        own = any(True for _ in module.parameters(recurse=False))
        if is_leaf or own or isinstance(module, Residual):
            handles.append(module.register_forward_hook(hook_for(name, module)))

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(dummy_input(data_spec, 2, device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    out_t = out[0] if isinstance(out, (tuple, list)) else out
    params = list(model.parameters())
    return ModelSummary(tuple(recorded), total_params=sum(p.numel() for p in params),
                        trainable_params=sum(p.numel() for p in params if p.requires_grad),
                        input_shape=tuple(data_spec.input_shape), output_shape=tuple(out_t.shape[1:]))
