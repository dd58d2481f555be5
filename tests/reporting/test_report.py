"""didi.report: every stage against its estimator run directly, the page in Chromium."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import didi
from didi import DecisionMap, Familiarity, NearDuplicates, find_label_issues

MAP = {"resolution": 30}
N_COPIES = 4
FLIPPED = np.arange(10, 16)


def page_data(path: Path) -> dict:
    """The JSON the page reads, from its script element."""
    text = path.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="didi-data">(.*?)</script>', text, re.S)
    return json.loads(found[1])


@pytest.fixture(scope="module")
def faulty_digits(digits):
    """200 held-out digits with 4 exact copies appended and 6 labels shifted by one."""
    X, y = digits
    clf = LogisticRegression(max_iter=3000).fit(X[300:] / 16, y[300:])
    samples = np.vstack([X[:200], X[:N_COPIES]]) / 16
    labels = np.concatenate([y[:200], y[:N_COPIES]])
    labels[FLIPPED] = (labels[FLIPPED] + 1) % 10
    return clf, samples, labels


@pytest.fixture(scope="module")
def written(faulty_digits, tmp_path_factory):
    clf, X, y = faulty_digits
    out = tmp_path_factory.mktemp("report")
    page = didi.report(clf, X, y, output_dir=out, image_shape=(8, 8), map_params=MAP,
                       layers=("consistency",), progress=False)  # fmt: skip
    return page, json.loads((out / "report.json").read_text())


def test_every_stage_equals_its_estimator_run_directly(faulty_digits, written):
    clf, X, y = faulty_digits
    page, figures = written
    assert page.name == "index.html"
    dmap = DecisionMap(clf, random_state=0, **MAP).fit(X, y)
    issues = find_label_issues(y, dmap.proba_, decision_map=dmap)
    assert figures["label_issues"] == issues.tolist()
    assert len(set(FLIPPED) & set(issues)) >= 4
    familiar = Familiarity(clf, per_class=True, random_state=0).fit(X, y)
    assert figures["unfamiliar"] == np.flatnonzero(familiar.predict(X, y) == -1).tolist()
    sets = NearDuplicates(clf, space="proba", random_state=0).fit(X).sets_
    assert figures["duplicate_sets"] == [s.indices.tolist() for s in sets]
    for i in range(N_COPIES):  # each copy sits in a set with its original
        assert any({i, 200 + i} <= set(members) for members in figures["duplicate_sets"])
    assert figures["scores"]["cons_p"] is not None
    assert figures["scores"]["q_knn"] == pytest.approx(dmap.scores_["q_knn"])


def test_the_page_holds_the_saliency_of_every_sample_and_probe(faulty_digits, written):
    from didi.saliency import saliency

    clf, X, _ = faulty_digits
    data = page_data(written[0])
    found = data["report"]["saliency"]
    assert found["method"] == "finite_difference"  # no gradients, 64 features: affordable
    assert len(found["samples"]) == len(X)
    assert len(found["probes"]) == len(data["frames"][0]["probes"]["x"])
    direct = saliency(clf, X[:3], method="finite_difference")
    for k in range(3):
        view = found["samples"][k]
        assert view["target"] == str(direct.target[k])
        assert set(view["images"]) == {"baseline", "saliency", "delta", "overlay"}
        panels = ("baseline_saliency", "saliency", "delta")
        limit = np.abs(np.concatenate([direct[f][k] for f in panels])).max()
        assert view["limit"] == pytest.approx(limit, rel=1e-3)
        assert view["overlay_limit"] == pytest.approx(np.abs(direct.overlay[k]).max(), rel=1e-3)
    assert "units" in data["report"] and "note" in data["report"]["units"]


def test_bad_options_are_refused_before_any_work(faulty_digits, tmp_path):
    clf, X, y = faulty_digits
    with pytest.raises(ValueError, match="layers must be"):
        didi.report(clf, X, y, output_dir=tmp_path, layers=("curvature",))
    with pytest.raises(ValueError, match="y has 3 labels for 204 samples"):
        didi.report(clf, X, y[:3], output_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    errors, requests = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    return page, errors, requests


def test_selecting_a_sample_anywhere_shows_it_everywhere(browser, written):
    path, figures = written
    data = page_data(path)
    page, errors, requests = _open(browser, path)
    least = data["report"]["familiarity"]["least"][0][0]
    page.click(f'#least button[data-index="{least}"]')
    assert page.evaluate("window.didi.highlighted()") == [least]
    assert page.text_content("#panel-title") == f"Sample #{least}"
    assert page.locator("#panel-saliency img").count() == 4
    assert page.text_content("#panel-saliency h3") == f"Saliency of #{least}"
    # Every list that holds the sample marks it, and only it.
    marked = page.eval_on_selector_all(
        "#report .selected", "nodes => nodes.map(n => n.dataset.index)"
    )
    assert marked and set(marked) == {str(least)}
    issue = figures["label_issues"][0]
    page.click(f'#issues tr[data-index="{issue}"]')
    assert page.evaluate("window.didi.highlighted()") == [issue]
    assert "selected" in page.get_attribute(f'#issues tr[data-index="{issue}"]', "class")
    twin = figures["duplicate_sets"][0][-1]
    page.click(f'#duplicates button[data-index="{twin}"]')
    assert page.evaluate("window.didi.highlighted()") == [twin]
    # A click on the map's point selects it too, and the lists follow.
    page.evaluate("window.scrollTo(0, 0)")
    x, y = page.evaluate(f"window.didi.pointOnPage({least})")
    page.mouse.click(x, y)
    assert page.evaluate("window.didi.highlighted()") == [least]
    assert page.locator(f'#least button[data-index="{least}"].selected').count() == 1
    assert not errors
    assert [url for url in requests if not url.startswith("data:") and url != path.as_uri()] == []


def test_confusion_cells_layers_and_the_background(browser, written):
    path, _ = written
    data = page_data(path)
    page, errors, _ = _open(browser, path)
    true = np.array(data["points"]["true"])
    predicted = np.array(data["frames"][0]["predicted"])
    row, column = next((t, p) for t, p in zip(true, predicted, strict=True) if t != p)
    page.click("#least button")  # a sample selected first ...
    assert page.locator("#report .selected").count() >= 1
    cell = page.locator("#confusion-table tbody tr").nth(row).locator("td button").nth(column)
    cell.click()
    expected = np.flatnonzero((true == row) & (predicted == column)).tolist()
    assert sorted(page.evaluate("window.didi.highlighted()")) == expected
    # ... is no longer the selection once a cell rings its samples.
    assert page.locator("#report .selected").count() == 0
    assert page.locator("#panel-saliency *").count() == 0
    for value in page.eval_on_selector_all("#layer option", "o => o.map(x => x.value)"):
        page.select_option("#layer", value)
    box = page.locator("#map").bounding_box()
    # The corner of the map: far from the points, so the click shows π⁻¹ there.
    page.mouse.click(box["x"] + 3, box["y"] + 3)
    assert page.text_content("#panel-title").startswith("π⁻¹ near")
    assert page.text_content("#panel-saliency h3") == "Saliency of π⁻¹ here"
    assert page.locator("#report .selected").count() == 0
    assert page.evaluate("window.didi.highlighted()") == []  # no ring beside a position
    for section in ("familiarity", "duplicates", "issues", "units"):
        assert page.is_visible(f"#{section}-section")
    assert not errors


def test_data_text_stays_text(browser, digits, tmp_path):
    X, y = digits
    names = np.array(["<img src=x onerror=alert(1)>", "<b>one</b>", "two & three"])
    keep = y < 3
    clf = LogisticRegression(max_iter=3000).fit(X[keep][100:] / 16, names[y[keep][100:]])
    path = didi.report(clf, X[keep][:60] / 16, names[y[keep][:60]], output_dir=tmp_path,
                       map_params={"resolution": 10}, layers=(), progress=False)  # fmt: skip
    page, errors, _ = _open(browser, path)
    dialogs = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    assert page.locator("img[src='x'], b").count() == 0
    assert names[0] in page.text_content("#summary")
    assert not dialogs and not errors


def test_ordinary_awkward_inputs(digits, tmp_path):
    X, y = digits
    clf = LogisticRegression(max_iter=3000).fit(X[300:] / 16, y[300:])
    samples, labels = X[:40] / 16, y[:40].copy()
    labels[labels == 7] = 8
    labels[0] = 7  # a class with one sample: familiarity cannot model it per class
    page = didi.report(clf, samples, labels, output_dir=tmp_path / "a", layers=(),
                       map_params={"resolution": 8}, progress=False)  # fmt: skip
    assert page_data(page)["report"]["familiarity"]["per_class"] is False
    # Tabular samples (no image_shape), no labels, few samples: bars, no issues section.
    page = didi.report(clf, samples[:15], output_dir=tmp_path / "b", layers=(),
                       map_params={"resolution": 8}, progress=False)  # fmt: skip
    report = page_data(page)["report"]
    assert "issues" not in report and len(report["saliency"]["samples"][0]["bars"]) == 10
    with pytest.raises(ValueError, match=r"image_shape=\(3, 3\) holds 9 values"):
        didi.report(clf, samples, output_dir=tmp_path / "c", image_shape=(3, 3))
    with pytest.raises(ValueError, match="feature_names has 2 names for 64"):
        didi.report(clf, samples, output_dir=tmp_path / "c", feature_names=["a", "b"])
    assert not (tmp_path / "c").exists()


def test_integer_targets_of_a_network_with_named_classes(tmp_path, browser):
    torch = pytest.importorskip("torch")
    from didi.torch import TorchClassifier

    class Block(torch.nn.Module):
        """One ReLU module used twice, as in a ResNet block: it cannot be analysed."""

        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(4, 6), torch.nn.Linear(6, 3)
            self.relu, self.out_relu = torch.nn.ReLU(), torch.nn.ReLU()

        def forward(self, x):
            return self.b(self.out_relu(self.relu(self.relu(self.a(x)))))

    torch.manual_seed(0)
    net = Block()
    clf = TorchClassifier(net, classes=["a", "b", "c"])
    X = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    y = clf.predict_proba(X).argmax(axis=1)  # integer targets, as a network is trained
    page = didi.report(clf, X, y, output_dir=tmp_path, layers=(),
                       map_params={"resolution": 8}, progress=False)  # fmt: skip
    data = page_data(page)["report"]
    assert dict(data["summary"])["accuracy on these samples"] == "100.0%"
    assert data["familiarity"]["per_class"] is True
    assert data["units"]["layers"] == ["out_relu"]
    assert data["units"]["skipped"][0].startswith("relu: ")
    assert data["saliency"]["method"] == "gradient"
    page, errors, _ = _open(browser, page)
    cells = page.eval_on_selector_all("#units td", "cells => cells.map(c => c.textContent)")
    numbers = [float(c) for c in cells if c.replace(".", "", 1).replace("-", "", 1).isdigit()]
    assert numbers and all(len(f"{abs(v):.10g}".replace(".", "").strip("0")) <= 4 for v in numbers)
    assert page.locator("#units img").count() == 2 and not errors
