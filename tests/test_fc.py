"""Simulated FC of the cortex: BOLD observables, batched lanes, and the fc objective's batching."""

from __future__ import annotations

import numpy as np
import pytest

from encephagen.errors import EncephagenError
from encephagen.fc import (
    FC_OPTIONS,
    FC_TARGETS,
    FCEvaluator,
    excitatory_input_matrix,
    region_activity,
    run_cortex,
)
from encephagen.hcp import AAL2_CORTICAL_80, build_hcp_cortex_circuit, default_data_path


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The cortex with 8 + 2 neurons per region (800 in all), dense enough to couple."""
    from encephagen.compiler import compile_circuit

    folder = tmp_path_factory.mktemp("small")
    circuit = build_hcp_cortex_circuit(default_data_path(), circuit_dir=folder, n_exc=8, n_inh=2)
    circuit = circuit.with_parameter_values({"p_long_range": 1.0})
    return circuit, folder, compile_circuit(circuit, dt=0.5, base_dir=folder)


def test_excitatory_input_matrix_sums_positive_weights_per_receiving_neuron(small):
    _, _, network = small
    dense = network.weights.toarray()
    slices = list(network.population_slices.values())
    expected = np.array([[np.clip(dense[p, q], 0, None).sum() / (p.stop - p.start) for q in slices] for p in slices])
    assert np.allclose(excitatory_input_matrix(network), expected)
    names = list(network.population_slices)
    e0, e1 = names.index(f"{AAL2_CORTICAL_80[0]}.E"), names.index(f"{AAL2_CORTICAL_80[1]}.E")
    doubled = excitatory_input_matrix(network, {"coupling": 2 * network.parameter_values()["coupling"]})
    assert (
        doubled[e0, e1] == pytest.approx(2 * expected[e0, e1]) and expected[e0, e1] > 0
    )  # long-range follows coupling
    assert doubled[e0, e0] == pytest.approx(expected[e0, e0])  # local does not


def test_lanes_are_independent_runs_and_observables_are_what_they_say(small):
    _, _, network = small
    both = run_cortex(network, 400.0, seeds=[3, 4])
    alone = run_cortex(network, 400.0, seeds=4)
    assert np.array_equal(both.lane(1).population_counts, alone.population_counts)
    assert not np.array_equal(both.lane(0).population_counts, alone.population_counts)
    regions = AAL2_CORTICAL_80[:3]
    traces = both.rate_traces_hz()
    index = {n: i for i, n in enumerate(both.population_names)}
    e, i = index[f"{regions[1]}.E"], index[f"{regions[1]}.I"]
    rate = region_activity(both, regions, observable="rate")
    assert rate.shape == (2, traces.shape[1], 3)
    assert np.allclose(rate[:, :, 1], (8 * traces[:, :, e] + 2 * traces[:, :, i]) / 10)
    synaptic = region_activity(both, regions, observable="synaptic", network=network)
    m = excitatory_input_matrix(network)
    assert np.allclose(synaptic[0, :, 1], traces[0] @ (8 * m[e] + 2 * m[i]) / 10)
    with pytest.raises(EncephagenError, match="needs the compiled network"):
        region_activity(both, regions, observable="synaptic")
    with pytest.raises(EncephagenError, match="observable must be one of"):
        region_activity(both, regions, observable="lfp")


@pytest.mark.slow
def test_fc_objective_scores_every_lane_as_if_run_alone(small):
    """Batching (candidate, seed) pairs into lanes must not change any loss."""
    circuit, folder, _ = small
    options = {**FC_OPTIONS, "duration_s": 7.5, "measure": "rate"}
    candidates = [{"coupling": 2.0}, {"coupling": 0.5}, {"coupling": 2.0}]
    one_by_one = FCEvaluator(circuit, FC_TARGETS, {**options, "lanes": 1}, base_dir=folder)(candidates, [5])
    batched = FCEvaluator(circuit, FC_TARGETS, {**options, "lanes": 2}, base_dir=folder)(candidates, [5])
    assert [[loss.terms for loss in row] for row in batched] == [[loss.terms for loss in row] for row in one_by_one]
    assert [len(row) for row in batched] == [1, 1, 1]
    assert batched[0][0].terms == batched[2][0].terms and batched[0][0].terms != batched[1][0].terms
