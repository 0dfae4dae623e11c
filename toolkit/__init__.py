"""encephagen: circuits as data, compiled to sparse LIF networks, calibrated against behaviour."""

from .errors import CircuitError, EncephagenError
from .schema import Circuit
from .storage import load_circuit, save_circuit

__version__ = "0.1.0"

__all__ = [
    "Circuit",
    "CircuitError",
    "EncephagenError",
    "load_circuit",
    "save_circuit",
    "__version__",
]
