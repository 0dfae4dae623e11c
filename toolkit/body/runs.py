"""A circuit driving a body in one call: :func:`run_body` binds, runs and returns the table.

``encephagen run`` is these functions plus formatting: the library finds the binding, compiles
the circuit, runs the circuit's episodes beside the baselines it must beat on the same seeds,
and returns a :class:`BodyRun`; the command prints it as a table or as JSON. Its other modes
are :func:`push_tolerance` (``--perturb push --sweep``), :func:`delay_tolerance` (``--perturb delay
--sweep``), :func:`speed_by_drive` (``--drive``)
and :func:`run_with_schedule` (``--drive-schedule``), each returning a result with ``to_dict()``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BodyError, UnknownNameError
from ..schema import Circuit
from ..seeds import REPORT_FIRST, describe_seeds
from .loop import ClosedLoop, DriveSchedule
from .perturbations import MotorDelay, Perturbation, Push, Tolerance, describe, parse_perturbations


def bind(
    circuit: str | os.PathLike | Circuit,
    body: str | None = None,
    *,
    binding: str | os.PathLike | None = None,
    dt: float | None = None,
) -> ClosedLoop:
    """The closed loop of a circuit and the body its binding file names, compiled at ``dt`` (ms):
    by default the binding's ``dt_ms``, else 0.1 ms.

    Parameters
    ----------
    circuit
        A circuit file, the name of a shipped circuit, or a loaded :class:`Circuit` (which then
        needs ``binding``, or to have been loaded from a file).
    body
        The body the binding must drive (``"walker2d"``, ``"humanoid"``, ``"mjcf"``); ``None``: the
        binding's. With a body, a body-specific binding next to the circuit
        (``NAME.BODY.binding.json``) is preferred.
    binding
        A binding file; default: the one next to the circuit file.
    """
    from ..compiler import compile_circuit
    from ..locations import resolve_circuit_path
    from ..storage import load_circuit
    from .binding import binding_path_for, load_binding

    if isinstance(circuit, Circuit):
        loaded, circuit_path = circuit, circuit.source_path
    else:
        circuit_path = resolve_circuit_path(circuit)
        loaded = load_circuit(circuit_path)
    if binding is None:
        if circuit_path is None:
            raise BodyError(f"circuit {loaded.name!r} was not loaded from a file; give binding= (a binding file)")
        binding = binding_path_for(circuit_path, body)
    binding_file = Path(binding)
    if not binding_file.exists():
        raise BodyError(f"{binding_file}: no binding file; write one (see encephagen.body.binding) or give binding=")
    spec = load_binding(binding_file)
    if body is not None and body != spec.body.kind:
        raise BodyError(
            f"{binding_file}:/body/kind: the binding drives {spec.body.kind!r}, not {body!r}; "
            f"use a binding written for {body}"
        )
    return ClosedLoop(
        compile_circuit(loaded, dt=spec.circuit_dt(dt)), spec, base_dir=binding_file.parent, file=str(binding_file)
    )


@dataclass(frozen=True)
class EpisodesRun:
    """What every run of a circuit with a body states: the circuit, binding, time steps, seeds, perturbations."""

    circuit: str
    version: str
    binding: str
    body: str
    dt_ms: float
    neural_steps_per_body_step: int
    seeds: list[int]
    perturbations: list[str]

    @property
    def seed_range(self) -> str:
        """Which seed range the seeds are in (:func:`encephagen.seeds.describe_seeds`)."""
        return describe_seeds(self.seeds)

    def to_dict(self) -> dict[str, Any]:
        """The fields above (and the seed range) and each kind of run's own (:meth:`_results`), as
        standard JSON values: NaN and inf become None (an episode over before it settled has no
        settled speed; a push impulse beyond the bisection's ceiling is inf)."""
        return _finite({**self._stated(), **self._results()})

    def _results(self) -> dict[str, Any]:
        """What a kind of run adds to :meth:`to_dict`."""
        return {}

    def _stated(self) -> dict[str, Any]:
        return {
            "circuit": self.circuit,
            "version": self.version,
            "binding": self.binding,
            "body": self.body,
            "dt_ms": self.dt_ms,
            "neural_steps_per_body_step": self.neural_steps_per_body_step,
            "seeds": list(self.seeds),
            "seed_range": self.seed_range,
            "perturbations": list(self.perturbations),
        }


def _stated(loop: ClosedLoop, seeds: list[int], perturbations: Sequence[Perturbation]) -> dict[str, Any]:
    """The :class:`EpisodesRun` fields of a run of ``loop`` on ``seeds``."""
    circuit_model = loop.network.circuit
    return dict(
        circuit=circuit_model.name,
        version=circuit_model.version,
        binding=str(loop.file),
        body=loop.binding.body.kind,
        dt_ms=float(loop.network.dt),
        neural_steps_per_body_step=loop.steps_per_body_step,
        seeds=seeds,
        perturbations=[describe(p) for p in perturbations],
    )


def _finite(node: Any) -> Any:
    """NaN and inf -> None, so that the result is standard JSON (a tolerance beyond the ceiling is inf)."""
    if isinstance(node, float) and not math.isfinite(node):
        return None
    if isinstance(node, dict):
        return {k: _finite(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_finite(v) for v in node]
    return node


@dataclass(frozen=True)
class BodyRun(EpisodesRun):
    """Episodes of a circuit and of its baselines on the same seeds (distances in m, speeds in m/s).

    ``controllers`` maps a controller's name (``"circuit"`` first, then ``"offsets"``, the
    body's reference controllers and any extra loops) to ``{"episodes": [one dict per seed:
    steps, distance, speed, reward, fell, ...], "aggregate": {steps_mean, full, distance_mean, ...}}``.
    """

    controllers: dict[str, dict[str, Any]]
    trajectory: Any = field(default=None, repr=False)
    """The first circuit episode's trajectory when ``record_first`` was asked, else None."""

    def episodes(self, controller: str = "circuit") -> list[dict[str, Any]]:
        """One row per seed for a controller."""
        return self.controllers[controller]["episodes"]

    def aggregate(self, controller: str = "circuit") -> dict[str, Any]:
        """Means, SDs and the count of full-length episodes of a controller."""
        return self.controllers[controller]["aggregate"]

    def paired(self, other: str = "sine_pitch") -> dict[str, Any] | None:
        """The circuit against ``other`` on the same draws (:func:`~encephagen.body.baselines.paired_full`):
        the episodes only one of them finished and the exact McNemar p; None when ``other`` did not run."""
        if other not in self.controllers:
            return None
        from .baselines import paired_full

        only_circuit, only_other, p = paired_full(self.episodes(), self.episodes(other))
        return {"against": other, "only_circuit": only_circuit, "only_other": only_other, "p": p}

    def _results(self) -> dict[str, Any]:
        """Everything but the trajectory, and the circuit against the sine walker as paired draws."""
        return {"controllers": self.controllers, "paired": self.paired()}


@dataclass(frozen=True)
class PushTolerance(EpisodesRun):
    """The push impulse (N·s) at which half of the episodes still finish, per controller."""

    push_every_s: float
    push_duration_ms: float
    tolerance: dict[str, Tolerance]
    """``"circuit"``, ``"no afferents"``, ``"sensors at rest"`` and (on Walker2d) ``"sine_pitch"``."""

    def _results(self) -> dict[str, Any]:
        tolerance = {
            name: {"impulse": t.size, "low": t.low, "high": t.high, "tried": t.tried}
            for name, t in self.tolerance.items()
        }
        return {"push_every_s": self.push_every_s, "push_duration_ms": self.push_duration_ms, "tolerance": tolerance}


@dataclass(frozen=True)
class DelayTolerance(EpisodesRun):
    """The longest motor delay (body steps of ``body_dt_ms``) at which half of the episodes still finish, per controller."""

    body_dt_ms: float
    tolerance: dict[str, Tolerance]
    """``"circuit"``, ``"no afferents"``, ``"sensors at rest"`` and (on Walker2d) ``"sine_pitch"``."""

    def _results(self) -> dict[str, Any]:
        tolerance = {
            name: {"steps": t.size, "ms": t.size * self.body_dt_ms, "low": t.low, "high": t.high, "tried": t.tried}
            for name, t in self.tolerance.items()
        }
        return {"body_dt_ms": self.body_dt_ms, "tolerance": tolerance}


@dataclass(frozen=True)
class DriveRun(EpisodesRun):
    """Episodes at each value of a descending drive parameter: the circuit's speed on command."""

    parameter: str
    by_value: list[dict[str, Any]]
    """One ``{"value", "aggregate", "episodes"}`` per value, in the order given."""

    def speed_span(self, full_share: float = 0.9, speed: str = "speed") -> tuple[float, float, int] | None:
        """(slowest, fastest mean speed m/s, values counted) over the values at which at least
        ``full_share`` of the episodes are full; None when fewer than two such values walk forward.

        ``speed`` is the episode metric: ``"speed"`` (over the whole episode, its start from rest
        included) or ``"speed_settled"`` (from :data:`~encephagen.body.loop.SETTLED_FROM_S` on)."""
        walking = [r for r in self.by_value if r["aggregate"]["full"] >= full_share * r["aggregate"]["episodes"]]
        speeds = [r["aggregate"][f"{speed}_mean"] for r in walking]
        if len(speeds) > 1 and all(math.isfinite(v) and v > 0 for v in speeds):
            return min(speeds), max(speeds), len(walking)
        return None

    def _results(self) -> dict[str, Any]:
        """The aggregates per value (the per-episode rows stay in ``by_value``)."""
        return {
            "parameter": self.parameter,
            "by_value": [{"value": r["value"], "aggregate": r["aggregate"]} for r in self.by_value],
        }


@dataclass(frozen=True)
class ScheduledRun(EpisodesRun):
    """Episodes under a drive schedule, with each episode's mean speed per piece of the schedule."""

    schedule: DriveSchedule
    segments: list[tuple[float, float, float]]
    """(start s, end s, value) of each piece within an episode."""
    episodes: list[dict[str, Any]]
    """One row per seed: the episode's metrics, ``speed_segment_<i>`` the mean speed over piece i (NaN if not reached)."""

    def segment_means(self) -> list[float]:
        """Mean speed per piece over the episodes that reached it (NaN if none did)."""
        means = []
        for i in range(len(self.segments)):
            values = [r[f"speed_segment_{i}"] for r in self.episodes if math.isfinite(r[f"speed_segment_{i}"])]
            means.append(sum(values) / len(values) if values else math.nan)
        return means

    def _results(self) -> dict[str, Any]:
        return {
            "parameter": self.schedule.parameter,
            "schedule": [list(p) for p in self.schedule.points],
            "episodes": self.episodes,
        }


def _loop(
    circuit: str | os.PathLike | Circuit | ClosedLoop,
    body: str | None,
    binding: str | os.PathLike | None,
    dt: float | None,
) -> ClosedLoop:
    return circuit if isinstance(circuit, ClosedLoop) else bind(circuit, body, binding=binding, dt=dt)


def _seeds(episodes: int, first_seed: int) -> list[int]:
    if episodes < 1:
        raise BodyError(f"episodes must be at least 1; got {episodes}")
    return list(range(first_seed, first_seed + episodes))


def run_body(
    circuit: str | os.PathLike | Circuit | ClosedLoop,
    body: str | None = None,
    *,
    binding: str | os.PathLike | None = None,
    episodes: int = 10,
    first_seed: int = REPORT_FIRST,
    dt: float | None = None,
    max_steps: int | None = None,
    perturbations: Sequence[Perturbation | str] = (),
    baselines: Sequence[str] | None = None,
    extra: Mapping[str, ClosedLoop] | None = None,
    record_first: bool = False,
) -> BodyRun:
    """Run a circuit in closed loop with a body, beside the baselines it must beat, on the same seeds.

    Surviving alone proves nothing (a constant action stands Walker2d up for 1000 steps), so
    the binding's offsets alone, zero action and the body's reference controllers (on
    Walker2d: the best constant action and a tuned sine walker) run on the same seeds.

    Parameters
    ----------
    circuit
        A circuit file or shipped name, a loaded :class:`Circuit`, or a :class:`ClosedLoop`
        already built by :func:`bind` (then ``body``, ``binding`` and ``dt`` are not used).
    body, binding, dt
        As :func:`bind`.
    episodes, first_seed
        Episodes on seeds ``first_seed .. first_seed + episodes - 1`` (body reset, circuit noise,
        perturbation draws); the default starts the report seeds (:mod:`encephagen.seeds`).
    max_steps
        Cut episodes shorter than the body's limit.
    perturbations
        Perturbations every controller meets (``Push(6.0)`` or ``"push=6"``, see
        :mod:`encephagen.body.perturbations`). With perturbations the circuit without its
        afferent populations and with its sensors at rest also run (as ``extra``), and on
        Walker2d the baselines are the constant and the sine walker.
    baselines, extra
        Override the baselines kept (names of reference controllers) and the extra loops.
    record_first
        Keep the first circuit episode's trajectory (for :func:`encephagen.body.video.write_video`).
    """
    from .loop import run_with_baselines

    seeds = _seeds(episodes, first_seed)
    loop = _loop(circuit, body, binding, dt)
    parsed = parse_perturbations(perturbations)
    if parsed and extra is None:
        extra = {"no afferents": loop.without_afferents(), "sensors at rest": loop.with_sensors_at_rest()}
    if parsed and baselines is None and loop.binding.body.kind == "walker2d":
        baselines = ("constant", "sine_pitch")
    report = run_with_baselines(
        loop,
        seeds,
        max_steps=max_steps,
        record_first=record_first,
        perturbations=parsed,
        baselines=baselines,
        extra=extra,
    )
    return BodyRun(**_stated(loop, seeds, parsed), controllers=report["controllers"], trajectory=report["trajectory"])


def push_tolerance(
    circuit: str | os.PathLike | Circuit | ClosedLoop,
    body: str | None = None,
    *,
    binding: str | os.PathLike | None = None,
    episodes: int = 10,
    first_seed: int = REPORT_FIRST,
    dt: float | None = None,
    perturbations: Sequence[Perturbation | str] = (),
    iterations: int = 5,
    progress: Callable[[str, float, float], None] | None = None,
) -> PushTolerance:
    """The push impulse at which half of the episodes still finish: the circuit, the circuit without
    its afferent populations, the circuit with its sensors read as 0 (tonic afferent input kept)
    and, on Walker2d, the sine walker.

    Each controller's fraction of full episodes on the seeds (the same push times and directions
    for all, drawn from each seed) is bisected by
    :func:`~encephagen.body.perturbations.half_survival`. The first :class:`Push` among
    ``perturbations`` sets the pushes' timing, and its impulse is where the bisection starts
    (``Push(4.0)`` if there is none); the other perturbations apply throughout.
    ``progress(controller, impulse, fraction full)`` is called after every measurement.
    The other arguments are :func:`run_body`'s.
    """
    seeds = _seeds(episodes, first_seed)
    loop = _loop(circuit, body, binding, dt)
    parsed = parse_perturbations(perturbations)
    push = next((p for p in parsed if isinstance(p, Push)), Push(4.0))
    tolerance = _sweep(loop, seeds, push, parsed, push.impulse or 4.0, iterations=iterations, progress=progress)
    return PushTolerance(
        **_stated(loop, seeds, parsed),
        push_every_s=push.every_s,
        push_duration_ms=push.duration_ms,
        tolerance=tolerance,
    )


def delay_tolerance(
    circuit: str | os.PathLike | Circuit | ClosedLoop,
    body: str | None = None,
    *,
    binding: str | os.PathLike | None = None,
    episodes: int = 10,
    first_seed: int = REPORT_FIRST,
    dt: float | None = None,
    perturbations: Sequence[Perturbation | str] = (),
    progress: Callable[[str, float, float], None] | None = None,
) -> DelayTolerance:
    """The longest motor delay (whole body steps) at which half of the episodes still finish, for the
    controllers of :func:`push_tolerance`.

    A feedback gait fails when its loop's delay grows; an open-loop rhythm with a little pitch
    feedback fails sooner. The first :class:`MotorDelay` among ``perturbations`` is where the
    bisection starts (1 step if there is none); the other perturbations apply throughout.
    The other arguments are :func:`push_tolerance`'s.
    """
    seeds = _seeds(episodes, first_seed)
    loop = _loop(circuit, body, binding, dt)
    parsed = parse_perturbations(perturbations)
    delay = next((p for p in parsed if isinstance(p, MotorDelay)), MotorDelay(1))
    tolerance = _sweep(loop, seeds, delay, parsed, delay.steps or 1, whole=True, ceiling=100, progress=progress)
    return DelayTolerance(**_stated(loop, seeds, parsed), body_dt_ms=loop.body_dt_ms, tolerance=tolerance)


def _sweep(
    loop: ClosedLoop,
    seeds: list[int],
    swept: Perturbation,
    perturbations: Sequence[Perturbation],
    start: float,
    *,
    iterations: int = 5,
    whole: bool = False,
    ceiling: float = 1024.0,
    progress: Callable[[str, float, float], None] | None = None,
) -> dict[str, Tolerance]:
    """Each controller's :class:`Tolerance` of ``swept``'s size, on the same draws, the other perturbations throughout."""
    from .baselines import reference_controllers, run_episode
    from .binding import make_bound_body
    from .perturbations import half_survival, perturbed, with_size

    others = [p for p in perturbations if p is not swept]
    bound_body = make_bound_body(loop.binding, loop.base_dir)
    sine = reference_controllers(bound_body).get("sine_pitch")
    lesioned, at_rest = loop.without_afferents(), loop.with_sensors_at_rest()
    runners: dict[str, Callable[[tuple[Perturbation, ...]], list[float]]] = {
        "circuit": lambda conditions: [e.metrics["full"] for e in loop.run(seeds, perturbations=conditions)],
        "no afferents": lambda conditions: [e.metrics["full"] for e in lesioned.run(seeds, perturbations=conditions)],
        "sensors at rest": lambda conditions: [e.metrics["full"] for e in at_rest.run(seeds, perturbations=conditions)],
    }
    if sine is not None:
        runners["sine_pitch"] = lambda conditions: [
            run_episode(perturbed(bound_body, conditions), sine, s)["full"] for s in seeds
        ]
    tolerance = {}
    for name, runner in runners.items():

        def survival(size: float, name=name, runner=runner) -> float:
            runs = runner((with_size(swept, size), *others))
            fraction = float(sum(runs) / len(runs))
            if progress is not None:
                progress(name, size, fraction)
            return fraction

        tolerance[name] = half_survival(survival, start=start, iterations=iterations, whole=whole, ceiling=ceiling)
    return tolerance


def speed_by_drive(
    circuit: str | os.PathLike | Circuit | ClosedLoop,
    values: Sequence[float],
    body: str | None = None,
    *,
    parameter: str = "drive",
    binding: str | os.PathLike | None = None,
    episodes: int = 10,
    first_seed: int = REPORT_FIRST,
    dt: float | None = None,
    max_steps: int | None = None,
    perturbations: Sequence[Perturbation | str] = (),
) -> DriveRun:
    """Episodes at each value of a descending drive ``parameter`` (all as lanes of one run), aggregated per value.

    The circuit's speed on command; see :meth:`DriveRun.speed_span`. The other arguments are
    :func:`run_body`'s.
    """
    from .baselines import aggregate

    seeds = _seeds(episodes, first_seed)
    if not values:
        raise BodyError("speed_by_drive needs at least one drive value")
    loop = _loop(circuit, body, binding, dt)
    if parameter not in loop.network.circuit.parameters:
        raise UnknownNameError("parameter", parameter, loop.network.circuit.parameters)
    parsed = parse_perturbations(perturbations)
    lanes = [(float(v), s) for v in values for s in seeds]
    runs = loop.run(
        [s for _, s in lanes],
        parameters=[{parameter: v} for v, _ in lanes],
        perturbations=parsed,
        max_steps=max_steps,
    )
    by_value = []
    for i, value in enumerate(values):
        rows = [{"seed": e.seed, **e.metrics} for e in runs[i * len(seeds) : (i + 1) * len(seeds)]]
        by_value.append({"value": float(value), "aggregate": aggregate(rows), "episodes": rows})
    return DriveRun(**_stated(loop, seeds, parsed), parameter=parameter, by_value=by_value)


def run_with_schedule(
    circuit: str | os.PathLike | Circuit | ClosedLoop,
    schedule: DriveSchedule,
    body: str | None = None,
    *,
    binding: str | os.PathLike | None = None,
    episodes: int = 10,
    first_seed: int = REPORT_FIRST,
    dt: float | None = None,
    max_steps: int | None = None,
    perturbations: Sequence[Perturbation | str] = (),
) -> ScheduledRun:
    """Episodes with a drive parameter commanded over time (``DriveSchedule("drive", ((0, 21), (4, 25)))``).

    Each episode's row holds its mean speed over every piece of the schedule. The other
    arguments are :func:`run_body`'s.
    """
    seeds = _seeds(episodes, first_seed)
    loop = _loop(circuit, body, binding, dt)
    parsed = parse_perturbations(perturbations)
    runs = loop.run(seeds, perturbations=parsed, max_steps=max_steps, drive_schedule=schedule)
    duration_s = (max_steps or loop.binding.body.max_steps) * loop.body_dt_ms / 1000.0
    return ScheduledRun(
        **_stated(loop, seeds, parsed),
        schedule=schedule,
        segments=schedule.segments(duration_s),
        episodes=[{"seed": e.seed, **e.metrics} for e in runs],
    )
