"""``encephagen fc``: simulated BOLD FC of a cortex circuit against empirical FC and its baselines."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import numpy as np

from encephagen.errors import EncephagenError
from encephagen.fc import DEFAULT_OBSERVABLE, OBSERVABLES
from encephagen.seeds import REPORT


def _connectome_file(circuit, circuit_path: Path) -> Path:
    """The HDF5 file the circuit's matrix projections read (the connectome it was built from)."""
    from encephagen.schema import ArrayFile

    for mproj in circuit.matrix_projections.values():
        array = mproj.probability.array
        if isinstance(array, ArrayFile):
            return (circuit_path.parent / array.file).resolve()
    raise EncephagenError(
        f"{circuit_path}: no matrix projection refers to a connectome file; pass --data data/hcp80.h5"
    )


@click.command("fc")
@click.argument("circuit")
@click.option(
    "--duration-s",
    type=click.FloatRange(min=1.0),
    required=True,
    help="Biological time to simulate (s); minutes are needed for a stable FC.",
)
@click.option(
    "--seed",
    type=int,
    default=REPORT.first,
    show_default=True,
    help="Seed of the first run's noise and Poisson input (report seeds start at 100000; nothing that chooses a parameter uses them).",
)
@click.option(
    "--lanes",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Independent runs (seeds SEED, SEED+1, ...) batched in one simulation; r is reported as their mean and spread.",
)
@click.option(
    "--observable",
    type=click.Choice(OBSERVABLES),
    default=DEFAULT_OBSERVABLE,
    show_default=True,
    help="What drives each region's BOLD: the firing rate of all its neurons, their excitatory synaptic input, or the rate of its E cells.",
)
@click.option(
    "--dt",
    type=click.FloatRange(min=0.01, max=1.0),
    default=0.5,
    show_default=True,
    help="Integration step (ms). The FC figures of hcp_cortex were measured at 0.5 (same mean rates as 0.1 within 1 %, "
    "2.5x faster: bench/bench_cortex.py); 0.1 for finer spike timing.",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a named parameter (repeatable), e.g. --set coupling=2.",
)
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Connectome HDF5 with the empirical FC (default: the file the circuit refers to).",
)
@click.option(
    "--discard-s",
    type=click.FloatRange(min=0.0),
    default=10.0,
    show_default=True,
    help="Initial BOLD transient left out of the FC (s).",
)
@click.option(
    "--all-subjects", is_flag=True, help="Compare with the group FC of all subjects instead of the held-out ones."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save simulated vs empirical FC matrices and their scatter (PNG).",
)
@click.option(
    "--save-result",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save the binned population rates (HDF5) to re-analyse without re-running.",
)
@click.option("--force", is_flag=True, help="Replace --plot / --save-result files that exist.")
def fc(
    circuit: str,
    duration_s: float,
    seed: int,
    lanes: int,
    observable: str,
    dt: float,
    sets: tuple[str, ...],
    data: Path | None,
    discard_s: float,
    all_subjects: bool,
    as_json: bool,
    plot: Path | None,
    save_result: Path | None,
    force: bool,
) -> None:
    """Simulate a cortex circuit, turn region activity into BOLD, and score its FC.

    The simulated FC is compared (Pearson, upper triangle) with the empirical group FC of the
    held-out subjects, and printed beside what the data predict without any simulation:
    log1p(1000 SC), the node-strength product, the best linear (SAR) model, and the
    split-half ceiling — all computed from the same file. The FC of a run of T seconds is
    noisy; --lanes N averages N independent runs (N x T seconds of BOLD). The FCD's filter and
    statistics need scipy: pip install 'encephagen[fc]'.

    \b
    Example:
      encephagen fc hcp_cortex --duration-s 300 --dt 0.5 --lanes 2 --plot fc.png
      encephagen fc hcp_cortex --duration-s 100 --dt 0.5 --set coupling=1.8 --observable rate
    """
    from encephagen.atomic_files import check_output_file
    from encephagen.cli.gait import parse_assignments
    from encephagen.compiler import compile_circuit
    from encephagen.extras import require
    from encephagen.fc import fc_report, run_cortex
    from encephagen.hcp import load_connectome
    from encephagen.locations import resolve_circuit_path
    from encephagen.storage import load_circuit

    require("scipy", "the FCD of encephagen fc")  # before minutes of simulation, not after
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
    report = fc_report(
        result, connectome, network=network, observable=observable, heldout_only=not all_subjects, discard_s=discard_s
    )
    if plot is not None:
        _plot(report, plot)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "circuit": loaded.name,
                    "version": loaded.version,
                    "duration_s": duration_s,
                    "dt_ms": dt,
                    "seeds": seeds,
                    "observable": observable,
                    "parameters": values,
                    "wall_s": wall,
                    "wall_per_biological_s": wall / (duration_s * lanes),
                    **report.as_dict(),
                },
                indent=2,
            )
        )
        return
    terms = report.terms
    runs = f"seed {seed}" if lanes == 1 else f"seeds {seeds[0]}-{seeds[-1]}, {lanes} lanes"
    click.echo(
        f"{loaded.name} {loaded.version}: {duration_s:g} s simulated (dt {dt:g} ms, {runs}) in {wall:.0f} s wall "
        f"({wall / (duration_s * lanes):.1f} s per biological second per lane)"
    )
    rates = report.region_rates_hz
    inside = int(np.sum((rates >= 1.0) & (rates <= 10.0)))
    click.echo(
        f"rates: mean {terms['mean_rate_hz']:.2f} Hz per neuron; excitatory populations of the regions "
        f"{rates.min():.2f}-{rates.max():.2f} Hz ({inside}/{len(rates)} regions within 1-10 Hz)"
    )
    click.echo(f"FC against the empirical group FC of {report.target}, Pearson over upper-triangle pairs;")
    click.echo("every baseline's SC and gain come from the calibration subjects only:")
    spread = (
        f" +- {report.r_sd:.3f} (sd over {lanes} seeds; lanes {min(report.lane_r):.3f}-{max(report.lane_r):.3f})"
        if lanes > 1
        else ""
    )
    rows = [
        (f"simulated BOLD FC ({observable}), mean of seeds", report.r, f"{spread.strip()}"),
        ("simulated BOLD FC, seeds' FCs averaged", report.r_of_mean_fc, f"mean simulated FC {terms['fc_mean']:.3f}"),
        (
            "simulated 100-ms activity FC (screen)",
            terms["rate_fc_r"],
            f"mean {terms['rate_fc_mean']:.3f}; no haemodynamics",
        ),
    ]
    rows += [(b.name, b.r, b.detail) for b in report.baselines]
    rows.append(
        (
            "split-half ceiling (all subjects)",
            report.ceiling[0],
            f"sd {report.ceiling[1]:.3f} over {report.ceiling[2]} splits",
        )
    )
    for name, r, detail in rows:
        click.echo(f"  {name:<46} {r:6.3f}  {detail}")
    beyond = ", ".join(f"{name} {r:.3f}" for name, r in report.beyond_hubs.items())
    click.echo(f"after regressing the strength product out of both FCs (more than hubs?): {beyond}")
    if report.fcd is None:
        click.echo("FCD: not computed (the run is shorter than two 60-s windows)")
    else:
        f = report.fcd
        click.echo(
            "FCD (60-s windows, 0.01-0.1 Hz), Kolmogorov-Smirnov distance to the held-out subjects' FCD (lower is better):"
        )
        click.echo(
            f"  simulated {f.simulated:.3f} (mean FCD {f.simulated_fcd.mean():.3f}), linear SAR model {f.linear:.3f} "
            f"(mean {f.linear_fcd.mean():.3f}), calibration vs held-out subjects {f.split:.3f}; empirical mean FCD {f.empirical_fcd.mean():.3f}"
        )


def _plot(report, path: Path) -> None:
    from encephagen.fc import upper_triangle
    from encephagen.plots import new_figure, save_figure

    fig = new_figure(figsize=(13, 8))
    axes = fig.subplots(2, 3)
    for ax, matrix, title in (
        (axes[0, 0], report.simulated_fc, "simulated BOLD FC (seeds averaged)"),
        (axes[0, 1], report.empirical_fc, f"empirical FC, {report.target}"),
    ):
        image = ax.imshow(matrix, vmin=-0.2, vmax=1.0, cmap="viridis")
        ax.set_title(title, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046)
    axes[0, 2].scatter(upper_triangle(report.empirical_fc), upper_triangle(report.simulated_fc), s=2, alpha=0.4)
    axes[0, 2].set_xlabel("empirical FC")
    axes[0, 2].set_ylabel("simulated FC")
    axes[0, 2].set_title(f"r = {report.r_of_mean_fc:.3f} (mean of seeds' r {report.r:.3f})", fontsize=9)
    ax = axes[1, 0]
    if report.fcd is not None:
        bins = np.linspace(-0.5, 1.0, 61)
        for values, label in (
            (report.fcd.empirical_fcd, "empirical (held-out)"),
            (report.fcd.simulated_fcd, f"simulated, KS {report.fcd.simulated:.2f}"),
            (report.fcd.linear_fcd, f"linear SAR, KS {report.fcd.linear:.2f}"),
        ):
            ax.hist(values, bins=bins, density=True, histtype="step", label=label)
        ax.legend(fontsize=7)
    ax.set_title("FCD distributions", fontsize=9)
    ax.set_xlabel("correlation between windows' FC")
    ax = axes[1, 1]
    ax.bar(np.arange(len(report.region_rates_hz)), report.region_rates_hz, color="C1")
    ax.axhspan(1.0, 10.0, color="0.9", zorder=-1)
    ax.set_title("excitatory rate per region (band 1-10 Hz)", fontsize=9)
    ax.set_xlabel("region (AAL2 order)")
    ax.set_ylabel("Hz")
    ax = axes[1, 2]
    names = [b.name for b in report.baselines] + ["simulated (mean of seeds)"]
    values = [b.r for b in report.baselines] + [report.r]
    ax.barh(
        np.arange(len(values)),
        values,
        xerr=[0] * len(report.baselines) + [report.r_sd],
        color=["0.6"] * len(report.baselines) + ["C0"],
    )
    ax.set_yticks(np.arange(len(values)), names, fontsize=7)
    ax.axvline(report.ceiling[0], color="k", ls=":", lw=0.8)
    ax.set_title("held-out FC r beside the baselines (dotted: split-half ceiling)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
