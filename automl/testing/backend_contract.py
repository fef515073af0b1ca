"""The contract every search backend keeps, written once (like `optuna.testing`) and run against each one.

A test module subclasses `BackendContract` and gives two fixtures: `backend` (a name in
`automl.backends.base.BACKENDS`) and `options` (that backend's settings for one trial at a time and no early
stopping, e.g. `{"pruner": "none"}`). Every assertion reads what the trials recorded, so a backend that drops
an option (threads, precision, compile, trial timeout, budget) fails here. Searches are tiny (wine, one small
dense layer, 2 epochs). Set TORCHDYNAMO_DISABLE=1 before trials start (Ray: before `ray.init`) so that
`compile` is passed through and recorded without minutes of compiling.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from automl.space.errors import UserInputError
from automl.store.records import TrialRecord
from automl.store.run import RunInfo, load_run
from automl.trial import trial_seed

FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def write_space(folder: Path, name: str, *, units: Any = None, max_params: int | None = None,
                **training: Any) -> Path:
    model: dict[str, Any] = {"family": "mlp", "n_dense_blocks": 1,
                             "dense_blocks": {"units": units or {"low": 4, "high": 16}, "activation": "relu"}}
    if max_params:
        model["max_params"] = max_params
    doc = {"name": name, "dataset": {"name": "wine"}, "objective": {"metric": "val_accuracy", "direction": "maximize"},
           "model": model, "training": {"optimizer": "adam", "lr": {"low": 1e-3, "high": 1e-1, "log": True},
                                        "batch_size": 32, "max_epochs": 2, "patience": 5, **training}}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder / f"{name}.yaml"


def finalize_run(info: RunInfo, **kwargs: Any) -> Any:
    """The one place that knows where finalize lives."""
    from automl.finalize import finalize_run as finalize

    return finalize(info, **kwargs)


class BackendContract:
    """Subclass with `backend` and `options` fixtures; each test is one promise of the Backend protocol."""

    @classmethod
    def search(cls, backend: str, options: dict[str, Any], folder: Path, name: str, *, space: Path | None = None,
               **settings: Any) -> tuple[RunInfo, list[TrialRecord]]:
        from automl.backends.prepare import start_search
        from automl.store.results import load_trials

        space = space or write_space(folder, name)
        info = start_search(space, backend=backend, root=folder / "runs", **{"seed": 0, **options, **settings})
        return info, load_trials(load_run(info.run_dir))

    @pytest.fixture(scope="class")
    @classmethod
    def run_a(cls, backend: str, options: dict[str, Any],
              tmp_path_factory: pytest.TempPathFactory) -> tuple[RunInfo, list[TrialRecord]]:
        """One finished search shared by the class (resume leaves it as it was, or the resume test fails)."""
        return cls.search(backend, options, tmp_path_factory.mktemp(backend), "a", trials=3, threads=3)

    def test_trial_budget_and_trial_options_are_recorded(self, run_a: tuple[RunInfo, list[TrialRecord]]) -> None:
        info, recs = run_a
        assert [r.number for r in recs] == [0, 1, 2] and all(r.state in FINISHED for r in recs)
        for r in recs:  # as each trial trained: threads, its seed, the device, precision and compile
            assert (r.threads, r.seed, r.device, r.precision, r.compiled) == (3, trial_seed(0, r.number), "cpu",
                                                                             "fp32", False), r
        manifest = json.loads((info.run_dir / "manifest.json").read_text())["settings"]
        assert manifest["searcher"] and manifest["scheduler"] and manifest["threads"] == 3

    def test_same_seed_same_configs_and_precision_compile_applied(self, backend: str, options: dict[str, Any],
                                                                  tmp_path: Path, run_a: Any) -> None:
        _, a = run_a
        _, b = self.search(backend, options, tmp_path, "b", trials=3, threads=3)
        assert [r.params for r in b] == [r.params for r in a]
        assert [r.history for r in b] == [r.history for r in a]  # same seed, same threads: same training
        _, c = self.search(backend, options, tmp_path, "c", trials=3, threads=3, precision="bf16", compile=True)
        assert [r.params for r in c] == [r.params for r in a]
        assert all((r.precision, r.compiled) == ("bf16", True) for r in c)
        assert [r.history for r in c] != [r.history for r in a]  # bf16 autocast really changed the numbers

    def test_epoch_budget(self, backend: str, options: dict[str, Any], tmp_path: Path) -> None:
        """Exact or over by the one trial in flight: never a trial started after the budget was spent."""
        _, recs = self.search(backend, options, tmp_path, "epochs", max_total_epochs=5)
        total = sum(r.epochs_run for r in recs)
        assert 5 <= total < 5 + 2 and total - recs[-1].epochs_run < 5, [(r.number, r.epochs_run) for r in recs]

    def test_trial_timeout_fails_the_trial_with_its_reason(self, backend: str, options: dict[str, Any],
                                                           tmp_path: Path) -> None:
        space = write_space(tmp_path, "slow", max_epochs=300, patience=0, batch_size=1)  # ~1 min untimed
        _, recs = self.search(backend, options, tmp_path, "slow", space=space, trials=1, trial_timeout=1.5)
        assert [(r.state, r.reason[:8]) for r in recs] == [("FAIL", "timeout:")], [(r.state, r.reason) for r in recs]
        assert recs[0].seconds >= 1.5

    def test_failures_are_recorded_with_reasons_and_the_search_goes_on(self, backend: str, options: dict[str, Any],
                                                                      tmp_path: Path) -> None:
        space = write_space(tmp_path, "mixed", units={"choices": [4, 1024]}, max_params=500)
        _, recs = self.search(backend, options, tmp_path, "mixed", space=space, trials=8)
        assert len(recs) == 8 and {r.state for r in recs} == {"COMPLETE", "FAIL"}, [(r.state, r.reason) for r in recs]
        for r in recs:  # exactly the 1024-unit configs failed, each with the reason run_trial gave
            assert (r.state == "FAIL") == (1024 in r.params.values()) and ("max_params" in r.reason) == (r.state == "FAIL")

    def test_resume_does_not_retrain_finished_trials(self, backend: str, options: dict[str, Any], tmp_path: Path,
                                                     run_a: Any) -> None:
        from automl.backends.prepare import resume_search
        from automl.store.results import load_trials

        info, before = run_a
        seen: list[int] = []
        resume_search(info.run_dir, root=info.run_dir.parent, progress=lambda rec, *a: seen.append(rec.number))
        after = load_trials(load_run(info.run_dir))
        key = [(r.number, r.params, r.state, r.value, r.history, r.started) for r in before]
        assert seen == [] and [(r.number, r.params, r.state, r.value, r.history, r.started) for r in after] == key

    def test_records_round_trip_into_trials_best_finalize_report(self, run_a: Any, tmp_path: Path) -> None:
        from automl.report import write_report
        from automl.store.records import best_record
        from automl.store.results import best_config, print_trials

        info, recs = run_a
        best = best_record(recs, "maximize")
        assert best is not None and best_config(info.run_dir)["trial"] == best.number
        print_trials(info.run_dir, export=tmp_path / "t.csv")
        assert len((tmp_path / "t.csv").read_text().strip().splitlines()) == 1 + len(recs)
        report = finalize_run(load_run(info.run_dir))
        assert report.data["best"]["trial"] == best.number and report.data["test_reads"] == 1
        assert write_report(info.run_dir).n_trials == len(recs)

    def test_refuses_what_it_cannot_honour(self, backend: str, options: dict[str, Any], tmp_path: Path) -> None:
        with pytest.raises(UserInputError, match="no_such_option"):
            self.search(backend, options, tmp_path, "bad", no_such_option=1)
        with pytest.raises(UserInputError, match="--trials-per-gpu"):
            self.search(backend, options, tmp_path, "bad", trials_per_gpu=2, device="cpu")
        assert not (tmp_path / "runs").exists()
