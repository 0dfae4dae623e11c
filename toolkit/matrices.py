"""The arrays behind matrix projections: inline or read from HDF5, transformed, normalised and
scaled into a constant part and a part linear in one parameter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import CircuitError, CompileError
from .schema import ArrayFile, Circuit, MatrixValue, ParamRef


def matrix_probability(circuit: Circuit, name: str, base_dir: Path) -> np.ndarray:
    """Connection probability of each (target, source) population pair of a matrix projection, in [0, 1]."""
    mproj = circuit.matrix_projections[name]
    shape = (len(mproj.targets), len(mproj.sources))
    const, linear, param = matrix_parts(
        circuit, mproj.probability, shape, f"/matrix_projections/{name}/probability", base_dir
    )
    if param is not None:
        const = const + linear * circuit.parameters[param].value
    return np.clip(const, 0.0, 1.0)


def matrix_parts(
    circuit: Circuit, value: MatrixValue, shape: tuple[int, int], where: str, base_dir: Path
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(constant part, linear part, parameter of the linear part) of offset + scale*T(A)/divisor."""
    array = load_matrix_array(circuit, value.array, shape, where, base_dir)
    if value.transform == "log1p":
        array = np.log1p(value.gain * array)
    elif value.gain != 1.0:
        array = value.gain * array
    if value.normalize == "max":
        peak = float(np.max(array))
        array = array / peak if peak > 0 else array
    divisor = circuit.resolve(value.divisor)
    offset = circuit.resolve(value.offset)
    base = array / divisor
    if isinstance(value.scale, ParamRef):
        return np.full(shape, offset), base * value.scale.factor, value.scale.param
    return offset + float(value.scale) * base, np.zeros(shape), None


def load_matrix_array(
    circuit: Circuit, array: list[list[float]] | ArrayFile, shape: tuple[int, int], where: str, base_dir: Path
) -> np.ndarray:
    """An inline array, or a dataset of an HDF5 file next to the circuit, checked against its [targets, sources] shape."""
    if not isinstance(array, ArrayFile):
        return np.asarray(array, dtype=float)
    from .hdf5_codec import read_array_file

    try:  # shape, dtype, path and file kind are checked from metadata before anything is read
        return read_array_file(
            array,
            base_dir,
            file=str(circuit.source_path or circuit.name),
            pointer=f"{where}/array",
            shape=list(shape),
            check_sha256=False,
        )
    except CircuitError as exc:
        raise CompileError(exc.problems) from None
