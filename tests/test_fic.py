"""Feedback inhibition control and the cortex protocol: nothing that chooses reads the held-out subjects."""

from __future__ import annotations

import numpy as np
import pytest

import encephagen.hcp as hcp
from encephagen.fc import FC_OPTIONS, FC_TARGETS, FCEvaluator, baseline_predictors, fc_report, sar_gain
from encephagen.fic import feedback_inhibition_control, inhibitory_factors
from encephagen.hcp import build_hcp_cortex_circuit, default_data_path, load_connectome
from encephagen.seeds import SeedRangeError
from encephagen.storage import load_circuit


def test_calibration_view_holds_nothing_of_the_heldout_subjects():
    full = load_connectome()
    view = load_connectome(calibration_only=True)
    assert view.heldout == () and view.withheld == full.heldout and set(view.subjects) == set(full.calibration)
    held_fc = [full.subject_fc[full.subjects.index(s)] for s in full.heldout]
    held_bold = [full.subject_bold[full.subjects.index(s)] for s in full.heldout]
    assert not any(np.array_equal(f, g) for f in held_fc for g in view.subject_fc)
    assert not any(np.array_equal(b, c) for b in held_bold for c in view.subject_bold)
    assert np.allclose(view.fc, full.group_fc(full.calibration))
    assert not np.allclose(view.sc, full.sc)  # rebuilt from four subjects, not the group of seven
    same = full.calibration_only()
    assert np.array_equal(same.sc, view.sc) and np.array_equal(same.tract_length, view.tract_length)


def test_shipped_cortex_is_wired_from_the_calibration_subjects_only():
    import h5py

    circuit = load_circuit("hcp_cortex")
    view = load_connectome(calibration_only=True)
    with h5py.File(default_data_path("hcp"), "r") as h5:
        for projection in circuit.matrix_projections.values():
            assert projection.probability.array.dataset == "/calibration/sc"
            assert np.array_equal(h5[projection.probability.array.dataset][()], view.sc)
            assert np.array_equal(h5[projection.delay.array.dataset][()], view.tract_length)


def test_fc_objective_reads_only_the_calibration_subjects(monkeypatch):
    calls = []
    real = hcp.load_connectome

    def spy(path=None, **kwargs):
        calls.append(kwargs)
        return real(path, **kwargs)

    monkeypatch.setattr(hcp, "load_connectome", spy)
    circuit = load_circuit("hcp_cortex")
    evaluator = FCEvaluator(circuit, FC_TARGETS, FC_OPTIONS)
    assert calls == [{"calibration_only": True}]
    full = real()
    assert np.allclose(evaluator.empirical, full.group_fc(full.calibration))
    assert not np.allclose(evaluator.empirical, full.group_fc(full.heldout))


def test_baseline_gains_do_not_depend_on_the_heldout_fc():
    full = load_connectome()
    view = full.calibration_only()
    target = full.group_fc(full.heldout)
    scrambled = np.random.default_rng(0).permutation(target.ravel()).reshape(target.shape)
    scrambled = (scrambled + scrambled.T) / 2
    chosen = baseline_predictors(view.sc, target, selection_fc=view.fc)
    other = baseline_predictors(view.sc, scrambled, selection_fc=view.fc)
    assert [b.detail for b in chosen] == [b.detail for b in other]  # the same gains whatever is scored
    assert sar_gain(view.sc, view.fc) == sar_gain(view.sc, view.fc)
    # without a selection FC the gain is fitted to the scored FC itself (an upper bound), and differs
    assert [b.detail for b in baseline_predictors(view.sc, scrambled)] != [b.detail for b in other]


def test_cortex_screen_cannot_read_the_heldout_subjects(tmp_path, monkeypatch):
    """The screen that chooses coupling and observable gives the same figures when every held-out
    dataset in the file is NaN, loads the connectome calibration-only, and refuses report seeds."""
    import shutil

    import h5py

    from encephagen.fc import screen_cortex
    from encephagen.fcd import FCDSettings
    from encephagen.seeds import SeedRangeError

    poisoned = tmp_path / "hcp80.h5"
    shutil.copy(default_data_path("hcp"), poisoned)
    with h5py.File(poisoned, "r+") as h5:
        ids = [s.decode() for s in h5["subjects/ids"][()]]
        for subject in (s.decode() for s in h5["subjects/heldout"][()]):
            i = ids.index(subject)
            for name in ("sc", "tract_length", "fc"):
                h5[f"subjects/{name}"][i] = np.nan
            h5[f"subjects/bold/{subject}"][...] = np.nan
        for name in ("sc", "tract_length", "fc", "fc_heldout"):
            h5[f"group/{name}"][...] = np.nan
    circuit = build_hcp_cortex_circuit(default_data_path(), circuit_dir=tmp_path, n_exc=8, n_inh=2)
    circuit = circuit.with_parameter_values({"p_long_range": 1.0})
    calls = []
    real = hcp.load_connectome

    def spy(path=None, **kwargs):
        calls.append(kwargs)
        return real(path, **kwargs)

    monkeypatch.setattr(hcp, "load_connectome", spy)
    short_fcd = FCDSettings(window_s=5.0, step_s=2.16, band_hz=(0.05, 0.5))
    options = {
        "duration_s": 20.0,
        "discard_s": 2.0,
        "base_dir": tmp_path,
        "observables": ("rate", "synaptic"),
        "fcd_settings": short_fcd,
    }
    sets = [{"coupling": 1.0}, {"coupling": 3.0}]
    clean = screen_cortex(circuit, sets, [1_000_001], **options)
    blind = screen_cortex(circuit, sets, [1_000_001], data=poisoned, **options)
    assert calls == [{"calibration_only": True}] * 2
    assert [(r.values, r.observable) for r in clean] == [(v, o) for v in sets for o in ("rate", "synaptic")]
    assert all(np.isfinite([r.bold_fc_r, r.rate_fc_r, r.fcd_ks]).all() for r in blind)
    assert [r.as_dict() for r in blind] == [r.as_dict() for r in clean]
    with pytest.raises(SeedRangeError, match="calibration seeds"):
        screen_cortex(circuit, sets, [100_000], **options)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The cortex with 40 + 10 neurons per region (4,000 in all), denser so each region is a balanced network."""
    folder = tmp_path_factory.mktemp("small_cortex")
    circuit = build_hcp_cortex_circuit(default_data_path(), circuit_dir=folder, n_exc=40, n_inh=10)
    return circuit.with_parameter_values({"p_long_range": 0.5, "p_local": 0.4}), folder


@pytest.mark.parametrize("seed", [100_000, 200_000, 0])
def test_fic_draws_only_calibration_seeds(small, seed):
    """FIC sets weights that ship in a new version, so a report, selection or unranged seed is refused."""
    circuit, folder = small
    with pytest.raises(SeedRangeError, match="cannot be used to calibrate"):
        feedback_inhibition_control(circuit, seeds=[seed], base_dir=folder)


@pytest.mark.slow
def test_fic_brings_every_region_to_the_target(small, monkeypatch):
    circuit, folder = small
    monkeypatch.setattr(hcp, "load_connectome", lambda *a, **k: pytest.fail("FIC must not read any FC"))
    steps = []
    result = feedback_inhibition_control(
        circuit,
        target_hz=5.0,
        duration_s=3.0,
        settle_s=0.5,
        seeds=[1_000_003],
        base_dir=folder,
        max_iterations=10,
        tolerance=0.25,
        progress=steps.append,
    )
    first, last = steps[0], steps[-1]
    assert first.worst_relative_error > 0.25  # the uniform inhibition leaves regions off target
    assert result.converged and last.worst_relative_error <= 0.25
    factors = inhibitory_factors(result.circuit, [n[:-2] for n in circuit.populations if n.endswith(".E")])
    assert np.array_equal(factors, np.round(last.factors, 6))
    assert np.corrcoef(first.rates_hz, np.log(factors))[0, 1] > 0.8  # more inhibition where the rate was high
    entry = result.circuit.history[-1]
    assert (
        entry.action == "feedback inhibition control"
        and entry.details["converged"]
        and result.circuit.version == "0.2.0"
    )
    again = feedback_inhibition_control(
        circuit,
        target_hz=5.0,
        duration_s=3.0,
        settle_s=0.5,
        seeds=[1_000_003],
        base_dir=folder,
        max_iterations=10,
        tolerance=0.25,
    )
    assert again.circuit.projections == result.circuit.projections  # deterministic


@pytest.mark.slow
def test_fc_report_scores_heldout_subjects_with_calibration_chosen_baselines(small):
    """What is checked is where the report's target and baselines come from and how the lanes' r are
    summarised, none of which depends on the run's length: 20 s (15 s of BOLD) is enough."""
    from encephagen.compiler import compile_circuit
    from encephagen.fc import run_cortex

    circuit, folder = small
    network = compile_circuit(circuit, dt=0.5, base_dir=folder)
    result = run_cortex(network, 20_000.0, seeds=[100_000, 100_001])
    full = load_connectome()
    report = fc_report(result, full, network=network, discard_s=5.0)
    assert report.target.startswith("held-out") and len(report.lane_r) == 2
    assert report.r == pytest.approx(np.mean(report.lane_r)) and report.r_sd >= 0
    assert all("calibration subjects" in b.detail for b in report.baselines if "SAR" in b.name)
    assert report.fcd is None  # 15 s of BOLD: shorter than two 60-s windows
