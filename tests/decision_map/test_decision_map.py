import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, LeaveOneOut, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from didi import DecisionMap, quality_scorer, quality_scorers
from didi.decision_map._quality import agreement, loo_knn_accuracy


@pytest.fixture(scope="module")
def fitted(blobs):
    X, y, clf = blobs
    return DecisionMap(clf, n_neighbors=15, resolution=25, random_state=0).fit(X, y)


def test_scores_on_an_easy_case(fitted):
    # Three separated blobs and a perfect classifier: both embeddings separate the
    # classes, and the map agrees with the classifier at the data.
    scores = fitted.scores_
    assert set(scores) == {
        "q_knn_e",
        "q_knn",
        "q_data",
        "q_not_data",
        "acc_m",
        "cons_d",
        "gradient",
        "gradient_steep",
    }
    assert scores["q_knn"] == 1.0
    assert scores["q_knn_e"] == 1.0
    assert scores["q_data"] == 1.0
    assert scores["q_not_data"] >= 0.95


def test_fitted_attributes(fitted, blobs):
    X, _y, clf = blobs
    assert fitted.embedding_.shape == (len(X), 2)
    assert fitted.grid_proba_.shape == (25, 25, 3)
    assert np.allclose(fitted.grid_proba_.sum(axis=-1), 1.0)
    assert fitted.grid_labels_.shape == (25, 25)
    assert np.array_equal(fitted.grid_labels_, fitted.grid_proba_.argmax(axis=-1))
    assert fitted.grid_entropy_.min() >= 0 and fitted.grid_entropy_.max() <= 1
    assert np.array_equal(fitted.classes_, clf.classes_)
    # The grid covers the embedding with a margin on every side.
    low, high = fitted.embedding_.min(0), fitted.embedding_.max(0)
    assert fitted.grid_x_[0] < low[0] and fitted.grid_x_[-1] > high[0]
    assert fitted.grid_y_[0] < low[1] and fitted.grid_y_[-1] > high[1]
    assert len(fitted.holdout_indices_) == round(0.3 * len(X))
    stages = {"distances", "umap", "inverse", "grid", "scores", "gradient", "euclidean"}
    assert set(fitted.timings_) == stages


def test_grid_cells_are_the_classifier_at_the_inverse(fitted, blobs):
    _, _, clf = blobs
    i, j = 7, 19
    cell = np.array([[fitted.grid_x_[j], fitted.grid_y_[i]]])
    expected = clf.predict_proba(fitted.inverse_transform(cell))[0]
    assert np.allclose(fitted.grid_proba_[i, j], expected)


def test_q_data_is_the_agreement_of_the_scoring_inverse(fitted, blobs):
    X, _, clf = blobs
    # Recompute Q_data / Q_not_data from the definition with an inverse fitted to
    # the same non-held-out points.
    from didi import RBFInverse

    held = fitted.holdout_indices_
    train = np.setdiff1d(np.arange(len(X)), held)
    inv = RBFInverse(a=500).fit(fitted.embedding_[train], X[train])
    back = clf.predict(inv.inverse_transform(fitted.embedding_))
    labels = clf.predict(X)
    assert fitted.scores_["q_data"] == pytest.approx(np.mean(back[train] == labels[train]))
    assert fitted.scores_["q_not_data"] == pytest.approx(np.mean(back[held] == labels[held]))


def test_loo_knn_matches_scikit_learn():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(60, 2))
    labels = (emb[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(int) + (emb[:, 1] > 1)
    expected = cross_val_score(KNeighborsClassifier(5), emb, labels, cv=LeaveOneOut()).mean()
    assert loo_knn_accuracy(emb, labels) == pytest.approx(expected)


def test_loo_knn_excludes_duplicated_points_themselves():
    emb = np.repeat(np.arange(4.0)[:, None], 2, axis=1).repeat(3, axis=0)
    labels = np.repeat([0, 1, 0, 1], 3)
    # Each point's 5 nearest others: its 2 twins (same label) and 3 of the
    # neighbouring groups; computed by hand: end groups score, middle ones do not.
    assert loo_knn_accuracy(emb, labels) == pytest.approx(
        cross_val_score(KNeighborsClassifier(5), emb, labels, cv=LeaveOneOut()).mean()
    )


def test_agreement():
    assert agreement([1, 2, 3], [1, 2, 4]) == pytest.approx(2 / 3)
    assert np.isnan(agreement([], []))


def test_reproducible(blobs):
    X, y, clf = blobs
    a = DecisionMap(clf, n_neighbors=15, resolution=12, random_state=1).fit(X, y)
    b = DecisionMap(clf, n_neighbors=15, resolution=12, random_state=1).fit(X, y)
    assert np.array_equal(a.embedding_, b.embedding_)
    assert np.array_equal(a.grid_proba_, b.grid_proba_)
    assert a.scores_ == b.scores_
    assert np.array_equal(a.transform(X[:5]), b.transform(X[:5]))


def test_no_holdout(blobs):
    X, _, clf = blobs
    dm = DecisionMap(clf, n_neighbors=15, resolution=10, holdout=0, random_state=0).fit(X)
    assert np.isnan(dm.scores_["q_not_data"])
    assert dm.y_ is None


def test_score_on_new_points(fitted, blobs):
    X, _, _clf = blobs
    new = X[:40] + 0.05
    for name in ("q_knn", "q_knn_e", "q_data", "q_not_data"):
        value = fitted.score(new, scoring=name)
        assert 0.9 <= value <= 1.0, name
    assert fitted.score(new) == fitted.score(new, scoring="q_not_data")
    assert quality_scorer("q_knn")(fitted, new) == fitted.score(new, scoring="q_knn")
    with pytest.raises(ValueError, match="scoring must be one of"):
        fitted.score(new, scoring="accuracy")


def test_grid_search_tunes_lam_and_a_and_leaves_the_classifier_alone(blobs):
    X, _y, clf = blobs
    coefs = clf.coef_.copy()
    search = GridSearchCV(
        DecisionMap(clf, n_neighbors=10, resolution=8, random_state=0),
        {"lam": [0.3, 0.65], "a": [50, 500]},
        cv=3,
    )
    search.fit(X)
    assert set(search.best_params_) == {"lam", "a"}
    assert 0 <= search.best_score_ <= 1
    assert search.best_estimator_.estimator is clf
    assert np.array_equal(clf.coef_, coefs)
    # every quality score is usable as `scoring=`
    multi = GridSearchCV(
        DecisionMap(clf, n_neighbors=10, resolution=8, random_state=0),
        {"lam": [0.65]},
        cv=2,
        scoring=quality_scorers(),
        refit="q_knn",
    ).fit(X)
    for name in ("q_knn", "q_knn_e", "q_data", "q_not_data"):
        assert 0 <= multi.cv_results_[f"mean_test_{name}"][0] <= 1


def test_clone_shares_the_prefit_classifier(blobs):
    _, _, clf = blobs
    dm = DecisionMap(clf, lam=0.4)
    copy = clone(dm)
    assert copy.estimator is clf
    assert copy.lam == 0.4
    assert hasattr(copy.estimator, "coef_")


def test_string_labels_and_callable(blobs):
    X, y, clf = blobs
    names = np.array(["cat", "dog", "eel"])
    dm = DecisionMap(clf.predict_proba, n_neighbors=10, resolution=8, random_state=0)
    # A plain function names its classes 0, 1, 2: names match none of them.
    with pytest.warns(UserWarning, match="not among the classifier's classes"):
        dm.fit(X, names[y])
    assert np.array_equal(dm.classes_, [0, 1, 2])
    assert dm.scores_["acc_m"] == 0
    assert dm.y_[0] in names


def test_images(blobs):
    X, _y, clf = blobs
    images = np.c_[X, X[:, :4]].reshape(len(X), 3, 3)

    def image_classifier(Z):
        assert Z.shape[1:] == (3, 3)
        return clf.predict_proba(Z.reshape(len(Z), -1)[:, :5])

    dm = DecisionMap(image_classifier, n_neighbors=10, resolution=8, random_state=0).fit(images)
    assert dm.inverse_transform(dm.embedding_[:3]).shape == (3, 3, 3)
    assert dm.scores_["q_knn"] == 1.0


@pytest.mark.parametrize(
    "params, message",
    [
        ({"resolution": 1}, r"DecisionMap: resolution must be an integer in \[2, inf\); got 1\."),
        ({"holdout": 1.0}, r"holdout must be a finite number in \[0, 0.9\]; got 1.0"),
        ({"a": 0}, r"a must be a finite number in \(0, inf\); got 0"),
        ({"scoring": "auc"}, "scoring must be one of"),
        ({"lam": 2}, r"lam must be one of 'auto' or a finite number in \[0, 1\]; got 2"),
        ({"n_neighbors": 1}, r"n_neighbors must be an integer in \[2, inf\); got 1"),
    ],
)
def test_bad_parameters(blobs, params, message):
    X, _, clf = blobs
    with pytest.raises(ValueError, match=message):
        DecisionMap(clf, **params).fit(X)


def test_label_length_mismatch(blobs):
    X, y, clf = blobs
    with pytest.raises(ValueError, match="labels for"):
        DecisionMap(clf).fit(X, y[:-1])


def test_inside_a_pipeline_with_a_pipeline_classifier(digits):
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    X, y = digits
    clf = make_pipeline(
        StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0)
    ).fit(X[200:], y[200:])
    # Flat rows in, 8×8 images to the map: the classifier receives images and
    # flattens them again itself.
    to_images = FunctionTransformer(lambda Z: Z.reshape(len(Z), 8, 8))

    def image_clf(images):
        return clf.predict_proba(images.reshape(len(images), -1))

    pipe = make_pipeline(
        to_images, DecisionMap(image_clf, n_neighbors=10, resolution=8, random_state=0)
    )
    embedding = pipe.fit_transform(X[:120], y[:120])
    assert embedding.shape == (120, 2)
    assert pipe.transform(X[120:130]).shape == (10, 2)
    assert 0 <= pipe.score(X[120:150]) <= 1
    assert pipe[-1].inverse_transform(embedding[:2]).shape == (2, 8, 8)


def test_euclidean_umap_is_umap_on_the_exact_euclidean_matrix(digits, digits_mlp):
    """q_knn_e's UMAP reads exact neighbours: the same layout as on the full matrix."""
    import umap
    from scipy.spatial.distance import cdist

    # Noise breaks the ties of integer pixels, which either side may order its own way.
    X = (digits[0][:200] + np.random.default_rng(0).normal(scale=0.01, size=(200, 64))).astype(
        np.float32
    )
    dmap = DecisionMap(digits_mlp, n_neighbors=12, resolution=5, random_state=0).fit(X)
    reference = umap.UMAP(n_neighbors=12, metric="precomputed", random_state=0, n_jobs=1).fit(
        cdist(X.astype(np.float64), X.astype(np.float64))
    )
    np.testing.assert_allclose(dmap.euclidean_umap_.embedding_, reference.embedding_, atol=1e-4)
    expected = loo_knn_accuracy(reference.embedding_, digits_mlp.predict(X))
    assert dmap.scores_["q_knn_e"] == expected
