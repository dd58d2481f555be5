"""The "typical" base scale: the root mean square of the base distance over all pairs."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist

from didi.distance._scales import rms_base_distance


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 40),
    d=st.integers(1, 12),
    dtype=st.sampled_from([np.float32, np.float64, np.int64]),
    metric=st.sampled_from(["euclidean", "cosine"]),
    log_scale=st.floats(-4, 4),
    seed=st.integers(0, 2**16),
)
def test_the_scale_is_the_root_mean_square_over_pairs(n, d, dtype, metric, log_scale, seed):
    """Against every pair's distance by SciPy, with the caller's samples left as they were
    (the sums work on a copy, in place)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d, 1)) * 10.0**log_scale + 1.0  # no all-zero rows (cosine)
    X = X.astype(dtype) if dtype != np.int64 else np.rint(X * 10 + 0.5).astype(dtype) | 1
    before = X.copy()
    expected = np.sqrt(np.mean(pdist(X.reshape(n, -1).astype(np.float64), metric) ** 2))
    found = rms_base_distance(X, metric)
    np.testing.assert_array_equal(X, before)
    assert np.isclose(found, expected, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(X).max()))
