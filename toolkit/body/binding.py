"""The binding file: which body a circuit drives, and how sensors and readouts are wired to it.

A binding is its own small file format (``<circuit>.binding.json`` next to the circuit),
kept out of the circuit schema so that one circuit can drive several bodies and the
circuit file stays about neurons. Like the circuit it is data, validated twice: pydantic
for structure (unknown fields, NaN, wrong types, each located by JSON pointer), then
against a loaded :class:`~encephagen.schema.Circuit` (populations, readouts) and a body
(sensors, actuators), with "did you mean" for near misses and the full list of what
exists otherwise.

Afferents: ``input = clip(offset + gain * sensor, low, high)`` enters every neuron of a
population, either as a current (mV, added to the membrane equation like ``drive``) or as
the rate (Hz) of extra Poisson input. Motors in ``torque`` mode (the default): ``action =
clip(offset + sum(gain * readout), low, high)``, readouts in Hz. Motors in ``setpoint`` mode
make the same sum a joint-angle target (rad) held by a stretch reflex, ``action = clip(kp *
(target - angle) - kd * velocity, low, high)`` with the joint's own angle and velocity
sensors: Feldman's equilibrium-point (lambda) model, in which descending and spinal
commands shift the threshold angle of the stretch reflex rather than set a force (Feldman
1986, J Mot Behav 18:17; Feldman & Levin 1995, Behav Brain Sci 18:723), so that joint
excursions grade with the motor pools' output instead of saturating at the joint's limits.
Gains, offsets, ``kp`` and ``kd`` may name a parameter of the
circuit (``{"param": "k_hip"}``): one namespace, one file that carries calibrated values,
so ``encephagen calibrate`` tunes binding gains declared free there together with the
circuit's own parameters and writes them back with its provenance.

``dt_ms`` declares the circuit step the pair was chosen and is reported at (``humanoid_cpg``:
0.75 ms); :func:`~encephagen.body.runs.bind`, ``encephagen run`` and the ``walk``/``stand``
objectives compile at it unless given another step.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from ..compiler import DEFAULT_DT
from ..errors import BodyError, CircuitError, Problem, did_you_mean, json_pointer
from ..schema import Name, ParamRef, Strict, Value

BINDING_SUFFIX = ".binding.json"


class Walker2dBody(Strict):
    kind: Literal["walker2d"]
    """Gymnasium Walker2d-v5 (planar biped, 6 actuators, 8 ms body step)."""
    max_steps: int = Field(default=1000, ge=1)
    """Episode length at which the run is truncated (body steps)."""
    slip_sensors: bool = False
    """Add the soles' slip sensors ``right_foot_slip`` and ``left_foot_slip`` (m/s) after every other
    sensor; off by default, so the observation (and a noise perturbation's draws) of every other
    walker2d binding stays as it was."""


class HumanoidBody(Strict):
    kind: Literal["humanoid"]
    """Gymnasium Humanoid-v5 (17 actuators, 15 ms body step)."""
    max_steps: int = Field(default=1000, ge=1)


class MjcfBody(Strict):
    kind: Literal["mjcf"]
    """Any MJCF model, driven through mujoco directly."""
    file: str
    """Path of the XML file, relative to the binding file."""
    frame_skip: int = Field(default=1, ge=1)
    """MuJoCo steps per body step."""
    root: Literal["free", "planar"] = "free"
    max_steps: int = Field(default=1000, ge=1)
    reset_noise: float = Field(default=0.0, ge=0)
    min_height: float | None = None
    """Root height (m) below which the episode terminates."""


BodySpec = Annotated[Walker2dBody | HumanoidBody | MjcfBody, Field(discriminator="kind")]


class Afferent(Strict):
    """One sensor feeding one population: ``clip(offset + gain * sensor, low, high)``."""

    sensor: Name
    """A sensor of the body, e.g. 'right_hip_angle', 'torso_pitch_rate', 'left_foot_load'."""
    population: Name
    """The circuit population whose every neuron receives the input."""
    input: Literal["current", "rate"] = "current"
    """'current': mV added to the membrane input; 'rate': Hz of extra Poisson input."""
    gain: Value = 1.0
    """Input per unit of the sensor (mV or Hz per sensor unit)."""
    offset: Value = 0.0
    """Input at sensor value 0 (mV or Hz)."""
    low: float | None = None
    """Lower clip of the input; rates are never below 0 whatever this says."""
    high: float | None = None
    """Upper clip of the input."""
    description: str = ""


class MotorTerm(Strict):
    readout: Name
    """A readout of the circuit (Hz)."""
    gain: Value = 1.0
    """Action per Hz of the readout."""


class Motor(Strict):
    """One actuator driven by readouts.

    ``torque`` mode: ``action = clip(offset + sum(gain * readout), low, high)``.
    ``setpoint`` mode: ``target = offset + sum(gain * readout)`` is a joint angle (rad) and
    ``action = clip(kp * (target - angle) - kd * velocity, low, high)``, with the angle and
    velocity sensors of ``joint`` (a stretch reflex whose threshold the circuit shifts).
    """

    actuator: Name
    """An actuator of the body, e.g. 'right_hip' (Walker2d) or 'right_hip_y' (Humanoid)."""
    terms: list[MotorTerm] = []
    offset: Value = 0.0
    """Action (torque mode) or joint angle in rad (setpoint mode) when every readout is 0
    (a constant bias: report it, it can stand a walker up alone)."""
    mode: Literal["torque", "setpoint"] = "torque"
    """'torque': the sum is the action; 'setpoint': the sum is a joint-angle target (rad)."""
    kp: Value | None = None
    """Setpoint mode only: action per rad of the joint's distance from its target (reflex stiffness)."""
    kd: Value | None = None
    """Setpoint mode only: action per rad/s of joint velocity (reflex damping; default 0)."""
    joint: Name | None = None
    """Setpoint mode only: the joint whose '<joint>_angle' and '<joint>_velocity' sensors are
    read; default the actuator's name."""
    low: float | None = None
    """Lower clip of the action; default the actuator's range."""
    high: float | None = None
    description: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Motor:
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low must be below high; got [{self.low}, {self.high}]")
        if self.mode == "setpoint" and self.kp is None:
            raise ValueError("a setpoint motor needs kp (action per rad of angle error)")
        if self.mode == "torque":
            given = [name for name in ("kp", "kd", "joint") if getattr(self, name) is not None]
            if given:
                raise ValueError(
                    f"{', '.join(given)} apply to setpoint motors only; add mode: 'setpoint' or remove them"
                )
        return self

    @property
    def joint_name(self) -> str:
        """The joint a setpoint motor reads (its own name unless ``joint`` says otherwise)."""
        return self.joint or self.actuator


class StartDrive(Strict):
    """A population drive held apart from its value while the episode starts (gait initiation).

    ``offset`` mV is added to the drive of every population whose drive is circuit parameter
    ``parameter`` (times its ParamRef factor) during the warm-up and the first ``ms`` of the
    episode (rounded to whole body steps; 0: the warm-up only), after which the drive is the
    parameter's value. The descending command that starts a gait need not be the one that
    keeps it going: the state the rhythm generator is in when the body starts to move is set
    by the drive it settled at.
    """

    parameter: Name
    """A circuit parameter that is a population drive, e.g. 'drive'."""
    offset: Value = 0.0
    """mV added to that drive during the start (may name a circuit parameter)."""
    ms: float = Field(default=0.0, ge=0)
    """Episode time after the warm-up that still runs at the start drive (ms)."""
    description: str = ""


class StartPhase(Strict):
    """Start the body at a set phase of the warm-up rhythm instead of after a fixed time.

    After ``warmup_ms`` the warm-up goes on, lane by lane, until one of ``readouts`` rises through
    ``rises_through`` (Hz), and then ``after_ms`` more; a lane whose readouts do not rise within
    ``within_ms`` starts then. A rhythm generator started from rest breaks its left-right
    symmetry at a time set by noise, so after a fixed warm-up the phase at which the body
    starts moving is drawn anew for every seed; starting at the rise of either leg's flexor
    command instead fixes it (up to left for right, which a symmetric body does not tell apart).
    """

    readouts: list[Name] = Field(min_length=1)
    """Circuit readouts watched for the rise, e.g. each leg's flexor-minus-extensor command."""
    rises_through: float = 0.0
    """The value (Hz) a readout crosses from at or below to above."""
    after_ms: float = Field(default=0.0, ge=0)
    """Warm-up time after the rise before the first body step (ms, whole body steps)."""
    within_ms: float = Field(default=1000.0, gt=0)
    """The longest wait for a rise after ``warmup_ms`` (ms)."""
    description: str = ""


class Binding(Strict):
    """A circuit's wiring to a body: the whole content of one binding file."""

    schema_: str | None = Field(default=None, alias="$schema")
    binding_version: Literal["1"]
    circuit: Name
    """Name of the circuit this binding is written for (its `name` field)."""
    body: BodySpec
    description: str = ""
    warmup_ms: float = Field(default=0.0, ge=0)
    """Circuit time simulated with the initial sensor values before the first body step (ms),
    rounded to whole body steps."""
    dt_ms: float | None = Field(default=None, gt=0)
    """The circuit time step (ms) this binding's circuit was chosen and is reported at: runs
    compile at it unless given another (``encephagen run --dt``); none: the toolkit's 0.1 ms.
    Behaviour tuned at one step need not survive another (a refractory period or a delay is a
    whole number of steps)."""
    start: StartDrive | None = None
    """A drive of the circuit offset during the warm-up and the episode's first ``start.ms``
    (see :class:`StartDrive`); none by default."""
    start_phase: StartPhase | None = None
    """The warm-up ends at a phase of the rhythm (see :class:`StartPhase`); none: after ``warmup_ms``."""
    afferents: dict[Name, Afferent] = {}
    motors: dict[Name, Motor] = Field(min_length=1)

    model_config = {"populate_by_name": True}

    def circuit_dt(self, dt: float | None = None) -> float:
        """The circuit step (ms) a closed loop with this binding compiles at: ``dt`` when given, else
        :attr:`dt_ms`, else the toolkit's default (0.1 ms)."""
        return dt if dt is not None else self.dt_ms or DEFAULT_DT

    def values(self):
        """(JSON path, value) of every gain and offset, for checks and resolution."""
        if self.start is not None:
            yield ["start", "offset"], self.start.offset
        for name, aff in self.afferents.items():
            yield ["afferents", name, "gain"], aff.gain
            yield ["afferents", name, "offset"], aff.offset
        for name, motor in self.motors.items():
            yield ["motors", name, "offset"], motor.offset
            for key in ("kp", "kd"):
                if getattr(motor, key) is not None:
                    yield ["motors", name, key], getattr(motor, key)
            for i, term in enumerate(motor.terms):
                yield ["motors", name, "terms", i, "gain"], term.gain


def resolve(value: Value, parameters: Mapping[str, float]) -> float:
    """The number a gain or offset stands for, given the circuit's parameter values."""
    if isinstance(value, ParamRef):
        return float(parameters[value.param]) * value.factor
    return float(value)


# --------------------------------------------------------------------------- files


def binding_path_for(circuit_path: str | os.PathLike, body: str | None = None) -> Path:
    """Where the binding of a circuit file lives: ``walker2d_cpg.json`` -> ``walker2d_cpg.binding.json``,
    ``walker2d_cpg_0.12.0.json`` -> ``walker2d_cpg_0.12.0.binding.json``.

    With ``body``, a body-specific binding (``walker2d_cpg.humanoid.binding.json``) is
    preferred when it exists.
    """
    path = Path(circuit_path)
    stem = path.stem  # the whole name but its format suffix: walker2d_cpg_0.12.0.json keeps its version
    if body is not None and (specific := path.with_name(f"{stem}.{body}{BINDING_SUFFIX}")).exists():
        return specific
    return path.with_name(stem + BINDING_SUFFIX)


def bindings_beside(circuit_path: str | os.PathLike) -> list[Path]:
    """The binding files next to a circuit file, under its stem (:func:`binding_path_for`'s rule):
    ``walker2d_cpg.binding.json`` first, then the body-specific ones (``walker2d_cpg.humanoid.binding.json``)."""
    path = Path(circuit_path)
    general = path.with_name(path.stem + BINDING_SUFFIX)
    specific = sorted(path.parent.glob(f"{glob.escape(path.stem)}.*{BINDING_SUFFIX}"))  # a stem may hold [ or *
    return ([general] if general.exists() else []) + specific


def copy_bindings(circuit_path: str | os.PathLike, new_circuit_path: str | os.PathLike) -> list[Path]:
    """Give a new version of a circuit file the bindings of the old one, so the pair stays usable.

    ``walker2d_cpg.binding.json`` and ``walker2d_cpg.humanoid.binding.json`` next to
    ``circuit_path`` are copied (atomically, byte for byte) next to ``new_circuit_path`` under
    its stem. A binding's gains name circuit parameters, so the copy reads the new values. An
    existing file is never replaced. Returns the files written.
    """
    from ..atomic_files import atomic_write_bytes

    old, new = Path(circuit_path), Path(new_circuit_path)
    if old.parent.resolve() == new.parent.resolve() and old.stem == new.stem:
        return []
    written = []
    for source in bindings_beside(old):
        target = new.with_name(new.stem + source.name[len(old.stem) :])
        if not target.exists():
            atomic_write_bytes(target, source.read_bytes())
            written.append(target)
    return written


def load_binding(path: str | os.PathLike) -> Binding:
    """Read and validate a binding file (structure only; see :func:`check_binding` for names)."""
    from ..json_codec import read_json_tree
    from ..locations import check_readable

    path = Path(path)
    check_readable(path)
    tree = read_json_tree(path)
    return binding_from_tree(tree, str(path))


def binding_from_tree(tree: Any, file: str) -> Binding:
    """Validate a raw JSON tree as a binding, reporting every problem with its JSON pointer."""
    if not isinstance(tree, dict):
        raise CircuitError(
            [
                Problem(
                    file,
                    "",
                    f"a binding file holds one JSON object; got {type(tree).__name__}",
                    "Wrap the content in { ... }",
                )
            ]
        )
    try:
        binding = Binding.model_validate(tree, strict=True)
    except ValidationError as exc:
        from ..validation_messages import problems_from_validation

        raise CircuitError(problems_from_validation(exc, tree, file, root=Binding)) from None
    return binding


def save_binding(binding: Binding, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a binding as canonical JSON, atomically; refuses to overwrite unless asked."""
    from ..atomic_files import atomic_write_bytes
    from ..json_codec import dumps_canonical

    path = Path(path)
    if path.exists() and not overwrite:
        raise BodyError(f"{path}: exists; pass overwrite=True to replace it")
    tree = binding.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    atomic_write_bytes(path, dumps_canonical(tree).encode())
    return path


# --------------------------------------------------------------------------- checks against circuit and body


def check_binding(binding: Binding, circuit: Any, body: Any, file: str = "<binding>") -> None:
    """Refuse a binding whose names do not exist in the circuit or the body.

    Populations and readouts get "did you mean"; sensors and actuators the list of what
    the body has (a binding for the wrong body is the usual cause, so the list helps more
    than one guess). Every problem is reported at once.

    Raises
    ------
    BodyError
        With one located line per problem.
    """
    problems: list[Problem] = []
    if binding.circuit != circuit.name:
        problems.append(
            Problem(
                file,
                "/circuit",
                f"binding is for circuit {binding.circuit!r}, not {circuit.name!r}",
                "Use the binding written for this circuit",
            )
        )
    for path, value in binding.values():
        if isinstance(value, ParamRef) and value.param not in circuit.parameters:
            problems.append(
                Problem(
                    file,
                    json_pointer(path),
                    f"unknown circuit parameter {value.param!r}{did_you_mean(value.param, circuit.parameters)}",
                    "Declare it under /parameters of the circuit",
                )
            )
    if binding.start is not None and binding.start.parameter not in circuit.parameters:
        problems.append(
            Problem(
                file,
                "/start/parameter",
                f"unknown circuit parameter {binding.start.parameter!r}"
                f"{did_you_mean(binding.start.parameter, circuit.parameters)}",
                "Name the parameter of a population drive, e.g. 'drive'",
            )
        )
    if binding.start_phase is not None:
        problems.extend(
            Problem(
                file,
                f"/start_phase/readouts/{i}",
                f"unknown readout {name!r}{did_you_mean(name, circuit.readouts)}",
                "Name a readout of the circuit, e.g. a leg's flexor-minus-extensor command",
            )
            for i, name in enumerate(binding.start_phase.readouts)
            if name not in circuit.readouts
        )
    sensors, actuators = list(body.sensor_names), list(body.actuator_names)
    for name, aff in binding.afferents.items():
        if aff.population not in circuit.populations:
            problems.append(
                Problem(
                    file,
                    json_pointer(["afferents", name, "population"]),
                    f"unknown population {aff.population!r}{did_you_mean(aff.population, circuit.populations)}",
                )
            )
        if aff.sensor not in sensors:
            problems.append(
                Problem(
                    file,
                    json_pointer(["afferents", name, "sensor"]),
                    f"body {body.name!r} has no sensor {aff.sensor!r}{_near(aff.sensor, sensors)}",
                    f"Its sensors: {', '.join(sensors)}",
                )
            )
    seen: dict[str, str] = {}
    for name, motor in binding.motors.items():
        pointer = json_pointer(["motors", name])
        if motor.actuator not in actuators:
            problems.append(
                Problem(
                    file,
                    pointer + "/actuator",
                    f"body {body.name!r} has no actuator {motor.actuator!r}{_near(motor.actuator, actuators)}",
                    f"Its actuators: {', '.join(actuators)}",
                )
            )
        elif motor.actuator in seen:
            problems.append(
                Problem(
                    file,
                    pointer + "/actuator",
                    f"actuator {motor.actuator!r} is already driven by motor {seen[motor.actuator]!r}",
                    "Put all its readouts in one motor's terms",
                )
            )
        else:
            seen[motor.actuator] = name
            index = body.actuator_index(motor.actuator)
            lo, hi = body.action_low[index], body.action_high[index]
            if (motor.low is not None and motor.low < lo) or (motor.high is not None and motor.high > hi):
                problems.append(
                    Problem(
                        file,
                        pointer,
                        f"clip [{motor.low}, {motor.high}] is wider than the actuator's range [{lo}, {hi}]",
                        "Stay within the range",
                    )
                )
        if motor.mode == "setpoint":
            problems.extend(
                Problem(
                    file,
                    pointer + ("/joint" if motor.joint else "/actuator"),
                    f"a setpoint motor reads sensor {sensor!r}, which body {body.name!r} does not have{_near(sensor, sensors)}",
                    "Name the joint it moves under 'joint'",
                )
                for sensor in (f"{motor.joint_name}_angle", f"{motor.joint_name}_velocity")
                if sensor not in sensors
            )
        for i, term in enumerate(motor.terms):
            if term.readout not in circuit.readouts:
                problems.append(
                    Problem(
                        file,
                        json_pointer(["motors", name, "terms", i, "readout"]),
                        f"unknown readout {term.readout!r}{did_you_mean(term.readout, circuit.readouts)}",
                    )
                )
    if problems:
        raise BodyError("\n".join(str(p) for p in problems))


def _near(name: str, known: list[str]) -> str:
    """'; did you mean X?' when one name is close, else nothing (the full list follows)."""
    hint = did_you_mean(name, known)
    return hint if hint.startswith("; did you mean") else ""


def make_bound_body(binding: Binding, base_dir: str | os.PathLike | None = None):
    """The body a binding names, freshly built (an MJCF path is relative to ``base_dir``)."""
    from .adapters import make_body

    spec = binding.body
    if isinstance(spec, MjcfBody):
        xml = Path(base_dir or ".") / spec.file
        return make_body(
            "mjcf",
            xml_path=xml,
            frame_skip=spec.frame_skip,
            root=spec.root,
            max_steps=spec.max_steps,
            reset_noise=spec.reset_noise,
            min_height=spec.min_height,
        )
    return make_body(spec.kind, **spec.model_dump(exclude={"kind"}))  # a named body's fields are its options
