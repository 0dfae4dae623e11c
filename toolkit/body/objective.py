"""The ``walk`` calibration objective: distance, survival, posture and effort of closed-loop episodes.

Registered with :func:`encephagen.objectives.register_objective` when this module is
imported (``encephagen.body.objective`` belongs in ``OBJECTIVE_PROVIDERS``), so that
``encephagen calibrate walker2d_cpg --objective walk --body walker2d`` tunes the circuit's
free parameters -- binding gains included, since a binding's gains and offsets name circuit
parameters -- with every candidate and seed run as one lane of one closed loop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BodyError
from ..objectives import Loss, register_objective
from .loop import WALK_TARGETS, DriveSchedule, commanded_populations, walk_objective_terms
from .perturbations import Perturbation, from_pair

if TYPE_CHECKING:
    from ..compiler import CompiledNetwork

WALK_OPTIONS: dict[str, Any] = {
    "body": "walker2d",
    "binding": "",
    "dt": 0.0,
    "max_steps": 1000,
    "distance_weight": 1.0,
    "posture_weight": 0.5,
    "effort_weight": 0.1,
    "perturb": (),
    "drive_param": "drive",
    "drive_speeds": (),
    "speed_weight": 1.0,
    "speed_metric": "speed",
    "drive_schedule": "",
    "slip_weight": 0.0,
    "swing_weight": 0.0,
    "swing_ms": 400.0,
    "lean_weight": 0.0,
    "lean_rad": 0.5,
}
"""``binding`` '' means ``<circuit name>.binding.json`` in the circuit's folder; ``dt`` 0 means the
binding's ``dt_ms`` (else 0.1 ms), the step its circuit is reported at; the weights
scale the distance, upright and effort terms against survival (each about [0, 1]). The
distance term stops rewarding at the distance target, so a target above the distance
wanted, with a larger weight, keeps the search pushing (e.g. ``--target distance_m=6
--option distance_weight=1.5``: 0.25 per m up to 6 m, one full episode = 1 m).

``perturb``: episode conditions to train on, each a list of ``(kind, size)`` pairs of
:mod:`encephagen.body.perturbations` (``((), (("push", 15.0),), (("mass", 0.8), ("friction", 0.7)))``:
every candidate and seed runs once unperturbed, once pushed, once lighter on a slippery floor;
the loss is the mean over conditions; ``()`` is one unperturbed condition). ``drive_speeds``:
speed on command, ``(drive value, speed m/s)`` pairs (``((21.0, 0.4), (25.0, 0.8))``): every
candidate and seed also runs with ``drive_param`` at each value, and the loss adds
``speed_weight`` times the mean relative speed error there (capped at 1 per value) plus the
survival lost there (term ``drive_survival``). ``speed_metric`` is the episode metric compared:
``speed`` (over the whole episode, its start from rest included) or ``speed_settled`` (from 2 s on, to
0.5 s before a fall: the pace the command sets; an episode over before 2 s scores the full error). Both stay JSON (lists) in a calibration's
history and run directory; ``encephagen calibrate --option 'perturb=none;push=15'`` and
``--option drive_speeds=21:0.4,25:0.8`` are their command-line text. ``drive_schedule``: every
condition's episodes run with ``drive_param`` commanded over time, as ``encephagen run
--drive-schedule`` does (``'0:4,4:0.5'``: a speed change to train on; '' for none; the
``drive_speeds`` episodes hold their own values).

Gait shape (both off by default, so the loss is that of the terms above alone):
``slip_weight`` times term ``slip``, the mean horizontal speed (m/s) of the feet's contact
points while on the floor, weighted by their normal force (metric ``slip`` of
:class:`~encephagen.body.loop.GaitMeter`: a gait that skates its loaded feet scores more;
walker2d_cpg 0.8.1 ~0.13, 0.9.0 ~0.18, the sine walker ~0.10 on the normal floor); ``swing_weight`` times
term ``swing``, the relative shortfall of the mean time a foot is in the air before a
touchdown (metric ``air_ms``) from ``swing_ms`` (0 at or above it, 1 for no swing; 0.8.1
~190 ms, 0.9.0 ~430 ms, the sine walker ~490 ms). ``--option slip_weight=3 --option swing_weight=0.5``.

Lean margin (off by default): ``lean_weight`` times term ``lean``, how far each episode's most backward
torso pitch after its first 2 s (metric ``pitch_min``) went past ``lean_rad``, as a fraction of the way
to the body's pitch fall limit (Walker2d: 1 rad; 0 within ``lean_rad``, 1 at the limit). A walker that falls in 1-3 % of
episodes shows no fall in the ~30 episodes a candidate is scored on, but how near its episodes come to
tipping backwards is measured in every one of them (0.9.0 under a one-step motor delay: -0.59 rad on
average, its rivals -0.63 to -0.69). ``--option lean_weight=1``. Tried once (docs/notes/walk.md, session 19), it
did not carry: candidates scored well on it leaned back further than 0.9.0 on fresh delayed episodes."""


def _pairs(option: str, value: Any, example: str) -> list[tuple[Any, Any]]:
    """``value`` as a list of 2-item pairs, or a BodyError naming the option and its form."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise BodyError(f"option {option} of objective 'walk' takes a list of pairs such as {example}; got {value!r}")
    pairs = []
    for pair in value:
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise BodyError(f"option {option} of objective 'walk' takes pairs such as {example}; got {pair!r}")
        pairs.append((pair[0], pair[1]))
    return pairs


def drive_speeds_option(value: Sequence[Sequence[float]]) -> tuple[tuple[float, float], ...]:
    """The ``drive_speeds`` option -> ((drive, speed m/s), ...), checked: numbers, speeds > 0.

    >>> drive_speeds_option([[21, 0.4], (25, 0.8)])
    ((21.0, 0.4), (25.0, 0.8))
    """
    points = []
    for drive, speed in _pairs("drive_speeds", value, "(21.0, 0.4)"):
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (drive, speed)):
            raise BodyError(
                f"option drive_speeds of objective 'walk': pairs of numbers, e.g. (21.0, 0.4); got {(drive, speed)!r}"
            )
        if not (math.isfinite(drive) and math.isfinite(speed) and speed > 0):
            raise BodyError(
                f"option drive_speeds of objective 'walk': finite values, every speed > 0 m/s; got {(drive, speed)!r}"
            )
        points.append((float(drive), float(speed)))
    return tuple(points)


def schedule_option(text: str, parameter: str) -> DriveSchedule | None:
    """The ``drive_schedule`` option (``'0:4,4:0.5'``, seconds:value) -> a schedule of ``parameter``, or None for ''.

    >>> schedule_option("0:4,4:0.5", "drive").points
    ((0.0, 4.0), (4.0, 0.5))
    """
    if not text.strip():
        return None
    try:
        return DriveSchedule.parse(text, parameter)
    except BodyError as exc:
        raise BodyError(f"option drive_schedule of objective 'walk': {exc}") from None


def conditions_option(value: Sequence[Sequence[Sequence[Any]]]) -> tuple[tuple[Perturbation, ...], ...]:
    """The ``perturb`` option -> one tuple of perturbations per condition (``()`` = unperturbed).

    >>> conditions_option([[], [["push", 4]]])
    ((), (Push(impulse=4.0, every_s=2.0, duration_ms=100.0),))
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise BodyError(
            f"option perturb of objective 'walk' takes conditions, each a list of (kind, size) pairs, "
            f"such as ((), (('push', 4.0),)); got {value!r}"
        )
    if not value:
        return ((),)
    return tuple(tuple(from_pair(kind, size) for kind, size in _pairs("perturb", c, "('push', 4.0)")) for c in value)


class WalkEvaluator:
    """Scores parameter sets on seeds by running each pair as a lane of a closed loop (picklable)."""

    def __init__(self, circuit, targets: Mapping[str, float], options: Mapping[str, Any], base_dir: str | Path | None):
        from .binding import binding_path_for, load_binding, make_bound_body

        options = {**WALK_OPTIONS, **options}
        self.circuit, self.targets, self.options = circuit, dict(targets), options
        if options["binding"]:
            path = Path(options["binding"])
        elif getattr(circuit, "source_path", None):
            path = binding_path_for(circuit.source_path, options["body"])
        else:
            path = binding_path_for(Path(base_dir or ".") / f"{circuit.name}.json", options["body"])
        if not path.exists():
            raise BodyError(
                f"{path}: no binding file for circuit {circuit.name!r}; give the objective option binding=FILE"
            )
        self.binding = load_binding(path)
        self.base_dir = path.parent
        self.dt = self.binding.circuit_dt(float(options["dt"]) or None)
        if self.binding.body.kind != options["body"]:
            raise BodyError(
                f"{path}:/body/kind: the binding drives {self.binding.body.kind!r}, not {options['body']!r}"
            )
        self._network: CompiledNetwork | None = None
        self.conditions = conditions_option(options["perturb"])
        self.drive_speeds = drive_speeds_option(options["drive_speeds"])
        self.schedule = schedule_option(str(options["drive_schedule"]), str(options["drive_param"]))
        if options["speed_metric"] not in SPEED_METRICS:
            raise BodyError(
                f"option speed_metric of objective 'walk': one of {', '.join(SPEED_METRICS)}; got {options['speed_metric']!r}"
            )
        # the lean term's scale is the body's own fall limit (Walker2d: |pitch| < 1 rad)
        self.fall_rad = make_bound_body(self.binding, self.base_dir).max_abs_pitch
        if float(options["lean_weight"]) and self.fall_rad is None:
            raise BodyError(f"option lean_weight of objective 'walk': body {options['body']!r} has no pitch fall limit")
        if self.fall_rad is not None and not 0.0 <= float(options["lean_rad"]) < self.fall_rad:
            raise BodyError(
                f"option lean_rad of objective 'walk': a backward pitch in [0, {self.fall_rad:g}) rad, below the "
                f"body's fall limit; got {options['lean_rad']!r}"
            )
        if (self.drive_speeds or self.schedule) and options["drive_param"] not in circuit.parameters:
            raise BodyError(
                f"option drive_param of objective 'walk': circuit {circuit.name!r} has no parameter {options['drive_param']!r}"
            )
        if self.schedule is not None:
            try:
                commanded_populations(circuit, self.schedule.parameter)  # checked before any episode runs
            except BodyError as exc:
                raise BodyError(f"option drive_schedule of objective 'walk': {exc}") from None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_network": None}  # compiled arrays are rebuilt in each worker

    def __call__(self, parameter_sets: Sequence[Mapping[str, float]], seeds: Sequence[int]) -> list[list[Loss]]:
        from ..compiler import compile_circuit
        from .loop import evaluate_walk

        if self._network is None:
            self._network = compile_circuit(self.circuit, dt=self.dt)
        weights = {
            "distance": float(self.options["distance_weight"]),
            "survival": 1.0,
            "upright": float(self.options["posture_weight"]),
            "effort": float(self.options["effort_weight"]),
            "speed": float(self.options["speed_weight"]),
            "drive_survival": 1.0,
            "slip": float(self.options["slip_weight"]),
            "swing": float(self.options["swing_weight"]),
            "lean": float(self.options["lean_weight"]),
        }
        common: dict[str, Any] = dict(
            dt=self.dt,
            gait_meter=bool(weights["slip"] or weights["swing"]),
            max_steps=int(self.options["max_steps"]),
            base_dir=self.base_dir,
            network=self._network,
        )
        sets = [dict(p) for p in parameter_sets]
        n, k = len(seeds), len(sets)
        terms: list[dict[str, float]] = [{} for _ in range(k * n)]  # (set, seed) -> mean terms over conditions
        for perturbations in self.conditions:
            results = evaluate_walk(
                self.circuit,
                self.binding,
                seeds,
                parameters=sets,
                perturbations=perturbations,
                drive_schedule=self.schedule,
                **common,
            )
            for i, episode in enumerate(results):
                for name, value in self._terms(episode).items():
                    terms[i][name] = terms[i].get(name, 0.0) + value / len(self.conditions)
            if self.drive_speeds:
                name = str(self.options["drive_param"])
                commanded = [{**p, name: value} for p in sets for value, _ in self.drive_speeds]
                results = evaluate_walk(
                    self.circuit, self.binding, seeds, parameters=commanded, perturbations=perturbations, **common
                )
                points = len(self.drive_speeds)
                for j, episode in enumerate(
                    results
                ):  # lane j: set j // n = candidate * points + drive point, seed j % n
                    candidate, point = divmod(j // n, points)
                    i = candidate * n + j % n
                    wanted = self.drive_speeds[point][1]
                    share = 1.0 / (points * len(self.conditions))
                    terms[i]["speed"] = terms[i].get("speed", 0.0) + share * speed_error(
                        float(episode[self.options["speed_metric"]]), wanted
                    )
                    terms[i]["drive_survival"] = terms[i].get("drive_survival", 0.0) + share * max(
                        0.0, 1.0 - episode["steps"] / self.targets["steps"]
                    )
        losses: list[list[Loss]] = [[] for _ in sets]
        for i, episode_terms in enumerate(terms):
            losses[i // n].append(
                Loss(sum(weights[key] * value for key, value in episode_terms.items()), episode_terms)
            )
        return losses

    def _terms(self, episode: Mapping[str, float]) -> dict[str, float]:
        terms = walk_objective_terms([episode], self.targets)
        if float(self.options["slip_weight"]):
            terms["slip"] = float(episode["slip"])
        if float(self.options["swing_weight"]):
            terms["swing"] = max(0.0, 1.0 - float(episode["air_ms"]) / float(self.options["swing_ms"]))
        if float(self.options["lean_weight"]):
            terms["lean"] = lean_term(float(episode["pitch_min"]), float(self.options["lean_rad"]), self.fall_rad)
        return terms


SPEED_METRICS = ("speed", "speed_settled")
"""The episode metrics option ``speed_metric`` may compare with a commanded speed."""


def speed_error(measured: float, wanted: float) -> float:
    """Relative error of a measured speed from the one wanted, capped at 1 (also for none measured: NaN).

    >>> [speed_error(v, 0.4) for v in (0.4, 0.2, 1.2, float("nan"))]
    [0.0, 0.5, 1.0, 1.0]
    """
    return min(1.0, abs(measured - wanted) / wanted) if math.isfinite(measured) else 1.0


def lean_term(pitch_min: float, lean_rad: float, fall_rad: float) -> float:
    """How far a backward lean of ``-pitch_min`` rad went past ``lean_rad`` toward the fall limit ``fall_rad``, in [0, 1].

    >>> [lean_term(p, 0.5, 1.0) for p in (0.1, -0.5, -0.75, -1.2)]
    [0.0, 0.0, 0.5, 1.0]
    """
    return min(1.0, max(0.0, (-pitch_min - lean_rad) / (fall_rad - lean_rad)))


class StandEvaluator(WalkEvaluator):
    """The ``stand`` objective: survival, upright posture and small effort; moving costs.

    The ``distance`` term is ``|distance upright| / drift_m`` (a stander should stay where it
    is), so nothing rewards walking: what is left to learn is balance.
    """

    def _terms(self, episode: Mapping[str, float]) -> dict[str, float]:
        terms = walk_objective_terms([episode], {"distance_m": 1.0, "steps": self.targets["steps"]})
        terms["distance"] = abs(float(episode.get("distance_upright", episode["distance"]))) / self.targets["drift_m"]
        return terms


STAND_TARGETS: dict[str, float] = {"steps": 1000.0, "drift_m": 1.0}
WALK_ONLY_OPTIONS = ("slip_weight", "swing_weight", "swing_ms", "lean_weight", "lean_rad")
"""The walk options that score the gait's shape and its backward-lean margin; ``stand`` does not take them."""
STAND_OPTIONS: dict[str, Any] = {
    **{key: value for key, value in WALK_OPTIONS.items() if key not in WALK_ONLY_OPTIONS},
    "body": "humanoid",
    "distance_weight": 0.1,
    "posture_weight": 1.0,
    "effort_weight": 0.1,
}


def make_stand_evaluator(
    circuit, targets: Mapping[str, float], options: Mapping[str, Any], *, base_dir=None
) -> StandEvaluator:
    """The objective registry's factory for ``stand``."""
    walk_only_off = {key: WALK_OPTIONS[key] for key in WALK_ONLY_OPTIONS}  # not stand's options: always off
    return StandEvaluator(
        circuit, {**STAND_TARGETS, **targets}, {**STAND_OPTIONS, **options, **walk_only_off}, base_dir
    )


def make_walk_evaluator(
    circuit, targets: Mapping[str, float], options: Mapping[str, Any], *, base_dir=None
) -> WalkEvaluator:
    """The objective registry's factory for ``walk``."""
    return WalkEvaluator(circuit, targets, options, base_dir)


register_objective(
    "walk",
    make_walk_evaluator,
    targets=WALK_TARGETS,
    options=WALK_OPTIONS,
    description="Closed-loop walking: forward distance and survival (plus posture and effort; optionally foot slip, swing time and backward-lean margin, options slip_weight, swing_weight and lean_weight) over seeded episodes.",
)
register_objective(
    "stand",
    make_stand_evaluator,
    targets=STAND_TARGETS,
    options=STAND_OPTIONS,
    description="Closed-loop standing: survival, upright posture and small effort over seeded episodes (drifting costs, walking earns nothing).",
)
