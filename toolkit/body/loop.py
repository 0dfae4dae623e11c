"""The closed loop, in one place: body -> afferents -> circuit -> readouts -> actuators -> body.

One body step of ``body.dt_ms`` is ``body.dt_ms / network.dt`` circuit steps (8 ms / 0.1 ms
= 80 for Walker2d); a ratio that is not a whole number is refused rather than rounded,
because a rounded ratio would run the circuit slower or faster than the body. Within a
body step the afferent inputs are held constant (sample and hold), and the action applied
to the body is computed from the readouts at the end of the circuit's chunk, so the circuit
sees the body's state of step t and acts on step t (one body step of sensorimotor delay,
like the 8 ms of a real spinal loop).

Episodes run as lanes: B bodies in lockstep with one B-lane simulator, each lane with its
own seed (body reset and circuit noise) and parameter values, so a calibration generation
costs one simulator call. A lane whose body has ended keeps its last observation while the
others go on; the run stops when every lane has ended. With a binding's phase start
(:class:`~encephagen.body.binding.StartPhase`) each lane's body stays still until its own rhythm
reaches that phase, so lanes start at different body steps and a lane is the same alone or batched.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from ..errors import BodyError
from .adapters import contact_point_velocity
from .baselines import Controller, aggregate, constant_controller, episode_metrics, reference_controllers, run_episode
from .binding import Binding, check_binding, make_bound_body, resolve
from .perturbations import Perturbation, parse_perturbations, perturbed

log = logging.getLogger(__name__)


FALL_MS = 500.0
"""How long a fall lasts (ms): ``distance_upright`` of an episode that fell is its distance this
long before the end, so that the ~0.9 m a Walker2d covers by toppling forward is not counted
as walking (a calibration otherwise learns to stand, then lunge)."""

LEAN_FROM_S = 2.0
"""Metric ``pitch_min`` (the most backward torso pitch) is taken from this time on, after the start-up
transient: how close an episode that did not fall came to tipping over backwards (docs/notes/walk.md,
session 18: walkers that fall less under a motor delay keep a wider margin in nearly every episode)."""

SETTLED_FROM_S = 2.0
"""Metric ``speed_settled`` is the mean speed from this time on (to the end, or of an episode that fell,
to :data:`FALL_MS` before it): a walker starts from rest, so an episode's mean speed mixes its
acceleration with the speed its command sets, and a fall's lunge with its walk."""


def neural_steps_per_body_step(body_dt_ms: float, network_dt_ms: float) -> int:
    """Whole circuit steps per body step; refuses a ratio that is not an integer.

    >>> neural_steps_per_body_step(8.0, 0.1)
    80
    """
    ratio = body_dt_ms / network_dt_ms
    steps = round(ratio)
    if steps < 1 or abs(ratio - steps) > 1e-6 * max(1.0, ratio):
        raise BodyError(
            f"body step {body_dt_ms} ms is not a whole number of circuit steps of {network_dt_ms} ms (ratio {ratio:.6g}); choose a dt that divides it, e.g. {body_dt_ms / max(1, math.ceil(ratio)):g} ms"
        )
    return int(steps)


@dataclass(frozen=True)
class DriveSchedule:
    """A circuit parameter commanded over an episode: ``value`` from each time (s) on.

    The descending command of the animal's mesencephalic locomotor region: the schedule
    ``DriveSchedule("drive", ((0, 21), (4, 25)))`` holds ``drive`` at 21 mV for 4 s, then at
    25 mV. The parameter must be a population drive (mV); the change reaches the neurons as
    extra current on top of the lane's own value, so the rest of the circuit is untouched.

    >>> DriveSchedule.parse("0:21,4:25").value_at(5.0)
    25.0
    """

    parameter: str
    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        times = [t for t, _ in self.points]
        if (
            not self.points
            or times[0] != 0.0
            or any(b <= a for a, b in itertools.pairwise(times))
            or not all(map(math.isfinite, [v for p in self.points for v in p]))
        ):
            raise BodyError(
                f"a drive schedule needs (seconds, value) points from 0 s on, times increasing, finite values; got {list(self.points)}"
            )

    @classmethod
    def parse(cls, text: str, parameter: str = "drive") -> DriveSchedule:
        """``'0:21,4:25'`` (seconds:value, comma-separated) -> a schedule of ``parameter``."""
        try:
            points = tuple(
                (float(t), float(v)) for t, v in (part.split(":") for part in text.split(",") if part.strip())
            )
        except ValueError:
            raise BodyError(
                f"drive schedule {text!r}: write SECONDS:VALUE pairs separated by commas, from 0 s, e.g. 0:21,4:25"
            ) from None
        return cls(parameter, points)

    def value_at(self, seconds: float) -> float:
        return next(v for t, v in reversed(self.points) if seconds >= t)

    def segments(self, duration_s: float) -> list[tuple[float, float, float]]:
        """(start s, end s, value) of each piece within an episode of ``duration_s``."""
        ends = [t for t, _ in self.points[1:]] + [duration_s]
        return [(t, min(end, duration_s), v) for (t, v), end in zip(self.points, ends) if t < duration_s]


@dataclass
class Episode:
    """What one lane did: metrics, and, when recorded, its trajectory for plots and video."""

    seed: int
    metrics: dict[str, float]
    parameters: dict[str, float] = field(default_factory=dict)
    trajectory: dict[str, np.ndarray] | None = None
    """'qpos', 'qvel' (T+1, ...), 'action' (T, n_actuators), 'readouts' (T, R),
    'population_rates_hz' (T, P), 'observation' (T+1, n_sensors)."""


class ClosedLoop:
    """A compiled circuit bound to bodies by a binding; runs seeded episodes as lanes.

    Parameters
    ----------
    network
        The compiled circuit (:func:`encephagen.compiler.compile_circuit`).
    binding
        The binding; checked against the circuit and the body here.
    base_dir
        Folder of the binding file (for an MJCF path it names).
    file
        Name of the binding file, for messages.
    """

    def __init__(self, network, binding: Binding, *, base_dir=None, file: str = "<binding>"):
        self.network, self.binding, self.base_dir, self.file = network, binding, base_dir, file
        probe = make_bound_body(binding, base_dir)
        check_binding(binding, network.circuit, probe, file)
        self.body_dt_ms = probe.dt_ms
        self.steps_per_body_step = neural_steps_per_body_step(probe.dt_ms, network.dt)
        # whole body steps, so that readout bins stay aligned with body steps
        self.warmup_steps = int(round(binding.warmup_ms / probe.dt_ms)) * self.steps_per_body_step
        afferents = list(binding.afferents.values())
        self._sensor = np.array([probe.sensor_index(a.sensor) for a in afferents], dtype=np.intp)
        self._is_rate = np.array([a.input == "rate" for a in afferents], dtype=bool)
        self._current_columns = np.flatnonzero(~self._is_rate)  # index arrays: a mask is negated per body step
        self._rate_columns = np.flatnonzero(self._is_rate)
        slices = [network.population_slices[a.population] for a in afferents]
        self._current_fanout = _Fanout.of([s for s, r in zip(slices, self._is_rate) if not r], network.n_neurons)
        self._rate_fanout = _Fanout.of([s for s, r in zip(slices, self._is_rate) if r], network.n_neurons)
        self._aff_low = np.array([_bound(a.low, a.input == "rate", -np.inf) for a in afferents])
        self._aff_high = np.array([np.inf if a.high is None else a.high for a in afferents])
        # currents only (the usual binding): the current fan-out's columns are the afferent list's own
        self._currents_only = self._current_fanout if not self._is_rate.any() else None
        self.readout_names = sorted({t.readout for m in binding.motors.values() for t in m.terms})
        motors = list(binding.motors.values())
        self.motor_actuators = np.array([probe.actuator_index(m.actuator) for m in motors], dtype=np.intp)
        self.motor_low = np.array(
            [probe.action_low[i] if m.low is None else m.low for m, i in zip(motors, self.motor_actuators)]
        )
        self.motor_high = np.array(
            [probe.action_high[i] if m.high is None else m.high for m, i in zip(motors, self.motor_actuators)]
        )
        self.motor_setpoint = np.array([m.mode == "setpoint" for m in motors], dtype=bool)
        """Per motor: True when its sum is a joint-angle target held by a stretch reflex."""
        self._joint_angle, self._joint_velocity = (
            np.array(
                [probe.sensor_index(f"{m.joint_name}_{kind}") if m.mode == "setpoint" else 0 for m in motors],
                dtype=np.intp,
            )
            for kind in ("angle", "velocity")
        )
        self.n_actuators = len(probe.actuator_names)
        self.n_sensors = len(probe.sensor_names)
        unbound = sorted(set(probe.actuator_names) - {m.actuator for m in motors})
        if unbound:
            log.info("actuators without a motor get 0: %s", unbound)
        self._drive_cache: dict[str, np.ndarray] = {}
        self._lane_memo: dict[tuple, tuple[np.ndarray, ...]] = {}
        self.sensors_at_rest = False
        """True: afferents read every sensor as 0 (see :meth:`with_sensors_at_rest`)."""
        self._pitch = probe.sensor_index("torso_pitch")
        self._height = probe.sensor_index("torso_height")
        self.fall_steps = int(round(FALL_MS / probe.dt_ms))
        self.start_steps = 0
        """Body steps of the episode still run at the binding's start drive (its warm-up always is)."""
        if binding.start is not None:
            self.drive_fanout(binding.start.parameter)  # a population drive, or a BodyError now
            self.start_steps = int(round(binding.start.ms / probe.dt_ms))

    # ------------------------------------------------------------------ per-lane numbers

    def _lane_arrays(self, values: Mapping[str, float]) -> tuple[np.ndarray, ...]:
        """Afferent gains/offsets (A,), motor offsets (M,) and readout gains (M, R) of one lane."""
        binding = self.binding
        afferents, motors = list(binding.afferents.values()), list(binding.motors.values())
        gain = np.array([resolve(a.gain, values) for a in afferents])
        offset = np.array([resolve(a.offset, values) for a in afferents])
        motor_offset = np.array([resolve(m.offset, values) for m in motors])
        motor_gain = np.zeros((len(motors), len(self.readout_names)))
        for i, motor in enumerate(motors):
            for term in motor.terms:
                motor_gain[i, self.readout_names.index(term.readout)] += resolve(term.gain, values)
        return gain, offset, motor_offset, motor_gain

    def _lane_numbers(self, values: Mapping[str, float]) -> tuple[np.ndarray, ...]:
        """:meth:`_lane_arrays` and :meth:`_lane_stiffness` of one lane, remembered for the last
        parameter sets: resolving a Humanoid binding's ~3,900 gains and offsets took ~2 ms of every
        episode's set-up. The arrays are shared; :meth:`_run` only reads them (it stacks copies)."""
        key = tuple(values.items())
        numbers = self._lane_memo.get(key)
        if numbers is None:
            if len(self._lane_memo) >= 64:  # a calibration brings new sets all the time
                self._lane_memo.clear()
            numbers = self._lane_memo[key] = (*self._lane_arrays(values), *self._lane_stiffness(values))
        return numbers

    def _lane_stiffness(self, values: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Stretch-reflex stiffness ``kp`` and damping ``kd`` (M,) of one lane; 0 for torque motors."""
        motors = list(self.binding.motors.values())
        kp = np.array([0.0 if m.kp is None else resolve(m.kp, values) for m in motors])
        kd = np.array([0.0 if m.kd is None else resolve(m.kd, values) for m in motors])
        return kp, kd

    def motor_actions(
        self, command: np.ndarray, observations: np.ndarray, kp: np.ndarray, kd: np.ndarray
    ) -> np.ndarray:
        """Motor outputs (B, M) from the motor sums ``command`` (B, M).

        Torque motors pass their sum on; setpoint motors hold it as their joint's target angle,
        ``kp * (target - angle) - kd * velocity``, reading the joint sensors of ``observations``
        (the body's state the circuit also saw; the reflex belongs to the motor, so it reads them
        even when the afferents read sensors at rest). Clipped to each motor's range.
        """
        command = np.array(command, dtype=np.float64)  # C-contiguous and writable: the array type compiled once
        outputs = np.empty_like(command)
        kp, kd = (np.array(np.broadcast_to(k, command.shape), dtype=np.float64) for k in (kp, kd))
        observations = np.array(observations, dtype=np.float64)
        self._motor_outputs(command, observations, kp, kd, np.arange(command.shape[1]), outputs)
        return outputs

    def _motor_outputs(self, command, observations, kp, kd, columns: np.ndarray, out: np.ndarray) -> None:
        """:meth:`motor_actions` of (B, M) float arrays, written into columns ``columns`` of ``out``: the
        closed loop's action array, in one compiled pass (~1 us; NumPy's calls took 5-12 us per body step)."""
        _motor_outputs(
            command,
            observations,
            kp,
            kd,
            self.motor_setpoint,
            self._joint_angle,
            self._joint_velocity,
            self.motor_low,
            self.motor_high,
            columns,
            out,
        )

    def offset_controller(self) -> Controller:
        """The binding with every readout at 0, as a controller: torque motors give their
        offsets, setpoint motors hold their joints at the offset angles.

        Reported beside every run: a constant bias (or a stiff posture) can stand a walker up
        for 1000 steps without any circuit, so what the circuit adds is what it does beyond this.
        """
        values = self.network.parameter_values()
        _, _, motor_offset, _ = self._lane_arrays(values)
        kp, kd = self._lane_stiffness(values)

        def act(step: int, observation: np.ndarray) -> np.ndarray:
            action = np.zeros(self.n_actuators)
            action[self.motor_actuators] = self.motor_actions(motor_offset[None], observation[None], kp, kd)[0]
            return action

        if self.motor_setpoint.any():
            return act
        return constant_controller(act(0, np.zeros(self.n_sensors)))  # torque offsets ignore the body

    def readouts_at_rest(
        self, seeds: Sequence[int], steps: int, *, parameters: Mapping[str, float] | None = None
    ) -> np.ndarray:
        """Readouts with every sensor at 0 and no body moving, (lanes, steps, R) in :attr:`readout_names` order.

        What the circuit commands on its own (:meth:`readouts_on` with every row 0): the open-loop
        rhythm that :mod:`encephagen.body.imitate` fits a binding to.
        """
        return self.readouts_on(np.zeros((len(seeds), steps, self.n_sensors)), seeds, parameters=parameters)

    def readouts_on(
        self, observations: np.ndarray, seeds: Sequence[int], *, parameters: Mapping[str, float] | None = None
    ) -> np.ndarray:
        """Readouts when the afferents read ``observations`` (lanes, T, n_sensors) instead of a body, (lanes, T, R).

        As in the closed loop: the warm-up (the binding's start drive and phase start included)
        reads row 0, the pose the body holds until it starts; then one body step of circuit time
        per row, readouts read at the end of the step that saw row t (what the loop turns into
        action t). Lane i runs noise seed ``seeds[i]``.
        """
        from ..simulation import Simulator

        observations = np.asarray(observations, dtype=np.float64)
        if observations.ndim != 3 or observations.shape[0] != len(seeds) or observations.shape[2] != self.n_sensors:
            raise BodyError(
                f"observations must be (lanes, steps, sensors) = ({len(seeds)}, T, {self.n_sensors}): one lane per seed, one column per sensor of the binding's body; got shape {observations.shape}"
            )
        if not observations.shape[1]:
            raise BodyError("observations hold no body step (T = 0); give at least one row per lane")
        defaults = self.network.parameter_values()
        gain, offset, _, _ = self._lane_arrays({**defaults, **(parameters or {})})
        lanes, steps = observations.shape[:2]
        simulator = Simulator(
            self.network,
            seeds=[int(s) for s in seeds],
            parameters=[dict(parameters or {}) for _ in seeds],
            record_spikes=False,
            bin_ms=self.body_dt_ms,
        )
        gains, offsets = np.tile(gain, (lanes, 1)), np.tile(offset, (lanes, 1))
        commanded = self._commanded([dict(parameters or {}) for _ in seeds], defaults, None)  # the start drive
        columns = [simulator.readout_names.index(name) for name in self.readout_names]
        simulator.advance(
            self.warmup_steps,
            **self._inputs(observations[:, 0], gains, offsets, commanded and commanded(np.full(lanes, -1))),
        )
        gate = self._start_gate(simulator)
        out = np.empty((lanes, steps, len(columns)))
        for tick in range(steps + gate.longest):
            step = gate.steps(tick)
            row = observations[np.arange(lanes), np.clip(step, 0, steps - 1)]
            simulator.advance(
                self.steps_per_body_step, **self._inputs(row, gains, offsets, commanded and commanded(step))
            )
            readouts = simulator.readout_array()
            rows = np.flatnonzero(~gate.waiting & (tick - gate.begun < steps))
            out[rows, tick - gate.begun[rows]] = readouts[rows][:, columns]
            if gate.any_waiting:
                gate.update(readouts)
            elif not rows.size:
                break
        return out

    def _start_gate(self, simulator) -> _StartGate:
        """The binding's phase start for this run's lanes, watching the readouts from the end of the
        fixed warm-up on; without one, every lane's body starts right after the warm-up."""
        phase = self.binding.start_phase
        if phase is None:
            return _StartGate.open(simulator.n_lanes)
        watched = np.array([simulator.readout_names.index(name) for name in phase.readouts], dtype=np.intp)
        return _StartGate(
            simulator.readout_array()[:, watched],
            watched,
            phase.rises_through,
            after=int(round(phase.after_ms / self.body_dt_ms)),
            within=int(round(phase.within_ms / self.body_dt_ms)),
        )

    def drive_fanout(self, parameter: str) -> np.ndarray:
        """Per neuron, how many mV its drive moves per unit of ``parameter`` (its ParamRef factor, else 0)."""
        if parameter not in self._drive_cache:
            fanout = np.zeros(self.network.n_neurons)
            for name, factor in commanded_populations(self.network.circuit, parameter).items():
                if name in self.network.population_slices:
                    fanout[self.network.population_slices[name]] = factor
            if not fanout.any():  # its populations were all removed (a lesion)
                raise BodyError(
                    f"drive schedule: parameter {parameter!r} is no population's drive, so it cannot be commanded during an episode"
                )
            self._drive_cache[parameter] = fanout
        return self._drive_cache[parameter]

    def without_afferents(self) -> ClosedLoop:
        """The same loop with every population the binding feeds removed (see :func:`without_afferents`)."""
        from ..compiler import compile_circuit

        circuit, binding = without_afferents(self.network.circuit, self.binding)
        return ClosedLoop(compile_circuit(circuit, dt=self.network.dt), binding, base_dir=self.base_dir)

    def lesioned(self, names: Sequence[str]) -> ClosedLoop:
        """The same loop with the named populations, projections or cell classes removed, with the
        binding's entries into them (see :func:`lesioned`)."""
        from ..compiler import compile_circuit

        circuit, binding = lesioned(self.network.circuit, self.binding, names)
        return ClosedLoop(compile_circuit(circuit, dt=self.network.dt), binding, base_dir=self.base_dir)

    def with_sensors_at_rest(self) -> ClosedLoop:
        """The same loop with every afferent reading its sensor as 0: the afferent populations keep
        their tonic input (the binding's offsets) but carry no information about the body.

        The fairer deafferentation beside :meth:`without_afferents`, which also removes the tonic
        input: what feedback adds to a rhythm that is otherwise unchanged.
        """
        import copy

        clamped = copy.copy(self)
        clamped.sensors_at_rest = True
        return clamped

    # ------------------------------------------------------------------ running

    def run(
        self,
        seeds: Sequence[int],
        *,
        parameters: Sequence[Mapping[str, float]] | None = None,
        max_steps: int | None = None,
        record: bool = False,
        threads: int = 1,
        perturbations: Sequence[Perturbation | str] = (),
        drive_schedule: DriveSchedule | None = None,
        gait_meter: bool = False,
    ) -> list[Episode]:
        """One episode per lane: lane i resets its body with ``seeds[i]`` and seeds the circuit with it.

        Parameters
        ----------
        seeds
            One seed per lane.
        parameters
            Circuit parameter values per lane (names of the circuit's parameters, binding
            gains included); default: the circuit's values for every lane.
        max_steps
            Stop every lane after this many body steps (default: the body's time limit).
        record
            Keep each lane's trajectory (qpos, actions, readouts, population rates).
        threads
            Numba threads for the circuit. One by default: a body step advances the circuit
            by only ~80 steps, so starting a parallel region per body step costs more than
            it saves (measured: 19 ms vs 0.6 ms per body step on a loaded 2-core machine).
        perturbations
            Applied to every lane's body (:mod:`encephagen.body.perturbations`), drawn from
            each lane's seed: the same seed gets the same pushes and noise as a baseline run on it.
        drive_schedule
            Commands a population-drive parameter during the episode (the warm-up runs at
            its first value); each episode's metrics then include ``speed_segment_<i>``, its
            mean speed over piece i of the schedule (m/s, NaN for a piece it did not reach).
        gait_meter
            Also measure how the feet meet the floor (:class:`GaitMeter`): each episode's
            metrics then include ``slip`` and ``air_ms``. Off by default: it reads MuJoCo's
            contacts after every body step (5-10 % of a Walker2d lane's time).
        """
        import numba

        previous = numba.get_num_threads()
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]  # set at import
        try:
            return self._run(
                seeds, parameters, max_steps, record, parse_perturbations(perturbations), drive_schedule, gait_meter
            )
        finally:
            numba.set_num_threads(previous)

    def _run(
        self, seeds, parameters, max_steps, record, perturbations=(), schedule=None, gait_meter=False
    ) -> list[Episode]:
        from ..simulation import Simulator

        seeds = [int(s) for s in seeds]
        if not seeds:
            raise BodyError("a closed-loop run needs at least one seed")
        lanes = len(seeds)
        if parameters is not None and len(parameters) != lanes:
            raise BodyError(
                f"parameters must give one set per seed (lane); got {len(parameters)} sets for {lanes} seeds"
            )
        defaults = self.network.parameter_values()
        sets = [dict(p) for p in parameters] if parameters is not None else [{} for _ in seeds]
        per_lane = [self._lane_numbers({**defaults, **s}) for s in sets]
        gain, offset, motor_offset, motor_gain, kp, kd = (np.stack([lane[k] for lane in per_lane]) for k in range(6))

        bodies = [perturbed(make_bound_body(self.binding, self.base_dir), perturbations) for _ in seeds]
        for body in bodies:
            body.max_steps = min(body.max_steps, max_steps or body.max_steps)
        simulator = Simulator(
            self.network,
            seeds=seeds,
            parameters=sets if parameters is not None else None,
            record_spikes=False,
            bin_ms=self.body_dt_ms,
        )
        limit = bodies[0].max_steps
        observations = np.stack([body.reset(seed)[0] for body, seed in zip(bodies, seeds)])
        active = np.ones(lanes, dtype=bool)
        totals, tilt, effort = np.zeros(lanes), np.zeros(lanes), np.zeros(lanes)
        lowest_pitch, lean_from = np.full(lanes, np.inf), int(round(LEAN_FROM_S * 1000.0 / self.body_dt_ms))
        settled_from = int(round(SETTLED_FROM_S * 1000.0 / self.body_dt_ms))
        travelled = np.zeros((lanes, limit + 1))  # forward distance after each body step
        terminated = np.zeros(lanes, dtype=bool)
        recorder = _Recorder(bodies, record, observations)
        meters = [GaitMeter(body) for body in bodies] if gait_meter else None

        columns = np.array([simulator.readout_names.index(name) for name in self.readout_names], dtype=np.intp)
        commanded = self._commanded(sets, defaults, schedule)
        sensed = np.zeros_like(observations) if self.sensors_at_rest else observations  # updated in place below
        if self.warmup_steps:
            simulator.advance(
                self.warmup_steps, **self._inputs(sensed, gain, offset, commanded and commanded(np.full(lanes, -1)))
            )
        gate = self._start_gate(simulator)
        action = np.zeros((lanes, self.n_actuators))
        running = np.flatnonzero(~gate.waiting)  # the lanes whose episode goes on, remade only when one ends or starts
        for tick in range(limit + gate.longest):
            counts = simulator.advance(
                self.steps_per_body_step,
                **self._inputs(sensed, gain, offset, commanded and commanded(gate.steps(tick))),
            )
            readouts = simulator.readout_array()
            rates = readouts[:, columns]
            command = motor_offset + (motor_gain @ rates[:, :, None])[:, :, 0]
            self._motor_outputs(command, observations, kp, kd, self.motor_actuators, action)
            ended = False
            for b in running.tolist():
                result = bodies[b].step(action[b])
                observations[b] = result.observation
                totals[b] += result.reward
                travelled[b, bodies[b].steps] = result.info["distance"]
                if meters is not None:
                    meters[b].add()
                if result.terminated or result.truncated:
                    active[b], terminated[b], ended = False, result.terminated, True
            _account(
                running, observations, self._pitch, action, tick, gate.begun, lean_from, tilt, lowest_pitch, effort
            )
            recorder.add(action, rates, counts, observations, self.body_dt_ms)
            starting = gate.any_waiting and gate.update(readouts).any()
            if starting or ended:
                running = np.flatnonzero(active & ~gate.waiting)
                if not running.size and not gate.any_waiting:
                    break
        episodes = []
        for b, (body, seed) in enumerate(zip(bodies, seeds)):
            metrics = episode_metrics(
                body.steps, body.distance, totals[b], body.dt_ms, body.max_steps, bool(terminated[b])
            )
            metrics["pitch_abs_mean"] = tilt[b] / max(body.steps, 1)
            metrics["effort"] = effort[b] / max(body.steps, 1)
            # where the episode ended, so that a fall can be told apart: pitched forward or back, or sank
            metrics["end_pitch"] = float(observations[b, self._pitch])
            metrics["end_height"] = float(observations[b, self._height])
            # the most backward pitch from LEAN_FROM_S on; of an episode over before then, its last
            metrics["pitch_min"] = float(min(lowest_pitch[b], observations[b, self._pitch]))
            before_fall = max(body.steps - self.fall_steps, 0) if terminated[b] else body.steps
            metrics["distance_upright"] = float(travelled[b, before_fall])
            settled = before_fall - settled_from  # body steps walked after the start's transient; NaN if none
            metrics["speed_settled"] = (
                float((travelled[b, before_fall] - travelled[b, settled_from]) / (settled * body.dt_ms / 1000.0))
                if settled > 0
                else math.nan
            )
            if meters is not None:
                metrics.update(meters[b].metrics())  # foot slip under load and swing time
            if schedule is not None:
                for i, (start, end, _) in enumerate(schedule.segments(limit * self.body_dt_ms / 1000.0)):
                    first, last = (int(round(t * 1000.0 / self.body_dt_ms)) for t in (start, end))
                    reached = body.steps >= last
                    metrics[f"speed_segment_{i}"] = (
                        float((travelled[b, last] - travelled[b, first]) / (end - start)) if reached else math.nan
                    )
            episodes.append(Episode(seed, metrics, sets[b], recorder.lane(b)))
        return episodes

    def _commanded(self, sets, defaults, schedule: DriveSchedule | None):
        """A function of each lane's body step (-1: the warm-up) giving the extra drive
        current per lane and neuron (B, N), or None for none: a drive schedule's (the warm-up runs at its first value) plus
        the binding's start drive (during the warm-up and the first ``start_steps`` body steps)."""
        parts = []
        if schedule is not None:
            fanout = self.drive_fanout(schedule.parameter)
            own = np.array([s.get(schedule.parameter, defaults[schedule.parameter]) for s in sets])

            def scheduled(steps):
                distinct, lane = np.unique(steps, return_inverse=True)  # usually one body step for every lane
                value = np.array([schedule.value_at(max(int(s), 0) * self.body_dt_ms / 1000.0) for s in distinct])
                return (value[lane] - own)[:, None] * fanout

            parts.append(scheduled)
        start = self.binding.start
        if start is not None:
            offset = np.array([resolve(start.offset, {**defaults, **s}) for s in sets])
            at_start = offset[:, None] * self.drive_fanout(start.parameter)

            def starting(steps):
                early = steps < self.start_steps
                if not early.any():  # the usual answer once every lane has started
                    return None
                return at_start if early.all() else at_start * early[:, None]

            parts.append(starting)
        if len(parts) < 2:  # none, or the one part itself (no sum to make at every tick)
            return parts[0] if parts else None

        def commanded(steps: np.ndarray) -> np.ndarray | None:
            terms = [c for c in (part(steps) for part in parts) if c is not None]
            return sum(terms[1:], terms[0]) if terms else None

        return commanded

    def _inputs(
        self, observations: np.ndarray, gain: np.ndarray, offset: np.ndarray, commanded: np.ndarray | None = None
    ) -> dict[str, np.ndarray | None]:
        """Afferent currents and Poisson rates per neuron, (B, N) each, from the sensors (plus a commanded drive, mV)."""
        if not self._sensor.size:
            return {"current": commanded, "poisson_rate": None}
        fan = self._currents_only
        if fan is not None:  # one compiled pass, same numbers
            current = _afferent_current(
                np.ascontiguousarray(observations, dtype=np.float64),
                self._sensor,
                gain,
                offset,
                self._aff_low,
                self._aff_high,
                fan.columns,
                fan.group_ptr,
                fan.neuron_group,
            )
            return {"current": current if commanded is None else current + commanded, "poisson_rate": None}
        value = np.clip(offset + gain * observations[:, self._sensor], self._aff_low, self._aff_high)
        current = self._current_fanout(value[:, self._current_columns]) if self._current_fanout is not None else None
        if commanded is not None:
            current = commanded if current is None else current + commanded
        rate = self._rate_fanout(value[:, self._rate_columns]) if self._rate_fanout is not None else None
        return {"current": current, "poisson_rate": rate}


class _StartGate:
    """Per lane, whether its warm-up still runs: until a watched readout rises through a value,
    then ``after`` body steps more (:class:`~encephagen.body.binding.StartPhase`); a lane with no
    rise within ``within`` body steps starts then. Also each lane's body step at a tick of the
    loop (:meth:`steps`), which both loops of :class:`ClosedLoop` count from."""

    def __init__(self, previous: np.ndarray, watched: np.ndarray, threshold: float, *, after: int, within: int):
        self.previous, self.watched, self.threshold = previous, watched, threshold
        self.after, self.within = after, within
        self.left = np.full(len(previous), -1, dtype=np.intp)  # warm-up body steps after the rise; -1: none yet
        self.waiting = np.ones(len(previous), dtype=bool)
        self.any_waiting = bool(len(previous))
        """Whether some lane still waits (``waiting.any()``, kept: the loop asks at every tick)."""
        self.begun = np.zeros(len(previous), dtype=np.intp)  # the tick of each lane's first body step
        self.ticks = 0

    @classmethod
    def open(cls, lanes: int) -> _StartGate:
        """No phase start: every lane's body starts at the first tick."""
        gate = cls(np.zeros((lanes, 0)), np.zeros(0, dtype=np.intp), 0.0, after=0, within=0)
        gate.waiting[:] = gate.any_waiting = False
        return gate

    def steps(self, tick: int) -> np.ndarray:
        """Each lane's body step at loop tick ``tick`` (-1 while its warm-up still runs)."""
        return np.where(self.waiting, -1, tick - self.begun) if self.any_waiting else tick - self.begun

    @property
    def longest(self) -> int:
        """The most body steps a lane waits."""
        return self.within + self.after

    def update(self, readouts: np.ndarray) -> np.ndarray:
        """After one more body step of warm-up (readouts (B, R) at its end): the lanes whose body starts next."""
        self.ticks += 1
        now = readouts[:, self.watched]
        rose = np.any((self.previous <= self.threshold) & (now > self.threshold), axis=1)
        self.previous = now
        counting = self.waiting & (self.left > 0)
        self.left[counting] -= 1
        fresh = self.waiting & (self.left < 0) & (rose | (self.ticks >= self.within))
        self.left[fresh] = np.where(rose[fresh], self.after, 0)
        starting = self.waiting & (self.left == 0)
        self.waiting &= ~starting
        self.any_waiting = bool(self.waiting.any())
        self.begun[starting] = self.ticks
        return starting


class _Fanout:
    """Afferent values -> per-neuron input: each population receives the sum of the afferents that feed it.

    Summed once per population and then written onto its neurons, instead of a dense (afferents x
    neurons) product: the product cost more than the circuit's kernel on a 680-neuron Humanoid
    circuit fed by 1,452 afferents. Each population's sum runs in binding order from zero, so for
    up to two afferents per population it equals the dense product's bit for bit (its extra terms
    are zeros); one compiled pass does it, as a pass per afferent rank in numpy cost ~0.1 ms per
    body step on a Humanoid circuit with ~40 afferents per population.
    """

    def __init__(self, group_ptr: np.ndarray, columns: np.ndarray, neuron_group: np.ndarray):
        self.group_ptr, self.columns, self.neuron_group = group_ptr, columns, neuron_group

    @classmethod
    def of(cls, slices: list[slice], n_neurons: int) -> _Fanout | None:
        if not slices:
            return None
        members: dict[tuple[int, int], list[int]] = {}
        group_of_neuron = np.full(n_neurons, -1, dtype=np.intp)
        for i, part in enumerate(slices):
            key = (part.start, part.stop)
            if key not in members:
                group_of_neuron[part] = len(members)
                members[key] = []
            members[key].append(i)
        sizes = [len(group) for group in members.values()]
        group_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        columns = np.array([i for group in members.values() for i in group], dtype=np.intp)
        return cls(group_ptr, columns, group_of_neuron)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return _fan_out(np.ascontiguousarray(values, dtype=np.float64), self.group_ptr, self.columns, self.neuron_group)


@numba.njit(cache=True)
def _fan_out(values, group_ptr, columns, neuron_group):
    lanes, n_groups = values.shape[0], len(group_ptr) - 1
    out = np.zeros((lanes, len(neuron_group)))
    sums = np.empty(n_groups)
    for b in range(lanes):
        for g in range(n_groups):
            total = 0.0
            for k in range(group_ptr[g], group_ptr[g + 1]):
                total += values[b, columns[k]]
            sums[g] = total
        for i in range(len(neuron_group)):
            if neuron_group[i] >= 0:
                out[b, i] = sums[neuron_group[i]]
    return out


@numba.njit(cache=True)
def _afferent_current(observations, sensor, gain, offset, low, high, fan_columns, group_ptr, neuron_group):
    """:meth:`ClosedLoop._inputs` for a binding whose afferents are all currents, in one compiled call:
    each afferent's ``clip(offset + gain * sensor, low, high)`` as NumPy computes it (the product, then
    the sum; ``np.clip``'s ``min(max(x, low), high)`` with its NaN and signed-zero rules), then
    :func:`_fan_out`. ~3 us instead of ~30 us of NumPy calls per body step on humanoid_cpg's 1,000-odd
    afferents."""
    values = np.empty((observations.shape[0], len(sensor)))
    for b in range(observations.shape[0]):
        for a in range(len(sensor)):
            values[b, a] = _clip(offset[b, a] + gain[b, a] * observations[b, sensor[a]], low[a], high[a])
    return _fan_out(values, group_ptr, fan_columns, neuron_group)


@numba.njit(cache=True, inline="always")
def _clip(x, low, high):
    """``np.clip(x, low, high)`` of one number: ``min(max(x, low), high)`` with NumPy's NaN and signed-zero rules."""
    x = x if math.isnan(x) else (x if x > low else low)
    return x if math.isnan(x) else (x if x < high else high)


@numba.njit(cache=True)
def _motor_outputs(command, observations, kp, kd, setpoint, joint_angle, joint_velocity, low, high, columns, out):
    """:meth:`ClosedLoop.motor_actions` into ``out[:, columns]``, each number as NumPy computes it: the reflex
    ``kp * (target - angle) - kd * velocity`` in that order, then :func:`_clip`."""
    for b in range(command.shape[0]):
        for m in range(command.shape[1]):
            x = command[b, m]
            if setpoint[m]:
                x = kp[b, m] * (x - observations[b, joint_angle[m]]) - kd[b, m] * observations[b, joint_velocity[m]]
            out[b, columns[m]] = _clip(x, low[m], high[m])


@numba.njit(cache=True)
def _account(running, observations, pitch_column, action, tick, begun, lean_from, tilt, lowest_pitch, effort):
    """After a body step, each running lane's sums for its metrics: |torso pitch| (tilt), the lowest pitch
    from ``lean_from`` body steps of its episode on, and the mean squared action (effort). Each number as
    NumPy's ``+=``, ``np.minimum`` and ``np.square(action).sum(axis=1) / n`` give it; one compiled call of
    ~1 us instead of NumPy's ~15 us per body step."""
    n = action.shape[1]
    squares = np.empty(n)
    for b in running:
        pitch = observations[b, pitch_column]
        tilt[b] += abs(pitch)
        if tick - begun[b] >= lean_from:
            lowest = lowest_pitch[b]
            lowest_pitch[b] = lowest if lowest <= pitch or math.isnan(lowest) else pitch
        for i in range(n):
            squares[i] = action[b, i] * action[b, i]
        effort[b] += _pairwise_sum(squares, 0, n) / n


@numba.njit(cache=True)
def _pairwise_sum(values, first, n):
    """NumPy's pairwise summation of ``values[first:first + n]``, bit for bit (``np.add.reduce`` gives 0.0
    plus it): NumPy halves a run longer than 128 terms at a multiple of 8 until each piece is a
    :func:`_block_sum`, then adds the halves back up; its recursion is run here with a stack (numba
    cannot load a recursive function from its cache)."""
    if n <= 128:
        return _block_sum(values, first, n)
    depth = 64  # a stack deeper than any array: each level halves the run
    starts, sizes, stage = np.empty(depth, np.int64), np.empty(depth, np.int64), np.zeros(depth, np.int64)
    sums, n_sums, top = np.empty(depth), 0, 0
    starts[0], sizes[0] = first, n
    while top >= 0:
        size = sizes[top]
        half = size // 2 - (size // 2) % 8
        if size <= 128:  # a leaf: its block sum
            sums[n_sums] = _block_sum(values, starts[top], size)
            n_sums += 1
            top -= 1
        elif stage[top] < 2:  # its first, then its second half
            offset = 0 if stage[top] == 0 else half
            stage[top] += 1
            top += 1
            starts[top], sizes[top], stage[top] = starts[top - 1] + offset, half if offset == 0 else size - half, 0
        else:  # both halves summed: their sum
            n_sums -= 1
            sums[n_sums - 1] += sums[n_sums]
            top -= 1
    return sums[0]


@numba.njit(cache=True)
def _block_sum(values, first, n):
    """NumPy's sum of a run of at most 128 terms: below 8 one after another from -0.0, else in 8
    interleaved partial sums, added pairwise, then the terms left over."""
    if n < 8:
        total = -0.0
        for i in range(first, first + n):
            total += values[i]
        return total
    partial = values[first : first + 8].copy()
    whole = first + n - n % 8
    for i in range(first + 8, whole, 8):
        for j in range(8):
            partial[j] += values[i + j]
    total = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + (
        (partial[4] + partial[5]) + (partial[6] + partial[7])
    )
    for i in range(whole, first + n):
        total += values[i]
    return total


def _bound(value: float | None, is_rate: bool, default: float) -> float:
    if is_rate:
        return max(0.0, value) if value is not None else 0.0
    return default if value is None else value


class _Recorder:
    """Trajectories of every lane while it is active (nothing kept unless asked)."""

    def __init__(self, bodies: list, enabled: bool, observations: np.ndarray):
        self.bodies, self.enabled = bodies, enabled
        self.rows: list[list[dict[str, np.ndarray]]] = [[] for _ in bodies]
        self.start = (
            [(b.data.qpos.copy(), b.data.qvel.copy(), o.copy()) for b, o in zip(bodies, observations)]
            if enabled
            else []
        )

    def add(self, action, rates, counts, observations, dt_ms: float) -> None:
        if not self.enabled:
            return
        for b, body in enumerate(self.bodies):
            if len(self.rows[b]) < body.steps:
                self.rows[b].append(
                    {
                        "qpos": body.data.qpos.copy(),
                        "qvel": body.data.qvel.copy(),
                        "action": action[b].copy(),
                        "readouts": rates[b].copy(),
                        "population_rates_hz": np.asarray(counts[b], float) / dt_ms * 1000.0,
                        "observation": observations[b].copy(),
                    }
                )

    def lane(self, b: int) -> dict[str, np.ndarray] | None:
        if not self.enabled:
            return None
        rows = self.rows[b]
        out = {key: np.array([r[key] for r in rows]) for key in ("action", "readouts", "population_rates_hz")}
        for key, first in zip(("qpos", "qvel", "observation"), self.start[b]):
            out[key] = np.array([first] + [r[key] for r in rows])
        return out


class GaitMeter:
    """How a body's feet meet the floor, accumulated after each body step: slip under load and swing time.

    * ``slip`` (m/s): the mean horizontal speed of the foot's contact point over every
      foot-floor contact, weighted by its normal force -- 0 for feet that grip where they
      land, larger for a gait that skates its loaded feet along the floor;
    * ``air_ms``: the mean time a foot spends off the floor before it touches down again
      (over the episode's touchdowns after the foot's first contact; 0 with none).

    "Feet" are the body's contact-sensor geom groups (Walker2d: ``right_foot``, ``left_foot``);
    a foot's contact with anything but another foot counts (on Walker2d, the floor), one
    between two feet does not. Measured from MuJoCo's contacts after
    each step (``mj_contactForce``, ``mj_objectVelocity``), so it works for any controller
    that steps the body; it changes nothing in the body.
    """

    def __init__(self, body):
        import mujoco

        self.body = body
        self._mujoco = mujoco
        self._groups = len(body._contact_groups)
        self._velocity = np.zeros(6)
        self.reset()

    def reset(self) -> None:
        """Forget everything measured (call at the episode's start)."""
        self._slip, self._load = 0.0, 0.0
        self._air = np.full(self._groups, -1)  # steps off the floor since the last contact; -1 before the first
        self._flights: list[int] = []

    def add(self) -> None:
        """Account the body's present contacts (call after each body step)."""
        model, data, mujoco = self.body.model, self.body.data, self._mujoco
        touching = np.zeros(self._groups, dtype=bool)
        for c, group, geom, load in self.body.floor_contacts():
            touching[group] = True
            if load <= 0.0:
                continue
            # the contact point's horizontal speed
            self._slip += load * math.hypot(*contact_point_velocity(mujoco, model, data, c, geom, self._velocity))
            self._load += load
        for g in range(self._groups):
            if touching[g]:
                if self._air[g] > 0:
                    self._flights.append(int(self._air[g]))
                self._air[g] = 0
            elif self._air[g] >= 0:
                self._air[g] += 1

    def metrics(self) -> dict[str, float]:
        """``slip`` (m/s) and ``air_ms`` of everything added since :meth:`reset`."""
        return {
            "slip": float(self._slip / self._load) if self._load > 0 else 0.0,
            "air_ms": float(np.mean(self._flights)) * self.body.dt_ms if self._flights else 0.0,
        }


def evaluate_walk(
    circuit,
    binding: Binding,
    seeds: Sequence[int],
    *,
    parameters: Sequence[Mapping[str, float]] | None = None,
    dt: float | None = None,
    max_steps: int | None = None,
    base_dir=None,
    network=None,
    perturbations: Sequence[Perturbation | str] = (),
    drive_schedule: DriveSchedule | None = None,
    gait_meter: bool = False,
) -> list[dict[str, Any]]:
    """Episode metrics of every (parameter set, seed) pair, run as lanes of one closed loop.

    The calibration objective's evaluator: ``result[i * len(seeds) + j]`` is parameter set i
    on ``seeds[j]``, a dict with steps, distance, speed, reward, full, fell, seed, set.

    Parameters
    ----------
    circuit
        A loaded circuit (its parameters include any binding gains to tune).
    binding
        Its binding.
    seeds
        Body and circuit seeds.
    parameters
        Parameter sets (default: the circuit's own values only).
    dt
        Circuit time step (ms); must divide the body step. Default: the binding's ``dt_ms``, else 0.1.
    network
        An already compiled network of ``circuit`` at ``dt`` (saves compiling per call).
    perturbations, drive_schedule, gait_meter
        As for :meth:`ClosedLoop.run`.
    """
    from ..compiler import compile_circuit

    network = network or compile_circuit(circuit, dt=binding.circuit_dt(dt))
    loop = ClosedLoop(network, binding, base_dir=base_dir)
    sets = list(parameters) if parameters is not None else [{}]
    lane_sets = [dict(s) for s in sets for _ in seeds]
    lane_seeds = [int(seed) for _ in sets for seed in seeds]
    episodes = loop.run(
        lane_seeds,
        parameters=lane_sets if parameters is not None else None,
        max_steps=max_steps,
        perturbations=perturbations,
        drive_schedule=drive_schedule,
        gait_meter=gait_meter,
    )
    return [{**e.metrics, "seed": e.seed, "set": i // len(seeds)} for i, e in enumerate(episodes)]


def run_with_baselines(
    loop: ClosedLoop,
    seeds: Sequence[int],
    *,
    max_steps: int | None = None,
    record_first: bool = False,
    perturbations: Sequence[Perturbation | str] = (),
    baselines: Sequence[str] | None = None,
    extra: Mapping[str, ClosedLoop] | None = None,
) -> dict[str, Any]:
    """The circuit's episodes beside the zero-action and best-constant baselines, same seeds.

    With ``perturbations`` every controller runs under the same perturbation draws (they
    come from the episode seed). ``baselines`` keeps only the named baselines (default:
    all); ``extra`` adds other closed loops (e.g. ``{"no afferents": ...}``) run on the same seeds.

    Also run: the binding's own offsets with every readout at 0 ("offsets"), which tells how
    much of the result the circuit's activity adds. Returns ``{"controllers": {name: {"episodes": [...], "aggregate": {...}}}, "trajectory":
    first circuit episode's trajectory or None}``. The others are the body's
    :func:`~encephagen.body.baselines.reference_controllers` (on Walker2d: zero, best constant,
    tuned sine walker; elsewhere zero).
    """
    seeds = [int(s) for s in seeds]
    perturbations = parse_perturbations(perturbations)
    episodes = loop.run(seeds, max_steps=max_steps, record=record_first, perturbations=perturbations)
    plain = make_bound_body(loop.binding, loop.base_dir)
    if max_steps is not None:
        plain.max_steps = min(plain.max_steps, max_steps)
    body = perturbed(plain, perturbations)
    controllers: dict[str, list[dict[str, float]]] = {"circuit": [{"seed": e.seed, **e.metrics} for e in episodes]}
    for name, other in (extra or {}).items():
        controllers[name] = [
            {"seed": e.seed, **e.metrics} for e in other.run(seeds, max_steps=max_steps, perturbations=perturbations)
        ]
    available = {"offsets": loop.offset_controller(), **reference_controllers(plain)}
    if baselines is not None:
        unknown = sorted(set(baselines) - set(available))
        if unknown:
            raise BodyError(f"baselines: unknown controller(s) {unknown}; this body has {sorted(available)}")
    for name, controller in available.items():
        if baselines is None or name in baselines:
            controllers[name] = [{"seed": s, **run_episode(body, controller, s)} for s in seeds]
    return {
        "controllers": {name: {"episodes": eps, "aggregate": aggregate(eps)} for name, eps in controllers.items()},
        "trajectory": episodes[0].trajectory,
    }


def without_afferents(circuit, binding: Binding):
    """The circuit without every population its binding feeds, and the binding without them.

    For walker2d_cpg: hip Ia, load Ib and vestibulospinal populations are removed by
    :func:`encephagen.compiler.lesion` (with their projections and readout terms); the
    binding loses the afferents into them and motor terms whose readout vanished. What is
    left is the spinal rhythm generator driving the legs open loop (a deafferented cord).
    """
    fed = sorted({a.population for a in binding.afferents.values()})
    if not fed:
        raise BodyError(f"binding for {binding.circuit!r} feeds no population: there are no afferents to remove")
    return lesioned(circuit, binding, fed)


def lesioned(circuit, binding: Binding, names: Sequence[str]):
    """The circuit without the named populations, projections or cell classes
    (:func:`encephagen.compiler.lesion`, with their projections and readout terms), and the binding
    without its afferent entries into the removed populations and the motor terms whose readout
    vanished: a lesion in closed loop, where the body's input to a removed nucleus goes too."""
    from ..compiler import lesion

    kept = lesion(circuit, names)
    afferents = {name: a for name, a in binding.afferents.items() if a.population in kept.populations}
    motors = {
        name: m.model_copy(update={"terms": [t for t in m.terms if t.readout in kept.readouts]})
        for name, m in binding.motors.items()
    }
    start = binding.start  # kept while some population still takes its drive
    if start is not None and not _driven_by(kept, start.parameter):
        start = None
    phase = binding.start_phase  # kept while every readout it watches is
    if phase is not None and not set(phase.readouts) <= set(kept.readouts):
        phase = None
    update = {"afferents": afferents, "motors": motors, "start": start, "start_phase": phase}
    return kept, binding.model_copy(update=update)


def commanded_populations(circuit, parameter: str) -> dict[str, float]:
    """The populations a drive schedule of ``parameter`` reaches, with its ParamRef factor; a BodyError
    naming the circuit's population drives when ``parameter`` is unknown or drives no population."""
    drives = sorted({p.drive.param for p in circuit.populations.values() if hasattr(p.drive, "param")})
    if parameter not in circuit.parameters:
        raise BodyError(f"drive schedule: unknown circuit parameter {parameter!r}; population drives here: {drives}")
    driven = _driven_by(circuit, parameter)
    if not driven:
        raise BodyError(
            f"drive schedule: parameter {parameter!r} is no population's drive, so it cannot be commanded during an episode; population drives here: {drives}"
        )
    return driven


def _driven_by(circuit, parameter: str) -> dict[str, float]:
    """The populations whose drive is circuit parameter ``parameter``, with its ParamRef factor."""
    return {
        name: population.drive.factor
        for name, population in circuit.populations.items()
        if getattr(population.drive, "param", None) == parameter
    }


WALK_TARGETS: dict[str, float] = {"distance_m": 4.0, "steps": 1000.0}
"""Default walking targets: 4 m in a full 1000-step episode, the distance a walk must cover to count."""


def walk_objective_terms(
    episodes_metrics: Sequence[Mapping[str, float]], targets: Mapping[str, float] = WALK_TARGETS
) -> dict[str, float]:
    """Dimensionless loss terms (about [0, 1] each, 0 is perfect) of a set of walking episodes.

    * ``distance``: shortfall of the mean forward distance from its target, relative
      (walking backwards costs more than 1); the distance covered upright
      (``distance_upright``, which :class:`ClosedLoop` measures: a fall's last
      :data:`FALL_MS` left out) when every episode has it;
    * ``survival``: fraction of the target steps lost, averaged over episodes (a fall is
      what ends an episode early, so survival alone cannot reward a constant stance: it
      is paired with distance);
    * ``upright``: mean |torso pitch| over the episode in rad (``pitch_abs_mean``, which
      :class:`ClosedLoop` measures), when every episode has it;
    * ``effort``: mean squared action (``effort``), likewise.

    >>> walk_objective_terms([{"distance": 2.0, "steps": 500}, {"distance": 4.0, "steps": 1000}])
    {'distance': 0.25, 'survival': 0.25}
    """
    key = "distance_upright" if all("distance_upright" in e for e in episodes_metrics) else "distance"
    distance = float(np.mean([e[key] for e in episodes_metrics]))
    steps = np.array([e["steps"] for e in episodes_metrics], dtype=float)
    terms = {
        "distance": max(0.0, (targets["distance_m"] - distance) / targets["distance_m"]),
        "survival": float(np.mean(np.clip(1.0 - steps / targets["steps"], 0.0, 1.0))),
    }
    for key, metric in (("upright", "pitch_abs_mean"), ("effort", "effort")):
        if all(metric in e for e in episodes_metrics):
            terms[key] = float(np.mean([e[metric] for e in episodes_metrics]))
    return terms
