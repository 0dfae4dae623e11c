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
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .bold import HemodynamicParameters, balloon_windkessel
from .errors import EncephagenError

log = logging.getLogger(__name__)

SAR_GAINS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99)
"""Gains g searched for the linear (SAR) predictor; the grid of baselines.md (a finer grid
finds 0.569 at g = 0.7 for hcp with log1p(1000 SC), against 0.561 at g = 0.8)."""


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


def baseline_predictors(sc: np.ndarray, fc: np.ndarray, *, gains: Sequence[float] = SAR_GAINS) -> list[Baseline]:
    """The structure-only predictors of ``fc`` from ``sc`` (baselines.md section 2, (i)-(ii)).

    Parameters
    ----------
    sc
        Symmetric group structural connectivity.
    fc
        Empirical FC to predict.
    gains
        Grid searched for the SAR gain g (the best g is reported: an upper bound for this predictor).
    """
    strength = sc.sum(axis=1)
    log_sc = np.log1p(1000 * sc)
    out = [
        Baseline("log1p(1000 SC)", fc_correlation(log_sc, fc)),
        Baseline("strength product s_i s_j", fc_correlation(np.outer(strength, strength), fc)),
    ]
    for label, matrix in (("SC", sc), ("log1p(1000 SC)", log_sc)):
        r, gain = max((fc_correlation(sar_correlation(matrix, g), fc), g) for g in gains)
        out.append(Baseline(f"linear SAR, A = {label}/rho", r, f"best g = {gain:g}"))
    return out


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
    """BOLD FC from region firing rates binned every ``bin_ms``.

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
        raise EncephagenError(f"{silent} region(s) never fired; a BOLD FC needs activity in every region. Raise the drive")
    z = rates_hz / mean - 1.0
    bold = balloon_windkessel(z, dt_s, parameters)
    step = max(1, int(round(tr_s / dt_s)))
    start = int(round(discard_s / dt_s))
    sampled = bold[start::step]
    if len(sampled) < 10:
        raise EncephagenError(f"only {len(sampled)} BOLD frames after discarding {discard_s} s; simulate longer (minutes for a stable FC)")
    return BoldFC(sampled, np.nan_to_num(np.corrcoef(sampled.T)), tr_s)


def region_rates(result, regions: Sequence[str], *, lane: int = 0) -> np.ndarray:
    """(bins, regions) firing rate of each region's excitatory population (``<region>.E``).

    BOLD follows the synaptic activity of a region as a whole; its excitatory cells are 80 %
    of it and carry the long-range input, so their rate stands for the region.
    """
    traces = result.rate_traces_hz()[lane]
    index = {name: i for i, name in enumerate(result.population_names)}
    missing = [r for r in regions if f"{r}.E" not in index]
    if missing:
        raise EncephagenError(f"the result has no population {missing[0]}.E; simulate a circuit built by encephagen.hcp.build_hcp_cortex_circuit")
    return traces[:, [index[f"{r}.E"] for r in regions]]


RATE_FC_BIN_MS = 100.0
"""Bin of the rate-FC screen: longer than the network's delays and time constants, so the
zero-lag correlation captures the coupling, and short enough for many samples per minute."""


def binned_rate_fc(rates_hz: np.ndarray, bin_ms: float, *, rate_bin_ms: float = RATE_FC_BIN_MS, discard_ms: float = 1000.0) -> np.ndarray:
    """Pearson FC of region rates re-binned to ``rate_bin_ms`` after ``discard_ms`` of settling."""
    per_bin = max(1, int(round(rate_bin_ms / bin_ms)))
    rates = np.asarray(rates_hz)[int(round(discard_ms / bin_ms)):]
    n = rates.shape[0] // per_bin
    if n < 10:
        raise EncephagenError(f"only {n} rate bins of {rate_bin_ms:g} ms; simulate longer")
    coarse = rates[: n * per_bin].reshape(n, per_bin, -1).mean(axis=1)
    return np.nan_to_num(np.corrcoef(coarse.T))


def simulated_fc(result, regions: Sequence[str] | None = None, *, tr_s: float = 0.72, discard_s: float = 10.0) -> BoldFC:
    """BOLD FC of a cortex run (lane 0), from each region's excitatory rate."""
    from .hcp import AAL2_CORTICAL_80

    return activity_to_bold_fc(region_rates(result, list(regions or AAL2_CORTICAL_80)), result.bin_ms, tr_s=tr_s, discard_s=discard_s)


def fc_objective_terms(result, empirical_fc: np.ndarray, *, regions: Sequence[str] | None = None, tr_s: float = 0.72,
                       simulated: BoldFC | None = None) -> dict[str, float]:
    """Named numbers for calibrating the cortex against an empirical FC.

    ``fc_r`` is the Pearson correlation of simulated BOLD FC with ``empirical_fc`` (to be
    maximised); ``mean_rate_hz`` and ``max_region_rate_hz`` let an objective keep the network
    in the asynchronous-irregular range (1-30 Hz); ``fc_mean`` is the mean simulated
    off-diagonal FC (empirical hcp: about 0.3), which exposes a globally synchronised state.
    ``rate_fc_r`` and ``rate_fc_mean`` are the same for the FC of rates in 100-ms bins
    (:func:`binned_rate_fc`): no haemodynamics, but a far less noisy estimate from a short
    run, useful to screen parameters before minutes-long BOLD runs. Lane 0 of ``result`` is
    scored (pass ``result.lane(i)`` for the others); ``simulated`` skips recomputing the
    BOLD FC when the caller has it.
    """
    from .hcp import AAL2_CORTICAL_80

    regions = list(regions or AAL2_CORTICAL_80)
    simulated = simulated or simulated_fc(result, regions, tr_s=tr_s)
    rates = region_rates(result, regions)
    region_mean = rates.mean(axis=0)
    rate_fc = binned_rate_fc(rates, result.bin_ms)
    return {
        "fc_r": fc_correlation(simulated.fc, empirical_fc),
        "fc_mean": float(upper_triangle(simulated.fc).mean()),
        "rate_fc_r": fc_correlation(rate_fc, empirical_fc),
        "rate_fc_mean": float(upper_triangle(rate_fc).mean()),
        "mean_rate_hz": float(np.average(result.population_rates_hz()[0], weights=result.population_sizes)),
        "max_region_rate_hz": float(region_mean.max()),
        "min_region_rate_hz": float(region_mean.min()),
    }


# --------------------------------------------------------------------------- running and reporting

DEFAULT_FC_BIN_MS = 10.0
"""Rate bin (ms) feeding the BOLD model: far finer than any haemodynamic time scale."""


def run_cortex(network, duration_ms: float, *, seed: int = 0, parameters: "dict[str, float] | None" = None,
               bin_ms: float = DEFAULT_FC_BIN_MS, chunk_ms: float = 1000.0, on_chunk=None):
    """Simulate a cortex in chunks, keeping only binned population counts (no spike list).

    Minutes of biological time are needed for a BOLD FC; recording only counts keeps the
    memory small, and ``on_chunk(ms_done)`` lets a caller show progress.

    Returns
    -------
    encephagen.results.SimulationResult
        One lane, ``population_counts`` in ``bin_ms`` bins.
    """
    from .simulate import Simulator, steps_for

    n_steps = steps_for(duration_ms, network.dt)
    chunk = max(1, steps_for(chunk_ms, network.dt))
    sim = Simulator(network, seeds=[seed], parameters=[parameters] if parameters else None,
                    record_spikes=False, bin_ms=bin_ms, planned_steps=n_steps)
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
    """Simulated FC against empirical FC, beside the predictors and the ceiling of the same data."""

    r: float
    """Pearson r of simulated BOLD FC with the empirical group FC (upper triangle)."""
    target: str
    """Which subjects' group FC: 'held-out (a, b, c)' or 'all'."""
    baselines: list[Baseline]
    ceiling: tuple[float, float, int]
    """Split-half reliability of the empirical FC over all subjects: mean, sd, number of splits."""
    terms: dict[str, float]
    beyond_hubs: dict[str, float]
    """r after regressing the strength product out of both FCs: the simulation and the best SAR."""
    simulated_fc: np.ndarray
    empirical_fc: np.ndarray

    def as_dict(self) -> dict:
        return {
            "fc_r": self.r,
            "target": self.target,
            "terms": self.terms,
            "baselines": [{"name": b.name, "r": b.r, "detail": b.detail} for b in self.baselines],
            "split_half_ceiling": {"mean": self.ceiling[0], "sd": self.ceiling[1], "splits": self.ceiling[2]},
            "beyond_strength_product": self.beyond_hubs,
        }


def fc_report(result, connectome, *, heldout_only: bool = True, tr_s: float = 0.72, discard_s: float = 10.0) -> FCReport:
    """Compare a cortex run's BOLD FC with a connectome's empirical FC and compute the baselines."""
    subjects = connectome.heldout if heldout_only and connectome.heldout else connectome.subjects
    empirical = connectome.group_fc(subjects)
    simulated = simulated_fc(result, connectome.regions, tr_s=tr_s, discard_s=discard_s)
    terms = fc_objective_terms(result, empirical, regions=connectome.regions, simulated=simulated)
    target = f"held-out subjects ({', '.join(subjects)})" if subjects != connectome.subjects else f"all {len(subjects)} subjects"
    strength = connectome.sc.sum(axis=1)
    hubs = np.outer(strength, strength)
    baselines = baseline_predictors(connectome.sc, empirical)
    sar_gain = max((fc_correlation(sar_correlation(connectome.sc, g), empirical), g) for g in SAR_GAINS)[1]
    beyond = {
        "simulated": fc_correlation_beyond(simulated.fc, empirical, hubs),
        f"linear SAR, A = SC/rho, g = {sar_gain:g}": fc_correlation_beyond(sar_correlation(connectome.sc, sar_gain), empirical, hubs),
    }
    return FCReport(terms["fc_r"], target, baselines, split_half_reliability(connectome.subject_fc), terms, beyond, simulated.fc, empirical)


# --------------------------------------------------------------------------- calibration objective

FC_TARGETS: dict[str, float] = {"fc_r": 0.7, "min_rate_hz": 1.0, "max_rate_hz": 30.0}
"""Target FC correlation and the asynchronous-irregular rate band every region must stay in."""
FC_OPTIONS: dict[str, Any] = {"dataset": "", "duration_s": 60.0, "dt": 0.5, "measure": "bold"}
"""``dataset`` '' = the shipped hcp80.h5; ``measure`` 'bold' (BOLD FC) or 'rate' (100-ms rate
FC, a cheaper screen for short runs). Only the connectome's calibration subjects are used."""


class FCEvaluator:
    """Scores cortex parameter sets on seeds against the calibration subjects' group FC (picklable).

    Loss terms, each about [0, 1]: ``fc`` = max(0, target - r) / target for the chosen measure,
    and ``rate`` = how far the slowest and fastest regions leave the [min, max] Hz band,
    relative to it, so that no FC is bought with a saturated or silent network.
    """

    def __init__(self, circuit, targets: Mapping[str, float], options: Mapping[str, Any], *, base_dir=None):
        from .errors import CalibrationError
        from .hcp import load_connectome

        if options["measure"] not in ("bold", "rate"):
            raise CalibrationError(f"fc objective: option measure must be 'bold' or 'rate'; got {options['measure']!r}")
        self.circuit, self.targets, self.options, self.base_dir = circuit, dict(targets), dict(options), base_dir
        connectome = load_connectome(options["dataset"] or None)
        calibration = [s for s in connectome.subjects if s not in connectome.heldout] or list(connectome.subjects)
        self.regions = list(connectome.regions)
        self.empirical = connectome.group_fc(tuple(calibration))
        self._network = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_network": None}

    def __call__(self, parameter_sets: Sequence[Mapping[str, float]], seeds: Sequence[int]):
        from .compile import compile_circuit
        from .objectives import Loss

        if self._network is None:
            self._network = compile_circuit(self.circuit, dt=float(self.options["dt"]), base_dir=self.base_dir)
        losses = []
        for values in parameter_sets:
            row = []
            for seed in seeds:
                result = run_cortex(self._network, 1000.0 * float(self.options["duration_s"]), seed=int(seed), parameters=dict(values))
                row.append(Loss.from_terms(self._terms(self._measure(result))))
            losses.append(row)
        return losses

    def _measure(self, result) -> dict[str, float]:
        if self.options["measure"] == "bold":
            return fc_objective_terms(result, self.empirical, regions=self.regions)
        rates = region_rates(result, self.regions)  # the cheap screen: no BOLD frames needed
        region_mean = rates.mean(axis=0)
        return {"rate_fc_r": fc_correlation(binned_rate_fc(rates, result.bin_ms), self.empirical),
                "min_region_rate_hz": float(region_mean.min()), "max_region_rate_hz": float(region_mean.max())}

    def _terms(self, measured: Mapping[str, float]) -> dict[str, float]:
        r = measured["fc_r" if self.options["measure"] == "bold" else "rate_fc_r"]
        target = float(self.targets["fc_r"])
        low, high = float(self.targets["min_rate_hz"]), float(self.targets["max_rate_hz"])
        r = r if np.isfinite(r) else -1.0
        outside = max(0.0, low - measured["min_region_rate_hz"]) / low + max(0.0, measured["max_region_rate_hz"] - high) / high
        return {"fc": max(0.0, target - r) / target, "rate": min(outside, 10.0)}


def fc_evaluator(circuit, targets: Mapping[str, float], options: Mapping[str, Any], *, base_dir=None) -> FCEvaluator:
    """Factory of the ``fc`` objective."""
    return FCEvaluator(circuit, targets, options, base_dir=base_dir)


def _register() -> None:
    from .objectives import register_objective

    register_objective(
        "fc", fc_evaluator, targets=FC_TARGETS, options=FC_OPTIONS,
        description="Simulated BOLD (or rate) FC of the cortex against the calibration subjects' group FC, with every region kept at 1-30 Hz.",
    )


_register()
