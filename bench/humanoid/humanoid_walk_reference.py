"""Does any simple, non-learned controller walk Humanoid-v5? (issue 14's walk bar)

    .venv/bin/python bench/humanoid/humanoid_walk_reference.py lqr V [SEEDS]        # LQR stander, CoM target moving at V m/s
    .venv/bin/python bench/humanoid/humanoid_walk_reference.py simbicon [K=V ...] [SEEDS]     # Simbicon() defaults changed by K=V
    .venv/bin/python bench/humanoid/humanoid_walk_reference.py chosen [K=V ...] [SEEDS]        # baselines.HUMANOID_SIMBICON (K changed)
        extra K=V: push=I mass=S friction=S slope=D delay=N (encephagen.body.perturbations on the body);
        sense_noise=SD (Gaussian noise on the walker's balance channels, NoisySimbicon), channel.NAME=1 (only there);
        predict=S (the balance channels extrapolated S seconds ahead, PredictiveSimbicon)
    .venv/bin/python bench/humanoid/humanoid_walk_reference.py search BUDGET [sigma= cap= train= validation=] [K=V ...]
    .venv/bin/python bench/humanoid/humanoid_walk_reference.py survival BUDGET FIRST_SEED [per_eval= sigma= popsize=] [K=V ...]
    .venv/bin/python bench/humanoid/humanoid_walk_reference.py torque              # single-support torque vs actuators

SEEDS: a comma list or FIRST-LAST (default: selection seeds 204000-204009). One line per
episode and a summary: steps, why it ended (height below 1.0 m, or the 1000-step limit), root
and centre-of-mass forward displacement (m), foot-contact switches (steps taken), foot slip
(mean horizontal speed of a foot while it carries load, m/s), the fraction of actuator-steps at
the +-0.4 limit, per group, and the final torso yaw.

SIMBICON (Yin, Loken & van de Panne 2007, "SIMBICON: simple biped locomotion control", ACM
Trans. Graph. 26(3):105): a two-state-per-step machine (lift: a fixed time; strike: until the
swing foot touches, or a time-out), joint PD targets for the swing knee and stance knee, the
swing thigh's angle held in the world frame at ``theta0 + c_d d + c_v v`` (d, v: the centre of
mass's horizontal offset and velocity relative to the stance foot) in the sagittal and, with
their own gains, the coronal plane, and the stance hip's torque chosen so that the hips together
put the torso-pitch and torso-roll PD torques on the trunk (``tau_stance = -tau_torso - tau_swing``).
"""

from __future__ import annotations

import math
import sys
from dataclasses import fields, replace
from typing import ClassVar

import mujoco
import numpy as np

from encephagen.body.adapters import make_body
from encephagen.body.baselines import HUMANOID_SIMBICON, HUMANOID_SIMBICON_S7, Simbicon, SimbiconController
from encephagen.body.lqr import lqr_stander
from encephagen.body.perturbations import parse_perturbations, perturbed

SELECTION = list(range(204000, 204010))
GROUPS = {
    "abdomen": ("abdomen_y", "abdomen_z", "abdomen_x"),
    "hip_x": ("right_hip_x", "left_hip_x"),
    "hip_z": ("right_hip_z", "left_hip_z"),
    "hip_y": ("right_hip_y", "left_hip_y"),
    "knee": ("right_knee", "left_knee"),
    "arms": ("right_shoulder1", "right_shoulder2", "right_elbow", "left_shoulder1", "left_shoulder2", "left_elbow"),
}


def com(body) -> np.ndarray:
    """Whole-body centre of mass (m)."""
    return body.data.subtree_com[1].copy()


def episode(body, make_controller, seed: int) -> dict:
    """Run one episode with diagnostics; ``make_controller(body)`` builds a fresh controller."""
    model, data = body.model, body.data
    observation, _ = body.reset(seed)
    controller = make_controller(body)
    if hasattr(controller, "reseed"):  # a noisy controller draws its noise from the episode's seed
        controller.reseed(seed)
    feet = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, n) for n in ("right_foot", "left_foot")]
    load = [body.sensor_index("right_foot_load"), body.sensor_index("left_foot_load")]
    com0 = com(body)
    vel6 = np.zeros(6)
    index = {a: body.actuator_index(a) for a in body.actuator_names}
    saturated = dict.fromkeys(GROUPS, 0)
    slip, slip_n, switches, last_single, lifted, clearance = 0.0, 0, 0, None, 0, []
    step, terminated, heights = 0, False, []
    stance = getattr(controller, "stance", None) is not None
    stats = {"n": 0, "stance_hip_x": 0, "stance_hip_y": 0, "stance_hip_z": 0, "stance_knee": 0} if stance else None
    while True:
        action = controller(step, observation)
        clipped = np.clip(action, body.action_low, body.action_high)
        if stats is not None:  # saturation of the stance leg's actuators (SIMBICON only)
            stats["n"] += 1
            for joint in ("hip_x", "hip_y", "hip_z", "knee"):
                stats[f"stance_{joint}"] += int(abs(clipped[index[f"{controller.stance}_{joint}"]]) >= 0.399)
        for g, names in GROUPS.items():
            saturated[g] += int(sum(abs(clipped[index[n]]) >= 0.399 for n in names))
        result = body.step(clipped)
        observation, step = result.observation, step + 1
        heights.append(observation[0])
        loads = [observation[i] for i in load]
        for k, f in enumerate(feet):
            if loads[k] > 50.0:  # speed of the sphere's lowest point (rolling is not slip)
                mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, f, vel6, 0)
                # mj_objectVelocity centres a body's velocity on its centre of mass, the sphere's centre
                point = vel6[3:] + np.cross(vel6[:3], np.array([0.0, 0.0, -0.075]))
                slip += float(np.linalg.norm(point[:2]))
                slip_n += 1
        # a foot is lifted when its sphere's lowest point is > 2 cm above the floor (foot body origin +0.1 - 0.075 m)
        bottoms = [data.xpos[f, 2] + 0.025 for f in feet]
        lifted += max(bottoms) > 0.02
        clearance.append(max(bottoms))
        single = 0 if loads[0] > 20 and loads[1] < 20 else 1 if loads[1] > 20 and loads[0] < 20 else None
        if single is not None and single != last_single:
            switches += last_single is not None
            last_single = single
        if result.terminated or result.truncated:
            terminated = result.terminated
            break
    yaw = 2 * math.atan2(data.qpos[6], data.qpos[3])
    return {
        "seed": seed,
        "steps": step,
        "end": ("height>2" if observation[0] >= 2.0 else "height<1") if terminated else "time",
        "root_dx": body.distance,
        "com_dx": float(com(body)[0] - com0[0]),
        "com_dy": float(com(body)[1] - com0[1]),
        "switches": switches,
        "slip": slip / max(slip_n, 1),
        "lifted": lifted / step,
        "clearance": float(np.mean(clearance)),
        "sat": {g: saturated[g] / (step * len(GROUPS[g])) for g in GROUPS},
        "yaw": yaw,
        "min_height": float(min(heights)),
        "end_pitch": float(observation[1]),
        "end_roll": float(observation[3]),
        "stance_sat": {k: v / stats["n"] for k, v in stats.items() if k != "n"} if stats else {},
    }


def report(rows: list[dict], label: str) -> None:
    for r in rows:
        sat = " ".join(f"{g} {v:.2f}" for g, v in r["sat"].items())
        print(
            f"  {r['seed']}  steps {r['steps']:4d} ({r['end']:8s})  root {r['root_dx']:6.2f} m  com {r['com_dx']:6.2f} m"
            f" (y {r['com_dy']:5.2f})  switches {r['switches']:3d}  lifted {r['lifted']:.2f}  slip {r['slip']:.3f} m/s  yaw {r['yaw']:5.2f}"
            f"  min h {r['min_height']:.2f}  end pitch {r['end_pitch']:+.2f} roll {r['end_roll']:+.2f}  sat: {sat}"
            + "".join(f"  {k} {v:.2f}" for k, v in r["stance_sat"].items()),
            flush=True,
        )
    full = sum(r["end"] == "time" for r in rows)
    com_dx = np.array([r["com_dx"] for r in rows])
    print(
        f"{label}: full {full}/{len(rows)}, steps {np.mean([r['steps'] for r in rows]):.0f}, com dx {com_dx.mean():.2f}"
        f" +- {com_dx.std(ddof=1) if len(rows) > 1 else 0:.2f} m, >=3 m in full episodes:"
        f" {sum(r['end'] == 'time' and r['com_dx'] >= 3 for r in rows)}, switches"
        f" {np.mean([r['switches'] for r in rows]):.1f}",
        flush=True,
    )


# --------------------------------------------------------------------------- 1. LQR with a moving CoM target


def lqr_moving(speed: float):
    """The LQR stander with its balance target (CoM over the left foot) moving forward at ``speed`` m/s.

    The reference state is the minimum-norm joint/orientation offset that moves the centre of mass
    forward by ``speed * t`` relative to the left foot (pinv of the LQR's balance Jacobian), and its
    rate; ``ctrl = clip(ctrl0 - K (dx - dx_ref))``.
    """

    def make(body):
        model, data = body.model, body.data
        lqr = lqr_stander(body)
        nv = model.nv
        probe = mujoco.MjData(model)
        probe.qpos[:] = lqr.qpos0
        mujoco.mj_forward(model, probe)
        jac_com, jac_foot = np.zeros((3, nv)), np.zeros((3, nv))
        mujoco.mj_jacSubtreeCom(model, probe, jac_com, 1)
        mujoco.mj_jacBodyCom(
            model, probe, jac_foot, None, mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "left_foot")
        )
        direction = np.linalg.pinv(jac_com - jac_foot) @ np.array([1.0, 0.0, 0.0])
        dx = np.zeros(2 * nv)
        dt = body.dt_ms / 1000.0

        def act(step, observation):
            mujoco.mj_differentiatePos(model, dx[:nv], 1.0, lqr.qpos0, data.qpos)
            dx[nv:] = data.qvel
            ref = np.concatenate([direction * speed * step * dt, direction * speed])
            return np.clip(lqr.ctrl0 - lqr.gain @ (dx - ref), body.action_low, body.action_high)

        return act

    return make


# --------------------------------------------------------------------------- 2. SIMBICON


def simbicon(p: Simbicon):
    """A controller factory for :func:`episode`: the library's SIMBICON walker with numbers ``p``."""
    return p.controller


class NoisySimbicon(SimbiconController):
    """The walker with white Gaussian noise on every balance channel it reads (what a spiking
    carrier adds): ``sd`` rad on angles (torso pitch, roll, yaw; thigh angles), 10 ``sd`` rad/s on
    their rates, ``sd`` m on the CoM's offset from the stance foot and ``sd`` m/s on its velocity
    (the units of :class:`encephagen.body.perturbations.SensorNoise`); drawn from the episode's seed."""

    SCALE: ClassVar[dict[str, list[float]]] = {
        "yaw": [1.0, 10.0],
        "com_offset": [1.0] * 3,
        "com_velocity": [1.0] * 3,
        "thigh": [1.0, 10.0, 1.0, 10.0],
        "torso": [1.0, 10.0, 1.0, 10.0],
    }

    def __init__(self, params: Simbicon, body, sd: float, channels: tuple[str, ...] = ()):
        super().__init__(params, body)
        self.sd, self.rng, self.channels = sd, np.random.default_rng(0), channels or tuple(self.SCALE)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng([seed, 0x5E45E])

    def _sense(self, channel: str, values: np.ndarray) -> np.ndarray:
        if channel not in self.channels:
            return values
        return values + self.sd * np.array(self.SCALE[channel]) * self.rng.standard_normal(len(values))


class PredictiveSimbicon(SimbiconController):
    """The walker acting on its balance channels extrapolated ``lead`` s ahead (angle + rate x lead,
    CoM offset + CoM velocity x lead): a Smith-predictor-like answer to a motor delay."""

    def __init__(self, params: Simbicon, body, lead: float):
        super().__init__(params, body)
        self.lead = lead

    def _sense(self, channel: str, values: np.ndarray) -> np.ndarray:
        out = values.copy()
        if channel in ("yaw", "thigh", "torso"):  # (angle, rate) pairs
            out[0::2] += self.lead * values[1::2]
        elif channel == "com_offset":  # subtree_linvel is fresh here (mj_subtreeVel ran just before)
            torso = self.body.data.xmat[self._id["torso"]].reshape(3, 3)
            yaw = math.atan2(torso[1, 0], torso[0, 0])
            c, s = math.cos(yaw), math.sin(yaw)
            out += self.lead * (
                np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]) @ self.body.data.subtree_linvel[1]
            )
        return out


# --------------------------------------------------------------------------- 4. torque a single support needs


def single_support_torques() -> None:
    """Quasi-static joint torques on the stance leg with the other foot lifted, vs the actuators' limits."""
    body = make_body("humanoid")
    model = body.model
    data = mujoco.MjData(model)
    limit = {model.actuator(a).name: 0.4 * model.actuator_gear[a, 0] for a in range(model.nu)}
    stance_bodies = {
        mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, n) for n in ("right_thigh", "right_shin", "right_foot")
    }
    print("right leg stance (knee -0.1), left thigh lifted 0.4 rad / knee -0.8; quasi-static gravity torque on each")
    print(
        "right-leg joint (moment of the weight of everything above the joint about its axis; N m) / the actuator's limit;"
    )
    print(
        "CoM lateral offset from the stance foot (+: towards the midline, where the body falls when the foot cannot push)"
    )
    for hip_x in (0.0, 0.0873):
        for roll in (0.0, 0.05, 0.1, 0.15, 0.2):
            data.qpos[:] = body.init_qpos
            q = data.qpos
            q[model.jnt_qposadr[model.joint("left_hip_y").id]] = -0.4
            q[model.jnt_qposadr[model.joint("left_knee").id]] = -0.8
            q[model.jnt_qposadr[model.joint("right_hip_x").id]] = hip_x
            q[model.jnt_qposadr[model.joint("right_knee").id]] = -0.1
            # roll the whole body rigidly about +x by ``roll`` (its top towards the right foot, -y)
            q[3:7] = [math.cos(roll / 2), math.sin(roll / 2), 0.0, 0.0]
            mujoco.mj_kinematics(model, data)
            mujoco.mj_comPos(model, data)
            out = []
            for name in ("right_hip_x", "right_hip_y", "right_knee"):
                j = model.joint(name).id
                anchor, axis = data.xanchor[j], data.xaxis[j]
                jbody = model.jnt_bodyid[j]
                below = {b for b in stance_bodies if b >= jbody}  # the stance leg from this joint down
                moment = np.zeros(3)
                for b in range(1, model.nbody):
                    if b in below:
                        continue
                    moment += np.cross(data.xipos[b] - anchor, model.body_mass[b] * np.array([0, 0, -9.81]))
                # the joint must supply the opposite of the weight's moment of the upper part about its axis
                out.append(f"{name} {abs(float(moment @ axis)):5.1f} / {limit[name]:.0f}")
            foot = data.xpos[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "right_foot")]
            offset = data.subtree_com[1, 1] - foot[1]
            print(
                f"  right hip_x {hip_x:.3f} rad, body rolled {roll:.2f} rad: CoM {offset:+.3f} m lateral of the stance foot; "
                + ", ".join(out)
            )


# --------------------------------------------------------------------------- a small search on selection seeds

SEARCH = {
    "lift_time": (0.12, 0.4),
    "swing_hip_lift": (0.0, 0.8),
    "swing_hip_strike": (-0.2, 0.5),
    "swing_knee_lift": (-1.5, -0.3),
    "swing_knee_strike": (-0.6, -0.05),
    "stance_knee": (-0.5, -0.05),
    "cd": (0.0, 1.0),
    "cv": (0.0, 1.0),
    "cd_lat": (0.0, 1.5),
    "cv_lat": (0.0, 1.0),
    "swing_hip_lat": (-0.1, 0.3),
    "torso_pitch": (-0.1, 0.2),
    "kp": (50.0, 400.0),
    "kp_torso": (50.0, 500.0),
    "kp_knee": (50.0, 400.0),
    "kp_stance_knee": (100.0, 600.0),
    "kp_lat": (30.0, 300.0),
    "kp_yaw": (0.0, 150.0),
    "lean_lat": (-0.2, 0.4),
    "max_swing": (0.2, 0.8),
}
"""Searched SIMBICON numbers and their ranges; each kd is kept at a tenth of its kp."""


def walk_score(rows: list[dict], cap: float = 5.0) -> float:
    """Mean of steps/100 x (1 + forward CoM displacement/3 m), displacement clipped to 0-``cap`` m:
    a full still episode scores 10, a full 3 m walk 20, a fall at 200 steps after 2.5 m 3.7."""
    return float(np.mean([r["steps"] / 100 * (1 + min(max(r["com_dx"], 0.0), cap) / 3) for r in rows]))


def params_from(u: np.ndarray, base: Simbicon, space: dict[str, tuple[float, float]] = SEARCH) -> Simbicon:
    values = {k: lo + (float(np.clip(x, -1, 1)) + 1) / 2 * (hi - lo) for (k, (lo, hi)), x in zip(space.items(), u)}
    for k in ("kp", "kp_torso", "kp_knee", "kp_stance_knee", "kp_lat", "kp_yaw"):
        if k in values:
            values[k.replace("kp", "kd")] = values[k] / 10
    return replace(base, **values)


SURVIVAL_SEARCH = {**SEARCH, "arm_swing": (-1.0, 1.5)}
"""Session 8's search space: session 7's plus the antiphase arm swing."""


def survival_score(rows: list[dict]) -> float:
    """Full episodes first: full fraction + 0.5 x mean steps/1000 + 0.1 x mean forward CoM
    displacement clipped to 0-4 m, /4 (the walk bar needs 3 m; speed beyond it earns nothing)."""
    full = np.mean([r["end"] == "time" for r in rows])
    steps = np.mean([r["steps"] for r in rows]) / 1000
    dx = np.mean([min(max(r["com_dx"], 0.0), 4.0) for r in rows]) / 4
    return float(full + 0.5 * steps + 0.1 * dx)


def survival_search(
    body, budget: int, first_seed: int, per_eval: int, start: Simbicon, sigma: float, popsize: int = 10
) -> None:
    """CMA-ES (nevergrad, seed 0; ``sigma`` is nevergrad's, a step of ~0.14 sigma in [-1, 1] box
    units per number) over :data:`SURVIVAL_SEARCH` from ``start``, scored by
    :func:`survival_score`; each generation's candidates share ``per_eval`` fresh selection seeds
    (generation g: first_seed + g per_eval, ...), so no seed is fitted twice. Prints every
    generation's best and the optimiser's recommendation as ``K=V`` for ``chosen K=V ...``."""
    import nevergrad as ng

    space = SURVIVAL_SEARCH
    init = np.array([2 * (getattr(start, k) - lo) / (hi - lo) - 1 for k, (lo, hi) in space.items()])
    parametrization = ng.p.Array(init=np.clip(init, -1, 1)).set_bounds(-1.0, 1.0)
    parametrization.set_mutation(sigma=sigma)
    parametrization.random_state = np.random.RandomState(0)
    optimizer = ng.optimizers.ParametrizedCMA(popsize=popsize)(parametrization, budget=budget)

    def text(params: Simbicon) -> str:  # the kd's are printed as kp/10 would round: pass kd=kp/10 to rerun
        return " ".join(f"{k}={getattr(params, k):.4g}" for k in space)

    for generation in range(budget // popsize):
        seeds = list(range(first_seed + generation * per_eval, first_seed + (generation + 1) * per_eval))
        asked = [optimizer.ask() for _ in range(popsize)]
        scored = []
        for candidate in asked:
            params = params_from(candidate.value, start, space)
            rows = [episode(body, simbicon(params), s) for s in seeds]
            value = survival_score(rows)
            optimizer.tell(candidate, -value)
            scored.append((value, sum(r["end"] == "time" for r in rows), np.mean([r["com_dx"] for r in rows]), params))
        value, full, dx, params = max(scored, key=lambda x: x[0])
        mean = np.mean([x[0] for x in scored])
        print(
            f"gen {generation} seeds {seeds[0]}-{seeds[-1]}: mean score {mean:.3f}, best {value:.3f}"
            f" ({full}/{per_eval} full, com {dx:.2f} m): {text(params)}",
            flush=True,
        )
        print(
            f"  recommendation: {text(params_from(optimizer.provide_recommendation().value, start, space))}", flush=True
        )


def search(
    body,
    budget: int,
    seeds: list[int],
    validation: list[int],
    start: Simbicon,
    sigma: float = 0.3,
    cap: float = 5.0,
) -> None:
    """CMA-ES (nevergrad, popsize 8, seed 0, step ``sigma`` in [-1, 1] box units) on ``seeds``,
    scored by :func:`walk_score` with its ``cap``; the 5 best re-scored on ``validation``."""
    import nevergrad as ng

    init = np.array([2 * (getattr(start, k) - lo) / (hi - lo) - 1 for k, (lo, hi) in SEARCH.items()])
    parametrization = ng.p.Array(init=np.clip(init, -1, 1)).set_bounds(-1.0, 1.0)
    parametrization.set_mutation(sigma=sigma)
    parametrization.random_state = np.random.RandomState(0)
    optimizer = ng.optimizers.ParametrizedCMA(popsize=8)(parametrization, budget=budget)
    seen = []
    for i in range(budget):
        candidate = optimizer.ask()
        params = params_from(candidate.value, start)
        rows = [episode(body, simbicon(params), s) for s in seeds]
        value = walk_score(rows, cap)
        optimizer.tell(candidate, -value)
        seen.append((value, params, rows))
        if i % 8 == 7:
            best = max(seen, key=lambda x: x[0])
            print(
                f"{i + 1} evaluations, best {best[0]:.2f} (steps {[r['steps'] for r in best[2]]},"
                f" com {[round(r['com_dx'], 2) for r in best[2]]})",
                flush=True,
            )
    finalists = sorted(seen, key=lambda x: -x[0])[:5]
    for value, params, _ in finalists:
        rows = [episode(body, simbicon(params), s) for s in validation]
        changed = {k: round(getattr(params, k), 4) for k in SEARCH}
        print(
            f"train {value:.2f} validation {walk_score(rows):.2f}  {' '.join(f'{k}={v}' for k, v in changed.items())}"
        )
        report(rows, "  validation")


def parse_seeds(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def main(argv: list[str]) -> None:
    mode = argv[0]
    body = make_body("humanoid")
    if mode == "torque":
        single_support_torques()
        return
    if (
        mode == "survival"
    ):  # survival BUDGET FIRST_SEED [per_eval=8 sigma=0.25 start=s7|shipped delay=N push=I] [K=V ...]
        options = {"per_eval": "8", "sigma": "0.25", "popsize": "10", "start": "s7"}
        kinds = ("push", "mass", "friction", "slope", "delay")
        changes, perturbations = {}, []
        for key, value in (item.split("=", 1) for item in argv[3:]):
            if key in options:
                options[key] = value
            elif key in kinds:
                perturbations.append(f"{key}={value}")
            else:
                changes[key] = float(value)
        if perturbations:  # searched under them (e.g. delay=1: a carrier's lag)
            body = perturbed(body, parse_perturbations(perturbations))
        start = {"s7": HUMANOID_SIMBICON_S7, "shipped": HUMANOID_SIMBICON}[options["start"]]
        survival_search(
            body,
            int(argv[1]),
            int(argv[2]),
            int(options["per_eval"]),
            replace(start, **changes),
            float(options["sigma"]),
            int(options["popsize"]),
        )
        return
    if mode == "search":  # search BUDGET [sigma=S cap=C train=A-B validation=C-D] [K=V ...]: the start point
        options = {"sigma": "0.3", "cap": "5", "train": "204100-204103", "validation": "204010-204019"}
        changes = {}
        for key, value in (item.split("=") for item in argv[2:]):
            if key in options:
                options[key] = value
            else:
                changes[key] = float(value)
        search(
            body,
            int(argv[1]),
            parse_seeds(options["train"]),
            parse_seeds(options["validation"]),
            replace(Simbicon(), **changes),
            sigma=float(options["sigma"]),
            cap=float(options["cap"]),
        )
        return
    seeds = SELECTION
    rest = argv[1:]
    if rest and rest[-1][0].isdigit() and "=" not in rest[-1] and (mode != "lqr" or len(rest) > 1):
        seeds = parse_seeds(rest.pop())
    if mode == "lqr":
        make, label = lqr_moving(float(rest[0])), f"lqr moving target v={rest[0]}"
    elif mode == "chosen" and not rest:  # the shipped walker, baselines.HUMANOID_SIMBICON
        make, label = simbicon(HUMANOID_SIMBICON), "simbicon (HUMANOID_SIMBICON)"
    elif mode in ("simbicon", "chosen"):  # chosen K=V ...: HUMANOID_SIMBICON with K changed
        base = HUMANOID_SIMBICON if mode == "chosen" else Simbicon()
        names = {f.name: f.type for f in fields(Simbicon)}
        pairs = [item.split("=", 1) for item in rest]
        kinds = ("push", "mass", "friction", "slope", "delay")
        perturbations = parse_perturbations([f"{k}={v}" for k, v in pairs if k in kinds])
        if perturbations:  # the body's own perturbations (pushes on the torso, ...), drawn from the seed
            body = perturbed(body, perturbations)
        changes = {k: float(v) for k, v in pairs if k not in kinds}
        sd = changes.pop("sense_noise", 0.0)
        lead = changes.pop("predict", 0.0)
        channels = tuple(k.split(".", 1)[1] for k in [k for k in changes if k.startswith("channel.")] if changes.pop(k))
        for key in [k for k in changes if k.startswith("strength.")]:  # diagnostic: a stronger body
            group = key.split(".", 1)[1]
            for a in GROUPS[group]:
                body.model.actuator_gear[body.actuator_index(a), 0] *= changes[key]
            print(f"diagnostic: {group} actuators {changes.pop(key)}x stronger (gear scaled)")
        unknown = set(changes) - set(names)
        if unknown:
            raise SystemExit(f"unknown parameters {sorted(unknown)}; known: {sorted(names)}")
        params = replace(base, **changes)
        make = (lambda b: NoisySimbicon(params, b, sd, channels)) if sd else simbicon(params)
        if lead:
            make = lambda b: PredictiveSimbicon(params, b, lead)
        label = (
            f"{mode} {changes}"
            + (f" sense_noise={sd} on {channels or 'all'}" if sd else "")
            + (f" predict={lead}" if lead else "")
            + "".join(f" {k}={v}" for k, v in pairs if k in kinds)
        )
    else:
        raise SystemExit(__doc__)
    print(f"{label}, seeds {seeds[0]}-{seeds[-1]}", flush=True)
    report([episode(body, make, s) for s in seeds], label)


if __name__ == "__main__":
    main(sys.argv[1:])
