"""``encephagen diff``: what changed between two versions of a circuit (JSON or HDF5)."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
@click.option(
    "--exit-code",
    is_flag=True,
    help="Like git diff --exit-code: exit 1 when the circuits differ, 2 when an input is bad.",
)
@click.pass_context
def diff(ctx: click.Context, old: str, new: str, as_json: bool, exit_code: bool) -> None:
    """Compare two circuits semantically, not line by line.

    Lists populations, projections, parameters, cell classes, neuron models, matrix
    projections and readouts added (+), removed (-) and changed (~); every changed number
    as old → new with its relative change (new − old)/|old|; and new history entries.
    OLD and NEW may be JSON or HDF5 files or shipped circuit names; a file and its
    converted form compare equal. Only the schema is checked (use validate for the rules).

    Exit status is 0 unless an input is bad; with --exit-code it is 0 for no difference,
    1 for differences and 2 for a bad input.

    \b
    Examples:
      encephagen diff half_centre my_half_centre.json
      encephagen diff v1.json v2.h5 --json
      git difftool -y -x 'encephagen diff' -- circuits/half_centre.json
    """
    from encephagen.diff import diff_circuits
    from encephagen.errors import EncephagenError
    from encephagen.storage import load_circuit

    try:
        result = diff_circuits(load_circuit(old, check_rules=False), load_circuit(new, check_rules=False))
    except EncephagenError as exc:
        if not exit_code:
            raise
        click.echo(f"error: {exc}", err=True)
        ctx.exit(2)
    click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False) if as_json else result.render(), nl=as_json)
    if exit_code and not result.identical:
        ctx.exit(1)
