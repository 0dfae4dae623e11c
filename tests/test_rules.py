"""Circuit rules and the one report: every invalid fixture pinned to its exact messages."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from circuit_strategies import circuit_trees
from hypothesis import HealthCheck, given, settings

from encephagen.errors import CircuitError
from encephagen.rules import array_checksum, check_circuit, estimate_size
from encephagen.storage import circuit_from_tree, load_circuit, read_tree, save_tree
from encephagen.validation import validate_file

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "small.json"

# every tests/fixtures/invalid_*.json with the exact lines `validate` prints, after the file name
EXPECTED = {
    "invalid_absurd_size.json": [
        ":/: circuit too large (limits 50,000,000 neurons, 2,000,000,000 synapses, 32 GiB compiled); got about 1.00e+12 neurons, 5.00e+12 synapses, 223,517 GiB. Split the circuit, lower sizes or probabilities, or export to NEST for a cluster",
    ],
    "invalid_bounds.json": [
        ":/parameters/w_exc/value: value lies outside its bounds [0.1, 2]; got 3. Move the value inside the bounds or widen them",
    ],
    "invalid_dale.json": [
        ":/projections/exc->out/weight: weight from 'exc' must be ≥ 0: its cell class 'V2a' is excitatory (Dale's law); got -1.5. Excitatory sources act through positive weights; to inhibit, route the projection through an inhibitory population",
        ":/projections/inh->out/weight: weight from 'inh' must be ≤ 0: its cell class 'V1' is inhibitory (Dale's law); got 0.75. Inhibitory weights are negative",
    ],
    "invalid_duplicate_key.json": [
        ":/: duplicate key 'name'. Every name must appear once in its object; rename or merge the two entries",
    ],
    "invalid_missing.json": [
        ":/: missing required field 'name' (a string). Add it (see circuit.schema.json)",
        ":/populations/exc: missing required field 'neuron_model' (a string). Add it (see circuit.schema.json)",
    ],
    "invalid_nan.json": [
        ":/parameters/drive/value: number out of range; got 1e999. Use a number a 64-bit float can hold (magnitude below 1.8e308)",
        ":/projections/exc->out/weight: not a finite number; got NaN. A circuit holds finite numbers only (JSON itself has no NaN or Infinity)",
    ],
    "invalid_param_ref.json": [
        ":/populations/exc/drive: missing required field 'param' (a string). Add it (see circuit.schema.json)",
        ":/populations/exc/drive/parm: unknown field 'parm'; did you mean 'param'?",
    ],
    "invalid_probability.json": [
        ":/projections/inh->exc/rule/probability: probability must lie in [0, 1]; got 1.5",
    ],
    "invalid_references.json": [
        ":/populations/exc/cell_class: unknown cell class 'V2A'; did you mean 'V2a'?",
        ":/projections/exc->out/target: unknown population 'ou'; did you mean 'out'?",
        ":/populations/exc/drive/param: unknown parameter 'drives'; did you mean 'drive'?",
    ],
    "invalid_rule_kind.json": [
        ":/projections/inh->exc/rule: unknown rule kind 'fixed_probabilty'; did you mean 'fixed_probability'?",
    ],
    "invalid_syntax.json": [
        ":/: malformed JSON at line 5, column 3: Expecting ',' delimiter. Fix the syntax there (a missing comma, quote or bracket is the usual cause)",
    ],
    "invalid_unknown_field.json": [
        ":/populations/exc/sise: unknown field 'sise'; did you mean 'size'?",
    ],
    "invalid_value_type.json": [
        ':/neuron_models/lif/tau_m: expected a number or {"param": NAME}; got true',
        ':/populations/out/size: expected a whole number ≥ 1 or {"param": NAME}; got "3"',
        ':/projections/exc->out/weight: expected a number or {"param": NAME}; got "abc"',
    ],
}


def test_every_invalid_fixture_is_pinned():
    assert sorted(p.name for p in FIXTURES.glob("invalid_*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_fixture_gives_its_exact_messages(name):
    path = FIXTURES / name
    with pytest.raises(CircuitError) as info:
        load_circuit(path)
    assert [str(p) for p in info.value.problems] == [f"{path}{line}" for line in EXPECTED[name]]


def test_valid_fixture_has_no_problems():
    assert check_circuit(load_circuit(SMALL), "small.json") == []


def _problems(tree, tmp_path=None) -> list[str]:
    circuit = circuit_from_tree(tree, "c.json")
    return [str(p) for p in check_circuit(circuit, "c.json", base_dir=tmp_path)]


def _small() -> dict:
    return read_tree(SMALL)


def test_structural_rules():
    tree = _small()
    tree["projections"]["exc->inh"]["target"] = "out"  # one_to_one 4 -> 3
    tree["projections"]["exc->out"]["rule"]["indegree"] = 5
    tree["populations"]["inh"]["size"] = {"param": "w_exc"}  # 0.5 neurons, and free
    tree["neuron_models"]["lif"]["v_reset"] = 10.0
    tree["neuron_models"]["lif"]["tau_m"] = {"param": "w_inh"}
    tree["history"][-1]["version"] = "1.0.1"
    assert _problems(tree) == [
        "c.json:/neuron_models/lif/tau_m: tau_m (ms) must be > 0 over the whole calibration range; got -4",
        "c.json:/neuron_models/lif/v_reset: v_reset must lie below v_threshold (10 mV); got 10 mV. Otherwise the neuron fires at every step after its refractory period",
        "c.json:/populations/inh/size: size must be a positive whole number; got 0.5 from parameter 'w_exc'",
        "c.json:/populations/inh/size: size refers to free parameter 'w_exc'. Population sizes are structural; calibrate weights, drives and time constants instead",
        "c.json:/projections/exc->inh/rule: one_to_one needs equal sizes; got 4 neurons in 'exc' and 3 in 'out'. Use all_to_all or fixed_probability, or make the sizes equal",
        "c.json:/projections/exc->out/rule/indegree: indegree exceeds the 4 distinct sources available; got 5. Lower the indegree or enlarge the source population",
        "c.json:/parameters/w_inh/unit: parameter 'w_inh' is used as tau_m at /neuron_models/lif/tau_m, which is in ms; got unit 'mV'. Give the value in ms and set \"unit\": \"ms\"",
        "c.json:/parameters/w_exc/unit: parameter 'w_exc' is used as size at /populations/inh/size, which is in 1; got unit 'mV'. Give the value in 1 and set \"unit\": \"1\"",
        "c.json:/history/1/version: last history entry must have the circuit's version 1.1.0; got 1.0.1. Each new version appends a history entry with its version",
    ]


def test_names_are_unique_across_populations_and_projections():
    tree = _small()
    tree["projections"]["exc"] = tree["projections"].pop("exc->exc")
    assert _problems(tree) == [
        "c.json:/projections/exc: name 'exc' is already used under /populations. Populations and (matrix) projections need distinct names; rename one"
    ]


def test_dale_over_the_calibration_range():
    tree = _small()
    tree["parameters"]["w_inh"]["bounds"] = [-4.0, 0.5]
    assert _problems(tree) == [
        "c.json:/projections/inh->exc/weight: weight from 'inh' must be ≤ 0 over its whole calibration range: its cell class 'V1' is inhibitory (Dale's law); got 0.5. Inhibitory weights are negative"
    ]


def test_size_estimate_per_projection():
    estimate = estimate_size(load_circuit(SMALL))
    # one_to_one 4; p=0.5 of 4x4; all_to_all 4x4; indegree 2 onto 3; 3 edges; matrix 0.25 of out->exc (3x4) + 0.5 of exc->out
    assert estimate.per_projection == {
        "exc->inh": 4.0,
        "inh->exc": 8.0,
        "exc->exc": 16.0,
        "exc->out": 6.0,
        "inh->out": 3.0,
        "exc<->out": 9.0,
    }
    assert (estimate.neurons, estimate.synapses, estimate.compiled_bytes) == (11, 46.0, 46 * 16 + 11 * 160)


def test_size_estimate_falls_back_to_the_bound_when_an_array_cannot_be_read(tmp_path):
    tree = _small()
    tree["matrix_projections"]["exc<->out"]["probability"]["array"] = {
        "file": "missing.h5",
        "dataset": "/sc",
        "sha256": "0" * 64,
        "shape": [2, 2],
    }
    circuit = circuit_from_tree(tree, str(tmp_path / "c.json"))
    assert estimate_size(circuit).per_projection["exc<->out"] == 49.0  # every pair of (4 + 3) x (4 + 3)


def _array_tree(tmp_path: Path, data: np.ndarray, **ref) -> dict:
    with h5py.File(tmp_path / "arrays.h5", "w") as h5:
        h5["group/sc"] = data
    tree = _small()
    array = {"file": "arrays.h5", "dataset": "/group/sc", "sha256": array_checksum(data), "shape": [2, 2], **ref}
    tree["matrix_projections"]["exc<->out"]["probability"]["array"] = array
    return tree


def test_array_files_are_checked(tmp_path):
    data = np.array([[0.0, 0.5], [0.25, 0.0]])
    assert _problems(_array_tree(tmp_path, data), tmp_path) == []
    pointer = "c.json:/matrix_projections/exc<->out/probability/array"
    assert _problems(_array_tree(tmp_path, data, dataset="/group/cs"), tmp_path) == [
        f"{pointer}/dataset: dataset '/group/cs' not in arrays.h5; did you mean '/group/sc'?"
    ]
    assert _problems(_array_tree(tmp_path, data, sha256="0" * 64), tmp_path) == [
        f"{pointer}/sha256: checksum mismatch for arrays.h5:/group/sc; got {array_checksum(data)}. The data changed since the circuit was written; re-import it or update the checksum deliberately"
    ]
    assert _problems(_array_tree(tmp_path, np.zeros((2, 3))), tmp_path) == [
        f"{pointer}/shape: dataset '/group/sc' does not have the declared shape [2, 2]; got [2, 3]"
    ]
    assert (
        _problems(_array_tree(tmp_path, data, shape=[3, 2]), tmp_path)[0]
        == f"{pointer}/shape: declared shape must be [targets, sources] = [2, 2]; got [3, 2]"
    )
    assert _problems(_array_tree(tmp_path, data, file="nope.h5"), tmp_path) == [
        f"{pointer}/file: array file 'nope.h5' not found (looked at {tmp_path / 'nope.h5'}). Paths are relative to the circuit file"
    ]
    (tmp_path / "text.h5").write_text("not hdf5")
    assert _problems(_array_tree(tmp_path, data, file="text.h5"), tmp_path)[0].startswith(
        f"{pointer}/file: cannot read text.h5 as HDF5: "
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(circuit_trees(dangling=True))
def test_rules_never_crash_on_broken_circuits(tree):
    """Dangling names, wrong signs and bad probabilities give located problems, never an exception."""
    try:
        problems = check_circuit(circuit_from_tree(tree, "c.json"), "c.json")
    except CircuitError as exc:
        problems = exc.problems
    for problem in problems:
        assert problem.file == "c.json" and (problem.pointer == "" or problem.pointer.startswith("/"))
        assert "Traceback" not in str(problem)


@settings(max_examples=25, deadline=None)
@given(circuit_trees())
def test_random_valid_circuits_pass_the_rules(tree):
    assert check_circuit(circuit_from_tree(tree, "c.json"), "c.json") == []


def test_validate_file_report(tmp_path):
    report = validate_file(str(SMALL))
    assert report.valid and report.render() == f"{SMALL}: valid (3 populations, 11 neurons, about 46 synapses)\n"
    bad = validate_file(str(tmp_path / "missing.json"))
    assert not bad.valid and bad.to_json()["error"] == f"{tmp_path / 'missing.json'}: no such file"
    invalid = validate_file(str(FIXTURES / "invalid_dale.json")).to_json()
    assert [p["pointer"] for p in invalid["problems"]] == [
        "/projections/exc->out/weight",
        "/projections/inh->out/weight",
    ]
    save_tree(read_tree(SMALL), tmp_path / "small.h5")
    assert validate_file(str(tmp_path / "small.h5")).valid


def test_validate_reports_schema_and_rule_problems_in_one_pass(tmp_path):
    """A schema error in one projection does not hide a Dale violation in another (one run, both)."""
    tree = read_tree(SMALL)
    tree["projections"]["exc->inh"]["weight"] = "strong"  # schema
    tree["projections"]["exc->out"]["weight"] = -1.0  # rule: excitatory source, negative weight
    path = tmp_path / "both.json"
    save_tree(tree, path)
    pointers = [p.pointer for p in validate_file(str(path)).problems]
    assert pointers == ["/projections/exc->inh/weight", "/projections/exc->out/weight"]


def test_one_pass_drops_only_rule_problems_about_what_the_schema_rejected(tmp_path):
    """A population with a schema problem is left out; projections from it are not reported again,
    but a Dale violation elsewhere (whose message says 'excitatory') still is."""
    tree = read_tree(SMALL)
    tree["populations"]["inh"]["neuron_model"] = 3  # schema
    tree["projections"]["exc->out"]["weight"] = -1.0  # rule
    path = tmp_path / "both.json"
    save_tree(tree, path)
    problems = validate_file(str(path)).problems
    assert [p.pointer for p in problems] == ["/populations/inh/neuron_model", "/projections/exc->out/weight"]
    assert "excitatory" in problems[1].message
