"""Reading and writing circuit files: JSON for people and git, HDF5 for large graphs.

Both forms hold the same tree. The JSON writer is canonical (the model's field order,
the author's order of named items, shortest round-trip floats, arrays of numbers on one
line, a trailing newline), so changing one weight changes one line of ``git diff``. The
HDF5 form maps objects to groups, scalars and strings to attributes and numeric arrays to
datasets, so JSON -> HDF5 -> JSON reproduces the file byte for byte and an error inside an
HDF5 file is located by its HDF5 path, which reads like the JSON pointer.

No loader executes code or unpickles anything: JSON is parsed by :mod:`json`, HDF5 is read
attribute by attribute and dataset by dataset with h5py, and both are then validated by
the pydantic models and the circuit rules before a :class:`Circuit` is returned.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from .errors import CircuitError, CircuitFileError, Problem, UnknownNameError, json_pointer
from .schema import SCHEMA_FILENAME, Circuit

MAX_FILE_BYTES = 2 * 1024**3
"""Circuit files larger than this are refused before reading (2 GiB)."""
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
JSON_SUFFIXES = (".json",)
HDF5_SUFFIXES = (".h5", ".hdf5")


# --------------------------------------------------------------------------- locating files


def shipped_circuits_dir() -> Path:
    """Folder of the circuits that ship with encephagen (``circuits/`` in the source tree)."""
    return Path(str(resources.files("encephagen.circuits")))


def shipped_circuit_names() -> list[str]:
    folder = shipped_circuits_dir()
    return sorted(p.stem for p in folder.iterdir() if p.suffix in JSON_SUFFIXES + HDF5_SUFFIXES and p.name != SCHEMA_FILENAME)


def resolve_circuit_path(name_or_path: str | os.PathLike) -> Path:
    """A path as given if it exists or looks like a path; otherwise a shipped circuit by name.

    >>> resolve_circuit_path("half_centre").name
    'half_centre.json'
    """
    path = Path(name_or_path)
    if path.exists() or path.suffix or os.sep in str(name_or_path):
        return path
    for suffix in JSON_SUFFIXES + HDF5_SUFFIXES:
        candidate = shipped_circuits_dir() / f"{name_or_path}{suffix}"
        if candidate.is_file():
            return candidate
    raise UnknownNameError("circuit (not a file, not a shipped circuit)", str(name_or_path), shipped_circuit_names())


# --------------------------------------------------------------------------- loading


def load_circuit(name_or_path: str | os.PathLike, *, check_rules: bool = True, check_arrays: bool = True) -> Circuit:
    """Read, parse and validate a circuit file (JSON or HDF5) or a shipped circuit by name.

    Raises :class:`CircuitFileError` when the file cannot be read and :class:`CircuitError`
    listing every problem (file, JSON pointer or HDF5 path, what is wrong, how to fix it)
    when it can be read but is not a valid circuit.
    """
    path = resolve_circuit_path(name_or_path)
    tree = read_tree(path)
    circuit = circuit_from_tree(tree, str(path))
    circuit._source_path = path.resolve()
    if check_rules:
        from .rules import check_circuit

        problems = check_circuit(circuit, str(path), base_dir=path.parent, check_arrays=check_arrays)
        if problems:
            raise CircuitError(problems)
    return circuit


def read_tree(path: Path) -> Any:
    """The raw JSON-like tree of a circuit file, after the checks that need no schema."""
    _check_readable(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head == HDF5_SIGNATURE:
        return _read_hdf5_tree(path)
    if path.suffix.lower() in HDF5_SUFFIXES:
        raise CircuitFileError(f"{path}: not an HDF5 file (it does not start with the HDF5 signature); is it truncated or mislabelled?")
    return _read_json_tree(path)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise CircuitFileError(f"{path}: no such file")
    if path.is_dir():
        raise CircuitFileError(f"{path}: is a directory, not a circuit file")
    if not os.access(path, os.R_OK):
        raise CircuitFileError(f"{path}: permission denied (not readable by this user)")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise CircuitFileError(f"{path}: file is {size / 1024**3:.1f} GiB, over the {MAX_FILE_BYTES / 1024**3:.0f} GiB limit for circuit files")
    if size == 0:
        raise CircuitFileError(f"{path}: file is empty")


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON and not a valid value")


def _read_json_tree(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CircuitFileError(f"{path}: not UTF-8 text (byte {exc.start}); is it a binary file?") from None
    except OSError as exc:
        raise CircuitFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise CircuitError([Problem(str(path), "", f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", "Fix the syntax there (a missing comma, quote or bracket is the usual cause)")]) from None
    except _DuplicateKey as exc:
        raise CircuitError([Problem(str(path), "", f"duplicate key {exc.key!r}", "Every name must appear once in its object; rename or merge the two entries")]) from None
    except ValueError as exc:
        raise CircuitError([Problem(str(path), "", str(exc), "Use a finite number")]) from None
    except RecursionError:
        raise CircuitError([Problem(str(path), "", "JSON nested too deeply", "A circuit file is at most a few levels deep")]) from None


def circuit_from_tree(tree: Any, file: str) -> Circuit:
    """Validate a raw tree against the schema, reporting every problem with its pointer."""
    if not isinstance(tree, dict):
        raise CircuitError([Problem(file, "", f"a circuit file holds one JSON object; got {type(tree).__name__}", "Wrap the content in { ... }")])
    version = tree.get("schema_version")
    if version is not None and version != "1":
        from .migrate import upgrade_tree

        tree = upgrade_tree(tree, file)
    try:
        return Circuit.model_validate(tree, strict=True)
    except ValidationError as exc:
        raise CircuitError(problems_from_validation(exc, tree, file)) from None


def problems_from_validation(exc: ValidationError, tree: Any, file: str) -> list[Problem]:
    """Turn pydantic errors into located problems; union alternatives at one place are merged."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for error in exc.errors(include_url=False):
        path, model = _data_path(tree, error["loc"])
        merged.setdefault(json_pointer(path), []).append({**error, "_model": model})
    problems = []
    for pointer, errors in merged.items():
        problems.append(_describe(file, pointer, errors))
    return problems


def _data_path(tree: Any, loc: Iterable[Any]) -> tuple[list[Any], type | None]:
    """The real keys/indices of a pydantic error location (union tags dropped), and the model
    that owns the last one (for 'did you mean' hints on unknown fields)."""
    path: list[Any] = []
    node, annotation, owner = tree, Circuit, None
    for item in loc:
        present = (isinstance(node, dict) and item in node) or (
            isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node)
        )
        if not present:
            continue  # a union tag, or a missing/unknown key reported at its parent
        owner = _as_model(annotation, node)
        annotation = _child_annotation(annotation, item, node)
        path.append(item)
        node = node[item]
    return path, _as_model(annotation, node) if not path or owner is None else owner


def _as_model(annotation: Any, value: Any) -> type | None:
    """The pydantic model an annotation stands for, given the value (discriminated by 'kind')."""
    import typing

    candidates = [a for a in _flatten_union(annotation) if isinstance(a, type) and hasattr(a, "model_fields")]
    if isinstance(value, dict) and "kind" in value:
        for candidate in candidates:
            kind = candidate.model_fields.get("kind")
            if kind is not None and value["kind"] in typing.get_args(kind.annotation):
                return candidate
    if isinstance(value, dict) and len(candidates) > 1:
        matching = [c for c in candidates if set(value) <= {f.alias or n for n, f in c.model_fields.items()}]
        candidates = matching or candidates
    return candidates[0] if candidates else None


def _child_annotation(annotation: Any, item: Any, node: Any) -> Any:
    import typing

    model = _as_model(annotation, node)
    if model is not None and isinstance(node, dict):
        for name, field in model.model_fields.items():
            if item in (name, field.alias):
                return field.annotation
        return None
    for option in _flatten_union(annotation):
        origin = typing.get_origin(option)
        if origin is dict and isinstance(node, dict):
            return typing.get_args(option)[1]
        if origin is list and isinstance(node, list):
            return typing.get_args(option)[0]
    return None


def _flatten_union(annotation: Any) -> list[Any]:
    import typing

    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _flatten_union(args[0])
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return [a for arg in args for a in _flatten_union(arg)]
    return [annotation]


def _describe(file: str, pointer: str, errors: list[dict[str, Any]]) -> Problem:
    first = errors[0]
    model = first["_model"]
    kind = first["type"]
    if kind == "extra_forbidden":
        field = str(first["loc"][-1])
        known = [f.alias or n for n, f in getattr(model, "model_fields", {}).items()] if model else []
        from .errors import did_you_mean

        hint = did_you_mean(field, known).lstrip("; ")
        return Problem(file, pointer, f"unknown field {field!r}", hint[0].upper() + hint[1:] if hint else "Remove it")
    if kind == "missing":
        field = str(first["loc"][-1])
        return Problem(file, pointer, f"missing required field {field!r}", "Add it (see circuits/circuit.schema.json)")
    messages = []
    for error in errors:
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        message = message.replace("Input should be", "expected").replace("Input tag", "kind")
        if message not in messages:
            messages.append(message)
    got = first.get("input")
    shown = json.dumps(got) if isinstance(got, (str, int, float, bool)) or got is None else type(got).__name__
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return Problem(file, pointer, f"{' or '.join(messages)}; got {shown}")


# --------------------------------------------------------------------------- writing


def circuit_tree(circuit: Circuit) -> dict[str, Any]:
    """The JSON-ready tree of a circuit: fields at their defaults are left out."""
    return circuit.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def dumps_canonical(tree: Any) -> str:
    """Canonical JSON text: 2-space indent, numeric arrays on one line, trailing newline.

    >>> print(dumps_canonical({"b": [1, 2.5], "a": {"x": 1e-07}}), end="")
    {
      "b": [1, 2.5],
      "a": {
        "x": 1e-07
      }
    }
    """
    return _encode(tree, 0) + "\n"


def _encode(node: Any, depth: int) -> str:
    pad = "  " * (depth + 1)
    if isinstance(node, dict):
        if not node:
            return "{}"
        items = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_encode(v, depth + 1)}" for k, v in node.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    if isinstance(node, list):
        if not node:
            return "[]"
        if all(_is_scalar(x) for x in node):
            return "[" + ", ".join(_encode(x, depth + 1) for x in node) + "]"
        items = [pad + _encode(x, depth + 1) for x in node]
        return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"
    if isinstance(node, float):
        if not math.isfinite(node):
            raise ValueError(f"refusing to write a non-finite number {node!r}")
        return repr(node)
    return json.dumps(node, ensure_ascii=False)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_circuit(circuit: Circuit, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a circuit as canonical JSON or HDF5 (by suffix), atomically.

    Refuses to replace an existing file unless ``overwrite`` is true.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise CircuitFileError(f"{path}: already exists; choose another output path or pass overwrite (--force / --in-place)")
    if not path.parent.exists():
        raise CircuitFileError(f"{path}: folder {path.parent} does not exist")
    tree = circuit_tree(circuit)
    if path.suffix.lower() in HDF5_SUFFIXES:
        _write_hdf5_tree(tree, path)
    else:
        atomic_write_bytes(path, dumps_canonical(tree).encode("utf-8"))
    return path


# --------------------------------------------------------------------------- HDF5 form

_KIND = "encephagen_kind"  # attribute on every group: "object" or "list"
_ORDER = "encephagen_order"  # attribute on object groups: the keys in order
_FORMAT = "encephagen_format"


def _write_hdf5_tree(tree: dict[str, Any], path: Path) -> None:
    import h5py
    import numpy as np

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as h5:
            h5.attrs[_FORMAT] = "encephagen circuit (schema_version 1, HDF5 tree form)"
            _write_node(h5, tree, np)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _numeric_array(value: list[Any]):
    """A list of numbers or equal-length lists of numbers, as a numpy array; else None."""
    import numpy as np

    def is_number(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    if value and all(is_number(x) for x in value):
        if all(isinstance(x, int) for x in value):
            return np.asarray(value, dtype=np.int64)
        if all(isinstance(x, float) for x in value):
            return np.asarray(value, dtype=np.float64)
        return None
    if value and all(isinstance(row, list) and row and len(row) == len(value[0]) for row in value):
        rows = [_numeric_array(row) for row in value]
        if all(r is not None for r in rows) and len({r.dtype for r in rows}) == 1:
            return np.stack(rows)
    return None


def _write_node(group: Any, node: dict[str, Any] | list[Any], np: Any) -> None:
    items = list(node.items()) if isinstance(node, dict) else [(str(i), v) for i, v in enumerate(node)]
    group.attrs[_KIND] = "object" if isinstance(node, dict) else "list"
    if isinstance(node, dict):
        group.attrs[_ORDER] = json.dumps(list(node.keys()))
    else:
        group.attrs["length"] = len(node)
    for key, value in items:
        if isinstance(value, (dict, list)):
            array = _numeric_array(value) if isinstance(value, list) else None
            if array is not None:
                group.create_dataset(key, data=array)
            else:
                _write_node(group.create_group(key), value, np)
        else:
            group.attrs[key] = json.dumps(value)


def _read_hdf5_tree(path: Path) -> Any:
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise CircuitFileError(f"{path}: cannot open as HDF5 ({exc}); is it truncated?") from None
    with h5:
        try:
            if _KIND not in h5.attrs:
                raise CircuitError([Problem(str(path), "/", "not an encephagen circuit (no encephagen_kind attribute)", "Write HDF5 circuits with 'encephagen convert'")])
            return _read_node(h5, str(path))
        except (OSError, KeyError, ValueError, TypeError) as exc:
            if isinstance(exc, CircuitError):
                raise
            raise CircuitError([Problem(str(path), "/", f"damaged HDF5 circuit: {exc}", "Re-create it with 'encephagen convert' from the JSON form")]) from None


def _read_node(group: Any, file: str) -> Any:
    kind = _attr_str(group.attrs.get(_KIND))
    where = group.name
    if kind == "object":
        keys = json.loads(_attr_str(group.attrs[_ORDER]))
    elif kind == "list":
        keys = [str(i) for i in range(int(group.attrs["length"]))]
    else:
        raise CircuitError([Problem(file, where, f"HDF5 group without a valid {_KIND} attribute; got {kind!r}", "Re-create the file with 'encephagen convert'")])
    values = []
    for key in keys:
        if key in group.attrs:
            try:
                values.append(json.loads(_attr_str(group.attrs[key]), parse_constant=_reject_constant))
            except ValueError as exc:
                raise CircuitError([Problem(file, f"{where.rstrip('/')}/{key}", f"attribute is not valid JSON: {exc}")]) from None
        elif key in group:
            child = group[key]
            values.append(child[()].tolist() if hasattr(child, "shape") else _read_node(child, file))
        else:
            raise CircuitError([Problem(file, f"{where.rstrip('/')}/{key}", "listed in the group's order but missing", "The file is damaged; re-create it with 'encephagen convert'")])
    return dict(zip(keys, values)) if kind == "object" else values


def _attr_str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
