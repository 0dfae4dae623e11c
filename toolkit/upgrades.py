"""Tree-level converters for schema versions older than any model module (a registry; none ship)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import CircuitError, Problem
from .schema import SCHEMA_VERSIONS

Converter = Callable[[dict[str, Any]], dict[str, Any]]


CONVERTERS: dict[str, tuple[str, Converter]] = {}
"""from-version -> (to-version, function taking and returning a raw tree)."""


def register_converter(from_version: str, to_version: str, convert: Converter) -> None:
    """Declare how a tree of ``from_version`` becomes a tree of ``to_version``."""
    if from_version in CONVERTERS:
        raise ValueError(f"a converter from schema_version {from_version!r} is already registered")
    CONVERTERS[from_version] = (to_version, convert)


def upgrade_tree(tree: dict[str, Any], file: str) -> dict[str, Any]:
    """Apply tree converters until the tree has a version that has its own models."""
    seen = set()
    while (version := str(tree.get("schema_version"))) not in SCHEMA_VERSIONS:
        if version in seen or version not in CONVERTERS:
            known = sorted({*CONVERTERS, *SCHEMA_VERSIONS})
            raise CircuitError(
                [
                    Problem(
                        file,
                        "/schema_version",
                        f"unsupported schema_version {version!r}",
                        f"This encephagen reads schema versions {', '.join(known)}; upgrade encephagen or fix the field",
                    )
                ]
            )
        seen.add(version)
        to_version, convert = CONVERTERS[version]
        tree = {**convert(dict(tree)), "schema_version": to_version}
    return tree
