"""Delivery at arrival: the kernel sums each neuron's inputs in exactly the order of a dense delay
ring (oldest spike first, then source, then synapse), whatever the queue size or thread split."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from conftest import make_circuit

import encephagen.simulation as simulate_module
from encephagen.compiler import compile_circuit
from encephagen.simulation import Simulator, coefficients, delivery_view


def delayed_circuit():
    """Recurrent excitation and inhibition with several delays per neuron, repeated pairs and
    autapses: every ordering question of delivery arises."""
    pops = {
        "E": {"size": 40, "drive": 10.5, "initial_v": {"uniform": [0.0, 9.5]}},
        "I": {"size": 17, "cell_class": "inh", "drive": 9.0, "initial_v": {"uniform": [0.0, 9.0]}},
        "X": {"size": 11, "drive": 12.0, "initial_v": {"uniform": [0.0, 9.9]}},
    }
    rule = lambda p, seed, autapses=True: {
        "kind": "fixed_probability",
        "probability": p,
        "seed": seed,
        "autapses": autapses,
    }
    projections = {
        "E->E": {"source": "E", "target": "E", "rule": rule(0.2, 1), "weight": 0.7, "delay": 1.5},
        "E->E_slow": {"source": "E", "target": "E", "rule": rule(0.2, 2), "weight": 0.3, "delay": 4.2},
        "E->I": {"source": "E", "target": "I", "rule": rule(0.3, 3), "weight": 0.9, "delay": 0.1},
        "I->E": {"source": "I", "target": "E", "rule": rule(0.4, 4), "weight": -1.3, "delay": 0.8},
        "I->E_again": {"source": "I", "target": "E", "rule": rule(0.4, 4), "weight": -0.1, "delay": 0.8},
        "X->E": {"source": "X", "target": "E", "rule": {"kind": "all_to_all"}, "weight": 0.11, "delay": 2.0},
        "X->I": {"source": "X", "target": "I", "rule": rule(0.5, 5), "weight": 0.2, "delay": 6.0},
    }
    models = {
        "lif": {
            "tau_m": 10.0,
            "v_threshold": 10.0,
            "t_ref": 1.0,
            "tau_syn_exc": 3.0,
            "tau_syn_inh": 6.0,
            "adaptation": 0.05,
            "tau_adaptation": 80.0,
        }
    }
    return make_circuit(pops, projections, neuron_models=models)


def dense_ring_reference(net, seed: int, n_steps: int):
    """Today's arithmetic written plainly: a [2, delay slots, neurons] ring filled at emission in
    spike order; returns (spike steps, spike neurons, v, I_exc, I_inh, w)."""
    sim = Simulator(net, seeds=seed)
    v = sim._v[0].copy()
    n = v.size
    coef, kind = coefficients(net, {k: np.asarray(x, float)[None, :] for k, x in net.neuron.items()}, net.dt)
    c = coef[kind[0]].T
    p_v, v_base, c_exc, c_inh, c_w, p_exc, p_inh, p_w = (c[k] for k in range(8))
    threshold, reset, adaptation, n_ref = c[9], c[10], c[11], c[14].astype(int)
    w_csr = net.weights
    order = np.argsort(w_csr.indices, kind="stable")
    rows = np.repeat(np.arange(n), np.diff(w_csr.indptr))[order]
    pre, weight, delay = w_csr.indices[order], w_csr.data[order], np.asarray(net.delays)[order]
    pre_ptr = np.searchsorted(pre, np.arange(n + 1))  # neuron i's synapses: [pre_ptr[i], pre_ptr[i + 1])
    depth = int(delay.max()) + 1
    ring = np.zeros((2, depth, n))
    i_exc, i_inh, w, refractory = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, int)
    steps, neurons = [], []
    for t in range(n_steps):
        slot = t % depth
        ie, ii = i_exc + ring[0, slot], i_inh + ring[1, slot]
        ring[:, slot] = 0.0
        v_new = v_base + (v - v_base) * p_v + c_exc * ie + c_inh * ii - c_w * w
        propagated = refractory == 0
        v = np.where(propagated, v_new, v)
        refractory = np.where(propagated, refractory, refractory - 1)
        spike = propagated & (v >= threshold)
        i_exc, i_inh, w = ie * p_exc, ii * p_inh, w * p_w
        for i in np.flatnonzero(spike):
            steps.append(t)
            neurons.append(i)
            v[i], refractory[i] = reset[i], n_ref[i]
            w[i] += adaptation[i]
            for k in range(pre_ptr[i], pre_ptr[i + 1]):
                ring[0 if weight[k] >= 0 else 1, (slot + delay[k]) % depth, rows[k]] += weight[k]
    return np.array(steps, dtype=np.int64), np.array(neurons, dtype=np.int32), v, i_exc, i_inh, w


def run(net, seed, n_steps, chunks=(None,)):
    sim = Simulator(net, seeds=seed)
    done = 0
    for chunk in chunks:
        step = n_steps - done if chunk is None else chunk
        sim.advance(step)
        done += step
    result = sim.result()
    return result.spike_steps[0], result.spike_neurons[0], sim._v[0], sim._i_exc[0], sim._i_inh[0], sim._w[0]


def assert_identical(a, b):
    for x, y in zip(a, b):
        assert x.shape == y.shape and np.array_equal(np.asarray(x).view(np.uint8), np.asarray(y).view(np.uint8))


@pytest.fixture(scope="module")
def network():
    return compile_circuit(delayed_circuit(), dt=0.1)


@pytest.mark.parametrize("ring_bytes", [0, simulate_module.RING_BYTES])
def test_delivery_at_arrival_is_bit_identical_to_a_dense_delay_ring(network, monkeypatch, ring_bytes):
    """Both ways a serial lane delivers: the spike queue summed at arrival (RING_BYTES 0) and, for a
    small network, the delay ring summed at queueing."""
    monkeypatch.setattr(simulate_module, "RING_BYTES", ring_bytes)
    assert Simulator(network, seeds=3)._ring == (ring_bytes > 0)
    assert np.unique(network.delays).size >= 5
    reference = dense_ring_reference(network, 3, 3000)
    assert reference[0].size > 300  # active: spikes of several delays arrive together
    assert_identical(run(network, 3, 3000), reference)


def test_the_delay_ring_in_a_batch_and_in_chunks_equals_the_queue(network, monkeypatch):
    """Each lane of a batch has its own slots of the ring (lane 2's start at 2 x depth): every lane,
    run in uneven chunks, equals the same seed run alone through the spike queue."""
    seeds = [6, 7, 8]
    batch = Simulator(network, seeds=seeds)
    assert batch._ring and batch._acc.shape[0] == len(seeds) * (delivery_view(network).max_delay + 1)
    for chunk in (1, 7, 500, 3, 1489):
        batch.advance(chunk)
    result = batch.result()
    monkeypatch.setattr(simulate_module, "RING_BYTES", 0)
    for lane, seed in enumerate(seeds):
        state = (batch._v[lane], batch._i_exc[lane], batch._i_inh[lane], batch._w[lane])
        assert_identical((result.spike_steps[lane], result.spike_neurons[lane], *state), run(network, seed, 2000))


def test_a_queue_that_must_grow_and_uneven_chunks_change_nothing(network, monkeypatch):
    monkeypatch.setattr(simulate_module, "RING_BYTES", 0)  # the spike queue, not the small network's delay ring
    reference = run(network, 4, 2000)
    monkeypatch.setattr(
        simulate_module, "queue_capacity", lambda net, view: 3
    )  # rounded up to a power of two, then grown
    assert_identical(run(network, 4, 2000, chunks=(1, 7, 500, 3, None)), reference)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_splitting_a_lane_over_threads_by_target_range_changes_nothing(network, monkeypatch):
    reference = run(network, 5, 2000)
    monkeypatch.setattr(simulate_module, "WIDE_NEURONS", 1)
    monkeypatch.setattr(simulate_module, "WIDE_PROBE_STEPS", 0)  # split, unmeasured
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        sim = Simulator(network, seeds=5)
        assert sim._kernel_for(10)[0] is simulate_module._kernel.advance_wide
        assert_identical(run(network, 5, 2000, chunks=(13, None)), reference)
    finally:
        numba.set_num_threads(previous)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_a_lane_is_split_over_threads_only_while_that_was_measured_faster(network, monkeypatch):
    """A simulator times its first steps on one thread and split (twice each) and keeps the faster way
    for WIDE_PROBE_SECONDS; the numbers are the same whichever ran. Here the kernels advance a fake
    clock by a cost per step."""
    reference = run(network, 5, 600)
    clock = {"now": 0.0, "serial": 1.0, "wide": 2.0}
    used = []

    def timed(kind, kernel):
        def call(next_step, t_stop, *rest):
            used.append(kind)
            clock["now"] += clock[kind] * (t_stop - int(next_step.min()))
            return kernel(next_step, t_stop, *rest)

        return call

    monkeypatch.setattr(simulate_module._kernel, "advance", timed("serial", simulate_module._kernel.advance))
    monkeypatch.setattr(simulate_module._kernel, "advance_wide", timed("wide", simulate_module._kernel.advance_wide))
    monkeypatch.setattr(simulate_module.time, "perf_counter", lambda: clock["now"])
    monkeypatch.setattr(simulate_module.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(simulate_module, "WIDE_NEURONS", 1)
    probe = simulate_module.WIDE_PROBE_STEPS
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        sim = Simulator(network, seeds=5)
        sim.advance(200)  # 4 x 16 steps timed (16, 32, 16, 32 s), then the rest on one thread
        assert used[:4] == ["serial", "wide", "serial", "wide"] and set(used[4:]) == {"serial"}
        assert sim._wide_choice == (False, 6.0 * probe)
        used.clear()
        sim.advance(4 * probe)  # too short to time again: the choice stands
        assert set(used) == {"serial"}
        clock.update(serial=3.0, now=clock["now"] + simulate_module.WIDE_PROBE_SECONDS)  # later, a busier core
        used.clear()
        sim.advance(600 - 200 - 4 * probe)
        assert used[:4] == ["serial", "wide", "serial", "wide"] and set(used[4:]) == {"wide"}
        assert sim._wide_choice[0]
        result = sim.result()
        state = (sim._v[0], sim._i_exc[0], sim._i_inh[0], sim._w[0])
        assert_identical((result.spike_steps[0], result.spike_neurons[0], *state), reference)
    finally:
        numba.set_num_threads(previous)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_the_wide_lanes_poisson_draw_equals_the_serial_lanes(monkeypatch):
    """The wide build of the lane draws each range's Poisson counts tile by tile, from tile offsets
    that are not the serial build's: the same counts, table, short table and exact continuation alike."""
    dt = 0.1
    pops = {
        name: {"size": 67, "poisson_input": {"rate": mean / dt * 1000.0, "weight": 1.0}, "drive": 5.0}
        for name, mean in {"rare": 0.05, "cortex": 0.75, "busy": 3.0, "exact": 12.0}.items()
    }
    network = compile_circuit(make_circuit(pops), dt=dt)
    reference = run(network, 9, 400)
    monkeypatch.setattr(simulate_module, "WIDE_NEURONS", 1)
    monkeypatch.setattr(simulate_module, "WIDE_PROBE_STEPS", 0)  # split, unmeasured
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        assert Simulator(network, seeds=9)._kernel_for(10)[0] is simulate_module._kernel.advance_wide
        assert_identical(run(network, 9, 400), reference)
    finally:
        numba.set_num_threads(previous)


def test_the_delivery_view_is_built_once_per_network_and_groups_each_neurons_synapses_by_delay(network):
    view = delivery_view(network)
    assert delivery_view(network) is view
    delays = np.asarray(network.delays)[view.order]
    pre = network.weights.indices[view.order]
    assert np.all(np.diff(pre) >= 0)
    for j in range(network.n_neurons):
        for g in range(view.group_ptr[j], view.group_ptr[j + 1]):
            a, b = view.group_syn[g], view.group_syn[g + 1]
            assert np.all(pre[a:b] == j) and np.all(delays[a:b] == view.delay_values[view.group_rank[g]])
            assert np.all(np.diff(view.post[a:b]) >= 0)  # by target within a group: threads split it by range
        if view.group_ptr[j + 1] > view.group_ptr[j]:
            first, last = view.group_syn[view.group_ptr[j]], view.group_syn[view.group_ptr[j + 1]]
            assert np.all(np.diff(delays[first:last]) >= 0)


def test_poisson_counts_are_the_whole_tables_inverted_cdf_of_each_neurons_uniform():
    """The vectorised draw compares 32-bit integer thresholds, and only four table entries where a
    count rarely reaches 4; the counts must still be those of the whole table and its exact
    continuation for the uniform of (lane, step, neuron), including the counts beyond the entries
    compared. Odd population sizes make runs start inside a pair of neurons that share a hash."""
    dt = 0.1
    means = {"rare": 0.05, "cortex": 0.75, "busy": 3.0}  # four, four and eight entries compared
    pops = {
        name: {"size": 67, "poisson_input": {"rate": mean / dt * 1000.0, "weight": 1.0}, "drive": -50.0}
        for name, mean in means.items()
    }
    network = compile_circuit(make_circuit(pops), dt=dt)
    sim = Simulator(network, seeds=11)
    key = sim._keys[0, simulate_module._kernel.STREAM_POISSON]
    coef = sim._coef[sim._kind[0]]
    cdf = coef[:, simulate_module._kernel.POISSON_CDF : simulate_module._kernel.POISSON_CDF + 8]
    last_p = coef[:, simulate_module._kernel.POISSON_LAST_P]
    mean = coef[:, simulate_module._kernel.POISSON_MEAN]
    p_exc = coef[:, simulate_module._kernel.P_EXC]
    beyond_four = beyond_eight = 0
    for t in range(300):
        sim._i_exc[:] = 0.0
        sim.advance(1)
        counts = np.rint(sim._i_exc[0] / p_exc)
        for i in range(network.n_neurons):
            u = simulate_module._kernel.poisson_uniform(key, t, i)
            half = (int(simulate_module._kernel.random_u64(key, t, i // 2)) >> (32 * (i % 2))) & 0xFFFFFFFF
            assert u == half / 2.0**32  # neuron i's half of its pair's hash
            k = int(np.sum(u > cdf[i]))
            if k == 8:  # the table's exact continuation, as it was computed
                k, p, c = 7, last_p[i], cdf[i, 7]
                while u > c and p > 0.0:
                    k += 1
                    p = p * (mean[i] / k)
                    c += p
            beyond_four += k >= 4 and cdf[i, 3] >= 1.0 - simulate_module._kernel.SHORT_TABLE_TAIL
            beyond_eight += k >= 8
            assert counts[i] == k, (t, i, u, counts[i], k)
    assert beyond_four > 20 and beyond_eight > 20  # both continuations were exercised


@pytest.mark.parametrize("block_synapses, threads", [(1, 1), (16, 1), (16, 3), (65536, 1), (65536, 2)])
def test_the_delivery_view_sorts_by_source_then_delay_then_csr_position_whatever_the_block_size(
    network, block_synapses, threads
):
    w = network.weights
    delays = np.asarray(network.delays, dtype=np.int32)
    rank_of_delay = np.full(int(delays.max()) + 1, -1, dtype=np.int32)
    rank_of_delay[np.unique(delays)] = np.arange(np.unique(delays).size, dtype=np.int32)
    order, post, weight, group_ptr, group_syn, group_rank = simulate_module._kernel.delivery_view(
        network.n_neurons,
        np.asarray(w.indptr, dtype=np.int64),
        np.asarray(w.indices, dtype=np.int32),
        delays,
        rank_of_delay,
        np.asarray(w.data, dtype=float),
        block_synapses,
        threads,  # rows split in that many ranges, on as many of numba's threads as there are
    )
    expected = np.lexsort((np.arange(w.nnz), delays, w.indices))
    rows = np.repeat(np.arange(network.n_neurons), np.diff(w.indptr))
    assert np.array_equal(order, expected)
    assert np.array_equal(post, rows[expected]) and np.array_equal(weight, w.data[expected])
    view = delivery_view(network)
    for got, want in ((group_ptr, view.group_ptr), (group_syn, view.group_syn), (group_rank, view.group_rank)):
        assert np.array_equal(got, want)


def test_simulators_without_parameters_share_the_views_weights_and_see_weights_edited_in_place(network):
    first = Simulator(network, seeds=1)
    second = Simulator(network, seeds=2)
    assert np.shares_memory(first._weight, second._weight)
    assert np.array_equal(second._weight[0], network.weights.data[delivery_view(network).order])
    batch = Simulator(network, seeds=[1, 2], parameters=[{}, {}])
    assert np.array_equal(batch._weight, np.tile(first._weight, (2, 1)))
    original = network.weights.data.copy()
    try:
        network.weights.data *= 2.0
        edited = Simulator(network, seeds=1)
        assert np.array_equal(edited._weight[0], network.weights.data[delivery_view(network).order])
    finally:
        network.weights.data[:] = original


def test_the_noise_draw_is_each_neurons_counter_based_normal_bit_for_bit(monkeypatch):
    """The lanes' written-out ziggurat (hashes by stream position, each uniform built from its bits)
    gives neuron i at step t exactly ``_kernel.normal(key_a, key_b, t, i)``: v written out plainly
    with those draws equals the kernel's v bit for bit, ~1 % rejected draws included, on the serial
    lane and on a lane split over threads."""
    from encephagen import _kernel

    circuit = make_circuit(
        {"P": {"size": 203, "drive": 4.0, "initial_v": {"uniform": [0.0, 5.0]}}},
        neuron_models={"lif": {"tau_m": 10.0, "v_threshold": 1e9, "noise_sigma": 2.0}},
    )
    net = compile_circuit(circuit, dt=0.25)
    coef, kind = coefficients(net, {k: np.asarray(x, float)[None, :] for k, x in net.neuron.items()}, net.dt)
    p_v, v_base, amp = (coef[kind[0], column] for column in (_kernel.P_V, _kernel.V_BASE, _kernel.NOISE_AMP))
    assert np.all(amp > 0)
    n_steps = 60
    for wide in (None, "8"):
        if wide:
            monkeypatch.setenv(simulate_module.WIDE_NEURONS_ENV, wide)
            numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
        sim = Simulator(net, seeds=11)
        v = sim._v[0].copy()
        key_a, key_b = sim._keys[0, _kernel.STREAM_NOISE_A], sim._keys[0, _kernel.STREAM_NOISE_B]
        sim.advance(n_steps)
        rejected = 0
        for t in range(n_steps):
            bits = [int(_kernel.random_u64(key_a, t, i)) for i in range(v.size)]
            rejected += sum(abs((b >> 11) / 2.0**52 - 1.0) >= _kernel._ZIG_RATIO[b & 127] for b in bits)
            v = (
                v_base
                + (v - v_base) * p_v
                + amp * np.array([_kernel.normal(key_a, key_b, t, i) for i in range(v.size)])
            )
        assert rejected > 20  # the redrawn path was exercised
        assert_identical([v], [sim._v[0]])
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


def busy_circuit(inhibitory: bool):
    """Large enough for the serial lane to step in tiles (136,100 neurons, TILED_NEURONS 131,072),
    mostly quiet, ~100 spikes per step (the wide lane then queues them on its threads), several
    delays; one population with adaptation, the others without."""
    pops = {
        "Q": {"size": 70000, "drive": 6.0, "initial_v": {"uniform": [0.0, 9.9]}},
        "A": {"size": 2600, "drive": 40.0, "initial_v": {"uniform": [0.0, 9.9]}},
        "B": {"size": 1500, "drive": 30.0, "initial_v": {"uniform": [0.0, 9.9]}, "neuron_model": "adapting"},
        "R": {"size": 62000, "drive": 6.5, "initial_v": {"uniform": [0.0, 9.9]}},
    }
    if inhibitory:
        pops["I"] = {"size": 300, "cell_class": "inh", "drive": 25.0, "initial_v": {"uniform": [0.0, 9.0]}}
    rule = lambda p, seed: {"kind": "fixed_probability", "probability": p, "seed": seed}
    projections = {
        "A->B": {"source": "A", "target": "B", "rule": rule(0.002, 1), "weight": 0.4, "delay": 0.3},
        "B->A": {"source": "B", "target": "A", "rule": rule(0.002, 2), "weight": 0.2, "delay": 1.7},
        "A->A": {"source": "A", "target": "A", "rule": rule(0.001, 3), "weight": 0.1, "delay": 0.9},
        "A->Q": {"source": "A", "target": "Q", "rule": rule(0.00005, 6), "weight": 2.5, "delay": 0.4},
        "B->R": {"source": "B", "target": "R", "rule": rule(0.00005, 7), "weight": 3.0, "delay": 1.3},
    }
    if inhibitory:
        projections["I->A"] = {"source": "I", "target": "A", "rule": rule(0.01, 4), "weight": -0.5, "delay": 0.5}
        projections["A->I"] = {"source": "A", "target": "I", "rule": rule(0.003, 5), "weight": 0.3, "delay": 1.1}
    models = {
        "lif": {"tau_m": 10.0, "v_threshold": 10.0, "t_ref": 0.5},
        "adapting": {"tau_m": 12.0, "v_threshold": 10.0, "t_ref": 0.3, "adaptation": 0.2, "tau_adaptation": 50.0},
    }
    return make_circuit(pops, projections, neuron_models=models)


@pytest.mark.parametrize("inhibitory", [False, True])
def test_tiles_and_lean_updates_of_a_large_network_equal_a_dense_delay_ring(inhibitory):
    """The serial lane's tiles and its update without w (no adaptation) or without I_inh (no
    inhibitory synapse) give the arithmetic of the plain reference, bit for bit."""
    net = compile_circuit(busy_circuit(inhibitory), dt=0.1)
    assert net.n_neurons >= simulate_module._kernel.TILED_NEURONS
    reference = dense_ring_reference(net, 208200, 150)
    assert reference[0].size > 150 * 64  # busy: the wide lane's queue split is used below
    assert_identical(run(net, 208200, 150, chunks=(1, 60, None)), reference)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_a_wide_lane_queueing_and_sorting_arrivals_on_its_threads_equals_the_serial_lane(monkeypatch):
    """Queueing and the sort of arrivals by tile split over threads, target ranges that share a tile."""
    net = compile_circuit(busy_circuit(True), dt=0.1)
    reference = run(net, 208201, 150)
    out_degree = np.bincount(net.weights.indices, minlength=net.n_neurons)
    assert out_degree[reference[1]].sum() / 150 > 2 * simulate_module._kernel.PARALLEL_BUCKET_RECORDS
    monkeypatch.setattr(simulate_module, "WIDE_NEURONS", 1)
    monkeypatch.setattr(simulate_module, "WIDE_PROBE_STEPS", 0)  # split, unmeasured
    monkeypatch.setattr(simulate_module, "queue_capacity", lambda net, view: 3)  # grows from the split queue too
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(2)
        assert Simulator(net, seeds=208201)._kernel_for(10)[0] is simulate_module._kernel.advance_wide
        assert_identical(run(net, 208201, 150, chunks=(7, None)), reference)
    finally:
        numba.set_num_threads(previous)


def _reference_normal(key_a, key_b, t, i, paths):
    """Marsaglia and Tsang's ziggurat as the kernel draws it (Doornik's layers, extra uniforms from the
    ``subkey`` streams), written plainly in Python with ``math.exp`` and ``math.log``; ``paths`` counts the
    rare draws' ways out."""
    import math

    from encephagen import _kernel

    x_edge, ratio = _kernel._ZIG_X, _kernel._ZIG_RATIO

    def unit(bits):
        return (bits >> 11) * 2.0**-53

    def sub(key, draw):  # keys stay numpy uint64 (a Python int above 2**63 would not pass as one)
        return np.uint64(_kernel.subkey(np.uint64(key), draw))

    bits = int(_kernel.random_u64(key_a, t, i))
    layer, u = bits & 127, 2.0 * unit(bits) - 1.0
    if abs(u) < ratio[layer]:
        return u * x_edge[layer]
    draw = 0
    while True:
        if layer == 0:
            while True:
                x = math.log(1.0 - float(_kernel.uniform(sub(key_b, draw), t, i))) / _kernel._ZIG_R
                y = math.log(1.0 - float(_kernel.uniform(sub(key_b, draw + 1), t, i)))
                draw += 2
                if -2.0 * y >= x * x:
                    paths["tail"] += 1
                    return x - _kernel._ZIG_R if u < 0 else _kernel._ZIG_R - x
        x = u * x_edge[layer]
        f0 = math.exp(-0.5 * (x_edge[layer] * x_edge[layer] - x * x))
        f1 = math.exp(-0.5 * (x_edge[layer + 1] * x_edge[layer + 1] - x * x))
        if f1 + float(_kernel.uniform(sub(key_b, draw), t, i)) * (f0 - f1) < 1.0:
            paths["edge accepted"] += 1
            return x
        paths["edge rejected"] += 1
        bits = int(_kernel.random_u64(sub(key_b, draw + 1), t, i))
        draw += 2
        layer, u = bits & 127, 2.0 * unit(bits) - 1.0
        if abs(u) < ratio[layer]:
            return u * x_edge[layer]


def test_the_ziggurats_rare_draws_equal_the_edge_test_made_with_exp_bit_for_bit():
    """The kernel's normals (``_kernel.normal``, whose slow path the lanes take for every undecided draw: previous test)
    against the ziggurat written plainly, on ~2,400 rejected draws of two lanes' noise streams: the same
    numbers through the tail and through accepted and rejected edge tests. An independent check of the rare
    draws' stream, for any cheaper draw (one that changed the stream would change every reported figure)."""
    from encephagen import _kernel

    keys = _kernel.stream_keys(np.array([219493, 219494], dtype=np.uint64))  # selection seeds (encephagen.seeds)
    paths = {"tail": 0, "edge accepted": 0, "edge rejected": 0}
    rejected = 0
    for key_a, key_b in keys[:, [_kernel.STREAM_NOISE_A, _kernel.STREAM_NOISE_B]]:
        for t in range(50):
            for i in range(2000):
                bits = int(_kernel.random_u64(key_a, t, i))
                if abs((bits >> 11) / 2.0**52 - 1.0) < _kernel._ZIG_RATIO[bits & 127]:
                    continue  # the vectorised path, which the lanes check against normal() above
                rejected += 1
                got = float(_kernel.normal(key_a, key_b, t, i))
                want = _reference_normal(key_a, key_b, t, i, paths)
                assert np.float64(got).view(np.uint64) == np.float64(want).view(np.uint64), (t, i, got, want)
    assert rejected > 2000 and min(paths.values()) > 5, (rejected, paths)
