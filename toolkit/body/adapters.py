"""Bodies with a Gymnasium-like contract, driven through ``mujoco`` directly, with named I/O.

A body is a MuJoCo model plus the few rules that make it an episode: how the state is
reset (seeded noise), when it has fallen (termination), when time is up (truncation),
and what it earns (reward). Its observation is not an anonymous vector but a list of
**named sensors** (joint angles and velocities, torso pitch and pitch rate, foot contacts
and loads) and its action a list of **named actuators**, so a binding says
``torso_pitch_rate`` and never ``obs[9]`` -- the index the research code got wrong.

The Gymnasium environments ``Walker2d-v5`` and ``Humanoid-v5`` are re-implemented on the
same XML files with the same reset, reward and termination rules (the tests check the
trajectories are bit-identical to ``gymnasium.make``), because the wrappers that
``gymnasium.make`` adds cost ~15 % of the physics time and hide the MuJoCo data that
named sensors read.

Sign conventions: ``torso_pitch`` is positive when the torso leans forward (towards
+x, the direction of travel), ``torso_roll`` as defined in :func:`quaternion_pitch_roll`
(0 for the planar Walker2d); joint angles and velocities are the raw MuJoCo
joint coordinates (rad, rad/s) with the joint's own axis; contacts are 0/1, loads are
the summed normal contact force in N.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BodyError, UnknownNameError
from ..extras import require

log = logging.getLogger(__name__)

_add = np.add.reduce
"""What ``np.sum`` calls (the same summation, bit for bit) without its Python wrapper: the step of a
Humanoid sums five times per body step."""


@dataclass(frozen=True)
class Sensor:
    """One named scalar a body reports at every step."""

    name: str
    unit: str
    description: str


@dataclass
class StepResult:
    """What one body step returns (the Gymnasium 5-tuple, named)."""

    observation: np.ndarray
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):  # unpacks like Gymnasium's (obs, reward, terminated, truncated, info)
        return iter((self.observation, self.reward, self.terminated, self.truncated, self.info))


def quaternion_pitch_roll(w: float, x: float, y: float, z: float) -> tuple[float, float]:
    """Pitch and roll (rad) of a body whose world orientation is the unit quaternion (w, x, y, z).

    Z-Y-X (yaw, pitch, roll) Euler angles: pitch is the rotation about the world y axis,
    positive when the body's z axis tips towards +x (a forward lean for a body walking
    along +x); roll the rotation about the body's x axis, positive when its z axis tips
    towards -y. Reading pitch from a single quaternion component (the research code used
    ``w``, ~0.99 when upright) is wrong: here an upright body gives (0, 0).

    >>> quaternion_pitch_roll(1.0, 0.0, 0.0, 0.0)
    (0.0, 0.0)
    >>> round(quaternion_pitch_roll(math.cos(0.1), 0.0, math.sin(0.1), 0.0)[0], 12)  # 0.2 rad about +y
    0.2
    """
    norm = math.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / norm, x / norm, y / norm, z / norm
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    return pitch + 0.0, roll + 0.0  # + 0.0 turns -0.0 into 0.0


def contact_point_velocity(
    mujoco: Any, model: Any, data: Any, contact: int, geom: int, velocity: np.ndarray
) -> tuple[float, float]:
    """Horizontal velocity (x, y in m/s, world frame) of contact ``contact``'s point as a point of
    geom ``geom``: the geom's linear velocity plus its angular velocity crossed with the lever from
    the geom's centre to the contact point (``mj_objectVelocity``; ``velocity`` is a 6-vector it
    fills). A foot that grips where it landed has ~0 however it rolls over."""
    mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_GEOM, geom, velocity, 0)
    wx, wy, wz, vx, vy, _ = velocity.tolist()
    rx, ry, rz = (data.contact.pos[contact] - data.geom_xpos[geom]).tolist()
    return vx + wy * rz - wz * ry, vy + wz * rx - wx * rz


_Contact = tuple[int, int, int, int, int, float]
"""A contact that touches a contact sensor's geom: (contact, first geom's group, second geom's group,
first geom, second geom, normal force N); group -1: a geom of no sensor."""


def _on_floor(sensed: list[_Contact]) -> list[tuple[int, int, int, float]]:
    """:meth:`MujocoBody.floor_contacts` of contacts read by :meth:`MujocoBody._sensed_contacts`: those
    with exactly one geom in a contact sensor's group, as (contact, group, that geom, normal force N)."""
    return [
        (c, first, first_geom, load) if first >= 0 else (c, second, second_geom, load)
        for c, first, second, first_geom, second_geom, load in sensed
        if (first < 0) != (second < 0)
    ]


class MujocoBody:
    """Any MJCF model as a body: named joint, root and contact sensors, named actuators.

    Parameters
    ----------
    xml_path
        The MJCF file.
    frame_skip
        MuJoCo steps per body step; the body's time step is ``frame_skip * timestep``.
    name
        Short name used in messages and reports.
    max_steps
        Steps after which an episode is truncated (Gymnasium's TimeLimit).
    reset_noise
        Half-width of the uniform noise added to every qpos and qvel entry at reset.
    joint_aliases
        Sensor and actuator names for joints, e.g. ``{"thigh_joint": "right_hip"}``; joints
        not listed keep their MJCF name. Sensors are ``<name>_angle`` and ``<name>_velocity``.
    contact_geoms
        Contact sensors: ``{"right_foot": ["foot_geom"]}`` gives ``right_foot_contact`` (0/1)
        and ``right_foot_load`` (N). Default: every geom whose name contains 'foot'.
    root
        'free' (a free joint; pitch and roll from its quaternion) or 'planar' (slide x,
        slide z and hinge y joints named by ``planar_joints``).
    min_height, max_height
        Healthy range of the root height (m); outside it the episode terminates.
    max_abs_pitch
        Healthy range of the torso pitch (rad), or None.
    """

    def __init__(
        self,
        xml_path: str | Path,
        *,
        frame_skip: int = 1,
        name: str | None = None,
        max_steps: int = 1000,
        reset_noise: float = 0.0,
        joint_aliases: dict[str, str] | None = None,
        contact_geoms: dict[str, list[str]] | None = None,
        root: str = "free",
        planar_joints: tuple[str, str, str] = ("rootx", "rootz", "rooty"),
        min_height: float | None = None,
        max_height: float | None = None,
        max_abs_pitch: float | None = None,
    ):
        mujoco = require("mujoco", "a MuJoCo body")
        path = Path(xml_path)
        if not path.is_file():
            raise BodyError(f"{path}: no such MJCF file")
        if path in _ASSET_MODELS:  # a model shipped with gymnasium: parsed once, copied per body
            self.model = copy.copy(_ASSET_MODELS[path])
        else:
            try:
                self.model = mujoco.MjModel.from_xml_path(str(path))
            except ValueError as exc:
                raise BodyError(f"{path}: MuJoCo cannot load it: {exc}") from None
        self.data = mujoco.MjData(self.model)
        self._mujoco = mujoco
        self.xml_path = path
        self.name = name or path.stem
        if frame_skip < 1:
            raise BodyError(f"frame_skip must be a positive integer; got {frame_skip}")
        self.frame_skip = int(frame_skip)
        self._dt_s = self.model.opt.timestep * frame_skip
        self.dt_ms = float(self._dt_s * 1000.0)
        """Body time step (ms)."""
        self.max_steps = int(max_steps)
        self.reset_noise = float(reset_noise)
        self.min_height, self.max_height, self.max_abs_pitch = min_height, max_height, max_abs_pitch
        self.init_qpos = self.data.qpos.copy()
        self.init_qvel = self.data.qvel.copy()
        self._root = root
        self._build_root(root, planar_joints)
        self._build_joints(joint_aliases or {})
        self._build_contacts(contact_geoms)
        self._build_actuators(joint_aliases or {})
        self.sensors: tuple[Sensor, ...] = tuple(self._root_sensors + self._joint_sensors + self._contact_sensors)
        self.sensor_names: tuple[str, ...] = tuple(s.name for s in self.sensors)
        self._sensor_index = {n: i for i, n in enumerate(self.sensor_names)}
        self._steps = -1  # -1: not reset yet
        self._done = False
        self._x_start = 0.0

    # ------------------------------------------------------------------ construction

    def _build_root(self, root: str, planar_joints: tuple[str, str, str]) -> None:
        model = self.model
        if root == "free":
            free = [j for j in range(model.njnt) if int(model.jnt_type[j]) == int(self._mujoco.mjtJoint.mjJNT_FREE)]
            if not free:
                raise BodyError(
                    f"{self.xml_path}: root 'free' needs a free joint; this model has none (use root='planar')"
                )
            joint = free[0]
            self._root_qpos = int(model.jnt_qposadr[joint])
            self._root_dof = int(model.jnt_dofadr[joint])
            self._root_joints = {joint}
            self._x_qpos = self._root_qpos
        elif root == "planar":
            ids = []
            for joint_name in planar_joints:
                joint = self._mujoco.mj_name2id(model, self._mujoco.mjtObj.mjOBJ_JOINT, joint_name)
                if joint < 0:
                    known = [model.joint(j).name for j in range(model.njnt)]
                    raise UnknownNameError(f"root joint of {self.name}", joint_name, known)
                ids.append(joint)
            self._planar_qpos = [int(model.jnt_qposadr[j]) for j in ids]
            self._planar_dof = [int(model.jnt_dofadr[j]) for j in ids]
            self._root_joints = set(ids)
            self._x_qpos = self._planar_qpos[0]
        else:
            raise BodyError(f"root must be 'free' or 'planar'; got {root!r}")
        self._root_sensors = [
            Sensor("torso_height", "m", "height of the root above the world origin"),
            Sensor("torso_pitch", "rad", "forward lean of the torso (positive towards +x)"),
            Sensor("torso_pitch_rate", "rad/s", "time derivative of torso_pitch"),
            Sensor("torso_roll", "rad", "sideways lean of the torso (0 for a planar body)"),
            Sensor("forward_velocity", "m/s", "velocity of the root along +x"),
            Sensor("vertical_velocity", "m/s", "velocity of the root along +z"),
        ]

    def _build_joints(self, aliases: dict[str, str]) -> None:
        model = self.model
        hinge_slide = (int(self._mujoco.mjtJoint.mjJNT_HINGE), int(self._mujoco.mjtJoint.mjJNT_SLIDE))
        joint_names = [model.joint(j).name for j in range(model.njnt)]
        for alias in aliases:
            if alias not in joint_names:
                raise UnknownNameError(f"joint of {self.name}", alias, joint_names)
        joints = [j for j in range(model.njnt) if j not in self._root_joints and int(model.jnt_type[j]) in hinge_slide]
        self._joint_label = {j: aliases.get(model.joint(j).name, model.joint(j).name) for j in joints}
        self._joint_qpos = np.array([model.jnt_qposadr[j] for j in joints], dtype=np.intp)
        self._joint_dof = np.array([model.jnt_dofadr[j] for j in joints], dtype=np.intp)
        self._joint_sensors = [
            Sensor(f"{self._joint_label[j]}_angle", "rad", f"coordinate of joint {model.joint(j).name!r}")
            for j in joints
        ]
        self._joint_sensors += [
            Sensor(f"{self._joint_label[j]}_velocity", "rad/s", f"velocity of joint {model.joint(j).name!r}")
            for j in joints
        ]

    def _build_contacts(self, contact_geoms: dict[str, list[str]] | None) -> None:
        model = self.model
        geom_names = [model.geom(g).name for g in range(model.ngeom)]
        if contact_geoms is None:
            contact_geoms = {name: [name] for name in geom_names if "foot" in name}
        self._contact_groups: list[np.ndarray] = []
        self._contact_sensors = []
        for label, names in contact_geoms.items():
            ids = []
            for geom_name in names:
                if geom_name not in geom_names:
                    raise UnknownNameError(f"geom of {self.name}", geom_name, [g for g in geom_names if g])
                ids.append(geom_names.index(geom_name))
            self._contact_groups.append(np.array(ids, dtype=np.int32))
            self._contact_sensors.append(
                Sensor(f"{label}_contact", "1", f"1 while any of {names} touches something, else 0")
            )
        self._contact_sensors += [
            Sensor(f"{label}_load", "N", f"summed normal contact force on {names}")
            for label, names in contact_geoms.items()
        ]
        self._force = np.zeros(6)
        group_of_geom = np.full(model.ngeom, -1, dtype=np.intp)
        for group, geoms in enumerate(self._contact_groups):
            group_of_geom[geoms] = group
        self._group_of_geom: list[int] = group_of_geom.tolist()
        """Per geom, its contact sensor's group (-1: none); a list, read per contact in Python."""

    def _build_actuators(self, aliases: dict[str, str]) -> None:
        model = self.model
        names = []
        for a in range(model.nu):
            own = model.actuator(a).name
            if own:
                names.append(own)
                continue
            if int(model.actuator_trntype[a]) != int(self._mujoco.mjtTrn.mjTRN_JOINT):
                names.append(f"actuator_{a}")
                continue
            joint = model.joint(int(model.actuator_trnid[a, 0])).name
            names.append(aliases.get(joint, joint))
        if len(set(names)) != len(names):
            raise BodyError(f"{self.xml_path}: actuator names are not unique: {names}")
        self.actuator_names: tuple[str, ...] = tuple(names)
        self._actuator_index = {n: i for i, n in enumerate(names)}
        limited = model.actuator_ctrllimited.astype(bool)
        self.action_low = np.where(limited, model.actuator_ctrlrange[:, 0], -np.inf)
        self.action_high = np.where(limited, model.actuator_ctrlrange[:, 1], np.inf)

    # ------------------------------------------------------------------ names

    def sensor_index(self, name: str) -> int:
        """Position of a named sensor in the observation vector."""
        try:
            return self._sensor_index[name]
        except KeyError:
            raise UnknownNameError(f"sensor of body {self.name!r}", name, self.sensor_names) from None

    def actuator_index(self, name: str) -> int:
        """Position of a named actuator in the action vector."""
        try:
            return self._actuator_index[name]
        except KeyError:
            raise UnknownNameError(f"actuator of body {self.name!r}", name, self.actuator_names) from None

    def named(self, observation: np.ndarray) -> dict[str, float]:
        """An observation vector as {sensor name: value}."""
        return {name: float(v) for name, v in zip(self.sensor_names, observation)}

    # ------------------------------------------------------------------ episode

    def reset(self, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode: initial pose plus uniform noise drawn from ``seed`` only."""
        rng = np.random.default_rng(seed)  # = gymnasium.utils.seeding.np_random(seed)
        mujoco = self._mujoco
        mujoco.mj_resetData(self.model, self.data)
        scale = self.reset_noise
        qpos = self.init_qpos + rng.uniform(low=-scale, high=scale, size=self.model.nq)
        qvel = self.init_qvel + rng.uniform(low=-scale, high=scale, size=self.model.nv)
        self.data.qpos[:] = qpos
        self.data.qvel[:] = qvel
        mujoco.mj_forward(self.model, self.data)
        self._steps = 0
        self._done = False
        self._x_start = self.x_position
        return self._observe(), {"x_position": self.x_position}

    def step(self, action: np.ndarray) -> StepResult:
        """Apply ``action`` (clipped to the actuator ranges) for one body step."""
        if self._steps < 0:
            raise BodyError(f"{self.name}: step() before reset(seed)")
        if self._done:
            raise BodyError(f"{self.name}: step() after the episode ended (terminated or truncated); call reset(seed)")
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (self.model.nu,):
            raise BodyError(
                f"{self.name}: action must have shape ({self.model.nu},) in the order {list(self.actuator_names)}; got shape {action.shape}"
            )
        if not np.isfinite(action).all():
            raise BodyError(f"{self.name}: action contains NaN or inf: {action}")
        before = self._progress_position()
        self.data.ctrl[:] = action
        self._mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)
        self._mujoco.mj_rnePostConstraint(self.model, self.data)
        velocity = (self._progress_position() - before) / self._dt_s
        self._steps += 1
        observation = self._observe()
        healthy = self._healthy(observation[0], observation[1])  # torso_height, torso_pitch
        reward, terms = self._reward(velocity, action, healthy)
        terminated = not healthy
        truncated = self._steps >= self.max_steps and not terminated
        self._done = terminated or truncated
        x = self.x_position
        info = {"x_position": x, "x_velocity": velocity, "distance": x - self._x_start, **terms}
        return StepResult(observation, float(reward), terminated, truncated, info)

    @property
    def steps(self) -> int:
        """Body steps taken in the current episode."""
        return max(self._steps, 0)

    @property
    def x_position(self) -> float:
        """Forward position of the root (m)."""
        return float(self.data.qpos[self._x_qpos])

    @property
    def distance(self) -> float:
        """Forward distance of the root since reset (m)."""
        return self.x_position - self._x_start

    @property
    def is_healthy(self) -> bool:
        """Whether the body is within its healthy range (else the episode terminates)."""
        return self._healthy(self._height(), self._pitch_roll()[0])

    def _healthy(self, height: float, pitch: float) -> bool:
        if self.min_height is not None and not self.min_height < height:
            return False
        if self.max_height is not None and not height < self.max_height:
            return False
        return not (self.max_abs_pitch is not None and not -self.max_abs_pitch < pitch < self.max_abs_pitch)

    # ------------------------------------------------------------------ hooks a body may refine

    def _progress_position(self) -> float:
        """Position whose change per step is rewarded as forward velocity."""
        return self.x_position

    def _reward(self, velocity: float, action: np.ndarray, healthy: bool) -> tuple[float, dict[str, float]]:
        return velocity, {"reward_forward": velocity}

    # ------------------------------------------------------------------ sensors

    def _height(self) -> float:
        if self._root == "free":
            return float(self.data.qpos[self._root_qpos + 2])
        return float(self.data.qpos[self._planar_qpos[1]])

    def _pitch_roll(self) -> tuple[float, float]:
        if self._root == "free":
            q = self.data.qpos[self._root_qpos + 3 : self._root_qpos + 7]
            return quaternion_pitch_roll(q[0], q[1], q[2], q[3])
        return float(self.data.qpos[self._planar_qpos[2]]), 0.0

    def _root_values(self) -> list[float]:
        qpos, qvel = self.data.qpos, self.data.qvel
        if self._root == "free":
            dof = self._root_dof
            pitch, roll = self._pitch_roll()
            # free-joint angular velocity is in the body frame: pitch rate = q cos(roll) - r sin(roll)
            pitch_rate = qvel[dof + 4] * math.cos(roll) - qvel[dof + 5] * math.sin(roll)
            return [
                float(qpos[self._root_qpos + 2]),
                pitch,
                float(pitch_rate),
                roll,
                float(qvel[dof]),
                float(qvel[dof + 2]),
            ]
        (_, z, pitch), (vx, vz, pitch_rate) = self._planar_qpos, self._planar_dof  # addresses
        return [float(qpos[z]), float(qpos[pitch]), float(qvel[pitch_rate]), 0.0, float(qvel[vx]), float(qvel[vz])]

    def _sensed_contacts(self) -> list[_Contact]:
        """Each present contact that touches a geom of a contact sensor, with its normal force.

        One observation reads each contact's force once here, for its contact, load and slip
        sensors alike (each read is a call into MuJoCo, and a Walker2d lane's feet make ~4 contacts
        per body step).
        """
        data, ncon = self.data, self.data.ncon
        if not ncon or not self._contact_groups:
            return []
        group_of, force = self._group_of_geom, self._force
        sensed = []
        for c, (first_geom, second_geom) in enumerate(data.contact.geom[:ncon].tolist()):
            first, second = group_of[first_geom], group_of[second_geom]
            if first >= 0 or second >= 0:
                self._mujoco.mj_contactForce(self.model, data, c, force)
                sensed.append((c, first, second, first_geom, second_geom, abs(float(force[0]))))
        return sensed

    def _contact_values(self, sensed: list[_Contact]) -> list[float]:
        """Each contact sensor's contact (0/1), then its load (N), from :meth:`_sensed_contacts`."""
        n_groups = len(self._contact_groups)
        values = [0.0] * (2 * n_groups)
        for _, first, second, _, _, load in sensed:
            for g in {first, second} - {-1}:
                values[g] = 1.0
                values[n_groups + g] += load
        return values

    def floor_contacts(self) -> list[tuple[int, int, int, float]]:
        """(contact, group, geom, normal force N) for each present contact between one geom of a contact
        sensor's group and a geom of none (the floor, an obstacle; foot on foot is left out): what the
        slip sensors and :class:`~encephagen.body.loop.GaitMeter` measure feet on."""
        return _on_floor(self._sensed_contacts())

    def _observe(self) -> np.ndarray:
        return np.concatenate(self._observation_parts(self._sensed_contacts()))

    def _observation_parts(self, sensed: list[_Contact]) -> list:
        """The observation's pieces in sensor order (a body with more sensors appends its own);
        ``sensed`` is :meth:`_sensed_contacts`."""
        data = self.data
        return [
            self._root_values(),
            data.qpos[self._joint_qpos],
            data.qvel[self._joint_dof],
            self._contact_values(sensed),
        ]

    # ------------------------------------------------------------------ rendering

    def camera(self) -> Any:
        """A side-view camera that follows the body (the model's 'track' camera if it has one)."""
        mujoco = self._mujoco
        track = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, "track")
        if track >= 0:
            return track
        camera = mujoco.MjvCamera()
        camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        camera.trackbodyid = 1
        camera.distance, camera.azimuth, camera.elevation = 4.0, 90.0, -10.0
        return camera

    def cameras(self) -> list[tuple[str, Any]]:
        """The views a video shows, as (label, camera): the side view, and for a body free to
        move in three dimensions a front view as well, which shows the sideways (roll)
        balance that a side view hides."""
        views = [("side", self.camera())]
        if self._root == "free":
            mujoco = self._mujoco
            front = mujoco.MjvCamera()
            front.type = mujoco.mjtCamera.mjCAMERA_TRACKING
            front.trackbodyid = 1
            front.distance, front.azimuth, front.elevation = 4.0, 180.0, -10.0  # from ahead, facing -x
            views.append(("front", front))
        return views


_ASSET_MODELS: dict[Path, Any] = {}
"""gymnasium's installed body models, parsed once: a closed loop builds a body per lane and episode, and
parsing Humanoid-v5's XML was 2-3 ms of an episode's ~6 ms set-up (a copy takes 0.2 ms). Each body
gets its own copy, since perturbations scale its masses, friction and gravity in place. A user's MJCF
file is parsed every time: it (or a file it includes) may change between runs of one process."""


def _gymnasium_asset(filename: str) -> Path:
    """Path of an XML file shipped with gymnasium (its MuJoCo assets folder); its model parsed once."""
    mujoco = require("mujoco", f"the body model {filename}")  # else gymnasium raises its own, naming its extra
    gym_mujoco = require("gymnasium.envs.mujoco", f"the body model {filename}")
    path = Path(str(gym_mujoco.__file__)).parent / "assets" / filename
    if path not in _ASSET_MODELS:
        _ASSET_MODELS[path] = mujoco.MjModel.from_xml_path(str(path))
    return path


WALKER2D_NAMES = {
    "thigh_joint": "right_hip",
    "leg_joint": "right_knee",
    "foot_joint": "right_ankle",
    "thigh_left_joint": "left_hip",
    "leg_left_joint": "left_knee",
    "foot_left_joint": "left_ankle",
}
"""Walker2d's joints (and the actuators that drive them) under anatomical names."""


class Walker2d(MujocoBody):
    """Gymnasium ``Walker2d-v5`` (default settings), with named sensors and actuators.

    Actuators, in action order: right_hip, right_knee, right_ankle, left_hip, left_knee,
    left_ankle (gear 100, range [-1, 1]). Body step 8 ms (4 x 2 ms). Terminates when the
    torso height leaves (0.8, 2.0) m or its pitch leaves (-1, 1) rad; truncated at 1000
    steps; reward = forward velocity + 1 (healthy) - 1e-3 |action|^2.

    Gymnasium observation entries by name: obs[0] torso_height, obs[1] torso_pitch,
    obs[2:8] joint angles, obs[8] forward_velocity, obs[9] vertical_velocity,
    obs[10] torso_pitch_rate (qvel[2]), obs[11:17] joint velocities (Gymnasium clips
    velocities to +-10; the named sensors are not clipped).

    With ``slip_sensors=True`` two sensors follow all others: ``right_foot_slip`` and
    ``left_foot_slip`` (m/s), the forward (+x) velocity of the sole's floor contact points weighted
    by the share of the body's weight they bear -- positive while a loaded foot slides forward (the
    foot shooting out ahead on ice), negative while it slides back, ~0 for a foot that grips and
    for one in the air: the shear that cutaneous afferents of the sole report.
    """

    def __init__(self, *, max_steps: int = 1000, slip_sensors: bool = False):
        super().__init__(
            _gymnasium_asset("walker2d_v5.xml"),
            frame_skip=4,
            name="walker2d",
            max_steps=max_steps,
            reset_noise=5e-3,
            joint_aliases=WALKER2D_NAMES,
            contact_geoms={"right_foot": ["foot_geom"], "left_foot": ["foot_left_geom"]},
            root="planar",
            min_height=0.8,
            max_height=2.0,
            max_abs_pitch=1.0,
        )
        self.slip_sensors = bool(slip_sensors)
        if self.slip_sensors:
            # cutaneous slip of the soles, appended last so that every other sensor keeps its index
            self.sensors += tuple(
                Sensor(
                    f"{side}_foot_slip",
                    "m/s",
                    f"forward velocity of the {side} foot's floor contact points x the share of body weight on them",
                )
                for side in ("right", "left")
            )
            self.sensor_names = tuple(s.name for s in self.sensors)
            self._sensor_index = {n: i for i, n in enumerate(self.sensor_names)}
            self._velocity = np.zeros(6)
            self._weight = float(np.sum(self.model.body_mass) * -self.model.opt.gravity[2])  # N

    def _slip_values(self, sensed: list[_Contact]) -> list[float]:
        """Per foot: the forward velocity of its floor contact points weighted by the share of the body's
        weight each bears (sum of force x velocity / weight): a loaded foot sliding forward at v reads ~v,
        a foot touching down or lifting off with a few N on it reads ~0 however fast it moves, a foot in
        the air 0. ``sensed`` is :meth:`_sensed_contacts`."""
        slip = [0.0, 0.0]
        for c, group, geom, force in _on_floor(sensed):
            if force > 0.0:
                forward, _ = contact_point_velocity(self._mujoco, self.model, self.data, c, geom, self._velocity)
                slip[group] += force * forward
        return [v / self._weight for v in slip]

    def _observation_parts(self, sensed: list[_Contact]) -> list:
        parts = super()._observation_parts(sensed)
        return [*parts, self._slip_values(sensed)] if self.slip_sensors else parts

    def _reward(self, velocity: float, action: np.ndarray, healthy: bool) -> tuple[float, dict[str, float]]:
        survive = float(healthy)
        ctrl = 1e-3 * float(_add(np.square(action)))
        return velocity + survive - ctrl, {"reward_forward": velocity, "reward_survive": survive, "reward_ctrl": -ctrl}

    def gymnasium_observation(self) -> np.ndarray:
        """The 17-vector Gymnasium's Walker2d-v5 would return now (for conformance tests)."""
        return np.concatenate([self.data.qpos[1:], np.clip(self.data.qvel, -10, 10)])


class Humanoid(MujocoBody):
    """Gymnasium ``Humanoid-v5`` (default settings), with named sensors and actuators.

    Actuators keep their MJCF names; hip *flexion* is ``right_hip_y`` / ``left_hip_y``
    (``hip_x`` is abduction). Body step 15 ms (5 x 3 ms). Terminates when the torso height
    leaves (1.0, 2.0) m; truncated at 1000 steps; reward = 1.25 x centre-of-mass forward
    velocity + 5 (healthy) - 0.1 |ctrl|^2 - min(5e-7 |cfrc_ext|^2, 10). Torso pitch and
    roll come from the root quaternion converted by :func:`quaternion_pitch_roll`.
    """

    def __init__(self, *, max_steps: int = 1000):
        super().__init__(
            _gymnasium_asset("humanoid.xml"),
            frame_skip=5,
            name="humanoid",
            max_steps=max_steps,
            reset_noise=1e-2,
            contact_geoms={"right_foot": ["right_foot"], "left_foot": ["left_foot"]},
            root="free",
            min_height=1.0,
            max_height=2.0,
        )
        self._mass = np.expand_dims(self.model.body_mass, axis=1)
        # vestibular signals a 3-D balance needs, appended last so that every other sensor keeps its index
        self.sensors += (
            Sensor(
                "torso_roll_rate",
                "rad/s",
                "roll angular velocity (body-frame x; the derivative of torso_roll near upright)",
            ),
            Sensor("torso_yaw_rate", "rad/s", "yaw angular velocity (body-frame z)"),
            Sensor("lateral_velocity", "m/s", "velocity of the root along +y"),
        )
        self.sensor_names = tuple(s.name for s in self.sensors)
        self._sensor_index = {n: i for i, n in enumerate(self.sensor_names)}
        self._extra = np.array([self._root_dof + 3, self._root_dof + 5, self._root_dof + 1])

    def _observation_parts(self, sensed: list[_Contact]) -> list:
        return [*super()._observation_parts(sensed), self.data.qvel[self._extra]]

    def _progress_position(self) -> float:
        """Gymnasium's mass_center(), term for term: np.sum is np.add.reduce behind a Python wrapper
        (called twice per body step), and only the x of ``sum(m x) / sum(m)`` is kept."""
        return float(_add(self._mass * self.data.xipos, axis=0)[0] / _add(self._mass, axis=None))

    def _reward(self, velocity: float, action: np.ndarray, healthy: bool) -> tuple[float, dict[str, float]]:
        survive = 5.0 * float(healthy)
        forward = 1.25 * velocity
        ctrl = 0.1 * float(_add(np.square(self.data.ctrl), axis=None))
        contact = min(5e-7 * float(_add(np.square(self.data.cfrc_ext), axis=None)), 10.0)
        terms = {"reward_forward": forward, "reward_survive": survive, "reward_ctrl": -ctrl, "reward_contact": -contact}
        return (forward + survive) - (ctrl + contact), terms


BODIES: dict[str, Callable[..., MujocoBody]] = {}
"""Body name -> factory; ``mjcf`` takes the XML path (and MujocoBody's keywords)."""


def register_body(name: str, factory: Callable[..., MujocoBody]) -> None:
    """Add a body to the registry; a name already taken is refused."""
    if name in BODIES:
        raise BodyError(f"a body named {name!r} is already registered")
    BODIES[name] = factory


def make_body(name: str, **options: Any) -> MujocoBody:
    """A fresh body by registry name ('walker2d', 'humanoid', 'mjcf' with xml_path=...)."""
    try:
        factory = BODIES[name]
    except KeyError:
        raise UnknownNameError("body", name, BODIES) from None
    return factory(**options)


register_body("walker2d", Walker2d)
register_body("humanoid", Humanoid)
register_body("mjcf", MujocoBody)
__all__ = [
    "BODIES",
    "Humanoid",
    "MujocoBody",
    "Sensor",
    "StepResult",
    "Walker2d",
    "make_body",
    "quaternion_pitch_roll",
    "register_body",
]
