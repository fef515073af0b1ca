"""Pruner settings compared by real training on automl's shipped spaces, at an equal budget of epochs.

    python benchmarks/pruner_real.py                       # digits_cnn and hemolytic_token_cnn, 16 seeds: ~30 min
    python benchmarks/pruner_real.py --spaces digits_cnn --seeds 2 --budget-epochs 60 --out /tmp/pr   # ~2 min

The surrogate suite (LCBench: 7 hyperparameters, smooth predicted curves) picks automl's default pruner on its
development tasks; real curves are noisy and real spaces have 20+ conditional hyperparameters. This runs each
shipped space with only its `search:` block's pruner settings replaced (`--variants NAME=JSON`, the first is the
reference), one worker and one torch thread per search (`--jobs` searches side by side), through the CLI
(`automl search --no-finalize --threads 1`). The budget is epochs summed over trials (`max_total_epochs`; the
search checks it after each trial, so a run may pass it by less than one trial's epochs: the epochs each run
used are reported), so a pruner that stops trials early gets more trials, as it would in use. With one worker
and one thread the same seed gives the same search, whatever the load on the machine.

Compared, paired by seed, each variant against the first: `best` = the search's best validation score (its
objective, what the user gets). The test split is not read: no finalize. Finished searches are kept under
`--work` and reused.
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

DEFAULT_VARIANTS = ['hb3={"pruner": "hyperband", "min_epochs": 3}',
                    'sh5={"pruner": "successive_halving", "min_epochs": 5}']


def space_variant(name: str, label: str, changes: dict[str, Any], budget_epochs: int, folder: Path) -> Path:
    """The shipped space with `changes` and the epoch budget in its `search:` block, its trial cap and its wall-time
    limit lifted: the epochs are the only budget, so the same seed gives the same search whatever the load."""
    return space_copy(name, label, {"timeout": None, **changes, "trials": 10_000, "max_total_epochs": budget_epochs},
                      folder)


def summarize(runs: dict[str, dict[int, dict[str, Any]]], labels: list[str]) -> dict[str, Any]:
    sign = 1.0 if next(iter(runs[labels[0]].values()))["direction"] == "maximize" else -1.0

    def best(r: dict[str, Any]) -> float:
        return sign * max(sign * t["value"] for t in r["trials"] if not math.isnan(t["value"]))

    base = runs[labels[0]]
    out: dict[str, Any] = {}
    for k in labels:
        mine = runs[k]
        seeds = sorted(mine)
        vals = [best(mine[s]) for s in seeds]
        row: dict[str, Any] = {
            "seeds": seeds, "best": {"mean": statistics.fmean(vals), "values": vals},
            "trials_mean": statistics.fmean(len(mine[s]["trials"]) for s in seeds),
            "pruned_share": statistics.fmean(sum(t["state"] == "PRUNED" for t in mine[s]["trials"]) /
                                             len(mine[s]["trials"]) for s in seeds),
            "epochs_mean": statistics.fmean(sum(t["epochs"] for t in mine[s]["trials"]) for s in seeds),
            "failed": sum(t["state"] == "FAIL" for s in seeds for t in mine[s]["trials"]),
        }
        if k != labels[0]:
            both = sorted(set(mine) & set(base))
            row["best"].update(paired([sign * (best(mine[s]) - best(base[s])) for s in both]))  # > 0: better
        out[k] = row
    return out


def write_markdown(doc: dict[str, Any], path: Path) -> None:
    first = doc["labels"][0]
    lines = ["# Pruner settings on real training: automl's shipped spaces, equal epoch budgets", "",
             f"`{doc['command']}` · commit `{doc['commit']}` · {doc['date']} · {doc['hardware'].get('cpu')} "
             f"({doc['hardware'].get('cores')} cores) · {doc['wall_s']:.0f} s", "",
             f"Each space as shipped with only its pruner settings replaced and a budget of {doc['budget_epochs']} "
             "epochs summed over trials (checked after each trial: 'epochs used' shows the overshoot); one worker, "
             "one torch thread; seeds paired. `best` = the search's best validation score (its objective). "
             f"Difference: this variant minus `{first}`, in the objective's units (> 0: better), mean and two-sided "
             "95% t interval over seeds; wins / losses / ties by seed. The test split is never read.", "",
             "Variants: " + "; ".join(f"`{k}` = `{json.dumps(v)}`" for k, v in doc["variants"].items()), ""]
    for name, res in doc["spaces"].items():
        lines += [f"## {name} ({res['metric']}, {doc['budget_epochs']} epochs, max {res['max_epochs']} per trial)", "",
                  "| variant | seeds | trials (mean) | pruned | epochs used (mean) | failed trials | best (mean) "
                  "| best: difference [95% interval] (w/l/t) |", "|---|---|---|---|---|---|---|---|"]
        for k, row in res["by_variant"].items():
            b = row["best"]
            diff = ("—" if "diff_vs_first" not in b else
                    f"{b['diff_vs_first']:+.4f} [{b['ci95'][0]:+.4f}, {b['ci95'][1]:+.4f}] "
                    f"({b['wins']}/{b['losses']}/{b['ties']})")
            lines.append(f"| {k} | {len(row['seeds'])} | {row['trials_mean']:.1f} | {100 * row['pruned_share']:.0f}% "
                         f"| {row['epochs_mean']:.0f} | {row['failed']} | {b['mean']:.4f} | {diff} |")
        lines.append("")
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spaces", default="digits_cnn,hemolytic_token_cnn", help="shipped spaces (search_spaces/NAME.yaml)")
    ap.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS, metavar="NAME=JSON",
                    help="search-block changes; the first is the reference")
    ap.add_argument("--budget-epochs", type=int, default=300, help="epochs summed over trials per search")
    ap.add_argument("--seeds", type=int, default=16, help="seeds 1..N per space and variant")
    ap.add_argument("--jobs", type=int, default=2, help="searches side by side (one thread each)")
    ap.add_argument("--work", default="/tmp/automl_pruner_real", help="run folders (reused when finished)")
    ap.add_argument("--out", default=str(ROOT / "results" / "benchmarks"), help="writes pruner_real.{json,md} there")
    a = ap.parse_args(argv)
    variants = {}
    for v in a.variants:
        label, _, spec = v.partition("=")
        variants[label] = json.loads(spec)
    labels = list(variants)
    t0 = time.time()
    doc: dict[str, Any] = {"command": "python benchmarks/pruner_real.py" + "".join(
        f" {x!r}" if " " in x else f" {x}" for x in (argv if argv is not None else sys.argv[1:])),
        **provenance(), "variants": variants, "labels": labels, "budget_epochs": a.budget_epochs, "seeds": a.seeds,
        "spaces": {}}
    from automl.space import load_space

    for name in a.spaces.split(","):
        folder = Path(a.work) / f"e{a.budget_epochs}"
        (folder / "spaces").mkdir(parents=True, exist_ok=True)
        paths = {k: space_variant(name, k, variants[k], a.budget_epochs, folder / "spaces") for k in labels}
        sp = load_space(paths[labels[0]])
        runs = run_grid(paths, a.seeds, a.jobs, folder / name, lambda k, s: f"{k}-s{s}")
        doc["spaces"][name] = {"metric": sp.objective.metric, "max_epochs": sp.raw.get("training", {}).get("max_epochs"),
                               "runs": runs, "by_variant": summarize(runs, labels)}
        print(f"{name}: done, {time.time() - t0:.0f} s", flush=True)
    doc["wall_s"] = time.time() - t0
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pruner_real.json").write_text(json.dumps(doc, indent=1))
    write_markdown(doc, out / "pruner_real.md")
    print((out / "pruner_real.md").read_text())
    return doc


if __name__ == "__main__":
    main()
