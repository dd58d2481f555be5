"""The Keras 3 adapter, and scikeras' KerasClassifier plugged in unchanged."""

import os

import numpy as np
import pytest
from scipy.special import expit, softmax

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from didi import DecisionMap, FisherJSMetric  # noqa: E402
from didi.keras import KerasModelClassifier  # noqa: E402


def dense_model(n_in=64, n_out=10, activation=None, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((n_in,)), keras.layers.Dense(16, activation="tanh"),
         keras.layers.Dense(n_out, activation=activation)]
    )  # fmt: skip


@pytest.fixture(scope="module")
def X64(digits):
    X, _ = digits
    return X[:100] / 16


def raw_outputs(model, X):
    return keras.ops.convert_to_numpy(model(X, training=False)).astype(np.float64)


def test_softmax_model_gives_its_probabilities(X64):
    model = dense_model(activation="softmax")
    proba = KerasModelClassifier(model).predict_proba(X64)
    np.testing.assert_allclose(proba, raw_outputs(model, X64), atol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)  # a float32 softmax


def test_logits_become_softmax(X64):
    model = dense_model()
    proba = KerasModelClassifier(model, output="logits").predict_proba(X64)
    np.testing.assert_allclose(proba, softmax(raw_outputs(model, X64), axis=1), atol=1e-6)


def test_binary_sigmoid_becomes_two_columns(X64):
    model = dense_model(n_out=1)
    proba = KerasModelClassifier(model, output="logits", classes=["no", "yes"]).predict_proba(X64)
    positive = expit(raw_outputs(model, X64)[:, 0])
    np.testing.assert_allclose(proba, np.column_stack([1 - positive, positive]), atol=1e-6)


def test_input_shape_for_an_image_model(X64):
    keras.utils.set_random_seed(0)
    conv = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
         keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )  # fmt: skip
    flat = KerasModelClassifier(conv, input_shape=(8, 8, 1)).predict_proba(X64)
    shaped = KerasModelClassifier(conv).predict_proba(X64.reshape(-1, 8, 8, 1))
    np.testing.assert_allclose(flat, shaped, atol=1e-12)
    with pytest.raises(ValueError, match="input_shape"):
        KerasModelClassifier(conv, input_shape=(7, 7, 1)).predict_proba(X64)


def test_logits_declared_as_probabilities_are_refused(X64):
    clf = KerasModelClassifier(dense_model())  # default output: probabilities
    with pytest.raises(ValueError, match="look like logits"):
        FisherJSMetric(clf, n_neighbors=5).fit(X64)


def test_bad_parameters(X64):
    with pytest.raises(TypeError, match="Keras model with a predict method"):
        KerasModelClassifier(object()).fit()
    with pytest.raises(ValueError, match="output must be one of"):
        KerasModelClassifier(dense_model(), output="softmax").predict_proba(X64)


def test_decision_map_with_a_keras_model(digits):
    X, y = digits
    X = X / 16  # float64: umap-learn's numba code is already compiled for it
    model = dense_model(activation="softmax")
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    model.fit(X[200:], y[200:], epochs=15, batch_size=128, verbose=0)
    clf = KerasModelClassifier(model)
    dmap = DecisionMap(clf, resolution=10, random_state=0).fit(X[:150], y[:150])
    assert dmap.scores_["q_knn"] > 0.8
    np.testing.assert_array_equal(dmap.classes_, np.arange(10))


def test_scikeras_classifier_plugs_in_unchanged(digits):
    wrappers = pytest.importorskip("scikeras.wrappers")
    X, y = digits
    X = X / 16  # float64: umap-learn's numba code is already compiled for it

    def build():
        model = dense_model(activation="softmax")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    clf = wrappers.KerasClassifier(build, epochs=5, verbose=0, random_state=0).fit(X[200:], y[200:])
    metric = FisherJSMetric(clf, n_neighbors=8)
    plain = FisherJSMetric(lambda Z: clf.predict_proba(Z), n_neighbors=8)
    np.testing.assert_allclose(
        metric.fit_transform(X[:80]).toarray(), plain.fit_transform(X[:80]).toarray(), atol=1e-12
    )
    dmap = DecisionMap(clf, resolution=10, random_state=0).fit(X[:100], y[:100])
    np.testing.assert_array_equal(dmap.classes_, clf.classes_)
