"""The self-contained web page: its data, its escaping, and the page in a real browser."""

import copy
import json
import re

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from didi import DecisionMap

HOSTILE = "</script><script>alert(1)</script>"


@pytest.fixture(scope="module")
def digits_map(digits, digits_mlp):
    X, y = digits
    return DecisionMap(digits_mlp, resolution=20, random_state=0).fit(X[:120], y[:120])


def embedded_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="didi-data">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def test_page_is_self_contained_and_holds_the_map(digits_map, tmp_path):
    path = digits_map.to_html(tmp_path / "map.html", image_shape=(8, 8), probe_resolution=5)
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
    assert "http://" not in page and "https://" not in page and "<link" not in page
    data = embedded_data(page)
    (frame,) = data["frames"]
    assert len(frame["x"]) == 120 and len(frame["probes"]["x"]) == 25
    np.testing.assert_allclose(frame["x"], digits_map.embedding_[:, 0], atol=1e-6)
    assert data["classes"] == [str(c) for c in digits_map.classes_]
    assert frame["predicted"] == digits_map.proba_.argmax(1).tolist()
    assert all(
        view["image"].startswith("data:image/png;base64,") for view in data["points"]["views"]
    )
    found = digits_map.probe(np.c_[frame["probes"]["x"], frame["probes"]["y"]])
    assert frame["probes"]["labels"] == [str(v) for v in found.labels]
    assert frame["background"].startswith("data:image/png;base64,")


def test_text_from_the_data_is_escaped(iris_like, tmp_path):
    X, labels = iris_like
    clf = LogisticRegression(max_iter=1000).fit(X, labels)
    dmap = DecisionMap(clf, n_neighbors=10, resolution=8, random_state=0).fit(X, labels)
    page = dmap.to_html(tmp_path / "map.html", title="<b>mine</b> & co").read_text()
    assert HOSTILE not in page and "<b>mine</b>" not in page
    assert "&lt;b&gt;mine&lt;/b&gt; &amp; co" in page
    data = embedded_data(page)
    assert HOSTILE in data["classes"] and HOSTILE in data["points"]["labels"]
    # Tabular samples are shown as values.
    assert data["points"]["views"][0]["values"] == pytest.approx(list(X[0]), rel=1e-3)


@pytest.fixture(scope="module")
def iris_like():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    return X, np.array([HOSTILE, "a & b", "plain"])[y]


def test_page_in_a_real_browser(digits_map, browser, tmp_path):
    path = digits_map.to_html(tmp_path / "map.html", image_shape=(8, 8))
    page = browser.new_page()
    errors, requests = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    page.wait_for_function("window.didi !== undefined")

    # Hover a point: the tooltip names it, its labels and certainty, with a thumbnail.
    x, y = page.evaluate("window.didi.pointOnPage(5)")
    page.mouse.move(x, y)
    tooltip = page.locator("#tooltip")
    tooltip.wait_for(state="visible")
    text = tooltip.inner_text()
    predicted = digits_map.classes_[digits_map.proba_[5].argmax()]
    assert "#5" in text and f"true: {digits_map.y_[5]}" in text
    assert f"predicted: {predicted}" in text and "certainty" in text
    assert tooltip.locator("img").count() == 1

    # Click a point, then the background: the panel shows the sample, then π⁻¹.
    page.mouse.click(x, y)
    assert page.locator("#panel-title").inner_text() == "Sample #5"
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + 3, box["y"] + 3)
    page.mouse.click(box["x"] + 3, box["y"] + 3)
    assert page.locator("#panel-title").inner_text().startswith("π⁻¹ near")
    assert page.locator("#panel-body img").count() == 1

    # The wheel zooms, a drag pans.
    page.mouse.move(box["x"] + 200, box["y"] + 200)
    page.mouse.wheel(0, -300)
    assert page.evaluate("window.didi.view.scale") > 1
    page.mouse.down()
    page.mouse.move(box["x"] + 260, box["y"] + 240, steps=4)
    page.mouse.up()
    assert page.evaluate("window.didi.view.tx") != 0

    shot = page.screenshot(path=str(tmp_path / "page.png"))
    assert shot.startswith(b"\x89PNG") and len(shot) > 10_000
    assert errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests)
    page.close()


def test_missing_scores_and_placeholders_keep_the_page_valid(iris_like, tmp_path):
    X, labels = iris_like
    labels = np.where(labels == "plain", "@DATA@", labels)
    clf = LogisticRegression(max_iter=1000).fit(X, labels)
    dmap = DecisionMap(clf, n_neighbors=10, resolution=6, holdout=0, random_state=0)
    page = dmap.fit(X, labels).to_html(tmp_path / "map.html", title="A @SCRIPT@ B").read_text()
    assert '<h1 id="title">A @SCRIPT@ B</h1>' in page
    data = embedded_data(page)  # JSON has no NaN: a missing score is null
    assert data["frames"][0]["scores"]["q_not_data"] is None
    assert "@DATA@" in data["classes"]


def test_sequence_page_switches_checkpoints_with_its_slider(digits, browser, tmp_path):
    from sklearn.neural_network import MLPClassifier

    from didi import DecisionMapSequence

    X, y = digits
    X = X / 16
    model, checkpoints = MLPClassifier(hidden_layer_sizes=(16,), random_state=0), {}
    for epoch in (1, 2):
        model.partial_fit(X[300:], y[300:], classes=np.arange(10))
        checkpoints[f"epoch {epoch} <b>"] = copy.deepcopy(model)
    seq = DecisionMapSequence(checkpoints, n_neighbors=10, resolution=10, random_state=0)
    path = seq.fit(X[:80], y[:80]).to_html(tmp_path / "seq.html", image_shape=(8, 8))
    data = embedded_data(path.read_text(encoding="utf-8"))
    assert [frame["name"] for frame in data["frames"]] == list(checkpoints)
    for frame, dmap in zip(data["frames"], seq.maps_, strict=True):
        np.testing.assert_allclose(frame["y"], dmap.embedding_[:, 1], atol=1e-6)
        low, high = data["extent"][0], data["extent"][1]
        assert low <= frame["extent"][0] and frame["extent"][1] <= high

    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    page.wait_for_function("window.didi !== undefined")
    assert page.locator("#frames").is_visible()
    assert page.locator("#frame-name").inner_text() == "epoch 1 <b>"
    before = page.evaluate("window.didi.pointOnPage(3)")
    page.mouse.click(*before)
    assert page.locator("#panel-title").inner_text() == "Sample #3"
    page.locator("#frame").fill("1")
    assert page.locator("#panel-title").inner_text() == "Click a point or the map"
    assert page.locator("#frame-name").inner_text() == "epoch 2 <b>"
    after = page.evaluate("window.didi.pointOnPage(3)")
    moved = np.subtract(after, before)
    expected = seq.embeddings_[1, 3] - seq.embeddings_[0, 3]
    width = data["extent"][1] - data["extent"][0]
    box = page.locator("#map").bounding_box()
    np.testing.assert_allclose(moved[0], expected[0] / width * box["width"], atol=0.5)
    page.mouse.move(*after)
    assert "predicted: " + str(seq.maps_[1].classes_[seq.proba_[1, 3].argmax()]) in (
        page.locator("#tooltip").inner_text()
    )
    assert errors == []
    page.close()


def test_a_single_map_page_has_no_slider(digits_map, browser, tmp_path):
    path = digits_map.to_html(tmp_path / "map.html")
    page = browser.new_page()
    page.goto(path.as_uri())
    page.wait_for_function("window.didi !== undefined")
    assert not page.locator("#frames").is_visible()
    page.close()


def test_the_page_switches_the_background_between_layers(digits, digits_mlp, browser, tmp_path):
    from didi.plotting._decision_map_display import background_image, class_colors, layer_rgb

    X, y = digits
    dmap = DecisionMap(digits_mlp, resolution=12, n_neighbors=10, random_state=0)
    dmap.fit(X[:60], y[:60]).compute_layers("stability", max_round_trips=3)
    data = embedded_data(dmap.to_html(tmp_path / "map.html").read_text(encoding="utf-8"))
    assert set(data["frames"][0]["layers"]) == {"gradient", "consistency", "stability"}
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((tmp_path / "map.html").as_uri())
    page.wait_for_function("window.didi !== undefined")
    options = page.locator("#layer option").all_inner_texts()
    assert options == ["predicted class", "gradient", "consistency", "stability"]
    # The cell farthest from every point shows its background, unhidden by points.
    cells = np.stack(np.meshgrid(dmap.grid_x_, dmap.grid_y_), -1).reshape(-1, 2)
    distance = np.linalg.norm(cells[:, None] - dmap.embedding_[None], axis=-1).min(axis=1)
    row, col = np.unravel_index(distance.argmax(), dmap.grid_labels_.shape)
    x, y = dmap.grid_x_[col], dmap.grid_y_[row]
    classes = background_image(dmap.grid_labels_, dmap.grid_entropy_, class_colors(10))
    shown = page.evaluate(f"window.didi.canvasPixel({x}, {y})")
    np.testing.assert_allclose(shown, 255 * classes[row, col], atol=2)
    assert not page.locator("#layer-scale").is_visible()
    page.select_option("#layer", "stability")
    rgb, legend = layer_rgb("stability", dmap.grid_stability_)
    shown = page.evaluate(f"window.didi.canvasPixel({x}, {y})")
    np.testing.assert_allclose(shown, 255 * rgb[row, col], atol=2)
    assert page.locator("#layer-label").inner_text() == legend["label"]
    # The ends of the scale are the counts themselves, not the bins' edges.
    assert page.locator("#layer-low").inner_text() == "0"
    assert page.locator("#layer-high").inner_text() == str(dmap.grid_stability_.max())
    scores = page.locator("#scores").inner_text()
    assert f"class_stability {dmap.scores_['class_stability']:.2f}" in scores
    assert f"gradient {dmap.scores_['gradient']:.2f}" in scores
    page.select_option("#layer", "class")
    assert not page.locator("#layer-scale").is_visible()
    assert errors == []
    page.close()
