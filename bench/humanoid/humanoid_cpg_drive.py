"""humanoid_cpg on Humanoid-v5 with its MLR-like ``drive`` raised: the rhythm generator starts and the
LQR-derived balance feedback is left to fight it (a measurement, not a walk).

    .venv/bin/python bench/humanoid/humanoid_cpg_drive.py SEEDS [DRIVE,DRIVE,...]

SEEDS: comma-separated (choose on selection seeds 200000+). DRIVE: mV (default 0,15,28). Prints each
episode's steps and root distance (m), dt 0.25 ms.
"""

import sys

from encephagen.body.binding import binding_path_for, load_binding
from encephagen.body.loop import ClosedLoop
from encephagen.compiler import compile_circuit
from encephagen.locations import resolve_circuit_path
from encephagen.storage import load_circuit

if __name__ == "__main__":
    seeds = [int(s) for s in sys.argv[1].split(",")]
    drives = [float(d) for d in (sys.argv[2] if len(sys.argv) > 2 else "0,15,28").split(",")]
    path = resolve_circuit_path("humanoid_cpg")
    loop = ClosedLoop(
        compile_circuit(load_circuit(path), dt=0.25),
        load_binding(binding_path_for(path, "humanoid")),
        base_dir=path.parent,
    )
    for drive in drives:
        episodes = loop.run(seeds, parameters=[{"drive": drive}] * len(seeds))
        print(
            f"drive {drive:4.0f} mV: steps {[e.metrics['steps'] for e in episodes]}  "
            f"distance m {[round(e.metrics['distance'], 2) for e in episodes]}",
            flush=True,
        )
