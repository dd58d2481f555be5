"""find_label_issues: confident learning against cleanlab, and the DiDi neighbours' vote."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from didi import DecisionMap, find_label_issues
from didi.introspection._label_issues import confident_learning_issues, confident_thresholds


def test_confident_joint_by_hand():
    labels = np.array([0, 0, 1, 1, 1])
    proba = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.4, 0.6], [0.85, 0.15]])
    # Thresholds: class 0 over samples labelled 0 → 0.8; class 1 over those labelled 1
    # → (0.8 + 0.6 + 0.15) / 3.
    np.testing.assert_allclose(confident_thresholds(labels, proba), [0.8, 1.55 / 3])
    # Sample 4 (labelled 1) is confidently class 0; sample 1 is confident in nothing.
    np.testing.assert_array_equal(
        confident_learning_issues(labels, proba), [False, False, False, False, True]
    )
    issues, quality = find_label_issues(labels, proba, return_scores=True)
    np.testing.assert_array_equal(issues, [4])
    np.testing.assert_allclose(quality, proba[np.arange(5), labels])


@pytest.fixture(scope="module")
def noisy_digits(digits):
    X, y = digits
    X, y = X[:600], y[:600].copy()
    rng = np.random.default_rng(0)
    flipped = rng.choice(600, size=24, replace=False)
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, 10, size=24)) % 10
    proba = cross_val_predict(
        LogisticRegression(max_iter=3000), X, noisy, cv=5, method="predict_proba"
    )
    return X, noisy, flipped, proba


def test_a_sample_predicted_as_labelled_is_no_issue():
    # Sample 2 is confidently class 1 (0.35 reaches class 1's threshold 0.3), but its
    # most probable class is still its label 0.
    labels = np.array([0, 0, 0, 1, 1, 1])
    proba = np.array([[0.95, 0.05], [0.95, 0.05], [0.65, 0.35], [0.7, 0.3], [0.7, 0.3], [0.7, 0.3]])
    assert not confident_learning_issues(labels, proba)[2]


def test_the_same_issues_as_cleanlab_on_random_probabilities():
    cleanlab = pytest.importorskip("cleanlab.filter")
    rng = np.random.default_rng(3)
    for _ in range(20):
        labels = rng.integers(0, 4, 300)
        proba = rng.dirichlet(np.ones(4) * 0.7, size=300)
        theirs = cleanlab.find_label_issues(labels, proba, filter_by="confident_learning")
        np.testing.assert_array_equal(confident_learning_issues(labels, proba), theirs)


def test_the_same_issues_as_cleanlab(noisy_digits):
    cleanlab = pytest.importorskip("cleanlab.filter")
    _, noisy, _, proba = noisy_digits
    theirs = cleanlab.find_label_issues(noisy, proba, filter_by="confident_learning")
    np.testing.assert_array_equal(confident_learning_issues(noisy, proba), theirs)
    ours = find_label_issues(noisy, proba, method="cleanlab")
    np.testing.assert_array_equal(
        np.sort(ours), np.flatnonzero(cleanlab.find_label_issues(noisy, proba))
    )


def test_flipped_labels_are_found_and_ranked_first(noisy_digits):
    _, noisy, flipped, proba = noisy_digits
    issues = find_label_issues(noisy, proba)
    assert np.isin(flipped, issues).mean() >= 0.9
    self_confidence = proba[issues, noisy[issues]]
    assert np.all(np.diff(self_confidence) >= 0)


def test_didi_neighbours_vote(noisy_digits, digits):
    X, noisy, flipped, proba = noisy_digits
    clean_model = LogisticRegression(max_iter=3000).fit(digits[0][600:], digits[1][600:])
    dmap = DecisionMap(clean_model, n_neighbors=15, resolution=8, random_state=0).fit(X, noisy)
    alone = find_label_issues(noisy, proba)
    issues, quality = find_label_issues(noisy, proba, decision_map=dmap, return_scores=True)
    assert set(alone) <= set(issues)
    neighbours = dmap.projection_.metric_.knn_indices_[:, :10]
    agreement = (noisy[neighbours] == noisy[:, None]).mean(axis=1)
    expected = (proba[np.arange(600), noisy] + agreement) / 2
    np.testing.assert_allclose(quality, expected)
    assert np.isin(flipped, issues).mean() >= np.isin(flipped, alone).mean()
    np.testing.assert_array_equal(issues, issues[np.argsort(quality[issues], kind="stable")])


def test_refusals(noisy_digits):
    _, noisy, _, proba = noisy_digits
    with pytest.raises(ValueError, match="not among the classifier's classes"):
        find_label_issues(noisy + 20, proba)
    with pytest.raises(ValueError, match="600 labels for 5 rows"):
        find_label_issues(noisy, proba[:5])
    with pytest.raises(ValueError, match="columns for 3 classes"):
        find_label_issues(noisy, proba, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="method"):
        find_label_issues(noisy, proba, method="vote")
