"""The simulator against analytic answers, and its promises: batched, chunked and seeded runs agree bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_circuit

from encephagen import _kernel
from encephagen.compiler import compile_circuit
from encephagen.errors import SimulationError, UnknownNameError
from encephagen.simulation import Simulator, exponential_input_gain, simulate

DT = 0.1


def lif(**fields):
    return {"lif": {"tau_m": 10.0, "v_threshold": 10.0, "t_ref": 2.0, **fields}}


def test_constant_drive_rate_matches_the_analytic_lif_rate():
    drives = [11.0, 13.0, 16.0, 25.0]
    circuit = make_circuit({f"p{k}": {"drive": d} for k, d in enumerate(drives)}, neuron_models=lif())
    # crossing times are rounded up to whole steps: the error is below dt / ISI (0.3 % here)
    result = simulate(compile_circuit(circuit, dt=0.02), 2000.0, seeds=0)
    for k, drive in enumerate(drives):
        times = result.spike_times_ms[0][result.spike_neurons[0] == k]
        measured = 1000.0 / np.mean(np.diff(times))
        analytic = 1000.0 / (2.0 + 10.0 * math.log(drive / (drive - 10.0)))
        assert measured == pytest.approx(analytic, rel=0.01), (drive, measured, analytic)


def test_analytic_rate_range_at_the_default_step():
    """The range the docs state (encephagen.simulation): at dt 0.1 ms the rate of a neuron under constant
    drive is within 1 % of the analytic LIF rate up to 110 Hz, and above that within rate x dt (each
    interval is rounded up to whole steps: a crossing is detected at the end of its step)."""
    rates = np.arange(5.0, 300.0, 2.3)
    drives = 10.0 / (1.0 - np.exp(-(1000.0 / rates - 2.0) / 10.0))  # inverse of the analytic rate
    circuit = make_circuit({f"p{k}": {"drive": float(d)} for k, d in enumerate(drives)}, neuron_models=lif())
    result = simulate(compile_circuit(circuit, dt=DT), 3000.0, seeds=0)
    errors = []
    for k, rate in enumerate(rates):
        times = result.spike_times_ms[0][result.spike_neurons[0] == k]
        errors.append(abs(1000.0 / np.mean(np.diff(times)) - rate) / rate)
    errors = np.array(errors)
    assert errors[rates <= 110.0].max() <= 0.01, errors[rates <= 110.0].max()
    assert np.all(errors <= rates * DT / 1000.0 + 1e-9)
    assert errors[rates >= 150.0].max() > 0.01  # the range is a real limit, not a loose statement


def psp_circuit(weight: float, source: str = "exc"):
    return make_circuit(
        {"A": {"initial_v": 100.0, "cell_class": source}, "B": {}},
        {"A->B": {"source": "A", "target": "B", "rule": {"kind": "all_to_all"}, "weight": weight, "delay": 1.0}},
        neuron_models=lif(tau_syn_exc=5.0, tau_syn_inh=3.0, v_threshold=50.0),
    )


@pytest.mark.parametrize("weight, source, tau_syn", [(2.0, "exc", 5.0), (-1.5, "inh", 3.0)])
def test_postsynaptic_potential_matches_the_hand_computed_curve(weight, source, tau_syn):
    net = compile_circuit(psp_circuit(weight, source), dt=DT)
    result = simulate(net, 30.0, traces=["v:B", "I_exc:B", "I_inh:B"])
    assert result.spike_steps[0].tolist() == [0] and result.spike_neurons[0].tolist() == [0]
    delay = 10  # 1 ms: the spike of step 0 enters B's current at the start of step 10
    t = np.arange(result.traces.shape[1])
    s = (t + 1 - delay) * DT  # time since the current jumped, at the end of step t
    expected = np.where(
        t >= delay, weight * tau_syn / (tau_syn - 10.0) * (np.exp(-s / tau_syn) - np.exp(-s / 10.0)), 0.0
    )
    np.testing.assert_allclose(result.trace("v:B[0]")[0], expected, rtol=1e-12, atol=1e-14)
    current = result.trace("I_exc:B[0]" if weight > 0 else "I_inh:B[0]")[0]
    np.testing.assert_allclose(
        current, np.where(t >= delay, weight * np.exp(-s / tau_syn), 0.0), rtol=1e-12, atol=1e-14
    )


def test_adaptation_current_and_its_effect_on_v_match_the_hand_computed_curves():
    b, tau_w, drive = 3.0, 50.0, 6.0
    circuit = make_circuit(
        {"A": {"initial_v": 100.0, "drive": drive}}, neuron_models=lif(adaptation=b, tau_adaptation=tau_w)
    )
    result = simulate(compile_circuit(circuit, dt=DT), 60.0, traces=["v", "w"])
    assert result.spike_steps[0].tolist() == [0]
    t = np.arange(result.traces.shape[1])
    np.testing.assert_allclose(result.trace("w:A[0]")[0], b * np.exp(-t * DT / tau_w), rtol=1e-12)
    n_ref = 20  # t_ref 2 ms: v is held at v_reset = 0 during steps 1..20
    w0 = b * math.exp(-n_ref * DT / tau_w)  # w when integration resumes
    s = (t - n_ref) * DT
    free = drive * (1 - np.exp(-s / 10.0)) - w0 * tau_w / (tau_w - 10.0) * (np.exp(-s / tau_w) - np.exp(-s / 10.0))
    np.testing.assert_allclose(result.trace("v:A[0]")[0], np.where(t > n_ref, free, 0.0), rtol=1e-11, atol=1e-13)


def test_input_gain_has_the_equal_time_constant_limit():
    tau_m = np.array([10.0, 10.0, 10.0])
    gains = exponential_input_gain(np.array([10.0, 10.0 * (1 + 1e-10), 10.0 * (1 + 1e-6)]), tau_m, DT)
    limit = DT / 10.0 * math.exp(-DT / 10.0)
    assert gains[0] == pytest.approx(limit, rel=1e-15)
    assert gains[1] == pytest.approx(limit, rel=1e-9)  # no cancellation near the limit
    assert gains[2] == pytest.approx(limit, rel=1e-6)


def noisy_circuit():
    """Two mutually inhibiting groups and a Poisson-kicked one: noise, random initial v, adaptation, delays."""
    model = {
        "tau_m": 12.0,
        "v_threshold": 8.0,
        "v_reset": 4.0,
        "t_ref": 1.0,
        "tau_syn_inh": 7.0,
        "noise_sigma": 0.5,
        "adaptation": {"param": "adaptation"},
        "tau_adaptation": 100.0,
    }
    parameters = {
        "drive_flex": {"value": 15.0, "unit": "mV"},
        "adaptation": {"value": 2.0, "unit": "mV"},
        "w_mutual": {"value": -2.0, "unit": "mV"},
    }
    initial = {"uniform": [0.0, 5.0]}
    return make_circuit(
        {
            "flex": {"size": 5, "drive": {"param": "drive_flex"}, "initial_v": initial},
            "ext": {"size": 5, "drive": 13.0, "initial_v": initial},
            "flex_inh": {"size": 3, "cell_class": "inh", "drive": 9.0},
            "kicked": {"size": 4, "poisson_input": {"rate": 800.0, "weight": 2.0, "sources": 2}},
        },
        {
            "flex->flex": {
                "source": "flex",
                "target": "flex",
                "rule": {"kind": "all_to_all"},
                "weight": 0.3,
                "weight_mode": "total",
            },
            "flex->flex_inh": {
                "source": "flex",
                "target": "flex_inh",
                "rule": {"kind": "all_to_all"},
                "weight": 1.0,
                "delay": 0.5,
            },
            "flex_inh->ext": {
                "source": "flex_inh",
                "target": "ext",
                "rule": {"kind": "all_to_all"},
                "weight": {"param": "w_mutual"},
            },
            "ext->kicked": {
                "source": "ext",
                "target": "kicked",
                "rule": {"kind": "all_to_all"},
                "weight": 0.5,
                "delay": 2.0,
            },
        },
        neuron_models={"lif": model},
        parameters=parameters,
        readouts={
            "flex_minus_ext": {
                "terms": [{"population": "flex"}, {"population": "ext", "coefficient": -1.0}],
                "tau": 20.0,
            }
        },
    )


@pytest.fixture(scope="module")
def noisy_network():
    return compile_circuit(noisy_circuit(), dt=DT)


def assert_same_run(a, b):
    assert a.seeds == b.seeds
    for x, y in zip(a.spike_steps, b.spike_steps):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(a.spike_neurons, b.spike_neurons):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.population_counts, b.population_counts)
    np.testing.assert_array_equal(a.traces, b.traces)


def test_each_batched_lane_is_bit_identical_to_the_same_run_alone(noisy_network):
    sets = [{"drive_flex": 15.0}, {"drive_flex": 18.0, "adaptation": 1.0}, {"w_mutual": -4.0}]
    seeds = [3, 4, 5]
    batched = simulate(noisy_network, 400.0, seeds=seeds, parameters=sets, traces=["v:flex[1]", "I_exc:kicked"])
    assert batched.n_lanes == 3 and sum(len(s) for s in batched.spike_steps) > 100
    for i in range(3):
        alone = simulate(
            noisy_network, 400.0, seeds=seeds[i], parameters=[sets[i]], traces=["v:flex[1]", "I_exc:kicked"]
        )
        assert_same_run(batched.lane(i), alone)
    assert not np.array_equal(batched.spike_steps[0], batched.spike_steps[1])


@pytest.mark.slow  # compiles the parallel kernel on a machine's first run
def test_lanes_on_parallel_threads_are_bit_identical_to_serial_lanes(noisy_network, monkeypatch):
    serial = simulate(noisy_network, 300.0, seeds=[1, 2, 3], traces=["v:ext[0]"])
    monkeypatch.setattr("encephagen.simulation.PARALLEL_WORK", 0)
    parallel = simulate(noisy_network, 300.0, seeds=[1, 2, 3], traces=["v:ext[0]"])
    assert_same_run(parallel, serial)


def test_chunked_run_is_bit_identical_to_one_long_run(noisy_network):
    whole = simulate(noisy_network, 500.0, seeds=[11, 12], bin_ms=1.0, traces=["v:kicked[0]", "w:ext[2]"])
    sim = Simulator(noisy_network, seeds=[11, 12], bin_ms=1.0, traces=["v:kicked[0]", "w:ext[2]"])
    chunk_counts = []
    for n in (137, 1, 0, 2000, 2862):
        chunk_counts.append(sim.advance(n))
        sim.readout_values()  # filtering as we go must give what filtering at the end gives
    assert sim.step == 5000
    assert_same_run(sim.result(), whole)
    np.testing.assert_array_equal(sum(chunk_counts), whole.population_counts.sum(axis=1))
    readout = whole.readout("flex_minus_ext")
    np.testing.assert_allclose(sim.readout_values()["flex_minus_ext"], readout[:, -1], rtol=1e-12)


def test_same_seed_same_spikes_and_another_seed_other_spikes(noisy_network):
    a, b = simulate(noisy_network, 300.0, seeds=21), simulate(noisy_network, 300.0, seeds=21)
    assert_same_run(a, b)
    c = simulate(noisy_network, 300.0, seeds=22)
    assert not np.array_equal(a.spike_steps[0], c.spike_steps[0])


def test_spike_buffer_growth_keeps_every_spike(noisy_network):
    sim = Simulator(noisy_network, seeds=[1])
    sim._capacity = 0  # a full buffer at once: it must grow and lose nothing
    sim._spike_step = sim._spike_step[:, :0]
    sim._spike_neuron = sim._spike_neuron[:, :0]
    sim.advance(1500)
    assert_same_run(sim.result(), simulate(noisy_network, 150.0, seeds=1))


def test_noise_sigma_is_the_stationary_sd_of_the_free_membrane_potential():
    circuit = make_circuit({"P": {"size": 400}}, neuron_models=lif(v_threshold=1e6, noise_sigma=2.0))
    for dt in (0.1, 0.5):
        v = simulate(compile_circuit(circuit, dt=dt), 400.0, seeds=5, traces=["v"]).traces[0]
        settled = v[int(100 / dt) :]
        assert settled.std() == pytest.approx(2.0, rel=0.03)
        assert abs(settled.mean()) < 0.1  # 4 standard errors


def test_counter_based_normals_are_standard_normal():
    from scipy import stats

    keys = _kernel.stream_keys(np.array([3], dtype=np.uint64))[0]
    z = np.array([_kernel.normal(keys[1], keys[2], step, index) for step in range(400) for index in range(250)])
    assert abs(z.mean()) < 4 / math.sqrt(z.size) and abs(z.var() - 1) < 4 * math.sqrt(2 / z.size)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert np.mean(np.abs(z) > 3) == pytest.approx(2 * stats.norm.sf(3), rel=0.25)  # the tails are there


@pytest.mark.parametrize("mean", [0.0875, 2.5, 30.0])
def test_poisson_counts_have_poisson_mean_and_variance(mean):
    keys = _kernel.stream_keys(np.array([7], dtype=np.uint64))[0]
    n = 60000
    counts = np.array([_kernel.poisson_count(keys[3], keys[4], step, 0, mean, math.exp(-mean)) for step in range(n)])
    assert abs(counts.mean() - mean) < 4 * math.sqrt(mean / n)  # 4 standard errors
    assert abs(counts.var() - mean) < 4 * math.sqrt((mean + 2 * mean**2) / n)


@pytest.mark.parametrize("rate", [7500.0, 40000.0, 150000.0])  # tabulated, tabulated tail, PTRS (mean >= 10)
def test_poisson_input_gives_the_mean_current_it_should(rate):
    circuit = make_circuit(
        {"P": {"size": 200, "poisson_input": {"rate": rate, "weight": 0.5}}},
        neuron_models=lif(v_threshold=1e9, tau_syn_exc=2.0),
    )
    current = simulate(compile_circuit(circuit, dt=DT), 150.0, seeds=2, traces=["I_exc"]).traces[0, 500:]
    decay = math.exp(-DT / 2.0)
    # arrivals are added before the step's decay, traces are taken after it
    assert current.mean() == pytest.approx(decay * rate * DT / 1000 * 0.5 / (1 - decay), rel=0.01)


@pytest.mark.parametrize("rate", [7500.0, 150000.0])  # tabulated; PTRS (mean >= 10)
def test_current_noise_does_not_change_the_poisson_input(rate):
    """A neuron whose noise draw is redone (the ziggurat's rejected ~1 %) keeps its Poisson count:
    with noise on, the mean current is the Poisson input's alone (once it was ~5x: the count was
    redrawn as if beyond the table)."""
    circuit = make_circuit(
        {"P": {"size": 200, "poisson_input": {"rate": rate, "weight": 0.5}}},
        neuron_models=lif(v_threshold=1e9, tau_syn_exc=2.0, noise_sigma=1e-6),
    )
    current = simulate(compile_circuit(circuit, dt=DT), 150.0, seeds=2, traces=["I_exc"]).traces[0, 500:]
    decay = math.exp(-DT / 2.0)
    assert current.mean() == pytest.approx(decay * rate * DT / 1000 * 0.5 / (1 - decay), rel=0.01)


def test_extra_current_and_poisson_rate_in_advance_raise_activity():
    circuit = make_circuit({"P": {"size": 20}}, neuron_models=lif())
    net = compile_circuit(circuit, dt=DT)
    sim = Simulator(net, seeds=[0, 0])
    assert sim.advance(1000).sum() == 0
    counts = sim.advance(2000, current=np.array([[0.0] * 20, [15.0] * 20]))
    assert counts[0, 0] == 0 and counts[1, 0] > 100
    kicked = sim.advance(2000, poisson_rate=np.full((2, 20), 2000.0))  # +1 mV kicks (poisson_weight is 0)
    assert kicked[0, 0] > 0


def test_non_finite_state_stops_the_run_naming_population_neuron_and_time():
    circuit = make_circuit(
        {"A": {"size": 3, "initial_v": 100.0}, "B": {"size": 2}},
        {"A->B": {"source": "A", "target": "B", "rule": {"kind": "all_to_all"}, "weight": 1e308}},
        neuron_models=lif(),
    )
    with pytest.raises(
        SimulationError, match=r"t = 0\.1 ms \(step 1\) in lane 0 \(seed 9\): neuron 3 \(B\[0\]\) has v = (inf|nan)"
    ):
        simulate(compile_circuit(circuit, dt=DT), 10.0, seeds=9)


def test_a_run_that_does_not_fit_is_refused_before_allocation(monkeypatch, noisy_network):
    with pytest.raises(SimulationError, match=r"needs about .* but the limit is .*memory_limit argument"):
        simulate(noisy_network, 100.0, memory_limit=10_000)
    monkeypatch.setenv("ENCEPHAGEN_MEMORY_LIMIT", "2K")
    with pytest.raises(SimulationError, match="ENCEPHAGEN_MEMORY_LIMIT"):
        Simulator(noisy_network, seeds=[0])


def test_bad_requests_are_refused_with_the_fix(noisy_network):
    with pytest.raises(UnknownNameError, match="did you mean 'v'"):
        simulate(noisy_network, 1.0, traces=["vv"])
    with pytest.raises(UnknownNameError, match="did you mean 'flex_inh'"):
        simulate(noisy_network, 1.0, traces=["v:flex_ihn"])
    with pytest.raises(SimulationError, match="multiple of dt"):
        simulate(noisy_network, 1.0, bin_ms=0.15)
    with pytest.raises(SimulationError, match="2 seeds for 3 parameter sets"):
        simulate(noisy_network, 1.0, seeds=[1, 2], parameters=[{}, {}, {}])
    bad = noisy_network.neuron["tau_m"].copy()
    noisy_network.neuron["tau_m"][0] = -1.0
    try:
        with pytest.raises(SimulationError, match="'flex': tau_m must be > 0"):
            simulate(noisy_network, 1.0)
    finally:
        noisy_network.neuron["tau_m"][:] = bad


def test_simulate_command_reports_json_and_writes_the_run_and_figure(tmp_path, noisy_network):
    import json

    from click.testing import CliRunner

    from encephagen.cli.main import cli
    from encephagen.results import SimulationResult
    from encephagen.storage import save_circuit

    path = save_circuit(noisy_circuit(), tmp_path / "noisy.json")
    args = [
        "simulate",
        str(path),
        "--duration-ms",
        "200",
        "--seed",
        "3",
        "--out",
        str(tmp_path / "run.h5"),
        "--plot",
        str(tmp_path / "raster.png"),
        "--trace",
        "v:flex[0]",
        "--json",
    ]
    run = CliRunner().invoke(cli, args)
    assert run.exit_code == 0, run.output
    report = json.loads(run.output)
    assert (report["neurons"], report["synapses"], report["steps"]) == (17, noisy_network.n_synapses, 2000)
    expected = simulate(noisy_network, 200.0, seeds=3).population_rates_hz()[0]
    assert list(report["rates_hz"].values()) == pytest.approx(expected.tolist())
    assert SimulationResult.load(tmp_path / "run.h5").trace_labels == ["v:flex[0]"]
    assert (tmp_path / "raster.png").read_bytes()[:4] == b"\x89PNG"
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "already exists" in again.output
