"""Gait analysis: bursts of the motor pools and, from them, rhythm, phases and regularity.

The mission's first claim is that a circuit's wiring makes a locomotor rhythm; this module
is how that is measured. It reads population activity only (a
:class:`~encephagen.simulation.SimulationResult`, or plain arrays) and returns named numbers:

* bursts are detected on each motor pool's smoothed firing rate with a two-level
  (hysteresis) threshold set between a low and a high percentile of that pool's rate;
* cycle frequency (mean over pools) and the period's coefficient of variation (the largest
  over pools) come from burst onsets;
* phases are circular statistics of onset delays divided by the reference pool's cycle
  period: 0.5 is perfect alternation, 0 (or 1) synchrony. Left–right phase pairs the two
  flexor pools and the two extensor pools; flexor–extensor phase pairs the pools of each side;
* flexor–extensor overlap is the share of the time either pool of a side bursts during
  which both do (0 for clean alternation whatever the duty cycles, 1 for synchrony);
* duty cycle is burst duration over period; burst amplitude is the mean rate within bursts (Hz);
* each pool's rhythmic fraction is the share of the analysed time covered by its *regular*
  cycles: a cycle counts when its period lies within ``period_tolerance`` of the pool's
  median period and its burst stands out from the inter-burst activity (burst contrast, see
  :data:`MIN_CONTRAST`); a pool is *rhythmic* when that share reaches
  :data:`RHYTHMIC_POOL_MIN`. The gait's rhythmic fraction is that of the least rhythmic pool,
  and ``rhythmic_pools`` counts the rhythmic ones, so a lesion that leaves one pool bursting
  and silences another reads as such (per-pool figures are ``<role>_rhythmic_fraction``,
  ``<role>_frequency_hz`` and ``<role>_contrast``). When some pools are rhythmic and others not,
  frequency, period CV, duty cycles and phases come from the rhythmic pools only.

A pool is one or more populations (a role such as ``left_flexor`` mapped to population
names); circuits declare their pools as readouts named after the roles (see
:func:`pools_from_circuit`). Missing pools turn the metrics that need them into NaN.

>>> import numpy as np
>>> t = np.arange(0, 10_000, 1.0)                          # 10 s in 1-ms bins
>>> square = lambda phase: 40.0 * (((t / 500.0 - phase) % 1.0) < 0.5)  # 2 Hz, 50 % duty
>>> rates = np.stack([square(0.0), square(0.5), square(0.5), square(0.0)], axis=1)
>>> m = gait_from_rates(rates, 1.0, ["LF", "LE", "RF", "RE"],
...                     {"left_flexor": ["LF"], "left_extensor": ["LE"], "right_flexor": ["RF"], "right_extensor": ["RE"]})
>>> round(m["frequency_hz"], 2), round(m["lr_phase"], 2), round(m["fe_phase"], 2), round(m["duty_flexor"], 2)
(2.0, 0.5, 0.5, 0.5)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import UnknownNameError
from .seeds import REPORT_FIRST

log = logging.getLogger(__name__)

POOL_ROLES = ("left_flexor", "left_extensor", "right_flexor", "right_extensor")
"""The four motor pools a hindlimb gait is read from."""
ONE_SIDE_ROLES = {"flexor": "left_flexor", "extensor": "left_extensor"}
"""Role names of one-sided circuits (a single half-centre), read as the left side."""
DEFAULT_POOLS: dict[str, list[str]] = {
    "left_flexor": ["L_MN_F"],
    "left_extensor": ["L_MN_E"],
    "right_flexor": ["R_MN_F"],
    "right_extensor": ["R_MN_E"],
}
"""Pools of the shipped ``spinal_cpg`` circuit, used when no pools are given."""
METRICS = (
    "frequency_hz",
    "period_ms",
    "period_cv",
    "lr_phase",
    "lr_concentration",
    "fe_phase",
    "fe_concentration",
    "fe_overlap",
    "duty_flexor",
    "duty_extensor",
    "burst_amplitude_hz",
    "rhythmic_fraction",
    "n_cycles",
    "rhythmic_pools",
)
"""Keys of the dict :func:`gait_metrics` returns (phases in cycles, 0.5 = alternation), besides the
per-pool keys of :data:`POOL_METRICS`."""
POOL_METRICS = ("rhythmic_fraction", "frequency_hz", "contrast")
"""Per-pool metrics, keyed ``<role>_<metric>`` (e.g. ``left_extensor_contrast``): the share of the
run covered by the pool's regular cycles, its frequency (NaN unless the pool is rhythmic) and the
median burst contrast of its cycles."""
MIN_CONTRAST = 1.0 / 3.0
"""Least burst contrast ``(in - out) / (in + out)`` of a regular cycle: the burst's mean rate at
least twice the inter-burst mean. Why this value: a rate modulated sinusoidally with depth m has
contrast 2m/pi, so 1/3 asks for m >= 0.52 (peak-to-trough 3.2 : 1), well above what noise makes:
on the shipped ``spinal_cpg`` with shuffled wiring (seeds 1-3, selection noise seeds) the median
contrast of detected "bursts" is 0.03-0.18, and with 1/3 their regular cycles cover at most 3 % of
a run. The earlier cut-off, 0.5 (in/out 3 : 1, m >= 0.79), called a pool that is tonically active
yet clearly rhythmic not rhythmic: without In-F/In-E the extensor pools of ``spinal_cpg`` burst at
6 Hz with a period CV of 0.04 at contrast 0.36-0.46."""
RHYTHMIC_POOL_MIN = 0.75
"""A pool is rhythmic when its regular cycles cover at least three quarters of the run. Intact
shipped circuits score >= 0.99, circuits without wiring 0 and with shuffled wiring <= 0.03
(selection seeds); square bursts at periods drawn uniformly from 100-1000 ms reach 0.59 (the
period tolerance admits many of them), which this keeps out; the extensor pools of
``spinal_cpg`` without In-F/In-E score 0.97-1.0 at the shipped drive."""
CIRCULAR = ("lr_phase", "fe_phase")
"""Metrics that live on the circle [0, 1) and are aggregated with circular statistics."""


# --------------------------------------------------------------------------- signals


def smooth(signal: np.ndarray, bin_ms: float, sigma_ms: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 (edges reflected), so noise-level spikes do not split bursts."""
    signal = np.asarray(signal, dtype=float)
    sigma = sigma_ms / bin_ms
    if sigma < 0.5:
        return signal
    half = int(math.ceil(4 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    pad = min(half, signal.shape[0] - 1)
    padded = np.pad(signal, [(pad, pad)] + [(0, 0)] * (signal.ndim - 1), mode="reflect")
    out = np.apply_along_axis(lambda x: np.convolve(x, kernel, mode="same"), 0, padded)
    return out[pad : pad + signal.shape[0]]


def detect_bursts(
    rate: np.ndarray,
    bin_ms: float,
    *,
    threshold: float = 0.5,
    hysteresis: float = 0.15,
    min_burst_ms: float = 20.0,
    min_gap_ms: float = 30.0,
    min_modulation_hz: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Burst onsets and offsets (bin indices, offset exclusive) of one smoothed rate trace.

    The thresholds sit at ``threshold ± hysteresis`` of the way from the 5th to the 95th
    percentile: a burst starts when the rate rises above the upper one and ends when it falls
    below the lower one. Gaps shorter than ``min_gap_ms`` are closed, bursts shorter than
    ``min_burst_ms`` dropped. A trace whose 5–95 % range is below ``min_modulation_hz`` has
    no bursts (tonic firing or silence).

    >>> r = np.r_[np.zeros(100), np.full(100, 30.0), np.zeros(100), np.full(100, 30.0), np.zeros(50)]
    >>> detect_bursts(r, 1.0)
    (array([100, 300]), array([200, 400]))
    """
    rate = np.asarray(rate, dtype=float)
    low, high = np.percentile(rate, [5.0, 95.0])
    empty = np.empty(0, dtype=np.int64)
    if high - low < min_modulation_hz:
        return empty, empty
    on = low + (threshold + hysteresis) * (high - low)
    off = low + (threshold - hysteresis) * (high - low)
    ups = np.flatnonzero((rate[1:] >= on) & (rate[:-1] < on)) + 1
    downs = np.flatnonzero((rate[1:] < off) & (rate[:-1] >= off)) + 1
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for up in ups:  # walk the crossings: each onset is closed by the next downward crossing
        if up < position:
            continue
        later = downs[np.searchsorted(downs, up) :]
        if later.size == 0:
            break  # a burst still running at the end is incomplete
        starts.append(int(up))
        ends.append(int(later[0]))
        position = int(later[0])
    onsets, offsets = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    if onsets.size:
        # the hysteresis levels delay both edges; move them to the mid-level crossings, where a
        # smoothed step crosses at its true edge
        mid = low + threshold * (high - low)
        below, above = np.flatnonzero(rate < mid), np.flatnonzero(rate >= mid)
        before = np.searchsorted(below, onsets) - 1
        onsets = np.where(before >= 0, below[np.maximum(before, 0)] + 1, onsets)
        offsets = above[np.searchsorted(above, offsets) - 1] + 1
    if onsets.size > 1:
        gap_ok = (onsets[1:] - offsets[:-1]) * bin_ms >= min_gap_ms
        keep_on = np.r_[True, gap_ok]
        keep_off = np.r_[gap_ok, True]
        onsets, offsets = onsets[keep_on], offsets[keep_off]
    long_enough = (offsets - onsets) * bin_ms >= min_burst_ms
    return onsets[long_enough], offsets[long_enough]


# --------------------------------------------------------------------------- circular statistics


def circular_mean(phases: Iterable[float]) -> tuple[float, float]:
    """Mean phase in [0, 1) and concentration R in [0, 1] of phases given in cycles.

    >>> [round(x, 3) for x in circular_mean([0.95, 0.05])]
    [0.0, 0.951]
    """
    angles = 2 * np.pi * np.asarray(list(phases), dtype=float)
    if angles.size == 0:
        return math.nan, math.nan
    z = np.exp(1j * angles).mean()
    phase = float((np.angle(z) / (2 * np.pi)) % 1.0)
    return (0.0 if phase > 1.0 - 1e-9 else phase), float(abs(z))  # -0.0 rounds to 1.0 otherwise


def onset_phases(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Phase of ``other``'s first onset within each cycle of ``reference`` (cycles without one are skipped)."""
    reference, other = np.asarray(reference, float), np.asarray(other, float)
    if reference.size < 2 or other.size == 0:
        return np.empty(0)
    first = np.searchsorted(other, reference[:-1], side="left")
    valid = first < other.size
    starts, ends = reference[:-1][valid], reference[1:][valid]
    hits = other[first[valid]]
    inside = hits < ends
    return (hits[inside] - starts[inside]) / (ends[inside] - starts[inside])


# --------------------------------------------------------------------------- pools


def pools_from_circuit(circuit) -> dict[str, list[str]]:
    """Motor pools declared by a circuit: readouts named after :data:`POOL_ROLES` (or flexor/extensor).

    The populations of a readout's positive terms form the pool. A circuit without such
    readouts gets :data:`DEFAULT_POOLS` (logged), which fits the shipped ``spinal_cpg``.
    """
    pools: dict[str, list[str]] = {}
    for name, readout in circuit.readouts.items():
        role = ONE_SIDE_ROLES.get(name, name)
        if role in POOL_ROLES:
            pools[role] = [t.population for t in readout.terms if t.coefficient > 0]
    if not pools:
        log.info("pools = %s (default)", DEFAULT_POOLS)
        return dict(DEFAULT_POOLS)
    return pools


def _pool_columns(population_names: Sequence[str], pools: Mapping[str, Sequence[str]]) -> dict[str, list[int]]:
    index = {name: i for i, name in enumerate(population_names)}
    columns: dict[str, list[int]] = {}
    for role, members in pools.items():
        role = ONE_SIDE_ROLES.get(role, role)
        if role not in POOL_ROLES:
            raise UnknownNameError("pool role", role, POOL_ROLES)
        present = [index[m] for m in members if m in index]
        if present:  # a lesion may have removed a pool; its metrics become NaN
            columns[role] = present
    if not columns:
        missing = next((m for members in pools.values() for m in members), "")
        raise UnknownNameError("motor pool population", missing, population_names)
    return columns


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class GaitAnalysis:
    """Everything the metrics were computed from, for plots and for checking by eye."""

    metrics: dict[str, float]
    """See :data:`METRICS`."""
    bin_ms: float
    """Bin width of ``signals`` (ms); time 0 is the end of the warm-up."""
    start_ms: float
    """Time of the first analysed bin in the run (the warm-up)."""
    signals: dict[str, np.ndarray]
    """Role -> smoothed pool rate after the warm-up (Hz per neuron)."""
    bursts: dict[str, tuple[np.ndarray, np.ndarray]]
    """Role -> (onsets, offsets) in ms after the warm-up."""
    phases: dict[str, np.ndarray]
    """'lr' and 'fe' -> the per-cycle phases (cycles) behind the circular means."""


def gait_from_rates(
    rates: np.ndarray,
    bin_ms: float,
    population_names: Sequence[str],
    pools: Mapping[str, Sequence[str]],
    **options: Any,
) -> dict[str, float]:
    """Gait metrics of one run from population rate traces ``rates`` (n_bins, P) in Hz.

    Shorthand for ``analyse_gait(...).metrics``; see :func:`analyse_gait` for the options.
    """
    return analyse_gait(rates, bin_ms, population_names, pools, **options).metrics


def analyse_gait(
    rates: np.ndarray,
    bin_ms: float,
    population_names: Sequence[str],
    pools: Mapping[str, Sequence[str]],
    *,
    warmup_ms: float = 1000.0,
    smooth_ms: float = 20.0,
    threshold: float = 0.5,
    period_tolerance: float = 0.25,
    min_contrast: float = MIN_CONTRAST,
) -> GaitAnalysis:
    """Bursts, phases and gait metrics of one run from population rate traces.

    Parameters
    ----------
    rates
        (n_bins, P) mean firing rate per neuron of each population in each bin (Hz).
    bin_ms
        Bin width (ms). Bins finer than 1 ms are merged to about 1 ms first (burst timing
        needs no more and smoothing gets cheaper).
    population_names
        Column names of ``rates``.
    pools
        Role (see :data:`POOL_ROLES`) -> population names averaged into that motor pool.
    warmup_ms
        Initial transient left out of the analysis (ms).
    smooth_ms
        Standard deviation of the Gaussian applied to each pool's rate before burst detection (ms).
    threshold
        Burst threshold as a fraction of the way from the 5th to the 95th rate percentile.
    period_tolerance
        A cycle is regular when its period is within this fraction of the pool's median period.
    min_contrast
        A cycle is regular only when ``(in - out) / (in + out)`` of its burst and inter-burst
        mean rates reaches this value (default :data:`MIN_CONTRAST`, where the reason is given).

    Returns
    -------
    GaitAnalysis
        Metrics (NaN where undefined, e.g. L–R phase without right pools) and what they came from.
    """
    rates = np.asarray(rates, dtype=float)
    merge = max(1, int(round(1.0 / bin_ms))) if bin_ms < 1.0 else 1
    if merge > 1:
        usable = rates.shape[0] // merge * merge
        rates = rates[:usable].reshape(-1, merge, rates.shape[1]).mean(axis=1)
        bin_ms = bin_ms * merge
    start = int(round(warmup_ms / bin_ms))
    if rates.shape[0] - start < 4:
        raise ValueError(
            f"run too short for gait analysis: {rates.shape[0] * bin_ms:g} ms with a {warmup_ms:g} ms warm-up"
        )
    columns = _pool_columns(population_names, pools)
    analysed_ms = (rates.shape[0] - start) * bin_ms
    signals: dict[str, np.ndarray] = {}
    bursts: dict[str, dict[str, Any]] = {}
    for role, cols in columns.items():
        raw = rates[:, cols].mean(axis=1)
        signal = smooth(raw, bin_ms, smooth_ms)[start:]
        onsets, offsets = detect_bursts(signal, bin_ms, threshold=threshold)
        signals[role] = signal
        bursts[role] = _pool_cycles(
            signal, raw[start:], onsets, offsets, bin_ms, period_tolerance, min_contrast, analysed_ms
        )
        bursts[role]["offsets_ms"] = offsets * bin_ms

    metrics = dict.fromkeys(METRICS, math.nan)
    flexors = [r for r in ("left_flexor", "right_flexor") if r in bursts]
    extensors = [r for r in ("left_extensor", "right_extensor") if r in bursts]
    steady = [
        role for role, b in bursts.items() if b["regular_fraction"] >= RHYTHMIC_POOL_MIN and b["periods"].size >= 2
    ]
    # when some pools are rhythmic and others not, the rhythm (frequency, CV, duty, phases) is read from
    # the rhythmic ones: a tonic pool's noise "bursts" have no period to average in
    mixed = bool(steady) and len(steady) < len(bursts)
    rhythmic = [bursts[r] for r in steady] if mixed else [b for b in bursts.values() if b["periods"].size >= 2]
    if bursts:
        metrics["rhythmic_fraction"] = min(b["regular_fraction"] for b in bursts.values())
        metrics["rhythmic_pools"] = float(sum(b["regular_fraction"] >= RHYTHMIC_POOL_MIN for b in bursts.values()))
    for role, b in bursts.items():
        metrics[f"{role}_rhythmic_fraction"] = b["regular_fraction"]
        metrics[f"{role}_frequency_hz"] = b["frequency_hz"] if b["regular_fraction"] >= RHYTHMIC_POOL_MIN else math.nan
        metrics[f"{role}_contrast"] = b["contrast"]
    if rhythmic and (mixed or len(rhythmic) == len(bursts)):
        periods = [b["periods"].mean() for b in rhythmic]
        metrics["period_ms"] = float(np.mean(periods))
        metrics["frequency_hz"] = 1000.0 / metrics["period_ms"]
        metrics["period_cv"] = float(max(b["periods"].std() / b["periods"].mean() for b in rhythmic))
        metrics["n_cycles"] = float(min(b["periods"].size for b in rhythmic))
        metrics["burst_amplitude_hz"] = float(np.mean([b["amplitude"] for b in rhythmic]))
    else:
        metrics["n_cycles"] = float(min((b["periods"].size for b in bursts.values()), default=0))
    for key, roles in (("duty_flexor", flexors), ("duty_extensor", extensors)):
        duties = [bursts[r]["duty"] for r in roles if np.isfinite(bursts[r]["duty"]) and (not mixed or r in steady)]
        if duties:
            metrics[key] = float(np.mean(duties))
    onset = {role: b["onsets_ms"] for role, b in bursts.items()}
    pairs = {
        "lr": [("left_flexor", "right_flexor"), ("left_extensor", "right_extensor")],
        "fe": [("left_flexor", "left_extensor"), ("right_flexor", "right_extensor")],
    }
    phases: dict[str, np.ndarray] = {}
    for key, role_pairs in pairs.items():
        samples = [
            onset_phases(onset[a], onset[b])
            for a, b in role_pairs
            if a in onset and b in onset and (not mixed or (a in steady and b in steady))
        ]
        phases[key] = np.concatenate(samples) if samples else np.empty(0)
        if samples:
            metrics[f"{key}_phase"], metrics[f"{key}_concentration"] = circular_mean(phases[key])
    overlaps = []
    for flexor, extensor in (("left_flexor", "left_extensor"), ("right_flexor", "right_extensor")):
        if flexor in bursts and extensor in bursts:
            fm, em = (
                _burst_mask(bursts[r]["onsets_ms"], bursts[r]["offsets_ms"], bin_ms, len(signals[r]))
                for r in (flexor, extensor)
            )
            overlaps.append(np.sum(fm & em) / max(np.sum(fm | em), 1))
    if overlaps:
        metrics["fe_overlap"] = float(np.mean(overlaps))
    return GaitAnalysis(
        metrics=metrics,
        bin_ms=bin_ms,
        start_ms=start * bin_ms,
        signals=signals,
        bursts={role: (b["onsets_ms"], b["offsets_ms"]) for role, b in bursts.items()},
        phases=phases,
    )


def _burst_mask(onsets_ms: np.ndarray, offsets_ms: np.ndarray, bin_ms: float, n: int) -> np.ndarray:
    """Boolean (n,) mask of the bins inside a burst."""
    edges = np.zeros(n + 1, dtype=np.int64)
    np.add.at(edges, np.rint(onsets_ms / bin_ms).astype(np.int64), 1)
    np.add.at(edges, np.rint(offsets_ms / bin_ms).astype(np.int64), -1)
    return np.cumsum(edges[:-1]) > 0


def _pool_cycles(signal, raw, onsets, offsets, bin_ms, tolerance, min_contrast, analysed_ms) -> dict[str, Any]:
    """Periods, duty cycle, amplitude and regular-cycle coverage of one pool's bursts."""
    result: dict[str, Any] = {
        "onsets_ms": onsets * bin_ms,
        "periods": np.empty(0),
        "duty": math.nan,
        "amplitude": math.nan,
        "regular_fraction": 0.0,
        "frequency_hz": math.nan,
        "contrast": math.nan,
    }
    if onsets.size < 2:
        return result
    periods = np.diff(onsets) * bin_ms
    durations = (offsets[:-1] - onsets[:-1]) * bin_ms
    median = np.median(periods)
    inside = np.array([signal[a:b].mean() for a, b in zip(onsets[:-1], offsets[:-1])])
    outside = np.array([signal[b:c].mean() if c > b else 0.0 for b, c in zip(offsets[:-1], onsets[1:])])
    contrast = (inside - outside) / np.maximum(inside + outside, 1e-12)
    regular = (np.abs(periods - median) <= tolerance * median) & (contrast >= min_contrast)
    # the partial cycles before the first and after the last onset count when their neighbour
    # is regular (at most one median period each), so a steady rhythm scores ~1, not 1 - 2/n
    edges = regular[0] * min(onsets[0] * bin_ms, median) + regular[-1] * min(analysed_ms - onsets[-1] * bin_ms, median)
    result.update(
        periods=periods,
        duty=float(np.mean(durations / periods)),
        amplitude=float(np.mean([raw[a:b].mean() for a, b in zip(onsets, offsets)])),
        regular_fraction=float(min((periods[regular].sum() + edges) / analysed_ms, 1.0)),
        frequency_hz=float(1000.0 / np.median(periods[regular])) if regular.any() else math.nan,
        contrast=float(np.median(contrast)),
    )
    return result


def rhythmic_pools(metrics: Mapping[str, float]) -> list[str]:
    """The pools (roles, in :data:`POOL_ROLES` order) whose rhythmic fraction reaches :data:`RHYTHMIC_POOL_MIN`.

    >>> rhythmic_pools({"left_flexor_rhythmic_fraction": 0.99, "left_extensor_rhythmic_fraction": 0.1})
    ['left_flexor']
    """
    return [role for role in POOL_ROLES if metrics.get(f"{role}_rhythmic_fraction", 0.0) >= RHYTHMIC_POOL_MIN]


def gait_metrics(
    result, lane: int = 0, *, pools: Mapping[str, Sequence[str]] | None = None, **options: Any
) -> dict[str, float]:
    """Gait metrics of one lane of a :class:`~encephagen.simulation.SimulationResult`.

    Parameters
    ----------
    result
        A simulation result (population rate traces are read with ``rate_traces_hz()``).
    lane
        Which seed / parameter lane to analyse.
    pools
        Role -> population names; default :data:`DEFAULT_POOLS` (the shipped ``spinal_cpg``'s
        motor pools). Use :func:`pools_from_circuit` for other circuits.
    **options
        Passed to :func:`gait_from_rates` (warmup_ms, smooth_ms, threshold, ...).

    Returns
    -------
    dict
        See :data:`METRICS`.
    """
    return analyse_result(result, lane, pools=pools, **options).metrics


def analyse_result(
    result, lane: int = 0, *, pools: Mapping[str, Sequence[str]] | None = None, **options: Any
) -> GaitAnalysis:
    """:func:`analyse_gait` of one lane of a simulation result (what the gait figure draws)."""
    if pools is None:
        log.info("pools = %s (default)", DEFAULT_POOLS)
        pools = DEFAULT_POOLS
    rates = np.asarray(result.rate_traces_hz())[lane]
    return analyse_gait(rates, float(result.bin_ms), list(result.population_names), pools, **options)


def gait_per_lane(
    result, *, pools: Mapping[str, Sequence[str]] | None = None, **options: Any
) -> list[dict[str, float]]:
    """:func:`gait_metrics` of every lane of a batched result, in lane order."""
    n_lanes = np.asarray(result.rate_traces_hz()).shape[0]
    return [gait_metrics(result, lane, pools=pools, **options) for lane in range(n_lanes)]


def aggregate(per_seed: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Mean, standard deviation, minimum and maximum of each metric over seeds.

    Phases use circular statistics (mean direction; sd = sqrt(-2 ln R) / 2π in cycles) and
    their min/max are the extreme deviations from the circular mean, so a seed at 0.98 next
    to one at 0.02 counts as close. NaN values (undefined metrics) are left out and counted
    in ``n_undefined``.

    >>> agg = aggregate([{"lr_phase": 0.98, "period_cv": 0.1}, {"lr_phase": 0.02, "period_cv": 0.2}])
    >>> round(agg["lr_phase"]["mean"], 3), round(agg["period_cv"]["mean"], 3)
    (0.0, 0.15)
    """
    keys = [k for k in METRICS if any(k in m for m in per_seed)]
    keys += sorted({k for m in per_seed for k in m} - set(keys))
    summary: dict[str, dict[str, float]] = {}
    for key in keys:
        values = np.array([m.get(key, math.nan) for m in per_seed], dtype=float)
        finite = values[np.isfinite(values)]
        entry = {
            "mean": math.nan,
            "sd": math.nan,
            "min": math.nan,
            "max": math.nan,
            "n_undefined": float(values.size - finite.size),
        }
        if finite.size and key in CIRCULAR:
            mean, r = circular_mean(finite)
            deviation = (finite - mean + 0.5) % 1.0 - 0.5
            entry.update(
                mean=mean,
                sd=math.sqrt(max(-2.0 * math.log(max(r, 1e-300)), 0.0)) / (2 * math.pi),
                min=float((mean + deviation.min()) % 1.0),
                max=float((mean + deviation.max()) % 1.0),
            )
        elif finite.size:
            entry.update(
                mean=float(finite.mean()), sd=float(finite.std()), min=float(finite.min()), max=float(finite.max())
            )
        summary[key] = entry
    return summary


# --------------------------------------------------------------------------- experiments


DEFAULT_BIN_MS = 1.0
"""Population-count bin used by gait runs (ms): fine enough for burst timing, small to store."""


@dataclass(frozen=True)
class GaitRun:
    """Gait of one circuit (possibly lesioned or shuffled) over several noise seeds."""

    circuit: Any
    """The circuit that ran (after lesions or shuffling)."""
    seeds: list[int]
    per_seed: list[dict[str, float]]
    summary: dict[str, dict[str, float]]
    """:func:`aggregate` of ``per_seed``."""
    pools: dict[str, list[str]]
    result: Any
    """The batched :class:`~encephagen.results.SimulationResult` (one lane per seed)."""


def prepare_circuit(circuit, *, lesions: Sequence[str] = (), shuffle_seed: int | None = None):
    """The circuit after the requested lesions (:func:`encephagen.compiler.lesion`) and shuffling."""
    from .compiler import lesion
    from .shuffling import shuffle_projections

    if lesions:
        circuit = lesion(circuit, lesions)
    if shuffle_seed is not None:
        circuit = shuffle_projections(circuit, shuffle_seed)
    return circuit


def run_gait(
    circuit,
    *,
    seeds: Sequence[int] = tuple(range(REPORT_FIRST, REPORT_FIRST + 10)),
    duration_ms: float = 20_000.0,
    parameters: Mapping[str, float] | None = None,
    lesions: Sequence[str] = (),
    shuffle_seed: int | None = None,
    pools: Mapping[str, Sequence[str]] | None = None,
    record_spikes: bool = False,
    dt: float | None = None,
    progress: bool = False,
    **options: Any,
) -> GaitRun:
    """Simulate a circuit on several noise seeds in one batched run and measure its gait.

    Parameters
    ----------
    circuit
        A :class:`~encephagen.schema.Circuit`.
    seeds
        Noise seeds, one lane each.
    duration_ms
        Biological time per seed (ms), warm-up included.
    parameters
        Named parameter values replacing the circuit's (no recompilation).
    lesions
        Populations, projections or cell classes to remove (e.g. ``["V0d", "V0v"]``).
    shuffle_seed
        If given, every synapse is sent to a random target first (:func:`encephagen.shuffling.shuffle_projections`).
    pools
        Motor pools; default: the circuit's pool readouts (:func:`pools_from_circuit`).
    record_spikes
        Keep spikes (needed for a raster).
    dt
        Integration step (ms); default the compiler's.
    progress
        Show a progress bar.
    **options
        Passed to :func:`analyse_gait`.
    """
    from .compiler import compile_circuit
    from .simulation import simulate

    pools = {k: list(v) for k, v in pools.items()} if pools is not None else pools_from_circuit(circuit)
    circuit = prepare_circuit(circuit, lesions=lesions, shuffle_seed=shuffle_seed)
    network = compile_circuit(circuit, dt=dt)
    seeds = [int(s) for s in seeds]
    sets = [dict(parameters)] * len(seeds) if parameters else None
    result = simulate(
        network,
        duration_ms,
        seeds=seeds,
        parameters=sets,
        record_spikes=record_spikes,
        bin_ms=DEFAULT_BIN_MS if network.dt <= DEFAULT_BIN_MS else network.dt,
        progress=progress,
    )
    per_seed = gait_per_lane(result, pools=pools, **options)
    return GaitRun(circuit, seeds, per_seed, aggregate(per_seed), pools, result)


def sweep_gait(
    circuit,
    parameter: str,
    values: Sequence[float],
    *,
    seeds: Sequence[int] = tuple(range(REPORT_FIRST, REPORT_FIRST + 3)),
    duration_ms: float = 10_000.0,
    parameters: Mapping[str, float] | None = None,
    lesions: Sequence[str] = (),
    pools: Mapping[str, Sequence[str]] | None = None,
    dt: float | None = None,
    progress: bool = False,
    **options: Any,
) -> list[dict[str, dict[str, float]]]:
    """Gait summary (:func:`aggregate` over seeds) for each value of one named parameter.

    All values × seeds run as lanes of a single batched simulation; the parameter must be
    non-structural (a weight, drive, time constant...), which the compiler checks.

    >>> from encephagen import load_circuit
    >>> rows = sweep_gait(load_circuit("half_centre"), "drive_flex", [14.0, 16.0], seeds=[0], duration_ms=3000.0)
    >>> len(rows), "frequency_hz" in rows[0]
    (2, True)
    """
    from .compiler import compile_circuit
    from .simulation import simulate

    if parameter not in circuit.parameters:
        raise UnknownNameError("parameter", parameter, circuit.parameters)
    pools = dict(pools) if pools is not None else pools_from_circuit(circuit)
    circuit = prepare_circuit(circuit, lesions=lesions)
    network = compile_circuit(circuit, dt=dt)
    seeds = [int(s) for s in seeds]
    sets = [dict(parameters or {}, **{parameter: float(v)}) for v in values for _ in seeds]
    lane_seeds = [s for _ in values for s in seeds]
    result = simulate(
        network,
        duration_ms,
        seeds=lane_seeds,
        parameters=sets,
        record_spikes=False,
        bin_ms=DEFAULT_BIN_MS if network.dt <= DEFAULT_BIN_MS else network.dt,
        progress=progress,
    )
    per_lane = gait_per_lane(result, pools=pools, **options)
    k = len(seeds)
    return [aggregate(per_lane[i * k : (i + 1) * k]) for i in range(len(values))]
