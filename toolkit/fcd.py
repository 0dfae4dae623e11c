"""Functional connectivity dynamics: how the FC pattern changes over a BOLD run.

A static FC is the average of a pattern that wanders; resting-state BOLD visits
recurrent FC states (Hansen et al. 2015, NeuroImage 105:525; Deco et al. 2017, Sci Rep
7:3095). Whole-brain modelling tools report it as the FCD: the FC of each sliding window
(upper triangle), the correlation matrix between every pair of windows, and the
distribution of its off-diagonal entries. Two runs are compared by the Kolmogorov–Smirnov
distance between their FCD distributions (0: the same distribution; 1: disjoint).

Simulated and empirical BOLD go through the same steps: the same band-pass filter, the
same window and step in seconds (resampled to each signal's TR), pooled over runs or
subjects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import EncephagenError
from .extras import require

HANSEN_2015 = "Hansen ECA, Battaglia D, Spiegler A, Deco G, Jirsa VK (2015) Functional connectivity dynamics: modeling the switching behavior of the resting state. NeuroImage 105:525-535"


@dataclass(frozen=True)
class FCDSettings:
    """Sliding windows and filter shared by every FCD compared with another."""

    window_s: float = 60.0
    """Window length (s): Hansen et al. 2015 use 60 s."""
    step_s: float = 2.16
    """Window step (s): three HCP frames."""
    band_hz: tuple[float, float] = (0.01, 0.1)
    """Band-pass applied to each region's BOLD first (the resting-state band)."""


def bandpass(bold: np.ndarray, tr_s: float, band_hz: tuple[float, float]) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth band-pass of (frames, regions) BOLD."""
    signal = require("scipy.signal", "the FCD's band-pass filter")
    nyquist = 0.5 / tr_s
    low, high = band_hz
    if not 0 < low < high < nyquist:
        raise EncephagenError(f"band {low:g}-{high:g} Hz must lie inside (0, {nyquist:g}) Hz for TR {tr_s:g} s")
    sos = signal.butter(2, [low / nyquist, high / nyquist], btype="band", output="sos")
    return signal.sosfiltfilt(sos, np.asarray(bold, dtype=np.float64), axis=0)


def window_fc(bold: np.ndarray, tr_s: float, settings: FCDSettings = FCDSettings()) -> np.ndarray:
    """(windows, pairs) upper triangle of the FC of every sliding window of filtered BOLD."""
    filtered = bandpass(bold, tr_s, settings.band_hz)
    width = int(round(settings.window_s / tr_s))
    step = max(1, int(round(settings.step_s / tr_s)))
    if width < 3 or len(filtered) < width + step:
        raise EncephagenError(
            f"{len(filtered)} BOLD frames at TR {tr_s:g} s are too few for {settings.window_s:g}-s windows; simulate longer"
        )
    upper = np.triu_indices(filtered.shape[1], 1)
    starts = range(0, len(filtered) - width + 1, step)
    return np.stack([np.nan_to_num(np.corrcoef(filtered[s : s + width].T))[upper] for s in starts])


def fcd_values(bold: np.ndarray, tr_s: float, settings: FCDSettings = FCDSettings()) -> np.ndarray:
    """Off-diagonal entries (upper triangle) of the FCD matrix of one BOLD run."""
    windows = window_fc(bold, tr_s, settings)
    fcd = np.corrcoef(windows)
    return fcd[np.triu_indices(len(fcd), 1)]


def pooled_fcd(runs: Sequence[np.ndarray], tr_s: float, settings: FCDSettings = FCDSettings()) -> np.ndarray:
    """FCD entries of several (frames, regions) runs or subjects, pooled."""
    return np.concatenate([fcd_values(run, tr_s, settings) for run in runs])


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Kolmogorov–Smirnov statistic between two samples (largest gap of their CDFs)."""
    stats = require("scipy.stats", "the FCD's Kolmogorov-Smirnov distance")
    return float(stats.ks_2samp(a, b).statistic)


@dataclass(frozen=True)
class FCDComparison:
    """FCD distance of the simulation beside the linear model's and the data's own split."""

    simulated: float
    """KS distance between the simulated and the empirical FCD distributions."""
    linear: float
    """The same for the linear (SAR) model's BOLD, through the same haemodynamics."""
    split: float
    """KS distance between the calibration and the held-out subjects' FCDs: the data's own spread."""
    simulated_fcd: np.ndarray
    empirical_fcd: np.ndarray
    linear_fcd: np.ndarray

    def as_dict(self) -> dict[str, float]:
        return {
            "simulated_ks": self.simulated,
            "linear_ks": self.linear,
            "empirical_split_ks": self.split,
            "simulated_fcd_mean": float(self.simulated_fcd.mean()),
            "empirical_fcd_mean": float(self.empirical_fcd.mean()),
            "linear_fcd_mean": float(self.linear_fcd.mean()),
        }


def linear_model_bold(
    sc: np.ndarray,
    gain: float,
    duration_s: float,
    *,
    seed: int,
    bin_ms: float = 10.0,
    tr_s: float = 0.72,
    discard_s: float = 10.0,
    amplitude: float = 0.2,
) -> np.ndarray:
    """BOLD of the linear model: activity with the SAR's spatial covariance, through the same haemodynamics.

    Each ``bin_ms`` bin draws independent activity ``x = (I - gA)^-1 e`` (A = SC / rho,
    e white), scaled so each region's relative fluctuation has sd ``amplitude``; the
    Balloon–Windkessel model then gives the BOLD the spiking cortex's rates would give. Its
    static FC is the linear model's; anything its FCD lacks is network dynamics.
    """
    from .bold import balloon_windkessel

    a = sc / np.max(np.abs(np.linalg.eigvals(sc)))
    mixing = np.linalg.inv(np.eye(len(sc)) - gain * a)
    n_bins = int(round(duration_s * 1000.0 / bin_ms))
    noise = np.random.default_rng(seed).standard_normal((n_bins, len(sc))) @ mixing.T
    z = amplitude * noise / noise.std(axis=0)
    dt_s = bin_ms / 1000.0
    bold = balloon_windkessel(z, dt_s)
    return bold[int(round(discard_s / dt_s)) :: max(1, int(round(tr_s / dt_s)))]
