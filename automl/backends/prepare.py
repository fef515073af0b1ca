"""The one preparation of a search, whatever the backend: space, data, objective, feasibility, run directory,
manifest; then the backend named by `--backend` (a new search) or by the run's manifest (resume) runs it."""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from automl.backends.base import Backend, Job, Progress, get_backend
from automl.backends.stop import sigterm_as_interrupt
from automl.space import Categorical, Fixed, Float, Int, RandomSuggest, SearchSpace, load_space, sample
from automl.space.errors import UserInputError
from automl.store.records import TrialRecord
from automl.store.run import RunInfo, check_not_held, check_study_name, create_run, load_run, write_holders


def start_search(space_path: str | Path, *, backend: str = "optuna", study: str | None = None,
                 root: Path = Path("results"), storage: str | None = None, progress: Progress | None = None,
                 warm_start: list[str | Path] | None = None, warm_start_top: int = 10, **overrides: Any) -> RunInfo:
    """Check everything, create the run directory, then search until the budget is spent. The plan (budget,
    workers, sampler, pruner) is told before the data loads: loading and connecting can take a while.
    `warm_start`: earlier runs whose trials seed this search (see automl.backends.warm)."""
    from automl.backends import warm

    impl = get_backend(backend)
    _check_storage(impl, storage)
    space = load_space(space_path)
    name = study or space.name
    check_study_name(name, where="--study" if study else f"Space {space.source}: name")
    settings = impl.settings(space.search, overrides)
    from automl.finalize.pareto import check_search

    check_search(space.objective.cost, backend=impl, settings=settings, warm_start=bool(warm_start))
    impl.check(space, settings)
    if warm_start:
        impl.check_warm_start(settings)
    sources = warm.load_sources(list(warm_start), root, warm_start_top) if warm_start else []
    if settings.trials is None and settings.timeout is None and settings.max_total_epochs is None:
        from automl.backends.autostop import DEFAULT_CAP

        settings.trials = DEFAULT_CAP if settings.auto else 20  # --budget auto: the hard cap
    tell(progress, "plan", settings, backend=impl.name, study=name, max_epochs=space_max_epochs(space))
    dataset, obj = search_data(space)
    settings.metric, settings.val_rows = obj.metric, len(dataset.val)  # the auto-stop rule's noise estimate
    tell(progress, "data", dataset)
    check_some_feasible(space, dataset.spec)
    fingerprint = warm.data_fingerprint(dataset)
    seeds = warm.plan(sources, space, fingerprint=fingerprint, metric=obj.metric, direction=obj.direction,
                      top=warm_start_top, take=impl.name == "optuna") if sources else None
    with impl.session(settings):  # connect first: an unreachable cluster leaves no half-made run dir
        manifest = {**settings.manifest(), "direction": obj.direction, "metric": obj.metric,
                    **({"cost_metric": obj.cost} if obj.cost else {}), "data_base_dir": str(space.base_dir), "data_fingerprint": fingerprint,
                    "space_hash": warm.space_hash(space.raw), "warm_start": seeds.sources if seeds else []}
        info = create_run(name, Path(space_path), backend=impl.name, storage=storage,
                          seed=settings.seed, settings=manifest, root=root)
        fix_base_dir(info, space)
        tell(progress, "run_dir", info)
        for line in seeds.lines if seeds else []:
            tell(progress, "note", line)
        with naming_run(info), holding(info):
            impl.run(Job(info, space, dataset, obj.metric, obj.direction, settings, progress, warm=seeds),
                     resume=False)
    return info


def resume_search(run: str | Path, *, root: Path = Path("results"), storage: str | None = None,
                  progress: Progress | None = None, **overrides: Any) -> RunInfo:
    """Carry on a stopped run with the backend that started it: finished trials are kept, the budget goes on."""
    info = load_run(run, root=root, storage=storage)
    with naming_run(info):
        impl = get_backend(info.backend, where=f"Run {info.run_dir}: backend")
        _check_storage(impl, storage)
        for k in impl.fixed_on_resume:
            if overrides.get(k) is not None:
                raise UserInputError(f"--{k} cannot change a {impl.name} run on resume (it resumes the search as it "
                                     "was defined); start a new search with --study NAME for more.")
        check_not_held(info)
        settings = impl.settings({**info.settings, "deadline": None}, overrides)
        space = load_space(info.space_path)
        from automl.finalize.pareto import check_search

        check_search(space.objective.cost, backend=impl, settings=settings, warm_start=False)
        tell(progress, "plan", settings, backend=impl.name, study=info.study, max_epochs=space_max_epochs(space),
             resume=True)
        tell(progress, "run_dir", info)
        if hasattr(progress, "previous"):  # earlier sessions' trials: one line, not one line each
            tell(progress, "previous", impl.load_trials(info), info.settings.get("metric") or space.objective.metric,
                 info.settings.get("direction") or space.objective.direction)
        dataset, obj = search_data(space)
        settings.metric, settings.val_rows = obj.metric, len(dataset.val)
        tell(progress, "data", dataset)
        with impl.session(settings):
            check_not_held(info)  # again: loading the data and connecting took a while
            with holding(info):
                impl.run(Job(info, space, dataset, obj.metric, obj.direction, settings, progress), resume=True)
    return info


def tell(progress: Any, event: str, *args: Any, **kwargs: Any) -> None:
    """Call `progress.<event>(...)` when the printer has it (a plain callable gets per-trial calls only)."""
    hook = getattr(progress, event, None)
    if callable(hook):
        hook(*args, **kwargs)


@contextlib.contextmanager
def naming_run(info: RunInfo) -> Iterator[None]:
    """A Ctrl-C or SIGTERM from here on carries the run's directory (`run_dir`), so the CLI can say which run
    `automl resume` continues."""
    try:
        yield
    except KeyboardInterrupt as e:
        if getattr(e, "run_dir", None) is None:
            e.run_dir = info.run_dir  # type: ignore[attr-defined]
        raise


@contextlib.contextmanager
def holding(info: RunInfo) -> Iterator[None]:
    """While a backend searches the run: its driver is listed in workers.json (a backend with worker processes
    adds them), so a second `resume` refuses; SIGTERM stops the search as Ctrl-C does (`Terminated`)."""
    write_holders(info.run_dir, [os.getpid()])
    try:
        with sigterm_as_interrupt():
            yield
    finally:
        write_holders(info.run_dir, [])


def load_trials(info: RunInfo) -> list[TrialRecord]:
    """The run's trials, read by the backend that wrote them."""
    return get_backend(info.backend, where=f"Run {info.run_dir}: backend").load_trials(info)


def _check_storage(impl: Backend, storage: str | None) -> None:
    if storage is not None and not impl.storage_url:
        raise UserInputError(f"--storage is an Optuna storage URL; the {impl.name} backend does not take one "
                             "(a Ray run keeps its Tune experiment under --storage-path).")


def search_data(space: SearchSpace) -> tuple[Any, Any]:
    """The data in its search form, for the driver and every worker: no process of a search holds the test
    arrays. Loaded first in the driver, so a bad path or column fails fast with exit code 2."""
    from automl.data import load_dataset

    dataset = load_dataset(space.dataset, base_dir=space.base_dir).for_search()
    return dataset, space.resolve_objective(dataset.spec.task)


def check_some_feasible(space: SearchSpace, spec: Any, n: int = 200, seed: int = 0) -> None:
    """Refuse a space in which no sampled architecture fits the data (checked analytically, no training)."""
    from automl.models import check_feasible
    from automl.models.factory import check_space_factory

    if check_space_factory(space, spec):  # your own model: built and run on a batch, or exit 2 here
        return
    rng = RandomSuggest(seed)
    reasons: Counter[str] = Counter()
    for _ in range(n):
        reason = check_feasible(sample(space.space, rng).config, spec)
        if reason is None:
            return
        reasons[reason.split(":")[0] if len(reasons) > 20 else reason] += 1
    common = "; ".join(f"{r} ({c}x)" for r, c in reasons.most_common(3))
    raise UserInputError(
        f"Search space {space.source}: none of {n} sampled configs is feasible for dataset "
        f"{space.dataset.get('name') or space.dataset.get('path')} (input shape {tuple(spec.input_shape)}). "
        f"Most common reasons: {common}. Allow smaller kernels, less pooling or fewer layers."
    )


def fix_base_dir(info: RunInfo, space: SearchSpace) -> None:
    """The run dir holds a copy of the space; relative dataset paths must still resolve against the original."""
    import yaml

    from automl.models.factory import pin_factory_path

    raw = pin_factory_path(space.raw, space.base_dir)  # a model factory's folder, made absolute
    if "path" in space.dataset and not Path(space.dataset["path"]).is_absolute() and space.base_dir is not None:
        path = space.base_dir / space.dataset["path"]
        path = path if path.exists() else Path(space.dataset["path"])
        raw = {**raw, "dataset": {**space.raw["dataset"], "path": str(path.resolve())}}
    if raw is not space.raw:
        info.space_path.write_text(yaml.safe_dump(raw, sort_keys=False))


def space_max_epochs(space: SearchSpace) -> int:
    """The largest max_epochs a trial can get (the pruners' and schedulers' maximum resource)."""
    try:
        dist = space.space.find("training.max_epochs").dist
    except KeyError:
        return 20
    if isinstance(dist, Fixed):
        return int(dist.value)
    if isinstance(dist, (Int, Float)):
        return int(dist.high)
    if isinstance(dist, Categorical):
        return int(max(dist.choices))
    return 20


__all__ = ["check_some_feasible", "fix_base_dir", "load_trials", "naming_run", "resume_search", "search_data",
           "space_max_epochs", "start_search", "tell"]
