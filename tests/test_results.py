"""SimulationResult: rates, readouts, lanes, and an HDF5 round trip that keeps units and provenance."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
from conftest import make_circuit

from encephagen.compiler import compile_circuit
from encephagen.errors import SimulationError, UnknownNameError
from encephagen.results import SimulationResult
from encephagen.simulation import simulate


@pytest.fixture(scope="module")
def result():
    circuit = make_circuit(
        {"fast": {"size": 3, "drive": 20.0}, "slow": {"size": 2, "drive": 12.0}},
        neuron_models={"lif": {"tau_m": 10.0, "v_threshold": 10.0, "t_ref": 2.0, "noise_sigma": 0.3}},
        readouts={
            "fast_minus_slow": {
                "terms": [{"population": "fast"}, {"population": "slow", "coefficient": -1.0}],
                "tau": 10.0,
            }
        },
    )
    net = compile_circuit(circuit, dt=0.1)
    return simulate(net, 300.0, seeds=[4, 5], parameters=None, traces=["v:slow[1]", "w:fast"], bin_ms=5.0)


def test_rates_counts_and_spikes_agree(result):
    assert result.population_counts.shape == (2, 60, 2)
    rates = result.population_rates_hz()
    for lane in range(2):
        per_population = np.bincount(result.spike_neurons[lane], minlength=5)
        assert rates[lane, 0] == pytest.approx(per_population[:3].sum() / 3 / 0.3)
        assert rates[lane, 1] == pytest.approx(per_population[3:].sum() / 2 / 0.3)
    np.testing.assert_allclose(result.rate_traces_hz().mean(axis=1), rates)
    assert rates[0, 0] > rates[0, 1] > 0


def test_readout_is_the_filtered_difference_of_rates(result):
    readout = result.readout("fast_minus_slow")
    rates = result.rate_traces_hz()
    signal = rates[:, :, 0] - rates[:, :, 1]
    a = math.exp(-5.0 / 10.0)
    expected = np.zeros_like(signal)
    for k in range(signal.shape[1]):
        expected[:, k] = (a * expected[:, k - 1] if k else 0.0) + (1 - a) * signal[:, k]
    np.testing.assert_allclose(readout, expected, rtol=1e-12, atol=1e-9)
    with pytest.raises(UnknownNameError, match="did you mean 'fast_minus_slow'"):
        result.readout("fast_minus_slwo")


def test_lane_selects_one_lane(result):
    one = result.lane(1)
    assert one.seeds == [5] and one.n_lanes == 1
    np.testing.assert_array_equal(one.spike_times_ms[0], result.spike_times_ms[1])
    np.testing.assert_array_equal(one.traces[0], result.traces[1])
    assert result.trace_labels == ["v:slow[1]", "w:fast[0]", "w:fast[1]", "w:fast[2]"]
    np.testing.assert_allclose(result.trace_times_ms[:2], [0.1, 0.2])
    with pytest.raises(IndexError):
        result.lane(2)


def test_hdf5_round_trip_keeps_everything_with_units(result, tmp_path):
    path = result.save(tmp_path / "run.h5")
    loaded = SimulationResult.load(path)
    for name in (
        "dt",
        "duration_ms",
        "seeds",
        "population_names",
        "bin_ms",
        "trace_labels",
        "parameters",
        "provenance",
    ):
        assert getattr(loaded, name) == getattr(result, name), name
    for a, b in zip(loaded.spike_steps + loaded.spike_neurons, result.spike_steps + result.spike_neurons):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.population_counts, result.population_counts)
    np.testing.assert_array_equal(loaded.traces, result.traces)
    np.testing.assert_array_equal(loaded.readout("fast_minus_slow"), result.readout("fast_minus_slow"))
    with h5py.File(path) as h5:
        assert h5.attrs["dt_unit"] == "ms" and h5["traces"].attrs["unit"] == "mV"
        assert h5["population_counts"].attrs["unit"] == "spikes per bin"
    assert loaded.provenance["circuit"] == "test" and loaded.provenance["n_neurons"] == 5
    assert [p.name for p in tmp_path.iterdir()] == ["run.h5"]  # no temporary file left


def test_loading_something_else_fails_clearly(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5.attrs["format"] = "something"
    with pytest.raises(SimulationError, match="not an encephagen simulation result"):
        SimulationResult.load(other)
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(SimulationError, match="cannot open as HDF5"):
        SimulationResult.load(tmp_path / "text.h5")


def test_spike_times_need_recorded_spikes():
    net = compile_circuit(make_circuit({"a": {"drive": 20.0}}), dt=0.1)
    quiet = simulate(net, 50.0, record_spikes=False)
    assert quiet.population_counts.sum() > 0
    with pytest.raises(SimulationError, match="record_spikes=False"):
        quiet.spike_times_ms
