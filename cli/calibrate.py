"""``encephagen calibrate``: tune a circuit's free parameters and write a new circuit version."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from pathlib import Path

import click

from encephagen.errors import CalibrationError, CircuitFileError


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    pairs = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CalibrationError(f"--{what} expects KEY=VALUE; got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def _conditions(text: str) -> list[list[tuple[str, float]]]:
    """``none;push=4;friction=1.5,mass=0.8`` -> one list of (kind, size) pairs per condition."""
    from encephagen.body.perturbations import as_pair, parse_perturbations
    from encephagen.errors import BodyError

    parts = [part.strip() for part in text.split(";")] if text.strip() else []
    try:
        return [[] if part in ("", "none") else [as_pair(p) for p in parse_perturbations(part)] for part in parts]
    except BodyError as exc:
        raise CalibrationError(f"--option perturb={text}: {exc}") from None


def _drive_speeds(text: str) -> list[tuple[float, float]]:
    """``21:0.4,25:0.8`` -> [(21.0, 0.4), (25.0, 0.8)] (drive value, speed m/s)."""
    try:
        return [(float(v), float(sp)) for v, sp in (part.split(":") for part in text.split(",") if part.strip())]
    except ValueError:
        raise CalibrationError(
            f"--option drive_speeds={text}: write DRIVE:SPEED pairs separated by commas, e.g. 21:0.4,25:0.8"
        ) from None


TEXT_FORMS = {"perturb": _conditions, "drive_speeds": _drive_speeds}
"""Options of the body objectives (walk, stand) whose command-line text has a form of its own."""


def _typed_options(objective: str, pairs: dict[str, str]) -> dict[str, object]:
    """``--option KEY=TEXT`` values parsed as the type of the objective's default for KEY: a number,
    a comma-separated list (of numbers when every item is one, else of names), or text; the body
    objectives' ``perturb`` and ``drive_speeds`` by :data:`TEXT_FORMS`."""
    from encephagen.objectives import get_objective

    defaults = get_objective(objective).options
    out: dict[str, object] = {}
    for key, text in pairs.items():
        default = defaults.get(key, "")
        if key in TEXT_FORMS and isinstance(default, tuple):
            out[key] = TEXT_FORMS[key](text)
        elif isinstance(default, tuple):
            items = [item.strip() for item in text.split(",") if item.strip()]
            try:
                out[key] = [float(item) for item in items]
            except ValueError:
                out[key] = items
        elif isinstance(default, (int, float)) and not isinstance(default, bool):
            try:
                number = float(text)
            except ValueError:
                raise CalibrationError(f"--option {key}={text}: not a number") from None
            out[key] = int(number) if isinstance(default, int) and number == int(number) else number
        else:
            out[key] = text
    return out


def _floats(pairs: dict[str, str], what: str) -> dict[str, float]:
    out = {}
    for key, value in pairs.items():
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = math.nan
        if not math.isfinite(out[key]):
            raise CalibrationError(f"--{what} {key}={value}: not a finite number")
    return out


def _check_output(path: Path, *, in_place: bool) -> None:
    """Refuse an output that cannot or must not be written, before any work."""
    from encephagen.atomic_files import check_output_file

    if path.exists() and not in_place:
        raise CircuitFileError(f"{path}: already exists; choose a new --out path (or --in-place to replace the input)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CircuitFileError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CircuitFileError(f"{path}: folder {folder} is not writable")
    if path.suffix.lower() not in (".json", ".h5", ".hdf5"):
        raise CircuitFileError(f"{path}: the output must end in .json or .h5")
    check_output_file(path, overwrite=True)  # tries the folder for real: read-only mounts refuse even root


def _describe(progress) -> str:
    if progress is None:  # the bar asks before the first generation
        return ""
    if progress.stage == "search":
        verb = "replayed" if progress.replayed else "gen"
        terms = " ".join(f"{k}={v:.3g}" for k, v in progress.best_terms.items())
        return f"{verb} {progress.generation}/{progress.generations}  best {progress.best:.4g}  median {progress.median:.4g}  [{terms}]"
    return f"validation of the finalists: best {progress.best:.4g}  median {progress.median:.4g}"


def _print_objectives(name: str | None, as_json: bool) -> None:
    """Every registered objective (or ``name``'s) with its description, targets and options and their
    defaults: what ``--target`` and ``--option`` accept, without reading the source."""
    from encephagen.objectives import get_objective, objective_names

    objectives = [get_objective(name)] if name else [get_objective(n) for n in objective_names()]
    if as_json:
        listing = {
            o.name: {"description": o.description, "targets": dict(o.targets), "options": dict(o.options)}
            for o in objectives
        }
        click.echo(json.dumps(listing, indent=2, default=list))
        return
    for number, o in enumerate(objectives):
        if number:
            click.echo()
        click.echo(f"{o.name}  ({o.module})")
        if o.description:
            click.echo(click.wrap_text(o.description, initial_indent="  ", subsequent_indent="  "))
        for kind, values in (("targets", o.targets), ("options", o.options)):
            click.echo(f"  {kind} (--{kind[:-1]} KEY=VALUE):" if values else f"  {kind}: none")
            width = max((len(key) for key in values), default=0)
            for key, default in values.items():
                click.echo(f"    {key:<{width}}  {_default_text(default)}")


def _default_text(default: object) -> str:
    """A default as it would be written after ``KEY=`` (lists comma-separated; '' shown as such)."""
    if isinstance(default, tuple):
        return ",".join(map(str, default)) if default else "(empty)"
    if default == "":
        return "''"
    return str(default)


def _progress_line(progress) -> str:
    eta = f"  eta {progress.eta_s:.0f} s" if progress.eta_s else ""
    return f"{progress.evaluations}/{progress.budget} evaluations  {_describe(progress)}{eta}"


@click.command("calibrate")
@click.argument("circuit", required=False)
@click.option("--objective", help="Registered objective, e.g. 'gait' (list them with --objectives).")
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override an objective target (repeatable), e.g. frequency_hz=2.5.",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Objective option (repeatable), e.g. duration_ms=3000.",
)
@click.option("--body", default=None, help="Body for objectives that run one (same as --option body=NAME).")
@click.option("--budget", type=int, help="Candidate evaluations in the search.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the optimizer and the noise-seed split.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="New circuit file to write (.json or .h5)."
)
@click.option("--in-place", is_flag=True, help="Replace the input circuit file instead of writing --out.")
@click.option("--optimizer", default="CMA", show_default=True, help="Any nevergrad optimizer name.")
@click.option(
    "--popsize", type=int, default=None, help="Candidates per generation [default: 4 + 3 ln(free parameters)]."
)
@click.option(
    "--restarts", type=int, default=1, show_default=True, help="Independent optimizer runs sharing the budget."
)
@click.option("--train-seeds", type=int, default=3, show_default=True, help="Noise seeds each candidate is scored on.")
@click.option("--validation-seeds", type=int, default=5, show_default=True, help="Seeds the finalists are compared on.")
@click.option(
    "--finalists",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Best candidates of the search compared on the validation seeds (with the start values and each restart's pick).",
)
@click.option(
    "--test-seeds", type=int, default=10, show_default=True, help="Held-out seeds the reported losses come from."
)
@click.option("--workers", type=int, default=1, show_default=True, help="Local worker processes.")
@click.option(
    "--executor",
    "address",
    default=None,
    metavar="ADDR",
    help="Dask scheduler address: tls://HOST:PORT with --tls-* files, or tcp://127.0.0.1:PORT (plain tcp:// elsewhere is warned about).",
)
@click.option(
    "--tls-ca-file",
    type=click.Path(path_type=Path),
    default=None,
    help="With --executor tls://: the CA that signed the scheduler's and workers' certificates [default: Dask config].",
)
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path),
    default=None,
    help="With --executor tls://: this client's certificate (PEM) [default: Dask config].",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path),
    default=None,
    help="With --executor tls://: this client's private key, unless --tls-cert holds it.",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Log and checkpoint folder [default: OUT with suffix .calibration].",
)
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir (same settings).")
@click.option(
    "--report",
    "report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="LOG",
    help="Summarise a calibration log instead of calibrating.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --report: write the convergence curve (PNG).",
)
@click.option("--force", is_flag=True, help="With --report --plot: replace the figure if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--objectives",
    "list_objectives",
    is_flag=True,
    help="List the registered objectives with every target and option they take and its default "
    "(only --objective's, if given), then exit.",
)
@click.option(
    "--keep-worse",
    is_flag=True,
    help="Write the new version even if its held-out loss is worse than the input's (refused by default).",
)
def calibrate(
    circuit,
    objective,
    targets,
    options,
    body,
    budget,
    seed,
    out,
    in_place,
    optimizer,
    popsize,
    restarts,
    train_seeds,
    validation_seeds,
    finalists,
    test_seeds,
    workers,
    address,
    tls_ca_file,
    tls_cert,
    tls_key,
    run_dir,
    resume,
    report,
    plot,
    force,
    as_json,
    list_objectives,
    keep_worse,
) -> None:
    """Calibrate CIRCUIT's free parameters against an objective; write a new circuit version.

    Every candidate is scored on several noise seeds; the best are compared on validation
    seeds, and the losses reported and recorded in the file's history come from held-out
    test seeds the search never saw. A run killed at any point continues with --resume and
    ends exactly where an uninterrupted run with the same seed ends. The circuit's bindings
    (NAME.binding.json, NAME.BODY.binding.json) are copied next to --out, so the new file
    drives the same bodies.

    \b
    Examples:
      encephagen calibrate half_centre --objective gait --target frequency_hz=2 \\
          --budget 300 --seed 1 --out half_centre_cal.json --workers 2
      encephagen diff half_centre half_centre_cal.json
      encephagen calibrate --report half_centre_cal.calibration/log.jsonl --plot curve.png
      encephagen calibrate walker2d_cpg --objective walk --body walker2d --budget 360 \\
          --seed 1 --workers 2 --out walker.json && encephagen run walker.json --episodes 10
      encephagen calibrate --objectives --objective walk
    """
    if list_objectives:
        _print_objectives(objective, as_json)
        return
    if report is not None:
        _report(report, plot, as_json, force)
        return
    from encephagen.calibration import LOG_NAME, CalibrationSettings, check_request, evaluation_job, open_executor
    from encephagen.calibration import calibrate as run_calibration
    from encephagen.locations import resolve_circuit_path
    from encephagen.storage import load_circuit, save_circuit

    if circuit is None:
        raise CalibrationError("give a CIRCUIT to calibrate (or --report LOG)")
    for name, value in (("--objective", objective), ("--budget", budget)):
        if value is None:
            raise CalibrationError(f"{name} is required")
    option_values = _typed_options(objective, _pairs(options, "option"))
    if body is not None:
        option_values["body"] = body
    path = resolve_circuit_path(circuit)
    if in_place and out is not None:
        raise CalibrationError("give either --out or --in-place, not both")
    if not in_place and out is None:
        raise CalibrationError("--out NEW.json is required (or --in-place to replace the input)")
    out = path if in_place else out
    _check_output(out, in_place=in_place)
    if workers < 1:
        raise CalibrationError(f"--workers must be at least 1; got {workers}")
    security = None
    if tls_ca_file or tls_cert or tls_key:
        if address is None or not address.startswith("tls://"):
            raise CalibrationError("--tls-ca-file, --tls-cert and --tls-key go with --executor tls://HOST:PORT")
        from encephagen.calibration import dask_security

        security = dask_security(tls_ca_file, tls_cert, tls_key)
    settings = CalibrationSettings(
        objective=objective,
        budget=budget,
        seed=seed,
        targets=_floats(_pairs(targets, "target"), "target"),
        options=option_values,
        optimizer=optimizer,
        popsize=popsize,
        restarts=restarts,
        train_seeds=train_seeds,
        validation_seeds=validation_seeds,
        finalists=finalists,
        test_seeds=test_seeds,
    )
    loaded = load_circuit(path)
    resolved = check_request(loaded, settings, file=str(path))
    if run_dir is None:
        run_dir = out.with_name(out.stem + ".calibration")
        logging.getLogger(__name__).info("run_dir = %s (default)", run_dir)
    if (run_dir / LOG_NAME).exists() and not resume:
        raise CalibrationError(
            f"{run_dir}: holds an earlier run's log; pass --resume to continue it, or choose another --run-dir"
        )
    evaluation_job(loaded, *resolved, path.parent)  # a circuit the objective cannot score fails here

    err = sys.stderr
    with open_executor(workers, address, security=security) as (executor, chunks):
        if err.isatty():
            with click.progressbar(
                length=budget, label="calibrating", show_eta=True, show_pos=True, item_show_func=_describe, file=err
            ) as bar:
                result = run_calibration(
                    loaded,
                    settings,
                    run_dir,
                    base_dir=path.parent,
                    resume=resume,
                    executor=executor,
                    chunks=chunks,
                    progress=lambda p: bar.update(p.evaluations - bar.pos, p),
                    file=str(path),
                    keep_worse=keep_worse,
                )
        else:  # logs and pipes get one line per generation instead of a bar
            result = run_calibration(
                loaded,
                settings,
                run_dir,
                base_dir=path.parent,
                resume=resume,
                executor=executor,
                chunks=chunks,
                progress=lambda p: click.echo(_progress_line(p), err=True),
                file=str(path),
                keep_worse=keep_worse,
            )
    save_circuit(result.circuit, out, overwrite=in_place)
    from encephagen.body.binding import copy_bindings

    bindings = [str(p) for p in copy_bindings(path, out)]
    if as_json:
        click.echo(json.dumps({**result.summary(), "out": str(out), "bindings": bindings}, indent=1))
        return
    _print_result(result, path, out)
    for binding in bindings:
        click.echo(f"copied its binding to {binding}")


def _print_result(result, path: Path, out: Path) -> None:
    before, after = result.loss_before, result.loss_after
    click.echo(
        f"calibrated {result.circuit.name} {result.circuit.history[-1].parent_version} -> {result.circuit.version}: {result.evaluations} evaluations in {result.generations} generations, {result.elapsed_s:.1f} s"
    )
    click.echo(
        f"held-out loss over {len(result.seeds.test)} test seeds: {before.total:.4g} -> {after.total:.4g} (best training loss {result.train_best.total:.4g})"
    )
    width = max([len(k) for k in after.terms] + [4])
    for term in after.terms:
        click.echo(f"  {term:<{width}}  {before.terms.get(term, float('nan')):10.4g} -> {after.terms[term]:.4g}")
    if result.values_after == result.values_before:
        click.echo("no candidate beat the starting values on the validation seeds: values unchanged")
    elif after.total >= before.total:
        click.echo(
            "the pick did not improve on the held-out seeds: raise --budget, --train-seeds or --validation-seeds"
        )
    click.echo("parameters:")
    width = max(len(k) for k in result.values_after)
    for name, value in result.values_after.items():
        click.echo(f"  {name:<{width}}  {result.values_before[name]:g} -> {value:g}")
    click.echo(f"wrote {out} (log {result.log_path})")


def _report(log_path: Path, plot: Path | None, as_json: bool, force: bool = False) -> None:
    from encephagen.atomic_files import check_output_file
    from encephagen.calibration import convergence, plot_convergence, read_log

    if plot is not None:
        check_output_file(plot, overwrite=force)

    summary = convergence(read_log(log_path))
    if plot is not None:
        plot_convergence(summary, plot)
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    config = summary["config"]
    click.echo(
        f"{log_path}: {config['circuit']} {config['circuit_version']}, objective {config['objective']}, {config['optimizer']} seed {config['seed']}"
    )
    click.echo(
        f"{summary['evaluations']}/{config['budget']} evaluations in {summary['generations']} generations; best training loss {summary['best']:.4g}"
        if summary["best"] is not None
        else "no evaluations yet"
    )
    test = summary["test"]
    if test is not None:
        click.echo(
            f"held-out loss over {len(test['seeds'])} test seeds: {test['before']['total']:.4g} -> {test['after']['total']:.4g}"
        )
    else:
        click.echo("not finished (no held-out test yet)")
    if plot is not None:
        click.echo(f"wrote {plot}")
