"""Can a balance controller designed for a lag stand Humanoid-v5 through it? (selection seeds)

    .venv/bin/python bench/humanoid/humanoid_lag_lqr.py TAU_MS EFFORT      # e.g. 20 10

The body's control passes through a first-order lag of time constant TAU_MS (updated once
per 15 ms body step, as a circuit's filtered motor readout would be). The LQR is designed on
the body's linearisation augmented with that lag (state: MuJoCo deviation and the filtered
control), cost as encephagen.body.lqr's default except the effort weight EFFORT; it reads the
full state plus Gaussian noise of sd 0, 0.01, 0.03 on every state entry. Prints steps per seed.
"""

import sys

import mujoco
import numpy as np
from scipy.linalg import solve_discrete_are

from encephagen.body.adapters import make_body
from encephagen.body.baselines import run_episode
from encephagen.body.lqr import LqrWeights, linearise, lqr_stander

SEEDS = list(range(200600, 200606))
tau_ms, effort = float(sys.argv[1]), float(sys.argv[2])
body = make_body("humanoid")
model, nv, nu = body.model, body.model.nv, body.model.nu
n = 2 * nv
stander = lqr_stander(body)
a, b = linearise(body, stander.qpos0, stander.ctrl0)
alpha = 1.0 - np.exp(-body.dt_ms / tau_ms)
az = np.block([[a, b * (1 - alpha)], [np.zeros((nu, n)), (1 - alpha) * np.eye(nu)]])
bz = np.vstack([b * alpha, alpha * np.eye(nu)])
data = mujoco.MjData(model)
data.qpos[:] = stander.qpos0
mujoco.mj_forward(model, data)
jac_com, jac_foot = np.zeros((3, nv)), np.zeros((3, nv))
mujoco.mj_jacSubtreeCom(model, data, jac_com, 1)
mujoco.mj_jacBodyCom(model, data, jac_foot, None, mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "left_foot"))
w = LqrWeights()
q = 1e-4 * np.eye(n + nu)
q[:nv, :nv] += w.balance * (jac_com - jac_foot).T @ (jac_com - jac_foot)
q[3:6, 3:6] += w.root * np.eye(3)
q[6:nv, 6:nv] += w.joints * np.eye(nv - 6)
q[nv:n, nv:n] += w.velocity * np.eye(nv)
r = effort * np.eye(nu)
p = solve_discrete_are(az, bz, q, r)
gain = np.linalg.solve(r + bz.T @ p @ bz, bz.T @ p @ az)


def controller(noise: float, seed: int):
    rng = np.random.default_rng(seed)
    filtered = stander.ctrl0.copy()

    def act(step, observation):
        nonlocal filtered
        dx = np.zeros(n)
        mujoco.mj_differentiatePos(model, dx[:nv], 1.0, stander.qpos0, body.data.qpos)
        dx[nv:] = body.data.qvel
        command = stander.ctrl0 - gain @ np.concatenate([dx + noise * rng.standard_normal(n), filtered - stander.ctrl0])
        filtered = filtered + alpha * (np.clip(command, -0.4, 0.4) - filtered)
        return np.clip(filtered, -0.4, 0.4)

    return act


print(f"lag {tau_ms} ms, effort {effort}, max |K| {np.abs(gain).max():.1f}")
for noise in (0.0, 0.01, 0.03):
    print(f"  noise {noise}: {[run_episode(body, controller(noise, s), s)['steps'] for s in SEEDS]}", flush=True)
