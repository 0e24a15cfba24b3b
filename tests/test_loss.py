"""``uepmm.loss.BlockLoss``: the Gram-matrix loss equals ``||C - C_hat||^2 / ||C||^2`` computed directly."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from uepmm.loss import BlockLoss
from uepmm.partition import make_partition

RTOL = 1e-10

# (A rows, inner, B cols, blocks): uneven dimensions, so r×c blocks are zero-padded
SETTINGS = {"rxc": (10, 7, 11, (3, 2)), "cxr": (6, 14, 5, 5)}


def _matrices(kind, rng):
    rows, inner, cols, blocks = SETTINGS[kind]
    # blocks of very different scales (like the paper's Sec. VI), so a wrong Gram entry shows
    A = rng.standard_normal((rows, inner)) * rng.choice([10.0, 1.0, 0.1], size=(rows, 1))
    B = rng.standard_normal((inner, cols)) * rng.choice([10.0, 1.0, 0.1], size=(1, cols))
    return A, B, make_partition(A.shape, B.shape, kind, blocks)


def _direct(partition, products, A, B, recovered):
    """||C - C_hat||_F^2 / ||C||_F^2 with C_hat assembled from the recovered exact sub-products."""
    C = A @ B
    C_hat = partition.assemble([products[k] if recovered[k] else None for k in range(partition.num_products)])
    return float(np.sum((C - C_hat) ** 2) / np.sum(C**2))


@pytest.mark.parametrize("kind", ["rxc", "cxr"])
def test_normalized_loss_of_every_recovered_set_matches_the_direct_computation(kind):
    rng = np.random.default_rng(11)
    A, B, partition = _matrices(kind, rng)
    products = partition.products(A, B)
    loss = BlockLoss(partition, products)
    K = partition.num_products
    masks = np.array(list(itertools.product([False, True], repeat=K)))  # all 2^K recovered sets
    expected = np.array([_direct(partition, products, A, B, m) for m in masks])
    got = loss.normalized(masks)  # one call, leading shape (2^K,)
    assert got.shape == (2**K,)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=RTOL)
    assert got[0] == pytest.approx(1.0, rel=RTOL) and got[-1] == 0.0  # nothing / everything recovered
    assert loss.total == pytest.approx(np.sum((A @ B) ** 2), rel=RTOL)


@pytest.mark.parametrize("kind", ["rxc", "cxr"])
def test_unnormalized_loss_and_leading_shapes(kind):
    rng = np.random.default_rng(12)
    A, B, partition = _matrices(kind, rng)
    products = partition.products(A, B)
    loss = BlockLoss(partition, products)
    K = partition.num_products
    masks = rng.random((3, 4, K)) < 0.5  # any leading shape
    got = loss.loss(masks)
    assert got.shape == (3, 4)
    C = A @ B
    for idx in np.ndindex(3, 4):
        expected = _direct(partition, products, A, B, masks[idx]) * np.sum(C**2)
        assert got[idx] == pytest.approx(expected, rel=RTOL, abs=RTOL * np.sum(C**2))


def test_rxc_loss_is_the_sum_of_the_missing_blocks_energies():
    """r×c blocks are disjoint: the Gram matrix is diagonal and the loss adds up block by block."""
    rng = np.random.default_rng(13)
    A, B, partition = _matrices("rxc", rng)
    products = partition.products(A, B)
    loss = BlockLoss(partition, products)
    energies = np.sum(products**2, axis=(1, 2))
    np.testing.assert_allclose(np.diag(loss.gram), energies, rtol=RTOL)
    assert np.count_nonzero(loss.gram - np.diag(np.diag(loss.gram))) == 0
    recovered = np.array([True, False, False, True, True, False])
    assert loss.loss(recovered) == pytest.approx(energies[~recovered].sum(), rel=RTOL)


def test_cxr_loss_includes_the_cross_terms():
    """c×r sub-products overlap (C = sum_m P_m): missing two costs ||P_i + P_j||^2, not ||P_i||^2 + ||P_j||^2."""
    rng = np.random.default_rng(14)
    A, B, partition = _matrices("cxr", rng)
    products = partition.products(A, B)
    loss = BlockLoss(partition, products)
    recovered = np.ones(partition.num_products, dtype=bool)
    recovered[[1, 3]] = False
    assert loss.loss(recovered) == pytest.approx(np.sum((products[1] + products[3]) ** 2), rel=RTOL)
    np.testing.assert_allclose(loss.gram, np.einsum("iab,jab->ij", products, products), rtol=RTOL)


@pytest.mark.parametrize("kind", ["rxc", "cxr"])
def test_zero_product_has_zero_normalized_loss(kind):
    _, _, partition = _matrices(kind, np.random.default_rng(15))
    A, B = np.zeros(partition.a_shape), np.zeros(partition.b_shape)
    loss = BlockLoss(partition, partition.products(A, B))
    assert loss.total == 0.0
    masks = np.zeros((2, partition.num_products), dtype=bool)
    assert np.array_equal(loss.normalized(masks), np.zeros(2))
