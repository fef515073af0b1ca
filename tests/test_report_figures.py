"""Unit tests of the report's figure dicts (issue 15, "HTML report"): each fix is checked on what plotly would
draw, so that a regression shows up without a browser. The headless-Chromium check of the new figures is in
tests/test_report.py (test_new_figures_render_in_headless_chromium).

1. parallel coordinates take each parameter's scale and type from the space, and an outlier does not squash
   the colour scale;
2. the contour is drawn over two numeric parameters only;
3. importances that read 0.00 are hidden, and the title says how many;
4. val-vs-test with one config and a tiny difference gets a sensible axis;
5. the original-units row of the metrics table has a validation figure (no `nan`, no blank);
6. the new figures: empirical CDF of the objective, pruning markers on the learning curves, and the
   "did pruning hold" check.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import yaml

from automl.report import FIGURES, figures_for
from automl.report.figures import (
    clipped_range,
    contour_figure,
    importance_figure,
    param_infos,
    pruning_checks,
    val_test_figure,
)
from automl.report.html import final_tables
from automl.report.markdown import with_original_units
from automl.space import parse_space
from automl.store.records import TrialRecord

METRIC = "val_rmse"
SPACE = """\
name: fig_space
dataset: {name: diabetes}
task: regression
objective: {metric: val_rmse, direction: minimize}
model:
  family: mlp
  n_dense_blocks: {low: 1, high: 2}
  dense_blocks:
    units: {low: 8, high: 128, log: true}
    dropout: {low: 0.0, high: 0.3}
training:
  optimizer: {choices: [adam, sgd]}
  lr: {low: 1.0e-4, high: 1.0e-1, log: true}
  label_smoothing: {low: 0.0, high: 0.2}
  batch_size: {choices: [16, 32, 64]}
  max_epochs: 10
"""


def _space() -> Any:
    return parse_space(yaml.safe_load(SPACE), source="test").space


def _records(n: int = 40, seed: int = 0, outlier: bool = False) -> list[TrialRecord]:
    """COMPLETE trials of SPACE whose objective is driven by the optimizer (categorical) most, then lr."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        params: dict[str, Any] = {
            "model.n_dense_blocks": 1,
            "model.dense_blocks.0.units": round(math.exp(rng.uniform(math.log(8), math.log(128)))),
            # linear from 0, but spread so that max/min >= 20: the old code drew it on a log axis
            "model.dense_blocks.0.dropout": float([0.004, 0.29][i] if i < 2 else rng.uniform(0.01, 0.29)),
            "training.optimizer": ["adam", "sgd"][i % 2],
            "training.lr": float(10 ** rng.uniform(-4, -1)),
            "training.label_smoothing": float([0.002, 0.19][i] if i < 2 else rng.uniform(0.005, 0.19)),
            "training.batch_size": [16, 32, 64][i % 3],
        }
        value = (0.6 + (0.3 if params["training.optimizer"] == "sgd" else 0.0)
                 + 0.05 * abs(math.log10(params["training.lr"]) + 2.5) + float(rng.normal(0, 0.005)))
        if outlier and i == 3:
            value = 250.0  # a diverged trial
        out.append(TrialRecord(number=i, state="COMPLETE", value=value, params=params,
                               history=[{"epoch": 1, METRIC: value + 0.3}, {"epoch": 2, METRIC: value}],
                               best_epoch=2, epochs_run=2))
    return out


def _dim(fig: Any, label: str) -> Any:
    return next(d for d in fig.data[0].dimensions if d.label == label)


# --- 1. parallel coordinates ---------------------------------------------------------------------------------

def test_parallel_coordinates_take_scale_and_type_from_the_space() -> None:
    records = _records()
    fig = figures_for(records, None, "minimize", METRIC, space=_space())["parallel"]
    for name in ("model.dense_blocks.0.dropout", "training.label_smoothing"):
        d = _dim(fig, "…" + name[-27:] if len(name) > 28 else name)
        raw = [r.params[name] for r in records]
        assert list(d.values) == pytest.approx(raw), f"{name} is linear in the space but was drawn transformed"
        assert d.range[0] == pytest.approx(0.0) and d.range[1] >= max(raw), "the axis spans the space from 0"
        assert "0" in d.ticktext[0]
    lr = _dim(fig, "training.lr")
    assert list(lr.values) == pytest.approx([math.log10(r.params["training.lr"]) for r in records])
    assert list(lr.range) == pytest.approx([-4.0, -1.0])  # log axis over the space's bounds
    assert {"0.0001", "0.001", "0.01", "0.1"} <= set(lr.ticktext)
    bs = _dim(fig, "training.batch_size")  # a categorical of numbers stays categorical, in the space's order
    assert list(bs.ticktext) == ["16", "32", "64"] and list(bs.tickvals) == [0.0, 1.0, 2.0]
    assert sorted(set(bs.values)) == [0.0, 1.0, 2.0]
    # without a space, values are all there is (the old inference): dropout would be on a log axis
    assert param_infos(records)["model.dense_blocks.0.dropout"].log
    assert not param_infos(records, _space())["model.dense_blocks.0.dropout"].log


def test_parallel_colour_is_clipped_so_an_outlier_does_not_squash_it() -> None:
    records = _records(outlier=True)
    pc = figures_for(records, None, "minimize", METRIC, space=_space())["parallel"].data[0]
    normal = [r.value for r in records if r.value < 100]
    assert pc.line.cmax is not None and pc.line.cmax <= max(normal) + 1e-9, "the diverged trial sets the scale"
    assert pc.line.cmin == pytest.approx(min(normal))
    assert "1 outlier" in pc.line.colorbar.title.text
    assert len(pc.line.color) == len(records)  # the outlier is still drawn (in the end colour)
    # without an outlier the scale is the data's own range
    lo, hi, n = clipped_range([r.value for r in _records()])
    assert n == 0 and (lo, hi) == (min(r.value for r in _records()), max(r.value for r in _records()))


# --- 2. contour ----------------------------------------------------------------------------------------------

def test_contour_is_over_the_top_two_numeric_parameters() -> None:
    records = _records()
    infos = param_infos(records, _space())
    order = ["training.optimizer", "training.lr", "training.batch_size", "model.dense_blocks.0.units"]
    fig = contour_figure(records, infos, order, "minimize", METRIC)
    assert fig.data[0].type == "contour", "a categorical parameter was contoured (or heat-mapped)"
    assert fig.layout.xaxis.title.text == "training.lr"
    assert fig.layout.yaxis.title.text == "model.dense_blocks.0.units"
    title = fig.layout.title.text
    assert "training.optimizer" in title and "training.batch_size" in title and "categorical" in title
    # only one numeric parameter varies: no contour, and the placeholder says why
    one = contour_figure(records, infos, ["training.optimizer", "training.lr", "training.batch_size"], "minimize",
                         METRIC)
    assert not any(tr.type in ("contour", "heatmap") for tr in one.data)
    assert "two numeric parameters" in " ".join(a.text for a in one.layout.annotations)


def test_contour_skips_conditional_parameters() -> None:
    records = _records()
    for r in records[::2]:
        del r.params["training.lr"]  # e.g. `when: {optimizer: sgd}`: absent from half the trials
    infos = param_infos(records, _space())
    fig = contour_figure(records, infos, ["training.lr", "model.dense_blocks.0.units", "training.label_smoothing"],
                         "minimize", METRIC)
    assert fig.layout.xaxis.title.text == "model.dense_blocks.0.units"
    assert "conditional" in fig.layout.title.text


# --- 3. importances ------------------------------------------------------------------------------------------

def test_zero_importances_are_hidden_and_counted() -> None:
    imp = {f"p{i}": 0.0 for i in range(37)}
    imp.update({"p0": 0.6, "p1": 0.3, "p2": 0.096, "p3": 0.004})  # p3 reads 0.00 at two decimals
    fig = importance_figure(imp, 50)
    bars = fig.data[0]
    assert list(bars.y) == ["p2", "p1", "p0"]
    assert all(t != "0.00" for t in bars.text)
    assert "34 of 37 parameters hidden" in fig.layout.title.text


# --- 4. val vs test --------------------------------------------------------------------------------------------

def _one_config_report(val: float, test: float) -> dict[str, Any]:
    run = {"seed": 1, "status": "complete", "val_metrics": {"val_accuracy": val}, "test_metrics": {"accuracy": test}}
    return {"top_k": [{"rank": 1, "trial": 7, "search_value": val, "runs": [run], "n_seeds": 1, "val_mean": val,
                       "val_std": None, "test_mean": test, "test_std": None}]}


def test_val_test_axis_is_not_filled_by_a_tiny_difference() -> None:
    fig = val_test_figure(_one_config_report(0.9512, 0.9497), "val_accuracy")
    lo, hi = fig.layout.yaxis.range
    assert lo <= 0.9497 and hi >= 0.9512
    assert hi - lo >= 0.09, f"a 0.0015 difference fills the axis ({lo:.4f}..{hi:.4f})"
    # a perfect score: the axis does not run far past 1
    lo, hi = val_test_figure(_one_config_report(1.0, 1.0), "val_accuracy").layout.yaxis.range
    assert 1.0 < hi <= 1.006 and hi - lo == pytest.approx(0.1)
    # a real gap still fits, with room
    lo, hi = val_test_figure(_one_config_report(0.95, 0.70), "val_accuracy").layout.yaxis.range
    assert lo < 0.70 and hi > 0.95


# --- 5. original units -----------------------------------------------------------------------------------------

def _regression_report(std: list[float] | None) -> dict[str, Any]:
    info = {"target_standardization": {"mean": [152.0], "std": std}} if std else {}
    return {"objective": {"metric": "val_rmse", "direction": "minimize"},
            "data": {"name": "diabetes", "task": "regression", "info": info},
            "best": {"trial": 0, "search_value": 0.66, "val_value": 0.66, "params": {},
                     "val_metrics": {"val_loss": 0.5, "val_rmse": 0.66, "val_mae": 0.51, "val_r2": 0.5},
                     "test_metrics": {"loss": 0.6, "rmse": 0.76, "mae": 0.6, "r2": 0.14,
                                      "rmse_original_units": 0.76 * 78.5, "mae_original_units": 0.6 * 78.5}}}


def _metrics_rows(html: str) -> dict[str, list[str]]:
    import re

    table = html[html.index('id="metrics"'):]
    table = table[:table.index("</table>")]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table)[1:]:
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr)
        rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.parametrize("std", [[78.5], None], ids=["std-recorded", "std-from-test-ratio"])
def test_original_units_row_has_a_validation_figure(std: list[float] | None) -> None:
    rows = _metrics_rows(final_tables(_regression_report(std)))
    assert rows["rmse_original_units"] == [f"{0.66 * 78.5:.4f}", f"{0.76 * 78.5:.4f}"]
    assert rows["mae_original_units"][0] == f"{0.51 * 78.5:.4f}"
    assert not any(c in ("nan", "-", "") for r in rows.values() for c in r)


def test_report_md_original_units_row_has_a_validation_figure() -> None:
    from automl.report.markdown import render_markdown

    rep = _regression_report([78.5])
    b = rep["best"]
    b.update({"config": {"model": {"family": "mlp"}}, "val_test_gap": 0.1})
    rep.update({"study": "diabetes", "space": "diabetes_mlp", "backend": "optuna", "test_reads": 1, "top_k": [],
                "finalize": {"fit_on": "train"}, "seeds": {"search": 0}, "environment": {"packages": {}},
                "weights": {"path": "model.pt", "format": "torch"},
                "budget": {"trials": 2, "by_state": {"COMPLETE": 2}, "epochs": 4, "train_seconds": 1.0,
                           "wall_seconds": 2.0, "settings": {}}})
    rep["data"].update({"n_train": 354, "n_val": 44, "n_test": 44})
    md = render_markdown(rep, "model summary")
    row = next(line for line in md.splitlines() if line.startswith("| searched"))
    assert f"{0.66 * 78.5:.4f}" in row and f"{0.51 * 78.5:.4f}" in row
    assert "n/a" not in row and "nan" not in row


def test_unconvertible_or_non_finite_validation_shows_a_dash_and_why() -> None:
    rep = _regression_report(None)
    rep["best"]["test_metrics"]["rmse"] = 0.0  # no ratio to recover the scale from
    rep["best"]["val_metrics"]["val_r2"] = float("nan")
    html = final_tables(rep)
    rows = _metrics_rows(html)
    assert rows["rmse_original_units"][0] == "—" and rows["r2"][0] == "—"
    assert ">nan<" not in html and 'id="metrics-missing"' in html and "rmse_original_units" in html
    # the helper never overwrites a figure finalize did record
    vm = with_original_units({"val_rmse": 1.0, "val_rmse_original_units": 5.0}, {"rmse": 1.0,
                                                                                "rmse_original_units": 9.0}, {})
    assert vm["val_rmse_original_units"] == 5.0


# --- 6. new figures --------------------------------------------------------------------------------------------

def _curve(values: list[float]) -> list[dict[str, float]]:
    return [{"epoch": e + 1, METRIC: v} for e, v in enumerate(values)]


def _pruned_run() -> list[TrialRecord]:
    """Four COMPLETE trials whose rank never changes, two pruned trials: #4 behind everyone at epoch 2,
    #5 ahead of everyone (the eventual best, #0, included) at epoch 1. Lower is better."""
    curves = {0: [0.9, 0.7, 0.5, 0.4], 1: [1.0, 0.8, 0.6, 0.5], 2: [1.1, 0.9, 0.7, 0.6], 3: [1.2, 1.0, 0.8, 0.7]}
    out = [TrialRecord(number=n, state="COMPLETE", value=min(c), params={"x": float(n)}, history=_curve(c),
                       best_epoch=4, epochs_run=4) for n, c in curves.items()]
    out.append(TrialRecord(number=4, state="PRUNED", value=1.05, params={"x": 4.0}, history=_curve([1.3, 1.05]),
                           epochs_run=2))
    out.append(TrialRecord(number=5, state="PRUNED", value=0.85, params={"x": 5.0}, history=_curve([0.85]),
                           epochs_run=1))
    out.append(TrialRecord(number=6, state="FAIL", value=None, params={"x": 6.0}))
    return out


def test_figures_include_ecdf_and_pruning_check() -> None:
    assert list(FIGURES)[:4] == ["history", "ecdf", "learning_curves", "pruning"]
    figs = figures_for(_pruned_run(), None, "minimize", METRIC)
    assert list(figs) == list(FIGURES)
    ecdf = {tr.legendgroup: tr for tr in figs["ecdf"].data}
    assert set(ecdf) == {"COMPLETE", "PRUNED"}
    assert list(ecdf["COMPLETE"].x) == [0.4, 0.4, 0.5, 0.6, 0.7] and list(ecdf["COMPLETE"].y) == [0, .25, .5, .75, 1]
    assert list(ecdf["PRUNED"].x) == [0.85, 0.85, 1.05] and ecdf["PRUNED"].y[-1] == 1.0
    marks = next(tr for tr in figs["learning_curves"].data if tr.name.startswith("pruned here"))
    assert sorted(zip(marks.x, marks.customdata, strict=True)) == [(1, 5), (2, 4)]
    pruning = figs["pruning"]
    assert "1 of 2 pruned trials were behind the median" in pruning.layout.title.text
    assert "1 were ahead of the eventual best" in pruning.layout.title.text


def test_pruning_check_numbers() -> None:
    checks, rho = pruning_checks(_pruned_run(), "minimize", METRIC)
    by = {c.number: c for c in checks}
    assert (by[4].epoch, by[4].n_compared, by[4].percentile, by[4].ahead_of_best) == (2, 4, 0.0, False)
    assert (by[5].epoch, by[5].percentile, by[5].ahead_of_best) == (1, 100.0, True)
    assert rho == {1: (pytest.approx(1.0), 4), 2: (pytest.approx(1.0), 4)}  # the ranking held to the end
    # maximizing flips who is ahead
    flipped = {c.number: c.percentile for c in pruning_checks(_pruned_run(), "maximize", METRIC)[0]}
    assert flipped == {4: 100.0, 5: 0.0}


def test_pruning_figure_without_pruned_trials_says_so() -> None:
    figs = figures_for([r for r in _pruned_run() if r.state != "PRUNED"], None, "minimize", METRIC)
    assert "No trial was pruned" in " ".join(a.text for a in figs["pruning"].layout.annotations)
    assert not any(tr.name and tr.name.startswith("pruned here") for tr in figs["learning_curves"].data)
