"""The compiled weight matrix agrees with scipy's CSR bit for bit on every operation it offers."""

from __future__ import annotations

import numpy as np
import pytest

from encephagen.compiler import compile_circuit
from encephagen.storage import load_circuit
from encephagen.synapse_matrix import SynapseMatrix

sparse = pytest.importorskip("scipy.sparse", reason="the reference is scipy (pip install 'encephagen[fc]')")


def random_matrix(rng: np.random.Generator, n_post: int, n_pre: int, nnz: int) -> SynapseMatrix:
    """CSR with repeated pairs, empty rows and unsorted columns, as the compiler can emit them."""
    post = np.sort(rng.integers(0, n_post, nnz))
    pre = rng.integers(0, n_pre, nnz).astype(np.int32)
    pre[1::7] = pre[::7][: pre[1::7].size]  # repeat some pairs (same post where the rows agree)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(post, minlength=n_post))]).astype(np.int64)
    data = rng.normal(0.0, 10.0, nnz) * rng.choice([1e-6, 1.0, 1e6], nnz)
    data[::11] = 0.0
    return SynapseMatrix(data, pre, indptr, (n_post, n_pre))


def same_bits(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


@pytest.mark.parametrize("shape, nnz", [((30, 30), 400), ((5, 40), 60), ((40, 5), 3), ((7, 7), 0)])
def test_dense_views_sums_and_diagonal_equal_scipys(shape, nnz):
    rng = np.random.default_rng(200101 + nnz)
    w = random_matrix(rng, *shape, nnz)
    reference = w.to_scipy()
    assert same_bits(w.toarray(), reference.toarray())
    assert same_bits(w.sum(axis=1), reference.sum(axis=1)) and w.sum(axis=1).shape == (shape[0],)
    assert same_bits(w.sum(axis=0), reference.sum(axis=0)) and w.sum(axis=0).shape == (shape[1],)
    assert w.sum() == pytest.approx(reference.sum(), rel=1e-12, abs=1e-300)
    assert same_bits(w.diagonal(), reference.diagonal())
    coo = w.to_scipy().tocoo()  # a fresh copy: scipy's reductions above may have summed duplicates in place
    post, pre, weight = w.triplets()
    assert np.array_equal(post, coo.row) and np.array_equal(pre, coo.col) and same_bits(weight, coo.data)
    assert w.nnz == nnz


def test_to_scipy_and_copy_do_not_share_the_arrays():
    w = random_matrix(np.random.default_rng(200120), 10, 10, 50)
    before = w.data.copy()
    w.to_scipy().data[:] = 1.0
    w.copy().data[:] = 2.0
    assert np.array_equal(w.data, before)


def test_shape_must_fit_the_arrays():
    with pytest.raises(ValueError, match="do not fit shape"):
        SynapseMatrix(np.ones(2), np.zeros(2, np.int32), np.array([0, 1, 2]), (3, 3))
    with pytest.raises(ValueError, match="axis"):
        SynapseMatrix(np.ones(1), np.zeros(1, np.int32), np.array([0, 1]), (1, 1)).sum(axis=2)


@pytest.mark.parametrize("name", ["spinal_cpg", "celegans"])
def test_shipped_circuits_compile_to_what_scipy_would_hold(name):
    """The compiler used to build a scipy csr_matrix from the same three arrays: same entries, same order."""
    w = compile_circuit(load_circuit(name)).weights
    reference = sparse.csr_matrix((w.data, w.indices, w.indptr), shape=w.shape)
    assert np.array_equal(reference.indptr, w.indptr) and np.array_equal(reference.indices, w.indices)
    assert same_bits(reference.data, w.data) and same_bits(reference.toarray(), w.toarray())
