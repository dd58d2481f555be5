"""SaliencyDisplay: the pipeline's five panels for images, bars for tabular samples."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from didi import DecisionMap
from didi.plotting._saliency_display import SaliencyDisplay, symmetric_limit, top_features


@pytest.fixture(scope="module")
def digits_clf(digits):
    X, y = digits
    return LogisticRegression(max_iter=3000).fit(X[200:] / 16, y[200:])


def test_image_rows_show_the_explanation_on_one_symmetric_scale(digits, digits_clf):
    X, _ = digits
    shown = SaliencyDisplay.from_estimator(
        digits_clf, X[:3] / 16, image_shape=(8, 8), method="occlusion"
    )
    found = shown.explanation
    assert shown.axes_.shape == (3, 5)
    assert [ax.get_title() for ax in shown.axes_[0]] == [
        "source", "baseline", "saliency", "delta", "overlay"
    ]  # fmt: skip
    for row in range(3):
        np.testing.assert_array_equal(
            shown.images_[row, "delta"].get_array(), found.delta[row].reshape(8, 8)
        )
        np.testing.assert_array_equal(
            shown.images_[row, "source"].get_array(), X[row].reshape(8, 8) / 16
        )
        attributions = (found[k][row] for k in ("baseline_saliency", "saliency", "delta"))
        limit = np.abs(np.concatenate(list(attributions))).max()
        for name in ("baseline", "saliency", "delta"):
            assert shown.images_[row, name].get_clim() == pytest.approx((-limit, limit))
        overlay = np.abs(found.overlay[row]).max()
        assert shown.images_[row, "overlay"].get_clim() == pytest.approx((-overlay, overlay))
        label = shown.axes_[row, 0].get_ylabel()
        assert label.startswith(f"#{row}: {found.target[row]} (")


def test_tabular_samples_get_the_largest_deltas_as_named_bars():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 6))
    clf = LogisticRegression().fit(X, (2 * X[:, 4] - X[:, 1] > 0).astype(int))
    names = [f"f{k}" for k in range(6)]
    shown = SaliencyDisplay.from_estimator(
        clf, X[:2], feature_names=names, method="finite_difference"
    )
    assert shown.axes_.shape == (2, 1)
    ax = shown.axes_[0, 0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    widths = [bar.get_width() for bar in ax.patches]
    delta = shown.explanation.delta[0]
    # Bars are the deltas, the largest in magnitude at the top (last drawn).
    assert labels[-1] == names[int(np.abs(delta).argmax())]
    np.testing.assert_allclose(sorted(widths), sorted(delta))
    assert set(labels[-2:]) == {"f4", "f1"}


def test_positions_of_a_map_are_explained_and_titled(digits, digits_clf):
    X, y = digits
    dmap = DecisionMap(digits_clf, resolution=8, random_state=0).fit(X[:100] / 16, y[:100])
    positions = dmap.embedding_[:2]
    shown = SaliencyDisplay.from_decision_map(
        dmap, positions, image_shape=(8, 8), method="occlusion", panels=("source", "delta")
    )
    assert shown.axes_.shape == (2, 2)
    x, y0 = positions[0]
    assert shown.axes_[0, 0].get_ylabel().startswith(f"({x:.2f}, {y0:.2f}): ")
    with pytest.raises(ValueError, match="panels must be"):
        shown.plot(panels=("source", "gradcam"))


def test_helpers():
    assert symmetric_limit(np.array([1.0, -3.0]), np.array([2.0])) == 3.0
    assert symmetric_limit(np.zeros(3)) == 1.0
    np.testing.assert_array_equal(top_features(np.array([0.1, -5.0, 2.0, -0.2]), 2), [1, 2])


def test_one_panel_is_still_an_image_and_colour_limits_cover_what_is_drawn():
    from sklearn.utils import Bunch

    rng = np.random.default_rng(0)
    attribution = np.abs(rng.normal(size=(1, 3, 8, 8)))
    found = Bunch(
        samples=rng.uniform(size=(1, 3, 8, 8)), saliency=attribution,
        baseline_saliency=np.zeros_like(attribution), delta=attribution,
        overlay=attribution, proba=np.array([[0.2, 0.8]]), target=np.array(["b"]),
        target_index=np.array([1]), score="log_proba",
    )  # fmt: skip
    shown = SaliencyDisplay(found).plot(panels=["delta"])
    assert shown.axes_.shape == (1, 1) and (0, "delta") in shown.images_
    # A colour attribution is drawn as its channels' sum, and nothing of it is clipped.
    drawn = shown.images_[0, "delta"].get_array()
    np.testing.assert_allclose(drawn, attribution[0].sum(axis=0))
    assert shown.images_[0, "delta"].get_clim()[1] == pytest.approx(drawn.max())
