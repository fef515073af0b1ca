"""Choosing the winner beyond validation noise, without the test split.

On a small validation split the top trials often differ by less than the split can resolve (wine: 27 rows,
12 of 16 trials tie at accuracy 1.0), and picking by trial number is a coin toss. So:

1. The noise of the best validation value: a binomial standard error (Agresti-Coull, so it is not 0 at 100%)
   for accuracies, a bootstrap over the validation rows of the retrained best model for other metrics.
2. Candidates: complete trials within two standard errors of the best (at most `max_candidates`).
3. With more than one candidate, each is re-scored by k-fold cross-validation over train+validation (stratified
   for classification; early stopping on each held-out fold, as the search did on validation), within a time
   budget of about a quarter of the search's own training time (3 folds instead of 5 when two candidates at 5
   would not fit it); the winner has the best mean. The budget is a target, not a bound: two candidates are
   always scored, so long trials still pass it (MNIST-1D, 300 s searches: 5 of 10 over, by up to 1.44x).
Nothing here can touch the test split: the folds are built from train and validation only.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from automl.data.dataset import Dataset, SealedSplit, Split
from automl.store.records import TrialRecord

ACCURACY_METRICS = ("val_accuracy", "val_balanced_accuracy")
MIN_FOLDS = 3  # the default over 5,000 rows, and the fewest used to fit the budget


@dataclass
class SelectionSettings:
    enabled: bool = True
    z: float = 2.0  # candidates within z standard errors of the best validation value
    max_candidates: int = 8
    folds: int | None = None  # default: 5 up to 5,000 train+validation rows, else 3; 3 when 5 would not fit the budget
    budget_fraction: float = 0.25  # of the search's summed training seconds
    min_budget_seconds: float = 60.0
    bootstrap: int = 300


@dataclass
class Selection:
    winner: TrialRecord
    report: dict[str, Any] = field(default_factory=dict)


def binomial_se(p: float, n: int) -> float:
    """Agresti-Coull standard error of a proportion: finite and > 0 even at p = 0 or 1."""
    n_t = n + 4
    p_t = (p * n + 2) / n_t
    return math.sqrt(p_t * (1 - p_t) / n_t)


def bootstrap_se(task: str, metric: str, outputs: torch.Tensor, targets: torch.Tensor, n_boot: int, seed: int,
                 loss_fn: Any = None) -> float:
    """Standard deviation of `metric` over bootstrap resamples of the validation rows."""
    from automl.training import compute_metrics

    key = metric.removeprefix("val_")
    gen = torch.Generator().manual_seed(seed)
    n = int(outputs.shape[0])
    vals = []
    for _ in range(n_boot):
        idx = torch.randint(0, n, (n,), generator=gen)
        if key == "loss":
            v = float(loss_fn(outputs[idx], targets[idx]))
        else:
            v = compute_metrics(task, outputs[idx], targets[idx]).get(key, math.nan)
        if math.isfinite(v):
            vals.append(v)
    return statistics.stdev(vals) if len(vals) > 1 else 0.0


def fold_datasets(dataset: Dataset, k: int, seed: int) -> list[Dataset]:
    """k (train, held-out) datasets over train+validation; the test split is withheld from every one."""
    from sklearn.model_selection import KFold, StratifiedKFold

    x = torch.cat([dataset.train.x, dataset.val.x])
    y = torch.cat([dataset.train.y, dataset.val.y])
    n = int(x.shape[0])
    splitter: Any = KFold(k, shuffle=True, random_state=seed)
    labels = np.zeros(n)
    if dataset.spec.task != "regression":
        labels = y.reshape(-1).long().numpy()
        if np.bincount(labels).min(initial=k) >= k:
            splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
    out = []
    for tr, va in splitter.split(np.zeros(n), labels):
        tr_t, va_t = torch.as_tensor(tr), torch.as_tensor(va)
        out.append(Dataset(dataset.spec, Split(x[tr_t], y[tr_t]), Split(x[va_t], y[va_t]),
                           SealedSplit.withheld(dataset.n_test), dict(dataset.info)))
    return out


def choose_winner(records: list[TrialRecord], ranked_done: list[TrialRecord], dataset: Dataset, *, metric: str,
                  direction: str, space: Any, settings: SelectionSettings, seed: int, device: str,
                  precision: str, best_val_outputs: tuple[torch.Tensor, torch.Tensor] | None = None,
                  loss_fn: Any = None) -> Selection:
    """The winner and a JSON-able account of why it won (candidates, their evidence, the noise)."""
    from automl.space import config_from_params
    from automl.trial import run_trial

    best = ranked_done[0]
    n_val = len(dataset.val)
    rep: dict[str, Any] = {"method": "noise-aware" if settings.enabled else "best validation value",
                           "search_best": best.number}
    if not settings.enabled:
        rep["why"] = f"trial #{best.number} has the best validation {metric} (noise-aware selection switched off)"
        return Selection(best, rep)
    if metric in ACCURACY_METRICS:
        se, how = binomial_se(float(best.value), n_val), f"binomial standard error (Agresti-Coull) at n_val={n_val}"
    elif best_val_outputs is not None:
        se = bootstrap_se(dataset.spec.task, metric, *best_val_outputs, n_boot=settings.bootstrap, seed=seed,
                          loss_fn=loss_fn)
        how = f"bootstrap ({settings.bootstrap} resamples of the {n_val} validation rows) of the retrained best model"
    else:
        se, how = 0.0, "unknown (the best model could not be retrained)"
    band = settings.z * se
    sign = 1.0 if direction == "maximize" else -1.0
    within = [r for r in ranked_done if sign * (float(best.value) - float(r.value)) <= band + 1e-12]
    rep["noise"] = {"se": se, "how": how, "z": settings.z, "band": band, "n_val": n_val, "n_within": len(within)}
    n_tv = len(dataset.train) + len(dataset.val)
    k_default = settings.folds or (5 if n_tv <= 5000 else MIN_FOLDS)
    train_seconds = sum(r.seconds for r in records)
    budget = max(settings.min_budget_seconds, settings.budget_fraction * train_seconds)

    def cost(r: TrialRecord, k: int) -> float:  # k trainings on (k-1)/k of train+validation, at the trial's pace
        return max(0.05, r.seconds or 1.0) * (n_tv * (k - 1) / k) / max(1, len(dataset.train)) * k

    # Two candidates are the least that is a choice. When two at the default fold count would not fit the budget
    # (long trials, a short search), fewer folds keep it near the budget: every row is still held out once, each
    # fold model trains on a little less. A fold count the user set is kept as set.
    # One trial clear of the rest is no choice: nothing is re-scored, so no fold count is cut for it.
    contested = len(within) > 1
    k = k_default
    if settings.folds is None and k > MIN_FOLDS and contested and sum(cost(r, k) for r in within[:2]) > budget:
        k = MIN_FOLDS
    chosen: list[TrialRecord] = []
    spent = 0.0
    for r in within[: settings.max_candidates]:
        if len(chosen) >= 2 and spent + cost(r, k) > budget:
            break
        chosen.append(r)
        spent += cost(r, k)
    rep["evidence"] = {"kind": f"{k}-fold cross-validation over train+validation ({n_tv} rows)", "folds": k,
                       "budget_seconds": round(budget, 1), "estimated_seconds": round(spent, 1),
                       "candidates_within_noise": len(within), "candidates_scored": len(chosen) if contested else 0}
    if k != k_default:
        rep["evidence"]["folds_reduced_from"] = k_default
        rep["evidence"]["kind"] = (f"{k}-fold cross-validation over train+validation ({n_tv} rows; {k} rather than "
                                   f"{k_default} folds, to keep two candidates near the time budget)")
    if not contested:
        rep["candidates"] = [_cand(best, None)]
        rep["why"] = (f"trial #{best.number} leads by more than {settings.z:g} standard errors "
                      f"({_f(band)}) of validation {metric}: a clear winner, no re-scoring needed")
        return Selection(best, rep)
    t0 = time.perf_counter()
    folds = fold_datasets(dataset, k, seed)
    scored = []
    for r in chosen:
        config = config_from_params(space, r.params)
        vals = []
        for fd in folds:
            res = run_trial(config, fd, objective_metric=metric, direction=direction, device=device,
                            seed=int(r.seed if r.seed is not None else seed), precision=precision)
            vals.append(float(res.value) if res.status == "complete" and res.value is not None else math.nan)
        scored.append((r, vals))
    rep["evidence"]["seconds"] = round(time.perf_counter() - t0, 2)

    def mean(vals: list[float]) -> float:
        finite = [v for v in vals if math.isfinite(v)]
        return statistics.fmean(finite) if len(finite) == len(vals) else -sign * math.inf  # a failed fold loses

    order = sorted(scored, key=lambda rv: (-sign * mean(rv[1]), -sign * float(rv[0].value), rv[0].number))
    winner = order[0][0]
    rep["candidates"] = [_cand(r, vals) for r, vals in order]
    rep["candidates"] += [_cand(r, None) for r in within if r not in chosen][:20]
    second = order[1]
    rep["why"] = (f"{len(within)} trials are within {settings.z:g} standard errors ({_f(band)}) of the best validation "
                  f"{metric} {_f(best.value)}; re-scored by {k}-fold cross-validation over train+validation, "
                  f"trial #{winner.number} has the best mean {metric} {_f(mean(order[0][1]))} "
                  f"(next: #{second[0].number} with {_f(mean(second[1]))})")
    if winner.number != best.number:
        rep["why"] += f"; the search's best by validation alone was #{best.number}"
    return Selection(winner, rep)


def _cand(r: TrialRecord, vals: list[float] | None) -> dict[str, Any]:
    d: dict[str, Any] = {"trial": r.number, "search_value": r.value}
    if vals is not None:
        finite = [v for v in vals if math.isfinite(v)]
        d.update(cv_scores=[v if math.isfinite(v) else None for v in vals],
                 cv_mean=statistics.fmean(finite) if finite else None,
                 cv_std=statistics.stdev(finite) if len(finite) > 1 else 0.0, failed_folds=len(vals) - len(finite))
    return d


def _f(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, (int, float)) and math.isfinite(v) else str(v)
