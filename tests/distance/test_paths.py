import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

from didi._proba import ProbaFunction
from didi.distance._paths import interior_fractions, path_lengths, upper_triangle_blocks

from ..conftest import softmax_classifier


@given(st.integers(0, 40), st.integers(1, 100))
def test_upper_triangle_blocks_cover_each_pair_once(n, block):
    pairs = [
        (int(a), int(b))
        for ia, ib in upper_triangle_blocks(n, block)
        for a, b in zip(ia, ib, strict=True)
    ]
    expected = [(i, j) for i in range(n) for j in range(i + 1, n)]
    assert sorted(pairs) == expected
    assert len(pairs) == len(set(pairs))


def test_interior_fractions():
    assert np.allclose(interior_fractions(3), [0.25, 0.5, 0.75])
    assert len(interior_fractions(0)) == 0


def brute_force_length(f, a, b, n_steps):
    points = [a + k / (n_steps + 1) * (b - a) for k in range(n_steps + 2)]
    probs = [f(p[None])[0] for p in points]
    return sum(jensenshannon(probs[k - 1], probs[k]) for k in range(1, n_steps + 2))


def test_path_lengths_match_brute_force_and_count_rows():
    rng = np.random.default_rng(1)
    f = softmax_classifier(rng.normal(size=(6, 4)))
    A, B = rng.normal(size=(7, 6)), rng.normal(size=(5, 6))
    ia, ib = rng.integers(0, 7, size=30), rng.integers(0, 5, size=30)
    proba = ProbaFunction(f, batch_size=16)
    out = path_lengths(proba, A, B, f(A), f(B), ia, ib, n_steps=4)
    expected = [brute_force_length(f, A[i], B[j], 4) for i, j in zip(ia, ib, strict=True)]
    assert np.allclose(out, expected, atol=1e-12)
    # Only the interior points cost classifier rows.
    assert proba.n_rows == 30 * 4


def test_zero_steps_is_the_endpoint_distance():
    rng = np.random.default_rng(2)
    f = softmax_classifier(rng.normal(size=(3, 3)))
    A = rng.normal(size=(4, 3))
    proba = ProbaFunction(f, batch_size=8)
    ia, ib = np.array([0, 1, 2]), np.array([3, 2, 0])
    out = path_lengths(proba, A, A, f(A), f(A), ia, ib, n_steps=0)
    assert np.allclose(out, jensenshannon(f(A)[ia], f(A)[ib], axis=1))
    assert proba.n_rows == 0


def test_only_the_suites_own_points_skip_scikit_learns_nan_scan():
    import sklearn

    seen = []

    class Recorder:
        def predict_proba(self, X):
            seen.append(sklearn.get_config()["assume_finite"])
            return np.full((len(X), 2), 0.5)

    proba = ProbaFunction(Recorder(), batch_size=4)
    X = np.zeros((6, 3))
    proba(X)
    proba(X, owned=True)
    path_lengths(proba, X, X, proba(X), proba(X), np.array([0, 1]), np.array([2, 3]), 2)
    assert seen == [False, False, True, True, False, False, False, False, True]
    assert sklearn.get_config()["assume_finite"] is False
