"""``encephagen fc``: simulated BOLD FC of a cortex circuit against empirical FC and its baselines."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from encephagen.errors import EncephagenError
from encephagen.fc import DEFAULT_OBSERVABLE, OBSERVABLES


def _connectome_file(circuit, circuit_path: Path) -> Path:
    """The HDF5 file the circuit's matrix projections read (the connectome it was built from)."""
    from encephagen.schema import ArrayFile

    for mproj in circuit.matrix_projections.values():
        array = mproj.probability.array
        if isinstance(array, ArrayFile):
            return (circuit_path.parent / array.file).resolve()
    raise EncephagenError(f"{circuit_path}: no matrix projection refers to a connectome file; pass --data data/hcp80.h5")


@click.command("fc")
@click.argument("circuit")
@click.option("--duration-s", type=click.FloatRange(min=1.0), required=True, help="Biological time to simulate (s); minutes are needed for a stable FC.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the run's noise and Poisson input (the first, with --lanes).")
@click.option("--lanes", type=click.IntRange(min=1), default=1, show_default=True,
              help="Independent runs (seeds SEED, SEED+1, ...) batched in one simulation; their BOLD FCs are averaged.")
@click.option("--observable", type=click.Choice(OBSERVABLES), default=DEFAULT_OBSERVABLE, show_default=True,
              help="What drives each region's BOLD: the firing rate of all its neurons, their excitatory synaptic input, or the rate of its E cells.")
@click.option("--dt", type=click.FloatRange(min=0.01, max=1.0), default=0.5, show_default=True,
              help="Integration step (ms). The FC figures of hcp_cortex were measured at 0.5 (same mean rates as 0.1 within 1 %, "
                   "2.5x faster: bench/bench_cortex.py); 0.1 for finer spike timing.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a named parameter (repeatable), e.g. --set coupling=2.")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Connectome HDF5 with the empirical FC (default: the file the circuit refers to).")
@click.option("--discard-s", type=click.FloatRange(min=0.0), default=10.0, show_default=True, help="Initial BOLD transient left out of the FC (s).")
@click.option("--all-subjects", is_flag=True, help="Compare with the group FC of all subjects instead of the held-out ones.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Save simulated vs empirical FC matrices and their scatter (PNG).")
@click.option("--save-result", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Save the binned population rates (HDF5) to re-analyse without re-running.")
@click.option("--force", is_flag=True, help="Replace --plot / --save-result files that exist.")
def fc(circuit: str, duration_s: float, seed: int, lanes: int, observable: str, dt: float, sets: tuple[str, ...], data: Path | None, discard_s: float, all_subjects: bool,
       as_json: bool, plot: Path | None, save_result: Path | None, force: bool) -> None:
    """Simulate a cortex circuit, turn region activity into BOLD, and score its FC.

    The simulated FC is compared (Pearson, upper triangle) with the empirical group FC of the
    held-out subjects, and printed beside what the data predict without any simulation:
    log1p(1000 SC), the node-strength product, the best linear (SAR) model, and the
    split-half ceiling — all computed from the same file. The FC of a run of T seconds is
    noisy; --lanes N averages N independent runs (N x T seconds of BOLD).

    \b
    Example:
      encephagen fc hcp_cortex --duration-s 300 --dt 0.5 --lanes 2 --plot fc.png
      encephagen fc hcp_cortex --duration-s 100 --dt 0.5 --set coupling=1.8 --observable synaptic
    """
    from encephagen.cli.gait import parse_assignments
    from encephagen.compile import compile_circuit
    from encephagen.fc import fc_report, run_cortex
    from encephagen.hcp import load_connectome
    from encephagen.storage import check_output_file, load_circuit, resolve_circuit_path

    for output in (plot, save_result):
        if output is not None:
            check_output_file(output, overwrite=force)
    path = resolve_circuit_path(circuit)
    loaded = load_circuit(path)
    values = parse_assignments(sets)
    if values:
        loaded = loaded.with_parameter_values(values)
    connectome = load_connectome(data or _connectome_file(loaded, path))
    network = compile_circuit(loaded, dt=dt, base_dir=path.parent)
    start = time.perf_counter()
    duration_ms = duration_s * 1000.0
    seeds = list(range(seed, seed + lanes))
    label = f"simulating {duration_s:g} s" + (f" x {lanes} lanes" if lanes > 1 else "")
    with click.progressbar(length=int(duration_ms), label=label, file=sys.stderr) as bar:
        result = run_cortex(network, duration_ms, seeds=seeds, on_chunk=lambda ms: bar.update(int(round(ms))))
    wall = time.perf_counter() - start
    if save_result is not None:
        result.save(save_result)
    report = fc_report(result, connectome, network=network, observable=observable, heldout_only=not all_subjects, discard_s=discard_s)
    if plot is not None:
        _plot(report, plot)
    if as_json:
        click.echo(json.dumps({"circuit": loaded.name, "duration_s": duration_s, "dt_ms": dt, "seeds": seeds, "observable": observable,
                               "parameters": values, "wall_s": wall, "wall_per_biological_s": wall / (duration_s * lanes),
                               **report.as_dict()}, indent=2))
        return
    terms = report.terms
    runs = f"seed {seed}" if lanes == 1 else f"seeds {seeds[0]}-{seeds[-1]}, {lanes} lanes"
    click.echo(f"{loaded.name}: {duration_s:g} s simulated (dt {dt:g} ms, {runs}) in {wall:.0f} s wall "
               f"({wall / (duration_s * lanes):.1f} s per biological second per lane)")
    click.echo(f"rates: mean {terms['mean_rate_hz']:.2f} Hz per neuron; excitatory populations of the regions {terms['min_region_rate_hz']:.2f}-{terms['max_region_rate_hz']:.2f} Hz")
    click.echo(f"FC against the empirical group FC of {report.target}, Pearson over upper-triangle pairs:")
    spread = f"; single lanes {terms['lane_fc_r_min']:.3f}-{terms['lane_fc_r_max']:.3f}" if lanes > 1 else ""
    rows = [(f"simulated BOLD FC ({observable})", report.r, f"mean simulated FC {terms['fc_mean']:.3f}{spread}"),
            ("simulated 100-ms activity FC (screen)", terms["rate_fc_r"], f"mean {terms['rate_fc_mean']:.3f}; no haemodynamics")]
    rows += [(b.name, b.r, b.detail) for b in report.baselines]
    rows.append(("split-half ceiling (all subjects)", report.ceiling[0], f"sd {report.ceiling[1]:.3f} over {report.ceiling[2]} splits"))
    for name, r, detail in rows:
        click.echo(f"  {name:<42} {r:6.3f}  {detail}")
    beyond = ", ".join(f"{name} {r:.3f}" for name, r in report.beyond_hubs.items())
    click.echo(f"after regressing the strength product out of both FCs (more than hubs?): {beyond}")


def _plot(report, path: Path) -> None:
    from encephagen.extras import require

    matplotlib = require("matplotlib", "the FC figure")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from encephagen.fc import upper_triangle

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, matrix, title in ((axes[0], report.simulated_fc, "simulated BOLD FC"), (axes[1], report.empirical_fc, f"empirical FC, {report.target}")):
        image = ax.imshow(matrix, vmin=-0.2, vmax=1.0, cmap="viridis")
        ax.set_title(title, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046)
    axes[2].scatter(upper_triangle(report.empirical_fc), upper_triangle(report.simulated_fc), s=2, alpha=0.4)
    axes[2].set_xlabel("empirical FC")
    axes[2].set_ylabel("simulated FC")
    axes[2].set_title(f"r = {report.r:.3f}", fontsize=9)
    fig.tight_layout()
    from encephagen.plots import save_figure

    save_figure(fig, path)
