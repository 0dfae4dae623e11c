"""``encephagen sweep CIRCUIT --param NAME --values a,b,c``: gait metrics against one parameter."""

from __future__ import annotations

import json
from pathlib import Path

import click

from encephagen.cli.gait import TABLE_COLUMNS, _finite, check_duration, parse_assignments, parse_names
from encephagen.cli.options import first_report_seed


def parse_values(text: str) -> list[float]:
    """'10,20,30' or 'start:stop:count' (inclusive, evenly spaced) -> floats."""
    try:
        if ":" in text:
            start, stop, count = text.split(":")
            n = int(count)
            if n < 2:
                raise ValueError
            return [float(start) + (float(stop) - float(start)) * i / (n - 1) for i in range(n)]
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(
            f"expected a,b,c or start:stop:count (count >= 2); got {text!r}", param_hint="--values"
        ) from None
    if not values:
        raise click.BadParameter("give at least one value", param_hint="--values")
    return values


@click.command("sweep")
@click.argument("circuit")
@click.option(
    "--param",
    "parameter",
    required=True,
    help="Named parameter to vary (non-structural: weight, drive, time constant...).",
)
@click.option("--values", "values_text", required=True, help="Values: a,b,c or start:stop:count.")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True, help="Noise seeds per value.")
@first_report_seed()
@click.option(
    "--duration-ms",
    type=click.FloatRange(min=0, min_open=True),
    default=10_000.0,
    show_default=True,
    help="Biological time per run (ms).",
)
@click.option("--warmup-ms", type=click.FloatRange(min=0), default=1000.0, show_default=True)
@click.option(
    "--lesion", default=None, help="Comma-separated populations, projections or cell classes to remove first."
)
@click.option(
    "--set", "assignments", multiple=True, metavar="NAME=VALUE", help="Override another parameter (repeatable)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summaries as JSON.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write frequency, phases and regularity against the parameter.",
)
@click.option("--force", is_flag=True, help="Replace --plot if it exists.")
def sweep(
    circuit: str,
    parameter: str,
    values_text: str,
    seeds: int,
    first_seed: int,
    duration_ms: float,
    warmup_ms: float,
    lesion: str | None,
    assignments: tuple[str, ...],
    as_json: bool,
    plot: Path | None,
    force: bool,
) -> None:
    """Sweep one named parameter of CIRCUIT and measure the gait at each value.

    Every value x seed is one lane of a single batched simulation. The experiments by
    which the CPG literature assigns roles to cell classes are sweeps with lesions: e.g.
    the descending drive with and without V0v.

    \b
    Examples:
      encephagen sweep spinal_cpg --param drive --values 12:36:7 --plot drive.png
      encephagen sweep spinal_cpg --param drive --values 15,25,35 --lesion V0v --json
    """
    from encephagen.atomic_files import check_output_file
    from encephagen.gait import sweep_gait
    from encephagen.storage import load_circuit

    check_duration(duration_ms, warmup_ms)
    if plot is not None:
        check_output_file(plot, overwrite=force)
    loaded = load_circuit(circuit)
    values = parse_values(values_text)
    lesions = parse_names(lesion)
    seed_list = list(range(first_seed, first_seed + seeds))
    summaries = sweep_gait(
        loaded,
        parameter,
        values,
        seeds=seed_list,
        duration_ms=duration_ms,
        parameters=parse_assignments(assignments),
        lesions=lesions,
        progress=not as_json,
        warmup_ms=warmup_ms,
    )
    if plot is not None:
        from encephagen.plots import save_figure, sweep_figure

        title = f"{loaded.name} {loaded.version}" + (f", lesion {','.join(lesions)}" if lesions else "")
        save_figure(sweep_figure(parameter, values, summaries, title=title), plot)
    if as_json:
        report = {
            "circuit": loaded.name,
            "version": loaded.version,
            "parameter": parameter,
            "lesions": lesions,
            "seeds": seed_list,
            "duration_ms": duration_ms,
            "values": values,
            "summaries": summaries,
            "plot": str(plot) if plot else None,
        }
        click.echo(json.dumps(_finite(report), indent=2))
        return
    from encephagen.seeds import describe_seeds

    click.echo(
        f"{loaded.name} {loaded.version}: {parameter} sweep, {seeds} {describe_seeds(seed_list)} x {duration_ms:g} ms"
        + (f", lesion {','.join(lesions)}" if lesions else "")
    )
    click.echo(f"{parameter:>12} " + " ".join(f"{label:>9}" for _, label in TABLE_COLUMNS))
    for value, summary in zip(values, summaries):
        click.echo(f"{value:>12g} " + " ".join(f"{summary[key]['mean']:>9.3f}" for key, _ in TABLE_COLUMNS))
    if plot is not None:
        click.echo(f"figure: {plot}")
