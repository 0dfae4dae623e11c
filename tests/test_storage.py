"""Storage: canonical JSON, lossless HDF5, and loaders that refuse bad files with one clear message."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import pytest
from circuit_strategies import JSON_TREES, circuit_trees
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import encephagen.hdf5_codec as hdf5_codec_module
import encephagen.locations as locations_module
import encephagen.storage as storage
from encephagen.errors import CircuitError, CircuitFileError, UnknownNameError
from encephagen.json_codec import dumps_canonical
from encephagen.locations import shipped_circuit_names, shipped_circuits_dir
from encephagen.storage import (
    circuit_from_tree,
    circuit_tree,
    load_circuit,
    read_tree,
    save_circuit,
    save_tree,
    textconv_text,
)

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "small.json"
SMALL_V2 = FIXTURES / "small_v2.json"


# --------------------------------------------------------------------------- lossless round trips


@pytest.mark.parametrize("name", shipped_circuit_names())
def test_shipped_circuit_json_to_hdf5_to_json_is_byte_identical(name, tmp_path):
    circuit = load_circuit(name, check_arrays=False)
    canonical = dumps_canonical(circuit_tree(circuit))
    h5 = save_circuit(circuit, tmp_path / f"{name}.h5")
    assert read_tree(h5) == json.loads(canonical)
    back = save_circuit(load_circuit(h5, check_rules=False), tmp_path / f"{name}.json")
    assert back.read_text(encoding="utf-8") == canonical


def test_canonical_file_survives_json_hdf5_json_byte_for_byte(tmp_path):
    original = SMALL_V2.read_bytes()
    assert dumps_canonical(circuit_tree(load_circuit(SMALL))).encode() == original  # the version-1 file, converted
    save_circuit(load_circuit(SMALL_V2), tmp_path / "small.h5")
    save_circuit(load_circuit(tmp_path / "small.h5"), tmp_path / "small.json")
    assert (tmp_path / "small.json").read_bytes() == original


def test_changing_one_weight_changes_one_line(tmp_path):
    circuit = load_circuit(SMALL)
    before = dumps_canonical(circuit_tree(circuit)).splitlines()
    after = dumps_canonical(circuit_tree(circuit.with_parameter_values({"w_exc": 0.625}))).splitlines()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and len(changed) == 1 and changed[0][0].replace("0.5,", "0.625,") == changed[0][1]


def test_canonical_json_format():
    text = dumps_canonical(
        {"b": [1, 2.5, 0.1], "a": {}, "c": [], "u": "ü", "n": None, "t": True, "m": [[1.0, 2.0], {"k": 1e-300}]}
    )
    assert text == (
        '{\n  "b": [1, 2.5, 0.1],\n  "a": {},\n  "c": [],\n  "u": "ü",\n  "n": null,\n  "t": true,\n'
        '  "m": [[1.0, 2.0], {"k": 1e-300}]\n}\n'
    )
    long = {"p": {"value": 1.0, "description": "x" * 120}, "history": [{"details": {"a": {"b": 1}, "c": "y" * 120}}]}
    assert dumps_canonical(long) == (
        '{\n  "p": {\n    "value": 1.0,\n    "description": "' + "x" * 120 + '"\n  },\n'
        '  "history": [\n    {\n      "details": {\n        "a": {"b": 1},\n        "c": "'
        + "y" * 120
        + '"\n      }\n    }\n  ]\n}\n'
    )
    with pytest.raises(ValueError, match="non-finite"):
        dumps_canonical({"x": float("nan")})


EDGE_TREE = {
    "": 1,
    ".": [],
    "a/b": {},
    "encephagen_kind": "not ours",
    "length": 3,
    "unicode": "ünï ✓ \x00 \n",
    "mixed": [1, 2.5, True, None, "s", {"k": []}, [1, 2]],
    "ints": [1, -2, 2**63 - 1],
    "floats": [1.0, -0.0, 5e-324, 1.7976931348623157e308],
    "big_ints": [2**70, 1],
    "int_float_rows": [[1, 2], [3.0, 4.0]],
    "matrix": [[1.5, 2.0], [3.0, 4.0]],
    "cube": [[[1, 2]], [[3, 4]]],
    "ragged": [[1], [2, 3]],
    "empty_rows": [[], []],
    "bools": [True, False],
    "strings": ["x", ""],
    "none": None,
    "false": False,
    "zero": 0,
    "dicts": [{"a": 1}, {"b": [1.0]}, {}],
    "arrays": {"a/b": [list(range(70))], "encephagen_x": [float(i) for i in range(64)], "short": [1.0] * 63},
}


@pytest.mark.parametrize(
    ("suffix", "dataset_min"),
    [(".h5", 1), (".h5", hdf5_codec_module.DATASET_MIN), (".json", hdf5_codec_module.DATASET_MIN)],
)
def test_tree_mapping_edge_cases(tmp_path, monkeypatch, suffix, dataset_min):
    monkeypatch.setattr(
        hdf5_codec_module, "DATASET_MIN", dataset_min
    )  # 1: every array a dataset, every container a group
    path = tmp_path / f"tree{suffix}"
    save_tree(EDGE_TREE, path)
    back = read_tree(path)
    assert json.dumps(back) == json.dumps(EDGE_TREE)  # also tells 1 from 1.0 and keeps key order


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(tree=circuit_trees(), suffix=st.sampled_from([".json", ".h5"]))
def test_random_circuits_load_save_load(tmp_path, tree, suffix):
    circuit = circuit_from_tree(tree, "random")
    path = save_circuit(circuit, tmp_path / f"c{suffix}", overwrite=True)
    again = load_circuit(path)
    assert again == circuit and again.source_path != circuit.source_path  # content equal, wherever loaded from
    assert json.dumps(circuit_tree(again)) == json.dumps(circuit_tree(circuit))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=st.dictionaries(st.text(max_size=6), JSON_TREES, max_size=5))
def test_random_json_trees_survive_hdf5(tmp_path, monkeypatch, tree):
    monkeypatch.setattr(hdf5_codec_module, "DATASET_MIN", 1)
    save_tree(tree, tmp_path / "t.h5")
    assert json.dumps(read_tree(tmp_path / "t.h5")) == json.dumps(tree)


def test_save_refuses_to_overwrite_and_leaves_no_temporary_files(tmp_path):
    circuit = load_circuit(SMALL)
    save_circuit(circuit, tmp_path / "c.json")
    with pytest.raises(CircuitFileError, match="already exists"):
        save_circuit(circuit, tmp_path / "c.json")
    save_circuit(circuit, tmp_path / "c.json", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


# --------------------------------------------------------------------------- bad files


def _error(path) -> str:
    with pytest.raises((CircuitError, CircuitFileError, UnknownNameError)) as info:
        load_circuit(path)
    return str(info.value)


def test_missing_file_directory_and_empty_file(tmp_path):
    assert _error(tmp_path / "nope.json") == f"{tmp_path / 'nope.json'}: no such file"
    assert _error(tmp_path) == f"{tmp_path}: is a directory, not a circuit file"
    (tmp_path / "empty.json").write_bytes(b"")
    assert _error(tmp_path / "empty.json") == f"{tmp_path / 'empty.json'}: file is empty"


def test_unknown_circuit_name_suggests_a_shipped_one():
    assert (
        _error("half_centr")
        == "unknown circuit (not a file, not a shipped circuit) 'half_centr'; did you mean 'half_centre'?"
    )


def test_shipped_circuit_by_file_name():
    assert locations_module.resolve_circuit_path("half_centre.json") == shipped_circuits_dir() / "half_centre.json"


def test_unreadable_file(tmp_path, monkeypatch):
    # tests run as root, which reads everything: simulate a file this user may not read
    path = tmp_path / "secret.json"
    shutil.copy(SMALL, path)
    monkeypatch.setattr(storage.os, "access", lambda p, mode: Path(p) != path)
    assert _error(path) == f"{path}: permission denied (not readable by this user)"


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(locations_module, "MAX_FILE_BYTES", 100)
    assert (
        _error(SMALL)
        == f"{SMALL}: file is {SMALL.stat().st_size / 1024**3:.1f} GiB, over the 0 GiB limit for circuit files"
    )


def test_non_hdf5_file_named_h5(tmp_path):
    shutil.copy(SMALL, tmp_path / "fake.h5")
    assert (
        _error(tmp_path / "fake.h5")
        == f"{tmp_path / 'fake.h5'}: not an HDF5 file (it does not start with the HDF5 signature); is it truncated or mislabelled?"
    )


def test_truncated_hdf5(tmp_path):
    save_circuit(load_circuit(SMALL), tmp_path / "c.h5")
    data = (tmp_path / "c.h5").read_bytes()
    (tmp_path / "c.h5").write_bytes(data[: len(data) // 2])
    message = _error(tmp_path / "c.h5")
    assert message.startswith(f"{tmp_path / 'c.h5'}: cannot open as HDF5 (") and message.endswith("); is it truncated?")


def test_hdf5_that_is_not_a_circuit(tmp_path):
    with h5py.File(tmp_path / "data.h5", "w") as h5:
        h5["sc"] = [[0.0, 1.0], [1.0, 0.0]]
    assert (
        _error(tmp_path / "data.h5")
        == f"{tmp_path / 'data.h5'}:/: not an encephagen circuit (no encephagen_kind attribute). Write HDF5 circuits with 'encephagen convert'"
    )
    assert textconv_text(tmp_path / "data.h5").splitlines()[1].startswith("/sc: shape [2, 2] float64 sha256 ")


def test_damaged_hdf5_tree_is_located(tmp_path, monkeypatch):
    monkeypatch.setattr(hdf5_codec_module, "DATASET_MIN", 1)
    save_circuit(load_circuit(SMALL), tmp_path / "c.h5")
    with h5py.File(tmp_path / "c.h5", "a") as h5:
        h5["history"].attrs["length"] = 10**12  # must not allocate 10**12 keys
    message = _error(tmp_path / "c.h5")
    assert (
        message
        == f"{tmp_path / 'c.h5'}:/history: damaged HDF5 circuit: list length 1000000000000 does not match its 4 members. Re-create it with 'encephagen convert' from the JSON form"
    )


def test_schema_errors_inside_hdf5_use_the_same_pointers(tmp_path, monkeypatch):
    monkeypatch.setattr(hdf5_codec_module, "DATASET_MIN", 1)
    save_circuit(load_circuit(SMALL), tmp_path / "c.h5")
    with h5py.File(tmp_path / "c.h5", "a") as h5:
        projection = json.loads(h5["projections"].attrs["exc->out"])
        h5["projections"].attrs["exc->out"] = json.dumps({**projection, "weight": "abc"})
        h5["projections/inh->out/rule/source_index"][0] = 9
        h5.attrs["authors"] = "[1, 2"
    assert (
        _error(tmp_path / "c.h5")
        == f"{tmp_path / 'c.h5'}:/authors: damaged HDF5 circuit: attribute is not a JSON value; got '[1, 2'. Re-create it with 'encephagen convert' from the JSON form"
    )
    with h5py.File(tmp_path / "c.h5", "a") as h5:
        h5.attrs["authors"] = "[]"
    assert (
        _error(tmp_path / "c.h5")
        == f'{tmp_path / "c.h5"}:/projections/exc->out/weight: expected a number or {{"param": NAME}}; got "abc"'
    )
    with h5py.File(tmp_path / "c.h5", "a") as h5:
        h5["projections"].attrs["exc->out"] = json.dumps({**projection, "weight": 1.5})
    assert (
        _error(tmp_path / "c.h5")
        == f"{tmp_path / 'c.h5'}:/projections/inh->out/rule/source_index/0: index outside population 'inh' of size 4; got 9. Indices run from 0 to 3"
    )


def test_large_arrays_are_datasets(tmp_path):
    tree = circuit_tree(load_circuit(SMALL))
    rule = tree["projections"]["inh->out"]["rule"]
    n = hdf5_codec_module.DATASET_MIN
    rule.update(source_index=[i % 4 for i in range(n)], target_index=[i % 3 for i in range(n)], weight_factor=[1.0] * n)
    save_tree(tree, tmp_path / "c.h5")
    with h5py.File(tmp_path / "c.h5", "r") as h5:
        assert h5["projections/inh->out/rule/source_index"].dtype == "int64"
        assert h5["projections/inh->out/rule/weight_factor"].shape == (n,)
        assert "exc->inh" in h5["projections"].attrs  # small items stay JSON attributes
    assert read_tree(tmp_path / "c.h5") == tree


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"\xff\xfe{}", "not UTF-8 text (byte 0); is it a binary file?"),
        (b"[1, 2]", ":/: a circuit file holds one JSON object; got [1, 2]. Wrap the content in { ... }"),
        (b"[" * 100_000, ":/: JSON nested too deeply. A circuit file is at most a few levels deep"),
        (
            b'{"a": -Infinity}',
            ":/a: not a finite number; got -Infinity. A circuit holds finite numbers only (JSON itself has no NaN or Infinity)",
        ),
        (
            b'{"a": ' + b"9" * 5000 + b"}",
            ":/a: number out of range; got 999999999999999999999999999999999999999999999999999999999.... Use a number a 64-bit float can hold (magnitude below 1.8e308)",
        ),
    ],
)
def test_bad_json_text(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_bytes(text)
    assert _error(path) == f"{path}{'' if message.startswith(':') else ': '}{message}"


def test_every_problem_is_reported_at_once():
    with pytest.raises(CircuitError) as info:
        load_circuit(FIXTURES / "invalid_value_type.json")
    assert len(info.value.problems) == 3
    assert isinstance(info.value, ValueError)


def test_nothing_is_executed_or_unpickled(tmp_path):
    path = tmp_path / "obj.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["encephagen_kind"] = "object"
        h5.attrs["encephagen_order"] = '["x"]'
        h5.create_dataset("x", data=[b"cos\nsystem\n"], dtype=h5py.string_dtype())
    assert (
        _error(path)
        == f"{path}:/x: damaged HDF5 circuit: dataset of dtype object and shape (1,); expected an array of numbers. Re-create it with 'encephagen convert' from the JSON form"
    )
    assert os.path.exists(path)
