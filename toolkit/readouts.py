"""Readouts: low-pass-filtered population rates (Hz), the signal bodies and gait analysis read."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba
import numpy as np


def readout_filters(
    readouts: Sequence, population_names: Sequence[str], sizes: np.ndarray, bin_ms: float
) -> tuple[np.ndarray, np.ndarray]:
    """(mix (P, R), decay (R,)) of ``readouts``: bin counts @ mix is each readout's unfiltered
    signal in Hz, ``decay = exp(-bin_ms / tau)`` its filter's pole (see :func:`filter_readout`)."""
    index = {name: i for i, name in enumerate(population_names)}
    mix = np.zeros((len(index), len(readouts)))
    for r, readout in enumerate(readouts):
        for term in readout.terms:
            mix[index[term.population], r] += term.coefficient / (sizes[index[term.population]] * bin_ms / 1000.0)
    decay = np.array([math.exp(-bin_ms / readout.tau) for readout in readouts])
    return mix, decay


def filter_readout(
    readout,
    counts: np.ndarray,
    population_names: Sequence[str],
    sizes: np.ndarray,
    bin_ms: float,
    state: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Low-pass-filtered readout over bins: (values (B, n_bins), final state (B,)), in Hz.

    ``x = sum(coefficient * rate of population)`` per bin and ``y[k] = a y[k-1] + (1 - a) x[k]``
    with ``a = exp(-bin_ms / tau)``, starting from ``state`` (default 0).
    """
    mix, decay = readout_filters([readout], population_names, sizes, bin_ms)
    signal, a = counts @ mix[:, 0], float(decay[0])
    initial = np.zeros(counts.shape[0]) if state is None else np.asarray(state, float)
    if signal.shape[1] == 0:
        return signal, initial
    values = low_pass(signal, a, initial)
    return values, values[:, -1].copy()


def low_pass(signal: np.ndarray, a: float, state) -> np.ndarray:
    """``y[k] = a y[k-1] + (1 - a) x[k]`` along axis 1 of ``signal`` (lanes, bins) from ``y[-1] = state``
    (one per lane, or one for all); all y.

    The products and sums of scipy's ``lfilter([1 - a], [1, -a], zi=a * state)`` in its order, so
    equal to it bit for bit (:func:`filter_bins` with one readout).
    """
    signal = np.asarray(signal, dtype=np.float64)
    start = np.empty((signal.shape[0], 1))
    start[:] = np.reshape(state, (-1, 1))
    values = np.empty((*signal.shape, 1))
    filter_bins(signal[:, :, None], np.array([a], dtype=np.float64), start, values)
    return values[:, :, 0]


@numba.njit(cache=True)
def filter_bins(signal, a, state, values):
    """:func:`low_pass` of (lanes, bins, readouts) floats with one decay per readout, in one compiled
    pass: every y into ``values``, and ``state`` moved on to the last. Each number as NumPy's
    ``a * y + (1.0 - a) * x`` gives it. A closed loop filters its readouts after every body step,
    where NumPy's five calls per bin took longer than the filtering."""
    for b in range(signal.shape[0]):
        for r in range(signal.shape[2]):
            y = state[b, r]
            for k in range(signal.shape[1]):
                y = a[r] * y + (1.0 - a[r]) * signal[b, k, r]
                values[b, k, r] = y
            state[b, r] = y
