"""The schema: committed JSON Schema kept current, shipped circuits valid under it, models' own checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from encephagen.locations import resolve_circuit_path, shipped_circuit_names, shipped_circuits_dir
from encephagen.schema import (
    SCHEMA_FILENAME,
    SCHEMA_VERSIONS,
    CellClass,
    Circuit,
    Parameter,
    Source,
    bump_version,
    generated_json_schema,
    v1,
)
from encephagen.storage import circuit_tree, json_schema_text, load_circuit, read_tree

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("version", sorted(SCHEMA_VERSIONS))
def test_committed_json_schema_is_current(version):
    module = SCHEMA_VERSIONS[version]
    committed = (shipped_circuits_dir() / module.SCHEMA_FILENAME).read_text(encoding="utf-8")
    assert json.loads(committed) == module.generated_json_schema(), (
        f"stale schema: run 'encephagen schema --version {version} --out circuits/{module.SCHEMA_FILENAME}'"
    )
    assert committed == json_schema_text(version)


def test_current_version_is_aliased():
    assert Circuit is SCHEMA_VERSIONS["2"].Circuit and SCHEMA_FILENAME == "circuit.schema.json"
    assert v1.SCHEMA_FILENAME == "circuit.v1.schema.json"


@pytest.mark.parametrize("name", shipped_circuit_names())
def test_shipped_circuit_satisfies_the_json_schema(name):
    jsonschema = pytest.importorskip("jsonschema", reason="the JSON Schema cross-check needs the jsonschema package")
    validator = jsonschema.Draft202012Validator(generated_json_schema())
    path = resolve_circuit_path(name)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(read_tree(path))]
    assert errors == []


def test_json_schema_rejects_what_the_models_reject():
    jsonschema = pytest.importorskip("jsonschema", reason="the JSON Schema cross-check needs the jsonschema package")
    validator = jsonschema.Draft202012Validator(generated_json_schema())
    old = jsonschema.Draft202012Validator(v1.generated_json_schema())
    for name in (
        "invalid_unknown_field.json",
        "invalid_rule_kind.json",
        "invalid_value_type.json",
        "invalid_missing.json",
    ):
        assert not old.is_valid(read_tree(FIXTURES / name)), name
    assert old.is_valid(read_tree(FIXTURES / "small.json"))
    migrated = circuit_tree(load_circuit(FIXTURES / "small.json"))
    assert validator.is_valid(migrated) and not validator.is_valid({**migrated, "schema_version": "1"})
    assert not validator.is_valid({**migrated, "parameters": {"w": {"value": 1.0, "unit": "V"}}})


@pytest.mark.parametrize(
    "name", [n for n in shipped_circuit_names() if (shipped_circuits_dir() / f"{n}.json").exists()]
)
def test_shipped_json_circuits_point_editors_at_the_schema(name):
    schema = read_tree(shipped_circuits_dir() / f"{name}.json").get("$schema")
    assert schema == SCHEMA_FILENAME, (
        f'editors cannot validate circuits/{name}.json: add "$schema": "{SCHEMA_FILENAME}" as its first key'
    )


def test_to_networkx_is_the_population_graph():
    circuit = load_circuit(FIXTURES / "small.json")
    graph = circuit.to_networkx()
    assert sorted(graph.nodes) == ["exc", "inh", "out"]
    assert graph.nodes["inh"] == {
        "cell_class": "V1",
        "sign": "inhibitory",
        "size": 4,
        "neuron_model": "lif",
        "drive": 6.0,
        "side": None,
        "region": None,
    }
    assert type(graph.nodes["inh"]["size"]) is int  # a size taken from a parameter is still a count
    edge = graph.edges["inh", "exc", "inh->exc"]
    assert (edge["rule"], edge["weight"], edge["weight_mode"], edge["delay"]) == (
        "fixed_probability",
        -1.0,
        "per_synapse",
        0.1,
    )
    assert graph.edges["exc", "out", "exc->out"]["weight"] == 1.5
    matrix_edges = sorted((s, t, k) for s, t, k, d in graph.edges(keys=True, data=True) if d["rule"] == "matrix")
    assert matrix_edges == [("exc", "out", "exc<->out[1,0]"), ("out", "exc", "exc<->out[0,1]")]
    assert graph.number_of_edges() == len(circuit.projections) + 2


def test_models_are_frozen_and_strict():
    circuit = load_circuit(FIXTURES / "small.json")
    with pytest.raises(ValidationError):
        circuit.name = "other"
    with pytest.raises(ValidationError, match="extra"):
        Parameter.model_validate({"value": 1.0, "vlaue": 2.0})
    with pytest.raises(ValidationError, match="finite"):
        Parameter.model_validate({"value": float("nan")})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"value": 1.0, "free": True}, "a free parameter needs bounds"),
        ({"value": 1.0, "bounds": [2.0, 1.0]}, "low < high"),
        ({"value": 1.0, "bounds": [0.0, 2.0], "scale": "log"}, "log scale needs positive bounds"),
    ],
)
def test_parameter_checks(spec, message):
    with pytest.raises(ValidationError, match=message):
        Parameter.model_validate(spec)


def test_cell_class_sign_follows_transmitter():
    assert CellClass(transmitter="glycine").effective_sign == "inhibitory"
    assert CellClass(transmitter="unknown", sign="mixed").effective_sign == "mixed"
    with pytest.raises(ValidationError, match="needs an explicit sign"):
        CellClass(transmitter="unknown")
    with pytest.raises(ValidationError, match="contradicts"):
        CellClass(transmitter="GABA", sign="excitatory")


def test_with_parameter_values_makes_a_new_circuit():
    circuit = load_circuit(FIXTURES / "small.json")
    changed = circuit.with_parameter_values({"w_exc": 0.75})
    assert (changed.parameters["w_exc"].value, circuit.parameters["w_exc"].value) == (0.75, 0.5)
    assert isinstance(changed, Circuit)


def test_bump_version():
    assert [bump_version("1.2.3", part) for part in ("major", "minor", "patch")] == ["2.0.0", "1.3.0", "1.2.4"]


def test_units_come_from_a_vocabulary_checked_against_each_field(tmp_path):
    """A mV drive given in volts is refused by the schema; a parameter in ms used as a weight by the rules."""
    with pytest.raises(ValidationError, match="'mV'"):
        Parameter.model_validate({"value": 0.02, "unit": "V"})
    tree = circuit_tree(load_circuit(FIXTURES / "small.json"))
    tree["parameters"]["w_exc"]["unit"] = "ms"
    (tmp_path / "c.json").write_text(json.dumps(tree))
    from encephagen.validation import validate_file

    messages = [str(p) for p in validate_file(str(tmp_path / "c.json")).problems]
    assert messages == [
        f"{tmp_path / 'c.json'}:/parameters/w_exc/unit: parameter 'w_exc' is used as weight at "
        '/projections/exc->inh/weight, which is in mV; got unit \'ms\'. Give the value in mV and set "unit": "mV"'
    ]


def test_sources_need_their_particulars():
    assert Source(kind="calibrated", history="1.1.0").history == "1.1.0"
    for spec, missing in (
        ({"kind": "literature"}, "ref"),
        ({"kind": "calibrated"}, "history"),
        ({"kind": "hand-set"}, "reason"),
    ):
        with pytest.raises(ValidationError, match=f"needs '{missing}'"):
            Source.model_validate(spec)


def test_notebook_representations_are_short():
    circuit = load_circuit("celegans")
    assert len(repr(circuit)) < 300 and repr(circuit).startswith("<Circuit celegans")
    html = circuit._repr_html_()
    assert html.startswith("<table>") and html.count("<tr>") <= 10


def test_source_counts_of_spinal_cpg():
    counts = load_circuit("spinal_cpg").source_counts()
    assert counts["unsourced"] == 0 and counts["calibrated"] > 0 and counts["hand-set"] > 0


def test_no_shipped_resting_potential_is_above_threshold():
    for name in shipped_circuit_names():
        circuit = load_circuit(name)
        for model_name, model in circuit.neuron_models.items():
            assert circuit.resolve(model.v_rest) < circuit.resolve(model.v_threshold), (name, model_name)
