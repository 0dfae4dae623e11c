"""Start a body calibration where the circuit already imitates a reference controller.

Two references: a rhythm (:func:`fit_to_rhythm`, a walker's open-loop gait at the circuit's
own phase) and any feedback controller (:func:`fit_to_controller`, e.g. the LQR stander of
:mod:`encephagen.body.lqr`): its episodes are recorded, the circuit is driven by the recorded
sensor values, and the binding is fitted so that the circuit's commands reproduce the
controller's actions on those states.

Calibrating a walker from arbitrary binding gains ends, as a rule, in a stance: standing
still is a wide, easy optimum, and walking a narrow one. A low-dimensional controller that
walks (a tuned sine gait, :class:`~encephagen.body.baselines.SineGait`) shows where the
narrow one is. Here the circuit runs open loop (sensors held at 0, the body at rest), its
readouts are recorded, and the binding parameters named by the caller are fitted by linear
least squares so that the motor commands reproduce the controller's actions at the circuit's
own phase of the cycle. The fit is a starting point for ``encephagen calibrate --objective
walk``, which then tunes the circuit and the binding in the closed loop.

A motor command is linear in its gains and offset (``offset + sum(gain * readout)``), so
every parameter a binding names is one column of a design matrix: the sum, over the motors
and terms that use it, of its factor times the readout (or times 1 for an offset). Terms
whose gains are not fitted keep their values and are subtracted from the target.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import BodyError, UnknownNameError
from ..schema import ParamRef
from ..seeds import check_calibration_seeds
from .binding import resolve


def rhythm_phase(signal: np.ndarray, hysteresis: float = 0.2) -> np.ndarray:
    """Cycle phase in [0, 1) of each sample, from the signal's upward crossings of its mean.

    A crossing counts once the signal has been below ``mean - hysteresis * sd`` and rises
    above ``mean + hysteresis * sd`` (wobbles within that band make no cycles); the phase grows linearly
    from one crossing to the next. Samples outside complete cycles are NaN.

    >>> t = np.arange(400)
    >>> phase = rhythm_phase(np.sin(2 * np.pi * t / 100))
    >>> bool(np.isnan(phase[:20]).all()), round(float(phase[150]), 2), round(float(phase[199]), 2)
    (True, 0.47, 0.96)
    """
    signal = np.asarray(signal, dtype=float)
    mean, band = signal.mean(), hysteresis * signal.std()
    onsets, armed = [], False
    for t, value in enumerate(signal):
        if value < mean - band:
            armed = True
        elif armed and value > mean + band:
            onsets.append(t)
            armed = False
    phase = np.full(len(signal), np.nan)
    for first, last in itertools.pairwise(onsets):
        phase[first:last] = (np.arange(first, last) - first) / (last - first)
    return phase


@dataclass(frozen=True)
class Imitation:
    """A least-squares fit of binding parameters to a reference controller."""

    values: dict[str, float]
    """The fitted parameters, ready for ``circuit.parameters[name].value``."""
    r2: dict[str, float]
    """Per motor: the share of the target's variance the fitted command explains."""
    shift: float
    """Cycles by which the reference is shifted against the circuit's phase (best of the grid;
    0 for a feedback controller)."""
    rms: float
    """Root-mean-square difference between fitted commands and targets (action units)."""


def _checked_inputs(loop, names: Sequence[str], seeds: Sequence[int]) -> list[str]:
    """The parameter names to fit, each known to the circuit, once the seeds are calibration seeds."""
    check_calibration_seeds(seeds, "imitation seeds")
    known = set(loop.network.parameter_values())
    for name in names:
        if name not in known:
            raise UnknownNameError("parameter", name, sorted(known))
    return list(names)


def fit_to_rhythm(
    loop,
    gait,
    names: Sequence[str],
    *,
    phase_readout: str,
    seeds: Sequence[int] = (1_000_011, 1_000_012, 1_000_013),
    steps: int = 1200,
    skip: int = 100,
    shifts: int = 72,
) -> Imitation:
    """Fit the binding parameters ``names`` so that the circuit's commands imitate ``gait``.

    Parameters
    ----------
    loop
        The :class:`~encephagen.body.loop.ClosedLoop` of the circuit and binding.
    gait
        A rhythmic reference with ``actions_at_phase(cycles) -> (T, n_actuators)``, e.g.
        :class:`~encephagen.body.baselines.SineGait` (its pitch feedback is not imitated here:
        feedback gains are set, or calibrated, separately). For setpoint motors its values are
        the joint-angle targets (rad).
    names
        Circuit parameters used as gains or offsets in the binding's motors.
    phase_readout
        The readout whose cycle defines the circuit's phase (:func:`rhythm_phase`).
    seeds, steps, skip
        Open-loop runs: noise seeds (calibration seeds only: the fit sets values that ship),
        body steps each, and steps left out at the start.
    shifts
        Phase shifts of the reference tried (a grid over one cycle); the best fit is kept.
    """
    names = _checked_inputs(loop, names, seeds)
    if phase_readout not in loop.readout_names:
        raise UnknownNameError("readout", phase_readout, loop.readout_names)
    readouts = loop.readouts_at_rest(seeds, steps)[:, skip:]
    phases = [rhythm_phase(lane[:, loop.readout_names.index(phase_readout)]) for lane in readouts]
    if not all(np.isfinite(p).sum() > 0 for p in phases):
        raise BodyError(
            f"readout {phase_readout!r} completes no cycle in {steps - skip} body steps of open loop; the circuit must be rhythmic to imitate a gait"
        )
    samples = np.concatenate([lane[np.isfinite(p)] for lane, p in zip(readouts, phases)])  # (S, R)
    phase = np.concatenate([p[np.isfinite(p)] for p in phases])
    design, fixed, actuators = _design(loop, samples, names)
    # torque motors imitate the clipped action; setpoint motors a joint-angle target, which has no action range
    low = np.where(loop.motor_setpoint, -np.inf, loop.motor_low)
    high = np.where(loop.motor_setpoint, np.inf, loop.motor_high)
    grid = np.arange(shifts) / shifts
    # one target column per shift, motor-major like the design's rows: every shift is solved in one factorisation
    targets = np.stack(
        [(np.clip(gait.actions_at_phase(phase + shift)[:, actuators], low, high) - fixed).T for shift in grid]
    )  # (K, M, S)
    matrix = design.reshape(-1, len(names))
    coefs, *_ = np.linalg.lstsq(matrix, targets.reshape(len(grid), -1).T, rcond=None)  # (P, K)
    errors = np.mean((matrix @ coefs - targets.reshape(len(grid), -1).T) ** 2, axis=0)
    best = int(np.argmin(errors))
    coef, target = coefs[:, best], targets[best]
    fitted = np.einsum("msp,p->ms", design, coef)
    motors = list(loop.binding.motors)
    r2 = {
        m: 1.0 - float(np.mean((fitted[i] - target[i]) ** 2) / max(np.var(target[i]), 1e-12))
        for i, m in enumerate(motors)
    }
    return Imitation({n: float(v) for n, v in zip(names, coef)}, r2, float(grid[best]), math.sqrt(float(errors[best])))


def _design(loop, samples: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Design matrix (M, S, P) of the fitted parameters, the fixed part of each command (S, M),
    and each motor's actuator index."""
    values = loop.network.parameter_values()
    motors = list(loop.binding.motors.values())
    design = np.zeros((len(motors), len(samples), len(names)))
    fixed = np.zeros((len(samples), len(motors)))

    def add(m: int, value, signal) -> None:
        if isinstance(value, ParamRef) and value.param in names:
            design[m, :, names.index(value.param)] += value.factor * signal
        else:
            fixed[:, m] += resolve(value, values) * signal

    for m, motor in enumerate(motors):
        add(m, motor.offset, np.ones(len(samples)))
        for term in motor.terms:
            add(m, term.gain, samples[:, loop.readout_names.index(term.readout)])
    return design, fixed, loop.motor_actuators


def record_controller(
    body, controller_factory, seeds: Sequence[int], *, steps: int | None = None, noise: float = 0.0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(observations (T, n_sensors), actions (T, n_actuators)) of one episode per seed.

    Row t holds the observation the controller saw and the action it chose at step t.
    ``controller_factory(body)`` builds the controller (it may read ``body``'s MuJoCo state).
    With ``noise``, the body gets the action plus Gaussian noise of that sd (seeded by the
    episode's seed), while the recorded action stays the controller's: a stabilising
    controller otherwise keeps the body so still that its states say little about its gains.
    """
    controller = controller_factory(body)
    episodes = []
    for seed in seeds:
        rng = np.random.default_rng(int(seed))
        observation, _ = body.reset(int(seed))
        observations, actions = [], []
        for step in range(steps or body.max_steps):
            action = np.asarray(controller(step, observation), dtype=float)
            observations.append(observation)
            actions.append(action)
            result = body.step(
                np.clip(action + noise * rng.standard_normal(action.shape), body.action_low, body.action_high)
                if noise
                else action
            )
            observation = result.observation
            if result.terminated or result.truncated:
                break
        episodes.append((np.array(observations), np.array(actions)))
    return episodes


def readouts_on_observations(
    loop, observations: Sequence[np.ndarray], seeds: Sequence[int], *, parameters=None
) -> list[np.ndarray]:
    """The circuit's readouts (T, R) when its afferents read ``observations`` (T, n_sensors), one lane per seed.

    Episodes of different lengths: each lane is padded with its last row and cut back
    (:meth:`~encephagen.body.loop.ClosedLoop.readouts_on` runs them as the closed loop would).
    """
    length = max(len(o) for o in observations)
    padded = np.stack(
        [np.concatenate([o, np.repeat(o[-1:], length - len(o), axis=0)]) for o in observations]
    )  # (B, T, S)
    out = loop.readouts_on(padded, seeds, parameters=parameters)
    return [out[b, : len(o)] for b, o in enumerate(observations)]


def fit_to_controller(
    loop,
    controller_factory,
    names: Sequence[str],
    *,
    seeds: Sequence[int],
    steps: int | None = None,
    skip: int = 0,
    noise: float = 0.0,
) -> Imitation:
    """Fit the binding parameters ``names`` so that the circuit's commands reproduce a feedback controller.

    Parameters
    ----------
    loop
        The :class:`~encephagen.body.loop.ClosedLoop` of the circuit and binding.
    controller_factory
        ``controller_factory(body) -> controller``: the reference, e.g.
        ``lambda body: lqr_stander(body).controller(body)``.
    names
        Circuit parameters used as gains or offsets in the binding's motors.
    seeds
        One recorded episode of the reference per seed (body reset and circuit noise);
        calibration seeds only, as the fitted values ship.
    steps, skip
        Body steps per episode (default: the body's limit) and steps left out at the start.
    noise
        Sd of the Gaussian noise added to the reference's actions while recording (see
        :func:`record_controller`).
    """
    from .binding import make_bound_body

    names = _checked_inputs(loop, names, seeds)
    body = make_bound_body(loop.binding, loop.base_dir)
    episodes = record_controller(body, controller_factory, seeds, steps=steps, noise=noise)
    readouts = readouts_on_observations(loop, [o for o, _ in episodes], seeds)
    samples = np.concatenate([r[skip:] for r in readouts])
    actions = np.concatenate([a[skip:] for _, a in episodes])
    if not len(samples):
        raise BodyError(f"the reference's episodes are no longer than skip={skip} steps; nothing to fit")
    design, fixed, actuators = _design(loop, samples, names)
    target = (np.clip(actions[:, actuators], loop.motor_low, loop.motor_high) - fixed).T  # (M, S)
    matrix = design.reshape(-1, len(names))
    coef, *_ = np.linalg.lstsq(matrix, target.reshape(-1), rcond=None)
    fitted = np.einsum("msp,p->ms", design, coef)
    motors = list(loop.binding.motors)
    r2 = {
        m: 1.0 - float(np.mean((fitted[i] - target[i]) ** 2) / max(np.var(target[i]), 1e-12))
        for i, m in enumerate(motors)
    }
    rms = math.sqrt(float(np.mean((fitted - target) ** 2)))
    return Imitation({n: float(v) for n, v in zip(names, coef)}, r2, 0.0, rms)
