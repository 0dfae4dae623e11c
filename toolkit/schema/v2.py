"""The circuit file format, schema version 2: these pydantic models *are* the format.

What changed from version 1 (:mod:`encephagen.schema.v1`), and why:

* **one references table** (``"references": {"danner2017": {...}}``); everything else cites
  an entry as ``{"ref": "danner2017", "note": "..."}`` instead of repeating the citation;
* **bilateral circuits declared once**: a population with ``"sides": ["L", "R"]`` stands for
  ``L_<name>`` and ``R_<name>`` (``side`` 'left'/'right'); a projection between two bilateral
  populations with ``"to": "same"`` or ``"opposite"`` stands for one projection per side, named
  ``L_A->L_B`` / ``R_A->R_B`` (or ``L_A->R_B`` / ``R_A->L_B``) when it is named ``A->B``,
  else ``L_<name>`` / ``R_<name>``. The expanded names are the ones lesions, readouts and body
  bindings address. What differs between the sides (initial conditions that break the
  symmetry) is written under ``"per_side": {"L": {...}, "R": {...}}``. Consecutive bilateral
  declarations of the same region form a run that expands left side first (``L_A, L_B, R_A,
  R_B``), so neuron order — and so the random draws of a seed — is the order of a
  hand-written left-then-right file;
* **edge groups** for connectomes: ``{"weight": {"param": "w_exc"}, "edges": [[pre, post, n], ...]}``
  stands for one all-to-all projection ``pre->post`` (plus ``suffix``) per edge, of weight
  ``n × weight``;
* **units from a closed vocabulary** (:data:`Unit`), checked against the dimension of every
  field a parameter is used in (:data:`FIELD_UNITS`, by :mod:`encephagen.rules`);
* **'total' weights are totals**: each target receives exactly ``weight`` from the synapses it
  actually has; version 1's 'total' (divide by the source population's size) is the explicit
  mode ``'source_size'``;
* **sums of drives**: a population's drive may be a list of terms (tonic excitation plus a
  scaled descending drive), so no excitation needs to hide in a resting potential;
* **sources**: a parameter (and a neuron model's literal values) states where its value comes
  from: ``literature`` (reference and conversion), ``calibrated`` (history entry) or
  ``hand-set`` (reason).

:class:`CircuitFile` is the file (what the JSON Schema describes); :class:`Circuit` is the
expanded circuit every later stage reads. :func:`expand` and :func:`compact` go between them,
and :func:`convert_from_v1` is the explicit, pure converter from a version-1 circuit.
Conventions (units, signs, ``[target, source]`` matrices) are those of version 1.
"""

from __future__ import annotations

import html
import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, PrivateAttr, Tag, field_validator, model_validator

from . import v1
from .v1 import (
    TRANSMITTER_SIGN,
    AllToAll,
    ArrayFile,
    EdgeList,
    FixedInDegree,
    FixedProbability,
    HistoryEntry,
    MatrixValue,
    Name,
    OneToOne,
    ParamRef,
    ReadoutTerm,
    SemVer,
    Sign,
    Strict,
    Transmitter,
    UniformRange,
    bump_version,
)

__all__ = [
    "FIELD_UNITS",
    "SCHEMA_FILENAME",
    "SCHEMA_VERSION",
    "TRANSMITTER_SIGN",
    "AllToAll",
    "ArrayFile",
    "CellClass",
    "Circuit",
    "CircuitFile",
    "Cite",
    "Drive",
    "EdgeGroup",
    "EdgeList",
    "FixedInDegree",
    "FixedProbability",
    "HistoryEntry",
    "MatrixProjection",
    "MatrixValue",
    "Name",
    "NeuronModel",
    "OneToOne",
    "ParamRef",
    "Parameter",
    "PoissonInput",
    "Population",
    "PopulationDecl",
    "Projection",
    "ProjectionDecl",
    "Readout",
    "ReadoutTerm",
    "Reference",
    "Rule",
    "SemVer",
    "SideValues",
    "Sign",
    "Source",
    "Strict",
    "Transmitter",
    "UniformRange",
    "Unit",
    "Value",
    "bump_version",
    "compact",
    "convert_from_v1",
    "expand",
    "generated_json_schema",
]

SCHEMA_VERSION = "2"
SCHEMA_FILENAME = "circuit.schema.json"

Unit = Literal["1", "mV", "ms", "Hz", "mm", "mm/ms", "1/Hz", "mV/Hz", "mV/rad", "mV/(rad/s)", "mV/N", "mV/(m/s)"]
"""The units a value may carry. Potentials, currents and weights are mV (unit membrane
resistance), times ms, rates Hz, ratios and counts '1'; the rest serve body bindings
(gains from radians, newtons, rad/s to mV) and tract geometry (mm, mm/ms)."""

FIELD_UNITS: dict[str, str] = {
    "tau_m": "ms",
    "v_threshold": "mV",
    "v_reset": "mV",
    "v_rest": "mV",
    "t_ref": "ms",
    "tau_syn_exc": "ms",
    "tau_syn_inh": "ms",
    "adaptation": "mV",
    "tau_adaptation": "ms",
    "noise_sigma": "mV",
    "size": "1",
    "drive": "mV",
    "rate": "Hz",
    "weight": "mV",
    "delay": "ms",
    "probability": "1",
}
"""The unit of every field a parameter may be used in (by field name)."""

Value = float | ParamRef
"""A number, or a reference to a named parameter (``{"param": "w_mutual", "factor": 1}``)."""
Drive = float | ParamRef | Annotated[list[float | ParamRef], Field(min_length=1)]
"""A Value, or a list of Values that are added (``[{"param": "tonic"}, {"param": "drive", "factor": -1.5}]``)."""


# --------------------------------------------------------------------------- references, sources


class Reference(Strict):
    """An entry of the references table: a publication (or other source) cited by key."""

    citation: str = Field(min_length=1)
    """Human-readable citation, e.g. 'Danner SM et al. (2017) eLife 6:e31050'."""
    doi: str | None = Field(default=None, pattern=r"^10\.\d{4,9}/\S+$")
    """Digital object identifier without the https://doi.org/ prefix."""
    note: str | None = None
    """What the circuit as a whole takes from this source."""


class Cite(Strict):
    """A citation of an entry of the circuit's references table."""

    ref: Name
    """Key of the entry in the top-level `references` table."""
    note: str | None = None
    """What exactly is taken from the source here (a table, a figure, a value)."""


class Source(Strict):
    """Where a value comes from: a publication, a calibration, or a hand-set choice."""

    kind: Literal["literature", "calibrated", "hand-set"]
    ref: Name | None = None
    """literature: key of the references-table entry the value comes from."""
    conversion: str | None = None
    """literature: how the published number became this one (units, scaling), when it did."""
    history: SemVer | None = None
    """calibrated: the version of the history entry that set the value."""
    reason: str | None = None
    """hand-set: why this value (what it achieves, what was tried)."""

    @model_validator(mode="after")
    def _kind_has_its_field(self) -> Source:
        need = {"literature": "ref", "calibrated": "history", "hand-set": "reason"}[self.kind]
        if getattr(self, need) in (None, ""):
            raise ValueError(f"a {self.kind!r} source needs {need!r}")
        return self


class Parameter(Strict):
    """A named value that several fields share; optionally free for calibration."""

    value: float
    """Current value, in `unit`."""
    unit: Unit | None = None
    """Unit of the value, from a closed vocabulary; it must match every field the parameter is used in.
    Left out, the parameter takes the unit of the fields it is used in (which must then agree)."""
    description: str = ""
    free: bool = False
    """Whether calibration may change this value (within `bounds`)."""
    bounds: list[float] | None = Field(default=None, min_length=2, max_length=2)
    """[low, high] allowed during calibration; required when `free` is true."""
    scale: Literal["linear", "log"] = "linear"
    """How calibration searches the interval: 'log' for positive quantities spanning decades."""
    source: Source | None = None
    """Where the value comes from (literature, calibrated or hand-set)."""
    references: list[Cite] = []

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
    v_rest: Value = Field(
        default=0.0,
        description="Resting (leak reversal) potential (mV); below v_threshold (tonic excitation is a drive).",
    )
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
    source: Source | None = None
    """Where the model's literal numbers come from (values taken from parameters carry their own)."""
    references: list[Cite] = []


class CellClass(Strict):
    """An identified class of neurons (e.g. Shox2, V0d, motor neuron) and its transmitter."""

    transmitter: Transmitter
    """Main fast transmitter; it fixes the sign of every projection from this class."""
    sign: Sign | None = None
    """Needed only when the transmitter is 'unknown' (or to state 'mixed' for connectome data)."""
    description: str = ""
    markers: list[str] = []
    """Molecular markers or genetic lineage (e.g. 'Shox2', 'Dbx1', 'En1')."""
    references: list[Cite] = []

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
    drive: Drive = 0.0
    """Tonic input current (mV): a Value or a list of Values that are added."""
    poisson_input: PoissonInput | None = None
    initial_v: float | UniformRange | None = None
    """Initial membrane potential (mV): a number or {"uniform": [low, high]}; default v_rest."""
    side: Literal["left", "right", "midline"] | None = None
    region: str | None = None
    """Anatomical region label (e.g. an AAL2 name or 'L2 spinal segment')."""
    description: str = ""
    references: list[Cite] = []


class SideValues(Strict):
    """What differs between the two sides of a bilateral population (e.g. initial conditions that break symmetry)."""

    initial_v: float | UniformRange | None = None
    """Initial membrane potential on this side (mV)."""
    description: str | None = None


class PopulationDecl(Population):
    """A population as written in the file: possibly bilateral (``"sides": ["L", "R"]``)."""

    sides: list[Literal["L", "R"]] | None = Field(default=None, min_length=2, max_length=2)
    """["L", "R"]: one population per side, named L_<name> and R_<name> (side 'left', 'right')."""
    per_side: dict[Literal["L", "R"], SideValues] | None = None
    """Values that differ between the sides (each side's value replaces the shared one)."""

    @model_validator(mode="after")
    def _sides_or_side(self) -> PopulationDecl:
        if self.sides is not None:
            if sorted(self.sides) != ["L", "R"] or self.sides[0] != "L":
                raise ValueError(f'sides must be ["L", "R"]; got {self.sides}')
            if self.side is not None:
                raise ValueError("give 'sides' (a bilateral population) or 'side', not both")
        elif self.per_side is not None:
            raise ValueError("'per_side' needs 'sides': [\"L\", \"R\"]")
        return self


# --------------------------------------------------------------------------- projections

Rule = Annotated[AllToAll | OneToOne | FixedProbability | FixedInDegree | EdgeList, Field(discriminator="kind")]


class Projection(Strict):
    """Synapses from one population to another."""

    source: Name
    target: Name
    rule: Rule
    weight: Value
    """Synaptic weight (mV), signed: negative for inhibitory sources."""
    weight_mode: Literal["per_synapse", "total", "source_size"] = "per_synapse"
    """'per_synapse': every synapse has `weight`. 'total': each target receives exactly `weight`
    in all, shared among the synapses it actually has (after autapse exclusion and random draws).
    'source_size': `weight` divided by the source population's size per synapse (version 1's
    'total'; a target connected to all but one source neuron receives (n-1)/n of it)."""
    delay: Value = 0.1
    """Conduction + synaptic delay (ms); rounded to whole time steps, at least one step."""
    description: str = ""
    references: list[Cite] = []


class ProjectionDecl(Projection):
    """A projection as written in the file: between bilateral populations, per side (``"to"``)."""

    to: Literal["same", "opposite"] | None = None
    """For bilateral source and target: 'same' connects each side to its own side, 'opposite' across the midline."""


class EdgeGroup(Strict):
    """Many single projections written as an edge list (a connectome, grouped by cell-class pair)."""

    weight: Value
    """Weight of one unit of an edge's count (mV), signed."""
    edges: list[tuple[Name, Name, float]] = Field(min_length=1)
    """[source, target, count]: the all-to-all projection source->target (plus `suffix`) of weight count × `weight`."""
    suffix: str = Field(default="", pattern=r"^(:[A-Za-z0-9_.+\-]+)?$")
    """Appended to each projection's name (':exc', ':inh' when one pair has two channels)."""
    delay: Value = 0.1
    """Delay of every edge (ms)."""
    description: str = ""
    references: list[Cite] = []

    @field_validator("edges", mode="before")
    @classmethod
    def _edges_as_tuples(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [tuple(e) if isinstance(e, list) else e for e in value]
        return value


def _projection_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "edges" if "edges" in value else "projection"
    return "edges" if isinstance(value, EdgeGroup) else "projection"


ProjectionEntry = Annotated[
    Annotated[ProjectionDecl, Tag("projection")] | Annotated[EdgeGroup, Tag("edges")], Discriminator(_projection_kind)
]
"""A projection, or (an object with "edges") an edge group."""


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
    references: list[Cite] = []


class Readout(Strict):
    """A named signal: a weighted sum of population firing rates, low-pass filtered."""

    terms: list[ReadoutTerm] = Field(min_length=1)
    tau: float = Field(default=20.0, gt=0)
    """Time constant of the exponential filter applied to each population rate (ms)."""
    unit: Unit = "Hz"
    description: str = ""


# --------------------------------------------------------------------------- circuit


class _CircuitBase(Strict):
    schema_: str | None = Field(default=None, alias="$schema")
    """Path or URL of the JSON Schema, for editors; ignored by encephagen."""
    schema_version: Literal["2"]
    name: Name
    version: SemVer
    description: str = ""
    authors: list[str] = []
    license: str | None = None
    references: dict[Name, Reference] = {}
    """The references table: every citation in the circuit names one of its keys."""
    parameters: dict[Name, Parameter] = {}
    neuron_models: dict[Name, NeuronModel] = Field(min_length=1)
    cell_classes: dict[Name, CellClass] = Field(min_length=1)

    model_config = ConfigDict(populate_by_name=True)


class CircuitFile(_CircuitBase):
    """A circuit file as written: bilateral populations, per-side projections and edge groups unexpanded."""

    populations: dict[Name, PopulationDecl] = Field(min_length=1)
    projections: dict[Name, ProjectionEntry] = {}
    matrix_projections: dict[Name, MatrixProjection] = {}
    readouts: dict[Name, Readout] = {}
    history: list[HistoryEntry] = []


class Circuit(_CircuitBase):
    """A spiking circuit, expanded: every population and projection under the name stages address.

    ``Circuit.model_validate`` also takes a file's tree as written (bilateral declarations,
    edge groups) and a version-1 tree, which it converts (:func:`convert_from_v1`).
    """

    populations: dict[Name, Population] = Field(min_length=1)
    projections: dict[Name, Projection] = {}
    matrix_projections: dict[Name, MatrixProjection] = {}
    readouts: dict[Name, Readout] = {}
    history: list[HistoryEntry] = []

    _source_path: Any = PrivateAttr(default=None)
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_older_or_file_form(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("schema_version") == "1":
            return _fields(convert_from_v1(v1.Circuit.model_validate(data)))
        if data.get("schema_version") == SCHEMA_VERSION and _is_file_form(data):
            return _fields(expand(CircuitFile.model_validate(data)))
        return data

    @property
    def source_path(self):
        """The file this circuit was loaded from (None when built in code); arrays resolve next to it."""
        return self._source_path

    @property
    def origins(self) -> dict[str, str]:
        """Expanded name -> JSON pointer of the declaration it came from (empty for a flat circuit)."""
        return self._origins

    def __eq__(self, other) -> bool:
        """Same content, wherever each copy was loaded from (pydantic would compare the source path too)."""
        if not isinstance(other, Circuit):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # compared by content, which holds dicts: not hashable

    def __repr__(self) -> str:
        neurons = sum(int(self.resolve(p.size)) for p in self.populations.values())
        return (
            f"<Circuit {self.name} {self.version}: {neurons} neurons, {len(self.populations)} populations, "
            f"{len(self.projections) + len(self.matrix_projections)} projections, {len(self.parameters)} parameters "
            f"({len(self.free_parameters)} free)>"
        )

    def _repr_html_(self) -> str:
        """A small summary table for notebooks."""
        neurons = sum(int(self.resolve(p.size)) for p in self.populations.values())
        sources = self.source_counts()
        rows = [
            ("schema version", self.schema_version),
            ("neurons", f"{neurons:,}"),
            ("populations", len(self.populations)),
            ("projections", len(self.projections) + len(self.matrix_projections)),
            ("parameters (free)", f"{len(self.parameters)} ({len(self.free_parameters)})"),
            ("value sources", ", ".join(f"{k} {v}" for k, v in sources.items())),
            ("readouts", ", ".join(self.readouts) or "—"),
            ("references", len(self.references)),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in rows
        )
        return f"<table><caption>{html.escape(self.name)} {html.escape(self.version)}</caption>{body}</table>"

    def source_counts(self) -> dict[str, int]:
        """How many values are from the literature, calibrated, hand-set, or unsourced.

        A named parameter is one value; each literal number a neuron model sets (defaults
        left out) is one value under the model's source.
        """
        counts = {"literature": 0, "calibrated": 0, "hand-set": 0, "unsourced": 0}
        for p in self.parameters.values():
            counts[p.source.kind if p.source else "unsourced"] += 1
        for model in self.neuron_models.values():
            literal = [
                f for f in model.model_fields_set if f in FIELD_UNITS and not isinstance(getattr(model, f), ParamRef)
            ]
            counts[model.source.kind if model.source else "unsourced"] += len(literal)
        return counts

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

    def resolve(self, value: Drive | Any) -> Any:
        """The number a Value (or a list of Values, summed) stands for with the current parameter values."""
        if isinstance(value, ParamRef):
            return self.parameters[value.param].value * value.factor
        if isinstance(value, list) and value and all(isinstance(v, (ParamRef, float, int)) for v in value):
            return sum(self.resolve(v) for v in value)
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
        copy = self.model_copy(update={"parameters": parameters})
        copy._origins = dict(self._origins)
        return copy


def _fields(model: Circuit) -> dict[str, Any]:
    """A validated circuit's field values, for a before-validator that built it another way."""
    return {name: getattr(model, name) for name in model.model_fields_set} | {"schema_version": SCHEMA_VERSION}


def _is_file_form(tree: dict[str, Any]) -> bool:
    pops = tree.get("populations")
    projs = tree.get("projections")
    return (isinstance(pops, dict) and any(isinstance(p, dict) and "sides" in p for p in pops.values())) or (
        isinstance(projs, dict) and any(isinstance(p, dict) and ("to" in p or "edges" in p) for p in projs.values())
    )


def generated_json_schema() -> dict[str, Any]:
    """The JSON Schema of the circuit file, as committed in circuits/circuit.schema.json."""
    schema = CircuitFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://encephagen.org/schema/{SCHEMA_VERSION}/{SCHEMA_FILENAME}"
    schema["title"] = "encephagen circuit (schema version 2)"
    return schema


# --------------------------------------------------------------------------- expansion

SIDES = {"L": "left", "R": "right"}


def side_name(side: str, name: str) -> str:
    """The expanded name of a bilateral population on one side: ``L_RG_F``."""
    return f"{side}_{name}"


def projection_side_name(name: str, decl: Projection, side: str, other: str) -> str:
    """The expanded name of one side of a bilateral projection (``L_A->R_B`` for ``A->B``)."""
    if name == f"{decl.source}->{decl.target}":
        return f"{side}_{decl.source}->{other}_{decl.target}"
    return f"{side}_{name}"


def _runs(items: list[tuple[str, Any]], key) -> list[list[tuple[str, Any]]]:
    """Consecutive items with the same non-None key form a run; a None key is a run of its own."""
    runs: list[list[tuple[str, Any]]] = []
    last = object()
    for item in items:
        k = key(item)
        if k is not None and runs and k == last:
            runs[-1].append(item)
        else:
            runs.append([item])
        last = k
    return runs


def expand(file: CircuitFile) -> Circuit:
    """The circuit a file stands for: bilateral declarations and edge groups written out.

    Raises ``ValueError`` for a per-side projection between populations that are not both
    bilateral, or for two declarations expanding to one name.

    Examples
    --------
    >>> pop = {"cell_class": "e", "size": 2, "neuron_model": "m", "sides": ["L", "R"]}
    >>> file = CircuitFile.model_validate({
    ...     "schema_version": "2", "name": "pair", "version": "1.0.0",
    ...     "neuron_models": {"m": {"tau_m": 10.0, "v_threshold": 10.0}}, "cell_classes": {"e": {"transmitter": "glutamate"}},
    ...     "populations": {"A": pop, "B": pop},
    ...     "projections": {"A->B": {"source": "A", "target": "B", "rule": {"kind": "all_to_all"}, "weight": 1.0, "to": "opposite"}}})
    >>> circuit = expand(file)
    >>> list(circuit.populations), circuit.populations["R_A"].side
    (['L_A', 'L_B', 'R_A', 'R_B'], 'right')
    >>> [(name, p.source, p.target) for name, p in circuit.projections.items()]
    [('L_A->R_B', 'L_A', 'R_B'), ('R_A->L_B', 'R_A', 'L_B')]
    >>> expand(compact(circuit)) == circuit
    True
    """
    populations: dict[str, Population] = {}
    origins: dict[str, str] = {}
    pop_run: dict[str, int] = {}
    bilateral = {n for n, p in file.populations.items() if p.sides}
    runs = _runs(list(file.populations.items()), lambda item: (item[1].region,) if item[1].sides else None)
    for r, run in enumerate(runs):
        for name, _ in run:
            pop_run[name] = r
        for side in run[0][1].sides or [None]:
            for name, decl in run:
                data = {n: getattr(decl, n) for n in decl.model_fields_set if n not in ("sides", "per_side")}
                if side is not None:
                    data["side"] = SIDES[side]
                    if decl.per_side and side in decl.per_side:
                        override = decl.per_side[side]
                        data.update({n: getattr(override, n) for n in override.model_fields_set})
                expanded = Population.model_validate(data)
                new = name if side is None else side_name(side, name)
                _add(populations, new, expanded, "population")
                origins[f"/populations/{new}"] = f"/populations/{name}"
    projections: dict[str, Projection] = {}
    items = list(file.projections.items())
    runs = _runs(
        items, lambda item: pop_run.get(item[1].source) if isinstance(item[1], ProjectionDecl) and item[1].to else None
    )
    for run in runs:
        name0, decl0 = run[0]
        if isinstance(decl0, EdgeGroup):
            for k, (pre, post, count) in enumerate(decl0.edges):
                new = f"{pre}->{post}{decl0.suffix}"
                weight = (
                    ParamRef(param=decl0.weight.param, factor=decl0.weight.factor * count)
                    if isinstance(decl0.weight, ParamRef)
                    else float(decl0.weight) * count
                )
                data = {
                    "source": pre,
                    "target": post,
                    "rule": AllToAll(kind="all_to_all", autapses=True) if pre == post else AllToAll(kind="all_to_all"),
                    "weight": weight,
                    **{
                        f: getattr(decl0, f)
                        for f in ("delay", "description", "references")
                        if f in decl0.model_fields_set
                    },
                }
                _add(projections, new, Projection.model_validate(data), "projection")
                origins[f"/projections/{new}"] = f"/projections/{name0}/edges/{k}"
            continue
        if not (isinstance(decl0, ProjectionDecl) and decl0.to):
            data = decl0.model_dump(exclude_unset=True, exclude={"to"})
            _add(projections, name0, Projection.model_validate(data), "projection")
            continue
        for name, decl in run:
            for end in (decl.source, decl.target):
                if end not in bilateral:
                    raise ValueError(
                        f"projection {name!r} has 'to': {decl.to!r} but population {end!r} is not bilateral (no 'sides')"
                    )
        for side in ("L", "R"):
            for name, decl in run:
                other = side if decl.to == "same" else ("R" if side == "L" else "L")
                data = decl.model_dump(exclude_unset=True, exclude={"to"})
                data.update(source=side_name(side, decl.source), target=side_name(other, decl.target))
                new = projection_side_name(name, decl, side, other)
                _add(projections, new, Projection.model_validate(data), "projection")
                origins[f"/projections/{new}"] = f"/projections/{name}"
    fields = {name: getattr(file, name) for name in file.model_fields_set if name not in ("populations", "projections")}
    circuit = Circuit.model_validate({**fields, "populations": populations, "projections": projections})
    circuit._origins = origins
    return circuit


def _add(target: dict[str, Any], name: str, value: Any, what: str) -> None:
    if name in target:
        raise ValueError(f"two declarations expand to the {what} name {name!r}; rename one")
    target[name] = value


# --------------------------------------------------------------------------- compaction (the writer's form)


def compact(circuit: Circuit) -> CircuitFile:
    """The shortest file form of a circuit that :func:`expand` turns back into it.

    Left/right twins (``L_X``/``R_X``, equal but for the side) become one bilateral
    population, their projections one per-side projection; projections between
    single-neuron populations that only carry a parameter weight become edge groups per
    (source cell class, target cell class, channel). Pairing is used only when expansion gives
    back the same populations in the same order and the same projections.
    """
    fields = {
        name: getattr(circuit, name) for name in circuit.model_fields_set if name not in ("populations", "projections")
    }
    fields["schema_version"] = SCHEMA_VERSION
    flat_pops = {
        n: PopulationDecl.model_validate(p.model_dump(exclude_unset=True)) for n, p in circuit.populations.items()
    }
    edges = _edge_groups(circuit)
    for attempt in (True, False):
        if attempt:
            pops, projs = _pair(circuit)
        else:
            pops, projs = (
                flat_pops,
                {
                    n: ProjectionDecl.model_validate(p.model_dump(exclude_unset=True))
                    for n, p in circuit.projections.items()
                },
            )
        projs = _with_edge_groups(projs, edges)
        try:
            file = CircuitFile.model_validate({**fields, "populations": pops, "projections": projs})
            again = expand(file)
        except ValueError:
            continue
        if (
            again == circuit
            and list(again.populations) == list(circuit.populations)
            and _pair_order(again) == _pair_order(circuit)
        ):
            return file
    raise ValueError("compact: the circuit cannot be written back exactly (a bug)")


def _pair_order(circuit: Circuit) -> dict[tuple[str, str], list[str]]:
    """Projection names per (source, target): the order that decides how duplicate synapses sum."""
    order: dict[tuple[str, str], list[str]] = {}
    for name, p in circuit.projections.items():
        order.setdefault((p.source, p.target), []).append(name)
    return order


def _twin(name: str) -> str | None:
    return "R_" + name[2:] if name.startswith("L_") else None


def _pair(circuit: Circuit) -> tuple[dict[str, Any], dict[str, Any]]:
    """Populations and projections with left/right twins folded, in an order expansion reproduces."""
    pops = list(circuit.populations.items())
    twins: dict[str, str] = {}
    for name, pop in pops:
        twin = _twin(name)
        other = circuit.populations.get(twin) if twin else None
        if (
            twin is not None
            and pop.side == "left"
            and other is not None
            and other.side == "right"
            and _same_but(pop, other, {"side", *SideValues.model_fields})
        ):
            twins[name] = twin
    out_pops: dict[str, Any] = {}
    position = {n: i for i, (n, _) in enumerate(pops)}
    i = 0
    while i < len(pops):
        name, pop = pops[i]
        k = 0
        while i + k < len(pops) and pops[i + k][0] in twins and pops[i + k][1].region == pop.region:
            k += 1
        while k > 0 and not all(position.get(twins[pops[i + j][0]]) == i + k + j for j in range(k)):
            k -= 1
        if k == 0:
            out_pops[name] = PopulationDecl.model_validate(pop.model_dump(exclude_unset=True))
            i += 1
            continue
        for j in range(k):
            n, p = pops[i + j]
            q = circuit.populations[twins[n]]
            data = {f: getattr(p, f) for f in p.model_fields_set if f != "side"}
            per_side: dict[str, dict[str, Any]] = {}
            for f in SideValues.model_fields:
                left = getattr(p, f) if f in p.model_fields_set else None
                right = getattr(q, f) if f in q.model_fields_set else None
                if left != right:
                    data.pop(f, None)
                    for side, value in (("L", left), ("R", right)):
                        if value is not None:
                            per_side.setdefault(side, {})[f] = value
            if per_side:
                data["per_side"] = {side: SideValues.model_validate(v) for side, v in per_side.items()}
            out_pops[n[2:]] = PopulationDecl.model_validate({**data, "sides": ["L", "R"]})
        i += 2 * k
    folded = {n for n in twins if n[2:] in out_pops and out_pops[n[2:]].sides}
    projs = list(circuit.projections.items())
    pposition = {n: i for i, (n, _) in enumerate(projs)}

    def partner(name: str, p: Projection) -> tuple[str, str, str] | None:
        if not (p.source in folded and (p.target in folded or _twin_of_right(p.target) in folded)):
            return None
        base_s = p.source[2:]
        to = "same" if p.target.startswith("L_") else "opposite"
        base_t = p.target[2:]
        if name == f"{p.source}->{p.target}":
            decl, other = f"{base_s}->{base_t}", f"R_{base_s}->{'R' if to == 'same' else 'L'}_{base_t}"
        elif name.startswith("L_"):
            decl, other = name[2:], "R_" + name[2:]
        else:
            return None
        q = circuit.projections.get(other)
        want_t = ("R_" if to == "same" else "L_") + base_t
        if q is None or q.source != "R_" + base_s or q.target != want_t or not _same_but(p, q, {"source", "target"}):
            return None
        return decl, other, to

    out_projs: dict[str, Any] = {}
    i = 0
    while i < len(projs):
        name, proj = projs[i]
        k, found = 0, []
        while i + k < len(projs) and (hit := partner(*projs[i + k])) is not None:
            found.append(hit)
            k += 1
        while k > 0 and not all(pposition.get(found[j][1]) == i + k + j for j in range(k)):
            k -= 1
            found.pop()
        if k == 0:
            out_projs[name] = ProjectionDecl.model_validate(proj.model_dump(exclude_unset=True))
            i += 1
            continue
        for j in range(k):
            _, left_proj = projs[i + j]
            decl, _, to = found[j]
            data = left_proj.model_dump(exclude_unset=True)
            data.update(source=left_proj.source[2:], target=left_proj.target[2:], to=to)
            out_projs[decl] = ProjectionDecl.model_validate(data)
        i += 2 * k
    return out_pops, out_projs


def _twin_of_right(name: str) -> str | None:
    return "L_" + name[2:] if name.startswith("R_") else None


def _same_but(a: Strict, b: Strict, fields: set[str]) -> bool:
    return a.model_dump(exclude=fields, exclude_unset=True) == b.model_dump(exclude=fields, exclude_unset=True) and (
        a.model_fields_set - fields == b.model_fields_set - fields
    )


def _edge_groups(circuit: Circuit) -> dict[str, tuple[str, EdgeGroup, list[str]]]:
    """Projections between single-neuron populations carrying only a parameter weight, grouped by
    (source class, target class, parameter, suffix, delay): group name -> (first member, group, members)."""
    groups: dict[tuple, list[tuple[str, Projection, str]]] = {}
    for name, p in circuit.projections.items():
        base = f"{p.source}->{p.target}"
        suffix = name[len(base) :] if name.startswith(base) else None
        src, tgt = circuit.populations.get(p.source), circuit.populations.get(p.target)
        plain = (
            suffix is not None
            and re.fullmatch(r"(:[A-Za-z0-9_.+\-]+)?", suffix)
            and src is not None
            and tgt is not None
            and src.size == 1
            and tgt.size == 1
            and isinstance(p.rule, AllToAll)
            and p.rule.autapses == (p.source == p.target)
            and isinstance(p.weight, ParamRef)
            and p.weight_mode == "per_synapse"
            and not p.description
            and not p.references
            and p.model_fields_set <= {"source", "target", "rule", "weight", "delay"}
        )
        if plain and src is not None and tgt is not None and suffix is not None and isinstance(p.weight, ParamRef):
            key = (
                src.cell_class,
                tgt.cell_class,
                p.weight.param,
                suffix,
                circuit.resolve(p.delay) if isinstance(p.delay, float) else p.delay.model_dump_json(),
            )
            groups.setdefault(key, []).append((name, p, suffix))
    out: dict[str, tuple[str, EdgeGroup, list[str]]] = {}
    for (sc, tc, param, suffix, _), members in groups.items():
        first = members[0][1]
        group = EdgeGroup(
            weight=ParamRef(param=param),
            edges=[(p.source, p.target, p.weight.factor) for _, p, _ in members if isinstance(p.weight, ParamRef)],
            suffix=suffix,
            **({"delay": first.delay} if "delay" in first.model_fields_set else {}),
        )
        gname, k = f"{sc}->{tc}{suffix}", 2
        while gname in out or gname in circuit.projections:
            gname, k = f"{sc}->{tc}{suffix}_{k}", k + 1
        out[gname] = (members[0][0], group, [m[0] for m in members])
    return out


def _with_edge_groups(projs: dict[str, Any], groups: dict[str, tuple[str, EdgeGroup, list[str]]]) -> dict[str, Any]:
    """Replace grouped projections by their group, placed where its first member was."""
    if not groups:
        return projs
    first = {member: gname for gname, (member, _, _) in groups.items()}
    grouped = {m for _, _, members in groups.values() for m in members}
    out: dict[str, Any] = {}
    for name, decl in projs.items():
        if name in first:
            out[first[name]] = groups[first[name]][1]
        elif name not in grouped:
            out[name] = decl
    return out


# --------------------------------------------------------------------------- from version 1


def _reference_key(ref: v1.Reference, taken: set[str]) -> str:
    """'Danner SM, ... (2017) ...' -> 'danner2017' (then 'danner2017b', ...)."""
    words = re.findall(r"[A-Za-z][A-Za-z\-']*", ref.citation)
    year = re.search(r"\((\d{4})[a-z]?\)|\b(19|20)\d{2}\b", ref.citation)
    stem = words[0].lower().replace("-", "").replace("'", "") if words else "ref"
    if year:
        stem += (year.group(1) or year.group(0))[:4]
    stem = re.sub(r"[^a-z0-9_]", "", stem) or "ref"
    if not re.match(r"[a-z_]", stem):
        stem = "ref" + stem
    key, n = stem, 1
    while key in taken:
        key = f"{stem}{'bcdefghijklmnopqrstuvwxyz'[n - 1] if n <= 25 else n}"
        n += 1
    return key


class ConversionError(ValueError):
    """A version-1 value that version 2 cannot express; ``pointer`` locates it in the version-1 file."""

    def __init__(self, pointer: str, message: str, hint: str = ""):
        super().__init__(message)
        self.pointer, self.message, self.hint = pointer, message, hint


def _v2_unit(unit: str, pointer: str) -> str:
    import typing

    from ..errors import did_you_mean

    unit = V1_UNIT_SPELLINGS.get(unit, unit)
    known = typing.get_args(Unit)
    if unit and unit not in known:
        raise ConversionError(
            pointer,
            f"unit {unit!r} is not in the unit vocabulary{did_you_mean(unit, known)}",
            f"Give the value in one of {', '.join(known)} (mV for potentials, currents and weights; ms for times; Hz for rates)",
        )
    return unit


V1_UNIT_SPELLINGS = {"mV s/rad": "mV/(rad/s)", "dimensionless": "1", "mV*s/rad": "mV/(rad/s)"}
"""Free-text units of version-1 files that name a unit of the vocabulary another way."""


def convert_from_v1(old: v1.Circuit) -> Circuit:
    """The version-2 circuit equal to a version-1 circuit (a pure function; nothing is lost).

    Repeated citations become one references-table entry each (cited with the old note),
    a free parameter the last history entry (a calibration) changed gets a 'calibrated' source,
    ``'total'`` weights become ``'source_size'`` (what version 1 computed), a parameter
    without a unit gets the unit of the fields it is used in (none when it is used in none).
    """
    table: dict[str, Reference] = {}
    keys: dict[tuple[str, str | None], str] = {}

    def key_of(ref: v1.Reference) -> str:
        ident = (ref.citation, ref.doi)
        if ident not in keys:
            keys[ident] = _reference_key(ref, set(table))
            table[keys[ident]] = Reference(citation=ref.citation, **({"doi": ref.doi} if ref.doi else {}))
        return keys[ident]

    top: dict[str, Reference] = {}
    for ref in old.references:
        k = key_of(ref)
        top[k] = table[k].model_copy(update={"note": ref.note}) if ref.note is not None else table[k]

    def cites(refs: list[v1.Reference]) -> list[Cite]:
        """Each citation with its own note; a note the table entry already carries is not repeated."""
        out = []
        for r in refs:
            k = key_of(r)
            repeated = k in top and r.note == top[k].note
            out.append(Cite(ref=k, **({"note": r.note} if r.note is not None and not repeated else {})))
        return out

    def convert(model: Strict, cls: type[Strict], **extra: Any) -> Any:
        data = {name: getattr(model, name) for name in model.model_fields_set}
        if "references" in data:
            data["references"] = cites(data["references"])
        data.update(extra)
        return cls.model_validate(data)

    units = _used_units(old)
    calibrated = _calibrated_by_last_entry(old)
    parameters = {}
    for name, p in old.parameters.items():
        data = {n: getattr(p, n) for n in p.model_fields_set}
        if name in calibrated:
            data["source"] = Source(kind="calibrated", history=calibrated[name])
        unit = _v2_unit(p.unit, f"/parameters/{name}/unit") or units.get(name)
        data.pop("unit", None)
        if unit:
            data["unit"] = unit
        if "references" in data:
            data["references"] = cites(data["references"])
        parameters[name] = Parameter.model_validate(data)
    neuron_models = {n: convert(m, NeuronModel) for n, m in old.neuron_models.items()}
    cell_classes = {n: convert(c, CellClass) for n, c in old.cell_classes.items()}
    populations = {}
    for n, pop in old.populations.items():
        poisson: dict[str, Any] = (
            {"poisson_input": PoissonInput.model_validate(pop.poisson_input.model_dump(exclude_unset=True))}
            if pop.poisson_input
            else {}
        )
        populations[n] = convert(pop, Population, **poisson)
    projections = {}
    for n, proj in old.projections.items():
        mode: dict[str, Any] = (
            {"weight_mode": "source_size"}
            if "weight_mode" in proj.model_fields_set and proj.weight_mode == "total"
            else {}
        )
        projections[n] = convert(proj, Projection, **mode)
    matrix_projections = {n: convert(m, MatrixProjection) for n, m in old.matrix_projections.items()}
    readouts = {
        n: convert(
            r, Readout, **({"unit": _v2_unit(r.unit, f"/readouts/{n}/unit")} if "unit" in r.model_fields_set else {})
        )
        for n, r in old.readouts.items()
    }
    data = {name: getattr(old, name) for name in old.model_fields_set}
    data.update(
        schema_version=SCHEMA_VERSION,
        parameters=parameters,
        neuron_models=neuron_models,
        cell_classes=cell_classes,
        populations=populations,
        projections=projections,
        matrix_projections=matrix_projections,
        readouts=readouts,
    )
    data["references"] = (
        {**top, **{k: v for k, v in table.items() if k not in top}} if (table or "references" in data) else {}
    )
    for name in ("parameters", "matrix_projections", "projections", "readouts"):
        if name not in old.model_fields_set and not data[name]:
            del data[name]
    if not data["references"] and "references" not in old.model_fields_set:
        del data["references"]
    if "schema_" in data and data["schema_"] is not None:
        data["$schema"] = SCHEMA_FILENAME
        del data["schema_"]
    circuit = Circuit.model_validate(data)
    circuit._source_path = old.source_path
    return circuit


def _calibrated_by_last_entry(old: v1.Circuit) -> dict[str, str]:
    """Parameters the history proves calibrated: free, and changed by the last history entry,
    a calibration that recorded the values it started from (``details.values_before``)."""
    if not old.history or old.history[-1].action != "calibrated":
        return {}
    entry = old.history[-1]
    before = entry.details.get("values_before")
    if not isinstance(before, dict):
        return {}
    return {
        name: entry.version
        for name, p in old.parameters.items()
        if p.free and isinstance(before.get(name), (int, float)) and before[name] != p.value
    }


def _used_units(old: v1.Circuit) -> dict[str, str]:
    """Parameter -> the unit of the first typed field it is used in (v1 units were free text)."""
    units: dict[str, str] = {}

    def walk(node: Any, field: str | None) -> None:
        if isinstance(node, ParamRef):
            if field is not None:
                units.setdefault(node.param, FIELD_UNITS[field])
        elif isinstance(node, Strict):
            for name in type(node).model_fields:
                walk(getattr(node, name), name if name in FIELD_UNITS else field)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value, field)
        elif isinstance(node, list):
            for value in node:
                walk(value, field)

    walk(old, None)
    return units
