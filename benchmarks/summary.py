"""`results/benchmarks/summary.json`: the headline figures of every benchmark under stable keys, and the README's
benchmark table generated from it.

    python benchmarks/summary.py --from-run results/benchmarks/benchmarks.json   # trainer/overhead/scaling keys
    python benchmarks/summary.py --readme README.md                              # rewrite the README table
    python benchmarks/summary.py --check README.md                               # exit 1 if the table is stale

Each benchmark script writes its own top-level key (`surrogate`, `autostop`, `warm_start`, `mnist1d`, `scaling`,
`scale`, ...) with the command, commit, hardware and date of the run it comes from, because the figures come
from different runs; `summary.json`'s own `commit`/`date`/`hardware` say when and where it was last assembled.
A key that no run has produced yet holds `null` and the table says "not measured" with the command to run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = ROOT / "results" / "benchmarks" / "summary.json"
BEGIN, END = "<!-- summary.json table: begin (python benchmarks/summary.py --readme README.md) -->", \
    "<!-- summary.json table: end -->"

# The targets (issue 14), one place: the table and the `*_met` flags read them from here.
TARGETS = {"surrogate_rank": 1, "surrogate_speedup": 10.0, "scaling": 1.8, "optuna_pct": 3.0, "ray_pct": 5.0,
           "trainer_ratio": 0.97}


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def hardware() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "python": platform.python_version()}


def provenance() -> dict[str, Any]:
    """Commit (with `+dirty` when the tree has uncommitted tracked changes), date and hardware of this run."""
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {"commit": _git("rev-parse", "HEAD") + ("+dirty" if dirty else ""),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "hardware": hardware()}


def load(path: Path = SUMMARY) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def update(key: str, value: Any, path: Path = SUMMARY) -> dict[str, Any]:
    """Set one top-level key (read-modify-write; the other keys are kept) and restamp the file."""
    doc = load(path)
    doc[key] = value
    doc.update(provenance())
    for k in ("mnist1d", "scaling", "overhead", "trainer"):  # stable keys exist even before their run
        doc.setdefault(k, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return doc


def from_run(run_json: Path, path: Path = SUMMARY) -> None:
    """The trainer, Optuna/Ray overhead and 2-vs-1-worker figures of a `benchmarks/run.py` run."""
    run = json.loads(run_json.read_text())
    sec, env = run["sections"], run["environment"]
    src = {"source": str(run_json.relative_to(ROOT)) if run_json.is_relative_to(ROOT) else str(run_json),
           "command": run["command"], "commit": env.get("git_commit"), "date": run["created"],
           "hardware": {"cpu": env.get("cpu_model"), "cores": env.get("cores_usable"),
                        "load_average_at_start": env.get("load_average_at_start")}}
    if "throughput" in sec and "ratio" in sec["throughput"]:
        t = sec["throughput"]
        update("trainer", {"ratio_vs_hand_loop": t["ratio"], "end_to_end_ratio": t["e2e_wall"]["ratio"],
                           "what": "samples/s of automl's Trainer / a minimal hand-written loop, same model, "
                                   "weights and batches, training phase, median of repeats",
                           "target": TARGETS["trainer_ratio"], "met": t["ratio"] >= TARGETS["trainer_ratio"],
                           **src}, path)
    o = sec.get("overhead") or {}
    if "overhead_pct_of_10s" in o:  # Optuna's; Ray's comes from backend_overhead.py --summary (driver start apart)
        ov = load(path).get("overhead") or {}
        ov.update(optuna_pct=o["overhead_pct_of_10s"], optuna_steady_pct=o["steady_overhead_pct_of_10s"],
                  optuna_startup_s=o["startup_s"], optuna_target_pct=TARGETS["optuna_pct"],
                  optuna_met=o["overhead_pct_of_10s"] <= TARGETS["optuna_pct"],
                  optuna_what="wall time per trial not spent training, as % of a 10 s trial (run.py section 2b: "
                              "fixed CNN, 1 worker, SQLite; search start-up included, steady state apart)",
                  optuna_command=src["command"], optuna_date=src["date"], optuna_commit=src["commit"],
                  optuna_hardware=src["hardware"], optuna_source=src["source"])
        update("overhead", ov, path)
    s = sec.get("scaling") or {}
    if "ratio" in s:
        update("scaling", {"two_vs_one": s["ratio"], "two_vs_one_steady": s.get("ratio_steady"),
                           "what": s["what"], "target": TARGETS["scaling"], "met": s["ratio"] >= TARGETS["scaling"],
                           **src}, path)


def _f(v: Any, fmt: str) -> str:
    return "—" if v is None else format(v, fmt)


def _met(ok: Any) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def _met_by_mean(v: dict[str, Any]) -> str:
    """'yes' for the best mean, qualified when a paired interval against automl's default holds 0: a best mean that
    the seeds cannot tell from another method's is not a win, and the table must not read as one."""
    ok = v.get("automl_best")
    level = sorted(n for n, d in (v.get("vs_automl") or {}).items() if d.get("ci95") and d["ci95"][0] <= 0 <= d["ci95"][1])
    out = (f"yes by the mean; not outside noise against {', '.join(level)} (paired 95% intervals hold 0)"
           if ok and level else _met(ok))
    for c in v.get("checks") or []:  # other runs of the same comparison, e.g. a same-machine rerun of a rival
        diffs = [f"{n} {100 * d['mean']:+.2f} [{100 * d['ci95'][0]:+.2f}, {100 * d['ci95'][1]:+.2f}] points"
                 for n, d in sorted((c.get("vs_automl") or {}).items()) if d.get("ci95")]
        out += (f"; {_met(c.get('automl_best'))} in {c['label']} (best: {c.get('best_method')}"
                + (f"; paired vs automl-default: {', '.join(diffs)}" if diffs else "") + ")")
    return out


def table(doc: dict[str, Any]) -> str:
    """The README's benchmark table: one row per headline figure, its target, met or not, and its source."""
    rows: list[tuple[str, str, str, str, str]] = []
    missing = "not measured yet"
    su = doc.get("surrogate")
    if su:
        src = f"`{su['command']}` ({su['date'][:10]})"
        rows.append(("LCBench surrogate: automl default's median speed-up to random search's final regret, all "
                     f"{su['tasks']} tasks ({su['seeds_per_task']} seeds, {su['budget_epochs']} epochs)",
                     f"{su['speedup_vs_random_median']:.2f}x (held-out {su['heldout_speedup_vs_random_median']:.2f}x,"
                     f" dev {su['dev_speedup_vs_random_median']:.2f}x)", f">= {TARGETS['surrogate_speedup']:g}x",
                     _met(su["speedup_vs_random_median"] >= TARGETS["surrogate_speedup"]), src))
        rows.append(("LCBench surrogate: rank of automl default among the strategies",
                     f"{su['rank_of_default']} of {su['strategies_ranked']} (best: {su['best_strategy']}, "
                     f"{su['speedup_vs_random_median_by_strategy'][su['best_strategy']]:.2f}x)",
                     f"{TARGETS['surrogate_rank']}", _met(su["rank_of_default"] <= TARGETS["surrogate_rank"]), src))
    sb = doc.get("surrogate_budget")
    if sb:
        by = sb["by_budget_trainings"]
        rows.append(("LCBench surrogate by budget: automl default's median speed-up over random search, all "
                     f"{sb['tasks']} tasks (seeds per task: "
                     + ", ".join(f"{sb['seeds_per_task'][b]} at {b}" for b in sorted(sb["seeds_per_task"], key=int)) + ")",
                     "; ".join(f"{by[b]['automl-default']['speedup_median_all']:.2f}x at {b} trainings "
                               f"(rank {by[b]['automl-default']['rank_all']} of {len(by[b])})" for b in sorted(by, key=int))
                     + ("; time to its own final result against random search given "
                        f"{sb['random_reference_trainings']} trainings (censored share): "
                        + ", ".join(f"{by[b]['automl-default']['matched_speedup_median_all']:.1f}x at {b} "
                                    f"({100 * by[b]['automl-default']['matched_censored_fraction']:.0f}%)"
                                    for b in sorted(by, key=int))
                        if "matched_speedup_median_all" in by[next(iter(by))]["automl-default"] else ""),
                     "(reported)", "n/a", f"`{sb['command']}` ({sb['date'][:10]})"))
    m = doc.get("mnist1d") or {}
    for key, label in (("same_space", "MNIST-1D, same space, different search machinery: mean test accuracy"),
                       ("out_of_box", "MNIST-1D, out of the box (automl vs hand-written scripts): mean test "
                                      "accuracy")):
        v = m.get(key)
        if v:
            val = "; ".join(f"{n} {100 * x['mean']:.2f}±{100 * x['std']:.2f}%" for n, x in v["methods"].items())
            if len(v["methods"]) < 2:
                val += " (no other method measured yet: no comparison)"
            rows.append((f"{label} at {v['budget']} ({v['seeds']} seeds)", val,
                         "automl default best" if key == "same_space" else "(reported)",
                         _met_by_mean(v) if key == "same_space" else "n/a", f"`{v['command']}`"))
        else:
            rows.append((label + " at 10 min wall (2 cores, >= 3 seeds)", missing,
                         "automl default best" if key == "same_space" else "(reported)", "n/a",
                         "`python benchmarks/mnist1d_compare.py`"))
    sc = doc.get("scaling")
    others = (sc or {}).get("other_runs") or []
    below = [o["label"] for o in others if o["two_vs_one"] < TARGETS["scaling"]]
    rows.append(("trials/hour, 2 workers / 1 worker on 2 cores, end to end",
                 (f"{sc['two_vs_one']:.2f}x" + (f" (steady state {sc['two_vs_one_steady']:.2f}x)"
                                                if sc.get("two_vs_one_steady") else "")
                  + (f" on {sc.get('hardware', {}).get('cpu', '?')}; other committed runs: "
                     + ", ".join(f"{o['two_vs_one']:.2f}x ({o['label']})" for o in others) if others else ""))
                 if sc else missing,
                 f">= {TARGETS['scaling']:g}x",
                 (_met(sc["two_vs_one"] >= TARGETS["scaling"])
                  + (f"; **no** on {', '.join(below)}" if below else "")) if sc else "n/a",
                 f"`{sc['command']}` ({str(sc['date'])[:10]})" if sc else ""))
    ov = doc.get("overhead") or {}
    for b, label in (("optuna", "Optuna"), ("ray", "Ray Tune")):
        v = ov.get(f"{b}_pct")
        extra = ""
        if b == "optuna" and ov.get("optuna_steady_pct") is not None:
            extra = f" (steady state {ov['optuna_steady_pct']:.2f}%)"
        if b == "ray" and ov.get("ray_pct_incl_ray_init") is not None:
            extra = f" (with ray.init {ov['ray_pct_incl_ray_init']:.2f}%"
            if ov.get("ray_driver_start_s") is not None:
                extra += f"; driver start {ov['ray_driver_start_s']:.1f} s once per search, apart"
            extra += ")"
        rows.append((f"{label} backend overhead per trial, % of a 10 s trial", missing if v is None else
                     f"{v:.2f}%{extra}", f"<= {TARGETS[b + '_pct']:g}%",
                     "n/a" if v is None else _met(v <= TARGETS[b + "_pct"]),
                     f"`{ov.get(b + '_command', ov.get('command'))}` ({str(ov.get(b + '_date', ov.get('date')))[:10]})"
                     if v is not None
                     else ""))
    tr = doc.get("trainer")
    rows.append(("automl Trainer samples/s / a minimal hand-written loop",
                 f"{tr['ratio_vs_hand_loop']:.3f} (end to end {tr['end_to_end_ratio']:.3f})" if tr else missing,
                 f">= {TARGETS['trainer_ratio']:g}", _met(tr["ratio_vs_hand_loop"] >= TARGETS["trainer_ratio"])
                 if tr else "n/a", f"`{tr['command']}` ({str(tr['date'])[:10]})" if tr else ""))
    au = doc.get("autostop")
    if au:
        d, h = au.get("0.3pt_dev") or {}, au.get("0.3pt_heldout") or {}
        if d and h:
            rows.append((f"`--budget auto` on the surrogate (0.3-point tolerance, {au['seeds']} seeds): budget saved,"
                         " regret paid", f"dev {100 * d['saved_mean']:.0f}% saved / {d['regret_mean']:.2f} pt; held-out "
                         f"{100 * h['saved_mean']:.0f}% / {h['regret_mean']:.2f} pt", "(reported)", "n/a",
                         f"`{au['command']}`"))
    ws = doc.get("warm_start")
    if ws:
        rows.append(("warm start on the surrogate (task -> next task): epochs to the cold run's final, median",
                     "; ".join(f"{g} cold {s['cold_first_reach_median']:g} -> warm {s['warm_reach_median']:g} "
                               f"(never {s['warm_not_reached']}/{s['runs']})" for g, s in ws["groups"].items()),
                     "(reported)", "n/a", f"`{ws['command']}`"))
    lines = [BEGIN, "", "| figure | value | target | met | from |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", f"Generated from `results/benchmarks/summary.json` (assembled {str(doc.get('date'))[:10]}, commit "
              f"{str(doc.get('commit'))[:12]}, {doc.get('hardware', {}).get('cores', '?')}-core "
              f"{doc.get('hardware', {}).get('cpu', '?')}); each row's own run is named in its last column.", "", END]
    return "\n".join(lines)


def readme_block(text: str) -> tuple[int, int]:
    i, j = text.find(BEGIN), text.find(END)
    if i < 0 or j < 0:
        raise SystemExit(f"the README has no summary table markers ({BEGIN!r} ... {END!r})")
    return i, j + len(END)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--summary", default=str(SUMMARY))
    ap.add_argument("--from-run", default=None, metavar="BENCHMARKS_JSON")
    ap.add_argument("--readme", default=None, help="rewrite the table in this README")
    ap.add_argument("--check", default=None, help="exit 1 when this README's table differs from summary.json")
    a = ap.parse_args(argv)
    path = Path(a.summary)
    if a.from_run:
        from_run(Path(a.from_run).resolve(), path)
    doc = load(path)
    for target, write in ((a.readme, True), (a.check, False)):
        if not target:
            continue
        text = Path(target).read_text()
        i, j = readme_block(text)
        new = text[:i] + table(doc) + text[j:]
        if write:
            Path(target).write_text(new)
        elif new != text:
            print(f"{target}: the benchmark table is stale; run python benchmarks/summary.py --readme {target}")
            return 1
    if not (a.readme or a.check or a.from_run):
        print(table(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
