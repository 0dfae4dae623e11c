"""SONATA export and import: the way out to NEST (and clusters) and back.

Export writes a compiled network as a SONATA directory that ``libsonata`` reads and NEST 3
builds with ``nest.SonataNetwork``::

    OUTDIR/
      circuit_config.json            networks + components (SONATA circuit config)
      simulation_config.json         run (tstop, dt, seed), output (read by libsonata)
      simulation_config_nest.json    the same with target_simulator NEST, which NEST requires and
                                     libsonata refuses (it knows only NEURON and CORENEURON)
      network/nodes.h5               one node population named after the circuit
      network/node_types.csv         one node type per population (space separated)
      network/edges.h5               one edge population <circuit>__<circuit>, sorted by target
      network/edge_types.csv         one edge type per projection / matrix projection
      components/point_neuron_models/<population>.json   NEST parameters of each node type

The neuron maps exactly onto NEST's ``aeif_psc_exp`` with ``a = 0`` and ``Delta_T = 0``:
with ``g_L = 1 nS`` and ``C_m = tau_m pF`` the membrane equation
``C_m dV/dt = -g_L (V - E_L) + I_syn + I_e - w`` becomes ours,
``tau_m dv/dt = -(v - v_rest) + I_syn + drive - w``, with currents in pA equal to our
currents in mV. So ``weight`` (mV) -> ``syn_weight`` (pA), ``drive`` -> ``I_e``,
``adaptation`` -> ``b``, ``tau_adaptation`` -> ``tau_w``, ``v_rest`` -> ``E_L``.

What plain SONATA cannot hold is kept in extra columns and an ``encephagen`` section that
other readers ignore: Poisson input (rate, weight), current noise, a uniform initial
potential, readouts and the circuit's identity. :func:`run_nest` restores all of them on
the NEST side; ``nest.SonataNetwork`` alone builds the deterministic part (neurons, tonic
drive, fixed initial potential, synapses with their weights and delays).

Delays are translated, not copied: NEST stamps a spike at the end of the step that produced
it and delivers it ``delay`` after that stamp, we stamp it at the start of the step (as Brian2
does), so a synapse acts one step later in NEST for the same number. The ``delay`` column
therefore holds ``(steps - 1) * dt``, which makes NEST act on exactly the step we do. A
one-step delay has no NEST equivalent (NEST's minimum delay is one step): it is written as
``dt`` and acts one step late in NEST; the export counts such synapses in its metadata. The
exact delays travel in the extra edge column ``encephagen_delay_steps`` for the way back.
This is the delay convention of :mod:`encephagen.simulation` (a spike acts one step earlier
than a nominal NEST delay); the refractory period needs no translation because NEST, like
us, counts its refractory steps after the spike step.
``tests/test_sonata.py::test_nest_runs_the_export_like_encephagen`` checks both: the same
spikes, neuron for neuron, each stamped one step later by NEST.

Import (:func:`import_sonata`) reads such a directory (ours or another tool's, as long as its
neurons are ``aeif_psc_exp`` or ``iaf_psc_exp``) back into a :class:`~encephagen.schema.Circuit`
with one edge-list projection per (edge type, source population, target population, delay,
sign). A circuit exported and imported again compiles to the same weights, delays and
neuron vectors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CircuitFileError, EncephagenError, MissingDependencyError

log = logging.getLogger(__name__)

NEST_MODEL = "aeif_psc_exp"
NODE_TYPES_FILE = "network/node_types.csv"
EDGE_TYPES_FILE = "network/edge_types.csv"
NODES_FILE = "network/nodes.h5"
EDGES_FILE = "network/edges.h5"
MODELS_DIR = "components/point_neuron_models"
NEST_SIMULATION_CONFIG = "simulation_config_nest.json"
"""The simulation config for ``nest.SonataNetwork``: the standard one plus ``target_simulator: NEST``."""
CHUNK_SYNAPSES = 1 << 22
"""Synapses written per HDF5 slab: bounds the export's extra memory to ~150 MB whatever the size."""
EXTRA_COLUMNS = ("noise_sigma", "poisson_rate", "poisson_weight", "initial_v_low", "initial_v_high")
"""Node-type columns that carry what SONATA point neurons cannot (read back by import and run_nest)."""


class SonataError(EncephagenError, ValueError):
    """A SONATA directory that cannot be read as a circuit, or a network that cannot be written."""


@dataclass(frozen=True)
class SonataExport:
    """What :func:`export_sonata` wrote."""

    directory: Path
    circuit_config: Path
    simulation_config: Path
    n_nodes: int
    n_edges: int
    node_types: int
    edge_types: int
    bytes_written: int
    seconds: float


# --------------------------------------------------------------------------- export


def export_sonata(
    network,
    outdir: str | os.PathLike,
    *,
    duration_ms: float = 1000.0,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = False,
) -> SonataExport:
    """Write a compiled network (or a circuit, compiled first) as a SONATA directory.

    Parameters
    ----------
    network
        A :class:`~encephagen.compiler.CompiledNetwork`, or a :class:`~encephagen.schema.Circuit`
        (compiled with the default dt).
    outdir
        Directory to create. It is written in a temporary sibling and renamed into place, so
        a failed export leaves nothing half-written.
    duration_ms, seed
        ``run.tstop`` and ``run.random_seed`` of the simulation config.
    overwrite
        Replace ``outdir`` if it exists (otherwise an existing ``outdir`` is an error).
    progress
        A callback ``progress(done_slabs, total_slabs)`` while writing synapses, or True for a
        ``tqdm.auto`` bar (:mod:`encephagen.progress`).

    Returns
    -------
    SonataExport
        Paths, counts, bytes and seconds.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from encephagen import load_circuit
    >>> from encephagen.compiler import compile_circuit
    >>> network = compile_circuit(load_circuit("half_centre"))
    >>> out = export_sonata(network, pathlib.Path(tempfile.mkdtemp()) / "hc")
    >>> (out.n_nodes, out.n_edges) == (network.n_neurons, network.n_synapses)
    True
    >>> out.node_types == len(network.population_names)
    True
    """
    from ..compiler import compile_circuit

    started = time.perf_counter()
    if not hasattr(network, "weights"):  # a Circuit: compile it
        network = compile_circuit(network)
    from ..atomic_files import atomic_directory

    outdir = Path(outdir)
    if outdir.exists() and not overwrite:
        raise CircuitFileError(f"{outdir}: already exists; choose another directory or pass overwrite=True")
    if not outdir.parent.exists():
        raise CircuitFileError(f"{outdir}: folder {outdir.parent} does not exist")
    with atomic_directory(outdir, overwrite=overwrite) as staging:  # old or new, whole, whenever it dies
        counts = _write_directory(network, staging, duration_ms=duration_ms, seed=seed, progress=progress)
        written = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
    log.info("wrote SONATA %s: %d nodes, %d edges, %.1f MB", outdir, counts[0], counts[1], written / 1e6)
    return SonataExport(
        outdir,
        outdir / "circuit_config.json",
        outdir / "simulation_config.json",
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        written,
        time.perf_counter() - started,
    )


def _write_directory(
    network, root: Path, *, duration_ms: float, seed: int, progress: bool
) -> tuple[int, int, int, int]:
    circuit = network.circuit
    population = _sonata_name(circuit.name)
    (root / "network").mkdir()
    (root / MODELS_DIR).mkdir(parents=True)
    node_type, types = _node_types(network)
    _write_node_types(root, network, types)
    _write_nodes(root / NODES_FILE, population, node_type)
    edge_names = list(network.projection_synapses)
    _write_edge_types(root / EDGE_TYPES_FILE, edge_names)
    if network.n_synapses:
        _write_edges(root / EDGES_FILE, population, network, edge_names, progress)
    metadata = {
        "circuit": circuit.name,
        "version": circuit.version,
        "description": circuit.description,
        "dt": network.dt,
        "neuron_model": f"nest:{NEST_MODEL} with a = 0, Delta_T = 0, g_L = 1 nS, C_m = tau_m pF: currents in pA equal encephagen's in mV",
        "delay_convention": "delay = (encephagen delay steps - 1) * dt, NEST's stamping convention; exact steps in encephagen_delay_steps",
        "synapses_one_step_late_in_nest": int(np.count_nonzero(network.delays == 1)),
        "nest_min_delay_ms": float(max(int(network.delays.min()) - 1, 1) * network.dt)
        if network.n_synapses
        else float(network.dt),
        "readouts": {name: r.model_dump(mode="json") for name, r in network.readouts.items()},
        "circuit_sha256": hashlib.sha256(circuit.model_dump_json(by_alias=True).encode()).hexdigest(),
    }
    config = {
        "manifest": {"$BASE_DIR": ".", "$NETWORK_DIR": "$BASE_DIR/network", "$COMPONENTS_DIR": "$BASE_DIR/components"},
        "components": {"point_neuron_models_dir": f"$COMPONENTS_DIR/{MODELS_DIR.split('/', 1)[1]}"},
        "networks": {
            "nodes": [
                {
                    "nodes_file": f"$NETWORK_DIR/{Path(NODES_FILE).name}",
                    "node_types_file": f"$NETWORK_DIR/{Path(NODE_TYPES_FILE).name}",
                    "populations": {population: {"type": "point_neuron"}},
                }
            ],
            "edges": [
                {
                    "edges_file": f"$NETWORK_DIR/{Path(EDGES_FILE).name}",
                    "edge_types_file": f"$NETWORK_DIR/{Path(EDGE_TYPES_FILE).name}",
                    "populations": {f"{population}__{population}": {"type": "chemical"}},
                }
            ]
            if network.n_synapses
            else [],
        },
        "encephagen": metadata,
    }
    simulation = {
        "manifest": {"$BASE_DIR": ".", "$OUTPUT_DIR": "$BASE_DIR/output"},
        "network": "$BASE_DIR/circuit_config.json",
        "run": {"tstop": float(duration_ms), "dt": float(network.dt), "random_seed": int(seed)},
        "output": {"output_dir": "$OUTPUT_DIR", "spikes_file": "spikes.h5"},
        "encephagen": {
            "note": "Poisson input, noise and uniform initial potentials are in network/node_types.csv "
            "(columns " + ", ".join(EXTRA_COLUMNS) + "); encephagen.interop.sonata.run_nest applies them"
        },
    }
    # NEST insists on target_simulator 'NEST'; libsonata accepts only 'NEURON' or 'CORENEURON'
    nest_simulation = {**simulation, "target_simulator": "NEST"}
    for name, tree in (
        ("circuit_config.json", config),
        ("simulation_config.json", simulation),
        (NEST_SIMULATION_CONFIG, nest_simulation),
    ):
        (root / name).write_text(json.dumps(tree, indent=2) + "\n", encoding="utf-8")
    return network.n_neurons, network.n_synapses, len(types), len(edge_names)


def _sonata_name(name: str) -> str:
    """SONATA population names become HDF5 group names and CSV cells: keep them plain."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _circuit_name(name: str) -> str:
    """A foreign label made a valid circuit name (schema ``Name``)."""
    name = re.sub(r"[^A-Za-z0-9_.:+\-<>]", "_", name)
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"


def _node_types(network) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Node type of every neuron: one per population, more if its neurons' parameters differ."""
    from ..compiler import NEURON_FIELDS

    table = np.column_stack([network.neuron[f] for f in NEURON_FIELDS])
    node_type = np.empty(network.n_neurons, dtype=np.int64)
    types: list[dict[str, Any]] = []
    for name, sl in network.population_slices.items():
        rows, inverse = np.unique(table[sl], axis=0, return_inverse=True)
        for k, row in enumerate(rows):
            label = name if len(rows) == 1 else f"{name}.{k}"
            types.append({"population": name, "label": label, **{f: float(v) for f, v in zip(NEURON_FIELDS, row)}})
        node_type[sl] = len(types) - len(rows) + np.asarray(inverse).ravel()
    return node_type, types


def nest_parameters(values: dict[str, float]) -> dict[str, float]:
    """NEST ``aeif_psc_exp`` parameters of one node type (the exact mapping of the module docstring)."""
    low, high = values["initial_v_low"], values["initial_v_high"]
    return {
        "C_m": values["tau_m"],
        "g_L": 1.0,
        "E_L": values["v_rest"],
        "V_th": values["v_threshold"],
        "V_peak": values["v_threshold"],
        "V_reset": values["v_reset"],
        "t_ref": values["t_ref"],
        "tau_syn_ex": values["tau_syn_exc"],
        "tau_syn_in": values["tau_syn_inh"],
        "a": 0.0,
        "b": values["adaptation"],
        "tau_w": values["tau_adaptation"],
        "Delta_T": 0.0,
        "I_e": values["drive"],
        "V_m": (low + high) / 2.0,
    }


def _write_node_types(root: Path, network, types: list[dict[str, Any]]) -> None:
    circuit = network.circuit
    header = [
        "node_type_id",
        "model_type",
        "model_template",
        "dynamics_params",
        "pop_name",
        "cell_class",
        "transmitter",
        "sign",
        *EXTRA_COLUMNS,
    ]
    lines = [" ".join(header)]
    for i, t in enumerate(types):
        pop = circuit.populations[t["population"]]
        cell = circuit.cell_classes[pop.cell_class]
        params_file = f"{_sonata_name(t['label'])}_{i}.json"
        (root / MODELS_DIR / params_file).write_text(json.dumps(nest_parameters(t), indent=2) + "\n", encoding="utf-8")
        row = [
            str(i),
            "point_neuron",
            f"nest:{NEST_MODEL}",
            params_file,
            t["label"],
            pop.cell_class,
            cell.transmitter,
            cell.effective_sign,
            *(repr(t[c]) for c in EXTRA_COLUMNS),
        ]
        lines.append(" ".join(row))
    (root / NODE_TYPES_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_nodes(path: Path, population: str, node_type: np.ndarray) -> None:
    import h5py

    n = node_type.size
    with h5py.File(path, "w") as h5:
        group = h5.create_group(f"nodes/{population}")
        group.create_dataset("node_type_id", data=node_type)
        group.create_dataset("node_id", data=np.arange(n, dtype=np.uint64))
        group.create_dataset("node_group_id", data=np.zeros(n, dtype=np.uint32))
        group.create_dataset("node_group_index", data=np.arange(n, dtype=np.uint64))
        group.create_group("0")


def _write_edge_types(path: Path, names: list[str]) -> None:
    lines = ["edge_type_id model_template projection"]
    lines += [f"{i} static_synapse {name}" for i, name in enumerate(names)]  # names hold no spaces (schema)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_edges(path: Path, population: str, network, edge_names: list[str], progress: bool) -> None:
    """Edges in CSR order (sorted by target, then source), streamed slab by slab."""
    import h5py

    from ..progress import reporting

    weights = network.weights
    nnz = weights.nnz
    edge_type = np.empty(nnz, dtype=np.int32)
    for i, name in enumerate(edge_names):
        edge_type[network.projection_synapses[name]] = i
    counts = np.diff(weights.indptr)
    edges = f"edges/{population}__{population}"
    with h5py.File(path, "w") as h5:
        group = h5.create_group(edges)
        source = group.create_dataset("source_node_id", (nnz,), dtype=np.uint64)
        target = group.create_dataset("target_node_id", (nnz,), dtype=np.uint64)
        source.attrs["node_population"] = population
        target.attrs["node_population"] = population
        type_ds = group.create_dataset("edge_type_id", (nnz,), dtype=np.int64)
        group_id = group.create_dataset("edge_group_id", (nnz,), dtype=np.uint32)
        group_index = group.create_dataset("edge_group_index", (nnz,), dtype=np.uint64)
        attributes = group.create_group("0")
        weight = attributes.create_dataset("syn_weight", (nnz,), dtype=np.float64)
        delay = attributes.create_dataset("delay", (nnz,), dtype=np.float64)
        steps = attributes.create_dataset(
            "encephagen_delay_steps", (nnz,), dtype=np.uint16 if network.max_delay < 1 << 16 else np.uint32
        )
        slabs = list(_slabs(nnz, CHUNK_SYNAPSES))
        with reporting(slabs, progress, "writing edges") as bar:
            for start, stop in bar:
                first_row = int(np.searchsorted(weights.indptr, start, side="right")) - 1
                last_row = int(np.searchsorted(weights.indptr, stop, side="left"))
                rows = np.repeat(np.arange(first_row, last_row, dtype=np.uint64), counts[first_row:last_row])
                offset = start - int(weights.indptr[first_row])
                target[start:stop] = rows[offset : offset + stop - start]
                source[start:stop] = weights.indices[start:stop].astype(np.uint64)
                type_ds[start:stop] = edge_type[start:stop]
                group_id[start:stop] = 0
                group_index[start:stop] = np.arange(start, stop, dtype=np.uint64)
                weight[start:stop] = weights.data[start:stop]
                delay[start:stop] = np.maximum(network.delays[start:stop] - 1, 1) * network.dt
                steps[start:stop] = network.delays[start:stop]
    _write_indices(path, f"{population}__{population}", network.n_neurons)


def _slabs(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(n, start + size)


def _write_indices(path: Path, edge_population: str, n_nodes: int) -> None:
    """The optional source/target indices, when libsonata is there to write them."""
    try:
        import libsonata
    except ImportError:
        log.info("libsonata not installed: edges written without the optional indices group")
        return
    libsonata.EdgePopulation.write_indices(str(path), edge_population, n_nodes, n_nodes)


# --------------------------------------------------------------------------- reading a SONATA directory


@dataclass
class _NodeType:
    population: str
    model: str
    params: dict[str, float]
    columns: dict[str, str]


@dataclass
class _Network:
    """A SONATA network read into flat arrays (global node index = order of populations)."""

    node_type_keys: list[tuple[int, int]] = field(default_factory=list)  # (csv file number, node_type_id)
    node_types: dict[tuple[int, int], _NodeType] = field(default_factory=dict)
    node_type: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # per global node: index into keys
    population_offset: dict[str, int] = field(default_factory=dict)
    source: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    target: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    weight: np.ndarray = field(default_factory=lambda: np.empty(0))
    delay: np.ndarray = field(default_factory=lambda: np.empty(0))
    """Delays in encephagen's convention (ms)."""
    nest_delay: np.ndarray = field(default_factory=lambda: np.empty(0))
    """The file's ``delay`` column: NEST's convention for our exports (ms)."""
    edge_type: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    edge_type_names: dict[int, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def read_config(path: Path) -> dict[str, Any]:
    """A SONATA config with its manifest applied: every ``$NAME`` replaced by an absolute path."""
    from ..locations import read_regular_text

    if not path.exists() and path.parent.is_dir():
        raise CircuitFileError(f"{path}: no such file; a SONATA directory holds circuit_config.json")
    try:
        tree = json.loads(read_regular_text(path))
    except json.JSONDecodeError as exc:
        raise SonataError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise SonataError(f"{path}: JSON nested too deeply") from None
    if not isinstance(tree, dict):
        raise SonataError(f"{path}: a SONATA config is a JSON object; got {type(tree).__name__}")
    if not isinstance(tree.get("manifest", {}), dict):
        raise SonataError(
            f'{path}:/manifest: expected an object of "$NAME": path; got {type(tree["manifest"]).__name__}'
        )
    manifest = {k.lstrip("$"): str(v) for k, v in tree.get("manifest", {}).items()}
    resolved: dict[str, str] = {}

    def expand(text: str) -> str:
        for _ in range(10):
            match = re.search(r"\$([A-Za-z_][A-Za-z0-9_]*)", text)
            if match is None:
                return text
            key = match.group(1)
            if key not in manifest:
                raise SonataError(f"{path}:/manifest: unknown variable ${key}; define it in the manifest")
            if key not in resolved:
                value = manifest[key]
                resolved[key] = (
                    str((path.parent / expand(value)).resolve()) if value != "." else str(path.parent.resolve())
                )
            text = text.replace(f"${key}", resolved[key])
        raise SonataError(f"{path}:/manifest: variables refer to each other in a cycle")

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (node[k] if k == "manifest" else walk(node[k])) for k in node}
        if isinstance(node, list):
            return [walk(x) for x in node]
        if isinstance(node, str) and "$" in node:
            return expand(node)
        return node

    return walk(tree)


def _read_csv(path: Path) -> list[dict[str, str]]:
    """A SONATA types table: space separated, one header line."""
    from ..locations import read_regular_text

    if not path.exists() and path.parent.is_dir():
        raise CircuitFileError(f"{path}: no such file (named in the circuit config)")
    lines = [line.split() for line in read_regular_text(path).splitlines() if line.strip()]
    if not lines:
        raise SonataError(f"{path}: empty types table; it needs a header line")
    header = lines[0]
    rows = []
    for number, cells in enumerate(lines[1:], start=2):
        if len(cells) != len(header):
            raise SonataError(
                f"{path}:{number}: {len(cells)} cells for {len(header)} columns; values may not contain spaces"
            )
        rows.append(dict(zip(header, cells)))
    return rows


class _Paths:
    """Resolves the paths a SONATA config names: inside the config's folder (symlinks followed)
    or a root the user allowed, else a :class:`SonataError` naming the config and the key."""

    def __init__(self, config_path: Path, roots: list[Path]):
        self.config_path, self.base, self.roots = config_path, config_path.parent, roots

    def __call__(self, value: object, where: str, *, folder: bool = False) -> Path:
        from ..locations import contained_path

        if not isinstance(value, str) or not value:
            raise SonataError(f"{self.config_path}:{where}: expected a path; got {value!r}")
        path, outside = contained_path(self.base, value, roots=self.roots, sibling_data=False)
        if outside:
            raise SonataError(f"{self.config_path}:{where}: {value!r} {outside}")
        if not folder and path.exists() and not path.is_file():
            raise SonataError(f"{self.config_path}:{where}: {path} is not a regular file")
        return path


def _open_hdf5(path: Path, where: str):
    """An HDF5 file named by the config: a regular file whose datasets decode to a bounded size."""
    import h5py

    from ..hdf5_codec import check_hdf5_expansion
    from ..locations import open_regular

    open_regular(path).close()  # refuses FIFOs and devices without blocking
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise SonataError(f"{path}: cannot open as HDF5 ({exc}); named at {where}") from None
    try:
        check_hdf5_expansion(h5, path)
    except BaseException:
        h5.close()
        raise
    return h5


def read_sonata(
    directory: str | os.PathLike, *, edges: bool = True, allow_roots: tuple[str | os.PathLike, ...] = ()
) -> _Network:
    """Read nodes, node types, NEST parameters and (unless ``edges=False``) edges of a SONATA circuit into arrays.

    Every path the config names must resolve inside the config's folder or one of
    ``allow_roots`` (or the roots in ENCEPHAGEN_DATA_ROOTS); files must be regular files.
    """
    from ..locations import data_roots

    directory = Path(directory)
    config_path = directory / "circuit_config.json" if directory.is_dir() else directory
    config = read_config(config_path)
    try:
        return _read_network(config, config_path, _Paths(config_path, data_roots(allow_roots)), edges)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as exc:
        if isinstance(exc, EncephagenError):
            raise
        raise SonataError(f"{config_path}: malformed SONATA circuit ({type(exc).__name__}: {exc})") from None


def _read_network(config: dict[str, Any], config_path: Path, local: _Paths, edges: bool) -> _Network:
    networks = config.get("networks")
    if not isinstance(networks, dict) or not networks.get("nodes"):
        raise SonataError(f"{config_path}:/networks/nodes: no node files listed")
    models_dir = local(
        config.get("components", {}).get("point_neuron_models_dir", "."),
        "/components/point_neuron_models_dir",
        folder=True,
    )
    net = _Network(metadata=config.get("encephagen", {}))
    types_of_node: list[np.ndarray] = []
    offset = 0
    for f, entry in enumerate(networks["nodes"]):
        rows = _read_csv(local(entry["node_types_file"], f"/networks/nodes/{f}/node_types_file"))
        table = {int(r["node_type_id"]): r for r in rows}
        with _open_hdf5(
            local(entry["nodes_file"], f"/networks/nodes/{f}/nodes_file"), f"/networks/nodes/{f}/nodes_file"
        ) as h5:
            for pop_name, group in h5["nodes"].items():
                ids = np.asarray(group["node_type_id"][()], dtype=np.int64)
                unknown = sorted(set(np.unique(ids).tolist()) - set(table))
                if unknown:
                    raise SonataError(
                        f"{entry['nodes_file']}:/nodes/{pop_name}/node_type_id: types {unknown[:5]} are not in {entry['node_types_file']}"
                    )
                kinds = {table[t].get("model_type", "") for t in np.unique(ids).tolist()}
                if kinds & {"virtual"}:
                    net.skipped.append(f"virtual node population {pop_name!r} ({ids.size} spike-train inputs)")
                    log.warning(
                        "SONATA import: skipped virtual node population %s (spike-train inputs are not circuit structure)",
                        pop_name,
                    )
                    continue
                net.population_offset[pop_name] = offset
                offset += ids.size
                index = np.empty(ids.size, dtype=np.int64)
                for t in np.unique(ids).tolist():
                    key = (f, t)
                    if key not in net.node_types:
                        net.node_types[key] = _node_type(table[t], models_dir, pop_name, [local.base, *local.roots])
                        net.node_type_keys.append(key)
                    index[ids == t] = net.node_type_keys.index(key)
                types_of_node.append(index)
    net.node_type = np.concatenate(types_of_node) if types_of_node else np.empty(0, np.int64)
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("source", "target", "weight", "delay", "nest_delay", "edge_type")
    }
    for f, entry in enumerate(networks.get("edges", []) if edges else []):
        rows = _read_csv(local(entry["edge_types_file"], f"/networks/edges/{f}/edge_types_file"))
        table = {int(r["edge_type_id"]): r for r in rows}
        for type_id, row in table.items():
            net.edge_type_names[f * 1_000_000 + type_id] = row.get("projection", f"edge_type_{type_id}")
        with _open_hdf5(
            local(entry["edges_file"], f"/networks/edges/{f}/edges_file"), f"/networks/edges/{f}/edges_file"
        ) as h5:
            for edge_pop, group in h5["edges"].items():
                source_pop = _attr(group["source_node_id"], "node_population")
                target_pop = _attr(group["target_node_id"], "node_population")
                if source_pop not in net.population_offset or target_pop not in net.population_offset:
                    net.skipped.append(f"edge population {edge_pop!r} ({source_pop} -> {target_pop})")
                    log.warning(
                        "SONATA import: skipped edges %s from or to a population that was not imported", edge_pop
                    )
                    continue
                types = np.asarray(group["edge_type_id"][()], dtype=np.int64)
                parts["source"].append(
                    np.asarray(group["source_node_id"][()], np.int64) + net.population_offset[source_pop]
                )
                parts["target"].append(
                    np.asarray(group["target_node_id"][()], np.int64) + net.population_offset[target_pop]
                )
                parts["edge_type"].append(types + f * 1_000_000)
                where = f"{entry['edges_file']}:/edges/{edge_pop}"
                parts["weight"].append(_edge_values(group, table, types, "syn_weight", where))
                parts["nest_delay"].append(_edge_values(group, table, types, "delay", where))
                if "0" in group and "encephagen_delay_steps" in group["0"] and "dt" in net.metadata:
                    parts["delay"].append(
                        np.asarray(group["0"]["encephagen_delay_steps"][()], np.int64) * float(net.metadata["dt"])
                    )
                else:
                    parts["delay"].append(parts["nest_delay"][-1])
    for name, values in parts.items():
        if values:
            setattr(net, name, np.concatenate(values))
    return net


def _attr(dataset, name: str) -> str:
    value = dataset.attrs.get(name)
    if value is None:
        raise SonataError(f"{dataset.file.filename}:{dataset.name}: missing attribute {name!r}")
    return value.decode() if isinstance(value, bytes) else str(value)


def _edge_values(group, table: dict[int, dict[str, str]], types: np.ndarray, column: str, where: str) -> np.ndarray:
    """Per-edge values from group 0, else from the edge types table."""
    if "0" in group and column in group["0"]:
        return np.asarray(group["0"][column][()], dtype=float)
    values = np.empty(types.size)
    for t in np.unique(types).tolist():
        if column not in table.get(t, {}):
            raise SonataError(
                f"{where}: no {column!r} for edge type {t} (neither per edge in group 0 nor in the edge types table)"
            )
        values[types == t] = float(table[t][column])
    return values


def _node_type(row: dict[str, str], models_dir: Path, sonata_population: str, roots: Sequence[Path] = ()) -> _NodeType:
    model = row.get("model_template", "").replace("nest:", "")
    if model not in ("aeif_psc_exp", "iaf_psc_exp"):
        raise SonataError(
            f"node type {row.get('node_type_id')}: model_template {row.get('model_template')!r} is not supported; "
            "encephagen imports nest:aeif_psc_exp (with a = 0, Delta_T = 0) and nest:iaf_psc_exp"
        )
    from ..locations import contained_path, read_regular_text

    path, outside = contained_path(models_dir, row.get("dynamics_params", ""), roots=roots, sibling_data=False)
    if outside:
        raise SonataError(
            f"node type {row.get('node_type_id')}: dynamics_params {row.get('dynamics_params')!r} {outside}"
        )
    try:
        params = json.loads(read_regular_text(path))
    except (OSError, json.JSONDecodeError, RecursionError) as exc:
        raise SonataError(
            f"{path}: cannot read the dynamics parameters of node type {row.get('node_type_id')}: {exc}"
        ) from None
    if not isinstance(params, dict):
        raise SonataError(
            f"{path}: the dynamics parameters of node type {row.get('node_type_id')} are a JSON object; got {type(params).__name__}"
        )
    return _NodeType(row.get("pop_name", f"{sonata_population}_type{row.get('node_type_id')}"), model, params, row)


# --------------------------------------------------------------------------- import


def neuron_values(node_type: _NodeType) -> dict[str, float]:
    """Our neuron fields for one NEST node type; refuses dynamics we do not have (a, Delta_T)."""
    defaults = {
        "aeif_psc_exp": {
            "C_m": 281.0,
            "g_L": 30.0,
            "E_L": -70.6,
            "V_th": -50.4,
            "V_reset": -60.0,
            "t_ref": 0.0,
            "tau_syn_ex": 0.2,
            "tau_syn_in": 2.0,
            "a": 4.0,
            "b": 80.5,
            "tau_w": 144.0,
            "Delta_T": 2.0,
            "I_e": 0.0,
        },
        "iaf_psc_exp": {
            "C_m": 250.0,
            "tau_m": 10.0,
            "E_L": -70.0,
            "V_th": -55.0,
            "V_reset": -70.0,
            "t_ref": 2.0,
            "tau_syn_ex": 2.0,
            "tau_syn_in": 2.0,
            "I_e": 0.0,
        },
    }[node_type.model]
    p = {**defaults, **node_type.params}
    where = f"node type {node_type.population!r} ({node_type.model})"
    if node_type.model == "aeif_psc_exp":
        for name in ("a", "Delta_T"):
            if p[name] != 0:
                raise SonataError(
                    f"{where}: {name} = {p[name]:g}; only a = 0 and Delta_T = 0 (our LIF with adaptation) can be imported"
                )
        g, tau_m, b, tau_w = p["g_L"], p["C_m"] / p["g_L"], p["b"], p["tau_w"]
    else:
        g, tau_m, b, tau_w = p["C_m"] / p["tau_m"], p["tau_m"], 0.0, 100.0
    return {
        "g": g,
        "tau_m": tau_m,
        "v_threshold": p["V_th"],
        "v_reset": p["V_reset"],
        "v_rest": p["E_L"],
        "t_ref": p["t_ref"],
        "tau_syn_exc": p["tau_syn_ex"],
        "tau_syn_inh": p["tau_syn_in"],
        "adaptation": b / g,
        "tau_adaptation": tau_w,
        "drive": p["I_e"] / g,
        "v_m": p.get("V_m", p["E_L"]),
    }


def import_sonata(
    directory: str | os.PathLike, *, name: str | None = None, allow_roots: tuple[str | os.PathLike, ...] = ()
):
    """Read a SONATA directory (or its circuit_config.json) back into a circuit.

    Populations come from the node types' ``pop_name`` (else one per node type); currents
    and weights are divided by the target's ``g_L`` (nS), so that pA become our mV. Each
    group of edges sharing edge type, source and target population, delay and sign becomes
    an ``edge_list`` projection of weight +1 or -1 mV whose ``weight_factor`` holds each
    synapse's absolute weight, which reproduces the weights bit for bit.

    Parameters
    ----------
    directory
        The exported directory or the path of its circuit config.
    name
        Circuit name; default: the one stored by our export, else the directory's name.
    allow_roots
        Folders beyond the config's own that its paths may lead to (``$BASE_DIR`` set to
        another place, ``../``, absolute paths, symlinks); everything else is refused.

    Returns
    -------
    Circuit
        Validated against the schema; run :func:`encephagen.rules.check_circuit` or save and
        ``encephagen validate`` to check the circuit rules too.
    """
    from ..schema import Circuit

    directory = Path(directory)
    net = read_sonata(directory, allow_roots=allow_roots)
    meta = net.metadata
    values = [neuron_values(net.node_types[k]) for k in net.node_type_keys]
    pop_of_type, populations, neuron_models = _populations(net, values)
    pop_index, local_index = _regroup(net, pop_of_type, list(populations))
    gain = np.array([values[t]["g"] for t in range(len(values))])[net.node_type]
    cell_classes = _cell_classes(net, pop_of_type, populations)
    for pop_name, pop in populations.items():
        pop["cell_class"] = cell_classes["of_population"][pop_name]
    projections = _projections(net, list(populations), pop_index, local_index, gain)
    circuit_name = (
        name or meta.get("circuit") or _sonata_name(directory.stem if directory.is_file() else directory.name)
    )
    version = meta.get("version", "1.0.0")
    tree = {
        "schema_version": "1",
        "name": circuit_name,
        "version": version,
        "description": meta.get("description") or f"Imported from the SONATA circuit {directory}.",
        "neuron_models": neuron_models,
        "cell_classes": cell_classes["classes"],
        "populations": populations,
        "projections": projections,
        "readouts": meta.get("readouts", {}),
        "history": [
            {
                "version": version,
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "author": "encephagen import sonata",
                "action": "imported",
                "description": f"Read from the SONATA circuit {directory}; {net.node_type.size} nodes, {net.source.size} edges.",
                "details": {"skipped": net.skipped, "source_circuit_sha256": meta.get("circuit_sha256")},
            }
        ],
    }
    return Circuit.model_validate(tree)


def _populations(net: _Network, values: list[dict[str, float]]) -> tuple[list[str], dict[str, dict], dict[str, dict]]:
    """Population name of each node type, the populations and their neuron models."""
    names = [_circuit_name(net.node_types[k].population) for k in net.node_type_keys]
    pop_of_type = [n if names.count(n) == 1 else f"{n}.{i}" for i, n in enumerate(names)]
    populations: dict[str, dict] = {}
    models: dict[str, dict] = {}
    for t, pop_name in enumerate(pop_of_type):
        v, columns = values[t], net.node_types[net.node_type_keys[t]].columns
        extra = {c: float(columns[c]) for c in EXTRA_COLUMNS if c in columns}
        models[pop_name] = {
            "tau_m": v["tau_m"],
            "v_threshold": v["v_threshold"],
            "v_reset": v["v_reset"],
            "v_rest": v["v_rest"],
            "t_ref": v["t_ref"],
            "tau_syn_exc": v["tau_syn_exc"],
            "tau_syn_inh": v["tau_syn_inh"],
            "adaptation": v["adaptation"],
            "tau_adaptation": v["tau_adaptation"],
            "noise_sigma": extra.get("noise_sigma", 0.0),
        }
        pop: dict[str, Any] = {
            "size": int(np.count_nonzero(net.node_type == t)),
            "neuron_model": pop_name,
            "drive": v["drive"],
        }
        if extra.get("poisson_rate", 0.0) > 0:
            pop["poisson_input"] = {"rate": extra["poisson_rate"], "weight": extra.get("poisson_weight", 0.0) / v["g"]}
        low, high = extra.get("initial_v_low", v["v_m"]), extra.get("initial_v_high", v["v_m"])
        if low != high:
            pop["initial_v"] = {"uniform": [low, high]}
        elif low != v["v_rest"]:
            pop["initial_v"] = low
        populations[pop_name] = pop
    return pop_of_type, populations, models


def _regroup(net: _Network, pop_of_type: list[str], names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Population number and index within it of every SONATA node (populations are contiguous for us)."""
    number = {n: i for i, n in enumerate(names)}
    pop_index = np.array([number[pop_of_type[t]] for t in range(len(pop_of_type))], dtype=np.int64)[net.node_type]
    order = np.argsort(pop_index, kind="stable")
    local = np.empty_like(order)
    starts = np.searchsorted(pop_index[order], np.arange(len(names)))
    local[order] = np.arange(order.size) - starts[pop_index[order]]
    return pop_index, local


def _cell_classes(net: _Network, pop_of_type: list[str], populations: dict[str, dict]) -> dict[str, Any]:
    """Cell classes from our columns, else one per sign that the outgoing weights show."""
    classes: dict[str, dict] = {}
    of_population: dict[str, str] = {}
    signs = _outgoing_signs(net, len(pop_of_type))
    for t, key in enumerate(net.node_type_keys):
        columns = net.node_types[key].columns
        pop_name = pop_of_type[t]
        if "cell_class" in columns and "transmitter" in columns:
            entry = {"transmitter": columns["transmitter"]}
            if columns["transmitter"] == "unknown":
                entry["sign"] = columns.get("sign", "mixed")
            classes.setdefault(_circuit_name(columns["cell_class"]), entry)
            of_population[pop_name] = _circuit_name(columns["cell_class"])
        else:
            sign = signs[t]
            class_name = f"{sign}_unidentified"
            classes.setdefault(
                class_name,
                {
                    "transmitter": "unknown",
                    "sign": sign,
                    "description": f"From SONATA: outgoing weights are {sign}; the transmitter is not in the file.",
                },
            )
            of_population[pop_name] = class_name
    return {"classes": classes, "of_population": of_population}


def _outgoing_signs(net: _Network, n_types: int) -> list[str]:
    source_type = net.node_type[net.source] if net.source.size else np.empty(0, np.int64)
    signs = []
    for t in range(n_types):
        w = net.weight[source_type == t]
        positive, negative = bool(np.any(w > 0)), bool(np.any(w < 0))
        signs.append("mixed" if positive and negative else "inhibitory" if negative else "excitatory")
    return signs


def _projections(
    net: _Network, names: list[str], pop_index: np.ndarray, local: np.ndarray, gain: np.ndarray
) -> dict[str, dict]:
    if net.source.size == 0:
        return {}
    weight = net.weight / gain[net.target]
    src_pop, tgt_pop = pop_index[net.source], pop_index[net.target]
    inhibitory = (weight < 0).astype(np.int64)
    keys = np.column_stack([net.edge_type, src_pop, tgt_pop, inhibitory])
    delays, delay_code = np.unique(net.delay, return_inverse=True)
    keys = np.column_stack([keys, np.asarray(delay_code).ravel()])
    groups, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(groups) + 1))
    per_type: dict[Any, set[tuple[Any, Any]]] = {}
    for etype, s, t, _, _ in groups.tolist():
        per_type.setdefault(etype, set()).add((s, t))
    splits: dict[tuple[Any, Any, Any], set[tuple[Any, Any]]] = {}
    for etype, s, t, inh, d in groups.tolist():
        splits.setdefault((etype, s, t), set()).add((inh, d))
    projections: dict[str, dict] = {}
    for g, (etype, s, t, inh, d) in enumerate(groups.tolist()):
        members = order[bounds[g] : bounds[g + 1]]
        label = _circuit_name(net.edge_type_names.get(etype, f"edge_type_{etype}"))
        if len(per_type[etype]) > 1:
            label = f"{label}:{names[s]}->{names[t]}"
        if len(splits[(etype, s, t)]) > 1:
            label = f"{label}:{'inh' if inh else 'exc'}:d{delays[d]:g}"
        projections[label] = {
            "source": names[s],
            "target": names[t],
            "rule": {
                "kind": "edge_list",
                "source_index": local[net.source[members]].tolist(),
                "target_index": local[net.target[members]].tolist(),
                "weight_factor": np.abs(weight[members]).tolist(),
            },
            "weight": -1.0 if inh else 1.0,
            "delay": float(delays[d]),
        }
    return projections


# --------------------------------------------------------------------------- NEST


def import_nest():
    """The ``nest`` module, quietly, with the install command when it is missing.

    The nest-simulator 3.10.0 wheel on PyPI ships a ``versionchecker`` module that fails with
    ``NameError: name 'sys' is not defined``; its only job is to compare the Python version
    with the one the wheel was built for, which pip has already matched, so an empty module
    stands in for it before ``import nest``.
    """
    import importlib.util
    import sys
    import types

    if importlib.util.find_spec("nest") is None:
        raise MissingDependencyError("nest-simulator", "running a SONATA export in NEST", "nest")
    sys.modules.setdefault("versionchecker", types.ModuleType("versionchecker"))
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    return nest


def nest_has_sonata() -> bool:
    """Whether this NEST was built with HDF5, which ``nest.SonataNetwork`` needs to read edges.

    The PyPI wheel is not; ``bench/build_nest_hdf5.sh PREFIX`` builds one that is (with h5py
    compiled against the same libhdf5, or ``import nest`` fails inside h5py).
    """
    return bool(import_nest().GetKernelStatus("build_info")["have_hdf5"])


@dataclass(frozen=True)
class RankReport:
    """What one NEST process (MPI rank) built and did: the check that every rank got its share."""

    rank: int
    processes: int
    local_neurons: int
    """Neurons this rank owns (NEST deals them out round-robin over the virtual processes)."""
    local_connections: int
    """Connections whose target lives on this rank: its share of the edges plus its generators' ones."""
    poisson_generators: int
    """Poisson generators this rank created: each rank draws its own trains for its own targets."""
    noise_generators: int
    local_spikes: int
    """Spikes of this rank's neurons, before the gather."""
    build_seconds: float
    simulate_seconds: float
    peak_rss_mb: float
    """Peak resident memory of this process (ru_maxrss)."""

    def line(self) -> str:
        return (
            f"rank {self.rank}/{self.processes}: {self.local_neurons} neurons, {self.local_connections} connections, "
            f"{self.poisson_generators} poisson_generator + {self.noise_generators} noise_generator, "
            f"{self.local_spikes} spikes; build {self.build_seconds:.2f} s, simulate {self.simulate_seconds:.2f} s, "
            f"peak RSS {self.peak_rss_mb:.0f} MB"
        )


@dataclass(frozen=True)
class NestRun:
    """Spikes of a NEST run of an exported circuit, in encephagen's neuron order."""

    population_names: list[str]
    population_sizes: np.ndarray
    spike_times_ms: np.ndarray
    spike_neurons: np.ndarray
    duration_ms: float
    builder: str
    """How NEST built the network (see :func:`run_nest`'s ``builder``)."""
    ranks: tuple[RankReport, ...] = ()
    """One report per NEST process (one without MPI), in rank order."""

    def population_counts(self) -> np.ndarray:
        population = np.repeat(np.arange(len(self.population_sizes)), self.population_sizes)
        return np.bincount(population[self.spike_neurons], minlength=len(self.population_sizes))

    def population_rates_hz(self) -> np.ndarray:
        return self.population_counts() / (self.population_sizes * self.duration_ms / 1000.0)

    def save(self, path: str | os.PathLike) -> None:
        """Write the run as an .npz file (no pickle: :meth:`load` reads it back)."""
        np.savez(
            path,
            names=np.array(self.population_names),
            sizes=self.population_sizes,
            times=self.spike_times_ms,
            neurons=self.spike_neurons,
            duration=self.duration_ms,
            builder=self.builder,
            ranks=json.dumps([vars(r) for r in self.ranks]),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> NestRun:
        with np.load(path) as data:
            return cls(
                [str(n) for n in data["names"]],
                data["sizes"],
                data["times"],
                data["neurons"],
                float(data["duration"]),
                str(data["builder"]),
                tuple(RankReport(**r) for r in json.loads(str(data["ranks"]))),
            )


def launched_by_mpi() -> bool:
    """Whether this process is one rank of an ``mpirun``/``mpiexec``/``srun`` launch (Open MPI, MPICH, PMIx, Slurm)."""
    return any(os.environ.get(name) for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"))


def run_nest(
    directory: str | os.PathLike,
    *,
    duration_ms: float | None = None,
    seed: int = 0,
    threads: int = 1,
    builder: str = "auto",
    isolate: bool = True,
) -> NestRun:
    """Simulate an exported SONATA directory in NEST, with what plain SONATA leaves out restored.

    The network is built by ``nest.SonataNetwork`` when NEST has HDF5 (``builder='sonata'``);
    otherwise ``SonataNetwork.Create`` still builds the nodes from the files and the edges are
    read with h5py and connected with ``nest.Connect`` (``builder='python'``). Then, per node type: initial potentials are set to the very
    values encephagen draws for ``seed`` (so a deterministic circuit starts identically),
    Poisson input becomes a ``poisson_generator`` (independent trains per target, weight in
    pA) and current noise a ``noise_generator`` whose amplitude gives the free membrane
    potential the same stationary SD. Generators act after the network's shortest delay
    (``nest_min_delay_ms`` of the export), so that ranks need not exchange spikes every step.

    Under MPI (``mpirun -np N python -m encephagen.interop.nest_mpi DIR``, or any script that
    calls this function on every rank) every rank runs this same code: NEST deals the neurons
    out over the ranks, ``BuildNetwork`` reads the edges in slabs and each rank keeps those whose
    target it owns, each rank creates its own generators, which feed only its own neurons
    from its own random streams, and the spikes, recorded per rank, are gathered (with mpi4py)
    so that every rank returns the whole run. ``ranks`` says what each rank built.

    Parameters
    ----------
    directory
        An export of :func:`export_sonata`.
    duration_ms
        Biological time; default: ``run.tstop`` of the simulation config.
    seed
        Seed of encephagen's initial potentials and of NEST's random generator.
    threads
        NEST local threads (per rank).
    builder
        'auto', 'sonata' (``SonataNetwork.BuildNetwork``) or 'python' (``SonataNetwork.Create`` for
        the nodes, ``nest.Connect`` for the edges read with h5py: NEST without HDF5).
    isolate
        Run NEST in a fresh child process (default; ignored in a process that ``mpirun``
        launched, which must run NEST itself). NEST's kernel is global state, and in
        a process where numba's threads have run it can crash on the next build (seen with
        the 3.10 wheel: a segmentation fault on the second run).
    """
    if isolate and not launched_by_mpi():
        return _run_nest_in_child(directory, duration_ms=duration_ms, seed=seed, threads=threads, builder=builder)
    import resource

    from .. import _kernel

    nest = import_nest()
    started = time.perf_counter()
    directory = Path(directory)
    simulation = read_config(directory / "simulation_config.json")
    dt = float(simulation["run"]["dt"])
    duration = float(duration_ms if duration_ms is not None else simulation["run"]["tstop"])
    if builder == "auto":
        builder = "sonata" if nest_has_sonata() else "python"
    if builder not in ("sonata", "python"):
        raise ValueError(f"builder must be 'auto', 'sonata' or 'python'; got {builder!r}")
    comm = _mpi_communicator(nest)
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.SetKernelStatus({"resolution": dt, "local_num_threads": threads, "rng_seed": int(seed) + 1})
    # NEST's own reader streams the edges in slabs; holding them here too costs ~45 B per synapse
    net = read_sonata(directory, edges=builder == "python")
    if builder == "sonata":
        sonata = nest.SonataNetwork(directory / "circuit_config.json", sim_config=directory / NEST_SIMULATION_CONFIG)
        collections = sonata.BuildNetwork()
        nodes = sum((collections[p] for p in net.population_offset), start=nest.NodeCollection())
        label = "nest.SonataNetwork.BuildNetwork"
    else:
        # Only NEST's C++ edge reader needs NEST built with HDF5 (the PyPI wheel is not); its
        # Python node reader needs h5py and pandas. So NEST reads the nodes itself and we
        # connect the edges from the same files.
        from nest.lib import hl_api_sonata

        hl_api_sonata.have_hdf5 = True
        sonata = nest.SonataNetwork(directory / "circuit_config.json", sim_config=directory / NEST_SIMULATION_CONFIG)
        collections = sonata.Create()
        sonata._create_graph_specs()  # NEST's own parsing of the edge types, to fail as BuildNetwork would
        nodes = sum((collections[p] for p in net.population_offset), start=nest.NodeCollection())
        if net.source.size:
            ids = np.asarray(nodes.tolist())
            nest.Connect(
                ids[net.source],
                ids[net.target],
                "one_to_one",
                {"synapse_model": "static_synapse", "weight": net.weight, "delay": net.nest_delay},
            )
        label = "nest.SonataNetwork.Create + nest.Connect"
    local_edges = int(nest.GetKernelStatus("num_connections"))
    generators = _restore_extras(nest, net, nodes, dt, seed, _kernel)
    recorder = nest.Create("spike_recorder")
    nest.Connect(nodes, recorder)
    built = time.perf_counter()
    nest.Simulate(duration)
    simulated = time.perf_counter()
    events = recorder.get("events")
    first = int(nodes.tolist()[0]) if len(nodes) else 0
    times = np.asarray(events["times"], float)
    neurons = np.asarray(events["senders"], np.int64) - first
    report = RankReport(
        rank=int(nest.Rank()),
        processes=int(nest.NumProcesses()),
        local_neurons=len(_local_nodes(nest, nodes)),
        local_connections=local_edges,
        poisson_generators=generators[0],
        noise_generators=generators[1],
        local_spikes=int(times.size),
        build_seconds=built - started,
        simulate_seconds=simulated - built,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    )
    if comm is not None:  # every rank gets every rank's spikes and reports
        gathered = comm.allgather((times, neurons, report))
        times = np.concatenate([g[0] for g in gathered])
        neurons = np.concatenate([g[1] for g in gathered])
        reports = tuple(g[2] for g in gathered)
    else:
        reports = (report,)
    order = np.lexsort((neurons, times))  # one order whatever the number of ranks: by time, then neuron
    names, sizes = _population_runs(net)
    return NestRun(names, sizes, times[order], neurons[order], duration, label, reports)


def _local_nodes(nest, nodes):
    """The neurons of ``nodes`` that live on this rank (NEST warns that code using them may
    deadlock if ranks then diverge; here every rank only sets its own, with no communication)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*GetLocalNodeCollection", category=UserWarning)
        return nest.GetLocalNodeCollection(nodes)


def _mpi_communicator(nest):
    """mpi4py's COMM_WORLD when NEST runs on more than one process, else None."""
    if nest.NumProcesses() == 1:
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        raise MissingDependencyError("mpi4py", "gathering the spikes of a NEST run over MPI ranks", "nest") from None
    if MPI.COMM_WORLD.Get_size() != nest.NumProcesses():
        raise EncephagenError(
            f"mpi4py sees {MPI.COMM_WORLD.Get_size()} ranks but NEST {nest.NumProcesses()}: "
            "build mpi4py against the MPI library NEST uses (bench/build_nest_hdf5.sh with MPI=ON)"
        )
    return MPI.COMM_WORLD


def _run_nest_in_child(directory, **options) -> NestRun:
    """run_nest in a fresh interpreter; the spikes come back through an .npz file (no pickle)."""
    import subprocess
    import sys

    with tempfile.TemporaryDirectory(prefix="encephagen-nest-") as scratch:
        out = Path(scratch) / "run.npz"
        code = (
            "import json, sys\n"
            "from encephagen.interop.sonata import run_nest\n"
            "run_nest(sys.argv[1], isolate=False, **json.loads(sys.argv[3])).save(sys.argv[2])\n"
        )
        child = subprocess.run(
            [sys.executable, "-c", code, str(directory), str(out), json.dumps(options)],
            check=False,
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            tail = (child.stderr or child.stdout).strip().splitlines()[-5:]
            raise EncephagenError(f"NEST run of {directory} failed (exit {child.returncode}): " + " | ".join(tail))
        return NestRun.load(out)


def _population_runs(net: _Network) -> tuple[list[str], np.ndarray]:
    names = [net.node_types[k].population for k in net.node_type_keys]
    pop = np.array([names.index(names[t]) for t in range(len(names))])[net.node_type]
    unique = list(dict.fromkeys(names[t] for t in net.node_type.tolist()))
    sizes = np.array([np.count_nonzero(pop == names.index(u)) for u in unique])
    return unique, sizes


def _restore_extras(nest, net: _Network, nodes, dt: float, seed: int, kernel) -> tuple[int, int]:
    """Initial potentials, Poisson input and noise; returns the generators created (Poisson, noise)."""
    created = [0, 0]
    ids = np.asarray(nodes.tolist())
    low = np.empty(ids.size)
    high = np.empty(ids.size)
    for t, key in enumerate(net.node_type_keys):
        columns = net.node_types[key].columns
        mask = net.node_type == t
        v_m = neuron_values(net.node_types[key])["v_m"]
        low[mask] = float(columns.get("initial_v_low", v_m))
        high[mask] = float(columns.get("initial_v_high", v_m))
    # Generators reach their targets after the network's shortest delay, not after one step:
    # NEST's ranks exchange spikes every min_delay over all connections, devices' included, so
    # a one-step generator delay would make them talk every step. Stationary input shifted by
    # a constant is the same input, except that the first min_delay ms get none.
    input_delay = max(dt, float(net.metadata.get("nest_min_delay_ms", dt)))
    keys = kernel.stream_keys(np.asarray([seed], dtype=np.uint64))
    v0 = kernel.initial_v(keys, low[None, :], high[None, :])[0]
    # each rank sets its own neurons (under MPI a rank cannot set another's; NEST refuses the whole list)
    local = _local_nodes(nest, nodes)
    if len(local):
        local_ids = np.asarray(local.tolist())
        order = np.argsort(ids)
        values = v0[order[np.searchsorted(ids, local_ids, sorter=order)]]
        local.set({"V_m": values.tolist()} if values.size > 1 else {"V_m": float(values[0])})
    for t, key in enumerate(net.node_type_keys):
        node_type = net.node_types[key]
        columns = node_type.columns
        members = nest.NodeCollection(ids[net.node_type == t].tolist())
        rate = float(columns.get("poisson_rate", 0.0))
        if rate > 0:
            weight = float(columns.get("poisson_weight", 0.0)) or 1.0
            generator = nest.Create("poisson_generator", params={"rate": rate})
            nest.Connect(generator, members, syn_spec={"weight": weight, "delay": input_delay})
            created[0] += 1
        sigma = float(columns.get("noise_sigma", 0.0))
        if sigma > 0:
            values = neuron_values(node_type)
            decay = np.exp(-dt / values["tau_m"])
            std = sigma * values["g"] * np.sqrt((1 + decay) / (1 - decay))
            generator = nest.Create("noise_generator", params={"mean": 0.0, "std": float(std), "dt": dt})
            nest.Connect(generator, members, syn_spec={"delay": input_delay})
            created[1] += 1
    return created[0], created[1]
