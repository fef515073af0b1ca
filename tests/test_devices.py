"""GPU placement logic (runs without a GPU), mixed precision, torch.compile and out-of-memory handling."""

from __future__ import annotations

import pytest
import torch

from automl.backends.devices import plan_slots, resolve_devices, threads_per_slot
from automl.data import load_dataset
from automl.space.errors import UserInputError
from automl.trial import _is_oom, run_trial

CUDA = torch.cuda.is_available()
gpu = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU; none is visible on this machine")


@pytest.fixture(scope="module")
def wine():
    torch.set_num_threads(1)
    return load_dataset({"name": "wine"})


MLP = {"model": {"family": "mlp", "n_dense_blocks": 1, "dense_blocks": [{"units": 16}]},
       "training": {"optimizer": "adam", "lr": 0.01, "batch_size": 32, "max_epochs": 3, "patience": 0}}


def test_resolve_devices_without_gpus():
    assert resolve_devices("cpu", n_gpus=0) == ["cpu"]
    assert resolve_devices("auto", n_gpus=0) == ["cpu"]
    with pytest.raises(UserInputError, match="no CUDA GPU"):
        resolve_devices("cuda", n_gpus=0)
    with pytest.raises(UserInputError, match="only 0 GPU"):
        resolve_devices("cuda:1", n_gpus=0)
    with pytest.raises(UserInputError, match="allowed: auto, cpu, cuda, cuda:N"):
        resolve_devices("tpu", n_gpus=0)


def test_resolve_devices_with_gpus():
    assert resolve_devices("auto", n_gpus=4) == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    assert resolve_devices("cuda", n_gpus=2) == ["cuda:0", "cuda:1"]
    assert resolve_devices("cuda:1", n_gpus=2) == ["cuda:1"]


def test_slots_pin_each_worker_to_one_gpu(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    slots = plan_slots(["cuda:0", "cuda:1"], workers=1, trials_per_gpu=3)
    assert len(slots) == 6
    assert [s.env["CUDA_VISIBLE_DEVICES"] for s in slots] == ["0", "0", "0", "1", "1", "1"]
    assert {s.device for s in slots} == {"cuda:0"}  # pinned: each worker sees its GPU as cuda:0
    assert [s.label for s in slots][:4] == ["cuda:0", "cuda:0", "cuda:0", "cuda:1"]
    assert threads_per_slot(len(slots), 16) == 2


def test_slots_respect_outer_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    slots = plan_slots(["cuda:0", "cuda:1"], workers=1, trials_per_gpu=1)
    assert [s.env["CUDA_VISIBLE_DEVICES"] for s in slots] == ["3", "5"]


def test_cpu_slots_follow_workers():
    slots = plan_slots(["cpu"], workers=3)
    assert [(s.device, s.gpu, s.env) for s in slots] == [("cpu", None, {})] * 3
    with pytest.raises(UserInputError):
        plan_slots(["cuda:0"], workers=1, trials_per_gpu=0)


def test_bf16_autocast_trains_on_cpu(wine):
    res = run_trial(MLP, wine, objective_metric="val_accuracy", direction="maximize", precision="bf16", seed=0)
    assert res.status == "complete", res.reason
    assert res.value > 0.5
    assert all(isinstance(h["val_loss"], float) for h in res.history)


def test_fp16_on_cpu_is_a_recorded_failure_not_a_crash(wine):
    res = run_trial(MLP, wine, objective_metric="val_accuracy", direction="maximize", precision="fp16")
    assert res.status == "failed" and "fp16 needs a CUDA device" in res.reason


def test_torch_compile_trains(wine):
    res = run_trial({**MLP, "training": {**MLP["training"], "max_epochs": 2}}, wine,
                    objective_metric="val_accuracy", direction="maximize", compile=True, seed=0)
    assert res.status == "complete", res.reason + res.detail


def test_out_of_memory_is_recorded_and_freed(wine):
    """A real allocation failure: a 400k x 400k layer (640 GB) cannot be allocated on this machine."""
    huge = {"model": {"family": "mlp", "n_dense_blocks": 2, "dense_blocks": [{"units": 400_000}, {"units": 400_000}],
                      "max_params": 10**12}, "training": {"max_epochs": 1}}
    res = run_trial(huge, wine, objective_metric="val_accuracy", direction="maximize")
    assert res.status == "failed"
    assert res.reason == "out of memory"
    # the search goes on: the next trial in the same process trains normally
    ok = run_trial(MLP, wine, objective_metric="val_accuracy", direction="maximize")
    assert ok.status == "complete"


def test_oom_detection_covers_cuda_and_cpu_messages():
    assert _is_oom(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert _is_oom(RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"))
    assert not _is_oom(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))


@gpu
def test_fp16_and_bf16_on_gpu(wine):
    for precision in ("fp16", "bf16"):
        res = run_trial(MLP, wine, objective_metric="val_accuracy", direction="maximize", precision=precision,
                        device="cuda:0")
        assert res.status == "complete", res.reason


@gpu
def test_cuda_oom_is_recorded_and_memory_freed(wine):
    total = torch.cuda.get_device_properties(0).total_memory
    units = int((total * 2 / 4) ** 0.5)  # one weight matrix twice the card's memory
    huge = {"model": {"family": "mlp", "n_dense_blocks": 2, "dense_blocks": [{"units": units}, {"units": units}],
                      "max_params": 10**13}, "training": {"max_epochs": 1}}
    before = torch.cuda.memory_allocated(0)
    res = run_trial(huge, wine, objective_metric="val_accuracy", direction="maximize", device="cuda:0")
    assert res.status == "failed" and res.reason == "out of memory"
    assert torch.cuda.memory_allocated(0) <= before + 1024
