"""`python -m automl.backends.optuna.worker`: one Optuna worker process, started by the driver.

Workers are started as a fresh interpreter on this module rather than with multiprocessing's spawn: spawn
re-runs the parent's `__main__` file in each child, so a user's script calling `automl.search(..., workers=2)`
without an `if __name__ == "__main__":` guard would start a search in every worker. The arguments come on
stdin as JSON (never on the command line, where a storage password would show in `ps`).
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from automl.backends.devices import Slot
    from automl.backends.optuna.workers import _worker_main

    args = json.loads(sys.stdin.read())
    _worker_main(args["run_dir"], args["storage"], args["study"], args["settings"], Slot(**args["slot"]),
                 parent_pid=args.get("parent_pid"), data=args.get("data"), start=args.get("start"))


if __name__ == "__main__":
    main()
