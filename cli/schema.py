"""``encephagen schema``: the JSON Schema of circuit files, generated from the models."""

from __future__ import annotations

import click


@click.command()
@click.option("--out", type=click.Path(dir_okay=False), help="Write the schema to this file instead of printing it.")
@click.option(
    "--version", "version", default=None, help="Schema version (default: the current one; '1' for the old format)."
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def schema(out: str | None, version: str | None, force: bool) -> None:
    """Print (or write) the JSON Schema that circuit files follow.

    Editors validate a circuit while you type when its "$schema" field points at this
    file; the copy shipped as circuits/circuit.schema.json is regenerated with --out, and
    circuits/circuit.v1.schema.json with --version 1.

    \b
    Examples:
      encephagen schema > circuit.schema.json
      encephagen schema --out circuits/circuit.schema.json --force
      encephagen schema --version 1 --out circuits/circuit.v1.schema.json --force
    """
    from encephagen.atomic_files import atomic_write_bytes, check_output_file
    from encephagen.schema import SCHEMA_VERSION
    from encephagen.storage import json_schema_text

    if out is not None:
        check_output_file(out, overwrite=force)

    text = json_schema_text(version or SCHEMA_VERSION)
    if out is None:
        click.echo(text, nl=False)
    else:
        atomic_write_bytes(out, text.encode("utf-8"))
        click.echo(f"wrote {out}", err=True)
