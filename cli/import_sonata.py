"""``encephagen import sonata``: a SONATA directory back into a circuit file."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("sonata")
@click.argument("directory", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Circuit file to write (.json or .h5).")
@click.option("--name", default=None, help="Circuit name; default: the exported circuit's name or the directory's.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def import_sonata(directory: Path, out: Path, name: str | None, force: bool) -> None:
    """Read a SONATA circuit (DIRECTORY or its circuit_config.json) into an encephagen circuit.

    Neurons must be NEST aeif_psc_exp (a = 0, Delta_T = 0) or iaf_psc_exp; synapses become
    edge-list projections that reproduce every weight and delay. The circuit is checked
    against the circuit rules before it is written.

    \b
    Examples:
      encephagen export half_centre hc_sonata --format sonata
      encephagen import sonata hc_sonata --out half_centre_back.json
    """
    from encephagen.errors import CircuitError
    from encephagen.interop.sonata import import_sonata as read
    from encephagen.rules import check_circuit
    from encephagen.storage import save_circuit

    circuit = read(directory, name=name)
    problems = check_circuit(circuit, str(out), base_dir=out.parent)
    if problems:
        raise CircuitError(problems)
    save_circuit(circuit, out, overwrite=force)
    click.echo(f"wrote {out}: {len(circuit.populations)} populations, {len(circuit.projections)} projections")
