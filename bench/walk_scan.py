"""Screen parameter variants of one walker2d circuit under floor conditions, the sine walker beside.

Every variant is a lane of one batched closed-loop run, so all of them (and the sine walker) see
the same draws: the same reset noise, pushes and sensor noise per seed. Each condition takes the
next block of selection seeds (:mod:`encephagen.seeds`), so nothing here touches a reported figure;
the first seed of each block is printed, and beside each circuit variant its mean backward-lean margin
(metric ``pitch_min``). A variant sets values (``{"o_slip": -20}``), scales them
(``"*0.8"``) or shifts them (``"+0.02"``, ``"-0.5"``); ``{}`` is the file as written.

    python bench/walk_scan.py CIRCUIT.json --seed 226000 --conditions none:100,delay=1:60,friction=1.5:60 \
        --variants '{"as written": {}, "o_slip -20": {"o_slip": -20}}'

Conditions are ``KIND[=SIZE][;KIND=SIZE...]:EPISODES`` (``none`` for the plain floor). Sessions 16-17
chose H1's slip threshold and start drive with it (docs/notes/walk.md).

Each count carries its 95 % Wilson interval, and every row after the first is compared with the first
on the same draws: the episodes only one of the two finished (exact McNemar p) and the paired
difference in distance with its 95 % interval. At a fall rate of ~0.1 %, 1500/1500 against 1498/1500
is p = 0.5: a screen that cannot tell two variants apart says so. ``--episodes-json FILE`` keeps every
episode's metrics (a list of blocks: condition, seeds, and per controller one dict per seed) for the
statistics the rows leave out, such as how often a block of 60 would put a variant below the sine walker.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from encephagen.atomic_files import atomic_write_bytes
from encephagen.body.baselines import aggregate, paired_difference, paired_full, reference_controllers, run_episode
from encephagen.body.binding import make_bound_body
from encephagen.body.perturbations import parse_perturbations, perturbed
from encephagen.body.runs import bind
from encephagen.seeds import SELECTION

CHUNK = 240
"""Seeds per batched run (times the variants: lanes); a 1,500-seed block of two variants in one run took 4.5 GB."""


def resolve(variant: dict[str, float | str], defaults: dict[str, float]) -> dict[str, float]:
    """A variant's parameter values: numbers as given, ``"*F"`` scales the default, ``"+D"``/``"-D"`` shift it."""
    values = {}
    for name, value in variant.items():
        if name not in defaults:
            raise SystemExit(f"error: variant sets {name!r}, which the circuit does not declare")
        if isinstance(value, str) and value.startswith("*"):
            values[name] = defaults[name] * float(value[1:])
        elif isinstance(value, str):
            values[name] = defaults[name] + float(value)
        else:
            values[name] = float(value)
    return values


def condition_blocks(conditions: str, first: int) -> Iterator[tuple[str, list[int], list[str]]]:
    """``KIND[=SIZE][;KIND=SIZE...]:EPISODES,...`` as (condition, its block of selection seeds, its
    perturbations), each block the next one from ``first`` (``none``: the plain floor)."""
    for item in conditions.split(","):
        condition, episodes = item.rsplit(":", 1)
        seeds = SELECTION.consecutive(first, int(episodes))
        first += len(seeds)
        yield condition, seeds, [] if condition == "none" else condition.split(";")


def print_row(
    name: str, episodes: list[dict[str, float]], reference: tuple[str, list[dict[str, float]]] | None = None
) -> None:
    """One controller's line: full episodes with their 95 % interval and mean distance
    (:func:`~encephagen.body.baselines.aggregate`), for a circuit the mean of each episode's most backward
    torso pitch after 2 s (``pitch_min``, rad), and against ``reference`` (name, its episodes on the same
    draws) the discordant episodes and the paired distance difference."""
    summary = aggregate(episodes)
    lean = [e["pitch_min"] for e in episodes if "pitch_min" in e]
    margin = f"  lean {sum(lean) / len(lean):+.3f} rad" if lean else ""
    share = f"({100 * summary['full_low']:.1f}-{100 * summary['full_high']:.1f} %)"
    against = ""
    if reference is not None:
        only_here, only_there, p = paired_full(episodes, reference[1])
        difference, low, high = paired_difference(episodes, reference[1])
        against = (
            f"  | vs {reference[0]}: {only_here} only here, {only_there} only there (p {p:.2g}),"
            f" distance {difference:+.3f} m [{low:+.3f}, {high:+.3f}]"
        )
    print(
        f"  {name:28s} {int(summary['full']):4d}/{len(episodes):<4d} {share:15s} {summary['distance_mean']:5.2f} m"
        f"{margin}{against}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("circuit", help="circuit name or .json file with a walker2d binding beside it")
    parser.add_argument("--seed", type=int, required=True, help="first selection seed")
    parser.add_argument("--conditions", default="none:100", help="CONDITION:EPISODES,... (default none:100)")
    parser.add_argument("--variants", default='{"as written": {}}', help="JSON object: name -> parameter changes")
    parser.add_argument("--no-sine", action="store_true", help="skip the sine walker")
    parser.add_argument(
        "--episodes-json",
        type=Path,
        help="also write every episode's metrics per condition and controller here (rewritten after each condition),"
        " for statistics the rows do not print, such as how often a block of N episodes falls below the sine walker",
    )
    args = parser.parse_args()
    loop = bind(args.circuit, "walker2d")
    defaults = loop.network.parameter_values()
    body = make_bound_body(loop.binding, loop.base_dir)  # the sine walker's, as `encephagen run` builds it
    sine = reference_controllers(body)["sine_pitch"]
    variants = {name: resolve(changes, defaults) for name, changes in json.loads(args.variants).items()}
    blocks: list[dict] = []
    for condition, seeds, perturbations in condition_blocks(args.conditions, args.seed):
        began = time.perf_counter()
        metrics: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
        for first in range(0, len(seeds), CHUNK):  # a lane is the same run alone or batched: chunks bound memory
            chunk = seeds[first : first + CHUNK]
            results = loop.run(
                [seed for _ in variants for seed in chunk],
                parameters=[values for values in variants.values() for _ in chunk],
                perturbations=perturbations,
            )
            for i, name in enumerate(variants):
                metrics[name] += [episode.metrics for episode in results[i * len(chunk) : (i + 1) * len(chunk)]]
            short = ", ".join(f"{name} {sum(not e['full'] for e in m)}" for name, m in metrics.items())
            print(
                f"  ... {condition}: {first + len(chunk)}/{len(seeds)} seeds in"
                f" {time.perf_counter() - began:.0f} s; not full so far: {short}",
                file=sys.stderr,
                flush=True,
            )
        print(f"{condition}: seeds {seeds[0]}-{seeds[-1]} ({time.perf_counter() - began:.0f} s)", flush=True)
        first_name = next(iter(metrics))
        reference = (first_name, metrics[first_name])
        for name, episodes in metrics.items():
            print_row(name, episodes, None if name == first_name else reference)
        if not args.no_sine:
            shaken = perturbed(body, parse_perturbations(perturbations))
            metrics["sine walker"] = [run_episode(shaken, sine, seed) for seed in seeds]
            print_row("sine walker", metrics["sine walker"], reference)
        if args.episodes_json is not None:
            blocks.append({"condition": condition, "seeds": seeds, "episodes": metrics})
            atomic_write_bytes(args.episodes_json, json.dumps(blocks).encode())


if __name__ == "__main__":
    main()
