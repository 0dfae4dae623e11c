"""Build circuits/humanoid_cpg.json 0.6.0 and its Humanoid-v5 binding: humanoid_stander's balance
pathway with Ia inhibitory interneurons, Renshaw cells, spinal_cpg's rhythm generator and foot-load
(Ib) afferents.

    .venv/bin/python bench/humanoid/build_humanoid_cpg.py                 # writes the two files (deterministic)
    .venv/bin/python bench/humanoid/build_humanoid_cpg.py run SEEDS [KEY=VALUE ...]
    .venv/bin/python bench/humanoid/build_humanoid_cpg.py fidelity [KEY=VALUE ...]
    .venv/bin/python bench/humanoid/build_humanoid_cpg.py rhythm DRIVE[,DRIVE...] [KEY=VALUE ...]

(``run``, ``fidelity`` and ``rhythm`` without KEY=VALUE use the shipped files; with options they
build a variant first, ~1 min.)

The balance pathway is humanoid_stander 0.3.0's (``build_humanoid_stander.build``): the binding
combines the sensors into 9 vestibulospinal (VS) and 17 spindle-channel (SpIN) push-pull pairs of
20 spiking neurons that excite the 17 agonist/antagonist motor-pool pairs one-to-one. Added here,
each with the weights recomputed so that the action per unit of the LQR's command is unchanged:

* **Ia inhibitory interneurons** (reciprocal inhibition; Hultborn 1976, Jankowska 1992): per
  actuator ``IaIN_pos`` (IAIN neurons) receives the same channel input as ``MN_pos`` (channel neuron
  i onto interneuron i mod IAIN) and inhibits ``MN_neg`` and ``IaIN_neg``, and vice versa. A share
  SHARE of the push-pull command reaches each pool as the antagonist's withdrawn inhibition instead
  of as excitation: the channel-to-motor weights are scaled by (1 - SHARE) and the IaIN-to-motor
  weight is set so that the IaIN path brings the rest, through the IaIN's f-I slope, its mutual
  inhibition (loop gain MUTUAL) and the Renshaw cells' inhibition of it (share RC_IAIN).
* **Renshaw cells** (recurrent inhibition; Renshaw 1946, Hultborn et al. 1979, Alvarez & Fyffe
  2007): per pool RC neurons excited by the pool's collaterals, inhibiting the pool and its IaIN,
  with a recurrent loop gain RCGAIN (the pool's rate slope falls by 1 + RCGAIN); every input onto
  the motor pools is multiplied by 1 + RCGAIN to compensate.
* **Rhythm generator**: spinal_cpg 0.4.2's per-side Shox2 flexor/extensor half-centres, In-F/In-E,
  V1, V2b, V2a, V0d, V0v, Ini and V3 with its parameters, driven by the MLR-like ``drive``
  parameter (onto both half-centres here, the extensor's scaled so that at spinal_cpg's default
  walking drive both get spinal_cpg's values); the half-centres excite the hip_y flexor/extensor
  pools and V1/V2b inhibit the opposite pool. At the standing default ``drive`` = 0 every
  rhythm-generator neuron is below threshold (quiet stance); raised, it alternates.
* **Foot-load (Ib) afferents** (Duysens & Pearson 1980, Pearson 2004, Dietz & Duysens 2000): per
  foot IB_SIZE neurons driven by the foot's summed normal contact force (binding gain ``g_ib``)
  excite the same side's extensor half-centre (IB_RG mV at the standing load), so that load feedback
  acts through the locomotor rhythm generator and is gated by it: below threshold in quiet stance
  (drive 0), it raises the extensor half-centre's activity when the rhythm runs. IB_JOINTS adds a
  direct excitation of extensor pools (IB_GAIN action units per 100 N); every gain tried that way
  cost standing episodes (docs/notes/humanoid.md, session 10), so it is off.

Every pool's tonic input from the channels, the IaINs and the Renshaw cells at the standing pose
is simulated and cancelled by a second drive term, so that each motor pool and IaIN sits at its
operating point (as in the stander; with PAIRED an actuator's mirrored pools share one value).
Populations are ordered by class (ORDER) so that equal neurons are contiguous: the kernel updates
each run of equal neurons in one vectorised loop. Options (KEY=VALUE, defaults in OPTIONS) were
chosen on selection seeds 209500-209999 (session 9) and 213000-213069 (session 10; notes in
docs/notes/humanoid.md).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_humanoid_stander as stander

ROOT = Path(__file__).resolve().parents[2]
SPINAL = ROOT / "circuits" / "spinal_cpg.json"
OPTIONS = {
    "SHARE": 0.3,  # share of the push-pull command carried by reciprocal inhibition
    "IAIN": 8,  # neurons per IaIN pool
    "IAIN_FANIN": 1,  # neurons of each channel pool that reach each IaIN neuron (1: channel neuron i onto IaIN i)
    "IAIN_DRIVE": 20.0,  # IaIN operating point (mV)
    "MUTUAL": 0.2,  # loop gain of the IaIN_pos <-> IaIN_neg mutual inhibition
    "RC": 4,  # neurons per Renshaw pool
    "RC_REST": 30.0,  # a Renshaw cell's input from its pool at rest (mV)
    "RCGAIN": 0.1,  # recurrent loop gain: the pool's f-I slope falls by 1 + RCGAIN
    "RC_IAIN": 0.05,  # share of an IaIN's command input that its Renshaw cell removes
    "RC_WIRING": "partition",  # "all": MN<->RC<->IaIN all-to-all; "partition": neuron i onto neuron i mod n (fewer synapses)
    "ORDER": "class",  # "class": populations of one class contiguous (equal neurons form one run in the kernel); "actuator"
    "PAIRED": 1,  # 1: an actuator's two pools share one compensation where their inputs mirror each other (see compensate)
    "IB": 1,  # 0: no foot-load (Ib) afferents
    "IB_SIZE": 10,  # neurons per foot's Ib pool
    "IB_REST": 15.0,  # an Ib afferent's input at the standing load (mV)
    "IB_GAIN": 0.005,  # knee and hip_y extensor action (units) per 100 N of load on the same foot
    "IB_JOINTS": "",  # extensor pools (MN_pos) the Ib afferents excite directly, ","-separated joint types ("": none)
    "IB_TAU": 5.0,  # the Ib neuron's membrane time constant (ms): a slower one smooths the contact force's chatter
    "IB_RG": 5.0,  # Ib -> extensor half-centre excitation at the standing load (mV; 0: no projection)
    "RG": 1,  # 0: no rhythm generator
    "DRIVE": 0.0,  # standing default of the MLR drive
    "W_RG_MN": 6.0,  # half-centre -> hip_y pool excitation, total (mV)
    "CORRECT": "",  # per-actuator gain corrections, "a:f,b:f" (from `fidelity`)
    "DT": 0.75,  # the circuit step the binding declares (dt_ms): what runs and reports use by default
    "T_REF": 1.5,  # the fast LIFs' refractory period written into the file, after the compensation (see at_step)
}
TAU_INH = 5.0
JOINT_TYPES = (
    "abdomen_y",
    "abdomen_z",
    "abdomen_x",
    "hip_x",
    "hip_z",
    "hip_y",
    "knee",
    "shoulder1",
    "shoulder2",
    "elbow",
)
INTERNEURON = {"tau_m": 5.0, "v_threshold": 10.0, "t_ref": 2.0}
RG_CLASSES = ("Shox2", "InRG", "V1", "V2b", "V2a", "V0d", "V0v", "Ini", "V3")
SPINAL_VERSION = "0.4.2"
SPINAL_WALK_DRIVE = 28.0  # spinal_cpg 0.4.2's default drive (the value its extensor drive was set beside)

REFERENCES = {
    "hultborn1976": {
        "citation": "Hultborn H, Illert M, Santini M (1976) Convergence on interneurones mediating the reciprocal Ia inhibition of motoneurones. I. Disynaptic Ia inhibition of Ia inhibitory interneurones. Acta Physiol Scand 96:193-201",
        "doi": "10.1111/j.1748-1716.1976.tb10188.x",
    },
    "hultborn1979": {
        "citation": "Hultborn H, Lindstrom S, Wigstrom H (1979) On the function of recurrent inhibition in the spinal cord. Exp Brain Res 37:399-403",
        "doi": "10.1007/BF00237722",
    },
    "renshaw1946": {
        "citation": "Renshaw B (1946) Central effects of centripetal impulses in axons of spinal ventral roots. J Neurophysiol 9:191-204",
        "doi": "10.1152/jn.1946.9.3.191",
    },
    "alvarez2007": {
        "citation": "Alvarez FJ, Fyffe REW (2007) The continuing case for the Renshaw cell. J Physiol 584:31-45",
        "doi": "10.1113/jphysiol.2007.136200",
    },
    "eccles1956": {
        "citation": "Eccles JC, Fatt P, Landgren S (1956) Central pathway for direct inhibitory action of impulses in largest afferent nerve fibres to muscle. J Neurophysiol 19:75-98",
        "doi": "10.1152/jn.1956.19.1.75",
    },
    "duysens1980": {
        "citation": "Duysens J, Pearson KG (1980) Inhibition of flexor burst generation by loading ankle extensor muscles in walking cats. Brain Res 187:321-332",
        "doi": "10.1016/0006-8993(80)90206-1",
    },
    "pearson2004": {
        "citation": "Pearson KG (2004) Generating the walking gait: role of sensory feedback. Prog Brain Res 143:123-129",
        "doi": "10.1016/S0079-6123(03)43012-4",
    },
    "dietz2000": {
        "citation": "Dietz V, Duysens J (2000) Significance of load receptor input during locomotion: a review. Gait Posture 11:102-110",
        "doi": "10.1016/S0966-6362(99)00052-1",
    },
    "shik1966": {
        "citation": "Shik ML, Severin FV, Orlovsky GN (1966) Control of walking and running by means of electrical stimulation of the mid-brain. Biofizika 11:659-666",
    },
}


def options_from(args: list[str]) -> dict:
    """OPTIONS updated by KEY=VALUE arguments (numbers where the default is a number)."""
    out = dict(OPTIONS)
    for arg in args:
        key, value = arg.split("=", 1)
        if key not in out:
            raise SystemExit(f"unknown option {key!r}; known: {', '.join(OPTIONS)}")
        out[key] = value if isinstance(OPTIONS[key], str) else type(OPTIONS[key])(float(value))
    return out


def slope(model: dict, current: float) -> float:
    """The noiseless LIF f-I slope (Hz per mV) at ``current``."""
    return stander.lif_rate(current + 0.5, model) - stander.lif_rate(current - 0.5, model)


def _hand_set(reason: str) -> dict:
    return {"kind": "hand-set", "reason": reason}


def _param(value: float, unit: str, description: str, reason: str) -> dict:
    return {"value": round(float(value), 6), "unit": unit, "description": description, "source": _hand_set(reason)}


def _partition(n_source: int, n_target: int) -> dict:
    """An edge list pairing neuron i of the larger population with neuron i mod n of the smaller one."""
    n = max(n_source, n_target)
    return {
        "kind": "edge_list",
        "source_index": [i % n_source for i in range(n)],
        "target_index": [i % n_target for i in range(n)],
    }


def _renamed(tree, names: dict[str, str]):
    """``tree`` with every {"param": old} reference renamed."""
    if isinstance(tree, dict):
        out = {k: _renamed(v, names) for k, v in tree.items()}
        if "param" in out and out["param"] in names:
            out["param"] = names[out["param"]]
        return out
    if isinstance(tree, list):
        return [_renamed(v, names) for v in tree]
    return tree


def _values_of(key: str, tree) -> set[str]:
    """Every value stored under ``key`` anywhere in a JSON-like tree (the parameters or references it names)."""
    if isinstance(tree, dict):
        found = {tree[key]} if key in tree else set()
        return found.union(*(_values_of(key, v) for v in tree.values()))
    if isinstance(tree, list):
        return set().union(*(_values_of(key, v) for v in tree))
    return set()


def rhythm_generator(options: dict) -> dict:
    """spinal_cpg's rhythm-generator and commissural block (populations, projections, neuron models,
    parameters, cell classes, references) without its motor pools; its ``noise`` renamed ``noise_cpg``."""
    spinal = json.loads(SPINAL.read_text())
    keep = [n for n, p in spinal["populations"].items() if p["cell_class"] in RG_CLASSES]
    rename = {"noise": "noise_cpg"}
    populations = {n: _renamed(copy.deepcopy(spinal["populations"][n]), rename) for n in keep}
    extensor = spinal["parameters"]["drive_ext"]["value"] / SPINAL_WALK_DRIVE
    populations["RG_E"]["drive"] = {"param": "drive", "factor": round(extensor, 6)}
    projections = {
        k: _renamed(copy.deepcopy(p), rename)
        for k, p in spinal["projections"].items()
        if p["source"] in keep and p["target"] in keep
    }
    models = {k: _renamed(copy.deepcopy(m), rename) for k, m in spinal["neuron_models"].items() if k != "motor_neuron"}
    parameters = {}
    for name in sorted(_values_of("param", [populations, projections, models])):
        original = {v: k for k, v in rename.items()}.get(name, name)
        parameters[name] = copy.deepcopy(spinal["parameters"][original])
    parameters["drive"] = {
        **parameters["drive"],
        "value": options["DRIVE"],
        "bounds": [0.0, 44.0],
        "description": (
            "MLR-like descending drive onto both rhythm-generator half-centres (the extensor's scaled by "
            f"{extensor:.4f}, so that at spinal_cpg's default walking drive {SPINAL_WALK_DRIVE:g} mV both receive "
            "spinal_cpg's values), V3 (x0.25) and, inhibitory, V0d (x1.5). 0 while standing: every rhythm-generator "
            "neuron is below threshold (quiet stance); raised (spinal_cpg walks at 11-44 mV) the half-centres burst and "
            "left and right alternate"
        ),
        "source": _hand_set(
            "0 at stance (the rhythm generator silent); the walking range is spinal_cpg's (history 0.3.1 there)"
        ),
        "references": [
            {"ref": "shik1966", "note": "mesencephalic locomotor region stimulation starts walking and sets its speed"},
            *parameters["drive"].get("references", []),
        ],
    }
    parameters.pop("free", None)
    for p in parameters.values():
        p.pop("free", None)
    classes = {k: copy.deepcopy(spinal["cell_classes"][k]) for k in RG_CLASSES}
    refs_used = _values_of("ref", [populations, projections, models, parameters, classes])
    references = {k: v for k, v in spinal["references"].items() if k in refs_used}
    return {
        "populations": populations,
        "projections": projections,
        "neuron_models": models,
        "parameters": parameters,
        "cell_classes": classes,
        "references": references,
        "version": spinal["version"],
    }


@functools.cache
def standing_sensors():
    """Humanoid-v5 and its sensor vector at the LQR stander's standing pose (the operating point every
    weight here is computed at; the LQR is designed once per process, not per build round)."""
    from encephagen.body.adapters import make_body
    from encephagen.body.lqr import lqr_stander

    body = make_body("humanoid")
    _, s0 = lqr_stander(body).on_sensors(body)
    return body, s0


@functools.cache
def _stander() -> tuple[dict, dict]:
    """humanoid_stander 0.3.0's circuit and binding before its resting-input compensation."""
    return stander.build()


def build(options: dict, compensation: dict[str, float] | None = None) -> tuple[dict, dict]:
    """(circuit, binding) as JSON trees; ``compensation``: each motor pool's and IaIN's second drive
    term (mV) that cancels its tonic synaptic input at the standing pose (see :func:`compensate`)."""
    circuit, binding = copy.deepcopy(_stander())
    compensation = compensation or {}
    share, mutual, rc_gain, rc_iain = options["SHARE"], options["MUTUAL"], options["RCGAIN"], options["RC_IAIN"]
    n_iain, n_rc = int(options["IAIN"]), int(options["RC"])
    corrections = {a: float(f) for a, f in (item.split(":") for item in options["CORRECT"].split(",") if item.strip())}
    tau = stander.SYNAPSE_TAU / 1000.0

    def rc_rule(n_source: int, n_target: int) -> dict:
        return _partition(n_source, n_target) if options["RC_WIRING"] == "partition" else {"kind": "all_to_all"}

    f_mn = slope(stander.MOTOR_NEURON, stander.DRIVE)
    f_ia = slope(INTERNEURON, options["IAIN_DRIVE"])
    f_rc = slope(INTERNEURON, options["RC_REST"])
    r_mn = stander.lif_rate(stander.DRIVE)
    w_mr = options["RC_REST"] / (tau * r_mn)  # MN pool -> RC, total: RC_REST mV at the pool's resting rate
    w_rm = rc_gain / (f_mn * tau * f_rc * w_mr * tau)  # RC -> MN: loop gain RCGAIN
    w_ri = rc_iain / (tau * f_rc * w_mr * tau * f_mn)  # RC -> IaIN: removes RC_IAIN of its command input
    w_ii = mutual / (tau * f_ia)  # IaIN -> opposite IaIN: loop gain MUTUAL
    per_action = stander.INPUT_PER_ACTION
    ia_rate_per_action = f_ia * per_action * (1.0 - rc_iain) / (1.0 - mutual)  # Hz per action unit of command
    w_im = share * per_action * (1.0 + rc_gain) / (tau * ia_rate_per_action)  # IaIN -> antagonist MN
    populations, projections = circuit["populations"], circuit["projections"]
    actuators = [p[: -len("_MN_pos")] for p in populations if p.endswith("_MN_pos")]
    opposite = {"pos": "neg", "neg": "pos"}
    sign_word = {"pos": "positive", "neg": "negative"}
    for projection in list(projections.values()):
        actuator, d = projection["target"].rsplit("_MN_", 1)
        factor = (1.0 - share) * (1.0 + rc_gain) * corrections.get(actuator, 1.0)
        projection["weight"] = round(projection["weight"] * factor, 6)
        projection["description"] = (
            f"Channel excitation of the pool that the channel's command pushes ({1 - share:.0%} of the command; "
            "the rest arrives as withdrawn reciprocal inhibition)"
        )
        # the pool's Ia inhibitory interneuron receives the same channel input (at its own gain, 20 mV per action unit)
        projections[f"{projection['source']}->{actuator}_IaIN_{d}"] = {
            "source": projection["source"],
            "target": f"{actuator}_IaIN_{d}",
            "rule": _partition(min(stander.CHANNEL_SIZE, n_iain * int(options["IAIN_FANIN"])), n_iain),
            "weight": round(projection["weight"] / factor, 6),
            "weight_mode": "total",
            "delay": stander.SYNAPSE_DELAY,
            "description": "The channel input of the homonymous motor pool, onto its Ia inhibitory interneuron",
            "references": [{"ref": "jankowska1992"}, {"ref": "hultborn1976"}],
        }
    for actuator in actuators:
        correction = corrections.get(actuator, 1.0)
        for d in ("pos", "neg"):
            o = opposite[d]
            populations[f"{actuator}_IaIN_{d}"] = {
                "cell_class": "IaIN",
                "size": n_iain,
                "neuron_model": "interneuron_fast",
                "drive": [{"param": "drive_iain"}, round(compensation.get(f"{actuator}_IaIN_{d}", 0.0), 4)],
                "initial_v": {"uniform": [0.0, 10.0]},
                "region": "spinal cord, lamina VII",
                "description": (
                    f"{actuator}: Ia inhibitory interneurons receiving the {sign_word[d]}-torque pool's channel input; they "
                    f"inhibit the {sign_word[o]}-torque pool and its interneurons (second drive term: cancels the tonic input at the standing pose)"
                ),
            }
            populations[f"{actuator}_RC_{d}"] = {
                "cell_class": "Renshaw",
                "size": n_rc,
                "neuron_model": "interneuron_fast",
                "drive": 0.0,
                "initial_v": {"uniform": [0.0, 10.0]},
                "region": "spinal cord, ventral horn (lamina VII)",
                "description": f"{actuator}: Renshaw cells of the {sign_word[d]}-torque pool",
            }
            populations[f"{actuator}_MN_{d}"]["drive"][1] = round(compensation.get(f"{actuator}_MN_{d}", 0.0), 4)
            links = [
                (
                    f"{actuator}_IaIN_{d}",
                    f"{actuator}_MN_{o}",
                    _partition(n_iain, 20),
                    -w_im * correction,
                    "Reciprocal inhibition of the antagonist pool",
                    [{"ref": "eccles1956"}, {"ref": "hultborn1976"}, {"ref": "jankowska1992"}],
                ),
                (
                    f"{actuator}_IaIN_{d}",
                    f"{actuator}_IaIN_{o}",
                    {"kind": "all_to_all"},
                    -w_ii,
                    "Mutual inhibition of opposite Ia inhibitory interneurons",
                    [{"ref": "hultborn1976"}],
                ),
                (
                    f"{actuator}_MN_{d}",
                    f"{actuator}_RC_{d}",
                    rc_rule(20, n_rc),
                    w_mr,
                    "Motor-axon collaterals excite the pool's Renshaw cells",
                    [{"ref": "renshaw1946"}, {"ref": "alvarez2007"}],
                ),
                (
                    f"{actuator}_RC_{d}",
                    f"{actuator}_MN_{d}",
                    rc_rule(n_rc, 20),
                    -w_rm,
                    "Recurrent inhibition of the same pool",
                    [{"ref": "renshaw1946"}, {"ref": "hultborn1979"}, {"ref": "alvarez2007"}],
                ),
                (
                    f"{actuator}_RC_{d}",
                    f"{actuator}_IaIN_{d}",
                    rc_rule(n_rc, n_iain),
                    -w_ri,
                    "Renshaw cells inhibit the Ia inhibitory interneurons coupled to the same pool",
                    [{"ref": "hultborn1979"}, {"ref": "alvarez2007"}],
                ),
            ]
            for source, target, rule, weight, description, refs in links:
                projections[f"{source}->{target}"] = {
                    "source": source,
                    "target": target,
                    "rule": rule,
                    "weight": round(float(weight), 6),
                    "weight_mode": "total",
                    "delay": stander.SYNAPSE_DELAY,
                    "description": description,
                    "references": refs,
                }
    parameters = circuit["parameters"]
    parameters["drive_iain"] = _param(
        options["IAIN_DRIVE"],
        "mV",
        "Resting input of the Ia inhibitory interneurons (each pool's second drive term cancels its tonic synaptic input)",
        "the middle of the interneuron's near-linear f-I range, as drive_mn for the motor neurons",
    )
    circuit["neuron_models"]["interneuron_fast"] = {
        **INTERNEURON,
        "tau_syn_exc": stander.SYNAPSE_TAU,
        "tau_syn_inh": TAU_INH,
        "noise_sigma": stander.CHANNEL_NOISE,
        "source": _hand_set("the channel neuron's fast LIF (5 ms membrane, 2 ms refractory, 0.3 mV noise)"),
    }
    circuit["neuron_models"]["motor_neuron"]["tau_syn_inh"] = TAU_INH
    circuit["references"].update(REFERENCES)
    circuit["cell_classes"]["IaIN"] = {
        "transmitter": "glycine",
        "description": (
            "Ia inhibitory interneurons: receive the spindle (and here vestibulospinal) input of one motor pool and inhibit "
            "its antagonist pool and the antagonist's interneurons (reciprocal inhibition); inhibited by Renshaw cells. "
            f"They carry {share:.0%} of the push-pull command (the rest is the channels' crossed excitation)"
        ),
        "references": [
            {"ref": "eccles1956", "note": "disynaptic inhibition of the antagonist motor pool from Ia afferents"},
            {"ref": "hultborn1976", "note": "opposite Ia inhibitory interneurons inhibit each other"},
            {"ref": "jankowska1992", "note": "convergence of many afferent and descending inputs onto IaINs"},
        ],
    }
    circuit["cell_classes"]["Renshaw"] = {
        "transmitter": "glycine",
        "description": (
            f"Renshaw cells: excited by motor-axon collaterals, they inhibit the same pool (recurrent loop gain {rc_gain:g}: "
            "the pool's input-output slope falls by that factor, compensated on its inputs) and its Ia inhibitory interneurons"
        ),
        "markers": ["Calbindin"],
        "references": [
            {"ref": "renshaw1946"},
            {"ref": "hultborn1979", "note": "recurrent inhibition as a variable gain regulator of the motor output"},
            {"ref": "alvarez2007"},
        ],
    }
    if options["RG"]:
        rg = rhythm_generator(options)
        clash = set(rg["parameters"]) & set(parameters)
        if clash:
            raise SystemExit(f"parameter names clash with spinal_cpg's: {sorted(clash)}")
        populations.update(rg["populations"])
        projections.update(rg["projections"])
        circuit["neuron_models"].update(rg["neuron_models"])
        parameters.update(rg["parameters"])
        circuit["cell_classes"].update(rg["cell_classes"])
        circuit["references"].update(rg["references"])
        parameters["w_rg_mn"] = _param(
            options["W_RG_MN"],
            "mV",
            "Rhythm-generator half-centre -> hip_y pool excitation (flexor -> flexor pool MN_neg, extensor -> extensor pool MN_pos), and V1/V2b -> opposite pool inhibition, total per target neuron",
            "about 0.15 action units of hip torque per burst (open loop, `bench/humanoid/build_humanoid_cpg.py rhythm`)",
        )
        for s, leg in (("L", "left"), ("R", "right")):
            for half, role in (("RG_F", "flexor"), ("RG_E", "extensor")):
                # gait roles for `encephagen sweep` / `encephagen gait` (not read by the binding)
                circuit["readouts"][f"{leg}_{role}"] = {
                    "terms": [{"population": f"{s}_{half}"}],
                    "tau": 20.0,
                    "description": f"{leg} {role} half-centre rate (the rhythm generator's phase; not a motor command)",
                }
            for source, target, sign, description in (
                (f"{s}_RG_F", f"{leg}_hip_y_MN_neg", 1.0, "The flexor half-centre excites the hip flexor pool"),
                (f"{s}_RG_E", f"{leg}_hip_y_MN_pos", 1.0, "The extensor half-centre excites the hip extensor pool"),
                (
                    f"{s}_V1",
                    f"{leg}_hip_y_MN_pos",
                    -1.0,
                    "V1 (driven by the flexor half-centre) inhibits the hip extensor pool",
                ),
                (
                    f"{s}_V2b",
                    f"{leg}_hip_y_MN_neg",
                    -1.0,
                    "V2b (driven by the extensor half-centre) inhibits the hip flexor pool",
                ),
            ):
                projections[f"{source}->{target}"] = {
                    "source": source,
                    "target": target,
                    "rule": {"kind": "all_to_all"},
                    "weight": {"param": "w_rg_mn", "factor": sign} if sign < 0 else {"param": "w_rg_mn"},
                    "weight_mode": "total",
                    "delay": 1.0,
                    "description": description,
                    "references": [{"ref": "rybak2015"}, {"ref": "zhang2014"}],
                }
    if options["IB"]:
        foot_load(circuit, binding, options)
    # one motor gain per joint type, shared by left and right, free for `encephagen calibrate`
    k_motor = parameters.pop("k_motor")
    for joint in JOINT_TYPES:
        parameters[f"k_{joint}"] = {
            **k_motor,
            "description": f"{joint}: {k_motor['description'][0].lower()}{k_motor['description'][1:]} (left and right share it)",
            "bounds": [0.0, round(3 * k_motor["value"], 6)],
            "free": True,
        }
    for actuator, motor in binding["motors"].items():
        motor["terms"][0]["gain"] = {"param": f"k_{joint_type(actuator)}"}
    for name in ("drive_mn", "drive_channel", "drive_iain"):
        parameters[name]["free"] = True
        parameters[name]["bounds"] = [
            round(parameters[name]["value"] * 0.5, 6),
            round(parameters[name]["value"] * 1.5, 6),
        ]
    if "drive" in parameters:
        parameters["drive"]["free"] = True
    circuit["parameters"] = dict(sorted(parameters.items()))
    if options["ORDER"] == "class":
        circuit["populations"] = ordered_by_class(populations)
    circuit["name"] = binding["circuit"] = "humanoid_cpg"
    circuit["version"] = "0.5.0"
    n_channels = sum(1 for p in populations.values() if p["cell_class"] in ("VS", "SpIN")) // 2
    circuit["description"] = (
        "A spinal and brainstem circuit for Gymnasium Humanoid-v5 (17 actuators) that stands: humanoid_stander 0.3.0's balance "
        f"pathway (the binding combines the sensors into {n_channels} uncorrelated channels along the LQR stander's command "
        "directions; push-pull pairs of 20 vestibulospinal (VS) or spindle-channel (SpIN) neurons excite, one-to-one, an "
        "agonist/antagonist pair of 20-neuron motor pools per actuator, whose rate difference is the action) with, per "
        f"actuator, Ia inhibitory interneurons ({n_iain} per pool: they receive the pool's channel input and inhibit the "
        f"antagonist pool and interneurons, carrying {share:.0%} of the push-pull command) and Renshaw cells ({n_rc} per pool: "
        f"recurrent inhibition of the pool and its IaINs, loop gain {rc_gain:g}), every input rescaled so that the action per "
        "unit of the LQR's command is the stander's. Per side, spinal_cpg's Shox2 flexor/extensor rhythm generator with "
        "In-F/In-E, V1, V2b, V2a, V0d, V0v, Ini and V3 drives the hip_y pools; silent at the standing default of the MLR-like "
        "drive (0), rhythmic with left-right alternation when drive is raised. Arm pools are held by the same LQR-derived "
        "postural channels. Left and right share the rhythm generator's parameters and the motor gains k_TYPE; the channel "
        "weights are the LQR's per-actuator gains and are not mirrored. "
        + (
            f"Per foot, {int(options['IB_SIZE'])} foot-load (Ib) afferents driven by the foot's contact force excite the same "
            "side's extensor half-centre: below its threshold in quiet stance, they raise its activity when the rhythm runs. "
            if options["IB"]
            else ""
        )
        + "Built by bench/humanoid/build_humanoid_cpg.py."
    )
    circuit["history"] = previous_history() + [
        {
            "version": "0.5.0",
            "date": "2026-12-03T23:30:00Z",
            "author": "encephagen developers",
            "action": "edited",
            "description": (
                f"Renshaw pools of {n_rc} neurons instead of 8, to run faster: weights are pool totals, so each pool's "
                "summed input and output are unchanged (neuron i of a 20-neuron motor pool still onto Renshaw cell i mod n: "
                "each cell now gets 5 of them, where 8 gave 2 or 3). Standing on selection seeds 216100-216399: 281/300 "
                "full episodes against 0.4.0's 266/300; Ia inhibitory interneuron pools of 4 as well ran 1.07-1.13x faster "
                "but stood 264/300 with 15 falls after step 600 (against 1), so they stay at 8 "
                "(docs/notes/humanoid.md, session 11)."
            ),
        }
    ]
    return circuit, binding


CLASS_ORDER = ("VS", "SpIN", "MN", "IaIN", "Renshaw", "Ib")


def ordered_by_class(populations: dict) -> dict:
    """The populations with each class's pools contiguous, in CLASS_ORDER (file order kept within a class;
    the rhythm generator's last, so that removing it leaves every other neuron's noise stream as it was).
    The kernel updates a run of consecutive neurons with equal parameters in one vectorised loop: the
    Renshaw pools (equal parameters) then form one run instead of 34."""
    rank = {c: i for i, c in enumerate(CLASS_ORDER)}
    names = list(populations)
    key = lambda n: (rank.get(populations[n]["cell_class"], len(rank)), names.index(n))
    return {n: populations[n] for n in sorted(names, key=key)}


def foot_load(circuit: dict, binding: dict, options: dict) -> None:
    """Per foot a pool of foot-load (Ib) afferents, driven through the binding by the foot's summed normal
    contact force, exciting the same side's extensor half-centre (IB_RG) and, with IB_JOINTS, the same leg's
    extensor pools (MN_pos: positive torque extends the knee and hip). Left and right share g_ib, w_ib_rg
    and w_ib.

    The gain g_ib puts an Ib neuron at IB_REST mV under the standing load (the LQR pose's, ~180 N a foot);
    w_ib_rg gives the half-centre IB_RG mV at that load; w_ib is set so that 100 N more on a foot adds
    IB_GAIN action units of knee and hip extension (through the Ib f-I slope and the motor pools' 2 x 20 mV
    per action unit, times 1 + RCGAIN as every motor input). The tonic part at the standing load is cancelled with the rest of the pools' resting input
    (:func:`compensate`), so only load changes act."""
    body, s0 = standing_sensors()
    load = 0.5 * float(s0[body.sensor_index("left_foot_load")] + s0[body.sensor_index("right_foot_load")])
    tau = stander.SYNAPSE_TAU / 1000.0
    model = {**INTERNEURON, "tau_m": options["IB_TAU"]}
    g_ib = options["IB_REST"] / load
    f_ib = slope(model, options["IB_REST"])  # Hz per mV
    per_newton = options["IB_GAIN"] / 100.0 * 2 * stander.INPUT_PER_ACTION * (1.0 + options["RCGAIN"])  # mV per N
    w_ib = per_newton / (tau * f_ib * g_ib)
    populations, projections, parameters = circuit["populations"], circuit["projections"], circuit["parameters"]
    parameters["g_ib"] = {
        **_param(
            g_ib,
            "mV/N",
            "Binding: input current of a foot-load (Ib) afferent per N of summed normal contact force on its foot",
            f"{options['IB_REST']:g} mV (an Ib neuron at {stander.lif_rate(options['IB_REST'], model):.0f} Hz) "
            f"at the standing pose's {load:.0f} N a foot",
        ),
        "free": True,
        "bounds": [0.0, round(3 * g_ib, 6)],
    }
    joints = [j for j in options["IB_JOINTS"].split(",") if j]
    if joints:
        parameters["w_ib"] = {
            **_param(
                w_ib,
                "mV",
                "Foot-load (Ib) afferents -> the same leg's knee and hip_y extensor pools, total per target neuron",
                f"{options['IB_GAIN']:g} action units of extension per 100 N of added load (Ib f-I slope {f_ib:.1f} Hz/mV)",
            ),
            "free": True,
            "bounds": [0.0, round(4 * w_ib, 6)],
        }
    refs = [{"ref": "duysens1980"}, {"ref": "pearson2004"}, {"ref": "dietz2000"}]
    to_rhythm = bool(options["IB_RG"]) and "RG_E" in populations
    for leg in ("left", "right"):
        pool = f"{leg}_foot_Ib"
        populations[pool] = {
            "cell_class": "Ib",
            "size": int(options["IB_SIZE"]),
            "neuron_model": "load_afferent",
            "drive": 0.0,
            "initial_v": {"uniform": [0.0, 10.0]},
            "region": "dorsal root ganglion (group Ib), lumped with the excitatory interneurons of the load pathway",
            "description": f"{leg} foot-load afferents: driven by the {leg} foot's summed normal contact force",
        }
        binding["afferents"][f"{pool}_{leg}_foot_load"] = {
            "sensor": f"{leg}_foot_load",
            "population": pool,
            "gain": {"param": "g_ib"},
            "offset": 0.0,
            "high": 40.0,
        }
        targets = [
            (f"{leg}_{joint}_MN_pos", {"param": "w_ib"}, f"Load excites the {leg} {joint} extensor pool")
            for joint in joints
        ]
        if to_rhythm:  # the rhythm generator's populations are per side
            targets.append(
                (
                    f"{leg[0].upper()}_RG_E",
                    {"param": "w_ib_rg"},
                    "Load excites the extensor half-centre: silent below threshold in quiet stance, "
                    "more active with load when the rhythm runs",
                )
            )
        for target, weight, description in targets:
            projections[f"{pool}->{target}"] = {
                "source": pool,
                "target": target,
                "rule": {"kind": "all_to_all"},
                "weight": weight,
                "weight_mode": "total",
                "delay": stander.SYNAPSE_DELAY,
                "description": description,
                "references": refs,
            }
    if to_rhythm:
        w_ib_rg = options["IB_RG"] / (tau * stander.lif_rate(options["IB_REST"], model))
        parameters["w_ib_rg"] = {
            **_param(
                w_ib_rg,
                "mV",
                "Foot-load (Ib) afferents -> the same side's extensor half-centre, total per target neuron",
                f"{options['IB_RG']:g} mV at the standing load: below the silent half-centre's threshold at drive 0",
            ),
            "free": True,
            "bounds": [0.0, round(3 * w_ib_rg, 6)],
        }
    circuit["neuron_models"]["load_afferent"] = {
        **model,
        "tau_syn_exc": stander.SYNAPSE_TAU,
        "tau_syn_inh": TAU_INH,
        "noise_sigma": stander.CHANNEL_NOISE,
        "source": _hand_set(
            f"the channel neuron's LIF with a {options['IB_TAU']:g} ms membrane: the foot's contact force chatters from one "
            "body step to the next, the tendon-organ force signal it stands for is smoothed by the muscle"
        ),
    }
    circuit["cell_classes"]["Ib"] = {
        "transmitter": "glutamate",
        "description": (
            "Foot-load (group Ib) afferents, with the excitatory interneurons of their pathway lumped in: during stance "
            "load feedback excites the extensors of the loaded leg (the reflex reversal from the Ib inhibition seen at rest) "
            "and prolongs stance. Humanoid-v5 has no ankles and no touch sensor: the binding reads each foot's summed normal "
            "contact force, and the pool excites the same side's extensor half-centre, so the locomotor state gates it"
        ),
        "references": [
            {"ref": "duysens1980", "note": "loading the extensors inhibits flexor burst generation in walking cats"},
            {"ref": "pearson2004", "note": "load feedback from extensors excites extensor motoneurons during stance"},
            {"ref": "dietz2000", "note": "load receptor input in human stance and locomotion"},
        ],
    }


def previous_history() -> list[dict]:
    """The history of the humanoid_cpg file this script replaces (entries before the 0.5.0 and 0.6.0 it writes)."""
    path = ROOT / "circuits" / "humanoid_cpg.json"
    return [h for h in json.loads(path.read_text())["history"] if h["version"] not in ("0.5.0", "0.6.0")]


def joint_type(actuator: str) -> str:
    """'left_hip_y' -> 'hip_y'; 'abdomen_y' -> 'abdomen_y'."""
    return next(t for t in JOINT_TYPES if actuator == t or actuator.endswith("_" + t))


def closed_loop(circuit: dict, binding: dict, folder: Path, dt: float = 0.25):
    from encephagen.body.binding import load_binding
    from encephagen.body.loop import ClosedLoop
    from encephagen.compiler import compile_circuit
    from encephagen.storage import load_circuit

    (folder / "humanoid_cpg.json").write_text(json.dumps(circuit))
    (folder / "humanoid_cpg.humanoid.binding.json").write_text(json.dumps(binding))
    return ClosedLoop(
        compile_circuit(load_circuit(folder / "humanoid_cpg.json"), dt=dt),
        load_binding(folder / "humanoid_cpg.humanoid.binding.json"),
        base_dir=folder,
    )


def resting_input(loop, pools: list[str], body_steps: int = 100) -> dict[str, float]:
    """Mean synaptic input (excitatory plus inhibitory, mV) of each of ``pools`` with every sensor at
    the LQR's standing pose, over ``body_steps`` after the warm-up (noise seed 1)."""
    from encephagen.simulation import Simulator

    _, s0 = standing_sensors()
    traces = [f"{kind}:{p}" for p in pools for kind in ("I_exc", "I_inh")]
    simulator = Simulator(loop.network, seeds=[1], record_spikes=False, traces=traces, bin_ms=loop.body_dt_ms)
    gain, offset, _, _ = loop._lane_arrays(loop.network.parameter_values())
    simulator.advance(
        loop.warmup_steps + body_steps * loop.steps_per_body_step,
        **loop._inputs(s0[None, :], gain[None, :], offset[None, :]),
    )
    result = simulator.result()
    values = result.traces[0, loop.warmup_steps :]
    out = dict.fromkeys(pools, 0.0)
    for i, label in enumerate(result.trace_labels):
        pool = label.split(":")[1].split("[")[0]
        out[pool] += float(values[:, i].mean()) / loop.network.circuit.populations[pool].size
    return out


def compensate(options: dict, rounds: int = 3) -> tuple[dict, dict]:
    """Build, then set each motor pool's and IaIN's second drive term so that its total input at the
    standing pose is its operating point (drive_mn / drive_iain), iterating because the Renshaw and
    IaIN loops make each pool's input depend on the others' rates.

    With PAIRED, an actuator's _pos and _neg pools whose inputs mirror each other (every pool but the
    ones the Ib afferents or the rhythm generator -- whose populations are per side, "L_RG_F" -- reach: the
    channels' push-pull pairs rest at one rate)
    get the mean of their two measurements: their expected tonic inputs are equal, and equal neurons side
    by side form one run of the kernel's vectorised update (17 runs instead of 34 per class)."""
    compensation: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(rounds):
            circuit, binding = build(options, compensation)
            loop = closed_loop(circuit, binding, Path(folder))
            pools = [p for p in circuit["populations"] if "_MN_" in p or "_IaIN_" in p]
            measured = resting_input(loop, pools)
            print(
                f"resting input: largest {max(abs(v) for v in measured.values()):.2f} mV before this round", flush=True
            )
            compensation = {p: -measured[p] for p in pools}
            if options["PAIRED"]:
                lopsided = {
                    pr["target"]
                    for pr in circuit["projections"].values()
                    if circuit["populations"].get(pr["source"], {"cell_class": "RG"})["cell_class"] in ("RG", "Ib")
                }
                for pool in pools:
                    twin = pool[: -len("pos")] + "neg"
                    if pool.endswith("_pos") and pool not in lopsided and twin not in lopsided:
                        compensation[pool] = compensation[twin] = -0.5 * (measured[pool] + measured[twin])
    return at_step(*build(options, compensation), options)


HISTORY_060 = (
    "Made for a 0.75-ms circuit step, to run the closed loop faster (issue 14): the binding declares dt_ms 0.75, so runs, "
    "calibrations and reports compile at it (20 steps per 15-ms body step); the fast LIFs' refractory period is 1.5 ms "
    "instead of 2 (motor neurons, channel neurons, IaINs and Renshaw cells, Ib afferents), held 2 steps after the spike "
    "step: the 2.25-ms dead time 2 ms gave at dt 0.25, where 0.5.0 was reported; every delay is one step (0.75 ms; "
    "0.5 and 1.0 ms before). A neuron is held round(t_ref/dt) steps, so at coarser steps 2 ms lengthened the dead time "
    "and the 180-230 Hz interneurons and the motor pools fired slower: 0.5.0 stood 207/240 at dt 0.5 against 223/240 at "
    "0.25 (selection seeds 219000-219239). With 1.5 ms it stands 231/240 there at dt 0.5 and at dt 0.75 alike, and at "
    "dt 0.75 234/240 on selection seeds 220000-220239 (0.5.0 at dt 0.25 on the same seeds: 228/240; dt 0.5: "
    "232/240); the closed loop runs 0.35 of env.step's rate at dt 0.75 against 0.32 at dt 0.5 and 0.23 at 0.25. "
    "Weights and compensating drives are 0.5.0's (docs/notes/humanoid.md, session 13)."
)


def at_step(circuit: dict, binding: dict, options: dict) -> tuple[dict, dict]:
    """The built files made for circuit step DT: the binding declares it (``dt_ms``), every delay is
    written as the whole number of steps it acts with, and the fast LIFs' 2-ms refractory periods
    become T_REF ms.

    Why: a neuron is held ``round(t_ref / dt)`` steps after its spike step, a dead time of
    ``(round(t_ref / dt) + 1) * dt``: 2 ms gives 2.25 ms at dt 0.25 (where 0.5.0 was chosen and
    reported) but 2.5 ms at 0.5 and 3 ms at 0.75, and the 180-230 Hz Renshaw cells and IaINs and the
    motor pools fire slower; 0.5.0 stood 207/240 at dt 0.5 against 223/240 at dt 0.25
    (docs/notes/humanoid.md, session 12). 1.5 ms at dt 0.75 is 2 steps, the 2.25 ms of dt 0.25. The
    compensation rounds run at dt 0.25 with 2 ms and 0.5.0's delays (as 0.5.0's), so the operating
    points are 0.5.0's."""
    from encephagen.compiler import whole_steps

    dt = options["DT"]
    binding["dt_ms"] = dt
    circuit["version"] = "0.6.0"
    circuit["history"].append(
        {
            "version": "0.6.0",
            "date": "2026-12-04T06:00:00Z",
            "author": "encephagen developers",
            "action": "edited",
            "description": HISTORY_060,
        }
    )
    for projection in circuit["projections"].values():
        projection["delay"] = float(whole_steps(projection["delay"], dt)) * dt
    steps = round(options["T_REF"] / dt)
    for model in circuit["neuron_models"].values():
        if model.get("t_ref") == 2.0:
            model["t_ref"] = options["T_REF"]
            model["source"]["reason"] += (
                f"; written as {options['T_REF']:g} ms for the {dt:g}-ms step the circuit runs at (0.6.0): held {steps} "
                f"steps, a dead time of {(steps + 1) * dt:g} ms, as 2 ms gave at dt 0.25 (bench/humanoid/build_humanoid_cpg.py at_step)"
            )
    return circuit, binding


def fidelity(loop, seed: int = 209500) -> dict[str, float]:
    """Per actuator, the slope of the circuit's action against the LQR's on the sensor rows of one LQR
    episode (selection seed ``seed``, action noise 0.05), open loop; prints slope and residual sd."""
    from encephagen.body.adapters import make_body
    from encephagen.body.imitate import readouts_on_observations, record_controller
    from encephagen.body.lqr import lqr_stander

    body = make_body("humanoid")
    lqr = lqr_stander(body)
    gain, s0 = lqr.on_sensors(body)
    observations, _ = record_controller(body, lqr.sensor_controller, [seed], steps=300, noise=0.05)[0]
    readouts = readouts_on_observations(loop, [observations], [1])[0]
    target = lqr.ctrl0 - (observations - s0) @ gain.T
    _, _, offset, motor_gain = loop._lane_arrays(loop.network.parameter_values())
    actions = offset + readouts @ motor_gain.T
    slopes = {}
    print(f"{'actuator':16s} {'LQR sd':>7s} {'slope':>6s} {'resid sd':>9s} {'mean err':>9s}")
    for i, actuator in enumerate(body.actuator_names):
        x, y = target[20:, i] - target[20:, i].mean(), actions[20:, i] - actions[20:, i].mean()
        slopes[actuator] = float((x @ y) / (x @ x))
        bias = float((actions[20:, i] - target[20:, i]).mean())
        print(
            f"{actuator:16s} {x.std():7.3f} {slopes[actuator]:6.2f} {np.std(y - slopes[actuator] * x):9.4f} {bias:9.4f}"
        )
    return slopes


def rhythm(loop, drives: list[float], seconds: float = 4.0, seed: int = 209600) -> None:
    """Open loop, sensors held at the standing pose: per MLR drive, the flexor half-centres' rates, the
    rhythm's frequency (the L_RG_F rate's spectral peak), the left-right phase (cross-correlation lag
    of L_RG_F and R_RG_F over the period; 0.5 = alternation) and the hip_y actions' sd (action units)."""
    from encephagen.simulation import Simulator

    _, s0 = standing_sensors()
    names = loop.network.population_names
    k_motor = loop.network.parameter_values()["k_hip_y"]
    print(
        f"{'drive':>6s} {'L_RG_F Hz':>9s} {'R_RG_F Hz':>9s} {'L_RG_E Hz':>9s} {'cycle Hz':>8s} {'L-R phase':>9s} {'hip_y sd L/R':>13s}"
    )
    for drive in drives:
        values = {**loop.network.parameter_values(), "drive": drive}
        simulator = Simulator(loop.network, seeds=[seed], parameters=[values], record_spikes=False, bin_ms=5.0)
        gain, offset, _, _ = loop._lane_arrays(values)
        steps = int(seconds * 1000 / loop.network.dt)
        simulator.advance(steps, **loop._inputs(s0[None, :], gain[None, :], offset[None, :]))
        result = simulator.result()
        start = int(1000 / 5.0)  # the first second dropped (transient)
        rates = result.rate_traces_hz()[0, start:]
        left, right = rates[:, names.index("L_RG_F")], rates[:, names.index("R_RG_F")]
        extensor = rates[:, names.index("L_RG_E")]
        spectrum = np.abs(np.fft.rfft(left - left.mean()))
        frequencies = np.fft.rfftfreq(len(left), 5.0 / 1000.0)
        peak = int(np.argmax(spectrum[1:]) + 1) if left.std() > 0 else 0
        cycle = float(frequencies[peak]) if peak else 0.0
        phase = float("nan")
        if cycle > 0 and right.std() > 0:
            period = int(round(1000.0 / cycle / 5.0))
            lags = np.arange(period)
            xcorr = [
                np.corrcoef(left[: len(left) - period], right[lag : lag + len(left) - period])[0, 1] for lag in lags
            ]
            phase = float(lags[int(np.argmax(xcorr))] / period)
        hips = [k_motor * result.readout(f"{leg}_hip_y_mn")[0, start:] for leg in ("left", "right")]
        print(
            f"{drive:6.1f} {left.mean():9.1f} {right.mean():9.1f} {extensor.mean():9.1f} {cycle:8.2f} {phase:9.2f} "
            f"{hips[0].std():6.3f}/{hips[1].std():.3f}",
            flush=True,
        )


def main(argv: list[str]) -> None:
    from encephagen.json_codec import dumps_canonical

    mode = argv[0] if argv and "=" not in argv[0] else "write"
    rest = argv[1:] if mode != "write" else argv
    if mode == "run":
        seeds = [int(s) for s in rest[0].split(",")]
        options = options_from(rest[1:])
    elif mode == "rhythm":
        drives = [float(s) for s in rest[0].split(",")]
        options = options_from(rest[1:])
    else:
        options = options_from(rest)
    keys = rest[1:] if mode in ("run", "rhythm") else rest
    if mode != "write" and not keys:  # the shipped files, as they are
        circuit = json.loads((ROOT / "circuits" / "humanoid_cpg.json").read_text())
        binding = json.loads((ROOT / "circuits" / "humanoid_cpg.humanoid.binding.json").read_text())
    else:
        circuit, binding = compensate(options)
    n = sum(p["size"] * len(p.get("sides", [None])) for p in circuit["populations"].values())
    print(
        f"humanoid_cpg {circuit['version']} {options if keys or mode == 'write' else '(shipped)'}: {n} neurons, "
        f"{len(circuit['projections'])} projections",
        flush=True,
    )
    if mode == "write":
        (ROOT / "circuits" / "humanoid_cpg.json").write_text(dumps_canonical(circuit))
        (ROOT / "circuits" / "humanoid_cpg.humanoid.binding.json").write_text(dumps_canonical(binding))
        return
    with tempfile.TemporaryDirectory() as folder:
        loop = closed_loop(circuit, binding, Path(folder))
        if mode == "fidelity":
            fidelity(loop)
        elif mode == "rhythm":
            rhythm(loop, drives)
        else:
            start, wall = time.process_time(), time.time()
            steps = [e.metrics["steps"] for e in loop.run(seeds)]
            cpu = time.process_time() - start
            print(
                f"steps {steps}  full {sum(s == 1000 for s in steps)}/{len(steps)}  "
                f"{sum(steps) / cpu:.0f} body steps per CPU s, {sum(steps) / (time.time() - wall):.0f} wall "
                f"(load {os.getloadavg()[0]:.1f})",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1:])
