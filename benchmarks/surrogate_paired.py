"""Paired comparison of automl variants against `automl-default` in surrogate-suite runs files.

    python benchmarks/surrogate_paired.py results/benchmarks/surrogate.defaults_dev_b5.runs.json.gz

For every (task, seed) both strategies ran, the difference of their final best validation errors (default minus
variant: positive = the variant found a better model); prints the mean, its standard error, and wins/losses/ties.
Median speed-ups (surrogate.md) answer "how fast"; this answers "how good at the end", paired, so that the
task-to-task spread (several points of error) does not hide a consistent gain.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import statistics
from pathlib import Path


def paired(runs: list[dict], base: str = "automl-default") -> dict[str, dict[str, float]]:
    final = {(r["strategy"], r["task"], r["seed"]): float(r["final"]) for r in runs}
    out: dict[str, dict[str, float]] = {}
    for name in sorted({r["strategy"] for r in runs} - {base, "random"}):
        d = [final[(base, t, s)] - v for (n, t, s), v in final.items() if n == name and (base, t, s) in final]
        if not d:
            continue
        sd = statistics.stdev(d) if len(d) > 1 else math.nan
        out[name] = {"pairs": len(d), "mean_gain": statistics.fmean(d), "se": sd / math.sqrt(len(d)),
                     "wins": sum(x > 0 for x in d), "losses": sum(x < 0 for x in d), "ties": sum(x == 0 for x in d)}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="surrogate.runs.json.gz files")
    ap.add_argument("--base", default="automl-default")
    a = ap.parse_args(argv)
    for f in a.runs:
        with gzip.open(Path(f), "rt") as fh:
            res = paired(json.load(fh), a.base)
        print(f"{f}: final validation error, {a.base} minus variant (points; > 0: the variant is better)")
        for name, r in res.items():
            print(f"  {name:>20}: {r['mean_gain']:+.3f} (se {r['se']:.3f}) over {r['pairs']} pairs; "
                  f"wins {r['wins']}, losses {r['losses']}, ties {r['ties']}")


if __name__ == "__main__":
    main()
