"""``encephagen convert``: a circuit between its JSON and HDF5 forms (or to canonical JSON)."""

from __future__ import annotations

import click


@click.command()
@click.argument("source", metavar="IN")
@click.argument("out", metavar="OUT")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
def convert(source: str, out: str, force: bool) -> None:
    """Convert a circuit between JSON and HDF5, losslessly (the suffix of OUT decides).

    IN is validated first (schema and rules); nothing is written unless it is valid. OUT
    is written atomically and an existing OUT is kept unless --force is given. JSON
    output is canonical, so JSON -> HDF5 -> JSON reproduces a canonical file byte for
    byte, and JSON -> JSON formats a hand-written file canonically. Paths of referenced
    array files are rewritten relative to OUT's folder.

    \b
    Examples:
      encephagen convert half_centre half_centre.h5
      encephagen convert big.h5 big.json --force
    """
    from encephagen.storage import convert_circuit

    written = convert_circuit(source, out, overwrite=force)
    click.echo(f"wrote {written}")
