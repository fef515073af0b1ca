"""YAHPO Gym's LCBench surrogate, read with onnxruntime alone, and its space as an automl `SearchSpace`.

Why not `yahpo_gym` itself: yahpo-gym 1.0.2 pins `configspace<=0.6.1` and `numpy<2`, while automl's `bohb`
and `test` extras need ConfigSpace >= 0.7 (Ray's TuneBOHB, hpbandster) and onnx needs numpy >= 2, so the two
cannot be installed side by side. The surrogate is one ONNX file plus an integer encoding of the task id;
`predict` builds the model's inputs exactly as `yahpo_gym.BenchmarkSet._config_to_xs` does (continuous
inputs in the order of `CONT_NAMES`, raw values, float32; the task id integer-encoded from `encoding.json`).
`tests/test_surrogate_bench.py` checks the outputs against numbers that `yahpo_gym` itself printed for the
same configurations (`tests/data/yahpo_lcbench_reference.json`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

# yahpo_gym/benchmarks/lcbench.py: the model's continuous inputs and outputs, in this order
CONT_NAMES = ("epoch", "batch_size", "learning_rate", "momentum", "weight_decay", "num_layers", "max_units",
              "max_dropout")
Y_NAMES = ("time", "val_accuracy", "val_cross_entropy", "val_balanced_accuracy", "test_cross_entropy",
           "test_balanced_accuracy")
HP_NAMES = ("num_layers", "max_units", "max_dropout", "batch_size", "learning_rate", "momentum", "weight_decay")
MAX_EPOCH = 52

# shared/data/yahpo/README.md: tune on these only; the other 24 tasks are held out
DEV_TASKS = ("3945", "7593", "34539", "126025", "126026", "126029", "146212", "167104", "167149", "167152")


class DataMissing(RuntimeError):
    """The surrogate's files are not where --data-dir says."""


class LCBench:
    """Learning curves of the LCBench surrogate: `curve(task, config)` -> arrays over epochs 1..52."""

    def __init__(self, data_dir: str | Path) -> None:
        import onnxruntime as ort

        self.dir = Path(data_dir) / "lcbench"
        needed = [self.dir / n for n in ("model.onnx", "encoding.json", "config_space.json")]
        missing = [str(p) for p in needed if not p.is_file()]
        if missing:
            raise DataMissing(f"the LCBench surrogate files are missing: {', '.join(missing)}; --data-dir must be "
                              "the folder holding VERSION and lcbench/ (shared/data/yahpo, see its README.md)")
        self.version = (Path(data_dir) / "VERSION").read_text().strip() if (Path(data_dir) / "VERSION").is_file() else "?"
        self.encoding: dict[str, int] = json.loads((self.dir / "encoding.json").read_text())["OpenML_task_id"]
        cs = json.loads((self.dir / "config_space.json").read_text())
        self.hps = {h["name"]: h for h in cs["hyperparameters"]}
        self.tasks: tuple[str, ...] = tuple(self.hps["OpenML_task_id"]["choices"])
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # one process, one core: the benchmark runs beside other jobs
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.dir / "model.onnx"), opts, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self.session.get_inputs()]  # x_cat, x_cont
        self._epochs = np.arange(1, MAX_EPOCH + 1, dtype=np.float32)
        self.calls = 0

    def predict(self, rows: list[dict[str, Any]]) -> np.ndarray:
        """One batched surrogate call; each row holds the 7 hyperparameters, `epoch` and `OpenML_task_id`.
        Returns an (n, 6) array in the order of `Y_NAMES`."""
        x_cat = np.array([[self.encoding[str(r["OpenML_task_id"])]] for r in rows], dtype=np.int32)
        x_cont = np.array([[r[n] for n in CONT_NAMES] for r in rows], dtype=np.float32)
        self.calls += 1
        return self.session.run(None, {self._inputs[0]: x_cat, self._inputs[1]: x_cont})[0]

    def curve(self, task: str, config: dict[str, Any]) -> dict[str, np.ndarray]:
        """The whole learning curve of one configuration (epochs 1..52) in one call: val/test errors in
        percent and the simulated seconds each epoch adds (the surrogate's cumulative `time`, differenced)."""
        x_cat = np.full((MAX_EPOCH, 1), self.encoding[str(task)], dtype=np.int32)
        x_cont = np.empty((MAX_EPOCH, len(CONT_NAMES)), dtype=np.float32)
        x_cont[:, 0] = self._epochs
        for j, n in enumerate(CONT_NAMES[1:], start=1):
            x_cont[:, j] = config[n]
        self.calls += 1
        y = self.session.run(None, {self._inputs[0]: x_cat, self._inputs[1]: x_cont})[0].astype(np.float64)
        cum_time = np.maximum.accumulate(np.maximum(y[:, 0], 0.0))  # predicted cumulative seconds, kept monotone
        return {
            "val_error": 100.0 - y[:, 1],  # val_accuracy is in percent
            "test_error": 100.0 * (1.0 - y[:, 5]),  # LCBench has test balanced accuracy (a fraction), no accuracy
            "epoch_seconds": np.diff(cum_time, prepend=0.0),
        }


def automl_space(bench: LCBench) -> Any:
    """The LCBench space as automl's own `SearchSpace` (its `Space` of `Int`/`Float` params, log where
    config_space.json says log), so the automl strategies sample it with `automl.space.sample` and build their
    sampler and pruner with the backend's `make_sampler`/`make_pruner`, which read `training.max_epochs`.
    (Not through the YAML schema: that one validates a trainable torch model, e.g. dropout < 1, where LCBench
    allows max_dropout up to 1.)"""
    from automl.space.params import Fixed, Float, Int, Param, Section, Space
    from automl.space.schema import Objective, SearchSpace

    def param(name: str) -> Param:
        h = bench.hps[name]
        if h["type"] == "uniform_int":
            return Param(name, Int(int(h["lower"]), int(h["upper"]), log=bool(h["log"])))
        if h["type"] == "uniform_float":
            return Param(name, Float(float(h["lower"]), float(h["upper"]), log=bool(h["log"])))
        raise ValueError(f"unexpected LCBench hyperparameter type {h['type']!r} for {name}")

    model = Section("model", tuple(param(n) for n in ("num_layers", "max_units", "max_dropout")))
    training = Section("training", (*(param(n) for n in ("batch_size", "learning_rate", "momentum", "weight_decay")),
                                    Param("max_epochs", Fixed(MAX_EPOCH))))
    return SearchSpace(name="lcbench_surrogate", source="benchmarks/surrogate_lcbench.py",
                       dataset={"name": "lcbench_surrogate"}, task="multiclass",
                       objective=Objective("val_accuracy", "maximize"), space=Space(Section("", (model, training))))


def flat_config(nested: dict[str, Any]) -> dict[str, Any]:
    """automl's nested sampled config -> the surrogate's 7 flat hyperparameters."""
    out = {**nested["model"], **nested["training"]}
    return {n: out[n] for n in HP_NAMES}


def config_space(bench: LCBench, seed: int) -> Any:
    """The same space as a ConfigSpace object (for BOHB and DEHB), built from config_space.json's entries."""
    import ConfigSpace as CS

    cs = CS.ConfigurationSpace(seed=seed)
    for n in HP_NAMES:
        h = bench.hps[n]
        if h["type"] == "uniform_int":
            hp = CS.UniformIntegerHyperparameter(n, int(h["lower"]), int(h["upper"]), log=bool(h["log"]))
        else:
            hp = CS.UniformFloatHyperparameter(n, float(h["lower"]), float(h["upper"]), log=bool(h["log"]))
        cs.add(hp) if hasattr(cs, "add") else cs.add_hyperparameter(hp)
    return cs
