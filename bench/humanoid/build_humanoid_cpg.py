"""Write circuits/humanoid_cpg.json and circuits/humanoid_cpg.humanoid.binding.json (run once; the files are the source of truth).

    .venv/bin/python bench/humanoid/build_humanoid_cpg.py

The rhythm generator and commissural populations (Shox2 half-centres, In-F/In-E, V1, V2b,
V2a, V0d, V0v, Ini, V3) and their parameters are copied from walker2d_cpg.json (spinal_cpg's
classes); everything else is built here for Humanoid-v5's 17 actuators.
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WALKER = json.loads((ROOT / "circuits" / "walker2d_cpg.json").read_text())

JOINT_TYPES = [
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
]
ACTUATORS = [
    "abdomen_y",
    "abdomen_z",
    "abdomen_x",
    "right_hip_x",
    "right_hip_z",
    "right_hip_y",
    "right_knee",
    "left_hip_x",
    "left_hip_z",
    "left_hip_y",
    "left_knee",
    "right_shoulder1",
    "right_shoulder2",
    "right_elbow",
    "left_shoulder1",
    "left_shoulder2",
    "left_elbow",
]
# left shoulders hold the opposite sign of torque in their own coordinates (the MJCF mirrors their axes differently)
MIRROR = {"left_shoulder1": -1.0, "left_shoulder2": -1.0}
ARMS = {"shoulder1", "shoulder2", "elbow"}


def jtype(a: str) -> str:
    return next(t for t in JOINT_TYPES if a == t or a.endswith("_" + t))


def side(a: str) -> str:
    return "right" if a.startswith("right") else "left" if a.startswith("left") else "midline"


def ref(citation, doi=None, note=None):
    r = {"citation": citation}
    if doi:
        r["doi"] = doi
    if note:
        r["note"] = note
    return r


ECCLES = ref(
    "Eccles JC, Fatt P, Landgren S (1956) Central pathway for direct inhibitory action of impulses in largest afferent nerve fibres to muscle. J Neurophysiol 19:75-98",
    "10.1152/jn.1956.19.1.75",
)
HULTBORN_IA = ref(
    "Hultborn H, Jankowska E, Lindstrom S (1971) Recurrent inhibition of interneurones monosynaptically activated from group Ia afferents. J Physiol 215:613-636",
    "10.1113/jphysiol.1971.sp009488",
)
RENSHAW = ref(
    "Renshaw B (1946) Central effects of centripetal impulses in axons of spinal ventral roots. J Neurophysiol 9:191-204",
    "10.1152/jn.1946.9.3.191",
)
ALVAREZ = ref(
    "Alvarez FJ, Fyffe REW (2007) The continuing case for the Renshaw cell. J Physiol 584:31-45",
    "10.1113/jphysiol.2007.136200",
)
JANKOWSKA_IA = ref(
    "Jankowska E (1992) Interneuronal relay in spinal pathways from proprioceptors. Prog Neurobiol 38:335-378",
    "10.1016/0301-0082(92)90024-9",
)
PROCHAZKA = ref(
    "Prochazka A, Gorassini M (1998) Models of ensemble firing of muscle spindle afferents recorded during normal locomotion in cats. J Physiol 507:277-291",
    "10.1111/j.1469-7793.1998.277bu.x",
)
WILSON_VST = ref(
    "Wilson VJ, Yoshida M (1969) Comparison of effects of stimulation of Deiters' nucleus and medial longitudinal fasciculus on neck, forelimb, and hindlimb motoneurons. J Neurophysiol 32:743-758",
    "10.1152/jn.1969.32.5.743",
)
DEGANG = ref(
    "Deliagina TG, Beloozerova IN, Zelenin PV, Orlovsky GN (2008) Spinal and supraspinal postural networks. Brain Res Rev 57:212-221",
    "10.1016/j.brainresrev.2007.06.017",
)
MURRAY_VST = ref(
    "Murray AJ, Croce K, Belton T, Akay T, Jessell TM (2018) Balance control mediated by vestibular circuits directing limb extension or antagonist muscle co-activation. Cell Rep 22:1325-1338",
    "10.1016/j.celrep.2018.01.009",
)
DUYSENS_IB = ref(
    "Duysens J, Pearson KG (1980) Inhibition of flexor burst generation by loading ankle extensor muscles in walking cats. Brain Res 187:321-332",
    "10.1016/0006-8993(80)90206-1",
)
PEARSON_IB = ref(
    "Pearson KG (2008) Role of sensory feedback in the control of stance duration in walking cats. Brain Res Rev 57:222-227",
    "10.1016/j.brainresrev.2007.06.014",
)
BINDING_NOTE = ref("encephagen humanoid_cpg: gains set by the stand calibration, see docs/notes/humanoid.md")


def param(value, unit, description, bounds=None, free=False):
    p = {"value": value, "unit": unit, "description": description}
    if bounds is not None:
        p["bounds"] = bounds
    if free:
        p["free"] = True
    return p


def build():
    wp = WALKER["parameters"]
    keep_rg = ["RG_F", "RG_E", "InF", "InE", "V1", "V2b", "V2a", "V0d", "V0v", "Ini", "V3"]
    populations, projections = {}, {}
    for s in "LR":
        for name in keep_rg:
            populations[f"{s}_{name}"] = WALKER["populations"][f"{s}_{name}"]
    rg_params = set()
    projections = {
        key: proj
        for key, proj in WALKER["projections"].items()
        if proj["source"] in populations and proj["target"] in populations
    }

    def params_in(tree):
        if isinstance(tree, dict):
            if set(tree) <= {"param", "factor"} and "param" in tree:
                rg_params.add(tree["param"])
            for v in tree.values():
                params_in(v)
        elif isinstance(tree, list):
            for v in tree:
                params_in(v)

    params_in(populations)
    params_in(projections)
    params_in(WALKER["neuron_models"])
    parameters = {k: {**wp[k], "free": False} for k in sorted(rg_params)}
    for k in parameters:
        parameters[k].pop("free")
    parameters["drive"] = {
        **wp["drive"],
        "value": 18.0,
        "bounds": [0.0, 26.0],
        "description": "Descending (brainstem) drive to the flexor half-centres; low while standing (the rhythm is off), raised to walk",
    }

    cell_classes = {
        k: WALKER["cell_classes"][k] for k in ["Shox2", "InRG", "V1", "V2b", "V2a", "V0d", "V0v", "Ini", "V3"]
    }
    cell_classes["MN"] = {
        **WALKER["cell_classes"]["MN"],
        "description": "Alpha motor neurons: for each actuated joint, one pool per direction of torque (agonist and antagonist)",
    }
    cell_classes["Ia_afferent"] = {
        "transmitter": "glutamate",
        "description": "Muscle-spindle group Ia afferents: rate rises with the stretch (joint angle away from the set point) and stretch velocity of the muscle; monosynaptic excitation of homonymous motor neurons",
        "references": [PROCHAZKA, ECCLES],
    }
    cell_classes["IaIN"] = {
        "transmitter": "glycine",
        "description": "Ia inhibitory interneurons: excited by Ia afferents, inhibit the antagonist motor pool (reciprocal inhibition) and the opposite IaIN; inhibited by Renshaw cells",
        "references": [ECCLES, HULTBORN_IA, JANKOWSKA_IA],
    }
    cell_classes["Renshaw"] = {
        "transmitter": "GABA+glycine",
        "description": "Renshaw cells: excited by motor-neuron collaterals, inhibit the same motor pool (recurrent inhibition) and its Ia inhibitory interneuron",
        "markers": ["Calbindin"],
        "references": [RENSHAW, HULTBORN_IA, ALVAREZ],
    }
    cell_classes["vestibulospinal"] = {
        "transmitter": "glutamate",
        "description": "Lateral vestibular (Deiters') nucleus neurons projecting down the lateral vestibulospinal tract: excited by trunk tilt towards one side (pitch forward/back, roll left/right) in push-pull pairs, they excite the motor pools that right the trunk",
        "references": [WILSON_VST, DEGANG, MURRAY_VST],
    }
    cell_classes["load_afferent"] = {**WALKER["cell_classes"]["load_afferent"], "references": [DUYSENS_IB, PEARSON_IB]}
    neuron_models = {
        k: WALKER["neuron_models"][k] for k in ["rg_flexor", "rg_extensor", "interneuron", "motor_neuron", "afferent"]
    }

    parameters.update(
        {
            "drive_mn_leg": param(
                6.0, "mV", "Tonic (postural) drive to the trunk and leg motor pools", [0.0, 7.9], True
            ),
            "drive_mn_arm": param(6.0, "mV", "Tonic postural drive to the arm motor pools", [0.0, 7.9], True),
            "drive_iain": param(4.0, "mV", "Tonic drive to the Ia inhibitory interneurons", [0.0, 7.9]),
            "drive_rc": param(2.0, "mV", "Tonic drive to the Renshaw cells", [0.0, 7.9]),
            "w_ia_mn": param(
                3.0,
                "mV",
                "Ia afferents -> homonymous motor pool (monosynaptic stretch reflex), total per target neuron",
                [0.0, 10.0],
                True,
            ),
            "w_ia_iain": param(3.0, "mV", "Ia afferents -> their Ia inhibitory interneuron", [0.0, 10.0]),
            "w_iain_mn": param(
                -3.0,
                "mV",
                "Ia inhibitory interneuron -> antagonist motor pool (reciprocal inhibition)",
                [-10.0, 0.0],
                True,
            ),
            "w_iain_iain": param(
                -2.0, "mV", "Ia inhibitory interneuron -> the opposite Ia inhibitory interneuron", [-10.0, 0.0]
            ),
            "w_mn_rc": param(3.0, "mV", "Motor neuron collaterals -> Renshaw cells", [0.0, 10.0]),
            "w_rc_mn": param(
                -2.0, "mV", "Renshaw cells -> the same motor pool (recurrent inhibition)", [-10.0, 0.0], True
            ),
            "w_rc_iain": param(
                -2.0, "mV", "Renshaw cells -> the Ia inhibitory interneuron of the same pool", [-10.0, 0.0]
            ),
            "w_vst_trunk": param(
                4.0,
                "mV",
                "Vestibulospinal pitch population -> abdomen_y motor pool that rights the trunk",
                [0.0, 12.0],
                True,
            ),
            "w_vst_hip": param(
                4.0,
                "mV",
                "Vestibulospinal pitch population -> hip_y motor pools that right the trunk",
                [0.0, 12.0],
                True,
            ),
            "w_vst_knee": param(2.0, "mV", "Vestibulospinal pitch population -> knee motor pools", [0.0, 12.0], True),
            "w_vst_roll_trunk": param(
                3.0, "mV", "Vestibulospinal roll population -> abdomen_x motor pool", [0.0, 12.0], True
            ),
            "w_vst_roll_hip": param(
                3.0,
                "mV",
                "Vestibulospinal roll population -> hip_x motor pools (mirrored left/right)",
                [0.0, 12.0],
                True,
            ),
            "w_ib_mn": param(
                1.0,
                "mV",
                "Foot-load Ib afferents -> hip and knee extensor pools of the same leg (positive force feedback in stance)",
                [0.0, 8.0],
                True,
            ),
            "w_ib_rg": {
                **wp["w_ib"],
                "free": False,
                "description": "Foot-load Ib afferents -> extensor half-centre of the same side",
            },
            "w_rg_mn": param(
                0.5,
                "mV",
                "Rhythm-generator half-centres -> hip_y flexor/extensor pools (and V1/V2b inhibition of the opposite pool)",
                [0.0, 6.0],
                True,
            ),
            # binding gains and offsets (declared here so that calibrate tunes them with the circuit)
            "g_ia_angle": param(20.0, "mV/rad", "Ia afferent input per rad of joint angle", [0.0, 80.0], True),
            "g_ia_velocity": param(
                1.0,
                "mV s/rad",
                "Ia afferent input per rad/s of joint velocity (spindle velocity sensitivity)",
                [0.0, 8.0],
                True,
            ),
            "ia_offset": param(12.0, "mV", "Ia afferent input at joint angle 0 (fusimotor bias)", [8.0, 20.0]),
            "g_vst_pitch": param(60.0, "mV/rad", "Vestibulospinal input per rad of trunk pitch", [0.0, 200.0], True),
            "g_vst_pitch_rate": param(
                5.0, "mV s/rad", "Vestibulospinal input per rad/s of trunk pitch rate", [0.0, 30.0], True
            ),
            "g_vst_roll": param(60.0, "mV/rad", "Vestibulospinal input per rad of trunk roll", [0.0, 200.0], True),
            "g_vst_roll_rate": param(
                5.0, "mV s/rad", "Vestibulospinal input per rad/s of trunk roll rate", [0.0, 30.0], True
            ),
            "vst_offset": param(
                9.0, "mV", "Vestibulospinal input with the trunk upright (tonic resting rate)", [5.0, 15.0]
            ),
            "g_load": param(0.02, "mV/N", "Ib input per N of foot load", [0.0, 0.1]),
            "load_offset": param(5.0, "mV", "Ib input with the foot unloaded", [0.0, 12.0]),
        }
    )
    for t in JOINT_TYPES:
        arm = t in ARMS
        parameters[f"k_{t}"] = param(
            0.004 if not arm else 0.002,
            "1/Hz",
            f"Action of {t} per Hz of agonist-minus-antagonist motor-pool rate",
            [0.0, 0.03],
            True,
        )
        parameters[f"o_{t}"] = param(
            0.0, "1", f"Action of {t} with both pools silent or balanced (descending postural bias)", [-0.4, 0.4], True
        )

    def pop(cls, size, model, drive, sd, desc, region="spinal cord", refs=None):
        p = {
            "cell_class": cls,
            "size": size,
            "neuron_model": model,
            "drive": drive,
            "initial_v": {"uniform": [0.0, 5.0]},
            "side": sd,
            "region": region,
            "description": desc,
        }
        if refs:
            p["references"] = refs
        return p

    def proj(src, tgt, w, desc, refs, delay=1.0):
        projections[f"{src}->{tgt}"] = {
            "source": src,
            "target": tgt,
            "rule": {"kind": "all_to_all"},
            "weight": {"param": w} if isinstance(w, str) else w,
            "weight_mode": "total",
            "delay": delay,
            "description": desc,
            "references": refs,
        }

    readouts = {}
    for a in ACTUATORS:
        t, sd = jtype(a), side(a)
        drive = {"param": "drive_mn_arm" if t in ARMS else "drive_mn_leg"}
        for d, sign in (("pos", "positive"), ("neg", "negative")):
            populations[f"{a}_MN_{d}"] = pop(
                "MN", 3, "motor_neuron", drive, sd, f"{a}: motor pool producing {sign} torque"
            )
            populations[f"{a}_Ia_{d}"] = pop(
                "Ia_afferent",
                2,
                "afferent",
                0.0,
                sd,
                f"{a}: Ia afferents of the muscle that {sign} motion stretches (they excite the pool that resists it)",
                region="dorsal root ganglion",
            )
            populations[f"{a}_IaIN_{d}"] = pop(
                "IaIN",
                2,
                "interneuron",
                {"param": "drive_iain"},
                sd,
                f"{a}: Ia inhibitory interneuron relaying the Ia_{d} afferents",
            )
            populations[f"{a}_RC_{d}"] = pop(
                "Renshaw", 1, "interneuron", {"param": "drive_rc"}, sd, f"{a}: Renshaw cell of the {sign}-torque pool"
            )
        for d, o in (("pos", "neg"), ("neg", "pos")):
            # Ia_pos is stretched by positive motion: it excites the pool that resists it (MN_neg) and, through IaIN_pos, inhibits MN_pos
            proj(
                f"{a}_Ia_{d}",
                f"{a}_MN_{o}",
                "w_ia_mn",
                "Monosynaptic stretch reflex onto the homonymous pool",
                [ECCLES, PROCHAZKA],
            )
            proj(
                f"{a}_Ia_{d}",
                f"{a}_IaIN_{d}",
                "w_ia_iain",
                "Ia afferents excite their Ia inhibitory interneuron",
                [ECCLES, JANKOWSKA_IA],
            )
            proj(
                f"{a}_IaIN_{d}",
                f"{a}_MN_{d}",
                "w_iain_mn",
                "Reciprocal inhibition of the antagonist pool",
                [ECCLES, JANKOWSKA_IA],
            )
            proj(
                f"{a}_IaIN_{d}",
                f"{a}_IaIN_{o}",
                "w_iain_iain",
                "Mutual inhibition of opposite Ia inhibitory interneurons",
                [HULTBORN_IA],
            )
            proj(
                f"{a}_MN_{d}",
                f"{a}_RC_{d}",
                "w_mn_rc",
                "Motor-axon collaterals excite Renshaw cells",
                [RENSHAW, ALVAREZ],
            )
            proj(f"{a}_RC_{d}", f"{a}_MN_{d}", "w_rc_mn", "Recurrent inhibition of the same pool", [RENSHAW, ALVAREZ])
            proj(
                f"{a}_RC_{d}",
                f"{a}_IaIN_{o}",
                "w_rc_iain",
                "Renshaw cells inhibit the Ia inhibitory interneuron that the pool's own Ia afferents drive",
                [HULTBORN_IA],
            )
        readouts[f"{a}_mn"] = {
            "terms": [{"population": f"{a}_MN_pos"}, {"population": f"{a}_MN_neg", "coefficient": -1.0}],
            "tau": 10.0,
            "description": f"{a}: positive minus negative torque pool rate, low-pass 10 ms (muscle activation)",
        }
    # vestibulospinal push-pull populations (brainstem, midline pairs)
    vst = {
        "VST_pitch_fwd": "trunk pitched forward",
        "VST_pitch_back": "trunk pitched backward",
        "VST_roll_pos": "trunk rolled towards -y (positive torso_roll)",
        "VST_roll_neg": "trunk rolled towards +y",
    }
    for name, desc in vst.items():
        populations[name] = pop(
            "vestibulospinal",
            3,
            "interneuron",
            0.0,
            "midline",
            f"Lateral vestibular nucleus neurons excited by {desc}",
            region="lateral vestibular nucleus",
        )
    # signs from the LQR stander's gains: a forward pitch is righted by negative abdomen_y and hip_y and positive knee torque
    for d_fwd, d_back, joints, w in (
        ("neg", "pos", ["abdomen_y"], "w_vst_trunk"),
        ("neg", "pos", ["right_hip_y", "left_hip_y"], "w_vst_hip"),
        ("pos", "neg", ["right_knee", "left_knee"], "w_vst_knee"),
    ):
        for j in joints:
            proj(
                "VST_pitch_fwd",
                f"{j}_MN_{d_fwd}",
                w,
                "Vestibulospinal excitation of the pool that rights a forward pitch",
                [WILSON_VST, MURRAY_VST],
                delay=2.0,
            )
            proj(
                "VST_pitch_back",
                f"{j}_MN_{d_back}",
                w,
                "Vestibulospinal excitation of the pool that rights a backward pitch",
                [WILSON_VST, MURRAY_VST],
                delay=2.0,
            )
    for j, d_pos, w in (
        ("abdomen_x", "pos", "w_vst_roll_trunk"),
        ("right_hip_x", "neg", "w_vst_roll_hip"),
        ("left_hip_x", "pos", "w_vst_roll_hip"),
    ):
        d_neg = "neg" if d_pos == "pos" else "pos"
        proj(
            "VST_roll_pos",
            f"{j}_MN_{d_pos}",
            w,
            "Vestibulospinal excitation of the pool that rights a roll (mirrored left/right)",
            [WILSON_VST, DEGANG],
            delay=2.0,
        )
        proj(
            "VST_roll_neg",
            f"{j}_MN_{d_neg}",
            w,
            "Vestibulospinal excitation of the pool that rights the opposite roll",
            [WILSON_VST, DEGANG],
            delay=2.0,
        )
    # foot-load Ib afferents and the rhythm generators' motor output
    for s, leg in (("L", "left"), ("R", "right")):
        populations[f"{s}_Ib_load"] = pop(
            "load_afferent", 2, "afferent", 0.0, leg, f"{leg} foot-load (Ib) afferents", region="dorsal root ganglion"
        )
        proj(
            f"{s}_Ib_load",
            f"{s}_RG_E",
            "w_ib_rg",
            "Load afferents excite the extensor half-centre (prolong stance)",
            [DUYSENS_IB, PEARSON_IB],
        )
        proj(
            f"{s}_Ib_load",
            f"{leg}_hip_y_MN_pos",
            "w_ib_mn",
            "Load afferents excite the hip extensor pool (positive force feedback)",
            [PEARSON_IB],
        )
        proj(
            f"{s}_Ib_load",
            f"{leg}_knee_MN_neg",
            "w_ib_mn",
            "Load afferents excite the knee extensor pool (positive force feedback)",
            [PEARSON_IB],
        )
        rybak = WALKER["cell_classes"]["V1"]["references"]
        proj(f"{s}_RG_F", f"{leg}_hip_y_MN_neg", "w_rg_mn", "Flexor half-centre drives the hip flexor pool", rybak)
        proj(f"{s}_RG_E", f"{leg}_hip_y_MN_pos", "w_rg_mn", "Extensor half-centre drives the hip extensor pool", rybak)
        proj(
            f"{s}_V1",
            f"{leg}_hip_y_MN_pos",
            {"param": "w_rg_mn", "factor": -1.0},
            "V1 (driven by the flexor half-centre) inhibits the hip extensor pool",
            rybak,
        )
        proj(
            f"{s}_V2b",
            f"{leg}_hip_y_MN_neg",
            {"param": "w_rg_mn", "factor": -1.0},
            "V2b (driven by the extensor half-centre) inhibits the hip flexor pool",
            rybak,
        )
    for key in ("L_RG_F->L_MN_F",):
        projections.pop(key, None)

    circuit = {
        "$schema": "circuit.schema.json",
        "schema_version": "1",
        "name": "humanoid_cpg",
        "version": "0.1.0",
        "description": (
            "A spinal and brainstem circuit made for Gymnasium Humanoid-v5 (17 actuators). For each actuated joint: "
            "an agonist/antagonist pair of motor pools, Ia afferents for angle and velocity (one per direction of stretch) "
            "exciting the homonymous pool and inhibiting the antagonist through Ia inhibitory interneurons, and a Renshaw cell "
            "per pool. Vestibulospinal pitch and roll populations in push-pull excite the trunk, hip and knee pools that right "
            "the trunk; foot-load Ib afferents excite the extensors and the extensor half-centre; per side, flexor/extensor "
            "rhythm generators with spinal_cpg's commissural classes (V0d, V0v via V2a, V3) drive the hip pools. Arm pools hold "
            "the arms on tonic postural drive. Left and right share every parameter. The binding's gains are parameters here, "
            "so calibrate tunes them with the synapses."
        ),
        "authors": ["encephagen developers"],
        "license": "CC-BY-4.0",
        "references": [
            ECCLES,
            HULTBORN_IA,
            RENSHAW,
            ALVAREZ,
            JANKOWSKA_IA,
            PROCHAZKA,
            WILSON_VST,
            DEGANG,
            MURRAY_VST,
            DUYSENS_IB,
            PEARSON_IB,
        ]
        + WALKER["references"][:4],
        "parameters": dict(sorted(parameters.items())),
        "neuron_models": neuron_models,
        "cell_classes": cell_classes,
        "populations": populations,
        "projections": projections,
        "readouts": readouts,
        "history": [
            {
                "version": "0.1.0",
                "date": "2026-12-02T18:00:00Z",
                "author": "encephagen developers",
                "action": "created",
                "description": "Built by bench/humanoid/build_humanoid_cpg.py; rhythm generator and commissural populations from walker2d_cpg 0.7.0.",
            }
        ],
    }
    binding = {
        "binding_version": "1",
        "circuit": "humanoid_cpg",
        "body": {"kind": "humanoid"},
        "description": (
            "humanoid_cpg on Humanoid-v5. Each joint's Ia pair reads its angle and velocity in push-pull (balanced at angle 0; the motor offsets o_TYPE hold the bent-knee stance against it); "
            "the vestibulospinal pairs read torso pitch/roll and their rates; Ib reads the foot loads. Each actuator is driven by "
            "its own motor pools only: o_TYPE + k_TYPE * (MN_pos - MN_neg); the left shoulders mirror the sign. Every gain, "
            "and offset is a circuit parameter."
        ),
        "warmup_ms": 300,
        "afferents": {},
        "motors": {},
    }
    aff = binding["afferents"]
    for a in ACTUATORS:
        t = jtype(a)
        for d, sign in (("pos", 1.0), ("neg", -1.0)):
            aff[f"{a}_Ia_{d}_angle"] = {
                "sensor": f"{a}_angle",
                "population": f"{a}_Ia_{d}",
                "gain": {"param": "g_ia_angle", "factor": sign},
                "offset": {"param": "ia_offset"},
                "low": 0.0,
                "high": 40.0,
            }
            aff[f"{a}_Ia_{d}_velocity"] = {
                "sensor": f"{a}_velocity",
                "population": f"{a}_Ia_{d}",
                "gain": {"param": "g_ia_velocity", "factor": sign},
                "low": -10.0,
                "high": 10.0,
            }
    for name, sensor, rate, sign in (
        ("VST_pitch_fwd", "torso_pitch", "torso_pitch_rate", 1.0),
        ("VST_pitch_back", "torso_pitch", "torso_pitch_rate", -1.0),
        ("VST_roll_pos", "torso_roll", "torso_roll_rate", 1.0),
        ("VST_roll_neg", "torso_roll", "torso_roll_rate", -1.0),
    ):
        g, gr = ("g_vst_pitch", "g_vst_pitch_rate") if "pitch" in name else ("g_vst_roll", "g_vst_roll_rate")
        aff[name] = {
            "sensor": sensor,
            "population": name,
            "gain": {"param": g, "factor": sign},
            "offset": {"param": "vst_offset"},
            "low": 0.0,
            "high": 40.0,
        }
        aff[name + "_rate"] = {
            "sensor": rate,
            "population": name,
            "gain": {"param": gr, "factor": sign},
            "low": -15.0,
            "high": 15.0,
        }
    for s, leg in (("L", "left"), ("R", "right")):
        aff[f"{leg}_foot_load"] = {
            "sensor": f"{leg}_foot_load",
            "population": f"{s}_Ib_load",
            "gain": {"param": "g_load"},
            "offset": {"param": "load_offset"},
            "high": 40.0,
        }
    for a in ACTUATORS:
        t, m = jtype(a), MIRROR.get(a, 1.0)
        binding["motors"][a] = {
            "actuator": a,
            "offset": {"param": f"o_{t}", "factor": m} if m != 1.0 else {"param": f"o_{t}"},
            "terms": [{"readout": f"{a}_mn", "gain": {"param": f"k_{t}"}}],
        }
    return circuit, binding


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT))
    from encephagen.json_codec import dumps_canonical

    circuit, binding = build()
    (ROOT / "circuits" / "humanoid_cpg.json").write_text(dumps_canonical(circuit))
    (ROOT / "circuits" / "humanoid_cpg.humanoid.binding.json").write_text(dumps_canonical(binding))
    n = sum(p["size"] for p in circuit["populations"].values())
    print(
        f"humanoid_cpg: {len(circuit['populations'])} populations, {n} neurons, {len(circuit['projections'])} projections, {len(circuit['parameters'])} parameters"
    )
