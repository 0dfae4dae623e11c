"""Scale benchmark: a 1 M-neuron, 100 M-synapse cortex from a matrix-valued description.

Builds (in code) a circuit of R regions of N/R excitatory LIF neurons each, joined by one
matrix projection whose per-region-pair connection probability comes from a seeded,
log-normal structural matrix scaled so that the expected synapse count is the target;
delays come from a distance matrix (1-5 ms). Every neuron gets Poisson background input.
Then it measures, stage by stage, wall time and the process's peak resident memory:

1. compile (``encephagen.compiler.compile_circuit``);
2. set-up (``Simulator()``: the delivery view, built once per network and cached, then a
   second set-up that reuses it) and stepping ``--duration-ms`` without keeping spikes, timed
   apart: steps/s of stepping alone, on one thread and on all of numba's threads (a large
   network splits each step over threads by target range; the spikes must be identical);
3. SONATA export (``encephagen.interop.sonata.export_sonata``): seconds, bytes on disk;
4. opening the export with libsonata and reading one slab of edges (when installed);
5. with ``--nest``: building and running the export in NEST (wall time includes the build).

Usage::

    python bench/bench_scale.py                         # 1 M neurons, 100 M synapses (~12 GB peak)
    python bench/bench_scale.py --neurons 100000 --synapses 10000000 --nest --json
    PREFIX/bin/python bench/bench_scale.py --neurons 100000 --synapses 10000000 --nest --nest-builder sonata  # PREFIX: bench/build_nest_hdf5.sh
    python bench/bench_scale.py --skip-export --duration-ms 50

Prints one line per stage (or one JSON object with ``--json``). Figures measured on the
project machine are in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (GB; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def current_rss_gb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024**2
    return float("nan")


def scale_circuit(neurons: int, synapses: int, regions: int, seed: int):
    """The benchmark circuit: a matrix projection over `regions` equal populations."""
    from encephagen.schema import Circuit

    rng = np.random.default_rng(seed)
    size = neurons // regions
    structure = rng.lognormal(mean=0.0, sigma=1.0, size=(regions, regions))
    np.fill_diagonal(structure, 0.0)
    pairs = float(size) * size
    probability = structure * synapses / (structure.sum() * pairs)
    if probability.max() > 1:
        raise SystemExit(
            f"{synapses:,} synapses need connection probabilities above 1 with {regions} regions of {size:,}; use more neurons"
        )
    position = rng.uniform(0, 100, size=(regions, 3))
    distance = np.linalg.norm(position[:, None] - position[None, :], axis=-1)
    delay = 1.0 + 4.0 * distance / distance.max()
    names = [f"r{i:03d}" for i in range(regions)]
    tree = {
        "schema_version": "1",
        "name": "scale_bench",
        "version": "1.0.0",
        "description": f"{neurons:,} neurons, ~{synapses:,} synapses: benchmark circuit built by bench/bench_scale.py",
        "neuron_models": {"lif": {"tau_m": 20.0, "v_threshold": 20.0, "v_reset": 10.0, "t_ref": 2.0}},
        "cell_classes": {"pyramidal": {"transmitter": "glutamate"}},
        "populations": {
            n: {
                "cell_class": "pyramidal",
                "size": size,
                "neuron_model": "lif",
                "initial_v": {"uniform": [10.0, 20.0]},
                "poisson_input": {"rate": 2000.0, "weight": 1.9},
            }
            for n in names
        },
        "matrix_projections": {
            "cortex": {
                "sources": names,
                "targets": names,
                "seed": seed,
                "probability": {"array": probability.tolist()},
                "weight": {"array": np.ones((regions, regions)).tolist(), "scale": 0.05},
                "delay": {"array": delay.tolist()},
            }
        },
    }
    return Circuit.model_validate(tree)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=1_000_000)
    parser.add_argument("--synapses", type=int, default=100_000_000)
    parser.add_argument("--regions", type=int, default=100)
    parser.add_argument("--duration-ms", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=None, help="Folder for the SONATA export (default: a temporary one, removed after)."
    )
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument(
        "--nest",
        action="store_true",
        help="Also build and run the export in NEST (child process; peak memory of children reported).",
    )
    parser.add_argument(
        "--nest-builder",
        choices=["auto", "sonata", "python"],
        default="auto",
        help="How NEST builds the network: 'sonata' is nest.SonataNetwork.BuildNetwork (needs NEST with HDF5, "
        "see bench/build_nest_hdf5.sh), 'python' connects edges read with h5py; 'auto' picks 'sonata' when it can.",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import numba

    import encephagen.simulation as simulate_module
    from encephagen import _kernel
    from encephagen.compiler import compile_circuit
    from encephagen.rules import estimate_size
    from encephagen.simulation import Simulator

    report: dict = {"neurons_requested": args.neurons, "synapses_requested": args.synapses, "regions": args.regions}

    def stage(name: str, started: float, **figures) -> None:
        report[name] = {
            "seconds": round(time.perf_counter() - started, 2),
            "peak_rss_gb": round(peak_rss_gb(), 2),
            "rss_gb": round(current_rss_gb(), 2),
            **figures,
        }
        if not args.json:
            print(f"{name:10s} " + ", ".join(f"{k} {v}" for k, v in report[name].items()), flush=True)

    started = time.perf_counter()
    circuit = scale_circuit(args.neurons, args.synapses, args.regions, args.seed)
    estimate = estimate_size(circuit)
    stage("describe", started, estimated_compiled_gb=round(estimate.compiled_bytes / 1e9, 2))

    rss_before = current_rss_gb()
    started = time.perf_counter()
    network = compile_circuit(circuit)
    stage(
        "compile",
        started,
        neurons=network.n_neurons,
        synapses=network.n_synapses,
        bytes_per_synapse=round(
            (network.weights.data.nbytes + network.weights.indices.nbytes + network.delays.nbytes) / network.n_synapses,
            1,
        ),
        peak_bytes_per_synapse=round((peak_rss_gb() - rss_before) * 1024**3 / network.n_synapses, 1),
    )

    steps = round(args.duration_ms / network.dt)
    started, cpu = time.perf_counter(), time.process_time()
    sim = Simulator(network, seeds=args.seed, record_spikes=False, bin_ms=1.0, planned_steps=steps)
    stage(
        "setup",
        started,
        cpu_seconds=round(time.process_time() - cpu, 2),  # all threads' (the view is built on numba's threads)
        threads=numba.get_num_threads(),
        load_average=round(os.getloadavg()[0], 1),
        what="Simulator(): delivery view (built once per network), lane weights, state",
    )
    started = time.perf_counter()
    Simulator(network, seeds=args.seed, record_spikes=False, bin_ms=1.0, planned_steps=steps)
    stage("setup_again", started, what="a second Simulator of the same network (delivery view cached)")
    threads = numba.get_num_threads()
    counts = {}
    # time the split over threads itself: left to its defaults, a simulator times both ways first and keeps the
    # faster (encephagen.simulation.WIDE_PROBE_STEPS)
    simulate_module.WIDE_NEURONS = 50_000
    simulate_module.WIDE_PROBE_STEPS = 0
    sim = Simulator(network, seeds=args.seed, record_spikes=False, bin_ms=1.0, planned_steps=steps + 1)
    started, cpu = time.perf_counter(), time.process_time()
    sim.advance(steps + 1)
    # Untimed before: the first pass over a network first-touches its delivery view (page faults) and ran
    # ~1.7x slower than any later one, which made whichever thread count went first look slow.
    stage(
        "first_pass",
        started,
        cpu_seconds=round(time.process_time() - cpu, 2),
        threads=threads,
        what="the same steps once before the timed runs (first touches of the network's memory; compiles the kernel)",
    )
    for n_threads in sorted({1, threads}):
        numba.set_num_threads(n_threads)
        sim = Simulator(network, seeds=args.seed, record_spikes=False, bin_ms=1.0, planned_steps=steps + 1)
        sim.advance(1)  # loads (or compiles) the kernel outside the timing
        started, cpu = time.perf_counter(), time.process_time()
        sim.advance(steps)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        counts[n_threads] = sim.population_counts()
        spikes = int(counts[n_threads].sum())
        stage(
            f"step_{n_threads}_thread{'s' if n_threads > 1 else ''}",
            started,
            steps=steps,
            steps_per_second=round(steps / seconds, 1),
            cpu_seconds=round(cpu, 2),  # all threads' CPU time: on a shared machine, wall time counts the others too
            kernel="wide (target ranges on threads)" if sim._kernel_for(steps)[0] is _kernel.advance_wide else "serial",
            wall_per_biological_second=round(seconds / (args.duration_ms / 1000.0), 2),
            mean_rate_hz=round(spikes / network.n_neurons / ((steps + 1) * network.dt / 1000.0), 2),
            synaptic_events_per_second=round(spikes * network.n_synapses / network.n_neurons / seconds),
            load_average=round(os.getloadavg()[0], 1),
        )
    numba.set_num_threads(threads)
    if len(counts) > 1:
        report["threads_bit_identical"] = bool(np.array_equal(counts[1], counts[threads]))
        report["speedup_threads"] = round(
            report[f"step_{threads}_threads"]["steps_per_second"] / report["step_1_thread"]["steps_per_second"], 2
        )
        if not args.json:
            print(
                f"{threads} threads: {report['speedup_threads']}x one thread, spikes identical: {report['threads_bit_identical']}"
            )
    del sim

    if not args.skip_export:
        from encephagen.interop.sonata import export_sonata

        scratch = None
        if args.out is None:
            scratch = Path(tempfile.mkdtemp(prefix="encephagen-bench-"))
            out = scratch / "sonata"
        else:
            out = args.out
        try:
            started = time.perf_counter()
            written = export_sonata(network, out, overwrite=True, duration_ms=args.duration_ms)
            stage(
                "export",
                started,
                gigabytes=round(written.bytes_written / 1e9, 2),
                megabytes_per_second=round(written.bytes_written / 1e6 / written.seconds, 1),
                bytes_per_synapse=round(written.bytes_written / network.n_synapses, 1),
            )
            try:
                import libsonata
            except ImportError:
                libsonata = None
            if libsonata is not None:
                started = time.perf_counter()
                config = libsonata.CircuitConfig.from_file(str(written.circuit_config))
                edges = config.edge_population(next(iter(config.edge_populations)))
                sample = edges.get_attribute("syn_weight", libsonata.Selection([[0, min(edges.size, 1_000_000)]]))
                afferent = edges.afferent_edges([0]).flat_size
                stage(
                    "libsonata", started, edges=int(edges.size), first_slab=len(sample), afferent_of_node0=int(afferent)
                )
            if args.nest:
                from encephagen.interop.sonata import run_nest

                started = time.perf_counter()
                nest_run = run_nest(out, duration_ms=args.duration_ms, seed=args.seed, builder=args.nest_builder)
                children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
                stage(
                    "nest",
                    started,
                    builder=nest_run.builder,
                    child_peak_rss_gb=round(children, 2),
                    mean_rate_hz=round(float(nest_run.population_rates_hz().mean()), 2),
                )
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
