"""Calibration: search space, honesty under noise, determinism, kill -9 + resume, executors, CLI.

The machinery is tested with a cheap synthetic objective (a noisy quadratic over a fake
circuit's free parameters), so that resume determinism, the log, the report and the error
paths are proven without the simulator; the half-centre test then runs the real thing.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from encephagen.calibration import (
    CHECKPOINT_NAME,
    LOG_NAME,
    CalibrationSettings,
    SeedSplit,
    calibrate,
    parameter_space,
    read_log,
)
from encephagen.cli.main import cli
from encephagen.errors import CalibrationError, EncephagenError
from encephagen.objectives import GAIT_TARGETS, Loss, gait_loss, get_objective, objective_names, register_objective
from encephagen.schema import Circuit
from encephagen.storage import load_circuit, save_circuit

OPTIMUM = {"a": 2.5, "b": 100.0, "c": -1.0}
NOISE = 0.05


def fake_circuit(**parameters) -> Circuit:
    """One neuron whose drive and adaptation refer to parameters; three are free (one log-scaled)."""
    params = {
        "a": {"value": 1.0, "free": True, "bounds": [-5.0, 5.0]},
        "b": {"value": 10.0, "free": True, "bounds": [1.0, 1000.0], "scale": "log"},
        "c": {"value": -2.0, "free": True, "bounds": [-8.0, -0.3]},
        "fixed": {"value": 3.0},
        **parameters,
    }
    return Circuit.model_validate(
        {
            "schema_version": "1",
            "name": "fake",
            "version": "0.1.0",
            "parameters": params,
            "neuron_models": {"lif": {"tau_m": 10.0, "v_threshold": 10.0, "adaptation": {"param": "fixed"}}},
            "cell_classes": {"exc": {"transmitter": "glutamate"}},
            "populations": {"A": {"cell_class": "exc", "size": 1, "neuron_model": "lif", "drive": {"param": "a"}}},
        }
    )


def quadratic(parameter_sets, seeds):
    """Squared distance to OPTIMUM (b in decades) plus a seed-dependent noise offset."""
    rows = []
    for p in parameter_sets:
        terms = {
            "a": (p["a"] - OPTIMUM["a"]) ** 2,
            "b": math.log10(p["b"] / OPTIMUM["b"]) ** 2,
            "c": (p["c"] - OPTIMUM["c"]) ** 2,
        }
        rows.append(
            [Loss(sum(terms.values()) + float(np.random.default_rng([s, 7]).normal(0, NOISE)), terms) for s in seeds]
        )
    return rows


SLEEPS = False
"""Whether ``sleep_s`` is slept: only in the process the kill test kills (its driver sets this), since
the sleep is there to let the kill land mid-way; the in-process runs it is compared with keep the
option (it is part of the settings a resume checks and of the file written) but need not wait."""


def quadratic_factory(circuit, targets, options, *, base_dir=None):
    def evaluate(parameter_sets, seeds):
        if SLEEPS:
            time.sleep(options["sleep_s"])  # lets the kill test stop a run mid-way
        return quadratic(parameter_sets, seeds)

    return evaluate


if "quadratic" not in objective_names():
    register_objective("quadratic", quadratic_factory, targets={"scale": 1.0}, options={"sleep_s": 0.0})


def settings(**overrides) -> CalibrationSettings:
    base = dict(
        objective="quadratic",
        budget=60,
        seed=3,
        popsize=6,
        train_seeds=2,
        validation_seeds=3,
        test_seeds=4,
        finalists=3,
    )
    return CalibrationSettings(**{**base, **overrides})


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def fake_file(tmp_path) -> Path:
    return save_circuit(fake_circuit(), tmp_path / "fake.json")


# --------------------------------------------------------------------------- library


def test_search_space_is_the_free_parameters_with_their_bounds_and_scales():
    space = parameter_space(fake_circuit())
    assert sorted(space.value) == ["a", "b", "c"]
    assert space.value == {"a": 1.0, "b": pytest.approx(10.0), "c": -2.0}
    space.random_state = np.random.RandomState(0)
    draws = [
        space.spawn_child().set_standardized_data(np.random.default_rng(i).normal(0, 3, 3)).value for i in range(200)
    ]
    b = np.array([d["b"] for d in draws])
    assert all(-5 <= d["a"] <= 5 and -8 <= d["c"] <= -0.3 for d in draws) and b.min() >= 1 and b.max() <= 1000
    assert np.median(np.abs(np.log10(b / 10))) > 0.3  # log scale: steps are in decades, not in units


def test_calibration_stays_in_bounds_lowers_held_out_loss_and_records_provenance(tmp_path):
    result = calibrate(fake_circuit(), settings(), tmp_path / "run")
    records = read_log(result.log_path)
    evaluations = [r for r in records if r["type"] == "evaluation"]
    assert len(evaluations) == 60 and [r["index"] for r in evaluations] == list(range(60))
    assert all(
        -5 <= r["values"]["a"] <= 5 and 1 <= r["values"]["b"] <= 1000 and -8 <= r["values"]["c"] <= -0.3
        for r in evaluations
    )
    assert all(len(r["seed_losses"]) == 2 for r in evaluations)
    assert result.loss_after.total < 0.25 * result.loss_before.total
    assert set(result.loss_after.terms) == {"a", "b", "c"}
    new = result.circuit
    assert new.version == "0.2.0" and new.parameters["fixed"] == fake_circuit().parameters["fixed"]
    assert {n: new.parameters[n].value for n in "abc"} == result.values_after
    entry = new.history[-1]
    assert entry.action == "calibrated" and entry.parent_version == "0.1.0"
    details = entry.details
    assert details["loss_after"]["total"] == result.loss_after.total and details["optimizer"] == "CMA"
    assert details["seeds"]["test"] == result.seeds.test and "nevergrad" in details["packages"]
    test_record = records[-1]
    assert test_record["type"] == "test" and test_record["after"]["total"] == result.loss_after.total


def test_held_out_seeds_are_never_searched_or_picked_on():
    split = SeedSplit.from_seed(11, 3, 5, 10)
    assert len(set(split.train + split.validation + split.test)) == 18
    assert split == SeedSplit.from_seed(11, 3, 5, 10) and split != SeedSplit.from_seed(12, 3, 5, 10)


def test_same_seed_same_result_and_another_seed_another(tmp_path):
    first = calibrate(fake_circuit(), settings(budget=30), tmp_path / "one")
    second = calibrate(fake_circuit(), settings(budget=30), tmp_path / "two")
    third = calibrate(fake_circuit(), settings(budget=30, seed=4), tmp_path / "three")
    assert first.values_after == second.values_after and first.loss_after == second.loss_after
    assert (tmp_path / "one" / LOG_NAME).read_bytes() == (tmp_path / "two" / LOG_NAME).read_bytes()
    assert third.values_after != first.values_after


def test_any_nevergrad_optimizer_by_name(tmp_path):
    result = calibrate(fake_circuit(), settings(optimizer="TwoPointsDE", budget=24), tmp_path / "de")
    assert result.evaluations == 24 and result.circuit.history[-1].details["optimizer"] == "TwoPointsDE"


def test_resume_after_a_torn_write_replays_to_the_same_result(tmp_path):
    """Interrupted in the second of two restarts, with junk after the last committed generation."""
    two = settings(restarts=2)
    reference = calibrate(fake_circuit(), two, tmp_path / "ref")
    run = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        calibrate(fake_circuit(), two, run, progress=_interrupt_after(7))
    with open(run / LOG_NAME, "a") as log:  # a generation logged but not committed, and a torn line
        log.write(
            '{"type": "evaluation", "generation": 7, "index": 42, "values": {"a": 0.0}, "loss": 0.0}\n{"type": "eval'
        )
    resumed = calibrate(fake_circuit(), two, run, resume=True)
    assert resumed.values_after == reference.values_after and resumed.loss_after == reference.loss_after
    assert (run / LOG_NAME).read_bytes() == (tmp_path / "ref" / LOG_NAME).read_bytes()
    restarts = [r["restart"] for r in read_log(run / LOG_NAME) if r["type"] == "evaluation"]
    assert restarts == [0] * 30 + [1] * 30


def _interrupt_after(generations: int):
    def progress(p):
        if p.stage == "search" and p.generation == generations:
            raise KeyboardInterrupt

    return progress


def test_resume_refuses_other_settings_and_fresh_runs_refuse_an_old_log(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        calibrate(fake_circuit(), settings(), tmp_path / "run", progress=_interrupt_after(2))
    with pytest.raises(CalibrationError, match=r"different settings .*budget"):
        calibrate(fake_circuit(), settings(budget=61), tmp_path / "run", resume=True)
    with pytest.raises(CalibrationError, match="resume=True"):
        calibrate(fake_circuit(), settings(), tmp_path / "run")


def test_bad_requests_fail_before_any_work(tmp_path):
    no_free = fake_circuit(a={"value": 1.0}, b={"value": 1.0}, c={"value": 1.0})
    with pytest.raises(CalibrationError, match="no free parameters"):
        calibrate(no_free, settings(), tmp_path / "a")
    outside = fake_circuit(a={"value": 1.0, "free": True, "bounds": [2.0, 3.0]})
    with pytest.raises(CalibrationError, match=r"/parameters/a/value: value lies outside its bounds \[2, 3\]; got 1"):
        calibrate(outside, settings(), tmp_path / "b")
    with pytest.raises(EncephagenError, match="did you mean 'quadratic'"):
        calibrate(fake_circuit(), settings(objective="quadratik"), tmp_path / "c")
    with pytest.raises(CalibrationError, match=r"unknown target 'scal' .*did you mean 'scale'"):
        calibrate(fake_circuit(), settings(targets={"scal": 1.0}), tmp_path / "d")
    with pytest.raises(EncephagenError, match="did you mean 'CMA'"):
        calibrate(fake_circuit(), settings(optimizer="CMAA"), tmp_path / "e")
    assert not any((tmp_path / name).exists() for name in "abcde")


def test_objective_registry_refuses_duplicates():
    with pytest.raises(CalibrationError, match="already registered"):
        register_objective("gait", quadratic_factory, targets={})
    assert {"gait", "quadratic"} <= set(objective_names())
    assert get_objective("gait").targets == GAIT_TARGETS


def test_gait_loss_terms():
    perfect = {"frequency_hz": 2.0, "lr_phase": 0.5, "fe_phase": 0.5, "period_cv": 0.05, "rhythmic_fraction": 1.0}
    assert gait_loss(perfect, GAIT_TARGETS).total == 0.0
    off = gait_loss(
        {"frequency_hz": 4.0, "lr_phase": 0.0, "fe_phase": 0.9, "period_cv": 0.35, "rhythmic_fraction": 0.475},
        GAIT_TARGETS,
    )
    assert off.terms == pytest.approx(
        {"frequency_hz": 1 / 3, "lr_phase": 1.0, "fe_phase": 0.8, "period_cv": 0.5, "rhythmic_fraction": 0.5}
    )
    assert gait_loss({"frequency_hz": math.nan}, GAIT_TARGETS).terms == {"frequency_hz": 1.0}  # no rhythm: full cost
    assert gait_loss({"lr_phase": 0.02}, GAIT_TARGETS).terms["lr_phase"] == pytest.approx(
        gait_loss({"lr_phase": 0.98}, GAIT_TARGETS).terms["lr_phase"]
    )
    assert (
        "duty_flexor" not in gait_loss({**perfect, "duty_flexor": 0.1}, GAIT_TARGETS).terms
    )  # no duty target by default
    long_bursts = {**GAIT_TARGETS, "duty_flexor": 0.45, "duty_extensor": 0.45}
    assert gait_loss({**perfect, "duty_flexor": 0.1, "duty_extensor": 0.45}, long_bursts).terms[
        "duty_flexor"
    ] == pytest.approx(0.7)
    assert gait_loss({**perfect, "duty_flexor": 0.1, "duty_extensor": 0.45}, long_bursts).terms["duty_extensor"] == 0.0


def test_gait_drive_sweep_scores_every_value_against_the_interpolated_frequency():
    """The swept objective keeps the candidate's own terms and adds, as sweep_ terms, the mean of
    the plain objective's terms at each sweep value with the frequency target interpolated there."""
    half_centre = load_circuit("half_centre")
    gait = get_objective("gait")
    options = {"duration_ms": 1500.0, "warmup_ms": 300.0}
    plain = gait.factory(half_centre, gait.resolve_targets({}), gait.resolve_options(options))
    swept = gait.factory(
        half_centre,
        gait.resolve_targets({"frequency_low_hz": 1.0, "frequency_high_hz": 3.0}),
        gait.resolve_options({**options, "sweep_param": "drive_flex", "sweep_values": (12, 16, 20)}),
    )
    candidates, seeds = [{"w_mutual": -12.0}, {"w_mutual": -20.0}], [5, 6]
    rows = swept(candidates, seeds)
    own = plain(candidates, seeds)
    for i, p in enumerate(candidates):
        at_values = [
            gait.factory(half_centre, gait.resolve_targets({"frequency_hz": f}), gait.resolve_options(options))(
                [{**p, "drive_flex": v}], seeds
            )[0]
            for v, f in ((12.0, 1.0), (16.0, 2.0), (20.0, 3.0))
        ]
        for j in range(len(seeds)):
            terms = rows[i][j].terms
            assert {k: v for k, v in terms.items() if not k.startswith("sweep_")} == own[i][j].terms
            expected = Loss.mean([losses[j] for losses in at_values]).terms
            assert {k.removeprefix("sweep_"): v for k, v in terms.items() if k.startswith("sweep_")} == pytest.approx(
                expected
            )
            assert rows[i][j].total == pytest.approx(own[i][j].total + sum(expected.values()))
    assert len({round(r.total, 9) for row in rows for r in row}) > 1
    with pytest.raises(CalibrationError, match="apply to a sweep"):
        gait.factory(half_centre, gait.resolve_targets({"frequency_high_hz": 3.0}), gait.resolve_options({}))
    with pytest.raises(CalibrationError, match="needs targets frequency_low_hz > 0"):
        gait.factory(
            half_centre,
            gait.resolve_targets({}),
            gait.resolve_options({"sweep_param": "drive_flex", "sweep_values": (12, 20)}),
        )
    with pytest.raises(EncephagenError, match="did you mean 'drive_flex'"):
        gait.factory(
            half_centre,
            gait.resolve_targets({"frequency_low_hz": 1.0, "frequency_high_hz": 3.0}),
            gait.resolve_options({"sweep_param": "drive_flx", "sweep_values": (12, 20)}),
        )


def test_gait_lesion_lane_penalises_a_rhythm_that_survives_the_lesion():
    """lesion_zero adds a control lane with those parameters at zero; its rhythmic fraction
    above lesion_rhythmic_max is the lesion_rhythm term, scaled to [0, 1]."""
    from encephagen.compiler import compile_circuit
    from encephagen.gait import gait_from_rates, pools_from_circuit
    from encephagen.simulation import simulate

    half_centre = load_circuit("half_centre")
    gait = get_objective("gait")
    options = {"duration_ms": 1500.0, "warmup_ms": 300.0, "lesion_zero": ("w_recurrent",), "lesion_rhythmic_max": 0.2}
    evaluator = gait.factory(half_centre, gait.resolve_targets({}), gait.resolve_options(options))
    loss = evaluator([{}], [5])[0][0]
    control = simulate(
        compile_circuit(half_centre),
        1500.0,
        seeds=5,
        parameters=[{"w_recurrent": 0.0}],
        record_spikes=False,
        bin_ms=1.0,
    )
    survived = gait_from_rates(
        control.rate_traces_hz()[0],
        1.0,
        list(control.population_names),
        pools_from_circuit(half_centre),
        warmup_ms=300.0,
    )["rhythmic_fraction"]
    assert loss.terms["lesion_rhythm"] == pytest.approx(max(0.0, survived - 0.2) / 0.8)
    with pytest.raises(EncephagenError, match="did you mean 'w_mutual'"):
        gait.factory(
            half_centre, gait.resolve_targets({}), gait.resolve_options({**options, "lesion_zero": ("w_mutal",)})
        )


# --------------------------------------------------------------------------- executors


@pytest.mark.slow
def test_process_pool_gives_the_same_result(tmp_path):
    from encephagen.calibration import open_executor

    alone = calibrate(fake_circuit(), settings(budget=24), tmp_path / "alone")
    with open_executor(workers=2) as (executor, chunks):
        pooled = calibrate(fake_circuit(), settings(budget=24), tmp_path / "pool", executor=executor, chunks=chunks)
    assert pooled.values_after == alone.values_after and pooled.loss_after == alone.loss_after


@pytest.mark.slow
def test_dask_scheduler_address_gives_the_same_result(tmp_path, fake_file):
    distributed = pytest.importorskip("distributed", reason="dask is an optional extra: pip install 'encephagen[dask]'")
    alone = calibrate(fake_circuit(), settings(budget=24), tmp_path / "alone")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", dashboard_address=None
    ) as cluster:
        out = tmp_path / "dask.json"
        result = invoke(
            "calibrate",
            fake_file,
            "--objective",
            "quadratic",
            "--budget",
            24,
            "--seed",
            3,
            "--popsize",
            6,
            "--train-seeds",
            2,
            "--validation-seeds",
            3,
            "--test-seeds",
            4,
            "--out",
            out,
            "--executor",
            cluster.scheduler_address,
            "--json",
        )
    assert result.exit_code == 0, result.output
    assert load_circuit(out).parameters["a"].value == alone.values_after["a"]


# --------------------------------------------------------------------------- command line


def test_cli_writes_a_new_version_and_never_the_input(tmp_path, fake_file):
    before = fake_file.read_bytes()
    out = tmp_path / "cal.json"
    result = invoke(
        "calibrate",
        fake_file,
        "--objective",
        "quadratic",
        "--budget",
        24,
        "--seed",
        1,
        "--popsize",
        6,
        "--train-seeds",
        2,
        "--out",
        out,
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert fake_file.read_bytes() == before
    new = load_circuit(out)
    assert new.version == "0.2.0" and new.history[-1].details["loss_after"] == summary["loss_after"]
    assert summary["loss_after"]["total"] < summary["loss_before"]["total"]
    diff = invoke("diff", fake_file, out).output
    changed = [line.split(":")[0].strip(" ~") for line in diff.splitlines() if line.startswith("  ~ ")]
    assert changed == ["version", "a/value", "b/value", "c/value"]
    assert "calibrated by encephagen calibrate" in diff


def test_cli_finalists_sets_how_many_candidates_reach_validation(tmp_path, fake_file):
    compared = {}
    for finalists in (1, 4):
        out = tmp_path / f"cal{finalists}.json"
        result = invoke(
            "calibrate",
            fake_file,
            "--objective",
            "quadratic",
            "--budget",
            24,
            "--seed",
            1,
            "--popsize",
            6,
            "--finalists",
            finalists,
            "--out",
            out,
            "--json",
        )
        assert result.exit_code == 0, result.output
        log = (tmp_path / f"cal{finalists}.calibration" / "log.jsonl").read_text().splitlines()
        compared[finalists] = sum(json.loads(line).get("type") == "validation" for line in log)
    # the start values, the best `finalists` of the search and the optimizer's recommendation (when new)
    assert 2 <= compared[1] <= 3 and 5 <= compared[4] <= 6, compared


def test_cli_report_and_plot(tmp_path, fake_file):
    out = tmp_path / "cal.json"
    assert (
        invoke(
            "calibrate", fake_file, "--objective", "quadratic", "--budget", 18, "--popsize", 6, "--out", out
        ).exit_code
        == 0
    )
    log = tmp_path / "cal.calibration" / LOG_NAME
    png = tmp_path / "curve.png"
    result = invoke("calibrate", "--report", log, "--plot", png)
    assert (
        result.exit_code == 0
        and "18/18 evaluations in 3 generations" in result.output
        and "held-out loss over 10 test seeds" in result.output
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(invoke("calibrate", "--report", log, "--json").stdout)
    assert summary["running_best"] == list(np.minimum.accumulate(summary["loss"])) and summary["generations"] == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["--objective", "gate"], "unknown objective 'gate'; did you mean 'gait'?"),
        (
            ["--objective", "quadratic", "--target", "scael=2"],
            "unknown target 'scael' for objective 'quadratic'; did you mean 'scale'?",
        ),
        (["--objective", "quadratic", "--target", "scale"], "--target expects KEY=VALUE; got 'scale'"),
        (
            ["--objective", "quadratic", "--out", "{tmp}/missing/x.json"],
            "{tmp}/missing/x.json: folder {tmp}/missing does not exist",
        ),
        (
            ["--objective", "quadratic", "--out", "{fake}"],
            "{fake}: already exists; choose a new --out path (or --in-place to replace the input)",
        ),
        (
            ["--objective", "quadratic", "--optimizer", "CMAA"],
            "unknown nevergrad optimizer 'CMAA'; did you mean 'CMA'?",
        ),
        (
            ["--objective", "gait", "--option", "duration_ms=long"],
            "--option duration_ms=long: not a number",
        ),
        (
            ["--objective", "gait"],
            "circuit 'fake' declares no motor pools for gait analysis; add readouts named flexor/extensor or left_flexor, right_extensor, ...",
        ),
    ],
)
def test_cli_bad_input_is_one_line_before_any_work(tmp_path, fake_file, args, message):
    args = [a.format(tmp=tmp_path, fake=fake_file) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "new.json")]
    result = invoke("calibrate", fake_file, "--budget", 10, *args)
    assert result.exit_code == 1
    assert result.stderr == f"error: {message.format(tmp=tmp_path, fake=fake_file)}\n"
    assert not (tmp_path / "new.calibration").exists() and not (tmp_path / "new.json").exists()


@pytest.mark.parametrize(
    "parameters, message",
    [
        (
            {"a": {"value": 1.0}, "b": {"value": 1.0}, "c": {"value": 1.0}},
            "{file}:/parameters: no free parameters to calibrate",
        ),
        (
            {"a": {"value": 9.0, "free": True, "bounds": [-5.0, 5.0]}},
            "{file}:/parameters/a/value: value lies outside its bounds [-5, 5]; got 9",
        ),
    ],
)
def test_cli_refuses_circuits_it_cannot_calibrate(tmp_path, parameters, message):
    tree = json.loads(json.dumps(fake_circuit().model_dump(mode="json", by_alias=True, exclude_defaults=True)))
    for name, spec in parameters.items():
        tree["parameters"][name] = spec
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(tree))
    result = invoke("calibrate", path, "--objective", "quadratic", "--budget", 10, "--out", tmp_path / "new.json")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {message.format(file=path)}")


@pytest.mark.slow
def test_kill_9_then_resume_ends_with_the_same_file(tmp_path, fake_file, monkeypatch):
    """A run killed by SIGKILL mid-search and resumed writes the same bytes as an uninterrupted one."""
    common = ["--objective", "quadratic", "--budget", 96, "--seed", 7, "--popsize", 6, "--option", "sleep_s=0.15"]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    driver = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_calibrate; "
        "test_calibrate.SLEEPS = True; from encephagen.cli.main import main; sys.argv[0] = 'encephagen'; main()"
    )
    killed = tmp_path / "killed.json"
    process = subprocess.Popen(
        [sys.executable, "-c", driver, "calibrate", str(fake_file), *map(str, common), "--out", str(killed)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoint = tmp_path / "killed.calibration" / CHECKPOINT_NAME
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.exists() and json.loads(checkpoint.read_text())["generations"] >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    generations = json.loads(checkpoint.read_text())["generations"]
    assert 3 <= generations < 16 and not killed.exists()

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    resumed = invoke("calibrate", fake_file, *common, "--out", killed, "--resume")
    reference = invoke("calibrate", fake_file, *common, "--out", tmp_path / "straight.json")
    assert resumed.exit_code == 0 and reference.exit_code == 0, resumed.output + reference.output
    assert killed.read_bytes() == (tmp_path / "straight.json").read_bytes()
    assert (tmp_path / "killed.calibration" / LOG_NAME).read_bytes() == (
        tmp_path / "straight.calibration" / LOG_NAME
    ).read_bytes()


# --------------------------------------------------------------------------- the real circuit


@pytest.mark.slow
def test_half_centre_calibration_lowers_held_out_gait_loss_and_is_reproducible(tmp_path):
    """A short seeded CMA run on the shipped half-centre, asked for a faster rhythm than it has:
    the loss on held-out seeds drops clearly, and a second run with the same seed ends identically."""
    half_centre = load_circuit("half_centre")
    short = CalibrationSettings(
        objective="gait",
        budget=60,
        seed=2,
        popsize=10,
        train_seeds=2,
        validation_seeds=3,
        test_seeds=4,
        finalists=3,
        targets={"frequency_hz": 4.5},
        options={"duration_ms": 2000.0},
    )
    first = calibrate(half_centre, short, tmp_path / "one")
    second = calibrate(half_centre, short, tmp_path / "two")
    assert first.loss_after.total < 0.75 * first.loss_before.total
    assert first.values_after != first.values_before
    assert first.values_after == second.values_after and first.loss_after == second.loss_after
    assert (tmp_path / "one" / LOG_NAME).read_bytes() == (tmp_path / "two" / LOG_NAME).read_bytes()


def test_objective_options_are_typed_in_python_and_parsed_from_text_only_by_the_cli():
    from encephagen.cli.calibrate import _typed_options

    gait = get_objective("gait")
    options = gait.resolve_options({"duration_ms": 1500, "sweep_values": [12, 16], "lesion_zero": ["w_inf"]})
    assert options["duration_ms"] == 1500.0 and options["sweep_values"] == (12, 16)
    assert options["lesion_zero"] == ("w_inf",)
    with pytest.raises(CalibrationError, match=r"duration_ms of objective 'gait' must be a number .*got '1500'"):
        gait.resolve_options({"duration_ms": "1500"})
    with pytest.raises(CalibrationError, match=r"sweep_values of objective 'gait' must be a list .*got '12,16'"):
        gait.resolve_options({"sweep_values": "12,16"})
    parsed = _typed_options("gait", {"duration_ms": "1500", "sweep_values": "12, 16", "lesion_zero": "w_inf,w_ine"})
    assert parsed == {"duration_ms": 1500.0, "sweep_values": [12.0, 16.0], "lesion_zero": ["w_inf", "w_ine"]}
    with pytest.raises(CalibrationError, match="--option duration_ms=long: not a number"):
        _typed_options("gait", {"duration_ms": "long"})


def test_body_objective_conditions_and_drive_speeds_are_pairs_parsed_from_text_only_by_the_cli():
    import encephagen.body.objective  # noqa: F401  (registers walk)
    from encephagen.body.objective import conditions_option, drive_speeds_option
    from encephagen.body.perturbations import FrictionScale, MassScale, MotorDelay, Push
    from encephagen.cli.calibrate import _typed_options
    from encephagen.errors import BodyError

    parsed = _typed_options("walk", {"perturb": "none;push=4;friction=1.5,delay", "drive_speeds": "20:0.4, 25:0.85"})
    assert parsed == {
        "perturb": [[], [("push", 4.0)], [("friction", 1.5), ("delay", 1)]],
        "drive_speeds": [(20.0, 0.4), (25.0, 0.85)],
    }
    assert _typed_options("walk", {"perturb": ""}) == {"perturb": []}
    options = get_objective("walk").resolve_options(parsed)
    assert conditions_option(options["perturb"]) == ((), (Push(4.0),), (FrictionScale(1.5), MotorDelay(1)))
    assert conditions_option(()) == ((),) and drive_speeds_option(options["drive_speeds"]) == (
        (20.0, 0.4),
        (25.0, 0.85),
    )
    # as a resumed run directory or a history records them: lists of lists
    assert conditions_option([[["mass", 0.8]]]) == ((MassScale(0.8),),)
    with pytest.raises(CalibrationError, match=r"--option perturb=push=x: .*not a number"):
        _typed_options("walk", {"perturb": "push=x"})
    with pytest.raises(CalibrationError, match="--option drive_speeds=20: write DRIVE:SPEED pairs"):
        _typed_options("walk", {"drive_speeds": "20"})
    with pytest.raises(BodyError, match="takes conditions"):
        conditions_option("none;push=4")
    with pytest.raises(BodyError, match="size 'x' is not a number"):
        conditions_option([[("push", "x")]])
    with pytest.raises(BodyError, match="pairs of numbers"):
        drive_speeds_option([("20", 0.4)])


def test_objectives_listing_prints_every_target_and_option_with_a_default_the_cli_reads_back():
    """``calibrate --objectives`` is the registry as text: every name with its default, and each
    non-empty default as printed is what ``--option KEY=TEXT`` parses back to."""
    import encephagen.body.objective  # noqa: F401  (registers walk and stand)
    from encephagen.cli.calibrate import _default_text, _typed_options

    listing = invoke("calibrate", "--objectives")
    assert listing.exit_code == 0
    as_json = json.loads(invoke("calibrate", "--objectives", "--json").output)
    assert set(as_json) == set(objective_names()) >= {"gait", "walk", "stand"}
    for name in objective_names():
        objective = get_objective(name)
        assert f"{name}  ({objective.module})" in listing.output
        assert as_json[name]["targets"] == dict(objective.targets)
        for key, default in objective.options.items():
            text = _default_text(default)
            assert f"{key}  " in listing.output and text in listing.output
            if default in ("", ()) or key in ("perturb", "drive_speeds"):
                continue
            parsed = objective.resolve_options(_typed_options(name, {key: text}))[key]
            assert parsed == default, (name, key, text)
    walk = invoke("calibrate", "--objectives", "--objective", "walk").output
    assert walk.startswith("walk  (") and "slip_weight" in walk and "gait  (" not in walk
    unknown = CliRunner().invoke(cli, ["calibrate", "--objectives", "--objective", "wlk"])
    assert unknown.exit_code != 0 and "did you mean 'walk'" in unknown.output
