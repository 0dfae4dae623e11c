"""Benchmark: a full calibration of the spinal CPG, against the original one-at-a-time approach.

The issue's bar: at least 600 candidate evaluations, each at least 1 s of biological time
on at least 2 noise seeds, in under 60 s on this 2-core machine. The same run measures a
faithful NumPy port of the original research loop (one candidate at a time, one step at a
time, dense 80 x 80 matrix-vector product, float32, motor readout pulled into Python every
step; reference: shared/reference/original-model.md section 1.2) on the same circuit and
prints how long that approach would take for the same budget, as a ratio. The original
stepped torch tensors, which is slower per step than this NumPy port (peer-speed.md), so
the ratio printed is a lower bound.

Run:  python bench/bench_calibrate.py [--circuit spinal_cpg] [--budget 600] [--workers 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np


def original_loop_steps_per_second(network, n_steps: int = 5000, seed: int = 0) -> float:
    """Steps per second of the original per-step update (section 1.2 order) on this network."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    n = network.n_neurons
    weights = network.weights.toarray().astype(f32)
    params = network.neuron
    tau_m, threshold, reset = (
        params["tau_m"].astype(f32),
        params["v_threshold"].astype(f32),
        params["v_reset"].astype(f32),
    )
    tonic, beta = params["drive"].astype(f32), params["adaptation"].astype(f32)
    decay_adapt = np.exp(-network.dt / params["tau_adaptation"]).astype(f32)
    decay_syn = f32(np.exp(-network.dt / 5.0))
    dt = f32(network.dt)
    pools = [network.population_slices[name] for name in network.population_names[-4:]]
    v = rng.uniform(0, 5, n).astype(f32)
    i_syn, refrac, adaptation = (np.zeros(n, f32) for _ in range(3))
    left = right = 0.0
    started = time.perf_counter()
    for _ in range(n_steps):
        drive = tonic * (1 + 0.5 * f32(0.0))
        current = i_syn + drive - adaptation + rng.standard_normal(n, dtype=f32) * f32(0.5)
        active = refrac <= 0
        v = np.where(active, v + dt * (-v + current) / tau_m, v)
        spike = (v >= threshold) & active
        v = np.where(spike, reset, v)
        refrac = np.where(spike, f32(1.0), refrac)
        refrac = np.maximum(refrac - dt, f32(0.0))
        spikes = spike.astype(f32)
        adaptation = adaptation * decay_adapt + beta * spikes
        i_syn = i_syn * decay_syn + weights @ spikes
        flex_l, ext_l, flex_r, ext_r = (float(spikes[s].mean()) for s in pools)  # the four .item() reads
        left += ext_l - flex_l
        right += ext_r - flex_r
    return n_steps / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuit", default="spinal_cpg")
    parser.add_argument("--budget", type=int, default=600)
    parser.add_argument("--popsize", type=int, default=15)
    parser.add_argument("--train-seeds", type=int, default=2)
    parser.add_argument("--validation-seeds", type=int, default=4)
    parser.add_argument("--test-seeds", type=int, default=6)
    parser.add_argument("--duration-ms", type=float, default=1000.0)
    parser.add_argument(
        "--frequency-hz",
        type=float,
        default=4.0,
        help="Gait frequency target: 1 s evaluations hold too few cycles of a slower rhythm to measure it.",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from encephagen import load_circuit
    from encephagen.calibration import CalibrationSettings, calibrate, open_executor
    from encephagen.compiler import compile_circuit

    circuit = load_circuit(args.circuit)
    settings = CalibrationSettings(
        objective="gait",
        budget=args.budget,
        seed=args.seed,
        popsize=args.popsize,
        train_seeds=args.train_seeds,
        validation_seeds=args.validation_seeds,
        test_seeds=args.test_seeds,
        finalists=3,
        targets={"frequency_hz": args.frequency_hz},
        options={"duration_ms": args.duration_ms, "warmup_ms": min(500.0, args.duration_ms / 4)},
    )
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        with open_executor(args.workers) as (executor, chunks):
            result = calibrate(
                circuit, settings, run_dir, executor=executor, chunks=chunks, keep_worse=True
            )  # timed whatever the outcome
        wall = time.perf_counter() - started

    network = compile_circuit(circuit)
    steps_per_s = original_loop_steps_per_second(network)
    steps_per_lane = int(round(args.duration_ms / network.dt))
    search_steps = args.budget * args.train_seeds * steps_per_lane
    original_s = search_steps / steps_per_s
    figures = {
        "circuit": f"{circuit.name} {circuit.version}",
        "neurons": network.n_neurons,
        "synapses": network.n_synapses,
        "candidates": result.evaluations,
        "train_seeds": args.train_seeds,
        "biological_s_per_lane": args.duration_ms / 1000.0,
        "workers": args.workers,
        "load_average_before": load_before,
        "wall_s": wall,
        "under_60_s": wall < 60.0,
        "held_out_loss_before": result.loss_before.total,
        "held_out_loss_after": result.loss_after.total,
        "original_loop_steps_per_s": steps_per_s,
        "original_approach_s": original_s,
        "speedup": original_s / wall,
    }
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        print(
            f"{figures['circuit']}: {network.n_neurons} neurons, {network.n_synapses} synapses; machine load average {load_before:.1f} on {os.cpu_count()} cores at start"
        )
        print(
            f"calibration: {result.evaluations} candidates x {args.train_seeds} seeds x {args.duration_ms / 1000:g} s biological "
            f"(+ validation and held-out test) on {args.workers} workers: {wall:.1f} s  [{'PASS' if wall < 60 else 'FAIL'}: < 60 s]"
        )
        print(
            f"held-out gait loss (target {args.frequency_hz:g} Hz): {result.loss_before.total:.3f} -> {result.loss_after.total:.3f} over {len(result.seeds.test)} test seeds"
            + (
                "  (worse than the start: `encephagen calibrate` would refuse to write it without --keep-worse)"
                if result.loss_after.total > result.loss_before.total
                else ""
            )
        )
        print(
            f"original approach (one candidate at a time, NumPy per-step loop, measured now at {steps_per_s:,.0f} steps/s): "
            f"{search_steps:,} steps = {original_s:.0f} s for the search alone -> {original_s / wall:.1f}x slower"
        )
    return 0 if wall < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
