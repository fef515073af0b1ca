"""Live search progress, from settings and TrialRecords only (any backend): what is about to happen, printed
before the data is loaded (budget, workers, sampler and pruner), the data's sizes, one line per finished trial
with the time left or an ETA, and a summary that counts this session only (a resumed run's earlier trials are
summed up in one line, never printed again)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from automl.store.records import TrialRecord

UNLIMITED = 10**6  # Ray's stand-in trial count for "until the time or epoch budget is spent"
COUNTED = ("COMPLETE", "PRUNED", "FAIL", "INTERRUPTED")  # the states a progress line can report


def show_path(path: str | Path) -> str:
    """A run path as the user would type it: relative to the working directory when it lies below it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


def duration(seconds: float) -> str:
    """42s, 3m05s, 1h02m: short enough for a progress line."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def plan_lines(settings: Any, *, backend: str, study: str, max_epochs: int | None = None,
               resume: bool = False) -> list[str]:
    """What a search is about to do, from its settings alone (nothing loaded yet): the budget, then how trials
    are run (workers, sampler/searcher, pruner/scheduler, device, seed)."""
    trials = getattr(settings, "trials", None)
    budget = []
    if trials is not None and trials < UNLIMITED:
        budget.append(_plural(trials, "trial") + (" in all" if resume else ""))
    timeout = getattr(settings, "timeout", None)
    if timeout is not None:
        budget.append(f"{duration(timeout)} ({timeout:g}s){' for this session' if resume else ''}")
    epochs = getattr(settings, "max_total_epochs", None)
    if epochs is not None:
        budget.append(f"{epochs} epochs over all trials")
    if getattr(settings, "budget", None) == "auto":
        from automl.backends.autostop import StallRule

        rule = StallRule.of(settings, "maximize")
        tol = "" if rule.tolerance is None else f" {rule.tolerance:g}"
        budget = [f"auto (stops when the best has gained no more than the validation noise{tol} in the last "
                  f"{rule.window} trials, after at least {rule.min_trials}), at most " + (", ".join(budget) or "?")]
    head = f"{'Resuming' if resume else 'Search'} {study} ({backend}): budget {', '.join(budget) or 'none'}"
    if max_epochs:
        head += f"; up to {_plural(max_epochs, 'epoch')} per trial"
    manifest = settings.manifest() if hasattr(settings, "manifest") else {}
    if backend == "ray":
        where = f"Ray at {settings.address}" if getattr(settings, "address", None) else "a local Ray"
        conc = manifest.get("workers")
        at_once = f"{_plural(conc, 'trial')} at once" if conc else "as many trials at once as the resources allow"
        how = (f"{where}, {at_once}, {getattr(settings, 'cpus_per_trial', 1):g} CPU per trial, "
               f"searcher {manifest.get('searcher')}, scheduler {manifest.get('scheduler')}")
    else:
        workers = manifest.get("workers") or 1
        how = (f"{f'{workers} worker processes' if workers != 1 else '1 worker (this process)'}, "
               f"sampler {manifest.get('searcher')}, pruner {manifest.get('scheduler')}")
    how += f", device {getattr(settings, 'device', 'cpu')}, seed {getattr(settings, 'seed', 0)}"
    return [head, f"  {how}"]


def data_line(dataset: Any) -> str:
    """The data's name, split sizes and shape; the test split is counted, never read, during a search."""
    spec = dataset.spec
    sizes = f"{len(dataset.train)} train / {len(dataset.val)} validation / {dataset.n_test} test (sealed) rows"
    kind = f"{spec.n_classes} classes" if spec.n_classes else f"regression, {spec.n_outputs} output(s)"
    return f"  data {spec.name}: {sizes}, input {tuple(spec.input_shape)}, {kind}"


class ProgressPrinter:
    """Called in the driver as a search goes (any backend): `plan` at once, `data` once it is loaded, `run_dir`,
    `previous` (resume), then once per finished trial, and `done`. Plain callables given as `progress` get the
    per-trial calls only."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=False, highlight=False)
        self.counts = dict.fromkeys(COUNTED, 0)
        self.best: tuple[float, int] | None = None
        self.t0: float | None = None
        self.trials: int | None = None
        self.timeout: float | None = None
        self.max_total_epochs: int | None = None
        self.before = 0  # finished trials of earlier sessions that use up the trial budget
        self.before_epochs = 0
        self.epochs = 0  # epochs trained this session
        self.resumed = False
        self.backend = ""
        self.earlier: list[TrialRecord] | None = None  # a resumed run's trials as the session began
        self.settings: Any = None
        self.seen: list[TrialRecord] = []  # every finished trial (earlier sessions too): the auto-stop estimate

    def _print(self, text: str) -> None:
        # soft_wrap: no line breaks inserted into paths on narrow or non-terminal consoles; no markup either
        self.console.print(text, soft_wrap=True, markup=False)

    def plan(self, settings: Any, *, backend: str, study: str, max_epochs: int | None = None,
             resume: bool = False) -> None:
        trials = getattr(settings, "trials", None)
        self.trials = trials if trials is not None and trials < UNLIMITED else None
        self.timeout = getattr(settings, "timeout", None)
        self.max_total_epochs = getattr(settings, "max_total_epochs", None)
        self.resumed, self.backend, self.settings = resume, backend, settings
        for line in plan_lines(settings, backend=backend, study=study, max_epochs=max_epochs, resume=resume):
            self._print(line)

    def note(self, line: str) -> None:
        """A line of its own before the trials (e.g. what a warm start seeded)."""
        self._print(line)

    def data(self, dataset: Any) -> None:
        self._print(data_line(dataset))

    def run_dir(self, info: Any) -> None:
        self._print(f"  run dir: {show_path(info.run_dir)}")

    def previous(self, records: list[TrialRecord], metric: str, direction: str) -> None:
        """A resumed run: one line for the trials of earlier sessions (they are not printed again)."""
        self.earlier = list(records)
        self.seen = list(records)
        done = [r for r in records if r.state in COUNTED]
        # warm-start trials taken untrained from another run use none of the budget either
        self.before = sum(r.state != "INTERRUPTED" and not r.note.startswith("taken from") for r in done)
        self.before_epochs = sum(r.epochs_run for r in done)
        for r in done:
            self._track_best(r, direction)
        by_state = ", ".join(f"{sum(r.state == s for r in done)} {s.lower()}" for s in COUNTED
                             if any(r.state == s for r in done))
        best = f"; best {metric} {self.best[0]:.4f} (#{self.best[1]})" if self.best else ""
        self._print(f"{_plural(len(done), 'trial')} already done" + (f" ({by_state})" if done else "") + best)

    def _track_best(self, rec: TrialRecord, direction: str) -> None:
        v = rec.value if rec.state == "COMPLETE" and rec.value is not None and math.isfinite(rec.value) else None
        if v is not None and (self.best is None or (v > self.best[0] if direction == "maximize" else v < self.best[0])):
            self.best = (v, rec.number)

    def __call__(self, rec: TrialRecord, metric: str, direction: str, t0: float) -> None:
        self.t0 = t0
        state = rec.state if rec.state in self.counts else "FAIL"
        self.counts[state] += 1
        self.epochs += rec.epochs_run
        self._track_best(rec, direction)
        value = f"{rec.value:.4f}" if rec.value is not None else "-"
        reason = f" ({rec.reason})" if state in ("FAIL", "INTERRUPTED") and rec.reason else ""
        best = f"best {self.best[0]:.4f} (#{self.best[1]})" if self.best else "best -"
        interrupted = f" interrupted {self.counts['INTERRUPTED']}" if self.counts["INTERRUPTED"] else ""
        self.seen.append(rec)
        self._print(
            f"trial {rec.number:4d} {state:8s} {metric}={value} epochs={rec.epochs_run:3d} {rec.seconds:6.1f}s{reason} "
            f"| done {self.counts['COMPLETE']} pruned {self.counts['PRUNED']} failed {self.counts['FAIL']}{interrupted} "
            f"| {best} | {self.timing(time.time() - t0)}{self.stall(metric, direction)}"
        )

    def stall(self, metric: str, direction: str) -> str:
        """`--budget auto`: the stall rule's estimate on the trials finished so far (the backend's stop decides)."""
        if getattr(self.settings, "budget", None) != "auto":
            return ""
        from automl.backends.autostop import StallRule, finished_records

        rule = StallRule.of(self.settings, direction)
        return " | " + rule.check(finished_records(self.seen, metric)).line()

    def timing(self, elapsed: float) -> str:
        """'elapsed 1m05s, 4m55s left' with a time budget; 'elapsed 40s, ETA 2m10s' from the mean rate of this
        session's trials (or epochs) toward a trial (or epoch) budget."""
        parts = [f"elapsed {duration(elapsed)}"]
        counted = sum(v for k, v in self.counts.items() if k != "INTERRUPTED")
        eta = None
        if self.trials is not None and counted:
            left = max(0, self.trials - self.before - counted)
            eta = left * elapsed / counted
            if not left:
                parts.append("last trial done")
        elif self.max_total_epochs is not None and self.epochs:
            eta = max(0, self.max_total_epochs - self.before_epochs - self.epochs) * elapsed / self.epochs
        remaining = None if self.timeout is None else max(0.0, self.timeout - elapsed)
        if eta and (remaining is None or eta < remaining):  # else the time budget ends it first: no false ETA
            parts.append(f"ETA {duration(eta)}")
        if remaining is not None:
            parts.append(f"{duration(remaining)} left")
        return ", ".join(parts)

    def done(self, info: Any) -> None:
        total = sum(self.counts.values())
        elapsed = time.time() - (self.t0 or time.time())
        by_state = (f"{self.counts['COMPLETE']} complete, {self.counts['PRUNED']} pruned, {self.counts['FAIL']} failed"
                    + (f", {self.counts['INTERRUPTED']} interrupted" if self.counts["INTERRUPTED"] else ""))
        if total:
            text = f"Search finished: {total} trials this session ({by_state}) in {duration(elapsed)}"
        elif self.resumed and self.trials is not None and self.before >= self.trials:
            more = ("a Ray run keeps its budget: start a new search with --study NAME for more" if self.backend == "ray"
                    else "give a larger --trials to go on")
            text = (f"Search finished: 0 trials this session: the budget was already spent ({self.before} of "
                    f"{self.trials} trials); {more}")
        else:
            text = "Search finished: 0 trials this session"
        if self.best:
            text += f"; best {self.best[0]:.4f} (#{self.best[1]})"
        self._print(text + ".")
        stopped = (getattr(info, "settings", None) or {}).get("stopped")
        if stopped:
            self._print(f"  stopped before the cap: {stopped.get('reason')}")
        self._print(f"  run dir: {show_path(info.run_dir)}")
