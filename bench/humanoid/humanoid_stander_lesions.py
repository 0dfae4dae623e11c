"""humanoid_stander beside its lesions on Humanoid-v5: the vestibulospinal (VS) or spindle (SpIN)
channel populations removed, or kept firing at rest but cut from their sensors.

    .venv/bin/python bench/humanoid/humanoid_stander_lesions.py SEEDS [STEPS]

* ``no VS`` / ``no SpIN``: the class's populations removed with their projections (the motor
  pools lose their input, tonic and phasic, as after a lesion of the nucleus);
* ``VS cut from sensors`` / ``SpIN cut from sensors``: the binding's afferent entries into the
  class removed: its pools keep their tonic drive (and so the motor pools' operating point)
  but carry nothing about the body.

SEEDS: comma-separated (choose on selection seeds 200000+; report seeds once). STEPS: episode
cap (default 1000). Prints steps per seed per variant, dt 0.25 ms.
"""

import sys

import numpy as np

from encephagen.body.loop import ClosedLoop
from encephagen.body.runs import bind


def variants(intact) -> dict:
    """name -> closed loop: the intact stander and its four lesions."""
    out = {"intact": intact}
    for cls in ("VS", "SpIN"):
        out[f"no {cls}"] = without = intact.lesioned([cls])
        # the class's pools keep firing at their tonic drive, deaf to the body
        out[f"{cls} cut from sensors"] = ClosedLoop(intact.network, without.binding, base_dir=intact.base_dir)
    return out


if __name__ == "__main__":
    seeds = [int(s) for s in sys.argv[1].split(",")]
    steps_cap = int(sys.argv[2]) if len(sys.argv) > 2 else None
    intact = bind("humanoid_stander", "humanoid", dt=0.25)
    print(f"humanoid_stander {intact.network.circuit.version}, seeds {seeds[0]}-{seeds[-1]}, dt 0.25 ms", flush=True)
    for name, loop in variants(intact).items():
        steps = [e.metrics["steps"] for e in loop.run(seeds, max_steps=steps_cap)]
        print(
            f"{name:22} steps {np.mean(steps):6.1f}  full {sum(s == (steps_cap or 1000) for s in steps)}/{len(steps)}  {steps}",
            flush=True,
        )
