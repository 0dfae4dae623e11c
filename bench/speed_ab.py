"""Speed and identity of this tree against another checkout (e.g. main), measured in one process.

On a shared host CPU rates move 2-3x between minutes, so two benchmarks run one after the other
compare the host, not the code. This script imports the other checkout's ``toolkit/`` as
``encephagen_base`` (copied to a temporary folder) beside this tree's ``encephagen``, interleaves
their runs and keeps each one's best CPU time; it also checks that both give the same numbers.

    python bench/speed_ab.py --base /work/main loop humanoid_stander --dt 0.25 --reps 6 --steps 300
    python bench/speed_ab.py --base /work/main loop walker2d_cpg --dt 0.1 --lanes 8 --reps 4 --steps 1000
    python bench/speed_ab.py --base /work/main kernel humanoid_stander --dt 0.25 --chunk 60 --reps 40
    python bench/speed_ab.py --base /work/main cpg80 --reps 11
    python bench/speed_ab.py --base /work/main scale --threads 1 2   # 1 M neurons / 100 M synapses
    python bench/speed_ab.py identity OUT.json      # hashes of closed-loop trajectories and simulator state

``loop``: closed-loop body steps per CPU second on one lane (binding warm-up off, as in
``bench_body.py --humanoid``; episodes on selection seeds from 203200 until ``--steps``), and
whether the two trees' episodes are the same; with ``--lanes B``, B lanes in one run (seeds 203200
onwards, B at a time), in body steps per lane and CPU second. ``kernel``: ``Simulator.advance(chunk)`` x 20 with a
fixed random current, and whether spikes and state are the same. ``identity`` (this tree only; run it
in both trees and diff the files): trajectories, actions, readouts, population rates, observations and
metrics of humanoid_stander (dt 0.25 and 0.1), humanoid_cpg and walker2d_cpg, one lane and batched,
and spikes and state of chunked simulator runs, as short hashes (selection seeds 203000-203004).
``scale``: bench_scale.py's network (default 1 M neurons, 100 M synapses, selection seed 208000), one
simulator per tree and thread count on the same compiled network, ``--warmup`` steps each, then
``--reps`` x ``--steps`` steps interleaved; best CPU time per step, and whether every simulator's spikes
and final state are the same (two threads: the wide lane, target ranges on threads).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEED = 203200
"""First selection seed of the closed-loop A/B runs (encephagen.seeds: selection block of session 7's speed helper)."""


def packages_to_compare(base: Path | None) -> dict[str, str]:
    """Package names to compare: this tree's ``encephagen`` and, with ``base``, its copy as ``encephagen_base``."""
    packages = {"new": "encephagen"}
    if base is not None:
        # one folder per base checkout, files copied with their times and only when they changed, so that
        # numba's cache of the copy (keyed by file and modification time) survives between invocations
        key = hashlib.sha1(str(base.resolve()).encode()).hexdigest()[:12]
        folder = Path(tempfile.gettempdir()) / f"speed_ab_{key}"
        source = base / "toolkit"
        for file in source.rglob("*"):
            if file.is_dir() or "__pycache__" in file.parts:
                continue
            target = folder / "encephagen_base" / file.relative_to(source)
            if not target.exists() or target.read_bytes() != file.read_bytes():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, target)
        sys.path.insert(0, str(folder))
        packages = {"base": "encephagen_base", **packages}
    return packages


def _module(package: str, name: str):
    return importlib.import_module(f"{package}.{name}")


def _hash(*arrays) -> str:
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()[:16]


def _load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def loop_ab(packages: dict[str, str], name: str, dt: float, reps: int, steps: int, lanes: int = 1) -> None:
    body = "walker2d" if name.startswith("walker") else "humanoid"

    def make(package: str):
        path = _module(package, "locations").resolve_circuit_path(name)
        binding_module = _module(package, "body.binding")
        binding = binding_module.load_binding(binding_module.binding_path_for(path, body))
        network = _module(package, "compiler").compile_circuit(_module(package, "storage").load_circuit(path), dt=dt)
        loop = _module(package, "body.loop").ClosedLoop(
            network, binding.model_copy(update={"warmup_ms": 0.0}), base_dir=path.parent
        )
        loop.run([0], max_steps=3)  # load the kernels outside the timing
        episodes: list[dict[str, float]] = []

        def run() -> int:
            done, seed = 0, SEED
            episodes.clear()
            while done < steps * lanes:
                for episode in loop.run(list(range(seed, seed + lanes)), max_steps=steps):
                    episodes.append(episode.metrics)
                    done += int(episode.metrics["steps"])
                seed += lanes
            return done

        return run, episodes

    runs = {label: make(package) for label, package in packages.items()}
    best = dict.fromkeys(runs, 0.0)
    for _ in range(reps):
        for label, (run, _episodes) in runs.items():
            cpu = time.process_time()
            done = run()
            best[label] = max(best[label], done / (time.process_time() - cpu))
    same = len({json.dumps(episodes, sort_keys=True) for _, episodes in runs.values()}) == 1
    rates = ", ".join(f"{label} {rate:.0f}" for label, rate in best.items())
    ratio = f"; new/base {best['new'] / best['base']:.3f}" if "base" in best else ""
    print(
        f"closed loop {name} dt {dt} ms, {'one lane' if lanes == 1 else f'{lanes} lanes'}: {rates} body steps per "
        f"{'' if lanes == 1 else 'lane and '}CPU s (best of {reps}){ratio}; "
        f"same episodes: {same}; selection seeds from {SEED}; load {_load_average()}"
    )


def _simulators(packages: dict[str, str], network_of, record: bool = True, bin_steps: int = 1):
    out = {}
    for label, package in packages.items():
        network = network_of(package)
        simulation = _module(package, "simulation")
        out[label] = simulation.Simulator(network, seeds=[3], record_spikes=record, bin_ms=bin_steps * network.dt)
    return out


def _state(simulator) -> list[np.ndarray]:
    result = simulator.result()
    return [
        *result.spike_steps,
        *result.spike_neurons,
        simulator._v,
        simulator._i_exc,
        simulator._i_inh,
        simulator._w,
        simulator._refractory.astype(np.int64),  # int32 since session 8: the same hash as before
    ]


def kernel_ab(packages: dict[str, str], name: str, dt: float, chunk: int, reps: int) -> None:
    def network_of(package: str):
        path = _module(package, "locations").resolve_circuit_path(name)
        return _module(package, "compiler").compile_circuit(_module(package, "storage").load_circuit(path), dt=dt)

    simulators = _simulators(packages, network_of, bin_steps=chunk)
    n = next(iter(simulators.values())).network.n_neurons
    current = np.random.default_rng(0).normal(0.0, 3.0, (1, n))
    for simulator in simulators.values():
        simulator.advance(chunk, current=current)  # load (or compile) the kernels outside the timing
    best = dict.fromkeys(simulators, np.inf)
    for _ in range(reps):
        for label, simulator in simulators.items():
            cpu = time.process_time()
            for _ in range(20):
                simulator.advance(chunk, current=current)
            best[label] = min(best[label], (time.process_time() - cpu) / 20)
    states = [_state(s) for s in simulators.values()]
    same = all(all(np.array_equal(a, b) for a, b in zip(states[0], other)) for other in states[1:])
    times = ", ".join(f"{label} {t * 1e3:.3f} ms" for label, t in best.items())
    ratio = f"; new/base {best['new'] / best['base']:.3f}" if "base" in best else ""
    print(
        f"kernel {name} dt {dt} ms, advance({chunk}): {times} per call (best of {reps}){ratio}; "
        f"spikes and state identical: {same}; load {_load_average()}"
    )


def cpg80_ab(packages: dict[str, str], reps: int, n_steps: int = 30000) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_simulate import network_for

    network = network_for("cpg80")
    for package in packages.values():
        _module(package, "simulation").Simulator(network, seeds=[1]).advance(10)  # load the kernels first
    best = dict.fromkeys(packages, np.inf)
    spikes = {}
    for _ in range(reps):
        for label, package in packages.items():
            simulator = _module(package, "simulation").Simulator(network, seeds=[1])
            cpu = time.process_time()
            simulator.advance(n_steps)
            best[label] = min(best[label], time.process_time() - cpu)
            spikes[label] = simulator.result().spike_neurons[0]
    same = len({_hash(s) for s in spikes.values()}) == 1
    times = ", ".join(f"{label} {t / n_steps * 1e6:.3f} us" for label, t in best.items())
    ratio = f"; new/base {best['new'] / best['base']:.3f}" if "base" in best else ""
    print(
        f"80-neuron CPG, {n_steps} steps: {times} per step (best of {reps}){ratio}; spikes identical: {same}; "
        f"load {_load_average()}"
    )


SCALE_SEED = 208000
"""Selection seed of the scale A/B (network and lanes; encephagen.seeds: session 8's kernel block)."""


def scale_ab(
    packages: dict[str, str], neurons: int, synapses: int, threads: list[int], warmup: int, steps: int, reps: int
) -> None:
    import numba

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_scale import scale_circuit

    network = _module("encephagen", "compiler").compile_circuit(scale_circuit(neurons, synapses, 100, SCALE_SEED))
    simulators = {}
    for label, package in packages.items():
        for n_threads in threads:
            simulation = _module(package, "simulation")
            simulators[label, n_threads] = simulation, simulation.Simulator(network, seeds=SCALE_SEED, bin_ms=1.0)

    def advance(key, n_steps: int) -> None:
        simulation, simulator = simulators[key]
        numba.set_num_threads(key[1])
        saved = simulation.WIDE_NEURONS, getattr(simulation, "WIDE_PROBE_STEPS", 0)
        # the wide lane itself on more than one thread (by default a simulator times both ways and keeps the faster)
        simulation.WIDE_NEURONS, simulation.WIDE_PROBE_STEPS = (50_000 if key[1] > 1 else None), 0
        simulator.advance(n_steps)
        simulation.WIDE_NEURONS, simulation.WIDE_PROBE_STEPS = saved

    for key in simulators:
        advance(key, warmup)  # loads (or compiles) the kernels; the network becomes active
    best = dict.fromkeys(simulators, np.inf)
    best_wall = dict.fromkeys(simulators, np.inf)
    for _ in range(reps):
        for key in simulators:
            cpu, wall = time.process_time(), time.perf_counter()
            advance(key, steps)
            best[key] = min(best[key], (time.process_time() - cpu) / steps)
            best_wall[key] = min(best_wall[key], (time.perf_counter() - wall) / steps)
    total = warmup + reps * steps
    print(
        f"scale network: {network.n_neurons:,} neurons, {network.n_synapses:,} synapses, selection seed {SCALE_SEED}; "
        f"{warmup} warm-up steps, then best of {reps} x {steps} steps; load {_load_average()}"
    )
    for (label, n_threads), (_, simulator) in simulators.items():
        rate = simulator.population_counts().sum() / network.n_neurons / (total * network.dt / 1000.0)
        print(
            f"  {label:4s} {n_threads} thread{'s' if n_threads > 1 else ' '}: {best[label, n_threads] * 1e3:6.2f} ms CPU "
            f"per step ({1 / best[label, n_threads]:6.1f} steps per CPU s), wall {best_wall[label, n_threads] * 1e3:6.2f} ms "
            f"({1 / best_wall[label, n_threads]:6.1f} steps/s); mean rate {rate:.2f} Hz"
        )
    for n_threads in threads:
        if ("base", n_threads) in best:
            print(
                f"  new/base, {n_threads} thread(s): CPU {best['new', n_threads] / best['base', n_threads]:.3f}, "
                f"wall {best_wall['new', n_threads] / best_wall['base', n_threads]:.3f}"
            )
    for label in packages:
        if len(threads) > 1:
            one, many = (label, threads[0]), (label, threads[-1])
            print(f"  {label}: {threads[-1]} threads vs {threads[0]}: wall {best_wall[one] / best_wall[many]:.2f}x")
    states = [_state(simulator) for _, simulator in simulators.values()]
    same = all(all(np.array_equal(a, b) for a, b in zip(states[0], other)) for other in states[1:])
    print(f"  spikes and state identical across all {len(states)} simulators: {same}")


def identity(out: Path) -> None:
    from encephagen.body.binding import binding_path_for, load_binding
    from encephagen.body.loop import ClosedLoop
    from encephagen.compiler import compile_circuit
    from encephagen.locations import resolve_circuit_path
    from encephagen.simulation import Simulator
    from encephagen.storage import load_circuit

    hashes: dict[str, object] = {}
    cases = [
        ("humanoid_stander", "humanoid", 0.25, [203000, 203001], None),
        ("humanoid_stander", "humanoid", 0.1, [203002], 200),
        ("humanoid_cpg", "humanoid", 0.25, [203003, 203004], None),
        ("walker2d_cpg", "walker2d", 0.1, [203000, 203001, 203002], 400),
    ]
    for name, body, dt, seeds, steps in cases:
        path = resolve_circuit_path(name)
        loop = ClosedLoop(
            compile_circuit(load_circuit(path), dt=dt), load_binding(binding_path_for(path, body)), base_dir=path.parent
        )
        for lanes in [seeds] + ([[s] for s in seeds] if len(seeds) > 1 else []):
            for episode in loop.run(lanes, max_steps=steps, record=True):
                trajectory = episode.trajectory or {}
                hashes[f"{name}/{dt}/{len(lanes)} lanes/{episode.seed}"] = {
                    "trajectory": _hash(*(trajectory[k] for k in sorted(trajectory))),
                    "metrics": json.dumps(episode.metrics, sort_keys=True),
                }
    for name in ("humanoid_stander", "walker2d_cpg", "half_centre", "spinal_cpg"):
        network = compile_circuit(load_circuit(resolve_circuit_path(name)), dt=0.1)
        simulator = Simulator(network, seeds=[5, 6])
        for k in (1, 13, 60, 400, 326):  # uneven chunks, one with an extra current
            simulator.advance(k, current=np.full((2, network.n_neurons), 0.5) if k == 60 else None)
        hashes[f"simulator/{name}"] = _hash(
            *_state(simulator), simulator.population_counts(), simulator.readout_array()
        )
    out.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
    print(f"{len(hashes)} hashes written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, default=None, help="Another checkout (its toolkit/ is compared).")
    sub = parser.add_subparsers(dest="command", required=True)
    loop = sub.add_parser("loop")
    loop.add_argument("circuit")
    loop.add_argument("--dt", type=float, default=0.25)
    loop.add_argument("--reps", type=int, default=6)
    loop.add_argument("--steps", type=int, default=300)
    loop.add_argument("--lanes", type=int, default=1)
    kernel = sub.add_parser("kernel")
    kernel.add_argument("circuit")
    kernel.add_argument("--dt", type=float, default=0.25)
    kernel.add_argument("--chunk", type=int, default=60)
    kernel.add_argument("--reps", type=int, default=40)
    cpg = sub.add_parser("cpg80")
    cpg.add_argument("--reps", type=int, default=11)
    scale = sub.add_parser("scale")
    scale.add_argument("--neurons", type=int, default=1_000_000)
    scale.add_argument("--synapses", type=int, default=100_000_000)
    scale.add_argument("--threads", type=int, nargs="+", default=[1])
    scale.add_argument("--warmup", type=int, default=600)
    scale.add_argument("--steps", type=int, default=100)
    scale.add_argument("--reps", type=int, default=3)
    ident = sub.add_parser("identity")
    ident.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.command == "identity":
        identity(args.out)
        return
    packages = packages_to_compare(args.base)
    if args.command == "loop":
        loop_ab(packages, args.circuit, args.dt, args.reps, args.steps, args.lanes)
    elif args.command == "scale":
        scale_ab(packages, args.neurons, args.synapses, args.threads, args.warmup, args.steps, args.reps)
    elif args.command == "kernel":
        kernel_ab(packages, args.circuit, args.dt, args.chunk, args.reps)
    else:
        cpg80_ab(packages, args.reps)


if __name__ == "__main__":
    main()
