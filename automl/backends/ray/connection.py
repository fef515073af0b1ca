"""Connecting to a Ray cluster (token auth as `ray start` sets it up) or starting a local Ray on loopback;
a Ray this search started is shut down when the search ends."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from automl.backends.ray.settings import RaySettings
from automl.space.errors import UserInputError

WARM_HOOK = "automl.backends.ray.trainable.warm_process"
_DRIVER_ENV = {
    "RAY_CHDIR_TO_TRIAL_DIR": "0",  # no per-trial chdir (workers of a local Ray inherit it; runtime_env for clusters)
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",  # JSON + CSV loggers are added explicitly, no TensorBoard files
    "RAY_AIR_NEW_OUTPUT": "0",  # with verbose=0: no Tune tables on the console, our progress lines only
}


def _token_available() -> bool:
    env = os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
    return bool(env) or (Path.home() / ".ray" / "auth_token").exists()


def _token_mode() -> None:
    """RAY_AUTH_MODE=token for this process; Ray caches its config at import, so refresh it too."""
    os.environ["RAY_AUTH_MODE"] = "token"
    with contextlib.suppress(Exception):
        from ray._raylet import Config

        Config.initialize("")


def connect(settings: RaySettings, *, quiet: bool = True) -> bool:
    """Connect to the cluster at `settings.address`, or start a local Ray (dashboard off, loopback).
    Returns True when this call started Ray (the caller shuts it down)."""
    import ray

    for k, v in _DRIVER_ENV.items():
        os.environ.setdefault(k, v)
    if ray.is_initialized():
        return False
    env_vars = {"RAY_CHDIR_TO_TRIAL_DIR": "0"}
    kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=not quiet,
                                  logging_level=logging.WARNING, runtime_env={"env_vars": env_vars})
    address = settings.address
    if address:
        if (address not in ("auto",) and not address.startswith("ray://") and "RAY_AUTH_MODE" not in os.environ
                and _token_available()):
            _token_mode()  # `ray start --head` turns token auth on by default in Ray 2.60
        try:
            ray.init(address=address, **kwargs)
        except Exception as e:
            raise UserInputError(
                f"Cannot connect to the Ray cluster at --address {address}: {type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}. Check that `ray start --head` runs there and the "
                "port is reachable; clusters with token auth (the default of `ray start` in Ray 2.60) need "
                "RAY_AUTH_MODE=token and the cluster's token in ~/.ray/auth_token or RAY_AUTH_TOKEN.") from None
        return True
    # a local Ray: its worker processes (prestarted at init) import what a trial's actor needs as they start,
    # while the driver loads the data and sets up Tune, not when the first trials start (trainable.warm_process)
    kwargs["runtime_env"]["worker_process_setup_hook"] = WARM_HOOK
    ray.init(num_cpus=settings.num_cpus, dashboard_host="127.0.0.1", _node_ip_address="127.0.0.1", **kwargs)
    return True


@contextlib.contextmanager
def ray_session(settings: RaySettings) -> Iterator[None]:
    """Connected (or a local Ray started) for the block; a Ray this call started is shut down after it."""
    started = connect(settings)
    try:
        yield
    finally:
        if started:
            import ray

            ray.shutdown()


