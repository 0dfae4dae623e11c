"""Runs in the field's formats: NWB (Neurodata Without Borders) files and SONATA spike reports.

Our own HDF5 layout (:meth:`encephagen.results.SimulationResult.save`) round-trips a run
exactly; these writers hand a run to other tools. :func:`write_nwb` puts every neuron's spike
times in the NWB ``Units`` table, with the population, cell class, transmitter and side of
each unit as columns, the population counts as a ``TimeSeries`` and the circuit's name,
version and SHA-256, the seed and dt in the file's metadata (``notes`` as JSON, and in
``session_description``/``data_collection`` as text); NWB speaks seconds, so times are
``step * (dt / 1000)``. :func:`write_sonata_spikes` writes a SONATA spike report whose node ids
are the neuron indices, the ids of ``encephagen export --format sonata``'s node population,
so a report and an export go together.
"""

from __future__ import annotations

import datetime
import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from .atomic_files import atomic_output
from .errors import MissingDependencyError, SimulationError

SONATA_SORTING = {"none": 0, "by_id": 1, "by_time": 2}
"""The SONATA spike report's ``sorting`` enumeration (an HDF5 enum, as libsonata reads it)."""


def _lane(result, lane: int):
    if result.spike_steps is None:
        raise SimulationError(
            "spikes were not recorded in this run (record_spikes=False); NWB and SONATA reports need them"
        )
    return result.lane(lane)


def run_metadata(result, circuit=None) -> dict[str, Any]:
    """What identifies a run: circuit name, version and SHA-256, seed, dt, duration, software."""
    p = result.provenance
    return {
        "circuit": p.get("circuit", circuit.name if circuit is not None else None),
        "circuit_version": p.get("circuit_version", circuit.version if circuit is not None else None),
        "circuit_sha256": p.get("circuit_sha256"),
        "circuit_file": p.get("circuit_file"),
        "seed": int(result.seeds[0]),
        "dt_ms": result.dt,
        "duration_ms": result.duration_ms,
        "parameters": result.parameters[0] if result.parameters else {},
        "encephagen": p.get("encephagen"),
        "created": p.get("created"),
    }


def write_nwb(result, path: str | os.PathLike, *, circuit=None, lane: int = 0, overwrite: bool = False) -> Path:
    """Write one lane of a run to an NWB 2 file (atomically).

    Parameters
    ----------
    result
        A :class:`~encephagen.results.SimulationResult` recorded with spikes.
    path
        The ``.nwb`` file to write.
    circuit
        The circuit that ran (for the cell class, transmitter and side columns); default the
        columns are left at ``"unknown"``.
    lane
        Which lane of a batched run.
    overwrite
        Replace ``path`` if it exists.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from encephagen import load_circuit, compile_circuit
    >>> from encephagen.simulation import simulate
    >>> circuit = load_circuit("half_centre")
    >>> run = simulate(compile_circuit(circuit), 200.0, seeds=100_017)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = write_nwb(run, pathlib.Path(folder) / "run.nwb", circuit=circuit)
    ...     from pynwb import NWBHDF5IO
    ...     with NWBHDF5IO(str(out), "r") as io:
    ...         units = io.read().units
    ...         len(units), units["population"][0]
    (16, 'flex_rg')
    """
    try:
        from hdmf.common import (  # pynwb's own dependency
            ElementIdentifiers,
            VectorData,
            VectorIndex,
        )
        from pynwb import NWBHDF5IO, NWBFile, ProcessingModule, TimeSeries
        from pynwb.file import Subject
        from pynwb.misc import Units
    except ImportError:
        raise MissingDependencyError("pynwb", "writing NWB files", extra="nwb") from None
    path = Path(path)
    if path.exists() and not overwrite:
        raise SimulationError(f"{path}: already exists; choose another name or pass overwrite=True")
    run = _lane(result, lane)
    meta = run_metadata(run, circuit)
    created = meta["created"] or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    start = datetime.datetime.fromisoformat(created)
    if start.tzinfo is None:
        start = start.replace(tzinfo=datetime.timezone.utc)
    identity = f"{meta['circuit']}|{meta['circuit_version']}|{meta['circuit_sha256']}|{meta['seed']}|{meta['dt_ms']}|{meta['duration_ms']}|{json.dumps(meta['parameters'], sort_keys=True)}"
    nwbfile = NWBFile(
        session_description=(
            f"Simulation of the spiking circuit {meta['circuit']} {meta['circuit_version']} "
            f"(SHA-256 {meta['circuit_sha256']}) by encephagen {meta['encephagen']}: seed {meta['seed']}, "
            f"dt {meta['dt_ms']} ms, {meta['duration_ms']} ms."
        ),
        identifier=str(uuid.uuid5(uuid.NAMESPACE_URL, "encephagen:" + identity)),
        session_start_time=start,
        experiment_description=circuit.description
        if circuit is not None and circuit.description
        else "encephagen simulation",
        data_collection=f"Leaky integrate-and-fire network simulated by encephagen at dt = {meta['dt_ms']} ms with seed {meta['seed']}.",
        notes=json.dumps(meta, sort_keys=True),
        source_script="encephagen simulate",
        source_script_file_name="encephagen",
        keywords=["encephagen", "simulation", "spiking neural network", str(meta["circuit"])],
        # a model, not an animal: NWB (and DANDI's checks) want a subject all the same, so say so plainly;
        # sex unknown ("U") and age zero (the simulated subject exists from the start of the run)
        subject=Subject(
            subject_id=f"{meta['circuit']} {meta['circuit_version']}",
            sex="U",
            age="P0D",
            description="A simulated spiking circuit (a model, not an animal); see session_description.",
        ),
    )
    names = list(run.population_names)
    sizes = np.asarray(run.population_sizes, dtype=int)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    n = int(starts[-1])
    steps, neurons = np.asarray(run.spike_steps[0]), np.asarray(run.spike_neurons[0])
    order = np.lexsort((steps, neurons))  # by neuron, then time
    steps, neurons = steps[order], neurons[order]
    bounds = np.searchsorted(neurons, np.arange(n + 1))
    pop_of = np.repeat(np.arange(len(names)), sizes)

    def per_population(getter) -> list[str]:
        values = [
            str(getter(name)) if circuit is not None and name in circuit.populations else "unknown" for name in names
        ]
        return [values[p] for p in pop_of]

    classes = per_population(lambda name: circuit.populations[name].cell_class)
    transmitters = per_population(lambda name: circuit.cell_classes[circuit.populations[name].cell_class].transmitter)
    sides = per_population(lambda name: circuit.populations[name].side or "none")
    times_s = steps * (run.dt / 1000.0)
    described = [
        ("population", "Population of the circuit the neuron belongs to.", [names[p] for p in pop_of]),
        ("neuron_index", "Index of the neuron within its population (0-based).", np.arange(n) - starts[pop_of]),
        ("global_index", "Index of the neuron in the compiled network (the SONATA node id).", np.arange(n)),
        ("cell_class", "Cell class of the population (the circuit's cell_classes).", classes),
        ("transmitter", "Fast transmitter of the cell class.", transmitters),
        ("side", "Side of the population: left, right, midline or none.", sides),
    ]
    spike_times = VectorData(name="spike_times", description="Spike times of each unit (s).", data=times_s)
    columns = [spike_times, VectorIndex(name="spike_times_index", data=bounds[1:], target=spike_times)]
    columns += [VectorData(name=name, description=text, data=values) for name, text, values in described]
    # built column by column: add_unit() row by row takes ~1 ms a unit (15 s for the cortex's 16,000)
    units = Units(
        name="units",
        description="Simulated neurons of the circuit, one unit each; spike times in seconds from the start of the run.",
        id=ElementIdentifiers(name="id", data=np.arange(n)),
        columns=columns,
        resolution=run.dt / 1000.0,
    )
    nwbfile.units = units
    module = ProcessingModule(name="misc", description="Population activity of the simulated circuit.")
    nwbfile.add_processing_module(module)
    module.add(
        TimeSeries(
            name="population_counts",
            data=np.asarray(run.population_counts[0], dtype=np.int32),
            unit="spikes",
            rate=1000.0 / run.bin_ms,
            starting_time=0.0,
            description="Spikes per bin and population; columns in the order of 'comments'.",
            comments=json.dumps({"populations": names, "sizes": sizes.tolist(), "bin_ms": run.bin_ms}),
        )
    )
    with atomic_output(path) as tmp, NWBHDF5IO(str(tmp), "w") as io:
        io.write(nwbfile)
    return path


def write_sonata_spikes(
    result, path: str | os.PathLike, *, population: str | None = None, lane: int = 0, overwrite: bool = False
) -> Path:
    """Write one lane's spikes as a SONATA spike report (``/spikes/<population>/{timestamps,node_ids}``, ms, by time).

    ``population`` is the node population's name; default the circuit's name as
    ``encephagen export --format sonata`` spells it, so the report's node ids (the neuron
    indices) point into that export's nodes.
    """
    import h5py

    from .interop.sonata import _sonata_name

    path = Path(path)
    if path.exists() and not overwrite:
        raise SimulationError(f"{path}: already exists; choose another name or pass overwrite=True")
    run = _lane(result, lane)
    population = population or _sonata_name(str(run.provenance.get("circuit") or "encephagen"))
    steps, neurons = np.asarray(run.spike_steps[0]), np.asarray(run.spike_neurons[0])
    order = np.lexsort((neurons, steps))  # by time, ties by node id
    with atomic_output(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["magic"] = np.uint32(0x0A7A)
        h5.attrs["version"] = np.array([0, 1], dtype=np.uint32)
        group = h5.create_group(f"spikes/{population}")
        group.attrs.create(
            "sorting", SONATA_SORTING["by_time"], dtype=h5py.enum_dtype(SONATA_SORTING, basetype=np.uint8)
        )
        stamps = group.create_dataset("timestamps", data=steps[order] * run.dt, dtype=np.float64)
        stamps.attrs["units"] = "ms"
        group.create_dataset("node_ids", data=neurons[order].astype(np.uint64))
    return path
