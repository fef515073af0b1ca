"""What a model needs to know about a dataset, independent of where the data came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Task = Literal["binary", "multiclass", "regression"]
InputKind = Literal["flat", "image", "sequence", "tokens"]


@dataclass(frozen=True)
class DataSpec:
    """Shape and task of a dataset, the only data facts `build_model` and the trainer may use.

    `input_shape` is the per-sample shape of the tensors the model receives, channels first:
      flat     (F,)        float features (tabular)
      image    (C, H, W)   float images, for conv2d
      sequence (C, L)      float signals / one-hot sequences, for conv1d (mnist1d is (1, 40))
      tokens   (L,)        int64 token ids, 0 = padding, ids in [0, vocab_size)
    """

    name: str
    task: Task
    input_kind: InputKind
    input_shape: tuple[int, ...]
    n_classes: int = 0  # 0 for regression
    n_outputs: int = 1  # 1 for binary (one logit), k for multiclass, targets for regression
    vocab_size: int = 0  # tokens only: max id + 1 (0 is padding)
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = field(default=(), repr=False)

    @property
    def n_features(self) -> int:
        n = 1
        for d in self.input_shape:
            n *= d
        return n

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "task": self.task,
            "input_kind": self.input_kind,
            "input_shape": list(self.input_shape),
            "n_classes": self.n_classes,
            "n_outputs": self.n_outputs,
            "vocab_size": self.vocab_size,
            "class_names": list(self.class_names),
        }
