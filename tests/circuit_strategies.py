"""Hypothesis strategies for random small circuits (raw trees, before validation).

``circuit_trees()`` draws structurally valid circuits that obey the circuit rules; with
``dangling=True`` names may point nowhere and values may break the rules, which is what
the rules must report without crashing.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

NAMES = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_.:+\-<>]{0,8}\Z")
FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)
JSON_LEAVES = (
    st.none() | st.booleans() | st.integers() | FINITE | st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
)
JSON_TREES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=("Cs",)), max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
"""Any JSON value: the free-form `details` of history entries, and a test of the HDF5 tree mapping."""


@st.composite
def circuit_trees(draw: Any, dangling: bool = False) -> dict[str, Any]:
    text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
    pop_names = [
        "P" + name for name in draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    ]  # never a projection name
    sizes = {p: draw(st.integers(1, 6)) for p in pop_names}
    signs = {p: draw(st.sampled_from(["exc", "inh"])) for p in pop_names}
    magnitude = st.floats(0.0, 5.0)

    def name_of(known: list[str]) -> str:
        return draw(NAMES) if dangling and draw(st.booleans()) else draw(st.sampled_from(known))

    parameters = {
        "g": {
            "value": 1.0,
            "free": True,
            "bounds": [0.5, 2.0],
            "scale": draw(st.sampled_from(["linear", "log"])),
            "description": draw(text),
        },
        "d": {"value": draw(FINITE if dangling else st.floats(0, 30)), "unit": "mV"},
    }
    populations: dict[str, Any] = {}
    for p in pop_names:
        pop: dict[str, Any] = {
            "cell_class": name_of(["exc", "inh"]) if dangling else signs[p],
            "size": sizes[p],
            "neuron_model": name_of(["lif"]),
        }
        pop["drive"] = draw(st.sampled_from([0.0, {"param": name_of(["d"])}, {"param": "d", "factor": 0.5}]))
        pop["initial_v"] = draw(st.sampled_from([None, 1.0, {"uniform": [0.0, 5.0]}]))
        pop["side"] = draw(st.sampled_from([None, "left", "right", "midline"]))
        pop["region"] = draw(st.none() | text)
        populations[p] = {k: v for k, v in pop.items() if v is not None}
    projections: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 5))):
        source, target = draw(st.sampled_from(pop_names)), draw(st.sampled_from(pop_names))
        n_s, n_t = sizes[source], sizes[target]
        rules = [
            {"kind": "all_to_all", "autapses": draw(st.booleans())},
            {
                "kind": "fixed_probability",
                "probability": draw(st.floats(-1, 2) if dangling else st.floats(0, 1)),
                "seed": draw(st.integers(0, 2**63)),
            },
            {
                "kind": "fixed_indegree",
                "indegree": draw(st.integers(0, n_s - 1 if source == target else n_s)),
                "seed": 1,
                "autapses": False,
            },
            {
                "kind": "edge_list",
                "source_index": draw(st.lists(st.integers(0, n_s - 1), min_size=2, max_size=2)),
                "target_index": draw(st.lists(st.integers(0, n_t - 1), min_size=2, max_size=2)),
                "weight_factor": [1.0, 2.5],
            },
        ]
        if n_s == n_t:
            rules.append({"kind": "one_to_one"})
        sign = 1.0 if signs[source] == "exc" else -1.0
        weight = draw(st.sampled_from([sign * draw(magnitude), {"param": "g", "factor": sign}]))
        if dangling:
            weight = draw(st.sampled_from([weight, -weight if isinstance(weight, float) else {"param": draw(NAMES)}]))
        projections[f"p{i}"] = {
            "source": name_of(pop_names) if dangling else source,
            "target": target,
            "rule": draw(st.sampled_from(rules)),
            "weight": weight,
            "weight_mode": draw(st.sampled_from(["per_synapse", "total"])),
            "delay": draw(st.floats(0.1, 10)),
            "description": draw(text),
        }
    matrix_projections = {}
    targets = draw(st.lists(st.sampled_from(pop_names), min_size=1, max_size=3, unique=True))
    sources = [p for p in targets if signs[p] == "exc" or dangling]
    if sources and draw(st.booleans()):
        rows = st.lists(
            st.lists(st.floats(0, 1), min_size=len(sources), max_size=len(sources)),
            min_size=len(targets),
            max_size=len(targets),
        )
        matrix_projections["m"] = {
            "sources": sources,
            "targets": targets,
            "probability": {"array": draw(rows)},
            "weight": {"array": draw(rows), "scale": 0.5},
            "seed": 3,
        }
    history = [
        {
            "version": "0.1.0",
            "date": "2026-01-01T00:00:00Z",
            "author": draw(text),
            "action": "created",
            "details": draw(st.dictionaries(text, JSON_TREES, max_size=3)),
        }
    ]
    tree = {
        "schema_version": "1",
        "name": draw(NAMES),
        "version": "0.1.0",
        "description": draw(text),
        "authors": draw(st.lists(text, max_size=2)),
        "parameters": parameters,
        "neuron_models": {
            "lif": {
                "tau_m": draw(st.floats(0.5, 50)),
                "v_threshold": 10.0,
                "v_reset": draw(st.floats(-10, 5)),
                "noise_sigma": draw(st.floats(0, 2)),
            }
        },
        "cell_classes": {
            "exc": {"transmitter": "glutamate"},
            "inh": {"transmitter": draw(st.sampled_from(["GABA", "glycine", "GABA+glycine"]))},
        },
        "populations": populations,
        "projections": projections,
        "matrix_projections": matrix_projections,
        "readouts": {"r": {"terms": [{"population": name_of(pop_names), "coefficient": draw(FINITE)}]}},
        "history": history,
    }
    return tree
