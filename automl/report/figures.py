"""Plotly figures of a run, computed from backend-neutral `TrialRecord`s and report.json only.

Nothing here touches Optuna or Ray objects, so a run of either backend gets the same report. Parameter
importances are our own (random-forest impurity importances on encoded parameters of COMPLETE trials),
not Optuna's, for the same reason.
"""

from __future__ import annotations

import bisect
import contextlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from automl.store.records import STATES, TrialRecord, best_record

STATE_COLORS = {"COMPLETE": "#1f77b4", "PRUNED": "#ff7f0e", "FAIL": "#d62728", "RUNNING": "#7f7f7f",
                "WAITING": "#bcbd22"}
FINISHED = ("COMPLETE", "PRUNED", "FAIL")
MAX_CURVE_POINTS = 30_000  # learning-curve points drawn in all (curves are strided beyond this)
MAX_PARCOORDS_PARAMS = 12
IMPORTANCE_DIGITS = 2  # importances are printed with 2 decimals; a bar that reads 0.00 is hidden
N_SLICE = 4
TEMPLATE = "plotly_white"

# Figure names, in page order, with a title and a one-line description each.
FIGURES: dict[str, tuple[str, str]] = {
    "history": ("Optimization history",
                "Best-so-far validation objective against the trial number and against the training epochs spent."),
    "ecdf": ("Empirical distribution of the objective",
             "Share of trials whose validation objective is at most x (COMPLETE trials; PRUNED ones apart, at the "
             "best value they reached before they were stopped)."),
    "learning_curves": ("Learning curves",
                        "Validation objective per epoch of every trial (the intermediate values the pruner saw); "
                        "× marks where a trial was pruned; click the legend to hide a state."),
    "pruning": ("Did pruning hold?",
                "Where each pruned trial ranked among the COMPLETE trials at the epoch it was stopped, and whether "
                "the COMPLETE trials' ranking at those epochs held until the end."),
    "importance": ("Parameter importances",
                   "Random-forest (fANOVA-like) impurity importances of the parameters for the objective, "
                   "fitted on COMPLETE trials."),
    "parallel": ("Parallel coordinates",
                 "Parameters of COMPLETE trials, coloured by the objective; axis scales (log or linear) and types "
                 "come from the search space."),
    "slice": ("Slice plots", "Objective against the value of the most important parameters (COMPLETE trials)."),
    "contour": ("Contour of the top two numeric parameters",
                "Objective interpolated (inverse-distance weighting) over the two most important numeric "
                "parameters (a contour across categories would be meaningless); dots are trials."),
    "states": ("Trial states and durations", "How trials ended, and how long they took."),
    "timeline": ("Timeline by worker", "When each trial ran, on which worker."),
    "val_test": ("Validation vs test of the finalized configs",
                 "Retrained top-k configs: mean ± std over seeds on validation and on the sealed test split; "
                 "dots are single seeds."),
}
# Drawn only for a run with a cost objective (automl.finalize.pareto), first on the page.
EXTRA_FIGURES: dict[str, tuple[str, str]] = {
    "pareto": ("Pareto front: validation objective against cost",
               "Left: every COMPLETE trial (dots), PRUNED ones at the best value they reached (×), the front (the "
               "trials no other trial beats on both) as a step line, the point finalize tested (★). Right: the front "
               "after each quarter of the finished trials, with the area it dominates (hypervolume, cost on a log "
               "scale when all costs are positive)."),
}


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) and math.isfinite(v) else str(v)


def _e(text: str) -> str:
    """Escape text for plotly's HTML-ish titles."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _placeholder(title: str, message: str, height: int = 320) -> go.Figure:
    """A figure that says why there is nothing to plot (too few trials, not finalized, ...)."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 15, "color": "#555"})
    fig.update_layout(title=title, template=TEMPLATE, height=height, xaxis={"visible": False},
                      yaxis={"visible": False})
    return fig


# --- parameters ---------------------------------------------------------------------------------------------

@dataclass
class ParamInfo:
    """How one flat parameter is drawn: numeric (maybe log-scaled) or categorical (ordinal codes + labels)."""

    name: str
    categorical: bool
    log: bool = False
    integer: bool = False
    categories: list[Any] = field(default_factory=list)
    missing: bool = False  # absent from some trials (conditional parameter)
    lo: float = 0.0  # encoded range over the present values
    hi: float = 0.0

    def encode(self, value: Any) -> float:
        if self.categorical:
            keys = [_cat_key(c) for c in self.categories]
            return float(keys.index(_cat_key(value))) if _cat_key(value) in keys else math.nan
        if value is None:
            return math.nan
        return math.log10(float(value)) if self.log else float(value)

    @property
    def sentinel(self) -> float:
        """Where a missing (conditional) value is drawn: just below the encoded range."""
        if self.categorical:
            return float(len(self.categories))
        span = self.hi - self.lo
        return self.lo - (0.15 * span if span > 0 else 1.0)

    def ticks(self, with_missing: bool = False) -> tuple[list[float], list[str]]:
        if self.categorical:
            vals = [float(i) for i in range(len(self.categories))]
            text = [str(c) for c in self.categories]
        elif self.log:
            decades = range(math.floor(self.lo), math.ceil(self.hi) + 1)
            vals = []
            for mult in ((1, 2, 5), (1, 3), (1,)):
                vals = [math.log10(m * 10.0 ** e) for e in decades for m in mult]
                vals = [v for v in vals if self.lo - 1e-9 <= v <= self.hi + 1e-9]
                if len(vals) <= 7:
                    break
            if len(vals) > 7:
                vals = vals[:: math.ceil(len(vals) / 7)]
            if len(vals) < 2:
                vals = [float(v) for v in np.linspace(self.lo, self.hi, 4)]
            text = [_fmt(10 ** v) for v in vals]
        else:
            if self.hi > self.lo:
                vals = [float(v) for v in np.linspace(self.lo, self.hi, 5)]
                if self.integer:
                    vals = sorted({float(round(v)) for v in vals})
            else:
                vals = [self.lo]
            text = [_fmt(v) for v in vals]
        if with_missing and self.missing:
            vals, text = [*vals, self.sentinel], [*text, "n/a"]
        return vals, text

    def display(self, value: Any) -> str:
        return "n/a" if value is None else _fmt(value)


def _cat_key(v: Any) -> str:
    return f"{type(v).__name__}:{v}"


def param_infos(records: list[TrialRecord], space: Any = None) -> dict[str, ParamInfo]:
    """All parameters seen in any trial, in first-seen order.

    With the run's search space (`automl.space.Space`), each parameter's type, scale and range come from its
    definition: a dropout sampled linearly from 0 stays linear however its values happen to spread, a
    categorical of numbers keeps its choices as labels. Without it (or for a name the space does not know),
    they are inferred from the values.
    """
    values: dict[str, list[Any]] = {}
    for r in records:
        for k, v in r.params.items():
            values.setdefault(k, []).append(v)
    out = {}
    n = len(records)
    for name, vals in values.items():
        present = [v for v in vals if v is not None]
        info = _from_space(name, _space_dist(space, name), present, missing=len(present) < n)
        if info is None:
            info = _inferred(name, present, missing=len(present) < n)
        out[name] = info
    return out


def _space_dist(space: Any, name: str) -> Any:
    if space is None:
        return None
    try:
        return space.find(name).dist
    except KeyError:
        return None


def _from_space(name: str, dist: Any, present: list[Any], missing: bool) -> ParamInfo | None:
    from automl.space.params import Categorical, Float, Int

    if isinstance(dist, Categorical):
        info = ParamInfo(name, True, missing=missing, categories=list(dist.choices))
        keys = {_cat_key(c) for c in info.categories}
        for v in present:  # a value the (edited) space no longer lists still gets its own label
            if _cat_key(v) not in keys:
                keys.add(_cat_key(v))
                info.categories.append(v)
        info.lo, info.hi = 0.0, float(max(0, len(info.categories) - 1))
        return info
    if not isinstance(dist, (Float, Int)):
        return None
    nums = [float(v) for v in present if _finite(v)]
    log = bool(dist.log) and dist.low > 0 and all(v > 0 for v in nums)
    info = ParamInfo(name, False, log=log, integer=isinstance(dist, Int), missing=missing)
    enc = [info.encode(v) for v in (dist.low, dist.high, *nums)]
    info.lo, info.hi = min(enc), max(enc)  # the space's range (widened if a value lies outside it)
    return info


def _inferred(name: str, present: list[Any], missing: bool) -> ParamInfo:
    categorical = any(isinstance(v, (str, bool)) or not isinstance(v, (int, float)) for v in present)
    info = ParamInfo(name, categorical, missing=missing)
    if categorical:
        seen: dict[str, Any] = {}
        for v in present:
            seen.setdefault(_cat_key(v), v)
        cats = list(seen.values())
        with contextlib.suppress(TypeError):
            cats.sort()
        info.categories = cats
    else:
        fl = [float(v) for v in present if math.isfinite(float(v))]
        info.log = bool(fl) and min(fl) > 0 and max(fl) / min(fl) >= 20
        info.integer = all(isinstance(v, int) for v in present)
    enc = [e for e in map(info.encode, present) if math.isfinite(e)]
    info.lo, info.hi = (min(enc), max(enc)) if enc else (0.0, 0.0)
    return info


def _complete(records: list[TrialRecord]) -> list[TrialRecord]:
    return [r for r in records if r.state == "COMPLETE" and _finite(r.value)]


def _matrix(recs: list[TrialRecord], infos: dict[str, ParamInfo], names: list[str]) -> np.ndarray:
    x = np.full((len(recs), len(names)), np.nan)
    for i, r in enumerate(recs):
        for j, n in enumerate(names):
            if n in r.params:
                x[i, j] = infos[n].encode(r.params[n])
    return x


def importances(records: list[TrialRecord], infos: dict[str, ParamInfo] | None = None) -> dict[str, float] | None:
    """Random-forest impurity importances (normalized to sum 1), or None with fewer than 3 COMPLETE trials.

    Parameters are encoded ordinally (categories as codes, log-scaled numbers as log10); a missing conditional
    parameter gets a value below its range, so the trees can split "absent" from "present".
    """
    done = _complete(records)
    if len(done) < 3:
        return None
    infos = infos or param_infos(records)
    names = list(infos)
    if not names:
        return None
    x = _matrix(done, infos, names)
    x = np.where(np.isnan(x), [infos[n].sentinel for n in names], x)
    y = np.array([r.value for r in done], dtype=float)
    varying = [j for j in range(len(names)) if np.ptp(x[:, j]) > 0]
    if not varying or np.ptp(y) == 0:
        return {n: 0.0 for n in names}
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(n_estimators=64, min_samples_leaf=1, max_features=1.0, random_state=0, n_jobs=1)
    forest.fit(x[:, varying], y)
    imp = np.nan_to_num(forest.feature_importances_)
    total = float(imp.sum())
    out = {n: 0.0 for n in names}
    for k, j in enumerate(varying):
        out[names[j]] = float(imp[k] / total) if total > 0 else 0.0
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


# --- figures ------------------------------------------------------------------------------------------------

def _best_so_far(values: list[float | None], maximize: bool) -> list[float | None]:
    best: float | None = None
    out = []
    for v in values:
        if v is not None and (best is None or (v > best if maximize else v < best)):
            best = v
        out.append(best)
    return out


def history_figure(records: list[TrialRecord], direction: str, metric: str,
                   stopped: dict[str, Any] | None = None) -> go.Figure:
    """`stopped`: report.json's budget.stopped (`--budget auto`): a line where the search stopped, and why."""
    title = FIGURES["history"][0]
    maximize = direction == "maximize"
    if not _complete(records):
        return _placeholder(title, "No COMPLETE trial yet: nothing to optimize over.")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("by trial number", "by cumulative training epochs"),
                        horizontal_spacing=0.08)
    by_number = sorted(records, key=lambda r: r.number)
    finished = sorted((r for r in records if r.state in FINISHED),
                      key=lambda r: (r.finished if r.finished is not None else math.inf, r.number))
    cum = np.cumsum([max(0, r.epochs_run) for r in finished]).tolist()
    dots = {"color": STATE_COLORS["COMPLETE"], "size": 6, "opacity": 0.55}
    for col, xs, recs, hover in ((1, [r.number for r in by_number], by_number, "trial #%{x}<br>"),
                                 (2, cum, finished, "trial #%{customdata}<br>epochs %{x}<br>")):
        vals = [r.value if r.state == "COMPLETE" and _finite(r.value) else None for r in recs]
        pts = [(x, v, r.number) for x, v, r in zip(xs, vals, recs, strict=True) if v is not None]
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], customdata=[p[2] for p in pts],
                                 mode="markers", name="COMPLETE trial", legendgroup="trial",
                                 showlegend=col == 1, marker=dots,
                                 hovertemplate=hover + metric + "=%{y:.4g}<extra></extra>"), 1, col)
        fig.add_trace(go.Scatter(x=xs, y=_best_so_far(vals, maximize), mode="lines", line_shape="hv",
                                 name="best so far", legendgroup="best", showlegend=col == 1,
                                 line={"color": "#2ca02c", "width": 2.5}), 1, col)
    if stopped and finished:
        why = (f"stalled after {stopped.get('trials')} trials: gain {_fmt(stopped.get('gain'))} <= noise "
               f"{_fmt(stopped.get('noise'))} over the last {stopped.get('window')}")
        for col, x in ((1, max(r.number for r in finished)), (2, cum[-1])):
            fig.add_vline(x=x, line={"color": "#d62728", "dash": "dash", "width": 1.5}, row=1, col=col)
        fig.add_annotation(text=why, xref="paper", yref="paper", x=0.0, y=-0.22, showarrow=False,
                           font={"color": "#d62728"}, xanchor="left")
    fig.update_xaxes(title_text="trial number", row=1, col=1)
    fig.update_xaxes(title_text="training epochs spent (all trials, in finish order)", row=1, col=2)
    fig.update_yaxes(title_text=metric, row=1, col=1)
    fig.update_layout(title=f"{title} ({direction} {metric})", template=TEMPLATE, height=430)
    return fig


def learning_curves_figure(records: list[TrialRecord], direction: str, metric: str,
                           max_points: int = MAX_CURVE_POINTS) -> go.Figure:
    title = FIGURES["learning_curves"][0]
    curves = []
    for r in sorted(records, key=lambda r: r.number):
        pts = [(h.get("epoch", i + 1), h.get(metric)) for i, h in enumerate(r.history or []) if isinstance(h, dict)]
        pts = [(e, v) for e, v in pts if _finite(v)]
        if pts:
            curves.append((r, pts))
    if not curves:
        return _placeholder(title, f"No trial has reported {metric} per epoch yet.")
    total = sum(len(p) for _, p in curves)
    stride = max(1, math.ceil(total / max_points))
    fig = go.Figure()
    best = best_record(records, direction)
    for state in STATES:
        xs, ys, text = [], [], []  # every curve of the state in one trace
        for r, pts in curves:
            if r.state != state:
                continue
            keep = pts[::stride]
            if keep[-1] is not pts[-1]:
                keep.append(pts[-1])
            xs += [*(e for e, _ in keep), None]  # None breaks the line between trials
            ys += [*(float(f"{v:.6g}") for _, v in keep), None]
            text += [*(r.number for _ in keep), None]
        if not xs:
            continue
        n = sum(1 for r, _ in curves if r.state == state)
        fig.add_trace(go.Scatter(
            x=xs, y=ys, customdata=text, mode="lines", name=f"{state.lower()} ({n})", legendgroup=state,
            line={"color": STATE_COLORS.get(state, "#7f7f7f"), "width": 1,
                  "dash": "dot" if state == "FAIL" else "solid"},
            opacity=0.45 if state == "COMPLETE" else 0.5, connectgaps=False,
            hovertemplate="trial #%{customdata}<br>epoch %{x}<br>" + metric + "=%{y:.4g}<extra>" + state.lower()
            + "</extra>"))
    stops = [(r, pts[-1]) for r, pts in curves if r.state == "PRUNED"]
    if stops:
        fig.add_trace(go.Scatter(
            x=[p[0] for _, p in stops], y=[float(f"{p[1]:.6g}") for _, p in stops],
            customdata=[r.number for r, _ in stops], mode="markers", name=f"pruned here ({len(stops)})",
            legendgroup="PRUNED", marker={"symbol": "x", "size": 7, "color": STATE_COLORS["PRUNED"]},
            hovertemplate="trial #%{customdata} pruned after epoch %{x}<br>" + metric + "=%{y:.4g}<extra></extra>"))
    if best is not None:
        pts = next((p for r, p in curves if r.number == best.number), None)
        if pts:
            fig.add_trace(go.Scatter(x=[e for e, _ in pts], y=[v for _, v in pts], mode="lines+markers",
                                     name=f"best trial #{best.number}", legendgroup="best",
                                     line={"color": "#2ca02c", "width": 3}, marker={"size": 5}))
    note = f" (every {stride}th epoch drawn)" if stride > 1 else ""
    fig.update_layout(title=f"{title}: validation {metric} per epoch{note}", template=TEMPLATE, height=480,
                      xaxis_title="epoch", yaxis_title=metric, legend={"groupclick": "togglegroup"})
    return fig


def ecdf_figure(records: list[TrialRecord], direction: str, metric: str) -> go.Figure:
    """Empirical CDF of the objective: how much of the search landed near the best, not only where the best is.
    PRUNED trials get their own curve (their value is the best they reached before being stopped, so it is
    not comparable with a finished trial's)."""
    title = FIGURES["ecdf"][0]
    groups = {s: sorted(float(r.value) for r in records if r.state == s and _finite(r.value))
              for s in ("COMPLETE", "PRUNED")}
    if not groups["COMPLETE"]:
        return _placeholder(title, "No COMPLETE trial yet: no distribution to draw.")
    fig = go.Figure()
    for state, vals in groups.items():
        if not vals:
            continue
        n = len(vals)
        label = "complete" if state == "COMPLETE" else "pruned (best value before it was stopped)"
        fig.add_trace(go.Scatter(
            x=[vals[0], *vals], y=[0.0, *((i + 1) / n for i in range(n))], mode="lines", line_shape="hv",
            name=f"{label} ({n})", legendgroup=state,
            line={"color": STATE_COLORS[state], "width": 2.5 if state == "COMPLETE" else 1.5,
                  "dash": "solid" if state == "COMPLETE" else "dash"},
            hovertemplate=metric + " ≤ %{x:.4g}: %{y:.0%} of " + state.lower() + " trials<extra></extra>"))
    best = best_record(records, direction)
    if best is not None:
        fig.add_vline(x=float(best.value), line={"color": "#2ca02c", "dash": "dot"},  # type: ignore[arg-type]
                      annotation_text=f"best #{best.number}", annotation_position="top")
    everything = groups["COMPLETE"] + groups["PRUNED"]
    lo, hi, n_out = clipped_range(everything, k=3.0)
    xaxis: dict[str, Any] = {"title": {"text": f"{metric} ({'higher' if direction == 'maximize' else 'lower'} "
                                                "is better)"}}
    sub = ""
    if n_out:
        pad = 0.03 * (hi - lo or 1.0)
        xaxis["range"] = [lo - pad, hi + pad]
        sub = f"<br><sup>{n_out} outlying trial value(s) beyond the axis (the curves still count them)</sup>"
    fig.update_layout(title=f"{title}: {metric} over {len(groups['COMPLETE'])} COMPLETE trials{sub}",
                      template=TEMPLATE, height=420, xaxis=xaxis,
                      yaxis={"title": {"text": "share of trials ≤ x"}, "range": [0, 1.04], "tickformat": ".0%"},
                      margin={"t": 90 if sub else 60})
    return fig


def _curve(r: TrialRecord, metric: str) -> dict[int, float]:
    out = {}
    for i, h in enumerate(r.history or []):
        if isinstance(h, dict) and _finite(h.get(metric)):
            out[int(h.get("epoch", i + 1))] = float(h[metric])
    return out


@dataclass
class PruneCheck:
    """Where one pruned trial stood, at the epoch it was stopped, among the COMPLETE trials at that epoch."""

    number: int
    epoch: int
    value: float
    n_compared: int  # COMPLETE trials with a value at that epoch
    percentile: float  # share of them the pruned trial was ahead of (ties count half), in %
    ahead_of_best: bool | None  # ahead of the eventual best trial at that epoch (None: best has no value there)


def pruning_checks(records: list[TrialRecord], direction: str, metric: str
                   ) -> tuple[list[PruneCheck], dict[int, tuple[float, int]]]:
    """Per pruned trial, its standing at the pruning epoch; per pruning epoch, the Spearman correlation (and the
    number of trials) between the COMPLETE trials' value at that epoch and their final value: if the ranking
    at epoch e held until the end, stopping the trials that ranked low at e lost little."""
    sign = 1.0 if direction == "maximize" else -1.0
    done = {r.number: (r, _curve(r, metric)) for r in _complete(records)}
    best = best_record(records, direction)
    best_curve = done[best.number][1] if best is not None else {}
    checks = []
    at: dict[int, list[float]] = {}  # epoch -> the COMPLETE trials' signed values there, sorted (one bisect per
    for r in records:                # pruned trial instead of a pass over every COMPLETE one: 10k trials in 0.1 s)
        c = _curve(r, metric) if r.state == "PRUNED" else {}
        if not c:
            continue
        e = max(c)
        v = c[e]
        if e not in at:
            at[e] = sorted(sign * dc[e] for _, dc in done.values() if e in dc)
        others = at[e]
        below = bisect.bisect_left(others, sign * v)
        ahead = below + 0.5 * (bisect.bisect_right(others, sign * v) - below)
        checks.append(PruneCheck(r.number, e, v, len(others), 100.0 * ahead / len(others) if others else math.nan,
                                 (sign * v > sign * best_curve[e]) if e in best_curve else None))
    rho: dict[int, tuple[float, int]] = {}
    for e in sorted({c.epoch for c in checks}):
        pairs = [(dc[e], float(dr.value)) for dr, dc in done.values() if e in dc]  # type: ignore[arg-type]
        if len(pairs) >= 3:
            from scipy.stats import spearmanr

            res = spearmanr([p[0] for p in pairs], [p[1] for p in pairs])
            if math.isfinite(float(res.statistic)):
                rho[e] = (float(res.statistic), len(pairs))
    return checks, rho


def pruning_figure(records: list[TrialRecord], direction: str, metric: str) -> go.Figure:
    title = FIGURES["pruning"][0]
    n_pruned = sum(r.state == "PRUNED" for r in records)
    if not n_pruned:
        return _placeholder(title, "No trial was pruned in this run: nothing to check.")
    checks, rho = pruning_checks(records, direction, metric)
    compared = [c for c in checks if c.n_compared]
    if not compared:
        return _placeholder(title, f"{n_pruned} trial(s) were pruned, but no COMPLETE trial reported {metric} at the "
                                   "epochs they were stopped: nothing to compare them with.")
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        "pruned trials: share of COMPLETE trials they were ahead of when stopped",
        "COMPLETE trials: rank at epoch e vs final rank (Spearman ρ)"))
    ahead_best = [c for c in compared if c.ahead_of_best]
    normal = [c for c in compared if not c.ahead_of_best]
    jitter = np.random.default_rng(0)  # trials pruned at the same epoch with the same standing would hide each other
    for group, name, color, symbol in ((normal, "pruned trial", STATE_COLORS["PRUNED"], "circle"),
                                       (ahead_best, "pruned while ahead of the eventual best", "#d62728", "star")):
        if group:
            fig.add_trace(go.Scatter(
                x=[c.epoch + jitter.uniform(-0.15, 0.15) for c in group], y=[c.percentile for c in group],
                mode="markers", name=f"{name} ({len(group)})",
                customdata=[[c.number, c.value, c.n_compared, c.epoch] for c in group],
                marker={"color": color, "symbol": symbol, "size": 9 if symbol == "star" else 7, "opacity": 0.8,
                        "line": {"width": 0.5, "color": "#333"}},
                hovertemplate="trial #%{customdata[0]} pruned after epoch %{customdata[3]}<br>" + metric
                + "=%{customdata[1]:.4g}"
                "<br>ahead of %{y:.0f}% of %{customdata[2]} COMPLETE trials<extra></extra>"), 1, 1)
    fig.add_hline(y=50, line={"color": "#888", "dash": "dot"}, row=1, col=1)  # type: ignore[arg-type]
    if rho:
        es = sorted(rho)
        fig.add_trace(go.Scatter(x=es, y=[rho[e][0] for e in es], customdata=[rho[e][1] for e in es],
                                 mode="lines+markers", name="Spearman ρ (COMPLETE trials)",
                                 line={"color": STATE_COLORS["COMPLETE"]},
                                 hovertemplate="epoch %{x}: ρ=%{y:.2f} over %{customdata} trials<extra></extra>"),
                      1, 2)
    else:
        fig.add_annotation(text="fewer than 3 COMPLETE trials<br>reached the pruning epochs", x=0.5, y=0.0,
                           showarrow=False, row=1, col=2)
    last = max(c.epoch for c in compared)
    ticks = {"tick0": 1, "dtick": max(1, math.ceil(last / 10)), "range": [0.5, last + 0.5]}
    fig.update_xaxes(title_text="epoch the trial was stopped after", row=1, col=1, **ticks)
    fig.update_xaxes(title_text="epoch e", row=1, col=2, **ticks)
    fig.update_yaxes(title_text="% of COMPLETE trials behind it", range=[-5, 105], row=1, col=1)
    fig.update_yaxes(title_text="ρ", range=[-1.05, 1.05], row=1, col=2)
    behind = sum(c.percentile < 50 for c in compared)
    verdict = (f"{behind} of {len(compared)} pruned trials were behind the median COMPLETE trial when stopped; "
               f"{len(ahead_best)} were ahead of the eventual best trial at that epoch")
    if rho:
        verdict += f"; median ρ = {float(np.median([v for v, _ in rho.values()])):.2f}"
    fig.update_layout(title=f"{title}<br><sup>{_e(verdict)}</sup>", template=TEMPLATE, height=440,
                      margin={"t": 110}, legend={"orientation": "h", "y": -0.2})
    return fig


def importance_figure(imp: dict[str, float] | None, n_complete: int) -> go.Figure:
    title = FIGURES["importance"][0]
    if imp is None:
        return _placeholder(title, f"Parameter importances need at least 3 COMPLETE trials (this run has {n_complete}).")
    if not imp or not any(imp.values()):
        return _placeholder(title, "No parameter explains any variation of the objective (it is constant, or "
                                   "every parameter is fixed).")
    shown = {k: v for k, v in imp.items() if round(v, IMPORTANCE_DIGITS) > 0}
    hidden = [k for k in imp if k not in shown]
    items = sorted(shown.items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h",
                           marker={"color": "#1f77b4"}, text=[f"{v:.{IMPORTANCE_DIGITS}f}" for _, v in items],
                           textposition="outside", hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    sub = ""
    if hidden:
        names = ", ".join(hidden[:6]) + (f" and {len(hidden) - 6} more" if len(hidden) > 6 else "")
        sub = (f"<br><sup>{len(hidden)} of {len(imp)} parameters hidden: importance below "
               f"{0.5 * 10 ** -IMPORTANCE_DIGITS:g} ({_e(names)})</sup>")
    fig.update_layout(title=f"{title} (random forest on {n_complete} COMPLETE trials){sub}", template=TEMPLATE,
                      height=max(300, 90 + 26 * len(items)), xaxis_title="importance (sums to 1)",
                      margin={"l": 260, "t": 90 if hidden else 60})
    return fig


def _ranked_params(infos: dict[str, ParamInfo], imp: dict[str, float] | None, done: list[TrialRecord]) -> list[str]:
    """Parameters worth plotting, most important first; ones that never vary across COMPLETE trials are dropped."""
    names = [n for n in infos if len({_cat_key(r.params.get(n)) for r in done}) > 1]
    if imp:
        names.sort(key=lambda n: -imp.get(n, 0.0))
    return names


def _colorscale(direction: str) -> dict[str, Any]:
    # Better is always yellow: reverse Viridis when lower is better.
    return {"colorscale": "Viridis", "reversescale": direction != "maximize"}


def parallel_figure(records: list[TrialRecord], infos: dict[str, ParamInfo], order: list[str], direction: str,
                    metric: str) -> go.Figure:
    title = FIGURES["parallel"][0]
    done = _complete(records)
    if len(done) < 2 or not order:
        return _placeholder(title, "Parallel coordinates need at least 2 COMPLETE trials with varying parameters.")
    names = order[:MAX_PARCOORDS_PARAMS]
    x = _matrix(done, infos, names)
    dims = []
    for j, n in enumerate(names):
        p = infos[n]
        col = x[:, j]
        col[np.isnan(col)] = p.sentinel
        tv, tt = p.ticks(with_missing=bool(np.any(col == p.sentinel)))
        lo, hi = min(float(col.min()), min(tv)), max(float(col.max()), max(tv))
        if hi == lo:
            lo, hi = lo - 0.5, hi + 0.5
        dims.append({"label": _short(n), "values": col.tolist(), "tickvals": tv, "ticktext": tt, "range": [lo, hi]})
    y = [float(r.value) for r in done]
    dims.append({"label": metric, "values": y})
    cmin, cmax, n_out = clipped_range(y)
    bar = metric + (f"<br>(clipped; {n_out} outlier{'s' if n_out != 1 else ''})" if n_out else "")
    fig = go.Figure(go.Parcoords(
        line={"color": y, "cmin": cmin, "cmax": cmax, "showscale": True, "colorbar": {"title": {"text": bar}},
              **_colorscale(direction)},
        dimensions=dims, labelangle=-20, labelside="top"))
    more = f" (top {len(names)} of {len(order)} parameters by importance)" if len(order) > len(names) else ""
    fig.update_layout(title=title + more, template=TEMPLATE, height=520, margin={"t": 140, "l": 60, "r": 60})
    return fig


def clipped_range(values: list[float], k: float = 1.5) -> tuple[float, float, int]:
    """(low, high, n outside) for a colour scale: the data's range cut at Tukey's fences (k IQRs beyond the
    quartiles), so that one diverged trial does not squash every other trial into one colour."""
    v = np.asarray([x for x in values if _finite(x)], dtype=float)
    if not len(v):
        return 0.0, 1.0, 0
    q1, q3 = np.percentile(v, [25, 75])
    inside = v[(v >= q1 - k * (q3 - q1)) & (v <= q3 + k * (q3 - q1))]  # the range of the values within the fences
    lo, hi = float(inside.min()), float(inside.max())
    if hi <= lo:
        lo, hi = float(v.min()), float(v.max())
    return lo, hi, int(np.sum((v < lo) | (v > hi)))


def _short(name: str, width: int = 28) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1):]


def _axis(p: ParamInfo, with_missing: bool) -> dict[str, Any]:
    tv, tt = p.ticks(with_missing=with_missing)
    return {"tickvals": tv, "ticktext": tt, "title": {"text": _short(p.name, 40)}}


def slice_figure(records: list[TrialRecord], infos: dict[str, ParamInfo], order: list[str], direction: str,
                 metric: str) -> go.Figure:
    title = FIGURES["slice"][0]
    done = _complete(records)
    if not done or not order:
        return _placeholder(title, "Slice plots need COMPLETE trials with varying parameters.")
    names = order[:N_SLICE]
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True, horizontal_spacing=0.04)
    numbers = [r.number for r in done]
    y = [float(r.value) for r in done]
    for k, n in enumerate(names):
        p = infos[n]
        xs = [p.encode(r.params[n]) if n in r.params else p.sentinel for r in done]
        missing = any(n not in r.params for r in done)
        rng = np.random.default_rng(k)
        if p.categorical:  # a little jitter so that equal categories do not hide each other
            xs = (np.asarray(xs) + rng.uniform(-0.12, 0.12, len(xs))).tolist()
        labels = [p.display(r.params.get(n)) for r in done]
        fig.add_trace(go.Scatter(
            x=xs, y=y, mode="markers", customdata=list(zip(numbers, labels, strict=True)), showlegend=False,
            marker={"color": numbers, "colorscale": "Blues", "size": 7, "opacity": 0.8,
                    "line": {"width": 0.5, "color": "#333"}, "showscale": k == len(names) - 1,
                    "colorbar": {"title": {"text": "trial #"}}},
            hovertemplate="trial #%{customdata[0]}<br>" + n + "=%{customdata[1]}<br>" + metric
            + "=%{y:.4g}<extra></extra>"), 1, k + 1)
        fig.update_xaxes(**_axis(p, missing), row=1, col=k + 1)
    fig.update_yaxes(title_text=metric, row=1, col=1)
    fig.update_layout(title=f"{title} (top {len(names)} parameters)", template=TEMPLATE, height=420)
    return fig


def contour_figure(records: list[TrialRecord], infos: dict[str, ParamInfo], order: list[str], direction: str,
                   metric: str, grid: int = 40) -> go.Figure:
    """Contour over the two most important *numeric* parameters: interpolating across the codes of a
    categorical parameter would invent values between unordered choices, so categoricals are skipped (the
    slice plots show them)."""
    title = FIGURES["contour"][0]
    done = _complete(records)
    if len(order) < 2 or len(done) < 3:
        return _placeholder(title, "A contour needs at least 3 COMPLETE trials and 2 varying parameters "
                                   f"(this run: {len(done)} trials, {len(order)} parameters).")
    # conditional parameters are skipped too: "absent" is no point on a numeric axis to interpolate from
    numeric = [n for n in order if not infos[n].categorical and all(n in r.params for r in done)]
    if len(numeric) < 2:
        return _placeholder(title, f"A contour needs two numeric parameters that every COMPLETE trial has; this run "
                                   f"varies {len(numeric)} such and {len(order) - len(numeric)} categorical or "
                                   "conditional one(s).<br>Interpolating between categories (or from an absent "
                                   "value) would be meaningless: see the slice plots.")
    a, b = infos[numeric[0]], infos[numeric[1]]
    skipped = [n for n in order[:order.index(b.name)] if n not in numeric]
    x = _matrix(done, infos, [a.name, b.name])
    miss_a, miss_b = np.isnan(x).any(axis=0).tolist()
    x = np.where(np.isnan(x), [a.sentinel, b.sentinel], x)
    y = np.array([r.value for r in done], dtype=float)
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    axes = [np.linspace(lo[k], hi[k], grid) for k in range(2)]
    mx, my = np.meshgrid(axes[0], axes[1])
    g = np.stack([mx.ravel(), my.ravel()], axis=1)
    d2 = np.zeros((len(g), len(x)))
    for k in range(2):  # inverse squared (normalized) distance
        d2 += ((g[:, k][:, None] - x[:, k][None, :]) / span[k]) ** 2
    w = 1.0 / np.maximum(d2, 1e-12)
    z = ((w * y[None, :]).sum(1) / w.sum(1)).reshape(len(axes[1]), len(axes[0]))
    z = [[None if not math.isfinite(v) else float(f"{v:.6g}") for v in row] for row in z]
    zmin, zmax, n_out = clipped_range(y.tolist())
    hx, hy = (("log10 " if p.log else "") + p.name for p in (a, b))
    bar = metric + (f"<br>(clipped; {n_out} outlier{'s' if n_out != 1 else ''})" if n_out else "")
    fig = go.Figure(go.Contour(
        x=axes[0], y=axes[1], z=z, ncontours=15, zmin=zmin, zmax=zmax, colorbar={"title": {"text": bar}},
        hovertemplate=f"{hx}=%{{x:.3g}}<br>{hy}=%{{y:.3g}}<br>{metric}≈%{{z:.4g}}<extra>interpolated</extra>",
        **_colorscale(direction)))
    fig.add_trace(go.Scatter(x=x[:, 0], y=x[:, 1], mode="markers", name="trials", showlegend=False,
                             customdata=np.stack([[r.number for r in done], y], axis=1),
                             marker={"color": "white", "size": 7, "line": {"width": 1, "color": "black"}},
                             hovertemplate="trial #%{customdata[0]}<br>" + metric + "=%{customdata[1]:.4g}"
                             "<extra></extra>"))
    fig.update_xaxes(**_axis(a, miss_a))
    fig.update_yaxes(**_axis(b, miss_b))
    sub = ""
    if skipped:
        kinds = " or ".join(sorted({"categorical" if infos[n].categorical else "conditional" for n in skipped}))
        sub = (f"<br><sup>{_e(', '.join(skipped))} rank{'s' if len(skipped) == 1 else ''} higher but "
               f"{'is' if len(skipped) == 1 else 'are'} {kinds}, which a contour cannot show: see the slice plots</sup>")
    fig.update_layout(title=f"{title}: {a.name} × {b.name}{sub}", template=TEMPLATE, height=520,
                      margin={"t": 90 if sub else 60})
    return fig


def states_figure(records: list[TrialRecord]) -> go.Figure:
    title = FIGURES["states"][0]
    if not records:
        return _placeholder(title, "No trials yet.")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("trials by state", "trial duration (seconds)"),
                        horizontal_spacing=0.1)
    states = [s for s in STATES if any(r.state == s for r in records)]
    states += sorted({r.state for r in records} - set(states))
    cnt = [sum(1 for r in records if r.state == s) for s in states]
    fig.add_trace(go.Bar(x=states, y=cnt, marker={"color": [STATE_COLORS.get(s, "#7f7f7f") for s in states]},
                         text=cnt, textposition="outside", showlegend=False,
                         hovertemplate="%{x}: %{y} trials<extra></extra>"), 1, 1)
    for s in states:
        d = [_duration(r) for r in records if r.state == s]
        d = [v for v in d if v is not None]
        if d:
            fig.add_trace(go.Histogram(x=d, name=s.lower(), legendgroup=s, opacity=0.65, nbinsx=30,
                                       marker={"color": STATE_COLORS.get(s, "#7f7f7f")}), 1, 2)
    fig.update_layout(title=title, template=TEMPLATE, height=400, barmode="overlay")
    fig.update_yaxes(title_text="trials")
    fig.update_xaxes(title_text="seconds", row=1, col=2)
    return fig


def _duration(r: TrialRecord) -> float | None:
    if r.duration is not None and math.isfinite(r.duration):
        return float(r.duration)
    return float(r.seconds) if r.seconds else None


def timeline_figure(records: list[TrialRecord]) -> go.Figure:
    title = FIGURES["timeline"][0]
    timed = [r for r in records if r.started is not None]
    if not timed:
        return _placeholder(title, "The trials carry no start times.")
    t0 = min(r.started for r in timed)  # type: ignore[type-var]
    now = max([r.finished for r in timed if r.finished is not None] or [t0])
    workers = sorted({r.worker or "unknown" for r in timed})
    fig = go.Figure()
    for s in [s for s in STATES if any(r.state == s for r in timed)]:
        rs = [r for r in timed if r.state == s]
        fig.add_trace(go.Bar(
            y=[r.worker or "unknown" for r in rs], base=[r.started - t0 for r in rs],
            x=[max(1e-3, (r.finished if r.finished is not None else now) - r.started) for r in rs],
            orientation="h", name=s.lower(), legendgroup=s, marker={"color": STATE_COLORS.get(s, "#7f7f7f")},
            customdata=[r.number for r in rs],
            hovertemplate="trial #%{customdata}<br>start %{base:.1f}s, %{x:.1f}s<extra>" + s.lower() + "</extra>"))
    fig.update_layout(title=f"{title} ({len(workers)} worker{'s' if len(workers) != 1 else ''})", template=TEMPLATE,
                      height=max(300, 120 + 40 * len(workers)), barmode="overlay", bargap=0.3,
                      xaxis_title="seconds since the first trial started", yaxis={"type": "category"})
    return fig


def val_test_figure(report: dict[str, Any] | None, metric: str) -> go.Figure:
    title = FIGURES["val_test"][0]
    if not report:
        return _placeholder(title, "Not finalized yet: run `automl finalize RUN` to retrain the best configs and "
                                   "score them once on the sealed test split.")
    top = report.get("top_k") or []
    if not top:
        return _placeholder(title, "report.json lists no finalized config.")
    key = metric.removeprefix("val_")
    labels = [f"#{c.get('trial')} (rank {c.get('rank', i + 1)})" for i, c in enumerate(top)]
    fig = go.Figure()
    for split, mean_k, std_k, color, getter, off in (
            ("validation", "val_mean", "val_std", "#1f77b4", lambda run: run.get("val_metrics", {}).get(metric), -0.15),
            ("test", "test_mean", "test_std", "#d62728", lambda run: run.get("test_metrics", {}).get(key), 0.15)):
        means = [c.get(mean_k) if _finite(c.get(mean_k)) else None for c in top]
        stds = [c.get(std_k) if _finite(c.get(std_k)) else 0.0 for c in top]
        xs = [i + off for i in range(len(top))]
        fig.add_trace(go.Scatter(x=xs, y=means, mode="markers", name=f"{split} mean ± std", legendgroup=split,
                                 marker={"color": color, "size": 12, "symbol": "diamond"},
                                 error_y={"type": "data", "array": stds, "visible": True, "thickness": 2, "width": 8},
                                 customdata=[[lab, c.get("n_seeds", 1)] for lab, c in zip(labels, top, strict=True)],
                                 hovertemplate="%{customdata[0]}<br>" + split + " %{y:.4g} ± %{error_y.array:.3g}"
                                 " over %{customdata[1]} seed(s)<extra></extra>"))
        sx, sy, st = [], [], []
        for i, c in enumerate(top):
            for run in c.get("runs", []):
                v = getter(run) if run.get("status", "complete") == "complete" else None
                if _finite(v):
                    sx.append(i + off + 0.06)
                    sy.append(v)
                    st.append(run.get("seed"))
        if sx:
            fig.add_trace(go.Scatter(x=sx, y=sy, mode="markers", name=f"{split} per seed", legendgroup=split,
                                     marker={"color": color, "size": 6, "opacity": 0.6},
                                     customdata=st, hovertemplate="seed %{customdata}: %{y:.4g}<extra></extra>"))
    search = [c.get("search_value") if _finite(c.get("search_value")) else None for c in top]
    fig.add_trace(go.Scatter(x=list(range(len(top))), y=search, mode="markers", name="search value (validation)",
                             marker={"color": "#2ca02c", "size": 10, "symbol": "x"}))
    shown: list[float] = []
    for tr in fig.data:
        errs = list(tr.error_y.array) if tr.error_y and tr.error_y.array is not None else [0.0] * len(tr.y)
        for v, e in zip(tr.y, errs, strict=False):
            if _finite(v):
                shown += [v - (e or 0.0), v + (e or 0.0)]
    fig.update_layout(title=f"{title}: {metric} vs test {key}", template=TEMPLATE, height=420,
                      xaxis={"tickvals": list(range(len(top))), "ticktext": labels, "title": {"text": "finalized config"},
                             "range": [-0.6, len(top) - 0.4]},
                      yaxis={"title": {"text": key}, **({"range": padded_range(shown)} if shown else {})})
    return fig


def padded_range(values: list[float], rel: float = 0.1, floor: float = 1e-3) -> list[float]:
    """An axis range around `values` at least `rel` × their magnitude wide (and at least `floor`), so that a
    0.0015 difference between two numbers near 0.95 is drawn as the small thing it is, not across the axis."""
    lo, hi = min(values), max(values)
    need = max(rel * max(abs(lo), abs(hi)), floor, (hi - lo) * 1.1)
    mid = (lo + hi) / 2
    top = mid + need / 2
    if lo >= 0.0 and hi <= 1.0 and top > 1.0 + 0.05 * need:  # a score in [0, 1] (accuracy, R², AUROC)
        top = 1.0 + 0.05 * need  # does not need an axis that runs up to 1.04
    return [top - need, top]


def pareto_figure(records: list[TrialRecord], report_json: dict[str, Any] | None, direction: str, metric: str,
                  cost_metric: str) -> go.Figure:
    """The front and its evolution (two panels); see EXTRA_FIGURES["pareto"]."""
    from automl.finalize.pareto import Point, hypervolume, pareto_front, points_of

    title = EXTRA_FIGURES["pareto"][0]
    maximize = direction == "maximize"
    pts = points_of(records)
    if not pts:
        return _placeholder(title, "No COMPLETE trial with a finite cost yet: no front to draw.")
    log = all(p.cost > 0 for p in pts)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("front of all trials", "front after each quarter of the trials"))
    fig.add_trace(go.Scatter(x=[p.cost for p in pts], y=[p.value for p in pts], mode="markers", name="COMPLETE",
                             marker={"color": STATE_COLORS["COMPLETE"], "size": 7, "opacity": 0.55},
                             text=[f"#{p.trial}" for p in pts],
                             hovertemplate=f"%{{text}}<br>{_e(cost_metric)} %{{x:.4g}}<br>{_e(metric)} %{{y:.4g}}"
                                           "<extra></extra>"), row=1, col=1)
    pruned = [r for r in records if r.state == "PRUNED" and _finite(r.value) and _finite(r.cost)]
    if pruned:
        fig.add_trace(go.Scatter(x=[r.cost for r in pruned], y=[r.value for r in pruned], mode="markers",
                                 name="PRUNED (best so far)", text=[f"#{r.number}: {r.reason[:160]}" for r in pruned],
                                 marker={"color": STATE_COLORS["PRUNED"], "symbol": "x", "size": 7, "opacity": 0.7},
                                 hovertemplate="%{text}<extra></extra>"), row=1, col=1)
    front = pareto_front(pts, maximize)
    xmax = max(p.cost for p in pts)

    def step(fr: list[Point]) -> tuple[list[float], list[float]]:
        fr = sorted(fr, key=lambda p: p.cost)
        return [*(p.cost for p in fr), xmax], [*(p.value for p in fr), fr[-1].value]

    xs, ys = step(front)
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", line={"shape": "hv", "color": "#2ca02c", "width": 2},
                             marker={"size": [10] * len(front) + [0], "color": "#2ca02c"},
                             name=f"front ({len(front)} trials)",
                             text=[f"#{p.trial}" for p in sorted(front, key=lambda p: p.cost)] + ["end"],
                             hovertemplate=f"front %{{text}}<br>{_e(cost_metric)} %{{x:.4g}}<br>{_e(metric)} "
                                           "%{y:.4g}<extra></extra>"), row=1, col=1)
    picked = ((report_json or {}).get("pareto") or {}).get("picked")
    if picked:
        fig.add_trace(go.Scatter(x=[picked["cost"]], y=[picked["value"]], mode="markers",
                                 name=f"tested (--pick {report_json['pareto'].get('pick')}): #{picked['trial']}",
                                 marker={"symbol": "star", "size": 18, "color": "#d62728",
                                         "line": {"color": "black", "width": 1}}), row=1, col=1)
    order = sorted((r for r in records if r.state in FINISHED), key=lambda r: (r.finished or 0.0, r.number))
    ref = (min(p.value for p in pts) if maximize else max(p.value for p in pts), xmax)
    n = len(order)
    cuts = sorted({max(1, math.ceil(n * q / 4)) for q in (1, 2, 3, 4)})
    shades = ["#c7e9c0", "#74c476", "#31a354", "#006d2c"][-len(cuts):]
    for cut, color in zip(cuts, shades, strict=True):
        fr = pareto_front(points_of(order[:cut]), maximize)
        if not fr:
            continue
        hv = hypervolume(fr, maximize, ref, log=log)
        fx, fy = step(fr)
        fig.add_trace(go.Scatter(x=fx, y=fy, mode="lines+markers", line={"shape": "hv", "color": color, "width": 2},
                                 marker={"size": [7] * len(fr) + [0], "color": color},
                                 name=f"after {cut} of {n} trials: {len(fr)} on the front, hypervolume {hv:.3g}"),
                      row=1, col=2)
    for col in (1, 2):
        fig.update_xaxes(title_text=cost_metric + (" (log)" if log else ""), type="log" if log else "linear",
                         row=1, col=col)
        fig.update_yaxes(title_text=f"validation {metric}", row=1, col=col)
    fig.update_layout(title=title, template=TEMPLATE, height=520,
                      legend={"orientation": "h", "y": -0.22, "x": 0})
    return fig


def figures_for(records: list[TrialRecord], report_json: dict[str, Any] | None, direction: str,
                metric: str, space: Any = None, cost_metric: str | None = None) -> dict[str, go.Figure]:
    """Every figure of the report, by name (in page order); each degrades to an annotated placeholder.

    `space` (the run's `automl.space.Space`) gives each parameter its type and scale; without it they are
    inferred from the values. `cost_metric`: a run with a cost objective gets the Pareto figure first."""
    infos = param_infos(records, space)
    done = _complete(records)
    imp = importances(records, infos)
    order = _ranked_params(infos, imp, done)
    figs = {
        "history": history_figure(records, direction, metric, ((report_json or {}).get("budget") or {}).get("stopped")),
        "ecdf": ecdf_figure(records, direction, metric),
        "learning_curves": learning_curves_figure(records, direction, metric),
        "pruning": pruning_figure(records, direction, metric),
        "importance": importance_figure(imp, len(done)),
        "parallel": parallel_figure(records, infos, order, direction, metric),
        "slice": slice_figure(records, infos, order, direction, metric),
        "contour": contour_figure(records, infos, order, direction, metric),
        "states": states_figure(records),
        "timeline": timeline_figure(records),
        "val_test": val_test_figure(report_json, metric),
    }
    extra = {"pareto": pareto_figure(records, report_json, direction, metric, cost_metric)} if cost_metric else {}
    return {**extra, **{k: figs[k] for k in FIGURES}}
