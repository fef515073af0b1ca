"""report.md: the finalize report as Markdown (rendered from report.json alone, so any backend's run reads alike)."""

from __future__ import annotations

import math
from typing import Any

import yaml


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if math.isfinite(v) else "—"
    return "n/a" if v is None else str(v)


def _secs(v: Any) -> str:
    return f"{v:.1f}" if isinstance(v, (int, float)) and math.isfinite(v) else "n/a"


ORIGINAL = "_original_units"


def target_scale(report: dict[str, Any]) -> float | None:
    """The regression target's training standard deviation (metrics are in units of it), or None."""
    data = report.get("data") or {}
    std = ((data.get("info") or {}).get("target_standardization") or {}).get("std")
    if isinstance(std, list) and len(std) == 1 and isinstance(std[0], (int, float)) and math.isfinite(std[0]):
        return float(std[0])
    return None


def with_original_units(val_metrics: dict[str, Any], test_metrics: dict[str, Any],
                        report: dict[str, Any]) -> dict[str, Any]:
    """Validation metrics completed with their `*_original_units` twins.

    Finalize now writes both; reports written before it converted only the searched model's *test* RMSE/MAE, so
    their original-units row had no validation figure. The conversion is a product with the
    target's training std, which report.json records; where it does not, the ratio test-in-units / test is the
    same std. Without either, the value stays absent and the table says why."""
    out = dict(val_metrics or {})
    scale = target_scale(report)
    for k, v in (test_metrics or {}).items():
        base = k.removesuffix(ORIGINAL)
        if not k.endswith(ORIGINAL) or _finite(out.get("val_" + k)) or not _finite(out.get("val_" + base)):
            continue
        s = scale
        if s is None and _finite(v) and _finite(test_metrics.get(base)) and test_metrics[base]:
            s = v / test_metrics[base]
        if s is not None:
            out["val_" + k] = out["val_" + base] * s
    return out


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def render_markdown(report: dict[str, Any], model_summary: str) -> str:
    b, m = report["best"], report["objective"]["metric"]
    env, data = report["environment"], report["data"]
    reads = report["test_reads"]
    lines = [
        f"# automl report: {report['study']}",
        "",
        f"Space `{report['space']}` on dataset `{data['name']}` ({data['task']}; "
        f"train {data['n_train']}, validation {data['n_val']}, test {data['n_test']}).",
        f"Objective: {report['objective']['direction']} {m} (validation)"
        + (f", minimize {report['objective']['cost']} (Pareto front)" if report["objective"].get("cost") else "")
        + f". Backend: {report['backend']}.",
        "",
    ]
    if report.get("warning"):
        lines += [f"> **Warning:** {report['warning']}.", ""]
    sel = report.get("selection") or {}
    lines += ["## Best configuration (chosen on validation only)", "",
              f"Trial #{b['trial']}, search {m} = {_fmt(b['search_value'])}; retrained on "
              f"{report['finalize']['fit_on']}. Selection: {sel.get('method', 'best validation value')}"
              + (f" — {sel['why']}." if sel.get("why") else "."), ""]
    if b.get("val_note"):
        lines += [f"Validation figures: {b['val_note']}.", ""]
    lines += ["| model | " + " | ".join(f"val {k}" for k in _keys(b)) + " | " + " | ".join(f"test {k}" for k in _keys(b))
              + " |", "|---" * (1 + 2 * len(_keys(b))) + "|"]
    rows = [(f"searched (trial #{b['trial']})", with_original_units(b["val_metrics"], b["test_metrics"], report)
             if b["val_metrics"] else b["val_metrics"], b["test_metrics"])]
    rows += [(f"baseline: {x['name']}", x["val_metrics"], x["test_metrics"]) for x in report.get("baselines", [])]
    for name, vm, tm in rows:
        vals = [_fmt(vm.get("val_" + k)) if vm else "n/a" for k in _keys(b)] + [_fmt(tm.get(k)) for k in _keys(b)]
        lines.append(f"| {name} | " + " | ".join(vals) + " |")
    lines += [""]
    for x in report.get("baselines", []):
        lines.append(f"- baseline `{x['name']}`: {x['model']} (fitted on the training split only).")
    lines += ["", f"Validation → test gap on {m}: {_fmt(b['val_test_gap'])}. The test split has been read {reads} "
              f"time{'s' if reads != 1 else ''} over this run's life (`test_ledger.jsonl`), "
              f"{'so these test figures are an unbiased estimate' if reads == 1 else 'so they are NOT unbiased'}; "
              "every model above was scored on that one read.", ""]
    pa = report.get("pareto")
    if pa:
        cm = pa["cost_metric"]
        lines += [f"## Pareto front ({m} against {cm})", "",
                  f"Tested: `--pick {pa['pick']}`, {pa['why']}; {cm} of the tested model: {_fmt(pa.get('final_cost'))}. "
                  f"Trials pruned by the Pareto rung rule: {pa.get('pruned', 0)}; epochs trained in all: "
                  f"{pa.get('epochs')}.", "", f"| index | trial | search {m} | {cm} | |", "|---|---|---|---|---|"]
        for row in pa["front"]:
            mark = "tested" if row["trial"] == pa["picked"]["trial"] else ""
            lines.append(f"| {row['index']} | {row['trial']} | {_fmt(row['value'])} | {_fmt(row['cost'])} | {mark} |")
        lines.append("")
    cands = [c for c in sel.get("candidates", []) if "cv_mean" in c]
    if cands:
        ev = sel.get("evidence", {})
        noise = sel.get("noise", {})
        lines += ["## Selection beyond validation noise", "",
                  f"Noise of the best validation value: {_fmt(noise.get('se'))} ({noise.get('how')}); candidates within "
                  f"{_fmt(noise.get('band'))}: {noise.get('n_within')}. Evidence: {ev.get('kind')}, "
                  f"{_secs(ev.get('seconds'))} s (time budget {_secs(ev.get('budget_seconds'))} s).", "",
                  "| trial | search value | CV mean | CV std | folds |", "|---|---|---|---|---|"]
        for c in cands:
            lines.append(f"| {c['trial']} | {_fmt(c['search_value'])} | {_fmt(c['cv_mean'])} | {_fmt(c['cv_std'])} | "
                         + ", ".join(_fmt(v) for v in c["cv_scores"]) + " |")
        lines.append("")
    if any(c["n_seeds"] > 1 for c in report["top_k"]) or len(report["top_k"]) > 1:
        lines += ["## Top-k over seeds", "", "| rank | trial | search value | val mean ± std | test mean ± std | seeds |",
                  "|---|---|---|---|---|---|"]
        for c in report["top_k"]:
            lines.append(f"| {c['rank']} | {c['trial']} | {_fmt(c['search_value'])} | {_fmt(c['val_mean'])} ± "
                         f"{_fmt(c['val_std'])} | {_fmt(c['test_mean'])} ± {_fmt(c['test_std'])} | {c['n_seeds']} |")
        lines.append("")
    lines += ["## Parameters", "", "```yaml", yaml.safe_dump(b["config"], sort_keys=False).rstrip(), "```", "",
              "## Model", "", "```", model_summary, "```", "", "## Budget", ""]
    bud = report["budget"]
    st = bud["settings"]
    lines += [f"- trials: {bud['trials']} ({', '.join(f'{k.lower()} {v}' for k, v in bud['by_state'].items() if v)})",
              f"- training epochs: {bud['epochs']}; training time {bud['train_seconds']} s; wall {bud['wall_seconds']} s",
              f"- searcher {st.get('searcher', st.get('sampler'))}, scheduler {st.get('scheduler', st.get('pruner'))}, "
              f"workers {st.get('workers')}, "
              f"seed {report['seeds']['search']}",
              *([f"- stopped before the cap (--budget auto): {bud['stopped']['reason']}"] if bud.get("stopped") else []),
              "", "## Hardware and versions", "",
              f"- {env.get('processor')} ({env.get('cpu_count')} CPUs, {env.get('cpu_affinity', '?')} usable), "
              f"{env.get('platform')}, Python {env.get('python')}",
              "- " + ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items() if v),
              "", f"Weights: `{report['weights']['path']}` ({report['weights']['format']}).", ""]
    return "\n".join(lines)


def _keys(best: dict[str, Any]) -> list[str]:
    return [k for k in best["test_metrics"] if not k.endswith("_original_units")] + \
        [k for k in best["test_metrics"] if k.endswith("_original_units")]
