"""Balloon–Windkessel BOLD: rest, analytic steady state, impulse response, FC from rates."""

from __future__ import annotations

import numpy as np
import pytest

from encephagen.bold import HemodynamicParameters, balloon_windkessel
from encephagen.errors import EncephagenError
from encephagen.fc import activity_to_bold_fc, fc_correlation


def test_rest_stays_at_rest():
    assert np.max(np.abs(balloon_windkessel(np.zeros((500, 3)), 0.01))) < 1e-12


def test_constant_activity_reaches_the_analytic_steady_state():
    p = HemodynamicParameters()
    z0 = 0.3
    y = balloon_windkessel(np.full((6000, 1), z0), 0.01, p)  # 60 s, many haemodynamic time constants
    f = 1 + p.efficacy * z0 / p.gamma  # ds/dt = 0 and df/dt = s = 0
    v = f**p.alpha  # dv/dt = 0
    q = v * (1 - (1 - p.e0) ** (1 / f)) / p.e0  # dq/dt = 0 with v^(1/alpha) = f
    k1, k2, k3 = p.coefficients
    expected = p.v0 * (k1 * (1 - q) + k2 * (1 - q / v) + k3 * (1 - v))
    assert y[-1, 0] == pytest.approx(expected, rel=1e-4)
    assert expected > 0  # more activity, more BOLD


def test_impulse_response_peaks_seconds_later_and_undershoots():
    dt = 0.01
    z = np.zeros((int(30 / dt), 1))
    z[: int(0.1 / dt)] = 1.0
    y = balloon_windkessel(z, dt)[:, 0]
    peak_s = y.argmax() * dt
    assert 3.0 < peak_s < 6.0
    assert y[int(peak_s / dt) :].min() < -0.05 * y.max()  # the post-stimulus undershoot
    # halving the step changes the response little: the Euler step is small enough
    z_fine = np.repeat(z, 2, axis=0)
    y_fine = balloon_windkessel(z_fine, dt / 2)[1::2, 0]
    assert np.max(np.abs(y_fine - y)) < 0.02 * y.max()


def test_strong_negative_activity_keeps_the_state_physical():
    y = balloon_windkessel(np.full((3000, 1), -0.35), 0.01)  # steady flow 0.15 of rest
    assert np.all(np.isfinite(y)) and y[-1, 0] < 0
    with pytest.raises(EncephagenError, match="physical range"):
        balloon_windkessel(np.full((3000, 1), -0.9), 0.01)  # no steady state: flow would go negative


def test_bad_inputs_are_refused():
    with pytest.raises(EncephagenError, match="time, regions"):
        balloon_windkessel(np.zeros(10), 0.01)
    with pytest.raises(EncephagenError, match="dt_s"):
        balloon_windkessel(np.zeros((10, 2)), 0.5)


def test_bold_fc_follows_shared_slow_activity():
    """Two regions sharing a slow signal correlate in BOLD; an independent third does not."""
    rng = np.random.default_rng(0)
    bins = 60_000  # 600 s of 10-ms bins
    slow = np.repeat(rng.normal(size=bins // 200), 200)  # a new value every 2 s
    rates = 5.0 + 0.5 * rng.normal(size=(bins, 3))
    rates[:, 0] += 0.2 * slow  # a few per cent of the mean rate, as in an asynchronous network
    rates[:, 1] += 0.2 * slow
    result = activity_to_bold_fc(rates, 10.0)
    assert result.fc[0, 1] > 0.8 and abs(result.fc[0, 2]) < 0.3
    expected = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=float)
    assert fc_correlation(result.fc, expected) > 0.9
    with pytest.raises(EncephagenError, match="never fired"):
        activity_to_bold_fc(np.zeros((1000, 2)), 10.0)
