"""A model factory for `examples/custom_model.yaml`: a small 1D ResNet for signals such as MNIST-1D.

automl calls `build(config, data_spec)` once per trial with the sampled config (`config["model"]` holds the
hyperparameters declared under `model:` in the space, besides `factory`) and the dataset's `DataSpec`; it returns
any `torch.nn.Module` mapping a batch `(N, *data_spec.input_shape)` to `(N, outputs)`: one logit for a binary
task, one per class for multiclass, one per target for regression.
"""

from __future__ import annotations

from typing import Any

from torch import nn


class ResBlock1d(nn.Module):
    """conv-bn-relu-conv-bn plus the input (a 1x1 conv when the width changes), then relu."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.body = nn.Sequential(
            nn.Conv1d(c_in, c_out, kernel_size, padding=pad, bias=False), nn.BatchNorm1d(c_out), nn.ReLU(),
            nn.Dropout(dropout),
            nn.Conv1d(c_out, c_out, kernel_size, padding=pad, bias=False), nn.BatchNorm1d(c_out),
        )
        self.skip = nn.Identity() if c_in == c_out else nn.Conv1d(c_in, c_out, 1, bias=False)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.body(x) + self.skip(x))


class ResNet1d(nn.Module):
    def __init__(self, in_channels: int, n_outputs: int, width: int, depth: int, kernel_size: int,
                 dropout: float) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c = in_channels
        for i in range(depth):
            blocks.append(ResBlock1d(c, width, kernel_size, dropout))
            if i < depth - 1:
                blocks.append(nn.MaxPool1d(2))
            c = width
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(width, n_outputs)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=-1))  # global average pool over positions


def build(config: dict[str, Any], data_spec: Any) -> nn.Module:
    """The factory named in custom_model.yaml (`factory: my_models:build`)."""
    m = config["model"]
    shape = tuple(data_spec.input_shape)
    in_channels = shape[0] if len(shape) == 2 else 1  # (C, L) signals; a flat row would need unsqueezing
    n_outputs = 1 if data_spec.task == "binary" else data_spec.n_classes or data_spec.n_outputs
    return ResNet1d(in_channels, n_outputs, width=int(m.get("width", 32)), depth=int(m.get("depth", 2)),
                    kernel_size=int(m.get("kernel_size", 5)), dropout=float(m.get("dropout", 0.0)))
