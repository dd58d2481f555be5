"""The map beside its samples' confusion matrix: the counts, the rings, the clicks."""

import gc

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

from didi import DecisionMap, DecisionMapDisplay, MapConfusionDisplay


@pytest.fixture(scope="module")
def fitted(digits):
    from sklearn.neural_network import MLPClassifier

    X, y = digits
    # A network trained briefly: it confuses some digits, so off-diagonal cells are full.
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=30, random_state=0)
    with pytest.warns(Warning):
        clf.fit(X[300:], y[300:])
    dmap = DecisionMap(clf, resolution=12, n_neighbors=10, random_state=0)
    return dmap.fit(X[:150], y[:150]), y[:150]


def confused_cell(matrix):
    """The fullest off-diagonal cell."""
    off = np.where(np.eye(len(matrix), dtype=bool), -1, matrix)
    return np.unravel_index(off.argmax(), matrix.shape)


def click_cell(display, row, column):
    canvas = display.figure_.canvas
    canvas.draw()
    x, y = display.confusion_display_.ax_.transData.transform((column, row))
    canvas.callbacks.process(
        "button_press_event", MouseEvent("button_press_event", canvas, x, y, 1)
    )


def test_the_matrix_is_sklearns_of_the_true_and_predicted_labels(fitted):
    dmap, y = fitted
    display = MapConfusionDisplay.from_estimator(dmap)
    expected = confusion_matrix(y, dmap.classes_[dmap.proba_.argmax(axis=1)])
    np.testing.assert_array_equal(display.confusion_matrix_, expected)
    assert isinstance(display.confusion_display_, ConfusionMatrixDisplay)
    np.testing.assert_array_equal(display.confusion_display_.confusion_matrix, expected)
    assert isinstance(display.map_display_, DecisionMapDisplay)
    assert display.map_display_.ax_ is not display.confusion_display_.ax_
    assert display.map_display_.figure_ is display.figure_ is display.confusion_display_.figure_
    assert display.highlighted_.size == 0 and display.ring_ is None
    assert (expected - np.diag(np.diag(expected))).sum() > 0, "the test needs confusions"


def test_options_pass_to_sklearn(fitted):
    dmap, y = fitted
    predicted = dmap.classes_[dmap.proba_.argmax(axis=1)]
    display = MapConfusionDisplay.from_estimator(
        dmap, labels=[3, 5, 8], normalize="true", display_labels=["three", "five", "eight"]
    )
    expected = confusion_matrix(y, predicted, labels=[3, 5, 8], normalize="true")
    np.testing.assert_allclose(display.confusion_matrix_, expected)
    ticks = [t.get_text() for t in display.confusion_display_.ax_.get_xticklabels()]
    assert ticks == ["three", "five", "eight"]
    with pytest.raises(ValueError, match="not classes of the map"):
        MapConfusionDisplay.from_estimator(dmap, labels=[3, 42])


def test_highlight_rings_the_samples_of_a_cell(fitted):
    dmap, y = fitted
    display = MapConfusionDisplay.from_estimator(dmap)
    predicted = dmap.proba_.argmax(axis=1)
    row, column = confused_cell(display.confusion_matrix_)
    ringed = display.highlight(dmap.classes_[row], dmap.classes_[column])
    expected = np.flatnonzero((y == dmap.classes_[row]) & (predicted == column))
    assert len(expected) > 0
    np.testing.assert_array_equal(ringed, expected)
    np.testing.assert_array_equal(display.highlighted_, expected)
    np.testing.assert_allclose(display.ring_.get_offsets(), dmap.embedding_[expected])
    assert display.ring_.axes is display.map_display_.ax_
    assert display.cell_.get_xy() == pytest.approx((column - 0.5, row - 0.5))

    # One ring artist at a time: a new highlight replaces it, None clears it.
    ringed = display.highlight(dmap.classes_[row], dmap.classes_[row])
    np.testing.assert_array_equal(ringed, np.flatnonzero((y == row) & (predicted == row)))
    rings = [c for c in display.map_display_.ax_.collections if c is display.ring_]
    assert len(rings) == 1 and len(display.map_display_.ax_.collections) == 3
    assert display.highlight(None, None).size == 0
    assert display.ring_ is None and display.cell_ is None
    assert len(display.map_display_.ax_.collections) == 2  # the points and the crosses
    with pytest.raises(ValueError, match="both"):
        display.highlight(row, None)
    with pytest.raises(ValueError, match="not a class"):
        display.highlight(row, 42)


def test_clicking_a_cell_highlights_its_samples_and_again_clears_them(fitted):
    dmap, y = fitted
    display = MapConfusionDisplay.from_estimator(dmap)
    predicted = dmap.proba_.argmax(axis=1)
    row, column = confused_cell(display.confusion_matrix_)
    click_cell(display, row, column)
    expected = np.flatnonzero((y == row) & (predicted == column))
    np.testing.assert_array_equal(display.highlighted_, expected)
    np.testing.assert_allclose(display.ring_.get_offsets(), dmap.embedding_[expected])
    click_cell(display, row, row)  # another cell replaces the highlight
    np.testing.assert_array_equal(
        display.highlighted_, np.flatnonzero((y == row) & (predicted == row))
    )
    click_cell(display, row, row)  # the same cell again clears it
    assert display.highlighted_.size == 0 and display.ring_ is None

    # Clicks on the map do not touch the highlight; after disconnect, nothing does.
    canvas = display.figure_.canvas
    x, y_pixels = display.map_display_.ax_.transData.transform(dmap.embedding_[0])
    canvas.callbacks.process(
        "button_press_event", MouseEvent("button_press_event", canvas, x, y_pixels, 1)
    )
    assert display.highlighted_.size == 0
    display.disconnect()
    click_cell(display, row, column)
    assert display.highlighted_.size == 0


def test_clicks_are_handled_while_only_the_figure_is_kept(fitted):
    dmap, y = fitted
    display = MapConfusionDisplay.from_estimator(dmap)
    row, column = confused_cell(display.confusion_matrix_)
    figure, map_ax = display.figure_, display.map_display_.ax_
    figure.canvas.draw()
    x, y_pixels = display.confusion_display_.ax_.transData.transform((column, row))
    del display
    gc.collect()
    figure.canvas.callbacks.process(
        "button_press_event", MouseEvent("button_press_event", figure.canvas, x, y_pixels, 1)
    )
    ring = map_ax.collections[-1]
    expected = np.flatnonzero((y == row) & (dmap.proba_.argmax(axis=1) == column))
    np.testing.assert_allclose(ring.get_offsets(), dmap.embedding_[expected])


def test_a_map_without_labels_has_no_confusion_matrix(digits, digits_mlp):
    X, _ = digits
    dmap = DecisionMap(digits_mlp, resolution=8, n_neighbors=10, random_state=0).fit(X[:60])
    with pytest.raises(ValueError, match="fit the map with y"):
        MapConfusionDisplay.from_estimator(dmap)


def test_named_classes_are_highlighted_by_name(iris_named):
    X, names, clf = iris_named
    dmap = DecisionMap(clf, n_neighbors=10, resolution=8, random_state=0).fit(X, names)
    display = MapConfusionDisplay.from_estimator(dmap)
    predicted = clf.classes_[dmap.proba_.argmax(axis=1)]
    np.testing.assert_array_equal(display.confusion_matrix_, confusion_matrix(names, predicted))
    ringed = display.highlight("versicolor", "virginica")
    assert ringed.size > 0
    np.testing.assert_array_equal(
        ringed, np.flatnonzero((names == "versicolor") & (predicted == "virginica"))
    )
    row, column = list(clf.classes_).index("virginica"), list(clf.classes_).index("versicolor")
    click_cell(display, row, column)
    np.testing.assert_array_equal(
        display.highlighted_, np.flatnonzero((names == "virginica") & (predicted == "versicolor"))
    )
    assert display.highlighted_.size == display.confusion_matrix_[row, column] > 0


@pytest.fixture(scope="module")
def iris_named():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    # A weak model (strong regularisation) so that versicolor and virginica mix.
    return X, names, LogisticRegression(C=0.02, max_iter=1000).fit(X, names)
