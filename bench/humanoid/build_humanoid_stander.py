"""Build circuits/humanoid_stander.json and its binding: the LQR stander's feedback on spiking motor pools.

    .venv/bin/python bench/humanoid/build_humanoid_stander.py

For each of Humanoid-v5's 17 actuators a push-pull pair of motor pools (N neurons each)
receives, as afferent drive from the binding, ``drive +/- C (-G_i . (s - s0))`` mV, where
``ctrl = ctrl0 - G (s - s0)`` is the LQR stander on named sensors
(``encephagen.body.lqr.LqrStander.on_sensors``); the action is
``ctrl0_i + k (rate(MN_pos) - rate(MN_neg))``, the rates counted per 15 ms body step and
low-passed with 5 ms, ``k = 1 / (2 C f'(drive))`` with f' the motor neuron's f-I slope, so
the map is the LQR's wherever the LIF f-I curve is linear. The afferent drive is a
mean-field current (the summed input of many afferent fibres; each Ia fibre contacts nearly
every motor neuron of its pool), not spiking afferent populations: a spiking afferent layer
of 10-40 neurons per sensor does not carry the LQR (see docs/notes/humanoid.md, "Session 5").
Values chosen on selection seeds 200060-200065 with bench/humanoid/humanoid_spiking_lqr.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DRIVE, INPUT_PER_ACTION = 20.0, 20.0
MOTOR_NEURON = {"tau_m": 10.0, "v_threshold": 10.0, "t_ref": 2.0}

REFERENCES = {
    "kiehn2016": {
        "citation": "Kiehn O (2016) Decoding the organization of spinal circuits that control locomotion. Nat Rev Neurosci 17:224-238",
        "doi": "10.1038/nrn.2016.9",
    },
    "mendell1971": {
        "citation": "Mendell LM, Henneman E (1971) Terminals of single Ia fibers: location, density, and distribution within a pool of 300 homonymous motoneurons. J Neurophysiol 34:171-187",
        "doi": "10.1152/jn.1971.34.1.171",
    },
    "prochazka1998": {
        "citation": "Prochazka A, Gorassini M (1998) Models of ensemble firing of muscle spindle afferents recorded during normal locomotion in cats. J Physiol 507:277-291",
        "doi": "10.1111/j.1469-7793.1998.277bu.x",
    },
    "wilson1969": {
        "citation": "Wilson VJ, Yoshida M (1969) Comparison of effects of stimulation of Deiters' nucleus and medial longitudinal fasciculus on neck, forelimb, and hindlimb motoneurons. J Neurophysiol 32:743-758",
        "doi": "10.1152/jn.1969.32.5.743",
    },
    "todorov2012": {
        "citation": "Todorov E, Erez T, Tassa Y (2012) MuJoCo: a physics engine for model-based control. IEEE/RSJ IROS 2012, 5026-5033",
        "doi": "10.1109/IROS.2012.6386109",
    },
}
SELECTION = "selection seeds 200060-200065, bench/humanoid/humanoid_spiking_lqr.py motor"


def lif_rate(current: float) -> float:
    """Rate (Hz) of the noiseless motor neuron at constant input ``current`` (mV)."""
    tau_m, threshold, t_ref = MOTOR_NEURON["tau_m"], MOTOR_NEURON["v_threshold"], MOTOR_NEURON["t_ref"]
    if current <= threshold:
        return 0.0
    return 1000.0 / (t_ref + tau_m * math.log(current / (current - threshold)))


def build(pool_size: int = 20, readout_tau: float = 5.0, noise: float = 0.5) -> tuple[dict, dict]:
    """(circuit, binding) as JSON trees; the defaults are the shipped choices (bench/humanoid/humanoid_spiking_lqr.py varies them)."""
    from encephagen.body.adapters import make_body
    from encephagen.body.lqr import lqr_stander

    body = make_body("humanoid")
    lqr = lqr_stander(body)
    gain, s0 = lqr.on_sensors(body)
    k = 1.0 / (2 * INPUT_PER_ACTION * (lif_rate(DRIVE + 1) - lif_rate(DRIVE - 1)) / 2)
    hand_set = lambda reason: {"kind": "hand-set", "reason": reason}
    parameters = {
        "drive_mn": {
            "value": DRIVE,
            "unit": "mV",
            "description": "Resting input of every motor neuron (112 Hz at rest, where the LIF f-I curve is close to linear)",
            "source": hand_set(
                "the middle of the motor neuron's near-linear f-I range (10 mV threshold, rate 0-250 Hz)"
            ),
        },
        "noise": {
            "value": noise,
            "unit": "mV",
            "description": "Membrane noise of the motor neurons: keeps a pool's neurons out of step, so its spike count per body step is smooth",
            "source": hand_set(f"0 mV: 0/6 full episodes (the pools synchronise), 0.5 mV: 6/6 ({SELECTION})"),
        },
        "k_motor": {
            "value": round(k, 6),
            "unit": "1/Hz",
            "description": f"Action per Hz of agonist-minus-antagonist pool rate: 1 / (2 x {INPUT_PER_ACTION} mV per action unit x the f-I slope at drive_mn)",
            "source": hand_set("computed from the LIF f-I curve so that the pools reproduce the LQR's gain"),
        },
    }
    populations, readouts = {}, {}
    for actuator in body.actuator_names:
        for d, sign in (("pos", "positive"), ("neg", "negative")):
            populations[f"{actuator}_MN_{d}"] = {
                "cell_class": "MN",
                "size": pool_size,
                "neuron_model": "motor_neuron",
                "drive": {"param": "drive_mn"},
                "initial_v": {"uniform": [0.0, 10.0]},
                "region": "spinal cord",
                "description": f"{actuator}: motor pool producing {sign} torque",
            }
        readouts[f"{actuator}_mn"] = {
            "terms": [{"population": f"{actuator}_MN_pos"}, {"population": f"{actuator}_MN_neg", "coefficient": -1.0}],
            "tau": readout_tau,
            "description": f"{actuator}: positive minus negative pool rate, low-pass {readout_tau:g} ms (10 ms: 2/6 full episodes, {SELECTION})",
        }
    circuit = {
        "$schema": "circuit.schema.json",
        "schema_version": "2",
        "name": "humanoid_stander",
        "version": "0.1.0",
        "description": (
            "Humanoid-v5's LQR balance controller carried by spiking motor pools: for each of the 17 actuators an agonist/antagonist "
            f"pair of {pool_size}-neuron motor pools whose rate difference is the action. The pools receive the LQR's feedback on the "
            "body's named sensors as mean-field afferent drive (the binding): joint angles and velocities (muscle-spindle "
            "afferents) and trunk orientation, rates and velocities (vestibular). Not the issue's spinal circuit: no spiking "
            "afferent, interneuron or rhythm-generator populations; it measures what a spiking motor layer costs the LQR."
        ),
        "authors": ["encephagen developers"],
        "license": "CC-BY-4.0",
        "references": REFERENCES,
        "parameters": parameters,
        "neuron_models": {
            "motor_neuron": {
                **MOTOR_NEURON,
                "noise_sigma": {"param": "noise"},
                "source": hand_set(
                    "a fast LIF (10 ms membrane, 2 ms refractory) so that a pool follows a body step's input"
                ),
            }
        },
        "cell_classes": {
            "MN": {
                "transmitter": "acetylcholine",
                "description": "Alpha motor neurons: one pool per direction of torque of each actuated joint; each receives the summed afferent input of its joint and of the trunk",
                "references": [
                    {"ref": "kiehn2016"},
                    {"ref": "mendell1971", "note": "each Ia fibre contacts nearly every motor neuron of its pool"},
                ],
            }
        },
        "populations": populations,
        "projections": {},
        "readouts": readouts,
        "history": [
            {
                "version": "0.1.0",
                "date": "2026-12-02T20:10:00Z",
                "author": "encephagen developers",
                "action": "created",
                "description": "Built by bench/humanoid/build_humanoid_stander.py from the LQR stander (encephagen.body.lqr, default weights).",
            }
        ],
    }
    afferents, motors = {}, {}
    for i, actuator in enumerate(body.actuator_names):
        for d, sign in (("pos", 1.0), ("neg", -1.0)):
            for j, sensor in enumerate(body.sensor_names):
                if abs(gain[i, j]) > 1e-4:
                    g = -sign * INPUT_PER_ACTION * float(gain[i, j])
                    afferents[f"{actuator}_{d}_{sensor}"] = {
                        "sensor": sensor,
                        "population": f"{actuator}_MN_{d}",
                        "gain": round(g, 6),
                        "offset": round(-g * float(s0[j]), 6),
                    }
        motors[actuator] = {
            "actuator": actuator,
            "offset": round(float(lqr.ctrl0[i]), 6),
            "terms": [{"readout": f"{actuator}_mn", "gain": {"param": "k_motor"}}],
        }
    binding = {
        "binding_version": "1",
        "circuit": "humanoid_stander",
        "body": {"kind": "humanoid"},
        "description": (
            f"The LQR stander's feedback ctrl = ctrl0 - G (s - s0) (encephagen.body.lqr, on named sensors) as afferent drive: "
            f"pool {{actuator}}_MN_pos receives +{INPUT_PER_ACTION:g} mV per action unit of -G_i (s - s0), _MN_neg the opposite; "
            "motor offsets are the LQR's ctrl0. Joint angle/velocity entries are the spindle (Ia) pathway, trunk entries "
            "(torso_*, forward/lateral/vertical velocity) the vestibular pathway. Computed by bench/humanoid/build_humanoid_stander.py."
        ),
        "warmup_ms": 150,
        "afferents": afferents,
        "motors": motors,
    }
    return circuit, binding


if __name__ == "__main__":
    from encephagen.json_codec import dumps_canonical

    circuit, binding = build()
    (ROOT / "circuits" / "humanoid_stander.json").write_text(dumps_canonical(circuit))
    (ROOT / "circuits" / "humanoid_stander.binding.json").write_text(dumps_canonical(binding))
    n = sum(p["size"] for p in circuit["populations"].values())
    print(
        f"humanoid_stander: {n} neurons, {len(binding['afferents'])} afferent entries, k {np.round(circuit['parameters']['k_motor']['value'], 5)}"
    )
