"""``encephagen.run_body``: one call from a circuit to a table of episodes, and the CLI that prints it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import encephagen
from encephagen.cli.main import cli
from encephagen.errors import BodyError

pytest.importorskip("mujoco", reason="bodies need the body extra: pip install 'encephagen[body]'")
from encephagen.body.runs import BodyRun, bind, run_body


def test_run_body_returns_the_table_the_cli_prints():
    result = run_body("walker2d_cpg", episodes=2, first_seed=200001, max_steps=15)
    assert isinstance(result, BodyRun)
    assert encephagen.run_body is run_body
    assert result.seeds == [200001, 200002] and result.body == "walker2d" and result.circuit == "walker2d_cpg"
    assert next(iter(result.controllers)) == "circuit" and "offsets" in result.controllers
    rows = result.episodes()
    assert [r["seed"] for r in rows] == [200001, 200002] and all(r["steps"] <= 15 for r in rows)
    assert result.aggregate()["episodes"] == 2
    printed = CliRunner().invoke(
        cli, ["run", "walker2d_cpg", "--episodes", "2", "--seed", "200001", "--max-steps", "15", "--json"]
    )
    assert printed.exit_code == 0, printed.output
    shown = json.loads(printed.output)
    assert shown["controllers"] == json.loads(json.dumps(result.to_dict()["controllers"]))
    assert shown["seed_range"] == result.seed_range


def test_errors_name_python_arguments_and_the_cli_names_its_flags(tmp_path):
    with pytest.raises(BodyError, match="not 'humanoid'; use a binding written for humanoid"):
        bind(
            "walker2d_cpg",
            "humanoid",
            binding=encephagen.storage.resolve_circuit_path("walker2d_cpg").with_name("walker2d_cpg.binding.json"),
        )
    with pytest.raises(BodyError, match=r"no binding file; .* give binding=") as caught:
        bind("walker2d_cpg", binding=tmp_path / "none.binding.json")
    assert "--" not in str(caught.value)
    with pytest.raises(BodyError, match="episodes must be at least 1"):
        run_body("walker2d_cpg", episodes=0)
    printed = CliRunner().invoke(cli, ["run", "walker2d_cpg", "--binding", str(tmp_path / "none.binding.json")])
    assert printed.exit_code != 0 and "pass --binding" in printed.output
