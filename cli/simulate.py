"""``encephagen simulate``: run a circuit, report rates, optionally save the run and a raster figure."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

RATE_BIN_MS = 10.0
"""Bin width of the population-rate panel of the figure (ms)."""


@click.command()
@click.argument("circuit")
@click.option("--duration-ms", type=float, required=True, help="Biological time to simulate (ms).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of noise, Poisson input and initial v.")
@click.option("--dt", type=float, default=None, help="Integration step (ms); default 0.1.")
@click.option("--bin-ms", type=float, default=None, help="Population-count bin saved with --out (ms); default dt.")
@click.option(
    "--trace",
    "traces",
    multiple=True,
    help="Record a state variable: v, I_exc, I_inh or w, optionally ':population' or ':population[i]'. Repeatable.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the run (spikes, counts, traces, provenance) to this file; see --format.",
)
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["encephagen", "nwb", "sonata"]),
    default=None,
    help="Format of --out: encephagen HDF5 (default; what `view --run` reads), NWB (default for .nwb: Units table + metadata) or a SONATA spike report.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a raster + population-rate figure (.png, .pdf, .svg).",
)
@click.option("--force", is_flag=True, help="Replace --out / --plot files that exist.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (no progress bar).")
def simulate(
    circuit: str,
    duration_ms: float,
    seed: int,
    dt: float | None,
    bin_ms: float | None,
    traces: tuple[str, ...],
    out: Path | None,
    out_format: str | None,
    plot: Path | None,
    force: bool,
    as_json: bool,
) -> None:
    """Simulate CIRCUIT (a file or a shipped name) and report per-population firing rates.

    \b
    Examples:
      encephagen simulate half_centre --duration-ms 2000 --seed 1 --plot raster.png
      encephagen simulate spinal_cpg --duration-ms 3000 --out run.h5 --trace "v:L_RG_F[0]"
      encephagen simulate hcp_cortex --duration-ms 1000 --json
      encephagen simulate celegans --duration-ms 1000 --out run.nwb
      encephagen simulate spinal_cpg --duration-ms 1000 --out spikes.h5 --format sonata
    """
    from encephagen.atomic_files import check_output_file
    from encephagen.cli.progress import progress_bar
    from encephagen.compiler import compile_circuit
    from encephagen.errors import SimulationError
    from encephagen.simulation import simulate as run
    from encephagen.storage import load_circuit

    for path in (out, plot):
        if path is not None and path.exists() and not force:
            raise SimulationError(f"{path}: already exists; choose another name or pass --force to replace it")
        if path is not None:
            check_output_file(path, overwrite=True)  # folder exists and is writable, before the run
    if out_format is None:
        out_format = "nwb" if out is not None and out.suffix.lower() == ".nwb" else "encephagen"
    network = compile_circuit(load_circuit(circuit), dt=dt)
    started = time.perf_counter()
    run(network, network.dt, seeds=seed)  # loads the compiled kernel (compiles it on a machine's first run)
    startup = time.perf_counter() - started
    started = time.perf_counter()
    result = run(
        network,
        duration_ms,
        seeds=seed,
        traces=traces,
        bin_ms=bin_ms,
        progress=not as_json and progress_bar("simulating"),
    )
    wall = time.perf_counter() - started
    steps = result.provenance["n_steps"]
    rates = dict(zip(result.population_names, (float(r) for r in result.population_rates_hz()[0])))
    report = {
        "circuit": network.circuit.name,
        "version": network.circuit.version,
        "neurons": network.n_neurons,
        "synapses": network.n_synapses,
        "dt_ms": network.dt,
        "duration_ms": result.duration_ms,
        "steps": steps,
        "seed": seed,
        "wall_seconds": round(wall, 4),
        "kernel_load_seconds": round(startup, 4),
        "steps_per_second": round(steps / wall) if wall > 0 else None,
        "spikes": int(result.population_counts.sum()),
        "rates_hz": rates,
    }
    if out is not None:
        report["out"] = str(save_run(result, out, out_format, network.circuit))
    if plot is not None:
        report["plot"] = str(raster_figure(result, plot))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(
        f"{report['circuit']} {report['version']}: {report['neurons']} neurons, {report['synapses']} synapses, "
        f"{steps} steps of {network.dt:g} ms in {wall:.3f} s ({report['steps_per_second'] or 0:,} steps/s; "
        f"kernel load {startup:.2f} s), {report['spikes']} spikes"
    )
    width = max(len(name) for name in rates)
    for name, rate in rates.items():
        click.echo(f"  {name:<{width}}  {rate:8.2f} Hz")
    for key in ("out", "plot"):
        if key in report:
            click.echo(f"wrote {report[key]}")


def save_run(result, path: Path, out_format: str, circuit) -> Path:
    """Write the run in the chosen format (the caller has checked --force)."""
    if out_format == "nwb":
        from encephagen.nwb import write_nwb

        return write_nwb(result, path, circuit=circuit, overwrite=True)
    if out_format == "sonata":
        from encephagen.nwb import write_sonata_spikes

        return write_sonata_spikes(result, path, overwrite=True)
    return result.save(path)


def raster_figure(result, path: Path) -> Path:
    """Raster (top) and population rates in RATE_BIN_MS bins (bottom) of lane 0."""
    import numpy as np

    from encephagen.plots import new_figure, plot_raster, plot_rates, save_figure

    fig = new_figure(figsize=(10, 6))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    plot_raster(top, result)
    top.set_xlabel("")
    top.set_title(f"{result.provenance.get('circuit', '')} seed {result.seeds[0]}")
    edges = np.arange(0.0, result.duration_ms + RATE_BIN_MS, RATE_BIN_MS)
    times, neurons = result.spike_times_ms[0], result.spike_neurons[0]
    starts = np.concatenate([[0], np.cumsum(result.population_sizes)])
    rates = {}
    for p, name in enumerate(result.population_names):
        pick = (neurons >= starts[p]) & (neurons < starts[p + 1])
        counts, _ = np.histogram(times[pick], bins=edges)
        rates[name] = counts / (result.population_sizes[p] * RATE_BIN_MS / 1000.0)
    import matplotlib

    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    last = len(rates) - 1  # plot_raster colours the populations from the bottom up
    styles = {name: (colours[(last - p) % len(colours)], "-") for p, name in enumerate(rates)}
    if len(rates) > 12:  # too many lines to tell apart: show the mean and the spread
        stacked = np.array(list(rates.values()))
        rates, styles = {"mean": stacked.mean(axis=0), "max": stacked.max(axis=0), "min": stacked.min(axis=0)}, None
    plot_rates(bottom, edges[:-1], rates, styles=styles)
    bottom.set_xlabel("time (ms)")
    return save_figure(fig, path)
