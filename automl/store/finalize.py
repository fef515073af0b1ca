"""Finalize a run: retrain the config chosen on validation, evaluate it ONCE on the sealed test split.

Top-k configs may be re-run with several seeds (mean ± std on validation and test), so the choice does
not rest on one lucky seed; the winner stays the one chosen on validation. The test split is read exactly
once per finalize (all models are scored on that one read), and the count is written in the report.
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

from automl.space import config_from_params, load_space
from automl.space.errors import UserInputError
from automl.store.records import counts, ranked
from automl.store.results import load_trials
from automl.store.run import RunInfo, environment, redact_url


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
        lines = [
            f"Best trial #{best['trial']} (chosen on validation {m}={best['search_value']:.4f}).",
            f"Retrained ({d['finalize']['fit_on']}, seed {best['runs'][0]['seed']}): validation {m}={best['val_value']:.4f}, "
            f"test {tm}={test.get(tm, float('nan')):.4f} (test split n={d['data']['n_test']}, read {d['test_reads']} time).",
        ]
        for c in d.get("top_k", []):
            if c["n_seeds"] > 1:
                lines.append(f"  trial #{c['trial']}: val {c['val_mean']:.4f} ± {c['val_std']:.4f}, "
                             f"test {c['test_mean']:.4f} ± {c['test_std']:.4f} over {c['n_seeds']} seeds")
        lines.append(f"Report: {self.run_dir / 'report.md'}")
        return "\n".join(lines)


def _stats(values: list[float]) -> tuple[float, float]:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return float("nan"), float("nan")
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def finalize_run(info: RunInfo, *, top_k: int = 1, seeds: int = 1, refit_full: bool = False,
                 device: str = "cpu") -> FinalReport:
    import torch

    from automl.data import load_dataset
    from automl.data.dataset import Dataset, SealedSplit, Split
    from automl.models import build_model, model_summary
    from automl.training import evaluate, set_num_threads
    from automl.trial import run_trial

    if top_k < 1 or seeds < 1:
        raise UserInputError(f"--top-k ({top_k}) and --seeds ({seeds}) must be at least 1.")
    from automl.backends.devices import resolve_devices

    t0 = time.time()
    device = resolve_devices(device)[0]
    space = load_space(info.space_path)
    dataset = load_dataset(space.dataset, base_dir=space.base_dir)
    obj = space.resolve_objective(dataset.spec.task)
    records = load_trials(info)
    candidates = ranked(records, obj.direction)[:top_k]
    if not candidates:
        c = counts(records)
        raise UserInputError(
            f"Run {info.run_dir} has no completed trial to finalize (trials by state: {c}). "
            "Run more trials with `automl resume`, or look at the failure reasons with `automl trials`."
        )
    all_cores = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    set_num_threads(all_cores)
    task = dataset.spec.task
    fit_data = dataset
    if refit_full:  # train on train+val for the best trial's epoch count; no early stopping on data it has seen
        merged = Split(torch.cat([dataset.train.x, dataset.val.x]), torch.cat([dataset.train.y, dataset.val.y]))
        fit_data = Dataset(dataset.spec, merged, dataset.val, SealedSplit(dataset.val), dict(dataset.info))

    test = dataset.read_test("finalize")  # the one read of the sealed test split
    top = []
    best_model = None
    for rank, rec in enumerate(candidates):
        config = config_from_params(space.space, rec.params)
        if refit_full:
            config = {**config, "training": {**config.get("training", {}), "patience": 0}}
        runs = []
        for s in range(seeds):
            seed = rec.seed if (s == 0 and rec.seed is not None) else info.seed * 100_003 + 7919 * (s + 1) + rec.number
            # The trial's own seed and thread count reproduce its search result exactly (CPU float reductions
            # depend on the thread count); extra seeds use every core.
            set_num_threads(rec.threads if (s == 0 and rec.threads) else all_cores)
            res = run_trial(config, fit_data, objective_metric=obj.metric, direction=obj.direction, device=device,
                            seed=int(seed), keep_model=True, max_epochs=rec.best_epoch if refit_full else None,
                            precision=info.settings.get("precision", "fp32"))
            if res.status != "complete" or res.model is None:
                runs.append({"seed": int(seed), "status": res.status, "reason": res.reason})
                continue
            val_metrics = evaluate(res.model, dataset.val, task, training_cfg=config.get("training"))
            test_metrics = evaluate(res.model, test, task, training_cfg=config.get("training"))
            scale = (dataset.info.get("target_standardization") or {}).get("std")
            if scale and len(scale) == 1:  # regression: also in the target's own units
                for k in ("rmse", "mae"):
                    if k in test_metrics:
                        test_metrics[f"{k}_original_units"] = test_metrics[k] * scale[0]
            runs.append({
                "seed": int(seed), "status": "complete", "best_epoch": res.best_epoch, "epochs_run": res.epochs_run,
                "val_metrics": {f"val_{k}": v for k, v in val_metrics.items()},
                "test_metrics": test_metrics, "seconds": round(res.seconds, 3),
            })
            if rank == 0 and best_model is None:
                best_model = res.model
        metric_key = obj.metric.removeprefix("val_")
        val_mean, val_std = _stats([r["val_metrics"].get(obj.metric) for r in runs if r["status"] == "complete"])
        test_mean, test_std = _stats([r["test_metrics"].get(metric_key) for r in runs if r["status"] == "complete"])
        top.append({"rank": rank + 1, "trial": rec.number, "search_value": rec.value, "config": config,
                    "params": rec.params, "runs": runs, "n_seeds": seeds, "val_mean": val_mean, "val_std": val_std,
                    "test_mean": test_mean, "test_std": test_std})
    if best_model is None:
        raise UserInputError(f"Retraining the best config of {info.run_dir} failed: {top[0]['runs']}")

    best = top[0]
    first = next(r for r in best["runs"] if r["status"] == "complete")
    summary = model_summary(build_model(best["config"], dataset.spec), dataset.spec)
    weights_path = info.run_dir / "model.pt"
    torch.save({k: v.detach().cpu() for k, v in best_model.state_dict().items()}, weights_path)
    metric_key = obj.metric.removeprefix("val_")
    c = counts(records)
    report = {
        "study": info.study, "backend": info.backend, "storage": redact_url(info.storage), "space": space.name,
        "space_file": str(info.space_path), "objective": {"metric": obj.metric, "direction": obj.direction},
        "data": {**dataset.spec.to_dict(), "n_train": len(dataset.train), "n_val": len(dataset.val),
                 "n_test": dataset.n_test, "info": _jsonable(dataset.info)},
        "best": {
            "trial": best["trial"], "search_value": best["search_value"], "params": best["params"], "config": best["config"],
            "val_value": first["val_metrics"].get(obj.metric), "val_metrics": first["val_metrics"],
            "test_metrics": first["test_metrics"],
            "val_test_gap": (first["val_metrics"].get(obj.metric, math.nan) - first["test_metrics"].get(metric_key, math.nan)),
            "runs": best["runs"],
        },
        "top_k": top,
        "finalize": {"fit_on": "train+val" if refit_full else "train", "top_k": top_k, "seeds": seeds,
                     "device": device, "seconds": round(time.time() - t0, 2)},
        "model": summary.to_dict(),
        "budget": {"trials": len(records), "by_state": c, "epochs": sum(r.epochs_run for r in records),
                   "train_seconds": round(sum(r.seconds for r in records), 2),
                   "wall_seconds": _wall(records), "settings": _jsonable(info.settings)},
        "seeds": {"search": info.seed, "best_trial": best["runs"][0]["seed"] if best["runs"] else None},
        "test_reads": dataset.test_reads,
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
    return str(v)


def _write(run_dir: Path, report: dict[str, Any], summary: Any) -> None:
    tmp = run_dir / "report.json.tmp"
    tmp.write_text(json.dumps(report, indent=2, default=str))
    os.replace(tmp, run_dir / "report.json")
    (run_dir / "best_config.yaml").write_text(yaml.safe_dump(report["best"]["config"], sort_keys=False))
    b, m = report["best"], report["objective"]["metric"]
    env = report["environment"]
    lines = [
        f"# automl report: {report['study']}",
        "",
        f"Space `{report['space']}` on dataset `{report['data']['name']}` ({report['data']['task']}; "
        f"train {report['data']['n_train']}, validation {report['data']['n_val']}, test {report['data']['n_test']}).",
        f"Objective: {report['objective']['direction']} {m} (validation). Backend: {report['backend']}.",
        "",
        "## Best configuration (chosen on validation only)",
        "",
        f"Trial #{b['trial']}, search {m} = {_fmt(b['search_value'])}; retrained on {report['finalize']['fit_on']}.",
        "",
        "| metric | validation | test |",
        "|---|---|---|",
    ]
    for k, v in b["test_metrics"].items():
        lines.append(f"| {k} | {_fmt(b['val_metrics'].get('val_' + k, float('nan')))} | {_fmt(v)} |")
    lines += ["", f"Validation → test gap on {m}: {_fmt(b['val_test_gap'])}. The test split was read "
              f"{report['test_reads']} time(s), by finalize.", ""]
    if any(c["n_seeds"] > 1 for c in report["top_k"]) or len(report["top_k"]) > 1:
        lines += ["## Top-k over seeds", "", "| rank | trial | search value | val mean ± std | test mean ± std | seeds |",
                  "|---|---|---|---|---|---|"]
        for c in report["top_k"]:
            lines.append(f"| {c['rank']} | {c['trial']} | {_fmt(c['search_value'])} | {_fmt(c['val_mean'])} ± {_fmt(c['val_std'])} "
                         f"| {_fmt(c['test_mean'])} ± {_fmt(c['test_std'])} | {c['n_seeds']} |")
        lines.append("")
    lines += ["## Parameters", "", "```yaml", yaml.safe_dump(b["config"], sort_keys=False).rstrip(), "```", "",
              "## Model", "", "```", str(summary), "```", "",
              "## Budget", ""]
    bud = report["budget"]
    lines += [f"- trials: {bud['trials']} ({', '.join(f'{k.lower()} {v}' for k, v in bud['by_state'].items() if v)})",
              f"- training epochs: {bud['epochs']}; training time {bud['train_seconds']} s; wall {bud['wall_seconds']} s",
              f"- sampler {bud['settings'].get('sampler')}, pruner {bud['settings'].get('pruner')}, "
              f"workers {bud['settings'].get('workers')}, seed {report['seeds']['search']}",
              "", "## Hardware and versions", "",
              f"- {env.get('processor')} ({env.get('cpu_count')} CPUs, {env.get('cpu_affinity', '?')} usable), "
              f"{env.get('platform')}, Python {env.get('python')}",
              "- " + ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items() if v),
              "", f"Weights: `{report['weights']['path']}` ({report['weights']['format']}).", ""]
    (run_dir / "report.md").write_text("\n".join(lines))
