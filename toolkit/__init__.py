"""encephagen: circuits as data, compiled to sparse LIF networks, calibrated against behaviour.

The stages, each a module: :mod:`~encephagen.schema` (the file format), :mod:`~encephagen.storage`
(JSON/HDF5), :mod:`~encephagen.rules` (validation), :mod:`~encephagen.compile`,
:mod:`~encephagen.simulate`, :mod:`~encephagen.gait` / :mod:`~encephagen.fc` (measures),
:mod:`~encephagen.objectives` and :mod:`~encephagen.calibrate`, :mod:`~encephagen.body`.
The names below are the short path through them; the simulator's names load numba on first use
(the function ``simulate`` lives in :mod:`encephagen.simulate`, whose name it shares).
"""

from importlib import import_module

from ._version import __version__
from .errors import CircuitError, EncephagenError
from .schema import Circuit
from .storage import load_circuit, save_circuit

_LAZY = {
    "compile_circuit": "encephagen.compile",
    "Simulator": "encephagen.simulate",
    "SimulationResult": "encephagen.results",
}

__all__ = [
    "Circuit",
    "CircuitError",
    "EncephagenError",
    "SimulationResult",
    "Simulator",
    "__version__",
    "compile_circuit",
    "load_circuit",
    "save_circuit",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'encephagen' has no attribute {name!r}")
