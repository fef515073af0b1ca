"""The scale benchmark's pieces, for real: the zero-training replay objective through `run_trial` and the CLI,
the fast SQLite read of a study's records (the same records as Optuna's own read), the bounded-history TPE
(identical to Optuna's TPE below its window, bounded past it) and `benchmarks/scale.py --smoke` end to end."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from automl.backends.optuna.storage import _rdb_records, open_storage, record_of, surplus
from automl.backends.optuna.window import WindowedTPESampler, bounded
from automl.trial import Decision

ROOT = Path(__file__).resolve().parents[1]


def _replay_model(sleep: float = 0.0):
    from automl.data.spec import DataSpec
    from automl.testing.replay import build

    spec = DataSpec(name="t", task="binary", input_kind="flat", input_shape=(4,), n_classes=2, n_outputs=1)
    config = {"model": {"x1": 0.3, "x2": 0.6, "sleep": sleep}, "training": {"lr": 0.01, "max_epochs": 6}}
    return build(config, spec), config


def test_replay_replays_the_seeded_curve_and_obeys_the_pruner():
    from automl.testing.replay import curve_value

    model, config = _replay_model()
    res = model.automl_fit(objective_metric="val_accuracy", direction="maximize", seed=3)
    curve = [curve_value(config["model"], e, 3) for e in range(1, 7)]
    assert [h["val_accuracy"] for h in res.history] == curve
    assert res.epochs_run == 6 and res.stop_reason == "max_epochs" and res.best_value == max(curve)
    assert res.best_epoch == curve.index(max(curve)) + 1

    class StopAt2:
        def report(self, epoch, metrics):
            return Decision.STOP if epoch == 2 else Decision.CONTINUE

    stopped = model.automl_fit(objective_metric="val_loss", direction="minimize", seed=3, reporter=StopAt2())
    assert stopped.epochs_run == 2 and stopped.stop_reason == "reporter"
    assert stopped.best_value == min(1 - v for v in curve[:2])


def test_replay_sleeps_per_epoch_and_predicts_a_batch():
    import time

    import torch

    model, _ = _replay_model(sleep=0.05)
    t0 = time.perf_counter()
    model.automl_fit(objective_metric="val_accuracy", direction="maximize", max_epochs=4)
    assert time.perf_counter() - t0 >= 0.2
    assert model(torch.zeros(5, 4)).shape == (5, 1)


def _study_with_every_kind_of_trial(url: str) -> None:
    study = optuna.create_study(study_name="s", storage=url, direction="maximize")
    dist = {"x": optuna.distributions.FloatDistribution(1e-3, 1.0, log=True),
            "k": optuna.distributions.IntDistribution(1, 9),
            "c": optuna.distributions.CategoricalDistribution(["relu", "tanh", None])}
    for i, (state, value) in enumerate([("COMPLETE", 0.5), ("PRUNED", None), ("FAIL", None), ("COMPLETE", math.inf),
                                        ("FAIL", None), ("COMPLETE", -math.inf)]):
        attrs = {"history": [{"epoch": 1, "val_accuracy": 0.4}], "status": state.lower(), "seconds": 1.5 + i,
                 "value": 0.4, "worker": "h:1", "reason": "r" * i}
        if i == 2:
            attrs["status"] = "interrupted"
        if i == 4:
            attrs["status"] = "surplus"
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState[state], value=value, params={"x": 0.01 * (i + 1), "k": i + 1,
                                                                        "c": [None, "relu", "tanh"][i % 3]},
            distributions=dist, user_attrs=attrs, intermediate_values={1: 0.4}))
    running = study.ask()  # a RUNNING trial with no params yet
    running.set_user_attr("worker", "h:2")


def test_fast_sqlite_read_gives_the_same_records_as_optuna(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    _study_with_every_kind_of_trial(url)
    storage = open_storage(url)
    fast = _rdb_records(storage, "s")
    slow = [record_of(t) for t in optuna.load_study(study_name="s", storage=url).get_trials() if not surplus(t)]
    assert fast is not None and len(fast) == 6
    assert fast == slow
    assert [r.state for r in fast] == ["COMPLETE", "PRUNED", "INTERRUPTED", "COMPLETE", "COMPLETE", "RUNNING"]
    assert fast[3].value == math.inf and fast[4].value == -math.inf


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -3, 3)
    y = trial.suggest_int("y", 0, 10)
    return -(x - 1) ** 2 - 0.1 * (y - 4) ** 2


def test_windowed_tpe_is_optunas_tpe_below_its_window():
    def run(sampler):
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(_objective, n_trials=30)
        return [t.params for t in study.trials]

    kw = dict(seed=5, n_startup_trials=5, multivariate=True, group=True)
    assert run(WindowedTPESampler(window=1000, **kw)) == run(optuna.samplers.TPESampler(**kw))


def test_windowed_tpe_fits_on_the_best_and_the_latest_past_its_window():
    seen: list[int] = []

    class Spy(WindowedTPESampler):
        def _build_parzen_estimator(self, study, search_space, trials, handle_below):
            seen.append(len(trials))
            return super()._build_parzen_estimator(study, search_space, trials, handle_below)

    study = optuna.create_study(direction="maximize", sampler=Spy(seed=0, n_startup_trials=5, window=20, keep_best=4,
                                                                 multivariate=True, group=True))
    study.optimize(_objective, n_trials=60)
    assert seen and max(seen[-20:]) <= 20  # below + above sets together never exceed the window
    assert study.best_value > -0.5  # and it still optimizes
    trials = study.get_trials(deepcopy=False)
    kept = bounded(trials, 20, 4, maximize=True)
    best4 = {t.number for t in sorted(trials, key=lambda t: -t.value)[:4]}
    latest = [n for n in range(59, -1, -1) if n not in best4][:16]
    assert [t.number for t in kept] == sorted(best4 | set(latest))


@pytest.mark.slow
def test_scale_smoke_runs_the_real_cli(tmp_path):
    """scale.py --smoke: a 20-trial search and a resume to 35 with the replay objective on SQLite, the trials /
    report / finalize commands on it; every figure is a real measurement."""
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--smoke", "--only",
                        "growth,commands", "--out", str(out), "--work", str(tmp_path / "work")],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads((out / "scale.json").read_text())
    (g,) = res["growth"]
    (p,) = g["points"]
    assert p["finished"] == 30 and p["trials_per_second"] > 0 and p["sampler_ms"] > 0
    assert {"trials", "report", "finalize"} <= set(g["commands"])
    summary = json.loads((out / "summary.json").read_text())["scale"]
    assert summary["trials_per_s.sqlite.tpe.30"] == p["trials_per_second"]
    run_dir = tmp_path / "work" / "growth_sqlite_tpe" / "res" / "g_sqlite_tpe"
    assert (run_dir / "report.html").exists() and (run_dir / "report.json").exists()


def test_a_ray_point_that_cannot_fit_in_memory_is_refused_with_the_measured_figures(monkeypatch):
    """scale.py refuses a concurrency whose worker processes would exceed this machine's memory (judged from the
    unique memory measured at the largest point run) instead of driving it into the OOM killer."""
    import psutil

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import scale

    class VM:
        available = 20 * 2**30

    monkeypatch.setattr(psutil, "virtual_memory", lambda: VM())
    assert scale.memory_fits([], 256) is None  # nothing measured yet: nothing to judge from
    done = [{"concurrent": 16, "tree_peak_uss_mb": 3000.0, "tree_processes_at_peak": 22, "median_process_uss_mb": 150.0}]
    assert scale.memory_fits(done, 64) is None  # 3000 + 48 x 150 MB = 10.2 GB fits in 0.8 x 20 GiB
    refused = scale.memory_fits(done, 256)  # 3000 + 240 x 150 MB = 39 GB does not
    assert refused["concurrent"] == 256 and refused["estimated_need_mb"] == 3000 + 240 * 150
    assert "150 MB" in refused["skipped"] and "20.0 GiB available" in refused["skipped"]
    md = scale.markdown({"mode": "t", "cpus": 2, "ray": [{**done[0], "trials": 32, "trial_seconds": 1.0,
                         "wall_seconds": 9.0, "startup_seconds": 5.0, "search_seconds": 4.0, "ideal_seconds": 2.0,
                         "overhead_per_trial_s": 1.0, "driver_cpu_share": 0.1, "driver_peak_rss_mb": 480.0,
                         "load": [1, 2]}, refused]})
    assert "| 16 | 32 |" in md and "| 3000.0 | 22 |" in md and "| 256 | skipped: needs" in md
