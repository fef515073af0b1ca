"""GPU benchmark: trials/hour with 1, 2 and 4 trials per GPU on mnist1d and digits, and one trial on GPU vs CPU.

    python benchmarks/gpu_trials.py            # writes results/benchmarks/gpu_trials.json and .md

Each packing level runs the same fixed number of trials (random sampler, no pruner, fixed epochs, same
seed) through the real Optuna backend with `--device cuda --trials-per-gpu N`, so trials/hour compares
like with like. Needs a CUDA GPU; exits with a message otherwise.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "benchmarks"

SPACES = {
    "mnist1d": {
        "dataset": {"name": "mnist1d", "split": {"val": 0.1, "seed": 0}},
        "model": {"family": "cnn", "n_conv_blocks": 3,
                  "conv_blocks": {"filters": {"low": 32, "high": 128, "log": True}, "kernel_size": 5,
                                  "batch_norm": True, "pool": "max"},
                  "n_dense_blocks": 1, "dense_blocks": {"units": 128}},
    },
    "digits": {
        "dataset": {"name": "digits"},
        "model": {"family": "cnn", "n_conv_blocks": 2,
                  "conv_blocks": {"filters": {"low": 16, "high": 64, "log": True}, "kernel_size": 3,
                                  "batch_norm": True, "pool": {"choices": ["none", "max"]}},
                  "n_dense_blocks": 1, "dense_blocks": {"units": 64}},
    },
}
TRAINING = {"optimizer": "adam", "lr": {"low": 1e-3, "high": 1e-2, "log": True}, "batch_size": 128,
            "max_epochs": 10, "patience": 0}


def write_space(tmp: Path, name: str) -> Path:
    doc = {"name": f"gpu_{name}", **SPACES[name], "training": TRAINING}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def trials_per_hour(space: Path, per_gpu: int, trials: int, root: Path) -> dict:
    from automl.backends.prepare import load_trials, start_search

    t0 = time.time()
    info = start_search(space, study=f"{space.stem}_x{per_gpu}", root=root, sampler="random", pruner="none",
                        trials=trials, seed=0, device="cuda", trials_per_gpu=per_gpu)
    wall = time.time() - t0
    recs = load_trials(info)
    done = [r for r in recs if r.state == "COMPLETE"]
    return {"trials_per_gpu": per_gpu, "trials": len(recs), "complete": len(done), "wall_s": round(wall, 2),
            "trials_per_hour": round(3600 * len(done) / wall, 1),
            "mean_trial_s": round(sum(r.seconds for r in done) / max(1, len(done)), 2)}


def one_trial(space: Path, device: str) -> dict:
    from automl.data import load_dataset
    from automl.space import RandomSuggest, load_space, sample
    from automl.trial import run_trial

    s = load_space(space)
    data = load_dataset(s.dataset, base_dir=s.base_dir)
    cfg = sample(s.space, RandomSuggest(0)).config
    run_trial(cfg, data, objective_metric="val_accuracy", direction="maximize", device=device, max_epochs=1)  # warm-up
    res = run_trial(cfg, data, objective_metric="val_accuracy", direction="maximize", device=device, seed=0)
    return {"device": device, "seconds": round(res.seconds, 3), "samples_per_second": round(res.samples_per_second, 1),
            "val_accuracy": res.value}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--packing", type=int, nargs="+", default=[1, 2, 4])
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("No CUDA GPU visible: this benchmark needs one (the CPU-only suite tests the same logic).")
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    result = {"gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
              "torch": torch.__version__, "trials": args.trials, "datasets": {}}
    try:
        for name in SPACES:
            space = write_space(tmp, name)
            torch.set_num_threads(1)
            result["datasets"][name] = {
                "packing": [trials_per_hour(space, k, args.trials, tmp / "runs") for k in args.packing],
                "single_trial": [one_trial(space, "cuda:0"), one_trial(space, "cpu")],
            }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    (OUT / "gpu_trials.json").write_text(json.dumps(result, indent=2))
    lines = [f"# GPU trials benchmark ({', '.join(result['gpus'])}, torch {result['torch']})", "",
             "| dataset | trials/GPU | trials | wall s | trials/hour | mean trial s |", "|---|---|---|---|---|---|"]
    for name, d in result["datasets"].items():
        for p in d["packing"]:
            lines.append(f"| {name} | {p['trials_per_gpu']} | {p['complete']} | {p['wall_s']} | {p['trials_per_hour']} | {p['mean_trial_s']} |")
    lines += ["", "| dataset | device | one trial s | train samples/s |", "|---|---|---|---|"]
    for name, d in result["datasets"].items():
        for t in d["single_trial"]:
            lines.append(f"| {name} | {t['device']} | {t['seconds']} | {t['samples_per_second']} |")
    (OUT / "gpu_trials.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
