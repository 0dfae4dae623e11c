"""Functional connectivity dynamics: sliding-window FC, the FCD distribution and its KS distance."""

from __future__ import annotations

import numpy as np
import pytest

from encephagen.errors import EncephagenError
from encephagen.fc import fc_correlation, sar_correlation
from encephagen.fcd import FCDSettings, fcd_values, ks_distance, linear_model_bold, window_fc
from encephagen.hcp import load_connectome

TR = 0.72


def _two_state_bold(n_frames: int, switch_every: int, seed: int) -> np.ndarray:
    """BOLD-like noise whose correlation pattern alternates between two states."""
    rng = np.random.default_rng(seed)
    n = 10
    a, b = np.eye(n), np.eye(n)
    a[:5, :5] = b[5:, 5:] = 0.9
    np.fill_diagonal(a, 1.0)
    np.fill_diagonal(b, 1.0)
    chol = [np.linalg.cholesky(m + 1e-6 * np.eye(n)) for m in (a, b)]
    frames = [chol[(t // switch_every) % 2] @ rng.standard_normal(n) for t in range(n_frames)]
    return np.array(frames)


def test_fcd_sees_switching_that_stationary_noise_lacks():
    settings = FCDSettings(window_s=30.0, step_s=2.16, band_hz=(0.01, 0.3))
    stationary = fcd_values(np.random.default_rng(0).standard_normal((1200, 10)), TR, settings)
    switching = fcd_values(_two_state_bold(1200, 120, 0), TR, settings)
    # windows of one state resemble each other and differ from the other state: a wide FCD
    assert switching.std() > 2 * stationary.std()
    assert ks_distance(switching, stationary) > 0.3
    assert ks_distance(stationary, stationary) == 0.0


def test_window_fc_shape_and_short_runs_are_refused():
    windows = window_fc(np.random.default_rng(1).standard_normal((500, 6)), TR)
    width, step = round(60 / TR), round(2.16 / TR)
    assert windows.shape == (len(range(0, 500 - width + 1, step)), 15)
    with pytest.raises(EncephagenError, match="too few"):
        window_fc(np.zeros((50, 6)), TR)


def test_linear_model_bold_has_the_linear_models_static_fc():
    sc = load_connectome(calibration_only=True).sc
    bold = linear_model_bold(sc, 0.9, 600.0, seed=3)
    simulated = np.corrcoef(bold.T)
    assert bold.shape[1] == 80 and abs(len(bold) - (600 - 10) / TR) < 2
    assert fc_correlation(simulated, sar_correlation(sc, 0.9)) > 0.8
    assert np.array_equal(bold, linear_model_bold(sc, 0.9, 600.0, seed=3))  # seeded
