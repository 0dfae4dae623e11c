"""Writing files so that a reader never sees half of one: a temporary file in the same folder,
renamed over the target (directories are exchanged), and output paths checked before any work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import CircuitFileError
from .locations import missing_hint

log = logging.getLogger(__name__)


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
            f"{path}: folder {folder} does not exist{missing_hint(folder / 'x') if not folder.exists() else ''}"
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
