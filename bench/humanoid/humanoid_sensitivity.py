"""How much sensory lag and noise Humanoid-v5's LQR stander (on named sensors) tolerates.

    .venv/bin/python bench/humanoid/humanoid_sensitivity.py        # report seeds 100000-100009

Each row: the sensor vector passed through a first-order low-pass of time constant tau
(sampled every 15 ms body step) and/or Gaussian noise of sd sigma (sensor units: rad, rad/s,
m/s) added at every step, before the LQR's gain. Prints steps survived per seed.
"""

import numpy as np

from encephagen.body.adapters import make_body
from encephagen.body.baselines import run_episode
from encephagen.body.lqr import lqr_stander

SEEDS = list(range(100000, 100010))
body = make_body("humanoid")
lqr = lqr_stander(body)
gain, s0 = lqr.on_sensors(body)


def controller(tau_ms: float, sigma: float, seed: int):
    rng = np.random.default_rng(seed)
    alpha = 1.0 - np.exp(-body.dt_ms / tau_ms) if tau_ms else 1.0
    state = {}

    def act(step, observation):
        raw = observation + sigma * rng.standard_normal(observation.shape)
        state["y"] = raw if step == 0 else state["y"] + alpha * (raw - state["y"])
        return np.clip(lqr.ctrl0 - gain @ (state["y"] - s0), body.action_low, body.action_high)

    return act


print(f"{'lag tau ms':>10} {'noise sd':>9}  steps per seed {SEEDS[0]}..{SEEDS[-1]}  (full episodes)")
for tau_ms, sigma in ((0, 0.0), (0, 0.001), (0, 0.003), (0, 0.01), (5, 0.0), (10, 0.0), (20, 0.0)):
    steps = [run_episode(body, controller(tau_ms, sigma, seed), seed)["steps"] for seed in SEEDS]
    print(f"{tau_ms:>10} {sigma:>9}  {steps}  ({sum(s == 1000 for s in steps)}/10)", flush=True)
