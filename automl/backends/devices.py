"""Where trials run: device resolution and GPU slots for worker processes.

`--device auto` uses every visible GPU (else the CPU). The Optuna backend starts one worker process per
slot and pins it to its GPU with CUDA_VISIBLE_DEVICES, so inside the worker the device is always `cuda:0`;
`--trials-per-gpu N` gives each GPU N slots, packing small trials onto it. Pure logic, no CUDA needed,
so it is unit-tested on CPU-only machines.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from automl.space.errors import UserInputError


@dataclass(frozen=True)
class Slot:
    """One worker's placement."""

    index: int
    device: str  # what the worker passes to torch: "cpu" or "cuda:0" (after pinning)
    gpu: int | None = None  # physical GPU index (None on CPU)
    env: dict[str, str] = field(default_factory=dict)  # set in the worker before CUDA initializes

    @property
    def label(self) -> str:
        return "cpu" if self.gpu is None else f"cuda:{self.gpu}"


def visible_gpu_count() -> int:
    """GPUs this process may use, honouring an outer CUDA_VISIBLE_DEVICES; 0 without torch.cuda."""
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # a broken driver counts as no GPU
        return 0


def resolve_devices(device: str, n_gpus: int | None = None) -> list[str]:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' -> the list of devices to spread trials over."""
    n = visible_gpu_count() if n_gpus is None else n_gpus
    if device == "cpu":
        return ["cpu"]
    if device == "auto":
        return [f"cuda:{i}" for i in range(n)] or ["cpu"]
    if device == "cuda":
        if n == 0:
            raise UserInputError("--device cuda: no CUDA GPU is visible here; use --device cpu or --device auto.")
        return [f"cuda:{i}" for i in range(n)]
    m = re.fullmatch(r"cuda:(\d+)", device)
    if m:
        i = int(m.group(1))
        if i >= n:
            raise UserInputError(f"--device {device}: only {n} GPU(s) visible (indices 0..{max(n - 1, 0)}).")
        return [device]
    raise UserInputError(f"--device {device!r} is not a device; allowed: auto, cpu, cuda, cuda:N.")


def plan_slots(devices: list[str], *, workers: int, trials_per_gpu: int = 1) -> list[Slot]:
    """CPU: `workers` slots. GPUs: `trials_per_gpu` slots per GPU, each pinned with CUDA_VISIBLE_DEVICES."""
    if trials_per_gpu < 1:
        raise UserInputError(f"--trials-per-gpu {trials_per_gpu} must be at least 1.")
    if devices == ["cpu"]:
        return [Slot(i, "cpu") for i in range(workers)]
    slots = []
    for dev in devices:
        gpu = int(dev.split(":")[1])
        for _ in range(trials_per_gpu):
            slots.append(Slot(len(slots), "cuda:0", gpu, {"CUDA_VISIBLE_DEVICES": _physical(gpu)}))
    return slots


def _physical(i: int) -> str:
    """Map a visible index to the physical id when an outer CUDA_VISIBLE_DEVICES already restricts us."""
    ids = [x.strip() for x in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if x.strip()]
    return ids[i] if i < len(ids) else str(i)


def threads_per_slot(n_slots: int, cores: int) -> int:
    return max(1, cores // max(1, n_slots))
