"""Compile a circuit into a back-end-neutral network: sparse weights, per-neuron vectors, delays.

Orientation: the weight matrix is ``W[post, pre]`` (CSR, float64, mV: a
:class:`~encephagen.synapse_matrix.SynapseMatrix`), so the synaptic input to every neuron is
``W @ spikes``. Entries may repeat when two projections connect the same pair of neurons;
``W @ spikes`` sums them. The 3-neuron chain below proves it: only A is
driven, A -> B -> C, and B and C fire; reversing the projections silences them.

>>> from encephagen.schema import Circuit
>>> def chain(edges):
...     return Circuit.model_validate({
...         "schema_version": "1", "name": "chain", "version": "1.0.0",
...         "neuron_models": {"lif": {"tau_m": 10.0, "v_threshold": 10.0}},
...         "cell_classes": {"exc": {"transmitter": "glutamate"}},
...         "populations": {p: {"cell_class": "exc", "size": 1, "neuron_model": "lif",
...                             "drive": 20.0 if p == "A" else 0.0} for p in "ABC"},
...         "projections": {f"{s}->{t}": {"source": s, "target": t, "rule": {"kind": "all_to_all"},
...                                        "weight": 30.0} for s, t in edges}})
>>> net = compile_circuit(chain([("A", "B"), ("B", "C")]))
>>> net.weights.toarray()          # row = post (A, B, C), column = pre
array([[ 0.,  0.,  0.],
       [30.,  0.,  0.],
       [ 0., 30.,  0.]])
>>> from encephagen.simulation import simulate
>>> def fires(net):
...     counts = simulate(net, 200.0, seeds=0).population_counts.sum(axis=1)[0]
...     return [bool(n > 0) for n in counts]
>>> fires(net)
[True, True, True]
>>> fires(compile_circuit(chain([("B", "A"), ("C", "B")])))
[True, False, False]

Named parameters enter the arrays linearly (``entry = constant + sum(value * coefficient)``),
recorded in :attr:`CompiledNetwork.parameter_map`, so a new value is applied without
recompiling (:meth:`CompiledNetwork.apply`, :meth:`CompiledNetwork.batch`). Parameters that
change the structure (sizes, probabilities, delays, in-degrees, matrix transforms) are
marked structural: changing them needs a new :func:`compile_circuit`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from .errors import CompileError, Problem, UnknownNameError
from .matrices import matrix_parts, matrix_probability
from .schema import Circuit, MatrixValue, ParamRef, Readout, UniformRange
from .synapse_matrix import SynapseMatrix

log = logging.getLogger(__name__)

DEFAULT_DT = 0.1
"""Integration step (ms) used when none is given."""
NEURON_MODEL_FIELDS = (
    "tau_m",
    "v_threshold",
    "v_reset",
    "v_rest",
    "t_ref",
    "tau_syn_exc",
    "tau_syn_inh",
    "adaptation",
    "tau_adaptation",
    "noise_sigma",
)
POPULATION_FIELDS = ("drive", "poisson_rate", "poisson_weight", "initial_v_low", "initial_v_high")
NEURON_FIELDS = NEURON_MODEL_FIELDS + POPULATION_FIELDS
"""Names of the per-neuron vectors of a compiled network (units as in the schema: ms, mV, Hz)."""
_PLACED = np.empty(0, dtype=np.int64)
"""What a synapse chunk is replaced with once it is in the CSR arrays, so that its memory is freed."""


@dataclass(frozen=True)
class ParamTarget:
    """How one named parameter enters the compiled arrays.

    kind 'weight': ``weights.data[indices] += value * coefficients``;
    kind 'neuron': ``neuron[field][indices] += value * coefficients``;
    kind 'structural': the parameter shapes the network (``where`` says how); recompile to change it.
    """

    kind: str
    indices: np.ndarray
    coefficients: np.ndarray
    field: str = ""
    where: str = ""


@dataclass(frozen=True)
class ParameterSet:
    """Arrays of one parameter setting: CSR-ordered weights and the per-neuron vectors."""

    weights_data: np.ndarray
    neuron: dict[str, np.ndarray]


@dataclass(frozen=True)
class ParameterBatch:
    """B parameter settings of the same network, stacked as lanes: (B, nnz) and (B, N)."""

    weights_data: np.ndarray
    neuron: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        return self.weights_data.shape[0]


@dataclass(frozen=True)
class CompiledNetwork:
    """A circuit built into arrays; the simulator's only input besides seeds and options."""

    circuit: Circuit
    dt: float
    weights: SynapseMatrix
    delays: np.ndarray
    neuron: dict[str, np.ndarray]
    population_names: list[str]
    population_slices: dict[str, slice]
    population_index: np.ndarray
    projection_synapses: dict[str, np.ndarray]
    readouts: dict[str, Readout]
    parameter_map: dict[str, list[ParamTarget]]
    _constant_weights: np.ndarray = field(repr=False)
    _constant_neuron: dict[str, np.ndarray] = field(repr=False)

    @property
    def n_neurons(self) -> int:
        return self.weights.shape[0]

    @property
    def n_synapses(self) -> int:
        return self.weights.nnz

    @property
    def max_delay(self) -> int:
        return int(self.delays.max()) if self.delays.size else 1

    def parameter_values(self) -> dict[str, float]:
        return {name: p.value for name, p in self.circuit.parameters.items()}

    def apply(self, values: Mapping[str, float]) -> ParameterSet:
        """Arrays for the compiled parameter values with ``values`` replacing some of them."""
        settings = self.parameter_values()
        for name, value in values.items():
            if name not in settings:
                raise UnknownNameError("parameter", name, settings)
            if any(t.kind == "structural" for t in self.parameter_map.get(name, [])) and value != settings[name]:
                where = "; ".join(t.where for t in self.parameter_map[name] if t.kind == "structural")
                raise CompileError(
                    [
                        Problem(
                            str(self.circuit.source_path or self.circuit.name),
                            f"/parameters/{name}",
                            f"parameter {name!r} is structural ({where})",
                            "Change it in the circuit and compile again",
                        )
                    ]
                )
            settings[name] = float(value)
        weights = self._constant_weights.copy()
        neuron = {k: v.copy() for k, v in self._constant_neuron.items()}
        for name, targets in self.parameter_map.items():
            for target in targets:
                if target.kind == "weight":
                    np.add.at(weights, target.indices, settings[name] * target.coefficients)
                elif target.kind == "neuron":
                    np.add.at(neuron[target.field], target.indices, settings[name] * target.coefficients)
        return ParameterSet(weights, neuron)

    def batch(self, sets: Sequence[Mapping[str, float]]) -> ParameterBatch:
        """Stack several parameter settings as lanes for one batched simulation."""
        applied = [self.apply(s) for s in sets]
        if not applied:
            raise ValueError("a batch needs at least one parameter set")
        return ParameterBatch(
            np.stack([a.weights_data for a in applied]),
            {k: np.stack([a.neuron[k] for a in applied]) for k in NEURON_FIELDS},
        )

    def __repr__(self) -> str:
        """One line, not the arrays (the dataclass default prints every weight)."""
        return (
            f"<CompiledNetwork {self.circuit.name} {self.circuit.version}: {self.n_neurons:,} neurons, "
            f"{self.n_synapses:,} synapses, {len(self.population_names)} populations, dt {self.dt:g} ms>"
        )

    def _repr_html_(self) -> str:
        import html

        free = sum(p.free for p in self.circuit.parameters.values())
        return (
            f"<b>CompiledNetwork</b> {html.escape(self.circuit.name)} {html.escape(self.circuit.version)}: "
            f"{self.n_neurons:,} neurons, {self.n_synapses:,} synapses, {len(self.population_names)} populations, "
            f"max delay {self.max_delay} steps, dt {self.dt:g} ms, {free} free parameters"
        )


COMPILE_BYTES_PER_SYNAPSE = 40
"""Peak bytes per synapse of compiling (the builder's measured peak is ~37: int32 chunks, the CSR
arrays, delays, the constant copy, the insertion rank and the per-projection index)."""
COMPILE_BYTES_PER_NEURON = 1024
"""Peak bytes per neuron of compiling (16 parameter vectors, their constant copies, slack)."""


def compile_memory_estimate(circuit: Circuit) -> tuple[int, float]:
    """(bytes compiling will need at its peak, expected synapses), from sizes and probabilities
    only (nothing is drawn); the synapse count is taken six binomial standard deviations high."""
    from .rules import estimate_size

    size = estimate_size(circuit)
    synapses = size.synapses + 6.0 * size.synapses**0.5
    largest = max((round(circuit.resolve(pop.size)) for pop in circuit.populations.values()), default=0)
    draw = 16 * min(largest * largest, CHOICE_PAIRS)  # numpy's choice shuffles every candidate pair of one draw
    return int(COMPILE_BYTES_PER_SYNAPSE * synapses + COMPILE_BYTES_PER_NEURON * size.neurons + draw), synapses


def whole_steps(delay_ms, dt: float) -> np.ndarray:
    """Delays (ms) as the whole number of steps of ``dt`` they act with: the nearest, at least one."""
    return np.maximum(1, np.rint(np.asarray(delay_ms, dtype=float) / dt)).astype(np.int32)


def compile_circuit(
    circuit: Circuit, *, dt: float | None = None, base_dir: Path | None = None, memory_limit: int | None = None
) -> CompiledNetwork:
    """Build a circuit into a :class:`CompiledNetwork` (see the module docstring for conventions).

    Parameters
    ----------
    circuit
        A validated circuit (``load_circuit`` checks the rules; a circuit built in code is
        compiled as it is).
    dt
        Integration step in ms; delays are rounded to whole steps (at least one). Default 0.1.
    base_dir
        Folder against which array files are resolved; default: the circuit file's folder.
    memory_limit
        Refuse, before allocating anything, a circuit whose compile would exceed this many
        bytes; default: ``ENCEPHAGEN_MEMORY_LIMIT`` or else the system's available memory.
    """
    if dt is None:
        dt = DEFAULT_DT
        log.info("dt = %s ms (default)", dt)
    if not dt > 0:
        raise ValueError(f"dt must be positive; got {dt}")
    if base_dir is None:
        base_dir = Path(circuit.source_path).parent if circuit.source_path else Path.cwd()
    _check_compile_memory(circuit, memory_limit)
    return _Builder(circuit, float(dt), Path(base_dir)).build()


def _check_compile_memory(circuit: Circuit, limit: int | None) -> None:
    from .simulation import MEMORY_LIMIT_ENV, memory_limit_bytes

    if limit is None:
        limit, source = memory_limit_bytes()
    else:
        source = "memory_limit argument"
    if limit is None:
        return
    needed, synapses = compile_memory_estimate(circuit)
    if needed > limit:

        def gib(b: float) -> str:
            return f"{b / 1024**3:.2f} GiB"

        raise CompileError(
            [
                Problem(
                    str(circuit.source_path or circuit.name),
                    "/populations",
                    f"compiling needs about {gib(needed)} (~{synapses:,.0f} synapses at {COMPILE_BYTES_PER_SYNAPSE} bytes each) "
                    f"but the limit is {gib(limit)} ({source})",
                    f"Shrink the populations or connection probabilities, or raise the limit with {MEMORY_LIMIT_ENV}=<bytes> "
                    "if the memory really is there",
                )
            ]
        )


class _Builder:
    def __init__(self, circuit: Circuit, dt: float, base_dir: Path):
        self.c, self.dt, self.base_dir = circuit, dt, base_dir
        self.slices: dict[str, slice] = {}
        start = 0
        for name, pop in circuit.populations.items():
            size = int(round(circuit.resolve(pop.size)))
            self.slices[name] = slice(start, start + size)
            start += size
        self.n = start
        self.neuron = {f: np.zeros(self.n) for f in NEURON_FIELDS}
        self.pmap: dict[str, list[ParamTarget]] = {}
        # synapses in insertion order; made CSR-ordered at the end
        self.pre: list[np.ndarray] = []
        self.post: list[np.ndarray] = []
        self.value: list[np.ndarray] = []  # per chunk of synapses: one value each, or one (0-d) for them all
        self.delay: list[np.ndarray] = []  # the same for delays
        self.owner: dict[str, list[tuple[int, int]]] = {}
        self.weight_refs: list[tuple[str, int, np.ndarray]] = []  # (param, first insertion index, coefficients)
        self.count = 0
        self.structural("size", (pop.size for pop in circuit.populations.values()))

    # ------------------------------------------------------------------ parameters

    def structural(self, where: str, values: Iterable[object]) -> None:
        for value in values:
            if isinstance(value, ParamRef):
                self.pmap.setdefault(value.param, []).append(
                    ParamTarget("structural", np.empty(0, np.int64), np.empty(0), where=where)
                )

    def set_field(self, fieldname: str, indices: np.ndarray, value: Any, scale: float = 1.0) -> None:
        if isinstance(value, list):  # a sum of Values (a drive with several terms)
            for term in value:
                self.set_field(fieldname, indices, term, scale)
            return
        if isinstance(value, ParamRef):
            self.pmap.setdefault(value.param, []).append(
                ParamTarget("neuron", indices, np.full(indices.size, value.factor * scale), field=fieldname)
            )
        else:
            self.neuron[fieldname][indices] += float(value) * scale

    # ------------------------------------------------------------------ build

    def build(self) -> CompiledNetwork:
        for name, pop in self.c.populations.items():
            self.population(name, pop)
        for name, proj in self.c.projections.items():
            self.projection(name, proj)
        for name, mproj in self.c.matrix_projections.items():
            self.matrix_projection(name, mproj)
        return self.finish()

    def population(self, name: str, pop) -> None:
        idx = np.arange(self.slices[name].start, self.slices[name].stop)
        model = self.c.neuron_models[pop.neuron_model]
        for fieldname in NEURON_MODEL_FIELDS:
            self.set_field(fieldname, idx, getattr(model, fieldname))
        self.set_field("drive", idx, pop.drive)
        if pop.poisson_input is not None:
            self.set_field("poisson_rate", idx, pop.poisson_input.rate, scale=pop.poisson_input.sources)
            self.set_field("poisson_weight", idx, pop.poisson_input.weight)
        initial = pop.initial_v
        if initial is None:
            low = high = model.v_rest
        elif isinstance(initial, UniformRange):
            low, high = initial.uniform
        else:
            low = high = initial
        self.set_field("initial_v_low", idx, low)
        self.set_field("initial_v_high", idx, high)

    def delay_steps(self, delay_ms: np.ndarray, where: str) -> np.ndarray:
        steps = whole_steps(delay_ms, self.dt)
        off = np.abs(steps * self.dt - delay_ms)
        if np.any(off > 1e-9 * np.maximum(1.0, np.abs(delay_ms))):
            log.info(
                "%s: delays rounded to whole steps of %s ms (largest change %.3g ms)", where, self.dt, float(off.max())
            )
        return steps

    def add_synapses(
        self,
        owner: str,
        pre: np.ndarray,
        post: np.ndarray,
        value: np.ndarray | float,
        delay_steps: np.ndarray,
        weight: object,
        coefficient: np.ndarray | float,
    ) -> None:
        """Append synapses; ``value`` is the weight without its parameter part, ``coefficient`` its multiplier
        (each one per synapse, or one for them all)."""
        first = self.count
        # int32 indices, and a constant value or delay kept once for the chunk (finish() broadcasts it):
        # ~8 bytes per synapse until finish(), and no broadcast view per chunk (a cortex adds 12,800 chunks)
        self.pre.append(np.asarray(pre).astype(np.int32, copy=False))
        self.post.append(np.asarray(post).astype(np.int32, copy=False))
        self.value.append(np.asarray(value).astype(float, copy=False))
        self.delay.append(np.asarray(delay_steps).astype(np.int32, copy=False))
        self.count += pre.size
        self.owner.setdefault(owner, []).append((first, self.count))
        if isinstance(weight, ParamRef):
            product = coefficient * weight.factor
            coefficients = np.full(pre.shape, product) if np.ndim(product) == 0 else np.asarray(product)
            self.weight_refs.append((weight.param, first, coefficients))

    def projection(self, name: str, proj) -> None:
        c = self.c
        src, tgt = self.slices[proj.source], self.slices[proj.target]
        n_src, n_tgt = src.stop - src.start, tgt.stop - tgt.start
        pre, post, factor = connect(proj.rule, n_src, n_tgt, same=proj.source == proj.target, resolve=c.resolve)
        self.structural(f"projection {name} rule", [getattr(proj.rule, "probability", None)])
        self.structural(f"projection {name} delay", [proj.delay])
        if proj.weight_mode == "total":  # each target receives exactly `weight` from the synapses it has
            factors = np.broadcast_to(np.asarray(factor, float), pre.shape)
            received = np.bincount(post, weights=factors, minlength=n_tgt)[post]
            scale = np.divide(factors, received, out=np.zeros(pre.shape), where=received != 0)
        else:
            scale = factor / n_src if proj.weight_mode == "source_size" else factor
        if isinstance(proj.weight, ParamRef):
            value, coefficient = np.zeros(pre.size), scale
        else:
            value, coefficient = float(proj.weight) * scale, np.zeros(pre.size)
        delay = self.delay_steps(np.float64(c.resolve(proj.delay)), f"projection {name}")
        self.add_synapses(
            name,
            pre + src.start,
            post + tgt.start,
            np.broadcast_to(value, pre.shape),
            delay,
            proj.weight,
            np.broadcast_to(coefficient, pre.shape),
        )

    def matrix(
        self, value: MatrixValue, shape: tuple[int, int], where: str
    ) -> tuple[np.ndarray, np.ndarray, str | None]:
        """:func:`matrix_parts`, recording the parameters that change its structure."""
        self.structural(f"{where} divisor", [value.divisor])
        self.structural(f"{where} offset", [value.offset])
        return matrix_parts(self.c, value, shape, where, self.base_dir)

    def matrix_projection(self, name: str, mproj) -> None:
        c, shape = self.c, (len(mproj.targets), len(mproj.sources))
        base = f"/matrix_projections/{name}"
        self.structural(f"{base}/probability divisor", [mproj.probability.divisor])
        self.structural(f"{base}/probability offset", [mproj.probability.offset])
        self.structural(f"matrix projection {name} probability", [mproj.probability.scale])
        probability = matrix_probability(c, name, self.base_dir)
        w_const, w_lin, w_param = self.matrix(mproj.weight, shape, f"{base}/weight")
        if isinstance(mproj.delay, MatrixValue):
            d_const, d_lin, d_param = self.matrix(mproj.delay, shape, f"{base}/delay")
            if d_param is not None:
                d_const = d_const + d_lin * c.parameters[d_param].value
                self.structural(f"matrix projection {name} delay", [mproj.delay.scale])
            delay_ms = d_const
        else:
            self.structural(f"matrix projection {name} delay", [mproj.delay])
            delay_ms = np.full(shape, float(c.resolve(mproj.delay)))
        delay_steps = self.delay_steps(delay_ms, f"matrix projection {name}")
        seeds = np.random.SeedSequence(mproj.seed)
        pair_seeds = seeds.spawn(shape[0] * shape[1])
        weight = ParamRef(param=w_param, factor=1.0) if w_param is not None else None  # the same for every pair
        for t, target in enumerate(mproj.targets):
            tgt = self.slices[target]
            for s, source in enumerate(mproj.sources):
                if (mproj.skip_diagonal and s == t) or probability[t, s] <= 0:
                    continue
                src = self.slices[source]
                rng = np.random.default_rng(pair_seeds[t * shape[1] + s])
                n_src, n_tgt = src.stop - src.start, tgt.stop - tgt.start
                pre, post = bernoulli_pairs(
                    rng, n_src, n_tgt, float(probability[t, s]), exclude_diagonal=source == target
                )
                if pre.size == 0:
                    continue
                self.add_synapses(
                    name,
                    pre + src.start,
                    post + tgt.start,
                    float(w_const[t, s]),
                    delay_steps[t, s],
                    weight,
                    float(w_lin[t, s]),
                )

    def finish(self) -> CompiledNetwork:
        """Pack the synapses as CSR ordered by post, then pre, then insertion, in place: a counting
        sort by post and a stable sort by pre within each row, so that the peak stays near 37
        bytes per synapse (the network keeps 28) instead of the ~110 of sorting copies."""
        n, total = self.n, self.count
        indptr = np.zeros(n + 1, dtype=np.int64)
        for post in self.post:
            indptr[1:] += np.bincount(post, minlength=n)
        np.cumsum(indptr, out=indptr)
        indices = np.empty(total, dtype=np.int32)
        source = np.empty(total, dtype=np.int64)
        fill = indptr[:-1].copy()
        sizes = [pre.size for pre in self.pre]  # synapses per chunk, for the values and delays below
        first = 0
        for c, size in enumerate(sizes):
            _scatter_rows(self.pre[c], self.post[c], first, fill, indices, source)
            first += size
            self.pre[c] = self.post[c] = _PLACED  # free each chunk as soon as it is placed
        del fill
        _release_free_memory()
        _sort_rows(indptr, indices, source)
        rank = np.empty(total, dtype=np.int64)  # insertion index -> CSR position
        _invert(source, rank)
        del source
        constant = np.empty(total)
        delays = np.empty(total, dtype=np.int32)
        first = 0
        where: np.ndarray | None = None
        for value, delay, size in zip(self.value, self.delay, sizes, strict=True):
            where = rank[first : first + size]
            constant[where] = value
            delays[where] = delay
            first += size
        where = None  # a view of rank, which must not outlive it
        self.value, self.delay = [], []
        weights = SynapseMatrix(constant.copy(), indices, indptr, (n, n))
        for param, first, coefficients in self.weight_refs:
            indices_of = rank[first : first + coefficients.size].copy()
            self.pmap.setdefault(param, []).append(ParamTarget("weight", indices_of, np.asarray(coefficients, float)))
        projection_synapses = {}
        mask: np.ndarray | None = None
        for name, spans in self.owner.items():
            mask = np.zeros(total, dtype=bool)
            for a, b in spans:
                mask[rank[a:b]] = True
            out = np.empty(np.count_nonzero(mask), dtype=np.int32 if total < 2**31 else np.int64)
            projection_synapses[name] = _positions(mask, out)
        mask = None
        del rank
        constant_neuron = {k: v.copy() for k, v in self.neuron.items()}
        population_index = np.zeros(self.n, dtype=np.int32)
        for i, sl in enumerate(self.slices.values()):
            population_index[sl] = i
        network = CompiledNetwork(
            circuit=self.c,
            dt=self.dt,
            weights=weights,
            delays=delays,
            neuron=self.neuron,
            population_names=list(self.slices),
            population_slices=dict(self.slices),
            population_index=population_index,
            projection_synapses=projection_synapses,
            readouts=dict(self.c.readouts),
            parameter_map=self.pmap,
            _constant_weights=constant,
            _constant_neuron=constant_neuron,
        )
        # what apply({}) computes, in place (same operations, same order): no third copy of the weights
        settings = network.parameter_values()
        for name, targets in self.pmap.items():
            for target in targets:
                if target.kind == "weight":
                    np.add.at(weights.data, target.indices, settings[name] * target.coefficients)
                elif target.kind == "neuron":
                    np.add.at(network.neuron[target.field], target.indices, settings[name] * target.coefficients)
        return network


def _release_free_memory() -> None:
    """Give the pages of freed small arrays back to the system: glibc keeps them in the heap, where
    the chunks of a large circuit (~8 bytes per synapse) would stay resident through the packing."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@njit(cache=True)
def _scatter_rows(pre, post, first, fill, indices, source):
    """Place a chunk of synapses in their rows (insertion order within a row is kept)."""
    for k in range(pre.shape[0]):
        position = fill[post[k]]
        fill[post[k]] = position + 1
        indices[position] = pre[k]
        source[position] = first + k


@njit(cache=True)
def _sort_rows(indptr, indices, source):
    """Within each row, order the entries by pre, stably (ties stay in insertion order)."""
    for row in range(indptr.shape[0] - 1):
        a, b = indptr[row], indptr[row + 1]
        ordered = True
        for k in range(a + 1, b):
            if indices[k] < indices[k - 1]:
                ordered = False
                break
        if ordered:
            continue
        order = np.argsort(indices[a:b], kind="mergesort")
        indices[a:b] = indices[a:b][order]
        source[a:b] = source[a:b][order]


@njit(cache=True)
def _invert(source, rank):
    for position in range(source.shape[0]):
        rank[source[position]] = position


@njit(cache=True)
def _positions(mask, out):
    """Fill ``out`` with the indices where mask is set, ascending (int32 when they fit: 4 bytes per synapse)."""
    j = 0
    for k in range(mask.shape[0]):
        if mask[k]:
            out[j] = k
            j += 1
    return out


# --------------------------------------------------------------------------- connection rules


def connect(rule, n_src: int, n_tgt: int, *, same: bool, resolve) -> tuple[np.ndarray, np.ndarray, np.ndarray | float]:
    """(pre, post, per-synapse weight factor) for one projection, in population-local indices."""
    if rule.kind == "all_to_all":
        grid_pre, grid_post = np.meshgrid(np.arange(n_src), np.arange(n_tgt), indexing="xy")
        pre, post = grid_pre.ravel(), grid_post.ravel()
        if same and not rule.autapses:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        return pre, post, 1.0
    if rule.kind == "one_to_one":
        return np.arange(n_src), np.arange(n_tgt), 1.0
    if rule.kind == "fixed_probability":
        rng = np.random.default_rng(rule.seed)
        p = float(resolve(rule.probability))
        pre, post = bernoulli_pairs(rng, n_src, n_tgt, p, exclude_diagonal=same and not rule.autapses)
        return pre, post, 1.0
    if rule.kind == "fixed_indegree":
        rng = np.random.default_rng(rule.seed)
        k = rule.indegree
        exclude = same and not rule.autapses
        pre = np.empty(n_tgt * k, dtype=np.int64)
        for target in range(n_tgt):
            candidates = n_src - 1 if exclude else n_src
            chosen = rng.choice(candidates, size=k, replace=False)
            if exclude:
                chosen = chosen + (chosen >= target)
            pre[target * k : (target + 1) * k] = np.sort(chosen)
        return pre, np.repeat(np.arange(n_tgt), k), 1.0
    factor = np.asarray(rule.weight_factor, float) if rule.weight_factor is not None else 1.0
    return np.asarray(rule.source_index, np.int64), np.asarray(rule.target_index, np.int64), factor


CHOICE_PAIRS = 2**25
"""Candidate pairs up to which :func:`bernoulli_pairs` draws with ``rng.choice`` (the draws every
circuit compiled so far was built with); beyond, numpy's choice would allocate every pair, so
the pairs are drawn by geometric gaps instead (the same law, O(synapses) time and memory)."""


def bernoulli_pairs(
    rng: np.random.Generator, n_src: int, n_tgt: int, p: float, *, exclude_diagonal: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Each (pre, post) pair independently with probability p, drawn in O(synapses).

    Up to :data:`CHOICE_PAIRS` candidate pairs the synapse count is drawn from its binomial law
    and that many distinct pairs are chosen uniformly; beyond, the gaps between chosen pairs
    are drawn from their geometric law. Both are the law of a coin per pair.
    """
    pairs = n_src * (n_tgt - 1) if exclude_diagonal else n_src * n_tgt
    if pairs <= 0 or p <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if p >= 1:
        flat = np.arange(pairs)
    elif pairs <= CHOICE_PAIRS:
        count = int(rng.binomial(pairs, p))
        flat = np.sort(rng.choice(pairs, size=count, replace=False))
    else:
        flat = _geometric_pairs(rng, pairs, p)
    if exclude_diagonal:
        pre, col = np.divmod(flat, n_tgt - 1)
        post = col + (col >= pre)
    else:
        pre, post = np.divmod(flat, n_tgt)
    return pre.astype(np.int64), post.astype(np.int64)


def _geometric_pairs(rng: np.random.Generator, pairs: int, p: float) -> np.ndarray:
    """Sorted indices in [0, pairs), each present with probability p: cumulative geometric gaps."""
    pieces = []
    last = -1
    while True:
        expected = (pairs - 1 - last) * p
        gaps = rng.geometric(p, size=int(expected + 6.0 * expected**0.5 + 64))
        flat = last + np.cumsum(gaps)
        del gaps
        if flat[-1] >= pairs:
            pieces.append(flat[: np.searchsorted(flat, pairs)])
            break
        pieces.append(flat)
        last = int(flat[-1])
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


# --------------------------------------------------------------------------- lesions


def lesion(circuit: Circuit, names: Iterable[str]) -> Circuit:
    """A copy of the circuit without the named populations and/or projections.

    Removing a population removes every projection, matrix-projection member and readout
    term that touches it. Names may be population or projection names; a cell-class name
    removes every population of that class (``V0d`` removes ``L_V0d`` and ``R_V0d``).
    """
    names = [n for n in (s.strip() for s in names) if n]
    populations = set()
    projections = set()
    for name in names:
        if name in circuit.populations:
            populations.add(name)
        elif name in circuit.projections or name in circuit.matrix_projections:
            projections.add(name)
        elif name in circuit.cell_classes:
            populations.update(p for p, pop in circuit.populations.items() if pop.cell_class == name)
        else:
            known = [*circuit.populations, *circuit.projections, *circuit.matrix_projections, *circuit.cell_classes]
            raise UnknownNameError("population, projection or cell class", name, known)
    if populations == set(circuit.populations):
        raise CompileError(
            [
                Problem(
                    str(circuit.source_path or circuit.name), "/populations", "a lesion may not remove every population"
                )
            ]
        )
    keep_pops = {k: v for k, v in circuit.populations.items() if k not in populations}
    keep_proj = {
        k: v
        for k, v in circuit.projections.items()
        if k not in projections and v.source not in populations and v.target not in populations
    }
    keep_matrix = {}
    for k, m in circuit.matrix_projections.items():
        if k in projections:
            continue
        if populations & (set(m.sources) | set(m.targets)):
            raise CompileError(
                [
                    Problem(
                        str(circuit.source_path or circuit.name),
                        f"/matrix_projections/{k}",
                        "cannot lesion a population that is a member of a matrix projection",
                        "Lesion the matrix projection as a whole",
                    )
                ]
            )
        keep_matrix[k] = m
    readouts = {}
    for k, r in circuit.readouts.items():
        terms = [t for t in r.terms if t.population not in populations]
        if terms:
            readouts[k] = r.model_copy(update={"terms": terms})
    lesioned = circuit.model_copy(
        update={
            "populations": keep_pops,
            "projections": keep_proj,
            "matrix_projections": keep_matrix,
            "readouts": readouts,
        }
    )
    log.info(
        "lesioned %s: removed populations %s and projections %s", circuit.name, sorted(populations), sorted(projections)
    )
    return lesioned
