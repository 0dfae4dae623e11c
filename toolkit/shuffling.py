"""Controls that break a circuit's wiring while keeping its ingredients.

A rhythm that comes from the wiring must disappear when the wiring is scrambled but the
parts stay the same. :func:`shuffle_projections` keeps every population, every neuron
model, every drive and every synapse's source and weight, and sends each synapse to a
target neuron drawn at random from the whole circuit: the synapse count, the weight
distribution, each neuron's out-degree and Dale's law are unchanged; only who talks to whom
is lost. (Lesions — removing populations or projections — are :func:`encephagen.compiler.lesion`.)
"""

from __future__ import annotations

import logging

import numpy as np

from .compiler import connect
from .errors import CompileError, Problem
from .schema import Circuit, EdgeList, Projection

log = logging.getLogger(__name__)


def shuffle_projections(circuit: Circuit, seed: int) -> Circuit:
    """A copy of ``circuit`` whose synapses go to random targets (same counts and weights).

    Every projection is expanded into its synapses (the same rule the compiler uses), each
    synapse keeps its source neuron and weight, and gets a target drawn uniformly from all
    neurons of the circuit except its own source (no autapses). The synapses are written back
    as ``edge_list`` projections named ``<projection>~<target population>``, one per
    projection and new target population, with the original weight (or parameter reference,
    so calibration parameters keep their meaning) and delay. Readouts are kept.

    Parameters
    ----------
    circuit
        The circuit to scramble (matrix projections are not supported).
    seed
        Seed of the random targets: the same seed gives the same shuffled circuit.

    Returns
    -------
    Circuit
        The shuffled circuit, named ``<name>_shuffled``.

    Examples
    --------
    >>> from encephagen import load_circuit
    >>> c = load_circuit("half_centre")
    >>> s = shuffle_projections(c, seed=1)
    >>> from encephagen.compiler import compile_circuit
    >>> compile_circuit(c).n_synapses == compile_circuit(s).n_synapses
    True
    """
    if circuit.matrix_projections:
        raise CompileError(
            [
                Problem(
                    str(circuit.source_path or circuit.name),
                    "/matrix_projections",
                    "shuffling matrix projections is not supported",
                    "Shuffle circuits built from projections",
                )
            ]
        )
    rng = np.random.default_rng(seed)
    names = list(circuit.populations)
    sizes = np.array([int(round(circuit.resolve(circuit.populations[p].size))) for p in names])
    starts = np.concatenate([[0], np.cumsum(sizes)])
    n_total = int(starts[-1])
    shuffled: dict[str, Projection] = {}
    for name, proj in circuit.projections.items():
        n_src = int(sizes[names.index(proj.source)])
        n_tgt = int(sizes[names.index(proj.target)])
        pre, post, factor = connect(proj.rule, n_src, n_tgt, same=proj.source == proj.target, resolve=circuit.resolve)
        factor = np.broadcast_to(np.asarray(factor, float), pre.shape)
        if proj.weight_mode == "source_size":
            factor = factor / n_src
        elif proj.weight_mode == "total":
            factor = factor / np.bincount(post, weights=factor, minlength=n_tgt)[post]
        source_global = starts[names.index(proj.source)] + pre
        target = rng.integers(0, n_total - 1, size=pre.size)
        target = target + (target >= source_global)  # skip the source neuron itself
        population = np.searchsorted(starts, target, side="right") - 1
        for p in np.unique(population):
            pick = population == p
            shuffled[f"{name}~{names[p]}"] = Projection(
                source=proj.source,
                target=names[p],
                rule=EdgeList(
                    kind="edge_list",
                    source_index=pre[pick].tolist(),
                    target_index=(target[pick] - starts[p]).tolist(),
                    weight_factor=factor[pick].tolist(),
                ),
                weight=proj.weight,
                weight_mode="per_synapse",
                delay=proj.delay,
                description=f"shuffled from {name} (seed {seed})",
            )
    log.info(
        "shuffled %d projections of %s into %d edge lists (seed %d)",
        len(circuit.projections),
        circuit.name,
        len(shuffled),
        seed,
    )
    return circuit.model_copy(update={"name": f"{circuit.name}_shuffled", "projections": shuffled})
