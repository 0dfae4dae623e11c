"""Reading and writing circuit files: JSON for people and git, HDF5 for large graphs.

Both forms hold the same tree. The JSON writer is canonical (the model's field order,
the author's order of named items, shortest round-trip floats, arrays of numbers on one
line, a trailing newline), so changing one weight changes one line of ``git diff``. The
HDF5 form stores large numeric arrays as datasets, the objects and lists that hold them as
groups, and everything else as attributes holding JSON text, so JSON -> HDF5 -> JSON
reproduces a canonical file byte for byte and an HDF5 path reads like the JSON pointer
that error messages use.

No loader executes code or unpickles anything: JSON is parsed by :mod:`json`, HDF5 is read
attribute by attribute and dataset by dataset with h5py, and both are then validated by
the pydantic models and the circuit rules before a :class:`Circuit` is returned. Every
problem a file has is reported at once as ``file:/json/pointer: what is wrong; got X. hint``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import stat
import tempfile
import typing
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import CircuitError, CircuitFileError, Problem, UnknownNameError, did_you_mean, json_pointer
from .schema import SCHEMA_FILENAME, SCHEMA_VERSION, ArrayFile, Circuit, Name, Reference, SemVer

MAX_FILE_BYTES = 2 * 1024**3
"""Circuit files larger than this are refused before reading (2 GiB)."""
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
JSON_SUFFIXES = (".json",)
HDF5_SUFFIXES = (".h5", ".hdf5")
HDF5_EXPANSION_LIMIT = 16
"""An HDF5 circuit may decode to at most this many times its file size (plus HDF5_DECODED_FLOOR):
our writer does not compress, so only a crafted file (a tiny gzip-chunked dataset of 30
million zeros) exceeds it, and the loader refuses it from the metadata before reading."""
HDF5_DECODED_FLOOR = 8 * 1024**2
"""Bytes of decoded datasets any HDF5 circuit may hold whatever its size (8 MiB)."""
DATA_ROOTS_ENV = "ENCEPHAGEN_DATA_ROOTS"
"""Extra folders (separated by os.pathsep) that circuits and SONATA configs may read data from."""
NO_VERIFY_ENV = "ENCEPHAGEN_NO_VERIFY"
"""Set to 1 to load HDF5 circuits whose content hash does not match (``--no-verify``)."""

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- locating files


def shipped_circuits_dir() -> Path:
    """Folder of the circuits that ship with encephagen (``circuits/`` in the source tree)."""
    return Path(str(resources.files("encephagen.circuits")))


def shipped_circuit_names() -> list[str]:
    """Names of the shipped circuits (file stems), sorted.

    Companion files with a second suffix (``circuit.schema.json``, ``walker2d_cpg.binding.json``)
    are not circuits.
    """
    folder = shipped_circuits_dir()
    return sorted(p.stem for p in folder.iterdir() if p.suffix in JSON_SUFFIXES + HDF5_SUFFIXES and "." not in p.stem)


def resolve_circuit_path(name_or_path: str | os.PathLike) -> Path:
    """A path as given if it exists or looks like a path; otherwise a shipped circuit by name.

    A bare file name that is not in the current folder (``half_centre.json``) is also
    looked up among the shipped circuits.

    >>> resolve_circuit_path("half_centre").name
    'half_centre.json'
    """
    path = Path(name_or_path)
    try:
        if path.exists():
            return path
    except OSError:  # a folder on the way that cannot be entered: check_readable says so in one line
        return path
    if (
        os.sep not in str(name_or_path)
        and path.suffix.lower() in JSON_SUFFIXES + HDF5_SUFFIXES
        and path.name != SCHEMA_FILENAME
    ):
        shipped = shipped_circuits_dir() / path.name
        return shipped if shipped.is_file() else path
    if path.suffix or os.sep in str(name_or_path):
        return path
    for suffix in JSON_SUFFIXES + HDF5_SUFFIXES:
        candidate = shipped_circuits_dir() / f"{name_or_path}{suffix}"
        if candidate.is_file():
            return candidate
    raise UnknownNameError("circuit (not a file, not a shipped circuit)", str(name_or_path), shipped_circuit_names())


def read_array_file(
    ref: Any,
    base_dir: str | os.PathLike,
    *,
    file: str,
    pointer: str,
    shape: list[int] | None = None,
    check_sha256: bool = True,
):
    """The dataset an :class:`~encephagen.schema.ArrayFile` names, as float64, after every check
    that needs no data: the path stays in the circuit's tree (:func:`contained_path`), names a
    regular file, and a dataset (not a group, not a link to another file) of numbers whose
    shape is the declared one (and ``shape``, when given). Only then is it read: a 281 KB file
    declaring [80, 80] over a gzip-chunked 16000 x 16000 dataset is refused without decoding it.
    Then the checksum (``check_sha256``) and finiteness are checked.

    Raises
    ------
    CircuitError
        Located at ``pointer`` + ``/file``, ``/dataset``, ``/shape`` or ``/sha256``.
    """
    import h5py
    import numpy as np

    def fail(part: str, message: str, hint: str = "") -> CircuitError:
        return CircuitError([Problem(file, f"{pointer}/{part}", message, hint)])

    path, outside = contained_path(Path(base_dir), ref.file, roots=data_roots())
    if outside:
        raise fail("file", f"array file {ref.file!r} {outside}")
    try:
        info = path.stat()
    except FileNotFoundError:  # inside the circuit's tree: saying so tells nothing about the rest of the machine
        raise fail(
            "file", f"array file {ref.file!r} not found (looked at {path})", "Paths are relative to the circuit file"
        ) from None
    except OSError as exc:
        raise fail("file", f"array file {ref.file!r} cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise fail("file", f"array file {ref.file!r} is {_file_kind(info.st_mode)}, not a regular file")
    try:
        with h5py.File(path, "r") as h5:
            link = h5.get(ref.dataset, getlink=True)
            if link is not None and type(link).__name__ != "HardLink":
                raise fail(
                    "dataset",
                    f"dataset {ref.dataset!r} in {ref.file} is a soft or external link",
                    "Refer to the dataset itself",
                )
            node = h5.get(ref.dataset) if link is not None else None
            if node is None or not hasattr(node, "shape"):
                what = "is a group, not a dataset" if node is not None else "not in " + ref.file
                names: list[str] = []
                h5.visititems(lambda name, obj: names.append("/" + name) if hasattr(obj, "shape") else None)
                raise fail("dataset", f"dataset {ref.dataset!r} {what}{did_you_mean(ref.dataset, names)}")
            if node.dtype.kind not in "iuf":
                raise fail("dataset", f"dataset {ref.dataset!r} in {ref.file} holds {node.dtype}, not numbers")
            if list(node.shape) != list(ref.shape):
                raise fail(
                    "shape",
                    f"dataset {ref.dataset!r} does not have the declared shape {list(ref.shape)}; got {list(node.shape)}",
                )
            if shape is not None and list(node.shape) != list(shape):
                raise fail("shape", f"declared shape must be [targets, sources] = {list(shape)}; got {list(ref.shape)}")
            data = np.asarray(node[()], dtype="<f8")
    except CircuitError:
        raise
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise fail("file", f"cannot read {ref.file} as HDF5: {exc}") from None
    if check_sha256:
        digest = hashlib.sha256(np.ascontiguousarray(data, dtype="<f8").tobytes()).hexdigest()
        if digest != ref.sha256:
            raise fail(
                "sha256",
                f"checksum mismatch for {ref.file}:{ref.dataset}; got {digest}",
                "The data changed since the circuit was written; re-import it or update the checksum deliberately",
            )
    bad = ~np.isfinite(data)
    if bad.any():
        at = np.argwhere(bad)[0].tolist()
        raise fail(
            "dataset",
            f"dataset {ref.dataset!r} in {ref.file} holds {int(bad.sum())} non-finite values (the first at {at}: {data[tuple(at)]!r})",
            "A circuit holds finite numbers only",
        )
    return data


# --------------------------------------------------------------------------- loading


def load_circuit(
    name_or_path: str | os.PathLike, *, check_rules: bool = True, check_arrays: bool = True, verify: bool | None = None
) -> Circuit:
    """Read, parse and validate a circuit file (JSON or HDF5) or a shipped circuit by name.

    Parameters
    ----------
    name_or_path
        A path, or the name of a shipped circuit (``"half_centre"``).
    check_rules
        Apply the circuit rules (:mod:`encephagen.rules`) after the schema.
    check_arrays
        Open the HDF5 datasets that matrix projections refer to and check shape and checksum.
    verify
        Check an HDF5 circuit's content hash; ``None`` (default): unless the environment
        variable ENCEPHAGEN_NO_VERIFY is set (what ``--no-verify`` does).

    Raises
    ------
    CircuitFileError
        The file cannot be read at all (missing, a directory, unreadable, not HDF5, too big).
    CircuitError
        It can be read but is not a valid circuit; ``.problems`` lists every problem.
    """
    path = resolve_circuit_path(name_or_path)
    tree = read_tree(path)
    circuit = circuit_from_tree(tree, str(path))
    circuit._source_path = path.resolve()
    if check_rules:
        from .rules import check_circuit

        problems = check_circuit(circuit, str(path), base_dir=path.parent, check_arrays=check_arrays)
        if problems:
            raise CircuitError(relocate(problems, circuit))
    if (verify if verify is not None else not os.environ.get(NO_VERIFY_ENV)) and _has_hdf5_signature(path):
        verify_hdf5_circuit(path)  # after validation, so that a damaged file is told where, not only that
    return circuit


def _has_hdf5_signature(path: Path) -> bool:
    with open_regular(path) as handle:
        return handle.read(8) == HDF5_SIGNATURE


def read_tree(path: str | os.PathLike) -> Any:
    """The raw JSON-like tree of a circuit file, after the checks that need no schema.

    The format is told by content (the HDF5 signature), not by the suffix, so a
    mislabelled file is read for what it is; a ``.h5`` file without the signature is refused.
    """
    path = Path(path)
    check_readable(path)
    try:
        with open_regular(path) as handle:
            head = handle.read(8)
    except OSError as exc:
        if isinstance(exc, CircuitFileError):
            raise
        raise CircuitFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if head == HDF5_SIGNATURE:
        return _read_hdf5_tree(path)
    if path.suffix.lower() in HDF5_SUFFIXES:
        raise CircuitFileError(
            f"{path}: not an HDF5 file (it does not start with the HDF5 signature); is it truncated or mislabelled?"
        )
    return read_json_tree(path)


def check_readable(path: Path) -> None:
    """Refuse, with one line, a path that is not a readable regular file of sane size.

    A FIFO, a device (/dev/zero) or a socket is refused before it is opened, so nothing
    blocks or streams forever; an unreadable folder on the way is said as such.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CircuitFileError(f"{path}: no such file{_missing_hint(path)}") from None
    except PermissionError:
        raise CircuitFileError(
            f"{path}: permission denied (a folder on the way is not readable by this user)"
        ) from None
    except OSError as exc:
        raise CircuitFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise CircuitFileError(f"{path}: is a directory, not a circuit file")
    if not stat.S_ISREG(info.st_mode):
        raise CircuitFileError(f"{path}: is {_file_kind(info.st_mode)}, not a regular file; give a circuit file")
    if not os.access(path, os.R_OK):
        raise CircuitFileError(f"{path}: permission denied (not readable by this user)")
    size = info.st_size
    if size > MAX_FILE_BYTES:
        raise CircuitFileError(
            f"{path}: file is {size / 1024**3:.1f} GiB, over the {MAX_FILE_BYTES / 1024**3:.0f} GiB limit for circuit files"
        )
    if size == 0:
        raise CircuitFileError(f"{path}: file is empty")


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _missing_hint(path: Path) -> str:
    """Which part of a missing path exists, so 'not found' says where the trail ends."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent == path.parent:
        return ""
    return f" (folder {path.parent} does not exist either; {parent} is the deepest folder that does)"


# --------------------------------------------------------------------------- data paths


def data_roots(extra: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """Folders the user allowed data to be read from, beyond a file's own folder.

    From ``extra``, the environment variable :data:`DATA_ROOTS_ENV` (what the CLI's
    ``--allow-data-root`` sets) and the shipped data folder; each resolved, symlinks followed.
    """
    listed = [p for p in os.environ.get(DATA_ROOTS_ENV, "").split(os.pathsep) if p]
    return [Path(os.path.realpath(p)) for p in [*extra, *listed, shipped_data_dir()]]


def shipped_data_dir() -> Path:
    """Folder of the data that ships with encephagen (``data/``): public, always readable by circuits."""
    return Path(str(resources.files("encephagen.data")))


def contained_path(
    base_dir: Path, value: str, *, roots: Iterable[Path] = (), sibling_data: bool = True
) -> tuple[Path, str]:
    """``value`` resolved against ``base_dir`` (symlinks followed) and why it may not be read, if so.

    A path may be read when its real location lies inside ``base_dir``, inside the ``data``
    folder beside ``base_dir`` (``circuits/x.json`` reading ``../data/y.h5``: the project layout
    the shipped cortex circuit uses) or inside one of ``roots``. Absolute paths, ``../`` and
    symlinks that lead anywhere else are refused: a file from the internet must not make the
    loader read (and echo values of) files elsewhere on the machine.
    """
    base = Path(os.path.realpath(base_dir))
    target = Path(os.path.realpath(base / value))
    allowed = [base, *([base.parent / "data"] if sibling_data else []), *roots]
    if any(target == root or root in target.parents for root in allowed):
        return target, ""
    beside = f" (or {base.parent / 'data'})" if sibling_data else ""
    return target, (
        f"resolves to {target}, outside the folder {base}; data must lie under the referring file's folder{beside}, "
        f"unless {DATA_ROOTS_ENV} lists another root"
    )


def open_regular(path: str | os.PathLike, mode: str = "rb"):
    """Open a regular file for reading, refusing FIFOs and devices without blocking on them.

    The file is opened non-blocking and checked through its descriptor (no race between the
    check and the open): a FIFO would wait forever for a writer, /dev/zero never ends.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise CircuitFileError(f"{path}: no such file{_missing_hint(path)}") from None
    except IsADirectoryError:
        raise CircuitFileError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise CircuitFileError(
            f"{path}: permission denied (not readable by this user, or a folder on the way is not)"
        ) from None
    except OSError as exc:
        raise CircuitFileError(f"{path}: cannot open: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise CircuitFileError(f"{path}: is {_file_kind(info.st_mode)}, not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, mode)


def read_regular_text(path: str | os.PathLike, *, limit: int = 64 * 1024**2) -> str:
    """UTF-8 text of a regular file of at most ``limit`` bytes (configs and tables, not data)."""
    with open_regular(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise CircuitFileError(f"{path}: over {limit // 1024**2} MiB; a config or table this large is not plausible")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CircuitFileError(f"{path}: not UTF-8 text (byte {exc.start}); is it a binary file?") from None


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class _BadNumber:
    """Stands in for a number JSON text may hold but a circuit may not (NaN, Infinity, 1e999)."""

    def __init__(self, text: str):
        self.text = text


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _parse_float(text: str) -> float | _BadNumber:
    value = float(text)
    return value if math.isfinite(value) else _BadNumber(text)


def _parse_int(text: str) -> int | _BadNumber:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        return _BadNumber(text)


def read_json_tree(path: Path) -> Any:
    try:
        with open_regular(path) as handle:
            text = handle.read().decode("utf-8")
    except CircuitFileError:
        raise
    except UnicodeDecodeError as exc:
        raise CircuitFileError(f"{path}: not UTF-8 text (byte {exc.start}); is it a binary file?") from None
    except OSError as exc:
        raise CircuitFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_json_text(text, str(path))


def parse_json_text(text: str, file: str) -> Any:
    """Parse circuit JSON, refusing duplicate keys, NaN, Infinity and numbers a float64 cannot hold."""
    try:
        tree = json.loads(
            text,
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_BadNumber,
            parse_float=_parse_float,
            parse_int=_parse_int,
        )
    except json.JSONDecodeError as exc:
        raise CircuitError(
            [
                Problem(
                    file,
                    "",
                    f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                    "Fix the syntax there (a missing comma, quote or bracket is the usual cause)",
                )
            ]
        ) from None
    except _DuplicateKey as exc:
        raise CircuitError(
            [
                Problem(
                    file,
                    "",
                    f"duplicate key {exc.key!r}",
                    "Every name must appear once in its object; rename or merge the two entries",
                )
            ]
        ) from None
    except RecursionError:
        raise CircuitError(
            [Problem(file, "", "JSON nested too deeply", "A circuit file is at most a few levels deep")]
        ) from None
    problems = [_bad_number_problem(file, path, bad) for path, bad in find_instances(tree, _BadNumber)]
    if problems:
        raise CircuitError(problems)
    return tree


def find_instances(node: Any, cls: type, path: list[Any] | None = None) -> Iterator[tuple[list[Any], Any]]:
    """(path, object) of every instance of ``cls`` in a tree or model, paths as in the file (aliases)."""
    path = path or []
    if isinstance(node, cls):
        yield path, node
    elif isinstance(node, BaseModel):
        for name, field in type(node).model_fields.items():
            yield from find_instances(getattr(node, name), cls, path + [field.alias or name])
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from find_instances(value, cls, path + [key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from find_instances(value, cls, path + [i])


def _bad_number_problem(file: str, path: list[Any], bad: _BadNumber) -> Problem:
    if bad.text in ("NaN", "Infinity", "-Infinity"):
        return Problem(
            file,
            json_pointer(path),
            f"not a finite number; got {bad.text}",
            "A circuit holds finite numbers only (JSON itself has no NaN or Infinity)",
        )
    return Problem(
        file,
        json_pointer(path),
        f"number out of range; got {_clip(bad.text)}",
        "Use a number a 64-bit float can hold (magnitude below 1.8e308)",
    )


def circuit_from_tree(tree: Any, file: str) -> Circuit:
    """Validate a raw tree against its schema version, reporting every problem with its pointer.

    A version-1 tree is validated by the version-1 models (so its problems point into that
    file) and converted; a version-2 tree is validated as written (:class:`CircuitFile`) and
    expanded. Either way the result is the current, expanded :class:`Circuit`.
    """
    from .schema import v1, v2

    if not isinstance(tree, dict):
        raise CircuitError(
            [
                Problem(
                    file, "", f"a circuit file holds one JSON object; got {_shown(tree)}", "Wrap the content in { ... }"
                )
            ]
        )
    version = tree.get("schema_version")
    if isinstance(version, str) and version not in ("1", SCHEMA_VERSION):
        from .migrate import upgrade_tree

        tree = upgrade_tree(tree, file)
        version = tree.get("schema_version")
    if version == "1":
        try:
            old = v1.Circuit.model_validate(tree, strict=True)
        except ValidationError as exc:
            raise CircuitError(problems_from_validation(exc, tree, file, root=v1.Circuit)) from None
        try:
            return v2.convert_from_v1(old)
        except v2.ConversionError as exc:
            raise CircuitError([Problem(file, exc.pointer, exc.message, exc.hint)]) from None
        except ValidationError as exc:
            raise CircuitError(
                [
                    Problem(
                        file,
                        "",
                        f"cannot convert from schema_version 1: {_first_error(exc)}",
                        "Fix the value (version 2 checks units and references)",
                    )
                ]
            ) from None
    try:
        written = v2.CircuitFile.model_validate(tree, strict=True)
    except ValidationError as exc:
        raise CircuitError(problems_from_validation(exc, tree, file, root=v2.CircuitFile)) from None
    try:
        return v2.expand(written)
    except ValueError as exc:
        raise CircuitError(
            [Problem(file, "/projections", str(exc) if not isinstance(exc, ValidationError) else _first_error(exc))]
        ) from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    return f"{'/'.join(map(str, error['loc']))}: {error['msg']}"


def relocate(problems: list[Problem], circuit: Circuit) -> list[Problem]:
    """Point problems found on the expanded circuit at the declarations written in the file."""
    origins = circuit.origins
    if not origins:
        return problems
    out = []
    for p in problems:
        parts = p.pointer.split("/")
        for n in range(len(parts), 2, -1):
            head = "/".join(parts[:n])
            if head in origins:
                p = Problem(p.file, origins[head] + "/".join([""] + parts[n:]), p.message, p.hint)
                break
        out.append(p)
    return out


# --------------------------------------------------------------------------- pydantic errors -> problems
#
# Pydantic reports a value that fits no member of a union once per member (with the member's
# name in the location) and words its messages for Python programmers. Here every error is
# placed on the real JSON pointer, the members' errors are folded into one line that says
# what the field accepts ('expected a number or {"param": NAME}; got "abc"'), and an object
# written for one member (e.g. {"parm": ...} for a parameter reference) is judged as that
# member only.


def _pattern(metadata: Iterable[Any]) -> str:
    return next(m.pattern for m in metadata if getattr(m, "pattern", None))


_PATTERNS = {
    _pattern(
        typing.get_args(Name)[1].metadata
    ): "a name: letters, digits and _ . : + - < >, starting with a letter or _",
    _pattern(typing.get_args(SemVer)[1].metadata): "a semantic version MAJOR.MINOR.PATCH such as '1.2.0'",
    _pattern(
        Reference.model_fields["doi"].metadata
    ): "a DOI such as '10.1016/j.neuron.2013.08.015' (without https://doi.org/)",
    _pattern(ArrayFile.model_fields["sha256"].metadata): "a SHA-256 digest: 64 lowercase hexadecimal digits",
}
_SHAPES = {
    "ParamRef": '{"param": NAME}',
    "UniformRange": '{"uniform": [LOW, HIGH]}',
    "ArrayFile": '{"file": ..., "dataset": ..., "sha256": ..., "shape": [...]}',
    "MatrixValue": '{"array": ...}',
}
_CONSTRAINT_ERRORS = {
    "finite_number",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_short",
    "too_long",
    "string_pattern_mismatch",
}
"""Errors of a value whose type fits but whose value does not: these are said as they are."""
_TYPE_ERRORS = _CONSTRAINT_ERRORS | {
    "float_type",
    "float_parsing",
    "int_type",
    "int_parsing",
    "int_from_float",
    "string_type",
    "bool_type",
    "bool_parsing",
    "list_type",
    "dict_type",
    "model_type",
    "none_required",
    "is_instance_of",
    "literal_error",
}
"""Errors that say 'this member of the union does not take this value' (folded into one line)."""


def problems_from_validation(exc: ValidationError, tree: Any, file: str, *, root: type = Circuit) -> list[Problem]:
    """Turn pydantic errors into located problems, one per thing the author has to fix.

    ``root`` is the model the whole tree was validated against (a circuit, a body binding...).
    """
    groups: dict[str, list[_Located]] = {}
    for error in exc.errors(include_url=False):
        located = _locate(tree, dict(error), root)
        groups.setdefault(located.pointer, []).append(located)
    problems: list[Problem] = []
    for pointer, errors in groups.items():
        if (
            isinstance(errors[0].node, dict)
            and _models(errors[0].annotation)
            and any(p.startswith(pointer + "/") for p in groups)
        ):
            errors = [e for e in errors if e.type not in _TYPE_ERRORS]  # the object's own errors say it better
            if not errors:
                continue
        for problem in _describe_group(file, pointer, errors):
            if problem not in problems:
                problems.append(problem)
    return problems


class _Located:
    """One pydantic error placed in the tree: pointer, the value there, what the schema expects."""

    def __init__(
        self,
        error: dict[str, Any],
        path: list[Any],
        tags: list[Any],
        node: Any,
        annotation: Any,
        owner: type[BaseModel] | None,
    ):
        self.error, self.path, self.tags, self.node, self.annotation, self.owner = (
            error,
            path,
            tags,
            node,
            annotation,
            owner,
        )
        self.pointer = json_pointer(path)
        self.type: str = error["type"]


def _locate(tree: Any, error: dict[str, Any], root: type[BaseModel]) -> _Located:
    """Follow an error location through the tree: the real keys and indices become the
    path, the rest (union member names, missing or unknown keys) are kept as tags."""
    path: list[Any] = []
    tags: list[Any] = []
    node, annotation = tree, root
    owner: type[BaseModel] | None = root
    for item in error["loc"]:
        present = (isinstance(node, dict) and item in node) or (
            isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node)
        )
        if not present:
            tags.append(item)
            continue
        owner = _model_for(annotation, node)
        annotation = _child_annotation(annotation, item, node)
        path.append(item)
        node = node[item]
    return _Located(error, path, tags, node, annotation, owner)


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a (possibly Annotated, possibly nested) union, keeping each one's Annotated constraints."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner = typing.get_args(annotation)[0]
        return _members(inner) if _is_union(inner) else [annotation]
    if _is_union(annotation):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) is typing.Union or type(annotation).__name__ == "UnionType"


def _bare(annotation: Any) -> Any:
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [m for m in map(_bare, _members(annotation)) if isinstance(m, type) and issubclass(m, BaseModel)]


def _model_for(annotation: Any, value: Any) -> type[BaseModel] | None:
    """The model a value is meant as: by its 'kind' tag, else the one sharing most keys."""
    candidates = _models(annotation)
    if not candidates:
        return None
    if isinstance(value, dict) and "kind" in value:
        for candidate in candidates:
            kind = candidate.model_fields.get("kind")
            if kind is not None and value["kind"] in typing.get_args(kind.annotation):
                return candidate
    if isinstance(value, dict):

        def overlap(model: type[BaseModel]) -> int:
            return len(set(value) & {f.alias or n for n, f in model.model_fields.items()})

        return max(candidates, key=overlap)
    return candidates[0]


def _child_annotation(annotation: Any, item: Any, node: Any) -> Any:
    model = _model_for(annotation, node)
    if model is not None and isinstance(node, dict):
        for name, field in model.model_fields.items():
            if item in (name, field.alias):
                return _with_constraints(field)
        return Any
    for option in map(_bare, _members(annotation)):
        origin = typing.get_origin(option)
        if origin is dict and isinstance(node, dict):
            return typing.get_args(option)[1]
        if origin is list and isinstance(node, list):
            return typing.get_args(option)[0]
    return Any


def _with_constraints(field: Any) -> Any:
    """A field's annotation with the field's own constraints (Field(ge=0)) attached."""
    if field.metadata and not _is_union(field.annotation):
        params = (field.annotation, *field.metadata)
        return typing.Annotated[params]
    return field.annotation


def _expected(annotation: Any) -> str:
    """What a field accepts, in the words of a circuit file: 'a number or {"param": NAME}'."""
    phrases: list[str] = []
    for member in _members(annotation):
        phrase = _phrase(member)
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    if not phrases:
        return "a valid value"
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _phrase(member: Any) -> str:
    bare = _bare(member)
    bound = ""
    if typing.get_origin(member) is typing.Annotated:
        for meta in _flat_metadata(typing.get_args(member)[1:]):
            for attr, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
                if getattr(meta, attr, None) is not None:
                    bound += f" {symbol} {getattr(meta, attr)}"
    if bare is float:
        return "a number" + bound
    if bare is int:
        return "a whole number" + bound
    if bare is bool:
        return "true or false"
    if bare is str:
        return "a string"
    if bare is type(None):
        return "null"
    if bare is Any:
        return ""
    origin = typing.get_origin(bare)
    if origin is typing.Literal:
        options = ", ".join(repr(o) for o in typing.get_args(bare))
        return options if len(typing.get_args(bare)) == 1 else f"one of {options}"
    if origin is list:
        return "a list"
    if origin is dict:
        return "an object"
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return _SHAPES.get(bare.__name__, f"an object ({bare.__name__})")
    return ""


def _flat_metadata(metadata: Iterable[Any]) -> Iterator[Any]:
    for meta in metadata:
        yield meta
        yield from getattr(meta, "metadata", [])


def _describe_group(file: str, pointer: str, errors: list[_Located]) -> list[Problem]:
    first = errors[0]
    union = len(_members(first.annotation)) > 1 and first.annotation is not Any
    if union and all(e.type in _TYPE_ERRORS for e in errors):
        narrowed = [e for e in errors if e.type in _CONSTRAINT_ERRORS]
        if narrowed:  # the value has the right type for one member but breaks its constraint
            return [_describe(file, pointer, e) for e in narrowed]
        return [_problem(file, pointer, f"expected {_expected(first.annotation)}", first.node)]
    if union:
        # an object written for one member: judge it as that member only
        errors = [e for e in errors if e.type not in _TYPE_ERRORS] or errors
    return [_describe(file, pointer, e) for e in errors]


def _describe(file: str, pointer: str, e: _Located) -> Problem:
    error, kind, ctx = e.error, e.type, e.error.get("ctx", {})
    field = str(e.path[-1]) if e.path else ""
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        known = [f.alias or n for n, f in e.owner.model_fields.items()] if e.owner else []
        return Problem(file, pointer, f"unknown field {name!r}{did_you_mean(name, known)}")
    if kind == "missing":
        name = str(error["loc"][-1])
        model = _model_for(e.annotation, e.node)
        accepts = ""
        if model is not None and name in model.model_fields:
            accepts = f" ({_expected(_with_constraints(model.model_fields[name]))})"
        return Problem(file, pointer, f"missing required field {name!r}{accepts}", f"Add it (see {SCHEMA_FILENAME})")
    if kind == "union_tag_invalid":
        tags = _kind_tags(e.annotation)
        return Problem(
            file,
            pointer,
            f"unknown {field or 'object'} kind {ctx.get('tag')!r}{did_you_mean(str(ctx.get('tag')), tags)}",
        )
    if kind == "union_tag_not_found":
        kinds = ", ".join(repr(t) for t in _kind_tags(e.annotation))
        return Problem(file, pointer, "missing required field 'kind'", f"Say which {field or 'kind'}: one of {kinds}")
    if "[key]" in e.tags:
        return _problem(
            file,
            pointer,
            f"invalid name; expected {_PATTERNS.get(ctx.get('pattern'), 'a name')}",
            e.path[-1] if e.path else None,
        )
    if kind == "literal_error" and isinstance(e.node, str):
        options = [str(o) for m in _members(e.annotation) for o in typing.get_args(_bare(m))]
        close = did_you_mean(e.node, options)
        if close.startswith("; did you mean"):
            return Problem(file, pointer, f"unknown {field or 'value'} {e.node!r}{close}")
        return _problem(file, pointer, f"expected {_expected(e.annotation)}", e.node)
    if kind == "value_error":
        message = error["msg"].removeprefix("Value error, ")
        return Problem(file, pointer, message)
    if kind == "string_pattern_mismatch":
        return _problem(
            file,
            pointer,
            f"expected {_PATTERNS.get(ctx.get('pattern'), 'a string matching ' + str(ctx.get('pattern')))}",
            e.node,
        )
    if kind in ("too_short", "too_long"):
        low, high = _length_limits(e)
        what = "entry" if isinstance(e.node, dict) else "item"
        if low is not None and low == high:
            need = f"exactly {low}"
        elif kind == "too_short":
            need = f"at least {low}"
        else:
            need = f"at most {high}"
        plural = "entries" if what == "entry" else "items"
        return _problem(
            file, pointer, f"needs {need} {what if (low if kind == 'too_short' else high) == 1 else plural}", e.node
        )
    bounds = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤"}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return _problem(file, pointer, f"must be {bounds[kind]} {limit}", e.node)
    if kind == "finite_number":
        return _problem(file, pointer, "expected a finite number", e.node)
    if kind in _TYPE_ERRORS:
        return _problem(file, pointer, f"expected {_expected(e.annotation)}", e.node)
    message = error["msg"].replace("Input should be", "expected")
    return _problem(file, pointer, message[:1].lower() + message[1:], e.node)


def _length_limits(e: _Located) -> tuple[int | None, int | None]:
    """The declared length bounds of the list or object at the error (both ends, from the field)."""
    ctx = e.error.get("ctx", {})
    low, high = ctx.get("min_length"), ctx.get("max_length")
    field = e.owner.model_fields.get(str(e.path[-1])) if e.owner is not None and e.path else None
    for meta in field.metadata if field is not None else []:
        low = getattr(meta, "min_length", low)
        high = getattr(meta, "max_length", high)
    return low, high


def _kind_tags(annotation: Any) -> list[str]:
    return [
        str(t)
        for m in _models(annotation)
        if "kind" in m.model_fields
        for t in typing.get_args(m.model_fields["kind"].annotation)
    ]


def _problem(file: str, pointer: str, message: str, got: Any) -> Problem:
    return Problem(file, pointer, f"{message}; got {_shown(got)}")


def _shown(value: Any) -> str:
    """A value as the author wrote it, compact and cut to one line."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True, separators=(", ", ": "))
    except (TypeError, ValueError):
        text = type(value).__name__
    return _clip(text)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- writing


def circuit_tree(circuit: Circuit) -> dict[str, Any]:
    """The JSON-ready tree of a circuit in its file form (:func:`encephagen.schema.v2.compact`):
    left/right twins declared once, connectome edges grouped, fields at their defaults left out."""
    from .schema import compact

    return compact(circuit).model_dump(mode="json", by_alias=True, exclude_defaults=True)


ONE_LINE_WIDTH = 120
"""An object or list whose one-line form, indented, fits this many characters is written on one line
(``{"param": "drive", "factor": -1.5}``, ``"references": [{"ref": "rybak2015"}]``); lists of scalars always are."""


def dumps_canonical(tree: Any) -> str:
    """Canonical JSON text: 2-space indent, numeric arrays and small flat objects on one line, trailing newline.

    >>> print(dumps_canonical({"b": [1, 2.5], "a": {"x": 1e-07}, "c": {"y": {"z": [1], "w": "long " * 30}}}), end="")
    {
      "b": [1, 2.5],
      "a": {"x": 1e-07},
      "c": {
        "y": {
          "z": [1],
          "w": "long long long long long long long long long long long long long long long long long long long long long long long long long long long long long long "
        }
      }
    }
    """
    return _encode(tree, 0) + "\n"


def _encode(node: Any, depth: int, key: str = "") -> str:
    pad = "  " * (depth + 1)
    if key == "details" and depth == 3 and isinstance(node, dict) and node and _one_line(node) is None:
        # a history entry's machine-readable particulars: appended once, never edited, one line per item
        items = [
            f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
            for k, v in node.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    if isinstance(node, (dict, list)) and node and (depth > 0 or isinstance(node, list)):
        line = _one_line(node)
        if line is not None and len(line) + 2 * depth <= ONE_LINE_WIDTH:
            return line
    if isinstance(node, dict):
        if not node:
            return "{}"
        items = [
            f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_encode(v, depth + 1, str(k))}" for k, v in node.items()
        ]
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


def _one_line(node: Any) -> str | None:
    """``node`` as one line of JSON (", " and ": " separators), or None when it is long."""
    if isinstance(node, dict):
        parts = []
        for k, v in node.items():
            text = _one_line(v)
            if text is None:
                return None
            parts.append(f"{json.dumps(str(k), ensure_ascii=False)}: {text}")
        text = "{" + ", ".join(parts) + "}"
    elif isinstance(node, list):
        items = [_one_line(x) for x in node]
        known = [item for item in items if item is not None]
        if len(known) < len(items):
            return None
        text = "[" + ", ".join(known) + "]"
    else:
        text = _encode(node, 0)
    return text if len(text) <= ONE_LINE_WIDTH else None


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _temporary_prefix(path: Path) -> str:
    """Hidden temporaries of ``path`` are ``.NAME.PID.RANDOM.tmp...``: the PID tells a live
    writer's file from one a killed writer left behind."""
    return f".{path.name}.{os.getpid()}."


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove what killed writers of ``path`` left beside it; returns what was removed.

    Only ``.NAME.PID.*.tmp*`` entries whose PID is no longer running are removed (files or
    staging folders): they belong to this writer and to no live process. A writer of another
    file, or one still running, is never touched.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    removed: list[Path] = []
    try:
        entries = list(folder.glob(f".{glob_escape(path.name)}.*.tmp*"))
    except OSError:
        return removed
    for entry in entries:
        pid_text = entry.name[len(path.name) + 2 :].split(".", 1)[0]
        if not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                import shutil

                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        removed.append(entry)
        log.info("removed %s, left by a writer of %s that was killed (PID %s)", entry, path, pid_text)
    return removed


def glob_escape(text: str) -> str:
    import glob

    return glob.escape(text)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    The temporary file gets the permissions a new file would (0666 minus the umask, not
    mkstemp's 0600); on any failure it is removed and ``path`` is left as it was. What a
    killed earlier writer of ``path`` left behind is removed first.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     target = Path(folder) / "out.txt"
    ...     with atomic_output(target) as tmp:
    ...         _ = tmp.write_text("done")
    ...     target.read_text()
    'done'
    """
    path = Path(path)
    remove_stale_temporaries(path)
    fd, name = tempfile.mkstemp(
        prefix=_temporary_prefix(path), suffix=".tmp" + path.suffix, dir=path.parent if str(path.parent) else "."
    )
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a staging folder beside ``path``; on success it takes ``path``'s place in one step.

    An existing ``path`` (allowed by ``overwrite``) is swapped with the staging folder by one
    atomic exchange (Linux renameat2), then removed: whenever the process dies, ``path`` is
    either the old folder, whole, or the new one, whole. Where the exchange is not available
    the old folder is renamed aside first (a window of two renames).
    """
    path = Path(path)
    check_output_dir(path, overwrite=overwrite)
    staging = Path(
        tempfile.mkdtemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    )
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # what mkdir would give, not mkdtemp's 0700
    try:
        yield staging
        if path.exists() or path.is_symlink():
            if not overwrite:
                raise CircuitFileError(f"{path}: already exists; choose another directory or pass overwrite=True")
            if not _exchange(staging, path):
                aside = Path(tempfile.mkdtemp(prefix=_temporary_prefix(path), suffix=".old.tmp", dir=staging.parent))
                os.replace(path, aside / path.name)
                os.replace(staging, path)
                staging = aside
            _remove_tree(staging)
        else:
            os.replace(staging, path)
    except BaseException:
        _remove_tree(staging)
        raise


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _remove_tree(path: Path) -> None:
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def check_output_file(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Refuse, before any work, an output file that must not or cannot be written.

    Raises :class:`CircuitFileError` when ``path`` exists and ``overwrite`` is false, is a folder, or its folder is missing or not writable (tried by creating
    and removing a hidden file there: read-only mounts fail even for root). Removes what
    killed earlier writers of ``path`` left behind.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CircuitFileError(f"{path}: is a directory; give a file name")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise CircuitFileError(f"{path}: already exists; choose another name or pass overwrite=True to replace it")
    _check_folder_writable(path, folder)
    remove_stale_temporaries(path)
    return path


def check_output_dir(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """:func:`check_output_file` for an output folder (an export)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise CircuitFileError(f"{path}: already exists; choose another directory or pass overwrite=True to replace it")
    _check_folder_writable(path, folder)
    remove_stale_temporaries(path)
    return path


def _check_folder_writable(path: Path, folder: Path) -> None:
    if not folder.is_dir():
        raise CircuitFileError(
            f"{path}: folder {folder} does not exist{_missing_hint(folder / 'x') if not folder.exists() else ''}"
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CircuitFileError(
            f"{path}: folder {folder} is not writable ({exc.strerror or exc}); choose another output folder"
        ) from None
    os.close(fd)
    os.unlink(probe)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` via a temporary file in the same folder and an atomic rename."""
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def save_circuit(circuit: Circuit, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a circuit as canonical JSON or HDF5 (by suffix), atomically.

    Refuses to replace an existing file unless ``overwrite`` is true.
    """
    path = Path(path)
    _check_output(path, overwrite)
    save_tree(circuit_tree(circuit), path)
    return path


def _check_output(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise CircuitFileError(f"{path}: is a directory; give a file name ending in .json or .h5")
    if path.exists() and not overwrite:
        raise CircuitFileError(f"{path}: already exists; choose another output path or pass overwrite=True")
    check_output_file(path, overwrite=True)


def convert_circuit(source: str | os.PathLike, out: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Validate a circuit and write it in the format of ``out``'s suffix (JSON or HDF5).

    Nothing is written unless the source is valid. Array files that matrix projections
    refer to keep pointing at the same files: their relative paths are rewritten for
    ``out``'s folder.
    """
    out = Path(out)
    if out.suffix.lower() not in JSON_SUFFIXES + HDF5_SUFFIXES:
        raise CircuitFileError(f"{out}: unknown output format {out.suffix or '(no suffix)'!r}; use .json, .h5 or .hdf5")
    _check_output(out, overwrite)
    path = resolve_circuit_path(source)
    tree = circuit_tree(load_circuit(path))
    for projection in tree.get("matrix_projections", {}).values():
        for value in projection.values():
            array = value.get("array") if isinstance(value, dict) else None
            if isinstance(array, dict) and "file" in array:
                moved = os.path.relpath(path.parent.resolve() / array["file"], out.parent.resolve())
                array["file"] = Path(moved).as_posix()
    save_tree(tree, out)
    return out


def save_tree(tree: dict[str, Any], path: Path) -> None:
    """Write a JSON-like tree as HDF5 (``.h5``/``.hdf5``) or canonical JSON (anything else), atomically."""
    if Path(path).suffix.lower() in HDF5_SUFFIXES:
        _write_hdf5_tree(tree, Path(path))
    else:
        atomic_write_bytes(path, dumps_canonical(tree).encode("utf-8"))


def json_schema_text(version: str = SCHEMA_VERSION) -> str:
    """The generated JSON Schema of a schema version as canonical text.

    The current version's is circuits/circuit.schema.json; older ones are committed as
    circuits/circuit.v<N>.schema.json.
    """
    from .schema import SCHEMA_VERSIONS

    if version not in SCHEMA_VERSIONS:
        raise UnknownNameError("schema version", version, SCHEMA_VERSIONS)
    return dumps_canonical(SCHEMA_VERSIONS[version].generated_json_schema())


def textconv_text(path: str | os.PathLike) -> str:
    """What ``git diff`` shows for a circuit file: its canonical JSON, read without validation.

    Old versions in git history may break today's rules, and git hands over a temporary
    copy whose relative array paths do not resolve, so nothing is checked beyond parsing.
    An HDF5 file that is not a circuit (bulk data under ``data/``) is listed dataset by
    dataset with shape, dtype and SHA-256, so ``*.h5 diff=encephagen`` suits a whole repository.
    """
    path = Path(path)
    check_readable(path)
    if _is_foreign_hdf5(path):
        return _hdf5_listing(path)
    return dumps_canonical(read_tree(path))


# --------------------------------------------------------------------------- HDF5 form
#
# Arrays of at least DATASET_MIN numbers (lists of numbers, or equal-shape lists of such
# lists, one dtype throughout) are int64 or float64 datasets; the objects and lists that
# hold one are groups: objects with their keys in order (attribute encephagen_order), lists
# with members "0", "1", ... (attribute length). Every other value, scalar or small
# subtree, is an attribute holding its JSON text: thousands of tiny HDF5 objects would
# make a 160-population circuit take seconds to write and read. A key HDF5 cannot use as
# a member name ('', '.', containing '/' or NUL, or starting with our reserved prefix) is
# stored under "encephagen_key<i>" and listed in encephagen_names.

_PREFIX = "encephagen_"
_KIND = _PREFIX + "kind"  # attribute on every group: "object" or "list"
_ORDER = _PREFIX + "order"  # attribute on object groups: the keys in order (JSON)
_NAMES = _PREFIX + "names"  # attribute on object groups whose keys needed renaming (JSON)
_FORMAT = _PREFIX + "format"
_DIGEST = _PREFIX + "sha256"  # attribute on the root: hdf5_content_digest of everything else
_INT64 = (-(2**63), 2**63 - 1)
DATASET_MIN = 64
"""Numeric arrays with at least this many entries are stored as datasets."""


def _write_hdf5_tree(tree: dict[str, Any], path: Path) -> None:
    import h5py

    with atomic_output(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs[_FORMAT] = (
            f"encephagen circuit (schema_version {tree.get('schema_version', SCHEMA_VERSION)}, HDF5 tree form)"
        )
        _write_node(h5, tree)
        h5.flush()
        h5.attrs[_DIGEST] = hdf5_content_digest(h5)


def hdf5_content_digest(h5: Any) -> str:
    """SHA-256 over every group, attribute and dataset of an HDF5 circuit (names sorted).

    What is hashed is what the loader reads: attribute names and values, dataset names,
    dtypes, shapes and bytes; the digest attribute itself is left out. A one-digit edit of
    an attribute or one changed array entry changes it.
    """
    import numpy as np

    digest = hashlib.sha256()

    def feed(tag: bytes, *parts: bytes) -> None:
        for part in (tag, *parts):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)

    def visit(group: Any, where: str) -> None:
        feed(b"group", where.encode())
        for key in sorted(group.attrs):
            if where == "/" and key == _DIGEST:
                continue
            value = group.attrs[key]
            if isinstance(value, str):
                raw = b"s" + value.encode("utf-8", "surrogatepass")
            elif isinstance(value, bytes):
                raw = b"b" + value
            else:
                array = np.asarray(value)
                raw = (
                    array.dtype.str.encode()
                    + str(array.shape).encode()
                    + (array.tobytes() if array.dtype.kind != "O" else repr(array.tolist()).encode())
                )
            feed(b"attr", key.encode(), raw)
        for key in sorted(group):
            here = f"{where.rstrip('/')}/{key}"
            link = group.get(key, getlink=True)
            if type(link).__name__ != "HardLink":
                feed(b"link", here.encode(), repr(vars(link) if hasattr(link, "__dict__") else link).encode())
                continue
            child = group[key]
            if hasattr(child, "shape"):
                feed(b"dataset", here.encode(), child.dtype.str.encode(), str(child.shape).encode())
                rows = max(1, (1 << 22) // max(1, child.dtype.itemsize * int(np.prod(child.shape[1:], dtype=np.int64))))
                if child.ndim == 0:
                    digest.update(np.asarray(child[()]).tobytes())
                else:
                    for start in range(0, child.shape[0], rows):
                        digest.update(np.ascontiguousarray(child[start : start + rows]).tobytes())
            elif hasattr(child, "keys"):
                visit(child, here)
            else:
                feed(b"other", here.encode())

    visit(h5, "/")
    return digest.hexdigest()


def _numeric_array(value: list[Any]):
    """A list of numbers or equal-shape lists of numbers, as an int64/float64 array; else None."""
    import numpy as np

    def is_number(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    if value and all(is_number(x) for x in value):
        if all(isinstance(x, int) for x in value):
            return np.asarray(value, dtype=np.int64) if all(_INT64[0] <= x <= _INT64[1] for x in value) else None
        if all(isinstance(x, float) for x in value):
            return np.asarray(value, dtype=np.float64)
        return None
    if value and all(isinstance(row, list) and row and len(row) == len(value[0]) for row in value):
        rows = [_numeric_array(row) for row in value]
        if all(r is not None for r in rows) and len({(r.dtype, r.shape) for r in rows}) == 1:
            return np.stack(rows)
    return None


def _storage_name(key: str, index: int) -> str:
    safe = key not in ("", ".") and "/" not in key and "\x00" not in key and not key.startswith(_PREFIX)
    return key if safe else f"{_PREFIX}key{index}"


def _write_node(group: Any, node: dict[str, Any] | list[Any]) -> None:
    if isinstance(node, dict):
        keys = [str(k) for k in node]
        names = [_storage_name(k, i) for i, k in enumerate(keys)]
        group.attrs[_KIND] = "object"
        group.attrs[_ORDER] = json.dumps(keys, ensure_ascii=False)
        if names != keys:
            group.attrs[_NAMES] = json.dumps(names)
        values = list(node.values())
    else:
        names = [str(i) for i in range(len(node))]
        group.attrs[_KIND] = "list"
        group.attrs["length"] = len(node)
        values = node
    for name, value in zip(names, values):
        array = _numeric_array(value) if isinstance(value, list) else None
        if array is not None and array.size >= DATASET_MIN:
            group.create_dataset(name, data=array)
        elif isinstance(value, (dict, list)) and _holds_dataset(value):
            _write_node(group.create_group(name), value)
        else:
            group.attrs[name] = json.dumps(value, ensure_ascii=False)


def _holds_dataset(node: Any) -> bool:
    """Whether a subtree contains an array that is stored as a dataset."""
    if isinstance(node, list):
        array = _numeric_array(node)
        if array is not None:
            return array.size >= DATASET_MIN
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    return any(_holds_dataset(child) for child in children)


def _check_hdf5_budget(h5: Any, path: Path) -> None:
    """Refuse, from metadata alone, datasets the loader would have to decode into too much memory.

    Every dataset must be a numeric array; together they may decode to at most
    HDF5_DECODED_FLOOR + HDF5_EXPANSION_LIMIT x the file's size. A gzip-chunked dataset of
    30 million zeros in an 11 KB file is refused here, before a byte of it is read.
    """
    import numpy as np

    file_size = path.stat().st_size
    limit = HDF5_DECODED_FLOOR + HDF5_EXPANSION_LIMIT * file_size
    total, largest, where = 0, 0, "/"

    def visit(name: str, obj: Any) -> None:
        nonlocal total, largest, where
        if not hasattr(obj, "shape"):
            return
        here = "/" + name
        if obj.dtype.kind not in "iuf" or obj.ndim < 1:
            raise _damaged(
                str(path), here, f"dataset of dtype {obj.dtype} and shape {obj.shape}; expected an array of numbers"
            )
        count = int(np.prod(obj.shape, dtype=np.float64))
        total += count * 8
        if count * 8 > largest:
            largest, where = count * 8, here

    h5.visititems(visit)
    if total > limit:
        raise CircuitError(
            [
                Problem(
                    str(path),
                    where,
                    f"datasets would decode to {total / 1024**2:,.1f} MiB from a {file_size / 1024:,.0f} KiB file "
                    f"(limit {limit / 1024**2:,.1f} MiB: {HDF5_EXPANSION_LIMIT}x the file plus {HDF5_DECODED_FLOOR // 1024**2} MiB); "
                    f"the largest is here, {largest / 1024**2:,.1f} MiB",
                    "encephagen writes HDF5 circuits uncompressed; re-create the file with 'encephagen convert'",
                )
            ]
        )


def check_hdf5_expansion(h5: Any, path: Path) -> None:
    """Refuse an HDF5 file (of any kind) whose datasets would decode to more than
    HDF5_DECODED_FLOOR + HDF5_EXPANSION_LIMIT x its size: judged from metadata, nothing read."""
    import numpy as np

    file_size = path.stat().st_size
    limit = HDF5_DECODED_FLOOR + HDF5_EXPANSION_LIMIT * file_size
    sizes: dict[str, float] = {}
    h5.visititems(
        lambda name, obj: (
            sizes.__setitem__("/" + name, float(np.prod(obj.shape, dtype=np.float64)) * max(obj.dtype.itemsize, 8))
            if hasattr(obj, "shape")
            else None
        )
    )
    total = sum(sizes.values())
    if total > limit:
        where = max(sizes, key=sizes.__getitem__)
        raise CircuitFileError(
            f"{path}:{where}: datasets would decode to {total / 1024**2:,.1f} MiB from a {file_size / 1024:,.0f} KiB file "
            f"(limit {limit / 1024**2:,.1f} MiB: {HDF5_EXPANSION_LIMIT}x the file plus {HDF5_DECODED_FLOOR // 1024**2} MiB); "
            f"the largest is this one ({sizes[where] / 1024**2:,.1f} MiB). Write it uncompressed (or less compressed) to import it"
        )


def _verify_digest(h5: Any, path: Path) -> None:
    stored = h5.attrs.get(_DIGEST)
    if stored is None:
        log.warning(
            "%s: HDF5 circuit without a content hash (written by an older encephagen); re-write it with 'encephagen convert' to add one",
            path,
        )
        return
    computed = hdf5_content_digest(h5)
    if _attr_str(stored) != computed:
        raise CircuitError(
            [
                Problem(
                    str(path),
                    f"/@{_DIGEST}",
                    f"content hash mismatch: the file changed after encephagen wrote it; stored {_clip(_attr_str(stored), 20)}, computed {computed[:17]}...",
                    "Re-create it with 'encephagen convert' from its source; to load it as it is, pass --no-verify (ENCEPHAGEN_NO_VERIFY=1)",
                )
            ]
        )


def verify_hdf5_circuit(path: str | os.PathLike) -> None:
    """Check an HDF5 circuit's stored content hash; raises :class:`CircuitError` on a mismatch."""
    import h5py

    path = Path(path)
    with h5py.File(path, "r") as h5:
        _verify_digest(h5, path)


def _read_hdf5_tree(path: Path) -> Any:
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise CircuitFileError(f"{path}: cannot open as HDF5 ({exc}); is it truncated?") from None
    with h5:
        try:
            if _KIND not in h5.attrs:
                raise CircuitError(
                    [
                        Problem(
                            str(path),
                            "/",
                            "not an encephagen circuit (no encephagen_kind attribute)",
                            "Write HDF5 circuits with 'encephagen convert'",
                        )
                    ]
                )
            _check_hdf5_budget(h5, path)
            return _read_node(h5, str(path))
        except CircuitError:
            raise
        except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise CircuitError(
                [
                    Problem(
                        str(path),
                        "/",
                        f"damaged HDF5 circuit: {exc}",
                        "Re-create it with 'encephagen convert' from the JSON form",
                    )
                ]
            ) from None


def _damaged(file: str, where: str, what: str) -> CircuitError:
    return CircuitError(
        [
            Problem(
                file,
                where,
                f"damaged HDF5 circuit: {what}",
                "Re-create it with 'encephagen convert' from the JSON form",
            )
        ]
    )


def _read_node(group: Any, file: str) -> Any:
    kind = _attr_str(group.attrs.get(_KIND))
    where = group.name
    members = len(group) + len(group.attrs)
    if kind == "object":
        keys = json.loads(_attr_str(group.attrs[_ORDER]))
        names = json.loads(_attr_str(group.attrs[_NAMES])) if _NAMES in group.attrs else keys
        if not (
            isinstance(keys, list)
            and isinstance(names, list)
            and len(keys) == len(names)
            and all(isinstance(k, str) for k in keys + names)
        ):
            raise _damaged(file, where, f"attribute {_ORDER} is not a list of keys")
    elif kind == "list":
        try:
            length = int(group.attrs.get("length"))
        except (TypeError, ValueError):
            length = -1
        if not 0 <= length <= members:
            raise _damaged(
                file, where, f"list length {_attr_str(group.attrs.get('length'))} does not match its {members} members"
            )
        keys = names = [str(i) for i in range(length)]
    else:
        raise _damaged(file, where, f"group without a valid {_KIND} attribute; got {kind!r}")
    values = []
    for name in names:
        here = f"{where.rstrip('/')}/{name}"
        if name in group.attrs:
            text = _attr_str(group.attrs[name])
            try:
                value = parse_json_text(text, file)
            except CircuitError:
                raise _damaged(file, here, f"attribute is not a JSON value; got {_clip(repr(text))}") from None
            values.append(value)
        elif name in group or group.get(name, getlink=True) is not None:
            if type(group.get(name, getlink=True)).__name__ != "HardLink":
                raise _damaged(
                    file,
                    here,
                    "a soft or external link; a circuit file holds its own data (links could read other files)",
                )
            child = group[name]
            if hasattr(child, "shape"):
                if child.dtype.kind not in "iuf" or child.ndim < 1:
                    raise _damaged(
                        file,
                        here,
                        f"dataset of dtype {child.dtype} and shape {child.shape}; expected an array of numbers",
                    )
                values.append(child[()].tolist())
            else:
                values.append(_read_node(child, file))
        else:
            raise _damaged(file, here, "listed in the group's order but missing")
    return dict(zip(keys, values)) if kind == "object" else values


def _attr_str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _is_foreign_hdf5(path: Path) -> bool:
    import h5py

    with open(path, "rb") as handle:
        if handle.read(8) != HDF5_SIGNATURE:
            return False
    try:
        with h5py.File(path, "r") as h5:
            return _KIND not in h5.attrs
    except OSError:
        return False  # damaged: read_tree says so


def _hdf5_listing(path: Path) -> str:
    """One line per dataset (path, shape, dtype, SHA-256 of the bytes) and per attribute."""
    import hashlib

    import h5py
    import numpy as np

    lines: list[str] = []

    def visit(name: str, obj: Any) -> None:
        for key, value in obj.attrs.items():
            lines.append(f"/{name}@{key} = {_clip(repr(value.tolist() if hasattr(value, 'tolist') else value), 200)}")
        if hasattr(obj, "shape"):
            digest = "-"
            if obj.dtype.kind in "biuf":  # slab by slab: a small compressed file may hold gigabytes
                sha = hashlib.sha256()
                if obj.ndim == 0:
                    sha.update(np.ascontiguousarray(obj[()]).tobytes())
                else:
                    rows = max(1, (1 << 22) // max(1, obj.dtype.itemsize * int(np.prod(obj.shape[1:], dtype=np.int64))))
                    for start in range(0, obj.shape[0], rows):
                        sha.update(np.ascontiguousarray(obj[start : start + rows]).tobytes())
                digest = sha.hexdigest()
            lines.append(f"/{name}: shape {list(obj.shape)} {obj.dtype} sha256 {digest}")

    with h5py.File(path, "r") as h5:
        for key, value in h5.attrs.items():
            lines.append(f"/@{key} = {_clip(repr(value.tolist() if hasattr(value, 'tolist') else value), 200)}")
        h5.visititems(visit)
    return f"HDF5 data file (not a circuit): {path.name}\n" + "".join(f"{line}\n" for line in lines)
