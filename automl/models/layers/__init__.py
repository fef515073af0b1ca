"""Layer kinds, one module each (config, YAML keys, shape/param rule, module), registered in LAYERS.

Registration order is network order: conv blocks (cnn family only) come before dense blocks.
"""

from automl.models.layers import conv, dense
from automl.models.layers.base import LAYERS, LayerKind

__all__ = ["LAYERS", "LayerKind", "conv", "dense"]
