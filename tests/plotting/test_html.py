"""The self-contained web page: its data, its escaping, and the page in a real browser."""

import json
import re
import shutil

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
    assert len(data["points"]["x"]) == 120 and len(data["probes"]["x"]) == 25
    np.testing.assert_allclose(data["points"]["x"], digits_map.embedding_[:, 0], atol=1e-6)
    assert data["classes"] == [str(c) for c in digits_map.classes_]
    assert data["points"]["predicted"] == digits_map.proba_.argmax(1).tolist()
    assert all(
        view["image"].startswith("data:image/png;base64,") for view in data["points"]["views"]
    )
    found = digits_map.probe(np.c_[data["probes"]["x"], data["probes"]["y"]])
    assert data["probes"]["labels"] == [str(v) for v in found.labels]
    assert data["background"].startswith("data:image/png;base64,")


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


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("no Chromium on this machine")
    with sync_api.sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=executable,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run"],
            )  # fmt: skip
        except Exception as exc:  # a browser that cannot start here is a skip, not a failure
            pytest.skip(f"Chromium does not start: {exc}")
        yield launched
        launched.close()


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
    assert data["scores"]["q_not_data"] is None
    assert "@DATA@" in data["classes"]
