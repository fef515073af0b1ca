"""Tests of `automl report`: the self-contained HTML report built from TrialRecords + report.json.

1. a 500-trial run (a real Optuna SQLite study in our run layout, mixed COMPLETE/PRUNED/FAIL, the user attrs
   our backend writes) is reported in < 10 s, plotly.js embedded once, no CDN;
2. the report opens in headless Chromium with no JavaScript error, every figure rendered, and a screenshot;
3. the figures are computed from records only (a Ray-backend run works the same), degrade with few trials,
   importances find the parameter that matters, learning curves are downsampled;
4. end to end: `automl search` on a tiny space (CliRunner), then `automl report RUN --png`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import re
import shutil
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from automl.report import FIGURES, build_report, figures_for, importances
from automl.report.html import ERROR_HOOK, final_tables
from automl.store.records import TrialRecord
from automl.store.run import RunInfo, create_run, environment

TINY_SPACE = """\
name: tiny_wine
dataset: {name: wine}
task: multiclass
objective: {metric: val_accuracy, direction: maximize}
model:
  family: mlp
  n_dense_blocks: {low: 1, high: 2}
  dense_blocks:
    units: {low: 4, high: 64, log: true}
    activation: {choices: [relu, tanh]}
training:
  optimizer: {choices: [adam, sgd]}
  lr: {low: 1.0e-4, high: 1.0e-1, log: true}
  batch_size: 32
  max_epochs: 3
search: {sampler: random, pruner: none, trials: 4, seed: 0}
"""
METRIC = "val_accuracy"
N_BIG = 500
MAX_EPOCHS = 30


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


CHROMIUM = _chromium()


# --- a synthetic-but-real run: an Optuna SQLite study written in our run layout -------------------------

def _space_file(tmp: Path) -> Path:
    p = tmp / "tiny_wine.yaml"
    p.write_text(TINY_SPACE)
    return p


def _synthetic_trials(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Trials as our Optuna backend stores them: params + the user attrs of `Objective.__call__`."""
    rng = np.random.default_rng(seed)
    workers = [f"node1:{1000 + i}" for i in range(4)]
    free_at = dict.fromkeys(workers, 0.0)
    out = []
    for number in range(n):
        params: dict[str, Any] = {"model.n_dense_blocks": int(rng.integers(1, 3))}
        for b in range(params["model.n_dense_blocks"]):
            params[f"model.dense_blocks.{b}.units"] = round(math.exp(rng.uniform(math.log(4), math.log(64))))
            params[f"model.dense_blocks.{b}.activation"] = str(rng.choice(["relu", "tanh"]))
        params["training.optimizer"] = str(rng.choice(["adam", "sgd"]))
        params["training.lr"] = float(10 ** rng.uniform(-4, -1))
        # lr dominates: best near 1e-2; adam a little better than sgd
        quality = 1.0 - 0.35 * abs(math.log10(params["training.lr"]) + 2.0) - (0.05 if params["training.optimizer"] == "sgd" else 0)
        final = float(np.clip(quality + rng.normal(0, 0.02), 0.05, 1.0))
        u = rng.random()
        state = "COMPLETE" if u < 0.7 else ("PRUNED" if u < 0.92 else "FAIL")
        epochs = {"COMPLETE": int(rng.integers(10, MAX_EPOCHS + 1)), "PRUNED": int(rng.integers(1, 10)),
                  "FAIL": int(rng.integers(1, 6))}[state]
        tau = rng.uniform(2, 8)
        history = []
        for e in range(1, epochs + 1):
            v = float(np.clip(final * (1 - math.exp(-e / tau)) + rng.normal(0, 0.01), 0, 1))
            history.append({"epoch": e, "lr": params["training.lr"], "train_loss": 1.0 / e, "val_loss": 1.1 / e,
                            METRIC: v, "val_balanced_accuracy": v})
        if state == "FAIL":
            history[-1][METRIC] = float("nan")
        vals = [h[METRIC] for h in history if math.isfinite(h[METRIC])]
        best_epoch = 1 + int(np.argmax(vals)) if vals else 0
        value = max(vals) if vals and state != "FAIL" else None
        seconds = 0.2 * epochs + float(rng.uniform(0, 0.3))
        worker = min(workers, key=lambda w: free_at[w])
        start = free_at[worker]
        free_at[worker] = start + seconds + 0.05
        attrs = {
            "seed": number, "worker": worker, "device": "cpu",
            "status": {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}[state],
            "value": value, "best_epoch": best_epoch, "epochs_run": epochs, "history": history,
            "best_metrics": history[best_epoch - 1] if best_epoch else {},
            "reason": {"COMPLETE": "", "PRUNED": "pruned by the scheduler on its validation curve",
                       "FAIL": "non-finite loss (NaN/inf)"}[state],
            "detail": "", "seconds": round(seconds, 4), "n_params": 1000 + number, "stop_reason": "",
            "samples_per_second": 5000.0,
        }
        out.append({"number": number, "state": state, "value": value, "params": params, "attrs": attrs,
                    "start": start, "end": start + seconds})
    return out


def _make_optuna_run(root: Path, space: Path, study: str, n: int, via_api: int = 25) -> RunInfo:
    """A run dir (create_run) whose Optuna SQLite study holds `n` finished trials with our backend's attrs.

    The first `via_api` trials go through Optuna's public `study.add_trials`; the rest are bulk-inserted with
    sqlite3 in exactly the rows Optuna writes (its own serializers), because Optuna's per-attribute ORM
    round-trips cost ~50 ms a trial. Every trial is read back through Optuna and compared to what was meant.
    """
    import sqlite3

    import optuna
    from optuna.distributions import distribution_to_json

    info = create_run(study, space, backend="optuna", storage=None, seed=0, root=root,
                      settings={"sampler": "random", "pruner": "median", "workers": 4, "trials": n,
                                "direction": "maximize", "metric": METRIC})
    dists = {
        "model.n_dense_blocks": optuna.distributions.IntDistribution(1, 2),
        "training.optimizer": optuna.distributions.CategoricalDistribution(["adam", "sgd"]),
        "training.lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
    }
    for b in range(2):
        dists[f"model.dense_blocks.{b}.units"] = optuna.distributions.IntDistribution(4, 64, log=True)
        dists[f"model.dense_blocks.{b}.activation"] = optuna.distributions.CategoricalDistribution(["relu", "tanh"])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    st = optuna.create_study(storage=info.storage, study_name=study, direction="maximize")
    t0 = dt.datetime(2025, 1, 1, 12, 0, 0)
    frozen = []
    for t in _synthetic_trials(n):
        ft = optuna.trial.create_trial(
            state=getattr(optuna.trial.TrialState, t["state"]),
            value=t["value"] if t["state"] == "COMPLETE" else None, params=t["params"],
            distributions={k: dists[k] for k in t["params"]}, user_attrs=t["attrs"])
        ft.datetime_start = t0 + dt.timedelta(seconds=t["start"])
        ft.datetime_complete = t0 + dt.timedelta(seconds=t["end"])
        frozen.append(ft)
    st.add_trials(frozen[:via_api])
    rest = frozen[via_api:]
    if rest:
        fmt = "%Y-%m-%d %H:%M:%S.%f"
        with contextlib.closing(sqlite3.connect(info.run_dir / "study.db")) as db, db:
            (study_id,) = db.execute("SELECT study_id FROM studies WHERE study_name = ?", (study,)).fetchone()
            (next_id,) = db.execute("SELECT COALESCE(MAX(trial_id), 0) + 1 FROM trials").fetchone()
            trials, params, values, attrs = [], [], [], []
            for i, ft in enumerate(rest):
                tid = next_id + i
                trials.append((tid, via_api + i, study_id, ft.state.name, ft.datetime_start.strftime(fmt),
                               ft.datetime_complete.strftime(fmt)))
                params += [(tid, k, ft.distributions[k].to_internal_repr(v), distribution_to_json(ft.distributions[k]))
                           for k, v in ft.params.items()]
                if ft.value is not None:
                    values.append((tid, 0, ft.value, "FINITE"))
                attrs += [(tid, k, json.dumps(v)) for k, v in ft.user_attrs.items()]
            db.executemany("INSERT INTO trials (trial_id, number, study_id, state, datetime_start, datetime_complete) "
                           "VALUES (?, ?, ?, ?, ?, ?)", trials)
            db.executemany("INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
                           "VALUES (?, ?, ?, ?)", params)
            db.executemany("INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?)",
                           values)
            db.executemany("INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES (?, ?, ?)", attrs)
    back = optuna.load_study(study_name=study, storage=info.storage).get_trials(deepcopy=False)
    assert len(back) == n
    for number, (want, got) in enumerate(zip(frozen, back, strict=True)):
        assert (got.number, got.state, got.value, got.params) == (number, want.state, want.value, want.params)
        assert got.datetime_start == want.datetime_start and got.datetime_complete == want.datetime_complete
        assert json.dumps(got.user_attrs, sort_keys=True) == json.dumps(want.user_attrs, sort_keys=True)
    return info


def _fake_report_json(info: RunInfo, records: list[TrialRecord], top_k: int = 3, seeds: int = 3) -> dict[str, Any]:
    """report.json in finalize's layout (top-k over seeds), without training anything."""
    from automl.store.records import counts, ranked

    rng = np.random.default_rng(1)
    top = []
    for rank, r in enumerate(ranked(records, "maximize")[:top_k]):
        runs = []
        for s in range(seeds):
            v = float(r.value - abs(rng.normal(0, 0.02)))
            t = float(v - abs(rng.normal(0.02, 0.02)))
            runs.append({"seed": 100 + s, "status": "complete", "best_epoch": r.best_epoch, "epochs_run": r.epochs_run,
                         "val_metrics": {"val_loss": 0.3, METRIC: v}, "test_metrics": {"loss": 0.35, "accuracy": t},
                         "seconds": 1.0})
        vm = [x["val_metrics"][METRIC] for x in runs]
        tm = [x["test_metrics"]["accuracy"] for x in runs]
        top.append({"rank": rank + 1, "trial": r.number, "search_value": r.value, "params": r.params,
                    "config": {"model": {"family": "mlp"}, "training": {"lr": r.params["training.lr"]}},
                    "runs": runs, "n_seeds": seeds, "val_mean": float(np.mean(vm)), "val_std": float(np.std(vm, ddof=1)),
                    "test_mean": float(np.mean(tm)), "test_std": float(np.std(tm, ddof=1))})
    b = top[0]
    return {
        "study": info.study, "backend": info.backend, "storage": info.storage, "space": "tiny_wine",
        "objective": {"metric": METRIC, "direction": "maximize"},
        "data": {"name": "wine", "task": "multiclass", "n_train": 142, "n_val": 18, "n_test": 18},
        "best": {"trial": b["trial"], "search_value": b["search_value"], "params": b["params"], "config": b["config"],
                 "val_value": b["runs"][0]["val_metrics"][METRIC], "val_metrics": b["runs"][0]["val_metrics"],
                 "test_metrics": b["runs"][0]["test_metrics"], "val_test_gap": 0.01, "runs": b["runs"]},
        "top_k": top, "finalize": {"fit_on": "train", "top_k": top_k, "seeds": seeds, "device": "cpu", "seconds": 9.0},
        "budget": {"trials": len(records), "by_state": counts(records), "epochs": sum(r.epochs_run for r in records),
                   "train_seconds": 1.0, "wall_seconds": 2.0, "settings": info.settings},
        "seeds": {"search": 0, "best_trial": 100}, "test_reads": 1, "environment": environment(),
    }


@pytest.fixture(scope="module")
def big_run(tmp_path_factory: pytest.TempPathFactory) -> RunInfo:
    from automl.store.results import load_trials

    tmp = tmp_path_factory.mktemp("big")
    info = _make_optuna_run(tmp / "results", _space_file(tmp), "big500", N_BIG)
    records = load_trials(info)  # also warms the imports, so the timing below is the report itself
    assert len(records) == N_BIG
    assert {r.state for r in records} == {"COMPLETE", "PRUNED", "FAIL"}
    (info.run_dir / "report.json").write_text(json.dumps(_fake_report_json(info, records)))
    return info


@pytest.fixture(scope="module")
def big_report(big_run: RunInfo) -> tuple[Path, float]:
    t0 = time.perf_counter()
    path = build_report(big_run)
    return path, time.perf_counter() - t0


# --- 1. 500 trials, fast, self-contained ----------------------------------------------------------------

def test_500_trial_report_is_fast_and_self_contained(big_report: tuple[Path, float]) -> None:
    path, seconds = big_report
    print(f"\n500-trial report: {seconds:.2f} s, {path.stat().st_size / 1e6:.2f} MB")
    assert seconds < 10.0, f"report of {N_BIG} trials took {seconds:.1f} s"
    assert path == path.parent / "report.html" and path.exists()
    text = path.read_text()
    assert len(text) < 9_000_000
    assert text.count("plotly.js v") >= 1
    assert len(re.findall(r"\* plotly\.js v\d", text)) == 1, "plotly.js must be embedded exactly once"
    assert not re.search(r"<script[^>]+src=", text), "no external script: the page must work offline"
    assert "cdn.plot.ly/plotly" not in text.split("</head>")[1]
    for name in FIGURES:
        assert f'id="fig-{name}"' in text
    for table in ("search-summary", "best-params", "metrics", "top-k", "budget", "hardware"):
        assert f'id="{table}"' in text
    assert "not finalized yet" not in text


# --- 2. headless browser ---------------------------------------------------------------------------------

def _run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
           "--disable-extensions", "--hide-scrollbars", "--mute-audio", f"--user-data-dir={profile}",
           "--virtual-time-budget=10000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


def _dump_dom(page: Path, tmp: Path) -> str:
    res = _run_chromium(["--dump-dom", page.resolve().as_uri()], tmp / "profile-dom")
    assert res.returncode == 0 and "<html" in res.stdout, f"chromium failed ({res.returncode}): {res.stderr[-2000:]}"
    return res.stdout


def _js_errors(dom: str) -> str:
    m = re.search(r"<html[^>]*\bdata-js-errors=\"([^\"]*)\"", dom)
    assert m, "the error hook's attribute is missing from <html>"
    return m.group(1)


def _assert_rendered(dom: str, names: Any = FIGURES) -> None:
    errors = _js_errors(dom)
    assert errors in ("", "[]"), f"JavaScript errors in the report: {errors}"
    starts = {name: dom.find(f'id="fig-{name}"') for name in names}
    missing = [n for n, i in starts.items() if i < 0]
    assert not missing, f"figures missing from the DOM: {missing}"
    bounds = [*sorted(starts.values()), len(dom)]
    for name, i in starts.items():
        chunk = dom[i:bounds[bounds.index(i) + 1]]
        tag = chunk[:chunk.find(">")]
        assert 'data-rendered="1"' in tag, f"figure {name} was never drawn by plotly"
        assert "plot-container" in chunk and 'class="main-svg"' in chunk, f"figure {name} has no rendered SVG"


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(big_report: tuple[Path, float], tmp_path: Path) -> None:
    path, _ = big_report
    dom = _dump_dom(path, tmp_path)
    _assert_rendered(dom)
    assert dom.count('class="plotly-graph-div') >= len(FIGURES)
    shot = tmp_path / "report.png"
    res = _run_chromium([f"--screenshot={shot}", "--window-size=1400,4000", path.resolve().as_uri()],
                        tmp_path / "profile-shot")
    assert shot.exists(), f"no screenshot ({res.returncode}): {res.stderr[-2000:]}"
    assert _png_size(shot) == (1400, 4000)
    assert shot.stat().st_size > 100_000
    from PIL import Image

    with Image.open(shot) as im:
        colors = im.convert("RGB").resize((350, 1000)).getcolors(maxcolors=1_000_000)
    assert colors is not None and len(colors) > 200, "the screenshot looks blank"


def _figure_chunks(dom: str, names: Any) -> dict[str, str]:
    """Each figure's part of the DOM (from its div to the next figure's)."""
    starts = sorted((dom.find(f'id="fig-{n}"'), n) for n in names)
    assert all(i >= 0 for i, _ in starts), f"figures missing from the DOM: {[n for i, n in starts if i < 0]}"
    ends = [i for i, _ in starts[1:]] + [dom.find("</main>") if "</main>" in dom else len(dom)]
    return {n: dom[i:j] for (i, n), j in zip(starts, ends, strict=True)}


NEW_FIGURES = ("ecdf", "pruning", "contour", "parallel", "importance", "val_test")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_new_figures_render_in_headless_chromium(big_run: RunInfo, tmp_path: Path) -> None:
    """Issue 15: the new views (ECDF, did-pruning-hold) and the fixed ones draw real content in a browser:
    the 500-trial run's figures on one page, its DOM after plotly ran, and a screenshot of each figure."""
    import plotly.offline

    from automl.report import _run_space
    from automl.report.html import page
    from automl.store.results import load_trials

    records = load_trials(big_run)
    report = json.loads((big_run.run_dir / "report.json").read_text())
    figs = figures_for(records, report, "maximize", METRIC, space=_run_space(big_run))
    js = plotly.offline.get_plotlyjs()
    dom_page = tmp_path / "new.html"
    dom_page.write_text(page(title="new figures", subtitle=[], figures={n: figs[n] for n in NEW_FIGURES},
                             plotly_js=js, summary_html="", final_html=""))
    dom = _dump_dom(dom_page, tmp_path)
    _assert_rendered(dom, NEW_FIGURES)
    chunks = _figure_chunks(dom, NEW_FIGURES)
    ecdf = chunks["ecdf"]
    assert ecdf.count('class="trace scatter') >= 2 and "share of trials" in ecdf  # complete + pruned curves
    assert re.search(r'class="js-line"[^>]*d="M[^"]{200,}', ecdf), "the ECDF has no drawn step line"
    pruning = chunks["pruning"]
    assert "pruned trials were behind the median COMPLETE trial" in pruning
    assert pruning.count('class="point') >= 20, "the pruned trials' markers were not drawn"
    assert "Spearman" in pruning
    assert 'class="contourlayer' in chunks["contour"] and "training.lr" in chunks["contour"]
    assert "heatmaplayer" not in chunks["contour"] or 'class="trace heatmap' not in chunks["contour"]
    assert "clipped" not in chunks["parallel"] or "outlier" in chunks["parallel"]
    # one screenshot per figure, each with a real plot in it (not a blank or a placeholder's line of text)
    from PIL import Image

    for name in ("ecdf", "pruning"):
        single = tmp_path / f"{name}.html"
        single.write_text(page(title=name, subtitle=[], figures={name: figs[name]}, plotly_js=js, summary_html="",
                               final_html=""))
        shot = tmp_path / f"{name}.png"
        res = _run_chromium([f"--screenshot={shot}", "--window-size=1200,900", single.resolve().as_uri()],
                            tmp_path / f"profile-{name}")
        assert shot.exists(), f"no screenshot of {name} ({res.returncode}): {res.stderr[-2000:]}"
        with Image.open(shot) as im:
            plot = im.convert("RGB").crop((0, 250, 1200, 800))  # below the page header and section title
            colors = plot.getcolors(maxcolors=1_000_000)
            strong = sum(n for n, (r, g, b) in colors or []
                         if max(r, g, b) - min(r, g, b) > 80)  # saturated pixels: the coloured traces
        assert colors is not None and len(colors) > 150, f"the {name} screenshot looks blank"
        assert strong > 400, f"the {name} screenshot shows no coloured traces ({strong} saturated pixels)"
        print(f"\n{name}: {shot} ({len(colors)} colours, {strong} saturated pixels)")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_error_hook_reports_javascript_errors(tmp_path: Path) -> None:
    """The check above can fail: a page with the same hook and a throwing script shows the error in its DOM."""
    page = tmp_path / "bad.html"
    page.write_text(f'<!DOCTYPE html><html data-js-errors=""><head>{ERROR_HOOK}</head><body>'
                    "<script>console.error('bad console');</script>"
                    "<script>throw new Error('boom from the page');</script></body></html>")
    errors = _js_errors(_dump_dom(page, tmp_path))
    assert "boom from the page" in errors and "bad console" in errors


# --- 3. figures from records only ------------------------------------------------------------------------

def _records(n: int, seed: int = 0) -> list[TrialRecord]:
    out = []
    for t in _synthetic_trials(n, seed):
        a = t["attrs"]
        out.append(TrialRecord(number=t["number"], state=t["state"], value=t["value"], params=t["params"],
                               history=a["history"], best_epoch=a["best_epoch"], epochs_run=a["epochs_run"],
                               reason=a["reason"], seconds=a["seconds"], duration=t["end"] - t["start"],
                               started=1e9 + t["start"], finished=1e9 + t["end"], worker=a["worker"]))
    return out


def _annotations(fig: Any) -> str:
    return " ".join(a.text for a in fig.layout.annotations or [])


def test_figures_for_records_only() -> None:
    records = _records(60)
    figs = figures_for(records, None, "maximize", METRIC)
    assert list(figs) == list(FIGURES)
    # learning curves: one trace per state, told apart by colour and legend group
    lc = {tr.legendgroup: tr for tr in figs["learning_curves"].data if tr.legendgroup in ("COMPLETE", "PRUNED", "FAIL")}
    assert set(lc) == {"COMPLETE", "PRUNED", "FAIL"}
    assert len({tr.line.color for tr in lc.values()}) == 3
    # history vs cumulative epochs: best-so-far over trials in finish order
    hist = figs["history"].data
    by_epochs = hist[3]
    finished = sorted(records, key=lambda r: (r.finished, r.number))
    assert list(by_epochs.x) == np.cumsum([r.epochs_run for r in finished]).tolist()
    best = max(r.value for r in records if r.state == "COMPLETE")
    assert by_epochs.y[-1] == pytest.approx(best) and hist[1].y[-1] == pytest.approx(best)
    assert all(b is None or a is None or b >= a for a, b in zip(hist[1].y, hist[1].y[1:], strict=False))
    # parallel coordinates: categorical dims carry tick labels, the objective colours the lines
    pc = figs["parallel"].data[0]
    opt = next(d for d in pc.dimensions if d.label == "training.optimizer")
    assert list(opt.ticktext) == ["adam", "sgd"] and list(opt.tickvals) == [0.0, 1.0]
    assert pc.dimensions[-1].label == METRIC
    assert len(pc.line.color) == sum(r.state == "COMPLETE" for r in records)
    # val/test: not finalized -> an explaining placeholder
    assert "Not finalized yet" in _annotations(figs["val_test"])
    assert "not finalized yet" in final_tables(None)


def test_importances_find_the_parameter_that_matters() -> None:
    imp = importances(_records(200))
    assert imp is not None and abs(sum(imp.values()) - 1) < 1e-6
    assert max(imp, key=imp.get) == "training.lr", imp
    assert imp["training.lr"] > 0.5


def test_few_trials_degrade_gracefully() -> None:
    records = [r for r in _records(40) if r.state == "COMPLETE"][:2] + [r for r in _records(40) if r.state == "FAIL"][:1]
    assert importances(records) is None
    figs = figures_for(records, None, "maximize", METRIC)
    assert "at least 3 COMPLETE" in _annotations(figs["importance"])
    assert "at least 3 COMPLETE" in _annotations(figs["contour"])
    empty = figures_for([], None, "minimize", METRIC)
    assert list(empty) == list(FIGURES)
    assert "No COMPLETE trial" in _annotations(empty["history"])


def test_val_test_figure_has_error_bars(big_run: RunInfo) -> None:
    report = json.loads((big_run.run_dir / "report.json").read_text())
    figs = figures_for(_records(50), report, "maximize", METRIC)
    means = [tr for tr in figs["val_test"].data if tr.name and "mean ± std" in tr.name]
    assert [tr.name for tr in means] == ["validation mean ± std", "test mean ± std"]
    for tr in means:
        assert len(tr.y) == 3 and tr.error_y.visible and all(s > 0 for s in tr.error_y.array)
    seeds = [tr for tr in figs["val_test"].data if tr.name and "per seed" in tr.name]
    assert sum(len(tr.y) for tr in seeds) == 2 * 3 * 3


def test_learning_curves_are_downsampled() -> None:
    records = []
    for i in range(80):
        hist = [{"epoch": e, METRIC: 0.5 + 0.4 * (1 - math.exp(-e / 100)) + 0.001 * i} for e in range(1, 1001)]
        records.append(TrialRecord(number=i, state="COMPLETE", value=max(h[METRIC] for h in hist), params={"x": i},
                                   history=hist, epochs_run=1000))
    from automl.report.figures import MAX_CURVE_POINTS, learning_curves_figure

    fig = learning_curves_figure(records, "maximize", METRIC)
    drawn = sum(sum(1 for y in tr.y if y is not None) for tr in fig.data)
    assert drawn <= MAX_CURVE_POINTS + 2 * 80 + 1000
    assert drawn < 80 * 1000 / 2
    complete = next(tr for tr in fig.data if tr.legendgroup == "COMPLETE")
    assert max(x for x in complete.x if x is not None) == 1000  # every curve keeps its last epoch


def test_report_for_a_ray_backend_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report reads only TrialRecords: a run of another backend gets the same page (not finalized here)."""
    info = create_run("raystudy", _space_file(tmp_path), backend="ray", storage=str(tmp_path / "ray_results"),
                      seed=0, root=tmp_path / "results", settings={"direction": "maximize", "metric": METRIC})
    records = _records(30)
    import automl.store.results

    monkeypatch.setattr(automl.store.results, "load_trials", lambda i: records if i.backend == "ray" else [])
    path = build_report(info.run_dir, tmp_path / "out" / "ray.html")
    text = path.read_text()
    assert path.name == "ray.html" and "Backend ray" in text
    assert 'id="not-finalized"' in text and "not finalized yet" in text
    assert all(f'id="fig-{n}"' in text for n in FIGURES)


# --- 4. CLI ----------------------------------------------------------------------------------------------

def test_cli_report_png_unavailable_is_a_message_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from automl.cli.main import app

    info = _make_optuna_run(tmp_path / "results", _space_file(tmp_path), "small", 12)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "kaleido" else real(name, *a))
    res = CliRunner().invoke(app, ["report", "small", "--results-dir", str(tmp_path / "results"), "--png"])
    assert res.exit_code == 0, res.output
    assert "PNGs skipped" in res.output and "kaleido" in res.output
    assert (info.run_dir / "report.html").exists() and not list(info.run_dir.glob("*.png"))
    bad = CliRunner().invoke(app, ["report", "nope", "--results-dir", str(tmp_path / "results")])
    assert bad.exit_code == 2 and "No run found" in bad.output


def _png_renderer_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("kaleido") is not None and CHROMIUM is not None


@pytest.mark.slow
def test_search_then_report_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from automl.cli.main import app

    monkeypatch.chdir(tmp_path)
    space = _space_file(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["search", str(space), "--trials", "4", "--results-dir", "results", "--top-k", "2",
                              "--seeds", "2"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    res = runner.invoke(app, ["report", "tiny_wine", "--results-dir", "results", "--png", "-o", "out/report.html"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    html = tmp_path / "out" / "report.html"
    assert html.exists() and f"{len(FIGURES)} figures, 4 trials" in res.output
    text = html.read_text()
    assert 'id="top-k"' in text and "not finalized yet" not in text
    report = json.loads((tmp_path / "results" / "tiny_wine" / "report.json").read_text())
    assert [c["n_seeds"] for c in report["top_k"]] == [2, 2]
    pngs = sorted(html.parent.glob("report-*.png"))
    if _png_renderer_available() and not pngs:
        pytest.fail(f"kaleido and Chromium are installed but no PNG was written: {res.output}")
    if pngs:
        assert {p.stem.removeprefix("report-") for p in pngs} == set(FIGURES)
        assert all(p.stat().st_size > 5000 for p in pngs)
    else:
        assert "PNGs skipped" in res.output
    if CHROMIUM is not None:
        _assert_rendered(_dump_dom(html, tmp_path))
