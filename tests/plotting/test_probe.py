"""Probing a map: π⁻¹ at any position, the classifier's verdict there, and its display."""

import numpy as np
import pytest
from scipy.stats import entropy
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from didi import DecisionMap, ProbeDisplay
from didi.plotting._samples import as_image


@pytest.fixture(scope="module")
def digits_map(digits, digits_mlp):
    X, y = digits
    return DecisionMap(digits_mlp, resolution=20, random_state=0).fit(X[:200], y[:200])


@pytest.fixture(scope="module")
def iris_map():
    X, y = load_iris(return_X_y=True)
    clf = LogisticRegression(max_iter=1000).fit(X, y)
    return DecisionMap(clf, n_neighbors=10, resolution=10, random_state=0).fit(X, y), clf


def test_probe_is_the_inverse_and_the_classifier_there(digits_map, digits_mlp):
    rng = np.random.default_rng(0)
    low, high = digits_map.embedding_.min(0), digits_map.embedding_.max(0)
    positions = rng.uniform(low, high, size=(7, 2))
    found = digits_map.probe(positions)
    np.testing.assert_array_equal(found.positions, positions)
    np.testing.assert_array_equal(found.samples, digits_map.inverse_transform(positions))
    expected = digits_mlp.predict_proba(found.samples)
    np.testing.assert_allclose(found.proba, expected, rtol=1e-12)
    np.testing.assert_array_equal(found.labels, digits_mlp.classes_[expected.argmax(1)])
    certainty = 1 - entropy(expected, axis=1) / np.log(expected.shape[1])
    np.testing.assert_allclose(found.certainty, certainty, atol=1e-12)
    assert np.all((found.certainty >= 0) & (found.certainty <= 1))


def test_probe_at_the_data_agrees_with_the_map(digits_map):
    found = digits_map.probe(digits_map.embedding_)
    agreement = np.mean(found.proba.argmax(1) == digits_map.proba_.argmax(1))
    assert agreement >= digits_map.scores_["q_data"] - 0.1


def test_probe_errors(digits_map, digits_mlp):
    with pytest.raises(ValueError, match="positions must have 2 columns"):
        digits_map.probe(np.zeros((3, 3)))
    with pytest.raises(NotFittedError):
        DecisionMap(digits_mlp).probe(np.zeros((1, 2)))


@pytest.mark.parametrize(
    "shape, image_shape, expected",
    [
        ((8, 8), None, (8, 8)),
        ((8, 6, 3), None, (8, 6, 3)),
        ((8, 6, 4), None, (8, 6, 4)),
        ((3, 8, 6), None, (8, 6, 3)),
        ((1, 8, 6), None, (8, 6)),
        ((8, 6, 1), None, (8, 6)),
        ((64,), (8, 8), (8, 8)),
        ((192,), (3, 8, 8), (8, 8, 3)),
        ((5,), None, None),
        ((2, 3, 4, 5), None, None),
        ((5, 6, 7), None, None),
    ],
)
def test_images_are_recognised_by_shape(shape, image_shape, expected):
    sample = np.arange(int(np.prod(shape)), dtype=float).reshape(shape)
    image = as_image(sample, image_shape)
    assert (image is None) if expected is None else image.shape == expected


def test_channels_first_keeps_pixels(digits_map):
    sample = np.random.default_rng(1).uniform(size=(3, 4, 5))
    np.testing.assert_array_equal(as_image(sample)[2, 3], sample[:, 2, 3])


def test_display_of_images(digits_map, tmp_path):
    positions = digits_map.embedding_[:4] + 0.5
    shown = ProbeDisplay.from_estimator(digits_map, positions, image_shape=(8, 8), title="t")
    assert len(shown.markers_) == 4 and [m.get_text() for m in shown.markers_] == list("0123")
    found = digits_map.probe(positions)
    for k, ax in enumerate(shown.sample_axes_):
        assert len(ax.images) == 1
        np.testing.assert_allclose(ax.images[0].get_array(), found.samples[k].reshape(8, 8))
        assert ax.get_title() == f"{k}: {found.labels[k]} ({found.certainty[k]:.0%})"
    assert shown.map_display_.ax_.get_title() == "t"
    shown.figure_.savefig(tmp_path / "probe.png")
    assert (tmp_path / "probe.png").stat().st_size > 0


def test_display_of_other_samples(iris_map):
    dmap, _ = iris_map
    positions = dmap.embedding_[:3]
    bars = ProbeDisplay.from_estimator(dmap, positions)
    assert [len(ax.patches) for ax in bars.sample_axes_] == [4, 4, 4]
    seen = []

    def as_text(ax, sample):
        seen.append(sample)
        ax.text(0.5, 0.5, ", ".join(f"{v:.1f}" for v in sample))

    custom = ProbeDisplay.from_estimator(dmap, positions, data_viz=as_text)
    np.testing.assert_array_equal(np.array(seen), dmap.probe(positions).samples)
    assert all(len(ax.texts) == 1 for ax in custom.sample_axes_)
