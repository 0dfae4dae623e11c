"""Readout filtering: the first-order low-pass equals scipy's ``lfilter`` bit for bit (the figures were made with it)."""

from __future__ import annotations

import numpy as np
import pytest

from encephagen.readouts import filter_readout, readout_filters
from encephagen.schema import Readout

signal = pytest.importorskip("scipy.signal", reason="the reference is scipy (pip install 'encephagen[fc]')")


@pytest.mark.parametrize("tau, bin_ms", [(50.0, 1.0), (5.0, 0.1), (200.0, 10.0), (0.5, 2.0)])
def test_filter_readout_equals_lfilter_bit_for_bit(tau, bin_ms):
    rng = np.random.default_rng(200130)
    readout = Readout.model_validate(
        {"terms": [{"population": "a", "coefficient": 1.0}, {"population": "b", "coefficient": -0.7}], "tau": tau}
    )
    names, sizes = ["a", "b", "c"], np.array([10, 3, 5])
    counts = rng.poisson([2.0, 0.5, 9.0], size=(3, 4000, 3)).astype(float)  # (lanes, bins, populations)
    state = rng.normal(0.0, 30.0, 3)
    for start in (None, state):
        values, final = filter_readout(readout, counts, names, sizes, bin_ms, state=start)
        mix, decay = readout_filters([readout], names, sizes, bin_ms)
        x, a = counts @ mix[:, 0], float(decay[0])
        initial = np.zeros(3) if start is None else start
        expected, _ = signal.lfilter([1.0 - a], [1.0, -a], x, axis=1, zi=(a * initial)[:, None])
        assert np.array_equal(values.view(np.uint64), expected.view(np.uint64))
        assert np.array_equal(final, expected[:, -1])
