"""A fitted map's layers and literature scores, against recomputation from their definitions."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from didi import DecisionMap, DecisionMapDisplay


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y, LogisticRegression(max_iter=1000).fit(X, y)


@pytest.fixture(scope="module")
def layered(iris):
    X, y, clf = iris
    dmap = DecisionMap(clf, n_neighbors=10, resolution=9, random_state=0).fit(X, y)
    return dmap.compute_layers(max_round_trips=4, n_targets=2)


def cells_of(dmap):
    return np.stack(np.meshgrid(dmap.grid_x_, dmap.grid_y_), axis=-1).reshape(-1, 2)


def test_fit_scores_are_the_samples_round_trips(iris):
    X, y, clf = iris
    dmap = DecisionMap(clf, n_neighbors=10, resolution=9, random_state=0).fit(X, y)
    back = clf.predict(dmap.inverse_transform(dmap.embedding_))
    assert dmap.scores_["cons_d"] == pytest.approx(np.mean(back == clf.predict(X)))
    assert dmap.scores_["acc_m"] == pytest.approx(np.mean(back == y))
    assert np.isnan(DecisionMap(clf, n_neighbors=10, resolution=9).fit(X).scores_["acc_m"])


def test_cons_d_is_q_data_without_a_holdout(iris):
    X, y, clf = iris
    dmap = DecisionMap(clf, n_neighbors=10, resolution=9, holdout=0, random_state=0).fit(X, y)
    assert dmap.scores_["cons_d"] == dmap.scores_["q_data"]


def test_gradient_layer_is_central_differences_of_the_inverse(layered, iris):
    X = iris[0]
    dmap = layered
    step_x = dmap.grid_x_[1] - dmap.grid_x_[0]
    step_y = dmap.grid_y_[1] - dmap.grid_y_[0]
    i, j = 4, 5
    x, y = dmap.grid_x_[j], dmap.grid_y_[i]
    ends = dmap.inverse_transform(
        [[x + step_x, y], [x - step_x, y], [x, y + step_y], [x, y - step_y]]
    )
    width = np.array([dmap.grid_x_[-1] - dmap.grid_x_[0], dmap.grid_y_[-1] - dmap.grid_y_[0]])
    d_u = (ends[0] - ends[1]) / (2 * step_x) * width[0]
    d_v = (ends[2] - ends[3]) / (2 * step_y) * width[1]
    radius = np.sqrt(np.mean(np.sum((X - X.mean(0)) ** 2, axis=1)))
    expected = np.sqrt(d_u @ d_u + d_v @ d_v) / radius
    assert dmap.grid_gradient_[i, j] == pytest.approx(expected, rel=1e-9)
    assert dmap.scores_["gradient"] == pytest.approx(dmap.grid_gradient_.mean())


def test_stability_is_the_round_trips_recomputed_from_transform(layered, iris):
    clf = iris[2]
    dmap = layered
    cells, labels = cells_of(dmap), dmap.grid_labels_.ravel()
    # Placement lays out a batch together (UMAP's negative sampling draws from one
    # random stream), so the trips are recomputed for the same batches: all cells,
    # then those whose label has held.
    expected = np.zeros(len(cells), dtype=int)
    alive, positions = np.arange(len(cells)), cells
    for _ in range(4):
        positions = dmap.transform(dmap.inverse_transform(positions))
        held = clf.predict(dmap.inverse_transform(positions)) == labels[alive]
        expected[alive[held]] += 1
        alive, positions = alive[held], positions[held]
    np.testing.assert_array_equal(dmap.grid_stability_.ravel(), expected)
    np.testing.assert_array_equal(dmap.grid_consistency_, dmap.grid_stability_ > 0)
    assert dmap.scores_["cons_p"] == pytest.approx(np.mean(expected > 0))
    assert dmap.scores_["class_stability"] == pytest.approx(np.mean(expected))
    assert dmap.layer_rows_["stability"] > len(cells)  # placements cost rows too
    assert dmap.layer_rows_["consistency"] == 0  # made in the same run, counted once


def test_boundary_distance_bounds_the_exact_linear_distance_from_above(layered, iris):
    clf = iris[2]
    dmap = layered
    samples = dmap.inverse_transform(cells_of(dmap))
    scores = clf.decision_function(samples)
    own = scores.argmax(axis=1)
    # The region of a linear classifier's class is a convex polytope: the distance
    # to its boundary is the distance to the nearest of its facets' hyperplanes.
    exact = np.array(
        [
            min(
                (scores[i, own[i]] - scores[i, k])
                / np.linalg.norm(clf.coef_[own[i]] - clf.coef_[k])
                for k in range(3)
                if k != own[i]
            )
            for i in range(len(samples))
        ]
    )
    found = dmap.grid_boundary_distance_.ravel()
    assert np.all(found >= exact - 1e-9)
    # Bisection towards the nearest samples of other classes is not far off.
    assert np.median(found / exact) < 3
    n_cells = len(samples)
    assert dmap.layer_rows_["boundary_distance"] == n_cells * 2 * 10


def test_refitting_drops_the_layers(iris):
    X, y, clf = iris
    dmap = DecisionMap(clf, n_neighbors=10, resolution=6, random_state=0).fit(X, y)
    dmap.compute_layers("consistency")
    assert hasattr(dmap, "grid_consistency_") and "cons_p" in dmap.scores_
    assert not hasattr(dmap, "grid_stability_")
    dmap.fit(X, y)
    assert not hasattr(dmap, "grid_consistency_") and "cons_p" not in dmap.scores_
    assert dmap.layer_rows_ == {"gradient": 0}


def test_scores_of_the_grid_through_score(iris):
    X, y, clf = iris
    dmap = DecisionMap(clf, n_neighbors=10, resolution=6, random_state=0).fit(X, y)
    assert dmap.score(X[:5], scoring="neg_gradient") == -dmap.scores_["gradient"]
    cons_p = dmap.score(X[:5], scoring="cons_p")
    assert cons_p == dmap.scores_["cons_p"] == np.mean(dmap.grid_consistency_)
    assert not hasattr(dmap, "grid_stability_")  # one trip was enough for cons_p
    assert dmap.score(X[:5], scoring="class_stability") == np.mean(dmap.grid_stability_)
    back = clf.predict(dmap.inverse_transform(dmap.transform(X[:40])))
    assert dmap.score(X[:40], y[:40], scoring="acc_m") == np.mean(back == y[:40])
    assert dmap.score(X[:40], scoring="cons_d") == np.mean(back == clf.predict(X[:40]))
    with pytest.raises(ValueError, match="pass y"):
        dmap.score(X[:5], scoring="acc_m")


def test_grid_search_on_cons_p(iris):
    X, y, clf = iris
    search = GridSearchCV(
        DecisionMap(clf, n_neighbors=10, resolution=5, random_state=0, scoring="cons_p"),
        {"a": [50, 500]},
        cv=2,
    ).fit(X, y)
    # Each fold's score is a share of the 25 cells of that fold's map.
    for split in ("split0_test_score", "split1_test_score"):
        scores = search.cv_results_[split]
        np.testing.assert_allclose(scores * 25, np.round(scores * 25), atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"layers": "colour"}, "Unknown layers"),
        ({"layers": []}, "Unknown layers"),
        ({"layers": 5}, "layers must be a layer's name or a list"),
        ({"max_round_trips": 0}, "max_round_trips"),
        ({"boundary_method": "exact"}, "boundary_method"),
        ({"layers": "boundary_distance", "boundary_method": "gradient"}, "boundary_distances"),
    ],
)
def test_bad_layer_requests(iris, kwargs, message):
    X, y, clf = iris
    dmap = DecisionMap(clf, n_neighbors=10, resolution=4, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=message):
        dmap.compute_layers(**kwargs)


@pytest.mark.parametrize("layer", ["gradient", "consistency", "stability", "boundary_distance"])
def test_display_draws_a_layer_with_a_colour_bar(iris, layer):
    X, y, clf = iris
    dmap = DecisionMap(clf, n_neighbors=10, resolution=6, random_state=0).fit(X, y)
    display = DecisionMapDisplay.from_estimator(dmap, layer=layer)
    shown = np.ma.getdata(display.image_.get_array())
    np.testing.assert_array_equal(shown, getattr(dmap, f"grid_{layer}_").astype(float))
    assert display.colorbar_ is not None
    assert display.colorbar_.ax.get_ylabel()
    plt.close(display.figure_)


def test_display_of_classes_has_no_colour_bar_and_refuses_unknown_layers(layered):
    display = DecisionMapDisplay.from_estimator(layered)
    assert display.colorbar_ is None
    plt.close(display.figure_)
    with pytest.raises(ValueError, match="layer"):
        DecisionMapDisplay.from_estimator(layered, layer="entropy")


class GivesUp:
    """A classifier whose gradient-based boundary search never finds a crossing."""

    def __init__(self, clf):
        self.clf, self.classes_ = clf, clf.classes_

    def predict_proba(self, X):
        return self.clf.predict_proba(X)

    def boundary_distances(self, X):
        return np.full(len(X), np.inf)


def test_cells_the_gradient_search_gives_up_on_are_bisected(iris):
    X, y, clf = iris
    params = dict(n_neighbors=10, resolution=6, random_state=0)
    plain = DecisionMap(clf, **params).fit(X, y).compute_layers("boundary_distance")
    giving_up = DecisionMap(GivesUp(clf), **params).fit(X, y)
    giving_up.compute_layers("boundary_distance")  # "auto": the gradient method first
    np.testing.assert_array_equal(giving_up.grid_boundary_distance_, plain.grid_boundary_distance_)


def test_layers_of_an_adaptive_map_start_from_each_cells_own_label(digits, digits_mlp):
    X, y = digits
    params = dict(n_neighbors=10, resolution=40, random_state=0)
    full = DecisionMap(digits_mlp, **params).fit(X[:100], y[:100])
    adaptive = DecisionMap(digits_mlp, grid="adaptive", **params).fit(X[:100], y[:100])
    assert not adaptive.grid_evaluated_.all()
    for dmap in (full, adaptive):
        dmap.compute_layers(["stability", "boundary_distance"], max_round_trips=2)
    # The same embedding, π⁻¹ and batches of cells: the same layers, for the rows of
    # the cells the adaptive grid had interpolated.
    np.testing.assert_array_equal(adaptive.grid_stability_, full.grid_stability_)
    np.testing.assert_array_equal(adaptive.grid_boundary_distance_, full.grid_boundary_distance_)
    unclassified = int((~adaptive.grid_evaluated_).sum())
    assert adaptive.layer_rows_["stability"] == full.layer_rows_["stability"] + unclassified
