"""``encephagen.run_body``: one call from a circuit to a table of episodes, and the CLI that prints it."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from click.testing import CliRunner

import encephagen
from encephagen.cli.main import cli
from encephagen.errors import BodyError

pytest.importorskip("mujoco", reason="bodies need the body extra: pip install 'encephagen[body]'")
from encephagen.body.baselines import paired_full
from encephagen.body.loop import DriveSchedule
from encephagen.body.perturbations import MotorDelay, Push
from encephagen.body.runs import (
    BodyRun,
    DriveRun,
    bind,
    delay_tolerance,
    push_tolerance,
    run_body,
    run_with_schedule,
    speed_by_drive,
)


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
    only_circuit, only_sine, p = paired_full(result.episodes(), result.episodes("sine_pitch"))
    assert shown["paired"] == {"against": "sine_pitch", "only_circuit": only_circuit, "only_other": only_sine, "p": p}


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


def test_a_binding_declares_the_step_its_circuit_runs_at_and_the_runs_and_objective_use_it(tmp_path):
    """``dt_ms`` in the binding is the default step of ``bind``, ``encephagen run`` and the body
    objectives; an explicit step wins; one that does not divide the body step is refused at binding."""
    import shutil

    from encephagen.objectives import get_objective
    from encephagen.storage import load_circuit, resolve_circuit_path

    shipped = resolve_circuit_path("walker2d_cpg")
    path = tmp_path / shipped.name
    shutil.copy(shipped, path)
    tree = json.loads(shipped.with_name("walker2d_cpg.binding.json").read_text())
    binding = tmp_path / "walker2d_cpg.binding.json"
    binding.write_text(json.dumps({**tree, "dt_ms": 0.2}))
    assert bind(path).network.dt == 0.2 and bind(path, dt=0.1).network.dt == 0.1
    assert bind("walker2d_cpg").network.dt == 0.1  # no dt_ms: the toolkit's default
    printed = CliRunner().invoke(cli, ["run", str(path), "--episodes", "1", "--seed", "200000", "--max-steps", "3"])
    assert printed.exit_code == 0 and "(dt 0.2 ms, 40 circuit steps per body step)" in printed.output, printed.output
    objective = get_objective("walk")
    assert objective.factory(load_circuit(path), objective.targets, objective.options).dt == 0.2
    assert objective.factory(load_circuit(path), objective.targets, {**objective.options, "dt": 0.4}).dt == 0.4

    binding.write_text(json.dumps({**tree, "dt_ms": 0.3}))
    with pytest.raises(BodyError, match=r"body step 8\.0 ms is not a whole number of circuit steps of 0\.3 ms"):
        bind(path)
    binding.write_text(json.dumps({**tree, "dt_ms": 0}))
    printed = CliRunner().invoke(cli, ["run", str(path), "--episodes", "1"])
    assert printed.exit_code != 0 and "walker2d_cpg.binding.json:/dt_ms" in printed.output
    assert "Traceback" not in printed.output


def _cli_json(*flags: str) -> dict:
    printed = CliRunner().invoke(cli, ["run", "walker2d_cpg", "--seed", "200000", *flags, "--json"])
    assert printed.exit_code == 0, printed.output
    return json.loads(printed.output)


def test_drive_and_schedule_runs_are_what_the_cli_prints():
    loop = bind("walker2d_cpg")
    drive = speed_by_drive(loop, [20, 25], episodes=2, first_seed=200000, max_steps=20, perturbations=["noise"])
    assert [r["value"] for r in drive.by_value] == [20.0, 25.0] and drive.parameter == "drive"
    assert [len(r["episodes"]) for r in drive.by_value] == [2, 2] and drive.perturbations == ["noise=0.05"]
    shown = _cli_json("--episodes", "2", "--max-steps", "20", "--drive", "20,25", "--perturb", "noise")
    assert shown == {**json.loads(json.dumps(drive.to_dict())), "perturbations": ["noise"]}
    with pytest.raises(encephagen.errors.UnknownNameError):
        speed_by_drive(loop, [20], parameter="speed", episodes=1)

    schedule = DriveSchedule.parse("0:20,0.2:25")
    scheduled = run_with_schedule(loop, schedule, episodes=1, first_seed=200000, max_steps=50)
    assert [(a, b) for a, b, _ in scheduled.segments] == [(0.0, 0.2), (0.2, 0.4)]
    assert len(scheduled.segment_means()) == 2 and all("speed_segment_1" in r for r in scheduled.episodes)
    shown = _cli_json("--episodes", "1", "--max-steps", "50", "--drive-schedule", "0:20,0.2:25")
    assert shown == json.loads(json.dumps(scheduled.to_dict()))


def test_speed_span_counts_only_values_with_enough_full_episodes():
    def at(value, full, speed):
        aggregate = {"full": full, "episodes": 10, "speed_mean": speed, "speed_settled_mean": 1.5 * speed}
        return {"value": value, "aggregate": aggregate, "episodes": []}

    stated = dict(
        circuit="c", version="1", binding="b", body="walker2d", dt_ms=0.1, neural_steps_per_body_step=80, seeds=[1]
    )
    run = DriveRun(
        **stated, perturbations=[], parameter="drive", by_value=[at(20, 9, 0.4), at(25, 10, 0.8), at(30, 5, 2.0)]
    )
    assert run.speed_span(0.9) == (0.4, 0.8, 2)
    assert run.speed_span(0.9, "speed_settled") == pytest.approx((0.6, 1.2, 2))
    assert run.speed_span(1.0) is None  # one value is not a span
    unsettled = dataclasses.replace(run, by_value=[at(20, 9, 0.4), at(25, 10, math.nan)])
    assert unsettled.speed_span(0.9, "speed_settled") is None  # an episode cut before 2 s has no settled speed


def test_push_tolerance_bisects_every_controller_on_the_same_pushes():
    seen = []
    result = push_tolerance(
        "walker2d_cpg",
        episodes=1,
        first_seed=200000,
        perturbations=[Push(40.0, every_s=1.5), MotorDelay(1)],
        iterations=1,
        progress=lambda *measured: seen.append(measured),
    )
    assert list(result.tolerance) == ["circuit", "no afferents", "sensors at rest", "sine_pitch"]
    assert result.push_every_s == 1.5 and result.perturbations == ["push=40", "delay=1"]
    assert seen[0][:2] == ("circuit", 40.0) and len(seen) == sum(len(t.tried) for t in result.tolerance.values())
    shown = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert [pair[0] for pair in shown["tolerance"]["circuit"]["tried"]] == [
        size for size, _ in result.tolerance["circuit"].tried
    ]


def test_delay_tolerance_bisects_whole_body_steps_and_the_circuit_outlasts_the_sine_walker():
    """Measured on two selection seeds (session 25: 0.11.0 tolerates 5 steps of 8 ms on 4 seeds, the sine
    walker 2): the gait's feedback loops tolerate a longer motor delay than a sine rhythm with pitch feedback."""
    seen = []
    result = delay_tolerance(
        "walker2d_cpg",
        episodes=2,
        first_seed=200000,
        perturbations=["delay=3"],
        progress=lambda *measured: seen.append(measured),
    )
    assert list(result.tolerance) == ["circuit", "no afferents", "sensors at rest", "sine_pitch"]
    assert seen[0][:2] == ("circuit", 3) and len(seen) == sum(len(t.tried) for t in result.tolerance.values())
    for t in result.tolerance.values():
        assert all(isinstance(steps, int) for steps, _ in t.tried)
        assert t.size == t.low and (t.high == t.low + 1 or t.high == t.low == 0)  # 0, 0: falls even undelayed
        assert dict(t.tried)[t.high] < 0.5 and (t.low == 0 or dict(t.tried)[t.low] >= 0.5)
    assert result.tolerance["no afferents"].size == 0  # it cannot walk even without a delay
    assert result.tolerance["circuit"].size > result.tolerance["sine_pitch"].size >= 1
    shown = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    circuit = shown["tolerance"]["circuit"]
    assert shown["body_dt_ms"] == bind("walker2d_cpg").body_dt_ms
    assert circuit["ms"] == circuit["steps"] * shown["body_dt_ms"]


def test_run_sweeps_the_motor_delay_when_no_push_is_given():
    output = CliRunner().invoke(
        cli, ["run", "walker2d_cpg", "--episodes", "1", "--seed", "200002", "--perturb", "delay=8", "--sweep"]
    )
    assert output.exit_code == 0, output.output
    assert "longest motor delay at which half of the episodes still finish (body steps of 8 ms)" in output.output
    assert "circuit / sine_pitch:" in output.output
    assert "no afferents      0 steps =     0 ms   (fewer than half finish even without a delay" in output.output
