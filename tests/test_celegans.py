"""The C. elegans connectome: the shipped circuit, the import's modelling choices, malformed data."""

from __future__ import annotations

import numpy as np
import pytest

from encephagen import load_circuit
from encephagen.compiler import compile_circuit
from encephagen.interop.celegans import ConnectomeDataError, celegans_circuit, parse_dataset, parse_neuron_table
from encephagen.rules import check_circuit
from encephagen.simulation import simulate


@pytest.fixture(scope="module")
def shipped():
    return load_circuit("celegans")


def test_shipped_circuit_names_every_neuron_and_signs_by_transmitter(shipped):
    assert len(shipped.populations) == 302
    assert {"AVAL", "AVAR", "AVBL", "DA1", "DD1", "VD13", "RIS", "ASHL"} <= set(shipped.populations)
    assert all(p.size == 1 for p in shipped.populations.values())
    classes = {name: shipped.populations[name].cell_class for name in ("DD1", "VD5", "AVAL", "RIS")}
    assert classes["DD1"] == classes["VD5"] == "GABAergic" and classes["RIS"] == "GABAergic"
    assert classes["AVAL"] == "acetylcholine"
    unknown = shipped.cell_classes["transmitter_unknown"]
    assert unknown.transmitter == "unknown" and "ASSUMPTION" in unknown.description
    details = next(h for h in shipped.history if h.action == "imported").details  # later entries: migrations
    assert details["gap_junction_pairs_not_modelled"] > 1000
    assert "Gap junctions" in shipped.description and "NOT modelled" in shipped.description


def test_shipped_circuit_compiles_with_dale_signs_and_simulates_reproducibly(shipped):
    network = compile_circuit(shipped)
    assert network.n_neurons == 302 and network.n_synapses == len(shipped.projections)
    weights = network.weights
    for name in ("DD1", "VD5"):  # GABAergic: every outgoing weight negative
        outgoing = weights.data[weights.indices == network.population_slices[name].start]
        assert outgoing.size > 0 and np.all(outgoing < 0)
    assert np.all(weights.data[weights.indices == network.population_slices["AVAL"].start] > 0)
    first = simulate(network, 500.0, seeds=7).lane(0)
    again = simulate(network, 500.0, seeds=7).lane(0)
    np.testing.assert_array_equal(first.population_counts, again.population_counts)
    rates = first.population_rates_hz()[0]
    assert np.all(np.isfinite(rates)) and 0.5 < np.median(rates) < 100.0, np.median(rates)
    silenced = simulate(network, 500.0, seeds=7, parameters=[{"w_exc": 0.0, "w_unknown": 0.0, "w_inh": 0.0}]).lane(0)
    assert not np.array_equal(silenced.population_counts, first.population_counts), (
        "the connectome must shape the activity"
    )


def _tiny():
    """Four neurons and one muscle: A (ACh), G (GABA), M (ACh+GABA), U (no fast transmitter)."""
    nodes = ["A", "G", "M", "U", "mu1"]
    cs = np.zeros((5, 5))
    cs[0, 1], cs[1, 0], cs[2, 0], cs[3, 2], cs[0, 4] = 3, 2, 4, 1, 9
    gj = np.zeros((5, 5))
    gj[0, 3] = gj[3, 0] = 2
    wiring = parse_dataset(
        {"nodes": nodes, "connections": {"Generic_CS": cs.tolist(), "Generic_GJ": gj.tolist()}},
        "wiring.json",
        name="wiring",
    )
    ach, gaba = np.zeros((5, 5)), np.zeros((5, 5))
    ach[0, 1], ach[2, 0], gaba[1, 0], gaba[2, 0] = 3, 4, 2, 4
    atlas = parse_dataset(
        {"nodes": nodes, "connections": {"Acetylcholine": ach.tolist(), "GABA": gaba.tolist()}},
        "atlas.json",
        name="atlas",
    )
    table = parse_neuron_table(
        "# comment\nA; Neuron A Left; AB a; interneuron\nG; Neuron G; AB g; motor\n"
        "M; Neuron M Right; AB m; mixed\nU; Neuron U; AB u; unknown\n",
        "table.csv",
    )
    return celegans_circuit(wiring, atlas, table)


def test_import_signs_mixes_and_marks_unknown_transmitters():
    circuit = _tiny()
    assert check_circuit(circuit, "tiny.json") == []
    assert set(circuit.populations) == {"A", "G", "M", "U"}, "muscles are left out"
    assert circuit.populations["A"].side == "left" and circuit.populations["M"].side == "right"
    assert circuit.cell_classes[circuit.populations["M"].cell_class].effective_sign == "mixed"
    assert set(circuit.projections) == {"A->G", "G->A", "M->A:exc", "M->A:inh", "U->M"}
    weights = {name: (p.weight.param, p.weight.factor) for name, p in circuit.projections.items()}
    assert weights["A->G"] == ("w_exc", 3.0) and weights["G->A"] == ("w_inh", 2.0)
    assert weights["M->A:exc"] == ("w_exc", 4.0) and weights["M->A:inh"] == ("w_inh", 4.0)
    assert weights["U->M"] == ("w_unknown", 1.0)
    details = circuit.history[-1].details
    assert details["gap_junction_pairs_not_modelled"] == 1 and details["gap_junction_contacts_not_modelled"] == 2
    assert details["chemical_contacts_to_or_from_non_neurons_left_out"] == 9
    assert details["neurons_with_unknown_transmitter"] == ["U"]


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ([1, 2], "wiring.json: a dataset is a JSON object"),
        ({"nodes": ["A"]}, "wiring.json: missing 'connections'"),
        ({"nodes": ["A", "A"], "connections": {"GABA": [[0, 0], [0, 0]]}}, "wiring.json:/nodes/1: duplicate node 'A'"),
        ({"nodes": ["A", ""], "connections": {"GABA": [[0]]}}, "wiring.json:/nodes: must be a list of non-empty names"),
        (
            {"nodes": ["A", "B"], "connections": {"GABA": [[0, 1]]}},
            r"wiring.json:/connections/GABA: matrix of shape \[1, 2\], expected \[2, 2\]",
        ),
        (
            {"nodes": ["A", "B"], "connections": {"GABA": [[0, 1], [0]]}},
            "wiring.json:/connections/GABA: not a numeric matrix",
        ),
        (
            {"nodes": ["A", "B"], "connections": {"GABA": [[0, 1.5], [0, 0]]}},
            "wiring.json:/connections/GABA/0/1: contact counts must be whole numbers >= 0; got 1.5",
        ),
        (
            {"nodes": ["A", "B"], "connections": {"GABA": [[0, 0], [-1, 0]]}},
            "GABA/1/0: contact counts must be whole numbers >= 0; got -1.0",
        ),
        ({"nodes": ["A", "B"], "connections": {"GABA": [[0, float("nan")], [0, 0]]}}, "got nan"),
        (
            {"nodes": ["A", "B"], "connections": {"Acetylcholin": [[0, 0], [0, 0]]}},
            "unknown synapse class 'Acetylcholin'; did you mean 'Acetylcholine'",
        ),
    ],
)
def test_malformed_source_data_is_refused_with_its_place(tree, message):
    with pytest.raises(ConnectomeDataError, match=message):
        parse_dataset(tree, "wiring.json")


def test_malformed_neuron_table_is_refused():
    with pytest.raises(ConnectomeDataError, match=r"table\.csv:2: expected 'NAME; full name; lineage; description'"):
        parse_neuron_table("A; Neuron A; AB a; interneuron\nB; only two\n", "table.csv")


def test_missing_cect_names_the_install_command(monkeypatch):
    import importlib.util

    from encephagen.errors import EncephagenError
    from encephagen.interop import celegans

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EncephagenError, match="pip download --no-deps cect"):
        celegans.find_cect_source()
