"""One self-contained HTML page that shows a circuit, and optionally its run, film or diff.

What NetPyNE-UI, NEST Desktop or neuPrint users expect to see of a network, offline: the
population graph (nodes coloured by cell class, outlined by sign, sized by neuron count;
edges coloured by sign, as wide as their weight; left and right populations on their own
sides; a cortex's matrix projections drawn as a region graph), and on a click the item's
parameters with units, bounds and whether calibration may change them, its description and
citations, and the circuit's version history. With a run, the raster and population rates
are linked to the graph; with motor pools, the gait metrics; with a film, the film; with an
older version, the semantic diff (:mod:`encephagen.diff`) painted on the graph.

The page is a single file: the data (JSON), :file:`viewer.js` and :file:`viewer.css` next to
this module and any video (base64) are inlined, so it opens from ``file://`` with no network,
no server and no CDN. Layouts are computed here, deterministically, so the browser only draws.

Examples
--------
>>> from encephagen import load_circuit
>>> data = view_data(load_circuit("half_centre"))
>>> sorted(data)[:4], len(data["nodes"])
(['afferents', 'cell_classes', 'circuit', 'diff'], 4)
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic_files import atomic_write_bytes
from ..diff import diff_circuits
from ..errors import EncephagenError
from ..schema import FIELD_UNITS, Circuit, ParamRef, UniformRange

ASSETS = Path(__file__).parent
MAX_MATRIX_EDGES = 600
"""A matrix projection shows its strongest population pairs only (probability x |weight|), this many."""
MAX_RASTER_SPIKES = 150_000
"""Spikes sent to the page at most (every k-th spike beyond); the counts behind the rates are exact."""
MAX_RASTER_ROWS = 3000
"""Raster rows at most: a large population shows its first neurons only."""
RATE_BIN_MS = 5.0
"""Bin width of the population-rate traces on the page (ms), or the run's bin if wider."""

UNITS: dict[str, str] = {
    **FIELD_UNITS,
    "probability": "",
    "size": "neurons",
    "initial_v": "mV",
    "indegree": "synapses",
    "sources": "",
}
"""Unit of every numeric field a panel shows: the schema's (:data:`FIELD_UNITS`), with counts named."""


class ViewError(EncephagenError, ValueError):
    """A page cannot be made from these inputs (wrong run for the circuit, unreadable video...)."""


# --------------------------------------------------------------------------- public API


def view_data(
    circuit: Circuit, *, run=None, video: str | os.PathLike | None = None, old: Circuit | None = None
) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data (the page's only input besides its script).

    Parameters
    ----------
    circuit
        The circuit to draw (with ``old``: the new version).
    run
        A :class:`~encephagen.results.SimulationResult` of this circuit (lane 0 is shown).
    video
        An .mp4 file to embed (e.g. from ``encephagen run --video``).
    old
        An older version: the page then highlights what changed from it to ``circuit``.
    """
    positions = layout(circuit)
    if old is not None:  # keep the old places, so that a removed population's ghost sits where it was
        positions.update({k: v for k, v in layout(old).items() if k in positions})
    nodes = _nodes(circuit, positions)
    edges = _edges(circuit)
    data: dict[str, Any] = {
        "circuit": _metadata(circuit),
        "nodes": nodes,
        "edges": edges,
        "parameters": _parameter_table(circuit),
        "neuron_models": {
            name: {"parameters": _model_rows(circuit, model), "references": _refs(circuit, model.references)}
            for name, model in circuit.neuron_models.items()
        },
        "cell_classes": {
            name: {
                "transmitter": cell.transmitter,
                "markers": cell.markers,
                "description": cell.description,
                "references": _refs(circuit, cell.references),
            }
            for name, cell in circuit.cell_classes.items()
        },
        "readouts": {
            name: {
                "terms": [[t.population, t.coefficient] for t in r.terms],
                "tau": r.tau,
                "unit": r.unit,
                "description": r.description,
            }
            for name, r in circuit.readouts.items()
        },
        "afferents": sorted(_afferents(circuit)),
        "diff": None,
        "run": None,
        "video": None,
    }
    if old is not None:
        data["diff"] = _diff(old, circuit, data)
    if run is not None:
        data["run"] = _run(circuit, run)
    if video is not None:
        data["video"] = _video(Path(video))
    return data


def render_html(data: Mapping[str, Any], *, title: str | None = None) -> str:
    """The page: ``data`` (see :func:`view_data`), the script and the styles inlined into one HTML text."""
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False)
    payload = payload.replace("</", "<\\/")  # a description may not close the script element
    script = (ASSETS / "viewer.js").read_text(encoding="utf-8")
    style = (ASSETS / "viewer.css").read_text(encoding="utf-8")
    c = data["circuit"]
    heading = title or f"{c['name']} {c['version']}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(heading)} · encephagen</title>'
        f"<style>{style}</style></head><body>"
        f'<script type="application/json" id="encephagen-data">{payload}</script>'
        f"<script>{script}</script></body></html>\n"
    )


def write_view(
    circuit: Circuit,
    path: str | os.PathLike,
    *,
    run=None,
    video: str | os.PathLike | None = None,
    old: Circuit | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the page of :func:`view_data` to ``path`` (atomically); refuses to replace a file unless ``overwrite``."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ViewError(f"{path}: already exists; choose another name or pass overwrite=True")
    if path.suffix.lower() not in (".html", ".htm"):
        raise ViewError(f"{path}: the viewer writes one HTML file; give a path ending in .html")
    atomic_write_bytes(path, render_html(view_data(circuit, run=run, video=video, old=old)).encode("utf-8"))
    return path


# --------------------------------------------------------------------------- graph


def _value(circuit: Circuit, field: str, value: Any) -> dict[str, Any] | None:
    """One row of a parameter table: the number, its unit, and where it comes from."""
    if isinstance(value, UniformRange):
        return {
            "field": field,
            "value": f"uniform [{value.uniform[0]:g}, {value.uniform[1]:g})",
            "unit": UNITS.get(field, ""),
        }
    if isinstance(value, ParamRef):
        p = circuit.parameters.get(value.param)
        resolved = p.value * value.factor if p is not None else None
        row = {
            "field": field,
            "value": _num(resolved),
            "unit": UNITS.get(field, p.unit if p else ""),
            "param": value.param,
            "factor": value.factor,
        }
        if p is not None:
            row.update(free=p.free, bounds=p.bounds and [b * value.factor for b in p.bounds], scale=p.scale)
        return row
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return {"field": field, "value": _num(value), "unit": UNITS.get(field, "")}
    return None


def _num(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    return x


def _refs(circuit: Circuit, references: Sequence[Any] | Mapping[str, Any]) -> list[dict[str, Any]]:
    """Citations resolved through the circuit's references table (the table itself when given it)."""
    if isinstance(references, Mapping):
        return [{"key": key, "citation": r.citation, "doi": r.doi, "note": r.note} for key, r in references.items()]
    table = circuit.references
    out = []
    for cite in references:
        entry = table.get(cite.ref)
        out.append(
            {
                "key": cite.ref,
                "citation": entry.citation if entry else cite.ref,
                "doi": entry.doi if entry else None,
                "note": cite.note or (entry.note if entry else None),
            }
        )
    return out


def _sign(circuit: Circuit, cell_class: str) -> str:
    cell = circuit.cell_classes.get(cell_class)
    return cell.effective_sign if cell is not None else "mixed"


def _nodes(circuit: Circuit, positions: dict[str, tuple[float, float]] | None = None) -> list[dict[str, Any]]:
    """One node per population: where it is drawn, what marks it, and its own parameter rows."""
    positions = positions or layout(circuit)
    classes = list(circuit.cell_classes)
    readout_members = {t.population for r in circuit.readouts.values() for t in r.terms}
    afferents = _afferents(circuit)
    nodes = []
    for name, pop in circuit.populations.items():
        rows = [
            r
            for r in (
                _value(circuit, "size", pop.size),
                _value(circuit, "drive", pop.drive),
                _value(circuit, "initial_v", pop.initial_v),
                *(
                    (
                        _value(circuit, "poisson rate", pop.poisson_input.rate),
                        _value(circuit, "poisson weight", pop.poisson_input.weight),
                        _value(circuit, "poisson sources", pop.poisson_input.sources),
                    )
                    if pop.poisson_input
                    else ()
                ),
            )
            if r is not None
        ]
        for row in rows:
            row["unit"] = UNITS.get(row["field"].split(" ")[-1], row["unit"])
        x, y = positions[name]
        nodes.append(
            {
                "id": name,
                "x": round(x, 2),
                "y": round(y, 2),
                "size": int(circuit.resolve(pop.size)),
                "cell_class": pop.cell_class,
                "class_index": classes.index(pop.cell_class) if pop.cell_class in classes else -1,
                "sign": _sign(circuit, pop.cell_class),
                "side": pop.side,
                "region": pop.region,
                "neuron_model": pop.neuron_model,
                "description": pop.description,
                "references": _refs(circuit, pop.references),
                "parameters": rows,
                "readout": name in readout_members,
                "afferent": name in afferents,
            }
        )
    return nodes


def _model_rows(circuit: Circuit, model) -> list[dict[str, Any]]:
    """The neuron model's fields as parameter-table rows (stored once per model, not per population)."""
    return [
        r
        for f in type(model).model_fields
        if f not in ("kind", "references")
        for r in [_value(circuit, f, getattr(model, f))]
        if r is not None
    ]


def _edges(circuit: Circuit) -> list[dict[str, Any]]:
    edges: list[dict[str, Any]] = []
    for name, proj in circuit.projections.items():
        weight = float(circuit.resolve(proj.weight))
        rule = proj.rule
        rows = [_value(circuit, "weight", proj.weight), _value(circuit, "delay", proj.delay)]
        if rule.kind == "fixed_probability":
            rows.append(_value(circuit, "probability", rule.probability))
        elif rule.kind == "fixed_indegree":
            rows.append(_value(circuit, "indegree", rule.indegree))
        elif rule.kind == "edge_list":
            rows.append({"field": "synapses listed", "value": len(rule.source_index), "unit": ""})
        sign = (
            _sign(circuit, circuit.populations[proj.source].cell_class)
            if proj.source in circuit.populations
            else "mixed"
        )
        edges.append(
            {
                "id": name,
                "source": proj.source,
                "target": proj.target,
                "kind": "projection",
                "sign": sign if sign != "mixed" else ("excitatory" if weight >= 0 else "inhibitory"),
                "weight": weight,
                "rule": rule.kind,
                "weight_mode": proj.weight_mode,
                "parameters": [r for r in rows if r is not None],
                "description": proj.description,
                "references": _refs(circuit, proj.references),
            }
        )
    for name, mproj in circuit.matrix_projections.items():
        edges.extend(_matrix_edges(circuit, name, mproj))
    strength = np.array([abs(e["weight"]) * e.get("probability", 1.0) for e in edges]) if edges else np.zeros(0)
    top = float(np.log1p(strength).max()) if strength.size else 1.0
    for e, s in zip(edges, strength):
        e["strength"] = round(float(np.log1p(s)) / top, 4) if top > 0 else 0.0
    return edges


def _matrix_edges(circuit: Circuit, name: str, mproj) -> list[dict[str, Any]]:
    """A matrix projection as its strongest population pairs (a region graph), at most :data:`MAX_MATRIX_EDGES`."""
    from ..matrices import matrix_parts

    base = Path(circuit.source_path).parent if circuit.source_path else Path.cwd()
    shape = (len(mproj.targets), len(mproj.sources))

    def resolved(value, where):
        const, linear, param = matrix_parts(circuit, value, shape, f"/matrix_projections/{name}/{where}", base)
        return const + linear * circuit.parameters[param].value if param is not None else const

    probability = np.clip(resolved(mproj.probability, "probability"), 0.0, 1.0)
    weight = resolved(mproj.weight, "weight")
    delay = (
        resolved(mproj.delay, "delay")
        if hasattr(mproj.delay, "array")
        else np.full(shape, float(circuit.resolve(mproj.delay)))
    )
    strength = probability * np.abs(weight)
    if mproj.skip_diagonal:
        np.fill_diagonal(strength, 0.0)
    pairs = np.argwhere(strength > 0)
    order = np.argsort(-strength[pairs[:, 0], pairs[:, 1]], kind="stable")[:MAX_MATRIX_EDGES]
    shown = pairs[order]
    described = {
        "matrix_projection": name,
        "pairs": len(pairs),
        "shown": len(shown),
        "description": mproj.description,
        "references": _refs(circuit, mproj.references),
        "seed": mproj.seed,
    }
    edges = []
    for t, s in shown:
        source, target = mproj.sources[s], mproj.targets[t]
        sign = _sign(circuit, circuit.populations[source].cell_class)
        w = float(weight[t, s])
        edges.append(
            {
                "id": f"{name}[{source}→{target}]",
                "source": source,
                "target": target,
                "kind": "matrix",
                "sign": sign if sign != "mixed" else ("excitatory" if w >= 0 else "inhibitory"),
                "weight": w,
                "probability": float(probability[t, s]),
                "rule": "matrix",
                "parameters": [
                    {"field": "probability", "value": round(float(probability[t, s]), 6), "unit": ""},
                    {"field": "weight", "value": round(w, 6), "unit": "mV"},
                    {"field": "delay", "value": round(float(delay[t, s]), 4), "unit": "ms"},
                    *[
                        r
                        for f in ("scale", "offset", "divisor")
                        for r in [_value(circuit, f"weight {f}", getattr(mproj.weight, f))]
                        if r is not None and "param" in r
                    ],
                ],
                **described,
            }
        )
    return edges


def layout(circuit: Circuit) -> dict[str, tuple[float, float]]:
    """Node positions in a 1000 x 700 box: left populations on the left, right ones on the right.

    A cortex (matrix projections between regions) goes on a circle split into hemispheres; a
    large connectome gets a seeded force layout of its left-right pairs, mirrored; a small
    circuit is layered, one row per cell class. The same circuit always gets the same layout.
    """
    if circuit.matrix_projections:
        return _region_circle(circuit)
    if len(circuit.populations) > 60:
        return _mirrored_force(circuit)
    if not any(p.side in ("left", "right") for p in circuit.populations.values()):
        return _spread(circuit)
    return _layered(circuit)


def _spread(circuit: Circuit) -> dict[str, tuple[float, float]]:
    """A small circuit with no sides: Kamada-Kawai (deterministic, no random start), scaled into the box."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(circuit.populations)
    graph.add_edges_from((p.source, p.target) for p in circuit.projections.values() if p.source != p.target)
    if graph.number_of_nodes() < 3:
        return {name: (350.0 + 300.0 * k, 350.0) for k, name in enumerate(circuit.populations)}
    pos = nx.kamada_kawai_layout(graph)
    coords = np.array([pos[n] for n in circuit.populations])
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    unit = (coords - lo) / span
    return {name: (float(250 + 500 * u), float(140 + 440 * v)) for name, (u, v) in zip(circuit.populations, unit)}


def _side(pop) -> str:
    return pop.side if pop.side in ("left", "right") else "middle"


def _layered(circuit: Circuit) -> dict[str, tuple[float, float]]:
    rows: dict[str, list[str]] = {}
    for name, pop in circuit.populations.items():
        rows.setdefault(pop.cell_class, []).append(name)
    sided = any(p.side in ("left", "right") for p in circuit.populations.values())
    positions = {}
    n_rows = len(rows)
    for r, members in enumerate(rows.values()):
        y = 60 + (580 * (r + 0.5) / n_rows)
        groups: dict[str, list[str]] = {"left": [], "middle": [], "right": []}
        for name in members:
            groups[_side(circuit.populations[name])].append(name)
        if not sided:
            xs = (
                np.linspace(500 - 150 * (len(members) - 1), 500 + 150 * (len(members) - 1), len(members))
                if len(members) > 1
                else [500.0]
            )
            positions.update({n: (float(x), y) for n, x in zip(members, xs)})
            continue
        stagger = 70 * (r % 2)  # alternate rows step sideways so that long edges do not run along a column
        for k, name in enumerate(groups["left"]):
            positions[name] = (420 - stagger - 140 * k, y + 18 * (k % 2))
        for k, name in enumerate(groups["right"]):
            positions[name] = (580 + stagger + 140 * k, y + 18 * (k % 2))
        for k, name in enumerate(groups["middle"]):
            positions[name] = (500 + 60 * (k - (len(groups["middle"]) - 1) / 2), y + 22 * (k % 2))
    return positions


_PAIRED = re.compile(r"^(?P<stem>.+?)(?P<side>[LR])$")


def _mirrored_force(circuit: Circuit) -> dict[str, tuple[float, float]]:
    """Force layout of the graph with each left-right pair merged, then the pair mirrored about the midline."""
    import networkx as nx

    def key(name: str) -> str:
        pop = circuit.populations[name]
        m = _PAIRED.match(name)
        return m.group("stem") + "*" if pop.side in ("left", "right") and m else name

    graph = nx.Graph()
    graph.add_nodes_from(sorted({key(n) for n in circuit.populations}))
    for proj in circuit.projections.values():
        a, b = key(proj.source), key(proj.target)
        if a != b:
            w = graph.get_edge_data(a, b, {"weight": 0.0})["weight"]
            graph.add_edge(a, b, weight=w + 1.0)
    pos = nx.spring_layout(graph, seed=20260, iterations=60, k=1.6 / math.sqrt(max(graph.number_of_nodes(), 1)))
    keys = list(pos)
    coords = np.array([pos[k] for k in keys])
    # ranks, not raw coordinates: a small disconnected part (the pharynx) must not squeeze the rest
    ranks = np.argsort(np.argsort(coords, axis=0, kind="stable"), axis=0, kind="stable") / max(len(keys) - 1, 1)
    unit = dict(zip(keys, ranks))
    positions = {}
    for name, pop in circuit.populations.items():
        u, v = unit[key(name)]
        y = 40 + 620 * v
        side = _side(pop)
        if side == "left":
            positions[name] = (20 + 320 * (1 - u), y)
        elif side == "right":
            positions[name] = (660 + 320 * u, y)
        else:
            positions[name] = (380 + 240 * u, y)
    return positions


def _region_circle(circuit: Circuit) -> dict[str, tuple[float, float]]:
    """Regions round a circle, left hemisphere on the left, right on the right; a region's populations side by side."""
    regions: dict[str, list[str]] = {}
    for name, pop in circuit.populations.items():
        regions.setdefault(pop.region or name, []).append(name)
    sides: dict[str, list[str]] = {"left": [], "right": [], "middle": []}
    for region, members in regions.items():
        sides[_side(circuit.populations[members[0]])].append(region)
    positions = {}
    cx, cy, radius = 500.0, 350.0, 310.0
    for side, names in sides.items():
        n = len(names)
        for k, region in enumerate(names):
            frac = (k + 0.5) / max(n, 1)
            if side == "left":
                angle = math.pi / 2 + frac * math.pi  # top -> bottom along the left half
            elif side == "right":
                angle = math.pi / 2 - frac * math.pi
            else:
                angle = math.pi / 2 + (frac - 0.5) * 0.3
            for m, name in enumerate(regions[region]):
                r = radius - 34 * m
                positions[name] = (cx + r * math.cos(angle), cy - r * math.sin(angle))
    return positions


def _afferents(circuit: Circuit) -> set[str]:
    """Populations a body's sensors drive (the circuit's binding file), or whose cell class is an afferent."""
    found = {name for name, pop in circuit.populations.items() if "afferent" in pop.cell_class.lower()}
    if circuit.source_path:
        from ..body.binding import bindings_beside

        for binding in bindings_beside(circuit.source_path):
            try:
                tree = json.loads(binding.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            found |= {
                str(a.get("population")) for a in tree.get("afferents", {}).values() if isinstance(a, dict)
            } & set(circuit.populations)
    return found


def _metadata(circuit: Circuit) -> dict[str, Any]:
    return {
        "name": circuit.name,
        "version": circuit.version,
        "description": circuit.description,
        "authors": circuit.authors,
        "license": circuit.license,
        "references": _refs(circuit, circuit.references),
        "history": [h.model_dump(mode="json") for h in circuit.history],
        "counts": {
            "populations": len(circuit.populations),
            "projections": len(circuit.projections),
            "matrix_projections": len(circuit.matrix_projections),
            "neurons": int(sum(int(circuit.resolve(p.size)) for p in circuit.populations.values())),
        },
        "cell_classes": {
            name: {"transmitter": c.transmitter, "sign": c.effective_sign} for name, c in circuit.cell_classes.items()
        },
    }


def _parameter_table(circuit: Circuit) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "value": p.value,
            "unit": p.unit,
            "free": p.free,
            "bounds": p.bounds,
            "scale": p.scale,
            "description": p.description,
            "references": _refs(circuit, p.references),
        }
        for name, p in circuit.parameters.items()
    ]


# --------------------------------------------------------------------------- diff


def _users(circuit: Circuit) -> dict[str, tuple[set[str], set[str]]]:
    """Parameter / neuron model / cell class name -> (populations, projections) that use it."""
    users: dict[str, tuple[set[str], set[str]]] = {}

    def mark(kind: str, key: str, node: str | None, edge: str | None) -> None:
        nodes, edges = users.setdefault(f"{kind}:{key}", (set(), set()))
        if node:
            nodes.add(node)
        if edge:
            edges.add(edge)

    def params(model) -> set[str]:
        text = model.model_dump_json()
        return set(re.findall(r'"param":"([^"]+)"', text))

    for name, pop in circuit.populations.items():
        mark("cell_classes", pop.cell_class, name, None)
        mark("neuron_models", pop.neuron_model, name, None)
        model = circuit.neuron_models.get(pop.neuron_model)
        for p in params(pop) | (params(model) if model else set()):
            mark("parameters", p, name, None)
    for name, proj in circuit.projections.items():
        for p in params(proj):
            mark("parameters", p, None, name)
    for name, mproj in circuit.matrix_projections.items():
        for p in params(mproj):
            mark("parameters", p, None, f"matrix:{name}")
        mark("matrix_projections", name, None, f"matrix:{name}")
    return users


def _diff(old: Circuit, new: Circuit, data: dict[str, Any]) -> dict[str, Any]:
    """The semantic diff, with each change pinned to the nodes and edges it touches (removed items drawn as ghosts)."""
    result = diff_circuits(old, new)
    status: dict[str, dict[str, str]] = {"nodes": {}, "edges": {}}
    notes: dict[str, list[dict[str, Any]]] = {}
    users = _users(new)
    old_users = _users(old)
    matrix_ids: dict[str, list[str]] = {}
    for e in data["edges"]:
        if e["kind"] == "matrix":
            matrix_ids.setdefault(e["matrix_projection"], []).append(e["id"])

    def pin(kind: str, item: str, state: str, change: dict[str, Any]) -> None:
        items = matrix_ids.get(item[len("matrix:") :], []) if item.startswith("matrix:") else [item]
        for i in items:
            current = status[kind].get(i)
            if current not in ("added", "removed") and not (current == "changed" and state == "indirect"):
                status[kind][i] = state
            notes.setdefault(i, []).append(change)

    for change in result.changes:
        row = change.to_json()
        row["text"] = _change_text(change)
        if change.section == "populations":
            pin("nodes", change.name, change.status, row)
        elif change.section == "projections":
            pin("edges", change.name, change.status, row)
        elif change.section in ("parameters", "neuron_models", "cell_classes", "matrix_projections"):
            nodes, edges = users.get(
                f"{change.section}:{change.name}", old_users.get(f"{change.section}:{change.name}", (set(), set()))
            )
            state = "changed" if change.section == "matrix_projections" else "indirect"
            for n in nodes:
                pin("nodes", n, state, row)
            for e in edges:
                pin("edges", e, state, row)
    ghosts: dict[str, Any] = {
        "nodes": [],
        "edges": [],  # a removed population's model and class, as the old file had them
        "neuron_models": {
            name: {"parameters": _model_rows(old, m), "references": _refs(old, m.references)}
            for name, m in old.neuron_models.items()
        },
        "cell_classes": {
            name: {
                "transmitter": c.transmitter,
                "markers": c.markers,
                "description": c.description,
                "references": _refs(old, c.references),
            }
            for name, c in old.cell_classes.items()
        },
    }
    removed_nodes = [c.name for c in result.changes if c.section == "populations" and c.status == "removed"]
    removed_edges = [c.name for c in result.changes if c.section == "projections" and c.status == "removed"]
    if removed_nodes or removed_edges:
        old_nodes = _nodes(old)  # the old layout: where the ghosts were
        old_edges = {e["id"]: e for e in _edges(old)}
        for node in old_nodes:
            if node["id"] in removed_nodes:
                ghosts["nodes"].append(node)
        ghosts["edges"] = [old_edges[name] for name in removed_edges if name in old_edges]
    return {
        "old": result.old,
        "new": result.new,
        "identical": result.identical,
        "status": status,
        "notes": notes,
        "ghosts": ghosts,
        "changes": [dict(c.to_json(), text=_change_text(c)) for c in result.changes],
        "added_history": result.added_history,
        "removed_history": result.removed_history,
    }


def _change_text(change) -> str:
    from ..diff import _render_change

    return _render_change(change)


# --------------------------------------------------------------------------- run, video


def _run(circuit: Circuit, run) -> dict[str, Any]:
    """Lane 0 of a run: a thinned raster (first neurons of large populations) and exact population rates."""
    if list(run.population_names) != list(circuit.populations):
        raise ViewError(
            f"the run's populations ({len(run.population_names)}, e.g. {run.population_names[0]!r}) are not "
            f"the circuit's ({len(circuit.populations)}); pass the run of this circuit (run=)"
        )
    sizes = np.asarray(run.population_sizes, dtype=int)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    per_pop = max(1, MAX_RASTER_ROWS // max(len(sizes), 1))
    shown_rows = np.minimum(sizes, per_pop)
    row_start = np.concatenate([[0], np.cumsum(shown_rows)])
    raster: dict[str, Any] = {
        "times": [],
        "rows": [],
        "row_start": row_start.tolist(),
        "shown_rows": shown_rows.tolist(),
        "thinned": 1,
    }
    if run.spike_steps is not None:
        steps, neurons = np.asarray(run.spike_steps[0]), np.asarray(run.spike_neurons[0])
        pop = np.searchsorted(starts, neurons, side="right") - 1
        local = neurons - starts[pop]
        keep = local < shown_rows[pop]
        steps, pop, local = steps[keep], pop[keep], local[keep]
        thin = max(1, math.ceil(steps.size / MAX_RASTER_SPIKES))
        steps, pop, local = steps[::thin], pop[::thin], local[::thin]
        raster.update(
            times=np.round(steps * run.dt, 2).tolist(), rows=(row_start[pop] + local).astype(int).tolist(), thinned=thin
        )
    factor = max(1, round(max(RATE_BIN_MS, run.bin_ms) / run.bin_ms))
    counts = np.asarray(run.population_counts[0], dtype=float)
    n = counts.shape[0] // factor * factor
    binned = counts[:n].reshape(-1, factor, counts.shape[1]).sum(axis=1) if n else np.zeros((0, counts.shape[1]))
    bin_ms = run.bin_ms * factor
    rates = binned / (sizes[None, :] * bin_ms / 1000.0)
    out = {
        "seed": int(run.seeds[0]),
        "dt": run.dt,
        "duration_ms": run.duration_ms,
        "bin_ms": bin_ms,
        "populations": list(run.population_names),
        "sizes": sizes.tolist(),
        "mean_rates_hz": [round(float(r), 3) for r in run.population_rates_hz()[0]],
        "rates_hz": np.round(rates.T, 2).tolist(),
        "raster": raster,
        "gait": None,
        "provenance": {
            k: run.provenance.get(k) for k in ("circuit", "circuit_version", "circuit_sha256", "created", "encephagen")
        },
    }
    out["gait"] = _gait(circuit, run)
    return out


def _gait(circuit: Circuit, run) -> dict[str, Any] | None:
    """Gait metrics when the circuit declares motor pools (readouts named after the pool roles)."""
    from ..gait import ONE_SIDE_ROLES, POOL_ROLES, gait_metrics

    pools = {
        name: [t.population for t in r.terms if t.coefficient > 0]
        for name, r in circuit.readouts.items()
        if ONE_SIDE_ROLES.get(name, name) in POOL_ROLES
    }
    if not pools:
        return None
    try:
        metrics = gait_metrics(run, 0, pools=pools)
    except (EncephagenError, ValueError) as exc:
        return {"error": str(exc), "pools": pools}
    return {
        "metrics": {k: (None if not math.isfinite(v) else round(float(v), 4)) for k, v in metrics.items()},
        "pools": pools,
    }


def _video(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ViewError(f"{path}: no such video file; give the .mp4 that `encephagen run --video` wrote")
    if path.suffix.lower() not in (".mp4", ".webm"):
        raise ViewError(f"{path}: the page embeds .mp4 or .webm video; got {path.suffix or 'no suffix'}")
    mime = "video/mp4" if path.suffix.lower() == ".mp4" else "video/webm"
    return {"name": path.name, "src": f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")}
