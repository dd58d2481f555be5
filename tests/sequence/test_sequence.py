"""DecisionMapSequence: alignment, reuse between checkpoints, the temporal measures."""

import copy

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.neural_network import MLPClassifier

from didi import DecisionMap, DecisionMapSequence
from didi.sequence._layout import aligned_layout
from didi.sequence._temporal import neighbourhood_overlap

N = 150
PARAMS = dict(n_neighbors=12, resolution=12, random_state=0)


@pytest.fixture(scope="module")
def training(digits):
    """Three checkpoints of an MLP trained one epoch at a time, and the samples to map."""
    X, y = digits
    X = X / 16
    model = MLPClassifier(hidden_layer_sizes=(24,), random_state=0)
    checkpoints = []
    for _ in range(3):
        model.partial_fit(X[300:], y[300:], classes=np.arange(10))
        checkpoints.append(copy.deepcopy(model))
    return X[:N], y[:N], checkpoints


@pytest.fixture(scope="module")
def aligned(training):
    X, y, checkpoints = training
    return DecisionMapSequence(checkpoints, **PARAMS).fit(X, y)


def test_first_map_is_the_plain_decision_map(training, aligned):
    X, y, checkpoints = training
    plain = DecisionMap(checkpoints[0], **PARAMS).fit(X, y)
    np.testing.assert_array_equal(aligned.maps_[0].embedding_, plain.embedding_)
    np.testing.assert_array_equal(aligned.maps_[0].grid_labels_, plain.grid_labels_)
    assert aligned.embeddings_.shape == (3, N, 2)
    assert aligned.proba_.shape == (3, N, 10)
    np.testing.assert_allclose(aligned.proba_[2], checkpoints[2].predict_proba(X), rtol=1e-6)


def test_an_unchanged_classifier_leaves_the_map_where_it_was(training, aligned):
    X, y, checkpoints = training
    seq = DecisionMapSequence([*checkpoints[:2], checkpoints[1]], **PARAMS).fit(X, y)
    np.testing.assert_array_equal(seq.embeddings_[2], seq.embeddings_[1])
    np.testing.assert_array_equal(seq.maps_[2].grid_labels_, seq.maps_[1].grid_labels_)
    assert np.all(seq.movement_[1] == 0) and not seq.flips_[1].any()
    assert np.all(seq.neighbour_preservation_[1] == 1)
    # Every path is reused: the classifier sees the samples, 16 fixed points
    # between them, pi^-1 of the samples under the scores' and the map's pi^-1,
    # and the grid.
    assert seq.n_classifier_rows_[2] == N + 16 + 2 * N + 12**2
    assert seq.n_classifier_rows_[1] > 5 * seq.n_classifier_rows_[2]


def test_a_repeated_first_checkpoint_keeps_the_first_map(training):
    # The first map's UMAP prunes its graph in place; the later, graph-only fits do
    # not: the comparison must see the same graph anyway.
    X, y, checkpoints = training
    seq = DecisionMapSequence([checkpoints[0]] * 2, n_epochs=30, **PARAMS).fit(X, y)
    pruned, whole = (m.projection_.umap_.graph_ for m in seq.maps_)
    assert pruned.count_nonzero() < whole.count_nonzero()  # the case is really there
    np.testing.assert_array_equal(seq.embeddings_[1], seq.embeddings_[0])
    assert np.all(seq.neighbour_preservation_ == 1)
    # Its projection is a fitted one: a clone of it builds a full embedding again.
    assert "transform_mode" not in (seq.maps_[1].projection_.umap_kwargs or {})


def test_aligned_maps_change_shape_far_less_than_independent_ones(training, aligned):
    X, y, checkpoints = training
    independent = DecisionMapSequence(checkpoints, alignment="independent", **PARAMS).fit(X, y)
    # Same classifiers, same graphs: the measures that do not depend on the layout agree.
    np.testing.assert_array_equal(independent.flips_, aligned.flips_)
    np.testing.assert_array_equal(
        independent.neighbour_preservation_, aligned.neighbour_preservation_
    )
    np.testing.assert_array_equal(independent.embeddings_[0], aligned.embeddings_[0])
    disparity = aligned.transition_scores_["procrustes_disparity"]
    assert np.all(disparity * 5 < independent.transition_scores_["procrustes_disparity"])
    assert np.all(aligned.movement_.mean(axis=1) < independent.movement_.mean(axis=1))


def test_transition_scores_summarise_the_per_sample_measures(training, aligned):
    X, _, checkpoints = training
    scores = aligned.transition_scores_
    np.testing.assert_allclose(scores["movement"], aligned.movement_.mean(axis=1))
    np.testing.assert_allclose(scores["flips"], aligned.flips_.mean(axis=1))
    moved = np.linalg.norm(aligned.embeddings_[1] - aligned.embeddings_[0], axis=1)
    np.testing.assert_allclose(aligned.movement_[0], moved)
    graphs = [m.projection_.umap_.graph_ for m in aligned.maps_]
    np.testing.assert_allclose(
        aligned.neighbour_preservation_[1], neighbourhood_overlap(graphs[1], graphs[2])
    )
    labels = [c.predict(X) for c in checkpoints]
    np.testing.assert_array_equal(aligned.flips_[0], labels[0] != labels[1])
    for name, values in aligned.scores_.items():
        assert values.tolist() == [m.scores_[name] for m in aligned.maps_]


def test_checkpoints_one_at_a_time_give_the_same_maps(training, aligned):
    X, y, checkpoints = training
    seq = DecisionMapSequence(**PARAMS).add_checkpoint(checkpoints[0], X, y)
    for model in checkpoints[1:]:
        seq.add_checkpoint(model)
    np.testing.assert_array_equal(seq.embeddings_, aligned.embeddings_)
    assert seq.checkpoint_names_ == ["0", "1", "2"]
    with pytest.raises(ValueError, match="only on the first call"):
        seq.add_checkpoint(checkpoints[0], X)
    with pytest.raises(ValueError, match="needs the samples"):
        DecisionMapSequence(**PARAMS).add_checkpoint(checkpoints[0])


def test_a_failed_checkpoint_leaves_the_sequence_as_it_was(training, aligned):
    X, y, checkpoints = training
    seq = DecisionMapSequence(checkpoints[:2], **PARAMS).fit(X, y)
    before = seq.embeddings_.copy()

    def broken(samples):
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        seq.add_checkpoint(broken)
    other = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2000, random_state=0)
    with pytest.raises(ValueError, match="classes"):
        seq.add_checkpoint(other.fit(X, y % 3))
    assert len(seq.maps_) == 2 and seq.checkpoint_names_ == ["0", "1"]
    np.testing.assert_array_equal(seq.embeddings_, before)
    assert seq.movement_.shape == (1, N)


def test_checkpoints_by_name_and_other_classes(training):
    X, y, checkpoints = training
    named = {"epoch 1": checkpoints[0], "epoch 3": checkpoints[2]}
    seq = DecisionMapSequence(named, **PARAMS).fit(X, y)
    assert seq.checkpoint_names_ == ["epoch 1", "epoch 3"]
    other = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2000, random_state=0)
    other.fit(X, y % 3)
    with pytest.raises(ValueError, match="classes"):
        seq.add_checkpoint(other)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"checkpoints": None}, "at least one checkpoint"),
        ({"checkpoints": [object()]}, "checkpoints"),
        ({"checkpoints": "model"}, "checkpoints"),
        ({"checkpoints": (c for c in [])}, "checkpoints"),
        ({"alignment": "procrustes"}, "alignment"),
        ({"alignment_strength": -1.0}, "alignment_strength"),
        ({"lam": 2.0}, "lam"),
    ],
)
def test_bad_parameters_are_refused(training, params, message):
    X, y, checkpoints = training
    params = {"checkpoints": checkpoints[:1], **params}
    with pytest.raises(ValueError, match=message):
        DecisionMapSequence(**params).fit(X, y)


def test_clone_shares_the_checkpoints(training):
    _, _, checkpoints = training
    seq = DecisionMapSequence(checkpoints, lam=0.3)
    copied = clone(seq)
    assert copied.checkpoints is checkpoints and copied.get_params()["lam"] == 0.3


def test_a_stronger_pull_keeps_points_closer_to_where_they_were(aligned):
    first, second = aligned.maps_[0], aligned.maps_[1]
    graph = second.projection_.umap_.graph_
    weights = neighbourhood_overlap(first.projection_.umap_.graph_, graph)
    model = second.projection_.umap_
    moved = []
    for strength in (0.0, 0.01, 0.5):
        layout = aligned_layout(
            first.embedding_, graph, weights, a=model._a, b=model._b,
            strength=strength, n_epochs=100, random_state=0,
        )  # fmt: skip
        moved.append(np.linalg.norm(layout - first.embedding_, axis=1).mean())
    assert moved[0] > moved[1] > moved[2]


def test_a_memory_location_gives_the_same_maps_and_serves_a_refit(training, aligned, tmp_path):
    X, y, checkpoints = training
    cached = DecisionMapSequence(checkpoints, memory=str(tmp_path), **PARAMS)
    first = cached.fit(X, y)
    np.testing.assert_array_equal(first.embeddings_, aligned.embeddings_)
    np.testing.assert_array_equal(first.maps_[2].grid_labels_, aligned.maps_[2].grid_labels_)
    rows_before = first.n_classifier_rows_.copy()
    again = DecisionMapSequence(checkpoints, memory=str(tmp_path), **PARAMS).fit(X, y)
    np.testing.assert_array_equal(again.embeddings_, aligned.embeddings_)
    # The projections (and their path lengths) come from the cache: only the samples'
    # and the fixed points' probabilities (the points twice: the cache's key and the
    # path memory each ask), the samples' two round trips and the grid remain.
    assert np.all(again.n_classifier_rows_ == N + 2 * 16 + 2 * N + 12**2)
    assert np.all(rows_before > again.n_classifier_rows_)


def test_a_layer_computed_on_one_map_does_not_break_the_next_checkpoint(training):
    X, y, checkpoints = training
    seq = DecisionMapSequence(**PARAMS).add_checkpoint(checkpoints[0], X, y)
    seq.maps_[0].compute_layers("consistency")
    assert "cons_p" in seq.maps_[0].scores_
    seq.add_checkpoint(checkpoints[1])
    assert len(seq.maps_) == 2 and "cons_p" not in seq.scores_
    assert all(len(values) == 2 for values in seq.scores_.values())
    assert seq.scores_["q_knn"][1] == seq.maps_[1].scores_["q_knn"]
