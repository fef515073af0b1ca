"""The searched model next to a trivial and a linear baseline, as every finalize report shows them.

One `automl search` per space (`--trials`, default 12; 1 worker), then the default
finalize (noise-aware selection, one test read). The table copies each report.json: the searched winner and
the two baselines (majority class / training mean; logistic regression / ridge), on validation and test.

    python benchmarks/baselines.py --out results/benchmarks      # about 5 minutes on 2 CPU cores
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPACES = {
    "digits": ROOT / "search_spaces" / "digits_cnn.yaml",
    "wine": ROOT / "examples" / "wine_tutorial.yaml",
    "breast_cancer": ROOT / "search_spaces" / "breast_cancer_mlp.yaml",
    "diabetes": ROOT / "search_spaces" / "diabetes_mlp.yaml",
}


def run(name: str, space: Path, work: Path, seed: int, trials: int | None) -> dict:
    from automl.backends.prepare import start_search
    from automl.finalize import finalize_run

    t0 = time.time()
    info = start_search(space, study=name, root=work, seed=seed, workers=1, trials=trials)
    rep = finalize_run(info).data
    metric = rep["objective"]["metric"]
    key = metric.removeprefix("val_")
    rows = [{"model": f"searched (trial #{rep['best']['trial']})", "val": rep["best"]["val_metrics"].get(metric),
             "test": rep["best"]["test_metrics"].get(key)}]
    rows += [{"model": b["name"], "val": b["val_metrics"].get(metric), "test": b["test_metrics"].get(key)}
             for b in rep["baselines"]]
    return {"dataset": name, "space": str(space.relative_to(ROOT)), "metric": metric, "n_val": rep["data"]["n_val"],
            "n_test": rep["data"]["n_test"], "trials": rep["budget"]["trials"], "rows": rows,
            "selection": rep["selection"].get("why"), "test_reads": rep["test_reads"], "seconds": round(time.time() - t0, 1)}


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", default=list(SPACES))
    ap.add_argument("--trials", type=int, default=12, help="trials per search (the spaces' own: 30-40)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        res = [run(n, SPACES[n], Path(work), args.seed, args.trials) for n in args.only]
    lines = ["# Searched model vs baselines (validation / test, each report's single test read)", "",
             "| dataset | metric | n val / test | searched | trivial | linear |", "|---|---|---|---|---|---|"]
    for r in res:
        cells = [f"{x['val']:.4f} / {x['test']:.4f}" for x in r["rows"]]
        lines.append(f"| {r['dataset']} | {r['metric']} | {r['n_val']} / {r['n_test']} | " + " | ".join(cells) + " |")
    lines += ["", f"Search seed {args.seed}, {args.trials} trials per search (TPE + each space's pruner), 1 worker; "
              f"{sum(r['seconds'] for r in res):.0f} s in all."]
    md = "\n".join(lines)
    print(md)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "baselines.json").write_text(json.dumps(res, indent=2))
        (args.out / "baselines.md").write_text(md + "\n")
    return res


if __name__ == "__main__":
    main()
