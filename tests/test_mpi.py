"""NEST under MPI from our SONATA export: `mpirun -np 2` runs the recipe of the README's scale-out section.

The circuit is cortex-shaped: four regions of ``hcp_cortex`` (precentral and postcentral
gyri, both hemispheres), each an E/I Brunel network, coupled by the two matrix projections
(long-range E->E and E->I) with the SC, weights and tract lengths of those regions. Its
Poisson drive is raised from 1700 to 2000 Hz so that every population fires enough for a
10 % comparison (chosen on selection seeds 200001-200004: population rates then vary by
0.2-1.4 % between seeds over 4 s). A third case replaces the Poisson input by a tonic drive
plus current noise (sd 1 mV; population rates 0-0.5 % apart between selection seeds
200031-200033 over 2 s).

Runs with a NEST built with MPI and HDF5 (``MPI=ON bench/build_nest_hdf5.sh PREFIX``, as
.ci/run does) and ``PREFIX/bin/python -m pytest tests/test_mpi.py``; anywhere else it skips
and says so.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from encephagen import load_circuit
from encephagen.compiler import compile_circuit
from encephagen.hcp import default_data_path, load_connectome
from encephagen.interop.sonata import NestRun, export_sonata
from encephagen.schema import Circuit
from encephagen.simulation import simulate

REGIONS = ["Precentral_L", "Precentral_R", "Postcentral_L", "Postcentral_R"]
SEED = 100021  # a report seed: nothing was chosen by looking at runs with it


def small_cortex(regions: list[str] = REGIONS, **values: float) -> Circuit:
    """``hcp_cortex`` cut down to ``regions``: its populations, local projections and matrix projections."""
    full = load_circuit("hcp_cortex")
    connectome = load_connectome()
    index = [connectome.regions.index(r) for r in regions]
    with h5py.File(default_data_path("hcp")) as h5:
        arrays = {k: h5[f"/group/{k}"][()][np.ix_(index, index)].tolist() for k in ("sc", "connected", "tract_length")}
    tree = full.model_dump(mode="json", by_alias=True, exclude_unset=True)
    tree.pop("$schema", None)
    kept = {name for name, pop in full.populations.items() if pop.region in regions}
    tree.update(
        name="small_cortex",
        populations={k: v for k, v in tree["populations"].items() if k in kept},
        projections={k: v for k, v in tree["projections"].items() if v["source"] in kept and v["target"] in kept},
    )
    for matrix in tree["matrix_projections"].values():
        matrix["sources"] = [s for s in matrix["sources"] if s in kept]
        matrix["targets"] = [t for t in matrix["targets"] if t in kept]
        matrix["probability"]["array"] = arrays["sc"]
        matrix["weight"]["array"] = arrays["connected"]
        matrix["delay"]["array"] = arrays["tract_length"]
    return Circuit.model_validate(tree).with_parameter_values(values)


def deterministic(circuit: Circuit, drive: float = 22.0) -> Circuit:
    """The same circuit with its Poisson input replaced by a tonic drive: no randomness after the initial potentials."""
    populations = {
        k: p.model_copy(update={"poisson_input": None, "drive": drive}) for k, p in circuit.populations.items()
    }
    return circuit.model_copy(update={"populations": populations})


def noisy(circuit: Circuit, sigma: float = 1.0) -> Circuit:
    """The same circuit with current noise on every neuron (sd of the free membrane potential, mV)."""
    models = {k: m.model_copy(update={"noise_sigma": sigma}) for k, m in circuit.neuron_models.items()}
    return circuit.model_copy(update={"neuron_models": models})


@functools.cache
def _mpi_nest() -> str | None:
    """Why this interpreter cannot run the test, or None when it can (asked in a child: NEST's kernel is global)."""
    if shutil.which("mpirun") is None:
        return "no mpirun on PATH (Debian: apt-get install openmpi-bin libopenmpi-dev)"
    code = "import nest, mpi4py; b = nest.build_info; print(b['have_mpi'], b['have_hdf5'])"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if child.returncode != 0 or child.stdout.split()[-2:] != ["True", "True"]:
        return (
            f"{sys.executable} has no NEST built with MPI and HDF5 (and mpi4py); build one with "
            "MPI=ON bench/build_nest_hdf5.sh /opt/encephagen-nest-mpi and run "
            "/opt/encephagen-nest-mpi/bin/python -m pytest tests/test_mpi.py"
        )
    return None


def mpirun(ranks: int, directory, out, *options: str) -> tuple[NestRun, list[str]]:
    """The README's recipe: mpirun -np N PREFIX/bin/python -m encephagen.interop.nest_mpi DIR."""
    version = subprocess.run(["mpirun", "--version"], capture_output=True, text=True, check=False).stdout
    as_root = ["--allow-run-as-root", "--oversubscribe"] if "Open MPI" in version or "OpenRTE" in version else []
    command = [
        "mpirun",
        "-np",
        str(ranks),
        *as_root,
        sys.executable,
        "-m",
        "encephagen.interop.nest_mpi",
        str(directory),
        "--seed",
        str(SEED),
        "--out",
        str(out),
        *options,
    ]
    child = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        env={"OMPI_MCA_btl_vader_single_copy_mechanism": "none", **os.environ},
    )
    assert child.returncode == 0, f"{' '.join(command)} failed:\n{child.stdout[-2000:]}\n{child.stderr[-3000:]}"
    return NestRun.load(out), child.stdout.splitlines()


@pytest.mark.slow
@pytest.mark.peers
def test_two_mpi_ranks_run_the_export_like_encephagen(tmp_path, capsys):
    """Key check of the scale-out path: two ranks share the neurons and edges, re-create the
    Poisson input and the noise on each rank, gather every spike, and give population rates within 10 % of
    ours; the deterministic variant gives identical spikes (NEST stamps them one step later)."""
    reason = _mpi_nest()
    if reason is not None:
        pytest.skip(reason)
    # Poisson input + current noise is not among the cases: encephagen's kernel overdrives that
    # combination (see notes/mpi.md), which NEST does not
    cases = {
        "Poisson-driven": (small_cortex(drive_rate=2000.0), 2000.0),
        "noise-driven": (noisy(deterministic(small_cortex())), 2000.0),
        "deterministic": (deterministic(small_cortex()), 500.0),
    }
    for case, (circuit, duration) in cases.items():
        exact = case == "deterministic"
        network = compile_circuit(circuit)
        export = export_sonata(network, tmp_path / case, duration_ms=duration, seed=SEED)
        run, lines = mpirun(2, export.directory, tmp_path / f"{case}.npz")
        with capsys.disabled():
            print(
                f"\n[test_mpi] {case} small_cortex, {network.n_neurons} neurons, "
                f"{network.n_synapses} synapses, {duration:g} ms:\n  " + "\n  ".join(lines)
            )
        assert [line.split(":")[0] for line in lines[:2]] == ["rank 0/2", "rank 1/2"]
        assert [r.rank for r in run.ranks] == [0, 1] and {r.processes for r in run.ranks} == {2}
        # each rank owns a share of the neurons and exactly the edges onto them
        assert all(r.local_neurons > 0 for r in run.ranks)
        assert sum(r.local_neurons for r in run.ranks) == network.n_neurons
        assert sum(r.local_connections for r in run.ranks) == network.n_synapses
        assert min(r.local_connections for r in run.ranks) > 0.4 * network.n_synapses
        # the gather brought every rank's spikes, and both ranks spiked
        assert all(r.local_spikes > 0 for r in run.ranks)
        assert run.spike_times_ms.size == sum(r.local_spikes for r in run.ranks)
        assert run.population_names == network.population_names
        ours = simulate(network, duration, seeds=SEED).lane(0)
        counts = ours.population_counts.sum(axis=1)[0]
        # every rank made its own generators, one per population, for its own neurons
        poisson, noise = (len(network.population_names) if case == c else 0 for c in ("Poisson-driven", "noise-driven"))
        assert [(r.poisson_generators, r.noise_generators) for r in run.ranks] == [(poisson, noise)] * 2
        if exact:
            assert counts.min() > 100, "too few spikes for a meaningful comparison"
            np.testing.assert_array_equal(run.population_counts(), counts)
            order = np.lexsort((ours.spike_times_ms[0], ours.spike_neurons[0]))
            nest_order = np.lexsort((run.spike_times_ms, run.spike_neurons))
            np.testing.assert_array_equal(run.spike_neurons[nest_order], ours.spike_neurons[0][order])
            np.testing.assert_allclose(
                run.spike_times_ms[nest_order], ours.spike_times_ms[0][order] + network.dt, atol=1e-9
            )
        else:
            assert counts.min() > 500, "too few spikes for a meaningful comparison"
            np.testing.assert_allclose(run.population_rates_hz(), ours.population_rates_hz()[0], rtol=0.10)


def test_the_small_cortex_has_matrix_projections_over_its_regions():
    circuit = small_cortex()
    assert set(circuit.matrix_projections) == {"long_range.E->E", "long_range.E->I"}
    network = compile_circuit(circuit)
    assert network.n_neurons == len(REGIONS) * 200
    lr = np.concatenate([network.projection_synapses[k] for k in circuit.matrix_projections])
    assert lr.size > 1000, "the long-range coupling must be there"
    assert deterministic(circuit).populations["Precentral_L.E"].poisson_input is None
