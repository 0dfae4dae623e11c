"""``encephagen view``: one self-contained HTML page of a circuit, its run, its film or its diff."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("circuits", nargs=-1, required=True, metavar="CIRCUIT [NEW]")
@click.option(
    "--run",
    "run_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A run of the circuit (`encephagen simulate --out RUN.h5`): raster and rates linked to the graph.",
)
@click.option(
    "--video",
    type=click.Path(dir_okay=False, path_type=Path),
    help="An .mp4 film of the body (`encephagen run --video`) to embed.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The HTML file to write.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def view(circuits: tuple[str, ...], run_path: Path | None, video: Path | None, out: Path, force: bool) -> None:
    """Write one HTML page that shows CIRCUIT, offline (no server, no network).

    Click a population or a projection for its parameters (units, bounds, free or not),
    description and citations; the circuit's version history is one click away. With two
    circuits (OLD NEW), the page shows NEW with the semantic diff from OLD highlighted.
    Everything (script, styles, data, video) is inside the file: it opens from file://.

    \b
    Examples:
      encephagen view spinal_cpg --out spinal_cpg.html
      encephagen simulate spinal_cpg --duration-ms 2000 --out run.h5 && encephagen view spinal_cpg --run run.h5 --out run.html
      encephagen view spinal_cpg my_calibrated.json --out diff.html
    """
    from encephagen.results import SimulationResult
    from encephagen.storage import load_circuit
    from encephagen.view import write_view

    if len(circuits) > 2:
        raise click.UsageError(f"give one circuit, or two (OLD NEW) for a diff; got {len(circuits)}")
    if out.exists() and not force:
        raise click.UsageError(f"{out}: already exists; choose another name or pass --force to replace it")
    circuit = load_circuit(circuits[-1])
    old = load_circuit(circuits[0], check_rules=False) if len(circuits) == 2 else None
    run = SimulationResult.load(run_path) if run_path is not None else None
    path = write_view(circuit, out, run=run, video=video, old=old, overwrite=force)
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
