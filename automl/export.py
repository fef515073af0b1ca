"""Export a finalized model as TorchScript or ONNX, checked for parity with the PyTorch model.

The exported graph takes *encoded* inputs (what the module takes); the encoding of raw rows is the run's
preprocessor.json, copied next to the exported file. The parity check runs the exported file (torch.jit.load,
or onnxruntime) on the validation split, never the sealed test split.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl.space.errors import RunFailed, UserInputError

FORMATS = ("torchscript", "onnx")
TOLERANCE = 1e-5


@dataclass
class ExportResult:
    format: str
    path: Path
    preprocessor: Path | None
    max_abs_diff: float
    n_rows: int
    tolerance: float

    def summary(self) -> str:
        pre = f"; raw-row encoding in {self.preprocessor}" if self.preprocessor else ""
        return (f"Wrote {self.path} ({self.format}): outputs equal the PyTorch model's on the {self.n_rows} "
                f"validation rows within {self.tolerance:g} (max |diff| {self.max_abs_diff:.2e}){pre}.")


def validation_inputs(run_dir: Path) -> Any:
    """The run's validation inputs, encoded as in the search (the test split is not touched)."""
    from automl.data import load_dataset
    from automl.space import load_space

    space = load_space(run_dir / "space.yaml")
    return load_dataset(space.dataset, base_dir=space.base_dir).for_search().val.x


def export_model(run: Any, fmt: str, output: str | Path, *, tolerance: float = TOLERANCE) -> ExportResult:
    """Write the run's finalized model as `fmt` to `output`; RunFailed (file removed) when parity fails."""
    import numpy as np
    import torch

    from automl.predict import load_model
    from automl.training import predict

    if fmt not in FORMATS:
        raise UserInputError(f"--format {fmt!r} is not an export format; allowed: {', '.join(FORMATS)}.")
    out = Path(output)
    if out.parent and not out.parent.exists():
        raise UserInputError(f"-o {out}: folder {out.parent} does not exist.")
    model = load_model(run)
    module = model.module.eval()
    x = validation_inputs(model.run_dir)
    reference = predict(module, x).cpu().numpy()
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.no_grad():
                traced = torch.jit.trace(module, (x[:2],), check_trace=False)
            traced.save(str(out))
            loaded = torch.jit.load(str(out), map_location="cpu")  # deprecated in favour of torch.export
        with torch.no_grad():
            got = loaded(x).float().cpu().numpy()
    else:
        try:
            import onnxruntime as ort
        except ImportError:
            raise UserInputError("ONNX export needs the optional packages onnx and onnxruntime: "
                                 "pip install 'automl[export]'.") from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (x[:2],), str(out), input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False)
        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        got = session.run(None, {"x": x.numpy()})[0]
    diff = float(np.max(np.abs(got.astype(np.float64) - reference.astype(np.float64)))) if len(reference) else 0.0
    if got.shape != reference.shape or not diff <= tolerance:
        out.unlink(missing_ok=True)
        raise RunFailed(f"The {fmt} export of {model.run_dir} does not match the PyTorch model on the validation "
                        f"split (max |diff| {diff:.3g} > {tolerance:g}, shapes {got.shape} vs {reference.shape}); "
                        "no file was written.")
    pre_src = model.run_dir / "preprocessor.json"
    pre_dst = out.with_name(out.name + ".preprocessor.json")
    shutil.copyfile(pre_src, pre_dst)
    return ExportResult(fmt, out, pre_dst, diff, len(reference), tolerance)
