"""Speed of the simulator against its peers, measured in one invocation on this machine (issue 3, point 9).

Workloads (built in code with encephagen.schema, so the benchmark does not move when the
shipped circuits are re-tuned):

* ``cpg80``: the original 80-neuron spinal CPG (reference/original-model.md 1.1 and 1.3, the
  intended W[post, pre] orientation), 638 synapses, adaptation on every neuron, exponential
  synapses, Gaussian noise 0.5 mV, dt 0.1 ms, 3 s biological = 30,000 steps.
* ``cortex``: the HCP cortex shape: 80 regions x (160 E + 40 I) = 16,000 neurons, ~0.91 M
  synapses (local p = 0.05, ~47 long-range inputs per neuron with 2-20 ms delays), 7.5 kHz of
  0.5 mV Poisson kicks per neuron, ~18 Hz; 1 s biological on one thread.

Engines: encephagen (this package); a faithful per-step NumPy port of the original research
loop (the original stepped torch tensors; torch is not installed here, and the NumPy port
is faster per step than torch on CPU, so the ratio to it is a lower bound); Brian2 cython
runtime and cpp_standalone (same equations, via encephagen.interop.brian2); NEST 3
``aeif_psc_exp`` with a = 0, Delta_T = 0 (CPG) and ``iaf_psc_exp`` (cortex, via
bench_cortex.py); scipy CSR mat-vec every step (cortex). Every peer runs in its own
subprocess (Brian2's standalone device and NEST's kernel are process-global); a peer that
cannot be imported is reported as skipped with the reason.

Run:  python bench/bench_simulate.py [--quick] [--peer-python PATH] [--skip brian2,nest] [--json]

``--peer-python`` runs the peers under another interpreter (e.g. a venv with numpy < 2.4,
where Brian2 2.9 imports). See bench/README.md for the last figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CPG_STEPS = 30_000
TORCH_LOOP_STEPS_PER_S = 2_600.0
"""The original research loop (torch on CPU), as measured for reference/peer-speed.md."""
BATCH = 16


# --------------------------------------------------------------------------- workloads


def cpg80_circuit():
    """The original 80-neuron CPG, wired as intended (W[post, pre]); no delays (one step)."""
    from encephagen.schema import Circuit

    sizes = {
        "flex_rg": 5,
        "ext_rg": 5,
        "v1": 4,
        "v2a": 3,
        "v2b": 4,
        "v0d": 3,
        "v0v": 3,
        "v3": 3,
        "flex_mn": 5,
        "ext_mn": 5,
    }
    drives = {"flex_rg": 15.0, "ext_rg": 13.0, "v1": 5.0, "v2b": 5.0, "v0d": 6.0, "flex_mn": 10.0, "ext_mn": 10.0}
    models = {"flex_rg": "rg12", "ext_rg": "rg15"}
    inhibitory = {"v1", "v2b", "v0d", "v0v"}  # v0v projects with a negative weight in the original
    # (source, target, weight, normalised, contralateral)
    table = [
        ("flex_rg", "flex_rg", 0.3, True, False),
        ("ext_rg", "ext_rg", 0.3, True, False),
        ("flex_rg", "ext_rg", -2.0, True, False),
        ("ext_rg", "flex_rg", -1.5, True, False),
        ("flex_rg", "v1", 2.0, False, False),
        ("ext_rg", "v2b", 2.0, False, False),
        ("v1", "ext_mn", -3.0, False, False),
        ("v2b", "flex_mn", -3.0, False, False),
        ("flex_rg", "flex_mn", 2.0, False, False),
        ("ext_rg", "ext_mn", 2.0, False, False),
        ("flex_rg", "v0d", 2.0, False, False),
        ("v0d", "flex_rg", -3.0, False, True),
        ("flex_rg", "v2a", 0.3, True, False),
        ("v2a", "v0v", 0.4, True, False),
        ("v0v", "flex_mn", -0.4, True, True),
        ("ext_rg", "v3", 0.3, True, False),
        ("v3", "ext_rg", 0.2, True, True),
    ]
    order = [p for p in sizes if not p.endswith("_mn")]
    names = [f"{s}_{p}" for s in "LR" for p in order] + [f"{s}_{p}" for s in "LR" for p in ("flex_mn", "ext_mn")]
    populations = {}
    for name in names:
        side, pop = name.split("_", 1)
        populations[name] = {
            "cell_class": "inh" if pop in inhibitory else "exc",
            "size": sizes[pop],
            "neuron_model": models.get(pop, "other"),
            "drive": {"param": "drive_scale", "factor": drives.get(pop, 0.0)},
            "initial_v": {"uniform": [0.0, 5.0]},
        }
    projections = {}
    for side, other in (("L", "R"), ("R", "L")):
        for source, target, weight, normalised, contra in table:
            s, t = f"{side}_{source}", f"{other if contra else side}_{target}"
            projections[f"{s}->{t}"] = {
                "source": s,
                "target": t,
                "rule": {"kind": "all_to_all"},
                "weight": weight,
                "weight_mode": "total" if normalised else "per_synapse",
            }
    common = {"v_threshold": 8.0, "t_ref": 1.0, "adaptation": 2.0, "tau_adaptation": 100.0, "noise_sigma": 0.5}
    return Circuit.model_validate(
        {
            "schema_version": "1",
            "name": "cpg80",
            "version": "1.0.0",
            "neuron_models": {
                "rg12": {**common, "tau_m": 12.0, "v_reset": 4.0},
                "rg15": {**common, "tau_m": 15.0, "v_reset": 4.0},
                "other": {**common, "tau_m": 15.0, "v_reset": 0.0},
            },
            "cell_classes": {"exc": {"transmitter": "glutamate"}, "inh": {"transmitter": "GABA"}},
            "parameters": {"drive_scale": {"value": 1.0}},
            "populations": populations,
            "projections": projections,
        }
    )


def cortex_circuit(regions: int = 80, exc: int = 160, inh: int = 40, ext_rate: float = 7500.0, seed: int = 3):
    """The HCP cortex shape with a random log-normal 'structural connectivity' (see the module docstring)."""
    from encephagen.schema import Circuit

    j, g, p_local, long_range = 0.5, 5.0, 0.05, 47.0
    rng = np.random.default_rng(seed)
    sc = rng.lognormal(0.0, 1.0, (regions, regions))
    np.fill_diagonal(sc, 0.0)
    p = sc / sc.sum(axis=1, keepdims=True) * long_range / exc  # row = target region
    delay = rng.uniform(2.0, 20.0, (regions, regions))
    populations, projections = {}, {}
    for r in range(regions):
        for kind, size in (("E", exc), ("I", inh)):
            populations[f"{kind}{r}"] = {
                "cell_class": kind,
                "size": size,
                "neuron_model": "lif",
                "poisson_input": {"rate": ext_rate, "weight": j},
                "initial_v": {"uniform": [0.0, 20.0]},
            }
        for k, (source, target) in enumerate((("E", "E"), ("E", "I"), ("I", "E"), ("I", "I"))):
            projections[f"{source}{r}->{target}{r}"] = {
                "source": f"{source}{r}",
                "target": f"{target}{r}",
                "weight": j if source == "E" else -g * j,
                "delay": 1.0,
                "rule": {"kind": "fixed_probability", "probability": p_local, "seed": 4 * r + k},
            }
    probability = np.vstack([p, p])
    probability[regions + np.arange(regions), np.arange(regions)] = 0.0  # no long-range input from the own region
    return Circuit.model_validate(
        {
            "schema_version": "1",
            "name": "cortex_shape",
            "version": "1.0.0",
            "neuron_models": {"lif": {"tau_m": 20.0, "v_threshold": 20.0, "v_reset": 10.0, "t_ref": 2.0}},
            "cell_classes": {"E": {"transmitter": "glutamate"}, "I": {"transmitter": "GABA"}},
            "populations": populations,
            "projections": projections,
            "matrix_projections": {
                "long_range": {
                    "sources": [f"E{r}" for r in range(regions)],
                    "targets": [f"E{r}" for r in range(regions)] + [f"I{r}" for r in range(regions)],
                    "seed": seed,
                    "probability": {"array": probability.tolist()},
                    "weight": {"array": np.full(probability.shape, j).tolist()},
                    "delay": {"array": np.vstack([delay, delay]).tolist()},
                }
            },
        }
    )


def network_for(workload: str):
    from encephagen.compiler import compile_circuit

    return compile_circuit(cpg80_circuit() if workload == "cpg80" else cortex_circuit(), dt=0.1)


# --------------------------------------------------------------------------- encephagen


def encephagen_single(network, n_steps: int, repeats: int = 3) -> dict:
    from encephagen.simulation import simulate

    simulate(network, 10 * network.dt)  # load the cached kernel outside the timing
    walls, spikes = [], 0
    for seed in range(repeats):
        start = time.perf_counter()
        result = simulate(network, n_steps * network.dt, seeds=seed)
        walls.append(time.perf_counter() - start)
        spikes = int(result.population_counts.sum())
    wall = min(walls)
    return {"wall_s": wall, "steps_per_s": n_steps / wall, "spikes": spikes, "result": result}


def encephagen_batch(network, n_steps: int, lanes: int, repeats: int = 3) -> dict:
    """One batched call of ``lanes`` parameter sets against as many single calls; best of ``repeats`` each
    (as for the single runs: a busy machine only ever slows a run down)."""
    from encephagen.simulation import simulate

    sets = [{"drive_scale": 1.0 + 0.01 * k} for k in range(lanes)]  # 16 distinct parameter sets
    simulate(network, 2000 * network.dt, seeds=0, parameters=sets)  # load (or compile) the parallel kernel
    batched = sequential = batched_cpu = sequential_cpu = float("inf")
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        simulate(network, n_steps * network.dt, seeds=0, parameters=sets)
        batched, batched_cpu = min(batched, time.perf_counter() - start), min(batched_cpu, time.process_time() - cpu)
        start, cpu = time.perf_counter(), time.process_time()
        for s in sets:
            simulate(network, n_steps * network.dt, seeds=0, parameters=[s])
        sequential, sequential_cpu = (
            min(sequential, time.perf_counter() - start),
            min(sequential_cpu, time.process_time() - cpu),
        )
    return {
        "batched_s": batched,
        "sequential_s": sequential,
        "lanes": lanes,
        "ratio": sequential / batched,
        "batched_cpu_s": batched_cpu,
        "sequential_cpu_s": sequential_cpu,
        "repeats": repeats,
    }


def kernel_compile_seconds() -> dict:
    """First simulate() in a fresh process: with an empty numba cache (compile) and with the warm cache."""
    code = (
        "import time; from encephagen.compiler import compile_circuit; from encephagen.simulation import simulate; "
        "import bench_simulate as b; net = compile_circuit(b.cpg80_circuit()); t = time.perf_counter(); "
        "simulate(net, 1.0); print(time.perf_counter() - t)"
    )
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for label, env in (
            ("cold_compile_s", {"NUMBA_CACHE_DIR": cache}),
            ("cached_first_call_s", {"NUMBA_CACHE_DIR": cache}),
        ):
            proc = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                check=False,
                cwd=HERE,
                env={**os.environ, **env},
            )
            out[label] = float(proc.stdout.split()[-1]) if proc.returncode == 0 else None
    return out


def memory_bandwidth_gb_s(megabytes: int = 256) -> float:
    """Streaming copy bandwidth (read + write bytes per second), best of three."""
    a = np.ones(megabytes * 2**20 // 8)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - start)
    return 2 * a.nbytes / best / 1e9


def csr_matvec_seconds_per_bio_s(network, steps: int = 300) -> float:
    """A scipy CSR mat-vec every step (what a dense-time simulator does), scaled to 1 s biological."""
    w = network.weights.to_scipy()
    spikes = np.zeros(network.n_neurons)
    spikes[::50] = 1.0  # ~2 % of neurons spike each step; the cost does not depend on it
    start = time.perf_counter()
    for _ in range(steps):
        w @ spikes
    return (time.perf_counter() - start) / steps * (1000.0 / network.dt)


# --------------------------------------------------------------------------- peers (run in a subprocess)


def peer_brian2(device: str, workload: str) -> dict:
    import brian2 as b2

    from encephagen.interop.brian2 import build_brian2_network

    network = network_for(workload)
    n_steps = CPG_STEPS
    if device == "cpp_standalone":
        directory = tempfile.mkdtemp(prefix="b2standalone")
        b2.set_device("cpp_standalone", directory=directory)
        start = time.perf_counter()
        net = build_brian2_network(network, seed=0)
        net.run(n_steps * network.dt * b2.ms)
        total = time.perf_counter() - start
        loop = b2.device._last_run_time
        return {
            "steps_per_s": n_steps / loop,
            "loop_s": loop,
            "codegen_compile_s": total - loop,
            "spikes": int(net["spikes"].num_spikes),
        }
    start = time.perf_counter()
    net = build_brian2_network(network, seed=0, codegen_target="cython")
    net.run(network.dt * b2.ms)  # code generation and compilation happen in the first run
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    net.run((n_steps - 1) * network.dt * b2.ms)
    loop = time.perf_counter() - start
    return {
        "steps_per_s": (n_steps - 1) / loop,
        "loop_s": loop,
        "codegen_compile_s": compile_s,
        "spikes": int(net["spikes"].num_spikes),
    }


def peer_nest_cpg() -> dict:
    """NEST aeif_psc_exp with a = 0, Delta_T = 0: g_L = 1 nS and C_m = tau_m pF make pA read as our mV."""
    import nest

    from encephagen.interop.brian2 import network_arrays

    network = network_for("cpg80")
    a = network_arrays(network, seed=0)
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": network.dt, "local_num_threads": 1, "rng_seed": 1})
    cells = nest.Create(
        "aeif_psc_exp",
        network.n_neurons,
        params={
            "C_m": a["tau_m"],
            "g_L": 1.0,
            "E_L": a["v_rest"],
            "V_th": a["v_threshold"],
            "V_peak": a["v_threshold"],
            "V_reset": a["v_reset"],
            "t_ref": a["t_ref"],
            "tau_syn_ex": a["tau_syn_exc"],
            "tau_syn_in": a["tau_syn_inh"],
            "a": 0.0,
            "b": a["adaptation"],
            "Delta_T": 0.0,
            "tau_w": a["tau_adaptation"],
            "I_e": a["drive"],
            "V_m": a["v0"],
        },
    )
    ids = np.asarray(cells)
    nest.Connect(
        ids[a["pre"]],
        ids[a["post"]],
        "one_to_one",
        {"synapse_model": "static_synapse", "weight": a["weight"], "delay": a["delay_steps"] * network.dt},
    )
    # white-noise current of sd s * sqrt(2 tau_m / dt) pA per step gives v an sd of ~s mV
    for sigma, tau in {(float(s), float(t)) for s, t in zip(a["noise_sigma"], a["tau_m"])}:
        members = np.flatnonzero((a["noise_sigma"] == sigma) & (a["tau_m"] == tau))
        noise = nest.Create("noise_generator", params={"std": sigma * np.sqrt(2 * tau / network.dt), "dt": network.dt})
        nest.Connect(noise, nest.NodeCollection(list(ids[members])))
    recorder = nest.Create("spike_recorder")
    nest.Connect(cells, recorder)
    start = time.perf_counter()
    nest.Simulate(CPG_STEPS * network.dt)
    loop = time.perf_counter() - start
    return {"steps_per_s": CPG_STEPS / loop, "loop_s": loop, "spikes": int(recorder.n_events)}


def peer_cortex(engine: str, duration_ms: float) -> dict:
    """NEST via bench_cortex.run_nest; Brian2 via encephagen.interop.brian2, whose per-step
    poisson() draws match our Poisson input (Brian2's PoissonInput with one source is a
    Bernoulli draw per step, which halves the input variance at 7.5 kHz and silences the network)."""
    network = network_for("cortex")
    if engine == "nest":
        import bench_cortex

        row = bench_cortex.run_nest(network, network.delays, duration_ms)
        return {
            "wall_per_bio_s": row["wall_s"] / (duration_ms / 1000.0),
            "mean_rate_hz": row["mean_rate_hz"],
            "duration_ms": duration_ms,
        }
    import brian2 as b2

    from encephagen.interop.brian2 import build_brian2_network

    net = build_brian2_network(network, seed=1, codegen_target="cython")
    start = time.perf_counter()
    net.run(network.dt * b2.ms)  # code generation and compilation
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    net.run(duration_ms * b2.ms)
    wall = time.perf_counter() - start
    return {
        "wall_per_bio_s": wall / (duration_ms / 1000.0),
        "codegen_compile_s": compile_s,
        "duration_ms": duration_ms,
        "mean_rate_hz": net["spikes"].num_spikes / network.n_neurons / ((duration_ms + network.dt) / 1000.0),
    }


PEERS = {
    "brian2_cython": lambda args: peer_brian2("cython", "cpg80"),
    "brian2_cpp_standalone": lambda args: peer_brian2("cpp_standalone", "cpg80"),
    "nest_aeif_psc_exp": lambda args: peer_nest_cpg(),
    "cortex_brian2_cython": lambda args: peer_cortex("brian2", args.cortex_peer_ms),
    "cortex_nest_iaf_psc_exp": lambda args: peer_cortex("nest", args.cortex_peer_ms),
}


def run_peer(name: str, args) -> dict:
    """Run one peer in a fresh process of ``--peer-python``; its last stdout line is JSON."""
    command = [
        args.peer_python,
        str(Path(__file__).resolve()),
        "--peer",
        name,
        "--cortex-peer-ms",
        str(args.cortex_peer_ms),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, check=False, cwd=HERE)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skipped": tail[:300]}
    return json.loads(lines[-1])


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="encephagen and the NumPy loop only (no peers, no cold compile)"
    )
    parser.add_argument("--skip", default="", help="comma-separated peers to skip: brian2, nest, compile")
    parser.add_argument(
        "--peer-python", default=sys.executable, help="interpreter that runs the peers (default: this one)"
    )
    parser.add_argument(
        "--cortex-peer-ms",
        type=float,
        default=1000.0,
        help="biological ms the cortex peers run (scaled to 1 s); the default is the second encephagen runs "
        "(the network starts quiet: ~10 Hz over its first 200 ms, ~17 Hz over the second)",
    )
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.peer:
        try:
            row = PEERS[args.peer](args)
        except Exception as exc:  # an uninstalled or broken peer is a reported skip, not a crash
            row = {"skipped": f"{type(exc).__name__}: {exc}"[:300]}
        print(json.dumps(row))
        return row

    import numba
    from bench_calibrate import original_loop_steps_per_second

    skip = set(filter(None, args.skip.split(","))) | ({"brian2", "nest", "compile"} if args.quick else set())
    report: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "numba_threads": numba.get_num_threads(),
            "load_average": os.getloadavg()[0],
            "torch": "not installed: the NumPy port stands in",
        }
    }
    cpg = network_for("cpg80")
    single = encephagen_single(cpg, CPG_STEPS)
    result = single.pop("result")
    report["cpg80"] = {
        "neurons": cpg.n_neurons,
        "synapses": cpg.n_synapses,
        "steps": CPG_STEPS,
        "encephagen": single,
        "encephagen_rates_hz": dict(
            zip(result.population_names, np.round(result.population_rates_hz()[0], 1).tolist())
        ),
        "numpy_original_loop": {"steps_per_s": original_loop_steps_per_second(cpg, n_steps=3000)},
        "encephagen_batch16": encephagen_batch(cpg, CPG_STEPS, BATCH),
    }
    if "compile" not in skip:
        report["kernel_compile"] = kernel_compile_seconds()
    for name in ("brian2_cython", "brian2_cpp_standalone", "nest_aeif_psc_exp"):
        report["cpg80"][name] = {"skipped": "--skip/--quick"} if name.split("_")[0] in skip else run_peer(name, args)

    cortex = network_for("cortex")
    numba.set_num_threads(1)
    start = time.perf_counter()
    from encephagen.simulation import simulate

    simulate(cortex, 1.0)
    start = time.perf_counter()
    run = simulate(cortex, 1000.0, seeds=1)
    wall = time.perf_counter() - start
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    out_degree = np.bincount(cortex.weights.indices, minlength=cortex.n_neurons)
    events = int(sum(out_degree[n].sum() for n in run.spike_neurons))
    bandwidth = memory_bandwidth_gb_s()
    report["cortex"] = {
        "neurons": cortex.n_neurons,
        "synapses": cortex.n_synapses,
        "max_delay_steps": int(cortex.delays.max()),
        "encephagen": {
            "wall_per_bio_s": wall,
            "mean_rate_hz": float(run.population_rates_hz().mean()),
            "synaptic_events": events,
            "events_per_s": events / wall,
        },
        "scipy_csr_matvec": {"wall_per_bio_s": csr_matvec_seconds_per_bio_s(cortex)},
        "memory_bandwidth_gb_s": bandwidth,
        # per event: weight, target and delay streamed (8 + 8 + 8 bytes) and one 64-byte line of the ring buffer
        "events_per_s_at_bandwidth_limit": bandwidth * 1e9 / (24 + 64),
    }
    for name, key in (("cortex_brian2_cython", "brian2"), ("cortex_nest_iaf_psc_exp", "nest")):
        report["cortex"][name] = {"skipped": "--skip/--quick"} if key in skip else run_peer(name, args)
    if args.json:
        print(json.dumps(report, indent=2, default=float))
    else:
        print_report(report)
    return report


def print_report(r: dict) -> None:
    c = r["cpg80"]
    ours = c["encephagen"]["steps_per_s"]
    print(
        f"machine: {r['machine']['cpus']} cpus, load average {r['machine']['load_average']:.1f} (ratios are meaningful, absolute times drift)"
    )
    print(f"\nCPG {c['neurons']} neurons, {c['synapses']} synapses, {c['steps']} steps (3 s biological, dt 0.1 ms):")
    print(f"  encephagen single run        {ours:12,.0f} steps/s   ({c['encephagen']['spikes']} spikes)")

    def ratio(name, label, need=None):
        row = c[name]
        if "skipped" in row:
            print(f"  {label:<28} skipped: {row['skipped']}")
            return
        extra = f", compile {row['codegen_compile_s']:.1f} s" if "codegen_compile_s" in row else ""
        verdict = f"  (need >= {need}x: {'ok' if ours / row['steps_per_s'] >= need else 'MISSED'})" if need else ""
        spikes = f", {row['spikes']} spikes" if "spikes" in row else ""
        print(
            f"  {label:<28} {row['steps_per_s']:12,.0f} steps/s   encephagen is {ours / row['steps_per_s']:6.1f}x faster{verdict}{extra}{spikes}"
        )

    ratio("numpy_original_loop", "original loop (NumPy port)")
    print(
        f"  {'original loop (torch)':<28} {TORCH_LOOP_STEPS_PER_S:12,.0f} steps/s   encephagen is {ours / TORCH_LOOP_STEPS_PER_S:6.1f}x faster"
        f"  (need >= 100x: {'ok' if ours / TORCH_LOOP_STEPS_PER_S >= 100 else 'MISSED'}; torch is not installed here: the "
        "reference's figure, which the NumPy port above outruns)"
    )
    ratio("brian2_cython", "Brian2 cython", 10)
    ratio("brian2_cpp_standalone", "Brian2 cpp_standalone", 1)
    ratio("nest_aeif_psc_exp", "NEST aeif_psc_exp")
    b = c["encephagen_batch16"]
    print(
        f"  batch of {b['lanes']} parameter sets: {b['batched_s']:.2f} s vs {b['sequential_s']:.2f} s sequential = "
        f"{b['ratio']:.2f}x throughput (need >= 1.5x: {'ok' if b['ratio'] >= 1.5 else 'MISSED'}); CPU time "
        f"{b['batched_cpu_s']:.2f} s vs {b['sequential_cpu_s']:.2f} s (the wall ratio needs two idle cores)"
    )
    if "kernel_compile" in r:
        k = r["kernel_compile"]
        print(
            f"  kernel: compiled once per machine in {k['cold_compile_s']:.1f} s; first call of a later process {k['cached_first_call_s']:.2f} s; no per-circuit compile"
        )
    x = r["cortex"]
    e = x["encephagen"]
    print(
        f"\ncortex shape {x['neurons']} neurons, {x['synapses']} synapses, delays up to {x['max_delay_steps']} steps, 1 s biological, one thread:"
    )
    print(
        f"  encephagen                   {e['wall_per_bio_s']:6.2f} s per biological s (need <= 2.5: {'ok' if e['wall_per_bio_s'] <= 2.5 else 'MISSED'}), mean rate {e['mean_rate_hz']:.1f} Hz"
    )
    print(
        f"  synaptic events              {e['events_per_s'] / 1e6:6.1f} M/s delivered; memory bandwidth {x['memory_bandwidth_gb_s']:.1f} GB/s "
        f"bounds it at ~{x['events_per_s_at_bandwidth_limit'] / 1e6:.0f} M/s (88 bytes per event)"
    )
    for name, label in (
        ("scipy_csr_matvec", "scipy CSR mat-vec per step"),
        ("cortex_brian2_cython", "Brian2 cython"),
        ("cortex_nest_iaf_psc_exp", "NEST iaf_psc_exp"),
    ):
        row = x[name]
        if "skipped" in row:
            print(f"  {label:<28} skipped: {row['skipped']}")
            continue
        rate = f", mean rate {row['mean_rate_hz']:.1f} Hz" if "mean_rate_hz" in row else ""
        print(
            f"  {label:<28} {row['wall_per_bio_s']:6.2f} s per biological s: encephagen is {row['wall_per_bio_s'] / e['wall_per_bio_s']:.1f}x faster{rate}"
        )


if __name__ == "__main__":
    main()
