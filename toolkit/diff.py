"""Semantic differences between two versions of a circuit.

A line diff of two circuit files says which lines moved; this says what changed in the
circuit: populations, projections, parameters, cell classes, neuron models, matrix
projections and readouts added, removed or changed, each changed number as old -> new with
its relative change, and the history entries the new version added. Both sides are
compared as validated models with every default filled in, so writing a default out or
leaving it implicit is not a change, and a JSON file and its HDF5 form compare equal.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import json_pointer
from .schema import Circuit

SECTIONS = (
    "parameters",
    "neuron_models",
    "cell_classes",
    "populations",
    "projections",
    "matrix_projections",
    "readouts",
)
"""Named items, compared name by name, in the order a report lists them."""
METADATA = ("schema_version", "name", "version", "description", "authors", "license", "references")
"""Circuit-level fields ('$schema', an editor hint, is not compared)."""

Status = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    """One difference: an item added or removed, or one value inside an item changed."""

    section: str
    """'metadata' or one of :data:`SECTIONS`."""
    name: str
    """The item's name ('' for metadata)."""
    status: Status
    path: tuple[Any, ...] = ()
    """Keys and indices inside the item (or the metadata field) of a changed value."""
    old: Any = None
    new: Any = None

    @property
    def pointer(self) -> str:
        """JSON pointer of the changed value in the circuit file."""
        return json_pointer(([self.section, self.name] if self.section != "metadata" else []) + list(self.path))

    @property
    def relative(self) -> float | None:
        """(new - old) / |old| for a changed number (infinite from 0); None for anything else."""
        if self.status != "changed" or not (_is_number(self.old) and _is_number(self.new)):
            return None
        if self.old == 0:
            return 0.0 if self.new == 0 else math.copysign(math.inf, self.new)
        return (self.new - self.old) / abs(self.old)

    def to_json(self) -> dict[str, Any]:
        relative = self.relative
        return {
            "section": self.section,
            "name": self.name,
            "status": self.status,
            "pointer": self.pointer,
            "old": self.old,
            "new": self.new,
            "relative": relative if relative is None or math.isfinite(relative) else None,
        }


@dataclass(frozen=True)
class CircuitDiff:
    """Everything that differs between an old and a new circuit."""

    old: str
    """'name version' of the old circuit."""
    new: str
    changes: list[Change] = field(default_factory=list)
    added_history: list[dict[str, Any]] = field(default_factory=list)
    """History entries of the new circuit that the old one does not have, in order."""
    removed_history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not (self.changes or self.added_history or self.removed_history)

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "identical": self.identical,
            "changes": [c.to_json() for c in self.changes],
            "added_history": self.added_history,
            "removed_history": self.removed_history,
        }

    def render(self) -> str:
        """The report as text: one line per change, grouped by section."""
        lines = [f"--- {self.old}", f"+++ {self.new}"]
        if self.identical:
            lines.append("no semantic differences")
        section = None
        for change in self.changes:
            if change.section != section:
                section = change.section
                lines.append(section)
            lines.append("  " + _render_change(change))
        for label, entries, mark in (
            ("history: new entries", self.added_history, "+"),
            ("history: entries removed", self.removed_history, "-"),
        ):
            if entries:
                lines.append(label)
                lines.extend(f"  {mark} {_render_history(entry)}" for entry in entries)
        return "\n".join(lines) + "\n"


def diff_circuits(old: Circuit, new: Circuit) -> CircuitDiff:
    """The semantic difference from ``old`` to ``new``.

    Examples
    --------
    >>> old = Circuit.model_validate({
    ...     "schema_version": "1", "name": "pair", "version": "1.0.0",
    ...     "parameters": {"w": {"value": -2.0}},
    ...     "neuron_models": {"lif": {"tau_m": 10.0, "v_threshold": 10.0}},
    ...     "cell_classes": {"V1": {"transmitter": "glycine"}},
    ...     "populations": {"a": {"cell_class": "V1", "size": 3, "neuron_model": "lif"}}})
    >>> new = old.with_parameter_values({"w": -2.5}).model_copy(update={"version": "1.1.0"})
    >>> print(diff_circuits(old, new).render(), end="")
    --- pair 1.0.0
    +++ pair 1.1.0
    metadata
      ~ version: "1.0.0" → "1.1.0"
    parameters
      ~ w/value: -2.0 → -2.5 (-25%)
    """
    a, b = _full_tree(old), _full_tree(new)
    changes: list[Change] = []
    for key in METADATA:
        for path, before, after in _leaf_changes(a.get(key), b.get(key), (key,)):
            changes.append(Change("metadata", "", "changed", path, before, after))
    for section in SECTIONS:
        items_a, items_b = a[section], b[section]
        changes.extend(Change(section, name, "removed", old=items_a[name]) for name in items_a if name not in items_b)
        for name in items_b:
            if name not in items_a:
                changes.append(Change(section, name, "added", new=items_b[name]))
            else:
                for path, before, after in _leaf_changes(items_a[name], items_b[name], ()):
                    changes.append(Change(section, name, "changed", path, before, after))
    added = [h for h in b["history"] if h not in a["history"]]
    removed = [h for h in a["history"] if h not in b["history"]]
    return CircuitDiff(f"{old.name} {old.version}", f"{new.name} {new.version}", changes, added, removed)


def _full_tree(circuit: Circuit) -> dict[str, Any]:
    return circuit.model_dump(mode="json", by_alias=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_array(value: Any) -> bool:
    """A list of numbers, or a list of such lists (edge lists, inline matrices)."""
    return isinstance(value, list) and bool(value) and all(_is_number(x) or _is_array(x) for x in value)


def _leaf_changes(old: Any, new: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any, Any]]:
    """(path, old, new) of every differing value; arrays and values that change type count as one."""
    if old == new and type(old) is type(new):
        return
    if isinstance(old, dict) and isinstance(new, dict) and not _kind_changed(old, new):
        for key in old:
            if key in new:
                yield from _leaf_changes(old[key], new[key], path + (key,))
            else:
                yield path + (key,), old[key], None
        for key in new:
            if key not in old:
                yield path + (key,), None, new[key]
    elif (
        isinstance(old, list)
        and isinstance(new, list)
        and len(old) == len(new)
        and not (_is_array(old) or _is_array(new))
    ):
        for i, (x, y) in enumerate(zip(old, new)):
            yield from _leaf_changes(x, y, path + (i,))
    elif _is_number(old) and _is_number(new) and old == new:
        return  # 1 and 1.0 are the same number
    else:
        yield path, old, new


def _kind_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """A rule whose kind changed is reported as one change of the whole rule."""
    return "kind" in old and "kind" in new and old["kind"] != new["kind"]


# --------------------------------------------------------------------------- rendering


def _render_change(change: Change) -> str:
    if change.status == "added":
        return f"+ {change.name}: {_summary(change.section, change.new)}"
    if change.status == "removed":
        return f"- {change.name}: {_summary(change.section, change.old)}"
    where = "/".join(str(p) for p in ((change.name,) if change.name else ()) + change.path)
    if _is_array(change.old) and _is_array(change.new):
        return f"~ {where}: {_array_change(change.old, change.new)}"
    text = f"~ {where}: {_compact(change.old)} → {_compact(change.new)}"
    relative = change.relative
    if relative is not None:
        percent = relative * 100
        text += (
            " (from 0)"
            if not math.isfinite(relative)
            else f" ({percent:+.0f}%)"
            if abs(percent) >= 1000
            else f" ({percent:+.3g}%)"
        )
    return text


def _summary(section: str, item: dict[str, Any]) -> str:
    """A one-line description of an added or removed item."""
    if section == "populations":
        return f"{item['size'] if not isinstance(item['size'], dict) else _compact(item['size'])} × {item['cell_class']} ({item['neuron_model']})"
    if section == "projections":
        return f"{item['source']} → {item['target']}, {item['rule']['kind']}, weight {_compact(item['weight'])}"
    if section == "parameters":
        free = f", free in {item['bounds']}" if item.get("free") else ""
        return f"{_compact(item['value'])} {item.get('unit', '')}".rstrip() + free
    if section == "cell_classes":
        return item["transmitter"]
    if section == "matrix_projections":
        return f"{len(item['sources'])} sources → {len(item['targets'])} targets"
    if section == "readouts":
        return " ".join(f"{t['coefficient']:+g}·{t['population']}" for t in item["terms"])
    return _compact(item)


def _array_change(old: list[Any], new: list[Any]) -> str:
    import numpy as np

    try:
        a, b = np.asarray(old, dtype=float), np.asarray(new, dtype=float)
    except ValueError:  # ragged
        return f"{_compact(old)} → {_compact(new)}"
    if a.shape != b.shape:
        return f"shape {list(a.shape)} → {list(b.shape)}"
    differ = a != b
    return f"{int(differ.sum())} of {a.size} entries changed (largest |change| {float(np.abs(a - b).max()):.6g})"


def _render_history(entry: dict[str, Any]) -> str:
    text = f"{entry['version']}  {entry['date']}  {entry['action']} by {entry['author']}"
    return f"{text}: {entry['description']}" if entry.get("description") else text


def _compact(value: Any, limit: int = 100) -> str:
    """One-line form: numbers as Python prints them, rules as kind(field=value, ...), else JSON."""
    if value is None:
        return "(none)"
    if _is_number(value):
        text = repr(value)
    elif isinstance(value, dict) and isinstance(value.get("kind"), str):
        fields = ", ".join(f"{k}={_compact(v, limit)}" for k, v in value.items() if k != "kind")
        text = f"{value['kind']}({fields})"
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 3] + "..."
