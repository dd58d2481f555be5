"""The web page's confusion matrix: its counts per frame, and the samples a cell rings."""

import copy

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from didi import DecisionMap

HOSTILE = "</script><script>alert(1)</script>"


@pytest.fixture(scope="module")
def labelled_map(digits, digits_mlp):
    X, y = digits
    return DecisionMap(digits_mlp, resolution=12, n_neighbors=10, random_state=0).fit(
        X[:120], y[:120]
    )


def open_page(browser, path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append("dialog: " + dialog.message))
    page.goto(path.as_uri())
    page.wait_for_function("window.didi !== undefined")
    return page, errors


def table_counts(page):
    rows = page.locator("#confusion-table tbody tr")
    return [
        [int(text) for text in rows.nth(r).locator("td").all_inner_texts()]
        for r in range(rows.count())
    ]


def cell(page, row, column):
    return page.locator("#confusion-table tbody tr").nth(row).locator("td button").nth(column)


def sklearn_matrix(dmap, proba):
    return confusion_matrix(dmap.y_, dmap.classes_[proba.argmax(axis=1)], labels=dmap.classes_)


def fullest_confusion(matrix):
    off = np.where(np.eye(len(matrix), dtype=bool), -1, matrix)
    return np.unravel_index(off.argmax(), matrix.shape)


def page_extent(page):
    return page.evaluate("JSON.parse(document.getElementById('didi-data').textContent).extent")


def wait_for_background(page):
    """The background image is drawn once loaded; the empty canvas reads as black."""
    x0, x1, y0, y1 = page_extent(page)
    x, y = x0 + 0.02 * (x1 - x0), y0 + 0.02 * (y1 - y0)  # inside the canvas's corner
    page.wait_for_function(f"window.didi.canvasPixel({x}, {y}).some((v) => v > 0)")


def ring_pixel(page, dmap, i):
    """The canvas pixel on the highlight's ring, 8 pixels right of point ``i``."""
    x0, x1 = page_extent(page)[:2]
    width = page.evaluate("document.getElementById('map').width")
    x, y = dmap.embedding_[i] + [8 * (x1 - x0) / width, 0]
    return np.array(page.evaluate(f"window.didi.canvasPixel({x}, {y})"))


def test_the_table_is_the_maps_confusion_matrix(labelled_map, browser, tmp_path):
    dmap = labelled_map
    page, errors = open_page(browser, dmap.to_html(tmp_path / "map.html", image_shape=(8, 8)))
    expected = sklearn_matrix(dmap, dmap.proba_)
    assert (expected - np.diag(np.diag(expected))).sum() > 0, "the test needs confusions"
    assert page.locator("#confusion").is_visible()
    assert table_counts(page) == expected.tolist()
    assert page.evaluate("window.didi.confusion()") == expected.tolist()
    names = [str(c) for c in dmap.classes_]
    assert page.locator("#confusion-table th[scope=col]").all_inner_texts() == names
    assert page.locator("#confusion-table th[scope=row]").all_inner_texts() == names
    assert errors == []
    page.close()


def test_clicking_a_cell_rings_its_samples_and_again_clears_them(labelled_map, browser, tmp_path):
    dmap = labelled_map
    page, errors = open_page(browser, dmap.to_html(tmp_path / "map.html"))
    predicted = dmap.proba_.argmax(axis=1)
    row, column = fullest_confusion(sklearn_matrix(dmap, dmap.proba_))
    expected = np.flatnonzero((dmap.y_ == dmap.classes_[row]) & (predicted == column))
    assert len(expected) > 1
    wait_for_background(page)
    before = {i: ring_pixel(page, dmap, i) for i in expected}
    # The point whose ring lands on the brightest pixel: the ring is dark.
    shown = max(expected, key=lambda i: before[i].sum())
    assert page.locator("#highlight-clear").is_disabled()

    cell(page, row, column).click()
    assert page.evaluate("window.didi.highlighted()") == expected.tolist()
    assert cell(page, row, column).get_attribute("aria-pressed") == "true"
    assert cell(page, row, row).get_attribute("aria-pressed") == "false"
    ringed = ring_pixel(page, dmap, shown)
    assert np.abs(ringed - before[shown]).max() > 60 and ringed.max() < 80

    cell(page, row, column).click()  # the same cell again: nothing ringed
    assert page.evaluate("window.didi.highlighted()") == []
    assert cell(page, row, column).get_attribute("aria-pressed") == "false"
    np.testing.assert_array_equal(ring_pixel(page, dmap, shown), before[shown])

    cell(page, row, row).click()  # another cell, then the clear button
    diagonal = np.flatnonzero((dmap.y_ == dmap.classes_[row]) & (predicted == row))
    assert page.evaluate("window.didi.highlighted()") == diagonal.tolist()
    page.locator("#highlight-clear").click()
    assert page.evaluate("window.didi.highlighted()") == []
    assert cell(page, row, row).get_attribute("aria-pressed") == "false"
    assert page.locator("#highlight-clear").is_disabled()

    # Another view of the page may ring samples too: the cell is no longer picked.
    cell(page, row, column).click()
    page.evaluate("window.didi.highlight([0, 1], 'report')")
    assert page.evaluate("window.didi.highlighted()") == [0, 1]
    assert cell(page, row, column).get_attribute("aria-pressed") == "false"
    assert page.locator("#highlight-clear").is_enabled()
    assert errors == []
    page.close()


def test_a_page_without_labels_has_no_table(digits, digits_mlp, browser, tmp_path):
    X, _ = digits
    dmap = DecisionMap(digits_mlp, resolution=8, n_neighbors=10, random_state=0).fit(X[:60])
    page, errors = open_page(browser, dmap.to_html(tmp_path / "map.html"))
    assert not page.locator("#confusion").is_visible()
    assert page.locator("#confusion-table td").count() == 0
    assert page.evaluate("window.didi.confusion()") is None
    assert page.evaluate("window.didi.highlighted()") == []
    assert errors == []
    page.close()


def test_class_names_are_text_in_the_table(browser, tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    names = np.array([HOSTILE, "a & b", "<i>plain</i>"])[y]
    clf = LogisticRegression(C=0.02, max_iter=1000).fit(X, names)
    dmap = DecisionMap(clf, n_neighbors=10, resolution=6, random_state=0).fit(X, names)
    page, errors = open_page(browser, dmap.to_html(tmp_path / "map.html"))
    classes = [str(c) for c in clf.classes_]
    assert page.locator("#confusion-table th[scope=col]").all_inner_texts() == classes
    assert page.locator("#confusion-table th[scope=row]").all_inner_texts() == classes
    assert page.locator("#confusion-table i").count() == 0
    assert table_counts(page) == sklearn_matrix(dmap, dmap.proba_).tolist()
    assert errors == []
    page.close()


def test_the_sequence_page_recomputes_the_matrix_per_frame(digits, browser, tmp_path):
    from sklearn.neural_network import MLPClassifier

    from didi import DecisionMapSequence

    X, y = digits
    X = X / 16
    model, checkpoints = MLPClassifier(hidden_layer_sizes=(16,), random_state=0), {}
    for epoch in (1, 2, 3):
        model.partial_fit(X[300:], y[300:], classes=np.arange(10))
        if epoch != 2:
            checkpoints[f"epoch {epoch}"] = copy.deepcopy(model)
    seq = DecisionMapSequence(checkpoints, n_neighbors=10, resolution=8, random_state=0)
    path = seq.fit(X[:80], y[:80]).to_html(tmp_path / "seq.html")
    first, second = (sklearn_matrix(dmap, dmap.proba_) for dmap in seq.maps_)
    assert (first != second).any(), "the test needs predictions that change"
    page, errors = open_page(browser, path)
    assert table_counts(page) == first.tolist()
    # Pick a cell whose samples change between the frames.
    row, column = np.argwhere(first != second)[0]
    cell(page, row, column).click()
    predicted = [dmap.proba_.argmax(axis=1) for dmap in seq.maps_]
    assert page.evaluate("window.didi.highlighted()") == (
        np.flatnonzero((y[:80] == row) & (predicted[0] == column)).tolist()
    )
    page.locator("#frame").fill("1")
    assert table_counts(page) == second.tolist()
    assert page.evaluate("window.didi.confusion()") == second.tolist()
    # The picked cell stays picked and rings the samples predicted so in this frame.
    assert cell(page, row, column).get_attribute("aria-pressed") == "true"
    assert page.evaluate("window.didi.highlighted()") == (
        np.flatnonzero((y[:80] == row) & (predicted[1] == column)).tolist()
    )
    assert errors == []
    page.close()
