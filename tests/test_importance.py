import numpy as np
import pytest

from uepmm.experiments.synthetic import sec6_matrices
from uepmm.importance import (
    ClassTable,
    classes_by_rank,
    classes_from_levels,
    group_levels,
    importance_order,
    paper_sec6_classes,
    product_scores,
)
from uepmm.partition import make_partition


def test_rxc_order_sorts_rows_and_columns_by_norm(rng):
    scales_rows = np.array([1.0, 5.0, 0.1, 2.0])
    A = rng.standard_normal((4, 50)) * scales_rows[:, None]
    B = rng.standard_normal((50, 3)) * np.array([0.1, 3.0, 1.0])
    order = importance_order(A, B, "rxc")
    assert order.a_perm.tolist() == [1, 3, 0, 2]
    assert order.b_perm.tolist() == [1, 2, 0]
    Ap, Bp = order.apply(A, B)
    np.testing.assert_allclose(order.restore(Ap @ Bp), A @ B)


def test_cxr_order_is_joint_by_outer_product_norm(rng):
    A = rng.standard_normal((8, 3)) * np.array([1.0, 10.0, 1.0])
    B = rng.standard_normal((3, 8)) * np.array([[1.0], [1.0], [20.0]])
    order = importance_order(A, B, "cxr")
    assert order.a_perm.tolist() == order.b_perm.tolist()
    assert order.a_perm[0] == 2 and order.a_perm[1] == 1
    Ap, Bp = order.apply(A, B)
    np.testing.assert_allclose(Ap @ Bp, A @ B)


def test_mean_abs_statistic_and_ties_keep_order():
    A = np.zeros((3, 4))
    B = np.zeros((4, 2))
    order = importance_order(A, B, "rxc", "mean_abs")
    assert order.a_perm.tolist() == [0, 1, 2]


def test_sec6_rank_classes_equal_paper_tables(rng):
    for kind in ("rxc", "cxr"):
        A, B = sec6_matrices(kind, rng, scale=0.2)
        part = make_partition(A.shape, B.shape, kind, 9)
        table = classes_by_rank(product_scores(A, B, part), (3, 3, 3))
        assert table == paper_sec6_classes(kind)


def test_paper_rxc_table_members():
    table = paper_sec6_classes("rxc")
    assert table.counts == (3, 3, 3)
    # k = 3n + p with H=0, M=1, L=2: class 1 is {HH, HM, MH}
    assert table.members(0).tolist() == [0, 1, 3]
    assert table.members(1).tolist() == [2, 4, 6]
    assert table.members(2).tolist() == [5, 7, 8]


def test_group_levels_count_and_weight():
    scores = [100.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert group_levels(scores, 3).tolist() == [0, 0, 1, 1, 2, 2]
    weight = group_levels(scores, 2, "weight")
    assert weight.tolist() == [0, 1, 1, 1, 1, 1]


def test_classes_from_levels_unordered_pairs():
    part = make_partition((9, 4), (4, 9), "rxc", 9)
    table = classes_from_levels([0, 1, 2], [0, 1, 2], part)
    # pairs: HH=0, HM=MH=1, MM=2 (sum 2, max 1), HL=LH=3 (sum 2, max 2), ML=LM=4, LL=5
    assert table.classes == (0, 1, 3, 1, 2, 4, 3, 4, 5)
    assert table.num_classes == 6  # S(S+1)/2


def test_class_table_validation():
    with pytest.raises(ValueError, match="class"):
        ClassTable((0, 2, 2))
    with pytest.raises(ValueError, match="class_counts"):
        classes_by_rank([1.0, 2.0, 3.0], (1, 1))


@pytest.mark.parametrize("kind", ["rxc", "cxr"])
@pytest.mark.parametrize("statistic", ["fro", "mean_abs"])
def test_scores_from_line_stats_equal_direct_block_scores(rng, kind, statistic):
    from uepmm.importance import product_scores_from_order

    A, B = rng.standard_normal((13, 11)) * rng.uniform(0.1, 3, 11), rng.standard_normal((11, 10))
    order = importance_order(A, B, kind, statistic)
    Ap, Bp = order.apply(A, B)
    part = make_partition(Ap.shape, Bp.shape, kind, 9 if kind == "rxc" else 4)
    np.testing.assert_allclose(product_scores_from_order(order, part), product_scores(Ap, Bp, part, statistic),
                               rtol=1e-12)


def test_assemble_in_original_order_equals_restore_of_assembled(rng):
    A, B = (rng.standard_normal((11, 7)) * rng.uniform(0.1, 3, (11, 1)),
            rng.standard_normal((7, 10)) * rng.uniform(0.1, 3, 10))
    order = importance_order(A, B, "rxc")
    part = make_partition(A.shape, B.shape, "rxc", (3, 4))
    products = list(part.block_products(part.a_blocks(A, order.a_perm), part.b_blocks(B, order.b_perm)))
    products[4] = None
    expected = order.restore(part.assemble(products))
    np.testing.assert_array_equal(order.assemble(part, products), expected)
    full = list(part.block_products(part.a_blocks(A, order.a_perm), part.b_blocks(B, order.b_perm)))
    np.testing.assert_allclose(order.assemble(part, full), A @ B, rtol=1e-12, atol=1e-12)
