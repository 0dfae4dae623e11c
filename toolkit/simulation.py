"""Simulate a compiled network: B lanes (parameter sets and/or seeds) in one generic kernel.

:func:`simulate` runs a fixed duration; :class:`Simulator` advances step chunks for closed
loops (a body in the loop) and gives the same spikes as one long run. The model, the
exact integration and the order of operations within a step are documented in
:mod:`encephagen._kernel`, the only hot loop.

Time stamps follow Brian2: step t integrates from ``t*dt`` to ``(t+1)*dt`` and a spike
detected in it is stamped ``t*dt``; a synapse with delay d steps acts from step ``t+d`` on,
i.e. ``d*dt`` after the stamped spike time. Trace sample t is the state after step t, at
``(t+1)*dt``.

Step conventions, the two that make our spikes identical to Brian2's and NEST's:

* refractory steps are counted *after* the spike step: a neuron that spikes in step t is
  held for ``round(t_ref/dt)`` steps (t+1 ... t+round(t_ref/dt)) and integrates again from
  the next one, which is Brian2's ``refractory = (round(t_ref/dt) + 1) * dt``;
* a spike acts one step earlier than a nominal delay does in Brian2 or NEST: our delay of d
  steps is their delay ``(d - 1) * dt`` (NEST also stamps the spike one step later, at the
  end of its step).

The exporters (:mod:`encephagen.interop.brian2`, :mod:`encephagen.interop.sonata`) write the
translated values; ``tests/test_peers_brian2.py::test_brian2_fires_the_same_spikes`` and
``tests/test_sonata.py::test_nest_runs_the_export_like_encephagen`` (spike for spike, NEST's
stamps one step later) check them.

Accuracy against the analytic LIF rate under constant drive: each interspike interval is
rounded up to whole steps, so the relative rate error is at most ``rate * dt``; at dt 0.1 ms
it is within 1 % up to 110 Hz (1.8 % at 200 Hz, 2.9 % at 300 Hz), checked by
``tests/test_simulate.py::test_analytic_rate_range_at_the_default_step``. Use a finer dt
for faster neurons.

Determinism: all randomness (initial v, noise, Poisson input) is counter-based on (seed,
step, neuron), so a lane is bit-identical whether it runs alone or in a batch, in one call
or in chunks, on one thread or several.

>>> from encephagen import load_circuit
>>> from encephagen.compiler import compile_circuit
>>> net = compile_circuit(load_circuit("half_centre"))
>>> a = simulate(net, 200.0, seeds=[1, 2])
>>> b = simulate(net, 200.0, seeds=2)
>>> bool(np.array_equal(a.lane(1).spike_times_ms[0], b.spike_times_ms[0]))
True
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numba
import numpy as np

from . import _kernel
from .errors import SimulationError, UnknownNameError
from .progress import Progress, progress_callback
from .readouts import filter_bins, readout_filters
from .results import SimulationResult, provenance

log = logging.getLogger(__name__)

MEMORY_LIMIT_ENV = "ENCEPHAGEN_MEMORY_LIMIT"
"""Environment variable overriding the memory limit (bytes, or with a K/M/G suffix)."""
SPIKE_BYTES = 12
"""Bytes per recorded spike (int64 step + int32 neuron)."""
PARALLEL_WORK = 2_000_000
"""Neuron-steps in one advance() from which lanes run on parallel threads (below, the launch costs more)."""
WIDE_NEURONS: int | None = _kernel.TILED_NEURONS
"""Neurons from which one lane's steps may be split over threads by target range (None: never;
``ENCEPHAGEN_WIDE_NEURONS`` overrides). Whether they are is measured (:data:`WIDE_PROBE_STEPS`)."""
WIDE_NEURONS_ENV = "ENCEPHAGEN_WIDE_NEURONS"
WIDE_PROBE_STEPS = 16
"""Steps a simulator times each way (one thread, all threads, one, all) before it splits a lane over
threads for the rest of an advance: on idle cores the split lane is 1.8-1.9x faster at 1 M neurons,
but with another job on one of the cores ~7x slower (every step waits at its thread barriers for the
busy core), so the choice is measured, not assumed. 0: split whenever possible, unmeasured."""
WIDE_PROBE_SECONDS = 10.0
"""How long a simulator keeps its measured choice before it times both ways again."""
QUEUE_SPIKE_RATE_HZ = 20.0
"""Firing rate for which the spike queue is sized up front (it grows when a run needs more)."""
QUEUE_INITIAL_MAX = 2**22
"""Most queue entries (16 bytes each) allocated up front per lane; a busier run grows the queue."""
RING_BYTES = 1 << 19
"""Largest delay ring (bytes per lane: slots x 2 x neurons x 8) in which a network's serial lane sums its
arriving spikes as they are queued, instead of queueing copies of their synapses and adding them at
arrival: one pass over each spike's synapses instead of two (humanoid_cpg: 107 kB at dt 0.5 ms, 392 kB at 0.1
ms). Larger rings would leave the caches; 0 turns the ring off (the same numbers either way)."""
VIEW_THREAD_SYNAPSES = 1 << 22
"""Synapses from which the delivery view is built on all of numba's threads (below, one thread's work
takes less than starting the others)."""
_TRACE_SPEC = re.compile(r"^(?P<var>[A-Za-z_]+)(?::(?P<pop>[^\[\]]+)(?:\[(?P<index>\d+)\])?)?$")


def simulate(
    network,
    duration_ms: float,
    *,
    seeds: int | Sequence[int] = 0,
    parameters: Sequence[Mapping[str, float]] | None = None,
    record_spikes: bool = True,
    traces: Sequence[str] = (),
    bin_ms: float | None = None,
    progress: Progress = False,
    memory_limit: int | None = None,
) -> SimulationResult:
    """Simulate ``duration_ms`` of a compiled network, for one or several lanes.

    Parameters
    ----------
    network
        A :class:`encephagen.compiler.CompiledNetwork`.
    duration_ms
        Biological time to simulate (ms); rounded to whole steps of ``network.dt``.
    seeds
        One seed, or one per lane. With B parameter sets and a single seed every lane uses
        that seed (common random numbers, what a calibration wants).
    parameters
        B mappings of named parameter values (see ``network.batch``); None runs the
        compiled values.
    record_spikes
        Keep every spike (step, neuron); population counts are always kept.
    traces
        State variables to record at every step: ``"v"``, ``"I_exc"``, ``"I_inh"`` or
        ``"w"``, optionally restricted to ``":population"`` or ``":population[i]"``.
    bin_ms
        Width of the population-count bins (ms, a multiple of dt); default dt.
    progress
        A callback ``progress(done_steps, total_steps)``, or True for a ``tqdm.auto`` bar (a
        widget in a notebook, stderr in a terminal); see :mod:`encephagen.progress`.
    memory_limit
        Refuse runs whose arrays would exceed this many bytes; default: the environment
        variable ``ENCEPHAGEN_MEMORY_LIMIT`` or else the system's available memory.

    Returns
    -------
    SimulationResult
        Batched over lanes; ``result.lane(i)`` is the single-lane result.

    Examples
    --------
    >>> from encephagen import load_circuit
    >>> from encephagen.compiler import compile_circuit
    >>> result = simulate(compile_circuit(load_circuit("half_centre")), 500.0, seeds=7)
    >>> result.population_rates_hz().shape == (1, len(result.population_names))
    True
    """
    n_steps = steps_for(duration_ms, network.dt)
    sim = Simulator(
        network,
        seeds=seeds,
        parameters=parameters,
        record_spikes=record_spikes,
        traces=traces,
        bin_ms=bin_ms,
        memory_limit=memory_limit,
        planned_steps=n_steps,
    )
    chunk = max(1000, n_steps // 100)
    started = time.perf_counter()
    report = progress_callback(progress, "simulating")
    if report is not None:
        done = 0
        report(0, n_steps)
        while done < n_steps:
            step = min(chunk, n_steps - done)
            sim.advance(step)
            done += step
            report(done, n_steps)
    else:
        sim.advance(n_steps)
    return sim.result(wall_seconds=time.perf_counter() - started)


def steps_for(duration_ms: float, dt: float) -> int:
    """Number of whole steps in ``duration_ms`` (refuses negative or non-finite durations)."""
    if not (math.isfinite(duration_ms) and duration_ms >= 0):
        raise SimulationError(f"duration must be a non-negative number of ms; got {duration_ms}")
    steps = int(round(duration_ms / dt))
    if abs(steps * dt - duration_ms) > 1e-9 * max(1.0, duration_ms):
        log.info("duration %s ms rounded to %d steps of %s ms", duration_ms, steps, dt)
    return steps


class Simulator:
    """A network in the middle of a run: advance it chunk by chunk, read it, resume.

    Chunking never changes the result: ``advance(a)`` then ``advance(b)`` gives bit for bit
    what ``advance(a + b)`` gives (with the same extra current and Poisson rate).

    Parameters
    ----------
    network, seeds, parameters, record_spikes, traces, bin_ms, memory_limit
        As for :func:`simulate`.
    planned_steps
        Steps the caller intends to run, so that the memory check can count the recorded
        traces and bins up front; optional.
    """

    def __init__(
        self,
        network,
        *,
        seeds: int | Sequence[int] = (0,),
        parameters: Sequence[Mapping[str, float]] | None = None,
        record_spikes: bool = True,
        traces: Sequence[str] = (),
        bin_ms: float | None = None,
        memory_limit: int | None = None,
        planned_steps: int = 0,
    ):
        self.network = network
        self.dt = float(network.dt)
        self.seeds, self.parameters, weights_data, neuron = _lanes(network, seeds, parameters)
        n_lanes, n = len(self.seeds), network.n_neurons
        self.record_spikes = record_spikes
        if bin_ms is None:
            bin_ms = self.dt
            log.info("bin_ms = %s ms (default: one step)", bin_ms)
        self.steps_per_bin = int(round(bin_ms / self.dt))
        if self.steps_per_bin < 1 or abs(self.steps_per_bin * self.dt - bin_ms) > 1e-9 * bin_ms:
            raise SimulationError(f"bin_ms must be a positive multiple of dt = {self.dt} ms; got {bin_ms}")
        self.bin_ms = self.steps_per_bin * self.dt
        self.trace_labels, self.trace_variables, self.trace_neurons = _parse_traces(network, traces)
        self.population_sizes = np.array([s.stop - s.start for s in network.population_slices.values()], dtype=np.int64)
        self._check_memory(n_lanes, planned_steps, memory_limit)

        self._coef, self._kind = coefficients(network, neuron, self.dt)
        self._has_poisson = bool(np.any(self._coef[:, _kernel.POISSON_MEAN] > 0))
        self._has_noise = bool(np.any(self._coef[:, _kernel.NOISE_AMP] > 0))
        self._view = delivery_view(network)
        self._weight = _lane_weights(network, self._view, weights_data, parameters is None)
        self._inhibitory = _kernel.inhibitory_lanes(self._weight)  # lanes whose I_inh can change at all
        depth = self._view.max_delay + 1
        self._keys = _kernel.stream_keys(np.asarray(self.seeds, dtype=np.uint64))
        self._v = _kernel.initial_v(self._keys, neuron["initial_v_low"], neuron["initial_v_high"])
        self._i_exc = np.zeros((n_lanes, n))
        self._i_inh = np.zeros((n_lanes, n))
        self._w = np.zeros((n_lanes, n))
        self._refractory = np.zeros((n_lanes, n), dtype=refractory_dtype(self._coef, n))
        # this step's arriving input, one buffer that stays in cache; or, for a small network, a delay ring of
        # depth such buffers per lane, into which spikes are summed as they are queued (see _kernel._lane)
        self._ring = _delay_ring(n, depth)
        self._acc = np.zeros((n_lanes * depth if self._ring else n_lanes, 2, n))
        self._pending = np.zeros((n_lanes, n), dtype=np.int32)  # the neurons that fired in the last step
        self._pending_count = np.zeros(n_lanes, dtype=np.int64)
        # the kernel wraps positions with a mask; a delay ring queues nothing (one unused entry)
        capacity = 1 if self._ring else _power_of_two(queue_capacity(network, self._view))
        # the queued synapses, one 16-byte record each: the weight's bits, then delay rank << 32 | target
        self._pool = np.zeros((n_lanes, capacity, 2), dtype=np.int64)
        self._blocks = np.zeros((n_lanes, depth, 3), dtype=np.int64)
        self._pool_pos = np.zeros(n_lanes, dtype=np.int64)
        self._zeros = np.zeros((n_lanes, n))
        self._whole = np.array([0, n], dtype=np.int64)  # the one target range of a serial lane
        self._population_index = np.ascontiguousarray(network.population_index, dtype=np.int64)
        # room for 50 Hz on average, so that most runs never stop to grow the buffer
        self._capacity = int(min(max(4 * n, 1024, n * planned_steps * self.dt / 1000.0 * 50.0), 2**26))
        self._spike_step = np.zeros((n_lanes, self._capacity), dtype=np.int64)
        self._spike_neuron = np.zeros((n_lanes, self._capacity), dtype=np.int32)
        self._spike_count = np.zeros(n_lanes, dtype=np.int64)
        self._status = np.zeros((n_lanes, 3), dtype=np.int64)
        self._next_step = np.zeros(n_lanes, dtype=np.int64)
        self._kept_steps: list[list[np.ndarray]] = [[] for _ in range(n_lanes)]
        self._kept_neurons: list[list[np.ndarray]] = [[] for _ in range(n_lanes)]
        self._counts: list[np.ndarray] = []
        self._count_first_bin: list[int] = []
        self._traces: list[np.ndarray] = []
        self.step = 0
        """Steps simulated so far."""
        self.readout_names: list[str] = list(network.readouts)
        """Readouts in the column order of :meth:`readout_array`."""
        self._readout_mix, self._readout_decay = readout_filters(
            list(network.readouts.values()), network.population_names, self.population_sizes, self.bin_ms
        )
        self._readout_state = np.zeros((n_lanes, len(self.readout_names)))
        self._readout_bins = 0
        self._wide_choice: tuple[bool, float] | None = None  # (split lanes were faster, when measured)

    @property
    def n_lanes(self) -> int:
        return len(self.seeds)

    def advance(
        self, n_steps: int, *, current: np.ndarray | None = None, poisson_rate: np.ndarray | None = None
    ) -> np.ndarray:
        """Simulate ``n_steps`` more steps; returns the spike count per population, (B, P).

        ``current`` (B, N) mV is added to every neuron's drive and ``poisson_rate`` (B, N)
        Hz to its Poisson input (weight ``poisson_weight``, or +1 mV where that is 0), both
        held constant over the chunk.
        """
        n_lanes, n = self._v.shape
        if n_steps < 0:
            raise SimulationError(f"n_steps must be >= 0; got {n_steps}")
        extra_current = self._zeros if current is None else _lane_array(current, (n_lanes, n), "current")
        extra_rate = self._zeros if poisson_rate is None else _lane_array(poisson_rate, (n_lanes, n), "poisson_rate")
        if poisson_rate is not None and np.any(extra_rate < 0):
            raise SimulationError("poisson_rate must be >= 0 Hz everywhere")
        t_begin, t_end = self.step, self.step + n_steps
        n_populations = len(self.population_sizes)
        bin_first = t_begin // self.steps_per_bin
        n_bins = (-(-t_end // self.steps_per_bin) - bin_first) if n_steps else 0
        counts = np.zeros((n_lanes, n_bins, n_populations), dtype=np.int32)
        traces = np.zeros((n_lanes, n_steps, len(self.trace_neurons)))
        next_step = self._next_step  # each lane's next step, which the kernel moves on
        next_step.fill(t_begin)
        view = self._view

        def run(t_stop: int, kernel, bounds) -> None:
            """Every lane from next_step to t_stop (counts and traces go on counting from t_begin)."""
            while True:
                kernel(
                    next_step,
                    t_stop,
                    self.dt,
                    self._v,
                    self._i_exc,
                    self._i_inh,
                    self._w,
                    self._refractory,
                    self._acc,
                    self._coef,
                    self._kind,
                    extra_current,
                    current is not None,
                    extra_rate,
                    poisson_rate is not None,
                    poisson_rate is not None or self._has_poisson,
                    self._has_noise,
                    view.group_ptr,
                    view.group_syn,
                    view.group_rank,
                    view.delay_values,
                    view.post,
                    self._weight,
                    self._inhibitory,
                    self._pending,
                    self._pending_count,
                    self._pool,
                    self._blocks,
                    self._pool_pos,
                    self._keys,
                    self._population_index,
                    self._spike_step,
                    self._spike_neuron,
                    self._spike_count,
                    counts,
                    bin_first,
                    self.steps_per_bin,
                    self.trace_neurons,
                    self.trace_variables,
                    traces,
                    t_begin,
                    self._status,
                    bounds,
                )
                done = not np.count_nonzero(self._status[:, 0])  # every lane DONE (0): the common case, one check
                self._collect_spikes(not done and bool(np.any(self._status[:, 0] == _kernel.BUFFER_FULL)))
                if done:
                    return
                faulty = np.flatnonzero(self._status[:, 0] == _kernel.NOT_FINITE)
                if faulty.size:
                    raise self._fault(int(faulty[0]))
                queue_full = self._status[:, 0] == _kernel.QUEUE_FULL
                if np.any(queue_full):
                    self._grow_queue(int(self._status[queue_full, 1].max()))
                elif not np.any(self._status[:, 0] == _kernel.BUFFER_FULL):
                    return

        kernel, bounds = self._kernel_for(n_steps)
        if kernel is _kernel.advance_wide and WIDE_PROBE_STEPS > 0:
            kernel, bounds = self._measured_lane(run, next_step, n_steps, (kernel, bounds))
        run(t_end, kernel, bounds)
        self.step = t_end
        if n_bins:
            merged = bool(self._counts) and bin_first * self.steps_per_bin < t_begin
            if merged:
                self._counts[-1][:, -1] += counts[:, 0]  # the previous chunk ended inside this bin
            if counts.shape[1] > merged:
                self._counts.append(counts[:, int(merged) :])
                self._count_first_bin.append(bin_first + int(merged))
        if n_steps:
            self._traces.append(traces)
        return counts.sum(axis=1)

    def _measured_lane(self, run, next_step: np.ndarray, n_steps: int, wide):
        """The wide kernel or the serial one, whichever stepped faster when last timed (:data:`WIDE_PROBE_STEPS`);
        when that was more than WIDE_PROBE_SECONDS ago (or never) and this advance is long enough, its first
        steps are the timing: one thread, all threads, one, all (the numbers are the same either way)."""
        serial = self._serial_kernel_for(n_steps)
        measured = self._wide_choice
        due = measured is None or time.monotonic() - measured[1] > WIDE_PROBE_SECONDS
        if due and n_steps > 4 * WIDE_PROBE_STEPS:
            seconds = {False: math.inf, True: math.inf}
            for on_threads in (False, True, False, True):  # twice each: a first pass over new memory runs slow
                started = time.perf_counter()
                run(int(next_step.max()) + WIDE_PROBE_STEPS, *(wide if on_threads else serial))
                seconds[on_threads] = min(seconds[on_threads], time.perf_counter() - started)
            measured = self._wide_choice = (seconds[True] < seconds[False], time.monotonic())
            log.debug(
                "%d steps on threads %.3g s, on one thread %.3g s", WIDE_PROBE_STEPS, seconds[True], seconds[False]
            )
        return wide if measured is not None and measured[0] else serial

    def _kernel_for(self, n_steps: int):
        """(kernel, target-range bounds): lanes on threads for large batches, one lane's neurons on
        threads for a large network, else serial (the same numbers whichever is chosen)."""
        n_lanes, n = self._v.shape
        if not self._ring and _wide_possible(n):
            threads = numba.get_num_threads()  # ~1 us: asked only when a wide lane is possible
            if threads > 1 and n_lanes < threads:
                bounds = np.unique(
                    np.minimum(np.arange(threads + 1, dtype=np.int64) * (-(-n // (64 * threads)) * 64), n)
                )
                if bounds.size > 2:
                    return _kernel.advance_wide, bounds
        return self._serial_kernel_for(n_steps)

    def _serial_kernel_for(self, n_steps: int):
        """(kernel, whole-network bounds) without splitting a lane: lanes on threads for large batches, else serial."""
        n_lanes, n = self._v.shape
        if n_lanes > 1 and n_lanes * n * n_steps >= PARALLEL_WORK:
            return _kernel.advance_parallel, self._whole
        if n >= _kernel.TILED_NEURONS:  # lanes one after the other, each stepped in tiles
            return _kernel.advance_tiled, self._whole
        return _kernel.advance, self._whole

    def _grow_queue(self, needed: int) -> None:
        """Enlarge every lane's spike queue to hold ``needed`` entries (a power of two), keeping its
        queued synapses in place."""
        old = self._pool.shape[1]
        size = _power_of_two(max(2 * old, needed + needed // 2))
        bigger = np.zeros((self.n_lanes, size, 2), dtype=self._pool.dtype)
        for b, end in enumerate(self._pool_pos):
            positions = np.arange(max(0, int(end) - old), int(end))
            bigger[b, positions % size] = self._pool[b, positions % old]
        self._pool = bigger
        log.debug("spike queue grown to %d entries per lane", size)

    def _collect_spikes(self, buffer_full: bool) -> None:
        """Move the spike buffer into the per-lane lists (or drop it); grow it if some lane's was full."""
        if self.record_spikes:
            for b, count in enumerate(self._spike_count):
                if count:
                    self._kept_steps[b].append(self._spike_step[b, :count].copy())
                    self._kept_neurons[b].append(self._spike_neuron[b, :count].copy())
        self._spike_count[:] = 0
        if buffer_full:
            self._capacity = max(2 * self._capacity, self.network.n_neurons)
            self._spike_step = np.zeros((self.n_lanes, self._capacity), dtype=np.int64)
            self._spike_neuron = np.zeros((self.n_lanes, self._capacity), dtype=np.int32)

    def _fault(self, lane: int) -> SimulationError:
        _, step, neuron = (int(x) for x in self._status[lane])
        names = self.network.population_names
        population = names[int(self.network.population_index[neuron])]
        offset = neuron - self.network.population_slices[population].start
        state = {k: float(a[lane, neuron]) for k, a in (("I_exc", self._i_exc), ("I_inh", self._i_inh), ("w", self._w))}
        return SimulationError(
            f"the state became non-finite at t = {step * self.dt:g} ms (step {step}) in lane {lane} "
            f"(seed {self.seeds[lane]}): neuron {neuron} ({population}[{offset}]) has v = {float(self._v[lane, neuron]):g} "
            f"(I_exc = {state['I_exc']:g}, I_inh = {state['I_inh']:g}, w = {state['w']:g} mV). "
            "Check for huge weights, drives or noise in that population's inputs"
        )

    def population_counts(self) -> np.ndarray:
        """Spikes per bin and population so far, (B, n_bins, P) (the last bin may be partial)."""
        if not self._counts:
            return np.zeros((self.n_lanes, 0, len(self.population_sizes)), dtype=np.int32)
        return np.concatenate(self._counts, axis=1)

    def readout_values(self) -> dict[str, np.ndarray]:
        """Current value of each low-pass-filtered readout, (B,) each, in Hz (completed bins only)."""
        values = self.readout_array()
        return {name: values[:, r].copy() for r, name in enumerate(self.readout_names)}

    def readout_array(self) -> np.ndarray:
        """Current readout values as one (B, R) array in :attr:`readout_names` order (Hz).

        The closed loop calls this after every body step, so it filters only the bins
        completed since the last call, every readout at once (a call filters a few bins).
        """
        complete = self.step // self.steps_per_bin
        pieces = []  # only the chunks holding bins not filtered yet
        for first, chunk in zip(reversed(self._count_first_bin), reversed(self._counts)):
            low, high = max(self._readout_bins - first, 0), min(complete - first, chunk.shape[1])
            if high > low:
                pieces.append(chunk[:, low:high])
            if first <= self._readout_bins:
                break
        if pieces:
            signal = (pieces[0] if len(pieces) == 1 else np.concatenate(pieces[::-1], axis=1)) @ self._readout_mix
            filter_bins(signal, self._readout_decay, self._readout_state, np.empty(signal.shape))
            self._readout_bins = complete
        return self._readout_state.copy()

    def result(self, *, wall_seconds: float | None = None) -> SimulationResult:
        """Everything recorded so far as a :class:`SimulationResult`."""
        spike_steps = [np.concatenate(k) if k else np.zeros(0, np.int64) for k in self._kept_steps]
        spike_neurons = [np.concatenate(k) if k else np.zeros(0, np.int32) for k in self._kept_neurons]
        traces = (
            np.concatenate(self._traces, axis=1)
            if self._traces
            else np.zeros((self.n_lanes, 0, len(self.trace_neurons)))
        )
        net = self.network
        return SimulationResult(
            dt=self.dt,
            duration_ms=self.step * self.dt,
            seeds=list(self.seeds),
            population_names=list(net.population_names),
            population_sizes=self.population_sizes.copy(),
            bin_ms=self.bin_ms,
            spike_steps=spike_steps if self.record_spikes else None,
            spike_neurons=spike_neurons if self.record_spikes else None,
            population_counts=self.population_counts(),
            traces=traces,
            trace_labels=list(self.trace_labels),
            readouts=dict(net.readouts.items()),
            parameters=[dict(p) for p in self.parameters],
            provenance=provenance(net, wall_seconds=wall_seconds, n_steps=self.step, n_lanes=self.n_lanes),
        )

    # ------------------------------------------------------------------ memory

    def _check_memory(self, n_lanes: int, planned_steps: int, limit: int | None) -> None:
        estimate, parts = memory_estimate(
            self.network, n_lanes, planned_steps, self.steps_per_bin, len(self.trace_neurons), self.record_spikes
        )
        if limit is None:
            limit, source = memory_limit_bytes()
        else:
            source = "memory_limit argument"
        if limit is not None and estimate > limit:
            detail = ", ".join(f"{k} {_gib(v)}" for k, v in parts.items() if v)
            raise SimulationError(
                f"this run needs about {_gib(estimate)} ({detail}) but the limit is {_gib(limit)} ({source}); "
                f"run fewer lanes ({n_lanes} now), record fewer traces or bins, shorten the longest delay, "
                f"or raise the limit with {MEMORY_LIMIT_ENV}=<bytes> if the memory really is there"
            )
        log.debug("memory estimate %s (limit %s from %s)", _gib(estimate), limit and _gib(limit), source)


def memory_estimate(
    network, n_lanes: int, n_steps: int, steps_per_bin: int, n_traces: int, record_spikes: bool
) -> tuple[int, dict[str, int]]:
    """Bytes a run will allocate, by part (ring buffers dominate for long delays).

    Spikes are counted at one per neuron per 10 ms of biological time (100 Hz), a generous
    guess for the buffer that grows as needed.
    """
    n, nnz = network.n_neurons, network.n_synapses
    depth = int(network.delays.max()) + 1 if nnz else 2
    n_populations = len(network.population_names)
    if _delay_ring(n, depth):  # depth arrival buffers and one unused queue entry
        arrivals = depth * 2 * n * 8 + 16
    else:  # one arrival buffer and the queue
        arrivals = 2 * n * 8 + _queue_entries(n, nnz, depth - 1, network.dt) * 16
    parts = {
        "spike queues": n_lanes * (arrivals + n * 4 + depth * 24),
        "neuron state and coefficients": n_lanes * n * (5 * 8 + _kernel.N_COEF * 8 + 4 + 2 * 8),
        # lane weights; the delivery view (order, target, weight, up to one delay group per synapse,
        # twice while the view is built: each block's groups, then all of them together)
        "weights": n_lanes * nnz * 8 + nnz * (8 + 4 + 8 + 12 + 12) + (n + 1) * 8,
        "population bins": n_lanes * (-(-n_steps // steps_per_bin)) * n_populations * 4 * 2,
        "traces": n_lanes * n_steps * n_traces * 8 * 2,
        "spikes": (n_lanes * int(n * n_steps * network.dt / 10.0) * SPIKE_BYTES * 2) if record_spikes else 0,
    }
    return sum(parts.values()), parts


def _wide_possible(n_neurons: int) -> bool:
    """Whether a network is large enough for a wide lane (:data:`WIDE_NEURONS`)."""
    wide = os.environ.get(WIDE_NEURONS_ENV) or WIDE_NEURONS
    return wide is not None and n_neurons >= int(wide)


def _delay_ring(n_neurons: int, depth: int) -> bool:
    """Whether a network's serial lane sums arriving spikes into a delay ring of ``depth`` buffers
    (it fits in :data:`RING_BYTES` and no wide or tiled lane is possible) instead of queueing them."""
    return (
        n_neurons < _kernel.TILED_NEURONS and depth * 2 * n_neurons * 8 <= RING_BYTES and not _wide_possible(n_neurons)
    )


def memory_limit_bytes() -> tuple[int | None, str]:
    """(limit, where it comes from): ENCEPHAGEN_MEMORY_LIMIT, else MemAvailable of /proc/meminfo."""
    text = os.environ.get(MEMORY_LIMIT_ENV)
    if text:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)i?[bB]?\s*", text)
        if not match:
            raise SimulationError(
                f"{MEMORY_LIMIT_ENV} must be a number of bytes, optionally with K/M/G/T; got {text!r}"
            )
        scale = 1024 ** " KMGT".index(match.group(2).upper() or " ")
        return int(float(match.group(1)) * scale), MEMORY_LIMIT_ENV
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"
    except OSError:
        pass
    return None, "no limit known"


def _gib(n: float) -> str:
    return f"{n / 1024**3:.2f} GiB" if n >= 1024**3 / 10 else f"{n / 1024**2:.1f} MiB"


# --------------------------------------------------------------------------- preparation


def _lanes(network, seeds, parameters):
    """(seeds, parameter dicts, weights (B, nnz), neuron vectors (B, N)) for the requested lanes."""
    seed_list = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not seed_list:
        raise SimulationError("seeds must name at least one seed")
    for s in seed_list:
        if not isinstance(s, (int, np.integer)) or not 0 <= int(s) < 2**64:
            raise SimulationError(f"seeds must be non-negative integers below 2**64; got {s!r}")
    seed_list = [int(s) for s in seed_list]
    if parameters is None:
        n_lanes = len(seed_list)
        weights = np.broadcast_to(network.weights.data, (n_lanes, network.n_synapses))
        neuron = {k: np.tile(np.asarray(v, dtype=float), (n_lanes, 1)) for k, v in network.neuron.items()}
        return seed_list, [{} for _ in seed_list], weights, neuron
    parameters = [dict(p) for p in parameters]
    if len(seed_list) == 1:
        seed_list = seed_list * len(parameters)
    elif len(seed_list) != len(parameters):
        raise SimulationError(
            f"got {len(seed_list)} seeds for {len(parameters)} parameter sets; give one seed or one per set"
        )
    batch = network.batch(parameters)
    neuron = {k: np.array(v, dtype=float) for k, v in batch.neuron.items()}
    return seed_list, parameters, batch.weights_data, neuron


def refractory_dtype(coef: np.ndarray, n: int) -> type:
    """int32 for a network of TILED_NEURONS or more where every row's refractory count fits (4 bytes
    less to read and write per neuron and step), else int64 (int32 made the 80-neuron CPG ~3 % slower;
    int8 was no faster at 1 M neurons)."""
    longest = float(coef[:, _kernel.N_REFRACTORY].max()) if coef.size else 0.0
    return np.int32 if n >= _kernel.TILED_NEURONS and longest <= np.iinfo(np.int32).max else np.int64


def coefficients(network, neuron: Mapping[str, np.ndarray], dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Propagator table: (coef (K, N_COEF), kind (B, N)); neuron i of lane b uses row ``kind[b, i]``.

    Neurons with identical parameters share a row, so the kernel reads a few cached rows
    instead of a table as large as the network. Checks that every time constant is positive and every rate and noise level non-negative,
    naming the first offending population.
    """
    for name, low in (("tau_m", 0.0), ("tau_syn_exc", 0.0), ("tau_syn_inh", 0.0), ("tau_adaptation", 0.0)):
        _require(network, neuron[name], lambda x, low=low: x > low, name, "must be > 0 ms")
    _require(network, neuron["t_ref"], lambda x: x >= 0, "t_ref", "must be >= 0 ms")
    _require(network, neuron["noise_sigma"], lambda x: x >= 0, "noise_sigma", "must be >= 0 mV")
    _require(network, neuron["poisson_rate"], lambda x: x >= 0, "poisson_rate", "must be >= 0 Hz")
    shape = np.shape(neuron["tau_m"])
    # neurons of a population share their parameters: compute rows only where the parameters change
    # from the previous neuron, then merge equal rows (no sort over every neuron's row)
    change = np.zeros(int(np.prod(shape)), dtype=bool)
    if change.size:
        change[0] = True
    for name in _COEFFICIENT_FIELDS:
        values = np.asarray(neuron[name], dtype=float).reshape(-1)
        change[1:] |= values[1:] != values[:-1]
    first = np.flatnonzero(change)
    rows = _coefficient_rows(
        {name: np.asarray(neuron[name], dtype=float).reshape(-1)[first] for name in _COEFFICIENT_FIELDS}, dt
    )
    table, inverse = np.unique(rows, axis=0, return_inverse=True)
    kind = inverse.reshape(-1)[np.cumsum(change) - 1] if change.size else np.zeros(0, dtype=np.int64)
    return np.ascontiguousarray(table), np.ascontiguousarray(kind.reshape(shape).astype(np.int32))


_COEFFICIENT_FIELDS = (
    "tau_m",
    "v_rest",
    "drive",
    "tau_syn_exc",
    "tau_syn_inh",
    "tau_adaptation",
    "noise_sigma",
    "v_threshold",
    "v_reset",
    "adaptation",
    "poisson_rate",
    "poisson_weight",
    "t_ref",
)


def _coefficient_rows(neuron: Mapping[str, np.ndarray], dt: float) -> np.ndarray:
    """The coefficient row (N_COEF values) of each neuron of ``neuron`` (1-D vectors)."""
    tau_m = neuron["tau_m"]
    p_v = np.exp(-dt / tau_m)
    coef = np.empty(tau_m.shape + (_kernel.N_COEF,))
    coef[..., _kernel.P_V] = p_v
    coef[..., _kernel.V_BASE] = neuron["v_rest"] + neuron["drive"]
    coef[..., _kernel.C_EXC] = exponential_input_gain(neuron["tau_syn_exc"], tau_m, dt)
    coef[..., _kernel.C_INH] = exponential_input_gain(neuron["tau_syn_inh"], tau_m, dt)
    coef[..., _kernel.C_W] = exponential_input_gain(neuron["tau_adaptation"], tau_m, dt)
    coef[..., _kernel.P_EXC] = np.exp(-dt / neuron["tau_syn_exc"])
    coef[..., _kernel.P_INH] = np.exp(-dt / neuron["tau_syn_inh"])
    coef[..., _kernel.P_W] = np.exp(-dt / neuron["tau_adaptation"])
    coef[..., _kernel.NOISE_AMP] = neuron["noise_sigma"] * np.sqrt(-np.expm1(-2.0 * dt / tau_m))
    coef[..., _kernel.V_THRESHOLD] = neuron["v_threshold"]
    coef[..., _kernel.V_RESET] = neuron["v_reset"]
    coef[..., _kernel.ADAPTATION] = neuron["adaptation"]
    mean = neuron["poisson_rate"] * dt / 1000.0
    coef[..., _kernel.POISSON_MEAN] = mean
    cdf, coef[..., _kernel.POISSON_LAST_P] = poisson_cdf_table(mean)
    coef[..., _kernel.POISSON_CDF : _kernel.POISSON_CDF + _kernel.POISSON_TABLE] = cdf
    coef[..., _kernel.POISSON_WEIGHT] = np.where(neuron["poisson_weight"] != 0, neuron["poisson_weight"], 1.0)
    coef[..., _kernel.N_REFRACTORY] = np.rint(neuron["t_ref"] / dt)
    return coef


def poisson_cdf_table(mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(k <= 0 .. POISSON_TABLE - 1) for each mean, and the last P(k) (the kernel goes on from it).

    The first four entries are exp(-m) m^k / k! summed; the later ones continue with
    ``p *= m / k; cdf += p`` from ``p = cdf[3] - cdf[2]``, the very arithmetic by which the
    kernel's exact inversion continues a table, so a count is the same whichever path draws
    it. Where p has underflowed to 0 the inversion stops, so those entries are +inf.
    """
    first = np.exp(-mean)[..., None] * np.cumprod(
        np.concatenate([np.ones(mean.shape + (1,)), mean[..., None] / np.arange(1, 4)], axis=-1), axis=-1
    )
    cdf = list(np.moveaxis(np.cumsum(first, axis=-1), -1, 0))
    p = cdf[3] - cdf[2]
    for k in range(4, _kernel.POISSON_TABLE):
        p = p * (mean / k)
        cdf.append(np.where(p > 0.0, cdf[-1] + p, np.inf))
    return np.stack(cdf, axis=-1), p


TAU_EQUAL_TOLERANCE = 1e-12
"""Relative difference below which tau_x and tau_m are treated as equal (the limit formula)."""


def exponential_input_gain(tau_x: np.ndarray, tau_m: np.ndarray, dt: float) -> np.ndarray:
    """v reached after one step from unit input decaying with tau_x, starting at v = 0.

    ``tau_x/(tau_x - tau_m) * (exp(-dt/tau_x) - exp(-dt/tau_m))``, written as
    ``tau_x/(tau_x - tau_m) * exp(-dt/tau_m) * expm1(dt (tau_x - tau_m)/(tau_m tau_x))`` so
    that it stays exact as tau_x approaches tau_m, where it tends to ``dt/tau_m exp(-dt/tau_m)``.

    >>> float(exponential_input_gain(np.array(5.0), np.array(5.0), 0.1))
    0.0196039734...
    >>> float(exponential_input_gain(np.array(5.0 + 1e-9), np.array(5.0), 0.1))
    0.0196039734...
    """
    tau_x, tau_m = np.broadcast_arrays(np.asarray(tau_x, float), np.asarray(tau_m, float))
    delta = tau_x - tau_m
    equal = np.abs(delta) <= TAU_EQUAL_TOLERANCE * tau_m
    safe = np.where(equal, 1.0, delta)
    general = tau_x / safe * np.exp(-dt / tau_m) * np.expm1(dt * delta / (tau_m * tau_x))
    return np.where(equal, dt / tau_m * np.exp(-dt / tau_m), general)


def _require(network, values: np.ndarray, ok, name: str, what: str) -> None:
    bad = ~ok(values)
    if np.any(bad):
        lane, neuron = np.argwhere(np.atleast_2d(bad))[0]
        population = network.population_names[int(network.population_index[neuron])]
        raise SimulationError(
            f"population {population!r}: {name} {what}; got {np.atleast_2d(values)[lane, neuron]:g} (lane {lane})"
        )


@dataclass(frozen=True)
class DeliveryView:
    """A network's synapses laid out for delivery at arrival (see :func:`encephagen._kernel.delivery_view`)."""

    order: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    """The network's weights in view order, shared by the simulators whose lanes have no parameters
    (the kernel never writes them)."""
    source_weights: np.ndarray
    """The array ``weight`` was gathered from (``network.weights.data`` at the time)."""
    group_ptr: np.ndarray
    group_syn: np.ndarray
    group_rank: np.ndarray
    delay_values: np.ndarray
    """The distinct delays (steps), ascending; group_rank indexes it."""
    max_delay: int


_VIEWS: dict[int, tuple[weakref.ref, DeliveryView]] = {}


def _forget_view(key: int, _network_ref: weakref.ref) -> None:
    _VIEWS.pop(key, None)


def delivery_view(network) -> DeliveryView:
    """The delivery layout of ``network``, built once per compiled network (later simulators reuse it)."""
    key = id(network)
    cached = _VIEWS.get(key)
    if cached is not None and cached[0]() is network:
        return cached[1]
    w = network.weights
    delays = np.asarray(network.delays, dtype=np.int32)
    shortest, longest, present = _kernel.delay_extent(delays)
    if delays.size and shortest < 1:
        raise SimulationError(f"delays must be at least one step; got {int(shortest)}")
    max_delay = int(longest) if delays.size else 1
    delay_values = np.flatnonzero(present) if delays.size else np.zeros(0, np.int64)
    rank = np.full(max_delay + 1, -1, dtype=np.int32)
    rank[delay_values] = np.arange(delay_values.size, dtype=np.int32)
    order, post, weight, group_ptr, group_syn, group_rank = _kernel.delivery_view(
        network.n_neurons,
        np.asarray(w.indptr, dtype=np.int64),
        np.asarray(w.indices, dtype=np.int32),
        delays,
        rank,
        np.asarray(w.data, dtype=float),
        threads=numba.get_num_threads() if w.nnz >= VIEW_THREAD_SYNAPSES else 1,
    )
    view = DeliveryView(
        order, post, weight, w.data, group_ptr, group_syn, group_rank, delay_values.astype(np.int64), max_delay
    )
    _VIEWS[key] = (weakref.ref(network, partial(_forget_view, key)), view)
    return view


def _lane_weights(network, view: DeliveryView, weights_data: np.ndarray, network_weights: bool) -> np.ndarray:
    """Each lane's weights (B, synapses) in view order.

    Lanes without parameters all use the network's weights: they share the view's copy (one
    lane) or repeat it, without gathering again, unless ``network.weights.data`` was replaced or
    (as far as a sample of 4096 synapses shows) edited in place since the view was built.
    """
    data = network.weights.data
    if network_weights and data is view.source_weights and view.weight.size:
        sample = np.linspace(0, view.weight.size - 1, 4096).astype(np.int64)
        if np.array_equal(view.weight[sample], np.asarray(data)[view.order[sample]]):
            lanes = weights_data.shape[0]
            return view.weight[None, :] if lanes == 1 else np.tile(view.weight, (lanes, 1))
    return np.ascontiguousarray(np.take(weights_data, view.order, axis=1))


def queue_capacity(network, view: DeliveryView) -> int:
    """Initial spike-queue entries per lane (a power of two): the synapses of ``QUEUE_SPIKE_RATE_HZ``
    over the longest delay plus 64 neurons' worth, at most ``QUEUE_INITIAL_MAX``; the queue grows if
    a run needs more."""
    return _queue_entries(network.n_neurons, int(view.post.size), view.max_delay, network.dt)


def _queue_entries(n: int, synapses: int, max_delay: int, dt: float) -> int:
    window_s = (max_delay + 1) * dt / 1000.0
    expected = synapses * QUEUE_SPIKE_RATE_HZ * window_s + synapses / max(n, 1) * 64
    return _power_of_two(int(max(1024, min(synapses * (max_delay + 1), expected, QUEUE_INITIAL_MAX))))


def _power_of_two(size: int) -> int:
    """The smallest power of two >= size (the kernel wraps queue positions with a mask)."""
    return 1 << max(0, int(size) - 1).bit_length()


def _parse_traces(network, specs: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Trace specs -> (labels, variable codes, neuron indices), one entry per recorded column."""
    labels, variables, neurons = [], [], []
    slices = network.population_slices
    for spec in specs:
        match = _TRACE_SPEC.match(spec.strip())
        if not match:
            raise SimulationError(
                f"trace {spec!r}: expected VARIABLE, VARIABLE:POPULATION or VARIABLE:POPULATION[i], e.g. 'v:flex_rg[0]'"
            )
        var, pop, index = match.group("var"), match.group("pop"), match.group("index")
        if var not in _kernel.TRACE_VARIABLES:
            raise UnknownNameError("trace variable", var, _kernel.TRACE_VARIABLES)
        if pop is None:
            chosen = [(name, i) for name, sl in slices.items() for i in range(sl.stop - sl.start)]
        elif pop not in slices:
            raise UnknownNameError("population", pop, slices)
        elif index is None:
            chosen = [(pop, i) for i in range(slices[pop].stop - slices[pop].start)]
        else:
            size = slices[pop].stop - slices[pop].start
            if int(index) >= size:
                raise SimulationError(f"trace {spec!r}: population {pop!r} has {size} neurons (indices 0..{size - 1})")
            chosen = [(pop, int(index))]
        for name, i in chosen:
            labels.append(f"{var}:{name}[{i}]")
            variables.append(_kernel.TRACE_VARIABLES.index(var))
            neurons.append(slices[name].start + i)
    return labels, np.asarray(variables, dtype=np.int64), np.asarray(neurons, dtype=np.int64)


def _lane_array(values, shape: tuple[int, int], name: str) -> np.ndarray:
    if (
        isinstance(values, np.ndarray)
        and values.shape == shape
        and values.dtype == np.float64
        and values.flags.c_contiguous
        and values.flags.writeable
    ):
        if not np.isfinite(values).all():
            raise SimulationError(f"{name} must be finite")
        return values  # already what the kernel takes (a closed loop passes this every body step)
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array[None, :]
    try:
        array = np.array(np.broadcast_to(array, shape))  # a writable copy: numba compiles read-only arrays apart
    except ValueError:
        raise SimulationError(f"{name} must have shape (lanes, neurons) = {shape}; got {np.shape(values)}") from None
    if not np.all(np.isfinite(array)):
        raise SimulationError(f"{name} must be finite")
    return array
