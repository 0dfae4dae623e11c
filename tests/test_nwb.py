"""Runs in the field's formats: NWB files (checked by pynwb and nwbinspector) and SONATA spike reports (read by libsonata)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from encephagen.cli.main import cli
from encephagen.compiler import compile_circuit
from encephagen.errors import SimulationError
from encephagen.nwb import write_nwb, write_sonata_spikes
from encephagen.simulation import simulate
from encephagen.storage import load_circuit

pynwb = pytest.importorskip("pynwb", reason="NWB output needs pynwb: pip install -e '.[dev]'")
SEED = 100_018


@pytest.fixture(scope="module")
def spinal_run():
    circuit = load_circuit("spinal_cpg")
    return circuit, simulate(compile_circuit(circuit), 400.0, seeds=SEED)


def test_nwb_units_hold_every_spike_with_population_and_cell_class(tmp_path, spinal_run):
    circuit, run = spinal_run
    path = write_nwb(run, tmp_path / "run.nwb", circuit=circuit)
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        units = nwb.units.to_dataframe()
        meta = json.loads(nwb.notes)
        assert len(units) == sum(int(circuit.resolve(p.size)) for p in circuit.populations.values())
        steps, neurons = run.spike_steps[0], run.spike_neurons[0]
        for i in (0, 37, len(units) - 1):
            expected = np.sort(steps[neurons == i]) * (run.dt / 1000.0)  # the writer's exact formula
            assert np.array_equal(units["spike_times"].iloc[i], expected)
        first = units.iloc[0]
        assert (first["population"], first["cell_class"], first["neuron_index"]) == ("L_RG_F", "Shox2", 0)
        assert units[units["population"] == "L_V1"]["cell_class"].unique().tolist() == [
            circuit.populations["L_V1"].cell_class
        ]
        assert meta["circuit"] == "spinal_cpg" and meta["circuit_version"] == circuit.version
        assert meta["circuit_sha256"] == run.provenance["circuit_sha256"] and len(meta["circuit_sha256"]) == 64
        assert (meta["seed"], meta["dt_ms"]) == (SEED, run.dt)
        assert circuit.version in nwb.session_description and str(SEED) in nwb.session_description
        counts = nwb.processing["misc"]["population_counts"].data[:]
        assert np.array_equal(counts, run.population_counts[0])


def test_nwbinspector_finds_no_critical_issue(tmp_path, spinal_run):
    inspector = pytest.importorskip("nwbinspector", reason="pip install nwbinspector (the dev extra)")
    circuit, run = spinal_run
    path = write_nwb(run, tmp_path / "run.nwb", circuit=circuit)
    messages = list(inspector.inspect_nwbfile(nwbfile_path=str(path)))
    critical = [m for m in messages if m.importance.name in ("CRITICAL", "PYNWB_VALIDATION", "ERROR")]
    assert critical == [], [m.message for m in critical]
    # what it still suggests, so that a new warning is seen: no species for a model, no experimenter, no institution
    assert {m.check_function_name for m in messages} <= {
        "check_subject_species_exists",
        "check_experimenter_exists",
        "check_institution",
    }


def test_the_same_run_gives_the_same_nwb_identifier(tmp_path, spinal_run):
    circuit, run = spinal_run
    ids = []
    for name in ("a.nwb", "b.nwb"):
        with pynwb.NWBHDF5IO(str(write_nwb(run, tmp_path / name, circuit=circuit)), "r") as io:
            ids.append(io.read().identifier)
    assert ids[0] == ids[1]
    with pytest.raises(SimulationError, match="overwrite=True"):
        write_nwb(run, tmp_path / "a.nwb", circuit=circuit)


def test_sonata_spike_report_opens_in_libsonata(tmp_path, spinal_run):
    libsonata = pytest.importorskip("libsonata", reason="libsonata is a test extra: pip install -e '.[dev]'")
    _, run = spinal_run
    path = write_sonata_spikes(run, tmp_path / "spikes.h5")
    reader = libsonata.SpikeReader(str(path))
    assert reader.get_population_names() == ["spinal_cpg"]
    population = reader["spinal_cpg"]
    assert population.sorting == "by_time"
    spikes = population.get()
    ids, times = np.array([s[0] for s in spikes]), np.array([s[1] for s in spikes])
    order = np.lexsort((run.spike_neurons[0], run.spike_steps[0]))
    assert np.array_equal(ids, run.spike_neurons[0][order])
    assert np.allclose(times, run.spike_steps[0][order] * run.dt)
    assert np.all(np.diff(times) >= 0)


def test_cli_writes_nwb_by_suffix_and_sonata_by_format(tmp_path):
    for out, extra in (("run.nwb", []), ("spikes.h5", ["--format", "sonata"])):
        result = CliRunner().invoke(
            cli,
            [
                "simulate",
                "half_centre",
                "--duration-ms",
                "200",
                "--seed",
                str(SEED),
                "--json",
                "--out",
                str(tmp_path / out),
                *extra,
            ],
        )
        assert result.exit_code == 0, result.output
    with pynwb.NWBHDF5IO(str(tmp_path / "run.nwb"), "r") as io:
        assert set(io.read().units.to_dataframe()["population"]) == set(load_circuit("half_centre").populations)
    import h5py

    with h5py.File(tmp_path / "spikes.h5") as h5:
        assert h5["spikes/half_centre/timestamps"].attrs["units"] == "ms"
