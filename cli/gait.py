"""``encephagen gait CIRCUIT``: burst, rhythm and phase metrics of a circuit's motor pools over noise seeds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from encephagen.cli.options import first_report_seed

TABLE_COLUMNS = (
    ("frequency_hz", "freq Hz"),
    ("period_cv", "CV"),
    ("lr_phase", "L-R"),
    ("fe_phase", "F-E"),
    ("duty_flexor", "duty F"),
    ("duty_extensor", "duty E"),
    ("burst_amplitude_hz", "amp Hz"),
    ("rhythmic_fraction", "rhythmic"),
)


def parse_names(text: str | None) -> list[str]:
    """'V0d,V0v' -> ['V0d', 'V0v'] (blank entries dropped)."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def parse_assignments(pairs: tuple[str, ...]) -> dict[str, float]:
    """('drive=20', 'w_inf=-30') -> {'drive': 20.0, 'w_inf': -30.0}."""
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(f"expected NAME=NUMBER; got {pair!r}", param_hint="--set") from None
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=NUMBER; got {pair!r}", param_hint="--set")
    return values


@click.command("gait")
@click.argument("circuit")
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Number of noise seeds (lanes of one batched run).",
)
@first_report_seed()
@click.option(
    "--duration-ms",
    type=click.FloatRange(min=0, min_open=True),
    default=20_000.0,
    show_default=True,
    help="Biological time per seed (ms), warm-up included.",
)
@click.option(
    "--warmup-ms",
    type=click.FloatRange(min=0),
    default=1000.0,
    show_default=True,
    help="Initial transient left out of the analysis (ms).",
)
@click.option(
    "--lesion", default=None, help="Comma-separated populations, projections or cell classes to remove, e.g. V0d,V0v."
)
@click.option(
    "--shuffle",
    "shuffle_seed",
    type=click.IntRange(min=0),
    default=None,
    help="Send every synapse to a random target first (same counts and weights), with this seed.",
)
@click.option(
    "--set", "assignments", multiple=True, metavar="NAME=VALUE", help="Override a named parameter (repeatable)."
)
@click.option(
    "--baselines/--no-baselines",
    default=True,
    show_default=True,
    help="Also run the same seeds with no wiring (every projection removed: drive alone) and with shuffled "
    "wiring, and print their means beside the circuit's (intact circuits only).",
)
@click.option("--json", "as_json", is_flag=True, help="Print per-seed metrics and the summary as JSON.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the gait figure of the first seed (rates, raster, phase histogram).",
)
@click.option("--force", is_flag=True, help="Replace --plot if it exists.")
def gait(
    circuit: str,
    seeds: int,
    first_seed: int,
    duration_ms: float,
    warmup_ms: float,
    lesion: str | None,
    shuffle_seed: int | None,
    assignments: tuple[str, ...],
    baselines: bool,
    as_json: bool,
    plot: Path | None,
    force: bool,
) -> None:
    """Measure the gait of CIRCUIT: bursts of its motor pools, cycle frequency, period CV,
    left-right and flexor-extensor phase (0.5 = alternation), duty cycle, burst amplitude and
    the fraction of the run that is rhythmic, per seed and over seeds; then, per motor pool,
    on how many seeds it is rhythmic, at what frequency and burst contrast. The lesion table
    with the literature beside it is `encephagen lesions`.

    Motor pools are the circuit's readouts named left_flexor, left_extensor, right_flexor,
    right_extensor (or flexor, extensor for one side).

    Beside an intact circuit the same seeds are run twice more, as baselines that a gait
    must beat to come from the wiring: with every projection removed (each population fed by
    its drive alone) and with the projections shuffled (same counts and weights, random
    targets).

    \b
    Examples:
      encephagen gait spinal_cpg --seeds 10 --duration-ms 20000
      encephagen gait spinal_cpg --lesion V0d,V0v --json
      encephagen gait spinal_cpg --shuffle 1 --seeds 3
      encephagen gait spinal_cpg --set drive=30 --plot gait.png
    """
    from encephagen.atomic_files import check_output_file
    from encephagen.gait import run_gait
    from encephagen.storage import load_circuit

    check_duration(duration_ms, warmup_ms)
    if plot is not None:
        check_output_file(plot, overwrite=force)
    loaded = load_circuit(circuit)
    lesions = parse_names(lesion)
    common = dict(
        seeds=range(first_seed, first_seed + seeds),
        duration_ms=duration_ms,
        parameters=parse_assignments(assignments),
        progress=not as_json,
        warmup_ms=warmup_ms,
    )
    run = run_gait(loaded, lesions=lesions, shuffle_seed=shuffle_seed, record_spikes=plot is not None, **common)
    baseline_runs = {}
    wiring = [*loaded.projections, *loaded.matrix_projections]
    if baselines and wiring and not lesions and shuffle_seed is None:
        baseline_runs["drive only (no projections)"] = run_gait(
            loaded, lesions=wiring, pools=run.pools, **common
        ).summary
        baseline_runs["shuffled wiring (seed 0)"] = run_gait(loaded, shuffle_seed=0, pools=run.pools, **common).summary
    if plot is not None:
        from encephagen.gait import analyse_result
        from encephagen.plots import gait_figure, save_figure

        analysis = analyse_result(run.result, 0, pools=run.pools, warmup_ms=warmup_ms)
        save_figure(
            gait_figure(run.result, analysis, title=f"{run.circuit.name} {loaded.version}, seed {run.seeds[0]}"), plot
        )
    report = {
        "circuit": run.circuit.name,
        "version": loaded.version,
        "lesions": lesions,
        "shuffle_seed": shuffle_seed,
        "parameters": parse_assignments(assignments),
        "duration_ms": duration_ms,
        "warmup_ms": warmup_ms,
        "seeds": run.seeds,
        "pools": run.pools,
        "per_seed": run.per_seed,
        "summary": run.summary,
        "baselines": baseline_runs,
        "plot": str(plot) if plot else None,
    }
    if as_json:
        click.echo(json.dumps(_finite(report), indent=2))
        return
    click.echo(render_table(report))


MIN_ANALYSED_MS = 100.0
"""Gait metrics need at least this much run after the warm-up (ms)."""


def check_duration(duration_ms: float, warmup_ms: float) -> None:
    """Refuse, before simulating, a run that leaves too little after the warm-up to analyse."""
    from encephagen.errors import OptionError

    if duration_ms - warmup_ms < MIN_ANALYSED_MS:
        raise OptionError(
            f"--duration-ms {duration_ms:g} leaves {max(duration_ms - warmup_ms, 0):g} ms after the {warmup_ms:g} ms warm-up; "
            f"the gait analysis needs at least {MIN_ANALYSED_MS:g} ms: raise --duration-ms or lower --warmup-ms"
        )


def _finite(node):
    """NaN -> None, so that the JSON is standard."""
    if isinstance(node, float) and not math.isfinite(node):
        return None
    if isinstance(node, dict):
        return {k: _finite(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_finite(v) for v in node]
    return node


def render_pools(report: dict) -> list[str]:
    """Per motor pool: on how many seeds it is rhythmic, its mean rhythmic fraction, frequency and burst contrast."""
    from encephagen.gait import RHYTHMIC_POOL_MIN

    n = len(report["per_seed"])
    lines = [
        f"per pool (rhythmic: regular cycles cover >= {RHYTHMIC_POOL_MIN:g} of the run)",
        f"{'pool':>15} {'rhythmic':>9} {'fraction':>9} {'freq Hz':>9} {'contrast':>9}",
    ]
    for role in report["pools"]:
        fractions = [m.get(f"{role}_rhythmic_fraction", 0.0) for m in report["per_seed"]]
        count = sum(f >= RHYTHMIC_POOL_MIN for f in fractions)
        mean = {
            key: report["summary"].get(f"{role}_{key}", {}).get("mean", math.nan)
            for key in ("rhythmic_fraction", "frequency_hz", "contrast")
        }
        lines.append(
            f"{role:>15} {f'{count}/{n}':>9} {mean['rhythmic_fraction']:>9.3f} {mean['frequency_hz']:>9.3f} {mean['contrast']:>9.3f}"
        )
    from collections import Counter

    from encephagen.lesions import classify_fe, classify_lr

    for label, classify in (("left-right", classify_lr), ("flexor-extensor", classify_fe)):
        states = Counter(classify(m) for m in report["per_seed"])
        lines.append(f"{label}: " + ", ".join(f"{state} {count}/{n}" for state, count in states.most_common()))
    return lines


def render_table(report: dict) -> str:
    """Per-seed rows, then mean ± sd over seeds (phases: circular mean ± circular sd)."""
    extras = [
        f"lesion {','.join(report['lesions'])}" if report["lesions"] else "",
        f"shuffled (seed {report['shuffle_seed']})" if report["shuffle_seed"] is not None else "",
        " ".join(f"{k}={v:g}" for k, v in report["parameters"].items()),
    ]
    from encephagen.seeds import describe_seeds

    head = f"{report['circuit']} {report['version']}: {len(report['seeds'])} {describe_seeds(report['seeds'])} x {report['duration_ms']:g} ms"
    lines = [" ".join([head] + [e for e in extras if e])]
    lines.append(f"{'seed':>6} " + " ".join(f"{label:>9}" for _, label in TABLE_COLUMNS))
    for seed, metrics in zip(report["seeds"], report["per_seed"]):
        lines.append(f"{seed:>6} " + " ".join(f"{metrics[key]:>9.3f}" for key, _ in TABLE_COLUMNS))
    summary = report["summary"]
    lines.append(f"{'mean':>6} " + " ".join(f"{summary[key]['mean']:>9.3f}" for key, _ in TABLE_COLUMNS))
    lines.append(f"{'sd':>6} " + " ".join(f"{summary[key]['sd']:>9.3f}" for key, _ in TABLE_COLUMNS))
    lines.append(f"{'min':>6} " + " ".join(f"{summary[key]['min']:>9.3f}" for key, _ in TABLE_COLUMNS))
    lines.append(f"{'max':>6} " + " ".join(f"{summary[key]['max']:>9.3f}" for key, _ in TABLE_COLUMNS))
    lines += render_pools(report)
    for label, baseline in report.get("baselines", {}).items():
        lines.append(f"baseline, same seeds: {label}")
        lines.append(f"{'mean':>6} " + " ".join(f"{baseline[key]['mean']:>9.3f}" for key, _ in TABLE_COLUMNS))
    if report.get("plot"):
        lines.append(f"figure: {report['plot']}")
    return "\n".join(lines)
