import numpy as np
import pytest
from scipy.spatial.distance import cdist

from didi import RBFInverse
from didi.inverse._rbf import normalized_weights


@pytest.fixture
def pairs():
    rng = np.random.default_rng(0)
    Y = rng.uniform(-5, 5, size=(80, 2))
    X = np.c_[np.sin(Y[:, 0]), np.cos(Y[:, 1]), Y[:, 0] * Y[:, 1] / 10]
    return Y, X


def theorem_2(Y_query, centers, coef, a, b):
    """π⁻¹(y) = Σ w_i(y) θ_i / Σ w_j(y), w_i(y) = (1 + a‖ρ_i − y‖^{2b})⁻¹, written out."""
    out = []
    for y in Y_query:
        w = np.array([1.0 / (1.0 + a * np.sum((c - y) ** 2) ** b) for c in centers])
        out.append(w @ coef / w.sum())
    return np.array(out)


def test_large_a_reproduces_the_training_points(pairs):
    Y, X = pairs
    inv = RBFInverse(a=1e6, alpha=1e-10).fit(Y, X)
    assert np.abs(inv.inverse_transform(Y) - X).max() < 1e-3


def test_output_follows_theorem_2(pairs):
    Y, X = pairs
    inv = RBFInverse(a=300, b=1.5).fit(Y, X)
    a_eff = 300 / np.mean(np.ptp(Y, axis=0))
    assert inv.a_effective_ == pytest.approx(a_eff)
    query = np.random.default_rng(1).uniform(-6, 6, size=(10, 2))
    expected = theorem_2(query, Y, inv.coef_, a_eff, 1.5)
    assert np.allclose(inv.inverse_transform(query), expected)


def test_coefficients_solve_the_regularised_least_squares(pairs):
    Y, X = pairs
    alpha = 1e-3
    inv = RBFInverse(a=500, alpha=alpha).fit(Y, X)
    w = 1.0 / (1.0 + inv.a_effective_ * cdist(Y, Y, "sqeuclidean"))
    W = w / w.sum(axis=1, keepdims=True)
    ridge = alpha * np.mean(np.sum(W**2, axis=0))
    gradient = W.T @ (W @ inv.coef_ - X) + ridge * (inv.coef_ - X)
    assert np.abs(gradient).max() < 1e-10


def test_exact_fit_is_at_least_as_good_as_gradient_descent(pairs):
    Y, X = pairs
    inv = RBFInverse(a=500, alpha=1e-8).fit(Y, X)
    W = 1.0 / (1.0 + inv.a_effective_ * cdist(Y, Y, "sqeuclidean"))
    W /= W.sum(axis=1, keepdims=True)
    theta = X.copy()
    step = 1.0 / np.linalg.norm(W, 2) ** 2
    for _ in range(2000):
        theta -= step * W.T @ (W @ theta - X)
    ours = np.sum((inv.inverse_transform(Y) - X) ** 2)
    assert ours <= np.sum((W @ theta - X) ** 2) + 1e-9


def test_images_come_back_in_their_shape_and_dtype(pairs):
    Y, _ = pairs
    images = np.random.default_rng(2).random((80, 3, 4, 4)).astype(np.float32)
    inv = RBFInverse().fit(Y, images)
    out = inv.inverse_transform(Y[:5])
    assert out.shape == (5, 3, 4, 4)
    assert out.dtype == np.float32


def test_a_subset_of_centres(pairs):
    Y, X = pairs
    inv = RBFInverse(n_centers=20, random_state=0).fit(Y, X)
    assert inv.coef_.shape == (20, 3)
    assert inv.centers_.shape == (20, 2)
    assert inv.inverse_transform(Y).shape == X.shape
    again = RBFInverse(n_centers=20, random_state=0).fit(Y, X)
    assert np.array_equal(inv.centers_, again.centers_)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"a": 0}, r"RBFInverse: a must be a finite number in \(0, inf\); got 0\."),
        ({"b": -1}, r"b must be a finite number in \(0, inf\); got -1"),
        ({"alpha": 0}, r"alpha must be a finite number in \(0, inf\); got 0"),
    ],
)
def test_bad_parameters(pairs, params, message):
    Y, X = pairs
    with pytest.raises(ValueError, match=message):
        RBFInverse(**params).fit(Y, X)


def test_mismatched_lengths(pairs):
    Y, X = pairs
    with pytest.raises(ValueError, match="same number of samples"):
        RBFInverse().fit(Y[:10], X)


def test_inverse_transform_uses_what_fit_fixed():
    Y = np.random.default_rng(0).normal(size=(30, 2))
    X = np.c_[Y, Y[:, :1] * Y[:, 1:]]
    inverse = RBFInverse().fit(Y, X)
    before = inverse.inverse_transform(Y[:5] + 0.1)
    after = inverse.set_params(a=5.0, b=2.0).inverse_transform(Y[:5] + 0.1)
    np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("b", [1, 1.5, 0.5, 2])
def test_weights_are_the_formula_to_the_bit_on_any_number_of_threads(b):
    """Blocks of rows on four threads (3,000 centres: 17 blocks of 43 rows) give each
    row exactly what the formula gives it written out at once."""
    rng = np.random.default_rng(int(10 * b))
    Y, centers = rng.normal(size=(700, 2)), rng.normal(size=(3000, 2))
    w = 1.0 / (1.0 + 7.0 * cdist(Y, centers, "sqeuclidean") ** b)
    expected = w / w.sum(axis=1, keepdims=True)
    for threads in (1, 4):
        weights = normalized_weights(Y, centers, 7.0, b, n_threads=threads)
        np.testing.assert_array_equal(weights.view(np.int64), expected.view(np.int64))


def test_n_jobs_changes_no_bit_of_the_fit(monkeypatch):
    import joblib

    monkeypatch.setattr(joblib, "cpu_count", lambda *args, **kwargs: 4)  # threads on any runner
    rng = np.random.default_rng(0)
    Y = rng.uniform(-5, 5, size=(900, 2))
    X = np.c_[np.sin(Y[:, 0]), np.cos(Y[:, 1]), Y[:, 0] * Y[:, 1] / 10]
    one, three = (RBFInverse(n_jobs=jobs).fit(Y, X) for jobs in (1, 3))
    np.testing.assert_array_equal(one.coef_.view(np.int64), three.coef_.view(np.int64))
    query = rng.uniform(-6, 6, size=(5000, 2))
    np.testing.assert_array_equal(
        one.inverse_transform(query).view(np.int64), three.inverse_transform(query).view(np.int64)
    )


def test_numpy_error_state_holds_in_every_thread():
    """Points far from every centre have all weights 0 (then 0/0): under
    ``np.errstate(all="raise")`` that raises on four threads as on one."""
    centers = np.random.default_rng(0).normal(size=(3000, 2))
    far = np.full((200, 2), 1e200)
    for threads in (1, 4):
        with np.errstate(all="raise"), pytest.raises(FloatingPointError):
            normalized_weights(far, centers, 7.0, 1, n_threads=threads)
