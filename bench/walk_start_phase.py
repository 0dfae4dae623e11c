"""Screen when a walker2d circuit's body starts: after a fixed warm-up, or at a set phase of the rhythm.

A rhythm generator started from rest breaks its left-right symmetry at a time set by noise, so
after a fixed warm-up each seed's body starts at its own phase of the rhythm. The binding's
``start_phase`` starts it instead a set time after either leg's flexor command rises (see
:class:`encephagen.body.binding.StartPhase`). This runs the circuit with each start on the same
draws (the same reset noise, pushes and sensor noise per seed), condition by condition, each on
the next block of selection seeds (:mod:`encephagen.seeds`), so nothing here touches a reported
figure. Session 21 chose ``after_ms`` 160 with it (docs/notes/walk.md):

    python bench/walk_start_phase.py walker2d_cpg --seed 235180 --after-ms 160 \
        --conditions none:300,delay=1:120,friction=1.5:60

Conditions are ``KIND[=SIZE][;KIND=SIZE...]:EPISODES`` (``none`` for the plain floor).
"""

from __future__ import annotations

import argparse

from walk_scan import condition_blocks, print_row  # bench/, beside this script

from encephagen.body.binding import StartPhase
from encephagen.body.loop import ClosedLoop
from encephagen.body.runs import bind

CONDITIONS = (
    "none:300,delay=1:120,friction=1.5:60,mass=1.2:60,friction=0.5:60,mass=0.8:60,noise=0.05:60,push=4:60,slope=-5:60"
)


def starts(loop: ClosedLoop, args: argparse.Namespace) -> dict[str, ClosedLoop]:
    """The closed loops compared: a fixed warm-up, then a phase start per ``--after-ms`` value."""
    fixed = loop.binding.model_copy(update={"start_phase": None, "warmup_ms": args.fixed_ms})
    loops = {f"fixed {args.fixed_ms:g} ms": ClosedLoop(loop.network, fixed, base_dir=loop.base_dir)}
    for after in args.after_ms:
        phase = StartPhase(readouts=args.readouts.split(","), after_ms=after, within_ms=1000.0)
        gated = fixed.model_copy(update={"warmup_ms": args.warmup_ms, "start_phase": phase})
        loops[f"phase +{after:g} ms"] = ClosedLoop(loop.network, gated, base_dir=loop.base_dir)
    return loops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("circuit", help="circuit name or .json file with a walker2d binding beside it")
    parser.add_argument("--seed", type=int, required=True, help="first selection seed")
    parser.add_argument("--conditions", default=CONDITIONS, help="CONDITION:EPISODES,...")
    parser.add_argument("--fixed-ms", type=float, default=1000.0, help="the fixed warm-up compared against (ms)")
    parser.add_argument("--warmup-ms", type=float, default=720.0, help="warm-up before a rise counts (ms)")
    parser.add_argument(
        "--after-ms", type=lambda text: [float(v) for v in text.split(",")], default=[160.0], help="ms,ms,..."
    )
    parser.add_argument("--readouts", default="right_fe_fast,left_fe_fast", help="readouts watched for the rise")
    args = parser.parse_args()
    loops = starts(bind(args.circuit, "walker2d"), args)
    for condition, seeds, perturbations in condition_blocks(args.conditions, args.seed):
        print(f"{condition}: seeds {seeds[0]}-{seeds[-1]}", flush=True)
        for name, loop in loops.items():
            print_row(name, [episode.metrics for episode in loop.run(seeds, perturbations=perturbations)])


if __name__ == "__main__":
    main()
