"""Bodies: MuJoCo models with named sensors and actuators, bound to a circuit and run in a closed loop.

``adapters`` (the bodies), ``binding`` (the declared binding file), ``conformance`` (the
checker every body passes), ``loop`` (body -> afferents -> circuit -> readouts -> actuators),
``baselines`` (zero, constant and sine walkers to beat), ``perturbations`` (pushes, mass,
friction, slope, sensor noise and motor delay, seeded per episode), ``imitate`` (binding gains fitted so a
circuit starts where a reference walker is) and ``video``. Import the modules
themselves; this package imports nothing heavy on its own.

MuJoCo picks its OpenGL backend once, when it is first imported; so that offscreen video
works on a headless machine, importing this package selects EGL (``MUJOCO_GL=egl``) when
the user has set no backend and there is no display.
"""

import os

if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"
