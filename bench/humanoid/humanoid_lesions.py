"""humanoid_cpg beside its lesions on Humanoid-v5: every projection out of the vestibulospinal
populations, or out of the Ia afferents, removed (the populations stay, so the binding still fits).

    .venv/bin/python bench/humanoid/humanoid_lesions.py            # report seeds 100000-100009, dt 0.25 ms
"""

import numpy as np

from encephagen.body.binding import binding_path_for, load_binding
from encephagen.body.loop import ClosedLoop
from encephagen.compiler import compile_circuit, lesion
from encephagen.locations import resolve_circuit_path
from encephagen.storage import load_circuit

SEEDS = list(range(100000, 100010))
path = resolve_circuit_path("humanoid_cpg")
circuit, binding = load_circuit(path), load_binding(binding_path_for(path, "humanoid"))
cut = {
    "no vestibulospinal": [
        k for k, p in circuit.projections.items() if circuit.populations[p.source].cell_class == "vestibulospinal"
    ],
    "no Ia afferents": [
        k for k, p in circuit.projections.items() if circuit.populations[p.source].cell_class == "Ia_afferent"
    ],
}
variants = {"intact": circuit, **{name: lesion(circuit, names) for name, names in cut.items()}}
print(f"humanoid_cpg {circuit.version}, seeds {SEEDS[0]}-{SEEDS[-1]}, dt 0.25 ms")
for name, variant in variants.items():
    loop = ClosedLoop(compile_circuit(variant, dt=0.25), binding, base_dir=path.parent)
    steps = [e.metrics["steps"] for e in loop.run(SEEDS)]
    print(
        f"{name:20} steps {np.mean(steps):6.1f} ± {np.std(steps, ddof=1):5.1f}  full {sum(s == 1000 for s in steps)}/10  {steps}"
    )
