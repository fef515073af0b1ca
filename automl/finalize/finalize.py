"""Finalize a run: choose the winner on validation (beyond its noise), retrain it, read the test split ONCE.

Order matters for honesty: every model (winner, top-k seeds, baselines) is trained before the sealed test
split is read; the read is then appended to the run's test ledger (fsync'd) before any figure is computed,
and all models are scored on that one read. A run whose test split was already read needs `again=True`
(`--again`), and its report says that figures after the first read are no longer unbiased.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from automl.data.preprocess import write_preprocessor
from automl.finalize.select import SelectionSettings, choose_winner
from automl.space import config_from_params, load_space
from automl.space.errors import RunFailed, UserInputError
from automl.store.ledger import LEDGER_FILE, TestLedger
from automl.store.records import counts, failure_summary, ranked
from automl.store.results import load_trials
from automl.store.run import RunInfo, environment, redact_url

REFIT_NOTE = "n/a: with --refit-full the model is trained on the validation split, so no validation figure is honest"


@dataclass
class FinalReport:
    data: dict[str, Any]
    run_dir: Path

    def summary_text(self) -> str:
        d = self.data
        m = d["objective"]["metric"]
        best = d["best"]
        test = best["test_metrics"]
        tm = m.replace("val_", "")
        val = "n/a (trained on it, --refit-full)" if best["val_value"] is None else f"{m}={best['val_value']:.4f}"
        reads = d["test_reads"]
        lines = [
            f"Best trial #{best['trial']} (chosen on validation {m}={best['search_value']:.4f}; {d['selection']['method']}).",
        ] if not d.get("pareto") else [
            f"Picked trial #{best['trial']} of the Pareto front (validation {m}={best['search_value']:.4f})."]
        if d.get("pareto"):
            pa = d["pareto"]
            lines.append(f"  Pareto front of {len(pa['front'])} point(s) ({m} against {pa['cost_metric']}); picked "
                         f"--pick {pa['pick']}: {pa['cost_metric']} {pa['picked']['cost']:.4g} in the search, "
                         f"{pa.get('final_cost', float('nan')):.4g} for the tested model.")
        if d["selection"].get("why"):
            lines.append(f"  why: {d['selection']['why']}.")
        lines.append(
            f"Retrained ({d['finalize']['fit_on']}, seed {best['runs'][0]['seed']}): validation {val}, "
            f"test {tm}={test.get(tm, float('nan')):.4f} (test split n={d['data']['n_test']}; read {reads} "
            f"time{'s' if reads != 1 else ''} over this run's life, see {LEDGER_FILE}).")
        for b in d.get("baselines", []):
            v = b["test_metrics"].get(tm)
            lines.append(f"  baseline {b['name']:8s}: validation {_fmt(b['val_metrics'].get(m))}, test {tm}={_fmt(v)} "
                         f"({b['model']})")
        for c in d.get("top_k", []):
            if c["n_seeds"] > 1:
                lines.append(f"  trial #{c['trial']}: val {_fmt(c['val_mean'])} ± {_fmt(c['val_std'])}, "
                             f"test {_fmt(c['test_mean'])} ± {_fmt(c['test_std'])} over {c['n_seeds']} seeds")
        if d.get("warning"):
            lines.append(f"WARNING: {d['warning']}")
        lines.append(f"Report: {self.run_dir / 'report.md'}")
        return "\n".join(lines)


def _stats(values: list[float | None]) -> tuple[float, float]:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return float("nan"), float("nan")
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def check_can_read(info: RunInfo, again: bool) -> int:
    """Reads so far; refuse (exit 2) a second read unless asked for explicitly."""
    entries = TestLedger(info.run_dir).entries()
    if entries and not again:
        when = ", ".join(f"#{e.get('read')} {e.get('time_utc', '?')} ({e.get('purpose', '?')})" for e in entries[-3:])
        raise UserInputError(
            f"Run {info.run_dir} has already read its sealed test split {len(entries)} time(s) ({when}; see "
            f"{info.run_dir / LEDGER_FILE}). Another finalize reads it again, and test figures after the first "
            "read are no longer an unbiased estimate of the chosen model. Pass --again to do it anyway (the "
            "report will say so); report.json was left as it was.")
    return len(entries)


def finalize_run(info: RunInfo, *, top_k: int = 1, seeds: int = 1, refit_full: bool = False, device: str = "cpu",
                 again: bool = False, select: bool = True, purpose: str = "finalize",
                 selection: SelectionSettings | None = None, pick: str | None = None) -> FinalReport:
    """`pick`: for a run with a cost objective, the point of the Pareto front to test (an index into the front
    cheapest first, a cost bound such as 'n_params<=20000', or 'knee'; see automl.finalize.pareto)."""
    import torch

    from automl.backends.devices import resolve_devices
    from automl.data import load_dataset
    from automl.data.dataset import Dataset, SealedSplit, Split
    from automl.finalize.baselines import fit_baselines, score_baselines
    from automl.models import build_model, model_summary
    from automl.training import evaluate, make_loss, predict, prepare_targets, set_num_threads
    from automl.training.metrics import add_original_units
    from automl.trial import run_trial, trial_seed

    if top_k < 1 or seeds < 1:
        raise UserInputError(f"--top-k ({top_k}) and --seeds ({seeds}) must be at least 1.")
    cost_metric = info.settings.get("cost_metric")
    if pick is not None:
        from automl.finalize.pareto import check_pick

        check_pick(pick, cost_metric)
    previous_reads = check_can_read(info, again)
    t0 = time.time()
    device = resolve_devices(device)[0]
    space = load_space(info.space_path)
    dataset = load_dataset(space.dataset, base_dir=space.base_dir)
    obj = space.resolve_objective(dataset.spec.task)
    records = load_trials(info)
    done = ranked(records, obj.direction)
    if not done:
        raise RunFailed(f"Run {info.run_dir} has no completed trial to finalize ({failure_summary(records)}). "
                        "Look at `automl trials RUN --state fail`, fix the space, and search again or "
                        "`automl resume` for more trials.")
    all_cores = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    task = dataset.spec.task
    precision = info.settings.get("precision", "fp32")
    search_data = dataset.for_search()  # selection and retraining never hold test arrays
    cache: dict[tuple[int, int], Any] = {}

    def retrain(rec: Any, seed: int, threads: int, data: Dataset, max_epochs: int | None = None,
                patience_off: bool = False) -> Any:
        key = (rec.number, seed)
        if data is search_data and max_epochs is None and key in cache:
            return cache[key]
        config = config_from_params(space.space, rec.params)
        if patience_off:
            config = {**config, "training": {**config.get("training", {}), "patience": 0}}
        set_num_threads(threads)
        res = run_trial(config, data, objective_metric=obj.metric, direction=obj.direction, device=device,
                        seed=int(seed), keep_model=True, max_epochs=max_epochs, precision=precision)
        if data is search_data and max_epochs is None:
            cache[key] = res
        return res

    def seed_of(rec: Any) -> int:
        return int(rec.seed) if rec.seed is not None else trial_seed(info.seed, rec.number)

    # 1. choose the winner on validation only (bootstrap noise needs the best model's validation outputs)
    best_outputs = None
    sel_settings = selection or SelectionSettings(enabled=select)
    pareto = None
    if cost_metric:  # two objectives: the user's point of the front, no single "best"
        from automl.finalize.pareto import pareto_pick

        sel, pareto = pareto_pick(records, pick, cost_metric, obj.direction, info.run_dir)
    elif select and obj.metric not in ("val_accuracy", "val_balanced_accuracy"):
        top = done[0]
        res = retrain(top, seed_of(top), top.threads or all_cores, search_data)
        if res.model is not None:
            best_outputs = (predict(res.model, dataset.val.x.to(device)).cpu(), prepare_targets(dataset.val.y, task))
    set_num_threads(all_cores)
    if pareto is None:
        sel = choose_winner(records, done, search_data, metric=obj.metric, direction=obj.direction, space=space.space,
                            settings=sel_settings, seed=info.seed, device=device, precision=precision,
                            best_val_outputs=best_outputs, loss_fn=make_loss(None, task))
    candidates = [sel.winner, *[r for r in done if r.number != sel.winner.number][:top_k - 1]]

    # 2. train every final model before the test split is read
    fit_data = search_data
    if refit_full:  # train on train+val for the trial's best epoch count; no early stopping on data it has seen
        merged = Split(torch.cat([dataset.train.x, dataset.val.x]), torch.cat([dataset.train.y, dataset.val.y]))
        fit_data = Dataset(dataset.spec, merged, dataset.val, SealedSplit.withheld(dataset.n_test), dict(dataset.info))
    trained = []
    for rank, rec in enumerate(candidates):
        runs = []
        for s in range(seeds):
            # The trial's own seed and thread count reproduce its search result exactly (CPU float reductions
            # depend on the thread count); extra seeds use every core.
            first = s == 0
            seed = seed_of(rec) if first else trial_seed(info.seed, rec.number) + 7919 * (s + 1)
            threads = (rec.threads or all_cores) if first else all_cores
            res = retrain(rec, seed, threads, fit_data, max_epochs=rec.best_epoch if refit_full else None,
                          patience_off=refit_full)
            runs.append((seed, res))
        trained.append((rank, rec, runs))
    if not any(res.status == "complete" and res.model is not None for _, res in trained[0][2]):
        bad = [{"seed": s, "status": r.status, "reason": r.reason} for s, r in trained[0][2]]
        raise RunFailed(f"Retraining the chosen config of {info.run_dir} (trial #{sel.winner.number}) failed: {bad}. "
                        "Its search result could not be reproduced; report.json was left as it was.")
    set_num_threads(all_cores)
    baselines = fit_baselines(dataset.train, task, dataset.spec.n_classes)

    # 3. the one read of the sealed test split, recorded before any figure exists
    scored = [{"trial": rec.number, "seeds": [s for s, _ in runs]} for _, rec, runs in trained]
    entry = TestLedger(info.run_dir).append(purpose=purpose, scored=scored, baselines=[b.name for b in baselines],
                                            n_test=dataset.n_test,
                                            note="again (--again)" if previous_reads else "first read")
    test = dataset.read_test(purpose)
    scale = (dataset.info.get("target_standardization") or {}).get("std")

    def test_metrics_of(model: Any, cfg: dict[str, Any]) -> dict[str, float]:
        return add_original_units(evaluate(model, test, task, training_cfg=cfg.get("training")), scale)

    metric_key = obj.metric.removeprefix("val_")
    top, best_model = [], None
    for rank, rec, runs in trained:
        config = config_from_params(space.space, rec.params)
        rows = []
        for seed, res in runs:
            if res.status != "complete" or res.model is None:
                rows.append({"seed": int(seed), "status": res.status, "reason": res.reason})
                continue
            val_metrics = ({} if refit_full else add_original_units(
                {f"val_{k}": v for k, v in evaluate(res.model, dataset.val, task,
                                                    training_cfg=config.get("training")).items()}, scale, "val_"))
            rows.append({"seed": int(seed), "status": "complete", "best_epoch": res.best_epoch,
                         "epochs_run": res.epochs_run, "val_metrics": val_metrics,
                         "test_metrics": test_metrics_of(res.model, config), "seconds": round(res.seconds, 3),
                         "history": res.history})
            if rank == 0 and best_model is None:
                best_model = res.model
        ok = [r for r in rows if r["status"] == "complete"]
        val_mean, val_std = _stats([r["val_metrics"].get(obj.metric) for r in ok])
        test_mean, test_std = _stats([r["test_metrics"].get(metric_key) for r in ok])
        top.append({"rank": rank + 1, "trial": rec.number, "search_value": rec.value, "config": config,
                    "params": rec.params, "runs": rows, "n_seeds": seeds, "val_mean": val_mean, "val_std": val_std,
                    "test_mean": test_mean, "test_std": test_std})
    baseline_rows = score_baselines(baselines, dataset.val, test, task, scale)

    best = top[0]
    first_ok = next(r for r in best["runs"] if r["status"] == "complete")
    summary = model_summary(build_model(best["config"], dataset.spec), dataset.spec)
    weights_path = info.run_dir / "model.pt"
    torch.save({k: v.detach().cpu() for k, v in best_model.state_dict().items()}, weights_path)
    write_preprocessor(info.run_dir, dataset.preprocessor)  # the encoding predict/export apply to raw rows
    if pareto is not None:  # the tested model's own cost, measured as the search measured it
        from automl.finalize.pareto import final_cost

        pareto["final_cost"] = final_cost(cost_metric, best_model, summary, dataset.val.x, device, precision,
                                          next(res for _, res in trained[0][2] if res.status == "complete"))
    val_value = None if refit_full else first_ok["val_metrics"].get(obj.metric)
    test_value = first_ok["test_metrics"].get(metric_key, math.nan)
    reads = entry["read"]
    report = {
        "study": info.study, "backend": info.backend, "storage": redact_url(info.storage), "space": space.name,
        "space_file": str(info.space_path),
        "objective": {"metric": obj.metric, "direction": obj.direction, **({"cost": cost_metric} if cost_metric else {})},
        **({"pareto": pareto} if pareto is not None else {}),
        "data": {**dataset.spec.to_dict(), "n_train": len(dataset.train), "n_val": len(dataset.val),
                 "n_test": dataset.n_test, "info": _jsonable(dataset.info)},
        "selection": sel.report,
        "best": {
            "trial": best["trial"], "search_value": best["search_value"], "params": best["params"],
            "config": best["config"], "val_value": val_value, "val_metrics": first_ok["val_metrics"],
            "val_note": REFIT_NOTE if refit_full else "",
            "test_metrics": first_ok["test_metrics"],
            "val_test_gap": None if val_value is None else val_value - test_value,
            "runs": best["runs"],
        },
        "top_k": top,
        "baselines": baseline_rows,
        "finalize": {"fit_on": "train+val" if refit_full else "train", "top_k": top_k, "seeds": seeds,
                     "select": "noise" if select else "best", "device": device,
                     **({"pick": pick} if pareto is not None else {}),
                     "seconds": round(time.time() - t0, 2)},
        "model": summary.to_dict(),
        "budget": {"trials": len(records), "by_state": counts(records), "epochs": sum(r.epochs_run for r in records),
                   "train_seconds": round(sum(r.seconds for r in records), 2),
                   "wall_seconds": _wall(records), "settings": _jsonable(info.settings),
                   "stopped_by": (info.settings.get("stopped") or {}).get("stopped_by"),
                   "stopped": info.settings.get("stopped")},
        "seeds": {"search": info.seed, "best_trial": best["runs"][0]["seed"] if best["runs"] else None},
        "test_reads": reads,
        "test_read": entry,
        "unbiased": reads == 1,
        "warning": "" if reads == 1 else (
            f"this run's sealed test split has now been read {reads} times (see {LEDGER_FILE}); test figures "
            "after the first read are no longer an unbiased estimate of the chosen model"),
        "weights": {"path": weights_path.name, "format": "torch state_dict; torch.load(path, weights_only=True)"},
        "environment": environment(),
        "created": time.time(),
    }
    _write(info.run_dir, report, summary)
    return FinalReport(report, info.run_dir)


def _wall(records: list[Any]) -> float | None:
    starts = [r.started for r in records if r.started]
    ends = [r.finished for r in records if r.finished]
    return round(max(ends) - min(starts), 2) if starts and ends else None


def _jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x, default=str))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if math.isfinite(v) else str(v)
    return "n/a" if v is None else str(v)


def _write(run_dir: Path, report: dict[str, Any], summary: Any) -> None:
    from automl.report.markdown import render_markdown

    tmp = run_dir / "report.json.tmp"
    tmp.write_text(json.dumps(report, indent=2, default=str))
    os.replace(tmp, run_dir / "report.json")
    (run_dir / "best_config.yaml").write_text(yaml.safe_dump(report["best"]["config"], sort_keys=False))
    (run_dir / "report.md").write_text(render_markdown(report, str(summary)))
