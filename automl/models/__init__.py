"""Models: the sampled `config["model"]` as a torch network, checked for feasibility before it is built.

reason = check_feasible(config, data_spec)   # None or why not, without allocating weights
model = build_model(config, data_spec)       # raises InfeasibleConfig(reason) otherwise
logits, features = model(x, return_features=True)
print(model_summary(model, data_spec))
"""

from __future__ import annotations

from automl.models.activations import ACTIVATIONS, make_activation
from automl.models.build import Net, build_model
from automl.models.config import ConvBlockConfig, DenseBlockConfig, ModelConfig
from automl.models.initializers import INITIALIZERS, initialize
from automl.models.plan import InfeasibleConfig, ModelPlan, check_feasible, count_params, plan_model
from automl.models.summary import LayerRow, ModelSummary, model_summary

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "ConvBlockConfig",
    "DenseBlockConfig",
    "InfeasibleConfig",
    "LayerRow",
    "ModelConfig",
    "ModelPlan",
    "ModelSummary",
    "Net",
    "build_model",
    "check_feasible",
    "count_params",
    "initialize",
    "make_activation",
    "model_summary",
    "plan_model",
]
