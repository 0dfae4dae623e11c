"""The HDF5 form of circuit files: large numeric arrays as datasets, the objects and lists that hold
them as groups, everything else as JSON attributes, with a content hash; and arrays that
matrix projections read from HDF5 files, checked from metadata before anything is read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

from .atomic_files import atomic_output
from .errors import CircuitError, CircuitFileError, Problem, did_you_mean
from .json_codec import parse_json_text
from .locations import HDF5_SIGNATURE, contained_path, data_roots, file_kind
from .schema import SCHEMA_VERSION
from .validation_messages import clipped

log = logging.getLogger(__name__)


HDF5_EXPANSION_LIMIT = 16
"""An HDF5 circuit may decode to at most this many times its file size (plus HDF5_DECODED_FLOOR):
our writer does not compress, so only a crafted file (a tiny gzip-chunked dataset of 30
million zeros) exceeds it, and the loader refuses it from the metadata before reading."""


HDF5_DECODED_FLOOR = 8 * 1024**2
"""Bytes of decoded datasets any HDF5 circuit may hold whatever its size (8 MiB)."""


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
        raise fail("file", f"array file {ref.file!r} is {file_kind(info.st_mode)}, not a regular file")
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


def write_hdf5_tree(tree: dict[str, Any], path: Path) -> None:
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
                    f"content hash mismatch: the file changed after encephagen wrote it; stored {clipped(_attr_str(stored), 20)}, computed {computed[:17]}...",
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


def read_hdf5_tree(path: Path) -> Any:
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
                raise _damaged(file, here, f"attribute is not a JSON value; got {clipped(repr(text))}") from None
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


def is_foreign_hdf5(path: Path) -> bool:
    import h5py

    with open(path, "rb") as handle:
        if handle.read(8) != HDF5_SIGNATURE:
            return False
    try:
        with h5py.File(path, "r") as h5:
            return _KIND not in h5.attrs
    except OSError:
        return False  # damaged: read_tree says so


def hdf5_listing(path: Path) -> str:
    """One line per dataset (path, shape, dtype, SHA-256 of the bytes) and per attribute."""
    import hashlib

    import h5py
    import numpy as np

    lines: list[str] = []

    def visit(name: str, obj: Any) -> None:
        for key, value in obj.attrs.items():
            lines.append(f"/{name}@{key} = {clipped(repr(value.tolist() if hasattr(value, 'tolist') else value), 200)}")
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
            lines.append(f"/@{key} = {clipped(repr(value.tolist() if hasattr(value, 'tolist') else value), 200)}")
        h5.visititems(visit)
    return f"HDF5 data file (not a circuit): {path.name}\n" + "".join(f"{line}\n" for line in lines)
