"""Schema versions: reading any supported ``schema_version`` and writing the current one.

Each released version has its models in :mod:`encephagen.schema` (``v1``, ``v2``) and an
explicit, pure converter from the one before (:func:`encephagen.schema.v2.convert_from_v1`),
applied to a *validated* model. :data:`encephagen.upgrades.CONVERTERS` holds tree-level converters for formats
older than any model module (none ship; the hook is tested). ``encephagen migrate`` loads a
file through all of them and writes the current version, whose writer declares left/right
twins once, builds the references table and groups connectome edges.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from .errors import CircuitError
from .schema import SCHEMA_VERSION, Circuit, HistoryEntry, bump_version


def migrate_file(name_or_path: str | os.PathLike) -> tuple[Circuit, str | None, Path]:
    """Load a circuit of any supported schema version and upgrade it.

    Returns
    -------
    circuit
        The validated circuit at the current schema version; when it was upgraded, with a
        'migrated' history entry and a patch version bump.
    from_version
        The schema version the file had, or None when it was already current.
    path
        The file that was read.
    """
    from ._version import __version__
    from .locations import resolve_circuit_path
    from .rules import check_circuit
    from .storage import circuit_from_tree, read_tree

    path = resolve_circuit_path(name_or_path)
    tree = read_tree(path)
    from_version = tree.get("schema_version") if isinstance(tree, dict) else None
    circuit = circuit_from_tree(tree, str(path))
    circuit._source_path = path.resolve()
    problems = check_circuit(circuit, str(path), base_dir=path.parent)
    if problems:
        from .validation_messages import relocate

        raise CircuitError(relocate(problems, circuit))
    if from_version == SCHEMA_VERSION:
        return circuit, None, path
    upgraded = append_history(
        circuit,
        action="migrated",
        author=f"encephagen migrate {__version__}",
        description=f"schema_version {from_version} -> {SCHEMA_VERSION}",
        details={"from_schema_version": from_version, "to_schema_version": SCHEMA_VERSION},
        part="patch",
    )
    return upgraded, str(from_version), path


def append_history(
    circuit: Circuit,
    *,
    action: str,
    author: str,
    description: str = "",
    details: dict[str, Any] | None = None,
    part: Literal["major", "minor", "patch"] = "minor",
) -> Circuit:
    """A new version of the circuit: version bumped and one history entry appended (dated now, UTC)."""
    version = bump_version(circuit.version, part)
    entry = HistoryEntry(
        version=version,
        date=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        author=author,
        action=action,
        parent_version=circuit.version,
        description=description,
        details=details or {},
    )
    return circuit.model_copy(update={"version": version, "history": [*circuit.history, entry]})
