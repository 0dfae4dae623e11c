"""Perturbed episodes: pushes, mass, friction, slope, sensor noise and motor delay, seeded per episode.

A gait tested only against reset noise has not been tested. Each perturbation here is a
small typed object; :class:`PerturbedBody` wraps any body with a list of them and keeps the
body's ``reset(seed)``/``step(action)`` contract, so the circuit's closed loop and every
baseline controller run under *the same draws*: everything random (push times and
directions, sensor noise) comes from a generator seeded by the episode's seed and the
perturbation's place in the list, never from the body's reset noise or the circuit's.
Rerunning a seed therefore reruns the same episode bit for bit.

============  ==============================  ===============================================
kind          object                          what happens in the episode
============  ==============================  ===============================================
push=I        ``Push(impulse=I)``             a horizontal force on the torso for
                                              ``duration_ms`` (impulse I N·s, forward or
                                              backward at random), once in every
                                              ``every_s`` window after the first second
mass=S        ``MassScale(scale=S)``          every body's mass and inertia times S
friction=S    ``FrictionScale(scale=S)``      every geom's sliding friction times S (the
                                              floor's and the feet's: MuJoCo takes the larger)
slope=D       ``Slope(degrees=D)``            gravity rotated by D degrees about the y axis:
                                              walking up (D > 0) or down a D-degree slope
noise=SD      ``SensorNoise(sd=SD)``          Gaussian noise on every analog sensor a
                                              controller reads: SD rad on angles, 10 SD
                                              rad/s on rates, SD m/s on velocities, 100 SD N
                                              on loads (contacts and height are left alone)
delay=N       ``MotorDelay(steps=N)``         the action applied at body step t is the one
                                              computed N body steps earlier (0 before that)
============  ==============================  ===============================================

>>> parse_perturbation("push=12.5")
Push(impulse=12.5, every_s=2.0, duration_ms=100.0)
>>> parse_perturbations(["mass=0.8", "delay"])
(MassScale(scale=0.8), MotorDelay(steps=1))
>>> format_perturbations((Slope(-5.0), SensorNoise(0.05)))
'slope=-5,noise=0.05'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import BodyError, did_you_mean

PERTURB_STREAM = 0x5EED_0F_B0D1
"""Mixed into every perturbation generator's seed, so that its draws are independent of the
body's reset noise (seeded by the bare episode seed) and of the circuit's noise."""


@dataclass(frozen=True)
class Push:
    """Horizontal pushes on the torso: ``impulse`` N·s each, forward or backward at random.

    One push starts at a uniform random time within each ``every_s`` window after the
    first second of the episode (an 8-s Walker2d episode gets 3); the force is
    ``impulse / duration`` held for whole body steps.
    """

    impulse: float
    every_s: float = 2.0
    duration_ms: float = 100.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.impulse) and self.impulse >= 0):
            raise BodyError(f"Push(impulse=...) must be a finite number of N·s >= 0; got {self.impulse}")
        if not (self.every_s > 0 and self.duration_ms > 0 and self.duration_ms <= 1000.0 * self.every_s):
            raise BodyError(
                f"Push needs every_s > 0 and 0 < duration_ms <= every_s; got every_s={self.every_s}, duration_ms={self.duration_ms}"
            )


@dataclass(frozen=True)
class MassScale:
    """Every body's mass and rotational inertia multiplied by ``scale`` (0.8 = 20 % lighter)."""

    scale: float

    def __post_init__(self) -> None:
        _positive("MassScale(scale=...)", self.scale)


@dataclass(frozen=True)
class FrictionScale:
    """Every geom's sliding friction multiplied by ``scale`` (0.5 = a slippery floor)."""

    scale: float

    def __post_init__(self) -> None:
        _positive("FrictionScale(scale=...)", self.scale)


@dataclass(frozen=True)
class Slope:
    """Gravity tilted by ``degrees`` about the y axis: an uphill (> 0) or downhill (< 0) slope."""

    degrees: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.degrees) and abs(self.degrees) < 45.0):
            raise BodyError(f"Slope(degrees=...) must lie within (-45, 45); got {self.degrees}")


@dataclass(frozen=True)
class SensorNoise:
    """Gaussian noise on every analog sensor, ``sd`` in rad for angles (scaled per unit, see the module table)."""

    sd: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sd) and self.sd >= 0):
            raise BodyError(f"SensorNoise(sd=...) must be a finite number >= 0; got {self.sd}")


@dataclass(frozen=True)
class MotorDelay:
    """Actions reach the body ``steps`` body steps late (one step: 8 ms more on Walker2d)."""

    steps: int = 1

    def __post_init__(self) -> None:
        if not (isinstance(self.steps, int) and 0 <= self.steps <= 100):
            raise BodyError(
                f"MotorDelay(steps=...) must be a whole number of body steps in [0, 100]; got {self.steps!r}"
            )


Perturbation = Push | MassScale | FrictionScale | Slope | SensorNoise | MotorDelay

KINDS: dict[str, tuple[type, str, float]] = {
    "push": (Push, "impulse", 10.0),
    "mass": (MassScale, "scale", 1.2),
    "friction": (FrictionScale, "scale", 0.5),
    "slope": (Slope, "degrees", 5.0),
    "noise": (SensorNoise, "sd", 0.05),
    "delay": (MotorDelay, "steps", 1),
}
"""Name in ``--perturb KIND[=SIZE]`` -> (class, its size field, the size used when none is given)."""

NOISE_SCALE: dict[str, float] = {"rad": 1.0, "rad/s": 10.0, "m/s": 1.0, "N": 100.0}
"""Noise sd per unit of SensorNoise.sd, by sensor unit; units not listed get no noise."""


def _positive(what: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise BodyError(f"{what} must be a finite number > 0; got {value}")


def from_pair(kind: str, size: float | None = None) -> Perturbation:
    """The typed perturbation of a kind and size (``("push", 20.0)``); ``None``: the kind's default size.

    >>> from_pair("friction", 1.5)
    FrictionScale(scale=1.5)
    """
    if kind not in KINDS:
        raise BodyError(
            f"unknown perturbation {kind!r}{did_you_mean(kind, KINDS) or ''}; kinds: {', '.join(KINDS)} (as KIND or KIND=SIZE)"
        )
    cls, field_name, default = KINDS[kind]
    if size is None:
        return cls(**{field_name: default})
    whole = isinstance(default, int) and not isinstance(default, bool)
    if isinstance(size, bool) or not isinstance(size, (int, float)) or (whole and size != int(size)):
        raise BodyError(
            f"perturbation {kind}: size {size!r} is not a {'whole number' if whole else 'number'}; e.g. {kind}={default}"
        )
    return cls(**{field_name: int(size) if whole else float(size)})


def as_pair(item: Perturbation) -> tuple[str, float]:
    """``Push(12.5)`` -> ``("push", 12.5)``: the kind and size, as :func:`from_pair` takes them."""
    for kind, (cls, field_name, _) in KINDS.items():
        if isinstance(item, cls):
            return kind, getattr(item, field_name)
    raise BodyError(f"not a perturbation: {item!r}")


def parse_perturbation(text: str) -> Perturbation:
    """``'push=20'``, ``'mass=0.8'``, ``'delay'`` ... -> the typed perturbation (size default per kind)."""
    kind, _, size = str(text).strip().partition("=")
    kind = kind.strip()
    if kind not in KINDS or not size.strip():
        return from_pair(kind)
    default = KINDS[kind][2]
    try:
        value: Any = int(size) if isinstance(default, int) and not isinstance(default, bool) else float(size)
    except ValueError:
        raise BodyError(
            f"perturbation {text!r}: size {size!r} is not a {'whole number' if isinstance(default, int) else 'number'}; e.g. {kind}={default}"
        ) from None
    return from_pair(kind, value)


def parse_perturbations(items: str | Iterable[str | Perturbation]) -> tuple[Perturbation, ...]:
    """A comma-separated string or a list of strings/objects -> a tuple of typed perturbations."""
    if isinstance(items, str):
        items = [part for part in items.split(",") if part.strip()]
    return tuple(
        item
        if isinstance(item, (Push, MassScale, FrictionScale, Slope, SensorNoise, MotorDelay))
        else parse_perturbation(item)
        for item in items
    )


def describe(item: Perturbation) -> str:
    """``'push=12.5'``: the kind and size, as ``--perturb`` takes them."""
    kind, size = as_pair(item)
    return f"{kind}={size:g}"


def format_perturbations(perturbations: Sequence[Perturbation]) -> str:
    """The canonical comma-separated form (what a calibration's history records)."""
    return ",".join(describe(p) for p in perturbations)


def with_size(perturbation: Perturbation, size: float) -> Perturbation:
    """The same perturbation at another size (a sweep's bisection variable)."""
    _, field_name, default = next(v for v in KINDS.values() if isinstance(perturbation, v[0]))
    return replace(perturbation, **{field_name: type(default)(size)})  # type: ignore[arg-type]  # the field KINDS names


class PerturbedBody:
    """A body under perturbations, with the body's own ``reset(seed)`` / ``step(action)`` contract.

    Model changes (mass, friction, gravity) are applied at every reset from the values the
    model had when it was first wrapped, so a body can be reused across episodes, wrappers
    and perturbation sets.
    Attributes not defined here (``dt_ms``, ``steps``, ``distance``, ``sensor_index`` ...)
    are the body's.
    """

    def __init__(self, body, perturbations: Sequence[Perturbation]):
        self.body = body
        self.perturbations = parse_perturbations(perturbations)
        model = body.model
        if not hasattr(body, "_unperturbed_model"):  # kept on the body: a second wrapper must not scale a scaled model
            body._unperturbed_model = (
                model.body_mass.copy(),
                model.body_inertia.copy(),
                model.geom_friction.copy(),
                model.opt.gravity.copy(),
            )
        self._mass, self._inertia, self._friction, self._gravity = body._unperturbed_model
        self._torso = self._torso_body()
        units = [s.unit for s in body.sensors]
        self._noise_scale = np.array([NOISE_SCALE.get(u, 0.0) for u in units])
        self._delay = sum(p.steps for p in self.perturbations if isinstance(p, MotorDelay))
        self._force = np.zeros(0)
        self._queue: list[np.ndarray] = []
        self._rngs: list[np.random.Generator] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.body, name)

    @property
    def max_steps(self) -> int:
        """The wrapped body's episode length: a limit set here truncates its episodes and bounds
        the window in which pushes are drawn (an attribute of this wrapper would do neither)."""
        return int(self.body.max_steps)

    @max_steps.setter
    def max_steps(self, steps: int) -> None:
        self.body.max_steps = int(steps)

    def _torso_body(self) -> int:
        import mujoco

        torso = mujoco.mj_name2id(self.body.model, mujoco.mjtObj.mjOBJ_BODY, "torso")
        return int(torso) if torso >= 0 else 1

    def reset(self, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        model = self.body.model
        model.body_mass[:], model.body_inertia[:] = self._mass, self._inertia
        model.geom_friction[:], model.opt.gravity[:] = self._friction, self._gravity
        self._rngs = [np.random.default_rng([int(seed), PERTURB_STREAM, i]) for i in range(len(self.perturbations))]
        self._force = np.zeros(self.body.max_steps + 1)
        steps_per_s = 1000.0 / self.body.dt_ms
        for p, rng in zip(self.perturbations, self._rngs):
            if isinstance(p, MassScale):
                model.body_mass[:] *= p.scale
                model.body_inertia[:] *= p.scale
            elif isinstance(p, FrictionScale):
                model.geom_friction[:, 0] *= p.scale
            elif isinstance(p, Slope):
                g, angle = float(np.linalg.norm(self._gravity)), math.radians(p.degrees)
                model.opt.gravity[:] = (-g * math.sin(angle), 0.0, -g * math.cos(angle))
            elif isinstance(p, Push):
                length = max(1, int(round(p.duration_ms / self.body.dt_ms)))
                force = p.impulse / (length * self.body.dt_ms / 1000.0)
                window = p.every_s * steps_per_s
                start = steps_per_s  # no push in the first second
                while start + length <= self.body.max_steps:
                    onset = int(start + rng.uniform(0.0, max(window - length, 0.0)))
                    self._force[onset : onset + length] += force * (1.0 if rng.uniform() < 0.5 else -1.0)
                    start += window
        observation, info = self.body.reset(seed)
        self._queue = [np.zeros(len(self.body.actuator_names)) for _ in range(self._delay)]
        return self._noisy(observation), info

    def step(self, action: np.ndarray):
        if self._delay:
            self._queue.append(np.array(action, dtype=np.float64))
            action = self._queue.pop(0)
        self.body.data.xfrc_applied[self._torso, 0] = self._force[self.body.steps]
        result = self.body.step(action)
        result.observation = self._noisy(result.observation)
        return result

    def _noisy(self, observation: np.ndarray) -> np.ndarray:
        for p, rng in zip(self.perturbations, self._rngs):
            if isinstance(p, SensorNoise):
                observation = observation + rng.normal(0.0, 1.0, observation.shape) * (p.sd * self._noise_scale)
        return observation


@dataclass(frozen=True)
class Tolerance:
    """Where survival crosses one half: the perturbation size and every size tried on the way."""

    size: float
    """Midpoint of the last bracket: the size at which half of the episodes still finish (for whole
    sizes, the largest at which half still did)."""
    low: float
    """Largest size tried at which at least half finished (0 if none was)."""
    high: float
    """Smallest size tried at which fewer than half finished (inf if none was)."""
    tried: tuple[tuple[float, float], ...]
    """(size, fraction of full episodes), in the order tried."""


def half_survival(
    survival, *, start: float, iterations: int = 5, ceiling: float = 1024.0, whole: bool = False
) -> Tolerance:
    """Bisection of a perturbation's size for 50 % full episodes.

    ``survival(size)`` returns the fraction of full episodes at that size. The size doubles
    from ``start`` until fewer than half finish (up to ``ceiling``), then the bracket
    ``[low, high]`` is halved ``iterations`` times; if fewer than half finish at ``start``
    and at size 0, the tolerance is 0. With ``whole`` (a motor delay in body steps) sizes
    are whole numbers, the bracket is halved until ``high`` is ``low + 1`` (``iterations`` is
    not used) and the tolerance is ``low``: the largest size at which half still finish.
    Survival measured on finitely many
    episodes need not fall monotonically with the size; the bracket is then the one
    bisection ends in, and ``tried`` shows every measurement.

    >>> half_survival(lambda size: 1.0 if size < 10 else 0.0, start=4, iterations=6).size
    9.9375
    >>> t = half_survival(lambda size: 1.0 if size < 10 else 0.0, start=1, whole=True)
    >>> t.size, t.high, [size for size, _ in t.tried]
    (9, 10, [1, 2, 4, 8, 16, 12, 10, 9])
    """
    if not (start > 0 and iterations >= 0) or (whole and start != int(start)):
        raise BodyError(
            f"half_survival needs start > 0 (whole with whole=True) and iterations >= 0; "
            f"got start={start}, iterations={iterations}"
        )
    tried: list[tuple[float, float]] = []

    def measure(size: float) -> bool:
        fraction = float(survival(size))
        tried.append((size, fraction))
        return fraction >= 0.5

    low, high = (0, int(start)) if whole else (0.0, float(start))
    if measure(high):
        while True:
            low, high = high, high * 2
            if high > ceiling:
                return Tolerance(math.inf, low, math.inf, tuple(tried))
            if not measure(high):
                break
    elif not measure(low):
        return Tolerance(low, low, low, tuple(tried))  # fewer than half finish even unperturbed
    if whole:
        while high - low > 1:
            middle = (low + high) // 2
            if measure(middle):
                low = middle
            else:
                high = middle
        return Tolerance(low, low, high, tuple(tried))
    for _ in range(iterations):
        middle = (low + high) / 2.0
        if measure(middle):
            low = middle
        else:
            high = middle
    return Tolerance((low + high) / 2.0, low, high, tuple(tried))


def perturbed(body, perturbations: Sequence[Perturbation]):
    """``body`` itself when there is nothing to perturb (the fast path), else a :class:`PerturbedBody`."""
    return PerturbedBody(body, perturbations) if perturbations else body


__all__ = [
    "KINDS",
    "FrictionScale",
    "MassScale",
    "MotorDelay",
    "Perturbation",
    "PerturbedBody",
    "Push",
    "SensorNoise",
    "Slope",
    "Tolerance",
    "as_pair",
    "describe",
    "format_perturbations",
    "from_pair",
    "half_survival",
    "parse_perturbation",
    "parse_perturbations",
    "perturbed",
    "with_size",
]
