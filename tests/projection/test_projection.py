import numpy as np
import pytest
from sklearn.metrics import pairwise_distances
from sklearn.pipeline import make_pipeline

from didi import FisherJSMetric, FisherUMAP


def test_reproducible_and_shaped(blobs):
    X, _, clf = blobs
    a = FisherUMAP(clf, n_neighbors=10, random_state=0).fit_transform(X)
    b = FisherUMAP(clf, n_neighbors=10, random_state=0).fit_transform(X)
    assert a.shape == (len(X), 2)
    assert np.array_equal(a, b)


def test_precomputed_matches_the_integrated_path(blobs):
    X, _, clf = blobs
    direct = FisherUMAP(clf, n_neighbors=10, random_state=0).fit(X)
    D = FisherJSMetric(clf).fit_transform(X)
    pre = FisherUMAP("precomputed", n_neighbors=10, random_state=0).fit(D)
    assert np.allclose(direct.embedding_, pre.embedding_)
    new = X[:5] + 0.01
    metric = FisherJSMetric(clf).fit(X)
    assert np.allclose(direct.transform(new), pre.transform(metric.transform(new)))


def test_new_points_land_next_to_their_twins(blobs):
    X, y, clf = blobs
    mapper = FisherUMAP(clf, n_neighbors=15, random_state=0).fit(X[::2])
    placed = mapper.transform(X[1::2] + 1e-3)
    emb = mapper.embedding_
    # Each placed point sits among the fitted points of its own class.
    nearest = pairwise_distances(placed, emb).argmin(axis=1)
    assert np.mean(y[::2][nearest] == y[1::2]) == 1.0
    # and the fitted points did not move.
    assert np.array_equal(mapper.embedding_, emb)


def test_pipeline_of_metric_and_precomputed_umap(blobs):
    X, _, clf = blobs
    pipe = make_pipeline(
        FisherJSMetric(clf), FisherUMAP("precomputed", n_neighbors=10, random_state=0)
    )
    emb = pipe.fit_transform(X[:100])
    assert emb.shape == (100, 2)
    assert pipe.transform(X[100:110]).shape == (10, 2)


def test_transform_beyond_4096_fitted_points():
    # umap-learn's own transform refuses precomputed distances from 4,096 fitted
    # points on (lmcinnes/umap#1194); ours must not.
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=10, size=(4, 2))
    X = np.concatenate([c + rng.normal(size=(1050, 2)) for c in centers])
    D = pairwise_distances(X)
    mapper = FisherUMAP("precomputed", n_neighbors=10, n_epochs=30, random_state=0).fit(D)
    new = centers + 0.1
    placed = mapper.transform(pairwise_distances(new, X))
    assert placed.shape == (4, 2)
    assert np.all(np.isfinite(placed))
    labels = np.repeat(np.arange(4), 1050)
    nearest = pairwise_distances(placed, mapper.embedding_).argmin(axis=1)
    assert np.array_equal(labels[nearest], np.arange(4))


def test_precomputed_input_errors():
    with pytest.raises(ValueError, match="square"):
        FisherUMAP("precomputed").fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        FisherUMAP("precomputed").fit(-np.ones((4, 4)))
    mapper = FisherUMAP("precomputed", n_neighbors=2, random_state=0)
    rng = np.random.default_rng(0)
    mapper.fit(pairwise_distances(rng.normal(size=(10, 2))))
    with pytest.raises(ValueError, match="10 fitted samples"):
        mapper.transform(np.ones((2, 9)))
