"""Training throughput of automl's Trainer vs a minimal hand-written PyTorch loop on mnist1d.

Both train the same hand-written 1D CNN (same initial weights) with Adam(lr=1e-3), cross-entropy, batch size
128, the same number of epochs and torch threads, shuffling with one seeded randperm per epoch and slicing
contiguous batches. Runs are interleaved (AB, BA, AB, ...) and repeated; figures are medians over repeats.

Two figures per method:
  train_wall  training phase only, wall clock; per-epoch validation is EXCLUDED from both (the trainer's own
              `samples_per_second`; the hand loop times its batch loop the same way)
  e2e_wall    whole call, wall clock; per-epoch validation on the 1000-sample test split INCLUDED in both
              (trainer: full metrics + best-weights tracking; hand loop: loss + accuracy)
  e2e_cpu     as e2e_wall but per CPU-second of this process: far less sensitive to other jobs on a shared host

Usage: python benchmarks/trainer_throughput.py [--epochs 2] [--repeats 6] [--threads 1] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from mnist1d.data import get_dataset_args, make_dataset
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from automl.data.dataset import Split
from automl.training import set_num_threads, train


class CNN1D(nn.Module):
    """3 x conv1d(k=5) + 2 max-pools + dense 128 + head; forward(x, return_features) like automl models."""

    def __init__(self, n_classes: int = 10, length: int = 40) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(1, 32, 5, padding=2)
        self.conv2 = nn.Conv1d(32, 64, 5, padding=2)
        self.conv3 = nn.Conv1d(64, 64, 5, padding=2)
        self.pool = nn.MaxPool1d(2)
        self.fc = nn.Linear(64 * (length // 4), 128)
        self.head = nn.Linear(128, n_classes)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        h = torch.relu(self.conv1(x))
        h = self.pool(torch.relu(self.conv2(h)))
        h = self.pool(torch.relu(self.conv3(h)))
        features = torch.relu(self.fc(h.flatten(1)))
        logits = self.head(features)
        return (logits, features) if return_features else logits


def load_mnist1d() -> tuple[Split, Split]:
    data = make_dataset(get_dataset_args())
    x = torch.as_tensor(data["x"], dtype=torch.float32).unsqueeze(1)
    xt = torch.as_tensor(data["x_test"], dtype=torch.float32).unsqueeze(1)
    return (
        Split(x, torch.as_tensor(data["y"], dtype=torch.int64)),
        Split(xt, torch.as_tensor(data["y_test"], dtype=torch.int64)),
    )


def fresh_model(device: torch.device) -> nn.Module:
    torch.manual_seed(0)
    return CNN1D().to(device)


def run_trainer(tr: Split, va: Split, epochs: int, batch_size: int, device: torch.device) -> dict:
    model = fresh_model(device)
    cfg = {"optimizer": "adam", "lr": 1e-3, "batch_size": batch_size, "max_epochs": epochs, "patience": 0}
    t0, c0 = time.perf_counter(), time.process_time()
    res = train(model, cfg, tr, va, "multiclass", objective_metric="val_accuracy", device=device, seed=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "train_sps": res.samples_per_second,
        "e2e_sps": len(tr) * res.epochs_run / wall,
        "e2e_cpu_sps": len(tr) * res.epochs_run / cpu,
        "final_val_accuracy": res.history[-1]["val_accuracy"],
    }


def run_hand_loop(tr: Split, va: Split, epochs: int, batch_size: int, device: torch.device) -> dict:
    t_start, c_start = time.perf_counter(), time.process_time()
    model = fresh_model(device)
    x, y = tr.x.to(device), tr.y.to(device)
    xv, yv = va.x.to(device), va.y.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    n = x.shape[0]
    train_time = 0.0
    acc = float("nan")
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=gen).to(device)
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        loss.item()  # sync once per epoch
        train_time += time.perf_counter() - t0
        model.eval()
        with torch.inference_mode():
            out = model(xv)
            F.cross_entropy(out, yv).item()
            acc = (out.argmax(1) == yv).float().mean().item()
    wall, cpu = time.perf_counter() - t_start, time.process_time() - c_start
    return {
        "train_sps": n * epochs / train_time,
        "e2e_sps": n * epochs / wall,
        "e2e_cpu_sps": n * epochs / cpu,
        "final_val_accuracy": acc,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    set_num_threads(args.threads)
    device = torch.device(args.device)
    tr, va = load_mnist1d()
    runners = {"trainer": run_trainer, "hand_loop": run_hand_loop}
    for fn in runners.values():  # warm-up (allocator, kernels), not counted
        fn(tr.subset(512), va.subset(256), 1, args.batch_size, device)

    results: dict[str, list[dict]] = {k: [] for k in runners}
    order: list[str] = []
    for r in range(args.repeats):
        pair = ["trainer", "hand_loop"] if r % 2 == 0 else ["hand_loop", "trainer"]
        for name in pair:
            results[name].append(runners[name](tr, va, args.epochs, args.batch_size, device))
            order.append(name)

    def med(name: str, key: str) -> float:
        return statistics.median(run[key] for run in results[name])

    def figures(key: str) -> dict:
        t, h = med("trainer", key), med("hand_loop", key)
        paired = [a[key] / b[key] for a, b in zip(results["trainer"], results["hand_loop"], strict=True)]
        return {
            "trainer": round(t, 1),
            "hand_loop": round(h, 1),
            "ratio": round(t / h, 4),  # ratio of the medians
            "paired_ratio_median": round(statistics.median(paired), 4),  # runs of one repeat ran back to back
        }

    summary = {
        "benchmark": "trainer_throughput",
        "dataset": f"mnist1d train={len(tr)} val={len(va)} input={tuple(tr.x.shape[1:])}",
        "model": "CNN1D conv(1-32-64-64, k5) + 2 maxpool + dense128 + head10",
        "params": sum(p.numel() for p in fresh_model(device).parameters()),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "epochs_per_run": args.epochs,
        "repeats": args.repeats,
        "order": order,
        "samples_per_second": {
            "train_wall": {
                "validation": "excluded from both",
                **figures("train_sps"),
            },
            "e2e_wall": {
                "validation": "included in both (per-epoch validation on 1000 samples)",
                **figures("e2e_sps"),
            },
            "e2e_cpu": {
                "validation": "included in both; samples per CPU-second of this process (robust on a shared host)",
                **figures("e2e_cpu_sps"),
            },
        },
        "target_ratio": 0.95,
        "same_result": {k: [r["final_val_accuracy"] for r in v] for k, v in results.items()},
        "runs": results,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
