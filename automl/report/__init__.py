"""`automl report RUN`: one self-contained HTML file (plotly.js embedded, works offline) for a run of any backend.

Built only from backend-neutral `TrialRecord`s and report.json, never from Optuna or Ray objects:

    from automl.report import build_report
    path = build_report("results/mnist1d_cnn")          # -> results/mnist1d_cnn/report.html
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl.report.figures import FIGURES, figures_for, importances, param_infos
from automl.space.errors import UserInputError
from automl.store.run import DEFAULT_ROOT, RunInfo, load_run

__all__ = ["FIGURES", "PngUnavailable", "ReportOutput", "build_report", "export_pngs", "figures_for", "importances",
           "param_infos", "write_report"]


class PngUnavailable(RuntimeError):
    """No static-image renderer (kaleido >= 1 and a Chrome/Chromium) is available; the message says what to install."""


@dataclass
class ReportOutput:
    html: Path
    figures: list[str]
    n_trials: int
    seconds: float
    pngs: list[Path] = field(default_factory=list)
    png_error: str | None = None


def _read_report_json(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "report.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UserInputError(f"{path} is not readable JSON ({e}); re-create it with `automl finalize {run_dir}`.") from None


def _objective(info: RunInfo, report: dict[str, Any] | None) -> tuple[str, str]:
    for known in ((report or {}).get("objective") or {}, info.settings):  # finalize's, else the manifest's
        if known.get("direction") and known.get("metric"):
            return known["direction"], known["metric"]
    from automl.space import load_space

    space = load_space(info.space_path)
    return space.objective.direction, space.objective.metric


def _run_space(info: RunInfo) -> Any:
    """The run's own copy of its space (parameter types and log scales for the figures); None when unreadable,
    in which case the figures infer them from the values."""
    from automl.space import load_space

    try:
        return load_space(info.space_path).space
    except (UserInputError, OSError):
        return None


def export_pngs(figures: dict[str, Any], html_path: Path, width: int = 1400) -> list[Path]:
    """One PNG per figure next to the HTML (`<stem>-<figure>.png`), via kaleido; raises PngUnavailable."""
    if importlib.util.find_spec("kaleido") is None:
        raise PngUnavailable("PNG export needs kaleido (>= 1) and a Chrome/Chromium: `pip install kaleido` and "
                             "`apt-get install chromium` (or `plotly_get_chrome`); the HTML report was written anyway.")
    import plotly.io as pio

    paths = [html_path.with_name(f"{html_path.stem}-{name}.png") for name in figures]
    figs = list(figures.values())
    heights = [int(f.layout.height or 500) for f in figs]
    try:
        pio.write_images(figs, paths, width=width, height=heights)
    except Exception as e:  # no Chrome, sandbox problems, kaleido/plotly version mismatch...
        raise PngUnavailable(f"PNG export failed ({type(e).__name__}: {str(e).strip()[:300]}); kaleido >= 1 needs a "
                             "Chrome/Chromium (`apt-get install chromium`, or set BROWSER_PATH). The HTML report was "
                             "written anyway.") from None
    return paths


def write_report(run: str | Path | RunInfo, output: str | Path | None = None, *, root: Path = DEFAULT_ROOT,
                 storage: str | None = None, png: bool = False) -> ReportOutput:
    """Write the HTML report (and PNGs if asked and possible); what was written and how long it took."""
    import plotly.offline

    from automl.report.html import final_tables, page, search_summary
    from automl.store.results import load_trials

    t0 = time.perf_counter()
    info = run if isinstance(run, RunInfo) else load_run(run, root=root, storage=storage)
    report = _read_report_json(info.run_dir)
    direction, metric = _objective(info, report)
    records = load_trials(info)
    cost_metric = info.settings.get("cost_metric") or ((report or {}).get("objective") or {}).get("cost")
    figures = figures_for(records, report, direction, metric, space=_run_space(info), cost_metric=cost_metric)
    subtitle = [f"Backend {info.backend}; objective: {direction} validation {metric}"
                f"{f', minimize {cost_metric} (Pareto front)' if cost_metric else ''}; {len(records)} trials.",
                f"Run directory {info.run_dir}"]
    text = page(title=f"automl report: {info.study}", subtitle=subtitle, figures=figures,
                plotly_js=plotly.offline.get_plotlyjs(), summary_html=search_summary(records, direction, metric),
                final_html=final_tables(report))
    out = Path(output) if output is not None else info.run_dir / "report.html"
    if out.is_dir():
        out = out / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    res = ReportOutput(html=out, figures=list(figures), n_trials=len(records), seconds=time.perf_counter() - t0)
    if png:
        try:
            res.pngs = export_pngs(figures, out)
        except PngUnavailable as e:
            res.png_error = str(e)
    return res


def build_report(run_dir_or_info: str | Path | RunInfo, output: str | Path | None = None, *,
                 root: Path = DEFAULT_ROOT, storage: str | None = None) -> Path:
    """Write `report.html` (default: inside the run directory) and return its path."""
    return write_report(run_dir_or_info, output, root=root, storage=storage).html
