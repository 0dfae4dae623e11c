"""Where circuit files and data are: shipped circuits by name, data roots, and checked, regular
files opened without following a symlink out of the allowed folders.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from .errors import CircuitFileError, UnknownNameError
from .schema import SCHEMA_FILENAME

MAX_FILE_BYTES = 2 * 1024**3
"""Circuit files larger than this are refused before reading (2 GiB)."""


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


JSON_SUFFIXES = (".json",)


HDF5_SUFFIXES = (".h5", ".hdf5")


DATA_ROOTS_ENV = "ENCEPHAGEN_DATA_ROOTS"
"""Extra folders (separated by os.pathsep) that circuits and SONATA configs may read data from."""


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


def has_hdf5_signature(path: Path) -> bool:
    with open_regular(path) as handle:
        return handle.read(8) == HDF5_SIGNATURE


def check_readable(path: Path) -> None:
    """Refuse, with one line, a path that is not a readable regular file of sane size.

    A FIFO, a device (/dev/zero) or a socket is refused before it is opened, so nothing
    blocks or streams forever; an unreadable folder on the way is said as such.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CircuitFileError(f"{path}: no such file{missing_hint(path)}") from None
    except PermissionError:
        raise CircuitFileError(
            f"{path}: permission denied (a folder on the way is not readable by this user)"
        ) from None
    except OSError as exc:
        raise CircuitFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise CircuitFileError(f"{path}: is a directory, not a circuit file")
    if not stat.S_ISREG(info.st_mode):
        raise CircuitFileError(f"{path}: is {file_kind(info.st_mode)}, not a regular file; give a circuit file")
    if not os.access(path, os.R_OK):
        raise CircuitFileError(f"{path}: permission denied (not readable by this user)")
    size = info.st_size
    if size > MAX_FILE_BYTES:
        raise CircuitFileError(
            f"{path}: file is {size / 1024**3:.1f} GiB, over the {MAX_FILE_BYTES / 1024**3:.0f} GiB limit for circuit files"
        )
    if size == 0:
        raise CircuitFileError(f"{path}: file is empty")


def file_kind(mode: int) -> str:
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


def missing_hint(path: Path) -> str:
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
        raise CircuitFileError(f"{path}: no such file{missing_hint(path)}") from None
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
        raise CircuitFileError(f"{path}: is {file_kind(info.st_mode)}, not a regular file")
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
