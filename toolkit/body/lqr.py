"""A non-spiking balance controller: LQR about a standing pose, on MuJoCo's own linearisation.

Follows MuJoCo's LQR tutorial for its humanoid, on a body of this package (Humanoid-v5):

1. the standing pose is the initial pose with the knees just inside their limit, lowered
   until the feet carry the weight and with the hips flexed until the centre of mass is over
   the feet: the height and hip angle at which inverse dynamics (``mj_inverse``, zero
   acceleration) needs the least vertical force and the least pitch torque on the root
   (Humanoid-v5 stands on two spheres, which give no pitch torque);
2. the control that holds it is the inverse-dynamics generalised force mapped onto the
   actuators by least squares (``qfrc0 @ pinv(moment)``);
3. the dynamics are linearised by centred finite differences about that state and control
   (``mujoco.mjd_transitionFD`` does this for one MuJoCo step but refuses the RK4 integrator
   Humanoid-v5 uses, so the same differences are taken here over one whole body step of
   ``frame_skip`` RK4 steps, the control held as the body holds it);
4. the discrete Riccati equation (``scipy.linalg.solve_discrete_are``) gives the gain K
   for a cost that weights the centre of mass's horizontal offset from the feet (balance),
   root orientation and joint deviations (posture) and velocities, against effort.

The controller reads the full MuJoCo state (``qpos``, ``qvel``) of the body it is built for:
a full-state-feedback reference, not a model of what a nervous system senses.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ..errors import BodyError
from ..extras import require


@dataclass(frozen=True)
class LqrWeights:
    """Cost weights of the LQR design (dimensionless multipliers of squared SI deviations)."""

    balance: float = 1000.0
    """Offset of the centre of mass from the left foot (m^2; as the tutorial, all three axes)."""
    root: float = 100.0
    """Root orientation deviation (rad^2)."""
    joints: float = 10.0
    """Each hinge joint's deviation from the pose (rad^2)."""
    velocity: float = 1.0
    """Each velocity (rad^2/s^2, m^2/s^2)."""
    effort: float = 100.0
    """Each control squared (control units)."""
    knee: float = -0.2
    """Knee angle of the pose (rad; Humanoid-v5's knees stop at -0.035: a pose on the stop
    is not the smooth system the linearisation assumes, and its LQR falls after ~300 steps)."""


@dataclass(frozen=True)
class LqrStander:
    """An LQR balance controller: ``ctrl = clip(ctrl0 - K dx)``.

    ``dx`` is the state's deviation from (qpos0, 0): ``mj_differentiatePos`` for positions
    (nv entries, the root's quaternion as a rotation vector), then qvel.
    """

    qpos0: np.ndarray
    """The standing pose (nq)."""
    ctrl0: np.ndarray
    """The control that holds it (nu)."""
    gain: np.ndarray
    """K, (nu, 2 nv)."""

    def controller(self, body):
        """A :data:`~encephagen.body.baselines.Controller` for ``body`` (reads ``body.data``)."""
        import mujoco

        model, data = body.model, body.data
        low, high = body.action_low, body.action_high
        nv = model.nv
        dx = np.zeros(2 * nv)

        def act(step: int, observation: np.ndarray) -> np.ndarray:
            mujoco.mj_differentiatePos(model, dx[:nv], 1.0, self.qpos0, data.qpos)
            dx[nv:] = data.qvel
            return np.clip(self.ctrl0 - self.gain @ dx, low, high)

        return act

    def on_sensors(self, body) -> tuple[np.ndarray, np.ndarray]:
        """(G, s0): the same feedback on the body's named sensors, ``ctrl = clip(ctrl0 - G (s - s0))``.

        Each column of K whose state the body reports as a sensor (height, pitch, roll, root
        velocities and angular rates, joint angles and velocities) moves to that sensor's
        column of G; the columns the body cannot sense (root x, y and yaw) are dropped. ``s0``
        is the sensor vector at the standing pose. What a circuit reading the same sensors
        would have to compute.
        """
        import mujoco

        model, nv = body.model, body.model.nv
        columns = {
            2: "torso_height",
            3: "torso_roll",
            4: "torso_pitch",
            nv: "forward_velocity",
            nv + 1: "lateral_velocity",
            nv + 2: "vertical_velocity",
            nv + 3: "torso_roll_rate",
            nv + 4: "torso_pitch_rate",
            nv + 5: "torso_yaw_rate",
        }
        for joint in range(model.njnt):
            if joint not in body._root_joints:
                columns[int(model.jnt_dofadr[joint])] = f"{model.joint(joint).name}_angle"
                columns[nv + int(model.jnt_dofadr[joint])] = f"{model.joint(joint).name}_velocity"
        sensor_gain = np.zeros((model.nu, len(body.sensor_names)))
        for column, sensor in columns.items():
            sensor_gain[:, body.sensor_index(sensor)] = self.gain[:, column]
        probe = object.__new__(type(body))
        probe.__dict__.update(body.__dict__)
        probe.data = mujoco.MjData(model)
        probe.data.qpos[:] = self.qpos0
        mujoco.mj_forward(model, probe.data)
        return sensor_gain, probe._observe()

    def sensor_controller(self, body):
        """A controller that reads only ``observation`` (see :meth:`on_sensors`)."""
        gain, s0 = self.on_sensors(body)
        low, high = body.action_low, body.action_high
        return lambda step, observation: np.clip(self.ctrl0 - gain @ (observation - s0), low, high)


def _actuator_moment(model) -> np.ndarray:
    """(nu, nv) moment arms of joint actuators: the gear on the joint's dof."""
    import mujoco

    moment = np.zeros((model.nu, model.nv))
    for a in range(model.nu):
        if int(model.actuator_trntype[a]) != int(mujoco.mjtTrn.mjTRN_JOINT):
            raise BodyError(f"actuator {a} does not drive a joint; the LQR stander handles joint actuators only")
        moment[a, model.jnt_dofadr[model.actuator_trnid[a, 0]]] = model.actuator_gear[a, 0]
    return moment


def standing_pose(body, knee: float = -0.2) -> tuple[np.ndarray, np.ndarray]:
    """(qpos0, qfrc0): the standing pose (see the module's step 1) and the generalised force
    that holds it at zero acceleration."""
    import mujoco

    model = body.model
    data = mujoco.MjData(model)
    knees = [model.jnt_qposadr[body_joint(body, n)] for n in ("right_knee", "left_knee")]
    hips = [model.jnt_qposadr[body_joint(body, n)] for n in ("right_hip_y", "left_hip_y")]

    def inverse(height: float, hip: float) -> np.ndarray:
        mujoco.mj_resetData(model, data)
        data.qpos[:] = body.init_qpos
        data.qpos[knees], data.qpos[hips] = knee, hip
        data.qpos[2] = height
        data.qacc[:] = 0
        mujoco.mj_inverse(model, data)
        return data.qfrc_inverse.copy()

    z0 = float(body.init_qpos[2])
    heights = z0 + np.linspace(-0.13, -0.08, 501)
    best: tuple[float, float, float] | None = None
    for hip in np.linspace(-0.3, 0.3, 121):
        height = heights[int(np.argmin([abs(inverse(h, hip)[2]) for h in heights]))]
        pitch_torque = abs(inverse(height, hip)[4])
        if best is None or pitch_torque < best[0]:
            best = (pitch_torque, height, hip)
    assert best is not None  # the grid is not empty
    qfrc0 = inverse(best[1], best[2])
    return data.qpos.copy(), qfrc0


def body_joint(body, name: str) -> int:
    """MuJoCo id of a joint of ``body`` by name."""
    import mujoco

    joint = mujoco.mj_name2id(body.model, mujoco.mjtObj.mjOBJ_JOINT, name)
    if joint < 0:
        raise BodyError(f"body {body.name!r} has no joint {name!r}; the LQR stander is written for Humanoid-v5")
    return joint


def linearise(body, qpos0: np.ndarray, ctrl0: np.ndarray, eps: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of one body step about (qpos0, 0 velocity, ctrl0), by centred differences."""
    import mujoco

    model = copy.copy(body.model)
    data = mujoco.MjData(model)
    nv, nu = model.nv, model.nu

    def step(dx: np.ndarray, du: np.ndarray) -> np.ndarray:
        mujoco.mj_resetData(model, data)
        qpos = qpos0.copy()
        mujoco.mj_integratePos(model, qpos, dx[:nv].copy(), 1.0)
        data.qpos[:], data.qvel[:], data.ctrl[:] = qpos, dx[nv:], ctrl0 + du
        mujoco.mj_step(model, data, nstep=body.frame_skip)
        out = np.zeros(2 * nv)
        mujoco.mj_differentiatePos(model, out[:nv], 1.0, qpos0, data.qpos)
        out[nv:] = data.qvel
        return out

    a, b = np.zeros((2 * nv, 2 * nv)), np.zeros((2 * nv, nu))
    zero_x, zero_u = np.zeros(2 * nv), np.zeros(nu)
    for i in range(2 * nv):
        e = np.zeros(2 * nv)
        e[i] = eps
        a[:, i] = (step(e, zero_u) - step(-e, zero_u)) / (2 * eps)
    for i in range(nu):
        e = np.zeros(nu)
        e[i] = eps
        b[:, i] = (step(zero_x, e) - step(zero_x, -e)) / (2 * eps)
    return a, b


def design_lqr(body, weights: LqrWeights = LqrWeights()) -> LqrStander:
    """The LQR stander of ``body`` (Humanoid-v5) for cost ``weights``; deterministic."""
    import mujoco

    solve_discrete_are = require("scipy.linalg", "the LQR stander", extra="body").solve_discrete_are

    model = body.model
    nv, nu = model.nv, model.nu
    qpos0, qfrc0 = standing_pose(body, weights.knee)
    ctrl0 = qfrc0 @ np.linalg.pinv(_actuator_moment(model))
    a, b = linearise(body, qpos0, ctrl0)
    data = mujoco.MjData(model)
    data.qpos[:] = qpos0
    mujoco.mj_forward(model, data)
    jac_com, jac_foot = np.zeros((3, nv)), np.zeros((3, nv))
    mujoco.mj_jacSubtreeCom(model, data, jac_com, 1)
    foot = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "left_foot")
    if foot < 0:
        raise BodyError(f"body {body.name!r} has no body 'left_foot'; the LQR stander is written for Humanoid-v5")
    mujoco.mj_jacBodyCom(model, data, jac_foot, None, foot)
    balance = jac_com - jac_foot
    q_pos = weights.balance * balance.T @ balance
    q_pos[3:6, 3:6] += weights.root * np.eye(3)
    q_pos[6:, 6:] += weights.joints * np.eye(nv - 6)
    q = np.block([[q_pos, np.zeros((nv, nv))], [np.zeros((nv, nv)), weights.velocity * np.eye(nv)]])
    r = weights.effort * np.eye(nu)
    try:
        p = solve_discrete_are(a, b, q, r)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise BodyError(
            f"no LQR solution for weights {weights}: {exc}; change the weights (e.g. a smaller effort weight)"
        ) from None
    gain = np.linalg.solve(r + b.T @ p @ b, b.T @ p @ a)
    return LqrStander(qpos0, ctrl0, gain)


_DESIGNED: dict[tuple, LqrStander] = {}


def lqr_stander(body, weights: LqrWeights = LqrWeights()) -> LqrStander:
    """:func:`design_lqr`, computed once per (body, weights) in a process (it takes ~1 s)."""
    key = (body.name, str(body.xml_path), weights)
    if key not in _DESIGNED:
        _DESIGNED[key] = design_lqr(body, weights)
    return _DESIGNED[key]
