"""One self-contained HTML page: plotly.js embedded once, every figure, and report.json's tables.

The page works offline (no CDN). A tiny script at the very top records JavaScript errors into the
`data-js-errors` attribute of <html>, and each figure marks its div `data-rendered="1"` once plotly has drawn
it, so a headless browser's dumped DOM shows whether the page rendered cleanly.
"""

from __future__ import annotations

import html
import math
import time
from typing import Any

import yaml

from automl.report.figures import EXTRA_FIGURES, FIGURES
from automl.report.markdown import with_original_units
from automl.store.records import STATES, TrialRecord, best_record, counts

ERROR_HOOK = """<script>
(function () {
  var errs = [];
  function rec(msg) {
    errs.push(String(msg));
    document.documentElement.setAttribute('data-js-errors', JSON.stringify(errs));
  }
  window.addEventListener('error', function (e) { rec(e.message || e); });
  window.addEventListener('unhandledrejection', function (e) { rec('unhandled rejection: ' + (e.reason && e.reason.message || e.reason)); });
  var orig = console.error;
  console.error = function () { rec(Array.prototype.join.call(arguments, ' ')); return orig.apply(console, arguments); };
})();
</script>"""

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #1f3b57; color: white; padding: 18px 32px; }
header h1 { margin: 0 0 6px 0; font-size: 24px; }
header p { margin: 2px 0; opacity: 0.9; }
nav { padding: 8px 32px; background: #eef2f6; border-bottom: 1px solid #d8dee4; font-size: 14px; }
nav a { margin-right: 14px; color: #1f3b57; text-decoration: none; }
main { padding: 8px 32px 40px 32px; max-width: 1400px; }
section { background: white; border: 1px solid #e1e4e8; border-radius: 6px; padding: 12px 18px; margin: 18px 0; }
h2 { font-size: 19px; margin: 6px 0; }
h3 { font-size: 15px; margin: 14px 0 6px 0; }
p.note { color: #555; margin: 2px 0 8px 0; font-size: 14px; }
table { border-collapse: collapse; margin: 6px 0 12px 0; font-size: 14px; }
th, td { border: 1px solid #d8dee4; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f3f5f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f8fa; padding: 8px 12px; border-radius: 4px; overflow-x: auto; font-size: 13px; }
.tables { display: flex; flex-wrap: wrap; gap: 28px; }
.warn { color: #8a5a00; background: #fff8e1; border: 1px solid #f0d48a; padding: 8px 12px; border-radius: 4px; }
"""

PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "toImageButtonOptions": {"format": "png", "scale": 2}}


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _num(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _table(rows: list[tuple[Any, ...]], header: tuple[str, ...] | None = None, css_id: str = "") -> str:
    out = [f'<table id="{_e(css_id)}">' if css_id else "<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            if i == 0 and not header:
                cells.append(f"<th>{_e(c)}</th>")
            else:
                cls = ' class="num"' if isinstance(c, (int, float)) and not isinstance(c, bool) else ""
                cells.append(f"<td{cls}>{_e(_num(c))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _pm(mean: Any, std: Any) -> str:
    return f"{_num(mean)} ± {_num(std)}"


def search_summary(records: list[TrialRecord], direction: str, metric: str) -> str:
    c = counts(records)
    best = best_record(records, direction)
    rows: list[tuple[Any, ...]] = [("trials", len(records))]
    rows += [(s.lower(), c.get(s, 0)) for s in STATES if c.get(s, 0)]
    rows += [("training epochs (all trials)", sum(r.epochs_run for r in records)),
             ("training seconds (all trials)", round(sum(r.seconds for r in records), 1))]
    if best is not None:
        rows += [("best trial (validation)", f"#{best.number}"), (f"best {metric}", best.value)]
    return _table(rows, css_id="search-summary")


def final_tables(report: dict[str, Any] | None) -> str:
    """The final report (best config, val/test metrics, top-k, budget, data, hardware) from report.json."""
    if not report:
        return ('<p class="warn" id="not-finalized">This run is not finalized yet: there is no report.json. '
                "Run <code>automl finalize RUN</code> to retrain the best config (chosen on validation) and score it "
                "once on the sealed test split.</p>")
    parts = []
    obj = report.get("objective", {})
    metric = obj.get("metric", "value")
    b = report.get("best", {})
    if report.get("warning"):
        parts.append(f'<p class="warn" id="test-warning">Warning: {_e(report["warning"])}.</p>')
    parts.append("<h3>Best configuration (chosen on validation only)</h3>")
    parts.append(_table([
        ("trial", f"#{b.get('trial')}"), (f"search {metric}", b.get("search_value")),
        (f"retrained validation {metric}", b.get("val_value")), ("validation → test gap", b.get("val_test_gap")),
        ("retrained on", report.get("finalize", {}).get("fit_on")),
        ("test split reads (run's life)", report.get("test_reads")),
        ("selection", (report.get("selection") or {}).get("why") or (report.get("selection") or {}).get("method")),
    ], css_id="best-summary"))
    params = b.get("params", {})
    if params:
        parts.append('<div class="tables"><div><h3>Parameters</h3>'
                     + _table([(k, v) for k, v in params.items()], header=("parameter", "value"), css_id="best-params")
                     + "</div>")
        parts.append("<div><h3>Full config</h3><pre>" + _e(yaml.safe_dump(b.get("config", {}), sort_keys=False))
                     + "</pre></div></div>")
    tm = b.get("test_metrics", {}) or {}
    vm = b.get("val_metrics", {}) or {}
    if vm:
        vm = with_original_units(vm, tm, report)
    if tm or vm:
        keys = list(dict.fromkeys([*tm, *(k.removeprefix("val_") for k in vm)]))
        rows: list[tuple[Any, ...]] = [(k, vm.get("val_" + k) if vm else "n/a", tm.get(k)) for k in keys]
        unknown = [k for k, v, _ in rows if v is None or (isinstance(v, float) and not math.isfinite(v))]
        parts.append("<h3>Validation and test metrics of the best config</h3>")
        parts.append(_table(rows, header=("metric", "validation", "test"), css_id="metrics"))
        if b.get("val_note"):
            parts.append(f"<p>{_e(b['val_note'])}.</p>")
        if vm and unknown:
            parts.append(f'<p class="note" id="metrics-missing">— : no validation figure for {_e(", ".join(unknown))} '
                         "(report.json records none, nor the target's scale to convert one).</p>")
    base = report.get("baselines") or []
    if base and tm:
        keys = [k for k in tm if not k.endswith("_original_units")]
        rows = [(f"searched (#{b.get('trial')})", *(v for k in keys for v in ((vm or {}).get("val_" + k), tm.get(k))))]
        rows += [(f"{x['name']}: {x['model']}", *(v for k in keys for v in (x["val_metrics"].get("val_" + k),
                                                                             x["test_metrics"].get(k)))) for x in base]
        parts.append("<h3>Against the obvious: baselines on the same split</h3>")
        parts.append(_table(rows, header=("model", *(f"{w} {k}" for k in keys for w in ("val", "test"))),
                            css_id="baselines"))
    pareto = report.get("pareto")
    if pareto:
        cm = pareto.get("cost_metric", "cost")
        parts.append(f"<h3>Pareto front ({_e(metric)} against {_e(cm)}); tested: --pick {_e(pareto.get('pick'))}</h3>")
        parts.append(_table([(row["index"], f"#{row['trial']}", row["value"], row["cost"],
                              "tested" if row["trial"] == (pareto.get("picked") or {}).get("trial") else "")
                             for row in pareto.get("front", [])],
                            header=("index", "trial", f"search {metric}", cm, ""), css_id="pareto-front"))
        parts.append(f"<p>{_e(pareto.get('why', ''))}; {_e(cm)} of the tested model: "
                     f"{_e(_num(pareto.get('final_cost')))}.</p>")
    cands = [c for c in (report.get("selection") or {}).get("candidates", []) if "cv_mean" in c]
    if cands:
        ev = report["selection"].get("evidence", {})
        spent = "" if ev.get("seconds") is None else f", {_e(ev['seconds'])} s of a {_e(ev.get('budget_seconds'))} s budget"
        parts.append(f"<h3>Selection beyond validation noise ({_e(ev.get('kind', ''))}{spent})</h3>")
        parts.append(_table([(f"#{c['trial']}", c["search_value"], _pm(c["cv_mean"], c["cv_std"]),
                              ", ".join(f"{v:.4f}" if isinstance(v, float) else "failed" for v in c["cv_scores"]))
                             for c in cands], header=("trial", f"search {metric}", "CV mean ± std", "folds"),
                            css_id="selection"))
    top = report.get("top_k") or []
    if top:
        parts.append("<h3>Top-k configs over seeds</h3>")
        parts.append(_table([(c.get("rank"), f"#{c.get('trial')}", c.get("search_value"),
                              _pm(c.get("val_mean"), c.get("val_std")), _pm(c.get("test_mean"), c.get("test_std")),
                              c.get("n_seeds")) for c in top],
                            header=("rank", "trial", f"search {metric}", "validation mean ± std", "test mean ± std",
                                    "seeds"), css_id="top-k"))
    bud = report.get("budget", {})
    settings = bud.get("settings", {}) or {}
    by_state = bud.get("by_state", {}) or {}
    data = report.get("data", {})
    parts.append('<div class="tables"><div><h3>Budget</h3>' + _table([
        ("trials", bud.get("trials")),
        ("by state", ", ".join(f"{k.lower()} {v}" for k, v in by_state.items() if v)),
        ("training epochs", bud.get("epochs")), ("training seconds", bud.get("train_seconds")),
        ("wall seconds", bud.get("wall_seconds")), ("searcher", settings.get("searcher", settings.get("sampler"))),
        ("scheduler", settings.get("scheduler", settings.get("pruner"))), ("workers", settings.get("workers")),
        ("search seed", report.get("seeds", {}).get("search")),
        *([("stopped (--budget auto)", bud["stopped"].get("reason"))] if bud.get("stopped") else []),
        ("finalize seconds", report.get("finalize", {}).get("seconds")),
    ], css_id="budget") + "</div>")
    parts.append("<div><h3>Data</h3>" + _table([
        ("dataset", data.get("name")), ("task", data.get("task")), ("train", data.get("n_train")),
        ("validation", data.get("n_val")), ("test (sealed)", data.get("n_test")),
    ], css_id="data") + "</div>")
    env = report.get("environment", {}) or {}
    pk = env.get("packages", {}) or {}
    hw = [("processor", env.get("processor")), ("CPUs", f"{env.get('cpu_count')} ({env.get('cpu_affinity', '?')} usable)"),
          ("platform", env.get("platform")), ("python", env.get("python")), ("hostname", env.get("hostname")),
          ("CUDA", env.get("cuda")), ("GPUs", ", ".join(env.get("gpus", [])) or "-"),
          ("device (finalize)", report.get("finalize", {}).get("device"))]
    hw += [(k, v) for k, v in pk.items() if v]
    parts.append("<div><h3>Hardware and versions</h3>" + _table(hw, css_id="hardware") + "</div></div>")
    return "\n".join(parts)


def page(*, title: str, subtitle: list[str], figures: dict[str, Any], plotly_js: str, summary_html: str,
         final_html: str) -> str:
    """The whole page. `figures` maps names (keys of FIGURES) to plotly figures."""
    titles = {**FIGURES, **EXTRA_FIGURES}
    nav = ['<a href="#final">Final report</a>'] + [f'<a href="#sec-{n}">{_e(titles[n][0])}</a>' for n in figures]
    sections = []
    for name, fig in figures.items():
        div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{name}", config=PLOT_CONFIG,
                          post_script="document.getElementById('{plot_id}').setAttribute('data-rendered', '1');")
        t, note = titles[name]
        sections.append(f'<section id="sec-{name}"><h2>{_e(t)}</h2><p class="note">{_e(note)}</p>\n{div}\n</section>')
    generated = time.strftime("%Y-%m-%d %H:%M:%S")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en" data-js-errors="">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{_e(title)}</title>",
        ERROR_HOOK, f"<style>{CSS}</style>", f'<script type="text/javascript">{plotly_js}</script>',
        "</head>",
        f'<body data-figures="{len(figures)}">',
        f"<header><h1>{_e(title)}</h1>" + "".join(f"<p>{_e(s)}</p>" for s in subtitle)
        + f"<p>Generated {_e(generated)}.</p></header>",
        "<nav>" + " ".join(nav) + "</nav>", "<main>", '<section id="final"><h2>Final report</h2>',
        "<h3>Search</h3>", summary_html, final_html, "</section>", *sections, "</main>", "</body>", "</html>",
    ])
