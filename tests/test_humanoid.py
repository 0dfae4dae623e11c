"""Humanoid-v5: its reference controllers, the humanoid_cpg circuit and binding, the stand objective, imitation of a feedback controller."""

from __future__ import annotations

import json

import numpy as np
import pytest

from encephagen.body.adapters import make_body
from encephagen.body.baselines import (
    HUMANOID_SIMBICON,
    JointPD,
    reference_controllers,
    run_episode,
)
from encephagen.body.binding import binding_path_for, load_binding
from encephagen.locations import shipped_circuits_dir
from encephagen.storage import load_circuit

REPORT_SEEDS = [100000, 100001, 100002]


@pytest.fixture(scope="module")
def humanoid():
    return make_body("humanoid")


def test_humanoid_reports_vestibular_rates_last_and_keeps_every_other_index(humanoid):
    assert humanoid.sensor_names[-3:] == ("torso_roll_rate", "torso_yaw_rate", "lateral_velocity")
    assert (
        humanoid.sensor_names.index("torso_height") == 0
        and humanoid.sensor_names.index("left_foot_load") == len(humanoid.sensor_names) - 4
    )
    observation, _ = humanoid.reset(3)
    roll, rate = humanoid.sensor_index("torso_roll"), humanoid.sensor_index("torso_roll_rate")
    rolls, rates = [observation[roll]], [observation[rate]]
    for _ in range(5):
        observation = humanoid.step(np.zeros(17)).observation
        rolls.append(observation[roll])
        rates.append(observation[rate])
    # roll rate (body frame) agrees with the derivative of roll while the torso is near upright
    derivative = np.diff(rolls) / (humanoid.dt_ms / 1000.0)
    assert np.allclose(derivative, (np.array(rates[1:]) + rates[:-1]) / 2, atol=0.05)
    assert observation[humanoid.sensor_index("lateral_velocity")] == humanoid.data.qvel[1]


def test_lqr_stander_stands_where_zero_action_and_joint_pd_fall(humanoid):
    """The references the circuit is reported beside (held-out seeds): zero action falls in
    ~40 steps, the joint PD holding the initial pose in < 200, the LQR stands 1000, also when it
    reads only the named sensors a circuit reads."""
    controllers = reference_controllers(humanoid)
    assert list(controllers) == ["zero", "constant", "pd", "lqr", "lqr_sensors", "simbicon"]
    steps = {name: [run_episode(humanoid, c, s)["steps"] for s in REPORT_SEEDS] for name, c in controllers.items()}
    assert all(35 <= s <= 50 for s in steps["zero"]), steps
    assert all(s < 200 for s in steps["pd"] + steps["constant"]), steps
    assert steps["lqr"] == steps["lqr_sensors"] == [1000] * len(REPORT_SEEDS), steps


def test_lqr_stander_is_deterministic(humanoid):
    from encephagen.body.lqr import design_lqr

    first, second = design_lqr(humanoid), design_lqr(humanoid)
    assert np.array_equal(first.gain, second.gain) and np.array_equal(first.qpos0, second.qpos0)


def test_simbicon_walks_forward_deterministically_and_restarts_its_phase_each_episode():
    """The SIMBICON reference on selection seeds 204900-204901 (300 steps = 4.5 s): it stays up
    and moves > 1 m forward; the same numbers twice; one controller reused over episodes gives
    what a fresh controller per episode gives (the phase restarts at step 0)."""
    body = make_body("humanoid", max_steps=300)
    shared = HUMANOID_SIMBICON.controller(body)
    reused = [run_episode(body, shared, s) for s in (204900, 204901)]
    fresh = [run_episode(body, HUMANOID_SIMBICON.controller(body), s) for s in (204900, 204901)]
    assert reused == fresh
    assert all(e["steps"] == 300 and not e["fell"] and e["distance"] > 1.0 for e in fresh), fresh


def test_simbicon_falls_without_its_foot_placement_feedback():
    """With the swing hip's d and v feedback off (cd = cv = cd_lat = cv_lat = 0) the same walker
    falls within 300 steps on the same seeds: the balance is the feedback, not the gait pattern."""
    from dataclasses import replace

    body = make_body("humanoid", max_steps=300)
    open_loop = replace(HUMANOID_SIMBICON, cd=0.0, cv=0.0, cd_lat=0.0, cv_lat=0.0)
    episodes = [run_episode(body, open_loop.controller(body), s) for s in (204900, 204901)]
    assert all(e["fell"] and e["steps"] < 300 for e in episodes), episodes


def test_simbicon_new_options_at_their_defaults_keep_session_7s_walker():
    """0.2 added arm_swing, hip_priority, contact_switch, capture_lat and the _sense hook with
    defaults that keep 0.1's behaviour: HUMANOID_SIMBICON_S7 reproduces what session 7's code gave
    on selection seed 207901 (300 steps: root distance 2.62111 m, reward 1635.742, measured with
    the session-7 code on main at 45361ed)."""
    from encephagen.body.baselines import HUMANOID_SIMBICON_S7

    body = make_body("humanoid", max_steps=300)
    episode = run_episode(body, HUMANOID_SIMBICON_S7.controller(body), 207901)
    assert episode["steps"] == 300
    assert episode["distance"] == pytest.approx(2.6211111976221737, abs=1e-9)
    assert episode["reward"] == pytest.approx(1635.7419739900254, abs=1e-6)


def test_simbicon_reads_every_balance_channel_through_its_sense_hook():
    """A spiking carrier adds noise to the walker's balance channels; the bench measures that by
    overriding ``_sense``. Every channel goes through it (an identity override changes nothing;
    white noise of sd 0.2 on each (rad, rad/s, m, m/s) makes the walker fall within 300 steps on
    selection seeds 207900-207901)."""
    from encephagen.body.baselines import SimbiconController

    seen: set[str] = set()

    class Identity(SimbiconController):
        def _sense(self, channel, values):
            seen.add(channel)
            return values

    class Noisy(SimbiconController):
        rng = np.random.default_rng(0)

        def _sense(self, channel, values):
            return values + 0.2 * self.rng.standard_normal(len(values))

    body = make_body("humanoid", max_steps=300)
    plain = [run_episode(body, HUMANOID_SIMBICON.controller(body), s) for s in (207900, 207901)]
    same = [run_episode(body, Identity(HUMANOID_SIMBICON, body), s) for s in (207900, 207901)]
    assert plain == same and seen == {"yaw", "com_offset", "com_velocity", "thigh", "torso"}
    noisy = [run_episode(body, Noisy(HUMANOID_SIMBICON, body), s) for s in (207900, 207901)]
    assert all(not e["fell"] for e in plain) and all(e["fell"] and e["steps"] < 300 for e in noisy), (plain, noisy)


def test_joint_pd_pushes_each_joint_back_to_its_initial_angle(humanoid):
    observation, _ = humanoid.reset(0)
    controller = JointPD(1.0, 0.0).controller(humanoid)
    observation = observation.copy()
    knee = humanoid.sensor_index("right_knee_angle")
    observation[knee] = 0.2
    action = controller(0, observation)
    assert action[humanoid.actuator_index("right_knee")] == pytest.approx(-0.2, abs=0.02)


def test_humanoid_cpg_binding_is_found_for_the_body_and_its_gains_are_free_parameters():
    path = binding_path_for(shipped_circuits_dir() / "humanoid_cpg.json", "humanoid")
    assert path.name == "humanoid_cpg.humanoid.binding.json"
    circuit, binding = load_circuit("humanoid_cpg"), load_binding(path)
    named = {value.param for _, value in binding.values() if hasattr(value, "param")}
    assert named <= set(circuit.parameters)
    gains = {n for n in named if n.startswith("k_")}
    # one motor gain per joint type, shared by left and right, each free for calibrate
    assert len(gains) == 10 and gains <= set(circuit.free_parameters)


RG_CLASSES = {"Shox2", "InRG", "V1", "V2b", "V2a", "V0d", "V0v", "Ini", "V3"}
CPG_CLASSES = {
    "MN",
    "VS",
    "SpIN",
    "IaIN",
    "Renshaw",
    "Ib",
    "Shox2",
    "InRG",
    "V1",
    "V2b",
    "V2a",
    "V0d",
    "V0v",
    "Ini",
    "V3",
}


def _weight_value(circuit, weight) -> float:
    if isinstance(weight, int | float):
        return float(weight)
    return float(circuit.parameters[weight.param].value) * float(weight.factor)


def test_humanoid_cpg_has_every_listed_class_cited_and_obeys_dales_law():
    """Every class issue 14 lists (balance pathway, Ia inhibitory interneurons, Renshaw cells, foot-load
    afferents, the rhythm generator with spinal_cpg's commissural classes) exists, is cited (the spinal
    classes' references with a DOI), and every projection's sign is its source class's."""
    circuit = load_circuit("humanoid_cpg")
    assert str(circuit.version) == "0.6.0"
    assert {p.cell_class for p in circuit.populations.values()} == CPG_CLASSES
    for cls in CPG_CLASSES:
        refs = circuit.cell_classes[cls].references
        assert refs, cls
    for cls in ("MN", "VS", "SpIN", "IaIN", "Renshaw", "Ib"):
        assert all(circuit.references[r.ref].doi for r in circuit.cell_classes[cls].references), cls
    for name, projection in circuit.projections.items():
        sign = circuit.cell_classes[circuit.populations[projection.source].cell_class].effective_sign
        value = _weight_value(circuit, projection.weight)
        assert (value >= 0) if sign == "excitatory" else (value <= 0), name
    for actuator in make_body("humanoid").actuator_names:
        for d, o in (("pos", "neg"), ("neg", "pos")):
            # the IaIN receives exactly the channel input of its homonymous pool and inhibits the antagonist
            into = {
                kind: {p.source for p in circuit.projections.values() if p.target == f"{actuator}_{kind}_{d}"}
                for kind in ("MN", "IaIN")
            }
            channels = {s for s in into["MN"] if circuit.populations[s].cell_class in ("VS", "SpIN")}
            assert channels and channels <= into["IaIN"], actuator
            for source, target, negative in (
                (f"{actuator}_IaIN_{d}", f"{actuator}_MN_{o}", True),
                (f"{actuator}_IaIN_{d}", f"{actuator}_IaIN_{o}", True),
                (f"{actuator}_MN_{d}", f"{actuator}_RC_{d}", False),
                (f"{actuator}_RC_{d}", f"{actuator}_MN_{d}", True),
                (f"{actuator}_RC_{d}", f"{actuator}_IaIN_{d}", True),
            ):
                value = _weight_value(circuit, circuit.projections[f"{source}->{target}"].weight)
                assert (value < 0) if negative else (value > 0), (source, target)
    for side, leg in (("L", "left"), ("R", "right")):
        for source, target in (("RG_F", "MN_neg"), ("RG_E", "MN_pos"), ("V1", "MN_pos"), ("V2b", "MN_neg")):
            assert f"{side}_{source}->{leg}_hip_y_{target}" in circuit.projections
    n = sum(int(p.size) for p in circuit.populations.values())
    assert n <= 2400


def test_humanoid_cpg_foot_load_afferents_excite_the_extensor_half_centre_only_when_the_rhythm_runs():
    """Each foot's Ib pool is fed by that foot's load sensor only and excites only the same side's extensor
    half-centre, left and right through the same parameters. Open loop (sensors at the LQR's standing
    pose, selection seed 213901, same noise in every run): at the standing drive (0) the Ib afferents fire
    and no half-centre does (load feedback is gated off in quiet stance); at the walking drive (28 mV) the
    left extensor half-centre fires more with its foot loaded than unloaded (0.6.0 at its dt 0.75: 1,054 vs 812 spikes
    in 2 s) while the right one, whose foot keeps its load, moves by a few per cent."""
    from encephagen.body.loop import ClosedLoop
    from encephagen.body.lqr import lqr_stander
    from encephagen.compiler import compile_circuit
    from encephagen.simulation import Simulator

    path = shipped_circuits_dir() / "humanoid_cpg.json"
    circuit, binding = load_circuit(path), load_binding(binding_path_for(path, "humanoid"))
    for leg in ("left", "right"):
        pool = f"{leg}_foot_Ib"
        assert circuit.populations[pool].cell_class == "Ib"
        fed = [a for a in binding.afferents.values() if a.population == pool]
        assert [a.sensor for a in fed] == [f"{leg}_foot_load"] and fed[0].gain.param == "g_ib"
        targets = {p.target: p.weight.param for p in circuit.projections.values() if p.source == pool}
        assert targets == {f"{leg[0].upper()}_RG_E": "w_ib_rg"}
    body = make_body("humanoid")
    loop = ClosedLoop(compile_circuit(circuit, dt=binding.dt_ms), binding, base_dir=path.parent)
    _, s0 = lqr_stander(body).on_sensors(body)
    names = loop.network.population_names
    left_load = body.sensor_index("left_foot_load")

    def counts(drive: float, load: float) -> np.ndarray:
        values = {**loop.network.parameter_values(), "drive": drive}
        gain, offset, _, _ = loop._lane_arrays(values)
        sensors = s0.copy()
        sensors[left_load] = load
        simulator = Simulator(loop.network, seeds=[213901], parameters=[values], record_spikes=False, bin_ms=15.0)
        simulator.advance(
            round(3000.0 / loop.network.dt), **loop._inputs(sensors[None, :], gain[None, :], offset[None, :])
        )
        return simulator.result().population_counts[0, 67:].sum(axis=0)  # the last 2 s (67 bins of 15 ms: 1 s)

    standing = counts(0.0, s0[left_load])
    assert standing[names.index("left_foot_Ib")] > 1000 and standing[names.index("right_foot_Ib")] > 1000
    assert standing[[names.index(f"{side}_RG_{kind}") for side in "LR" for kind in "EF"]].sum() == 0
    loaded, unloaded = counts(28.0, s0[left_load]), counts(28.0, 0.0)
    assert unloaded[names.index("left_foot_Ib")] == 0
    left, right = names.index("L_RG_E"), names.index("R_RG_E")
    assert loaded[left] > 1.15 * unloaded[left], (loaded[left], unloaded[left])
    assert abs(loaded[right] - unloaded[right]) < 0.1 * loaded[right]


def test_humanoid_cpg_rhythm_generator_is_silent_at_the_standing_drive_and_alternates_when_driven():
    """Open loop (no body; the channels at their resting rate, as at the standing pose), selection
    seed 209900: at the default MLR drive (0) no rhythm-generator or commissural neuron fires but V0d; at drive 28 mV the
    flexor half-centres burst and left and right alternate (their binned rates anti-correlated)."""
    from encephagen.compiler import compile_circuit
    from encephagen.simulation import simulate

    circuit = load_circuit("humanoid_cpg")
    assert circuit.parameters["drive"].value == 0.0
    network = compile_circuit(circuit, dt=0.25)
    result = simulate(network, 2500.0, seeds=209900, parameters=[{}, {"drive": 28.0}], record_spikes=False, bin_ms=10.0)
    names = result.population_names
    # V0d keeps firing (its 22 mV tonic drive is lowered by 1.5 x drive): tonic inhibition of the silent half-centres
    silent = [i for i, n in enumerate(names) if circuit.populations[n].cell_class in RG_CLASSES - {"V0d"}]
    assert len(silent) == 20 and result.population_counts[0, :, silent].sum() == 0
    rates = result.rate_traces_hz()[1, 50:]
    left, right = rates[:, names.index("L_RG_F")], rates[:, names.index("R_RG_F")]
    assert left.mean() > 10 and right.mean() > 10
    assert np.corrcoef(left, right)[0, 1] < -0.3


def test_stand_objective_rewards_staying_up_and_still():
    from encephagen.body.objective import StandEvaluator

    evaluator = StandEvaluator.__new__(StandEvaluator)
    evaluator.targets = {"steps": 1000.0, "drift_m": 1.0}
    still = evaluator._terms(
        {"steps": 1000, "distance": 0.05, "distance_upright": 0.05, "pitch_abs_mean": 0.02, "effort": 0.01}
    )
    walking = evaluator._terms(
        {"steps": 1000, "distance": 3.0, "distance_upright": 3.0, "pitch_abs_mean": 0.02, "effort": 0.01}
    )
    fallen = evaluator._terms(
        {"steps": 100, "distance": 0.0, "distance_upright": 0.0, "pitch_abs_mean": 0.02, "effort": 0.01}
    )
    assert still["survival"] == 0.0 and fallen["survival"] == pytest.approx(0.9)
    assert walking["distance"] > still["distance"]


def test_stand_objective_runs_humanoid_cpg_with_its_humanoid_binding():
    from encephagen.objectives import get_objective

    objective = get_objective("stand")
    evaluate = objective.factory(load_circuit("humanoid_cpg"), objective.targets, {**objective.options, "max_steps": 5})
    losses = evaluate([{}, {"k_knee": 0.01}], [1000001, 1000002])
    assert [len(row) for row in losses] == [2, 2]
    assert all(loss.terms["survival"] == pytest.approx(1 - 5 / 1000) for row in losses for loss in row)


def test_fit_to_controller_recovers_the_binding_that_produced_the_actions():
    """Record the circuit's own closed-loop actions, replay them as a reference controller: the
    least-squares fit of its motor gains and offsets on the recorded states returns the values
    that produced them (the replay sees the same sensors and noise seeds, so the readouts are
    the loop's, bit for bit)."""
    from encephagen.body.imitate import fit_to_controller
    from encephagen.body.loop import ClosedLoop
    from encephagen.compiler import compile_circuit

    circuit = load_circuit("humanoid_cpg")
    binding = load_binding(shipped_circuits_dir() / "humanoid_cpg.humanoid.binding.json")
    loop = ClosedLoop(compile_circuit(circuit, dt=binding.dt_ms), binding, base_dir=shipped_circuits_dir())
    truth = {"k_knee": 0.0011, "k_hip_y": 0.0013}
    seeds = [1_000_007, 1_000_008]
    episodes = loop.run(seeds, parameters=[truth] * 2, max_steps=25, record=True)
    actions = [e.trajectory["action"] for e in episodes]
    fitted_motors = [i for i, a in enumerate(make_body("humanoid").actuator_names) if a.endswith(("knee", "hip_y"))]
    # nothing the fit uses is clipped (the other motors may saturate in the reset transient): the relation is linear
    assert all(np.abs(a[:, fitted_motors]).max() < 0.4 for a in actions)

    def replay(body):
        """The recorded actions, one episode after another (record_controller resets per seed)."""
        queue, current = list(actions), []

        def act(step, observation):
            if step == 0:
                current[:] = [queue.pop(0)]
            return current[0][step]

        return act

    fitted = fit_to_controller(loop, replay, list(truth), seeds=seeds, steps=25)
    for name, value in truth.items():
        assert fitted.values[name] == pytest.approx(value, rel=1e-6, abs=1e-9), (name, fitted.values)
    # the fitted motors are reproduced exactly (the others, clipped in the reset transient, are not fitted)
    names = make_body("humanoid").actuator_names
    assert all(fitted.r2[names[i]] == pytest.approx(1.0, abs=1e-9) for i in fitted_motors), fitted.r2


def test_run_prints_the_circuit_beside_every_humanoid_reference_on_the_same_seeds():
    from click.testing import CliRunner

    from encephagen.cli.main import cli

    result = CliRunner().invoke(
        cli,
        [
            "run",
            "humanoid_cpg",
            "--body",
            "humanoid",
            "--episodes",
            "2",
            "--seed",
            "100000",
            "--max-steps",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["binding"].endswith("humanoid_cpg.humanoid.binding.json")
    assert report["dt_ms"] == 0.75  # the binding's dt_ms: the step humanoid_cpg is made for and reported at
    assert list(report["controllers"]) == [
        "circuit",
        "offsets",
        "zero",
        "constant",
        "pd",
        "lqr",
        "lqr_sensors",
        "simbicon",
    ]
    assert all([e["seed"] for e in c["episodes"]] == [100000, 100001] for c in report["controllers"].values())


def test_video_shows_a_front_view_of_a_3d_body_only(humanoid):
    from encephagen.body.adapters import Walker2d

    assert [label for label, _ in humanoid.cameras()] == ["side", "front"]
    assert [label for label, _ in Walker2d().cameras()] == ["side"]


@pytest.fixture(scope="module")
def stander_loop():
    from encephagen.body.loop import ClosedLoop
    from encephagen.compiler import compile_circuit

    path = shipped_circuits_dir() / "humanoid_stander.json"
    return ClosedLoop(
        compile_circuit(load_circuit(path), dt=0.25), load_binding(binding_path_for(path)), base_dir=path.parent
    )


def _without_class(loop, cell_class: str):
    """The loop with the circuit's populations of ``cell_class`` removed (with their projections)
    and the binding's afferent entries into them."""
    without = loop.lesioned([cell_class])
    assert without.network.n_neurons < loop.network.n_neurons
    assert 0 < len(without.binding.afferents) < len(loop.binding.afferents)
    return without


def test_humanoid_stander_feeds_its_motor_pools_only_through_spiking_channel_populations(stander_loop):
    circuit = stander_loop.network.circuit
    fed = {a.population for a in stander_loop.binding.afferents.values()}
    assert {circuit.populations[p].cell_class for p in fed} == {"VS", "SpIN"}
    assert all(
        circuit.populations[p.source].cell_class in ("VS", "SpIN") and circuit.populations[p.target].cell_class == "MN"
        for p in circuit.projections.values()
    )
    assert all(circuit.cell_classes[c].references for c in ("VS", "SpIN", "MN"))


def test_humanoid_stander_stays_up_where_zero_action_falls_at_40_steps(stander_loop):
    (episode,) = stander_loop.run([REPORT_SEEDS[0]], max_steps=300)
    assert episode.metrics["steps"] == 300


@pytest.mark.parametrize("cell_class", ["SpIN", "VS"])
def test_humanoid_stander_falls_within_200_steps_without_its_spindle_or_vestibulospinal_populations(
    stander_loop, cell_class
):
    episodes = _without_class(stander_loop, cell_class).run(REPORT_SEEDS[:2], max_steps=200)
    assert all(e.metrics["steps"] < 200 for e in episodes)


@pytest.fixture(scope="module")
def cpg_loop():
    from encephagen.body.runs import bind

    return bind("humanoid_cpg", "humanoid")  # at the binding's dt_ms, the step it is reported at


def test_humanoid_cpg_stays_up_where_zero_action_falls_at_40_steps(cpg_loop):
    (episode,) = cpg_loop.run([REPORT_SEEDS[0]], max_steps=300)
    assert episode.metrics["steps"] == 300


@pytest.mark.parametrize("cell_class", ["SpIN", "VS"])
def test_humanoid_cpg_falls_within_200_steps_without_its_spindle_or_vestibulospinal_populations(cpg_loop, cell_class):
    episodes = _without_class(cpg_loop, cell_class).run(REPORT_SEEDS[:2], max_steps=200)
    assert all(e.metrics["steps"] < 200 for e in episodes)


def test_humanoid_cpg_ia_interneurons_and_renshaw_cells_shape_the_motor_command(cpg_loop):
    """Open loop on the sensor rows of one LQR episode (selection seed 209500, 150 body steps): the
    action's slope against the LQR's command (median over the 17 actuators) is about the stander's
    (0.6.0 at its dt 0.75: 0.91; humanoid_stander 0.72-1.0 per actuator). Without the Ia inhibitory
    interneurons it loses more than their 30 % share (0.58: their tonic inhibition goes too, the
    pools' rates rise and their f-I slope falls). Without the Renshaw cells the slope stays (0.91:
    the divisive loop goes, but so does its tonic inhibition; 0.5.0 at dt 0.25 went 0.86 -> 0.77) and
    the readouts' mean size falls by 30 % (9.9 -> 7.0 Hz): the pools leave their operating point."""
    from encephagen.body.imitate import readouts_on_observations, record_controller
    from encephagen.body.lqr import lqr_stander

    body = make_body("humanoid")
    lqr = lqr_stander(body)
    gain, s0 = lqr.on_sensors(body)
    observations, _ = record_controller(body, lqr.sensor_controller, [209500], steps=150, noise=0.05)[0]
    assert len(observations) == 150  # the LQR stands: nothing saturates
    command = (observations - s0)[20:] @ -gain.T

    def slope_and_size(loop) -> tuple[float, float]:
        readouts = readouts_on_observations(loop, [observations], [1])[0][20:]
        _, _, _, motor_gain = loop._lane_arrays(loop.network.parameter_values())
        x, y = command - command.mean(axis=0), readouts @ motor_gain.T
        y = y - y.mean(axis=0)
        return float(np.median((x * y).sum(axis=0) / (x * x).sum(axis=0))), float(np.abs(readouts).mean())

    (intact, size), (no_iain, _), (_, size_no_rc) = (
        slope_and_size(loop) for loop in (cpg_loop, cpg_loop.lesioned(["IaIN"]), cpg_loop.lesioned(["Renshaw"]))
    )
    assert 0.75 < intact < 1.0, intact
    assert no_iain < 0.8 * intact, (intact, no_iain)
    assert size_no_rc < 0.85 * size, (size, size_no_rc)


def test_humanoid_cpg_afferent_currents_in_one_compiled_pass_equal_numpys_bit_for_bit(cpg_loop, humanoid):
    """The closed loop computes its 1,932 afferent currents in one compiled pass (clip of offset + gain *
    sensor, then each population's sum in binding order); NumPy's expression, kept for bindings with
    rate afferents, must give the same bits, signed zeros, clipped and unclipped values included."""
    assert cpg_loop._currents_only is not None and cpg_loop._sensor.size > 1000
    defaults = cpg_loop.network.parameter_values()
    gain, offset = (np.stack([x, 1.5 * x]) for x in cpg_loop._lane_arrays(defaults)[:2])  # two lanes, unlike
    rng = np.random.default_rng(219490)  # selection seeds 219490-219492 (encephagen.seeds)
    base = np.stack([humanoid.reset(219491)[0], humanoid.reset(219492)[0]])
    zero = rng.random(offset.shape) < 0.3  # offsets of +-0.0, so that sums of signed zeros meet bounds of +-0.0
    offset = np.where(zero, rng.choice([0.0, -0.0], size=offset.shape), offset)
    fused_path, bounds = cpg_loop._currents_only, (cpg_loop._aff_low, cpg_loop._aff_high)
    n = cpg_loop._sensor.size  # the binding clips 2 afferents: give each finite bounds, some of them zeros
    low = rng.choice([-np.inf, -5.0, -0.0, 0.0], size=n)
    cpg_loop._aff_low, cpg_loop._aff_high = low, np.maximum(low, rng.choice([np.inf, 5.0, 0.0, -0.0], size=n))
    try:
        clipped = 0
        for _ in range(20):
            scale = rng.choice([1.0, 0.0, -0.0, 30.0, -30.0], p=[0.6, 0.1, 0.1, 0.1, 0.1], size=base.shape)
            observations = base * scale
            fused = cpg_loop._inputs(observations, gain, offset)["current"]
            try:
                cpg_loop._currents_only = None
                plain = cpg_loop._inputs(observations, gain, offset)["current"]
            finally:
                cpg_loop._currents_only = fused_path
            assert fused.shape == plain.shape == (2, cpg_loop.network.n_neurons)
            assert np.array_equal(fused.view(np.uint64), plain.view(np.uint64))
            value = offset + gain * observations[:, cpg_loop._sensor]
            clipped += int(np.sum((value < cpg_loop._aff_low) | (value > cpg_loop._aff_high)))
    finally:
        cpg_loop._aff_low, cpg_loop._aff_high = bounds
    assert clipped > 1000  # the clip was exercised
