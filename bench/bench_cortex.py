"""Speed of the 80-region cortex (16,000 LIF neurons, ~1 M synapses): encephagen vs NEST and Brian2.

All engines run the same compiled network — the weights, delays, neuron parameters and
Poisson drive of ``circuits/hcp_cortex.json`` as :func:`encephagen.compiler.compile_circuit`
builds them — so the real-time factors compare like with like:

* encephagen: the simulation with conduction delays, plus the Balloon–Windkessel BOLD of
  the 80 region rates (what ``encephagen fc`` runs);
* NEST ``iaf_psc_exp`` (one thread) and Brian2 (cython runtime), with the same delays;
  ``--no-delays`` gives them one-step delays (the shape reference/peer-speed.md measured).

Usage::

    NUMBA_NUM_THREADS=1 python bench/bench_cortex.py --peer-python /tmp/peers/bin/python
    python bench/bench_cortex.py --duration-ms 2000 --dt 0.5 --engines encephagen --json

Prints wall seconds per biological second (real-time factor, lower is faster), the CPU
seconds of the process per biological second (what the factor would be on an idle core: on
a shared machine the wall figure also counts the time other jobs held the core), the load
average, and the mean rate each engine produced, as a check that they simulate the same thing. A peer that is
not installed (or does not import) is reported as skipped with the reason; ``--peer-python``
runs the peers that do not import here with another interpreter (Brian2 2.9 needs
numpy < 2.4: bench/README.md).

Time step: encephagen runs at every ``--dt`` (default 0.1 and 0.5 ms), the peers at the
first. 0.1 ms is the usual step for LIF networks; ``encephagen fc`` and the fc calibration
use 0.5 ms, which the exact (exponential) propagators of the kernel allow: it changes
only the grid spike times and delays are rounded to, and the mean rate printed beside each
dt shows the network stays in the same state (the BOLD and FC are averages over seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_network(dt: float, no_delays: bool):
    from encephagen.compiler import compile_circuit
    from encephagen.storage import load_circuit

    network = compile_circuit(load_circuit(ROOT / "circuits" / "hcp_cortex.json"), dt=dt, base_dir=ROOT / "circuits")
    delays = np.ones_like(network.delays) if no_delays else network.delays
    return network, delays


def run_encephagen(network, duration_ms: float) -> dict:
    from encephagen.fc import activity_to_bold_fc, region_rates, run_cortex
    from encephagen.hcp import AAL2_CORTICAL_80
    from encephagen.simulation import simulate

    simulate(network, 10 * network.dt, bin_ms=10 * network.dt, record_spikes=False)  # compile the kernel first
    start, cpu = time.perf_counter(), time.process_time()
    result = run_cortex(network, duration_ms)
    activity_to_bold_fc(
        region_rates(result, AAL2_CORTICAL_80), result.bin_ms, discard_s=0.0, tr_s=duration_ms / 1000 / 20
    )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "mean_rate_hz": float(result.population_counts.sum() / network.n_neurons / (duration_ms / 1000)),
    }


def run_nest(network, delays, duration_ms: float) -> dict:
    import nest

    if hasattr(nest, "VerbosityLevel"):  # NEST >= 3.9
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": network.dt, "local_num_threads": 1, "rng_seed": 1})
    p = network.neuron
    # unit membrane resistance: C_m = tau_m pF, so a current of x pA moves v by x mV at rest
    cells = nest.Create(
        "iaf_psc_exp",
        network.n_neurons,
        params={
            "tau_m": p["tau_m"],
            "C_m": p["tau_m"],
            "V_th": p["v_threshold"],
            "V_reset": p["v_reset"],
            "E_L": p["v_rest"],
            "t_ref": p["t_ref"],
            "tau_syn_ex": p["tau_syn_exc"],
            "tau_syn_in": p["tau_syn_inh"],
            "V_m": np.random.default_rng(0).uniform(p["initial_v_low"], p["initial_v_high"]),
        },
    )
    post, pre, syn_weight = network.weights.triplets()
    nest.Connect(
        np.asarray(cells)[pre],
        np.asarray(cells)[post],
        "one_to_one",
        {"synapse_model": "static_synapse", "weight": syn_weight, "delay": np.maximum(delays, 1) * network.dt},
    )
    for rate, weight in {(float(r), float(w)) for r, w in zip(p["poisson_rate"], p["poisson_weight"])}:
        members = np.flatnonzero((p["poisson_rate"] == rate) & (p["poisson_weight"] == weight))
        drive = nest.Create("poisson_generator", params={"rate": rate})
        nest.Connect(
            drive,
            nest.NodeCollection(list(np.asarray(cells)[members])),
            syn_spec={"weight": weight, "delay": network.dt},
        )
    recorder = nest.Create("spike_recorder")
    nest.Connect(cells, recorder)
    start, cpu = time.perf_counter(), time.process_time()
    nest.Simulate(duration_ms)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"wall_s": wall, "cpu_s": cpu, "mean_rate_hz": recorder.n_events / network.n_neurons / (duration_ms / 1000)}


def run_brian2(network, delays, duration_ms: float) -> dict:
    import brian2 as b2

    b2.prefs.codegen.target = "cython"
    b2.defaultclock.dt = network.dt * b2.ms
    p = network.neuron
    group = b2.NeuronGroup(
        network.n_neurons,
        """dv/dt = (-(v - v_rest) + i_e + i_i) / tau_m : 1 (unless refractory)
           di_e/dt = -i_e / tau_e : 1
           di_i/dt = -i_i / tau_i : 1
           v_rest : 1
           v_th : 1
           v_re : 1
           t_ref : second
           tau_m : second
           tau_e : second
           tau_i : second""",
        threshold="v >= v_th",
        reset="v = v_re",
        refractory="t_ref",
        method="exact",
    )
    group.v_rest, group.v_th, group.v_re = p["v_rest"], p["v_threshold"], p["v_reset"]
    group.t_ref, group.tau_m = p["t_ref"] * b2.ms, p["tau_m"] * b2.ms
    group.tau_e, group.tau_i = p["tau_syn_exc"] * b2.ms, p["tau_syn_inh"] * b2.ms
    group.v = np.random.default_rng(0).uniform(p["initial_v_low"], p["initial_v_high"])
    post, pre, syn_weight = network.weights.triplets()
    objects = [group]
    for sign, target in ((1, "i_e"), (-1, "i_i")):
        keep = np.flatnonzero(np.sign(syn_weight) == sign)
        synapses = b2.Synapses(group, group, "w : 1", on_pre=f"{target}_post += w")
        synapses.connect(i=pre[keep], j=post[keep])
        synapses.w = syn_weight[keep]
        synapses.delay = np.maximum(delays[keep], 1) * network.dt * b2.ms
        objects.append(synapses)
    rate, weight = float(p["poisson_rate"][0]), float(p["poisson_weight"][0])
    objects.append(b2.PoissonInput(group, "i_e", 1, rate * b2.Hz, weight=weight))
    monitor = b2.SpikeMonitor(group)
    net = b2.Network(*objects, monitor)
    net.run(10 * network.dt * b2.ms)  # code generation and compilation happen here, outside the timing
    start, cpu = time.perf_counter(), time.process_time()
    net.run(duration_ms * b2.ms)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"wall_s": wall, "cpu_s": cpu, "mean_rate_hz": monitor.num_spikes / network.n_neurons / (duration_ms / 1000)}


def run_engine(engine: str, network, delays, duration_ms: float) -> dict:
    """One engine's timing row, or ``{"skipped": reason}`` when it cannot run here."""
    runners = {
        "encephagen": lambda: run_encephagen(network, duration_ms),
        "nest": lambda: run_nest(network, delays, duration_ms),
        "brian2": lambda: run_brian2(network, delays, duration_ms),
    }
    if engine not in runners:
        return {"skipped": "unknown engine"}
    try:
        row = runners[engine]()
    except ImportError as exc:  # also numpy/brian2 version clashes that surface on import
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    except AttributeError as exc:
        return {"skipped": f"does not import with this numpy ({exc})"}
    return {
        **row,
        "real_time_factor": row["wall_s"] / (duration_ms / 1000),
        "cpu_time_factor": row["cpu_s"] / (duration_ms / 1000),
    }


def run_elsewhere(python: str, engine: str, args) -> dict:
    """Run one peer with another interpreter (one thread) and return its row."""
    command = [
        python,
        __file__,
        "--engines",
        engine,
        "--dt",
        str(args.dt[0]),
        "--duration-ms",
        str(args.duration_ms),
        "--json",
    ]
    if args.no_delays:
        command.append("--no-delays")
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"},
    )
    if done.returncode != 0:
        return {
            "skipped": f"{python} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
        }
    report = done.stdout[done.stdout.find("{") :]  # NEST prints a banner first
    return {**json.loads(report)["engines"][engine], "python": python}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-ms", type=float, default=1000.0)
    parser.add_argument(
        "--dt",
        type=lambda text: [float(x) for x in text.split(",")],
        default=[0.1, 0.5],
        help="comma-separated steps (ms) for encephagen; the peers use the first (default 0.1,0.5)",
    )
    parser.add_argument(
        "--no-delays", action="store_true", help="one-step delays for the peers (the shape of peer-speed.md)"
    )
    parser.add_argument("--engines", default="encephagen,nest,brian2")
    parser.add_argument("--peer-python", default=None, help="interpreter for the peers that do not import here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import numba

    numba.set_num_threads(1)  # the target is one thread; one lane runs the serial kernel anyway
    rows, shapes = {}, {}
    load0 = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    for engine in args.engines.split(","):
        for dt in args.dt if engine == "encephagen" else args.dt[:1]:
            network, delays = load_network(dt, args.no_delays)
            shapes = {"n_neurons": network.n_neurons, "n_synapses": network.n_synapses}
            key = f"{engine} dt {dt:g}" if engine == "encephagen" and len(args.dt) > 1 else engine
            rows[key] = {"dt_ms": dt, **run_engine(engine, network, delays, args.duration_ms)}
            if "skipped" in rows[key] and args.peer_python and engine != "encephagen":
                rows[key] = {"dt_ms": dt, **run_elsewhere(args.peer_python, engine, args)}
    if args.json:
        print(
            json.dumps(
                {
                    **shapes,
                    "load_average_before": load0,
                    "duration_ms": args.duration_ms,
                    "peer_delays": not args.no_delays,
                    "engines": rows,
                },
                indent=2,
            )
        )
        return
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average before the run: {load0}; after: {load}")
    print(
        f"cortex: {shapes['n_neurons']} neurons, {shapes['n_synapses']} synapses, {args.duration_ms:g} ms biological, one thread; "
        f"encephagen with delays and BOLD, peers {'without' if args.no_delays else 'with'} delays"
    )
    for engine, row in rows.items():
        if "skipped" in row:
            print(f"  {engine:<11} skipped: {row['skipped']}")
        else:
            print(
                f"  {engine.split(' dt ')[0]:<11} dt {row['dt_ms']:g} ms  {row['real_time_factor']:6.1f} x slower than real time "
                f"(CPU {row['cpu_time_factor']:5.1f} x)   mean rate {row['mean_rate_hz']:.2f} Hz"
            )
    ours = next(
        (
            row
            for engine, row in rows.items()
            if engine.startswith("encephagen") and row.get("dt_ms") == args.dt[0] and "skipped" not in row
        ),
        None,
    )
    for engine, row in rows.items():
        if ours is not None and not engine.startswith("encephagen") and "skipped" not in row:
            print(
                f"  encephagen (dt {args.dt[0]:g} ms) is {row['real_time_factor'] / ours['real_time_factor']:.1f}x faster than {engine} "
                f"(CPU time: {row['cpu_time_factor'] / ours['cpu_time_factor']:.1f}x), measured in this run"
            )


if __name__ == "__main__":
    main()
