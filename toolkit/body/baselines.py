"""Walkers a spiking circuit must beat: zero action, best constant action, sine and sine_pitch.

The research code's "2.2x baseline survival" came from constant joint offsets alone, so
every body result is reported beside these controllers on the same seeds. They follow
``shared/reference/baselines.md`` section 1: the constant action holds a stance (1000
steps, no distance); the 10-number open-loop sine gait and the 12-number sine_pitch gait
(plus one torso-pitch feedback term on the thighs) are tuned by CMA-ES with restarts,
scored on training seeds and picked on validation seeds.

A controller is a callable ``controller(step, observation) -> action`` for one body; the
episode metrics (steps, distance, speed, reward) are measured the same way for
controllers and circuits by :func:`episode_metrics`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import BodyError, CalibrationError, UnknownNameError
from ..extras import require
from ..seeds import CALIBRATION, check_calibration_seeds

log = logging.getLogger(__name__)

Controller = Callable[[int, np.ndarray], np.ndarray]

BEST_CONSTANT = (-0.23, 0.32, 0.07, 0.64, 0.35, 0.36)
"""Walker2d's best constant action (right hip, knee, ankle, left hip, knee, ankle), from
baselines.md (CMA-ES, 600 evaluations, validation-picked): stands 1000 steps on report
seeds 100000-100099 and moves -0.43 m. ``tune_baseline("constant", budget=600)`` re-derives one."""


SINE_PITCH = (
    0.967386981972804,
    -0.12236501470987748,
    0.3061051449035328,
    0.6141773304409948,
    0.6560433750713307,
    0.2538210563384109,
    0.3197382035535766,
    0.0076534767929010705,
    2.4745858637172162,
    2.8452662866309018,
    -1.0829797567259742,
    -0.010618183628682831,
)
"""Walker2d's sine gait with torso-pitch feedback (frequency, 3 offsets, 3 amplitudes, 3 phases, kp,
kd): 10/10 full episodes and 5.70 +- 0.14 m on held-out seeds 0-9, the walker a circuit has to
beat. baselines.md's protocol (CMA from the box centre, 4 restarts, 1920 evaluations) reached
3.56 m there and 0.34 m here; this one is that protocol's validation pick from one 480-evaluation
restart started at baselines.md's walker (f 1.32 Hz, kp -0.37, kd -0.11; offsets 0, amplitudes
0.4, phases drawn from seed 7): ``python bench/bench_body.py --tune sine_pitch --budget 480
--restarts 1 --first-seed 7 --sigma 0.3 --start 1.32 0 0 0 0.4 0.4 0.4 0.7859979977652181
2.4957679180609933 1.7321842783482628 -0.37 -0.11``."""


def episode_metrics(
    steps: int, distance: float, reward: float, dt_ms: float, max_steps: int, terminated: bool
) -> dict[str, float]:
    """The numbers every walking result reports, for one episode.

    ``speed`` is distance over the time survived (m/s); ``full`` is 1.0 when the episode
    reached the time limit without falling.
    """
    seconds = steps * dt_ms / 1000.0
    return {
        "steps": int(steps),
        "distance": float(distance),
        "speed": float(distance / seconds) if seconds > 0 else 0.0,
        "reward": float(reward),
        "full": float(steps >= max_steps and not terminated),
        "fell": float(terminated),
    }


def aggregate(episodes: Sequence[dict[str, float]]) -> dict[str, float]:
    """Mean and sample sd of each metric over episodes, plus the count of full episodes and its 95 % interval.

    A closed loop's episodes also give ``speed_settled`` (:data:`~encephagen.body.loop.SETTLED_FROM_S`):
    its mean and sd are over the episodes that lasted that long (NaN if none did), their count
    ``settled``.
    """
    out: dict[str, float] = {"episodes": len(episodes)}
    for key in ("steps", "distance", "speed", "reward"):
        values = np.array([e[key] for e in episodes], dtype=float)
        out[f"{key}_mean"] = float(values.mean())
        out[f"{key}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    if episodes and all("speed_settled" in e for e in episodes):
        settled = np.array([e["speed_settled"] for e in episodes], dtype=float)
        settled = settled[np.isfinite(settled)]
        out["settled"] = len(settled)
        out["speed_settled_mean"] = float(settled.mean()) if len(settled) else math.nan
        out["speed_settled_sd"] = float(settled.std(ddof=1)) if len(settled) > 1 else 0.0
    full = int(sum(e["full"] for e in episodes))
    out["full"] = full
    out["full_low"], out["full_high"] = full_share_interval(full, len(episodes))
    return out


def full_share_interval(full: int, episodes: int) -> tuple[float, float]:
    """95 % Wilson score interval of the share of full episodes (scipy's ``binomtest``); (NaN, NaN) for none.

    The spread a full-episode count carries: 119/120 and 120/120 differ by less than either
    interval's width, so a one-fall gap between two walkers on one block is not a ranking.

    Examples
    --------
    >>> [round(v, 3) for v in full_share_interval(119, 120)]
    [0.954, 0.999]
    """
    if episodes == 0:
        return math.nan, math.nan
    from scipy.stats import binomtest

    interval = binomtest(full, episodes).proportion_ci(confidence_level=0.95, method="wilson")
    return float(interval.low), float(interval.high)


def paired_full(ours: Sequence[dict[str, float]], theirs: Sequence[dict[str, float]]) -> tuple[int, int, float]:
    """Two controllers on the same draws: (episodes only ours finished, only theirs did, exact McNemar p).

    Where both ran episode ``i`` on the same seed and perturbation draws, only the discordant
    episodes say which is more robust; p is the two-sided binomial test of those against an even
    split (1.0 when there are none).

    >>> paired_full([{"full": 1}, {"full": 0}, {"full": 1}], [{"full": 1}, {"full": 1}, {"full": 0}])
    (1, 1, 1.0)
    """
    if len(ours) != len(theirs):
        raise ValueError(f"paired episodes: {len(ours)} against {len(theirs)}")
    only_ours = sum(1 for a, b in zip(ours, theirs) if a["full"] and not b["full"])
    only_theirs = sum(1 for a, b in zip(ours, theirs) if b["full"] and not a["full"])
    if only_ours + only_theirs == 0:
        return 0, 0, 1.0
    from scipy.stats import binomtest

    return only_ours, only_theirs, float(binomtest(only_ours, only_ours + only_theirs).pvalue)


def paired_difference(
    ours: Sequence[dict[str, float]], theirs: Sequence[dict[str, float]], metric: str = "distance"
) -> tuple[float, float, float]:
    """Two controllers on the same draws: the mean of ``ours - theirs`` in ``metric`` per episode and
    its 95 % interval (scipy's paired t test, ``ttest_rel``); (mean, NaN, NaN) for one episode.

    Paired, because the draws that make one seed's episode short make it short for both: the
    difference varies less across episodes than either walker's distance does, so two walkers a few
    centimetres apart can be told apart on 100 episodes.

    Examples
    --------
    >>> [round(v, 3) for v in paired_difference([{"distance": 6.1}, {"distance": 5.9}], [{"distance": 6.0}, {"distance": 5.7}])]
    [0.15, -0.485, 0.785]
    """
    if len(ours) != len(theirs) or not ours:
        raise ValueError(f"paired episodes: {len(ours)} against {len(theirs)}")
    a = np.array([e[metric] for e in ours], dtype=float)
    b = np.array([e[metric] for e in theirs], dtype=float)
    mean = float((a - b).mean())
    if len(a) == 1:
        return mean, math.nan, math.nan
    from scipy.stats import ttest_rel

    interval = ttest_rel(a, b).confidence_interval(confidence_level=0.95)
    return mean, float(interval.low), float(interval.high)


def run_episode(body, controller: Controller, seed: int) -> dict[str, float]:
    """One episode of ``controller`` on ``body`` from ``reset(seed)``; returns its metrics."""
    observation, _ = body.reset(seed)
    total, step = 0.0, 0
    while True:
        result = body.step(controller(step, observation))
        observation, total, step = result.observation, total + result.reward, step + 1
        if result.terminated or result.truncated:
            return episode_metrics(step, body.distance, total, body.dt_ms, body.max_steps, result.terminated)


def constant_controller(action: Sequence[float] | np.ndarray) -> Controller:
    """The same action at every step (zero action: all zeros)."""
    fixed = np.asarray(action, dtype=np.float64)
    return lambda step, observation: fixed


@dataclass(frozen=True)
class SineGait:
    """Right joint j: ``o_j + A_j sin(2 pi f t + phi_j)``; the left leg is half a cycle later.

    With ``kp``/``kd`` (sine_pitch) both hip commands also get ``kp * torso_pitch + kd *
    torso_pitch_rate``. Actions are clipped to the actuator range.
    """

    frequency: float
    offsets: tuple[float, float, float]
    amplitudes: tuple[float, float, float]
    phases: tuple[float, float, float]
    kp: float = 0.0
    kd: float = 0.0

    def actions_at_phase(self, cycles: np.ndarray) -> np.ndarray:
        """Open-loop actions (T, 6: right hip, knee, ankle, left hip, knee, ankle) at phase
        ``cycles`` of the gait (1 = one period), without pitch feedback or clipping; what
        :mod:`encephagen.body.imitate` fits a circuit to."""
        return self._legs(2.0 * math.pi * np.asarray(cycles, dtype=np.float64)[:, None])

    def _legs(self, angle: np.ndarray) -> np.ndarray:
        """Both legs' open-loop actions at the right leg's angle(s) ``angle`` (rad, before the joint phases)."""
        o, a, p = (np.array(v, dtype=np.float64) for v in (self.offsets, self.amplitudes, self.phases))
        return np.concatenate([o + a * np.sin(angle + p), o + a * np.sin(angle + p + math.pi)], axis=-1)

    def controller(self, body) -> Controller:
        dt_s = body.dt_ms / 1000.0
        pitch, rate = body.sensor_index("torso_pitch"), body.sensor_index("torso_pitch_rate")
        hips = [body.actuator_index("right_hip"), body.actuator_index("left_hip")]
        low, high = body.action_low, body.action_high
        omega = 2.0 * math.pi * self.frequency

        def act(step: int, observation: np.ndarray) -> np.ndarray:
            action = self._legs(np.float64(omega * step * dt_s))
            action[hips] += self.kp * observation[pitch] + self.kd * observation[rate]
            return np.clip(action, low, high)

        return act


# --------------------------------------------------------------------------- tuning

_RANGES: dict[str, list[tuple[float, float]]] = {
    "constant": [(-1.0, 1.0)] * 6,
    "sine": [(0.3, 3.0)] + [(-1.0, 1.0)] * 3 + [(0.0, 1.0)] * 3 + [(-math.pi, math.pi)] * 3,
}
_RANGES["sine_pitch"] = _RANGES["sine"] + [(-3.0, 3.0), (-1.0, 1.0)]


def baseline_controller(kind: str, params: Sequence[float], body) -> Controller:
    """The controller of a baseline kind ('constant', 'sine', 'sine_pitch') from its numbers."""
    if kind not in _RANGES:
        raise UnknownNameError("baseline controller", kind, _RANGES)
    x = [float(v) for v in params]
    if len(x) != len(_RANGES[kind]):
        raise CalibrationError(f"a {kind} controller takes {len(_RANGES[kind])} numbers; got {len(x)}")
    if kind == "constant":
        return constant_controller(x)
    gait = SineGait(
        x[0], (x[1], x[2], x[3]), (x[4], x[5], x[6]), (x[7], x[8], x[9]), *(x[10:12] if kind == "sine_pitch" else ())
    )
    return gait.controller(body)


def reference_controllers(body, sine_pitch: Sequence[float] = SINE_PITCH) -> dict[str, Controller]:
    """The baselines a circuit on ``body`` is reported beside: zero action everywhere; on
    Walker2d also the best constant action and the tuned sine walker (``sine_pitch``); on
    Humanoid the best constant action, the joint PD holding the initial pose, the LQR stander
    (on the full state, and on the named sensors) and the SIMBICON walker."""
    controllers = {"zero": constant_controller(np.zeros(len(body.actuator_names)))}
    if body.name == "walker2d":
        controllers["constant"] = constant_controller(BEST_CONSTANT)
        controllers["sine_pitch"] = baseline_controller("sine_pitch", sine_pitch, body)
    if body.name == "humanoid":
        controllers.update(humanoid_references(body))
    return controllers


# --------------------------------------------------------------------------- Humanoid-v5

HUMANOID_CONSTANT = (
    0.0020,
    -0.0498,
    0.0680,
    0.0050,
    -0.0442,
    -0.0546,
    0.1724,
    -0.0194,
    0.1330,
    0.0773,
    0.0783,
    0.1474,
    -0.0249,
    -0.1906,
    -0.0303,
    0.1004,
    -0.0005,
)
"""Humanoid-v5's best constant action (actuator order): CMA-ES (popsize 12, 480 evaluations from
zero, sigma 0.1) on selection seeds 200200-200202 scored by mean steps, the best of the 5 best
picked on selection seeds 200210-200219 (115 steps there); script in notes/humanoid.md."""

HUMANOID_PD = (0.5, 0.03)
"""(kp per rad, kd per rad/s) of the joint PD holding Humanoid-v5's initial pose, chosen on
selection seeds (see notes/humanoid.md)."""


@dataclass(frozen=True)
class JointPD:
    """Every actuated joint held at its initial angle: ``clip(-kp (angle - angle0) - kd velocity)``.

    Reads only the body's named joint sensors (what a circuit's Ia afferents see); the
    stiffness a new user reaches for first, and not balance: it does not look at the torso.
    """

    kp: float
    kd: float

    def controller(self, body) -> Controller:
        angle = np.array([body.sensor_index(f"{a}_angle") for a in body.actuator_names])
        velocity = np.array([body.sensor_index(f"{a}_velocity") for a in body.actuator_names])
        joint_qpos = {name: body.model.jnt_qposadr[body.model.joint(name).id] for name in body.actuator_names}
        target = np.array([body.init_qpos[joint_qpos[a]] for a in body.actuator_names])
        low, high, kp, kd = body.action_low, body.action_high, self.kp, self.kd

        def act(step: int, observation: np.ndarray) -> np.ndarray:
            return np.clip(-kp * (observation[angle] - target) - kd * observation[velocity], low, high)

        return act


@dataclass(frozen=True)
class Simbicon:
    """A SIMBICON walker for Humanoid-v5: a finite-state machine of joint PD targets plus balance feedback.

    Yin, Loken & van de Panne 2007, "SIMBICON: simple biped locomotion control", ACM Trans.
    Graph. 26(3):105 (doi:10.1145/1276377.1276509). Each step has two states: *lift* (a fixed
    time) and *strike* (until the swing foot carries load, or a time-out); then the legs swap.

    * swing thigh: its angle from the vertical in the torso's heading frame is held by a PD at
      ``theta0 + cd d + cv v`` in the sagittal plane (``theta0`` per state) and at
      ``swing_hip_lat + cd_lat d_lat + cv_lat v_lat`` in the coronal plane, where d, v are the
      centre of mass's horizontal offset from the stance foot and its velocity (the foot-placement
      balance feedback);
    * knees: joint PD to a target per state (swing) or a fixed one (stance);
    * stance hip: chosen so that the two hips together put a PD torque on the torso's world
      pitch and roll (``tau_stance = -tau_torso - tau_swing``; SIMBICON's torso control) and, with
      ``kp_yaw``, on its heading (the walk goes along +x);
    * abdomen and arms: joint PD (abdomen_x leans the upper body ``lean_lat`` towards the stance
      side); all torques in N m, divided by the actuator gear and clipped to the +-0.4 range.

    It reads the full MuJoCo state (``body.data``: centre of mass, foot and thigh poses), like
    the LQR stander: a reference, not a model of what a nervous system senses. The phase restarts
    when an episode does (``step == 0``), so one controller serves many episodes.

    ====================  =========================================================
    argument              meaning (units)
    ====================  =========================================================
    lift_time, max_swing  lift state's duration; strike state's time-out (s)
    swing_hip_*           swing thigh targets: sagittal per state, coronal (rad)
    swing_knee_*          swing knee targets per state (rad; knee flexion < 0)
    stance_knee           stance knee target (rad)
    cd, cv, cd_lat, cv_lat  foot-placement feedback (rad per m, rad per m/s)
    torso_pitch           torso pitch target (rad, + = forward lean)
    lean_lat              abdomen_x lean towards the stance side (rad)
    kp_*, kd_*            PD gains (N m per rad, N m per rad/s)
    arm_swing             shoulder2 targets follow the opposite thigh's sagittal angle (rad per rad)
    hip_priority          1: the stance hip's torso-roll and yaw torques come first; the swing hip's
                          hip_x/hip_z torques are cut so the stance hip stays within its limit
    contact_switch        1: strike ends when the swing foot carries load; 0: only at the time-out
    capture_lat           > 0: coronal swing target from the capture point (Pratt et al. 2006)
                          ``swing_hip_lat + capture_lat (d_lat + v_lat / omega)``, omega =
                          sqrt(g / CoM height above the stance foot), instead of cd_lat, cv_lat
    ====================  =========================================================

    Version history: 0.1 (session 7) the first walker on Humanoid-v5; numbers chosen by CMA-ES on
    selection seeds (``bench/humanoid/humanoid_walk_reference.py``, docs/notes/humanoid_walk.md).
    0.2 (session 8) ``arm_swing``, ``hip_priority``, ``contact_switch``, ``capture_lat`` and the
    ``_sense`` hook added (their defaults keep 0.1's behaviour bit for bit); numbers searched
    again for full episodes (:data:`HUMANOID_SIMBICON`; 0.1's kept as :data:`HUMANOID_SIMBICON_S7`).
    The capture point: Pratt, Carff, Drakunov & Goswami 2006, "Capture point: a step toward
    humanoid push recovery", IEEE-RAS Humanoids, doi:10.1109/ICHR.2006.321385.
    """

    lift_time: float = 0.25
    max_swing: float = 0.6
    swing_hip_lift: float = 0.45
    swing_hip_strike: float = 0.15
    swing_knee_lift: float = -1.0
    swing_knee_strike: float = -0.1
    stance_knee: float = -0.1
    cd: float = 0.5
    cv: float = 0.2
    cd_lat: float = 0.5
    cv_lat: float = 0.2
    swing_hip_lat: float = 0.05
    torso_pitch: float = 0.0
    lean_lat: float = 0.0
    kp: float = 300.0
    kd: float = 30.0
    kp_torso: float = 300.0
    kd_torso: float = 30.0
    kp_knee: float = 300.0
    kd_knee: float = 20.0
    kp_stance_knee: float = 300.0
    kd_stance_knee: float = 30.0
    kp_lat: float = 200.0
    kd_lat: float = 20.0
    kp_abd: float = 200.0
    kd_abd: float = 20.0
    kp_arm: float = 20.0
    kd_arm: float = 2.0
    kp_yaw: float = 0.0
    kd_yaw: float = 0.0
    arm_swing: float = 0.0
    hip_priority: float = 0.0
    contact_switch: float = 1.0
    capture_lat: float = 0.0

    def controller(self, body) -> SimbiconController:
        return SimbiconController(self, body)


class SimbiconController:
    """:class:`Simbicon` running on one body; ``stance`` is the current stance leg ('left'/'right')."""

    _SIDE: ClassVar[dict[str, float]] = {"right": -1.0, "left": 1.0}
    """Lateral direction of each leg (+y is left)."""
    _AXIS: ClassVar[dict[str, float]] = {"right": 1.0, "left": -1.0}
    """Sign of each leg's hip_x and hip_z joint axes (Humanoid-v5 mirrors the left leg's)."""
    _ARMS = ("right_shoulder1", "right_shoulder2", "right_elbow", "left_shoulder1", "left_shoulder2", "left_elbow")

    def __init__(self, params: Simbicon, body):
        import mujoco

        self._mujoco, self.p, self.body = mujoco, params, body
        model = body.model
        body_id = {n: mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, n) for n in ("torso",)}
        for side in ("right", "left"):
            for part in ("thigh", "foot"):
                body_id[f"{side}_{part}"] = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, f"{side}_{part}")
        if min(body_id.values()) < 0:
            raise BodyError(
                f"body {body.name!r} lacks the torso, thighs or feet of Humanoid-v5; SIMBICON is written for it"
            )
        self._id = body_id
        self._actuator = {a: body.actuator_index(a) for a in body.actuator_names}
        self._qpos = {a: int(model.jnt_qposadr[model.joint(a).id]) for a in body.actuator_names}
        self._qvel = {a: int(model.jnt_dofadr[model.joint(a).id]) for a in body.actuator_names}
        self._load = {s: body.sensor_index(f"{s}_foot_load") for s in ("right", "left")}
        self._torso = [
            body.sensor_index(n) for n in ("torso_pitch", "torso_pitch_rate", "torso_roll", "torso_roll_rate")
        ]
        self._gear = model.actuator_gear[:, 0].copy()
        self._dt = body.dt_ms / 1000.0
        self._velocity = np.zeros(6)
        self.stance, self._t, self._lift = "left", 0.0, True

    def _pd(self, joint: str, target: float, kp: float, kd: float) -> float:
        data = self.body.data
        return kp * (target - data.qpos[self._qpos[joint]]) - kd * data.qvel[self._qvel[joint]]

    def _prioritise(self, swing_joint: str, stance_joint: str, torso: float, swing: str, stance: str, tau) -> None:
        """Cut the swing hip's torque so that the stance hip's (``-torso - swing``) stays within its limit."""
        limit = 0.4 * self._gear[self._actuator[stance_joint]]
        wanted = (-torso - self._AXIS[swing] * tau[swing_joint]) / self._AXIS[stance]
        if abs(wanted) > limit:
            tau[swing_joint] = (-torso - self._AXIS[stance] * math.copysign(limit, wanted)) / self._AXIS[swing]

    def _thigh(self, side: str, heading: np.ndarray) -> tuple[float, float, float, float]:
        """(sagittal angle, its rate, coronal angle (+ outward), its rate) of a thigh from the vertical."""
        data = self.body.data
        u = heading @ (data.xmat[self._id[f"{side}_thigh"]].reshape(3, 3)[:, 2] * -1.0)
        self._mujoco.mj_objectVelocity(
            self.body.model, data, self._mujoco.mjtObj.mjOBJ_BODY, self._id[f"{side}_thigh"], self._velocity, 0
        )
        w = heading @ self._velocity[:3]
        lateral = self._SIDE[side]
        angles = np.array([math.atan2(u[0], -u[2]), -w[1], math.atan2(lateral * u[1], -u[2]), lateral * w[0]])
        sagittal, sagittal_rate, coronal, coronal_rate = self._sense("thigh", angles)
        return float(sagittal), float(sagittal_rate), float(coronal), float(coronal_rate)

    def _sense(self, channel: str, values: np.ndarray) -> np.ndarray:
        """Every balance channel the walker reads passes here ('yaw': yaw and its rate; 'com_offset',
        'com_velocity': heading frame; 'thigh': sagittal angle, rate, coronal angle, rate; 'torso':
        pitch, its rate, roll, its rate); a subclass adds sensor noise (the bench's ``sense_noise=``)."""
        return values

    def __call__(self, step: int, observation: np.ndarray) -> np.ndarray:
        p, body, data = self.p, self.body, self.body.data
        if step == 0:
            self.stance, self._t, self._lift = "left", 0.0, True
        swing = "right" if self.stance == "left" else "left"
        if self._lift and self._t >= p.lift_time:
            self._lift = False
        elif not self._lift and (
            (p.contact_switch and observation[self._load[swing]] > 20.0) or self._t >= p.lift_time + p.max_swing
        ):
            self.stance, swing, self._t, self._lift = swing, self.stance, 0.0, True
        self._t += self._dt
        stance, lift = self.stance, self._lift
        torso = data.xmat[self._id["torso"]].reshape(3, 3)
        yaw, yaw_rate = self._sense("yaw", np.array([math.atan2(torso[1, 0], torso[0, 0]), data.qvel[5]]))
        c, s = math.cos(yaw), math.sin(yaw)
        heading = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])  # world -> heading frame
        self._mujoco.mj_subtreeVel(body.model, data)  # mj_step leaves subtree_linvel stale
        offset = self._sense("com_offset", heading @ (data.subtree_com[1] - data.xpos[self._id[f"{stance}_foot"]]))
        velocity = self._sense("com_velocity", heading @ data.subtree_linvel[1])
        side = self._SIDE[swing]
        tau: dict[str, float] = {}
        sagittal, sagittal_rate, coronal, coronal_rate = self._thigh(swing, heading)
        target = (p.swing_hip_lift if lift else p.swing_hip_strike) + p.cd * offset[0] + p.cv * velocity[0]
        tau[f"{swing}_hip_y"] = -(p.kp * (target - sagittal) - p.kd * sagittal_rate)
        if p.capture_lat:
            omega = math.sqrt(9.81 / max(offset[2], 0.3))
            target = p.swing_hip_lat + p.capture_lat * side * (offset[1] + velocity[1] / omega)
        else:
            target = p.swing_hip_lat + p.cd_lat * side * offset[1] + p.cv_lat * side * velocity[1]
        tau[f"{swing}_hip_x"] = -(p.kp_lat * (target - coronal) - p.kd_lat * coronal_rate)
        tau[f"{swing}_hip_z"] = self._pd(f"{swing}_hip_z", 0.0, p.kp_lat, p.kd_lat)
        tau[f"{swing}_knee"] = self._pd(
            f"{swing}_knee", p.swing_knee_lift if lift else p.swing_knee_strike, p.kp_knee, p.kd_knee
        )
        tau[f"{stance}_knee"] = self._pd(f"{stance}_knee", p.stance_knee, p.kp_stance_knee, p.kd_stance_knee)
        pitch, pitch_rate, roll, roll_rate = self._sense("torso", observation[self._torso])
        torso_y = -p.kp_torso * (pitch - p.torso_pitch) - p.kd_torso * pitch_rate
        tau[f"{stance}_hip_y"] = -torso_y - tau[f"{swing}_hip_y"]
        torso_x = -p.kp_torso * roll - p.kd_torso * roll_rate
        if p.hip_priority:
            self._prioritise(f"{swing}_hip_x", f"{stance}_hip_x", torso_x, swing, stance, tau)
        tau[f"{stance}_hip_x"] = (-torso_x - self._AXIS[swing] * tau[f"{swing}_hip_x"]) / self._AXIS[stance]
        if p.kp_yaw:
            torso_z = -p.kp_yaw * yaw - p.kd_yaw * yaw_rate
            if p.hip_priority:
                self._prioritise(f"{swing}_hip_z", f"{stance}_hip_z", torso_z, swing, stance, tau)
            tau[f"{stance}_hip_z"] = (-torso_z - self._AXIS[swing] * tau[f"{swing}_hip_z"]) / self._AXIS[stance]
        else:
            tau[f"{stance}_hip_z"] = self._pd(f"{stance}_hip_z", 0.0, p.kp_lat, p.kd_lat)
        tau["abdomen_y"] = self._pd("abdomen_y", 0.0, p.kp_abd, p.kd_abd)
        tau["abdomen_z"] = self._pd("abdomen_z", 0.0, p.kp_abd, p.kd_abd)
        tau["abdomen_x"] = self._pd("abdomen_x", p.lean_lat * self._SIDE[stance], p.kp_abd, p.kd_abd)
        for arm in self._ARMS:
            tau[arm] = self._pd(arm, float(body.init_qpos[self._qpos[arm]]), p.kp_arm, p.kd_arm)
        if p.arm_swing:  # + right_shoulder2 / - left_shoulder2 swing an arm forward; with the opposite thigh
            other = self._thigh(stance, heading)[0]  # the swing thigh was read above: one reading per step
            right, left = (sagittal, other) if swing == "right" else (other, sagittal)
            tau["right_shoulder2"] = self._pd("right_shoulder2", p.arm_swing * left, p.kp_arm, p.kd_arm)
            tau["left_shoulder2"] = self._pd("left_shoulder2", -p.arm_swing * right, p.kp_arm, p.kd_arm)
        action = np.zeros(len(self._actuator))
        for joint, value in tau.items():
            action[self._actuator[joint]] = value / self._gear[self._actuator[joint]]
        return np.clip(action, body.action_low, body.action_high)


HUMANOID_SIMBICON = Simbicon(
    lift_time=0.2134,
    max_swing=0.4818,
    swing_hip_lift=0.5185,
    swing_hip_strike=0.1823,
    swing_knee_lift=-1.122,
    swing_knee_strike=-0.213,
    stance_knee=-0.3082,
    cd=0.3577,
    cv=0.3627,
    cd_lat=0.8747,
    cv_lat=0.3834,
    swing_hip_lat=0.0388,
    torso_pitch=0.08652,
    lean_lat=-0.0876,
    kp=113.9,
    kd=113.9 / 10,
    kp_torso=269.9,
    kd_torso=269.9 / 10,
    kp_knee=133.9,
    kd_knee=133.9 / 10,
    kp_stance_knee=185.0,
    kd_stance_knee=185.0 / 10,
    kp_lat=161.1,
    kd_lat=161.1 / 10,
    kp_abd=60.0,
    kd_abd=6.0,
    kp_yaw=13.28,
    kd_yaw=13.28 / 10,
    arm_swing=-0.5764,
)
"""Humanoid-v5's SIMBICON walker (0.2, session 8): session 7's walker (:data:`HUMANOID_SIMBICON_S7`)
searched again for survival, with the arm swing added: CMA-ES (nevergrad, popsize 10, 21 numbers,
each kd a tenth of its kp, step ~0.1 of each range) from 0.1, 300 evaluations scored by full
fraction + 0.5 x steps/1000 + 0.1 x CoM displacement clipped to 4 m / 4, each generation on 10
fresh selection seeds (207500-207799); six finalists (generation bests and the recommendation) on
selection seeds 207300-207329, the three at 27/30 full on fresh 207330-207359: this one (generation
28's best) 28/30, 9.1 m; the tie with the slower generation-25 walker (28/30, 6.3 m) broken on
207360-207369 with sensor noise (8/10 vs 7/10). Its arm swing is with the same-side leg
(``arm_swing`` < 0), not against it. Every step in docs/notes/humanoid_walk.md (session 8)."""


HUMANOID_SIMBICON_S7 = Simbicon(
    lift_time=0.2117,
    max_swing=0.5372,
    swing_hip_lift=0.5065,
    swing_hip_strike=0.1583,
    swing_knee_lift=-1.0724,
    swing_knee_strike=-0.2141,
    stance_knee=-0.2696,
    cd=0.3572,
    cv=0.3754,
    cd_lat=0.782,
    cv_lat=0.38,
    swing_hip_lat=0.0785,
    torso_pitch=0.0905,
    lean_lat=-0.0009,
    kp=128.3959,
    kd=12.83959,
    kp_torso=289.3059,
    kd_torso=28.93059,
    kp_knee=129.3463,
    kd_knee=12.93463,
    kp_stance_knee=264.3776,
    kd_stance_knee=26.43776,
    kp_lat=107.6056,
    kd_lat=10.76056,
    kp_abd=60.0,
    kd_abd=6.0,
    kp_yaw=44.3302,
    kd_yaw=4.43302,
)
"""Humanoid-v5's first SIMBICON walker (0.1, session 7; replaced by :data:`HUMANOID_SIMBICON` 0.2), hand structure, numbers searched on selection seeds): CMA-ES
(nevergrad, popsize 8, 20 numbers, each kd a tenth of its kp) scored by steps x (1 + CoM forward
displacement / 3 m), 640 evaluations on seeds 204100-204103 (displacement capped at 5 m), then 240
refining ones (step 0.15, cap 4 m) on 204104-204107; the best of the 5 best on 204020-204029, and
chosen over the first search's pick on fresh seeds 204030-204049 (13/20 full episodes against 9/20).
``bench/humanoid/humanoid_walk_reference.py``; every step in docs/notes/humanoid_walk.md."""


def humanoid_references(body) -> dict[str, Controller]:
    """Humanoid-v5's references: best constant action, joint PD, the LQR stander on the full
    MuJoCo state, the same LQR on the named sensors only (what a circuit reads), and the
    SIMBICON walker (:data:`HUMANOID_SIMBICON`, full state)."""
    from .lqr import lqr_stander

    lqr = lqr_stander(body)
    return {
        "constant": constant_controller(HUMANOID_CONSTANT),
        "pd": JointPD(*HUMANOID_PD).controller(body),
        "lqr": lqr.controller(body),
        "lqr_sensors": lqr.sensor_controller(body),
        "simbicon": HUMANOID_SIMBICON.controller(body),
    }


def score(
    kind: str, params: Sequence[float], seeds: Iterable[int], weight: float, body_name: str = "walker2d"
) -> float:
    """mean steps + weight * mean distance over ``seeds`` (the baselines.md score)."""
    from .adapters import make_body

    body = make_body(body_name)
    controller = baseline_controller(kind, params, body)
    episodes = [run_episode(body, controller, s) for s in seeds]
    return float(np.mean([e["steps"] for e in episodes]) + weight * np.mean([e["distance"] for e in episodes]))


@dataclass(frozen=True)
class TunedBaseline:
    kind: str
    params: tuple[float, ...]
    """The controller's numbers, in its own units (Hz, action, rad)."""
    train_score: float
    validation_score: float | None
    pick: str
    """'train-best' or 'val-picked'."""


def tune_baseline(
    kind: str,
    *,
    budget: int,
    weight: float,
    restarts: int = 4,
    train_seeds: Sequence[int] = tuple(range(CALIBRATION.first + 100, CALIBRATION.first + 103)),
    validation_seeds: Sequence[int] = tuple(range(CALIBRATION.first + 200, CALIBRATION.first + 210)),
    finalists: int = 5,
    popsize: int = 12,
    workers: int = 1,
    start: Sequence[float] | None = None,
    sigma: float | None = None,
    first_seed: int = 0,
) -> list[TunedBaseline]:
    """CMA-ES (nevergrad, popsize 12) over a [-1, 1] box mapped onto the controller's ranges.

    The budget is split over ``restarts`` runs (CMA seeds first_seed, first_seed + 1, ...)
    because single runs end in very different optima. Each starts at the box's centre, or at
    ``start`` (the controller's own numbers) with step ``sigma`` in box units. Returns two
    picks: the best training score, and the best validation score among the ``finalists``
    best candidates of each restart.
    """
    ng = require("nevergrad", "tuning a baseline controller")

    if kind not in _RANGES:
        raise UnknownNameError("baseline controller", kind, _RANGES)
    check_calibration_seeds([*train_seeds, *validation_seeds], f"tuning the {kind} baseline")
    ranges = np.array(_RANGES[kind])

    def to_params(u: np.ndarray) -> tuple[float, ...]:
        return tuple(float(v) for v in ranges[:, 0] + (np.clip(u, -1, 1) + 1) / 2 * (ranges[:, 1] - ranges[:, 0]))

    if start is not None and len(start) != len(ranges):
        raise CalibrationError(f"a {kind} start takes {len(ranges)} numbers; got {len(start)}")
    init = (
        np.zeros(len(ranges))
        if start is None
        else 2 * (np.asarray(start, float) - ranges[:, 0]) / (ranges[:, 1] - ranges[:, 0]) - 1
    )

    pool = None
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(workers)
    candidates: list[tuple[float, tuple[float, ...]]] = []
    try:
        for restart in range(first_seed, first_seed + restarts):
            parametrization = ng.p.Array(init=init).set_bounds(-1.0, 1.0)
            if sigma is not None:
                parametrization.set_mutation(sigma=sigma)
            parametrization.random_state = np.random.RandomState(restart)
            optimizer = ng.optimizers.ParametrizedCMA(popsize=popsize)(parametrization, budget=budget // restarts)
            seen: list[tuple[float, tuple[float, ...]]] = []
            for _ in range(0, budget // restarts, popsize):
                asked = [optimizer.ask() for _ in range(popsize)]
                params = [to_params(c.value) for c in asked]
                args = [(kind, p, train_seeds, weight) for p in params]
                values = list(pool.map(_score_star, args)) if pool else [_score_star(a) for a in args]
                for candidate, p, value in zip(asked, params, values):
                    optimizer.tell(candidate, -value)
                    seen.append((value, p))
                log.info("%s restart %d: %d evaluations, best %.1f", kind, restart, len(seen), max(seen)[0])
            candidates += sorted(seen, reverse=True)[:finalists]
        best_train = max(candidates)
        validated = [(_score_star((kind, p, validation_seeds, weight)), t, p) for t, p in candidates]
    finally:
        if pool:
            pool.shutdown()
    best_val = max(validated)
    return [
        TunedBaseline(
            kind, best_train[1], best_train[0], next(v for v, t, p in validated if p == best_train[1]), "train-best"
        ),
        TunedBaseline(kind, best_val[2], best_val[1], best_val[0], "val-picked"),
    ]


def _score_star(args: tuple) -> float:
    return score(*args)
