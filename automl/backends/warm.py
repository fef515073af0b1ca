"""Warm start: earlier runs' finished trials seed a new search (`automl search SPACE --warm-start RUN`).

Per source run, one of two modes:
- *taken*: same data (the content hash of the train/validation arrays), same space (hash of `model` +
  `training`) and same objective: its COMPLETE and PRUNED trials are added to the new study as they are, with
  their values and curves, without retraining. They are records of the new run (note "taken from RUN#N"), but
  use none of its trial or epoch budget (status `warm`), and their epochs_run/seconds are 0: nothing trained here.
- *enqueued*: anything else (other data, a changed space, another objective): the source's top-k COMPLETE
  configs by its own objective are mapped onto the new space (`automl.space.warm.map_config`) and queued to run
  first; each carries a note of what the mapping changed. They train and count like any trial.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl.space import SearchSpace
from automl.space.errors import UserInputError
from automl.space.warm import Mapped, map_config, space_hash
from automl.store.records import TrialRecord, ranked
from automl.store.run import RunInfo, load_run

WARM = "warm"  # the `status` user attr of a taken trial: not trained in this run, no budget used


@dataclass
class Seed:
    source: str  # "<study>#<trial number>"
    mapped: Mapped
    note: str
    record: TrialRecord | None = None  # taken mode: the finished trial to add as it is


@dataclass
class WarmPlan:
    taken: list[Seed] = field(default_factory=list)
    enqueued: list[Seed] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # what the progress printer says
    sources: list[dict[str, Any]] = field(default_factory=list)  # what the manifest records


def data_fingerprint(dataset: Any) -> str:
    """Content hash of the search data (train + validation arrays, dtypes and shapes): "same data"."""
    h = hashlib.sha256()
    for split in (dataset.train, dataset.val):
        for t in (split.x, split.y):
            a = t.detach().cpu().contiguous().numpy()
            h.update(f"{a.dtype}{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()[:16]


def load_sources(runs: list[str | Path], root: Path, top: int = 10) -> list[tuple[RunInfo, list[TrialRecord]]]:
    """Each --warm-start run and its trials, read before anything of the new run is written."""
    from automl.store.results import load_trials

    if top < 1:
        raise UserInputError(f"--warm-start-top {top} must be at least 1.")
    out = []
    for run in runs:
        try:
            info = load_run(run, root=root)
        except UserInputError as e:
            raise UserInputError(f"--warm-start {run}: {e}") from None
        records = load_trials(info)
        if not any(r.state == "COMPLETE" and r.value is not None for r in records):
            raise UserInputError(f"--warm-start {run}: run {info.run_dir} has no completed trial to start from "
                                 f"({len(records)} trials); pick a run with at least one.")
        out.append((info, records))
    return out


def plan(sources: list[tuple[RunInfo, list[TrialRecord]]], space: SearchSpace, *, fingerprint: str, metric: str,
         direction: str, top: int, take: bool = True) -> WarmPlan:
    """Decide each source's mode and map its trials; a source none of whose configs maps is an error.
    `take`: the backend can add finished trials (Optuna); Ray's searcher only takes points to evaluate."""
    p, shash = WarmPlan(), space_hash(space.raw)
    for info, records in sources:
        s = info.settings
        same_data = s.get("data_fingerprint") == fingerprint
        same_space = s.get("space_hash") == shash
        same_obj = (s.get("metric"), s.get("direction")) == (metric, direction)
        name = info.study
        if take and same_data and same_space and same_obj:
            seeds = [_seed(name, r, space, "taken from {src} without retraining") for r in records
                     if r.state in ("COMPLETE", "PRUNED")]
            seeds = [x for x in seeds if x is not None and x.mapped.complete and not x.mapped.changes]
            p.taken += seeds
            p.lines.append(f"  warm start: {len(seeds)} trials taken from {name} without retraining (same data, "
                           "space and objective)")
            p.sources.append({"run": str(info.run_dir), "mode": "taken", "trials": len(seeds)})
            continue
        why = ", ".join(w for w, ok in (("other data", same_data), ("a changed space", same_space),
                                         (f"objective {s.get('metric')} ({s.get('direction')})", same_obj),
                                         ("this backend re-evaluates", take)) if not ok)
        best = ranked(records, str(s.get("direction") or direction))
        seeds, skipped = [], []
        for r in best:
            if len(seeds) >= top:
                break
            x = _seed(name, r, space, "enqueued from {src} (" + f"{s.get('metric')}={r.value:.4g}" + ")")
            (seeds.append(x) if isinstance(x, Seed) else skipped.append(f"#{r.number}: {x}"))
        if not seeds:
            raise UserInputError(
                f"--warm-start {name}: none of its {len(best)} completed trials maps onto space {space.source}: "
                + "; ".join(skipped[:3]) + ". Start without --warm-start, or from a run of a closer space.")
        p.enqueued += seeds
        p.lines.append(f"  warm start: the top {len(seeds)} configs of {name} run first ({why})"
                       + (f"; {len(skipped)} skipped, e.g. {skipped[0]}" if skipped else ""))
        p.sources.append({"run": str(info.run_dir), "mode": "enqueued", "trials": len(seeds), "why": why,
                          "seeds": [{"from": x.source, "note": x.note, "params": x.mapped.params} for x in seeds]})
    return p


def _seed(name: str, r: TrialRecord, space: SearchSpace, template: str) -> Seed | str:
    mapped, why = map_config(r.params, space.space)
    if mapped is None:
        return why
    src = f"{name}#{r.number}"
    note = template.format(src=src) + ("; " + "; ".join(mapped.changes) if mapped.changes else "")
    return Seed(source=src, mapped=mapped, note=note, record=r)


def _distribution(d: tuple[Any, ...]) -> Any:
    import optuna

    if d[0] == "float":
        return optuna.distributions.FloatDistribution(d[1], d[2], log=d[3], step=d[4])
    if d[0] == "int":
        return optuna.distributions.IntDistribution(d[1], d[2], log=d[3], step=d[4])
    return optuna.distributions.CategoricalDistribution(list(d[1]))


def seed_optuna(study: Any, p: WarmPlan, metric: str) -> None:
    """Taken trials are added as finished (TPE and the pruners see them); the others are queued to run first."""
    import optuna

    trials = []
    for x in p.taken:
        r = x.record
        assert r is not None
        curve = {int(h.get("epoch", i)): float(h[metric]) for i, h in enumerate(r.history)
                 if isinstance(h.get(metric), (int, float)) and math.isfinite(h[metric])}
        attrs = {"status": WARM, "warm_from": x.source, "warm_note": x.note, "history": r.history,
                 "best_epoch": r.best_epoch, "epochs_run": 0, "seconds": 0.0, "n_params": r.n_params,
                 "seed": r.seed, "threads": r.threads, "precision": r.precision, "compiled": r.compiled,
                 "reason": r.reason, "value": r.value}
        complete = r.state == "COMPLETE"
        trials.append(optuna.trial.create_trial(
            state=optuna.trial.TrialState.COMPLETE if complete else optuna.trial.TrialState.PRUNED,
            value=r.value if complete else None, params=x.mapped.params,
            distributions={k: _distribution(d) for k, d in x.mapped.dists.items()},
            user_attrs=attrs, intermediate_values=curve))
    if trials:
        study.add_trials(trials)
    for x in p.enqueued:
        study.enqueue_trial(x.mapped.params, user_attrs={"warm_from": x.source, "warm_note": x.note},
                            skip_if_exists=False)


def points(p: WarmPlan) -> list[dict[str, Any]]:
    """Ray: the configs as Tune's `points_to_evaluate` (OptunaSearch enqueues them; sampled params filled in)."""
    return [x.mapped.params for x in [*p.taken, *p.enqueued]]


def with_notes(records: list[TrialRecord], info: RunInfo) -> list[TrialRecord]:
    """Ray: Tune keeps no note of ours; its first trials are the seeded points, in order (from the manifest)."""
    seeds = [x for src in info.settings.get("warm_start") or [] for x in src.get("seeds", [])]
    for r, x in zip(sorted(records, key=lambda r: r.number), seeds, strict=False):  # fewer trials than seeds
        if all(r.params.get(k) == v for k, v in x["params"].items()):
            r.note = x["note"]
    return records


__all__ = ["WARM", "WarmPlan", "data_fingerprint", "load_sources", "plan", "points", "seed_optuna", "with_notes"]
