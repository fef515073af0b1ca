"""The backend contract (automl.testing.backend_contract) against every registered backend.

Ray runs on one local Ray for the module (loopback, 2 CPUs), started after TORCHDYNAMO_DISABLE=1 is set so
that `compile` is passed through and recorded without compiling (its workers inherit the environment).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from automl.backends.base import BACKENDS
from automl.testing.backend_contract import BackendContract

# one trial at a time, no early stopping: the same seed must give the same trials
OPTIONS = {"optuna": {"pruner": "none", "workers": 1}, "ray": {"scheduler": "fifo", "max_concurrent": 1}}
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module", params=BACKENDS.names())
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    # for this module only: torch reads it at each torch.compile, and a later module (test_devices) compiles
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TORCHDYNAMO_DISABLE", "1")
        if request.param != "ray":
            yield request.param
            return
        import ray  # a core dependency: missing, this is an error, never a skip
        base = tempfile.mkdtemp(prefix="amlc", dir="/tmp")
        if "RAY_CHDIR_TO_TRIAL_DIR" not in os.environ:
            env.setenv("RAY_CHDIR_TO_TRIAL_DIR", "0")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100_000_000,
                 _temp_dir=base, _node_ip_address="127.0.0.1", logging_level="WARNING")
        try:
            yield request.param
        finally:
            ray.shutdown()
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def options(backend: str) -> dict[str, Any]:
    return OPTIONS[backend]


def test_every_backend_has_contract_options() -> None:
    assert set(OPTIONS) == set(BACKENDS.names())


class TestBackendContract(BackendContract):
    pass


@pytest.mark.parametrize("registry", ["sampler", "pruner", "scheduler"])
def test_every_name_the_validator_accepts_has_an_implementation(registry: str, tmp_path) -> None:
    """Samplers and pruners: the YAML validator reads the registries; every entry builds its object."""
    import optuna
    from ray.tune.schedulers import TrialScheduler

    from automl.backends.optuna.samplers import PRUNERS, SAMPLERS
    from automl.backends.optuna.settings import OptunaSettings
    from automl.backends.ray.settings import SCHEDULERS, RaySettings
    from automl.space import load_space, schema
    from automl.testing.backend_contract import write_space

    space = load_space(write_space(tmp_path, "names"))
    reg, kind, make = {
        "sampler": (SAMPLERS, optuna.samplers.BaseSampler, lambda n: SAMPLERS.create(n, OptunaSettings(), space, 0)),
        "pruner": (PRUNERS, optuna.pruners.BasePruner, lambda n: PRUNERS.create(n, OptunaSettings(), 5)),
        "scheduler": (SCHEDULERS, TrialScheduler, lambda n: SCHEDULERS.create(n, RaySettings(), space, 5)),
    }[registry]
    assert reg.names() == {"sampler": schema.SAMPLERS, "pruner": schema.PRUNERS}.get(registry, reg.names())
    for name in reg.names():
        assert isinstance(make(name), kind), name
