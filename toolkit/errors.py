"""One home for every error encephagen raises on purpose.

User errors (bad files, unknown names, impossible requests) are instances of
:class:`EncephagenError`; each subclass also inherits the builtin it refines, so
``except ValueError`` keeps working for callers who do not know us. The CLI turns
an :class:`EncephagenError` into one line and a non-zero exit; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class EncephagenError(Exception):
    """Base class of every error that is the user's to fix, not ours."""


class CircuitError(EncephagenError, ValueError):
    """A circuit file is malformed or breaks a circuit rule; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class CircuitFileError(EncephagenError, OSError):
    """A circuit file cannot be read at all (missing, a directory, unreadable, not HDF5)."""


class UnknownNameError(EncephagenError, KeyError):
    """A name (circuit, population, parameter, objective, body...) that does not exist."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name, self.known = kind, name, sorted(known)
        super().__init__(f"unknown {kind} {name!r}{did_you_mean(name, self.known)}")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return self.args[0]


class SimulationError(EncephagenError, RuntimeError):
    """A run cannot start (too large) or became invalid (NaN/inf state)."""


class OptionError(EncephagenError, ValueError):
    """An argument whose value cannot work (a run shorter than its warm-up), refused before any work."""


class CalibrationError(EncephagenError, ValueError):
    """A calibration request that cannot be carried out as asked."""


class BodyError(EncephagenError, ValueError):
    """A body or binding that does not fit together."""


class MissingDependencyError(EncephagenError, ImportError):
    """An optional dependency is needed for this feature; names the install command."""

    def __init__(self, package: str, feature: str, extra: str | None = None):
        install = f"pip install 'encephagen[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{feature} needs the package {package!r}; install it with: {install}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a circuit, located by file and JSON pointer (or HDF5 path)."""

    file: str
    pointer: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.pointer or '/'}: {self.message}"
        return f"{text}. {self.hint}" if self.hint else text


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return '; did you mean X?' for the closest known name, or a list of the known names."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    if not known:
        return ""
    shown = ", ".join(repr(k) for k in known[:12])
    more = f" (and {len(known) - 12} more)" if len(known) > 12 else ""
    return f"; known: {shown}{more}"


def json_pointer(path: Iterable[object]) -> str:
    """RFC 6901 pointer for a path of keys and indices (``~`` and ``/`` escaped)."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else ""


class CompileError(CircuitError):
    """A circuit that is valid as a file but cannot be built as asked."""
