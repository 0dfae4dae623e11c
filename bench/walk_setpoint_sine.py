"""Can Walker2d-v5 walk at commanded speeds when its joints follow set-points? An open-loop answer.

The torque-driven walkers (walker2d_cpg 0.8.1 and the sine_pitch walker) finish episodes only at
0.65-0.80 m/s (``bench/walk_speed_knobs.py``): their commands saturate and the joint limits set
the step. Here every joint instead follows a sine *target*, ``o_j + A_j sin(2 pi f t + phi_j)``
(left leg half a cycle later; hips also ``kp_pitch * pitch + kd_pitch * pitch_rate``), held by a
PD "stretch reflex", ``action = clip(kp_j (target - angle) - kd_j velocity, -1, 1)``, the
set-point motor mode of the binding format. 16 numbers.

``tune``: CMA-ES (nevergrad) from a hand start on calibration seeds: first ``walk`` (maximise
steps/1000 + distance/6), then ``speed V`` (minimise 1.5 (1 - steps/1000) + min(|d/8 s - V| / V,
1.5)); the pick is checked on selection seeds. ``scale``: a tuned walker with its hip and knee
amplitudes (or frequency) scaled, and a mid-episode amplitude change, on selection seeds.

    python bench/walk_setpoint_sine.py scale            # the shipped SETPOINT_SINE, ~1 CPU-min
    python bench/walk_setpoint_sine.py tune walk --start hand --budget 800 --cma-seed 1 --out w1.json
    python bench/walk_setpoint_sine.py tune speed --speed 0.4 --start w1.json --budget 800 --cma-seed 3 --train-seeds 3
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from encephagen.body.adapters import make_body
from encephagen.seeds import CALIBRATION, SELECTION

NAMES = (
    "f",
    "o_hip",
    "o_knee",
    "o_ankle",
    "a_hip",
    "a_knee",
    "a_ankle",
    "p_hip",
    "p_knee",
    "p_ankle",
    "kp_pitch",
    "kd_pitch",
    "kp_hip",
    "kp_knee",
    "kp_ankle",
    "kd_ratio",
)
RANGES = np.array(
    [(0.5, 2.5), (-1.0, 0.0), (-1.2, 0.0), (-0.6, 0.6), (0.0, 0.8), (0.0, 0.8), (0.0, 0.6)]
    + [(-math.pi, math.pi)] * 3
    + [(-3.0, 3.0), (-1.0, 1.0), (0.5, 10.0), (0.5, 10.0), (0.5, 10.0), (0.0, 0.2)]
)
"""Search box: Hz, rad (offsets, amplitudes), rad (phases), rad/rad and rad/(rad/s) (pitch
feedback on the hip targets), action per rad (kp), kd as a fraction of kp (s)."""

HAND_START = (0.967, -0.21, -0.28, 0.5, 0.354, 0.528, 0.05, -1.441, 2.533, 0.0, -1.0, -0.1, 4, 4, 4, 0.01)
"""Sines fitted to the joint angles of the torque sine_pitch walker on selection seed 200100
(frequency, offsets, amplitudes, phases), with a hand-set PD."""

SETPOINT_SINE = (
    1.0954481412716648,
    -0.15697633010210943,
    -0.10765009885475463,
    0.21536130484689675,
    0.23329846065329063,
    0.5299559024926463,
    0.05527964521862586,
    -2.6986831055602853,
    2.550582885250612,
    -2.3380271519120894,
    -0.0020879193071565716,
    -0.02490049238351766,
    3.401817038960356,
    3.778819024284472,
    5.482367137078604,
    0.005273199263925466,
)
"""``tune speed --speed 0.4`` (budget 800, CMA seed 3, 3 training seeds) started at ``tune walk``'s
pick (budget 800, CMA seed 1, from HAND_START): 10/10 full episodes at 0.401 m/s on selection
seeds 203000-203009."""

_BODIES: dict[str, object] = {}


def _walker():
    """One Walker2d per process (a worker builds its own once)."""
    if "walker2d" not in _BODIES:
        _BODIES["walker2d"] = make_body("walker2d")
    return _BODIES["walker2d"]


def episode(params, seed: int, schedule=None) -> tuple[int, float]:
    """(steps, distance m) of one episode; ``schedule(t_s) -> params`` changes them mid-episode
    (the phase runs on continuously)."""
    body = _walker()
    observation, _ = body.reset(seed)
    angle = np.array([body.sensor_index(f"{a}_angle") for a in body.actuator_names])
    velocity = np.array([body.sensor_index(f"{a}_velocity") for a in body.actuator_names])
    pitch, rate = body.sensor_index("torso_pitch"), body.sensor_index("torso_pitch_rate")
    dt, phase, steps = body.dt_ms / 1000.0, 0.0, 0
    while True:
        q = np.asarray(params if schedule is None else schedule(steps * dt), dtype=float)
        offsets, amplitudes, phases = q[1:4], q[4:7], q[7:10]
        target = np.concatenate(
            [offsets + amplitudes * np.sin(phase + phases), offsets + amplitudes * np.sin(phase + phases + math.pi)]
        )
        target[[0, 3]] += q[10] * observation[pitch] + q[11] * observation[rate]
        kp = np.tile(q[12:15], 2)
        action = np.clip(kp * (target - observation[angle]) - kp * q[15] * observation[velocity], -1.0, 1.0)
        result = body.step(action)
        observation, steps, phase = result.observation, steps + 1, phase + 2.0 * math.pi * q[0] * dt
        if result.terminated or result.truncated:
            return steps, float(body.distance)


def _loss(args) -> float:
    unit, mode, speed, seeds = args
    params = RANGES[:, 0] + (np.clip(unit, -1, 1) + 1) / 2 * (RANGES[:, 1] - RANGES[:, 0])
    total = 0.0
    for seed in seeds:
        steps, distance = episode(params, seed)
        if mode == "walk":
            total -= steps / 1000 + distance / 6
        else:
            total += 1.5 * (1 - steps / 1000) + min(abs(distance / 8.0 - speed) / speed, 1.5)
    return total / len(seeds)


def tune(mode: str, speed: float, start, budget: int, cma_seed: int, train_seeds: int, workers: int) -> np.ndarray:
    import nevergrad as ng

    seeds = [CALIBRATION.first + 7100 + i for i in range(train_seeds)]
    unit = 2 * (np.asarray(start) - RANGES[:, 0]) / (RANGES[:, 1] - RANGES[:, 0]) - 1
    parametrization = ng.p.Array(init=np.clip(unit, -0.99, 0.99)).set_bounds(-1, 1).set_mutation(sigma=0.15)
    parametrization.random_state = np.random.RandomState(cma_seed)
    optimizer = ng.optimizers.ParametrizedCMA(popsize=16)(parametrization, budget=budget)
    best, began = (math.inf, None), time.process_time()
    with ProcessPoolExecutor(workers) as pool:
        for generation in range(budget // 16):
            asked = [optimizer.ask() for _ in range(16)]
            for candidate, value in zip(
                asked, pool.map(_loss, [(c.value, mode, speed, seeds) for c in asked]), strict=True
            ):
                optimizer.tell(candidate, value)
                best = min(best, (value, candidate.value), key=lambda b: b[0])
            print(f"{mode} generation {generation}: best {best[0]:.3f} ({time.process_time() - began:.0f} CPU-s here)")
    return RANGES[:, 0] + (np.clip(best[1], -1, 1) + 1) / 2 * (RANGES[:, 1] - RANGES[:, 0])


def report(label: str, results: list[tuple[int, float]]) -> None:
    full = [d / 8.0 for s, d in results if s >= 1000]
    speed = f"{np.mean(full):.3f} m/s" if full else "-"
    print(f"{label}: full {len(full)}/{len(results)}, speed of the full ones {speed}")


def scale(params, first_seed: int, episodes: int) -> None:
    seeds = range(first_seed, first_seed + episodes)
    base = np.asarray(params, dtype=float)

    def with_amplitude(factor: float) -> np.ndarray:
        q = base.copy()
        q[4:6] *= factor  # hip and knee amplitudes
        return q

    print(f"selection seeds {first_seed}-{first_seed + episodes - 1}")
    for factor in (0.7, 0.8, 0.9, 1.0):
        report(f"hip+knee amplitude x{factor}", [episode(with_amplitude(factor), s) for s in seeds])
    for factor in (0.8, 1.2):
        q = base.copy()
        q[0] *= factor
        report(f"frequency x{factor}", [episode(q, s) for s in seeds])
    for a, b in ((0.7, 1.0), (1.0, 0.7)):
        results = [episode(None, s, lambda t, a=a, b=b: with_amplitude(a if t < 4.0 else b)) for s in seeds]
        report(f"amplitude x{a} for 4 s, then x{b}", results)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("scale")
    s.add_argument("--params", help="JSON file from tune (default: SETPOINT_SINE)")
    s.add_argument("--seed", type=int, default=SELECTION.first + 3200)
    s.add_argument("--episodes", type=int, default=10)
    t = sub.add_parser("tune")
    t.add_argument("mode", choices=("walk", "speed"))
    t.add_argument("--speed", type=float, default=0.4, help="target m/s (mode speed)")
    t.add_argument("--start", default="hand", help="'hand' or a JSON file from tune")
    t.add_argument("--budget", type=int, default=800)
    t.add_argument("--cma-seed", type=int, default=1)
    t.add_argument("--train-seeds", type=int, default=2)
    t.add_argument("--workers", type=int, default=2)
    t.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.command == "scale":
        params = json.loads(Path(args.params).read_text())["params"] if args.params else SETPOINT_SINE
        scale(params, args.seed, args.episodes)
        return
    start = HAND_START if args.start == "hand" else json.loads(Path(args.start).read_text())["params"]
    params = tune(args.mode, args.speed, start, args.budget, args.cma_seed, args.train_seeds, args.workers)
    print("params", json.dumps(dict(zip(NAMES, map(float, params)))))
    report(
        f"selection seeds {SELECTION.first + 3000}-{SELECTION.first + 3009}",
        [episode(params, s) for s in range(SELECTION.first + 3000, SELECTION.first + 3010)],
    )
    Path(args.out).write_text(
        json.dumps({"mode": args.mode, "speed": args.speed, "params": [float(v) for v in params]})
    )


if __name__ == "__main__":
    sys.exit(main())
