"""``encephagen validate``: check circuit files and report every problem of every file."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file (a list) instead of lines.")
@click.pass_context
def validate(ctx: click.Context, files: tuple[str, ...], as_json: bool) -> None:
    """Check circuit files against the schema and the circuit rules.

    FILES are paths to JSON or HDF5 circuits (schema version 1 or 2), or names of shipped
    circuits. Every problem of every file is printed as ``file:/json/pointer: what is wrong;
    got X. hint``: schema problems and rule problems (Dale's law, units, unknown names...)
    in one run, the rules checked on everything the schema problems leave intact. Exit
    status is 0 when every file is valid and 1 otherwise.

    \b
    Examples:
      encephagen validate half_centre
      encephagen validate circuits/*.json my_cpg.h5
      encephagen validate draft.json --json
    """
    from encephagen.validation import validate_file

    reports = [validate_file(name) for name in files]
    if as_json:
        click.echo(json.dumps([r.to_json() for r in reports], indent=2, ensure_ascii=False))
    else:
        for report in reports:
            click.echo(report.render(), nl=False)
    if not all(r.valid for r in reports):
        ctx.exit(1)
