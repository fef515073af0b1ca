"""Models: the sampled `config["model"]` as a torch network, checked for feasibility before it is built.

reason = check_feasible(config, data_spec)   # None or why not, without allocating weights
model = build_model(config, data_spec)       # raises InfeasibleConfig(reason) otherwise
logits, features = model(x, return_features=True)
print(model_summary(model, data_spec))
"""

from automl._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "activations": ("ACTIVATIONS", "make_activation"),
    "build": ("Net", "build_model"),
    "config": ("ConvBlockConfig", "DenseBlockConfig", "ModelConfig"),
    "initializers": ("INITIALIZERS", "initialize"),
    "plan": ("InfeasibleConfig", "ModelPlan", "check_feasible", "count_params", "plan_model"),
    "summary": ("LayerRow", "ModelSummary", "model_summary"),
})
