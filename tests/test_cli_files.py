"""The file commands through click's runner: exit codes and exact output lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import encephagen.upgrades as upgrades_module
from encephagen.cli.main import cli
from encephagen.locations import shipped_circuit_names
from encephagen.storage import json_schema_text, load_circuit, read_tree, save_tree

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "small.json"
SMALL_V2 = FIXTURES / "small_v2.json"
COMMANDS = ["validate", "show", "diff", "convert", "schema", "migrate"]


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _edited(tmp_path: Path, edit, name: str = "new.json") -> Path:
    tree = read_tree(SMALL)
    edit(tree)
    save_tree(tree, tmp_path / name)
    return tmp_path / name


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0 and "Examples:" in result.output and f"encephagen {command}" in result.output


# --------------------------------------------------------------------------- validate


def test_validate_valid_files_and_shipped_names():
    result = run("validate", SMALL, *shipped_circuit_names())
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"{SMALL}: valid (3 populations, 11 neurons, about 46 synapses)"
    assert len(result.stdout.splitlines()) == 1 + len(shipped_circuit_names())


def test_validate_reports_every_problem_of_every_file(tmp_path):
    result = run(
        "validate", FIXTURES / "invalid_dale.json", SMALL, tmp_path / "none.json", FIXTURES / "invalid_rule_kind.json"
    )
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{FIXTURES / 'invalid_dale.json'}:/projections/exc->out/weight: weight from 'exc' must be ≥ 0: its cell class 'V2a' is excitatory (Dale's law); got -1.5. Excitatory sources act through positive weights; to inhibit, route the projection through an inhibitory population",
        f"{FIXTURES / 'invalid_dale.json'}:/projections/inh->out/weight: weight from 'inh' must be ≤ 0: its cell class 'V1' is inhibitory (Dale's law); got 0.75. Inhibitory weights are negative",
        f"{SMALL}: valid (3 populations, 11 neurons, about 46 synapses)",
        f"{tmp_path / 'none.json'}: no such file",
        f"{FIXTURES / 'invalid_rule_kind.json'}:/projections/inh->exc/rule: unknown rule kind 'fixed_probabilty'; did you mean 'fixed_probability'?",
    ]


def test_validate_json():
    result = run("validate", "--json", SMALL, FIXTURES / "invalid_unknown_field.json")
    assert result.exit_code == 1
    reports = json.loads(result.stdout)
    assert [r["valid"] for r in reports] == [True, False]
    assert reports[1]["problems"] == [
        {
            "pointer": "/populations/exc/sise",
            "message": "unknown field 'sise'; did you mean 'size'?",
            "hint": "",
            "text": f"{FIXTURES / 'invalid_unknown_field.json'}:/populations/exc/sise: unknown field 'sise'; did you mean 'size'?",
        }
    ]


# --------------------------------------------------------------------------- show


def test_show_tables():
    result = run("show", SMALL)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"fixture_small 1.1.0 (schema 2) — {SMALL}"
    assert lines[1] == "11 neurons in 3 populations; about 46 synapses in 6 projections; ~2.4 KiB compiled"
    assert lines[2].startswith("value sources: 0 literature, 0 calibrated, 0 hand-set, 8 unsourced")
    assert "inh      4  V1          inhibitory  lif           6 (0.5×drive)" in lines
    assert "inh->out  inh → out        edge_list          -0.75        per_synapse         0.1         3" in lines
    assert "w_exc    0.5  mV    [0.1, 2]     log" in lines
    assert "exc_minus_out  +1·exc -1·out        10  Hz" in lines


def test_show_json_and_shipped_name():
    data = json.loads(run("show", "--json", SMALL).stdout)
    assert [p["name"] for p in data["populations"]] == ["exc", "inh", "out"]
    assert data["projections"][1] == {
        "name": "inh->exc",
        "source": "inh",
        "target": "exc",
        "rule": "fixed_probability",
        "weight": {"value": -1.0, "param": "w_inh", "factor": 1.0},
        "weight_mode": "per_synapse",
        "delay": {"value": 0.1},
        "synapses": 8.0,
    }
    assert [p["name"] for p in data["parameters"] if p["free"]] == ["w_exc", "w_inh"]
    assert run("show", "half_centre").exit_code == 0


def test_show_textconv_of_hdf5_is_the_canonical_json(tmp_path):
    assert run("convert", SMALL, tmp_path / "small.h5").exit_code == 0
    result = run("show", "--textconv", tmp_path / "small.h5")
    assert result.exit_code == 0 and result.stdout == SMALL_V2.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- diff


def test_diff_of_a_file_and_its_hdf5_form_is_empty(tmp_path):
    run("convert", SMALL, tmp_path / "small.h5")
    result = run("diff", SMALL, tmp_path / "small.h5", "--exit-code")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "--- fixture_small 1.1.0",
        "+++ fixture_small 1.1.0",
        "no semantic differences",
    ]


def test_diff_lists_each_change(tmp_path):
    def edit(tree):
        tree["version"] = "1.2.0"
        tree["parameters"]["w_exc"]["value"] = 0.6
        tree["projections"]["exc->out"]["weight"] = 3.0
        tree["projections"]["inh->exc"]["rule"] = {"kind": "all_to_all"}
        del tree["projections"]["exc->exc"]
        tree["populations"]["extra"] = {"cell_class": "V1", "size": 2, "neuron_model": "lif"}
        tree["populations"]["out"]["size"] = 6
        tree["cell_classes"]["V2a"]["markers"] = ["Chx10", "Sox14"]
        tree["neuron_models"]["lif"]["tau_m"] = 20.0
        tree["readouts"]["exc_minus_out"]["terms"][1]["coefficient"] = -0.5
        tree["matrix_projections"]["exc<->out"]["weight"]["array"][1][0] = 2.5
        tree["history"].append(
            {
                "version": "1.2.0",
                "date": "2026-11-03T00:00:00Z",
                "author": "me",
                "action": "edited",
                "parent_version": "1.1.0",
                "description": "stronger",
            }
        )

    new = _edited(tmp_path, edit)
    result = run("diff", SMALL, new)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "--- fixture_small 1.1.0",
        "+++ fixture_small 1.2.0",
        "metadata",
        '  ~ version: "1.1.0" → "1.2.0"',
        "parameters",
        "  ~ w_exc/value: 0.5 → 0.6 (+20%)",
        "neuron_models",
        "  ~ lif/tau_m: 10.0 → 20.0 (+100%)",
        "cell_classes",
        '  ~ V2a/markers: ["Chx10"] → ["Chx10", "Sox14"]',
        "populations",
        "  ~ out/size: 3 → 6 (+100%)",
        "  + extra: 2 × V1 (lif)",
        "projections",
        "  - exc->exc: exc → exc, all_to_all, weight 0.2",
        "  ~ inh->exc/rule: fixed_probability(probability=0.5, seed=7, autapses=false) → all_to_all(autapses=false)",
        "  ~ exc->out/weight: 1.5 → 3.0 (+100%)",
        "matrix_projections",
        "  ~ exc<->out/weight/array: 1 of 4 entries changed (largest |change| 0.5)",
        "readouts",
        "  ~ exc_minus_out/terms/1/coefficient: -1.0 → -0.5 (+50%)",
        "history: new entries",
        "  + 1.2.0  2026-11-03T00:00:00Z  edited by me: stronger",
    ]
    assert run("diff", SMALL, new, "--exit-code").exit_code == 1


def test_diff_json_output(tmp_path):
    new = _edited(tmp_path, lambda t: t["parameters"]["w_inh"].update(value=-2.0))
    data = json.loads(run("diff", "--json", SMALL, new).stdout)
    assert data["identical"] is False and data["added_history"] == []
    assert data["changes"] == [
        {
            "section": "parameters",
            "name": "w_inh",
            "status": "changed",
            "pointer": "/parameters/w_inh/value",
            "old": -1.0,
            "new": -2.0,
            "relative": -1.0,
        }
    ]


def test_diff_bad_input(tmp_path):
    result = run("diff", SMALL, tmp_path / "none.json")
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        f"error: {tmp_path / 'none.json'}: no such file\n",
    )
    assert run("diff", SMALL, FIXTURES / "invalid_syntax.json", "--exit-code").exit_code == 2


# --------------------------------------------------------------------------- convert


def test_convert_round_trip_is_byte_identical_and_refuses_to_overwrite(tmp_path):
    assert run("convert", SMALL, tmp_path / "c.h5").stdout == f"wrote {tmp_path / 'c.h5'}\n"
    assert run("convert", tmp_path / "c.h5", tmp_path / "c.json").exit_code == 0
    assert (tmp_path / "c.json").read_bytes() == SMALL_V2.read_bytes()
    (tmp_path / "c.json").write_text("keep me")
    result = run("convert", tmp_path / "c.h5", tmp_path / "c.json")
    assert result.exit_code == 1
    assert (
        result.stderr == f"error: {tmp_path / 'c.json'}: already exists; choose another output path or pass --force\n"
    )
    assert (tmp_path / "c.json").read_text() == "keep me"
    assert run("convert", tmp_path / "c.h5", tmp_path / "c.json", "--force").exit_code == 0
    assert (tmp_path / "c.json").read_bytes() == SMALL_V2.read_bytes()


def test_convert_rewrites_array_paths_for_the_new_folder(tmp_path, monkeypatch):
    import h5py
    import numpy as np

    from encephagen.rules import array_checksum

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    data = np.array([[0.0, 0.5], [0.25, 0.0]])
    with h5py.File(tmp_path / "a" / "arrays.h5", "w") as h5:
        h5["p"] = data
    array = {"file": "arrays.h5", "dataset": "/p", "sha256": array_checksum(data), "shape": [2, 2]}
    _edited(tmp_path / "a", lambda t: t["matrix_projections"]["exc<->out"]["probability"].update(array=array), "c.json")
    assert run("convert", tmp_path / "a" / "c.json", tmp_path / "b" / "c.h5").exit_code == 0
    monkeypatch.setenv(
        "ENCEPHAGEN_DATA_ROOTS", str(tmp_path / "a")
    )  # b/c.h5 reads ../a: outside its tree unless allowed
    assert (
        load_circuit(tmp_path / "b" / "c.h5").matrix_projections["exc<->out"].probability.array.file == "../a/arrays.h5"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("invalid_dale.json", "{source}:/projections/exc->out/weight: weight from 'exc' must be ≥ 0"),
        ("invalid_nan.json", "{source}:/parameters/drive/value: number out of range; got 1e999"),
    ],
)
def test_convert_writes_nothing_for_an_invalid_circuit(tmp_path, source, message):
    result = run("convert", FIXTURES / source, tmp_path / "out.h5")
    assert result.exit_code == 1 and result.stderr.startswith("error: " + message.format(source=FIXTURES / source))
    assert list(tmp_path.iterdir()) == []


def test_convert_refuses_unknown_formats(tmp_path):
    result = run("convert", SMALL, tmp_path / "out.yaml")
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: {tmp_path / 'out.yaml'}: unknown output format '.yaml'; use .json, .h5 or .hdf5\n",
    )


# --------------------------------------------------------------------------- schema, migrate


def test_schema_prints_and_writes(tmp_path):
    assert run("schema").stdout == json_schema_text()
    assert run("schema", "--out", tmp_path / "s.json").exit_code == 0
    assert (tmp_path / "s.json").read_text(encoding="utf-8") == json_schema_text()


def test_migrate_leaves_a_current_file_alone(tmp_path):
    shutil.copy(SMALL_V2, tmp_path / "c.json")
    result = run("migrate", tmp_path / "c.json", "--in-place")
    assert (result.exit_code, result.stderr) == (
        0,
        f"{tmp_path / 'c.json'}: already at schema_version 2; nothing to migrate\n",
    )
    assert (tmp_path / "c.json").read_bytes() == SMALL_V2.read_bytes()


def test_migrate_applies_converters_and_records_history(tmp_path, monkeypatch):
    def from_zero(tree):  # a made-up version 0 that called populations "groups"
        return {**{k: v for k, v in tree.items() if k != "groups"}, "populations": tree["groups"]}

    monkeypatch.setitem(upgrades_module.CONVERTERS, "0", ("1", from_zero))
    tree = read_tree(SMALL)
    tree["schema_version"] = "0"
    tree["groups"] = tree.pop("populations")
    save_tree(tree, tmp_path / "old.json")
    result = run("migrate", tmp_path / "old.json", "--out", tmp_path / "new.h5")
    assert (result.exit_code, result.stderr) == (0, f"wrote {tmp_path / 'new.h5'}\n")
    migrated = load_circuit(tmp_path / "new.h5")
    entry = migrated.history[-1]
    assert (migrated.version, entry.version, entry.parent_version, entry.action) == (
        "1.1.1",
        "1.1.1",
        "1.1.0",
        "migrated",
    )
    assert entry.details == {"from_schema_version": "0", "to_schema_version": "2"}
    assert list(migrated.populations) == ["exc", "inh", "out"]
    printed = run("migrate", tmp_path / "old.json")
    assert json.loads(printed.stdout)["version"] == "1.1.1"
    assert run("migrate", tmp_path / "old.json", "--in-place").exit_code == 0
    assert read_tree(tmp_path / "old.json")["schema_version"] == "2"


def test_unsupported_schema_version(tmp_path):
    path = _edited(tmp_path, lambda t: t.update(schema_version="9"))
    result = run("migrate", path)
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: {path}:/schema_version: unsupported schema_version '9'. This encephagen reads schema versions 1, 2; upgrade encephagen or fix the field\n",
    )


# --------------------------------------------------------------------------- bad input never crashes


@pytest.mark.parametrize("command", ["show", "diff", "convert", "migrate"])
@pytest.mark.parametrize("bad", ["missing", "directory", "not_hdf5", "truncated", "malformed"])
def test_bad_input_gives_one_line_and_exit_1(tmp_path, command, bad):
    path = {
        "missing": tmp_path / "none.json",
        "directory": tmp_path,
        "not_hdf5": tmp_path / "x.h5",
        "truncated": tmp_path / "t.h5",
        "malformed": tmp_path / "m.json",
    }[bad]
    if bad == "not_hdf5":
        path.write_text("{}")
    if bad == "truncated":
        save_tree(read_tree(SMALL), path)
        path.write_bytes(path.read_bytes()[:300])
    if bad == "malformed":
        path.write_text('{"name": }')
    args = {"show": [path], "diff": [SMALL, path], "convert": [path, tmp_path / "out.json"], "migrate": [path]}[command]
    before = sorted(tmp_path.iterdir())
    result = run(command, *args)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(f"error: {path}") and len(result.stderr.splitlines()) == 1
    assert sorted(tmp_path.iterdir()) == before
