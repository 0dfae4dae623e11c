"""Objectives for calibration: a small registry of named losses with named terms.

An objective turns a circuit and its targets into a *batched evaluator*: a callable that
takes the candidates of a generation (parameter values by name) and the noise seeds to
score them on, and returns one :class:`Loss` per (candidate, seed) pair. Batching is the
objective's business because only it knows how to run the candidates together (all of
them as lanes of one simulator call, for the gait objective); the calibration loop only
asks, evaluates and tells.

Every loss is a total and its named terms, so a user sees *why* a candidate is bad
(``left_right_phase 0.4``), live and in the written provenance. Terms are dimensionless
and scaled to about [0, 1] each, so that targets of different units weigh alike.

Other stages add objectives with :func:`register_objective` (the body adds ``walk``, the
cortex ``fc``); a name can be registered once.
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import CalibrationError, SimulationError, UnknownNameError, did_you_mean
from .schema import Circuit

log = logging.getLogger(__name__)

OBJECTIVE_PROVIDERS: tuple[str, ...] = (
    "encephagen.body.objective",
    "encephagen.fc",
)
"""Modules that register objectives when imported (one line each: body, cortex)."""


@dataclass(frozen=True)
class Loss:
    """A loss value and the named, dimensionless terms it is the sum of."""

    total: float
    terms: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_terms(cls, terms: Mapping[str, float]) -> Loss:
        """The loss whose total is the plain sum of its terms."""
        return cls(float(sum(terms.values())), {k: float(v) for k, v in terms.items()})

    @classmethod
    def mean(cls, losses: Sequence[Loss]) -> Loss:
        """Seed average: the mean total and the mean of each term (terms of the first loss)."""
        n = len(losses)
        names = list(losses[0].terms) if losses else []
        return cls(
            math.fsum(loss.total for loss in losses) / n,
            {name: math.fsum(loss.terms.get(name, math.nan) for loss in losses) / n for name in names},
        )

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "terms": dict(self.terms)}


class BatchEvaluator(Protocol):
    """Scores candidates on noise seeds: ``result[i][j]`` is candidate i's loss on seeds[j]."""

    def __call__(self, parameter_sets: Sequence[Mapping[str, float]], seeds: Sequence[int]) -> list[list[Loss]]: ...


EvaluatorFactory = Callable[..., BatchEvaluator]
"""``factory(circuit, targets, options, *, base_dir)`` -> evaluator; called once per process.
``base_dir`` is the circuit file's folder (for arrays it references), or None."""


@dataclass(frozen=True)
class Objective:
    """A registered objective: how to build its evaluator, and the targets and options it takes."""

    name: str
    factory: EvaluatorFactory
    targets: Mapping[str, float]
    """Every target the objective understands, with its default value."""
    options: Mapping[str, Any]
    """Every option (simulation length, body...) with its default value."""
    description: str = ""

    @property
    def module(self) -> str:
        """The module that registers it: imported by worker processes before they look it up."""
        return self.factory.__module__

    def resolve_targets(self, given: Mapping[str, float]) -> dict[str, float]:
        """Defaults overridden by the given targets; unknown names refused with the valid ones."""
        return self._merge("target", self.targets, given)

    def resolve_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        return self._merge("option", self.options, given)

    def _merge(self, kind: str, defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
        for key in given:
            if key not in defaults:
                known = did_you_mean(key, defaults) or f"; objective {self.name!r} takes no {kind}s"
                raise CalibrationError(f"unknown {kind} {key!r} for objective {self.name!r}{known}")
        merged = dict(defaults)
        for key, default in defaults.items():
            if key not in given:
                log.info("%s %s = %s (default)", kind, key, default)
            else:
                merged[key] = self._typed(kind, key, default, given[key])
        return merged

    def _typed(self, kind: str, key: str, default: Any, value: Any) -> Any:
        """``value`` as the type of its default: a number for a number, a tuple for a list, else as given.
        Strings are not parsed here (``"3000"`` is refused for a number): the command line does that."""
        number = isinstance(default, (int, float)) and not isinstance(default, bool)
        if number and isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(default, int) and value != int(value):
                raise CalibrationError(f"{kind} {key} of objective {self.name!r} must be a whole number; got {value!r}")
            return type(default)(value)
        if isinstance(default, tuple) and isinstance(value, (list, tuple)):
            return tuple(value)
        if not number and not isinstance(default, tuple) and type(value) is type(default):
            return value
        want = "a number" if number else "a list" if isinstance(default, tuple) else type(default).__name__
        raise CalibrationError(
            f"{kind} {key} of objective {self.name!r} must be {want} (like its default {default!r}); got {value!r}"
        )


_REGISTRY: dict[str, Objective] = {}


def register_objective(
    name: str,
    factory: EvaluatorFactory,
    *,
    targets: Mapping[str, float],
    options: Mapping[str, Any] | None = None,
    description: str = "",
) -> Objective:
    """Add an objective to the registry; a name already taken is refused.

    Parameters
    ----------
    name
        What users pass to ``encephagen calibrate --objective``.
    factory
        ``factory(circuit, targets, options, *, base_dir)`` returns the batched evaluator. It must be a
        module-level function so that worker processes can import and call it.
    targets, options
        Every name the objective accepts, with its default value (numbers are converted to
        the default's type when given on the command line).
    """
    if name in _REGISTRY:
        raise CalibrationError(
            f"an objective named {name!r} is already registered (by {_REGISTRY[name].module}); choose another name"
        )
    objective = Objective(name, factory, dict(targets), dict(options or {}), description)
    _REGISTRY[name] = objective
    return objective


def _load_providers() -> None:
    for module in OBJECTIVE_PROVIDERS:
        importlib.import_module(module)


def objective_names() -> list[str]:
    """Names of every registered objective (after importing the provider modules)."""
    _load_providers()
    return sorted(_REGISTRY)


def get_objective(name: str, module: str | None = None) -> Objective:
    """The registered objective of that name; ``module`` is imported first if it is not yet known."""
    if name not in _REGISTRY:
        _load_providers()
        if module is not None and name not in _REGISTRY:
            importlib.import_module(module)
    if name not in _REGISTRY:
        raise UnknownNameError("objective", name, _REGISTRY)
    return _REGISTRY[name]


# --------------------------------------------------------------------------- gait

GAIT_TARGETS: dict[str, float] = {
    "frequency_hz": 2.0,
    "lr_phase": 0.5,
    "fe_phase": 0.5,
    "period_cv": 0.1,
    "rhythmic_fraction": 0.95,
    "frequency_low_hz": 0.0,
    "frequency_high_hz": 0.0,
    "duty_flexor": 0.0,
    "duty_extensor": 0.0,
}
"""Defaults from the spinal-circuit issue: alternation 0.5, period CV <= 0.10, rhythmic >= 95 %.
The frequency (a slow mouse walk, Danner et al. 2017) is the one a user most often sets.
Names are those of :func:`encephagen.gait.gait_metrics`, except ``frequency_low_hz`` and
``frequency_high_hz``: the frequencies wanted at the first and last value of a drive sweep
(0 = no sweep), linear in between. Duty cycles (burst share of the cycle) are scored only when
set above 0: a body that needs long bursts (a walking leg) asks for them, a mouse rhythm need not."""

GAIT_OPTIONS: dict[str, Any] = {
    "duration_ms": 3000.0,
    "warmup_ms": 500.0,
    "bin_ms": 1.0,
    "dt": 0.1,
    "sweep_param": "",
    "sweep_values": (),
    "sweep_fe_overlap": 0.0,
    "lesion_zero": (),
    "lesion_rhythmic_max": 0.3,
}
"""Biological time per evaluation, the transient left out, the rate-bin width and the step (ms);
the parameter to sweep (e.g. ``drive``) and its values (``(16, 22, 28, 34)``), empty for no sweep;
``sweep_fe_overlap`` > 0: at the sweep values, score flexor-extensor alternation by the share of
co-bursting time (``fe_overlap``, this value a ceiling) instead of by phase 0.5, because the
extensor's onset phase follows the flexor burst's share of the cycle, which speed legitimately
moves (flexion stays, extension shortens: Danner et al. 2016); parameters set to zero in a control lane whose
rhythm must *not* survive (``("w_inf", "w_ine")``: the half-centre inhibition), and the rhythmic
fraction that control lane may keep."""

_SWEEP_TARGETS = ("frequency_low_hz", "frequency_high_hz")

_PAIRS = {
    "lr_phase": (("left_flexor", "right_flexor"), ("left_extensor", "right_extensor")),
    "fe_phase": (("left_flexor", "left_extensor"), ("right_flexor", "right_extensor")),
}


def gait_loss(metrics: Mapping[str, float], targets: Mapping[str, float]) -> Loss:
    """Distance of gait metrics from their targets, one term in [0, 1] per target.

    * ``frequency_hz``: ``|log2(f / target)| / 3``, capped at 1 (a factor of two off costs
      1/3, of eight or more 1: graded far from the target, where searches start);
    * phases (cycles, circular): twice the circular distance to the target;
    * ``period_cv`` and ``fe_overlap`` (ceilings): the excess over the target, per 0.5;
    * ``rhythmic_fraction`` (a floor): the shortfall, relative to the target;
    * ``duty_flexor``/``duty_extensor``: twice the distance to the target (a target of 0 is
      no target).

    A metric the circuit cannot have (absent from ``metrics``, e.g. left-right phase of a
    one-sided half-centre) adds no term; one that could not be measured (NaN, no rhythm)
    costs the full 1.

    >>> gait_loss({"frequency_hz": 16.0, "fe_phase": 0.25, "lr_phase": math.nan}, GAIT_TARGETS).terms
    {'frequency_hz': 1.0, 'lr_phase': 1.0, 'fe_phase': 0.5}
    """
    terms: dict[str, float] = {}
    for name, target in targets.items():
        if name not in metrics or (name.startswith("duty_") and target <= 0):
            continue
        value = float(metrics[name])
        if not math.isfinite(value):
            terms[name] = 1.0
        elif name == "frequency_hz":
            terms[name] = min(1.0, abs(math.log2(value / target)) / 3.0) if value > 0 else 1.0
        elif name.endswith("_phase"):
            terms[name] = 2.0 * abs((value - target + 0.5) % 1.0 - 0.5)
        elif name in ("period_cv", "fe_overlap"):
            terms[name] = min(1.0, max(0.0, value - target) / 0.5)
        elif name == "rhythmic_fraction":
            terms[name] = min(1.0, max(0.0, target - value) / target)
        elif name.startswith("duty_"):
            terms[name] = min(1.0, 2.0 * abs(value - target))
    return Loss.from_terms(terms)


@dataclass(frozen=True)
class DriveSweep:
    """Values of one parameter at which every candidate is also scored, and the frequency wanted at each."""

    parameter: str
    values: tuple[float, ...]
    frequencies_hz: tuple[float, ...]

    @classmethod
    def from_request(
        cls, circuit: Circuit, targets: Mapping[str, float], options: Mapping[str, Any]
    ) -> DriveSweep | None:
        """The sweep the options and targets ask for, None without ``sweep_param``; a half-given sweep is refused."""
        name, raw = str(options["sweep_param"]).strip(), options["sweep_values"]
        low, high = (float(targets[key]) for key in _SWEEP_TARGETS)
        if not name and not raw:
            if low or high:
                raise CalibrationError(
                    "gait targets frequency_low_hz and frequency_high_hz apply to a sweep; add the options sweep_param=NAME and sweep_values=(A, B, ...)"
                )
            return None
        if name not in circuit.parameters:
            raise UnknownNameError("parameter", name, circuit.parameters)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
            raise CalibrationError(
                f"option sweep_values of objective 'gait' must be numbers, e.g. (16, 22, 28, 34); got {raw!r}"
            )
        values = tuple(float(v) for v in raw)
        if len(values) < 2 or values[0] == values[-1] or not all(map(math.isfinite, values)):
            raise CalibrationError(
                f"option sweep_values of objective 'gait' needs at least two finite values, the first and last different; got {raw!r}"
            )
        if not (low > 0 and high > 0):
            raise CalibrationError(
                f"a sweep of {name!r} needs targets frequency_low_hz > 0 and frequency_high_hz > 0 (the frequencies at {values[0]:g} and {values[-1]:g}); got {low:g} and {high:g}"
            )
        span = values[-1] - values[0]
        return cls(name, values, tuple(low + (high - low) * (v - values[0]) / span for v in values))


class GaitEvaluator:
    """Simulates every (candidate, seed) pair as one lane of one batched run, then scores its gait.

    With a drive sweep, each pair also runs as one lane per sweep value, and its loss adds, to
    the terms of the candidate's own setting, the ``sweep_``-prefixed terms averaged over the
    sweep values (frequency against the interpolated target there; with ``sweep_fe_overlap``,
    flexor-extensor co-bursting instead of phase 0.5). The candidate's own
    setting stays scored because the swept parameter is often free: the value written to the
    calibrated file must itself walk at ``frequency_hz``.
    """

    def __init__(self, circuit: Circuit, targets: Mapping[str, float], options: Mapping[str, Any], *, base_dir=None):
        from .compiler import compile_circuit
        from .gait import pools_from_circuit

        if not targets["frequency_hz"] > 0 or not 0 < targets["rhythmic_fraction"] <= 1 or targets["period_cv"] < 0:
            raise CalibrationError(
                f"gait targets need frequency_hz > 0, 0 < rhythmic_fraction <= 1 and period_cv >= 0; got {dict(targets)}"
            )
        self.network = compile_circuit(circuit, dt=float(options["dt"]), base_dir=base_dir)
        self.pools = {
            role: members
            for role, members in pools_from_circuit(circuit).items()
            if set(members) <= set(circuit.populations)
        }
        if not self.pools:
            raise CalibrationError(
                f"circuit {circuit.name!r} declares no motor pools for gait analysis; add readouts named flexor/extensor or left_flexor, right_extensor, ..."
            )
        self.network.apply(
            {name: p.value for name, p in circuit.free_parameters.items()}
        )  # structural free parameters fail here, before any run
        self.sweep = DriveSweep.from_request(circuit, targets, options)
        if self.sweep is not None:
            for value in self.sweep.values:
                self.network.apply({self.sweep.parameter: value})  # a structural swept parameter fails here too
        self.targets = {
            name: value for name, value in targets.items() if self._measurable(name) and name not in _SWEEP_TARGETS
        }
        self.options = dict(options)
        self.lesion = {str(name): 0.0 for name in options["lesion_zero"]}
        for name in self.lesion:
            if name not in circuit.parameters:
                raise UnknownNameError("parameter", name, circuit.parameters)
        if self.lesion:
            self.network.apply(self.lesion)  # a structural parameter fails here

    def _measurable(self, metric: str) -> bool:
        if metric not in _PAIRS:
            return True
        return any(a in self.pools and b in self.pools for a, b in _PAIRS[metric])

    def __call__(self, parameter_sets: Sequence[Mapping[str, float]], seeds: Sequence[int]) -> list[list[Loss]]:
        from .gait import gait_from_rates
        from .simulation import simulate

        points: list[tuple[dict[str, float], Mapping[str, float] | None]] = [({}, self.targets)]
        if self.sweep is not None:
            at_values = dict(self.targets)
            if float(self.options["sweep_fe_overlap"]) > 0 and at_values.pop("fe_phase", None) is not None:
                at_values["fe_overlap"] = float(self.options["sweep_fe_overlap"])
            points += [
                ({self.sweep.parameter: v}, {**at_values, "frequency_hz": f})
                for v, f in zip(self.sweep.values, self.sweep.frequencies_hz)
            ]
        if self.lesion:
            points.append((self.lesion, None))  # the control lane: its rhythm must not survive
        lanes = [({**p, **setting}, int(s)) for p in parameter_sets for s in seeds for setting, _ in points]
        try:
            result = simulate(
                self.network,
                float(self.options["duration_ms"]),
                seeds=[s for _, s in lanes],
                parameters=[p for p, _ in lanes],
                record_spikes=False,
                bin_ms=float(self.options["bin_ms"]),
            )
        except SimulationError:
            if len(parameter_sets) == 1:
                return [[Loss(math.inf, {}) for _ in seeds]]
            return [row for p in parameter_sets for row in self([p], seeds)]  # isolate the candidate that diverged
        rates = result.rate_traces_hz()
        losses = []
        for lane in range(0, len(lanes), len(points)):
            metrics = [
                gait_from_rates(
                    rates[lane + k],
                    float(result.bin_ms),
                    list(result.population_names),
                    self.pools,
                    warmup_ms=float(self.options["warmup_ms"]),
                )
                for k in range(len(points))
            ]
            own, *swept = (gait_loss(m, targets) for m, (_, targets) in zip(metrics, points) if targets is not None)
            terms = (
                {**own.terms, **{f"sweep_{name}": v for name, v in Loss.mean(swept).terms.items()}}
                if swept
                else dict(own.terms)
            )
            if self.lesion:
                allowed = float(self.options["lesion_rhythmic_max"])
                survived = metrics[-1].get("rhythmic_fraction", 0.0)
                terms["lesion_rhythm"] = max(0.0, (survived if math.isfinite(survived) else 0.0) - allowed) / max(
                    1.0 - allowed, 1e-9
                )
            losses.append(Loss.from_terms(terms))
        return [losses[i * len(seeds) : (i + 1) * len(seeds)] for i in range(len(parameter_sets))]


def gait_evaluator(
    circuit: Circuit, targets: Mapping[str, float], options: Mapping[str, Any], *, base_dir=None
) -> GaitEvaluator:
    """Factory of the ``gait`` objective."""
    return GaitEvaluator(circuit, targets, options, base_dir=base_dir)


register_objective(
    "gait",
    gait_evaluator,
    targets=GAIT_TARGETS,
    options=GAIT_OPTIONS,
    description="Locomotor rhythm of the motor pools: frequency, left-right and flexor-extensor phase, period regularity, rhythmic fraction.",
)
