"""Lesion experiments read per motor pool, beside what the literature reports for the same lesion.

A lesion's effect is judged on three things, each per seed and then counted over seeds:

* **rhythm, per pool** — a pool is rhythmic when its regular cycles cover at least
  :data:`~encephagen.gait.RHYTHMIC_POOL_MIN` of the run (see :mod:`encephagen.gait` for what
  makes a cycle regular), so a lesion that leaves the flexors bursting and the extensors tonic
  reads "flexor pools rhythmic, extensor pools not" instead of one number for the gait;
* **left–right coordination** — :func:`classify_lr` from the circular mean phase and its
  concentration R over cycles;
* **flexor–extensor coordination** — :func:`classify_fe` from the flexor–extensor overlap.

The thresholds, and why:

* phase-locked means R >= :data:`LOCKED_R` (0.8): R = exp(-2 pi^2 s^2) for a wrapped normal
  phase of circular s.d. s, so 0.8 is s <= 0.106 cycle; the intact ``spinal_cpg`` reads
  0.99-1.00 at every drive. Below :data:`DRIFT_R` (0.5, s > 0.19 cycle) the sides keep no
  phase relation worth naming ("drifting"); in between the coupling is "loose";
* a locked phase is alternation within :data:`PHASE_WINDOW` (0.1 cycle) of 0.5, and closer to
  synchrony than to alternation ("in phase") within a quarter cycle of 0;
* flexors and extensors alternate while their overlap (share of the time either bursts
  during which both do) is at most :data:`FE_OVERLAP_MAX` (0.1): two 50 %-duty pools bursting
  at unrelated phases overlap 1/3 of their union on average, synchronous ones 1; the intact
  circuit reads <= 0.03 at every drive. With a pool that is not rhythmic there is nothing to
  coordinate and the state says so.

The literature is quoted as the papers report it; :func:`judge` compares it with the measured
states at the speeds a paper speaks of, and says where the model differs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import UnknownNameError
from .gait import DEFAULT_BIN_MS, POOL_ROLES, RHYTHMIC_POOL_MIN, aggregate, gait_per_lane, pools_from_circuit
from .seeds import REPORT

LOCKED_R = 0.8
"""Least phase concentration for a phase-locked pair (circular s.d. <= 0.106 cycle)."""
DRIFT_R = 0.5
"""Below this concentration (circular s.d. > 0.19 cycle) a pair has no stable phase: "drifting"."""
PHASE_WINDOW = 0.1
"""A locked pair alternates when its mean phase is within this many cycles of 0.5."""
FE_OVERLAP_MAX = 0.1
"""Largest flexor–extensor overlap that still counts as alternation (1/3 at unrelated phases)."""
LR_KEPT = ("alternating",)
"""Left–right states that keep alternation."""


@dataclass(frozen=True)
class Lesion:
    """One lesion experiment and what the literature reports for it."""

    label: str
    """How the table names it (``"In-F/In-E"``)."""
    remove: tuple[str, ...]
    """Populations, projections or cell classes removed (:func:`encephagen.compiler.lesion`)."""
    literature: str
    """What the cited papers report, in their terms."""
    expect: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Speed label -> expected state of ``"pools"`` (``"all"`` or ``"flexor"``: only the flexor
    pools rhythmic), ``"lr"`` (``"kept"``, ``"lost"`` or ``"synchrony"``), ``"fe"`` (``"kept"`` or
    ``"co-bursting"``) or ``"cv"`` (``"higher"``: a less regular rhythm than the intact circuit's)."""
    pools: Mapping[str, tuple[str, ...]] | None = None
    """Role -> populations read instead of the circuit's motor pools (e.g. the half-centres, when
    the papers speak of them rather than of motor output); None reads the motor pools."""
    level: str = "motor pools"
    """What ``pools`` are, for the table."""


HALF_CENTRES: dict[str, tuple[str, ...]] = {
    "left_flexor": ("L_RG_F",),
    "left_extensor": ("L_RG_E",),
    "right_flexor": ("R_RG_F",),
    "right_extensor": ("R_RG_E",),
}
"""The rhythm generator's half-centres of ``spinal_cpg``, read like motor pools."""

SPINAL_LESIONS: tuple[Lesion, ...] = (
    Lesion("intact", (), "", {s: {"pools": "all", "lr": "kept", "fe": "kept"} for s in ("slow", "fast")}),
    Lesion(
        "In-F/In-E",
        ("InRG",),
        "Rybak et al. 2015, Danner et al. 2016 (models) speak of the half-centres: see the next row",
    ),
    Lesion(
        "In-F/In-E",
        ("InRG",),
        "Rybak et al. 2015, Danner et al. 2016 (models): the flexor half-centre is intrinsically rhythmic; "
        "without the inhibition between the half-centres it keeps bursting and the extensor half-centre fires tonically",
        {s: {"pools": "flexor"} for s in ("slow", "fast")},
        pools=HALF_CENTRES,
        level="half-centres RG-F / RG-E",
    ),
    Lesion(
        "V0d",
        ("V0d",),
        "Talpalar et al. 2013: left-right alternation lost (synchrony) at low frequencies only; "
        "Danner et al. 2016/2017 reproduce this",
        {"slow": {"lr": "synchrony"}, "fast": {"lr": "kept"}},
    ),
    Lesion(
        "V0v",
        ("V0v",),
        "Talpalar et al. 2013: alternation kept at low frequencies, lost at high frequencies; Danner et al. 2017 reproduce this",
        {"slow": {"lr": "kept"}, "fast": {"lr": "lost"}},
    ),
    Lesion(
        "V2a",
        ("V2a",),
        "Crone et al. 2008/2009: alternation lost at high frequencies (V2a drive V0v); Danner et al. 2017: as V0v",
        {"slow": {"lr": "kept"}, "fast": {"lr": "lost"}},
    ),
    Lesion(
        "V0d+V0v",
        ("V0d", "V0v"),
        "Talpalar et al. 2013: left-right synchrony (hopping) at every frequency; Danner et al. 2016 reproduce this",
        {"slow": {"lr": "synchrony"}, "fast": {"lr": "synchrony"}},
    ),
    Lesion(
        "V3",
        ("V3",),
        "Zhang et al. 2008: the rhythm persists but becomes irregular and unbalanced between the sides",
        {s: {"pools": "all", "cv": "higher"} for s in ("slow", "fast")},
    ),
    Lesion(
        "V1+V2b",
        ("V1", "V2b"),
        "Zhang et al. 2014: flexor and extensor motor output synchronise (co-bursting); left-right alternation kept",
        {s: {"lr": "kept", "fe": "co-bursting"} for s in ("slow", "fast")},
    ),
)
"""The lesions of the shipped ``spinal_cpg`` with the literature each is compared with."""

SPINAL_SPEEDS: dict[str, float | None] = {"slow": 12.0, "shipped": None, "fast": 40.0}
"""Speed label -> value of the ``drive`` parameter (None: the circuit's own). 12 and 40 give
~2.7 and ~6.2 Hz in the intact circuit, the low and high ends of the range it walks over; the
literature's "low" and "high" frequencies are compared with these."""


def _phase_distance(phase: float, centre: float) -> float:
    return abs(((phase - centre) + 0.5) % 1.0 - 0.5)


def classify_lr(metrics: Mapping[str, float]) -> str:
    """Left–right state of one run: alternating, in phase, locked (other phase), loose, drifting or no rhythm.

    >>> classify_lr({"lr_phase": 0.52, "lr_concentration": 0.99})
    'alternating'
    >>> classify_lr({"lr_phase": 0.95, "lr_concentration": 0.9}), classify_lr({"lr_phase": 0.3, "lr_concentration": 0.3})
    ('in phase', 'drifting')
    """
    phase, r = metrics.get("lr_phase", math.nan), metrics.get("lr_concentration", math.nan)
    if not (math.isfinite(phase) and math.isfinite(r)):
        return "no rhythm"
    if r < DRIFT_R:
        return "drifting"
    if r < LOCKED_R:
        return "loose"
    if _phase_distance(phase, 0.5) <= PHASE_WINDOW:
        return "alternating"
    if _phase_distance(phase, 0.0) < 0.25:
        return "in phase"
    return "locked off 0.5"


def classify_fe(metrics: Mapping[str, float]) -> str:
    """Flexor–extensor state of one run: alternating, co-bursting, or which pools are not rhythmic.

    >>> classify_fe({"fe_overlap": 0.02, "left_flexor_rhythmic_fraction": 1.0, "left_extensor_rhythmic_fraction": 0.99})
    'alternating'
    >>> classify_fe({"fe_overlap": 0.02, "left_flexor_rhythmic_fraction": 1.0, "left_extensor_rhythmic_fraction": 0.0})
    'extensor not rhythmic'
    """
    silent = [
        kind
        for kind in ("flexor", "extensor")
        if any(metrics.get(f"{side}_{kind}_rhythmic_fraction", 1.0) < RHYTHMIC_POOL_MIN for side in ("left", "right"))
    ]
    if silent:
        return " and ".join(silent) + " not rhythmic"
    overlap = metrics.get("fe_overlap", math.nan)
    if not math.isfinite(overlap):
        return "no rhythm"
    return "alternating" if overlap <= FE_OVERLAP_MAX else "co-bursting"


@dataclass(frozen=True)
class LesionCell:
    """One lesion at one speed over the seeds."""

    lesion: Lesion
    speed: str
    value: float
    """The speed parameter's value."""
    per_seed: list[dict[str, float]]
    summary: dict[str, dict[str, float]]
    """:func:`encephagen.gait.aggregate` of ``per_seed``."""
    pools: dict[str, int]
    """Role -> number of seeds on which that pool is rhythmic."""
    lr: Counter
    """Left–right state -> number of seeds."""
    fe: Counter
    """Flexor–extensor state -> number of seeds."""

    @property
    def n_seeds(self) -> int:
        return len(self.per_seed)


def _majority(states: Counter) -> str:
    return states.most_common(1)[0][0] if states else "no rhythm"


def judge(cell: LesionCell, intact: LesionCell | None) -> tuple[str, list[str]]:
    """Verdict (``"agrees"``, ``"partly"``, ``"differs"`` or ``""`` when the literature says
    nothing at this speed) and the reasons, comparing the measured states with ``cell.lesion.expect``."""
    expect = cell.lesion.expect.get(cell.speed)
    if not expect:
        return "", []
    n, scores, reasons = cell.n_seeds, [], []
    for key, wanted in expect.items():
        if key == "pools":
            flexors = min(cell.pools.get(r, 0) for r in ("left_flexor", "right_flexor"))
            extensors = min(cell.pools.get(r, 0) for r in ("left_extensor", "right_extensor"))
            if wanted == "all":
                ok = min(flexors, extensors) > n / 2
                scores.append(1.0 if ok else 0.0)
                reasons.append(
                    "every pool stays rhythmic"
                    if ok
                    else f"pools not rhythmic (flexors {flexors}/{n}, extensors {extensors}/{n} seeds)"
                )
            else:  # only the flexor pools rhythmic
                contrast = cell.summary.get("left_extensor_contrast", {}).get("mean", math.nan)
                if flexors > n / 2 and extensors <= n / 2:
                    scores.append(1.0)
                    reasons.append(f"flexor pools rhythmic, extensor pools not (burst contrast {contrast:.2f})")
                elif flexors > n / 2:
                    scores.append(0.5)
                    reasons.append(
                        f"flexor pools rhythmic, but the extensor pools stay rhythmic too (burst contrast {contrast:.2f})"
                    )
                else:
                    scores.append(0.0)
                    reasons.append("the flexor rhythm is lost")
        elif key == "lr":
            alternating = sum(cell.lr[s] for s in LR_KEPT)
            in_phase = cell.lr["in phase"]
            states = ", ".join(f"{state} {count}/{n}" for state, count in cell.lr.most_common())
            if wanted == "kept":
                score = 1.0 if alternating > n / 2 else 0.0
                reasons.append(f"left-right {states}" + ("" if score else "; the papers keep alternation"))
            elif wanted == "lost":
                score = 0.0 if alternating > n / 2 else 1.0
                reasons.append(f"left-right {states}" + ("; the papers lose alternation" if not score else ""))
            else:  # synchrony
                score = 1.0 if in_phase > n / 2 else 0.0 if alternating > n / 2 else 0.5
                reasons.append(f"left-right {states}" + ("" if score == 1.0 else "; the papers report synchrony"))
            scores.append(score)
        elif key == "fe":
            state = _majority(cell.fe)
            ok = (state == "alternating") == (wanted == "kept")
            scores.append(1.0 if ok else 0.0)
            overlap = cell.summary.get("fe_overlap", {}).get("mean", math.nan)
            reasons.append(
                f"flexor-extensor {state} ({cell.fe[state]}/{n}, overlap {overlap:.3f})"
                + ("" if ok else f", the papers report {'alternation' if wanted == 'kept' else 'co-bursting'}")
            )
        elif key == "cv":
            cv = cell.summary.get("period_cv", {})
            base = intact.summary.get("period_cv", {}) if intact is not None else {}
            mean, ref, spread = cv.get("mean", math.nan), base.get("mean", math.nan), base.get("sd", math.nan)
            higher = mean > ref + 3 * max(spread, 1e-3)  # beyond the intact circuit's seed-to-seed spread
            scores.append(1.0 if higher else 0.0)
            reasons.append(
                f"period CV {mean:.3f} vs {ref:.3f} intact" + ("" if higher else ": the rhythm is no less regular")
            )
    verdict = "agrees" if all(s == 1.0 for s in scores) else "differs" if all(s == 0.0 for s in scores) else "partly"
    return verdict, reasons


def resolve_speeds(circuit, parameter: str, speeds: Mapping[str, float | None]) -> dict[str, float]:
    """Speed label -> parameter value, None replaced by the circuit's own value."""
    if parameter not in circuit.parameters:
        raise UnknownNameError("parameter", parameter, circuit.parameters)
    own = float(circuit.parameters[parameter].value)
    return {label: own if value is None else float(value) for label, value in speeds.items()}


def lesion_table(
    circuit,
    lesions: Sequence[Lesion] = SPINAL_LESIONS,
    *,
    parameter: str = "drive",
    speeds: Mapping[str, float | None] = SPINAL_SPEEDS,
    seeds: Sequence[int] = tuple(range(REPORT.first, REPORT.first + 10)),
    duration_ms: float = 20_000.0,
    dt: float | None = None,
    on_lesion: Callable[[Lesion], None] | None = None,
    **options: Any,
) -> list[list[LesionCell]]:
    """Run every lesion at every speed on every seed and classify the outcome per pool.

    Parameters
    ----------
    circuit
        A :class:`~encephagen.schema.Circuit` whose motor pools are declared as readouts.
    lesions
        The experiments; default :data:`SPINAL_LESIONS` (cell classes of ``spinal_cpg``).
    parameter, speeds
        The named parameter that sets the speed and its value per speed label (None: the
        circuit's own value); default ``drive`` at :data:`SPINAL_SPEEDS`.
    seeds
        Noise seeds; the default is the first ten report seeds (held out from every choice).
    duration_ms
        Biological time per run (ms), warm-up included.
    dt
        Integration step (ms); default the compiler's.
    on_lesion
        Called with each lesion before it runs (progress).
    **options
        Passed to :func:`encephagen.gait.analyse_gait`.

    Returns
    -------
    list of list of LesionCell
        One row per lesion, one cell per speed (in ``speeds`` order).
    """
    from .compiler import compile_circuit, lesion
    from .simulation import simulate

    values = resolve_speeds(circuit, parameter, speeds)
    motor_pools = pools_from_circuit(circuit)
    seeds = [int(s) for s in seeds]
    rows: list[list[LesionCell]] = []
    for experiment in lesions:
        if on_lesion is not None:
            on_lesion(experiment)
        network = compile_circuit(lesion(circuit, experiment.remove) if experiment.remove else circuit, dt=dt)
        sets = [{parameter: v} for v in values.values() for _ in seeds]
        result = simulate(
            network,
            duration_ms,
            seeds=[s for _ in values for s in seeds],
            parameters=sets,
            record_spikes=False,
            bin_ms=max(DEFAULT_BIN_MS, network.dt),
        )
        pools = {k: list(v) for k, v in experiment.pools.items()} if experiment.pools is not None else motor_pools
        per_lane = gait_per_lane(result, pools=pools, **options)
        row = []
        for k, (label, value) in enumerate(values.items()):
            per_seed = per_lane[k * len(seeds) : (k + 1) * len(seeds)]
            row.append(
                LesionCell(
                    lesion=experiment,
                    speed=label,
                    value=value,
                    per_seed=per_seed,
                    summary=aggregate(per_seed),
                    pools={
                        role: sum(m.get(f"{role}_rhythmic_fraction", 0.0) >= RHYTHMIC_POOL_MIN for m in per_seed)
                        for role in POOL_ROLES
                        if role in pools
                    },
                    lr=Counter(classify_lr(m) for m in per_seed),
                    fe=Counter(classify_fe(m) for m in per_seed),
                )
            )
        rows.append(row)
    return rows


def contrast_of(cell: LesionCell, role: str) -> float:
    """Mean over seeds of a pool's median burst contrast (NaN when it has no bursts)."""
    values = np.array([m.get(f"{role}_contrast", math.nan) for m in cell.per_seed], dtype=float)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan
