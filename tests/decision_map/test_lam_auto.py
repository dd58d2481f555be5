"""lam="auto": the paper's recipe for λ, with path lengths shared across the values tried."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from didi import DecisionMap, DecisionMapSequence
from didi.decision_map._quality import LAM_CANDIDATES, choose_lam

PARAMS = dict(n_neighbors=10, resolution=5, random_state=0)


@given(st.lists(st.floats(0, 1), min_size=len(LAM_CANDIDATES), max_size=len(LAM_CANDIDATES)))
def test_choose_lam_is_the_largest_within_a_point_of_the_best(scores):
    q_knn = dict(zip(LAM_CANDIDATES, scores, strict=True))
    chosen = choose_lam(q_knn)
    best = max(scores)
    assert q_knn[chosen] >= best - 0.01 - 1e-12
    assert all(q_knn[lam] < best - 0.01 for lam in LAM_CANDIDATES if lam > chosen)


def test_choose_lam_examples():
    assert choose_lam({0.2: 0.90, 0.5: 0.95, 0.8: 0.945}) == 0.8
    assert choose_lam({0.2: 0.90, 0.5: 0.95, 0.8: 0.935}) == 0.5


@pytest.fixture(scope="module")
def auto_map(digits, digits_mlp):
    X, y = digits
    return DecisionMap(digits_mlp, lam="auto", **PARAMS).fit(X[:120], y[:120])


def test_auto_measures_q_knn_as_plain_fits_would_and_keeps_the_chosen_one(
    auto_map, digits, digits_mlp
):
    X, y = digits
    assert auto_map.get_params()["lam"] == "auto"
    assert list(auto_map.lam_scores_) == list(LAM_CANDIDATES)
    assert auto_map.lam_ == choose_lam(auto_map.lam_scores_)
    plain_rows = {}
    for lam in LAM_CANDIDATES:
        plain = DecisionMap(digits_mlp, lam=lam, **PARAMS).fit(X[:120], y[:120])
        assert auto_map.lam_scores_[lam] == plain.scores_["q_knn"]
        plain_rows[lam] = plain.n_classifier_rows_
        if lam == auto_map.lam_:
            np.testing.assert_array_equal(auto_map.embedding_, plain.embedding_)
            assert auto_map.scores_ == plain.scores_
            assert plain.lam_ == lam and plain.lam_scores_ == {}
    # Paths found at one λ serve the others: far less than fitting at every λ.
    assert plain_rows[auto_map.lam_] < auto_map.n_classifier_rows_ < sum(plain_rows.values()) / 2


def test_a_sequence_refuses_auto(digits, digits_mlp):
    X, y = digits
    with pytest.raises(ValueError, match="lam must be a finite number"):
        DecisionMapSequence([digits_mlp], lam="auto", **PARAMS).fit(X[:60], y[:60])


def test_bad_lam(digits, digits_mlp):
    X, y = digits
    with pytest.raises(ValueError, match="lam"):
        DecisionMap(digits_mlp, lam="best", **PARAMS).fit(X[:60], y[:60])


def test_add_samples_keeps_the_chosen_lam(auto_map, digits):
    import copy

    X, y = digits
    grown = copy.deepcopy(auto_map).add_samples(X[120:150], y[120:150])
    assert grown.lam_ == auto_map.lam_ and grown.lam_scores_ == auto_map.lam_scores_
    assert "lam search" not in grown.timings_ and "lam search" in auto_map.timings_
    assert grown.projection_.metric_.lam_ == auto_map.lam_
