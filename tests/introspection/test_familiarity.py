"""Familiarity against scikit-learn's Gaussian mixture, and on planted outliers."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from didi import Familiarity

OPTIONS = dict(covariance_type="diag", reg_covar=1e-6, tol=1e-3, max_iter=200, random_state=0)


def test_scores_are_the_mixture_log_density_of_the_probabilities(digits, digits_mlp):
    X, _ = digits
    familiarity = Familiarity(digits_mlp, n_components=3, random_state=0).fit(X[:400])
    proba = digits_mlp.predict_proba(X[:400])
    direct = GaussianMixture(n_components=3, **OPTIONS).fit(proba)
    np.testing.assert_allclose(familiarity.familiarity_, direct.score_samples(proba), rtol=1e-6)
    new = digits_mlp.predict_proba(X[400:450])
    np.testing.assert_allclose(
        familiarity.score_samples(X[400:450]), direct.score_samples(new), rtol=1e-6
    )
    unfamiliar = (familiarity.familiarity_ < familiarity.offset_).mean()
    assert abs(unfamiliar - 0.05) <= 1 / 400
    np.testing.assert_array_equal(
        familiarity.predict(X[:400]),
        np.where(familiarity.familiarity_ < familiarity.offset_, -1, 1),
    )
    np.testing.assert_allclose(
        familiarity.decision_function(X[:5]), familiarity.familiarity_[:5] - familiarity.offset_
    )


def test_per_class_models_score_each_sample_under_its_class(digits, digits_mlp):
    X, y = digits
    X, y = X[:500], y[:500]
    familiarity = Familiarity(digits_mlp, per_class=True, n_components=2, random_state=0)
    familiarity.fit(X, y)
    proba = digits_mlp.predict_proba(X)
    for label in (0, 7):
        mine = y == label
        direct = GaussianMixture(n_components=2, **OPTIONS).fit(proba[mine])
        np.testing.assert_allclose(
            familiarity.familiarity_[mine], direct.score_samples(proba[mine]), rtol=1e-6
        )
    # Without labels, each sample is scored under the class the classifier predicts.
    predicted = digits_mlp.predict(X[:20])
    np.testing.assert_allclose(
        familiarity.score_samples(X[:20]), familiarity.score_samples(X[:20], predicted)
    )
    found = familiarity.representatives(n=3)
    sevens = np.flatnonzero(y == 7)
    order = sevens[np.argsort(-familiarity.familiarity_[sevens], kind="stable")]
    np.testing.assert_array_equal(found.most[7], order[:3])
    np.testing.assert_array_equal(found.least[7], order[::-1][:3])


def test_samples_from_elsewhere_are_the_least_familiar(digits):
    X, _ = digits
    rng = np.random.default_rng(0)
    strangers = rng.uniform(0, 16, size=(5, 64))  # noise images, not digits
    familiarity = Familiarity(responses="samples", n_components=8, random_state=0).fit(X[:400])
    scores = familiarity.score_samples(np.vstack([X[400:600], strangers]))
    assert set(np.argsort(scores)[:5]) == set(range(200, 205))
    assert np.all(familiarity.predict(strangers) == -1)


def test_a_responses_function_is_used_as_given(digits):
    X, _ = digits
    features = Familiarity(responses=lambda s: s[:, :8] * 2.0, n_components=2, random_state=0)
    features.fit(X[:200])
    direct = GaussianMixture(n_components=2, **OPTIONS).fit(X[:200, :8] * 2.0)
    np.testing.assert_allclose(features.familiarity_, direct.score_samples(X[:200, :8] * 2.0))
    assert features.n_responses_ == 8 and features.n_features_in_ == 64


def test_refusals(digits, digits_mlp):
    X, _ = digits
    with pytest.raises(ValueError, match="needs the classifier"):
        Familiarity().fit(X[:50])
    with pytest.raises(ValueError, match="labels y or the classifier"):
        Familiarity(responses="samples", per_class=True).fit(X[:50])
    with pytest.raises(ValueError, match="contamination"):
        Familiarity(digits_mlp, contamination=0.7).fit(X[:50])
    fitted = Familiarity(digits_mlp, random_state=0).fit(X[:50])
    with pytest.raises(ValueError, match="expecting 64 features"):
        fitted.score_samples(X[:5, :10])
    with pytest.raises(ValueError, match="returned shape"):
        Familiarity(responses=lambda s: s[:3]).fit(X[:50])


def test_small_classes_and_mismatched_labels(digits, digits_mlp):
    X, y = digits
    labels = np.where(y[:200] == 0, "zero", "other")
    labels[0] = "alone"
    with pytest.raises(ValueError, match="at least 2 samples per class"):
        Familiarity(digits_mlp, per_class=True).fit(X[:200], labels)
    labels[0] = "zero"
    model = Familiarity(digits_mlp, per_class=True, random_state=0).fit(X[:200], labels)
    # Labels in another form than the model's (the classifier predicts 0 … 9): refused.
    with pytest.raises(ValueError, match="has a model"):
        model.score_samples(X[:20])
    # A class of 3 samples gets one Gaussian, not three with no spread.
    few = np.where(np.arange(200) < 3, "few", "many")
    small = Familiarity(responses="samples", per_class=True, random_state=0).fit(X[:200], few)
    assert small.mixtures_["few"].n_components == 1
    with pytest.raises(ValueError, match="n"):
        small.representatives(n=0)
