"""``encephagen fic``: set each cortex region's local inhibition so its E cells fire at a target rate."""

from __future__ import annotations

import time
from pathlib import Path

import click


@click.command("fic")
@click.argument("circuit")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="New circuit file (.json or .h5); keep it in the circuit's folder so its data paths still resolve.",
)
@click.option(
    "--target-hz",
    type=click.FloatRange(min=0.1, max=50.0),
    default=4.0,
    show_default=True,
    help="Excitatory rate every region should reach (Deco et al. 2014 use 3 Hz).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a named parameter first (repeatable), e.g. --set coupling=2.4.",
)
@click.option(
    "--duration-s", type=click.FloatRange(min=1.0), default=8.0, show_default=True, help="Length of each run (s)."
)
@click.option(
    "--settle-s",
    type=click.FloatRange(min=0.0),
    default=1.0,
    show_default=True,
    help="Initial part of each run left out of the rates (s).",
)
@click.option(
    "--dt", type=click.FloatRange(min=0.01, max=1.0), default=0.5, show_default=True, help="Integration step (ms)."
)
@click.option(
    "--seed",
    type=int,
    default=1_000_001,
    show_default=True,
    help="Noise seed of the runs (a calibration seed: never a report seed).",
)
@click.option(
    "--max-iterations",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Runs after the first before giving up.",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0.01, max=0.9),
    default=0.15,
    show_default=True,
    help="Stop when every region is within this relative distance of the target.",
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def fic(
    circuit: str,
    out: Path,
    target_hz: float,
    sets: tuple[str, ...],
    duration_s: float,
    settle_s: float,
    dt: float,
    seed: int,
    max_iterations: int,
    tolerance: float,
    force: bool,
) -> None:
    """Feedback inhibition control (Deco et al. 2014) for a cortex circuit.

    Runs the cortex, measures each region's excitatory rate, scales that region's local
    inhibitory weight (the factor of its <region>.I-><region>.E projection) towards the
    target, and repeats until every region is within --tolerance. Writes a new version whose
    history records the target, the runs and the rates reached. Nothing here reads the
    empirical FC: FIC is a choice made on the model alone.

    \b
    Example:
      encephagen fic hcp_cortex --set coupling=2.4 --target-hz 4 --out circuits/hcp_cortex_fic.json
      encephagen fc circuits/hcp_cortex_fic.json --duration-s 300 --lanes 5
    """
    from encephagen.cli.gait import parse_assignments
    from encephagen.errors import CircuitFileError
    from encephagen.fic import feedback_inhibition_control
    from encephagen.locations import resolve_circuit_path
    from encephagen.storage import load_circuit, save_circuit

    if out.exists() and not force:
        raise CircuitFileError(f"{out}: already exists; choose another --out or pass --force")
    path = resolve_circuit_path(circuit)
    loaded = load_circuit(path)
    values = parse_assignments(sets)
    if values:
        loaded = loaded.with_parameter_values(values)
    started = time.perf_counter()

    def show(step) -> None:
        rates = step.rates_hz
        click.echo(
            f"run {step.iteration}: E rates {rates.min():.2f}-{rates.max():.2f} Hz (mean {rates.mean():.2f}), worst region "
            f"{100 * step.worst_relative_error:.0f} % off; inhibition factors {step.factors.min():.2f}-{step.factors.max():.2f} "
            f"[{time.perf_counter() - started:.0f} s]",
            err=True,
        )

    result = feedback_inhibition_control(
        loaded,
        target_hz=target_hz,
        duration_s=duration_s,
        settle_s=settle_s,
        dt=dt,
        seeds=[seed],
        max_iterations=max_iterations,
        tolerance=tolerance,
        base_dir=path.parent,
        progress=show,
    )
    save_circuit(result.circuit, out, overwrite=force)
    final = result.steps[-1]
    verdict = "converged" if result.converged else f"did NOT converge in {len(result.steps)} runs"
    click.echo(
        f"{out}: {result.circuit.name} {result.circuit.version}, FIC {verdict}: E rates {final.rates_hz.min():.2f}-{final.rates_hz.max():.2f} Hz "
        f"(target {target_hz:g}), inhibition factors {final.factors.min():.2f}-{final.factors.max():.2f}"
    )
