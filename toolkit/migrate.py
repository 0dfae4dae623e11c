"""Schema versions: explicit converters from each older ``schema_version`` to the next.

Version 1 is the first published format, so the registry holds no converter yet; the
machinery is here from day one so that the first change of format arrives with its
converter and ``encephagen migrate`` writes the upgraded file.
"""

from __future__ import annotations

from typing import Any, Callable

from .errors import CircuitError, Problem
from .schema import SCHEMA_VERSION

Converter = Callable[[dict[str, Any]], dict[str, Any]]
CONVERTERS: dict[str, tuple[str, Converter]] = {}
"""from-version -> (to-version, function taking and returning a raw tree)."""


def register_converter(from_version: str, to_version: str, convert: Converter) -> None:
    """Declare how a tree of ``from_version`` becomes a tree of ``to_version``."""
    if from_version in CONVERTERS:
        raise ValueError(f"a converter from schema_version {from_version!r} is already registered")
    CONVERTERS[from_version] = (to_version, convert)


def upgrade_tree(tree: dict[str, Any], file: str) -> dict[str, Any]:
    """Apply converters until the tree has the current schema version."""
    seen = set()
    while (version := str(tree.get("schema_version"))) != SCHEMA_VERSION:
        if version in seen or version not in CONVERTERS:
            known = sorted({*CONVERTERS, SCHEMA_VERSION})
            raise CircuitError([Problem(file, "/schema_version", f"unsupported schema_version {version!r}", f"This encephagen reads schema versions {', '.join(known)}; upgrade encephagen or fix the field")])
        seen.add(version)
        to_version, convert = CONVERTERS[version]
        tree = {**convert(dict(tree)), "schema_version": to_version}
    return tree
