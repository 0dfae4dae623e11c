"""The compiled weight matrix: ``W[post, pre]`` in compressed sparse rows, float64, mV.

Three numpy arrays and a shape, as scipy's CSR holds them, with only the operations the
toolkit and its users need, so that the core installs without scipy (:meth:`SynapseMatrix.to_scipy`
hands the arrays to scipy when it is there). Row ``post`` holds the synapses onto that neuron:
``indices[indptr[post]:indptr[post + 1]]`` are their presynaptic neurons and ``data`` the same
slice their weights. Entries may repeat (two projections onto the same pair); every dense view
sums them, in storage order, as scipy does.

>>> W = SynapseMatrix(np.array([30.0, -5.0, 2.0]), np.array([0, 2, 0]), np.array([0, 0, 2, 3]), (3, 3))
>>> W.toarray()                   # row = post, column = pre
array([[ 0.,  0.,  0.],
       [30.,  0., -5.],
       [ 2.,  0.,  0.]])
>>> W.sum(axis=1)                 # input each neuron receives if every neuron fires once
array([ 0., 25.,  2.])
>>> post, pre, weight = W.triplets()
>>> post.tolist(), pre.tolist()
([1, 1, 2], [0, 2, 0])

The matrix is immutable by convention: the simulator caches views of a network's synapses and
checks ``data`` for edits, but nothing stops a caller from writing into the arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .extras import require


class SynapseMatrix:
    """``W[post, pre]`` as CSR arrays: ``data`` (weights, mV), ``indices`` (pre), ``indptr`` (row starts)."""

    __slots__ = ("data", "indices", "indptr", "shape")
    data: np.ndarray
    """Weights (mV), row by row."""
    indices: np.ndarray
    """Presynaptic neuron of each entry."""
    indptr: np.ndarray
    """Row ``post``'s entries are ``indptr[post]:indptr[post + 1]``; length ``shape[0] + 1``."""
    shape: tuple[int, int]
    """(post neurons, pre neurons)."""

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]):
        self.data = data
        self.indices = indices
        self.indptr = indptr
        self.shape = (int(shape[0]), int(shape[1]))
        if self.indptr.shape != (self.shape[0] + 1,) or self.data.shape != self.indices.shape:
            raise ValueError(
                f"CSR arrays do not fit shape {self.shape}: indptr {self.indptr.shape}, "
                f"indices {self.indices.shape}, data {self.data.shape}"
            )

    @property
    def nnz(self) -> int:
        """Stored entries (synapses), repeated pairs counted once each."""
        return int(self.data.size)

    def rows(self) -> np.ndarray:
        """The post (row) index of every stored entry, in storage order."""
        return np.repeat(np.arange(self.shape[0], dtype=self.indices.dtype), np.diff(self.indptr))

    def triplets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(post, pre, weight) of every stored entry in storage order (scipy's ``tocoo()`` row, col, data)."""
        return self.rows(), self.indices.copy(), self.data.copy()

    def toarray(self) -> np.ndarray:
        """The dense (post, pre) matrix; repeated pairs summed in storage order."""
        dense = np.zeros(self.shape)
        np.add.at(dense, (self.rows(), self.indices), self.data)
        return dense

    def sum(self, axis: int | None = None) -> Any:
        """Sum of all weights (a float), over pre for each post (``axis=1``) or over post for each pre
        (``axis=0``), as 1-D arrays (scipy returns (1, n) and (n, 1) matrices)."""
        if axis is None:
            return float(self.data.sum())
        if axis in (1, -1):  # numpy's reduction of each row's slice, as scipy sums rows
            sums = np.zeros(self.shape[0])
            filled = np.flatnonzero(np.diff(self.indptr))
            if filled.size:
                sums[filled] = np.add.reduceat(self.data, self.indptr[filled])
            return sums
        if axis in (0, -2):
            return np.bincount(self.indices, weights=self.data, minlength=self.shape[1]).astype(float, copy=False)
        raise ValueError(f"axis must be None, 0 or 1; got {axis!r}")

    def diagonal(self) -> np.ndarray:
        """``W[i, i]`` for every i (autapses; repeated pairs summed)."""
        rows = self.rows()
        on = rows == self.indices
        return np.bincount(rows[on], weights=self.data[on], minlength=min(self.shape)).astype(float, copy=False)

    def copy(self) -> SynapseMatrix:
        return SynapseMatrix(self.data.copy(), self.indices.copy(), self.indptr.copy(), self.shape)

    def to_scipy(self):
        """A ``scipy.sparse.csr_matrix`` with copies of the arrays (needs scipy: ``encephagen[fc]``)."""
        sparse = require("scipy.sparse", "a scipy sparse matrix")
        return sparse.csr_matrix((self.data.copy(), self.indices.copy(), self.indptr.copy()), shape=self.shape)

    def __repr__(self) -> str:
        return f"<SynapseMatrix {self.shape[0]}x{self.shape[1]}, {self.nnz:,} entries (W[post, pre], mV)>"
