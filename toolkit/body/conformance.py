"""The conformance checker every body passes (the tests run it on each adapter).

Like Gymnasium's ``check_env``: a short seeded episode through the public contract,
checking shapes, names, types, determinism and the order rules (no step before reset,
none after the end), so that a new body (an MJCF file of someone's own) fails here, with
every problem listed, rather than deep inside a closed loop.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..errors import BodyError, UnknownNameError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:+\-<>]*$")


def check_body(body, *, seed: int = 0, n_steps: int = 20) -> None:
    """Run ``n_steps`` seeded steps of ``body`` twice and check the adapter contract.

    Parameters
    ----------
    body
        A fresh body, never reset (a :class:`~encephagen.body.adapters.MujocoBody` or anything with its
        attributes and methods).
    seed
        Reset seed of the test episode.
    n_steps
        Steps per test episode (an episode that ends earlier is fine).

    Raises
    ------
    BodyError
        Listing every broken rule, one per line.
    """
    problems: list[str] = []

    def expect(ok: bool, message: str) -> None:
        if not ok:
            problems.append(f"{body.name}: {message}")

    expect(isinstance(body.dt_ms, float) and body.dt_ms > 0, f"dt_ms must be a positive float (ms); got {body.dt_ms!r}")
    for kind, names in (("sensor", body.sensor_names), ("actuator", body.actuator_names)):
        expect(len(names) > 0, f"has no {kind}s")
        expect(
            len(set(names)) == len(names),
            f"{kind} names are not unique: {sorted(n for n in set(names) if list(names).count(n) > 1)}",
        )
        bad = [n for n in names if not _NAME.match(n)]
        expect(not bad, f"{kind} names that are not identifiers: {bad}")
    for name in ("torso_pitch", "torso_pitch_rate", "torso_height"):
        expect(name in body.sensor_names, f"lacks the standard sensor {name!r}")
    n_act = len(body.actuator_names)
    expect(
        body.action_low.shape == (n_act,) and body.action_high.shape == (n_act,),
        "action_low/high do not match the actuators",
    )
    expect(bool(np.all(body.action_low < body.action_high)), "an actuator's range is empty (low >= high)")
    for name in (body.sensor_names[0], body.actuator_names[0]):
        index = body.sensor_index(name) if name in body.sensor_names else body.actuator_index(name)
        expect(index == 0, f"index of {name!r} is {index}, not 0")
    for lookup in (body.sensor_index, body.actuator_index):
        try:
            lookup("no_such_name")
            problems.append(f"{body.name}: {lookup.__name__}('no_such_name') did not raise")
        except UnknownNameError:
            pass
    _expect_raises(body, np.zeros(n_act), "step() before reset()", problems)
    body.reset(seed)
    _expect_raises(body, np.zeros(n_act + 1), "an action of the wrong shape", problems)
    _expect_raises(body, np.full(n_act, np.nan), "a NaN action", problems)

    runs = [_episode(body, seed, n_steps, expect, problems) for _ in range(2)]
    expect(
        all(np.array_equal(a, b) for a, b in zip(runs[0][0], runs[1][0])) and runs[0][1] == runs[1][1],
        f"the same seed ({seed}) and actions gave different trajectories",
    )
    if problems:
        raise BodyError("\n".join(problems))


def _episode(body, seed: int, n_steps: int, expect, problems: list[str]) -> tuple[list[np.ndarray], list[float]]:
    """One test episode with seeded random actions inside the actuator ranges."""
    observation, info = body.reset(seed)
    n_sensors = len(body.sensor_names)
    expect(
        isinstance(observation, np.ndarray) and observation.shape == (n_sensors,) and observation.dtype == np.float64,
        f"reset() must return a float64 array of shape ({n_sensors},); got {getattr(observation, 'shape', type(observation))}",
    )
    expect(isinstance(info, dict), "reset() must return (observation, info dict)")
    expect(body.steps == 0 and abs(body.distance) < 1e-12, "after reset() steps and distance must be 0")
    rng = np.random.default_rng(seed)
    low, high = np.maximum(body.action_low, -1.0), np.minimum(body.action_high, 1.0)
    observations, rewards = [observation], []
    for step in range(n_steps):
        result = body.step(rng.uniform(low, high))
        observation, reward, terminated, truncated, info = result
        expect(
            observation.shape == (n_sensors,) and bool(np.all(np.isfinite(observation))),
            f"step {step}: observation not finite or of the wrong shape",
        )
        expect(
            isinstance(reward, float) and math.isfinite(reward),
            f"step {step}: reward must be a finite float; got {reward!r}",
        )
        expect(
            isinstance(terminated, bool) and isinstance(truncated, bool),
            f"step {step}: terminated/truncated must be bool",
        )
        expect(isinstance(info, dict) and "x_position" in info, f"step {step}: info must be a dict with 'x_position'")
        expect(body.steps == step + 1, f"step {step}: steps counter is {body.steps}")
        observations.append(observation)
        rewards.append(reward)
        if terminated or truncated:
            _expect_raises(body, np.zeros(len(body.actuator_names)), "step() after the episode ended", problems)
            break
    return observations, rewards


def _expect_raises(body, action: np.ndarray, what: str, problems: list[str]) -> None:
    """Check that stepping with ``action`` in the body's current state raises BodyError."""
    try:
        body.step(action)
    except BodyError:
        return
    except Exception as exc:  # the contract is BodyError; anything else is reported, not raised
        problems.append(f"{body.name}: {what} raised {type(exc).__name__} ({exc}) instead of BodyError")
        return
    problems.append(f"{body.name}: {what} did not raise BodyError")
