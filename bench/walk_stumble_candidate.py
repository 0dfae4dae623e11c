"""Writes the candidate walker2d_cpg with a stumbling-corrective pathway (not shipped; session 7 of docs/notes/walk.md).

The shipped walker2d_cpg (0.8.1 in session 7) plus, on each side: a cutaneous afferent pool ``Cut_foot`` fed by the foot's
contact force, stumble interneurons ``StIN`` excited by it, and a phase gate that alone is
subthreshold, so that foot contact fires them only in swing (Forssberg 1979; Quevedo et al.
2005; Zehr & Stein 1999). Their rate (low-pass 20 ms) is one more term of the knee and hip
commands. Two gates:

* ``--gate hip-velocity``: the hip's flexion velocity through the binding (swing = hip flexing,
  Grillner & Rossignol 1978), ``g_swing`` mV per rad/s;
* ``--gate flexor``: the side's flexor half-centre, ``RG_F -> StIN`` (``w_st_gate`` mV).

With ``--only-new`` only the pathway's parameters are free, so ``encephagen calibrate`` tunes
just them from 0.8.1's values. The motor gains start at 0 (the walker of 0.8.1, on the same draws).

    python bench/walk_stumble_candidate.py --gate hip-velocity --only-new --out /tmp/stumble_k
    encephagen calibrate /tmp/stumble_k/walker2d_cpg.json --objective walk --body walker2d ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEW = ("g_cut", "w_cut", "g_swing", "w_st_gate", "k_stumble_knee", "k_stumble_hip")


def candidate(circuit: dict, binding: dict, gate: str) -> tuple[dict, dict]:
    """The circuit and binding with the stumbling-corrective pathway added."""
    refs = circuit["references"]
    refs["forssberg1979"] = {
        "citation": "Forssberg H (1979) Stumbling corrective reaction: a phase-dependent compensatory reaction during locomotion. J Neurophysiol 42:936-953",
        "doi": "10.1152/jn.1979.42.4.936",
    }
    refs["zehr1999"] = {
        "citation": "Zehr EP, Stein RB (1999) What functions do reflexes serve during human locomotion? Prog Neurobiol 58:185-205",
        "doi": "10.1016/S0301-0082(98)00081-1",
    }
    refs["quevedo2005"] = {
        "citation": "Quevedo J, Stecina K, Gosgnach S, McCrea DA (2005) Stumbling corrective reaction during fictive locomotion in the cat. J Neurophysiol 94:2045-2052",
        "doi": "10.1152/jn.00175.2005",
    }
    refs["grillner1978"] = {
        "citation": "Grillner S, Rossignol S (1978) On the initiation of the swing phase of locomotion in chronic spinal cats. Brain Res 146:269-277",
        "doi": "10.1016/0006-8993(78)90973-3",
    }
    circuit["cell_classes"]["cutaneous_afferent"] = {
        "transmitter": "glutamate",
        "description": "Cutaneous afferents of the foot: fire while the foot touches the floor (read from its contact force)",
        "references": [{"ref": "forssberg1979"}, {"ref": "zehr1999"}],
    }
    circuit["cell_classes"]["stumble_interneuron"] = {
        "transmitter": "glutamate",
        "description": "Excitatory interneurons of the stumbling corrective reaction: foot contact fires them only when a swing-phase gate depolarises them too; they add knee and hip flexion",
        "references": [{"ref": "forssberg1979"}, {"ref": "quevedo2005"}, {"ref": "zehr1999"}],
    }
    p = circuit["parameters"]
    p["g_cut"] = {
        "value": 0.05,
        "unit": "mV/N",
        "description": "Binding: cutaneous-afferent current per N of foot contact force",
        "free": True,
        "bounds": [0.0, 0.1],
    }
    p["w_cut"] = {
        "value": 5.0,
        "unit": "mV",
        "description": "Total excitation of a stumble interneuron by its foot's cutaneous pool",
        "free": True,
        "bounds": [0.0, 10.0],
    }
    p["k_stumble_knee"] = {
        "value": 0.0,
        "unit": "1/Hz",
        "description": "Binding: knee action per Hz of the stumble interneurons (negative flexes)",
        "free": True,
        "bounds": [-0.008, 0.008],
    }
    p["k_stumble_hip"] = {
        "value": 0.0,
        "unit": "1/Hz",
        "description": "Binding: hip action per Hz of the stumble interneurons (positive flexes)",
        "free": True,
        "bounds": [-0.008, 0.008],
    }
    pops = circuit["populations"]
    pops["Cut_foot"] = {
        "cell_class": "cutaneous_afferent",
        "size": 2,
        "neuron_model": "afferent",
        "description": "Driven by the foot's contact force through the binding",
        "sides": ["L", "R"],
    }
    pops["StIN"] = {
        "cell_class": "stumble_interneuron",
        "size": 3,
        "neuron_model": "interneuron",
        "initial_v": {"uniform": [0.0, 5.0]},
        "description": "Stumble interneurons: cutaneous input, gated to swing; drive the binding's stumble terms",
        "sides": ["L", "R"],
    }
    proj = circuit["projections"]
    proj["Cut_foot->StIN"] = {
        "source": "Cut_foot",
        "target": "StIN",
        "rule": {"kind": "all_to_all"},
        "weight": {"param": "w_cut"},
        "weight_mode": "source_size",
        "delay": 1.0,
        "description": "Foot cutaneous afferents excite the stumble interneurons of their side",
        "references": [{"ref": "forssberg1979"}, {"ref": "quevedo2005"}],
        "to": "same",
    }
    if gate == "flexor":
        p["w_st_gate"] = {
            "value": 3.0,
            "unit": "mV",
            "description": "Total excitation of a stumble interneuron by its side's flexor half-centre (the phase gate)",
            "free": True,
            "bounds": [0.0, 8.0],
        }
        proj["RG_F->StIN"] = {
            "source": "RG_F",
            "target": "StIN",
            "rule": {"kind": "all_to_all"},
            "weight": {"param": "w_st_gate"},
            "weight_mode": "source_size",
            "delay": 0.5,
            "description": "The flexor half-centre gates the stumble interneurons",
            "references": [{"ref": "quevedo2005"}],
            "to": "same",
        }
    else:
        p["g_swing"] = {
            "value": 1.5,
            "unit": "mV/(rad/s)",
            "description": "Binding: stumble-interneuron current per rad/s of hip flexion velocity (the swing gate)",
            "free": True,
            "bounds": [0.0, 4.0],
        }
    for side in ("right", "left"):
        s = side[0].upper()
        circuit["readouts"][f"{side}_stumble"] = {
            "terms": [{"population": f"{s}_StIN"}],
            "tau": 20.0,
            "description": f"{side} stumble-interneuron rate, low-pass 20 ms",
        }
        binding["afferents"][f"{side}_foot_cutaneous"] = {
            "sensor": f"{side}_foot_load",
            "population": f"{s}_Cut_foot",
            "gain": {"param": "g_cut"},
            "high": 20.0,
        }
        if gate != "flexor":
            binding["afferents"][f"{side}_hip_swing"] = {
                "sensor": f"{side}_hip_velocity",
                "population": f"{s}_StIN",
                "gain": {"param": "g_swing"},
                "low": -8.0,
                "high": 6.0,
            }
        binding["motors"][f"{side}_knee"]["terms"].append(
            {"readout": f"{side}_stumble", "gain": {"param": "k_stumble_knee"}}
        )
        binding["motors"][f"{side}_hip"]["terms"].append(
            {"readout": f"{side}_stumble", "gain": {"param": "k_stumble_hip"}}
        )
    return circuit, binding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gate", choices=("hip-velocity", "flexor"), default="hip-velocity")
    parser.add_argument("--only-new", action="store_true", help="free only the pathway's parameters")
    parser.add_argument("--out", required=True, help="folder for walker2d_cpg.json and its binding")
    args = parser.parse_args()
    circuit = json.loads((ROOT / "circuits" / "walker2d_cpg.json").read_text())
    binding = json.loads((ROOT / "circuits" / "walker2d_cpg.binding.json").read_text())
    circuit, binding = candidate(circuit, binding, args.gate)
    if args.only_new:
        for name, parameter in circuit["parameters"].items():
            if name not in NEW:
                parameter.pop("free", None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "walker2d_cpg.json").write_text(json.dumps(circuit, indent=2) + "\n")
    (out / "walker2d_cpg.binding.json").write_text(json.dumps(binding, indent=2) + "\n")
    print(f"wrote {out / 'walker2d_cpg.json'} and its binding (gate: {args.gate})")


if __name__ == "__main__":
    main()
