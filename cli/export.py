"""``encephagen export``: a circuit out to another tool (SONATA for NEST, a Brian2 script)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.argument("circuit")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["sonata", "brian2"]), required=True, help="Target format.")
@click.option("--dt", type=float, default=None, help="Integration step (ms) to compile with; default 0.1.")
@click.option(
    "--duration-ms",
    type=float,
    default=1000.0,
    show_default=True,
    help="Run length written into the simulation config.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed written into the simulation config.")
@click.option("--force", is_flag=True, help="Replace OUTDIR if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def export(
    circuit: str, outdir: Path, fmt: str, dt: float | None, duration_ms: float, seed: int, force: bool, as_json: bool
) -> None:
    """Export CIRCUIT (a file or a shipped name) to OUTDIR in another tool's format.

    sonata writes nodes/edges HDF5, node/edge type tables and circuit/simulation configs
    that libsonata reads and NEST 3 builds with nest.SonataNetwork (neurons become
    aeif_psc_exp with a = 0, Delta_T = 0: the same model). brian2 writes a runnable Brian2
    script (encephagen.interop.brian2).

    \b
    Examples:
      encephagen export half_centre hc_sonata --format sonata
      python -c "import nest; net = nest.SonataNetwork('hc_sonata/circuit_config.json',
          sim_config='hc_sonata/simulation_config_nest.json'); net.BuildNetwork(); net.Simulate()"
      encephagen export half_centre hc_brian2 --format brian2
    """
    from encephagen.atomic_files import check_output_dir
    from encephagen.compiler import compile_circuit
    from encephagen.storage import load_circuit

    check_output_dir(outdir, overwrite=force)
    network = compile_circuit(load_circuit(circuit), dt=dt)
    if fmt == "sonata":
        from encephagen.interop.sonata import export_sonata

        written = export_sonata(
            network, outdir, duration_ms=duration_ms, seed=seed, overwrite=force, progress=not as_json
        )
        report = {
            "format": "sonata",
            "directory": str(written.directory),
            "circuit_config": str(written.circuit_config),
            "simulation_config": str(written.simulation_config),
            "nodes": written.n_nodes,
            "edges": written.n_edges,
            "node_types": written.node_types,
            "edge_types": written.edge_types,
            "bytes": written.bytes_written,
            "seconds": round(written.seconds, 3),
        }
        line = (
            f"wrote {written.directory}: {written.n_nodes} nodes ({written.node_types} types), "
            f"{written.n_edges} edges ({written.edge_types} types), {written.bytes_written / 1e6:.1f} MB"
        )
    else:
        from encephagen.interop.brian2 import export_brian2

        path = export_brian2(network, outdir, duration_ms=duration_ms, seed=seed, overwrite=force)
        report = {"format": "brian2", "path": str(path)}
        line = f"wrote {path}"
    click.echo(json.dumps(report, indent=2) if as_json else line)
