"""Real training on MNIST-1D at equal wall time: search machinery compared on one space, and automl out of the box
against typical hand-written Optuna and Ray Tune scripts.

    python benchmarks/mnist1d_compare.py                         # 10 min x 3 seeds x 8 methods: about 4.5 hours
    python benchmarks/mnist1d_compare.py --minutes 2 --seeds 1 --methods automl-default,random --out /tmp/cmp

Two comparisons, labelled as what they are:

(a) **same space, different search machinery** (`same_space`): the shipped `search_spaces/mnist1d_cnn.yaml`,
    every method through automl's own model builder, trainer (with the space's early stopping) and CLI
    (`automl search ... --no-finalize`), each with that machinery's own defaults for parallelism:
    random (`--sampler random --pruner none`), optuna-tpe (`--pruner none`), tpe-median (`--pruner median`),
    ray-asha (`--backend ray --scheduler asha --searcher random`), ray-bohb (`--backend ray --scheduler bohb`),
    automl-default (no flag: the space's TPE + successive halving, 2 workers; until 2026-12-06 TPE +
    Hyperband: those jobs and tables are kept under `mnist1d_compare_hyperband*`).
(b) **out of the box** (`out_of_box`): automl-default (the same runs as in (a)) against
    `benchmarks/handwritten_optuna.py` (a plain 1D CNN, TPE + MedianPruner, torch's default threads) and
    `benchmarks/handwritten_ray.py` (the same model, Tune's random search + ASHA, one CPU per trial, 2 at once).

Equal budgets, enforced the same way for every method: each search runs as its own process with the wall
budget as its timeout, and only trials that *finished* within the budget (measured from the moment the
process was launched: imports, Ray start and data loading are part of each method's cost) count; a trial in
flight at the budget is discarded, however far it got. The model each method hands over is its best trial by
validation accuracy among those, at its best validation epoch (automl's trainer restores it; the hand-written
scripts' trials are re-trained to their best epoch). The harness re-trains that trial from its recorded seed and
parameters, checks that the validation accuracy is reproduced, and tests it once on the sealed test split.

Each finished job is kept as its own file under `--jobs-dir` (default `results/benchmarks/mnist1d_compare_jobs/`,
named method, seed and budget, with the commit, date and load average it ran at) as soon as it ends, and its
evaluation is added once made; a later run with the same budget reuses those files instead of running the job
again, so the 4-hour full mode can be done in parts (`--methods`, `--seeds`) and aggregated by a final run whose
jobs are all on disk. `--fresh` runs every requested job again.

`--check LABEL` (with `--summary results/benchmarks/summary.json`) records a run of the same-space comparison beside
the headline one instead of replacing it, e.g. a same-machine rerun of a rival or more seeds of two methods.

Counted apart, never averaged in: a job that ended early (error, crash: `errors`) and a job none of whose trials
finished within the budget (`no_trial`). Every job's trials, timings and reproduction check are in the JSON.
Run it on a quiet machine: the budget is wall time, and other jobs on the same cores take it away.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
SPACE = ROOT / "search_spaces" / "mnist1d_cnn.yaml"
REPRO_TOL = 1e-6

SAME_SPACE: dict[str, list[str]] = {
    "random": ["--sampler", "random", "--pruner", "none"],
    "optuna-tpe": ["--sampler", "tpe", "--pruner", "none"],
    "tpe-median": ["--sampler", "tpe", "--pruner", "median"],
    "ray-asha": ["--backend", "ray", "--scheduler", "asha", "--searcher", "random"],
    "ray-bohb": ["--backend", "ray", "--scheduler", "bohb"],
    "automl-default": [],
}
HANDWRITTEN = ("handwritten-optuna", "handwritten-ray")
METHODS = (*SAME_SPACE, *HANDWRITTEN)


# --- one job: a search in its own process ----------------------------------------------------------------------

def launch(method: str, seed: int, budget_s: float, work: Path) -> dict[str, Any]:
    """Runs one search to its wall budget; returns its trials (dicts) with times relative to the launch."""
    name = f"{method}-s{seed}"
    log = work / f"{name}.log"
    if method in SAME_SPACE:
        cmd = [sys.executable, "-m", "automl.cli.main", "search", str(SPACE), "--study", name, "--seed", str(seed),
               "--timeout", str(budget_s), "--trials", "100000", "--no-finalize", "--results-dir", str(work),
               *SAME_SPACE[method]]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--job", method, "--seed", str(seed),
               "--budget-s", str(budget_s), "--job-out", str(work / f"{name}.json")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    t0 = time.time()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True)
        try:  # the in-flight trial may finish after the budget (it will not count); never wait for it forever
            rc = proc.wait(timeout=budget_s + 240)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
    wall = time.time() - t0
    job: dict[str, Any] = {"method": method, "seed": seed, "budget_s": budget_s, "rc": rc, "wall_s": round(wall, 1),
                           "command": " ".join(cmd[1:]), "log_tail": log.read_text()[-1500:]}
    try:
        trials = _automl_trials(work / name) if method in SAME_SPACE else \
            json.loads((work / f"{name}.json").read_text())["trials"]
    except Exception as e:
        job["error"] = f"{type(e).__name__}: {e}"[:500]
        return job
    for t in trials:
        for k in ("started", "finished"):
            t[k] = None if t.get(k) is None else round(t[k] - t0, 2)
    job["trials"] = trials
    return job


def _automl_trials(run_dir: Path) -> list[dict[str, Any]]:
    from automl.backends.prepare import load_trials
    from automl.store.run import load_run

    info = load_run(run_dir)
    return [{"number": r.number, "state": r.state, "value": r.value, "params": r.params, "seed": r.seed,
             "best_epoch": r.best_epoch, "epochs_run": r.epochs_run, "threads": r.threads,
             "started": r.started, "finished": r.finished, "backend": info.backend} for r in load_trials(info)]


def handwritten_job(method: str, seed: int, budget_s: float, out: Path) -> None:
    """The hand-written scripts as a user runs them: the wall budget is their timeout, the epoch budget unbounded."""
    sys.path.insert(0, str(HERE))
    if method == "handwritten-optuna":
        import handwritten_optuna as ho

        res = ho.search(10**9, seed, timeout=budget_s, threads=len(os.sched_getaffinity(0)))
    else:
        import handwritten_ray as hr

        cores = len(os.sched_getaffinity(0))
        res = hr.search(10**6, seed, timeout=budget_s, threads=1, concurrency=cores, num_cpus=cores,
                        storage=tempfile.mkdtemp(prefix="hw_ray_"))
    out.write_text(json.dumps(res, default=str))


def job_path(jobs_dir: Path, method: str, seed: int, budget_s: float) -> Path:
    return jobs_dir / f"{method}-s{seed}-{budget_s:g}s.json"


# --- evaluation: the handed-over model, re-trained and tested once -----------------------------------------------

def evaluate_job(job: dict[str, Any], ds: Any, test: Any) -> None:
    """Picks the best trial finished within the budget, re-trains it, checks the validation accuracy, tests it."""
    budget = job["budget_s"]
    ok = [t for t in job.get("trials", []) if t.get("finished") is not None and t["finished"] <= budget
          and t.get("value") is not None and math.isfinite(t["value"])
          and (t.get("state") == "COMPLETE" or t.get("complete"))]
    job["trials_in_budget"] = len(ok)
    job["trials_after_budget"] = sum(1 for t in job.get("trials", []) if (t.get("finished") or 0) > budget)
    if not ok:
        job["no_trial"] = True
        return
    if job["method"] in HANDWRITTEN:  # their value is the last epoch's; the handed-over model is the best epoch's
        for t in ok:
            curve = t.get("val_accs") or []
            if curve:
                t["best_epoch"] = 1 + max(range(len(curve)), key=lambda i: (curve[i], -i))
                t["value"] = curve[t["best_epoch"] - 1]
    best = max(ok, key=lambda t: (t["value"], -(t["finished"] or 0)))
    t0 = time.perf_counter()
    val, acc = (_retest_handwritten if job["method"] in HANDWRITTEN else _retest_automl)(best, ds, test)
    job["best"] = {"number": best.get("number"), "value": best["value"], "best_epoch": best.get("best_epoch"),
                   "params": best["params"], "seed": best["seed"], "retrained_val": val,
                   "reproduced": val is not None and abs(val - best["value"]) <= REPRO_TOL,
                   "test_accuracy": acc, "retest_s": round(time.perf_counter() - t0, 1)}


def _retest_automl(t: dict[str, Any], ds: Any, test: Any) -> tuple[float | None, float]:
    sys.path.insert(0, str(HERE))
    from run import retest_automl

    from automl.space import load_space
    from automl.training import set_num_threads

    if t.get("threads"):
        set_num_threads(int(t["threads"]))  # CPU results depend on the thread count the trial trained with
    return retest_automl(load_space(SPACE), t, ds, test)


def _retest_handwritten(t: dict[str, Any], ds: Any, test: Any) -> tuple[float | None, float]:
    sys.path.insert(0, str(HERE))
    import handwritten_optuna as ho
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)) if t.get("threads") is None else int(t["threads"]))
    model, accs = ho.train_model(t["params"], ds.train, ds.val, seed=int(t["seed"]), epochs=int(t["best_epoch"]))
    return accs[-1], ho.accuracy(model, test.x, test.y)


# --- aggregation ---------------------------------------------------------------------------------------------------

def aggregate(jobs: list[dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in methods:
        js = [j for j in jobs if j["method"] == m]
        accs = [j["best"]["test_accuracy"] for j in js if j.get("best")]
        vals = [j["best"]["value"] for j in js if j.get("best")]
        out[m] = {"seeds": [j["seed"] for j in js if j.get("best")],
                  "mean": statistics.fmean(accs) if accs else None,
                  "std": statistics.stdev(accs) if len(accs) > 1 else 0.0 if accs else None,
                  "val_mean": statistics.fmean(vals) if vals else None,
                  "trials_in_budget_mean": statistics.fmean(j.get("trials_in_budget", 0) for j in js) if js else None,
                  "errors": sum(1 for j in js if j.get("error")), "no_trial": sum(1 for j in js if j.get("no_trial")),
                  "not_reproduced": sum(1 for j in js if j.get("best") and not j["best"]["reproduced"])}
    return out


def paired_vs_automl(jobs: list[dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    """Per method: test accuracy minus automl-default's, paired by seed index (the search's seed; the data split is
    the same for every job), with a two-sided 95% Student-t interval over the seeds both measured. The pairing adds
    little (the jobs are independent searches), but the interval says whether a gap in the means is more than the
    seed-to-seed noise, which the means alone cannot. scipy comes with scikit-learn (a dependency)."""
    from scipy import stats

    def by_seed(m: str) -> dict[int, float]:
        return {j["seed"]: j["best"]["test_accuracy"] for j in jobs if j["method"] == m and j.get("best")}

    base = by_seed("automl-default")
    out: dict[str, Any] = {}
    for m in methods:
        other = by_seed(m)
        seeds = sorted(set(base) & set(other))
        if m == "automl-default" or not seeds:
            continue
        d = [other[s] - base[s] for s in seeds]
        mean = statistics.fmean(d)
        half = (stats.t.ppf(0.975, len(d) - 1) * statistics.stdev(d) / len(d) ** 0.5) if len(d) > 1 else None
        out[m] = {"seeds": seeds, "diffs": d, "mean": mean,
                  "ci95": None if half is None else [mean - half, mean + half]}
    return out


def comparison(jobs: list[dict[str, Any]], methods: list[str], what: str, budget_s: float, seeds: int,
               command: str) -> dict[str, Any] | None:
    methods = [m for m in methods if any(j["method"] == m for j in jobs)]
    if not methods:
        return None
    agg = aggregate(jobs, methods)
    means = {m: v["mean"] for m, v in agg.items() if v["mean"] is not None}
    best = max(means, key=means.get) if means else None
    return {"what": what, "budget": f"{budget_s / 60:g} min wall", "budget_s": budget_s, "seeds": seeds,
            "methods": {m: v for m, v in agg.items() if v["mean"] is not None}, "detail": agg, "best_method": best,
            # a comparison needs two sides: automl alone is not "best"
            "automl_best": best == "automl-default" if "automl-default" in means and len(means) > 1 else None,
            "vs_automl": paired_vs_automl(jobs, methods), "command": command}


def add_check(label: str, doc: dict[str, Any], path: Path, source: Path) -> None:
    """Keeps a run of the same-space comparison beside the headline one, so the README's met column can say when
    another run (another machine, more seeds) decides it differently; the headline figures are left as they are."""
    from summary import update

    c = doc["same_space"]
    if not c:
        raise SystemExit("--check: this run has no same-space method, so there is nothing to record")
    m = _headline(path)
    check = {"label": label, "command": doc["command"], "date": doc["date"], "commit": doc["commit"],
             "job_commits": doc["job_commits"],
             "hardware": sorted({_machine(j) for j in doc["jobs"]}),
             "source": str(source.resolve().relative_to(ROOT) if source.resolve().is_relative_to(ROOT) else source),
             **{k: c[k] for k in ("methods", "best_method", "automl_best", "vs_automl")}}
    m["same_space"]["checks"] = [x for x in m["same_space"].get("checks") or [] if x.get("label") != label] + [check]
    update("mnist1d", m, path)


def _headline(path: Path) -> dict[str, Any]:
    from summary import load

    m = load(path).get("mnist1d")
    if not m or not m.get("same_space"):
        raise SystemExit(f"--check: {path} has no headline mnist1d.same_space yet; run the comparison without --check first")
    return m


def _machine(job: dict[str, Any]) -> str:
    return f"{job.get('cores')}-core {job['cpu']}" if job.get("cpu") else "machine not recorded"


def _machines(doc: dict[str, Any]) -> list[str]:
    """Where the jobs ran, when that is not (only) where this run aggregated them: reused jobs keep their machine."""
    here = f"{doc['hardware']['cores']}-core {doc['hardware']['cpu']}"
    count = Counter(_machine(j) for j in doc["jobs"])
    if not count or set(count) == {here}:
        return []
    return ["", "The jobs ran on: " + "; ".join(f"{k} ({n} jobs)" for k, n in sorted(count.items())) +
            " (the line above is the machine that evaluated and aggregated them; the jobs table gives each job's CPU)."]


def markdown(doc: dict[str, Any]) -> str:
    lines = ["# MNIST-1D at equal wall time", "", f"`{doc['command']}` — {doc['date']}, commit {doc['commit'][:12]}, "
             f"{doc['hardware']['cores']}-core {doc['hardware']['cpu']}, load average at start "
             f"{doc['hardware']['load_average_at_start']}.", *_machines(doc), "",
             "Only trials finished within the budget count (measured from the process launch); the best of them by "
             "validation accuracy, at its best epoch, is re-trained from its seed and tested once.", ""]
    if doc.get("jobs_reused"):
        lines += [f"{doc['jobs_reused']} of {len(doc['jobs'])} jobs were reused from `{doc['jobs_dir']}` (run in "
                  f"parts; job commits: {', '.join(c[:12] for c in doc['job_commits'])}); each job's load average "
                  "is listed below.", ""]
    for key in ("same_space", "out_of_box"):
        c = doc.get(key)
        if not c:
            continue
        lines += [f"## {key.replace('_', ' ')}: {c['what']}", "", f"{c['budget']}, seeds {c['seeds']}.", "",
                  "| method | test accuracy (mean ± std) | val accuracy (mean) | trials in budget (mean) | seeds | "
                  "errors | no trial in budget | not reproduced |", "|---|---|---|---|---|---|---|---|"]
        for m, v in c["detail"].items():
            acc = "—" if v["mean"] is None else f"{100 * v['mean']:.2f} ± {100 * v['std']:.2f}%"
            val = "—" if v["val_mean"] is None else f"{100 * v['val_mean']:.2f}%"
            tib = "—" if v["trials_in_budget_mean"] is None else f"{v['trials_in_budget_mean']:.1f}"
            lines.append(f"| {m} | {acc} | {val} | {tib} | {len(v['seeds'])} | {v['errors']} | {v['no_trial']} | "
                         f"{v['not_reproduced']} |")
        if c.get("vs_automl"):
            lines += ["", "Test accuracy minus automl-default's, paired by seed index (mean, two-sided 95% t interval over "
                      "the seeds; an interval that holds 0 is a gap the seeds cannot tell from noise; the test split "
                      "has 1000 signals, so one signal is 0.1 point and a 99% accuracy has a binomial standard error "
                      "of about 0.3 point):", "", "| method | difference (points) | 95% interval | per seed |",
                      "|---|---|---|---|"]
            for m, v in c["vs_automl"].items():
                ci = "—" if v["ci95"] is None else f"[{100 * v['ci95'][0]:+.2f}, {100 * v['ci95'][1]:+.2f}]"
                per = ", ".join(f"s{s}: {100 * x:+.1f}" for s, x in zip(v["seeds"], v["diffs"], strict=True))
                lines.append(f"| {m} | {100 * v['mean']:+.2f} | {ci} | {per} |")
        if key == "same_space":
            verdict = {True: "met", False: "not met", None: "not shown (fewer than two methods measured)"}
            lines += ["", f"Target (automl default has the best mean test accuracy): "
                      f"{verdict[c['automl_best']]} (best: {c['best_method']})."]
        lines.append("")
    lines += ["## jobs", "", "| method | seed | trials in budget | best val | test | reproduced | load avg start / end "
              "(1 min) | CPU | commit | ended (UTC) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for j in doc["jobs"]:
        b = j.get("best") or {}
        val = "—" if b.get("value") is None else f"{100 * b['value']:.2f}%"
        acc = "—" if b.get("test_accuracy") is None else f"{100 * b['test_accuracy']:.2f}%"
        ls, le = j.get("load_average_at_start") or ["?"], j.get("load_average_at_end") or ["?"]
        note = " (error)" if j.get("error") else " (no trial)" if j.get("no_trial") else ""
        lines.append(f"| {j['method']}{note} | {j['seed']} | {j.get('trials_in_budget', '—')} | {val} | {acc} | "
                     f"{b.get('reproduced', '—')} | {ls[0]} / {le[0]} | {j.get('cpu', 'not recorded')} | "
                     f"{str(j.get('commit', '?'))[:12]} | "
                     f"{j.get('date', '?')} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="wall budget per search")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ", ".join(METHODS))
    ap.add_argument("--out", default=str(ROOT / "results" / "benchmarks"))
    ap.add_argument("--no-summary", action="store_true", help="do not update summary.json's `mnist1d` key")
    ap.add_argument("--check", default=None, metavar="LABEL",
                    help="record this run's same-space comparison as a check beside the headline one (summary.json's "
                         "`mnist1d.same_space.checks`, replacing a check with the same label) instead of replacing "
                         "the headline; e.g. a same-machine rerun of a rival, or more seeds")
    ap.add_argument("--summary", default=None, help="the summary file to update (default: OUT/summary.json)")
    ap.add_argument("--jobs-dir", default=None, help="where each job's result is kept and reused "
                    "(default OUT/mnist1d_compare_jobs)")
    ap.add_argument("--fresh", action="store_true", help="run every requested job again instead of reusing its file")
    ap.add_argument("--job", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--budget-s", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--job-out", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.job:
        handwritten_job(a.job, a.seed, a.budget_s, Path(a.job_out))
        return 0
    methods = [m for m in a.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        ap.error(f"unknown methods {unknown}; known: {', '.join(METHODS)}")
    sys.path.insert(0, str(HERE))
    from summary import hardware, provenance, update

    from automl.data import load_dataset

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    budget_s = a.minutes * 60
    summary_path = Path(a.summary) if a.summary else out / "summary.json"
    if a.check and not a.no_summary:
        _headline(summary_path)  # before any job runs, not after an hour of them
    command = "python benchmarks/mnist1d_compare.py" + (" " + shlex.join(argv if argv is not None else sys.argv[1:])).rstrip()
    prov = provenance()
    prov["hardware"] = {**hardware(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    jobs_dir = Path(a.jobs_dir) if a.jobs_dir else out / "mnist1d_compare_jobs"
    jobs_dir.mkdir(parents=True, exist_ok=True)
    jobs: list[dict[str, Any]] = []
    reused = 0
    with tempfile.TemporaryDirectory(prefix="mnist1d_compare_") as tmp:
        for seed in range(a.seeds):  # seeds outermost: a cut-short run still has every method on the first seeds
            for m in methods:
                path = job_path(jobs_dir, m, seed, budget_s)
                if path.is_file() and not a.fresh:
                    jobs.append(json.loads(path.read_text()))
                    reused += 1
                    print(f"[{datetime.now():%H:%M:%S}] {m} seed {seed}: reused {path.name}", flush=True)
                    continue
                print(f"[{datetime.now():%H:%M:%S}] {m} seed {seed}: {a.minutes:g} min", flush=True)
                load = [round(x, 2) for x in os.getloadavg()]
                job = launch(m, seed, budget_s, Path(tmp))
                job.update(commit=prov["commit"], date=provenance()["date"], cpu=prov["hardware"]["cpu"],
                           cores=prov["hardware"]["cores"], load_average_at_start=load,
                           load_average_at_end=[round(x, 2) for x in os.getloadavg()])
                path.write_text(json.dumps(job, indent=1, default=str))
                jobs.append(job)
        todo = [j for j in jobs if not j.get("evaluated")]
        ds = load_dataset({"name": "mnist1d", "split": {"val": 0.1, "seed": 0}})
        test = ds.read_test("mnist1d_compare") if todo else None  # this run's one read of the sealed test split
        for j in todo:
            try:
                evaluate_job(j, ds, test)
            except Exception as e:
                j["error"] = f"evaluation: {type(e).__name__}: {e}"[:500]
            j["evaluated"] = provenance()["date"]
            job_path(jobs_dir, j["method"], j["seed"], budget_s).write_text(json.dumps(j, indent=1, default=str))
    doc = {"command": command, **prov, "budget_s": budget_s, "seeds": a.seeds, "methods": methods,
           "test_reads": ds.test_reads, "jobs_reused": reused, "jobs_dir": str(jobs_dir),
           "job_commits": sorted({str(j.get("commit")) for j in jobs}),
           "same_space": comparison(jobs, list(SAME_SPACE), "same space (search_spaces/mnist1d_cnn.yaml), different "
                                    "search machinery, automl's builder and trainer", budget_s, a.seeds, command),
           "out_of_box": comparison(jobs, ["automl-default", *HANDWRITTEN], "automl's shipped space and defaults vs "
                                    "typical hand-written Optuna and Ray Tune scripts", budget_s, a.seeds, command),
           "jobs": jobs}
    (out / "mnist1d_compare.json").write_text(json.dumps(doc, indent=1, default=str))
    (out / "mnist1d_compare.md").write_text(markdown(doc))
    print(markdown(doc))
    if a.check and not a.no_summary:
        add_check(a.check, doc, summary_path, out / "mnist1d_compare.md")
    elif not a.no_summary:
        update("mnist1d", {k: doc[k] and {kk: vv for kk, vv in doc[k].items() if kk != "detail"}
                           for k in ("same_space", "out_of_box")} | {"source": "results/benchmarks/mnist1d_compare.json",
                                                                       "date": prov["date"], "commit": prov["commit"],
                                                                       "hardware": prov["hardware"]},
               summary_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
