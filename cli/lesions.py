"""``encephagen lesions CIRCUIT``: the lesion table, per motor pool and per speed, beside the literature."""

from __future__ import annotations

import json

import click

from encephagen.cli.gait import _finite
from encephagen.cli.options import first_report_seed

POOL_LABELS = {"left_flexor": "LF", "left_extensor": "LE", "right_flexor": "RF", "right_extensor": "RE"}


def parse_speeds(text: str) -> dict[str, float | None]:
    """'slow=12,shipped,fast=40' -> {'slow': 12.0, 'shipped': None, 'fast': 40.0} (a bare label: the circuit's value)."""
    speeds: dict[str, float | None] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        label, sep, value = part.partition("=")
        try:
            speeds[label.strip()] = float(value) if sep else None
        except ValueError:
            raise click.BadParameter(f"expected LABEL=NUMBER or LABEL; got {part!r}", param_hint="--speeds") from None
    if not speeds:
        raise click.BadParameter("give at least one speed", param_hint="--speeds")
    return speeds


@click.command("lesions")
@click.argument("circuit")
@click.option("--seeds", type=click.IntRange(min=1), default=10, show_default=True, help="Number of noise seeds.")
@first_report_seed()
@click.option(
    "--duration-ms",
    type=click.FloatRange(min=0, min_open=True),
    default=20_000.0,
    show_default=True,
    help="Biological time per run (ms), warm-up included.",
)
@click.option("--param", "parameter", default="drive", show_default=True, help="Named parameter that sets the speed.")
@click.option(
    "--speeds",
    default="slow=12,shipped,fast=40",
    show_default=True,
    help="LABEL=VALUE of --param per speed; a bare LABEL runs the circuit's own value. The literature's "
    "'low' and 'high' frequencies are compared at the labels slow and fast.",
)
@click.option("--only", default=None, help="Comma-separated lesion labels to run (e.g. V0d,V0v); default all.")
@click.option("--json", "as_json", is_flag=True, help="Print every cell (per-seed metrics, states, verdicts) as JSON.")
def lesions(
    circuit: str,
    seeds: int,
    first_seed: int,
    duration_ms: float,
    parameter: str,
    speeds: str,
    only: str | None,
    as_json: bool,
) -> None:
    """Lesion CIRCUIT's interneuron classes one experiment at a time (In-F/In-E, V0d, V0v, V2a,
    V0d+V0v, V3, V1+V2b) and report, per speed, which motor pools stay rhythmic (seeds out of
    all), whether left-right alternation and flexor-extensor alternation are kept, and what
    the literature reports for the same lesion, with a verdict: agrees, partly, differs.

    In-F/In-E is read twice: at the motor pools and at the half-centres (RG-F, RG-E), which is
    what the cited models speak of. The lesions name spinal_cpg's cell classes. Thresholds are
    documented in encephagen.lesions.

    \b
    Examples:
      encephagen lesions spinal_cpg
      encephagen lesions spinal_cpg --only V0d,V0v --seeds 3 --duration-ms 8000
      encephagen lesions spinal_cpg --speeds slow=12,fast=40 --json
    """
    from encephagen.errors import UnknownNameError
    from encephagen.lesions import SPINAL_LESIONS, judge, lesion_table
    from encephagen.storage import load_circuit

    loaded = load_circuit(circuit)
    chosen = list(SPINAL_LESIONS)
    if only:
        wanted = [w.strip() for w in only.split(",") if w.strip()]
        labels = {lesion.label: lesion for lesion in SPINAL_LESIONS}
        for name in wanted:
            if name not in labels:
                raise UnknownNameError("lesion", name, labels)
        chosen = [lesion for lesion in SPINAL_LESIONS if lesion.label == "intact" or lesion.label in wanted]
    seed_list = list(range(first_seed, first_seed + seeds))
    announce = None if as_json else (lambda lesion: click.echo(f"running {lesion.label}...", err=True))
    rows = lesion_table(
        loaded,
        chosen,
        parameter=parameter,
        speeds=parse_speeds(speeds),
        seeds=seed_list,
        duration_ms=duration_ms,
        on_lesion=announce,
    )
    intact = {cell.speed: cell for cell in rows[0]}
    if as_json:
        out = []
        for row in rows:
            for cell in row:
                verdict, reasons = judge(cell, intact.get(cell.speed))
                out.append(
                    {
                        "lesion": cell.lesion.label,
                        "removed": list(cell.lesion.remove),
                        "level": cell.lesion.level,
                        "speed": cell.speed,
                        parameter: cell.value,
                        "pools_rhythmic": cell.pools,
                        "lr": dict(cell.lr),
                        "fe": dict(cell.fe),
                        "summary": cell.summary,
                        "literature": cell.lesion.literature,
                        "verdict": verdict,
                        "reasons": reasons,
                        "per_seed": cell.per_seed,
                    }
                )
        click.echo(
            json.dumps(
                _finite(
                    {
                        "circuit": loaded.name,
                        "version": loaded.version,
                        "seeds": seed_list,
                        "duration_ms": duration_ms,
                        "cells": out,
                    }
                ),
                indent=2,
            )
        )
        return
    click.echo(render(loaded, rows, parameter, seed_list, duration_ms))


def _states(counter, n: int) -> str:
    return ", ".join(f"{state} {count}/{n}" for state, count in counter.most_common())


def render(circuit, rows, parameter: str, seeds: list[int], duration_ms: float) -> str:
    """One block per lesion: a line per speed, then the literature and the verdict per speed."""
    from encephagen.lesions import contrast_of, judge

    n = len(seeds)
    intact = {cell.speed: cell for cell in rows[0]}
    lines = [
        f"{circuit.name} {circuit.version}: lesions on seeds {seeds[0]}-{seeds[-1]} ({n} x {duration_ms:g} ms); "
        f"pool columns: seeds on which the pool is rhythmic (its median burst contrast)"
    ]
    header = f"  {'speed':<8} {parameter:>6} {'freq Hz':>8} {'CV':>6} " + " ".join(
        f"{label:>11}" for label in POOL_LABELS.values()
    )
    for row in rows:
        lesion = row[0].lesion
        removed = f" (removes {', '.join(lesion.remove)})" if lesion.remove else ""
        removed += f", read at the {lesion.level}" if lesion.pools is not None else ""
        lines += ["", f"{lesion.label}{removed}", header + "  L-R / F-E"]
        for cell in row:
            pools = " ".join(
                f"{cell.pools.get(role, 0):>4}/{n:<2}({contrast_of(cell, role):.2f})"
                if role in cell.pools
                else f"{'-':>11}"
                for role in POOL_LABELS
            )
            freq, cv = cell.summary["frequency_hz"]["mean"], cell.summary["period_cv"]["mean"]
            lines.append(
                f"  {cell.speed:<8} {cell.value:>6g} {freq:>8.2f} {cv:>6.3f} {pools}  "
                f"L-R {_states(cell.lr, n)} / F-E {_states(cell.fe, n)}"
            )
        if lesion.literature:
            lines.append(f"  literature: {lesion.literature}")
        for cell in row:
            verdict, reasons = judge(cell, intact.get(cell.speed))
            if verdict:
                lines.append(f"  {cell.speed}: {verdict}: {'; '.join(reasons)}")
    return "\n".join(lines)
