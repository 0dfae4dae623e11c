"""How noisy humanoid_cpg's trunk motor command is, in radians of trunk pitch.

    .venv/bin/python bench/humanoid/humanoid_readout_noise.py        # circuit noise seeds 1-4, dt 0.25 ms

The circuit is driven by a held sensor vector (Humanoid-v5's reset pose, seed 0) with torso
pitch 0 for 200 body steps, then 0.02 rad for 200 more; the abdomen_y motor readout
(MN_pos - MN_neg, Hz) is read every 15 ms body step, as the closed loop reads it. Its
sd at fixed input, divided by its slope, is the pitch-equivalent noise the motor command
carries; ``--no-neuron-noise`` sets the circuit's ``noise`` parameter to 0 (the afferents keep
their own 0.3 mV). Measured (2026-12-03): 0.2.1 (3-neuron pools, one pool per sensor) 0.079 rad,
26x the 0.003 rad of sensor noise the LQR stands with; 0.3.0 (20-neuron pools on whitened
channels, humanoid_stander's pathway) 0.007 rad (slope -541 Hz/rad, sd 3.9 Hz per body step).
"""

import sys

import numpy as np

from encephagen.body.adapters import make_body
from encephagen.body.binding import binding_path_for, load_binding
from encephagen.body.imitate import readouts_on_observations
from encephagen.body.loop import ClosedLoop
from encephagen.compiler import compile_circuit
from encephagen.locations import resolve_circuit_path
from encephagen.storage import load_circuit

path = resolve_circuit_path("humanoid_cpg")
circuit = load_circuit(path)
loop = ClosedLoop(
    compile_circuit(circuit, dt=0.25), load_binding(binding_path_for(path, "humanoid")), base_dir=path.parent
)
body = make_body("humanoid")
observation, _ = body.reset(0)
rows = np.tile(observation, (400, 1))
rows[:, body.sensor_index("torso_pitch")] = 0.0
rows[200:, body.sensor_index("torso_pitch")] = 0.02
parameters = {"noise": 0.0} if "--no-neuron-noise" in sys.argv else None
readouts = readouts_on_observations(loop, [rows] * 4, [1, 2, 3, 4], parameters=parameters)
column = loop.readout_names.index("abdomen_y_mn")
signal = np.array([r[:, column] for r in readouts])
before, after = signal[:, 100:200], signal[:, 300:400]
slope = (after.mean() - before.mean()) / 0.02
print(
    f"humanoid_cpg {circuit.version}: abdomen_y_mn {before.mean():.1f} Hz at 0 rad, {after.mean():.1f} Hz at 0.02 rad; "
    f"slope {slope:.0f} Hz/rad; sd {before.std():.1f} Hz per body step = {before.std() / abs(slope):.3f} rad of pitch"
)
