"""What the introspection estimators found, on the map and on the page."""

import re

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from didi import DecisionMap, DecisionMapDisplay, Familiarity, NearDuplicates
from didi.plotting._findings import Findings


@pytest.fixture(scope="module")
def mapped(digits):
    X, y = digits
    X = np.vstack([X[:150], X[:3]]).astype(float)  # three exact copies
    y = np.concatenate([y[:150], y[:3]])
    y_noisy = y.copy()
    y_noisy[[20, 40]] = (y[[20, 40]] + 1) % 10
    clf = LogisticRegression(max_iter=3000).fit(digits[0][300:], digits[1][300:])
    dmap = DecisionMap(clf, n_neighbors=10, resolution=10, random_state=0).fit(X, y_noisy)
    familiarity = Familiarity(clf, random_state=0).fit(X)
    duplicates = NearDuplicates().fit(X)
    return dmap, familiarity, duplicates, np.array([20, 40])


def test_findings_collect_what_the_estimators_found(mapped):
    _, familiarity, duplicates, issues = mapped
    found = Findings.collect(
        153, familiarity=familiarity, duplicates=duplicates, label_issues=issues
    )
    np.testing.assert_array_equal(
        found.unfamiliar, np.flatnonzero(familiarity.familiarity_ < familiarity.offset_)
    )
    assert [list(s) for s in found.duplicate_sets] == [
        list(np.flatnonzero(duplicates.labels_ == k)) for k in range(len(duplicates.sets_))
    ]
    assert any(set(s) == {0, 150} for s in found.duplicate_sets)
    assert Findings.collect(153) is None
    with pytest.raises(ValueError, match="outside the 153"):
        Findings.collect(153, label_issues=[200])
    with pytest.raises(ValueError, match="fitted on 10 samples"):
        Findings.collect(153, familiarity=Familiarity(responses="samples").fit(np.eye(10)))
    with pytest.raises(ValueError, match="cover 5 samples"):
        Findings.collect(153, duplicates=np.zeros(5))


def test_the_display_marks_each_finding(mapped):
    dmap, familiarity, duplicates, issues = mapped
    display = DecisionMapDisplay.from_estimator(
        dmap, familiarity=familiarity, duplicates=duplicates, label_issues=issues
    )
    marks = display.findings_
    unfamiliar = np.flatnonzero(familiarity.familiarity_ < familiarity.offset_)
    np.testing.assert_allclose(marks["unfamiliar"].get_offsets(), dmap.embedding_[unfamiliar])
    np.testing.assert_allclose(marks["label_issues"].get_offsets(), dmap.embedding_[issues])
    segments = marks["duplicates"].get_segments()
    assert len(segments) == sum(len(s.indices) - 1 for s in duplicates.sets_)
    first = duplicates.sets_[0].indices
    np.testing.assert_allclose(segments[0], dmap.embedding_[[first[0], first[1]]])
    labels = [text.get_text() for text in display.ax_.get_legend().get_texts()]
    assert {"unfamiliar", "near-duplicates", "label issue"} <= set(labels)
    plain = DecisionMapDisplay.from_estimator(dmap)
    assert plain.findings_ == {}


def test_the_page_marks_them_with_switches(mapped, tmp_path, browser):
    dmap, familiarity, duplicates, issues = mapped
    path = dmap.to_html(
        tmp_path / "map.html", familiarity=familiarity, duplicates=duplicates, label_issues=issues
    )
    text = path.read_text(encoding="utf-8")
    data = re.search(r'id="didi-data">(.*?)</script>', text, re.S).group(1)
    assert '"issues":[20,40]' in data
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    page.wait_for_function("window.didi !== undefined")
    assert page.locator("#findings").is_visible()
    page.locator("#show-issues").uncheck()
    assert page.evaluate("window.didi.shown.issues") is False
    x, y = page.evaluate("window.didi.pointOnPage(150)")
    page.mouse.move(x, y)
    tooltip = page.locator("#tooltip").inner_text()
    hovered = page.evaluate("window.didi.hovered")
    twins = next(s.indices for s in duplicates.sets_ if hovered in s.indices)
    assert "twins: " + ", ".join(f"#{j}" for j in twins if j != hovered) in tooltip
    assert errors == []
    page.close()
    plain = dmap.to_html(tmp_path / "plain.html").read_text(encoding="utf-8")
    assert '"findings":null' in plain
