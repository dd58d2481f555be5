import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


@pytest.fixture(scope="session")
def digits_mlp(digits):
    """An MLP trained on all but the first 300 digits."""
    X, y = digits
    return MLPClassifier(hidden_layer_sizes=(32,), max_iter=600, random_state=0).fit(
        X[300:], y[300:]
    )


@pytest.fixture(scope="session")
def blobs():
    """Three well-separated classes in 5-D and a logistic regression that is perfect on them."""
    X, y = make_blobs(
        n_samples=240, centers=3, n_features=5, cluster_std=0.6, center_box=(-8, 8), random_state=3
    )
    clf = LogisticRegression(max_iter=1000).fit(X, y)
    assert clf.score(X, y) == 1.0
    return X, y, clf


def softmax_classifier(weights):
    """A plain callable classifier: softmax of a fixed linear map of the flattened input."""

    def predict(X):
        z = np.asarray(X, dtype=np.float64).reshape(len(X), -1) @ weights
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    return predict


def output_of_fresh_process(code: str, *options: str) -> str:
    """Standard output of ``code`` run in a fresh Python (for what a process does only
    once, such as a warning or a start-up), after checking that it succeeded."""
    done = subprocess.run(
        [sys.executable, *options, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()
