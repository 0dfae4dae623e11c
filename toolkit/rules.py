"""Circuit rules: the second validation layer, after the schema's structure.

Everything that needs more than one field to judge lives here, in one place: references
resolve (parameters, citations, sources), names are unique, projections obey Dale's law,
probabilities are probabilities, a parameter's unit is the unit of every field it is used in,
free parameters contain their value, referenced arrays exist with the declared shape and
checksum, and the circuit is small enough to build. All problems are returned at once.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import EncephagenError, Problem, did_you_mean, json_pointer
from .json_codec import find_instances
from .schema import FIELD_UNITS, ArrayFile, Circuit, Cite, MatrixValue, ParamRef, Source, UniformRange

MAX_NEURONS = 50_000_000
MAX_SYNAPSES = 2_000_000_000
MAX_COMPILED_BYTES = 32 * 1024**3
"""Circuits estimated beyond these sizes (neurons, synapses, bytes of the compiled network)
are refused before anything is allocated."""

PLAUSIBLE = {
    "tau_m": (1e-3, 1e7, "ms"),
    "tau_syn_exc": (1e-3, 1e7, "ms"),
    "tau_syn_inh": (1e-3, 1e7, "ms"),
    "tau_adaptation": (1e-3, 1e7, "ms"),
    "t_ref": (0.0, 1e6, "ms"),
    "delay": (0.0, 1e5, "ms"),
    "v_threshold": (0.0, 1e4, "mV"),
    "v_reset": (0.0, 1e4, "mV"),
    "v_rest": (0.0, 1e4, "mV"),
    "initial_v": (0.0, 1e4, "mV"),
    "noise_sigma": (0.0, 1e4, "mV"),
    "drive": (0.0, 1e6, "mV"),
    "adaptation": (0.0, 1e6, "mV"),
    "weight": (0.0, 1e6, "mV"),
    "weight_factor": (0.0, 1e6, ""),
    "rate": (0.0, 1e6, "Hz"),
}
"""Field -> (smallest non-zero magnitude, largest magnitude, unit) a physical circuit can have.
A tau_m of 1e-300 ms or a weight of 1e308 mV passes the schema (finite numbers) but makes a
run overflow or divide by nothing; they are refused at validation, with the pointer."""


def check_circuit(
    circuit: Circuit, file: str, *, base_dir: Path | None = None, check_arrays: bool = True
) -> list[Problem]:
    """Every rule violation of a structurally valid circuit, located by JSON pointer."""
    checker = _Checker(circuit, file)
    checker.run(base_dir if check_arrays else None)
    return checker.problems


JsonPath = list[Any]
"""Keys and indices from the file's root to a value (str and int), as :func:`json_pointer` takes them."""


class _Checker:
    def __init__(self, circuit: Circuit, file: str):
        self.circuit = circuit
        self.file = file
        self.problems: list[Problem] = []

    def add(self, path: JsonPath, message: str, hint: str = "") -> None:
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
        self.plausible_values()
        self.references_to_parameters()
        self.citations()
        self.units()
        self.unique_names()
        self.history()
        self.size()

    # ------------------------------------------------------------------ helpers

    def ref(self, kind: str, name: str, known: dict, path: JsonPath) -> bool:
        if name in known:
            return True
        hint = "" if known else f"Define it under /{kind.replace(' ', '_')}{'es' if kind.endswith('s') else 's'}"
        self.add(path, f"unknown {kind} {name!r}{did_you_mean(name, known)}", hint)
        return False

    def value_range(self, value: object, path: JsonPath) -> tuple[float, float] | None:
        """Smallest and largest value a Value (or a sum of Values) can take (bounds of a free parameter)."""
        if isinstance(value, list):
            spans = [self.value_range(v, path) for v in value]
            known = [span for span in spans if span is not None]
            if len(known) < len(spans):
                return None
            return sum(span[0] for span in known), sum(span[1] for span in known)
        if isinstance(value, ParamRef):
            param = self.circuit.parameters.get(value.param)
            if param is None:
                return None
            if param.free and param.bounds:
                ends = [param.bounds[0] * value.factor, param.bounds[1] * value.factor]
                return min(ends), max(ends)
            return (param.value * value.factor,) * 2
        return (float(value), float(value))  # type: ignore[arg-type]  # a number once lists and references are handled

    def positive(self, value: object, path: JsonPath, what: str, allow_zero: bool = False) -> None:
        span = self.value_range(value, path)
        if span is None:
            return
        low = span[0]
        if low < 0 or (low == 0 and not allow_zero):
            bound = "≥ 0" if allow_zero else "> 0"
            self.add(
                path,
                f"{what} must be {bound}"
                + (" over the whole calibration range" if isinstance(value, ParamRef) else "")
                + f"; got {low:g}",
            )

    # ------------------------------------------------------------------ rules

    def parameter_values(self) -> None:
        for name, param in self.circuit.parameters.items():
            if param.bounds is not None and not param.bounds[0] <= param.value <= param.bounds[1]:
                self.add(
                    ["parameters", name, "value"],
                    f"value lies outside its bounds [{param.bounds[0]:g}, {param.bounds[1]:g}]; got {param.value:g}",
                    "Move the value inside the bounds or widen them",
                )

    def neuron_model(self, name: str, model) -> None:
        base = ["neuron_models", name]
        for key in ("tau_m", "tau_syn_exc", "tau_syn_inh", "tau_adaptation"):
            self.positive(getattr(model, key), base + [key], f"{key} (ms)")
        for key in ("t_ref", "noise_sigma", "adaptation"):
            self.positive(getattr(model, key), base + [key], key, allow_zero=True)
        threshold = self.value_range(model.v_threshold, base)
        reset = self.value_range(model.v_reset, base)
        if threshold and reset and reset[1] >= threshold[0]:
            self.add(
                base + ["v_reset"],
                f"v_reset must lie below v_threshold ({threshold[0]:g} mV); got {reset[1]:g} mV",
                "Otherwise the neuron fires at every step after its refractory period",
            )

    def population(self, name: str, pop) -> None:
        c, base = self.circuit, ["populations", name]
        self.ref("cell class", pop.cell_class, c.cell_classes, base + ["cell_class"])
        self.ref("neuron model", pop.neuron_model, c.neuron_models, base + ["neuron_model"])
        if isinstance(pop.size, ParamRef) and pop.size.param in c.parameters:
            size = c.resolve(pop.size)
            if size < 1 or size != int(size):
                self.add(
                    base + ["size"],
                    f"size must be a positive whole number; got {size:g} from parameter {pop.size.param!r}",
                )
            if c.parameters[pop.size.param].free:
                self.add(
                    base + ["size"],
                    f"size refers to free parameter {pop.size.param!r}",
                    "Population sizes are structural; calibrate weights, drives and time constants instead",
                )
        if pop.initial_v is not None and not isinstance(pop.initial_v, (int, float)):
            low, high = pop.initial_v.uniform
            if not low < high:
                self.add(
                    base + ["initial_v", "uniform"], f"needs [low, high] with low < high; got {pop.initial_v.uniform}"
                )
        if pop.poisson_input is not None:
            self.positive(
                pop.poisson_input.rate, base + ["poisson_input", "rate"], "Poisson rate (Hz)", allow_zero=True
            )

    def sign_of(self, population: str) -> str | None:
        pop = self.circuit.populations.get(population)
        cell = self.circuit.cell_classes.get(pop.cell_class) if pop else None
        return cell.effective_sign if cell else None

    def dale(self, source: str, weight: object, path: JsonPath) -> None:
        """Weights from excitatory classes must be ≥ 0 and from inhibitory ones ≤ 0, at every allowed value."""
        sign = self.sign_of(source)
        span = self.value_range(weight, path)
        if sign is None or span is None or sign == "mixed":
            return
        low, high = span
        cell = self.circuit.populations[source].cell_class
        over = " over its whole calibration range" if isinstance(weight, ParamRef) else ""
        if sign == "excitatory" and low < 0:
            self.add(
                path,
                f"weight from {source!r} must be ≥ 0{over}: its cell class {cell!r} is excitatory (Dale's law); got {low:g}",
                "Excitatory sources act through positive weights; to inhibit, route the projection through an inhibitory population",
            )
        if sign == "inhibitory" and high > 0:
            self.add(
                path,
                f"weight from {source!r} must be ≤ 0{over}: its cell class {cell!r} is inhibitory (Dale's law); got {high:g}",
                "Inhibitory weights are negative",
            )

    def projection(self, name: str, proj) -> None:
        c, base = self.circuit, ["projections", name]
        ok = self.ref("population", proj.source, c.populations, base + ["source"])
        ok = self.ref("population", proj.target, c.populations, base + ["target"]) and ok
        self.positive(proj.delay, base + ["delay"], "delay (ms)")
        if ok:
            self.dale(proj.source, proj.weight, base + ["weight"])
            self.rule(proj, base + ["rule"])

    def rule(self, proj, path: JsonPath) -> None:
        c, rule = self.circuit, proj.rule
        n_source = _size(c, proj.source)
        n_target = _size(c, proj.target)
        if n_source is None or n_target is None:
            return  # an unknown size parameter, reported on its own
        if rule.kind == "one_to_one" and n_source != n_target:
            self.add(
                path,
                f"one_to_one needs equal sizes; got {n_source} neurons in {proj.source!r} and {n_target} in {proj.target!r}",
                "Use all_to_all or fixed_probability, or make the sizes equal",
            )
        if rule.kind == "fixed_probability":
            span = self.value_range(rule.probability, path)
            if span and not (span[0] >= 0 and span[1] <= 1):
                self.add(
                    path + ["probability"],
                    "probability must lie in [0, 1]"
                    + (" over its whole calibration range" if isinstance(rule.probability, ParamRef) else "")
                    + f"; got {_span(span)}",
                )
        if rule.kind == "fixed_indegree":
            available = n_source - (1 if proj.source == proj.target and not rule.autapses else 0)
            if rule.indegree > available:
                self.add(
                    path + ["indegree"],
                    f"indegree exceeds the {available} distinct sources available; got {rule.indegree}",
                    "Lower the indegree or enlarge the source population",
                )
        if rule.kind == "edge_list":
            for field, limit, pop in (("source_index", n_source, proj.source), ("target_index", n_target, proj.target)):
                indices = getattr(rule, field)
                bad = next((i for i, x in enumerate(indices) if not 0 <= x < limit), None)
                if bad is not None:
                    self.add(
                        path + [field, bad],
                        f"index outside population {pop!r} of size {limit}; got {indices[bad]}",
                        f"Indices run from 0 to {limit - 1}",
                    )

    def matrix_projection(self, name: str, mproj, base_dir: Path | None) -> None:
        c, base = self.circuit, ["matrix_projections", name]
        known = [
            self.ref("population", p, c.populations, base + [group, i])
            for group in ("sources", "targets")
            for i, p in enumerate(getattr(mproj, group))
        ]
        if all(known):
            for source in set(mproj.sources):
                self.dale(source, _matrix_sign_probe(mproj.weight), base + ["weight", "scale"])
        shape = [len(mproj.targets), len(mproj.sources)]
        for key in ("probability", "weight", "delay"):
            value = getattr(mproj, key)
            if isinstance(value, MatrixValue):
                self.matrix_value(value, shape, base + [key], base_dir)

    def matrix_value(self, value: MatrixValue, shape: list[int], path: JsonPath, base_dir: Path | None) -> None:
        import numpy as np

        data = None
        if isinstance(value.array, ArrayFile):
            ref = value.array
            if ref.shape != shape:
                self.add(
                    path + ["array", "shape"], f"declared shape must be [targets, sources] = {shape}; got {ref.shape}"
                )
            elif base_dir is not None:
                data = self.array_file(ref, base_dir, path + ["array"])
        else:
            rows = value.array
            if len(rows) != shape[0] or any(len(r) != shape[1] for r in rows):
                got = [len(rows), len(rows[0]) if rows else 0]
                self.add(path + ["array"], f"inline array must be [targets][sources] = {shape}; got {got}")
            else:
                data = np.asarray(rows, dtype=float)
        if data is not None:
            self.matrix_range(value, data, path)

    def matrix_range(self, value: MatrixValue, data, path: JsonPath) -> None:
        """The values a matrix entry takes (offset + scale * T(array) / divisor over the scale's
        range) must be finite and in range: probabilities in [0, 1], delays and weights plausible."""
        import numpy as np

        field = str(path[-1])
        where = path + ["array"] if isinstance(value.array, list) else path + ["array", "dataset"]
        if field == "probability" and data.size and float(data.min()) < 0:
            at = np.unravel_index(int(np.argmin(data)), data.shape)
            self.add(
                where,
                f"probability array holds negative entries (the first smallest at [{at[0]}, {at[1]}]); got {float(data.min()):g}",
                "Probabilities are ≥ 0; compiling would clip them to 0 silently",
            )
            return
        if value.transform == "log1p" and data.size and float((value.gain * data).min()) <= -1:
            self.add(where, "log1p needs gain * x > -1 for every entry")
            return
        with np.errstate(all="ignore"):
            transformed = np.log1p(value.gain * data) if value.transform == "log1p" else value.gain * data
            if value.normalize == "max" and transformed.size:
                peak = float(np.max(transformed))
                transformed = transformed / peak if peak > 0 else transformed
            spans = [self.value_range(getattr(value, name), path + [name]) for name in ("scale", "offset", "divisor")]
            scale, offset, divisor = spans
            if scale is None or offset is None or divisor is None or not transformed.size:
                return
            (s_lo, s_hi), (o_lo, o_hi), (d_lo, d_hi) = scale, offset, divisor
            if d_lo <= 0 <= d_hi:
                self.add(path + ["divisor"], f"divisor must not be 0; got {_span((d_lo, d_hi))}")
                return
            t_lo, t_hi = float(np.min(transformed)), float(np.max(transformed))
            ends = [
                o + s * t / d for o in (o_lo, o_hi) for s in (s_lo, s_hi) for t in (t_lo, t_hi) for d in (d_lo, d_hi)
            ]
        low, high = min(ends), max(ends)
        if not all(math.isfinite(x) for x in ends):
            self.add(
                path,
                f"{field} values overflow (offset + scale * T(array) / divisor is not finite); got {low:g} to {high:g}",
            )
        elif field == "probability" and not (low >= 0 and high <= 1):
            self.add(
                path,
                f"probability must lie in [0, 1] for every entry; got {_span((low, high))}",
                "Compiling would clip the values outside silently; lower scale or offset",
            )
        elif field in PLAUSIBLE:
            self.plausible((low, high), path, field)

    def array_file(self, ref: ArrayFile, base_dir: Path, path: JsonPath):
        """The referenced dataset as float64 (checked by :func:`encephagen.hdf5_codec.read_array_file`), or None after adding its problems."""
        from .errors import CircuitError
        from .hdf5_codec import read_array_file

        try:
            return read_array_file(ref, base_dir, file=self.file, pointer=json_pointer(path))
        except CircuitError as exc:
            self.problems.extend(exc.problems)
            return None

    # ------------------------------------------------------------------ plausible magnitudes

    def plausible(self, span: tuple[float, float], path: JsonPath, field: str) -> None:
        smallest, largest, unit = PLAUSIBLE[field]
        low, high = span
        unit = f" {unit}" if unit else ""
        if not (math.isfinite(low) and math.isfinite(high)):
            self.add(path, f"{field} is not finite; got {_span(span)}")
        elif max(abs(low), abs(high)) > largest:
            self.add(
                path,
                f"implausible {field}: magnitude above {largest:g}{unit}; got {_span(span)}{unit}",
                "A value this large overflows a run; check the unit and the exponent",
            )
        elif smallest and 0 < min(abs(low), abs(high)) < smallest:
            self.add(
                path,
                f"implausible {field}: below {smallest:g}{unit}; got {_span(span)}{unit}",
                "A time constant this small makes a run divide by almost nothing; check the unit and the exponent",
            )

    def plausible_value(self, value: object, path: JsonPath, field: str) -> None:
        if isinstance(value, (MatrixValue, UniformRange)) or value is None:
            return
        span = self.value_range(value, path)
        if span is not None:
            self.plausible(span, path, field)

    def plausible_values(self) -> None:
        c = self.circuit
        for name, model in c.neuron_models.items():
            for key in (
                "tau_m",
                "tau_syn_exc",
                "tau_syn_inh",
                "tau_adaptation",
                "t_ref",
                "v_threshold",
                "v_reset",
                "v_rest",
                "noise_sigma",
                "adaptation",
            ):
                self.plausible_value(getattr(model, key), ["neuron_models", name, key], key)
        for name, pop in c.populations.items():
            self.plausible_value(pop.drive, ["populations", name, "drive"], "drive")
            if isinstance(pop.initial_v, UniformRange):
                self.plausible(
                    (min(pop.initial_v.uniform), max(pop.initial_v.uniform)),
                    ["populations", name, "initial_v", "uniform"],
                    "initial_v",
                )
            else:
                self.plausible_value(pop.initial_v, ["populations", name, "initial_v"], "initial_v")
            if pop.poisson_input is not None:
                self.plausible_value(pop.poisson_input.rate, ["populations", name, "poisson_input", "rate"], "rate")
                self.plausible_value(
                    pop.poisson_input.weight, ["populations", name, "poisson_input", "weight"], "weight"
                )
        for name, proj in c.projections.items():
            self.plausible_value(proj.weight, ["projections", name, "weight"], "weight")
            self.plausible_value(proj.delay, ["projections", name, "delay"], "delay")
            factors = getattr(proj.rule, "weight_factor", None)
            if factors:
                self.plausible(
                    (min(factors), max(factors)), ["projections", name, "rule", "weight_factor"], "weight_factor"
                )
        for name, mproj in c.matrix_projections.items():
            self.plausible_value(mproj.delay, ["matrix_projections", name, "delay"], "delay")

    def references_to_parameters(self) -> None:
        for path, ref in find_instances(self.circuit, ParamRef):
            self.ref("parameter", ref.param, self.circuit.parameters, path + ["param"])

    def citations(self) -> None:
        """Every citation and literature source names an entry of the references table; a
        calibrated source names a history entry."""
        table = self.circuit.references
        for path, cite in find_instances(self.circuit, Cite):
            self.ref("reference", cite.ref, table, path + ["ref"])
        versions = [h.version for h in self.circuit.history]
        for path, source in find_instances(self.circuit, Source):
            if source.ref is not None:
                self.ref("reference", source.ref, table, path + ["ref"])
            if source.history is not None and source.history not in versions:
                self.add(
                    path + ["history"],
                    f"no history entry has version {source.history!r}{did_you_mean(source.history, versions)}",
                    "A calibrated value names the history entry (version) of the calibration that set it",
                )

    def units(self) -> None:
        """A parameter's unit must be the unit of every field that uses it (mV for potentials,
        currents and weights, ms for times, Hz for rates, 1 for ratios and counts)."""
        seen: set[tuple[str, str]] = set()
        implied: dict[str, tuple[str, str, str]] = {}
        for path, ref in find_instances(self.circuit, ParamRef):
            param = self.circuit.parameters.get(ref.param)
            field = next((str(p) for p in reversed(path) if str(p) in FIELD_UNITS), None)
            if param is None or field is None or path[0] == "matrix_projections":
                continue
            expected = FIELD_UNITS[field]
            if param.unit is None:
                first = implied.setdefault(ref.param, (expected, field, json_pointer(path)))
                if first[0] != expected and (ref.param, expected) not in seen:
                    seen.add((ref.param, expected))
                    self.add(
                        ["parameters", ref.param],
                        f"parameter {ref.param!r} has no unit and is used as {first[1]} ({first[0]}) at {first[2]} "
                        f"and as {field} ({expected}) at {json_pointer(path)}",
                        "Use one parameter per quantity, each with its unit",
                    )
                continue
            if param.unit != expected and (ref.param, expected) not in seen:
                seen.add((ref.param, expected))
                where = json_pointer(path)
                self.add(
                    ["parameters", ref.param, "unit"],
                    f"parameter {ref.param!r} is used as {field} at {where}, which is in {expected}; got unit {param.unit!r}",
                    f'Give the value in {expected} and set "unit": "{expected}"',
                )

    def unique_names(self) -> None:
        """Populations, projections and matrix projections share one namespace (lesions, compiled maps)."""
        owners: dict[str, str] = {}
        for section in ("populations", "projections", "matrix_projections"):
            for name in getattr(self.circuit, section):
                if name in owners:
                    self.add(
                        [section, name],
                        f"name {name!r} is already used under /{owners[name]}",
                        "Populations and (matrix) projections need distinct names; rename one",
                    )
                else:
                    owners[name] = section

    def history(self) -> None:
        versions = [h.version for h in self.circuit.history]
        if versions and versions[-1] != self.circuit.version:
            self.add(
                ["history", len(versions) - 1, "version"],
                f"last history entry must have the circuit's version {self.circuit.version}; got {versions[-1]}",
                "Each new version appends a history entry with its version",
            )

    def size(self) -> None:
        estimate = estimate_size(self.circuit)
        if (
            estimate.neurons > MAX_NEURONS
            or estimate.synapses > MAX_SYNAPSES
            or estimate.compiled_bytes > MAX_COMPILED_BYTES
        ):
            self.add(
                [],
                f"circuit too large (limits {MAX_NEURONS:,} neurons, {MAX_SYNAPSES:,} synapses, {MAX_COMPILED_BYTES / 1024**3:.0f} GiB compiled); "
                f"got about {_count(estimate.neurons)} neurons, {_count(estimate.synapses)} synapses, {_count(estimate.compiled_bytes / 1024**3)} GiB",
                "Split the circuit, lower sizes or probabilities, or export to NEST for a cluster",
            )


def _matrix_sign_probe(weight: MatrixValue):
    """Dale's law on a matrix weight: the sign comes from scale (arrays are non-negative by convention)."""
    return weight.scale


def _span(span: tuple[float, float]) -> str:
    return f"{span[0]:g}" if span[0] == span[1] else f"{span[0]:g} to {span[1]:g}"


def _count(x: float) -> str:
    """Thousands separators for readable sizes, scientific notation for absurd ones."""
    return f"{x:,.0f}" if x < 1e12 else f"{x:.2e}"


def _size(circuit: Circuit, population: str) -> int | None:
    """Neurons in a population, or None when its size names a missing parameter or one whose
    value is not a positive whole number (reported on its own, not again by every projection)."""
    size = circuit.populations[population].size
    if isinstance(size, ParamRef) and size.param not in circuit.parameters:
        return None
    value = circuit.resolve(size)
    return int(value) if value >= 1 and value == int(value) else None


def _datasets(h5) -> list[str]:
    names: list[str] = []
    h5.visititems(lambda name, obj: names.append("/" + name) if hasattr(obj, "shape") else None)
    return names


def array_checksum(data) -> str:
    """SHA-256 of an array's float64 little-endian C-order bytes (what ArrayFile.sha256 states)."""
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(data, dtype="<f8").tobytes()).hexdigest()


@dataclass(frozen=True)
class SizeEstimate:
    """Neurons, expected synapses and the bytes a compiled network needs, before building it."""

    neurons: int
    synapses: float
    per_projection: dict[str, float] = field(default_factory=dict)
    """Expected synapses of each projection and matrix projection, by name."""

    @property
    def compiled_bytes(self) -> float:
        """CSR with 8 B weight, 4 B column index and 4 B delay per synapse; ~20 float64 vectors per neuron."""
        return self.synapses * 16 + self.neurons * 20 * 8


def estimate_size(circuit: Circuit) -> SizeEstimate:
    """Expected neuron and synapse counts from sizes, rules and probabilities.

    A matrix projection's probability array is read to sum its expected synapses; where it
    cannot be read (a missing file: reported by the other checks) every pair counts at the
    probability scale, an upper bound. A free probability counts at its current value.
    """
    sizes = {name: n for name in circuit.populations if (n := _size(circuit, name)) is not None}
    per_projection: dict[str, float] = {}
    for name, proj in circuit.projections.items():
        if proj.source in sizes and proj.target in sizes:
            per_projection[name] = _expected_synapses(circuit, proj.rule, sizes[proj.source], sizes[proj.target])
    for name in circuit.matrix_projections:
        per_projection[name] = _expected_matrix_synapses(circuit, name, sizes)
    return SizeEstimate(sum(sizes.values()), float(sum(per_projection.values())), per_projection)


def _expected_matrix_synapses(circuit: Circuit, name: str, sizes: dict[str, int]) -> float:
    import numpy as np

    from .matrices import matrix_probability

    mproj = circuit.matrix_projections[name]
    n_source = np.array([sizes.get(s, 0) for s in mproj.sources], dtype=float)
    n_target = np.array([sizes.get(t, 0) for t in mproj.targets], dtype=float)
    base_dir = Path(circuit.source_path).parent if circuit.source_path else Path.cwd()
    try:
        probability = matrix_probability(circuit, name, base_dir)
    except (EncephagenError, ValueError, ZeroDivisionError, KeyError):
        return min(abs(_known(circuit, mproj.probability.scale, 1.0)), 1.0) * n_source.sum() * n_target.sum()
    pairs = np.outer(n_target, n_source)
    for t, target in enumerate(mproj.targets):  # no autapses within one population; the diagonal may be skipped
        for s, source in enumerate(mproj.sources):
            if mproj.skip_diagonal and s == t:
                pairs[t, s] = 0.0
            elif source == target:
                pairs[t, s] -= n_target[t]
    return float((probability * pairs).sum())


def _expected_synapses(circuit: Circuit, rule, n_source: int, n_target: int) -> float:
    if rule.kind == "all_to_all":
        return float(n_source * n_target)
    if rule.kind == "one_to_one":
        return float(n_target)
    if rule.kind == "fixed_probability":
        return min(max(_known(circuit, rule.probability, 1.0), 0.0), 1.0) * n_source * n_target
    if rule.kind == "fixed_indegree":
        return float(rule.indegree * n_target)
    return float(len(rule.source_index))


def _known(circuit: Circuit, value: object, fallback: float) -> float:
    """A Value's number, or ``fallback`` when it names a parameter that does not exist."""
    if isinstance(value, ParamRef) and value.param not in circuit.parameters:
        return fallback
    return float(circuit.resolve(value))
