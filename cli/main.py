"""The `automl` command. Thin: parses arguments and calls the library.

Library modules are imported inside each command so that `automl --help` never loads torch or ray.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from automl.backends.autostop import DEFAULT_CAP, WINDOW
from automl.backends.base import BACKENDS
from automl.backends.optuna.samplers import PRUNERS, SAMPLERS
from automl.backends.ray.settings import SCHEDULERS, RaySettings
from automl.training.tasks import PRECISIONS

app = typer.Typer(
    name="automl",
    help="Hyperparameter search for PyTorch models from YAML search spaces.\n\n"
    "Example: automl search mnist1d_cnn --trials 20",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
spaces_app = typer.Typer(help="List, show and validate search spaces.\n\nExample: automl spaces validate my_space.yaml",
                         no_args_is_help=True)
app.add_typer(spaces_app, name="spaces")

ResultsDir = Annotated[Path, typer.Option("--results-dir", help="Root folder of run directories.")]
BUDGET_HELP = ("auto: stop once the best validation value has gained no more than its noise over the last "
               f"{WINDOW} finished trials (at least {2 * WINDOW}), within --trials/--timeout/--max-total-epochs as a "
               f"hard cap (default {DEFAULT_CAP} trials); fixed: spend the whole budget (the default). Both backends "
               "(Ray: a Tune stopper).")
WINDOW_HELP = f"--budget auto: finished trials the gain is measured over (default {WINDOW}; at least twice as many run)."
STALL_HELP = "--budget auto: the gain that counts as progress (default: the validation metric's standard error)."
PICK_HELP = ("Two objectives (a cost in `objective:`): the point of the Pareto front to test: an index (cheapest "
             "first), a cost bound such as 'n_params<=20000' (the best validation value within it) or 'knee'")
SELECTION_HELP = ("noise: when the top trials are within validation noise, re-score them by cross-validation over "
                  "train+validation (never the test split) and pick by the mean | best: the best validation value")


# vocabulary in help read from the registries (names only: no torch, optuna or ray at `automl --help`)
SAMPLER_HELP, PRUNER_HELP = " | ".join(SAMPLERS.names()), " | ".join(PRUNERS.names())
SCHEDULER_HELP = f"Ray: {' | '.join(SCHEDULERS.names())} (default {RaySettings.scheduler})"
SEARCHER_HELP = (f"Ray: {' | '.join(n for n in SAMPLERS.names() if n != 'grid')} "
                 "(Optuna samplers in Ray's OptunaSearch, define-by-run)")
PRECISION_HELP = f"{' | '.join(PRECISIONS)} (mixed precision; fp16 needs CUDA)"
BACKEND_HELP = (f"{' | '.join(BACKENDS.names())} (optuna: local worker processes; "
                "ray: Ray Tune, a local Ray or a cluster)")

StorageOpt = Annotated[str | None, typer.Option("--storage", help="Optuna storage URL (default: sqlite in the run dir).")]
DataOpt = Annotated[Path | None, typer.Option("--data", help="Data file (CSV/TSV/Parquet/NPZ) replacing the space's "
                                              "dataset file; its target, split and class settings still apply.")]


def user_errors(fn):
    """Bad input -> one clear paragraph on stderr, exit code 2, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from automl.space.errors import RunFailed, UserInputError

        try:
            return fn(*args, **kwargs)
        except UserInputError as e:
            typer.echo(f"Error: {e}", err=True)
            raise typer.Exit(2) from None
        except RunFailed as e:  # not bad input: the run produced nothing usable
            typer.echo(f"Failed: {e}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt as e:  # Ctrl-C: 130; SIGTERM (automl.backends.stop.Terminated): 143
            typer.echo(interrupted_message(e), err=True)
            raise typer.Exit(getattr(e, "exit_code", 130)) from None

    return wrapper


def interrupted_message(e: BaseException) -> str:
    """What a Ctrl-C or SIGTERM left: the run it names (`run_dir`, set by the search) and how to go on with it."""
    how = " by SIGTERM" if getattr(e, "exit_code", 130) == 143 else ""
    run_dir = getattr(e, "run_dir", None)
    if run_dir is None:
        return f"\nInterrupted{how}."
    from automl.report.progress import show_path

    return (f"\nInterrupted{how}. Finished trials are kept in the storage; the running ones are recorded as "
            f"interrupted and run again on resume. Continue with:\n  automl resume {show_path(run_dir)}")


def resolve_space(space: str) -> Path:
    """A path to a YAML file, or the name of a shipped space."""
    from automl.space.shipped import resolve_space as resolve

    return resolve(space)


@app.command()
@user_errors
def search(
    space: Annotated[str, typer.Argument(help="Space YAML file, or a shipped space name (automl spaces list).")],
    study: Annotated[str | None, typer.Option(help="Study name (default: the space's name).")] = None,
    trials: Annotated[int | None, typer.Option(help="Number of trials (all workers together).")] = None,
    timeout: Annotated[float | None, typer.Option(help="Wall-clock budget in seconds.")] = None,
    max_total_epochs: Annotated[int | None, typer.Option(help="Budget in training epochs summed over trials.")] = None,
    budget: Annotated[str | None, typer.Option(help=BUDGET_HELP)] = None,
    stall_tolerance: Annotated[float | None, typer.Option(help=STALL_HELP)] = None,
    stall_window: Annotated[int | None, typer.Option(help=WINDOW_HELP)] = None,
    sampler: Annotated[str | None, typer.Option(help=SAMPLER_HELP)] = None,
    pruner: Annotated[str | None, typer.Option(help=PRUNER_HELP)] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes sharing the storage.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampler and training seed.")] = None,
    trial_timeout: Annotated[float | None, typer.Option(help="Seconds; a trial running longer is stopped and recorded as failed.")] = None,
    threads: Annotated[int | None, typer.Option(help="Torch threads per worker (default: cores / workers).")] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda | cuda:N (auto: every visible GPU, else the CPU)")] = "cpu",
    trials_per_gpu: Annotated[int, typer.Option(help="Trials packed onto each GPU at once (Ray: GPU share 1/N).")] = 1,
    precision: Annotated[str, typer.Option(help=PRECISION_HELP)] = "fp32",
    compile: Annotated[bool, typer.Option("--compile/--no-compile", help="torch.compile each trial's model.")] = False,
    storage: StorageOpt = None,
    results_dir: ResultsDir = Path("results"),
    finalize: Annotated[bool, typer.Option("--finalize/--no-finalize", help="Retrain the best config and report on the sealed test split.")] = True,
    top_k: Annotated[int, typer.Option(help="Finalize: also re-run the top-k configs...")] = 1,
    seeds: Annotated[int, typer.Option(help="...with this many seeds each (mean ± std).")] = 1,
    refit_full: Annotated[bool, typer.Option(help="Finalize: retrain on train+validation for the best trial's epoch count.")] = False,
    selection: Annotated[str, typer.Option(help=SELECTION_HELP)] = "noise",
    pick: Annotated[str | None, typer.Option(help=PICK_HELP)] = None,
    backend: Annotated[str, typer.Option(help=BACKEND_HELP)] = "optuna",
    address: Annotated[str | None, typer.Option(help="Ray: auto | HOST:PORT | ray://HOST:PORT (default: start a local Ray)")] = None,
    scheduler: Annotated[str | None, typer.Option(help=SCHEDULER_HELP)] = None,
    searcher: Annotated[str | None, typer.Option(help=SEARCHER_HELP)] = None,
    max_concurrent: Annotated[int | None, typer.Option(help="Ray: trials at once (default: as many as the cluster's resources allow)")] = None,
    cpus_per_trial: Annotated[float | None, typer.Option(help="Ray: CPUs per trial, also its torch threads (default 1)")] = None,
    gpus_per_trial: Annotated[float | None, typer.Option(help="Ray: GPUs per trial; fractions share a GPU (default 0)")] = None,
    storage_path: Annotated[str | None, typer.Option(help="Ray: folder, shared filesystem or cloud URI for Tune's experiment (default: the run dir)")] = None,
    data: DataOpt = None,
    warm_start: Annotated[list[str] | None, typer.Option(help="An earlier run (directory or study name) whose trials seed this search; repeatable. Same data and space: its trials are taken without retraining; else its top configs run first.")] = None,
    warm_start_top: Annotated[int, typer.Option(help="Warm start: configs queued from each run that is not taken as it is (best first).")] = 10,
) -> None:
    """Run a search, then finalize: the best config (chosen on validation) is tested once on the sealed test split.

    Example: automl search mnist1d_cnn --trials 30 --workers 2

    On your own copy of a space's data: automl search hemolytic_token_cnn --data ~/data/hemolytic.npz

    On a Ray cluster: automl search mnist1d_cnn --backend ray --address auto --scheduler asha
    """
    from automl.backends.prepare import naming_run, start_search
    from automl.report.progress import ProgressPrinter

    if pick is not None:  # a malformed --pick is refused now, not after the search
        from automl.finalize.pareto import check_pick
        from automl.space import load_space

        check_pick(pick, load_space(resolve_space(space)).objective.cost)
    printer = ProgressPrinter()
    options = dict(storage=storage, progress=printer, trials=trials, timeout=timeout, max_total_epochs=max_total_epochs,
                   budget=budget, stall_tolerance=stall_tolerance, stall_window=stall_window,
                   sampler=sampler, pruner=pruner, workers=workers, seed=seed, device=device,
                   trials_per_gpu=trials_per_gpu, precision=precision,
                   compile=compile, trial_timeout=trial_timeout, threads=threads, address=address,
                   scheduler=scheduler, searcher=searcher, max_concurrent=max_concurrent,
                   cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial, storage_path=storage_path,
                   warm_start=warm_start, warm_start_top=warm_start_top)
    if data is not None:  # the API's path: the run keeps a copy of the space pointed at this file
        from automl.api import search as api_search
        from automl.space import load_space
        from automl.space.errors import UserInputError
        from automl.space.validate import check_data_file
        from automl.store.run import MANIFEST

        path, file = resolve_space(space), check_data_file(data)
        name = study or load_space(path).name  # the study name a search without --data would get
        if (results_dir / name / MANIFEST).exists():
            raise UserInputError(f"Run directory {(results_dir / name).resolve()} already holds study {name!r}. "
                                 f"Continue it with `automl resume {results_dir / name}`, or pick another name with "
                                 "--study NAME (nothing was changed).")
        info = api_search(str(path), data=file, backend=backend, study=name, results_dir=results_dir, **options).info
    else:
        info = start_search(resolve_space(space), backend=backend, study=study, root=results_dir, **options)
    printer.done(info)
    with naming_run(info):  # Ctrl-C in finalize: the message names the run, too
        _after_search(info, finalize, top_k=top_k, seeds=seeds, refit_full=refit_full, device=device,
                      selection=selection, pick=pick)


@app.command()
@user_errors
def resume(
    run: Annotated[str, typer.Argument(help="Run directory or study name.")],
    trials: Annotated[int | None, typer.Option(help="New total number of trials.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds for this continuation.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    budget: Annotated[str | None, typer.Option(help=BUDGET_HELP)] = None,
    stall_tolerance: Annotated[float | None, typer.Option(help=STALL_HELP)] = None,
    stall_window: Annotated[int | None, typer.Option(help=WINDOW_HELP)] = None,
    storage: StorageOpt = None,
    results_dir: ResultsDir = Path("results"),
    finalize: Annotated[bool, typer.Option("--finalize/--no-finalize")] = True,
) -> None:
    """Carry on an interrupted or finished search; interrupted trials are re-queued, finished ones kept.

    Optuna and Ray runs alike (a Ray run restores its Tune experiment; finished trials are not re-run).

    Example: automl resume results/mnist1d_cnn --trials 60
    """
    from automl.backends.prepare import naming_run, resume_search
    from automl.report.progress import ProgressPrinter

    printer = ProgressPrinter()  # prints the plan first, then the earlier trials in one line (`printer.earlier`)
    info = resume_search(run, root=results_dir, storage=storage, progress=printer, trials=trials, timeout=timeout,
                         workers=workers, budget=budget, stall_tolerance=stall_tolerance, stall_window=stall_window)
    printer.done(info)
    with naming_run(info):
        _after_resume(info, printer.earlier or [], finalize)


def _after_resume(info: Any, earlier: list[Any], finalize: bool) -> None:
    """Finalize (again) only when the resumed session trained something new."""
    from automl.report.progress import show_path
    from automl.store.results import trained, trained_numbers

    new = trained_numbers(info) - {r.number for r in earlier if trained(r)}
    _require_completed(info)
    if not finalize:
        return
    from automl.store.ledger import TestLedger

    reads = TestLedger(info.run_dir).total
    if reads and not new:
        typer.echo("Nothing new was trained, so the run was not finalized again: report.json is unchanged "
                   f"(its test split was read {reads} time(s); `automl finalize {show_path(info.run_dir)} --again` "
                   "reads it once more).")
        return
    last = _last_finalize(info)
    if _no_pick(info, last.get("pick")):
        return
    if reads:
        typer.echo(f"{len(new)} new trial(s) trained: finalizing again, as test read #{reads + 1} of this run "
                   "(test figures after the first read are no longer unbiased).")
    _finalize(info, top_k=last.get("top_k", 1), seeds=last.get("seeds", 1), refit_full=last.get("fit_on") == "train+val",
              device=last.get("device") or info.settings.get("device", "cpu"), again=bool(reads),
              selection=last.get("select", "noise"), purpose="finalize after resume", pick=last.get("pick"))


def _last_finalize(info: Any) -> dict[str, Any]:
    """The options of the run's previous finalize (resume keeps them instead of overwriting a top-k report)."""
    path = info.run_dir / "report.json"
    try:
        return json.loads(path.read_text()).get("finalize", {}) if path.exists() else {}
    except (OSError, ValueError):
        return {}


def _require_completed(info: Any) -> None:
    """Exit code 1 (not 2: this is no bad input) when no trial completed, with the failure reasons counted."""
    from automl.space.errors import RunFailed
    from automl.store.records import failure_summary
    from automl.store.results import load_trials

    records = load_trials(info)
    if not any(r.state == "COMPLETE" for r in records):
        from automl.report.progress import show_path

        raise RunFailed(f"No trial of {info.run_dir} completed ({failure_summary(records)}). Nothing to finalize; "
                        f"see `automl trials {show_path(info.run_dir)} --state fail` for each reason.")


def _after_search(info: Any, finalize: bool, **options: Any) -> None:
    _require_completed(info)
    if finalize and not _no_pick(info, options.get("pick")):
        _finalize(info, **options)


def _no_pick(info: Any, pick: str | None) -> bool:
    """A run with a cost objective and no --pick: there is no single best to test, so say how to pick one."""
    if pick is not None or not info.settings.get("cost_metric"):
        return False
    from automl.finalize.pareto import pareto_front, points_of
    from automl.report.progress import show_path
    from automl.store.results import load_trials

    front = pareto_front(points_of(load_trials(info)), info.settings.get("direction") == "maximize")
    typer.echo(f"Two objectives: the Pareto front has {len(front)} point(s); not finalized. Test one point of it once "
               f"on the sealed test split with `automl finalize {show_path(info.run_dir)} --pick knee` (or --pick "
               f"INDEX, cheapest first, or --pick '{info.settings['cost_metric']}<=N'); `automl report` draws the front.")
    return True


def _finalize(info: Any, *, top_k: int, seeds: int, refit_full: bool, device: str, again: bool = False,
              selection: str = "noise", purpose: str = "finalize", pick: str | None = None) -> None:
    from automl.finalize import finalize_run
    from automl.space.errors import UserInputError

    if selection not in ("noise", "best"):
        raise UserInputError(f"--selection {selection!r} is not a selection rule; allowed: noise, best.")
    report = finalize_run(info, top_k=top_k, seeds=seeds, refit_full=refit_full, device=device, again=again,
                          select=selection == "noise", purpose=purpose, pick=pick)
    typer.echo(report.summary_text())


@app.command()
@user_errors
def finalize(
    run: Annotated[str, typer.Argument(help="Run directory or study name.")],
    top_k: Annotated[int, typer.Option(help="Re-run the top-k configs...")] = 1,
    seeds: Annotated[int, typer.Option(help="...with this many seeds each.")] = 1,
    refit_full: Annotated[bool, typer.Option(help="Retrain on train+validation for the best trial's epoch count.")] = False,
    device: Annotated[str, typer.Option(help="cpu | cuda | cuda:N")] = "cpu",
    selection: Annotated[str, typer.Option(help=SELECTION_HELP)] = "noise",
    again: Annotated[bool, typer.Option("--again", help="Read the test split although this run already did "
                                        "(its figures are then no longer unbiased; the report says so).")] = False,
    pick: Annotated[str | None, typer.Option(help=PICK_HELP)] = None,
    storage: StorageOpt = None,
    results_dir: ResultsDir = Path("results"),
) -> None:
    """Choose the winner on validation, retrain it and evaluate it once on the sealed test split, next to a trivial
    and a linear baseline; writes report.json and report.md. Every test read is recorded in test_ledger.jsonl.

    Example: automl finalize results/mnist1d_cnn --top-k 3 --seeds 3
    """
    from automl.store.run import load_run

    _finalize(load_run(run, root=results_dir, storage=storage), top_k=top_k, seeds=seeds, refit_full=refit_full,
              device=device, again=again, selection=selection, pick=pick)


@app.command()
@user_errors
def best(
    run: Annotated[str, typer.Argument(help="Run directory or study name.")],
    format: Annotated[str, typer.Option("--format", help="yaml | json")] = "yaml",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")] = None,
    storage: StorageOpt = None,
    results_dir: ResultsDir = Path("results"),
) -> None:
    """Export the best config (chosen on validation) as YAML or JSON.

    Example: automl best results/mnist1d_cnn --format json -o best.json
    """
    from automl.space.errors import UserInputError
    from automl.store.results import best_config

    if format not in ("yaml", "json"):
        raise UserInputError(f"--format {format!r} is not supported; allowed: yaml, json.")
    doc = best_config(run, root=results_dir, storage=storage)
    if format == "json":
        text = json.dumps(doc, indent=2)
    else:
        import yaml

        text = yaml.safe_dump(doc, sort_keys=False)
    if output:
        output.write_text(text)
        typer.echo(f"Wrote {output}")
    else:
        typer.echo(text)


@app.command()
@user_errors
def trials(
    run: Annotated[str, typer.Argument(help="Run directory or study name.")],
    export: Annotated[Path | None, typer.Option(help="Write all trials to a .csv or .parquet file.")] = None,
    state: Annotated[str | None, typer.Option(help="Only trials in this state: complete | pruned | fail | interrupted | running | waiting.")] = None,
    top: Annotated[int, typer.Option(help="Rows to print (best first); the table says how many it leaves out.")] = 20,
    all_rows: Annotated[bool, typer.Option("--all", help="Print every trial (overrides --top).")] = False,
    storage: StorageOpt = None,
    results_dir: ResultsDir = Path("results"),
) -> None:
    """Show the trials as a table, or export them with pandas.

    Example: automl trials results/mnist1d_cnn --export trials.csv
    """
    from automl.store.results import print_trials

    print_trials(run, root=results_dir, storage=storage, export=export, state=state, top=None if all_rows else top)


@app.command()
@user_errors
def report(
    run: Annotated[str, typer.Argument(help="Run directory or study name.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="HTML file to write (default: RUN/report.html).")] = None,
    png: Annotated[bool, typer.Option("--png", help="Also write one PNG per figure next to the HTML (needs kaleido + Chrome).")] = False,
    storage: StorageOpt = None,
    results_dir: ResultsDir = Path("results"),
) -> None:
    """Write one self-contained HTML report (figures + final tables; opens offline in any browser).

    Example: automl report results/mnist1d_cnn --png
    """
    from automl.report import write_report

    out = write_report(run, output, root=results_dir, storage=storage, png=png)
    typer.echo(f"Wrote {out.html} ({len(out.figures)} figures, {out.n_trials} trials, "
               f"{out.html.stat().st_size / 1e6:.1f} MB) in {out.seconds:.1f}s")
    if out.pngs:
        typer.echo(f"Wrote {len(out.pngs)} PNGs next to it: {', '.join(p.name for p in out.pngs)}")
    if out.png_error:
        typer.echo(f"PNGs skipped: {out.png_error}", err=True)


@app.command()
@user_errors
def datasets() -> None:
    """List the built-in datasets (no download needed).

    Example: automl datasets
    """
    from automl.data.builtin import BUILTIN_DATASETS

    for name, desc in BUILTIN_DATASETS.items():
        typer.echo(f"{name:15s} {desc}")
    typer.echo("\nFiles: CSV / Parquet (dataset: {path: F.csv, target: COLUMN}) and NPZ (x/y arrays, or one array per class).")


@spaces_app.command("list")
@user_errors
def spaces_list() -> None:
    """List the shipped search spaces.

    Example: automl spaces list
    """
    from automl.space import load_space
    from automl.space.shipped import shipped_spaces

    for name, path in shipped_spaces().items():
        s = load_space(path)
        typer.echo(f"{name:22s} {s.description}")


@spaces_app.command("show")
@user_errors
def spaces_show(name: Annotated[str, typer.Argument(help="Shipped space name or YAML file.")]) -> None:
    """Print a space file and its parameters.

    Example: automl spaces show mnist1d_cnn
    """
    from automl.space import load_space

    path = resolve_space(name)
    typer.echo(path.read_text())
    s = load_space(path)
    typer.echo(f"# {len(s.space.iter_params())} parameters (layers expanded to their largest count)")


@spaces_app.command("validate")
@user_errors
def spaces_validate(
    files: Annotated[list[str], typer.Argument(help="Space YAML files or shipped names.")],
    data: DataOpt = None,
    skip_data: Annotated[bool, typer.Option("--skip-data", help="Check the file alone, not its data (for a space "
                                            "validated away from its data).")] = False,
) -> None:
    """Validate space files as `automl search` would: every section's keys and values, then the data (the file
    exists and reads, the target and named columns exist, the task given or inferred fits `task:` and the
    objective metric). Every problem is listed with its field path. Exit code 2 if any is invalid.

    Example: automl spaces validate search_spaces/*.yaml
    """
    from automl.space.errors import UserInputError
    from automl.space.validate import validate_space

    bad = 0
    for f in files:
        try:
            v = validate_space(resolve_space(f), data=data, check_data=not skip_data)
            typer.echo(f"OK   {f}: {v.space.name}, {len(v.space.space.iter_params())} parameters; "
                       f"{'data not checked' if v.data is None else 'data ' + v.data}")
        except UserInputError as e:
            bad += 1
            typer.echo(str(e), err=True)
    if bad:
        raise typer.Exit(2)


@app.command("predict")
@user_errors
def predict_cmd(
    run: Annotated[str, typer.Argument(help="Finalized run directory or study name.")],
    file: Annotated[Path, typer.Argument(help="Raw rows as in the original data: CSV, TSV, Parquet or NPZ.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Predictions file (.csv or .parquet).")] = Path("predictions.csv"),
    id_column: Annotated[str | None, typer.Option("--id-column", help="Copy this column of FILE into the output.")] = None,
    unseen: Annotated[str, typer.Option(help="A category never seen in training: zeros (all-zero one-hot) | error")] = "zeros",
    storage: StorageOpt = None,
    results_dir: ResultsDir = Path("results"),
) -> None:
    """Predict with a finalized run's model on raw rows: class labels and one probability column per class, or
    regression values in the target's units; rows keep FILE's order. The saved preprocessing is applied.

    Example: automl predict results/wine_api new_rows.csv -o predictions.csv --id-column id
    """
    from automl.predict import load_model
    from automl.space.errors import UserInputError
    from automl.store.run import load_run

    if output.suffix not in (".csv", ".parquet"):
        raise UserInputError(f"-o {output}: unsupported file type {output.suffix!r}; allowed: .csv, .parquet.")
    model = load_model(load_run(run, root=results_dir, storage=storage))
    frame = model.predict_frame(file, id_column=id_column, unseen=unseen)
    if output.suffix == ".csv":
        frame.to_csv(output, index=False)
    else:
        frame.to_parquet(output, index=False)
    typer.echo(f"Wrote {len(frame)} predictions ({model.task}) to {output}")


@app.command("export")
@user_errors
def export_cmd(
    run: Annotated[str, typer.Argument(help="Finalized run directory or study name.")],
    format: Annotated[str, typer.Option("--format", help="torchscript | onnx (onnx needs: pip install 'automl[export]')")] = "torchscript",
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")] = Path("model.pt"),
    storage: StorageOpt = None,
    results_dir: ResultsDir = Path("results"),
) -> None:
    """Export the finalized model as TorchScript or ONNX; its outputs must equal the PyTorch model's within
    1e-5 on the validation split, else nothing is written (exit 1). The exported graph takes encoded inputs:
    the raw-row encoding is written next to it as FILE.preprocessor.json.

    Example: automl export results/wine_api --format onnx -o wine.onnx
    """
    from automl.export import export_model
    from automl.store.run import load_run

    result = export_model(load_run(run, root=results_dir, storage=storage), format, output)
    typer.echo(result.summary())


RUN_COLUMNS = (("name", "run"), ("backend", "backend"), ("trials", "trials"), ("best_val", "best val"),
               ("test_metric", "test metric"), ("test_value", "test"), ("test_reads", "test reads"),
               ("finalized", "finalized"), ("size", "size"))


def _summary_cells(row: dict[str, Any]) -> dict[str, str]:
    from automl.store.summary import fmt, human_size

    cells = {k: fmt(row.get(k)) for k, _ in RUN_COLUMNS}
    cells["size"] = human_size(row["size_bytes"]) if "size_bytes" in row else "-"
    if row.get("error"):
        cells["trials"] = f"unreadable: {row['error']}"
    return cells


@app.command()
@user_errors
def runs(
    results_dir: ResultsDir = Path("results"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the runs under the results folder: backend, trials by state, best validation value, the test figure
    and how often the test split was read (test_ledger.jsonl), finalized or not, size on disk.

    Example: automl runs --results-dir results
    """
    from rich.console import Console
    from rich.table import Table

    from automl.store.summary import all_runs

    rows = all_runs(results_dir)
    if as_json:
        typer.echo(json.dumps(rows, indent=1, default=str))
        return
    table = Table(title=f"{len(rows)} run(s) in {results_dir}")
    for _, title in RUN_COLUMNS:
        table.add_column(title, overflow="fold")
    for row in rows:
        cells = _summary_cells(row)
        table.add_row(*(cells[k] for k, _ in RUN_COLUMNS))
    Console(width=160).print(table)


@app.command()
@user_errors
def compare(
    run_list: Annotated[list[str], typer.Argument(metavar="RUN RUN...", help="Two or more run directories or study names.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    storage: StorageOpt = None,
    results_dir: ResultsDir = Path("results"),
) -> None:
    """Show runs side by side: the facts of `automl runs` plus each run's chosen (or best) hyperparameters.

    Example: automl compare results/wine_optuna results/wine_ray
    """
    from rich.console import Console
    from rich.table import Table

    from automl.space.errors import UserInputError
    from automl.store.run import load_run
    from automl.store.summary import fmt, run_summary

    if len(run_list) < 2:
        raise UserInputError(f"compare needs at least two runs, got {len(run_list)}: {run_list}.")
    rows = [run_summary(load_run(r, root=results_dir, storage=storage), with_params=True) for r in run_list]
    if as_json:
        typer.echo(json.dumps(rows, indent=1, default=str))
        return
    table = Table(title="runs side by side")
    table.add_column("")
    for row in rows:
        table.add_column(row["name"], overflow="fold")
    cells = [_summary_cells(r) for r in rows]
    for key, title in [*RUN_COLUMNS[1:], ("n_params", "parameters"), ("chosen_trial", "chosen trial")]:
        table.add_row(title, *(c.get(key) or fmt(r.get(key)) for c, r in zip(cells, rows, strict=True)))
    names = sorted({k for r in rows for k in r.get("params", {})})
    for name in names:
        table.add_row(name, *(fmt(r.get("params", {}).get(name)) for r in rows))
    Console(width=160).print(table)


def _print_version(value: bool) -> None:
    if value:
        from automl import _version

        typer.echo(f"automl {_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    # the app-wide options; commands are the subcommands above
    pass


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
