"""Brian2, which we did not write, runs the same small circuits and must fire the same spikes.

No noise and no Poisson input (those draw other random numbers in Brian2): identical spike
counts per neuron and spike times within one step. Brian2 uses its numpy code generation
here so that the test needs no C compiler and no compile time.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_circuit

from encephagen.compiler import compile_circuit
from encephagen.simulation import simulate

try:
    import brian2
except Exception as exc:  # brian2 2.9 fails with AttributeError under numpy >= 2.4, not ImportError
    pytest.skip(
        f"brian2 is not usable here ({type(exc).__name__}: {exc}); install it with pip install 'encephagen[peers]' "
        "(Brian2 2.9 imports only with numpy < 2.4: see bench/README.md)",
        allow_module_level=True,
    )

from encephagen.interop.brian2 import build_brian2_network, export_brian2

pytestmark = pytest.mark.peers


def circuit():
    """Two circuits in one network, so that Brian2 solves the equations once (~30 s of sympy).

    A CPG-like part: mutual inhibition through relays, recurrent excitation, adaptation, mixed
    delays and time constants. A chain A -> B -> C with long delays and tau_syn equal to tau_m
    (the limit case of the propagator).
    """
    model = {
        "tau_m": 12.0,
        "v_threshold": 8.0,
        "v_reset": 4.0,
        "t_ref": 1.0,
        "tau_syn_exc": 5.0,
        "tau_syn_inh": 8.0,
        "adaptation": 2.0,
        "tau_adaptation": 80.0,
    }
    relay = {**model, "tau_m": 15.0, "v_reset": 0.0, "t_ref": 0.5, "tau_syn_exc": 3.0, "adaptation": 0.0}
    chain = {"tau_m": 10.0, "v_threshold": 10.0, "t_ref": 2.0, "tau_syn_exc": 10.0 + 1e-7}
    all_to_all = {"kind": "all_to_all"}
    return make_circuit(
        {
            "flex": {"size": 5, "drive": 15.0, "initial_v": {"uniform": [0.0, 7.0]}},
            "ext": {"size": 5, "drive": 13.0, "initial_v": {"uniform": [0.0, 7.0]}},
            "flex_inh": {"size": 3, "cell_class": "inh", "drive": 5.0, "neuron_model": "relay"},
            "ext_inh": {"size": 3, "cell_class": "inh", "drive": 5.0, "neuron_model": "relay"},
            "A": {"drive": 20.0, "neuron_model": "chain"},
            "B": {"neuron_model": "chain"},
            "C": {"neuron_model": "chain"},
        },
        {
            "flex->flex": {
                "source": "flex",
                "target": "flex",
                "rule": all_to_all,
                "weight": 0.3,
                "weight_mode": "total",
            },
            "ext->ext": {
                "source": "ext",
                "target": "ext",
                "rule": all_to_all,
                "weight": 0.3,
                "weight_mode": "total",
                "delay": 0.7,
            },
            "flex->flex_inh": {"source": "flex", "target": "flex_inh", "rule": all_to_all, "weight": 6.0, "delay": 1.0},
            "ext->ext_inh": {"source": "ext", "target": "ext_inh", "rule": all_to_all, "weight": 6.0, "delay": 0.3},
            "flex_inh->ext": {"source": "flex_inh", "target": "ext", "rule": all_to_all, "weight": -3.0, "delay": 0.2},
            "ext_inh->flex": {"source": "ext_inh", "target": "flex", "rule": all_to_all, "weight": -3.0, "delay": 2.0},
            "A->B": {"source": "A", "target": "B", "rule": all_to_all, "weight": 30.0, "delay": 1.5},
            "B->C": {"source": "B", "target": "C", "rule": all_to_all, "weight": 25.0, "delay": 4.0},
        },
        neuron_models={"lif": model, "relay": relay, "chain": chain},
    )


@pytest.mark.slow
def test_brian2_fires_the_same_spikes():
    net = compile_circuit(circuit(), dt=0.1)
    ours = simulate(net, 600.0, seeds=7)
    peer = build_brian2_network(net, seed=7, codegen_target="numpy")
    peer.run(600.0 * brian2.ms)
    peer_steps = np.rint(np.asarray(peer["spikes"].t / brian2.ms) / net.dt).astype(np.int64)
    peer_neurons = np.asarray(peer["spikes"].i)
    assert len(ours.spike_steps[0]) > 50
    for neuron in range(net.n_neurons):
        a = ours.spike_steps[0][ours.spike_neurons[0] == neuron]
        b = np.sort(peer_steps[peer_neurons == neuron])
        assert a.size == b.size > 0, f"neuron {neuron}: {a.size} spikes here, {b.size} in Brian2"
        assert np.abs(a - b).max() <= 1, f"neuron {neuron}: spike times differ by more than one step"


def test_exported_script_holds_the_builder(tmp_path):
    net = compile_circuit(circuit(), dt=0.1)
    script = export_brian2(net, tmp_path / "out", duration_ms=50.0, seed=1)
    text = script.read_text()
    assert "def build_from_arrays" in text and "DURATION_MS = 50.0" in text
    compile(text, str(script), "exec")
    with np.load(tmp_path / "out" / "network.npz") as arrays:
        chain = arrays["post"] >= 16  # B and C, the last two neurons
        assert arrays["weight"][chain].tolist() == [30.0, 25.0] and arrays["delay_steps"][chain].tolist() == [15, 40]
