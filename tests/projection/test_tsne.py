"""t-SNE in place of UMAP's layout of the DiDi k-NN graph."""

import numpy as np
import pytest
from sklearn.manifold import TSNE

from didi import DecisionMap, DecisionMapSequence, FisherJSMetric
from didi.projection._tsne import tsne_perplexity


@pytest.fixture(scope="module")
def tsne_map(digits, digits_mlp):
    X, y = digits
    dmap = DecisionMap(digits_mlp, embedder="tsne", n_neighbors=16, resolution=10, random_state=0)
    return dmap.fit(X[:200], y[:200])


def test_the_layout_is_scikit_learns_tsne_of_the_didi_graph(tsne_map, digits, digits_mlp):
    X, _ = digits
    graph = FisherJSMetric(digits_mlp, n_neighbors=15).fit_transform(X[:200])
    direct = TSNE(
        perplexity=tsne_perplexity(15), metric="precomputed", init="random", random_state=0
    ).fit_transform(graph)
    np.testing.assert_allclose(tsne_map.embedding_, direct, rtol=1e-6, atol=1e-6)
    assert tsne_perplexity(15) == pytest.approx(14 / 3)
    assert tsne_map.projection_.mode == "knn"


def test_new_samples_are_placed_without_moving_the_map(tsne_map, digits):
    X, _ = digits
    np.testing.assert_array_equal(tsne_map.transform(X[:10]), tsne_map.embedding_[:10])
    placed = tsne_map.transform(X[200:240])
    assert placed.shape == (40, 2) and np.all(np.isfinite(placed))
    low, high = tsne_map.embedding_.min(axis=0), tsne_map.embedding_.max(axis=0)
    assert np.all((placed > low - 0.2 * (high - low)) & (placed < high + 0.2 * (high - low)))


def test_streaming_keeps_the_layouts_shape(tsne_map, digits):
    X, y = digits
    before = tsne_map.embedding_.copy()
    grown = DecisionMap(**tsne_map.get_params(deep=False)).fit(X[:200], y[:200])
    grown.add_samples(X[200:230], y[200:230])
    from scipy.spatial import procrustes

    assert procrustes(before, grown.embedding_[:200])[2] < 0.3


def test_refusals(digits, digits_mlp):
    X, y = digits
    with pytest.raises(ValueError, match="mode='knn'"):
        DecisionMap(digits_mlp, embedder="tsne", mode="dense").fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="embedder"):
        DecisionMap(digits_mlp, embedder="pca").fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="alignment='independent'"):
        DecisionMapSequence([digits_mlp], embedder="tsne").fit(X[:100], y[:100])
