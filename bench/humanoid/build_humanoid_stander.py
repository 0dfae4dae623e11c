"""Build circuits/humanoid_stander.json and its binding: the LQR stander's feedback through spiking
vestibulospinal and spindle-driven populations onto spiking motor pools.

    .venv/bin/python bench/humanoid/build_humanoid_stander.py

The LQR stander on named sensors, ``ctrl = ctrl0 - G (s - s0)``
(``encephagen.body.lqr.LqrStander.on_sensors``), is a 13-350x (median 207x) cancelling sum of its sensor
terms (torso pitch is almost a linear function of the joint angles while the feet are down,
and G weighs both heavily with opposite signs), so spiking pools that each carry one sensor
cannot carry it: each pool's count noise is amplified by that factor. Here the sensors are
first combined, by the afferent drive (a mean-field transduction in the binding), into
uncorrelated channels whose sum has little cancellation (2-4x, median 3.2x), and each channel is a
push-pull pair of spiking populations:

* vestibulospinal channels: the trunk sensors (orientation, rates, velocities) minus their
  least-squares prediction from the joint sensors (what the vestibular signal says beyond
  what proprioception of the legs and trunk already says: the body's sway on its feet),
  whitened and rotated onto the LQR's command directions;
* spindle channels: the joint angles and velocities (muscle spindle group Ia/II input),
  whitened and rotated onto the command directions that remain, convergent input onto
  excitatory premotor interneurons.

With ``W`` the whitening of a group's signals ``x`` and ``Gx W^-1 = U S V^T``, channel k is
``y_k = U_k^T Gx x / S_k`` (unit variance, uncorrelated) and the command is ``ctrl0 - U S y``.
Pool ``{channel}_pos`` receives ``CHANNEL_DRIVE + c_k y_k`` mV, ``_neg`` the opposite
(``c_k`` maps CHANNEL_SDS channel sds to CHANNEL_SPAN mV); each pool excites the motor pools
one-to-one (channel neuron i onto motor neuron i; all-to-all stands as well and runs 3x slower)
with total weight ``INPUT_PER_ACTION |U_ik S_k| / (tau_syn f' c_k)`` (to the antagonist pool for a
negative entry: every synapse is excitatory, Dale's law holds); the motor pools' drive is
lowered by the channels' resting input as simulated. The action is
``ctrl0_i + k (rate(MN_pos) - rate(MN_neg))`` as in 0.1.0. The channels' covariance comes
from LQR episodes on selection seeds (RECORDING_SEEDS, action noise 0.03, step 20 on);
values chosen on selection seeds 200060-200079 with bench/humanoid/humanoid_afferent_basis.py.
``motor_pools_only`` builds 0.1.0's design (the sensors as mean-field drive straight onto the
motor pools) for bench/humanoid/humanoid_spiking_lqr.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DRIVE, INPUT_PER_ACTION = 20.0, 20.0
MOTOR_NEURON = {"tau_m": 10.0, "v_threshold": 10.0, "t_ref": 2.0}
CHANNEL_NEURON = {"tau_m": 5.0, "v_threshold": 10.0, "t_ref": 2.0}
CHANNEL_DRIVE, CHANNEL_SPAN, CHANNEL_SDS, CHANNEL_NOISE, CHANNEL_SIZE = 15.0, 8.0, 24.0, 0.3, 20
SYNAPSE_TAU, SYNAPSE_DELAY = 5.0, 0.5
RECORDING_SEEDS, RECORDING_NOISE, RECORDING_START = (200050, 200051, 200052, 200054), 0.03, 20
TRUNK = ("torso_", "forward_", "lateral_", "vertical_")

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
    "jankowska1992": {
        "citation": "Jankowska E (1992) Interneuronal relay in spinal pathways from proprioceptors. Prog Neurobiol 38:335-378",
        "doi": "10.1016/0301-0082(92)90024-9",
    },
    "peterka2002": {
        "citation": "Peterka RJ (2002) Sensorimotor integration in human postural control. J Neurophysiol 88:1097-1118",
        "doi": "10.1152/jn.2002.88.3.1097",
    },
    "todorov2012": {
        "citation": "Todorov E, Erez T, Tassa Y (2012) MuJoCo: a physics engine for model-based control. IEEE/RSJ IROS 2012, 5026-5033",
        "doi": "10.1109/IROS.2012.6386109",
    },
}
SELECTION = "selection seeds 200060-200065, bench/humanoid/humanoid_spiking_lqr.py motor"
CHANNEL_SELECTION = (
    "selection seeds 200060-200069, bench/humanoid/humanoid_afferent_basis.py run BASIS=split NA=20 NSD=16"
)


def lif_rate(current: float, model: dict = MOTOR_NEURON) -> float:
    """Rate (Hz) of a noiseless LIF neuron (default the motor neuron) at constant input ``current`` (mV)."""
    tau_m, threshold, t_ref = model["tau_m"], model["v_threshold"], model["t_ref"]
    if current <= threshold:
        return 0.0
    return 1000.0 / (t_ref + tau_m * math.log(current / (current - threshold)))


def _hand_set(reason: str) -> dict:
    return {"kind": "hand-set", "reason": reason}


def motor_noise_and_gain(noise: float) -> dict:
    """The motor pools' ``noise`` and ``k_motor`` parameters: the gain from pool rate to action that
    reproduces the LQR's gain through the LIF f-I slope at ``DRIVE``."""
    k = 1.0 / (2 * INPUT_PER_ACTION * (lif_rate(DRIVE + 1) - lif_rate(DRIVE - 1)) / 2)
    return {
        "noise": {
            "value": noise,
            "unit": "mV",
            "description": "Membrane noise of the motor neurons: keeps a pool's neurons out of step, so its spike count per body step is smooth",
            "source": _hand_set(f"0 mV: 0/6 full episodes (the pools synchronise), 0.5 mV: 6/6 ({SELECTION})"),
        },
        "k_motor": {
            "value": round(k, 6),
            "unit": "1/Hz",
            "description": f"Action per Hz of agonist-minus-antagonist pool rate: 1 / (2 x {INPUT_PER_ACTION} mV per action unit x the f-I slope at drive_mn)",
            "source": _hand_set("computed from the LIF f-I curve so that the pools reproduce the LQR's gain"),
        },
    }


def motor_pools_only(pool_size: int = 20, readout_tau: float = 5.0, noise: float = 0.5) -> tuple[dict, dict]:
    """0.1.0's design as JSON trees (circuit, binding): the sensors as mean-field drive straight onto the
    motor pools; the defaults were its shipped choices (bench/humanoid/humanoid_spiking_lqr.py varies them)."""
    from encephagen.body.adapters import make_body
    from encephagen.body.lqr import lqr_stander

    body = make_body("humanoid")
    lqr = lqr_stander(body)
    gain, s0 = lqr.on_sensors(body)
    parameters = {
        "drive_mn": {
            "value": DRIVE,
            "unit": "mV",
            "description": "Resting input of every motor neuron (112 Hz at rest, where the LIF f-I curve is close to linear)",
            "source": _hand_set(
                "the middle of the motor neuron's near-linear f-I range (10 mV threshold, rate 0-250 Hz)"
            ),
        },
        **motor_noise_and_gain(noise),
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
                "source": _hand_set(
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


def is_trunk(sensor: str) -> bool:
    """A vestibular signal: the trunk's orientation, angular rates and linear velocities."""
    return sensor.startswith(TRUNK)


def recorded_sensors(body, lqr) -> np.ndarray:
    """Sensor deviations from s0 (rows) over LQR episodes on RECORDING_SEEDS with action noise,
    from step RECORDING_START on: the standing regime the channels are scaled to (the first
    steps, where the body settles from its reset pose, swing 100x wider)."""
    from encephagen.body.imitate import record_controller

    _, s0 = lqr.on_sensors(body)
    episodes = record_controller(body, lqr.sensor_controller, RECORDING_SEEDS, noise=RECORDING_NOISE)
    return np.concatenate([observations[RECORDING_START:] for observations, _ in episodes]) - s0


def whitened_channels(inputs: np.ndarray, gain: np.ndarray, deviations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, Gc): for the command ``gain @ x`` on signals ``x = inputs (s - s0)``, channels
    ``y = T (s - s0)``, uncorrelated with unit variance over ``deviations``, with
    ``gain @ x = Gc @ y``; one channel per non-zero singular value of the whitened gain."""
    x = deviations @ inputs.T
    w, v = np.linalg.eigh(np.cov(x.T))
    half = v @ np.diag(np.sqrt(np.maximum(w, 0.0))) @ v.T
    u, s, _ = np.linalg.svd(gain @ half, full_matrices=False)
    keep = s > 1e-6 * s[0]
    u, s = u[:, keep], s[keep]
    return (u / s).T @ gain @ inputs, u * s


def vestibular_and_spindle_channels(body, gain: np.ndarray, deviations: np.ndarray) -> dict[str, tuple]:
    """{'VS': (T, Gc), 'SpIN': (T, Gc)}: the LQR's command ``G (s - s0)`` as the sum of
    vestibulospinal channels (trunk sensors minus their least-squares prediction from the joint
    sensors) and spindle channels (joint angles and velocities)."""
    names = body.sensor_names
    used = np.flatnonzero(np.abs(gain).max(axis=0) > 1e-3)
    trunk = np.array([j for j in used if is_trunk(names[j])])
    joints = np.array([j for j in used if not is_trunk(names[j])])
    prediction, *_ = np.linalg.lstsq(deviations[:, joints], deviations[:, trunk], rcond=None)
    residual = np.zeros((len(trunk), len(names)))
    residual[:, trunk] = np.eye(len(trunk))
    residual[:, joints] = -prediction.T
    spindle = np.zeros((len(joints), len(names)))
    spindle[np.arange(len(joints)), joints] = 1.0
    return {
        "VS": whitened_channels(residual, gain[:, trunk], deviations),
        "SpIN": whitened_channels(spindle, gain[:, joints] + gain[:, trunk] @ prediction.T, deviations),
    }


def cancellation(gc: np.ndarray, channels: np.ndarray) -> np.ndarray:
    """Per actuator: the sum of its channel terms' sds over the sd of their sum (1 = no cancellation)."""
    return (np.abs(gc) * channels.std(axis=0)).sum(axis=1) / (channels @ gc.T).std(axis=0)


def build(channel_size: int = CHANNEL_SIZE, resting_input: dict[str, float] | None = None) -> tuple[dict, dict]:
    """(circuit, binding) as JSON trees. ``resting_input``: each motor pool's mean synaptic input (mV)
    from the channels at the standing pose, which its drive then cancels (see :func:`resting_input`)."""
    from encephagen.body.adapters import make_body
    from encephagen.body.lqr import lqr_stander

    body = make_body("humanoid")
    lqr = lqr_stander(body)
    gain, s0 = lqr.on_sensors(body)
    deviations = recorded_sensors(body, lqr)
    groups = vestibular_and_spindle_channels(body, gain, deviations)
    slope = lif_rate(CHANNEL_DRIVE + 0.5, CHANNEL_NEURON) - lif_rate(CHANNEL_DRIVE - 0.5, CHANNEL_NEURON)
    parameters = {
        "drive_mn": {
            "value": DRIVE,
            "unit": "mV",
            "description": "Resting input of every motor neuron (112 Hz at rest, where the LIF f-I curve is close to linear); each pool's drive also cancels the channels' resting input",
            "source": _hand_set(
                "the middle of the motor neuron's near-linear f-I range (10 mV threshold, rate 0-250 Hz)"
            ),
        },
        "drive_channel": {
            "value": CHANNEL_DRIVE,
            "unit": "mV",
            "description": "Resting input of every vestibulospinal and spindle-channel neuron (133 Hz at rest)",
            "source": _hand_set(
                "above the 10 mV threshold by more than a channel's usual swing (8 mV per 24 channel sds: 1.3 mV at 4 sds)"
            ),
        },
        **motor_noise_and_gain(0.5),
    }
    populations, projections, readouts, afferents = {}, {}, {}, {}
    channel_of = {
        "VS": "vestibulospinal channel {k}: the trunk's orientation, rates and velocities minus their prediction from the joints",
        "SpIN": "spindle channel {k}: a combination of joint angles and velocities",
    }
    for group, (t, gc) in groups.items():
        channel_sd = (deviations @ t.T).std(axis=0)
        for k_channel in range(t.shape[0]):
            scale = CHANNEL_SPAN / (CHANNEL_SDS * channel_sd[k_channel])
            for d, sign in (("pos", 1.0), ("neg", -1.0)):
                pool = f"{group}{k_channel}_{d}"
                populations[pool] = {
                    "cell_class": group,
                    "size": channel_size,
                    "neuron_model": "channel_neuron",
                    "drive": {"param": "drive_channel"},
                    "initial_v": {"uniform": [0.0, 10.0]},
                    "region": "lateral vestibular nucleus" if group == "VS" else "spinal cord, intermediate zone",
                    "description": channel_of[group].format(k=k_channel)
                    + f" ({'rising' if sign > 0 else 'falling'} half of the push-pull pair)",
                }
                for j in np.flatnonzero(np.abs(t[k_channel]) > 1e-9):
                    g = float(sign * scale * t[k_channel, j])
                    afferents[f"{pool}_{body.sensor_names[j]}"] = {
                        "sensor": body.sensor_names[j],
                        "population": pool,
                        "gain": round(g, 6),
                        "offset": round(-g * float(s0[j]), 6),
                    }
            for i, actuator in enumerate(body.actuator_names):
                weight = INPUT_PER_ACTION * abs(gc[i, k_channel]) / (SYNAPSE_TAU / 1000.0 * slope * scale)
                for d in ("pos", "neg"):
                    target = d if -gc[i, k_channel] > 0 else {"pos": "neg", "neg": "pos"}[d]
                    projections[f"{group}{k_channel}_{d}->{actuator}_MN_{target}"] = {
                        "source": f"{group}{k_channel}_{d}",
                        "target": f"{actuator}_MN_{target}",
                        "rule": {"kind": "one_to_one"},
                        "weight": round(float(weight), 6),
                        "weight_mode": "total",
                        "delay": SYNAPSE_DELAY,
                    }
    for actuator in body.actuator_names:
        for d, sign in (("pos", "positive"), ("neg", "negative")):
            pool = f"{actuator}_MN_{d}"
            populations[pool] = {
                "cell_class": "MN",
                "size": 20,
                "neuron_model": "motor_neuron",
                "drive": [{"param": "drive_mn"}, round(-(resting_input or {}).get(pool, 0.0), 4)],
                "initial_v": {"uniform": [0.0, 10.0]},
                "region": "spinal cord",
                "description": f"{actuator}: motor pool producing {sign} torque; its second drive term cancels the channels' resting input (simulated at the standing pose)",
            }
        readouts[f"{actuator}_mn"] = {
            "terms": [{"population": f"{actuator}_MN_pos"}, {"population": f"{actuator}_MN_neg", "coefficient": -1.0}],
            "tau": 5.0,
            "description": f"{actuator}: positive minus negative pool rate, low-pass 5 ms (10 ms: 2/6 full episodes, {SELECTION})",
        }
    n_vs, n_spin = (groups[g][0].shape[0] for g in ("VS", "SpIN"))
    circuit = {
        "$schema": "circuit.schema.json",
        "schema_version": "2",
        "name": "humanoid_stander",
        "version": "0.3.0",
        "description": (
            "Humanoid-v5's LQR balance controller carried by spiking populations: sensors -> vestibulospinal and spindle "
            f"channels (push-pull pairs of {channel_size} neurons; {n_vs} vestibulospinal and {n_spin} spindle channels) -> "
            "(one-to-one) motor pools (an agonist/antagonist pair of 20 neurons per actuator, whose rate difference is the action). "
            "The binding combines the sensors into uncorrelated channels (a mean-field transduction): the vestibulospinal "
            "channels carry the trunk's orientation, rates and velocities minus what the joint angles predict of them (the "
            "body's sway on its feet), the spindle channels the joint angles and velocities; each channel is a direction of "
            "the LQR's command in whitened sensor coordinates, so that the motor pools sum few terms that do not cancel. "
            "Weights and motor-pool drives are computed from the LQR (bench/humanoid/build_humanoid_stander.py); no Ia "
            "inhibitory interneurons, Renshaw cells or rhythm generators (humanoid_cpg 0.3.0 adds them to this pathway)."
        ),
        "authors": ["encephagen developers"],
        "license": "CC-BY-4.0",
        "references": REFERENCES,
        "parameters": parameters,
        "neuron_models": {
            "motor_neuron": {
                **MOTOR_NEURON,
                "tau_syn_exc": SYNAPSE_TAU,
                "noise_sigma": {"param": "noise"},
                "source": _hand_set(
                    "a fast LIF (10 ms membrane, 2 ms refractory) so that a pool follows a body step's input"
                ),
            },
            "channel_neuron": {
                **CHANNEL_NEURON,
                "noise_sigma": CHANNEL_NOISE,
                "source": _hand_set(
                    "a faster LIF (5 ms membrane) than the motor neuron, so that the two layers together lag the sensors by less than a body step; 0.3 mV of noise keeps a pool's neurons out of step"
                ),
            },
        },
        "cell_classes": {
            "MN": {
                "transmitter": "acetylcholine",
                "description": "Alpha motor neurons: one pool per direction of torque of each actuated joint",
                "references": [
                    {"ref": "kiehn2016"},
                    {"ref": "mendell1971", "note": "each Ia fibre contacts nearly every motor neuron of its pool"},
                ],
            },
            "VS": {
                "transmitter": "glutamate",
                "description": "Vestibulospinal neurons (lateral vestibular nucleus): excite limb and axial motor neurons from the trunk's orientation and motion, combined with proprioceptive input into the body's sway on its support",
                "references": [
                    {"ref": "wilson1969", "note": "Deiters' nucleus excites neck, forelimb and hindlimb motor neurons"},
                    {
                        "ref": "peterka2002",
                        "note": "balance feedback acts on body sway estimated from vestibular and proprioceptive orientation signals together",
                    },
                ],
            },
            "SpIN": {
                "transmitter": "glutamate",
                "description": "Excitatory premotor interneurons relaying muscle-spindle (group Ia/II) input from many joints onto motor pools",
                "references": [
                    {
                        "ref": "jankowska1992",
                        "note": "interneurons in proprioceptive pathways receive convergent input from many muscles",
                    },
                    {"ref": "prochazka1998", "note": "spindle afferents signal muscle length and velocity"},
                ],
            },
        },
        "populations": populations,
        "projections": projections,
        "readouts": readouts,
        "history": [
            {
                "version": "0.1.0",
                "date": "2026-12-02T20:10:00Z",
                "author": "encephagen developers",
                "action": "created",
                "description": "Built by bench/humanoid/build_humanoid_stander.py from the LQR stander (encephagen.body.lqr, default weights): motor pools only, the sensors as mean-field drive.",
            },
            {
                "version": "0.3.0",
                "date": "2026-12-02T23:30:00Z",
                "author": "encephagen developers",
                "action": "edited",
                "description": f"Spiking vestibulospinal and spindle channel populations between the sensors and the motor pools (chosen on {CHANNEL_SELECTION}); all-to-all channel-to-motor projections.",
            },
            {
                "version": "0.3.0",
                "date": "2026-12-02T23:20:00Z",
                "author": "encephagen developers",
                "action": "edited",
                "description": "Channel-to-motor projections one-to-one (channel neuron i onto motor neuron i, the same total weight) and channels spanning 24 sds instead of 16: 3x faster (300 -> 950-980 body steps per CPU s), 19/20 full episodes on selection seeds 200060-200079 (0.2.0: 20/20 on 200060-200069).",
            },
        ],
    }
    motors = {
        actuator: {
            "actuator": actuator,
            "offset": round(float(lqr.ctrl0[i]), 6),
            "terms": [{"readout": f"{actuator}_mn", "gain": {"param": "k_motor"}}],
        }
        for i, actuator in enumerate(body.actuator_names)
    }
    binding = {
        "binding_version": "1",
        "circuit": "humanoid_stander",
        "body": {"kind": "humanoid"},
        "description": (
            f"Sensors onto the vestibulospinal (VS*) and spindle (SpIN*) channel pools: pool {{channel}}_pos receives "
            f"{CHANNEL_SPAN:g} mV per {CHANNEL_SDS:g} sds of its channel y_k = T_k (s - s0), _neg the opposite, summed over "
            "the sensors of T_k (entries {pool}_{sensor}); motor offsets are the LQR's ctrl0. T and the channel sds come from "
            f"LQR episodes on selection seeds {', '.join(map(str, RECORDING_SEEDS))} (bench/humanoid/build_humanoid_stander.py)."
        ),
        "warmup_ms": 150,
        "afferents": afferents,
        "motors": motors,
    }
    return circuit, binding


def resting_input(circuit: dict, binding: dict, body_steps: int = 100) -> dict[str, float]:
    """Mean excitatory synaptic input (mV) of each motor pool with every sensor at the standing pose.

    Simulated (noise seed 1), not estimated from the channels' f-I curve: the estimate misses the
    channel neurons' noise and the time step by enough to move a pool off its operating point.
    """
    import json
    import tempfile

    from encephagen.body.binding import load_binding
    from encephagen.body.loop import ClosedLoop
    from encephagen.compiler import compile_circuit
    from encephagen.storage import load_circuit

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "humanoid_stander.json"
        path.write_text(json.dumps(circuit))
        (Path(folder) / "humanoid_stander.binding.json").write_text(json.dumps(binding))
        loop = ClosedLoop(
            compile_circuit(load_circuit(path), dt=0.25),
            load_binding(Path(folder) / "humanoid_stander.binding.json"),
            base_dir=folder,
        )
    return resting_pool_input(loop, body_steps)


def resting_pool_input(loop, body_steps: int = 100) -> dict[str, float]:
    """Mean excitatory synaptic input (mV) of each motor pool (``*_MN_*``) of a closed loop whose
    sensors all read the LQR's standing pose, over ``body_steps`` after the warm-up."""
    from encephagen.body.adapters import make_body
    from encephagen.body.lqr import lqr_stander
    from encephagen.simulation import Simulator

    body = make_body("humanoid")
    _, s0 = lqr_stander(body).on_sensors(body)
    pools = [p for p in loop.network.population_names if "_MN_" in p]
    simulator = Simulator(
        loop.network, seeds=[1], record_spikes=False, traces=[f"I_exc:{p}" for p in pools], bin_ms=loop.body_dt_ms
    )
    gain, offset, _, _ = loop._lane_arrays(loop.network.parameter_values())
    inputs = loop._inputs(s0[None, :], gain[None, :], offset[None, :])
    simulator.advance(loop.warmup_steps + body_steps * loop.steps_per_body_step, **inputs)
    result = simulator.result()
    traces = result.traces[0, loop.warmup_steps :]
    labels = [label.split(":")[1].split("[")[0] if ":" in label else label for label in result.trace_labels]
    return {p: float(traces[:, [i for i, label in enumerate(labels) if label == p]].mean()) for p in pools}


if __name__ == "__main__":
    from encephagen.json_codec import dumps_canonical

    circuit, binding = build(resting_input=resting_input(*build()))
    (ROOT / "circuits" / "humanoid_stander.json").write_text(dumps_canonical(circuit))
    (ROOT / "circuits" / "humanoid_stander.binding.json").write_text(dumps_canonical(binding))
    n = sum(p["size"] for p in circuit["populations"].values())
    print(
        f"humanoid_stander {circuit['version']}: {n} neurons, {len(circuit['projections'])} projections, "
        f"{len(binding['afferents'])} afferent entries"
    )
