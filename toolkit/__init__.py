"""encephagen: circuits as data, compiled to sparse LIF networks, calibrated against behaviour.

The stages, each a module named for what it holds: :mod:`~encephagen.schema` (the file format),
:mod:`~encephagen.storage` (loading and saving), :mod:`~encephagen.rules` (validation),
:mod:`~encephagen.compiler`, :mod:`~encephagen.simulation`, :mod:`~encephagen.gait` /
:mod:`~encephagen.fc` (measures), :mod:`~encephagen.objectives` and :mod:`~encephagen.calibration`,
:mod:`~encephagen.body`. The names below are the short path through them, the verbs
(:func:`compile_circuit`, :func:`simulate`, :func:`calibrate`, :func:`run_body`) included; the
simulator's names load numba on first use, :func:`run_body` MuJoCo and :func:`calibrate` nevergrad.
"""

from importlib import import_module

from ._version import __version__
from .errors import CircuitError, EncephagenError
from .schema import Circuit
from .storage import load_circuit, save_circuit

_LAZY = {
    "compile_circuit": "encephagen.compiler",
    "simulate": "encephagen.simulation",
    "Simulator": "encephagen.simulation",
    "SimulationResult": "encephagen.results",
    "calibrate": "encephagen.calibration",
    "run_body": "encephagen.body.runs",
}

__all__ = [
    "Circuit",
    "CircuitError",
    "EncephagenError",
    "SimulationResult",
    "Simulator",
    "__version__",
    "calibrate",
    "compile_circuit",
    "load_circuit",
    "run_body",
    "save_circuit",
    "simulate",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'encephagen' has no attribute {name!r}")
