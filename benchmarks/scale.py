"""How the cost of a search grows with the number of finished trials and with concurrency, with no training.

Every trial runs the zero-training objective `automl.testing.replay` (a seeded synthetic learning curve, an
optional sleep per epoch) through the real CLI (`automl search` / `automl resume` in a subprocess), the real
backend, storage, sampler and pruner, so what is measured is automl's and the backends' own overhead.

Growth with finished trials (`growth`): one study per storage x sampler grows 100 -> 1,000 -> 10,000 finished
trials. To reach N quickly, trials are added straight to the storage (`study.add_trials`, copies of the
real trials' attributes with fresh params and replayed curves: the same rows a search would have written),
then `automl resume RUN --trials N+K` runs K real trials; their completion timestamps give trials/s at N, and
the same K trials are timed on the sampler alone (an in-memory copy of the study) to show which share is the
sampler's. At 10,000 trials `automl trials`, `automl report` and `automl finalize` are timed on the run.

Concurrency (`ray`, `workers`): T trials of E epochs x S seconds run with C at once; overhead per trial =
(wall - ideal) x C / T with ideal = ceil(T / C) x E x S, next to the driver process's CPU share and peak memory.

This machine has 2 cores shared with other jobs: every figure carries the 1-minute load average measured
around it.

    python benchmarks/scale.py --quick            # <= 10 minutes; rewrites results/benchmarks/scale.*
    python benchmarks/scale.py                    # the full curves (longer)
    python benchmarks/scale.py --only growth --storages sqlite --samplers tpe --points 100,1000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

SPACE = """\
name: {name}
dataset: {{name: breast_cancer, split: {{train: 0.7, val: 0.15, test: 0.15, seed: 0}}}}
task: binary
objective: {{metric: val_accuracy, direction: maximize}}
model:
  factory: automl.testing.replay:build
  x1: {{low: 0.0, high: 1.0}}
  x2: {{low: 0.0, high: 1.0}}
  x3: {{low: 0.0, high: 1.0}}
  width: {{low: 8, high: 256, log: true}}
  sleep: {sleep}
training:
  lr: {{low: 1.0e-4, high: 1.0e-1, log: true}}
  max_epochs: {epochs}
  patience: 0
search: {{seed: 0}}
"""


def load() -> float:
    return round(os.getloadavg()[0], 2)


def write_space(folder: Path, name: str, *, sleep: float = 0.0, epochs: int = 10) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(SPACE.format(name=name, sleep=sleep, epochs=epochs))
    return path


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), e.get("PYTHONPATH")) if p)
    e.setdefault("RAY_DEDUP_LOGS", "0")
    return e


def cli(*args: str, cwd: Path, log: Path | None = None, watch: bool = False, timeout: float = 3600) -> dict[str, Any]:
    """Run `automl ARGS` in a fresh process; wall time, exit code and (watch) the driver's CPU use and peak RSS."""
    import psutil

    t0, l0 = time.perf_counter(), load()
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(log, "ab")) if log else subprocess.DEVNULL
        p = psutil.Popen([sys.executable, "-m", "automl.cli.main", *args], cwd=cwd, env=env(), stdout=out,
                         stderr=subprocess.STDOUT)
    peak, cpu, tree_peak, tree_procs, tree_median, last_tree = 0, 0.0, 0, 0, 0, 0.0
    while p.poll() is None:
        if watch:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, p.memory_info().rss)
                t = p.cpu_times()
                cpu = t.user + t.system
            if time.perf_counter() - last_tree >= 1.0:  # every process the search started (Ray's too): unique memory
                last_tree = time.perf_counter()
                sizes = sorted(tree_uss(p))
                if sizes and sum(sizes) > tree_peak:
                    tree_peak, tree_procs, tree_median = sum(sizes), len(sizes), sizes[len(sizes) // 2]
        time.sleep(0.2)
        if time.perf_counter() - t0 > timeout:
            p.kill()
            raise TimeoutError(f"automl {' '.join(args)} ran past {timeout}s")
    wall = time.perf_counter() - t0
    res = {"seconds": round(wall, 3), "rc": p.returncode, "load": [l0, load()]}
    if watch:
        res.update(driver_cpu_seconds=round(cpu, 2), driver_cpu_share=round(cpu / wall, 3),
                   driver_peak_rss_mb=round(peak / 2**20, 1), tree_peak_uss_mb=round(tree_peak / 2**20, 1),
                   tree_processes_at_peak=tree_procs, median_process_uss_mb=round(tree_median / 2**20, 1))
    if p.returncode != 0:
        tail = log.read_text()[-2000:] if log else ""
        raise RuntimeError(f"automl {' '.join(args)} exited {p.returncode}:\n{tail}")
    return res


def tree_uss(p: Any) -> list[int]:
    """Unique memory (USS: pages no other process shares, so shared libraries count once, nowhere) of a process
    and of each of its descendants: what C concurrent Ray workers really cost in RAM."""
    import psutil

    sizes: list[int] = []
    with contextlib.suppress(psutil.Error):
        for q in [p, *p.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                sizes.append(q.memory_full_info().uss)
    return sizes


# --- storages -------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def postgres_db() -> Iterator[str | None]:
    """A fresh database and role on the local PostgreSQL server (as tests/test_reliability.py makes them);
    None when there is no server here."""
    if shutil.which("psql") is None or os.geteuid() != 0 or shutil.which("su") is None:
        yield None
        return
    ok = subprocess.run(["su", "postgres", "-c", "psql -tAc 'select 1'"], capture_output=True, text=True)
    if ok.returncode != 0:
        yield None
        return
    db, password = f"scale_{secrets.token_hex(4)}", secrets.token_hex(8)

    def psql(sql: str) -> None:
        subprocess.run(["su", "postgres", "-c", f'psql -v ON_ERROR_STOP=1 -c "{sql}"'], check=True,
                       capture_output=True)

    psql(f"CREATE ROLE {db} LOGIN PASSWORD '{password}'")
    psql(f"CREATE DATABASE {db} OWNER {db}")
    try:
        yield f"postgresql+psycopg://{db}:{password}@127.0.0.1:5432/{db}"
    finally:
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        psql(f"DROP ROLE IF EXISTS {db}")


@contextlib.contextmanager
def storage_url(kind: str, folder: Path) -> Iterator[str | None]:
    if kind == "sqlite":
        yield f"sqlite:///{folder}/study.db"
    elif kind == "journal":
        yield f"journal:{folder}/study.journal"
    elif kind == "postgresql":
        with postgres_db() as url:
            yield url
    else:
        raise ValueError(kind)


# --- growth with finished trials -------------------------------------------------------------------------------

def prefill(url: str, study_name: str, n_total: int, seed: int) -> float:
    """Add trials until the study holds `n_total`: copies of a real trial's attributes with fresh random params
    and their replayed curves (7 in 10 pruned after 1-3 epochs, as the real searches here ended with the first rung at epoch 1), the rows a
    search would have written. Returns the seconds it took."""
    import optuna

    from automl.backends.optuna.storage import open_storage
    from automl.testing.replay import curve_value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(url)
    study = optuna.load_study(study_name=study_name, storage=storage)
    real = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    template = real[0]
    dists = template.distributions
    rng = random.Random(seed)
    need = n_total - len(study.get_trials(deepcopy=False))
    t0 = time.perf_counter()
    batch: list[optuna.trial.FrozenTrial] = []
    for i in range(max(0, need)):
        params = {}
        for k, d in dists.items():
            if isinstance(d, optuna.distributions.FloatDistribution) and d.log:
                params[k] = math.exp(rng.uniform(math.log(d.low), math.log(d.high)))
            elif isinstance(d, optuna.distributions.IntDistribution):
                params[k] = round(math.exp(rng.uniform(math.log(d.low), math.log(d.high)))) if d.log \
                    else rng.randint(d.low, d.high)
            else:
                params[k] = rng.uniform(d.low, d.high)
        model = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith("model.")}
        pruned = rng.random() < 0.7
        epochs = rng.randint(1, 3) if pruned else 10
        seed_i = 10_000_000 + i
        curve = [curve_value(model, e, seed_i) for e in range(1, epochs + 1)]
        best = max(range(epochs), key=lambda e: curve[e])
        history = [{"epoch": e + 1, "lr": params.get("training.lr", 0.0), "train_loss": 1.02 - v, "val_loss": 1 - v,
                    "val_accuracy": v, "val_auroc": v, "val_balanced_accuracy": v} for e, v in enumerate(curve)]
        attrs = {**template.user_attrs, "seed": seed_i, "history": history, "best_epoch": best + 1,
                 "epochs_run": epochs, "value": curve[best], "best_metrics": history[best],
                 "status": "pruned" if pruned else "complete", "stop_reason": "reporter" if pruned else "max_epochs",
                 "reason": "pruned by the scheduler on its validation curve" if pruned else ""}
        attrs["config"] = {**template.user_attrs.get("config", {})}
        now = template.datetime_start
        batch.append(optuna.trial.create_trial(
            state=optuna.trial.TrialState.PRUNED if pruned else optuna.trial.TrialState.COMPLETE,
            value=None if pruned else curve[best], params=params, distributions=dists, user_attrs=attrs,
            system_attrs={}, intermediate_values={e + 1: v for e, v in enumerate(curve)}))
        batch[-1].datetime_start = now
        batch[-1].datetime_complete = now
        if len(batch) >= 1000:
            _add(storage, study, batch)
            batch = []
    if batch:
        _add(storage, study, batch)
    return time.perf_counter() - t0


def _add(storage: Any, study: Any, trials: list[Any]) -> None:
    """RDB: plain multi-row INSERTs into Optuna's tables, one transaction per thousand trials (Optuna's
    add_trials writes each attribute through the ORM and commits each trial: 75 ms a trial on SQLite here, which
    made a 10,000-trial study take over ten minutes to build); the journal appends as it always does."""
    import optuna
    from optuna.storages._rdb import models
    from sqlalchemy import func, insert, select

    if not isinstance(storage, optuna.storages.RDBStorage):
        study.add_trials(trials)
        return
    study_id = storage.get_study_id_from_name(study.study_name)
    tm = models.TrialModel.__table__
    finite_v = models.TrialValueModel.TrialValueType.FINITE
    finite_i = models.TrialIntermediateValueModel.TrialIntermediateValueType.FINITE
    with storage.engine.begin() as conn:
        base = conn.execute(select(func.max(tm.c.number)).where(tm.c.study_id == study_id)).scalar()
        base = -1 if base is None else int(base)
        conn.execute(insert(tm), [{"number": base + 1 + i, "study_id": study_id, "state": t.state,
                                   "datetime_start": t.datetime_start, "datetime_complete": t.datetime_complete}
                                  for i, t in enumerate(trials)])
        ids = dict(conn.execute(select(tm.c.number, tm.c.trial_id).where(
            tm.c.study_id == study_id, tm.c.number > base)).all())
        params, values, inter, attrs = [], [], [], []
        for i, t in enumerate(trials):
            tid = ids[base + 1 + i]
            params += [{"trial_id": tid, "param_name": k, "param_value": t.distributions[k].to_internal_repr(v),
                        "distribution_json": optuna.distributions.distribution_to_json(t.distributions[k])}
                       for k, v in t.params.items()]
            if t.value is not None:
                values.append({"trial_id": tid, "objective": 0, "value": t.value, "value_type": finite_v})
            inter += [{"trial_id": tid, "step": k, "intermediate_value": v, "intermediate_value_type": finite_i}
                      for k, v in t.intermediate_values.items()]
            attrs += [{"trial_id": tid, "key": k, "value_json": json.dumps(v)} for k, v in t.user_attrs.items()]
        for model, rows in ((models.TrialParamModel, params), (models.TrialValueModel, values),
                            (models.TrialIntermediateValueModel, inter), (models.TrialUserAttributeModel, attrs)):
            if rows:
                conn.execute(insert(model.__table__), rows)


def rate_of(url: str, study_name: str, numbers: set[int]) -> dict[str, float]:
    """trials/s of the given trials, from their completion timestamps (the first one's start excluded: it
    carries the process start-up)."""
    import optuna

    from automl.backends.optuna.storage import open_storage

    study = optuna.load_study(study_name=study_name, storage=open_storage(url))
    done = sorted(t.datetime_complete.timestamp() for t in study.get_trials(deepcopy=False)
                  if t.number in numbers and t.datetime_complete is not None)
    if len(done) < 3:
        return {"trials_per_second": float("nan"), "per_trial_ms": float("nan")}
    span = done[-1] - done[0]
    rate = (len(done) - 1) / span if span > 0 else float("inf")
    return {"trials_per_second": round(rate, 2), "per_trial_ms": round(1000 / rate, 1)}


def sampler_ms(url: str, study_name: str, sampler: str, k: int) -> float:
    """The sampler's own cost per trial at this study size: the study's finished trials copied into memory,
    then k define-by-run samples of the space (no storage, no pruner, no training)."""
    import optuna

    from automl.backends.optuna.samplers import SAMPLERS
    from automl.backends.optuna.settings import OptunaSettings
    from automl.backends.optuna.storage import FINISHED, open_storage
    from automl.space import load_space, sample

    src = optuna.load_study(study_name=study_name, storage=open_storage(url))
    trials = [t for t in src.get_trials(deepcopy=False, states=FINISHED)]
    info = src.user_attrs.get("automl", {})
    space = load_space(Path(info["run_dir"]) / "space.yaml")
    s = OptunaSettings(sampler=sampler, seed=1)
    mem = optuna.create_study(direction="maximize", sampler=SAMPLERS.create(sampler, s, space, 1))
    mem.add_trials(trials)
    t0 = time.perf_counter()
    for _ in range(k):
        t = mem.ask()
        sample(space.space, t)
        mem.tell(t, state=optuna.trial.TrialState.FAIL)  # not a completed trial: the history stays the same
    return round(1000 * (time.perf_counter() - t0) / k, 2)


def growth(kind: str, sampler: str, points: list[int], k: int, work: Path, log: Path,
           commands_at: int | None) -> dict[str, Any]:
    folder = work / f"growth_{kind}_{sampler}"
    folder.mkdir(parents=True, exist_ok=True)
    space = write_space(folder, f"g_{kind}_{sampler}")
    out: dict[str, Any] = {"storage": kind, "sampler": sampler, "measured_trials": k, "points": []}
    with storage_url(kind, folder) as url:
        if url is None:
            return {**out, "skipped": f"no {kind} server here"}
        name = space.stem
        res = folder / "res"
        first = cli("search", str(space), "--trials", "20", "--sampler", sampler, "--storage", url,
                    "--results-dir", str(res), "--no-finalize", cwd=folder, log=log)
        out["first_20_trials_seconds"] = first["seconds"]
        run = res / name
        have = 20
        for n in points:
            fill = prefill(url, name, n, seed=n) if n > have else 0.0
            before = have = max(have, n)
            r = cli("resume", str(run), "--trials", str(n + k), "--no-finalize", "--storage", url, cwd=folder, log=log,
                    watch=True)
            rate = rate_of(url, name, set(range(before, before + k + 5)))
            have = n + k
            point = {"finished": n, **rate, "command_seconds": r["seconds"], "load": r["load"],
                     "prefill_seconds": round(fill, 1), "driver_cpu_share": r.get("driver_cpu_share"),
                     "driver_peak_rss_mb": r.get("driver_peak_rss_mb")}
            if kind != "journal":
                point["sampler_ms"] = sampler_ms(url, name, sampler, min(k, 20))
            print(f"  growth {kind:10s} {sampler:6s} n={n:6d}: {point}", flush=True)
            out["points"].append(point)
        if commands_at is not None and have >= commands_at:
            out["commands"] = commands(run, url, folder, log, have)
    return out


def commands(run: Path, url: str, folder: Path, log: Path, n: int) -> dict[str, Any]:
    """`automl trials`, `report` and `finalize` on the grown run: they must stay interactive."""
    figs: dict[str, Any] = {"n_trials": n}
    for name, args in (("trials", ["trials", str(run), "--storage", url]),
                       ("trials_export_csv", ["trials", str(run), "--storage", url, "--export", str(folder / "t.csv")]),
                       ("report", ["report", str(run), "--storage", url]),
                       ("finalize", ["finalize", str(run), "--storage", url])):
        r = cli(*args, cwd=folder, log=log, watch=True)
        figs[name] = {"seconds": r["seconds"], "load": r["load"], "peak_rss_mb": r["driver_peak_rss_mb"]}
        print(f"  {name} at {n} trials: {figs[name]}", flush=True)
    return figs


# --- concurrency ---------------------------------------------------------------------------------------------

def concurrency(backend: str, c: int, trials: int, epochs: int, sleep: float, work: Path, log: Path,
                kind: str = "sqlite") -> dict[str, Any]:
    folder = work / f"{backend}_{c}"
    folder.mkdir(parents=True, exist_ok=True)
    space = write_space(folder, f"c_{backend}_{c}", sleep=sleep, epochs=epochs)
    args = ["search", str(space), "--trials", str(trials), "--results-dir", str(folder / "res"), "--no-finalize",
            "--backend", backend, "--seed", "0"]
    with storage_url(kind if backend == "optuna" else "sqlite", folder) as url:
        if backend == "ray":
            cores = max(1, os.cpu_count() or 1)
            args += ["--max-concurrent", str(c), "--cpus-per-trial", f"{min(1.0, cores / c):.4f}",
                     "--searcher", "random", "--scheduler", "fifo"]
        else:
            if url is None:
                return {"concurrent": c, "skipped": f"no {kind} server here"}
            args += ["--workers", str(c), "--storage", url, "--sampler", "random", "--pruner", "none"]
        r = cli(*args, cwd=folder, log=log, watch=True)
        span = search_span(folder / "res" / space.stem, url if backend == "optuna" else None)
    ideal = math.ceil(trials / c) * epochs * sleep
    over = (span - ideal) * c / trials
    out = {"concurrent": c, "trials": trials, "trial_seconds": epochs * sleep, "wall_seconds": r["seconds"],
           "search_seconds": round(span, 2), "startup_seconds": round(r["seconds"] - span, 2),
           "ideal_seconds": round(ideal, 2), "overhead_per_trial_s": round(over, 3), "load": r["load"],
           "driver_cpu_share": r["driver_cpu_share"], "driver_peak_rss_mb": r["driver_peak_rss_mb"],
           "tree_peak_uss_mb": r["tree_peak_uss_mb"], "tree_processes_at_peak": r["tree_processes_at_peak"],
           "median_process_uss_mb": r["median_process_uss_mb"]}
    print(f"  {backend} c={c}: {out}", flush=True)
    return out


def memory_fits(done: list[dict[str, Any]], c: int) -> dict[str, Any] | None:
    """None when C concurrent Ray trials fit in memory, else the `skipped` record with the measured figures.
    Estimate: the unique memory of every process at the largest point already run, plus one median process (a
    trial's worker) per extra concurrent trial, against 80% of what is available; refusing keeps the machine out of
    the kernel's OOM killer, which may take the benchmark, the shell or the database with it."""
    import psutil

    ran = [p for p in done if p.get("tree_processes_at_peak")]
    if not ran:
        return None
    last = max(ran, key=lambda p: p["concurrent"])
    per_process = last["median_process_uss_mb"]  # at C >= 16 the median process is a trial's worker
    need = last["tree_peak_uss_mb"] + per_process * (c - last["concurrent"])
    avail = psutil.virtual_memory().available / 2**20
    if need <= 0.8 * avail:
        return None
    return {"concurrent": c, "skipped": f"needs ~{need / 1024:.1f} GiB ({per_process:.0f} MB unique memory per process "
            f"of the median process at {last['concurrent']} at once, {last['tree_peak_uss_mb'] / 1024:.1f} GiB in all there, "
            f"plus one worker per extra trial), {avail / 1024:.1f} GiB available",
            "estimated_need_mb": round(need), "available_mb": round(avail), "uss_per_process_mb": round(per_process, 1)}


def search_span(run: Path, storage: str | None) -> float:
    """First trial start to last trial end, from the run's records: the search without the process start-up
    (Python imports, `ray.init`, data loading), which a cluster pays once, not per trial."""
    from automl.store.results import load_trials
    from automl.store.run import load_run

    recs = load_trials(load_run(str(run), storage=storage))
    starts = [r.started for r in recs if r.started]
    ends = [r.finished for r in recs if r.finished]
    return max(ends) - min(starts) if starts and ends else float("nan")


# --- output ---------------------------------------------------------------------------------------------------

def summary(res: dict[str, Any]) -> dict[str, Any]:
    """The figures summary.json carries under `scale`."""
    s: dict[str, Any] = {"mode": res["mode"], "cpus": res["cpus"], "note": "2 shared cores; each figure has the "
                         "1-minute load average measured around it"}
    for g in res.get("growth", []):
        for p in g.get("points", []):
            s[f"trials_per_s.{g['storage']}.{g['sampler']}.{p['finished']}"] = p["trials_per_second"]
            s[f"load.{g['storage']}.{g['sampler']}.{p['finished']}"] = p["load"][1]
        for name, v in g.get("commands", {}).items():
            if isinstance(v, dict):
                s[f"command_seconds.{g['storage']}.{name}.{g['commands']['n_trials']}"] = v["seconds"]
    for backend in ("ray", "workers"):
        for p in res.get(backend, []):
            if "overhead_per_trial_s" in p:
                s[f"{backend}.overhead_per_trial_s.{p['concurrent']}"] = p["overhead_per_trial_s"]
                s[f"{backend}.driver_cpu_share.{p['concurrent']}"] = p["driver_cpu_share"]
                s[f"{backend}.driver_peak_rss_mb.{p['concurrent']}"] = p["driver_peak_rss_mb"]
                if p.get("tree_peak_uss_mb"):
                    s[f"{backend}.all_processes_peak_uss_mb.{p['concurrent']}"] = p["tree_peak_uss_mb"]
    s["before_fix"] = BEFORE
    return s


# Measured with the code before the fixes (commit 141ee6a) on the same machine, same method; kept here because
# a rerun measures only the current code. docs/SCALING.md section 3.
BEFORE = {
    "commit": "141ee6a", "file": "results/benchmarks/scale.before.json",
    "trials_per_s.sqlite.tpe.100": 13.72, "trials_per_s.sqlite.tpe.1000": 8.03, "trials_per_s.sqlite.tpe.10000": 3.32,
    "sampler_ms.sqlite.tpe.10000": 152.13, "resume_10_trials_seconds.sqlite.tpe.10000": 48.8,
    "trials_per_s.postgresql.tpe.100": 6.21, "trials_per_s.postgresql.tpe.1000": 6.13,
    "trials_per_s.postgresql.tpe.10000": 2.62, "resume_10_trials_seconds.postgresql.tpe.10000": 50.5,
    "command_seconds.sqlite.trials.10010": 10.03, "command_seconds.sqlite.report.10010": 19.05,
    "command_seconds.sqlite.finalize.10010": 14.45, "finalize_peak_rss_mb.10010": 959.9, "load": [1.1, 1.9],
    "loaded": {"trials_per_s.sqlite.tpe.10000": 0.62, "sampler_ms.sqlite.tpe.10000": 467.0,
               "command_seconds.sqlite.trials.10020": 22.98, "command_seconds.sqlite.report.10020": 48.35,
               "command_seconds.sqlite.finalize.10020": 31.53, "user_attrs_ms_per_trial.postgresql": 575,
               "user_attrs_ms_per_trial.sqlite": 112, "records_read_seconds.sqlite.3050": 14.45,
               "pruning_check_seconds.10020": 5.63, "load": [6.5, 10.4]},
}


def markdown(res: dict[str, Any]) -> str:
    lines = [f"# Scale benchmark ({res['mode']} mode)", "",
             f"{res['cpus']} CPU cores shared with other jobs; `load` is the 1-minute load average before/after. "
             "Zero-training replay objective through the real CLI (see benchmarks/scale.py).", ""]
    if res.get("growth"):
        lines += ["## Growth with finished trials", "",
                  "| storage | sampler | finished | trials/s | ms/trial | sampler ms | driver CPU | load |",
                  "|---|---|---:|---:|---:|---:|---:|---|"]
        for g in res["growth"]:
            for p in g.get("points", []):
                lines.append(f"| {g['storage']} | {g['sampler']} | {p['finished']} | {p['trials_per_second']} | "
                             f"{p['per_trial_ms']} | {p.get('sampler_ms', '')} | {p.get('driver_cpu_share')} | "
                             f"{p['load']} |")
            if g.get("skipped"):
                lines.append(f"| {g['storage']} | {g['sampler']} | skipped: {g['skipped']} | | | | | |")
        for g in res["growth"]:
            if g.get("commands"):
                c = g["commands"]
                lines += ["", f"Commands on the {c['n_trials']}-trial {g['storage']} run: " + ", ".join(
                    f"`{k}` {v['seconds']} s (load {v['load']})" for k, v in c.items() if isinstance(v, dict))]
    for backend, title in (("ray", "Ray Tune: overhead vs concurrent trials"),
                           ("workers", "Optuna workers (PostgreSQL): overhead vs worker processes")):
        if res.get(backend):
            lines += ["", f"## {title}", "",
                      "| concurrent | trials | trial s | wall s | start-up s | search s | ideal s | overhead/trial s | "
                      "driver CPU | driver MB | all processes MB (USS) | processes | load |",
                      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
            for p in res[backend]:
                if "skipped" in p:
                    lines.append(f"| {p['concurrent']} | skipped: {p['skipped']} | | | | | | | | | | | |")
                    continue
                lines.append(f"| {p['concurrent']} | {p['trials']} | {p['trial_seconds']} | {p['wall_seconds']} | "
                             f"{p['startup_seconds']} | {p['search_seconds']} | {p['ideal_seconds']} | {p['overhead_per_trial_s']} | {p['driver_cpu_share']} | "
                             f"{p['driver_peak_rss_mb']} | {p.get('tree_peak_uss_mb', '–')} | "
                             f"{p.get('tree_processes_at_peak', '–')} | {p['load']} |")
    return "\n".join(lines) + "\n"


def update_summary(path: Path, figures: dict[str, Any]) -> None:
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc["scale"] = figures
    path.write_text(json.dumps(doc, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the committed figures in <= 10 minutes")
    ap.add_argument("--smoke", action="store_true", help="seconds: a test that every stage runs (no output files "
                    "unless --out is given)")
    ap.add_argument("--only", default="growth,commands,ray,workers")
    ap.add_argument("--storages", default=None, help="comma list of sqlite, postgresql, journal")
    ap.add_argument("--samplers", default=None, help="comma list of tpe, random")
    ap.add_argument("--points", default=None, help="finished-trial counts, e.g. 100,1000,10000")
    ap.add_argument("--k", type=int, default=None, help="trials measured at each point")
    ap.add_argument("--ray", default=None, help="concurrent Ray trials, e.g. 1,16,64")
    ap.add_argument("--workers", default=None, help="Optuna worker processes, e.g. 1,4,16")
    ap.add_argument("--out", default=None, help="folder for scale.json/scale.md and summary.json")
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    a = ap.parse_args(argv)

    mode = "smoke" if a.smoke else "quick" if a.quick else "full"
    defaults = {
        "smoke": dict(storages="sqlite", samplers="tpe", points="30", k=5, ray="2", workers="2"),
        # quick: what must fit in 10 minutes on 2 shared cores (the 10,000-trial points are the expensive ones)
        "quick": dict(storages="sqlite,postgresql,journal", samplers="tpe,random", points="100,1000,10000", k=10,
                      ray="1,16", workers="1,4"),
        "full": dict(storages="sqlite,postgresql,journal", samplers="tpe,random", points="100,300,1000,3000,10000",
                     k=50, ray="1,4,16,64,128,256", workers="1,2,4,8,16"),
    }[mode]
    opt = {key: getattr(a, key) if getattr(a, key) is not None else v for key, v in defaults.items()}
    only = set(a.only.split(","))
    points = [int(x) for x in str(opt["points"]).split(",")]
    t_start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        work = Path(a.work) if a.work else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scale_")))
        work.mkdir(parents=True, exist_ok=True)
        log = work / "cli.log"
        res: dict[str, Any] = {"mode": mode, "cpus": os.cpu_count(), "load_start": load(), "growth": []}
        if "growth" in only:
            for kind in opt["storages"].split(","):
                for sampler in opt["samplers"].split(","):
                    if kind != "sqlite" and sampler != "tpe":
                        continue  # the sampler's share is the same on every storage: measured once, on SQLite
                    big = max(points)
                    at = big if ("commands" in only and sampler == "tpe") else None
                    pts = points
                    if mode == "quick" and (sampler != "tpe" or kind == "journal"):  # default sampler: every point
                        pts = [n for n in points if n in (min(points), max(points))] if kind != "journal" \
                            else [n for n in points if n <= 1000]
                    at = at if kind == "sqlite" or mode != "quick" else None
                    res["growth"].append(growth(kind, sampler, pts, int(opt["k"]), work, log, at))
        if "ray" in only:
            res["ray"] = []
            for c in sorted(int(x) for x in opt["ray"].split(",")):
                fits = memory_fits(res["ray"], c)
                res["ray"].append(fits if fits else concurrency(
                    "ray", c, trials=max(c, 8 if mode == "smoke" else 32), epochs=2 if mode == "smoke" else 5,
                    sleep=0.1 if mode == "smoke" else 0.2, work=work, log=log))
        if "workers" in only:
            res["workers"] = [concurrency("optuna", c, trials=max(2 * c, 8 if mode == "smoke" else 32),
                                          epochs=2 if mode == "smoke" else 5, sleep=0.1 if mode == "smoke" else 0.2,
                                          work=work, log=log, kind="sqlite" if mode == "smoke" else "postgresql")
                              for c in (int(x) for x in opt["workers"].split(","))]
        res["seconds"] = round(time.perf_counter() - t_start, 1)
        res["load_end"] = load()
    out = Path(a.out) if a.out else (None if mode == "smoke" else ROOT / "results" / "benchmarks")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        stem = "scale" if mode != "full" else "scale.full"
        (out / f"{stem}.json").write_text(json.dumps(res, indent=2) + "\n")
        (out / f"{stem}.md").write_text(markdown(res))
        update_summary(out / "summary.json", summary(res))
    print(markdown(res))
    print(f"total {res['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
