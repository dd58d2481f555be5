import numpy as np
import pytest
from scipy.spatial.distance import cdist, jensenshannon

from didi import FisherJSMetric

from ..conftest import softmax_classifier


def brute_force_didi(f, X, lam, n_steps, Y=None, scales="max", metric="euclidean"):
    """The DiDi distance written out pair by pair.

    Every path point is classified afresh (2(n+1) rows per pair, as the reference
    implementation does), independently of the package's code. ``scales`` is
    ``"max"`` (the reference's maxima over the pairs of ``X``), ``"typical"``
    (sqrt(ln 2) and the root mean square of E over pairs i ≠ j of ``X``) or a pair.
    """
    ref = X if Y is None else Y
    flat = lambda Z: Z.reshape(len(Z), -1)  # noqa: E731
    D = np.zeros((len(ref), len(X)))
    for i, a in enumerate(ref):
        for j, b in enumerate(X):
            points = np.stack([a + k / (n_steps + 1) * (b - a) for k in range(n_steps + 2)])
            probs = f(points)
            D[i, j] = sum(jensenshannon(probs[k], probs[k + 1]) for k in range(n_steps + 1))
    E = cdist(flat(ref), flat(X), metric=metric)
    if scales == "max":
        scales = D.max(), E.max()
    elif scales == "typical":
        E_fit = cdist(flat(X), flat(X), metric=metric)
        off_diagonal = E_fit[~np.eye(len(X), dtype=bool)]
        scales = np.sqrt(np.log(2)), np.sqrt(np.mean(off_diagonal**2))
    return (1 - lam) * D / scales[0] + lam * E / scales[1], scales


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    f = softmax_classifier(rng.normal(size=(4, 3)) * 2)
    return f, rng.normal(size=(12, 4))


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.65, 1.0])
@pytest.mark.parametrize("n_steps", [0, 1, 5])
@pytest.mark.parametrize("scale", ["typical", "max"])
def test_fit_transform_equals_the_formula(toy, lam, n_steps, scale):
    f, X = toy
    D = FisherJSMetric(f, lam=lam, n_steps=n_steps, scale=scale, batch_size=7).fit_transform(X)
    expected, _ = brute_force_didi(f, X, lam, n_steps, scales=scale)
    assert np.allclose(D, expected, atol=1e-10)


def test_typical_scales_do_not_depend_on_other_samples(toy):
    """A pair's distance under scale="typical" needs no other pair's path."""
    f, X = toy
    metric = FisherJSMetric(f).fit(X)
    assert metric.path_scale_ == pytest.approx(np.sqrt(np.log(2)))
    _, (_, rms) = brute_force_didi(f, X, 0.65, 5, scales="typical")
    assert metric.base_scale_ == pytest.approx(rms, rel=1e-12)
    cosine = FisherJSMetric(f, base_metric="cosine").fit(X)
    _, (_, rms_cosine) = brute_force_didi(f, X, 0.65, 5, scales="typical", metric="cosine")
    assert cosine.base_scale_ == pytest.approx(rms_cosine, rel=1e-10)


def test_matrix_properties(toy):
    f, X = toy
    D = FisherJSMetric(f, scale="max").fit_transform(X)
    assert D.shape == (12, 12)
    assert np.array_equal(D, D.T)
    assert np.all(np.diag(D) == 0)
    off = D[~np.eye(12, dtype=bool)]
    assert np.all(off > 0)
    # Both parts are scaled to a maximum of 1, so no distance exceeds 1.
    assert D.max() <= 1 + 1e-12


def test_transform_uses_the_scales_fixed_at_fit(toy):
    f, X = toy
    rng = np.random.default_rng(5)
    X_new = rng.normal(size=(5, 4)) * 3  # far away: larger raw distances than at fit
    metric = FisherJSMetric(f, n_steps=3, scale="max").fit(X)
    _, scales = brute_force_didi(f, X, 0.65, 3)
    expected, _ = brute_force_didi(f, X, 0.65, 3, Y=X_new, scales=scales)
    out = metric.transform(X_new)
    assert out.shape == (5, 12)
    assert np.allclose(out, expected, atol=1e-10)
    assert metric.path_scale_ == pytest.approx(scales[0])
    assert metric.base_scale_ == pytest.approx(scales[1])


def test_transform_of_fitted_points_reproduces_the_matrix(toy):
    f, X = toy
    metric = FisherJSMetric(f)
    D = metric.fit_transform(X)
    assert np.allclose(metric.transform(X), D, atol=1e-10)


def test_lam_one_is_the_scaled_euclidean_distance(toy):
    f, X = toy
    D = FisherJSMetric(f, lam=1.0, scale="max").fit_transform(X)
    E = cdist(X, X)
    assert np.allclose(D, E / E.max())


def test_cosine_base_metric(toy):
    f, X = toy
    D = FisherJSMetric(f, lam=0.4, n_steps=2, base_metric="cosine").fit_transform(X)
    expected, _ = brute_force_didi(f, X, 0.4, 2, metric="cosine", scales="typical")
    assert np.allclose(D, expected, atol=1e-10)


def test_each_point_and_interior_point_is_classified_once(toy):
    f, X = toy
    metric = FisherJSMetric(f, n_steps=5).fit(X)
    n = len(X)
    assert metric.n_classifier_rows_ == n + n * (n - 1) // 2 * 5


def test_images_keep_their_shape_for_the_classifier():
    rng = np.random.default_rng(3)
    weights = rng.normal(size=(2 * 3 * 3, 4))
    seen_shapes = []

    def image_classifier(X):
        seen_shapes.append(X.shape[1:])
        return softmax_classifier(weights)(X)

    images = rng.normal(size=(9, 2, 3, 3))
    D_images = FisherJSMetric(image_classifier).fit_transform(images)
    assert set(seen_shapes) == {(2, 3, 3)}
    D_flat = FisherJSMetric(softmax_classifier(weights)).fit_transform(images.reshape(9, -1))
    assert np.allclose(D_images, D_flat)
    new = FisherJSMetric(image_classifier).fit(images).transform(images[:2])
    assert new.shape == (2, 9)


def test_float32_inputs_reach_the_classifier_as_float32(toy):
    f, X = toy
    dtypes = set()

    def spy(Z):
        dtypes.add(Z.dtype)
        return f(Z)

    D32 = FisherJSMetric(spy).fit_transform(X.astype(np.float32))
    assert dtypes == {np.dtype(np.float32)}
    assert np.allclose(D32, FisherJSMetric(f).fit_transform(X), atol=1e-5)


def test_sklearn_classifier_and_estimator_with_classes(digits, digits_mlp):
    X, _ = digits
    D = FisherJSMetric(digits_mlp, n_steps=2).fit_transform(X[:30])
    expected, _ = brute_force_didi(digits_mlp.predict_proba, X[:30], 0.65, 2, scales="typical")
    assert np.allclose(D, expected, atol=1e-10)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"lam": 1.5}, r"lam must be a finite number in \[0, 1\]; got 1.5"),
        ({"lam": -0.1}, r"lam must be a finite number in \[0, 1\]; got -0.1"),
        ({"n_steps": -1}, r"n_steps must be an integer in \[0, inf\); got -1"),
        ({"n_steps": 2.5}, "n_steps must be an integer"),
        ({"base_metric": "manhattan"}, "base_metric must be one of"),
        ({"scale": "median"}, "scale must be one of"),
        ({"candidates": "kd_tree"}, "candidates must be one of"),
        ({"n_neighbors": 0}, r"n_neighbors must be None or an integer in \[1, inf\); got 0"),
        ({"n_neighbors": 3, "scale": "max"}, "scale='max' divides by maxima"),
        ({"batch_size": 0}, r"batch_size must be None or an integer in \[1, inf\); got 0"),
    ],
)
def test_bad_parameters(toy, params, message):
    f, X = toy
    with pytest.raises(ValueError, match=message):
        FisherJSMetric(f, **params).fit(X)


def test_bad_inputs(toy):
    f, X = toy
    with pytest.raises(TypeError, match="predict_proba"):
        FisherJSMetric(object()).fit(X)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FisherJSMetric(f).fit(bad)
    metric = FisherJSMetric(f).fit(X)
    with pytest.raises(ValueError, match="X has 5 features, but FisherJSMetric is expecting 4"):
        metric.transform(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"samples of shape \(5, 2\)"):
        metric.transform(np.ones((2, 5, 2)))


def test_logits_are_refused_with_advice(toy):
    _, X = toy
    with pytest.raises(ValueError, match="softmax"):
        FisherJSMetric(lambda Z: Z[:, :3] * 5).fit(X)


@pytest.mark.parametrize("n_neighbors", [None, 4])
def test_transform_uses_what_fit_fixed(toy, n_neighbors):
    f, X = toy
    metric = FisherJSMetric(f, n_neighbors=n_neighbors).fit(X[:8])
    before = metric.transform(X[8:])
    metric.set_params(lam=0.1, n_steps=0, base_metric="cosine")
    after = metric.transform(X[8:])
    if n_neighbors is not None:
        before, after = before.toarray(), after.toarray()
    np.testing.assert_array_equal(after, before)
    assert (metric.lam_, metric.n_steps_, metric.base_metric_) == (0.65, 5, "euclidean")
