"""Gait shape of walker2d circuits beside the sine walker: full episodes, distance, foot slip, swing time.

For each circuit file (default: the shipped ``walker2d_cpg``) and each floor condition, runs the
same selection seeds and prints full episodes, mean distance, and the two gait-shape metrics of
:class:`encephagen.body.loop.GaitMeter` that the walk objective's ``slip_weight`` and
``swing_weight`` score: ``slip`` (load-weighted horizontal speed of the feet's contact points,
m/s; a skating gait scores high) and ``air_ms`` (mean time a foot is in the air before a
touchdown). The tuned sine walker (``sine_pitch``) runs on the same seeds and perturbations.

Selection seeds only (:mod:`encephagen.seeds`), so nothing here touches a reported figure.

    python bench/walk_gait_shape.py --seed 206000 --episodes 8 --perturb none --perturb friction=1.5
    python bench/walk_gait_shape.py --circuit walker2d_cpg --circuit N2.json --seed 206000 --episodes 8
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from encephagen.seeds import SELECTION


def sine_walker(seeds: list[int], perturbations: list[str]) -> list[dict[str, float]]:
    """The tuned sine walker's episodes on ``seeds`` with the gait meter's metrics."""
    from encephagen.body.baselines import reference_controllers
    from encephagen.body.binding import load_binding, make_bound_body
    from encephagen.body.loop import GaitMeter
    from encephagen.body.perturbations import parse_perturbations, perturbed
    from encephagen.locations import shipped_circuits_dir

    plain = make_bound_body(load_binding(shipped_circuits_dir() / "walker2d_cpg.binding.json"), shipped_circuits_dir())
    body = perturbed(plain, parse_perturbations(perturbations))
    controller, meter = reference_controllers(plain)["sine_pitch"], GaitMeter(body)
    out = []
    for seed in seeds:
        observation, _ = body.reset(seed)
        meter.reset()
        step = 0
        while True:
            result = body.step(controller(step, observation))
            observation, step = result.observation, step + 1
            meter.add()
            if result.terminated or result.truncated:
                break
        out.append({"full": float(not result.terminated), "distance": body.distance, **meter.metrics()})
    return out


def row(name: str, episodes: list[dict[str, float]]) -> str:
    full = int(sum(e["full"] for e in episodes))
    mean = {k: float(np.mean([e[k] for e in episodes])) for k in ("distance", "slip", "air_ms")}
    return (
        f"  {name:28s} {full:3d}/{len(episodes):<3d} {mean['distance']:7.2f} m   slip {mean['slip']:.3f} m/s"
        f"   air {mean['air_ms']:4.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuit", action="append", default=[], help="circuit name or file (repeatable)")
    parser.add_argument("--seed", type=int, default=206000, help="first selection seed")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument(
        "--perturb", action="append", default=[], help="condition, e.g. none, friction=1.5, delay=1 (repeatable)"
    )
    args = parser.parse_args()
    seeds = SELECTION.consecutive(args.seed, args.episodes)
    circuits = args.circuit or ["walker2d_cpg"]
    conditions = args.perturb or ["none", "friction=1.5"]

    from encephagen.body.runs import bind

    loops = {name: bind(name, "walker2d") for name in circuits}
    start, cpu = time.perf_counter(), time.process_time()
    for condition in conditions:
        perturbations = [] if condition == "none" else [p for p in condition.split(";") if p]
        print(f"{condition} (selection seeds {seeds[0]}-{seeds[-1]})")
        for name, loop in loops.items():
            episodes = [e.metrics for e in loop.run(seeds, perturbations=perturbations, gait_meter=True)]
            print(row(name, episodes))
        print(row("sine_pitch walker", sine_walker(seeds, perturbations)))
    print(f"{time.perf_counter() - start:.0f} s wall, {time.process_time() - cpu:.0f} CPU-s")


if __name__ == "__main__":
    main()
