"""``encephagen import sonata``: a SONATA directory back into a circuit file."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("sonata")
@click.argument("directory", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Circuit file to write (.json or .h5).",
)
@click.option("--name", default=None, help="Circuit name; default: the exported circuit's name or the directory's.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option(
    "--allow-root",
    "allow_roots",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    metavar="DIR",
    help="Let the config's paths lead into DIR too (repeatable); by default only files under the config's folder are read.",
)
def import_sonata(directory: Path, out: Path, name: str | None, force: bool, allow_roots: tuple[Path, ...]) -> None:
    """Read a SONATA circuit (DIRECTORY or its circuit_config.json) into an encephagen circuit.

    Neurons must be NEST aeif_psc_exp (a = 0, Delta_T = 0) or iaf_psc_exp; synapses become
    edge-list projections that reproduce every weight and delay. The circuit is checked
    against the circuit rules before it is written. Paths in the config ($BASE_DIR, ../,
    absolute, symlinks) must stay inside the config's folder unless --allow-root names
    another; only regular files are opened.

    \b
    Examples:
      encephagen export half_centre hc_sonata --format sonata
      encephagen import sonata hc_sonata --out half_centre_back.json
    """
    from encephagen.atomic_files import check_output_file
    from encephagen.errors import CircuitError
    from encephagen.interop.sonata import import_sonata as read
    from encephagen.rules import check_circuit
    from encephagen.storage import save_circuit

    check_output_file(out, overwrite=force)
    circuit = read(directory, name=name, allow_roots=allow_roots)
    problems = check_circuit(circuit, str(out), base_dir=out.parent)
    if problems:
        raise CircuitError(problems)
    save_circuit(circuit, out, overwrite=force)
    click.echo(f"wrote {out}: {len(circuit.populations)} populations, {len(circuit.projections)} projections")
