"""Saliency against analytic gradients of linear softmax models, finite differences
against back-propagation, occlusion against a brute-force loop and captum."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp, softmax
from sklearn.linear_model import LogisticRegression

from didi.saliency import map_saliency, saliency, saliency_cost
from didi.saliency._perturbation import occlusion_windows
from didi.saliency._saliency import default_window

torch = pytest.importorskip("torch")

from didi.torch import TorchClassifier  # noqa: E402

RNG = np.random.default_rng(0)
W = RNG.normal(size=(4, 6))  # 4 classes, 6 features
B = RNG.normal(size=4)


def linear_net(weights=W, bias=B):
    """A float64 linear softmax model with known weights: logits = W x + b."""
    layer = torch.nn.Linear(weights.shape[1], weights.shape[0]).double()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(weights))
        layer.bias.copy_(torch.from_numpy(bias))
    return TorchClassifier(layer)


def analytic(X, targets, score, weights=W, bias=B):
    """∂ score_target / ∂x for logits W x + b, from the softmax formulas."""
    logits = X @ weights.T + bias
    p = softmax(logits, axis=1)
    w_target = weights[targets]
    if score == "logit":
        return w_target
    log_gradient = w_target - p @ weights  # ∂ log p_c = W_c − Σ_k p_k W_k
    if score == "log_proba":
        return log_gradient
    return p[np.arange(len(X)), targets][:, None] * log_gradient


@pytest.fixture(scope="module")
def samples():
    return RNG.normal(size=(7, 6))


@pytest.mark.parametrize("score", ["log_proba", "proba", "logit"])
def test_gradient_is_the_analytic_gradient(samples, score):
    found = saliency(linear_net(), samples, method="gradient", score=score)
    predicted = softmax(samples @ W.T + B, axis=1).argmax(axis=1)
    np.testing.assert_array_equal(found.target_index, predicted)
    np.testing.assert_allclose(found.saliency, analytic(samples, predicted, score), atol=1e-12)
    at_zero = analytic(np.zeros_like(samples), predicted, score)
    np.testing.assert_allclose(found.baseline_saliency, at_zero, atol=1e-12)
    np.testing.assert_allclose(found.delta, found.saliency - at_zero, atol=1e-12)
    np.testing.assert_allclose(found.overlay, found.delta * samples, atol=1e-12)
    assert found.n_rows == len(samples) + len(samples) + len(np.unique(predicted))


def test_gradient_x_input_and_a_given_target(samples):
    targets = np.array([3, 0, 1, 2, 3, 0, 1])
    baseline = RNG.normal(size=6)
    found = saliency(
        linear_net(), samples, method="gradient_x_input", target=targets, baseline=baseline
    )
    np.testing.assert_array_equal(found.target, targets)
    expected = analytic(samples, targets, "log_proba") * samples
    np.testing.assert_allclose(found.saliency, expected, atol=1e-12)
    at_baseline = analytic(np.tile(baseline, (7, 1)), targets, "log_proba") * baseline
    np.testing.assert_allclose(found.baseline_saliency, at_baseline, atol=1e-12)


def test_finite_differences_match_back_propagation(samples):
    net = linear_net()
    by_gradient = saliency(net, samples, method="gradient")
    # A float64 model: a step of 1e-5 leaves a truncation error of about 1e-10.
    by_difference = saliency(net, samples, method="finite_difference", epsilon=1e-5)
    np.testing.assert_allclose(by_difference.saliency, by_gradient.saliency, atol=1e-9)
    np.testing.assert_allclose(
        by_difference.baseline_saliency, by_gradient.baseline_saliency, atol=1e-9
    )
    # The default step (1e-3 of the samples' spread, safe in float32) is O(ε²) off.
    default = saliency(net, samples, method="finite_difference")
    np.testing.assert_allclose(default.saliency, by_gradient.saliency, atol=1e-5)
    # Two rows per feature, for each sample and each class's baseline, beside the
    # samples' own probabilities.
    k = len(np.unique(by_gradient.target_index))
    assert by_difference.n_rows == len(samples) + 2 * 6 * (len(samples) + k)
    assert by_difference.n_rows == saliency_cost("finite_difference", 7, k, 6)


def test_finite_differences_of_a_scikit_learn_model_match_its_coefficients():
    X = RNG.normal(size=(300, 5))
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.7, 0.0, 0.7])
    clf = LogisticRegression(max_iter=2000).fit(X, y)
    found = saliency(clf, X[:10], method="finite_difference", score="proba", epsilon=1e-5)
    targets = clf.predict(X[:10])
    expected = analytic(X[:10], targets, "proba", clf.coef_, clf.intercept_)
    np.testing.assert_allclose(found.saliency, expected, atol=1e-9)


def brute_force_occlusion(score, x, target, baseline, size):
    """Non-overlapping ``size × size`` windows of a 2-D sample, one at a time."""
    out = np.zeros_like(x)
    for i in range(0, x.shape[0], size):
        for j in range(0, x.shape[1], size):
            occluded = x.copy()
            occluded[i : i + size, j : j + size] = baseline[i : i + size, j : j + size]
            out[i : i + size, j : j + size] = score(x, target) - score(occluded, target)
    return out


def test_occlusion_of_a_plain_function_against_a_loop():
    weights = RNG.normal(size=(3, 36))
    seen = []

    def proba(X):
        seen.append(len(X))
        return softmax(np.reshape(X, (len(X), -1)) @ weights.T, axis=1)

    X = RNG.normal(size=(4, 36))
    baseline = RNG.normal(size=36)
    found = saliency(proba, X, method="occlusion", image_shape=(6, 6), window=2, baseline=baseline)

    def log_p(x, c):
        return np.log(softmax(weights @ x.ravel())[c])

    for x, c, got in zip(X, found.target_index, found.saliency, strict=True):
        expected = brute_force_occlusion(log_p, x.reshape(6, 6), c, baseline.reshape(6, 6), 2)
        np.testing.assert_allclose(got.reshape(6, 6), expected, atol=1e-12)
    assert (
        found.n_rows == sum(seen) == 4 + 4 * 9 == saliency_cost("occlusion", 4, 3, 36, n_windows=9)
    )
    np.testing.assert_array_equal(found.baseline_saliency, 0.0)


def test_overlapping_occlusion_matches_captum():
    captum = pytest.importorskip("captum.attr")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(48, 5)
    ).double()
    X = RNG.normal(size=(3, 1, 6, 6))
    # Windows that tile the sample: where a stride would leave the far edge
    # uncovered, didi adds a window flush with it and captum does not.
    found = saliency(
        TorchClassifier(net), X, method="occlusion", window=(1, 4, 3), stride=(1, 2, 1)
    )
    log_proba = lambda x: torch.log_softmax(net(x), dim=1)  # noqa: E731
    expected = captum.Occlusion(log_proba).attribute(
        torch.from_numpy(X), sliding_window_shapes=(1, 4, 3), strides=(1, 2, 1),
        target=torch.from_numpy(found.target_index), baselines=0.0,
    )  # fmt: skip
    np.testing.assert_allclose(found.saliency, expected.numpy(), atol=1e-10)


def test_integrated_gradients_of_a_linear_logit_and_completeness(samples):
    pytest.importorskip("captum")
    net = linear_net()
    baseline = RNG.normal(size=6)
    found = saliency(net, samples, method="integrated_gradients", score="logit", baseline=baseline)
    # A linear score's gradient is constant: IG = (x − baseline) ⊙ W_c exactly.
    expected = (samples - baseline) * W[found.target_index]
    np.testing.assert_allclose(found.saliency, expected, atol=1e-10)
    curved = saliency(net, samples, method="integrated_gradients", n_steps=200)
    # Completeness: attributions add up to log p(x) − log p(baseline) of the target.
    logits = samples @ W.T + B
    rows = np.arange(len(samples))
    gain = (logits - logsumexp(logits, axis=1, keepdims=True))[rows, curved.target_index]
    at_zero = (B - logsumexp(B))[curved.target_index]
    np.testing.assert_allclose(curved.saliency.sum(axis=1), gain - at_zero, atol=1e-6)
    assert curved.n_rows == len(samples) * 201


def test_map_saliency_explains_the_synthesised_samples(digits):
    from didi import DecisionMap

    X, y = digits
    clf = LogisticRegression(max_iter=3000).fit(X[200:] / 16, y[200:])
    dmap = DecisionMap(clf, resolution=10, random_state=0).fit(X[:120] / 16, y[:120])
    positions = dmap.embedding_[:3] + 0.5
    found = map_saliency(dmap, positions, method="finite_difference")
    direct = saliency(clf, dmap.inverse_transform(positions), method="finite_difference")
    np.testing.assert_allclose(found.saliency, direct.saliency)
    np.testing.assert_array_equal(found.positions, positions)


def test_errors_are_clear(samples):
    clf = LogisticRegression().fit(samples, [0, 1, 0, 1, 0, 1, 0])
    with pytest.raises(ValueError, match=r"back-propagates.*occlusion"):
        saliency(clf, samples, method="gradient")
    with pytest.raises(ValueError, match="score='logit' needs the network's raw outputs"):
        saliency(clf, samples, method="occlusion", score="logit")
    # Refused before a row is spent, at the most it could cost: a function has no
    # classes_, so up to one target class per sample: 7 + 2·6·(7 + 7).
    seen = []

    def counted(X):
        seen.append(len(X))
        return clf.predict_proba(X)

    with pytest.raises(ValueError, match="would evaluate up to 175 inputs for 7 samples"):
        saliency(counted, samples, method="finite_difference", target=0, max_rows=50)
    assert seen == []
    with pytest.raises(ValueError, match=r"cheaper method \(occlusion"):
        saliency(clf, samples, method="finite_difference", max_rows=50)
    with pytest.raises(ValueError, match=r"target \[7\] is not among"):
        saliency(clf, samples, target=7)
    with pytest.raises(ValueError, match="baseline has 3 values"):
        saliency(clf, samples, baseline=[0, 0, 0])
    with pytest.raises(ValueError, match="method must be"):
        saliency(clf, samples, method="lime")
    with pytest.raises(ValueError, match=r"window .* larger than"):
        saliency(clf, samples, method="occlusion", window=7)
    with pytest.raises(ValueError, match=r"stride .* longer than the window"):
        saliency(clf, samples, method="occlusion", window=2, stride=3)
    with pytest.raises(ValueError, match="score='logit' needs a model that returns logits"):
        softmax_net = torch.nn.Sequential(linear_net().module, torch.nn.Softmax(dim=1))
        saliency(TorchClassifier(softmax_net, output="probabilities"), samples,
                 method="gradient", score="logit")  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    data=st.data(),
)
def test_occlusion_windows_cover_every_feature_inside_the_sample(shape, data):
    window = tuple(data.draw(st.integers(1, s)) for s in shape)
    stride = tuple(data.draw(st.integers(1, w)) for w in window)
    covered = np.zeros(shape, dtype=int)
    for where in occlusion_windows(tuple(shape), window, stride):
        assert all(0 <= s.start and s.stop <= n for s, n in zip(where, shape, strict=True))
        assert tuple(s.stop - s.start for s in where) == window
        covered[where] += 1
    assert covered.min() >= 1


def test_keras_on_the_torch_backend_gives_the_analytic_gradient(samples):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("Keras runs on another backend")
    from didi.keras import KerasModelClassifier

    layer = keras.layers.Dense(4, activation="softmax")
    model = keras.Sequential([keras.Input((6,)), layer])
    layer.set_weights([W.T.astype("float32"), B.astype("float32")])
    found = saliency(KerasModelClassifier(model), samples, method="gradient")
    expected = analytic(samples, found.target_index, "log_proba")
    np.testing.assert_allclose(found.saliency, expected, atol=1e-5)  # a float32 model


def test_default_windows_keep_the_channels_whole_wherever_they_are():
    assert default_window((64,)) == (1,)
    assert default_window((28, 28)) == (4, 4)
    assert default_window((1, 28, 28)) == (1, 4, 4)
    assert default_window((28, 28, 1)) == (4, 4, 1)
    assert default_window((32, 32, 3)) == (5, 5, 3)
    assert default_window((3, 32, 32)) == (3, 5, 5)


def test_occlusion_of_flat_samples_slides_over_the_network_input_shape():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(196, 3)).double()
    X = RNG.normal(size=(2, 196))
    flat = saliency(TorchClassifier(net, input_shape=(1, 14, 14)), X, method="occlusion")
    shaped = saliency(TorchClassifier(net), X.reshape(2, 1, 14, 14), method="occlusion")
    np.testing.assert_allclose(flat.saliency, shaped.saliency.reshape(2, 196))
    assert flat.n_rows == 2 + 2 * 49  # 2 × 2 windows on 14 × 14, not one per pixel


def test_a_pipeline_reading_columns_by_name_is_explained_from_a_dataframe():
    pd = pytest.importorskip("pandas")
    from sklearn.compose import make_column_transformer
    from sklearn.datasets import load_iris
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from didi import DecisionMap

    X, y = load_iris(return_X_y=True, as_frame=True)
    columns = ["sepal length (cm)", "petal length (cm)"]
    clf = make_pipeline(
        make_column_transformer((StandardScaler(), columns)), LogisticRegression()
    ).fit(X, y)
    found = saliency(clf, X.iloc[:3], method="finite_difference")
    # Only the two columns the pipeline reads matter.
    assert np.all(found.saliency[:, [1, 3]] == 0) and np.all(found.saliency[:, [0, 2]] != 0)
    dmap = DecisionMap(clf, n_neighbors=10, resolution=8, random_state=0).fit(X, y)
    at = map_saliency(dmap, dmap.embedding_[:2], method="finite_difference")
    assert isinstance(pd.DataFrame(at.samples), pd.DataFrame) and at.saliency.shape == (2, 4)


def test_auto_does_not_pick_gradients_a_keras_backend_cannot_give(monkeypatch, samples):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    from didi.keras import KerasModelClassifier

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="softmax")])
    monkeypatch.setattr(keras.backend, "backend", lambda: "tensorflow")
    assert saliency(KerasModelClassifier(model), samples).method == "finite_difference"
    with pytest.raises(ValueError, match="back-propagates"):
        saliency(KerasModelClassifier(model), samples, method="gradient")
