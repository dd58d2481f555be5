"""Equal samples get equal group ids, and only they (``equal_sample_groups``), against
a comparison of every pair written out here."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didi.distance import _base_distance
from didi.distance._base_distance import base_unit, check_magnitudes, equal_sample_groups


def same_partition(A, B, groups_a, groups_b) -> None:
    """Groups equal exactly where the samples are equal as numbers (-0.0 == 0.0)."""
    width = int(np.prod(A.shape[1:]))
    rows = np.concatenate([A.reshape(len(A), width), B.reshape(len(B), width)]).astype(float)
    groups = np.concatenate([groups_a, groups_b])
    equal_rows = (rows[:, None, :] == rows[None, :, :]).all(axis=2)
    np.testing.assert_array_equal(groups[:, None] == groups[None, :], equal_rows)


samples = st.integers(0, 2**16).map(np.random.default_rng)


@settings(max_examples=60, deadline=None)
@given(
    rng=samples,
    n_a=st.integers(0, 30),
    n_b=st.integers(0, 30),
    width=st.integers(1, 7),
    dtypes=st.sampled_from([(np.float32, np.float32), (np.float64, np.float64),
                            (np.float32, np.float64), (np.int64, np.int64)]),
)  # fmt: skip
def test_groups_are_equality_of_samples(rng, n_a, n_b, width, dtypes):
    # Few distinct values, so that many rows repeat; signed zeros among them.
    values = np.array([0.0, -0.0, 1.0, -2.5, 1e-300])
    A = rng.choice(values, size=(n_a, width)).astype(dtypes[0])
    B = rng.choice(values, size=(n_b, width)).astype(dtypes[1])
    if n_a and n_b:
        B[: min(n_a, n_b) // 2] = A[: min(n_a, n_b) // 2]
    groups_a, groups_b = equal_sample_groups(A, B)
    assert groups_a.shape == (n_a,) and groups_b.shape == (n_b,)
    same_partition(A, B, groups_a, groups_b)


def test_shared_hashes_fall_back_to_sorting_the_rows(monkeypatch):
    """Every row hashed alike (as if all collided): the groups are still exact."""
    monkeypatch.setattr(
        _base_distance, "row_hashes", lambda rows, dtype: np.zeros(len(rows), np.uint64)
    )
    rng = np.random.default_rng(3)
    A = rng.integers(0, 3, size=(40, 2, 3)).astype(np.float32)
    groups_a, groups_b = equal_sample_groups(A, A[:0])
    same_partition(A, A[:0], groups_a, groups_b)
    assert len(np.unique(groups_a)) > 1


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: rng.integers(0, 256, size=(3000, 64)).astype(np.float64),  # raw pixels
        lambda rng: rng.integers(0, 2, size=(3000, 40)).astype(np.float64),  # 0/1 features
        lambda rng: rng.random((3000, 64), dtype=np.float32).astype(np.float64),
        lambda rng: rng.integers(0, 256, size=(3000, 64)).astype(np.float32),
    ],
    ids=["integers", "binary", "float32 in float64", "float32 integers"],
)
def test_values_with_zero_low_bits_hash_apart(make, monkeypatch):
    """Values whose low bits are all zero keep distinct hashes (the bits of the words are
    swapped before the products): no fallback to sorting the rows."""
    rows = make(np.random.default_rng(4))
    rows[:100] = rows[100:200]
    sorted_groups = []
    monkeypatch.setattr(
        _base_distance,
        "_sorted_row_groups",
        lambda *args: sorted_groups.append(1) or pytest.fail("fell back to sorting"),
    )
    groups, _ = equal_sample_groups(rows, rows[:0])
    assert not sorted_groups
    assert len(np.unique(groups)) == len(np.unique(rows, axis=0))


def test_a_float32_sample_equals_its_float64_copy():
    A = np.array([[0.1, 0.2]], dtype=np.float32)
    groups_a, groups_b = equal_sample_groups(A, A.astype(np.float64))
    assert groups_a[0] == groups_b[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_base_unit_reads_the_largest_magnitude(dtype):
    X = np.array([[3, 7], [5, 4]], dtype=dtype)
    assert base_unit(X, safe_magnitude=8.0) == 1.0
    assert base_unit(X, safe_magnitude=4.0) == 2.0  # 7 needs units of 2: ceil(log2 7) − 2
    negative = np.array([[-9.0, 1.0]], dtype=np.float32)
    assert base_unit(negative, safe_magnitude=8.0) == 2.0


def test_check_magnitudes_names_the_first_value_too_large_of_either_sign():
    X = np.zeros((3, 2, 2), dtype=np.float32)
    X[1, 1, 0] = -5.0
    with pytest.raises(ValueError, match=r"X\[1, 2\] = -5 is too large: r \(1 value"):
        check_magnitudes(X, 4.0, "r")
    X[2, 0, 0] = 6.0
    with pytest.raises(ValueError, match=r"X\[1, 2\] = -5 is too large: r \(2 value"):
        check_magnitudes(X, 4.0, "r")
    check_magnitudes(X, 6.0, "r")  # at the limit: allowed
