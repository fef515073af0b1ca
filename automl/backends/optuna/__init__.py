"""The embedded default backend: Optuna with a local (SQLite) or any Optuna storage, K worker processes.

Importing this package is cheap (no optuna): the YAML validator reads the sampler and pruner names from
`automl.backends.optuna.samplers`.
"""
