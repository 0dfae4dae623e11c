"""Loading and saving circuit files: the one door between files and :class:`Circuit` objects.

:func:`load_circuit` finds a file (:mod:`~encephagen.locations`), reads its tree in whichever form
it is (:mod:`~encephagen.json_codec`, :mod:`~encephagen.hdf5_codec`; told by content, not by
suffix), validates it against its schema version with every problem located
(:mod:`~encephagen.validation_messages`), applies the circuit rules (:mod:`~encephagen.rules`) and
returns the circuit; :func:`save_circuit` and :func:`convert_circuit` write the canonical JSON or
the HDF5 form atomically (:mod:`~encephagen.atomic_files`).

No loader executes code or unpickles anything: JSON is parsed by :mod:`json`, HDF5 is read
attribute by attribute and dataset by dataset with h5py. Every problem a file has is reported
at once as ``file:/json/pointer: what is wrong; got X. hint``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .atomic_files import atomic_write_bytes, check_output_file
from .errors import CircuitError, CircuitFileError, Problem, UnknownNameError
from .hdf5_codec import hdf5_listing, is_foreign_hdf5, read_hdf5_tree, verify_hdf5_circuit, write_hdf5_tree
from .json_codec import dumps_canonical, read_json_tree
from .locations import (
    HDF5_SIGNATURE,
    HDF5_SUFFIXES,
    JSON_SUFFIXES,
    check_readable,
    has_hdf5_signature,
    open_regular,
    resolve_circuit_path,
)
from .schema import SCHEMA_VERSION, Circuit
from .validation_messages import first_error, problems_from_validation, relocate, shown

NO_VERIFY_ENV = "ENCEPHAGEN_NO_VERIFY"
"""Set to 1 to load HDF5 circuits whose content hash does not match (``--no-verify``)."""

log = logging.getLogger(__name__)


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
    if (verify if verify is not None else not os.environ.get(NO_VERIFY_ENV)) and has_hdf5_signature(path):
        verify_hdf5_circuit(path)  # after validation, so that a damaged file is told where, not only that
    return circuit


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
        return read_hdf5_tree(path)
    if path.suffix.lower() in HDF5_SUFFIXES:
        raise CircuitFileError(
            f"{path}: not an HDF5 file (it does not start with the HDF5 signature); is it truncated or mislabelled?"
        )
    return read_json_tree(path)


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
                    file, "", f"a circuit file holds one JSON object; got {shown(tree)}", "Wrap the content in { ... }"
                )
            ]
        )
    version = tree.get("schema_version")
    if isinstance(version, str) and version not in ("1", SCHEMA_VERSION):
        from .upgrades import upgrade_tree

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
                        f"cannot convert from schema_version 1: {first_error(exc)}",
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
            [Problem(file, "/projections", str(exc) if not isinstance(exc, ValidationError) else first_error(exc))]
        ) from None


# --------------------------------------------------------------------------- writing


def circuit_tree(circuit: Circuit) -> dict[str, Any]:
    """The JSON-ready tree of a circuit in its file form (:func:`encephagen.schema.v2.compact`):
    left/right twins declared once, connectome edges grouped, fields at their defaults left out."""
    from .schema import compact

    return compact(circuit).model_dump(mode="json", by_alias=True, exclude_defaults=True)


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
        write_hdf5_tree(tree, Path(path))
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
    if is_foreign_hdf5(path):
        return hdf5_listing(path)
    return dumps_canonical(read_tree(path))
