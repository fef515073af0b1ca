"""Reading results, validating a space and `automl --help` must not pay for torch, ray or optuna.

Each check runs in a fresh interpreter (this one has torch loaded already) and inspects `sys.modules`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "ray", "optuna")
PROBE = "import json, sys; print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)))"


def _heavy_after(code: str) -> list[str]:
    probe = PROBE.format(heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", f"{code}\n{probe}"], cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code", [
    "import automl.space, automl.store",
    "import automl.data.spec",
    "import automl.data, automl.models, automl.training",
    "from automl.space import load_space; load_space('search_spaces/mnist1d_cnn.yaml')",
    "from automl.space import load_space, shipped_spaces\nfor p in shipped_spaces().values(): load_space(p)",
    "import automl\nassert automl.__version__ and callable(automl.search) and callable(automl.load_model)",
    "import automl.api, automl.predict, automl.export, automl.store.summary, automl.data.preprocess",
])
def test_light_imports_pull_no_torch_ray_or_optuna(code):
    assert _heavy_after(code) == []


def test_lazy_packages_still_export_their_public_names():
    import automl.data
    import automl.models
    import automl.space
    import automl.store
    import automl.training

    for pkg in (automl.data, automl.models, automl.space, automl.store, automl.training):
        assert pkg.__all__ and set(pkg.__all__) <= set(dir(pkg))
        for name in pkg.__all__:
            assert getattr(pkg, name) is not None, f"{pkg.__name__}.{name}"
        with pytest.raises(AttributeError):
            _ = pkg.definitely_not_exported


def test_cli_help_pulls_no_torch_ray_or_optuna():
    script = Path(sys.executable).with_name("automl")
    if not script.is_file():
        pytest.skip("the automl console script is not installed next to this interpreter")
    code = ("import sys, runpy\nsys.argv = ['automl', '--help']\n"
            f"try:\n    runpy.run_path({str(script)!r}, run_name='__main__')\nexcept SystemExit as e:\n"
            "    assert e.code in (0, None), e.code\n")
    assert _heavy_after(code) == []
