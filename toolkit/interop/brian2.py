"""Brian2 from a compiled network: the same equations, written by Brian2's own code generation.

Used two ways: the tests run small circuits in Brian2 and compare spikes with
:mod:`encephagen.simulation` (a simulator we did not write checks ours), and
``encephagen export --format brian2`` writes a self-contained script plus the arrays, so a
Brian2 user can run, read and change the model without encephagen.

Equivalence with :mod:`encephagen._kernel` (no noise): ``method='exact'`` integrates the
same linear system exactly. Brian2's schedule is state update, threshold, synapses, reset;
ours adds arrivals at the start of a step. A spike of step t with our delay d (steps) acts
from our step t+d on, which is Brian2's delay ``(d - 1) * dt`` (its synaptic effect lands
after step t+d-1's update). Brian2 integrates again at step ``t + refractory/dt``, we after
``round(t_ref/dt)`` held steps, so Brian2's refractory is ``(round(t_ref/dt) + 1) * dt``.
These are the two step conventions of :mod:`encephagen.simulation` (refractory steps counted
after the spike step; a spike acts one step earlier than a nominal Brian2 delay);
``tests/test_peers_brian2.py::test_brian2_fires_the_same_spikes`` runs both simulators on the
same circuit and compares every neuron's spike count and spike steps.
Noise (``noise_sigma``, the stationary sd of v, i.e. ``sigma*sqrt(2/tau_m)*xi``) and Poisson
input (``poisson()`` in a ``run_regularly`` at the start of each step) are statistically the
same but draw other numbers; with noise Brian2 has no exact integrator and uses 'euler'.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..compiler import NEURON_MODEL_FIELDS
from ..errors import MissingDependencyError, SimulationError

log = logging.getLogger(__name__)

NEURON_ARRAYS = (
    *NEURON_MODEL_FIELDS,
    "drive",
    "poisson_rate",
    "poisson_weight",
)


def network_arrays(network, *, values: Mapping[str, float] | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Plain arrays describing the network for :func:`build_from_arrays` (and the exported .npz).

    ``v0`` is the initial membrane potential that :func:`encephagen.simulation.simulate` would
    draw with ``seed``, so both simulators start from the same state.
    """
    from .. import _kernel

    applied = network.apply(dict(values or {}))
    w = network.weights
    keys = _kernel.stream_keys(np.array([seed], dtype=np.uint64))
    v0 = _kernel.initial_v(
        keys,
        np.array(applied.neuron["initial_v_low"][None, :], dtype=float),
        np.array(applied.neuron["initial_v_high"][None, :], dtype=float),
    )[0]
    arrays = {name: np.asarray(applied.neuron[name], dtype=float) for name in NEURON_ARRAYS}
    arrays.update(
        pre=w.indices.astype(np.int64),
        post=np.repeat(np.arange(network.n_neurons), np.diff(w.indptr)).astype(np.int64),
        weight=np.asarray(applied.weights_data, dtype=float),
        delay_steps=np.asarray(network.delays, dtype=np.int64),
        v0=v0,
        dt_ms=np.array(network.dt),
    )
    return arrays


def build_from_arrays(arrays, codegen_target=None):
    """Build a brian2.Network from the arrays of :func:`network_arrays` (needs only brian2 and numpy).

    Objects are named 'neurons', 'spikes', 'exc_synapses' and 'inh_synapses' (when there
    are synapses of that sign) and 'poisson_input' (when a neuron has Poisson input).
    Units: ms, mV, Hz.
    """
    import brian2 as b2

    if codegen_target is not None:
        b2.prefs.codegen.target = codegen_target
    dt = float(arrays["dt_ms"]) * b2.ms
    n = arrays["tau_m"].size
    noisy = bool(np.any(arrays["noise_sigma"] > 0))
    equations = """
    dv/dt = (v_rest + drive + I_exc + I_inh - w - v) / tau_m {noise} : volt (unless refractory)
    dI_exc/dt = -I_exc / tau_syn_exc : volt
    dI_inh/dt = -I_inh / tau_syn_inh : volt
    dw/dt = -w / tau_adaptation : volt
    tau_m : second (constant)
    tau_syn_exc : second (constant)
    tau_syn_inh : second (constant)
    tau_adaptation : second (constant)
    refractory_period : second (constant)
    v_rest : volt (constant)
    drive : volt (constant)
    v_threshold : volt (constant)
    v_reset : volt (constant)
    adaptation : volt (constant)
    noise_sigma : volt (constant)
    poisson_mean_exc : 1 (constant)
    poisson_mean_inh : 1 (constant)
    poisson_weight : volt (constant)
    """.format(noise="+ noise_sigma * sqrt(2 / tau_m) * xi" if noisy else "")
    group = b2.NeuronGroup(
        n,
        equations,
        threshold="v >= v_threshold",
        reset="v = v_reset; w += adaptation",
        refractory="refractory_period",
        method="euler" if noisy else "exact",
        dt=dt,
        name="neurons",
    )
    for name in ("tau_m", "tau_syn_exc", "tau_syn_inh", "tau_adaptation"):
        setattr(group, name, arrays[name] * b2.ms)
    for name in ("v_rest", "drive", "v_threshold", "v_reset", "adaptation", "noise_sigma"):
        setattr(group, name, arrays[name] * b2.mV)
    # our model holds v for round(t_ref/dt) steps after the spike step; Brian2 integrates again
    # once t - lastspike >= refractory, hence one more step
    group.refractory_period = (np.rint(arrays["t_ref"] / float(arrays["dt_ms"])) + 1) * dt
    group.v = arrays["v0"] * b2.mV
    objects = [group]
    mean = arrays["poisson_rate"] * float(arrays["dt_ms"]) / 1000.0
    weight = np.where(arrays["poisson_weight"] != 0, arrays["poisson_weight"], 1.0)
    if np.any(mean > 0):
        group.poisson_mean_exc = np.where(weight >= 0, mean, 0.0)
        group.poisson_mean_inh = np.where(weight < 0, mean, 0.0)
        group.poisson_weight = weight * b2.mV
        objects.append(
            group.run_regularly(
                "I_exc += poisson_weight * poisson(poisson_mean_exc)\nI_inh += poisson_weight * poisson(poisson_mean_inh)",
                dt=dt,
                when="start",
                name="poisson_input",
            )
        )
    for channel, pick in (("exc", arrays["weight"] >= 0), ("inh", arrays["weight"] < 0)):
        if not np.any(pick):
            continue
        synapses = b2.Synapses(
            group,
            group,
            "w_syn : volt (constant)",
            on_pre=f"I_{channel}_post += w_syn",
            dt=dt,
            name=f"{channel}_synapses",
        )
        synapses.connect(i=arrays["pre"][pick], j=arrays["post"][pick])
        synapses.w_syn = arrays["weight"][pick] * b2.mV
        synapses.delay = (arrays["delay_steps"][pick] - 1) * dt  # see the module docstring
        objects.append(synapses)
    objects.append(b2.SpikeMonitor(group, name="spikes"))
    return b2.Network(*objects)


def build_brian2_network(
    network, *, values: Mapping[str, float] | None = None, seed: int = 0, codegen_target: str | None = None
):
    """A ``brian2.Network`` simulating ``network`` with the same equations (see the module docstring).

    Parameters
    ----------
    network
        A :class:`encephagen.compiler.CompiledNetwork`.
    values
        Named parameter values replacing the compiled ones.
    seed
        Seed of the initial membrane potentials (the same draw as :func:`encephagen.simulation.simulate`).
    codegen_target
        Brian2 code generation target ('numpy', 'cython'); default Brian2's preference.

    Examples
    --------
    >>> net = build_brian2_network(compile_circuit(load_circuit("half_centre")))  # doctest: +SKIP
    >>> net.run(1 * brian2.second); net["spikes"].num_spikes                      # doctest: +SKIP
    """
    _require_brian2()
    return build_from_arrays(network_arrays(network, values=values, seed=seed), codegen_target=codegen_target)


_SCRIPT = '''"""Brian2 model of the circuit {name} {version}, exported by encephagen {encephagen}.

Run:  python run_brian2.py  (needs brian2 and numpy; writes spikes.npz beside this file).
network.npz holds the compiled arrays (units ms, mV, Hz; weights W[post, pre] as pre/post/weight
lists; delays in steps of dt). The equations and the timing conventions are those of
encephagen.interop.brian2.
"""

from pathlib import Path

import numpy as np

DURATION_MS = {duration_ms!r}
SEED = {seed!r}


{builder}

if __name__ == "__main__":
    import brian2 as b2

    here = Path(__file__).resolve().parent
    arrays = dict(np.load(here / "network.npz"))
    b2.seed(SEED)
    net = build_from_arrays(arrays)
    net.run(DURATION_MS * b2.ms, report="text")
    spikes = net["spikes"]
    np.savez(here / "spikes.npz", times_ms=np.asarray(spikes.t / b2.ms), neurons=np.asarray(spikes.i))
    print(f"{{spikes.num_spikes}} spikes from {{arrays['tau_m'].size}} neurons in {{DURATION_MS}} ms")
'''


def export_brian2(
    network, outdir: str | os.PathLike, *, duration_ms: float = 1000.0, seed: int = 0, overwrite: bool = False
) -> Path:
    """Write ``outdir/run_brian2.py`` and ``outdir/network.npz``; returns the script's path.

    The script is self-contained: it holds the same builder as :func:`build_from_arrays`.
    The folder is written in a hidden staging sibling and swapped into place in one step
    (:func:`encephagen.atomic_files.atomic_directory`): killed at any moment, ``outdir`` is the old
    export, whole, or the new one, whole.
    """
    from .._version import __version__
    from ..atomic_files import atomic_directory

    outdir = Path(outdir)
    if outdir.exists() and not overwrite:
        raise SimulationError(f"{outdir}: already exists; choose another directory or pass overwrite=True")
    with atomic_directory(outdir, overwrite=overwrite) as tmp:
        arrays = network_arrays(network, seed=seed)
        np.savez_compressed(tmp / "network.npz", **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle
        script = _SCRIPT.format(
            name=network.circuit.name,
            version=network.circuit.version,
            encephagen=__version__,
            duration_ms=float(duration_ms),
            seed=int(seed),
            builder=inspect.getsource(build_from_arrays),
        )
        (tmp / "run_brian2.py").write_text(script)
        (tmp / "README.json").write_text(
            json.dumps(
                {
                    "circuit": network.circuit.name,
                    "version": network.circuit.version,
                    "neurons": network.n_neurons,
                    "synapses": network.n_synapses,
                    "dt_ms": network.dt,
                },
                indent=2,
            )
            + "\n"
        )
    log.info("wrote Brian2 export to %s", outdir)
    return outdir / "run_brian2.py"


def _require_brian2() -> None:
    try:
        import brian2  # noqa: F401
    except ImportError:
        raise MissingDependencyError("brian2", "Brian2 interop", extra="peers") from None
