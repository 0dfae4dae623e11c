"""Circuit rules: the second validation layer, after the schema's structure.

Everything that needs more than one field to judge lives here, in one place: references
resolve, names are unique, projections obey Dale's law, probabilities are probabilities,
free parameters contain their value, referenced arrays exist with the declared shape and
checksum, and the circuit is small enough to build. All problems are returned at once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

from .errors import Problem, did_you_mean, json_pointer
from .schema import ArrayFile, Circuit, MatrixValue, ParamRef

MAX_NEURONS = 50_000_000
MAX_SYNAPSES = 2_000_000_000
"""Circuits estimated beyond these sizes are refused before anything is allocated."""


def check_circuit(circuit: Circuit, file: str, *, base_dir: Path | None = None, check_arrays: bool = True) -> list[Problem]:
    """Every rule violation of a structurally valid circuit, located by JSON pointer."""
    checker = _Checker(circuit, file)
    checker.run(base_dir if check_arrays else None)
    return checker.problems


class _Checker:
    def __init__(self, circuit: Circuit, file: str):
        self.circuit = circuit
        self.file = file
        self.problems: list[Problem] = []

    def add(self, path: list[object], message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.file, json_pointer(path), message, hint))

    def run(self, base_dir: Path | None) -> None:
        c = self.circuit
        self.parameter_values()
        for name, model in c.neuron_models.items():
            self.neuron_model(name, model)
        for name, pop in c.populations.items():
            self.population(name, pop)
        for name, proj in c.projections.items():
            self.projection(name, proj)
        for name, mproj in c.matrix_projections.items():
            self.matrix_projection(name, mproj, base_dir)
        for name, readout in c.readouts.items():
            for i, term in enumerate(readout.terms):
                self.ref("population", term.population, c.populations, ["readouts", name, "terms", i, "population"])
        self.references_to_parameters()
        self.history()
        self.size()

    # ------------------------------------------------------------------ helpers

    def ref(self, kind: str, name: str, known: dict, path: list[object]) -> bool:
        if name in known:
            return True
        self.add(path, f"unknown {kind} {name!r}", _sentence(did_you_mean(name, known)) or f"Define it under /{kind.replace(' ', '_')}s")
        return False

    def value_range(self, value: object, path: list[object]) -> tuple[float, float] | None:
        """Smallest and largest value a Value can take (bounds of a free parameter)."""
        if isinstance(value, ParamRef):
            param = self.circuit.parameters.get(value.param)
            if param is None:
                return None
            if param.free and param.bounds:
                ends = [param.bounds[0] * value.factor, param.bounds[1] * value.factor]
                return min(ends), max(ends)
            return (param.value * value.factor,) * 2
        return (float(value), float(value))

    def positive(self, value: object, path: list[object], what: str, allow_zero: bool = False) -> None:
        span = self.value_range(value, path)
        if span is None:
            return
        low = span[0]
        if low < 0 or (low == 0 and not allow_zero):
            bound = "≥ 0" if allow_zero else "> 0"
            self.add(path, f"{what} must be {bound}" + (" over the whole calibration range" if isinstance(value, ParamRef) else ""), f"got {low:g}")

    # ------------------------------------------------------------------ rules

    def parameter_values(self) -> None:
        for name, param in self.circuit.parameters.items():
            if param.bounds is not None and not param.bounds[0] <= param.value <= param.bounds[1]:
                self.add(["parameters", name, "value"], f"value {param.value:g} lies outside its bounds {param.bounds}", "Move the value inside the bounds or widen them")

    def neuron_model(self, name: str, model) -> None:
        base = ["neuron_models", name]
        for field in ("tau_m", "tau_syn_exc", "tau_syn_inh", "tau_adaptation"):
            self.positive(getattr(model, field), base + [field], f"{field} (ms)")
        for field in ("t_ref", "noise_sigma", "adaptation"):
            self.positive(getattr(model, field), base + [field], field, allow_zero=True)
        threshold = self.value_range(model.v_threshold, base)
        reset = self.value_range(model.v_reset, base)
        if threshold and reset and reset[1] >= threshold[0]:
            self.add(base + ["v_reset"], f"v_reset ({reset[1]:g} mV) must lie below v_threshold ({threshold[0]:g} mV)", "Otherwise the neuron fires at every step after its refractory period")

    def population(self, name: str, pop) -> None:
        c, base = self.circuit, ["populations", name]
        self.ref("cell class", pop.cell_class, c.cell_classes, base + ["cell_class"])
        self.ref("neuron model", pop.neuron_model, c.neuron_models, base + ["neuron_model"])
        if isinstance(pop.size, ParamRef) and pop.size.param in c.parameters:
            size = c.resolve(pop.size)
            if size < 1 or size != int(size):
                self.add(base + ["size"], f"size must be a positive whole number; parameter {pop.size.param!r} gives {size:g}")
            if c.parameters[pop.size.param].free:
                self.add(base + ["size"], f"size refers to free parameter {pop.size.param!r}", "Population sizes are structural; calibrate weights, drives and time constants instead")
        if pop.initial_v is not None and not isinstance(pop.initial_v, (int, float)):
            low, high = pop.initial_v.uniform
            if not low < high:
                self.add(base + ["initial_v", "uniform"], f"needs [low, high] with low < high; got {pop.initial_v.uniform}")
        if pop.poisson_input is not None:
            self.positive(pop.poisson_input.rate, base + ["poisson_input", "rate"], "Poisson rate (Hz)", allow_zero=True)

    def sign_of(self, population: str) -> str | None:
        pop = self.circuit.populations.get(population)
        cell = self.circuit.cell_classes.get(pop.cell_class) if pop else None
        return cell.effective_sign if cell else None

    def dale(self, source: str, weight: object, path: list[object]) -> None:
        """Weights from excitatory classes must be ≥ 0 and from inhibitory ones ≤ 0, at every allowed value."""
        sign = self.sign_of(source)
        span = self.value_range(weight, path)
        if sign is None or span is None or sign == "mixed":
            return
        low, high = span
        cell = self.circuit.populations[source].cell_class
        over = " somewhere in its calibration bounds" if isinstance(weight, ParamRef) else ""
        if sign == "excitatory" and low < 0:
            self.add(path, f"negative weight{over} ({low:g}) from {source!r}, whose cell class {cell!r} is excitatory (Dale's law)", "Excitatory sources act through positive weights; to inhibit, route the projection through an inhibitory population")
        if sign == "inhibitory" and high > 0:
            self.add(path, f"positive weight{over} ({high:g}) from {source!r}, whose cell class {cell!r} is inhibitory (Dale's law)", "Inhibitory weights are negative")

    def projection(self, name: str, proj) -> None:
        c, base = self.circuit, ["projections", name]
        ok = self.ref("population", proj.source, c.populations, base + ["source"])
        ok = self.ref("population", proj.target, c.populations, base + ["target"]) and ok
        self.positive(proj.delay, base + ["delay"], "delay (ms)")
        if ok:
            self.dale(proj.source, proj.weight, base + ["weight"])
            self.rule(proj, base + ["rule"])

    def rule(self, proj, path: list[object]) -> None:
        c, rule = self.circuit, proj.rule
        n_source = _size(c, proj.source)
        n_target = _size(c, proj.target)
        if rule.kind == "one_to_one" and n_source != n_target:
            self.add(path, f"one_to_one needs equal sizes; source {proj.source!r} has {n_source}, target {proj.target!r} has {n_target}", "Use all_to_all or fixed_probability, or make the sizes equal")
        if rule.kind == "fixed_probability":
            span = self.value_range(rule.probability, path)
            if span and not (0 <= span[0] and span[1] <= 1):
                self.add(path + ["probability"], f"probability must lie in [0, 1]; got {span[0]:g}..{span[1]:g}")
        if rule.kind == "fixed_indegree":
            available = n_source - (1 if proj.source == proj.target and not rule.autapses else 0)
            if rule.indegree > available:
                self.add(path + ["indegree"], f"indegree {rule.indegree} exceeds the {available} distinct sources available", "Lower the indegree or enlarge the source population")
        if rule.kind == "edge_list":
            for field, limit, pop in (("source_index", n_source, proj.source), ("target_index", n_target, proj.target)):
                indices = getattr(rule, field)
                bad = next((i for i, x in enumerate(indices) if not 0 <= x < limit), None)
                if bad is not None:
                    self.add(path + [field, bad], f"index {indices[bad]} is outside population {pop!r} of size {limit}", f"Indices run from 0 to {limit - 1}")

    def matrix_projection(self, name: str, mproj, base_dir: Path | None) -> None:
        c, base = self.circuit, ["matrix_projections", name]
        known = [self.ref("population", p, c.populations, base + [group, i]) for group in ("sources", "targets") for i, p in enumerate(getattr(mproj, group))]
        if all(known):
            for source in set(mproj.sources):
                self.dale(source, _matrix_sign_probe(mproj.weight), base + ["weight", "scale"])
        shape = [len(mproj.targets), len(mproj.sources)]
        for field in ("probability", "weight", "delay"):
            value = getattr(mproj, field)
            if isinstance(value, MatrixValue):
                self.matrix_value(value, shape, base + [field], base_dir)

    def matrix_value(self, value: MatrixValue, shape: list[int], path: list[object], base_dir: Path | None) -> None:
        if isinstance(value.array, ArrayFile):
            ref = value.array
            if ref.shape != shape:
                self.add(path + ["array", "shape"], f"declared shape {ref.shape} does not match [targets, sources] = {shape}")
            if base_dir is not None:
                self.array_file(ref, base_dir, path + ["array"])
        else:
            rows = value.array
            if len(rows) != shape[0] or any(len(r) != shape[1] for r in rows):
                got = [len(rows), len(rows[0]) if rows else 0]
                self.add(path + ["array"], f"inline array must be [targets][sources] = {shape}; got {got}")
            if value.transform == "log1p" and any(x * value.gain <= -1 for r in rows for x in r):
                self.add(path + ["array"], "log1p needs gain * x > -1 for every entry")

    def array_file(self, ref: ArrayFile, base_dir: Path, path: list[object]) -> None:
        import h5py
        import numpy as np

        file = (base_dir / ref.file).resolve()
        if not file.is_file():
            self.add(path + ["file"], f"array file {ref.file!r} not found (looked at {file})", "Paths are relative to the circuit file")
            return
        try:
            with h5py.File(file, "r") as h5:
                if ref.dataset not in h5:
                    self.add(path + ["dataset"], f"dataset {ref.dataset!r} not in {ref.file}", _sentence(did_you_mean(ref.dataset, _datasets(h5))))
                    return
                data = np.asarray(h5[ref.dataset][()], dtype="<f8")
        except OSError as exc:
            self.add(path + ["file"], f"cannot read {ref.file} as HDF5: {exc}")
            return
        if list(data.shape) != ref.shape:
            self.add(path + ["shape"], f"dataset {ref.dataset!r} has shape {list(data.shape)}, the circuit declares {ref.shape}")
        elif array_checksum(data) != ref.sha256:
            self.add(path + ["sha256"], f"checksum mismatch for {ref.file}:{ref.dataset}; the data changed since the circuit was written", f"got {array_checksum(data)}; re-import the data or update the checksum deliberately")

    def references_to_parameters(self) -> None:
        for path, ref in _param_refs(self.circuit):
            self.ref("parameter", ref.param, self.circuit.parameters, path + ["param"])

    def history(self) -> None:
        versions = [h.version for h in self.circuit.history]
        if versions and versions[-1] != self.circuit.version:
            self.add(["history", len(versions) - 1, "version"], f"last history entry is version {versions[-1]}, the circuit is {self.circuit.version}", "Each new version appends a history entry with its version")

    def size(self) -> None:
        estimate = estimate_size(self.circuit)
        if estimate.neurons > MAX_NEURONS or estimate.synapses > MAX_SYNAPSES:
            self.add([], f"circuit too large: about {estimate.neurons:,} neurons and {estimate.synapses:,.0f} synapses (limits {MAX_NEURONS:,} and {MAX_SYNAPSES:,})", "Split the circuit, lower sizes or probabilities, or export to NEST for a cluster")


def _matrix_sign_probe(weight: MatrixValue):
    """Dale's law on a matrix weight: the sign comes from scale (arrays are non-negative by convention)."""
    return weight.scale


def _size(circuit: Circuit, population: str) -> int:
    return int(circuit.resolve(circuit.populations[population].size))


def _datasets(h5) -> list[str]:
    names: list[str] = []
    h5.visititems(lambda name, obj: names.append("/" + name) if hasattr(obj, "shape") else None)
    return names


def array_checksum(data) -> str:
    """SHA-256 of an array's float64 little-endian C-order bytes (what ArrayFile.sha256 states)."""
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(data, dtype="<f8").tobytes()).hexdigest()


def _param_refs(node: object, path: list[object] | None = None) -> Iterator[tuple[list[object], ParamRef]]:
    from pydantic import BaseModel

    path = path or []
    if isinstance(node, ParamRef):
        yield path, node
    elif isinstance(node, BaseModel):
        for field in type(node).model_fields:
            alias = type(node).model_fields[field].alias or field
            yield from _param_refs(getattr(node, field), path + [alias])
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _param_refs(value, path + [key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _param_refs(value, path + [i])


class SizeEstimate:
    """Neurons, expected synapses and the bytes a compiled network needs, before building it."""

    def __init__(self, neurons: int, synapses: float):
        self.neurons, self.synapses = neurons, synapses

    @property
    def compiled_bytes(self) -> float:
        # CSR: 8 B weight + 4 B index + 2 B delay per synapse; ~20 float64 vectors per neuron
        return self.synapses * 14 + self.neurons * 20 * 8


def estimate_size(circuit: Circuit) -> SizeEstimate:
    """Expected neuron and synapse counts from sizes, rules and probabilities (no arrays read)."""
    sizes = {name: _size(circuit, name) for name, pop in circuit.populations.items() if not isinstance(pop.size, ParamRef) or pop.size.param in circuit.parameters}
    synapses = 0.0
    for proj in circuit.projections.values():
        if proj.source not in sizes or proj.target not in sizes:
            continue
        n_s, n_t = sizes[proj.source], sizes[proj.target]
        rule = proj.rule
        if rule.kind == "all_to_all":
            synapses += n_s * n_t
        elif rule.kind == "one_to_one":
            synapses += n_t
        elif rule.kind == "fixed_probability":
            p = circuit.resolve(rule.probability) if not isinstance(rule.probability, ParamRef) or rule.probability.param in circuit.parameters else 1.0
            synapses += min(max(p, 0.0), 1.0) * n_s * n_t
        elif rule.kind == "fixed_indegree":
            synapses += rule.indegree * n_t
        else:
            synapses += len(rule.source_index)
    for mproj in circuit.matrix_projections.values():
        # upper bound: every pair at probability 1 times the probability scale when it is < 1
        scale = mproj.probability.scale
        p = circuit.resolve(scale) if not isinstance(scale, ParamRef) or scale.param in circuit.parameters else 1.0
        n_s = sum(sizes.get(s, 0) for s in mproj.sources)
        n_t = sum(sizes.get(t, 0) for t in mproj.targets)
        synapses += min(abs(p), 1.0) * n_s * n_t
    return SizeEstimate(sum(sizes.values()), synapses)


def _sentence(suggestion: str) -> str:
    """'; did you mean X?' -> 'Did you mean X?' (names keep their case)."""
    text = suggestion.lstrip("; ")
    return text[:1].upper() + text[1:]
