"""How many random trials before TPE's model takes over, checked on real training with automl's shipped spaces.

    python benchmarks/startup_real.py                      # digits_cnn and hemolytic_token_cnn, 16 seeds: ~40 min
    python benchmarks/startup_real.py --spaces digits_cnn --seeds 2 --out /tmp/st   # a minute or two

The surrogate suite (LCBench: 7 hyperparameters) picked `startup_trials: 3` on its development tasks, but automl's
real spaces have 20+ conditional hyperparameters, where a model fitted on 3 trials could lead the search astray.
This runs each shipped space as it is (its own `search:` block: sampler, pruner, 30 trials) with only
`startup_trials` changed, for each setting and seed, through the CLI (`automl search --no-finalize --threads 1`;
`--jobs` searches side by side). The budget is the number of trials, so load on the machine does not change
the results: with one worker and one thread the same seed gives the same search.

What is compared, paired by seed, each setting against the first one (`--settings`, default 10 = the old default):
- `best`: the search's best validation score (its objective, what the user gets) -- the decision figure;
- `after_startup`: the mean validation score of trials number >= the largest startup count (trials 11-30 by
  default: every setting's model is proposing by then), a pruned trial counted at its best reported epoch. It
  asks whether the model's proposals are good, which the best alone (often saturated) cannot.
The test split is not read: no finalize.

Each finished search is kept under `--work` and reused, not run again (benchmarks/real_searches.py).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_searches import paired, run_grid, space_copy  # noqa: E402
from summary import provenance  # noqa: E402


def summarize(runs: dict[str, dict[int, dict[str, Any]]], settings: list[int]) -> dict[str, Any]:
    cut = max(settings)
    sign = 1.0 if next(iter(runs[str(settings[0])].values()))["direction"] == "maximize" else -1.0

    def best(r: dict[str, Any]) -> float:
        return sign * max(sign * t["value"] for t in r["trials"] if not math.isnan(t["value"]))

    def after(r: dict[str, Any]) -> float:
        return statistics.fmean(t["value"] for t in r["trials"] if t["number"] >= cut and not math.isnan(t["value"]))

    base = runs[str(settings[0])]
    out: dict[str, Any] = {}
    for k in settings:
        mine = runs[str(k)]
        row: dict[str, Any] = {"seeds": sorted(mine)}
        for fname, f in (("best", best), ("after_startup", after)):
            vals = [f(mine[s]) for s in sorted(mine)]
            row[fname] = {"mean": statistics.fmean(vals), "values": vals}
            if k != settings[0]:
                seeds = sorted(set(mine) & set(base))
                row[fname].update(paired([sign * (f(mine[s]) - f(base[s])) for s in seeds]))  # > 0: better
        out[str(k)] = row
    return out


def write_markdown(doc: dict[str, Any], path: Path) -> None:
    first = doc["settings"][0]
    lines = ["# `startup_trials` on real training: automl's shipped spaces", "",
             f"`{doc['command']}` · commit `{doc['commit']}` · {doc['date']} · {doc['hardware'].get('cpu')} "
             f"({doc['hardware'].get('cores')} cores) · {doc['wall_s']:.0f} s", "",
             "Each space as shipped (its `search:` block, its trial budget) with only `startup_trials` changed; one "
             "worker, one torch thread; seeds paired. `best` = the search's best validation score (its objective); "
             f"`after startup` = mean validation score of trials numbered >= {max(doc['settings'])} (a pruned trial at "
             "its best reported epoch). Differences: this setting minus "
             f"startup_trials {first}, in the objective's units (> 0: better), mean and two-sided 95% t interval "
             "over seeds; wins / losses / ties by seed. The test split is never read.", ""]
    for name, res in doc["spaces"].items():
        lines += [f"## {name} ({res['metric']}, {res['trials']} trials, {res['n_params']})", "",
                  "| startup_trials | seeds | best (mean) | best: difference [95% interval] (w/l/t) "
                  "| after startup (mean) | after startup: difference [95% interval] (w/l/t) |",
                  "|---|---|---|---|---|---|"]
        for k, row in res["by_setting"].items():
            cells = []
            for f in ("best", "after_startup"):
                r = row[f]
                cells.append(f"{r['mean']:.4f}")
                cells.append("—" if "diff_vs_first" not in r else
                             f"{r['diff_vs_first']:+.4f} [{r['ci95'][0]:+.4f}, {r['ci95'][1]:+.4f}] "
                             f"({r['wins']}/{r['losses']}/{r['ties']})")
            lines.append(f"| {k} | {len(row['seeds'])} | " + " | ".join(cells) + " |")
        lines.append("")
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spaces", default="digits_cnn,hemolytic_token_cnn", help="shipped spaces (search_spaces/NAME.yaml)")
    ap.add_argument("--settings", default="10,3", help="startup_trials values; the first is the reference")
    ap.add_argument("--seeds", type=int, default=16, help="seeds 1..N per space and setting")
    ap.add_argument("--jobs", type=int, default=2, help="searches side by side (one thread each)")
    ap.add_argument("--work", default="/tmp/automl_startup_real", help="run folders (reused when finished)")
    ap.add_argument("--out", default=str(ROOT / "results" / "benchmarks"), help="writes startup_real.{json,md} there")
    a = ap.parse_args(argv)
    settings = [int(x) for x in a.settings.split(",")]
    work = Path(a.work)
    (work / "spaces").mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    prov = provenance()
    doc: dict[str, Any] = {"command": "python benchmarks/startup_real.py" + "".join(f" {x}" for x in (argv or sys.argv[1:])),
                           **prov, "settings": settings, "seeds": a.seeds, "spaces": {}}
    from automl.space import load_space

    for name in a.spaces.split(","):
        paths = {str(k): space_copy(name, f"st{k}", {"startup_trials": k}, work / "spaces") for k in settings}
        sp = load_space(paths[str(settings[0])])
        runs = run_grid(paths, a.seeds, a.jobs, work / name, lambda k, s: f"st{k}-s{s}")
        got = [r for by_seed in runs.values() for r in by_seed.values()]
        sizes = [t["n_params"] for r in got for t in r["trials"]]
        doc["spaces"][name] = {"metric": sp.objective.metric, "trials": sp.search.get("trials", 30),
                               "n_params": f"{min(sizes)}-{max(sizes)} hyperparameters per trial (conditional)",
                               "runs": runs, "by_setting": summarize(runs, settings)}
        print(f"{name}: done, {time.time() - t0:.0f} s", flush=True)
    doc["wall_s"] = time.time() - t0
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "startup_real.json").write_text(json.dumps(doc, indent=1))
    write_markdown(doc, out / "startup_real.md")
    print((out / "startup_real.md").read_text())
    return doc


if __name__ == "__main__":
    main()
