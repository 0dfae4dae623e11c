"""The circuit file format, schema version 1 (superseded by :mod:`encephagen.schema.v2`).

Kept unchanged so that version-1 files validate exactly as they did; they are then
converted by :func:`encephagen.schema.v2.convert_from_v1`. These pydantic models *are* the format.

A circuit is data: populations of identified cells, projections between them with a
connection rule, neuron models as named parameter sets, and named parameters that
weights, drives and neuron-model fields refer to so that one value is shared (left and
right hemicord) and may be declared free for calibration.

Conventions (stated once, used everywhere):

* time in ms, membrane potentials in mV, rates in Hz;
* currents are expressed in mV: the membrane equation is
  ``tau_m dv/dt = -(v - v_rest) + I_syn + drive - w`` (a unit membrane resistance), so a
  weight of 2 mV raises the synaptic current by 2 mV at each presynaptic spike;
* weights carry their sign: excitatory > 0, inhibitory < 0, and the sign must agree with
  the source cell class's transmitter (Dale's law, checked by :mod:`encephagen.rules`);
* matrix-valued arrays are indexed ``[target, source]``, like the compiled ``W[post, pre]``.

Every model forbids unknown fields, NaN and infinity, and is frozen; a changed circuit
is a new object (``model_copy(update=...)``), never an edit in place.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

SCHEMA_VERSION = "1"
SCHEMA_FILENAME = "circuit.v1.schema.json"

Name = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_.:+\-<>]*$",
        max_length=200,
        description="An identifier: letters, digits and _ . : + - < >, starting with a letter or _.",
    ),
]
SemVer = Annotated[
    str,
    Field(pattern=r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.\-]+)?$", description="Semantic version MAJOR.MINOR.PATCH."),
]


class Strict(BaseModel):
    """Base of every file model: unknown fields, NaN/inf and mutation are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)


# --------------------------------------------------------------------------- values


class ParamRef(Strict):
    """A value taken from a named parameter, times an optional constant factor."""

    param: Name
    """Name of an entry of the circuit's `parameters`."""
    factor: float = 1.0
    """Constant multiplier applied to the parameter's value (dimensionless)."""


Value = float | ParamRef
"""A number, or a reference to a named parameter (``{"param": "w_mutual", "factor": 1}``)."""


class Reference(Strict):
    """A publication a value or a structure comes from."""

    citation: str = Field(min_length=1)
    """Human-readable citation, e.g. 'Danner SM et al. (2017) eLife 6:e31050'."""
    doi: str | None = Field(default=None, pattern=r"^10\.\d{4,9}/\S+$")
    """Digital object identifier without the https://doi.org/ prefix."""
    note: str | None = None
    """What exactly is taken from this source (a table, a figure, a value)."""


class Parameter(Strict):
    """A named value that several fields share; optionally free for calibration."""

    value: float
    """Current value, in `unit`."""
    unit: str = ""
    """Unit of the value ('mV', 'ms', 'Hz', '' for dimensionless)."""
    description: str = ""
    free: bool = False
    """Whether calibration may change this value (within `bounds`)."""
    bounds: list[float] | None = Field(default=None, min_length=2, max_length=2)
    """[low, high] allowed during calibration; required when `free` is true."""
    scale: Literal["linear", "log"] = "linear"
    """How calibration searches the interval: 'log' for positive quantities spanning decades."""
    references: list[Reference] = []

    @model_validator(mode="after")
    def _bounds_are_ordered(self) -> Parameter:
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"bounds must be [low, high] with low < high; got {self.bounds}")
        if self.free and self.bounds is None:
            raise ValueError("a free parameter needs bounds [low, high]")
        if self.scale == "log" and self.bounds is not None and self.bounds[0] <= 0:
            raise ValueError(f"log scale needs positive bounds; got {self.bounds}")
        return self


# --------------------------------------------------------------------------- cells


class NeuronModel(Strict):
    """Leaky integrate-and-fire neuron with exponential current synapses and adaptation.

    ``tau_m dv/dt = -(v - v_rest) + I_exc + I_inh + drive - w``; ``dI_x/dt = -I_x / tau_syn_x``;
    ``dw/dt = -w / tau_adaptation``. At ``v >= v_threshold`` the neuron spikes, ``v`` is set to
    ``v_reset`` and held there for ``t_ref``, and ``w`` jumps by ``adaptation``. Equivalent to
    NEST's ``aeif_psc_exp`` with ``a = 0`` and ``Delta_T = 0`` (with g_L = 1 nS, C_m = tau_m pF).
    """

    kind: Literal["lif"] = "lif"
    tau_m: Value = Field(description="Membrane time constant (ms).")
    v_threshold: Value = Field(description="Spike threshold (mV).")
    v_reset: Value = Field(default=0.0, description="Potential after a spike, held during the refractory period (mV).")
    v_rest: Value = Field(default=0.0, description="Resting (leak reversal) potential (mV).")
    t_ref: Value = Field(default=1.0, description="Absolute refractory period (ms).")
    tau_syn_exc: Value = Field(default=5.0, description="Decay time constant of excitatory synaptic current (ms).")
    tau_syn_inh: Value = Field(default=5.0, description="Decay time constant of inhibitory synaptic current (ms).")
    adaptation: Value = Field(
        default=0.0, description="Spike-triggered adaptation increment b (mV, subtracted from the input)."
    )
    tau_adaptation: Value = Field(default=100.0, description="Decay time constant of the adaptation current (ms).")
    noise_sigma: Value = Field(
        default=0.0,
        description="Gaussian white current noise, stated as the standard deviation it gives the free membrane potential (mV).",
    )
    references: list[Reference] = []


Transmitter = Literal["glutamate", "GABA", "glycine", "GABA+glycine", "acetylcholine", "unknown"]
Sign = Literal["excitatory", "inhibitory", "mixed"]
TRANSMITTER_SIGN: dict[str, Sign] = {
    "glutamate": "excitatory",
    "acetylcholine": "excitatory",
    "GABA": "inhibitory",
    "glycine": "inhibitory",
    "GABA+glycine": "inhibitory",
}


class CellClass(Strict):
    """An identified class of neurons (e.g. Shox2, V0d, motor neuron) and its transmitter."""

    transmitter: Transmitter
    """Main fast transmitter; it fixes the sign of every projection from this class."""
    sign: Sign | None = None
    """Needed only when the transmitter is 'unknown' (or to state 'mixed' for connectome data)."""
    description: str = ""
    markers: list[str] = []
    """Molecular markers or genetic lineage (e.g. 'Shox2', 'Dbx1', 'En1')."""
    references: list[Reference] = []

    @model_validator(mode="after")
    def _sign_is_known(self) -> CellClass:
        derived = TRANSMITTER_SIGN.get(self.transmitter)
        if derived is None and self.sign is None:
            raise ValueError("transmitter 'unknown' needs an explicit sign: 'excitatory', 'inhibitory' or 'mixed'")
        if derived is not None and self.sign is not None and self.sign != derived:
            raise ValueError(f"sign {self.sign!r} contradicts transmitter {self.transmitter!r} ({derived})")
        return self

    @property
    def effective_sign(self) -> Sign:
        """Sign from the transmitter, or the explicit one."""
        return self.sign or TRANSMITTER_SIGN[self.transmitter]


class UniformRange(Strict):
    """Values drawn uniformly from [low, high) per neuron, from the run's seed."""

    uniform: list[float] = Field(min_length=2, max_length=2)
    """[low, high] in mV."""


class PoissonInput(Strict):
    """Independent Poisson spike trains onto every neuron of a population."""

    rate: Value = Field(description="Rate of each source (Hz).")
    weight: Value = Field(description="Jump of the synaptic current per input spike (mV); sign picks the channel.")
    sources: int = Field(default=1, ge=1, description="Number of independent sources per neuron.")


class Population(Strict):
    """A group of neurons of one cell class sharing one neuron model."""

    cell_class: Name
    size: Annotated[int, Field(ge=1)] | ParamRef
    """Number of neurons (or a parameter whose value is a positive integer)."""
    neuron_model: Name
    drive: Value = 0.0
    """Tonic input current (mV)."""
    poisson_input: PoissonInput | None = None
    initial_v: float | UniformRange | None = None
    """Initial membrane potential (mV): a number or {"uniform": [low, high]}; default v_rest."""
    side: Literal["left", "right", "midline"] | None = None
    region: str | None = None
    """Anatomical region label (e.g. an AAL2 name or 'L2 spinal segment')."""
    description: str = ""
    references: list[Reference] = []


# --------------------------------------------------------------------------- projections


class AllToAll(Strict):
    kind: Literal["all_to_all"]
    autapses: bool = False
    """Whether a neuron connects to itself when source and target are the same population."""


class OneToOne(Strict):
    kind: Literal["one_to_one"]
    """Neuron i of the source to neuron i of the target; sizes must be equal."""


class FixedProbability(Strict):
    kind: Literal["fixed_probability"]
    probability: Value
    """Independent probability of each (source, target) pair, in [0, 1]."""
    seed: int = Field(ge=0)
    """Seed of this projection's own random stream: the same seed gives the same synapses."""
    autapses: bool = False


class FixedInDegree(Strict):
    kind: Literal["fixed_indegree"]
    indegree: int = Field(ge=0)
    """Number of distinct sources drawn for each target neuron."""
    seed: int = Field(ge=0)
    autapses: bool = False


class EdgeList(Strict):
    kind: Literal["edge_list"]
    source_index: list[int]
    """Index of each synapse's presynaptic neuron within the source population."""
    target_index: list[int]
    """Index of each synapse's postsynaptic neuron within the target population (same length)."""
    weight_factor: list[float] | None = None
    """Optional per-synapse multiplier of the projection weight (e.g. synapse counts)."""

    @model_validator(mode="after")
    def _same_length(self) -> EdgeList:
        n = len(self.source_index)
        if len(self.target_index) != n or (self.weight_factor is not None and len(self.weight_factor) != n):
            raise ValueError("source_index, target_index and weight_factor must have the same length")
        return self


Rule = Annotated[AllToAll | OneToOne | FixedProbability | FixedInDegree | EdgeList, Field(discriminator="kind")]


class Projection(Strict):
    """Synapses from one population to another."""

    source: Name
    target: Name
    rule: Rule
    weight: Value
    """Synaptic weight (mV), signed: negative for inhibitory sources."""
    weight_mode: Literal["per_synapse", "total"] = "per_synapse"
    """'total': the weight is divided by the source population size (each target receives `weight` in all)."""
    delay: Value = 0.1
    """Conduction + synaptic delay (ms); rounded to whole time steps, at least one step."""
    description: str = ""
    references: list[Reference] = []


class ArrayFile(Strict):
    """An array stored in an HDF5 file next to the circuit (path relative to the circuit file)."""

    file: str
    """Relative path of the HDF5 file, e.g. '../data/hcp80.h5'."""
    dataset: str
    """Path of the dataset inside the file, e.g. '/group/sc'."""
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """SHA-256 of the dataset's bytes (C order, little-endian float64)."""
    shape: list[int]
    """Expected shape of the dataset."""


class MatrixValue(Strict):
    """Per-pair values ``offset + scale * transform(array) / divisor`` for a matrix projection."""

    array: list[list[float]] | ArrayFile
    """Inline rows (``[target][source]``) or a reference to an HDF5 dataset."""
    transform: Literal["identity", "log1p"] = "identity"
    gain: float = 1.0
    """Applied inside the transform: log1p(gain * x)."""
    normalize: Literal["none", "max"] = "none"
    """'max': divide the transformed array by its maximum."""
    scale: Value = 1.0
    offset: Value = 0.0
    divisor: Value = 1.0
    """E.g. a conduction velocity (mm/ms) turning tract lengths (mm) into delays (ms)."""


class MatrixProjection(Strict):
    """Projections between every (target group member, source group member) pair, from arrays."""

    sources: list[Name] = Field(min_length=1)
    targets: list[Name] = Field(min_length=1)
    probability: MatrixValue
    """Connection probability of each neuron pair, per population pair; clipped to [0, 1]."""
    weight: MatrixValue
    """Per-synapse weight per population pair (mV), signed."""
    delay: MatrixValue | Value = 0.1
    """Delay per population pair (ms), or one value for all."""
    seed: int = Field(ge=0)
    skip_diagonal: bool = True
    """Skip pairs where target index equals source index (a region onto itself)."""
    description: str = ""
    references: list[Reference] = []


# --------------------------------------------------------------------------- readouts, history


class ReadoutTerm(Strict):
    population: Name
    coefficient: float = 1.0


class Readout(Strict):
    """A named signal: a weighted sum of population firing rates, low-pass filtered."""

    terms: list[ReadoutTerm] = Field(min_length=1)
    tau: float = Field(default=20.0, gt=0)
    """Time constant of the exponential filter applied to each population rate (ms)."""
    unit: str = "Hz"
    description: str = ""


class HistoryEntry(Strict):
    """One step in the circuit's provenance: who or what changed it, when, from what."""

    version: SemVer
    date: str
    """ISO 8601 date-time (UTC) of the change."""
    author: str
    """A person, or a tool such as 'encephagen calibrate 0.1.0'."""
    action: str
    """'created', 'edited', 'calibrated', 'imported', 'migrated', ..."""
    parent_version: SemVer | None = None
    description: str = ""
    details: dict[str, Any] = {}
    """Machine-readable particulars (objective, seeds, losses, package versions...)."""


# --------------------------------------------------------------------------- circuit


class Circuit(Strict):
    """A spiking circuit: the whole content of one circuit file."""

    schema_: str | None = Field(default=None, alias="$schema")
    """Path or URL of the JSON Schema, for editors; ignored by encephagen."""
    schema_version: Literal["1"]
    name: Name
    version: SemVer
    description: str = ""
    authors: list[str] = []
    license: str | None = None
    references: list[Reference] = []
    parameters: dict[Name, Parameter] = {}
    neuron_models: dict[Name, NeuronModel] = Field(min_length=1)
    cell_classes: dict[Name, CellClass] = Field(min_length=1)
    populations: dict[Name, Population] = Field(min_length=1)
    projections: dict[Name, Projection] = {}
    matrix_projections: dict[Name, MatrixProjection] = {}
    readouts: dict[Name, Readout] = {}
    history: list[HistoryEntry] = []

    model_config = ConfigDict(populate_by_name=True)
    _source_path: Any = PrivateAttr(default=None)

    @property
    def source_path(self):
        """The file this circuit was loaded from (None when built in code); arrays resolve next to it."""
        return self._source_path

    def __eq__(self, other) -> bool:
        """Same content, wherever each copy was loaded from (pydantic would compare the source path too)."""
        if not isinstance(other, Circuit):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # compared by content, which holds dicts: not hashable

    def to_networkx(self):
        """Population-level directed multigraph: nodes carry population attributes, edges the projection.

        Matrix projections contribute one edge per (source, target) population pair with a
        nonzero probability, tagged with the matrix projection's name.
        """
        import networkx as nx

        graph = nx.MultiDiGraph(name=self.name, version=self.version)
        for name, pop in self.populations.items():
            cell = self.cell_classes.get(pop.cell_class)
            graph.add_node(
                name,
                cell_class=pop.cell_class,
                sign=cell.effective_sign if cell else None,
                size=int(self.resolve(pop.size)),
                neuron_model=pop.neuron_model,
                drive=self.resolve(pop.drive),
                side=pop.side,
                region=pop.region,
            )
        for name, proj in self.projections.items():
            graph.add_edge(
                proj.source,
                proj.target,
                key=name,
                rule=proj.rule.kind,
                weight=self.resolve(proj.weight),
                weight_mode=proj.weight_mode,
                delay=self.resolve(proj.delay),
            )
        for name, mproj in self.matrix_projections.items():
            for t, target in enumerate(mproj.targets):
                for s, source in enumerate(mproj.sources):
                    if mproj.skip_diagonal and s == t:
                        continue
                    graph.add_edge(source, target, key=f"{name}[{t},{s}]", rule="matrix", matrix_projection=name)
        return graph

    def resolve(self, value: Value | Any) -> Any:
        """The number a Value stands for with the current parameter values (non-Values pass through)."""
        if isinstance(value, ParamRef):
            return self.parameters[value.param].value * value.factor
        return value

    @property
    def free_parameters(self) -> dict[str, Parameter]:
        return {name: p for name, p in self.parameters.items() if p.free}

    def with_parameter_values(self, values: dict[str, float]) -> Circuit:
        """A new circuit with some parameter values replaced (names must exist)."""
        from ..errors import UnknownNameError

        for name in values:
            if name not in self.parameters:
                raise UnknownNameError("parameter", name, self.parameters)
        parameters = {
            name: (p.model_copy(update={"value": float(values[name])}) if name in values else p)
            for name, p in self.parameters.items()
        }
        return self.model_copy(update={"parameters": parameters})


def generated_json_schema() -> dict[str, Any]:
    """The JSON Schema of the circuit file, as committed in circuits/circuit.v1.schema.json."""
    schema = Circuit.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://encephagen.org/schema/{SCHEMA_VERSION}/{SCHEMA_FILENAME}"
    schema["title"] = "encephagen circuit (schema version 1)"
    return schema


_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)")


def bump_version(version: str, part: Literal["major", "minor", "patch"] = "minor") -> str:
    """Next semantic version: '1.2.3' -> '1.3.0' for a minor bump."""
    match = _SEMVER.match(version)
    if match is None:
        raise ValueError(f"version must be MAJOR.MINOR.PATCH; got {version!r}")
    major, minor, patch = (int(x) for x in match.groups())
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"
