"""Spiking afferent channels in a basis where the LQR's command does not cancel.

    .venv/bin/python bench/humanoid/humanoid_afferent_basis.py cancel
    .venv/bin/python bench/humanoid/humanoid_afferent_basis.py run SEEDS [BASIS=split NA=20 NSD=16 ...]
    .venv/bin/python bench/humanoid/humanoid_afferent_basis.py run fidelity [options]

The LQR stander on named sensors, ``ctrl = ctrl0 - G (s - s0)``, is a 13-350x (median 207x) cancelling
sum of its sensor terms, so spiking pools that each carry one sensor (and their count noise)
cannot carry it (docs/notes/humanoid.md, Session 5). Written in channels ``y = T (s - s0)``
with ``G = Gc T``, the command is ``ctrl0 - Gc y``; the cancellation factor of actuator i is
``sum_k |Gc_ik| sd(y_k) / sd(ctrl_i)`` over recorded LQR episodes (selection seeds
200050-200052 and 200054, action noise REC_NOISE=0.03, from step START=20). Bases (BASIS=):

* ``sensors``: T = I, one channel per sensor the LQR reads (Session 5's afferent design);
* ``svd``: the LQR's command directions in whitened sensor coordinates (17 channels mixing
  trunk and joint sensors);
* ``split``: humanoid_stander 0.2.0's: trunk sensors minus their least-squares prediction from
  the joints, whitened onto the command directions (vestibulospinal channels), plus the joint
  sensors whitened onto the remaining command (spindle channels);
* ``joints``: as split, but one channel per joint sensor (angle or velocity).

``run``: each channel is a push-pull pair of NA spiking neurons with input ``I0A +/- ca y_k``
(ca maps NSD channel sds to SPAN mV; the binding sums the channel's sensor terms, a mean-field
transduction), exciting push-pull motor pools of N neurons with weights
``C |Gc_ik| / (TAUSYN f_a' ca_k)``; the motor drive cancels the channels' resting input as
simulated. Other options: TAUA (channel membrane ms), NOISE_A, NOISE (motor), TAU (readout),
DT, ALLOC=1 (channel sizes in proportion to the largest share of a command each carries,
at least NMIN), INDEG (fixed in-degree instead of all-to-all), RULE=one_to_one (channel neuron i onto motor neuron i; needs NA=N), PRUNE (drop terms below that
share of the command). Prints steps survived per seed, full episodes and body steps per CPU
second (load average beside it); ``fidelity`` compares the circuit's action with the LQR's
open loop on one recorded LQR episode (selection seed 200053). Choose on selection seeds.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from build_humanoid_stander import DRIVE as I0  # this folder, on sys.path when run as a script
from build_humanoid_stander import INPUT_PER_ACTION as C
from build_humanoid_stander import MOTOR_NEURON as MN_MODEL
from build_humanoid_stander import cancellation, lif_rate, resting_pool_input, whitened_channels
from humanoid_spiking_lqr import AFFERENT_MODEL, _write_and_load, pathway, stander_binding

from encephagen.body.adapters import make_body
from encephagen.body.imitate import record_controller
from encephagen.body.lqr import lqr_stander

SELECTION_EPISODES = (200050, 200051, 200052, 200054)


def recorded_sensors(body, lqr, noise: float = 0.03, start: int = 20) -> np.ndarray:
    """Sensor deviations from s0 over LQR episodes with action noise (rows), from step 20 to
    60 steps before a fall: the standing regime the channels must resolve, not the fall."""
    _, s0 = lqr.on_sensors(body)
    episodes = record_controller(body, lqr.sensor_controller, SELECTION_EPISODES, noise=noise)
    return np.concatenate([o[start : len(o) if len(o) == body.max_steps else len(o) - 60] for o, _ in episodes]) - s0


def basis(
    name: str, gain: np.ndarray, deviations: np.ndarray, sensor_names
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(T, Gc, channel names): channels y = T (s - s0) with G = Gc T on the sensors G reads."""
    used = np.flatnonzero(np.abs(gain).max(axis=0) > 1e-3)
    if name == "sensors":
        t = np.zeros((len(used), gain.shape[1]))
        t[np.arange(len(used)), used] = 1.0
        return t, gain[:, used], [f"s{j}" for j in used]
    if name == "svd":
        cov = np.cov(deviations[:, used].T)
        w, v = np.linalg.eigh(cov)
        half = v @ np.diag(np.sqrt(np.maximum(w, 0.0))) @ v.T
        u, s, _ = np.linalg.svd(gain[:, used] @ half, full_matrices=False)
        t = (u / s).T @ gain
        return t, u * s, [f"c{k}" for k in range(len(s))]
    if name in ("split", "joints"):
        trunk = np.array([j for j in used if pathway(sensor_names[j]) == "vestibular"])
        joints = np.array([j for j in used if pathway(sensor_names[j]) == "ia"])
        prediction, *_ = np.linalg.lstsq(deviations[:, joints], deviations[:, trunk], rcond=None)
        residual = np.zeros((len(trunk), gain.shape[1]))  # trunk sensors minus their prediction from the joints
        residual[:, trunk] = np.eye(len(trunk))
        residual[:, joints] = -prediction.T
        joint_gain = gain[:, joints] + gain[:, trunk] @ prediction.T
        t_v, gc_v = whitened_channels(residual, gain[:, trunk], deviations)
        direct = np.zeros((len(joints), gain.shape[1]))
        direct[np.arange(len(joints)), joints] = 1.0
        if name == "joints":
            t_j, gc_j = direct, joint_gain
        else:
            t_j, gc_j = whitened_channels(direct, joint_gain, deviations)
        names = [f"v{k}" for k in range(len(t_v))] + (
            [sensor_names[j] for j in joints] if name == "joints" else [f"ia{k}" for k in range(len(t_j))]
        )
        return np.vstack([t_v, t_j]), np.hstack([gc_v, gc_j]), names
    raise SystemExit(f"unknown BASIS {name!r}; known: sensors, svd, split")


def prune(gc, t, names, channel_sd, command_sd, threshold: float):
    """Drop the channel-to-actuator terms whose sd is below ``threshold`` of the command's sd,
    and the channels left without a term."""
    gc = np.where(np.abs(gc) * channel_sd / command_sd[:, None] >= threshold, gc, 0.0)
    keep = np.abs(gc).max(axis=0) > 0
    return gc[:, keep], t[keep], [n for n, k in zip(names, keep) if k], channel_sd[keep]


def build(options: dict, body, lqr, deviations) -> tuple[dict, dict]:
    gain, s0 = lqr.on_sensors(body)
    t, gc, names = basis(options.get("BASIS", "svd"), gain, deviations, body.sensor_names)
    channel_sd = (deviations @ t.T).std(axis=0)
    n, na, noise = int(options.get("N", 20)), int(options.get("NA", 20)), float(options.get("NOISE", 0.5))
    i0a, span, nsd, tau_syn = (
        float(options.get("I0A", 15)),
        float(options.get("SPAN", 8)),
        float(options.get("NSD", 4)),
        float(options.get("TAUSYN", 5)),
    )
    afferent_model = {**AFFERENT_MODEL, "tau_m": float(options.get("TAUA", AFFERENT_MODEL["tau_m"]))}
    slope = lif_rate(i0a + 0.5, afferent_model) - lif_rate(i0a - 0.5, afferent_model)
    mn_slope = lif_rate(I0 + 1, MN_MODEL) / 2 - lif_rate(I0 - 1, MN_MODEL) / 2
    k_motor = 1.0 / (2 * C * mn_slope)
    models = {
        "mn": {**MN_MODEL, "noise_sigma": noise, "tau_syn_exc": tau_syn},
        "afferent": {**afferent_model, "noise_sigma": float(options.get("NOISE_A", 0.3))},
    }
    populations, projections, readouts, afferents = {}, {}, {}, {}
    actuators, sensors = list(body.actuator_names), list(body.sensor_names)
    command_sd = (deviations @ gain.T).std(axis=0)
    gc, t, names, channel_sd = prune(gc, t, names, channel_sd, command_sd, float(options.get("PRUNE", 0)))
    share = (np.abs(gc) * channel_sd / command_sd[:, None]).max(axis=0)  # largest share of a command a channel carries
    sizes = np.full(len(names), na)
    if options.get("ALLOC"):
        sizes = np.maximum(int(options.get("NMIN", 10)), np.round(na * len(names) * share / share.sum())).astype(int)
    indegree = int(options.get("INDEG", 0))
    for k, channel in enumerate(names):
        ca = span / (nsd * max(channel_sd[k], 1e-9))
        for d, sign in (("pos", 1.0), ("neg", -1.0)):
            pool = f"A_{channel}_{d}"
            populations[pool] = {
                "cell_class": "afferent",
                "size": int(sizes[k]),
                "neuron_model": "afferent",
                "drive": i0a,
                "initial_v": {"uniform": [0.0, 10.0]},
            }
            for j in np.flatnonzero(np.abs(t[k]) > 1e-9):
                g = sign * ca * float(t[k, j])
                afferents[f"{pool}_{sensors[j]}"] = {
                    "sensor": sensors[j],
                    "population": pool,
                    "gain": g,
                    "offset": -g * float(s0[j]),
                }
        for i, actuator in enumerate(actuators):
            if abs(gc[i, k]) <= 1e-9:
                continue
            weight = C * abs(gc[i, k]) / (tau_syn / 1000.0 * slope * ca)
            # schema 1's 'total' gives each synapse weight / source size: scale up by the sources a target lacks
            sources = (
                min(indegree, int(sizes[k])) if indegree else 1 if options.get("RULE") == "one_to_one" else sizes[k]
            )
            weight *= sizes[k] / sources
            for d in ("pos", "neg"):
                target = d if -gc[i, k] > 0 else {"pos": "neg", "neg": "pos"}[d]
                projections[f"A_{channel}_{d}->{actuator}_MN_{target}"] = {
                    "source": f"A_{channel}_{d}",
                    "target": f"{actuator}_MN_{target}",
                    "rule": {"kind": "fixed_indegree", "indegree": min(indegree, int(sizes[k])), "seed": 1 + k}
                    if indegree
                    else {"kind": options.get("RULE", "all_to_all")},
                    "weight": weight,
                    "weight_mode": "total",
                    "delay": 0.5,
                }
    for actuator in actuators:
        for d in ("pos", "neg"):
            populations[f"{actuator}_MN_{d}"] = {
                "cell_class": "MN",
                "size": n,
                "neuron_model": "mn",
                "drive": I0,
                "initial_v": {"uniform": [0.0, 10.0]},
            }
        readouts[f"{actuator}_mn"] = {
            "terms": [{"population": f"{actuator}_MN_pos"}, {"population": f"{actuator}_MN_neg", "coefficient": -1.0}],
            "tau": float(options.get("TAU", 5)),
        }
    circuit = {
        "schema_version": "1",
        "name": "spiking_lqr",
        "version": "0.0.1",
        "description": "LQR stander through spiking afferent channels, built by bench/humanoid/humanoid_afferent_basis.py",
        "neuron_models": models,
        "cell_classes": {"MN": {"transmitter": "acetylcholine"}, "afferent": {"transmitter": "glutamate"}},
        "populations": populations,
        "projections": projections,
        "readouts": readouts,
    }
    return circuit, stander_binding(lqr, actuators, afferents, k_motor)


def closed_loop(options: dict, folder: Path):
    body = make_body("humanoid")
    lqr = lqr_stander(body)
    circuit, binding = build(
        options,
        body,
        lqr,
        recorded_sensors(body, lqr, float(options.get("REC_NOISE", 0.03)), int(options.get("START", 20))),
    )
    loop = _write_and_load(circuit, binding, options, folder)
    for name, current in resting_pool_input(loop).items():
        circuit["populations"][name]["drive"] = I0 - current
    return _write_and_load(circuit, binding, options, folder)


def fidelity(loop) -> None:
    """Open loop on one recorded LQR episode (selection seed 200053, action noise 0.05, 300 steps):
    per actuator the slope and residual sd of the circuit's action against the LQR's, at lag 0
    and at the body-step lag that fits best."""
    from encephagen.body.imitate import readouts_on_observations

    body = make_body("humanoid")
    lqr = lqr_stander(body)
    gain, s0 = lqr.on_sensors(body)
    observations, _ = record_controller(body, lqr.sensor_controller, [200053], steps=300, noise=0.05)[0]
    readouts = readouts_on_observations(loop, [observations], [1])[0]
    _, _, offset, motor_gain = loop._lane_arrays(loop.network.parameter_values())
    actions = offset + readouts @ motor_gain.T
    target = lqr.ctrl0 - (observations - s0) @ gain.T
    rows = []
    for i, actuator in enumerate(body.actuator_names):
        fits = []
        for lag in (0, 1):
            x = target[20 : len(target) - lag, i]
            y = actions[20 + lag :, i]
            x, y = x - x.mean(), y - y.mean()
            slope = (x @ y) / (x @ x)
            fits.append((slope, np.std(y - slope * x)))
        rows.append((fits[0][1], fits[1][1]))
        print(
            f"{actuator:16s} LQR sd {x.std():6.3f}  lag0 slope {fits[0][0]:5.2f} resid {fits[0][1]:.3f}   lag1 slope {fits[1][0]:5.2f} resid {fits[1][1]:.3f}"
        )
    rows = np.array(rows)
    print(f"median residual: lag0 {np.median(rows[:, 0]):.3f}  lag1 {np.median(rows[:, 1]):.3f}")


if __name__ == "__main__":
    if sys.argv[1] == "cancel":
        body = make_body("humanoid")
        lqr = lqr_stander(body)
        gain, _ = lqr.on_sensors(body)
        deviations = recorded_sensors(body, lqr)
        for name in ("sensors", "svd", "split", "joints"):
            t, gc, _ = basis(name, gain, deviations, body.sensor_names)
            factor = cancellation(gc, deviations @ t.T)
            print(
                f"{name:8s} median {np.median(factor):6.1f}  "
                + " ".join(f"{a}:{f:.1f}" for a, f in zip(body.actuator_names, factor))
            )
        sys.exit()
    options = dict(a.split("=") for a in sys.argv[3:])
    with tempfile.TemporaryDirectory() as folder:
        loop = closed_loop(options, Path(folder))
        print(
            f"{options}: {loop.network.n_neurons} neurons, {len(loop.binding.afferents)} afferent entries", flush=True
        )
        if sys.argv[2] == "fidelity":
            fidelity(loop)
            sys.exit()
        seeds = [int(s) for s in sys.argv[2].split(",")]
        start = time.process_time()
        steps = [e.metrics["steps"] for e in loop.run(seeds)]
        cpu = time.process_time() - start
        print(
            f"steps {steps}  full {sum(s == 1000 for s in steps)}/{len(steps)}  {sum(steps) / cpu:.0f} body steps per CPU s (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
