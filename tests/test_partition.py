import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uepmm.partition import make_partition, split_edges


def test_split_edges_near_equal():
    assert split_edges(10, 3) == (0, 4, 7, 10)
    assert split_edges(9, 3) == (0, 3, 6, 9)
    assert split_edges(5, 5) == (0, 1, 2, 3, 4, 5)


@pytest.mark.parametrize("kind,blocks,K", [("rxc", 9, 9), ("rxc", (2, 4), 8), ("cxr", 7, 7)])
def test_products_reassemble_to_C(rng, kind, blocks, K):
    A, B = rng.standard_normal((23, 17)), rng.standard_normal((17, 19))
    part = make_partition(A.shape, B.shape, kind, blocks)
    assert part.num_products == K
    products = part.products(A, B)
    C = part.assemble(list(products))
    np.testing.assert_allclose(C, A @ B, rtol=1e-12, atol=1e-12)


def test_rxc_uneven_blocks_are_zero_padded(rng):
    A, B = rng.standard_normal((10, 6)), rng.standard_normal((6, 7))
    part = make_partition(A.shape, B.shape, "rxc", (3, 2))
    assert part.product_shape == (4, 4)
    blocks = part.a_blocks(A)
    assert [b.shape for b in blocks] == [(4, 6)] * 3
    assert np.all(blocks[2][3:] == 0)  # third block has 3 real rows + 1 padding row
    products = part.products(A, B)
    assert np.all(products[5][3:, :] == 0) and np.all(products[5][:, 3:] == 0)


def test_assemble_skips_missing(rng):
    A, B = rng.standard_normal((6, 6)), rng.standard_normal((6, 6))
    part = make_partition(A.shape, B.shape, "rxc", 4)
    products = list(part.products(A, B))
    products[0] = None
    C = part.assemble(products)
    assert np.all(C[:3, :3] == 0)
    np.testing.assert_allclose(C[3:, 3:], (A @ B)[3:, 3:])


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 12), h=st.integers(1, 12), q=st.integers(1, 12),
    n_blocks=st.integers(1, 4), p_blocks=st.integers(1, 4), kind=st.sampled_from(["rxc", "cxr"]),
)
def test_property_any_shape_reassembles(m, h, q, n_blocks, p_blocks, kind):
    rng = np.random.default_rng(m * 1000 + h * 100 + q)
    A, B = rng.standard_normal((m, h)), rng.standard_normal((h, q))
    if kind == "rxc":
        if n_blocks > m or p_blocks > q:
            with pytest.raises(ValueError, match="blocks"):
                make_partition(A.shape, B.shape, kind, (n_blocks, p_blocks))
            return
        part = make_partition(A.shape, B.shape, kind, (n_blocks, p_blocks))
    else:
        if n_blocks > h:
            with pytest.raises(ValueError, match="blocks"):
                make_partition(A.shape, B.shape, kind, n_blocks)
            return
        part = make_partition(A.shape, B.shape, kind, n_blocks)
    np.testing.assert_allclose(part.assemble(list(part.products(A, B))), A @ B, rtol=1e-10, atol=1e-10)
