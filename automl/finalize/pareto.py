"""Two objectives: the validation metric and a cost to minimise; the Pareto front, its pruning rule, and the pick.

A space may name a cost next to its validation metric:

    objective: [{metric: val_accuracy, direction: maximize}, {metric: n_params, direction: minimize}]

Costs (`COST_METRICS`): `n_params` (trainable and frozen parameters, counted when the model is built),
`latency_ms` (inference milliseconds per sample at batch size 1 on the trial's device, measured once right after
the model is built: it does not depend on the weights), `train_seconds` (the trial's training wall time).

Pruning (Optuna's `should_prune` does not exist for two objectives, so automl decides): at each rung epoch
e = min_epochs * reduction_factor**k (below the trial's last epoch), a running trial is stopped when a trial
already on the front (COMPLETE, not dominated) *dominates it at that epoch*: the front trial's best validation
value over its first e epochs is at least as good, its cost is at most the running trial's cost, and one of
the two strictly better. The running trial's cost is exact for `n_params` and `latency_ms` (known before the first
epoch); for `train_seconds` it is the seconds spent so far, a lower bound of its final cost, so the rule never
prunes a trial that could still end up cheaper than the trial that dominates it. Comparing curves at the same
epoch (not a finished trial's final value against a young curve) is what successive halving does with one
objective; like it, the rule favours models that learn fast early.

Nothing here imports torch or optuna.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from automl.space.errors import UserInputError

COST_METRICS: dict[str, str] = {
    "n_params": "parameter count of the model (known when it is built)",
    "latency_ms": "inference milliseconds per sample at batch size 1 on the trial's device (measured once when the "
                  "model is built)",
    "train_seconds": "the trial's training wall time in seconds",
}
# pruners of a rung schedule: with a cost objective they prune by the Pareto rung rule above
RUNG_PRUNERS = ("hyperband", "successive_halving", "asha")
KNEE = "knee"


@dataclass(frozen=True)
class Point:
    """A COMPLETE trial as the front sees it: its validation value and its cost."""

    trial: int
    value: float
    cost: float


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def dominates(a: tuple[float, float], b: tuple[float, float], maximize: bool) -> bool:
    """(value, cost) `a` is at least as good as `b` in both and strictly better in one (cost is minimised)."""
    va, ca = a
    vb, cb = b
    better_v = va > vb if maximize else va < vb
    same_or_better_v = va >= vb if maximize else va <= vb
    return same_or_better_v and ca <= cb and (better_v or ca < cb)


def pareto_front(points: Sequence[Point], maximize: bool) -> list[Point]:
    """The non-dominated points, cheapest first; of exact ties (same value and cost) the earliest trial."""
    pts = [p for p in points if _finite(p.value) and _finite(p.cost)]
    front, seen = [], set()
    for p in sorted(pts, key=lambda p: (p.cost, -p.value if maximize else p.value, p.trial)):
        if (p.value, p.cost) in seen:
            continue
        if not any(dominates((q.value, q.cost), (p.value, p.cost), maximize) for q in pts):
            front.append(p)
            seen.add((p.value, p.cost))
    return front


def points_of(records: Sequence[Any]) -> list[Point]:
    """COMPLETE trial records with a finite value and cost as points."""
    return [Point(r.number, float(r.value), float(r.cost)) for r in records
            if r.state == "COMPLETE" and _finite(r.value) and _finite(getattr(r, "cost", None))]


def hypervolume(front: Sequence[Point], maximize: bool, ref: tuple[float, float], log: bool = True) -> float:
    """Area dominated by the front and bounded by `ref` = (worst value, largest cost): the integral over the cost
    axis (log10 when `log` and all costs are positive, as the figure draws it) of how far the best value bought
    for at most that cost is above the worst. It only grows as the front improves."""
    pts = sorted((p for p in front if p.cost <= ref[1]), key=lambda p: p.cost)
    if not pts:
        return 0.0
    log = log and pts[0].cost > 0 and ref[1] > 0
    tx = (lambda c: math.log10(c)) if log else (lambda c: c)
    sign = 1.0 if maximize else -1.0
    area, best = 0.0, 0.0
    for p, nxt in zip(pts, [*(q.cost for q in pts[1:]), ref[1]], strict=True):
        best = max(best, sign * (p.value - ref[0]))
        area += (tx(nxt) - tx(p.cost)) * best
    return area


# --- the pruning rule ---------------------------------------------------------------------------------------

def rungs(min_epochs: int, reduction_factor: int, max_epochs: int) -> list[int]:
    """Epochs at which the rule looks: min_epochs * reduction_factor**k, below max_epochs."""
    out, e = [], max(1, int(min_epochs))
    while e < max_epochs:
        out.append(e)
        e *= max(2, int(reduction_factor))
    return out


def best_by(history: Sequence[dict[str, float]], metric: str, epoch: int, maximize: bool) -> float | None:
    """The best value of `metric` over the first `epoch` epochs of a curve (None: nothing finite)."""
    vals = [h.get(metric) for h in history if int(h.get("epoch", 0)) <= epoch]
    vals = [float(v) for v in vals if _finite(v)]
    if not vals:
        return None
    return max(vals) if maximize else min(vals)


@dataclass(frozen=True)
class Curve:
    """A front trial as the rule compares against it: its cost and its validation curve."""

    trial: int
    value: float
    cost: float
    history: tuple[dict[str, float], ...]


def dominated_at_rung(epoch: int, value: float, cost: float, front: Sequence[Curve], metric: str,
                      maximize: bool) -> str | None:
    """Why a trial whose best value by `epoch` is `value` and whose cost is (at least) `cost` is dominated at this
    epoch by a front trial's curve, or None when it is not."""
    for f in front:
        fv = best_by(f.history, metric, epoch, maximize)
        if fv is not None and dominates((fv, f.cost), (value, cost), maximize):
            return (f"dominated at epoch {epoch} by front trial #{f.trial} ({metric} {fv:.4g} by epoch {epoch} "
                    f"against {value:.4g}; cost {f.cost:.4g} against {cost:.4g})")
    return None


# --- choosing a point (finalize --pick) ---------------------------------------------------------------------

_BOUND = re.compile(r"^\s*([a-z_]+)\s*(<=|<)\s*([0-9.eE+-]+)\s*$")


def check_pick(pick: str, cost_metric: str | None) -> None:
    """Refuse a malformed --pick before anything runs (a search would otherwise finalize with it at its end)."""
    if cost_metric is None:
        raise UserInputError(f"--pick {pick!r} chooses a point of a Pareto front, but this run has one objective; "
                             "--pick applies to runs whose space names a cost objective (objective: [{metric: ...}, "
                             "{metric: n_params, direction: minimize}]). Leave --pick out.")
    _parse_pick(pick, cost_metric)


def _parse_pick(pick: str, cost_metric: str) -> tuple[str, float | int | None]:
    text = str(pick).strip()
    if text.lower() == KNEE:
        return KNEE, None
    if re.fullmatch(r"\d+", text):
        return "index", int(text)
    m = _BOUND.match(text)
    if m and m.group(1) in (cost_metric, "cost"):
        try:
            return m.group(2), float(m.group(3))
        except ValueError:
            pass
    raise UserInputError(
        f"--pick {pick!r} is not a way to choose a point of the front; allowed: an index into the front ordered "
        f"cheapest first (0, 1, ...), a cost bound ('{cost_metric}<=N': the best validation value among front points "
        f"costing at most N), or 'knee' (the point farthest from the line between the cheapest and the best point).")


def knee(front: Sequence[Point], maximize: bool) -> Point:
    """The front point farthest from the straight line between its two ends, with the validation value and the
    cost (log10 when all are positive) both scaled to [0, 1]: where extra cost stops buying much validation value.
    Fronts of one or two points: the best value."""
    pts = sorted(front, key=lambda p: p.cost)
    if len(pts) <= 2:
        return max(pts, key=lambda p: (p.value if maximize else -p.value, -p.cost))
    log = all(p.cost > 0 for p in pts)
    xs = [math.log10(p.cost) if log else p.cost for p in pts]
    ys = [p.value if maximize else -p.value for p in pts]
    sx, sy = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    nx = [(x - min(xs)) / sx for x in xs]
    ny = [(y - min(ys)) / sy for y in ys]
    (x0, y0), (x1, y1) = (nx[0], ny[0]), (nx[-1], ny[-1])
    norm = math.hypot(x1 - x0, y1 - y0) or 1.0
    dist = [((y1 - y0) * x - (x1 - x0) * y + x1 * y0 - y1 * x0) / norm for x, y in zip(nx, ny, strict=True)]
    # above the chord (more value than the straight trade-off) is positive with this orientation
    i = max(range(len(pts)), key=lambda k: (-dist[k], -k))
    return pts[i]


def pick_point(front: Sequence[Point], pick: str, cost_metric: str, maximize: bool) -> tuple[Point, str]:
    """The front point `pick` names (see `_parse_pick`) and a sentence saying why it was chosen."""
    pts = sorted(front, key=lambda p: p.cost)
    if not pts:
        raise UserInputError("The run has no COMPLETE trial with a finite cost: there is no front to pick from.")
    how, arg = _parse_pick(pick, cost_metric)
    table = "; ".join(f"{i}: #{p.trial} {p.value:.4g} at {cost_metric} {p.cost:.4g}" for i, p in enumerate(pts))
    if how == KNEE:
        p = knee(pts, maximize)
        return p, (f"knee of the {len(pts)}-point front (farthest from the line between its cheapest and its best "
                   f"point, cost on a log scale): trial #{p.trial}")
    if how == "index":
        if not 0 <= int(arg) < len(pts):  # type: ignore[arg-type]
            raise UserInputError(f"--pick {pick}: the front has {len(pts)} point(s), indexed 0..{len(pts) - 1} "
                                 f"cheapest first ({table}).")
        p = pts[int(arg)]  # type: ignore[arg-type]
        return p, f"front point {arg} of {len(pts)} (cheapest first): trial #{p.trial}"
    bound = float(arg)  # type: ignore[arg-type]
    ok = [p for p in pts if (p.cost <= bound if how == "<=" else p.cost < bound)]
    if not ok:
        raise UserInputError(f"--pick {pick!r}: no front point has {cost_metric} {how} {bound:g}; the cheapest costs "
                             f"{pts[0].cost:.4g} (front: {table}).")
    p = max(ok, key=lambda p: (p.value if maximize else -p.value, -p.cost))
    return p, f"best validation value among front points with {cost_metric} {how} {bound:g}: trial #{p.trial}"


def front_table(front: Sequence[Point], cost_metric: str) -> str:
    return "; ".join(f"{i}: #{p.trial} value {p.value:.4g}, {cost_metric} {p.cost:.4g}"
                     for i, p in enumerate(sorted(front, key=lambda p: p.cost)))


def pareto_pick(records: Sequence[Any], pick: str | None, cost_metric: str, direction: str,
                run_dir: Any) -> tuple[Any, dict[str, Any]]:
    """finalize with a cost objective: the picked front trial as a `Selection`, and report.json's `pareto` block."""
    from automl.finalize.select import Selection

    maximize = direction == "maximize"
    front = sorted(pareto_front(points_of(records), maximize), key=lambda p: p.cost)
    if pick is None:
        raise UserInputError(
            f"Run {run_dir} searched two objectives (the validation metric and {cost_metric}): choose the point of "
            f"its Pareto front to test with --pick: an index (cheapest first), a cost bound ('{cost_metric}<=N') or "
            f"'knee'. Its front: {front_table(front, cost_metric) or 'empty'}.")
    point, why = pick_point(front, pick, cost_metric, maximize)
    winner = next(r for r in records if r.number == point.trial)
    index = front.index(point)
    rows = [{"index": i, "trial": p.trial, "value": p.value, "cost": p.cost} for i, p in enumerate(front)]
    block = {"cost_metric": cost_metric, "pick": str(pick), "why": why, "front": rows, "picked": rows[index],
             "pruned": sum(r.state == "PRUNED" for r in records),
             "epochs": sum(int(r.epochs_run or 0) for r in records)}
    rep = {"method": "Pareto front pick", "why": why, "search_best": front[-1].trial if front else None}
    return Selection(winner, rep), block


def final_cost(cost_metric: str, model: Any, summary: Any, val_x: Any, device: Any, precision: str,
               result: Any) -> float:
    """The tested model's cost, measured as the search measured it (latency again, on finalize's device)."""
    if cost_metric == "n_params":
        return float(sum(p.numel() for p in model.parameters()))
    if cost_metric == "latency_ms":
        from automl.trial.cost import inference_latency_ms

        return inference_latency_ms(model, val_x, device, precision)
    return float(result.seconds)


# --- what a search with a cost objective cannot do ----------------------------------------------------------

def check_search(cost_metric: str | None, *, backend: Any, settings: Any, warm_start: bool) -> None:
    """Refuse, before anything is written, the options that do not combine with a cost objective (exit 2)."""
    if cost_metric is None:
        return
    if not getattr(backend, "multi_objective", False):
        raise UserInputError(
            f"objective: a cost objective ({cost_metric}) is supported with --backend optuna only; the {backend.name} "
            "backend's schedulers and searchers rank trials on one metric. Allowed with --backend "
            f"{backend.name}: a single objective (objective: {{metric: val_accuracy}}); or use --backend optuna.")
    if warm_start:
        raise UserInputError("--warm-start does not combine with a cost objective (objective lists two metrics): "
                             "earlier runs' trials carry one value. Leave --warm-start out.")
    if getattr(settings, "auto", False):
        raise UserInputError("--budget auto watches one objective stalling; with a cost objective the front can still "
                             "move. Use --budget fixed with --trials, --timeout or --max-total-epochs.")
    sampler = getattr(settings, "sampler", None)
    if sampler == "cmaes":
        raise UserInputError("--sampler cmaes cannot search two objectives (Optuna's CMA-ES is single-objective); "
                             "allowed with a cost objective: tpe, random, gp, qmc, grid.")
    pruner = getattr(settings, "pruner", None)
    if pruner in ("median", "percentile"):
        raise UserInputError(f"--pruner {pruner} compares one value against other trials'; with a cost objective "
                             f"allowed: {', '.join(RUNG_PRUNERS)} (the Pareto rung rule at their rungs: see "
                             "automl/finalize/pareto.py) or none.")
