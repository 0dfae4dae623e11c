"""humanoid_cpg beside its lesions on Humanoid-v5: each class removed with its projections
(``encephagen.compiler.lesion``) and the binding's afferent entries into it.

    .venv/bin/python bench/humanoid/humanoid_cpg_lesions.py SEEDS [STEPS]

* ``no VS``: the vestibulospinal channel populations (the trunk's sway signal);
* ``no SpIN``: the spindle channel populations (the Ia pathway: joint angles and velocities);
* ``no IaIN``: the Ia inhibitory interneurons (reciprocal inhibition, 30 % of the command);
* ``no Renshaw``: the Renshaw cells (recurrent inhibition);
* ``no Ib (foot load)``: the foot-load afferents (their excitation of the extensor half-centres);
* ``no rhythm generator``: every rhythm-generator and commissural class (Shox2, InRG, V1, V2b,
  V2a, V0d, V0v, Ini, V3).

Each lesion removes the tonic input the class gave the motor pools as well (their compensating
drive stays): that is what removing a nucleus does. SEEDS: comma-separated (choose on selection
seeds 200000+; report seeds once). STEPS: episode cap (default 1000). At the binding's dt_ms (0.5 ms from 0.6.0).
"""

import sys

import numpy as np

from encephagen.body.runs import bind

LESIONS = {
    "intact": [],
    "no VS": ["VS"],
    "no SpIN (Ia pathway)": ["SpIN"],
    "no IaIN": ["IaIN"],
    "no Renshaw": ["Renshaw"],
    "no Ib (foot load)": ["Ib"],
    "no rhythm generator": ["Shox2", "InRG", "V1", "V2b", "V2a", "V0d", "V0v", "Ini", "V3"],
}

if __name__ == "__main__":
    seeds = [int(s) for s in sys.argv[1].split(",")]
    cap = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    intact = bind("humanoid_cpg", "humanoid")
    print(
        f"humanoid_cpg {intact.network.circuit.version}, seeds {seeds[0]}-{seeds[-1]}, dt {intact.network.dt:g} ms",
        flush=True,
    )
    for name, classes in LESIONS.items():
        loop = intact.lesioned(classes) if classes else intact
        steps = [e.metrics["steps"] for e in loop.run(seeds, max_steps=cap)]
        print(
            f"{name:22} steps {np.mean(steps):6.1f}  full {sum(s == cap for s in steps)}/{len(steps)}  {steps}",
            flush=True,
        )
