"""Body benchmarks: physics-only vs closed-loop speed, and the circuit beside the baseline walkers.

Prints (1) Walker2d body steps per second for the physics alone (our adapter and
``gymnasium.make``) and for the closed loop with the shipped ``walker2d_cpg`` circuit (116 neurons) at
dt 0.1 ms (80 circuit steps per body step), one lane and several; (2) the zero-action, best-constant
and sine_pitch walkers (baselines.md section 1; sine_pitch = ``encephagen.body.baselines.SINE_PITCH``)
and the circuit with its lesions on report seeds 100000-100009 (encephagen.seeds), in one table.

    python bench/bench_body.py                  # speed + zero, constant, sine_pitch, circuit and its lesions
    python bench/bench_body.py --skip-walkers   # speed only: physics alone beside the closed loop
    python bench/bench_body.py --tune sine_pitch --budget 1920 --workers 2   # baselines.md's protocol (~13 CPU-min)
    python bench/bench_body.py --skip-speed --sine-pitch F O1 O2 O3 A1 A2 A3 P1 P2 P3 KP KD   # another walker
    python bench/bench_body.py --humanoid       # Humanoid-v5: env.step beside the closed loops (dt 0.75, 0.5, 0.25, 0.1 ms)
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np

from encephagen.seeds import REPORT_FIRST


def _rates(run) -> tuple[float, float]:
    """(steps per wall second, steps per CPU second) of ``run()``, which returns its step count.

    CPU seconds are what the process itself used: on a shared, loaded machine they tell
    what an idle core would do, wall seconds what this run got.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    steps = run()
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def physics_rate(steps: int = 3000) -> dict[str, tuple[float, float]]:
    import gymnasium as gym

    from encephagen.body.adapters import Walker2d
    from encephagen.body.baselines import BEST_CONSTANT

    action = np.array(BEST_CONSTANT)
    body, env = Walker2d(), gym.make("Walker2d-v5")

    def ours() -> int:
        body.reset(0)
        for i in range(steps):
            result = body.step(action)
            if result.terminated or result.truncated:
                body.reset(i)
        return steps

    def theirs() -> int:
        env.reset(seed=0)
        for i in range(steps):
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset(seed=i)
        return steps

    return {"adapter": _rates(ours), "gymnasium": _rates(theirs)}


def loop_rate(circuit_name: str, lanes: int, steps: int = 1000) -> tuple[float, float]:
    from encephagen.body.binding import binding_path_for, load_binding
    from encephagen.body.loop import ClosedLoop
    from encephagen.compiler import compile_circuit
    from encephagen.locations import resolve_circuit_path
    from encephagen.storage import load_circuit

    path = resolve_circuit_path(circuit_name)
    loop = ClosedLoop(
        compile_circuit(load_circuit(path), dt=0.1), load_binding(binding_path_for(path)), base_dir=path.parent
    )
    loop.run([0], max_steps=5)  # compile/load the kernel outside the timing
    seeds = list(range(REPORT_FIRST, REPORT_FIRST + lanes))
    return _rates(lambda: sum(e.metrics["steps"] for e in loop.run(seeds, max_steps=steps)))


def walkers(circuit_name: str, sine_pitch: list[float], seeds: list[int]) -> dict[str, dict[str, float]]:
    from encephagen.body.adapters import Walker2d
    from encephagen.body.baselines import aggregate, reference_controllers, run_episode
    from encephagen.body.binding import binding_path_for, load_binding
    from encephagen.body.loop import ClosedLoop
    from encephagen.compiler import compile_circuit
    from encephagen.locations import resolve_circuit_path
    from encephagen.storage import load_circuit

    body = Walker2d()
    table = {
        name: aggregate([run_episode(body, controller, s) for s in seeds])
        for name, controller in reference_controllers(body, sine_pitch).items()
    }
    from encephagen.compiler import lesion

    path = resolve_circuit_path(circuit_name)
    circuit, binding = load_circuit(path), load_binding(binding_path_for(path))
    variants = {circuit_name: circuit}
    for label, names in LESIONS.items():
        if all(n in circuit.populations or n in circuit.projections for n in names):
            variants[f"  {label}"] = lesion(circuit, names)
    for label, variant in variants.items():
        loop = ClosedLoop(compile_circuit(variant, dt=0.1), binding, base_dir=path.parent)
        table[label] = aggregate([e.metrics for e in loop.run(seeds)])
        if label == circuit_name and binding.afferents:
            table["  - afferent populations"] = aggregate([e.metrics for e in loop.without_afferents().run(seeds)])
    return table


HUMANOID_CIRCUITS = ("humanoid_cpg", "humanoid_stander")


def humanoid_rates(
    dt: float, rounds: int = 15, physics_steps: int = 400, loop_steps: int = 150
) -> dict[str, dict[str, float]]:
    """Humanoid-v5 body steps per second, measured in ``rounds`` interleaved rounds.

    Each round times, one after another: Gymnasium's ``env.step`` alone and our adapter alone
    (``physics_steps`` zero-action steps, the body reset after each fall), then ``humanoid_cpg``
    and ``humanoid_stander`` in closed loop on one lane at circuit step ``dt`` (``loop_steps`` body
    steps a round, on episode seeds 0, 1, 2, ... in turn, each capped where the round's steps are
    done; the steps counted are those the episodes ran, their set-up included, the binding's warm-up
    left out as it is paid once per episode). A round takes about a second, so every row sees the
    same host conditions; a row's rate is its steps over its time summed over all rounds, and its
    fraction of ``env.step`` the ratio of the two summed CPU rates.

    Why: one long block per row, as this bench timed before, swung by 35 % between runs on an
    idle host, and a short block's CPU rate on this shared virtual machine moves by up to 1.7x from one
    second to the next (docs/notes/humanoid.md, session 11). The spread printed beside the
    fraction is the range of the fractions of the thirds of the rounds (each third pooled alike):
    a bar crossed by the figure but not by every third is not held with margin.

    Returns ``{row: {"wall": rate, "cpu": rate, "fraction": f, "low": f_min, "high": f_max}}``,
    rates in body steps per wall and per CPU second.
    """
    import gymnasium as gym

    from encephagen.body.adapters import Humanoid
    from encephagen.body.binding import binding_path_for, load_binding
    from encephagen.body.loop import ClosedLoop
    from encephagen.compiler import compile_circuit
    from encephagen.locations import resolve_circuit_path
    from encephagen.storage import load_circuit

    action, body, env = np.zeros(17), Humanoid(), gym.make("Humanoid-v5")

    def physics(step, reset):
        def run() -> int:
            reset(0)
            for i in range(physics_steps):
                if step(action):
                    reset(i)
            return physics_steps

        return run

    def closed_loop(name: str):
        path = resolve_circuit_path(name)
        binding = load_binding(binding_path_for(path, "humanoid")).model_copy(update={"warmup_ms": 0.0})
        loop = ClosedLoop(compile_circuit(load_circuit(path), dt=dt), binding, base_dir=path.parent)
        loop.run([0], max_steps=3)  # compile/load the kernel outside the timing
        seeds = itertools.count()

        def run() -> int:
            done = 0
            while done < loop_steps:
                episode = loop.run([next(seeds)], max_steps=loop_steps - done)[0]
                done += int(episode.metrics["steps"])
            return done

        return run

    rows = {
        "gymnasium env.step": physics(lambda a: any(env.step(a)[2:4]), lambda s: env.reset(seed=s)),
        "adapter": physics(lambda a: (lambda r: r.terminated or r.truncated)(body.step(a)), body.reset),
    }
    for name in HUMANOID_CIRCUITS:
        rows[f"closed loop {name} dt {dt} ms, 1 lane"] = closed_loop(name)
    times = {row: np.zeros((rounds, 3)) for row in rows}  # steps, wall s, CPU s
    for r in range(rounds):
        for row, run in rows.items():
            wall, cpu = time.perf_counter(), time.process_time()
            steps = run()
            times[row][r] = steps, time.perf_counter() - wall, time.process_time() - cpu

    def cpu_rate(t: np.ndarray) -> float:
        return float(t[:, 0].sum() / t[:, 2].sum())

    physics_times = times["gymnasium env.step"]
    thirds = np.array_split(np.arange(rounds), min(3, rounds))
    out = {}
    for row, t in times.items():
        parts = [cpu_rate(t[i]) / cpu_rate(physics_times[i]) for i in thirds]
        out[row] = {
            "wall": float(t[:, 0].sum() / t[:, 1].sum()),
            "cpu": cpu_rate(t),
            "fraction": cpu_rate(t) / cpu_rate(physics_times),
            "low": min(parts),
            "high": max(parts),
        }
    return out


LESIONS = {
    "- commissural": ["L_V0d", "R_V0d", "L_V0v", "R_V0v", "L_V3", "R_V3"],
    "- RG inhibition": ["L_InF", "L_InE", "R_InF", "R_InE"],
    "- afferents": ["L_Ia_hip->L_RG_F", "R_Ia_hip->R_RG_F", "L_Ib_load->L_RG_E", "R_Ib_load->R_RG_E"],
}
"""Lesions of walker2d_cpg shown beside it: the commissural pathways (left-right), the
half-centres' mutual inhibition (rhythm generation), and the afferent projections (the
afferent populations stay, so the binding still fits)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--circuit", default="walker2d_cpg")
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument(
        "--sine-pitch",
        type=float,
        nargs=12,
        default=None,
        help="12 sine_pitch numbers, as --tune prints them [default: SINE_PITCH].",
    )
    parser.add_argument("--tune", choices=["constant", "sine", "sine_pitch"], default=None)
    parser.add_argument("--budget", type=int, default=1920)
    parser.add_argument("--weight", type=float, default=100.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--restarts", type=int, default=4, help="With --tune: CMA runs sharing the budget.")
    parser.add_argument("--first-seed", type=int, default=0, help="With --tune: CMA seed of the first restart.")
    parser.add_argument(
        "--start", type=float, nargs="+", default=None, help="With --tune: the controller's numbers to start from."
    )
    parser.add_argument(
        "--sigma", type=float, default=None, help="With --tune and --start: CMA step in box units ([-1, 1] per number)."
    )
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-walkers", action="store_true", help="Only the speed table.")
    parser.add_argument(
        "--humanoid",
        action="store_true",
        help="Only the Humanoid-v5 speed rows (physics alone and the humanoid circuits' closed loops).",
    )
    parser.add_argument("--rounds", type=int, default=15, help="With --humanoid: interleaved timing rounds.")
    args = parser.parse_args()

    from encephagen.body.baselines import SINE_PITCH, tune_baseline

    if args.tune:
        for pick in tune_baseline(
            args.tune,
            budget=args.budget,
            weight=args.weight,
            workers=args.workers,
            restarts=args.restarts,
            first_seed=args.first_seed,
            start=args.start,
            sigma=args.sigma,
        ):
            print(
                json.dumps(
                    {
                        "kind": pick.kind,
                        "pick": pick.pick,
                        "train": pick.train_score,
                        "validation": pick.validation_score,
                        "params": pick.params,
                    }
                )
            )
        return
    if args.humanoid:
        print(
            f"Humanoid-v5 body steps per second, {args.rounds} interleaved rounds pooled (wall / per CPU second of"
            " this process; then per CPU second as a fraction of gymnasium env.step's, [range over thirds of the rounds])"
        )
        # dt 0.75 ms is the step humanoid_cpg 0.6.0 is made for and reported at (its binding's dt_ms); 0.25 was
        # 0.5.0's (docs/notes/humanoid.md, sessions 12-13), 0.1 the toolkit's default
        for dt in (0.75, 0.5, 0.25, 0.1):
            for name, m in humanoid_rates(dt, rounds=args.rounds).items():
                if dt == 0.75 or name.startswith("closed"):
                    print(
                        f"  {name:50} {m['wall']:7.0f} / {m['cpu']:7.0f}   {m['fraction']:5.3f} [{m['low']:.3f}-{m['high']:.3f}]"
                    )
        return
    if not args.skip_speed:
        print("Walker2d body steps per second (wall / per CPU second of this process)")
        for name, (wall, cpu) in physics_rate().items():
            print(f"  physics only, {name:28} {wall:7.0f} / {cpu:7.0f}")
        for lanes in (1, args.lanes):
            wall, cpu = loop_rate(args.circuit, lanes)
            print(f"  closed loop, {args.circuit} dt 0.1 ms, {lanes:2d} lane(s) {wall:7.0f} / {cpu:7.0f}")
    if args.skip_walkers:
        return
    table = walkers(args.circuit, args.sine_pitch or list(SINE_PITCH), list(range(REPORT_FIRST, REPORT_FIRST + 10)))
    print(
        f"\nWalker2d-v5, report seeds {REPORT_FIRST}-{REPORT_FIRST + 9} (mean ± sd)\n{'controller':24} {'steps':>16} {'full':>6} {'distance m':>15} {'reward':>16}"
    )
    for name, a in table.items():
        print(
            f"{name:24} {a['steps_mean']:>8.1f} ± {a['steps_sd']:<6.1f} {a['full']:>3}/10 {a['distance_mean']:>6.2f} ± {a['distance_sd']:<6.2f} {a['reward_mean']:>7.1f} ± {a['reward_sd']:<6.1f}"
        )


if __name__ == "__main__":
    main()
