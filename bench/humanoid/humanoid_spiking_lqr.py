"""Where a spiking LQR on Humanoid-v5 loses its balance: the motor layer, or the afferent layer?

    .venv/bin/python bench/humanoid/humanoid_spiking_lqr.py motor SEEDS [N=10 TAU=5 DT=0.25 NOISE=0.5]
    .venv/bin/python bench/humanoid/humanoid_spiking_lqr.py afferent SEEDS [N=10 NA=10 ...]
    .venv/bin/python bench/humanoid/humanoid_spiking_lqr.py fidelity motor|afferent [options]

Both designs carry the LQR stander's feedback on named sensors (``LqrStander.on_sensors``:
``ctrl = ctrl0 - G (s - s0)``, 17 x 47) and read the action from push-pull motor pools,
``ctrl0 + k (rate(MN_pos) - rate(MN_neg))`` (Hz, 15 ms bins low-passed with TAU ms). They
differ only in how the sensors reach the motor pools:

* ``motor``: humanoid_stander's design (``build_humanoid_stander.build``, here with pool size N,
  readout TAU, motor-neuron NOISE): each pool receives ``I0 +/- c (-G_i . (s - s0))`` mV as
  afferent current from the binding (a mean-field afferent drive, as neuromechanical models
  feed afferent activity to spinal neurons); the only spiking neurons are the 17 x 2 x N
  motor neurons.
* ``afferent``: every sensor with a non-zero column of G (43) has a push-pull pair of spiking
  afferent pools of NA neurons (input ``I0A +/- ca (s_j - s0_j)`` mV, ``ca`` mapping NSD
  standard deviations of the sensor under the LQR to SPAN mV); each pool excites the motor
  pools with weight ``c |G_ij| / (tau_syn f_a' ca)`` (crossed for a negative entry, so every
  synapse is excitatory), the motor drive lowered by the afferents' tonic input.

``SPIKING=vestibular`` or ``SPIKING=ia`` (afferent design) gives spiking afferent pools to that
pathway only; the other pathway's sensors reach the motor pools as in the motor design.
``LESION=ia`` (motor design) drops the joint angle and velocity terms (muscle spindles),
``LESION=vestibular`` the trunk orientation, rate and velocity terms.

``k = 1 / (2 c f')`` with f' the motor neuron's f-I slope at I0: the mapping is exact where
the LIF f-I curves are linear. SEEDS: comma-separated body/circuit seeds (choose on
selection seeds 200000+). ``fidelity`` records one LQR episode (selection seed 200050, action
noise 0.05) and prints, per actuator, the slope and residual sd of the circuit's action
against the LQR's on the same sensor rows, open loop. Prints survival (body steps) per seed
and body steps per CPU second (load average beside it).
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from build_humanoid_stander import DRIVE as I0  # this folder, on sys.path when run as a script
from build_humanoid_stander import INPUT_PER_ACTION as C
from build_humanoid_stander import MOTOR_NEURON as MN_MODEL
from build_humanoid_stander import lif_rate, resting_pool_input
from build_humanoid_stander import motor_pools_only as build_stander

from encephagen.body.adapters import make_body
from encephagen.body.baselines import run_episode
from encephagen.body.binding import load_binding
from encephagen.body.imitate import readouts_on_observations, record_controller
from encephagen.body.loop import ClosedLoop
from encephagen.body.lqr import lqr_stander
from encephagen.compiler import compile_circuit
from encephagen.storage import load_circuit

AFFERENT_MODEL = {"tau_m": 5.0, "v_threshold": 10.0, "t_ref": 2.0}
TRUNK = ("torso_", "forward_", "lateral_", "vertical_")


def lqr_sensor_sd(body, lqr, gain, s0, seed: int = 200039) -> np.ndarray:
    """Each sensor's sd over one LQR episode (selection seed): the scale of the afferent gains."""
    rows = []

    def act(step, observation):
        rows.append(observation.copy())
        return np.clip(lqr.ctrl0 - gain @ (observation - s0), body.action_low, body.action_high)

    run_episode(body, act, seed)
    return np.array(rows).std(axis=0)


def pathway(sensor: str) -> str:
    """'ia' for a joint's angle or velocity (muscle spindles), 'vestibular' for the trunk's
    orientation, rates and velocities; what LESION=ia or LESION=vestibular removes."""
    return "ia" if sensor.endswith(("_angle", "_velocity")) and not sensor.startswith(TRUNK) else "vestibular"


def build(design: str, options: dict) -> tuple[dict, dict]:
    """(circuit, binding) as JSON trees for ``design`` 'motor' or 'afferent'."""
    n, tau, noise = int(options.get("N", 10)), float(options.get("TAU", 5)), float(options.get("NOISE", 0.5))
    if design == "motor":
        circuit, binding = build_stander(pool_size=n, readout_tau=tau, noise=noise)
        binding["afferents"] = {
            name: a for name, a in binding["afferents"].items() if pathway(a["sensor"]) != options.get("LESION")
        }
        return circuit, binding
    body = make_body("humanoid")
    lqr = lqr_stander(body)
    gain, s0 = lqr.on_sensors(body)
    sensors, actuators = list(body.sensor_names), list(body.actuator_names)

    def spiking(sensor: str) -> bool:
        return options.get("SPIKING", "all") in ("all", pathway(sensor))

    mn_slope = lif_rate(I0 + 1, MN_MODEL) / 2 - lif_rate(I0 - 1, MN_MODEL) / 2
    k = 1.0 / (2 * C * mn_slope)
    populations, projections, readouts, afferents = {}, {}, {}, {}
    tonic = np.zeros(len(actuators))
    models = {"mn": {**MN_MODEL, "noise_sigma": noise}}
    classes = {"MN": {"transmitter": "acetylcholine"}}
    na, i0a = int(options.get("NA", 10)), float(options.get("I0A", 15))
    span, nsd, tau_syn = float(options.get("SPAN", 8)), float(options.get("NSD", 4)), 5.0
    models["afferent"] = {**AFFERENT_MODEL, "noise_sigma": float(options.get("NOISE_A", 0.3))}
    models["mn"]["tau_syn_exc"] = tau_syn
    classes["afferent"] = {"transmitter": "glutamate"}
    slope = lif_rate(i0a + 0.5, AFFERENT_MODEL) - lif_rate(i0a - 0.5, AFFERENT_MODEL)
    sd = lqr_sensor_sd(body, lqr, gain, s0)
    for j, sensor in enumerate(sensors):
        if np.abs(gain[:, j]).max() <= 1e-3 or not spiking(sensor):
            continue
        ca = span / (nsd * max(sd[j], 1e-3))
        for d, sign in (("pos", 1.0), ("neg", -1.0)):
            populations[f"A_{sensor}_{d}"] = {
                "cell_class": "afferent",
                "size": na,
                "neuron_model": "afferent",
                "initial_v": {"uniform": [0.0, 10.0]},
            }
            afferents[f"A_{sensor}_{d}"] = {
                "sensor": sensor,
                "population": f"A_{sensor}_{d}",
                "gain": sign * ca,
                "offset": i0a - sign * ca * s0[j],
                "low": 0.0,
                "high": 40.0,
            }
        for i, actuator in enumerate(actuators):
            if abs(gain[i, j]) <= 1e-3:
                continue
            weight = C * abs(gain[i, j]) / (tau_syn / 1000.0 * slope * ca)
            tonic[i] += weight * tau_syn / 1000.0 * lif_rate(i0a, AFFERENT_MODEL)
            for d in ("pos", "neg"):
                target = d if -gain[i, j] > 0 else {"pos": "neg", "neg": "pos"}[d]
                projections[f"A_{sensor}_{d}->{actuator}_MN_{target}"] = {
                    "source": f"A_{sensor}_{d}",
                    "target": f"{actuator}_MN_{target}",
                    "rule": {"kind": "all_to_all"},
                    "weight": weight,
                    "weight_mode": "total",
                    "delay": 0.5,
                }
    for i, actuator in enumerate(actuators):
        for d, sign in (("pos", 1.0), ("neg", -1.0)):
            populations[f"{actuator}_MN_{d}"] = {
                "cell_class": "MN",
                "size": n,
                "neuron_model": "mn",
                "drive": I0 - tonic[i],
                "initial_v": {"uniform": [0.0, 10.0]},
            }
            for j, sensor in enumerate(sensors):
                if abs(gain[i, j]) > 1e-4 and not spiking(sensor):
                    g = -sign * C * gain[i, j]
                    afferents[f"{actuator}_{d}_{sensor}"] = {
                        "sensor": sensor,
                        "population": f"{actuator}_MN_{d}",
                        "gain": g,
                        "offset": -g * s0[j],
                    }
        readouts[f"{actuator}_mn"] = {
            "terms": [{"population": f"{actuator}_MN_pos"}, {"population": f"{actuator}_MN_neg", "coefficient": -1.0}],
            "tau": tau,
        }
    circuit = {
        "schema_version": "1",
        "name": "spiking_lqr",
        "version": "0.0.1",
        "description": f"LQR stander on spiking motor pools ({design} design), built by bench/humanoid/humanoid_spiking_lqr.py",
        "neuron_models": models,
        "cell_classes": classes,
        "populations": populations,
        "projections": projections,
        "readouts": readouts,
    }
    return circuit, stander_binding(lqr, actuators, afferents, k)


def stander_binding(lqr, actuators: list[str], afferents: dict, k_motor: float) -> dict:
    """The bench circuits' binding: the given afferents, and per actuator the LQR's ctrl0 plus
    ``k_motor`` times its pools' rate difference (readout ``{actuator}_mn``)."""
    motors = {
        a: {"actuator": a, "offset": float(lqr.ctrl0[i]), "terms": [{"readout": f"{a}_mn", "gain": k_motor}]}
        for i, a in enumerate(actuators)
    }
    return {
        "binding_version": "1",
        "circuit": "spiking_lqr",
        "body": {"kind": "humanoid"},
        "warmup_ms": 150,
        "afferents": afferents,
        "motors": motors,
    }


def closed_loop(design: str, options: dict, folder: Path) -> ClosedLoop:
    circuit, binding = build(design, options)
    loop = _write_and_load(circuit, binding, options, folder)
    if design == "afferent":
        for name, current in resting_pool_input(loop).items():
            circuit["populations"][name]["drive"] = I0 - current
        loop = _write_and_load(circuit, binding, options, folder)
    return loop


def _write_and_load(circuit: dict, binding: dict, options: dict, folder: Path) -> ClosedLoop:
    (folder / "spiking_lqr.json").write_text(json.dumps(circuit))
    (folder / "spiking_lqr.humanoid.binding.json").write_text(json.dumps(binding))
    network = compile_circuit(load_circuit(folder / "spiking_lqr.json"), dt=float(options.get("DT", 0.25)))
    return ClosedLoop(network, load_binding(folder / "spiking_lqr.humanoid.binding.json"), base_dir=folder)


def fidelity(loop: ClosedLoop) -> None:
    body = make_body("humanoid")
    lqr = lqr_stander(body)
    gain, s0 = lqr.on_sensors(body)
    observations, _ = record_controller(body, lqr.sensor_controller, [200050], steps=300, noise=0.05)[0]
    readouts = readouts_on_observations(loop, [observations], [1])[0]
    target = lqr.ctrl0 - (observations - s0) @ gain.T
    print(f"{'actuator':16s} {'LQR sd':>7s} {'slope':>6s} {'resid sd':>9s}")
    _, _, offset, motor_gain = loop._lane_arrays(loop.network.parameter_values())
    actions = offset + readouts @ motor_gain.T  # motors in the body's actuator order
    for i, actuator in enumerate(body.actuator_names):
        action = actions[:, i]
        x, y = target[:, i] - target[:, i].mean(), action - action.mean()
        slope = (x @ y) / (x @ x)
        print(f"{actuator:16s} {x.std():7.3f} {slope:6.2f} {np.std(y - slope * x):9.4f}")


if __name__ == "__main__":
    mode, design = sys.argv[1], sys.argv[2] if sys.argv[1] == "fidelity" else sys.argv[1]
    options = dict(a.split("=") for a in sys.argv[3:])
    with tempfile.TemporaryDirectory() as folder:
        loop = closed_loop(design, options, Path(folder))
        print(f"{design} design {options}: {loop.network.n_neurons} neurons")
        if mode == "fidelity":
            fidelity(loop)
        else:
            seeds = [int(s) for s in sys.argv[2].split(",")]
            start = time.process_time()
            steps = [e.metrics["steps"] for e in loop.run(seeds)]
            cpu = time.process_time() - start
            print(
                f"steps {steps}  full {sum(s == 1000 for s in steps)}/{len(steps)}  "
                f"{sum(steps) / cpu:.0f} body steps per CPU s (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
