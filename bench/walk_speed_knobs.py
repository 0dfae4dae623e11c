"""What moves the walking speed of ``walker2d_cpg``: one knob at a time, on selection seeds.

Speed on command needs some descending signal that changes speed while the walker keeps
walking. This script changes one thing at a time (the descending drive, the tonic drives,
every motor gain or one joint's gains, the hip offset, the pitch and hip-afferent gains, the
hip-afferent weight) and prints full episodes, mean speed of the full episodes, stride
frequency (right hip) and the fraction of body steps with a hip command at its bound (±1);
then the same for the sine_pitch walker (frequency or amplitudes scaled), which shows whether
the body can walk at another speed with a simpler gait. Selection seeds (encephagen.seeds),
so that nothing here touches a reported figure.

    python bench/walk_speed_knobs.py                 # 6 episodes per row (~1 CPU-min)
    python bench/walk_speed_knobs.py --episodes 20
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from encephagen.seeds import SELECTION

ROOT = Path(__file__).resolve().parents[1]


def _stride_hz(hip_angle: np.ndarray, dt_s: float) -> float:
    """Cycles per second of a joint angle, from its crossings of its own mean."""
    centred = hip_angle - hip_angle.mean()
    return float(np.sum(np.diff(np.sign(centred)) != 0) / 2 / (len(centred) * dt_s))


def circuit_rows(values: dict[str, float]) -> list[tuple[str, dict[str, float]]]:
    """(label, parameter changes) of every one-knob variant, around the circuit's own values."""
    gains = [name for name in values if name.startswith("k_") and name != "k_pitch"]
    rows = [("circuit as shipped", {})]
    rows += [(f"drive {v:g} mV", {"drive": v}) for v in (20.0, 26.0)]
    rows += [(f"drive_ext {v:g} mV", {"drive_ext": v}) for v in (15.0, 24.0)]
    rows += [(f"drive_mn {v:g} mV", {"drive_mn": v}) for v in (2.0, 7.9)]
    rows += [(f"every motor gain x{s:g}", {g: values[g] * s for g in gains}) for s in (0.5, 0.7, 1.3)]
    for joint in ("hip", "knee", "ankle"):
        rows += [
            (f"{joint} gains x{s:g}", {g: values[g] * s for g in gains if g.startswith(f"k_{joint}_")})
            for s in (0.6, 1.4)
        ]
    rows += [(f"o_hip {v:g}", {"o_hip": v}) for v in (-0.7, -0.25)]
    rows += [(f"k_pitch x{s:g}", {"k_pitch": values["k_pitch"] * s}) for s in (0.5, 2.0)]
    rows += [(f"g_hip_angle x{s:g}", {"g_hip_angle": values["g_hip_angle"] * s}) for s in (0.5, 1.5)]
    rows += [(f"w_ia {v:g}", {"w_ia": v}) for v in (1.3, 2.0)]
    return rows


def run_circuit(episodes: int) -> None:
    from encephagen.body.binding import load_binding
    from encephagen.body.loop import ClosedLoop
    from encephagen.compiler import compile_circuit
    from encephagen.storage import load_circuit

    binding_file = ROOT / "circuits" / "walker2d_cpg.binding.json"
    loop = ClosedLoop(
        compile_circuit(load_circuit(ROOT / "circuits" / "walker2d_cpg.json"), dt=0.1),
        load_binding(binding_file),
        base_dir=binding_file.parent,
    )
    rows = circuit_rows(loop.network.parameter_values())
    seeds = list(range(SELECTION.first, SELECTION.first + episodes))
    lanes = loop.run(seeds * len(rows), parameters=[p for _, p in rows for _ in seeds], record=True)
    hips = [loop.motor_actuators[list(loop.binding.motors).index(h)] for h in ("right_hip", "left_hip")]
    print(f"walker2d_cpg, selection seeds {seeds[0]}-{seeds[-1]}")
    print(f"{'variant':28s} {'full':>6s} {'speed m/s':>10s} {'stride Hz':>10s} {'hip at +-1':>11s}")
    for r, (label, _) in enumerate(rows):
        episodes_ = lanes[r * len(seeds) : (r + 1) * len(seeds)]
        full = [e for e in episodes_ if e.metrics["full"]]
        speed = np.mean([e.metrics["speed"] for e in full]) if full else float("nan")
        stride = np.mean([_stride_hz(e.trajectory["qpos"][200:, 3], 0.008) for e in full]) if full else float("nan")
        saturated = np.mean([np.mean(np.abs(e.trajectory["action"][:, hips]) >= 0.99) for e in episodes_])
        print(f"{label:28s} {len(full):>3d}/{len(seeds):<2d} {speed:>10.3f} {stride:>10.2f} {saturated:>11.2f}")


def run_sine(episodes: int) -> None:
    from encephagen.body.adapters import make_body
    from encephagen.body.baselines import SINE_PITCH, baseline_controller, run_episode

    body = make_body("walker2d")
    start = np.array(SINE_PITCH)
    rows = [("sine_pitch as tuned", start)]
    for s in (0.8, 1.2):
        x = start.copy()
        x[0] *= s
        rows.append((f"frequency x{s:g}", x))
    for s in (0.6, 0.8):
        x = start.copy()
        x[4:7] *= s
        rows.append((f"amplitudes x{s:g}", x))
    seeds = range(SELECTION.first, SELECTION.first + episodes)
    print(f"\nsine_pitch walker, selection seeds {seeds[0]}-{seeds[-1]}")
    for label, x in rows:
        results = [run_episode(body, baseline_controller("sine_pitch", x, body), s) for s in seeds]
        full = [m for m in results if m["full"]]
        speed = np.mean([m["speed"] for m in full]) if full else float("nan")
        print(f"{label:28s} {len(full):>3d}/{len(results):<2d} {speed:>10.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=6, help="episodes per row (selection seeds from 200000)")
    args = parser.parse_args()
    run_circuit(args.episodes)
    run_sine(args.episodes)


if __name__ == "__main__":
    main()
