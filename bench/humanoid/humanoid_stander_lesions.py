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

from encephagen.body.binding import binding_path_for, load_binding
from encephagen.body.loop import ClosedLoop
from encephagen.compiler import compile_circuit, lesion
from encephagen.locations import resolve_circuit_path
from encephagen.storage import load_circuit


def variants(circuit, binding) -> dict[str, tuple]:
    """name -> (circuit, binding) for the intact stander and its four lesions."""
    out = {"intact": (circuit, binding)}
    for cls in ("VS", "SpIN"):
        pools = {name for name, p in circuit.populations.items() if p.cell_class == cls}
        kept = {name: a for name, a in binding.afferents.items() if a.population not in pools}
        out[f"no {cls}"] = (lesion(circuit, [cls]), binding.model_copy(update={"afferents": kept}))
        out[f"{cls} cut from sensors"] = (circuit, binding.model_copy(update={"afferents": kept}))
    return out


if __name__ == "__main__":
    seeds = [int(s) for s in sys.argv[1].split(",")]
    steps_cap = int(sys.argv[2]) if len(sys.argv) > 2 else None
    path = resolve_circuit_path("humanoid_stander")
    circuit, binding = load_circuit(path), load_binding(binding_path_for(path))
    print(f"humanoid_stander {circuit.version}, seeds {seeds[0]}-{seeds[-1]}, dt 0.25 ms", flush=True)
    for name, (variant, bound) in variants(circuit, binding).items():
        loop = ClosedLoop(compile_circuit(variant, dt=0.25), bound, base_dir=path.parent)
        steps = [e.metrics["steps"] for e in loop.run(seeds, max_steps=steps_cap)]
        print(
            f"{name:22} steps {np.mean(steps):6.1f}  full {sum(s == (steps_cap or 1000) for s in steps)}/{len(steps)}  {steps}",
            flush=True,
        )
