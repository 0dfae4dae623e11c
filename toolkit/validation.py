"""``encephagen validate``: load a circuit file and report every schema and rule problem in one pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .diff import SECTIONS
from .errors import Problem
from .rules import check_circuit, estimate_size

# --------------------------------------------------------------------------- one report per file


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one file: the problems of both layers, or a summary of the circuit."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    error: str = ""
    """Why the file could not be read at all (missing, a directory, not HDF5...), if so."""
    summary: str = ""
    """'2 populations, 10 neurons, about 50 synapses' for a valid circuit."""

    @property
    def valid(self) -> bool:
        return not (self.problems or self.error)

    def render(self) -> str:
        if self.error:
            return f"{self.error}\n"
        if self.problems:
            return "".join(f"{p}\n" for p in self.problems)
        return f"{self.file}: valid ({self.summary})\n"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "valid": self.valid,
            "error": self.error or None,
            "summary": self.summary or None,
            "problems": [
                {"pointer": p.pointer, "message": p.message, "hint": p.hint, "text": str(p)} for p in self.problems
            ],
        }


def validate_file(name_or_path: str) -> ValidationReport:
    """Load and check one circuit file (or shipped circuit), collecting every problem instead of raising."""
    from .errors import CircuitError, EncephagenError
    from .locations import resolve_circuit_path
    from .storage import load_circuit

    try:
        path = str(resolve_circuit_path(name_or_path))
        circuit = load_circuit(path)
    except CircuitError as exc:
        problems = list(exc.problems)
        problems += rules_despite_schema_errors(Path(path), problems)
        return ValidationReport(exc.problems[0].file if exc.problems else str(name_or_path), problems)
    except EncephagenError as exc:
        return ValidationReport(str(name_or_path), error=str(exc))
    estimate = estimate_size(circuit)
    summary = (
        f"{len(circuit.populations)} populations, {estimate.neurons:,} neurons, about {estimate.synapses:,.0f} synapses"
    )
    return ValidationReport(path, summary=summary)


NAMED_SECTIONS = ("references", *SECTIONS)
"""The sections whose items are named (``/populations/MN_F/...``), the references table included."""


PLACEHOLDERS: dict[str, object] = {
    "name": "circuit",
    "version": "0.0.0",
    "description": "",
    "authors": [],
    "license": None,
}


def rules_despite_schema_errors(path: Path, problems: list[Problem]) -> list[Problem]:
    """The rule problems of the rest of a file whose schema check failed, so one run reports both.

    Every named item (population, projection, parameter...) or history entry with a schema
    problem is left out, and the rules run on what remains; rule problems that mention a
    left-out name are dropped (they would only repeat the schema problem). Nothing is added
    when the remaining tree still fails the schema or the file cannot be parsed.
    """
    from .errors import CircuitError, EncephagenError
    from .storage import circuit_from_tree, read_tree
    from .validation_messages import relocate

    if not problems or any(p.pointer in ("", "/", "/schema_version") for p in problems):
        return []
    try:
        tree = read_tree(path)
    except EncephagenError:
        return []
    if not isinstance(tree, dict):
        return []
    removed: set[str] = set()
    history_gone: set[int] = set()
    for problem in problems:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in problem.pointer.split("/")[1:]]
        if len(parts) >= 2 and parts[0] in NAMED_SECTIONS and isinstance(tree.get(parts[0]), dict):
            if tree[parts[0]].pop(parts[1], None) is not None or parts[1] in removed:
                removed.add(parts[1])
        elif len(parts) >= 2 and parts[0] == "history" and parts[1].isdigit():
            history_gone.add(int(parts[1]))
        elif len(parts) >= 1 and parts[0] in PLACEHOLDERS:
            tree[parts[0]] = PLACEHOLDERS[parts[0]]
        else:
            return []
    if history_gone and isinstance(tree.get("history"), list):
        tree["history"] = [h for i, h in enumerate(tree["history"]) if i not in history_gone]
    for section in ("neuron_models", "cell_classes", "populations"):
        if isinstance(tree.get(section), dict) and not tree[section]:
            return []
    try:
        circuit = circuit_from_tree(tree, str(path))
    except (CircuitError, ValueError):
        return []
    circuit._source_path = path.resolve()
    found = relocate(check_circuit(circuit, str(path), base_dir=path.parent), circuit)
    import re

    mentions = [re.compile(rf"'(?:[LR]_)?{re.escape(name)}(?:->[^']*)?'|/{re.escape(name)}(?:/|$)") for name in removed]
    return [
        p
        for p in found
        if not any(m.search(p.message) or m.search(p.pointer) for m in mentions)
        and not p.pointer.startswith("/history")
    ]
