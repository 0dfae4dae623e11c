"""Functional connectivity: simulated BOLD FC, its match to empirical FC, and the bars it must clear.

A simulated FC means something only next to what the data predict without any simulation
(reference/baselines.md, section 2): the structural matrix itself, log1p(1000 SC); the
product of node strengths s_i s_j (a rank-one "hubs only" pattern); the best one-parameter
linear model, the correlation matrix of (I - gA)^-1 (I - gA)^-T with A = SC / spectral radius
(a stationary spatial autoregression); and the agreement of two disjoint halves of the
subjects (the ceiling). All figures are Pearson correlations over the 3160 upper-triangle
entries, computed here from the data by code, never typed in.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .bold import HemodynamicParameters, balloon_windkessel
from .errors import EncephagenError

if TYPE_CHECKING:
    from .compiler import CompiledNetwork
    from .fcd import FCDComparison, FCDSettings

log = logging.getLogger(__name__)

SAR_GAINS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99)
"""Gains g searched for the linear (SAR) predictor; the grid of baselines.md (a finer grid
finds 0.569 at g = 0.7 for hcp with log1p(1000 SC), against 0.561 at g = 0.8)."""
SAR_SELECTION_GAINS = tuple(round(0.5 + 0.01 * k, 2) for k in range(50))
"""The finer grid (0.50-0.99) on which :func:`fc_report` picks the SAR gain from the
calibration subjects: the strongest linear model the protocol allows."""


def upper_triangle(matrix: np.ndarray) -> np.ndarray:
    """Entries above the diagonal, row by row (3160 for 80 regions)."""
    matrix = np.asarray(matrix)
    return matrix[np.triu_indices(matrix.shape[0], 1)]


def fc_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two square matrices over their upper triangles."""
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise EncephagenError(f"FC matrices must be square and of the same shape; got {a.shape} and {b.shape}")
    return float(np.corrcoef(upper_triangle(a), upper_triangle(b))[0, 1])


def fc_correlation_beyond(a: np.ndarray, b: np.ndarray, nuisance: np.ndarray) -> float:
    """Pearson r of two FCs after regressing a third pattern out of both (upper triangles).

    With ``nuisance`` = the strength product s_i s_j this asks whether a model predicts more
    than which regions are hubs.
    """
    design = np.column_stack([np.ones(upper_triangle(a).size), upper_triangle(nuisance)])

    def residual(matrix: np.ndarray) -> np.ndarray:
        y = upper_triangle(matrix)
        return y - design @ np.linalg.lstsq(design, y, rcond=None)[0]

    return float(np.corrcoef(residual(a), residual(b))[0, 1])


def sar_correlation(sc: np.ndarray, gain: float) -> np.ndarray:
    """Correlation matrix of the stationary spatial autoregression x = g A x + noise, A = SC / rho(SC)."""
    a = sc / np.max(np.abs(np.linalg.eigvals(sc)))
    m = np.linalg.inv(np.eye(len(sc)) - gain * a)
    cov = m @ m.T
    d = np.sqrt(np.diag(cov))
    return cov / np.outer(d, d)


@dataclass(frozen=True)
class Baseline:
    """One non-spiking predictor of empirical FC and how well it does."""

    name: str
    r: float
    """Pearson correlation with the empirical FC (upper triangle)."""
    detail: str = ""


def baseline_predictors(
    sc: np.ndarray, fc: np.ndarray, *, gains: Sequence[float] = SAR_GAINS, selection_fc: np.ndarray | None = None
) -> list[Baseline]:
    """The structure-only predictors of ``fc`` from ``sc`` (baselines.md section 2, (i)-(ii)).

    Parameters
    ----------
    sc
        Symmetric group structural connectivity.
    fc
        Empirical FC to predict.
    gains
        Grid searched for the SAR gain g.
    selection_fc
        FC on which the gain is chosen (the calibration subjects'), so that the reported r on
        ``fc`` is held out. Without it the gain is chosen on ``fc`` itself: an upper bound,
        as baselines.md reports it.
    """
    strength = sc.sum(axis=1)
    log_sc = np.log1p(1000 * sc)
    chooser = fc if selection_fc is None else selection_fc
    out = [
        Baseline("log1p(1000 SC)", fc_correlation(log_sc, fc)),
        Baseline("strength product s_i s_j", fc_correlation(np.outer(strength, strength), fc)),
    ]
    for label, matrix in (("SC", sc), ("log1p(1000 SC)", log_sc)):
        gain = sar_gain(matrix, chooser, gains)
        chosen = "best g" if selection_fc is None else "g chosen on calibration subjects"
        out.append(
            Baseline(
                f"linear SAR, A = {label}/rho",
                fc_correlation(sar_correlation(matrix, gain), fc),
                f"{chosen} = {gain:g}",
            )
        )
    return out


def sar_gain(sc: np.ndarray, fc: np.ndarray, gains: Sequence[float] = SAR_SELECTION_GAINS) -> float:
    """The SAR gain on ``gains`` whose correlation matrix best matches ``fc`` (first of ties)."""
    return max(gains, key=lambda g: fc_correlation(sar_correlation(sc, g), fc))


def split_half_reliability(subject_fc: np.ndarray) -> tuple[float, float, int]:
    """Mean and sample sd of r between the group FCs of every split of subjects into two halves.

    With S subjects, one half has S // 2 subjects and the other the rest; every such split is
    used once (hcp: 35 splits of 3 v 4). This is the ceiling a model FC can honestly reach.
    """
    n = len(subject_fc)
    if n < 2:
        raise EncephagenError(f"split-half reliability needs at least 2 subjects; got {n}")
    values = []
    for half in itertools.combinations(range(n), n // 2):
        other = [i for i in range(n) if i not in half]
        if n % 2 == 0 and 0 not in half:
            continue  # with equal halves each split would otherwise be counted twice
        values.append(fc_correlation(subject_fc[list(half)].mean(axis=0), subject_fc[other].mean(axis=0)))
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0, len(values)


# --------------------------------------------------------------------------- simulated FC


@dataclass(frozen=True)
class BoldFC:
    """Simulated BOLD and the FC computed from it."""

    bold: np.ndarray
    """(frames, regions) BOLD sampled every ``tr_s`` after the discarded transient."""
    fc: np.ndarray
    tr_s: float


def activity_to_bold_fc(
    rates_hz: np.ndarray,
    bin_ms: float,
    *,
    tr_s: float = 0.72,
    discard_s: float = 10.0,
    parameters: HemodynamicParameters | None = None,
) -> BoldFC:
    """BOLD FC from region activity (firing rates or synaptic input) binned every ``bin_ms``.

    Each region's activity enters the Balloon–Windkessel model as its relative deviation from
    its mean rate over the whole run (so mean-rate differences between regions do not saturate
    the haemodynamics); the BOLD is sampled every ``tr_s`` after ``discard_s`` of settling.

    Parameters
    ----------
    rates_hz
        (bins, regions) population rates.
    bin_ms
        Bin width (ms); bins wider than 50 ms are refused (BOLD needs a finer drive).
    tr_s
        Sampling interval of the simulated BOLD (s); HCP's TR 0.72 s by default.
    discard_s
        Initial BOLD transient left out (s).
    """
    rates_hz = np.asarray(rates_hz, dtype=np.float64)
    dt_s = bin_ms / 1000.0
    mean = rates_hz.mean(axis=0)
    if np.any(mean <= 0):
        silent = int(np.sum(mean <= 0))
        raise EncephagenError(
            f"{silent} region(s) never fired; a BOLD FC needs activity in every region. Raise the drive"
        )
    z = rates_hz / mean - 1.0
    bold = balloon_windkessel(z, dt_s, parameters)
    step = max(1, int(round(tr_s / dt_s)))
    start = int(round(discard_s / dt_s))
    sampled = bold[start::step]
    if len(sampled) < 10:
        raise EncephagenError(
            f"only {len(sampled)} BOLD frames after discarding {discard_s} s; simulate longer (minutes for a stable FC)"
        )
    return BoldFC(sampled, np.nan_to_num(np.corrcoef(sampled.T)), tr_s)


def region_rates(result, regions: Sequence[str], *, lane: int = 0) -> np.ndarray:
    """(bins, regions) firing rate of each region's excitatory population (``<region>.E``).

    The pyramidal cells are the ones the asynchronous-irregular band (1-30 Hz) is checked on.
    """
    traces = result.rate_traces_hz()[lane]
    return traces[:, _population_indices(result, regions, ".E")]


def _population_indices(result, regions: Sequence[str], suffix: str) -> list[int]:
    index = {name: i for i, name in enumerate(result.population_names)}
    missing = [r for r in regions if f"{r}{suffix}" not in index]
    if missing:
        raise EncephagenError(
            f"the result has no population {missing[0]}{suffix}; simulate a circuit built by encephagen.hcp.build_hcp_cortex_circuit"
        )
    return [index[f"{r}{suffix}"] for r in regions]


OBSERVABLES = ("rate", "synaptic", "excitatory_rate")
"""What drives each region's haemodynamics (see :func:`region_activity`)."""
DEFAULT_OBSERVABLE = "synaptic"
"""The region's excitatory synaptic input, chosen on the calibration subjects with calibration
seeds (``bench/cortex_selection.py``; hcp_cortex at coupling 2 mV, five 120-s runs, dt 0.5 ms):
BOLD-FC r 0.471 with their group FC, against 0.466 for ``rate`` (within noise of each other)
and 0.333 for ``excitatory_rate``."""


def excitatory_input_matrix(network, values: Mapping[str, float] | None = None) -> np.ndarray:
    """(P, P) excitatory drive a neuron of population p receives, on average, per 1 Hz of population q.

    Entry [p, q] is the sum of the positive weights from q onto p's neurons divided by p's
    size (mV per spike/s), with the parameter ``values`` of one lane applied; so
    ``rates @ M.T`` is each population's mean excitatory synaptic input (mV/s).
    """
    weights = network.apply(dict(values or {})).weights_data
    post, pre = network.weights.rows(), network.weights.indices  # same entry order as weights_data
    sizes = np.array([s.stop - s.start for s in network.population_slices.values()], dtype=float)
    population = np.repeat(np.arange(len(sizes)), sizes.astype(np.int64))
    n = len(sizes)
    flat = np.bincount(population[post] * n + population[pre], weights=np.clip(weights, 0.0, None), minlength=n * n)
    return flat.reshape(n, n) / sizes[:, None]


def region_activity(
    result, regions: Sequence[str], *, observable: str = DEFAULT_OBSERVABLE, network=None
) -> np.ndarray:
    """(lanes, bins, regions) the neural activity that drives each region's BOLD.

    ``rate`` (default): the firing rate of all the region's neurons, E and I: BOLD reflects
    the metabolic demand of the whole local circuit, inhibitory cells included.
    ``synaptic``: the mean excitatory synaptic input to the region's neurons, local and
    long-range (population rates through the lane's excitatory weights; delays of tens of
    ms are immaterial at haemodynamic time scales), after Logothetis et al. (2001: BOLD
    follows synaptic activity and field potentials more than spiking) and Deco et al.
    (2013: BOLD driven by the excitatory synaptic gating); needs the compiled ``network``.
    ``excitatory_rate``: the rate of the E population alone.
    """
    if observable not in OBSERVABLES:
        raise EncephagenError(f"BOLD observable must be one of {', '.join(OBSERVABLES)}; got {observable!r}")
    traces = result.rate_traces_hz()
    exc, inh = _population_indices(result, regions, ".E"), _population_indices(result, regions, ".I")
    if observable == "excitatory_rate":
        return traces[:, :, exc]
    sizes = result.population_sizes
    if observable == "rate":
        return (traces[:, :, exc] * sizes[exc] + traces[:, :, inh] * sizes[inh]) / (sizes[exc] + sizes[inh])
    if network is None:
        raise EncephagenError("the synaptic BOLD observable needs the compiled network (its weights); pass network=")
    out = np.empty((result.n_lanes, traces.shape[1], len(regions)))
    for lane, values in enumerate(result.parameters):
        m = excitatory_input_matrix(network, values)
        region_input = (sizes[exc, None] * m[exc] + sizes[inh, None] * m[inh]) / (sizes[exc] + sizes[inh])[:, None]
        out[lane] = traces[lane] @ region_input.T
    return out


RATE_FC_BIN_MS = 100.0
"""Bin of the rate-FC screen: longer than the network's delays and time constants, so the
zero-lag correlation captures the coupling, and short enough for many samples per minute."""


def binned_rate_fc(
    rates_hz: np.ndarray, bin_ms: float, *, rate_bin_ms: float = RATE_FC_BIN_MS, discard_ms: float = 1000.0
) -> np.ndarray:
    """Pearson FC of region rates re-binned to ``rate_bin_ms`` after ``discard_ms`` of settling."""
    per_bin = max(1, int(round(rate_bin_ms / bin_ms)))
    rates = np.asarray(rates_hz)[int(round(discard_ms / bin_ms)) :]
    n = rates.shape[0] // per_bin
    if n < 10:
        raise EncephagenError(f"only {n} rate bins of {rate_bin_ms:g} ms; simulate longer")
    coarse = rates[: n * per_bin].reshape(n, per_bin, -1).mean(axis=1)
    return np.nan_to_num(np.corrcoef(coarse.T))


@dataclass(frozen=True)
class LanesFC:
    """Simulated FC of every lane (independent runs) and their mean."""

    bold: list[BoldFC]
    """Each lane's BOLD and BOLD FC."""
    rate_fc: np.ndarray
    """(lanes, regions, regions) FC of the activity in 100-ms bins (no haemodynamics)."""

    @property
    def fc(self) -> np.ndarray:
        """Mean BOLD FC over the lanes: independent runs average out the estimation noise of each."""
        return np.mean([b.fc for b in self.bold], axis=0)


def simulated_fc(
    result,
    regions: Sequence[str] | None = None,
    *,
    network=None,
    observable: str = DEFAULT_OBSERVABLE,
    tr_s: float = 0.72,
    discard_s: float = 10.0,
) -> LanesFC:
    """BOLD FC (and 100-ms activity FC) of every lane of a cortex run."""
    from .hcp import AAL2_CORTICAL_80

    activity = region_activity(result, list(regions or AAL2_CORTICAL_80), observable=observable, network=network)
    return LanesFC(
        [activity_to_bold_fc(a, result.bin_ms, tr_s=tr_s, discard_s=discard_s) for a in activity],
        np.stack([binned_rate_fc(a, result.bin_ms) for a in activity]),
    )


def fc_objective_terms(
    result, empirical_fc: np.ndarray, simulated: LanesFC, *, regions: Sequence[str] | None = None
) -> dict[str, float]:
    """Named numbers for calibrating the cortex against an empirical FC.

    ``fc_r`` is the Pearson correlation of the simulated BOLD FC (mean over the lanes) with
    ``empirical_fc`` (to be maximised); ``mean_rate_hz`` and the region extremes of the
    excitatory rates let an objective keep the network in the asynchronous-irregular range
    (1-30 Hz); ``fc_mean`` is the mean simulated off-diagonal FC (empirical hcp: about 0.3-0.4),
    which exposes a globally synchronised state. ``rate_fc_r`` and ``rate_fc_mean`` are the
    same for the FC of the activity in 100-ms bins: no haemodynamics, but a far less noisy
    estimate from a short run, useful to screen parameters before minutes-long BOLD runs.
    ``lane_fc_r_min`` / ``lane_fc_r_max`` give the spread of single runs.
    """
    from .hcp import AAL2_CORTICAL_80

    regions = list(regions or AAL2_CORTICAL_80)
    region_mean = np.stack([region_rates(result, regions, lane=i).mean(axis=0) for i in range(result.n_lanes)])
    rate_fc = simulated.rate_fc.mean(axis=0)
    lane_r = [fc_correlation(b.fc, empirical_fc) for b in simulated.bold]
    return {
        "fc_r": fc_correlation(simulated.fc, empirical_fc),
        "fc_mean": float(upper_triangle(simulated.fc).mean()),
        "lane_fc_r_min": float(min(lane_r)),
        "lane_fc_r_max": float(max(lane_r)),
        "rate_fc_r": fc_correlation(rate_fc, empirical_fc),
        "rate_fc_mean": float(upper_triangle(rate_fc).mean()),
        "mean_rate_hz": float(np.average(result.population_rates_hz().mean(axis=0), weights=result.population_sizes)),
        "max_region_rate_hz": float(region_mean.max()),
        "min_region_rate_hz": float(region_mean.min()),
    }


# --------------------------------------------------------------------------- running and reporting

DEFAULT_FC_BIN_MS = 10.0
"""Rate bin (ms) feeding the BOLD model: far finer than any haemodynamic time scale."""


def run_cortex(
    network,
    duration_ms: float,
    *,
    seeds: int | Sequence[int] = 0,
    parameters: Mapping[str, float] | Sequence[Mapping[str, float]] | None = None,
    bin_ms: float = DEFAULT_FC_BIN_MS,
    chunk_ms: float = 1000.0,
    on_chunk=None,
):
    """Simulate a cortex in chunks, keeping only binned population counts (no spike list).

    Minutes of biological time are needed for a BOLD FC; recording only counts keeps the
    memory small, and ``on_chunk(ms_done)`` lets a caller show progress. Several ``seeds``
    run as lanes of one batched simulation: independent runs whose FCs can be averaged,
    at less cost per biological second than one after the other.

    Parameters
    ----------
    seeds
        One seed, or one per lane.
    parameters
        Parameter values for every lane (a mapping), or one mapping per lane.

    Returns
    -------
    encephagen.results.SimulationResult
        One lane per seed, ``population_counts`` in ``bin_ms`` bins.
    """
    from .simulation import Simulator, steps_for

    seeds = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if isinstance(parameters, Mapping):
        parameters = [dict(parameters)] * len(seeds)
    n_steps = steps_for(duration_ms, network.dt)
    chunk = max(1, steps_for(chunk_ms, network.dt))
    sim = Simulator(
        network, seeds=seeds, parameters=parameters or None, record_spikes=False, bin_ms=bin_ms, planned_steps=n_steps
    )
    done = 0
    while done < n_steps:
        step = min(chunk, n_steps - done)
        sim.advance(step)
        done += step
        if on_chunk is not None:
            on_chunk(step * network.dt)
    return sim.result()


@dataclass(frozen=True)
class FCReport:
    """Simulated FC and FCD against the held-out subjects, beside predictors chosen on the calibration subjects."""

    r: float
    """Mean over the lanes (independent seeds) of each lane's BOLD-FC r with the target group FC."""
    r_sd: float
    """Sample sd of the lanes' r (0 with one lane)."""
    lane_r: list[float]
    r_of_mean_fc: float
    """r of the lanes' mean FC: what averaging independent runs buys."""
    target: str
    """Which subjects' group FC: 'held-out (a, b, c)' or 'all'."""
    baselines: list[Baseline]
    """Structure-only predictors from the calibration subjects' SC, gains chosen on their FC."""
    ceiling: tuple[float, float, int]
    """Split-half reliability of the empirical FC over all subjects: mean, sd, number of splits."""
    terms: dict[str, float]
    beyond_hubs: dict[str, float]
    """r after regressing the strength product out of both FCs: the simulation and the best SAR."""
    fcd: FCDComparison | None
    """FCD distances (None when the run is too short for two FCD windows)."""
    region_rates_hz: np.ndarray
    """Mean excitatory rate of every region over the lanes (Hz)."""
    simulated_fc: np.ndarray
    empirical_fc: np.ndarray

    def as_dict(self) -> dict:
        return {
            "fc_r": self.r,
            "fc_r_sd": self.r_sd,
            "lane_fc_r": self.lane_r,
            "fc_r_of_mean_fc": self.r_of_mean_fc,
            "target": self.target,
            "terms": self.terms,
            "baselines": [{"name": b.name, "r": b.r, "detail": b.detail} for b in self.baselines],
            "split_half_ceiling": {"mean": self.ceiling[0], "sd": self.ceiling[1], "splits": self.ceiling[2]},
            "beyond_strength_product": self.beyond_hubs,
            "fcd": None if self.fcd is None else self.fcd.as_dict(),
            "region_rate_hz": {"min": float(self.region_rates_hz.min()), "max": float(self.region_rates_hz.max())},
        }


def fc_report(
    result,
    connectome,
    *,
    network=None,
    observable: str = DEFAULT_OBSERVABLE,
    heldout_only: bool = True,
    tr_s: float = 0.72,
    discard_s: float = 10.0,
    fcd_settings: FCDSettings | None = None,
) -> FCReport:
    """Score a cortex run's BOLD FC and FCD against the held-out subjects, beside the baselines.

    Every choice a baseline makes (the SAR gain, the SC it uses) is made on the calibration
    subjects alone (:meth:`~encephagen.hcp.Connectome.calibration_only`); the held-out subjects
    only score. The reported r is the mean of the lanes' r (each lane an independent seed).
    """
    from .fcd import FCDComparison, FCDSettings, ks_distance, linear_model_bold, pooled_fcd

    fcd_settings = fcd_settings or FCDSettings()
    calibration = connectome.calibration_only()
    subjects = connectome.heldout if heldout_only and connectome.heldout else connectome.subjects
    empirical = connectome.group_fc(subjects)
    simulated = simulated_fc(
        result, connectome.regions, network=network, observable=observable, tr_s=tr_s, discard_s=discard_s
    )
    terms = fc_objective_terms(result, empirical, simulated, regions=connectome.regions)
    lane_r = [fc_correlation(b.fc, empirical) for b in simulated.bold]
    target = (
        f"held-out subjects ({', '.join(subjects)})"
        if subjects != connectome.subjects
        else f"all {len(subjects)} subjects"
    )
    strength = calibration.sc.sum(axis=1)
    hubs = np.outer(strength, strength)
    baselines = baseline_predictors(calibration.sc, empirical, gains=SAR_SELECTION_GAINS, selection_fc=calibration.fc)
    gain = sar_gain(calibration.sc, calibration.fc)
    linear = sar_correlation(calibration.sc, gain)
    beyond = {
        "simulated": fc_correlation_beyond(simulated.fc, empirical, hubs),
        f"linear SAR, A = SC/rho, g = {gain:g}": fc_correlation_beyond(linear, empirical, hubs),
    }
    fcd = None
    frames = min(len(b.bold) for b in simulated.bold)
    if frames * tr_s >= fcd_settings.window_s + 4 * fcd_settings.step_s:
        index = {s: i for i, s in enumerate(connectome.subjects)}
        target_fcd = pooled_fcd([connectome.subject_bold[index[s]].T for s in subjects], tr_s, fcd_settings)
        simulated_fcd = pooled_fcd([b.bold for b in simulated.bold], tr_s, fcd_settings)
        duration_s = frames * tr_s + discard_s
        linear_fcd = pooled_fcd(
            [
                linear_model_bold(calibration.sc, gain, duration_s, seed=k, tr_s=tr_s, discard_s=discard_s)
                for k in range(len(simulated.bold))
            ],
            tr_s,
            fcd_settings,
        )
        calibration_fcd = pooled_fcd([b.T for b in calibration.subject_bold], tr_s, fcd_settings)
        fcd = FCDComparison(
            ks_distance(simulated_fcd, target_fcd),
            ks_distance(linear_fcd, target_fcd),
            ks_distance(calibration_fcd, target_fcd),
            simulated_fcd,
            target_fcd,
            linear_fcd,
        )
    rates = np.mean(
        [region_rates(result, connectome.regions, lane=i).mean(axis=0) for i in range(result.n_lanes)], axis=0
    )
    return FCReport(
        float(np.mean(lane_r)),
        float(np.std(lane_r, ddof=1)) if len(lane_r) > 1 else 0.0,
        lane_r,
        terms["fc_r"],
        target,
        baselines,
        split_half_reliability(connectome.subject_fc),
        terms,
        beyond,
        fcd,
        rates,
        simulated.fc,
        empirical,
    )


# --------------------------------------------------------------------------- choosing a setting


@dataclass(frozen=True)
class ScreenedRun:
    """One (setting, seed, observable) of a cortex screen, scored against the calibration subjects."""

    values: dict[str, float]
    """Parameter values of the lane (those the screen set; the rest are the circuit's)."""
    seed: int
    observable: str
    bold_fc_r: float
    """r of this lane's BOLD FC with the calibration subjects' group FC."""
    bold_fc_mean: float
    rate_fc_r: float
    """r of the 100-ms activity FC (no haemodynamics) with the same FC."""
    min_rate_hz: float
    """Slowest and fastest region's excitatory rate (Hz)."""
    max_rate_hz: float
    fcd_ks: float | None = None
    """KS distance of this lane's FCD to the calibration subjects' pooled FCD (None: run too short)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "values": self.values,
            "seed": self.seed,
            "observable": self.observable,
            "bold_fc_r": self.bold_fc_r,
            "bold_fc_mean": self.bold_fc_mean,
            "rate_fc_r": self.rate_fc_r,
            "min_rate_hz": self.min_rate_hz,
            "max_rate_hz": self.max_rate_hz,
            "fcd_ks": self.fcd_ks,
        }


def screen_cortex(
    circuit,
    parameter_sets: Sequence[Mapping[str, float]],
    seeds: Sequence[int],
    *,
    duration_s: float,
    dt: float = 0.5,
    observables: Sequence[str] = OBSERVABLES,
    data=None,
    base_dir=None,
    discard_s: float = 10.0,
    lanes: int = 16,
    fcd_settings: FCDSettings | None = None,
    on_chunk=None,
) -> list[ScreenedRun]:
    """Score every parameter set x seed x BOLD observable against the calibration subjects' FC.

    This is how the cortex's global settings are chosen without looking at what they are
    scored on: the connectome is loaded with ``calibration_only=True`` (the held-out
    subjects' matrices are never read) and every seed must be a calibration seed
    (:data:`encephagen.seeds.CALIBRATION`). Each (set, seed) is one lane; the observables
    are read from the same run.

    Parameters
    ----------
    parameter_sets
        Values of named parameters, one mapping per setting.
    seeds
        Calibration seeds; every setting runs on each.
    duration_s, dt
        Biological time of each run (s) and the integration step (ms).
    data
        Connectome file (the shipped hcp80.h5 by default).
    lanes
        Most (set, seed) runs batched in one simulation.
    fcd_settings
        Windows of the FCD distance to the calibration subjects' FCD (60-s windows by default;
        runs too short for them get ``fcd_ks=None``).
    """
    from .compiler import compile_circuit
    from .fcd import FCDSettings, ks_distance, pooled_fcd
    from .hcp import load_connectome
    from .seeds import CALIBRATION, SeedRangeError

    outside = [int(s) for s in seeds if s not in CALIBRATION]
    if outside:
        raise SeedRangeError(
            f"a screen chooses settings, so it runs on calibration seeds ({CALIBRATION.first}-{CALIBRATION.last}); got {outside}"
        )
    for observable in observables:
        if observable not in OBSERVABLES:
            raise EncephagenError(f"BOLD observable must be one of {', '.join(OBSERVABLES)}; got {observable!r}")
    connectome = load_connectome(data, calibration_only=True)
    fcd_settings = fcd_settings or FCDSettings()
    tr_s = 0.72
    empirical_fcd = pooled_fcd([bold.T for bold in connectome.subject_bold], tr_s, fcd_settings)
    network = compile_circuit(circuit, dt=dt, base_dir=base_dir)
    runs = [(dict(values), int(seed)) for values in parameter_sets for seed in seeds]
    out: list[ScreenedRun] = []
    for start in range(0, len(runs), max(1, int(lanes))):
        batch = runs[start : start + max(1, int(lanes))]
        result = run_cortex(
            network,
            1000.0 * duration_s,
            seeds=[seed for _, seed in batch],
            parameters=[values for values, _ in batch],
            on_chunk=on_chunk,
        )
        for lane, (values, seed) in enumerate(batch):
            single = result.lane(lane)
            for observable in observables:
                simulated = simulated_fc(
                    single, connectome.regions, network=network, observable=observable, tr_s=tr_s, discard_s=discard_s
                )
                terms = fc_objective_terms(single, connectome.fc, simulated, regions=connectome.regions)
                frames = len(simulated.bold[0].bold)
                fcd_ks = (
                    ks_distance(pooled_fcd([simulated.bold[0].bold], tr_s, fcd_settings), empirical_fcd)
                    if frames * tr_s >= fcd_settings.window_s + 4 * fcd_settings.step_s
                    else None
                )
                out.append(
                    ScreenedRun(
                        values=values,
                        seed=seed,
                        observable=observable,
                        bold_fc_r=terms["fc_r"],
                        bold_fc_mean=terms["fc_mean"],
                        rate_fc_r=terms["rate_fc_r"],
                        min_rate_hz=terms["min_region_rate_hz"],
                        max_rate_hz=terms["max_region_rate_hz"],
                        fcd_ks=fcd_ks,
                    )
                )
    return out


# --------------------------------------------------------------------------- calibration objective

FC_TARGETS: dict[str, float] = {"fc_r": 0.7, "min_rate_hz": 1.0, "max_rate_hz": 30.0}
"""Target FC correlation and the asynchronous-irregular rate band every region must stay in."""
FC_OPTIONS: dict[str, Any] = {
    "dataset": "",
    "duration_s": 60.0,
    "dt": 0.5,
    "measure": "bold",
    "observable": DEFAULT_OBSERVABLE,
    "lanes": 8,
}
"""``dataset`` '' = the shipped hcp80.h5; ``measure`` 'bold' (BOLD FC) or 'rate' (100-ms activity
FC, a cheaper screen for short runs); ``observable`` what drives the BOLD (:data:`OBSERVABLES`);
``lanes`` how many (candidate, seed) runs share one batched simulation. Only the connectome's
calibration subjects are used."""


class FCEvaluator:
    """Scores cortex parameter sets on seeds against the calibration subjects' group FC (picklable).

    Loss terms, each about [0, 1]: ``fc`` = max(0, target - r) / target for the chosen measure,
    and ``rate`` = how far the slowest and fastest regions leave the [min, max] Hz band,
    relative to it, so that no FC is bought with a saturated or silent network. Every
    (candidate, seed) pair is one lane; up to ``lanes`` of them run in one batched simulation.
    """

    def __init__(self, circuit, targets: Mapping[str, float], options: Mapping[str, Any], *, base_dir=None):
        from .errors import CalibrationError
        from .hcp import load_connectome

        if options["measure"] not in ("bold", "rate"):
            raise CalibrationError(f"fc objective: option measure must be 'bold' or 'rate'; got {options['measure']!r}")
        if options["observable"] not in OBSERVABLES:
            raise CalibrationError(
                f"fc objective: option observable must be one of {', '.join(OBSERVABLES)}; got {options['observable']!r}"
            )
        if int(options["lanes"]) < 1:
            raise CalibrationError(f"fc objective: option lanes must be at least 1; got {options['lanes']!r}")
        self.circuit, self.targets, self.options, self.base_dir = circuit, dict(targets), dict(options), base_dir
        connectome = load_connectome(options["dataset"] or None, calibration_only=True)
        self.regions = list(connectome.regions)
        self.empirical = connectome.fc
        self._network: CompiledNetwork | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_network": None}

    def __call__(self, parameter_sets: Sequence[Mapping[str, float]], seeds: Sequence[int]):
        from .compiler import compile_circuit
        from .objectives import Loss

        if self._network is None:
            self._network = compile_circuit(self.circuit, dt=float(self.options["dt"]), base_dir=self.base_dir)
        runs = [(i, dict(values), int(seed)) for i, values in enumerate(parameter_sets) for seed in seeds]
        per_call = int(self.options["lanes"])
        losses: list[list[Loss]] = [[] for _ in parameter_sets]
        for start in range(0, len(runs), per_call):
            batch = runs[start : start + per_call]
            result = run_cortex(
                self._network,
                1000.0 * float(self.options["duration_s"]),
                seeds=[seed for _, _, seed in batch],
                parameters=[values for _, values, _ in batch],
            )
            for lane, (i, _, _) in enumerate(batch):
                losses[i].append(Loss.from_terms(self._terms(self._measure(result.lane(lane)))))
        return losses

    def _measure(self, result) -> dict[str, float]:
        simulated = simulated_fc(
            result,
            self.regions,
            network=self._network,
            observable=self.options["observable"],
            discard_s=10.0 if self.options["measure"] == "bold" else 0.0,
        )
        return fc_objective_terms(result, self.empirical, simulated, regions=self.regions)

    def _terms(self, measured: Mapping[str, float]) -> dict[str, float]:
        r = measured["fc_r" if self.options["measure"] == "bold" else "rate_fc_r"]
        target = float(self.targets["fc_r"])
        low, high = float(self.targets["min_rate_hz"]), float(self.targets["max_rate_hz"])
        r = r if np.isfinite(r) else -1.0
        outside = (
            max(0.0, low - measured["min_region_rate_hz"]) / low
            + max(0.0, measured["max_region_rate_hz"] - high) / high
        )
        return {"fc": max(0.0, target - r) / target, "rate": min(outside, 10.0)}


def fc_evaluator(circuit, targets: Mapping[str, float], options: Mapping[str, Any], *, base_dir=None) -> FCEvaluator:
    """Factory of the ``fc`` objective."""
    return FCEvaluator(circuit, targets, options, base_dir=base_dir)


def _register() -> None:
    from .objectives import register_objective

    register_objective(
        "fc",
        fc_evaluator,
        targets=FC_TARGETS,
        options=FC_OPTIONS,
        description="Simulated BOLD (or rate) FC of the cortex against the calibration subjects' group FC, with every region kept at 1-30 Hz.",
    )


_register()
