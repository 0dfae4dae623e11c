"""The compiler: orientation, parameter maps, connection rules, matrix projections, lesions."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_circuit
from hypothesis import given, settings
from hypothesis import strategies as st

import encephagen.compiler as compile_module
from encephagen import load_circuit
from encephagen.compiler import bernoulli_pairs, compile_circuit, lesion
from encephagen.errors import CompileError, UnknownNameError
from encephagen.locations import shipped_circuit_names


def test_weights_are_post_by_pre():
    circuit = make_circuit(
        {"A": {"size": 2}, "B": {"size": 3}},
        {"A->B": {"source": "A", "target": "B", "rule": {"kind": "all_to_all"}, "weight": 1.5}},
    )
    net = compile_circuit(circuit)
    dense = net.weights.toarray()
    assert dense[2:, :2].tolist() == [[1.5, 1.5]] * 3
    assert dense[:2, :].sum() == 0 and dense[:, 2:].sum() == 0
    assert net.population_slices == {"A": slice(0, 2), "B": slice(2, 5)}


def test_total_weight_is_divided_over_sources_and_autapses_excluded():
    circuit = make_circuit(
        {"A": {"size": 4}},
        {"rec": {"source": "A", "target": "A", "rule": {"kind": "all_to_all"}, "weight": 0.3, "weight_mode": "total"}},
    )
    dense = compile_circuit(circuit).weights.toarray()
    assert np.allclose(dense, 0.3 / 4 * (1 - np.eye(4)))


def _parametrised():
    return make_circuit(
        {"A": {"size": 3, "drive": {"param": "d", "factor": 2.0}}, "B": {"size": 2, "cell_class": "inh"}},
        {
            "A->B": {
                "source": "A",
                "target": "B",
                "rule": {"kind": "all_to_all"},
                "weight": {"param": "w"},
                "weight_mode": "total",
            },
            "B->A": {
                "source": "B",
                "target": "A",
                "rule": {"kind": "all_to_all"},
                "weight": {"param": "g", "factor": -1.0},
            },
        },
        parameters={
            "w": {"value": 1.0, "free": True, "bounds": [0.0, 5.0]},
            "g": {"value": 2.0, "free": True, "bounds": [0.5, 4.0]},
            "d": {"value": 5.0},
            "tau": {"value": 20.0},
        },
        neuron_models={"lif": {"tau_m": {"param": "tau"}, "v_threshold": 10.0}},
    )


def test_applying_parameters_equals_recompiling():
    circuit = _parametrised()
    net = compile_circuit(circuit)
    values = {"w": 3.0, "g": 0.7, "d": 9.0, "tau": 12.0}
    applied = net.apply(values)
    recompiled = compile_circuit(circuit.with_parameter_values(values))
    assert np.array_equal(applied.weights_data, recompiled.weights.data)
    for name, vector in recompiled.neuron.items():
        assert np.array_equal(applied.neuron[name], vector), name
    assert applied.neuron["drive"][0] == 18.0


def test_batch_stacks_lanes():
    net = compile_circuit(_parametrised())
    batch = net.batch([{"w": 1.0}, {"w": 2.0}])
    assert batch.size == 2 and batch.weights_data.shape == (2, net.n_synapses)
    assert np.allclose(batch.weights_data[1][batch.weights_data[1] > 0], 2.0 / 3)


def test_structural_parameter_cannot_be_applied():
    circuit = make_circuit(
        {"A": {"size": 20}},
        {
            "rec": {
                "source": "A",
                "target": "A",
                "rule": {"kind": "fixed_probability", "probability": {"param": "p"}, "seed": 1},
                "weight": 1.0,
            }
        },
        parameters={"p": {"value": 0.5}},
    )
    net = compile_circuit(circuit)
    with pytest.raises(CompileError, match="structural"):
        net.apply({"p": 0.2})
    with pytest.raises(UnknownNameError, match="did you mean 'p'"):
        net.apply({"pp": 0.2})


def test_fixed_probability_is_seeded_and_has_the_right_density():
    def build(seed):
        return compile_circuit(
            make_circuit(
                {"A": {"size": 200}},
                {
                    "rec": {
                        "source": "A",
                        "target": "A",
                        "rule": {"kind": "fixed_probability", "probability": 0.1, "seed": seed},
                        "weight": 1.0,
                    }
                },
            )
        )

    a, b, c = build(7), build(7), build(8)
    assert np.array_equal(a.weights.toarray(), b.weights.toarray())
    assert not np.array_equal(a.weights.toarray(), c.weights.toarray())
    expected = 0.1 * 200 * 199
    assert abs(a.n_synapses - expected) < 4 * np.sqrt(expected)
    assert a.weights.diagonal().sum() == 0


def test_bernoulli_pairs_are_uniform_over_pairs():
    rng = np.random.default_rng(0)
    counts = np.zeros((5, 4))
    for _ in range(2000):
        pre, post = bernoulli_pairs(rng, 5, 4, 0.3, exclude_diagonal=False)
        np.add.at(counts, (pre, post), 1)
    assert np.allclose(counts / 2000, 0.3, atol=0.05)


def test_fixed_indegree_gives_exact_indegree_without_autapses():
    net = compile_circuit(
        make_circuit(
            {"A": {"size": 30}},
            {
                "rec": {
                    "source": "A",
                    "target": "A",
                    "rule": {"kind": "fixed_indegree", "indegree": 7, "seed": 3},
                    "weight": 1.0,
                }
            },
        )
    )
    assert (np.diff(net.weights.indptr) == 7).all()
    assert net.weights.diagonal().sum() == 0


def test_edge_list_with_weight_factors_and_delays():
    net = compile_circuit(
        make_circuit(
            {"A": {"size": 3}, "B": {"size": 3}},
            {
                "e": {
                    "source": "A",
                    "target": "B",
                    "rule": {
                        "kind": "edge_list",
                        "source_index": [0, 2],
                        "target_index": [1, 1],
                        "weight_factor": [1.0, 3.0],
                    },
                    "weight": 2.0,
                    "delay": 1.5,
                }
            },
        ),
        dt=0.5,
    )
    assert net.weights.toarray()[4, 0] == 2.0 and net.weights.toarray()[4, 2] == 6.0
    assert net.delays.tolist() == [3, 3]


def test_matrix_projection_inline_arrays():
    circuit = make_circuit(
        {"R0": {"size": 40}, "R1": {"size": 40}},
        matrix_projections={
            "lr": {
                "sources": ["R0", "R1"],
                "targets": ["R0", "R1"],
                "probability": {"array": [[0.0, 1.0], [0.5, 0.0]]},
                "weight": {"array": [[0.0, 2.0], [4.0, 0.0]], "scale": {"param": "gc"}},
                "delay": {"array": [[0.0, 10.0], [20.0, 0.0]], "divisor": 2.0},
                "seed": 5,
            }
        },
        parameters={"gc": {"value": 0.5}},
    )
    net = compile_circuit(circuit)
    dense = net.weights.toarray()
    assert (dense[:40, 40:] == 1.0).all()  # R1 -> R0: p = 1, weight 2 * 0.5
    block = dense[40:, :40]
    assert set(np.unique(block)) == {0.0, 2.0} and abs((block > 0).mean() - 0.5) < 0.1
    assert set(net.delays.tolist()) == {50, 100}
    doubled = net.apply({"gc": 1.0}).weights_data
    assert np.allclose(doubled, 2 * net.weights.data)


def test_lesion_removes_populations_projections_and_readout_terms():
    circuit = make_circuit(
        {"A": {"size": 2}, "B": {"size": 2}, "C": {"size": 2}},
        {
            "A->B": {"source": "A", "target": "B", "rule": {"kind": "all_to_all"}, "weight": 1.0},
            "B->C": {"source": "B", "target": "C", "rule": {"kind": "all_to_all"}, "weight": 1.0},
        },
        readouts={"ab": {"terms": [{"population": "A"}, {"population": "B", "coefficient": -1.0}]}},
    )
    cut = lesion(circuit, ["B"])
    assert list(cut.populations) == ["A", "C"] and cut.projections == {}
    assert [t.population for t in cut.readouts["ab"].terms] == ["A"]
    assert list(lesion(circuit, ["A->B"]).projections) == ["B->C"]
    with pytest.raises(CompileError, match="every population"):
        lesion(circuit, ["exc"])  # a cell class names all its populations
    with pytest.raises(UnknownNameError, match="did you mean 'B->C'"):
        lesion(circuit, ["B-C"])


@pytest.mark.parametrize("name", shipped_circuit_names())
def test_every_shipped_circuit_compiles(name):
    circuit = load_circuit(name)
    net = compile_circuit(circuit)
    assert net.n_neurons == sum(int(circuit.resolve(p.size)) for p in circuit.populations.values())
    assert np.isfinite(net.weights.data).all() and (net.delays >= 1).all()


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    weights=st.lists(st.floats(0.0, 5.0), min_size=1, max_size=6),
    new_w=st.floats(0.0, 5.0),
    seed=st.integers(0, 2**31),
)
def test_random_circuits_apply_equals_recompile(sizes, weights, new_w, seed):
    rng = np.random.default_rng(seed)
    pops = {f"P{i}": {"size": n} for i, n in enumerate(sizes)}
    projections = {}
    for k, w in enumerate(weights):
        s, t = rng.integers(len(sizes), size=2)
        rule = [{"kind": "all_to_all"}, {"kind": "fixed_probability", "probability": 0.5, "seed": k}][k % 2]
        projections[f"p{k}"] = {
            "source": f"P{s}",
            "target": f"P{t}",
            "rule": rule,
            "weight": {"param": "w", "factor": w} if k % 3 == 0 else w,
            "weight_mode": ["per_synapse", "total"][k % 2],
        }
    circuit = make_circuit(pops, projections, parameters={"w": {"value": 1.0}})
    net = compile_circuit(circuit)
    assert np.array_equal(
        net.apply({"w": new_w}).weights_data, compile_circuit(circuit.with_parameter_values({"w": new_w})).weights.data
    )


def test_large_bernoulli_draws_use_geometric_gaps_with_the_law_of_a_coin_per_pair(monkeypatch):

    monkeypatch.setattr(compile_module, "CHOICE_PAIRS", 0)
    n, p = 300, 0.05
    pre, post = compile_module.bernoulli_pairs(np.random.default_rng(5), n, n, p, exclude_diagonal=True)
    assert pre.size == pytest.approx(n * (n - 1) * p, abs=4 * (n * (n - 1) * p) ** 0.5)
    assert not np.any(pre == post) and pre.min() >= 0 and max(pre.max(), post.max()) < n
    flat = pre * n + post
    assert np.all(np.diff(flat) > 0)  # distinct pairs, in order
    per_source = np.bincount(pre, minlength=n)  # uniform over sources: a chi-square well inside its 5 sigma range
    chi2 = float((((per_source - per_source.mean()) ** 2) / per_source.mean()).sum())
    assert abs(chi2 - (n - 1)) < 5 * (2 * (n - 1)) ** 0.5
    again = compile_module.bernoulli_pairs(np.random.default_rng(5), n, n, p, exclude_diagonal=True)
    assert np.array_equal(again[0], pre) and np.array_equal(again[1], post)


def test_a_circuit_too_large_to_compile_is_refused_before_anything_is_allocated():
    import time

    circuit = make_circuit(
        {"big": {"size": 60000}},
        {
            "rec": {
                "source": "big",
                "target": "big",
                "rule": {"kind": "fixed_probability", "probability": 0.07, "seed": 1},
                "weight": 0.1,
            }
        },
    )
    started = time.perf_counter()
    with pytest.raises(
        CompileError,
        match=r"compiling needs about 9\.\d+ GiB \(~25[12],\d{3},\d+ synapses.*limit is 1\.00 GiB.*ENCEPHAGEN_MEMORY_LIMIT",
    ):
        compile_circuit(circuit, memory_limit=1024**3)
    assert time.perf_counter() - started < 5.0


def test_compiling_peaks_below_forty_bytes_per_synapse(monkeypatch):
    import tracemalloc

    monkeypatch.setattr(compile_module, "CHOICE_PAIRS", 0)  # the O(synapses) draw of large populations
    rule = {"kind": "fixed_probability", "probability": 0.05, "seed": 3}
    circuit = make_circuit(
        {"E": {"size": 2000}, "I": {"size": 500, "cell_class": "inh"}},
        {
            "E->E": {"source": "E", "target": "E", "rule": rule, "weight": 0.1, "delay": 1.5},
            "E->I": {"source": "E", "target": "I", "rule": rule, "weight": 0.2},
            "I->E": {"source": "I", "target": "E", "rule": rule, "weight": -0.4, "delay": 0.7},
        },
    )
    compile_circuit(circuit)  # the builder's compiled helpers are loaded before measuring
    tracemalloc.start()
    try:
        net = compile_circuit(circuit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert net.n_synapses > 200_000
    assert (
        peak
        <= compile_module.COMPILE_BYTES_PER_SYNAPSE * net.n_synapses
        + compile_module.COMPILE_BYTES_PER_NEURON * net.n_neurons
    )
