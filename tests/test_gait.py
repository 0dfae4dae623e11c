"""Gait analysis on signals whose frequency, phases and duty cycle are known by construction."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from encephagen import load_circuit
from encephagen.cli.main import cli
from encephagen.compiler import compile_circuit
from encephagen.errors import UnknownNameError
from encephagen.gait import (
    MIN_CONTRAST,
    RHYTHMIC_POOL_MIN,
    aggregate,
    analyse_gait,
    circular_mean,
    detect_bursts,
    gait_from_rates,
    onset_phases,
    pools_from_circuit,
    rhythmic_pools,
)
from encephagen.shuffling import shuffle_projections

BIN_MS = 1.0
NAMES = ["LF", "LE", "RF", "RE"]
POOLS = {"left_flexor": ["LF"], "left_extensor": ["LE"], "right_flexor": ["RF"], "right_extensor": ["RE"]}


def bursting(onsets_ms, duration_ms, burst_ms, total_ms=20_000.0, rate=50.0):
    """Rate trace (Hz) with square bursts of ``burst_ms`` starting at ``onsets_ms``."""
    t = np.arange(0.0, total_ms, BIN_MS)
    trace = np.zeros_like(t)
    for onset in onsets_ms:
        trace[(t >= onset) & (t < onset + burst_ms)] = rate
    return trace


def gait_of(periods, lr=0.5, fe=0.5, duty=0.5, total_ms=20_000.0, **options):
    """Metrics of four pools: left flexor onsets every period, the others shifted by phase."""
    onsets = np.cumsum(np.r_[50.0, periods])
    onsets = onsets[onsets < total_ms]
    period = np.r_[np.diff(onsets), periods[-1]]
    pools = {
        "LF": onsets,
        "LE": onsets + fe * period,
        "RF": onsets + lr * period,
        "RE": onsets + ((lr + fe) % 1.0) * period,
    }
    rates = np.stack([bursting(pools[n], period, duty * np.mean(periods), total_ms) for n in NAMES], axis=1)
    return gait_from_rates(rates, BIN_MS, NAMES, POOLS, **options)


@pytest.mark.parametrize(
    "period_ms, lr, fe, duty",
    [(500.0, 0.5, 0.5, 0.5), (250.0, 0.5, 0.3, 0.3), (1000.0, 0.0, 0.5, 0.6), (333.0, 0.25, 0.5, 0.4)],
)
def test_known_frequency_phases_and_duty_are_recovered(period_ms, lr, fe, duty):
    m = gait_of(np.full(200, period_ms), lr=lr, fe=fe, duty=duty)
    assert m["frequency_hz"] == pytest.approx(1000.0 / period_ms, rel=0.01)
    assert m["period_cv"] < 0.01
    assert min(abs(m["lr_phase"] - lr), 1 - abs(m["lr_phase"] - lr)) < 0.01
    assert m["fe_phase"] == pytest.approx(fe, abs=0.01)
    assert m["duty_flexor"] == pytest.approx(duty, abs=0.02)
    assert m["lr_concentration"] > 0.99 and m["fe_concentration"] > 0.99
    assert m["rhythmic_fraction"] > 0.97
    assert m["burst_amplitude_hz"] == pytest.approx(50.0, rel=0.1)  # short bursts are blurred by the smoothing


@pytest.mark.parametrize("fe, duty, overlap", [(0.5, 0.5, 0.0), (0.0, 0.5, 1.0), (0.5, 0.6, 0.2), (0.3, 0.3, 0.0)])
def test_flexor_extensor_overlap_measures_coactivation(fe, duty, overlap):
    assert gait_of(np.full(100, 400.0), fe=fe, duty=duty)["fe_overlap"] == pytest.approx(overlap, abs=0.02)


def test_period_cv_follows_jitter():
    rng = np.random.default_rng(3)
    periods = 400.0 * (1 + 0.1 * rng.standard_normal(60))
    m = gait_of(periods, duty=0.4)
    assert m["period_cv"] == pytest.approx(np.std(periods[:45]) / np.mean(periods[:45]), rel=0.25)
    assert m["frequency_hz"] == pytest.approx(1000.0 / np.mean(periods[:45]), rel=0.03)


def test_irregular_bursts_are_not_rhythmic():
    rng = np.random.default_rng(1)
    m = gait_of(rng.uniform(100.0, 1000.0, 80), duty=0.15)
    assert m["rhythmic_fraction"] < 0.6
    assert m["period_cv"] > 0.3


def poisson_rates(rate_hz, n_neurons, total_ms, seed):
    rng = np.random.default_rng(seed)
    bins = int(total_ms / BIN_MS)
    rate = np.broadcast_to(np.asarray(rate_hz, float), (bins,))
    return rng.poisson(rate * n_neurons * BIN_MS / 1000.0) / (n_neurons * BIN_MS / 1000.0)


def test_rhythm_is_found_in_spike_counts_of_a_modulated_pool():
    t = np.arange(0.0, 10_000.0, BIN_MS)
    phase_shift = {"LF": 0.0, "LE": 0.5, "RF": 0.5, "RE": 0.0}
    rates = np.stack(
        [
            poisson_rates(60.0 * (np.sin(2 * np.pi * (t / 400.0 - phase_shift[n])) > 0), 20, 10_000.0, k)
            for k, n in enumerate(NAMES)
        ],
        axis=1,
    )
    m = gait_from_rates(rates, BIN_MS, NAMES, POOLS)
    assert m["frequency_hz"] == pytest.approx(2.5, rel=0.02)
    assert abs(m["lr_phase"] - 0.5) < 0.05 and abs(m["fe_phase"] - 0.5) < 0.05
    assert m["period_cv"] < 0.1 and m["rhythmic_fraction"] > 0.9


def test_tonic_firing_has_no_rhythm():
    rates = np.stack([poisson_rates(40.0, 5, 10_000.0, k) for k in range(4)], axis=1)
    m = gait_from_rates(rates, BIN_MS, NAMES, POOLS)
    assert m["rhythmic_fraction"] < 0.3


def modulated(period_ms, low_hz, high_hz, shift, n_neurons, total_ms, seed):
    """Poisson spike counts of a pool whose rate steps between low_hz and high_hz each half period."""
    t = np.arange(0.0, total_ms, BIN_MS)
    up = ((t / period_ms - shift) % 1.0) < 0.5
    return poisson_rates(np.where(up, high_hz, low_hz), n_neurons, total_ms, seed)


def test_a_pool_with_a_clear_rhythm_at_low_burst_contrast_is_rhythmic():
    """The extensor pools of spinal_cpg without In-F/In-E: tonically active, dipping at 6 Hz
    (in/out ~2.4 : 1, contrast ~0.41); the flexors burst from silence. Every pool is rhythmic;
    the former 0.5 cut-off called the extensors, and so the gait, 0 % rhythmic."""
    period = 1000.0 / 6.0
    rates = np.stack(
        [
            modulated(period, 0.0, 100.0, 0.0, 20, 10_000.0, 1),  # LF: bursts from silence
            modulated(period, 20.0, 100.0, 0.5, 20, 10_000.0, 2),  # LE: tonic with rhythmic dips
            modulated(period, 0.0, 100.0, 0.5, 20, 10_000.0, 3),  # RF
            modulated(period, 20.0, 100.0, 0.0, 20, 10_000.0, 4),  # RE
        ],
        axis=1,
    )
    m = gait_from_rates(rates, BIN_MS, NAMES, POOLS)
    assert MIN_CONTRAST < m["left_extensor_contrast"] < 0.5 and MIN_CONTRAST < m["right_extensor_contrast"] < 0.5
    assert m["left_flexor_contrast"] > 0.5
    assert m["rhythmic_pools"] == 4 and rhythmic_pools(m) == list(POOLS)
    assert m["left_extensor_rhythmic_fraction"] > 0.9 and m["rhythmic_fraction"] > 0.9
    assert m["left_extensor_frequency_hz"] == pytest.approx(6.0, rel=0.02)
    assert m["frequency_hz"] == pytest.approx(6.0, rel=0.02) and abs(m["lr_phase"] - 0.5) < 0.05
    strict = gait_from_rates(rates, BIN_MS, NAMES, POOLS, min_contrast=0.5)
    assert strict["left_extensor_rhythmic_fraction"] < RHYTHMIC_POOL_MIN and strict["rhythmic_fraction"] < 0.05
    assert rhythmic_pools(strict) == ["left_flexor", "right_flexor"]


def test_a_tonic_pool_beside_rhythmic_ones_is_named_not_rhythmic():
    """Flexors burst at 3 Hz, extensors fire tonically (Poisson, no modulation): two rhythmic pools of four."""
    rates = np.stack(
        [
            modulated(333.0, 0.0, 80.0, 0.0, 5, 10_000.0, 5),
            poisson_rates(50.0, 5, 10_000.0, 6),
            modulated(333.0, 0.0, 80.0, 0.5, 5, 10_000.0, 7),
            poisson_rates(50.0, 5, 10_000.0, 8),
        ],
        axis=1,
    )
    m = gait_from_rates(rates, BIN_MS, NAMES, POOLS)
    assert rhythmic_pools(m) == ["left_flexor", "right_flexor"] and m["rhythmic_pools"] == 2
    assert m["left_flexor_frequency_hz"] == pytest.approx(3.0, rel=0.02)
    assert math.isnan(m["left_extensor_frequency_hz"]) and m["left_extensor_rhythmic_fraction"] < 0.3
    assert m["rhythmic_fraction"] == min(m[f"{role}_rhythmic_fraction"] for role in POOLS)


def test_silent_or_missing_pools_give_nan_not_errors():
    rates = np.zeros((5000, 4))
    m = gait_from_rates(rates, BIN_MS, NAMES, POOLS)
    assert math.isnan(m["frequency_hz"]) and math.isnan(m["lr_phase"]) and m["rhythmic_fraction"] == 0.0
    one_side = gait_from_rates(
        np.stack([bursting(np.arange(0, 5000, 500), 500, 250, 5000)] * 2, axis=1),
        BIN_MS,
        ["F", "E"],
        {"flexor": ["F"], "extensor": ["E"]},
    )
    assert math.isnan(one_side["lr_phase"]) and one_side["frequency_hz"] == pytest.approx(2.0, rel=0.02)


def test_fine_bins_are_merged_and_give_the_same_answer():
    coarse = np.stack([bursting(np.arange(0, 8000, 400) + s, 400, 200, 8000) for s in (0, 200, 200, 0)], axis=1)
    fine = np.repeat(coarse, 10, axis=0)
    a = gait_from_rates(coarse, 1.0, NAMES, POOLS)
    b = gait_from_rates(fine, 0.1, NAMES, POOLS)
    assert a == pytest.approx(b, nan_ok=True)


def test_unknown_pool_role_is_named():
    with pytest.raises(UnknownNameError, match="left_flexor"):
        gait_from_rates(np.zeros((3000, 1)), BIN_MS, ["A"], {"left_flexr": ["A"]})


def test_too_short_run_is_refused():
    with pytest.raises(ValueError, match="too short"):
        gait_from_rates(np.zeros((500, 1)), BIN_MS, ["A"], {"flexor": ["A"]})


def test_detect_bursts_uses_hysteresis_and_drops_short_blips():
    trace = np.r_[
        np.zeros(100),
        np.full(100, 30.0),
        np.zeros(100),
        np.full(5, 30.0),
        np.zeros(100),
        np.full(100, 30.0),
        np.zeros(50),
    ]
    onsets, offsets = detect_bursts(trace, 1.0, min_burst_ms=20.0)
    assert onsets.tolist() == [100, 405] and offsets.tolist() == [200, 505]


def test_circular_statistics_wrap_around():
    assert circular_mean([0.9, 0.1])[0] == pytest.approx(0.0, abs=1e-12)
    assert circular_mean([0.45, 0.55])[0] == pytest.approx(0.5)
    assert circular_mean([0.0, 0.5])[1] == pytest.approx(0.0, abs=1e-12)
    assert onset_phases(np.array([0.0, 100.0, 200.0]), np.array([50.0, 175.0])).tolist() == [0.5, 0.75]
    summary = aggregate([{"lr_phase": 0.97, "period_cv": 0.1}, {"lr_phase": 0.01, "period_cv": math.nan}])
    assert summary["lr_phase"]["mean"] == pytest.approx(0.99)
    assert summary["lr_phase"]["min"] == pytest.approx(0.97) and summary["lr_phase"]["max"] == pytest.approx(0.01)
    assert summary["period_cv"]["mean"] == pytest.approx(0.1) and summary["period_cv"]["n_undefined"] == 1


def test_analysis_keeps_what_the_figure_needs():
    rates = np.stack([bursting(np.arange(0, 6000, 500) + s, 500, 250, 6000) for s in (0, 250, 250, 0)], axis=1)
    analysis = analyse_gait(rates, BIN_MS, NAMES, POOLS, warmup_ms=500.0)
    assert set(analysis.signals) == set(POOLS) and analysis.start_ms == 500.0
    assert analysis.phases["lr"].size >= 9 and np.allclose(analysis.phases["lr"], 0.5, atol=0.01)


def test_pools_come_from_readouts():
    assert pools_from_circuit(load_circuit("half_centre")) == {"left_flexor": ["flex_rg"], "left_extensor": ["ext_rg"]}
    assert pools_from_circuit(load_circuit("spinal_cpg"))["right_extensor"] == ["R_MN_E"]


# --------------------------------------------------------------------------- shuffling


def test_shuffle_keeps_counts_weights_out_degrees_and_dale():
    circuit = load_circuit("spinal_cpg")
    shuffled = shuffle_projections(circuit, seed=4)
    a, b = compile_circuit(circuit), compile_circuit(shuffled)
    assert a.n_synapses == b.n_synapses
    assert np.allclose(np.sort(a.weights.data), np.sort(b.weights.data))
    out_a = np.bincount(a.weights.indices, minlength=a.n_neurons)
    out_b = np.bincount(b.weights.indices, minlength=b.n_neurons)
    assert np.array_equal(out_a, out_b)
    assert np.allclose(a.weights.sum(axis=0), b.weights.sum(axis=0))
    assert np.count_nonzero(a.weights.toarray() != b.weights.toarray()) > 0.5 * a.n_synapses
    assert not np.any(b.weights.diagonal())
    # the shuffled file still passes the rules (Dale's law) and calibration parameters keep their meaning
    assert compile_circuit(shuffled).parameter_map.keys() >= {"w_rg_mn"}


def test_shuffle_is_seeded():
    circuit = load_circuit("half_centre")
    w1 = compile_circuit(shuffle_projections(circuit, seed=2)).weights
    w2 = compile_circuit(shuffle_projections(circuit, seed=2)).weights
    w3 = compile_circuit(shuffle_projections(circuit, seed=3)).weights
    assert np.array_equal(w1.toarray(), w2.toarray()) and not np.array_equal(w1.toarray(), w3.toarray())


# --------------------------------------------------------------------------- commands


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_gait_command_reports_per_seed_and_summary(tmp_path):
    figure = tmp_path / "gait.png"
    result = invoke("gait", "half_centre", "--seeds", 2, "--duration-ms", 4000, "--json", "--plot", figure)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["seeds"] == [100000, 100001] and len(report["per_seed"]) == 2
    assert set(report["summary"]) >= {"frequency_hz", "fe_phase", "rhythmic_fraction"}
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = invoke("gait", "half_centre", "--seeds", 1, "--duration-ms", 3000)
    assert table.exit_code == 0 and "freq Hz" in table.output and "mean" in table.output
    assert "per pool" in table.output and "  left_extensor       1/1 " in table.output, table.output
    assert "flexor-extensor: alternating 1/1" in table.output, table.output


def test_gait_command_names_unknown_lesions():
    result = invoke("gait", "spinal_cpg", "--seeds", 1, "--duration-ms", 2000, "--lesion", "V0x")
    assert result.exit_code == 1
    assert "unknown population, projection or cell class 'V0x'" in result.output and "did you mean" in result.output


def test_sweep_command_varies_one_parameter(tmp_path):
    figure = tmp_path / "sweep.png"
    result = invoke(
        "sweep",
        "half_centre",
        "--param",
        "drive_flex",
        "--values",
        "14:18:3",
        "--seeds",
        1,
        "--duration-ms",
        3000,
        "--json",
        "--plot",
        figure,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["values"] == [14.0, 16.0, 18.0] and len(report["summaries"]) == 3
    assert figure.stat().st_size > 0
    bad = invoke("sweep", "half_centre", "--param", "drive_flex", "--values", "1:2:1")
    assert bad.exit_code == 2 and "start:stop:count" in bad.output
    unknown = invoke("sweep", "half_centre", "--param", "drive_flx", "--values", "1,2", "--duration-ms", 2000)
    assert unknown.exit_code == 1 and "did you mean 'drive_flex'" in unknown.output


def test_missing_pools_are_named():
    with pytest.raises(UnknownNameError, match="motor pool population 'L_MN_F'"):
        gait_from_rates(np.zeros((3000, 1)), BIN_MS, ["A"], {"left_flexor": ["L_MN_F"]})


def test_a_drive_sweep_can_judge_flexor_extensor_alternation_by_co_bursting():
    """With sweep_fe_overlap the sweep values are scored on flexor-extensor co-bursting (a ceiling)
    instead of phase 0.5, since speed moves the extensor's onset phase; the candidate's own setting
    keeps its phase target."""
    from encephagen.objectives import gait_loss, get_objective

    assert gait_loss({"fe_overlap": 0.35}, {"fe_overlap": 0.1}).terms == pytest.approx({"fe_overlap": 0.5})
    assert gait_loss({"fe_overlap": 0.05}, {"fe_overlap": 0.1}).terms == {"fe_overlap": 0.0}
    gait = get_objective("gait")
    options = {"duration_ms": 1500.0, "warmup_ms": 300.0, "sweep_param": "drive_flex", "sweep_values": (12, 16)}
    targets = gait.resolve_targets({"frequency_low_hz": 1.0, "frequency_high_hz": 3.0})
    circuit = load_circuit("half_centre")
    by_phase = gait.factory(circuit, targets, gait.resolve_options(options))([{}], [3])[0][0].terms
    by_overlap = gait.factory(circuit, targets, gait.resolve_options({**options, "sweep_fe_overlap": 0.1}))([{}], [3])[
        0
    ][0].terms
    assert "sweep_fe_phase" in by_phase and "sweep_fe_overlap" not in by_phase
    assert "sweep_fe_overlap" in by_overlap and "sweep_fe_phase" not in by_overlap
    assert (
        by_overlap["fe_phase"] == by_phase["fe_phase"]
        and by_overlap["sweep_frequency_hz"] == by_phase["sweep_frequency_hz"]
    )
