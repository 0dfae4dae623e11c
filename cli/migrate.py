"""``encephagen migrate``: upgrade a circuit file to the current schema version."""

from __future__ import annotations

import click


@click.command()
@click.argument("file")
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Write the upgraded circuit here (JSON or HDF5 by suffix)."
)
@click.option("--in-place", is_flag=True, help="Replace FILE with the upgraded circuit (same format).")
@click.option("--force", is_flag=True, help="With --out: replace an existing file.")
def migrate(file: str, out: str | None, in_place: bool, force: bool) -> None:
    """Upgrade a circuit written for an older schema_version (1 -> 2).

    The file is validated by its own version's models, converted by the explicit
    converters, checked by the rules, and written in the current format: left/right twins
    (L_X/R_X) declared once with "sides", their projections with "to", citations gathered
    in a references table, connectome edges grouped by cell-class pair. The compiled
    network is unchanged. A 'migrated' history entry (patch version bump) records the step.
    Without --out or --in-place the upgraded circuit is printed as canonical JSON. A file
    already at the current version is left alone.

    \b
    Examples:
      encephagen migrate old.json --out new.json
      encephagen migrate old.h5 --in-place
    """
    from encephagen.errors import CircuitFileError
    from encephagen.json_codec import dumps_canonical
    from encephagen.migration import migrate_file
    from encephagen.storage import circuit_tree, save_circuit

    if out and in_place:
        raise click.UsageError("give --out or --in-place, not both")
    if out and str(out) != str(file):
        from encephagen.atomic_files import check_output_file

        check_output_file(out, overwrite=force)
    circuit, from_version, path = migrate_file(file)
    if from_version is None:
        click.echo(f"{path}: already at schema_version {circuit.schema_version}; nothing to migrate", err=True)
        if not out:
            return
    if in_place:
        save_circuit(circuit, path, overwrite=True)
        click.echo(f"{path}: migrated from schema_version {from_version} to {circuit.schema_version}", err=True)
    elif out:
        if str(out) == str(path) and not force:
            raise CircuitFileError(f"{out}: is the input; use --in-place to replace it")
        save_circuit(circuit, out, overwrite=force)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(dumps_canonical(circuit_tree(circuit)), nl=False)
