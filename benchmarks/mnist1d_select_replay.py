"""Does automl's noise-aware winner selection pay for its time at an equal 10-minute wall budget on MNIST-1D?

    python benchmarks/mnist1d_select_replay.py --seeds 4-13 --search-s 300   # the committed run, ~40 min
    python benchmarks/mnist1d_select_replay.py --seeds 10 --search-s 420     # the space's own 420 s timeout

The same-space comparison (benchmarks/mnist1d_compare.py) hands every method's model over by one rule: the best
trial by validation accuracy among those finished within the budget. That is like for like, but it is not what
`automl search` does: after its search, finalize re-scores the trials within two standard errors of the best by
k-fold cross-validation over train+validation (automl.finalize.select) before it tests one. That costs wall time,
so to count it inside the same 10 minutes the search must be shorter. This script measures the trade, as a replay:

1. Each committed 10-minute automl-default job (`--jobs-dir`) recorded every trial's start and finish, measured
   from the moment the search process was launched. A search launched with `--timeout T` keeps the trials that
   started before T (the deadline stops new trials; one in flight finishes, automl.backends.optuna.objective), so
   those trials are what it would have run, and it ends when the last of them finishes. The deadline is taken as
   T after the launch (the search sets it a few seconds later, after its imports: this counts fewer trials than
   a real run, never more, and ends the search earlier: with the deadline at T plus the first trial's start, an
   upper bound on that delay, the committed 300 s replays keep 0-2 more trials per seed and end up to 31 s later,
   the largest total 556 s rather than 549 s). Nothing the sampler or pruner does depends on the timeout; the one
   difference is that a trial in flight at T was judged by the pruner against rivals that started after T, which
   a shorter search would not have run. The selection's budget is computed from each trial's start-to-finish time
   (what the jobs recorded), a little more than the training seconds the product sums: the budget is slightly
   overstated, never understated by this.
2. On those trials, the product's own `choose_winner` with its default settings (what `automl search` runs), on
   this machine, timed from loading the data to the winner. total = end of the search + selection seconds.
3. The winner is re-trained from its seed (its validation accuracy must be reproduced) and tested once, exactly as
   the comparison does for every method. The best trial by validation alone among the same trials is tested too,
   so the table separates what the selection adds from what the shorter search costs.

The rival is the committed 10-minute tpe-median job of the same seed (`--rival`), evaluated by the comparison.
A job whose total passes the budget is reported and counted apart, never averaged in. Run it on a quiet machine:
the selection seconds are wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from mnist1d_compare import SPACE, _retest_automl, job_path  # noqa: E402


def seeds_arg(s: str) -> list[int]:
    out: list[int] = []
    for part in s.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def truncate(trials: list[dict[str, Any]], search_s: float) -> tuple[list[dict[str, Any]], float | None, list[int]]:
    """The trials a search with a `search_s` deadline would have run (those started before it; the one in flight
    finishes), when that search ends (the last of them finishing), and any of them with no finish time."""
    kept = [t for t in trials if t.get("started") is not None and t["started"] < search_s]
    unfinished = [t["number"] for t in kept if t.get("finished") is None]
    end = max((t["finished"] for t in kept if t.get("finished") is not None), default=None)
    return kept, end, unfinished


def records_of(trials: list[dict[str, Any]]) -> list[Any]:
    from automl.store.records import TrialRecord

    return [TrialRecord(number=t["number"], state=t["state"], value=t["value"], params=t["params"],
                        best_epoch=t.get("best_epoch") or 0, epochs_run=t.get("epochs_run") or 0,
                        seconds=(t["finished"] - t["started"]) if t.get("finished") is not None else 0.0,
                        started=t["started"], finished=t["finished"], seed=t.get("seed"), threads=t.get("threads"))
            for t in trials]


def replay(job: dict[str, Any], search_s: float, ds_for_test: Any, test: Any) -> dict[str, Any]:
    from automl.data import load_dataset
    from automl.finalize.select import SelectionSettings, choose_winner
    from automl.space import load_space
    from automl.store.records import ranked
    from automl.training import set_num_threads

    kept, search_end, unfinished = truncate(job["trials"], search_s)
    out: dict[str, Any] = {"seed": job["seed"], "job_commit": job.get("commit", "")[:12], "job_cpu": job.get("cpu"),
                           "trials_started_before_deadline": len(kept), "unfinished": unfinished}
    if unfinished or search_end is None:  # the replay cannot say when this search would have ended
        out["error"] = f"trials {unfinished} have no finish time" if unfinished else "no trial started before the deadline"
        return out
    records = records_of(kept)
    done = ranked(records, "maximize")
    out.update(search_end_s=round(search_end, 1), complete=len(done),
               train_seconds=round(sum(r.seconds for r in records), 1))
    # the selection as finalize runs it: fresh data load, every core, the product's default settings
    cores = len(os.sched_getaffinity(0))
    t0 = time.perf_counter()
    space = load_space(SPACE)
    search_data = load_dataset(space.dataset, base_dir=space.base_dir).for_search()
    set_num_threads(cores)
    sel = choose_winner(records, done, search_data, metric="val_accuracy", direction="maximize", space=space.space,
                        settings=SelectionSettings(), seed=int(job["seed"]), device="cpu", precision="fp32")
    sel_s = time.perf_counter() - t0
    out.update(selection_s=round(sel_s, 1), total_s=round(search_end + sel_s, 1),
               in_budget=search_end + sel_s <= job["budget_s"], selection=sel.report)
    by_number = {t["number"]: t for t in kept}

    def retest(number: int) -> dict[str, Any]:
        t = by_number[number]
        val, acc = _retest_automl(t, ds_for_test, test)
        return {"number": number, "value": t["value"], "retrained_val": val,
                "reproduced": val is not None and abs(val - t["value"]) <= 1e-6, "test_accuracy": acc}

    out["winner"] = retest(sel.winner.number)
    out["best_by_val"] = out["winner"] if done[0].number == sel.winner.number else retest(done[0].number)
    return out


def paired(a: dict[int, float], b: dict[int, float]) -> dict[str, Any] | None:
    from scipy import stats

    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return None
    d = [a[s] - b[s] for s in seeds]
    m = statistics.fmean(d)
    half = stats.t.ppf(0.975, len(d) - 1) * statistics.stdev(d) / len(d) ** 0.5
    return {"seeds": seeds, "diffs": d, "mean": m, "ci95": [m - half, m + half]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=seeds_arg, default=seeds_arg("4-13"))
    ap.add_argument("--search-s", type=float, default=300.0,
                    help="the replayed search's --timeout (the committed run: 300; the space's own: 420)")
    ap.add_argument("--budget-s", type=float, default=600.0)
    ap.add_argument("--jobs-dir", type=Path, default=ROOT / "results/benchmarks/mnist1d_compare_14seeds/jobs")
    ap.add_argument("--rival", default="tpe-median")
    ap.add_argument("--out", type=Path, default=None, help="default: results/benchmarks/mnist1d_select_replay_<S>s")
    args = ap.parse_args()
    args.out = args.out or ROOT / f"results/benchmarks/mnist1d_select_replay_{args.search_s:g}s"
    args.out.mkdir(parents=True, exist_ok=True)

    import torch  # noqa: F401  (before the dataset: the test read below is this run's one read)

    from automl.data import load_dataset

    ds = load_dataset({"name": "mnist1d", "split": {"val": 0.1, "seed": 0}})
    test = ds.read_test("mnist1d_select_replay")  # this run's one read of the sealed test split
    rows, rival = [], {}
    for seed in args.seeds:
        job = json.loads(job_path(args.jobs_dir, "automl-default", seed, args.budget_s).read_text())
        rj = json.loads(job_path(args.jobs_dir, args.rival, seed, args.budget_s).read_text())
        if rj.get("best"):
            rival[seed] = {"test_accuracy": rj["best"]["test_accuracy"], "value": rj["best"]["value"],
                           "trials_in_budget": rj.get("trials_in_budget"), "cpu": rj.get("cpu"),
                           "commit": rj.get("commit", "")[:12]}
        r = replay(job, args.search_s, ds, test)
        r["ten_minute_best_by_val"] = (job.get("best") or {}).get("test_accuracy")
        rows.append(r)
        print(f"seed {seed}: search ends {r.get('search_end_s')} s, selection {r.get('selection_s')} s, "
              f"total {r.get('total_s')} s, winner #{r.get('winner', {}).get('number')} "
              f"test {r.get('winner', {}).get('test_accuracy')}, best-by-val test "
              f"{r.get('best_by_val', {}).get('test_accuracy')}, {args.rival} {rival.get(seed, {}).get('test_accuracy')}",
              flush=True)
        write(args, rows, rival)  # after every seed: a run stopped part-way keeps what it measured


def write(args: argparse.Namespace, rows: list[dict[str, Any]], rival: dict[int, dict[str, Any]]) -> None:
    ok = [r for r in rows if not r.get("error") and r["in_budget"] and r["winner"]["reproduced"]]
    sel = {r["seed"]: r["winner"]["test_accuracy"] for r in ok}
    bv = {r["seed"]: r["best_by_val"]["test_accuracy"] for r in ok}
    ten = {r["seed"]: r["ten_minute_best_by_val"] for r in rows if r.get("ten_minute_best_by_val") is not None}
    riv = {s: v["test_accuracy"] for s, v in rival.items()}
    repro = [r for r in rows if not r.get("error") and r["winner"]["reproduced"] and r["best_by_val"]["reproduced"]]

    def stat(d: dict[int, float]) -> dict[str, Any]:
        v = list(d.values())
        return {"n": len(v), "mean": statistics.fmean(v) if v else None,
                "std": statistics.stdev(v) if len(v) > 1 else None}

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    doc = {"command": "python " + " ".join(sys.argv), "commit": commit,
           "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "cpu": cpu,
           "cores": len(os.sched_getaffinity(0)), "load_average_at_end": list(os.getloadavg()),
           "search_s": args.search_s, "budget_s": args.budget_s, "rival": args.rival,
           "over_budget": [r["seed"] for r in rows if not r.get("error") and not r["in_budget"]],
           "errors": [r["seed"] for r in rows if r.get("error")],
           "not_reproduced": [r["seed"] for r in rows if not r.get("error") and not r["winner"]["reproduced"]],
           "methods": {f"automl search ({args.search_s:g} s) + noise-aware selection": stat(sel),
                       f"automl search ({args.search_s:g} s), best by validation": stat(bv),
                       "automl search (600 s), best by validation": stat(ten), f"{args.rival} (600 s)": stat(riv)},
           "paired": {"rival_minus_selection": paired(riv, sel), "selection_minus_best_by_val_same_search": paired(sel, bv),
                      "selection_minus_600s_best_by_val": paired(sel, ten),
                      # what the selection's pick is worth on test, its time aside (every reproduced seed)
                      "selection_minus_best_by_val_any_time": paired(
                          {r["seed"]: r["winner"]["test_accuracy"] for r in repro},
                          {r["seed"]: r["best_by_val"]["test_accuracy"] for r in repro})},
           "rows": rows, "rival_jobs": rival}
    (args.out / "replay.json").write_text(json.dumps(doc, indent=1, default=str))
    (args.out / "replay.md").write_text(render(doc))


def render(doc: dict[str, Any]) -> str:
    def pct(v: Any) -> str:
        return "-" if v is None else f"{100 * v:.2f}%"

    def pts(p: dict[str, Any] | None) -> str:
        if not p:
            return "-"
        return f"{100 * p['mean']:+.2f} [{100 * p['ci95'][0]:+.2f}, {100 * p['ci95'][1]:+.2f}] over {len(p['seeds'])} seeds"

    L = ["# MNIST-1D: automl's noise-aware selection inside the 10-minute budget (a replay)", "",
         f"`{doc['command']}`: {doc['date']}, commit {doc['commit'][:12]}, {doc['cores']}-core {doc['cpu']}.", "",
         f"Search replayed to a {doc['search_s']:g} s deadline from the committed 10-minute jobs, then the product's "
         "`choose_winner` (default settings) timed on this machine; total = end of the search + selection. "
         "See the script's docstring for what the replay assumes.", "",
         "| method | test accuracy (mean ± std) | seeds |", "|---|---|---|"]
    for m, s in doc["methods"].items():
        std = "" if s["std"] is None else f" ± {100 * s['std']:.2f}"
        L.append(f"| {m} | {pct(s['mean'])}{std} | {s['n']} |")
    L += ["", "Paired by seed (points, mean and two-sided 95% t interval):", "",
          f"- {doc['rival']} (600 s) minus automl with selection: {pts(doc['paired']['rival_minus_selection'])}",
          f"- selection minus best by validation, same {doc['search_s']:g} s search: "
          f"{pts(doc['paired']['selection_minus_best_by_val_same_search'])}",
          f"- selection minus the 600 s search's best by validation: "
          f"{pts(doc['paired']['selection_minus_600s_best_by_val'])}",
          f"- the selection's pick minus best by validation on the same search, its time aside (every seed, in budget "
          f"or not): {pts(doc['paired']['selection_minus_best_by_val_any_time'])}", "",
          f"Over budget (counted apart): {doc['over_budget'] or 'none'}; errors: {doc['errors'] or 'none'}; "
          f"not reproduced: {doc['not_reproduced'] or 'none'}.", "",
          "| seed | trials kept | search ends (s) | within 2 SE | scored | selection (s) | total (s) | winner | "
          "winner test | best-by-val test | 600 s test | rival test |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        if r.get("error"):
            L.append(f"| {r['seed']} | error: {r['error']} |")
            continue
        ev = r["selection"].get("evidence", {})
        riv = doc["rival_jobs"].get(r["seed"], {}).get("test_accuracy")
        L.append(f"| {r['seed']} | {r['trials_started_before_deadline']} | {r['search_end_s']} | "
                 f"{ev.get('candidates_within_noise', '-')} | {ev.get('candidates_scored', '-')} | {r['selection_s']} | "
                 f"{r['total_s']}{'' if r['in_budget'] else ' (over)'} | #{r['winner']['number']} | "
                 f"{pct(r['winner']['test_accuracy'])} | {pct(r['best_by_val']['test_accuracy'])} | "
                 f"{pct(r['ten_minute_best_by_val'])} | {pct(riv)} |")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
