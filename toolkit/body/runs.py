"""A circuit driving a body in one call: :func:`run_body` binds, runs and returns the table.

``encephagen run`` is this function plus formatting: the library finds the binding, compiles
the circuit, runs the circuit's episodes beside the baselines it must beat on the same seeds,
and returns a :class:`BodyRun`; the command prints it as a table or as JSON.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BodyError
from ..schema import Circuit
from ..seeds import REPORT_FIRST, describe_seeds
from .loop import ClosedLoop
from .perturbations import Perturbation, describe, parse_perturbations


def bind(
    circuit: str | os.PathLike | Circuit,
    body: str | None = None,
    *,
    binding: str | os.PathLike | None = None,
    dt: float = 0.1,
) -> ClosedLoop:
    """The closed loop of a circuit and the body its binding file names, compiled at ``dt`` (ms).

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
    return ClosedLoop(compile_circuit(loaded, dt=dt), spec, base_dir=binding_file.parent, file=str(binding_file))


@dataclass(frozen=True)
class BodyRun:
    """Episodes of a circuit and of its baselines on the same seeds (distances in m, speeds in m/s).

    ``controllers`` maps a controller's name (``"circuit"`` first, then ``"offsets"``, the
    body's reference controllers and any extra loops) to ``{"episodes": [one dict per seed:
    steps, distance, speed, reward, fell, ...], "aggregate": {steps_mean, full, distance_mean, ...}}``.
    """

    circuit: str
    version: str
    binding: str
    body: str
    dt_ms: float
    neural_steps_per_body_step: int
    seeds: list[int]
    perturbations: list[str]
    controllers: dict[str, dict[str, Any]]
    trajectory: Any = field(default=None, repr=False)
    """The first circuit episode's trajectory when ``record_first`` was asked, else None."""

    @property
    def seed_range(self) -> str:
        """Which seed range the seeds are in (:func:`encephagen.seeds.describe_seeds`)."""
        return describe_seeds(self.seeds)

    def episodes(self, controller: str = "circuit") -> list[dict[str, Any]]:
        """One row per seed for a controller."""
        return self.controllers[controller]["episodes"]

    def aggregate(self, controller: str = "circuit") -> dict[str, Any]:
        """Means, SDs and the count of full-length episodes of a controller."""
        return self.controllers[controller]["aggregate"]

    def to_dict(self) -> dict[str, Any]:
        """Everything but the trajectory, as JSON-ready values."""
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
            "controllers": self.controllers,
        }


def run_body(
    circuit: str | os.PathLike | Circuit | ClosedLoop,
    body: str | None = None,
    *,
    binding: str | os.PathLike | None = None,
    episodes: int = 10,
    first_seed: int = REPORT_FIRST,
    dt: float = 0.1,
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

    if episodes < 1:
        raise BodyError(f"episodes must be at least 1; got {episodes}")
    loop = circuit if isinstance(circuit, ClosedLoop) else bind(circuit, body, binding=binding, dt=dt)
    parsed = parse_perturbations(perturbations)
    if parsed and extra is None:
        extra = {"no afferents": loop.without_afferents(), "sensors at rest": loop.with_sensors_at_rest()}
    if parsed and baselines is None and loop.binding.body.kind == "walker2d":
        baselines = ("constant", "sine_pitch")
    seeds = list(range(first_seed, first_seed + episodes))
    report = run_with_baselines(
        loop,
        seeds,
        max_steps=max_steps,
        record_first=record_first,
        perturbations=parsed,
        baselines=baselines,
        extra=extra,
    )
    circuit_model = loop.network.circuit
    return BodyRun(
        circuit=circuit_model.name,
        version=circuit_model.version,
        binding=str(loop.file),
        body=loop.binding.body.kind,
        dt_ms=float(loop.network.dt),
        neural_steps_per_body_step=loop.steps_per_body_step,
        seeds=seeds,
        perturbations=[describe(p) for p in parsed],
        controllers=report["controllers"],
        trajectory=report["trajectory"],
    )
