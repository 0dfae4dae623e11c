"""Feedback inhibition control: each region's local inhibition set so its E cells fire at a target rate.

In a cortex coupled by its connectome, hubs receive far more long-range excitation than
peripheral regions, so one inhibitory weight for all leaves hubs near saturation and the
periphery silent, and the global coupling must stay low. Deco et al. (2014, J Neurosci
34:7886) adjust each region's local inhibitory weight onto its excitatory cells until every
region sits at the same rate; the coupling can then rise and the model fits resting-state FC
better. Here the rule acts on the factor of each region's ``<region>.I-><region>.E``
projection weight (``{"param": "w_inh", "factor": f_i}``), multiplicatively::

    f_i <- f_i * clip((r_i / target) ** rate, 1 / max_step, max_step)

from the E rate ``r_i`` measured after a settling time, until every region is within
``tolerance`` of the target. The result is a new circuit version whose history entry
records the target, the runs and the rates reached.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import EncephagenError
from .seeds import CALIBRATION, check_calibration_seeds

DECO_2014 = "Deco G, Ponce-Alvarez A, Hagmann P, Romani GL, Mantini D, Corbetta M (2014) How local excitation-inhibition ratio impacts the whole brain dynamics. J Neurosci 34:7886-7898"


@dataclass(frozen=True)
class FICStep:
    """One iteration: the rates measured with the factors in force, before the update."""

    iteration: int
    rates_hz: np.ndarray
    """Excitatory rate of every region (Hz)."""
    factors: np.ndarray
    """Inhibitory weight factor of every region during the run."""
    target_hz: float

    @property
    def worst_relative_error(self) -> float:
        """Largest relative distance of a region's rate from the target."""
        return float(np.max(np.abs(self.rates_hz - self.target_hz) / self.target_hz))


@dataclass(frozen=True)
class FICResult:
    circuit: object
    """The new circuit version (``encephagen.schema.Circuit``)."""
    steps: list[FICStep]
    converged: bool


def inhibitory_projection_names(circuit, regions: Sequence[str]) -> list[str]:
    """The local I->E projection of every region, in ``regions`` order."""
    names = [f"{region}.I->{region}.E" for region in regions]
    missing = [n for n in names if n not in circuit.projections]
    if missing:
        raise EncephagenError(
            f"{circuit.name}: no projection {missing[0]!r}; feedback inhibition control needs a cortex built by encephagen.hcp.build_hcp_cortex_circuit"
        )
    return names


def inhibitory_factors(circuit, regions: Sequence[str]) -> np.ndarray:
    """The current factor of each region's I->E weight (1 where the weight is a plain parameter)."""
    from .schema import ParamRef

    out = []
    for name in inhibitory_projection_names(circuit, regions):
        weight = circuit.projections[name].weight
        if not isinstance(weight, ParamRef):
            raise EncephagenError(
                f"{circuit.name}: projection {name!r} has a literal weight; FIC scales {{'param': ..., 'factor': f}} weights"
            )
        out.append(weight.factor)
    return np.array(out, dtype=np.float64)


def with_inhibitory_factors(circuit, regions: Sequence[str], factors: np.ndarray):
    """A copy of ``circuit`` whose regions' I->E weights carry ``factors``."""
    projections = dict(circuit.projections)
    for name, factor in zip(inhibitory_projection_names(circuit, regions), factors):
        projection = projections[name]
        weight = projection.weight.model_copy(update={"factor": float(np.round(factor, 6))})
        projections[name] = projection.model_copy(update={"weight": weight})
    return circuit.model_copy(update={"projections": projections})


def feedback_inhibition_control(
    circuit,
    *,
    target_hz: float = 4.0,
    duration_s: float = 12.0,
    settle_s: float = 2.0,
    dt: float = 0.5,
    seeds: Sequence[int] = (CALIBRATION.first + 1,),
    max_iterations: int = 12,
    tolerance: float = 0.15,
    rate: float = 0.5,
    max_step: float = 1.3,
    base_dir=None,
    progress: Callable[[FICStep], None] | None = None,
) -> FICResult:
    """Iterate the FIC rule until every region's E rate is within ``tolerance`` of ``target_hz``.

    Parameters
    ----------
    circuit
        A cortex with per-region ``<region>.I-><region>.E`` projections weighted by a parameter.
    target_hz
        Excitatory rate every region should reach (Hz).
    duration_s, settle_s
        Length of each run and the initial part left out of the rates (s).
    dt
        Integration step (ms).
    seeds
        Noise seeds of each run (several lanes average the rate estimate): calibration seeds only,
        since the weights they set ship in a new version (others are refused).
    max_iterations, tolerance
        Stop when the worst region is within ``tolerance`` (relative) or after this many runs.
    rate, max_step
        Exponent of the multiplicative update and the largest change of a factor per step.
    progress
        Called with every :class:`FICStep`.
    """
    from .compiler import compile_circuit
    from .fc import run_cortex
    from .schema import HistoryEntry, bump_version

    if target_hz <= 0 or not 0 < tolerance < 1 or max_step <= 1 or settle_s >= duration_s:
        raise EncephagenError("FIC needs target_hz > 0, 0 < tolerance < 1, max_step > 1 and settle_s < duration_s")
    check_calibration_seeds(seeds, "feedback inhibition control")
    regions = _regions(circuit)
    factors = inhibitory_factors(circuit, regions)
    steps: list[FICStep] = []
    converged = False
    current = circuit
    for iteration in range(max_iterations + 1):
        network = compile_circuit(current, dt=dt, base_dir=base_dir)
        result = run_cortex(network, 1000.0 * duration_s, seeds=list(seeds))
        rates = excitatory_rates(result, regions, settle_s=settle_s)
        step = FICStep(iteration, rates, factors.copy(), target_hz)
        steps.append(step)
        if progress is not None:
            progress(step)
        if step.worst_relative_error <= tolerance:
            converged = True
            break
        if iteration == max_iterations:
            break
        ratio = np.clip((np.maximum(rates, 0.05 * target_hz) / target_hz) ** rate, 1.0 / max_step, max_step)
        factors = factors * ratio
        current = with_inhibitory_factors(circuit, regions, factors)
    final = steps[-1]
    entry = HistoryEntry(
        version=bump_version(circuit.version, "minor"),
        date=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        author="encephagen.fic.feedback_inhibition_control",
        action="feedback inhibition control",
        parent_version=circuit.version,
        details={
            "method": "per-region factor of the local I->E weight, multiplicative update (Deco et al. 2014)",
            "reference": DECO_2014,
            "target_hz": target_hz, "tolerance": tolerance, "duration_s": duration_s, "settle_s": settle_s, "dt_ms": dt,
            "seeds": [int(s) for s in seeds], "iterations": len(steps), "converged": converged,
            "rate_hz_min": float(final.rates_hz.min()), "rate_hz_max": float(final.rates_hz.max()),
            "factor_min": float(final.factors.min()), "factor_max": float(final.factors.max()),
        },
    )  # fmt: skip
    new = current.model_copy(update={"version": entry.version, "history": [*circuit.history, entry]})
    return FICResult(new, steps, converged)


def excitatory_rates(result, regions: Sequence[str], *, settle_s: float = 0.0) -> np.ndarray:
    """Mean rate (Hz) of each region's E population over the lanes, after ``settle_s``."""
    from .fc import region_rates

    start = int(round(1000.0 * settle_s / result.bin_ms))
    return np.mean(
        [region_rates(result, regions, lane=lane)[start:].mean(axis=0) for lane in range(result.n_lanes)], axis=0
    )


def _regions(circuit) -> list[str]:
    regions = [
        name[: -len(".E")]
        for name in circuit.populations
        if name.endswith(".E") and f"{name[:-2]}.I" in circuit.populations
    ]
    if not regions:
        raise EncephagenError(f"{circuit.name}: no <region>.E / <region>.I populations; FIC needs a cortex circuit")
    return regions
