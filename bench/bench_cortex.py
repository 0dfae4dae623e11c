"""Speed of the 80-region cortex (16,000 LIF neurons, ~1 M synapses): encephagen vs NEST and Brian2.

All engines run the same compiled network — the weights, delays, neuron parameters and
Poisson drive of ``circuits/hcp_cortex.json`` as :func:`encephagen.compile.compile_circuit`
builds them — so the real-time factors compare like with like:

* encephagen: the simulation with conduction delays, plus the Balloon–Windkessel BOLD of
  the 80 region rates (what ``encephagen fc`` runs);
* NEST ``iaf_psc_exp`` (one thread) and Brian2 (cython runtime), with the same delays;
  ``--no-delays`` gives them one-step delays (the shape reference/peer-speed.md measured).

Usage::

    python bench/bench_cortex.py                          # 1 s biological, every engine found
    python bench/bench_cortex.py --duration-ms 2000 --dt 0.5 --engines encephagen --json

Prints wall seconds per biological second (real-time factor, lower is faster) and the mean
rate each engine produced, as a check that they simulate the same thing. A peer that is
not installed (or does not import) is reported as skipped with the reason.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_network(dt: float, no_delays: bool):
    from encephagen.compile import compile_circuit
    from encephagen.storage import load_circuit

    network = compile_circuit(load_circuit(ROOT / "circuits" / "hcp_cortex.json"), dt=dt, base_dir=ROOT / "circuits")
    delays = np.ones_like(network.delays) if no_delays else network.delays
    return network, delays


def run_encephagen(network, duration_ms: float) -> dict:
    from encephagen.fc import region_rates, run_cortex, activity_to_bold_fc
    from encephagen.hcp import AAL2_CORTICAL_80
    from encephagen.simulate import simulate

    simulate(network, 10 * network.dt, bin_ms=10 * network.dt, record_spikes=False)  # compile the kernel first
    start = time.perf_counter()
    result = run_cortex(network, duration_ms)
    activity_to_bold_fc(region_rates(result, AAL2_CORTICAL_80), result.bin_ms, discard_s=0.0, tr_s=duration_ms / 1000 / 20)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "mean_rate_hz": float(result.population_counts.sum() / network.n_neurons / (duration_ms / 1000))}


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
    cells = nest.Create("iaf_psc_exp", network.n_neurons, params={
        "tau_m": p["tau_m"], "C_m": p["tau_m"], "V_th": p["v_threshold"], "V_reset": p["v_reset"], "E_L": p["v_rest"],
        "t_ref": p["t_ref"], "tau_syn_ex": p["tau_syn_exc"], "tau_syn_in": p["tau_syn_inh"],
        "V_m": np.random.default_rng(0).uniform(p["initial_v_low"], p["initial_v_high"]),
    })
    coo = network.weights.tocoo()
    nest.Connect(np.asarray(cells)[coo.col], np.asarray(cells)[coo.row], "one_to_one",
                 {"synapse_model": "static_synapse", "weight": coo.data, "delay": np.maximum(delays, 1) * network.dt})
    for rate, weight in {(float(r), float(w)) for r, w in zip(p["poisson_rate"], p["poisson_weight"])}:
        members = np.flatnonzero((p["poisson_rate"] == rate) & (p["poisson_weight"] == weight))
        drive = nest.Create("poisson_generator", params={"rate": rate})
        nest.Connect(drive, nest.NodeCollection(list(np.asarray(cells)[members])), syn_spec={"weight": weight, "delay": network.dt})
    recorder = nest.Create("spike_recorder")
    nest.Connect(cells, recorder)
    start = time.perf_counter()
    nest.Simulate(duration_ms)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "mean_rate_hz": recorder.n_events / network.n_neurons / (duration_ms / 1000)}


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
        threshold="v >= v_th", reset="v = v_re", refractory="t_ref", method="exact",
    )
    group.v_rest, group.v_th, group.v_re = p["v_rest"], p["v_threshold"], p["v_reset"]
    group.t_ref, group.tau_m = p["t_ref"] * b2.ms, p["tau_m"] * b2.ms
    group.tau_e, group.tau_i = p["tau_syn_exc"] * b2.ms, p["tau_syn_inh"] * b2.ms
    group.v = np.random.default_rng(0).uniform(p["initial_v_low"], p["initial_v_high"])
    coo = network.weights.tocoo()
    objects = [group]
    for sign, target in ((1, "i_e"), (-1, "i_i")):
        keep = np.flatnonzero(np.sign(coo.data) == sign)
        synapses = b2.Synapses(group, group, "w : 1", on_pre=f"{target}_post += w")
        synapses.connect(i=coo.col[keep], j=coo.row[keep])
        synapses.w = coo.data[keep]
        synapses.delay = np.maximum(delays[keep], 1) * network.dt * b2.ms
        objects.append(synapses)
    rate, weight = float(p["poisson_rate"][0]), float(p["poisson_weight"][0])
    objects.append(b2.PoissonInput(group, "i_e", 1, rate * b2.Hz, weight=weight))
    monitor = b2.SpikeMonitor(group)
    net = b2.Network(*objects, monitor)
    net.run(10 * network.dt * b2.ms)  # code generation and compilation happen here, outside the timing
    start = time.perf_counter()
    net.run(duration_ms * b2.ms)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "mean_rate_hz": monitor.num_spikes / network.n_neurons / (duration_ms / 1000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-ms", type=float, default=1000.0)
    parser.add_argument("--dt", type=float, default=0.1)
    parser.add_argument("--no-delays", action="store_true", help="one-step delays for the peers (the shape of peer-speed.md)")
    parser.add_argument("--engines", default="encephagen,nest,brian2")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    network, delays = load_network(args.dt, args.no_delays)
    rows = {}
    for engine in args.engines.split(","):
        try:
            if engine == "encephagen":
                rows[engine] = run_encephagen(network, args.duration_ms)
            elif engine == "nest":
                rows[engine] = run_nest(network, delays, args.duration_ms)
            elif engine == "brian2":
                rows[engine] = run_brian2(network, delays, args.duration_ms)
            else:
                rows[engine] = {"skipped": "unknown engine"}
        except ImportError as exc:  # also numpy/brian2 version clashes that surface on import
            rows[engine] = {"skipped": f"{type(exc).__name__}: {exc}"}
        except AttributeError as exc:
            rows[engine] = {"skipped": f"does not import with this numpy ({exc})"}
        if "wall_s" in rows[engine]:
            rows[engine]["real_time_factor"] = rows[engine]["wall_s"] / (args.duration_ms / 1000)
    if args.json:
        print(json.dumps({"n_neurons": network.n_neurons, "n_synapses": network.n_synapses, "dt_ms": args.dt,
                          "duration_ms": args.duration_ms, "peer_delays": not args.no_delays, "engines": rows}, indent=2))
        return
    print(f"cortex: {network.n_neurons} neurons, {network.n_synapses} synapses, dt {args.dt} ms, {args.duration_ms:g} ms biological; peers {'without' if args.no_delays else 'with'} delays")
    for engine, row in rows.items():
        if "skipped" in row:
            print(f"  {engine:<11} skipped: {row['skipped']}")
        else:
            print(f"  {engine:<11} {row['real_time_factor']:7.1f} x slower than real time   mean rate {row['mean_rate_hz']:.2f} Hz")


if __name__ == "__main__":
    main()
