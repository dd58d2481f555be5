"""The Euclidean UMAP behind q_knn_e, fitted on a thread of its own beside the DiDi steps."""

import threading
import warnings

import numpy as np
import pytest

import didi.decision_map._decision_map as decision_map_module
from didi import DecisionMap
from didi.decision_map._euclidean import EuclideanLayout, may_run_beside


def _fit(blobs, random_state, *, concurrent, monkeypatch):
    X, y, clf = blobs
    started = []
    original_start = EuclideanLayout.start

    def start(layout, neighbours=None):
        original_start(layout, neighbours)
        started.append(layout._thread is not None)

    with monkeypatch.context() as patch:
        patch.setattr(decision_map_module, "may_run_beside", lambda *args: concurrent)
        patch.setattr(EuclideanLayout, "start", start)
        dmap = DecisionMap(clf, n_neighbors=15, resolution=12, random_state=random_state)
        return dmap.fit(X, y), any(started)


def test_beside_the_fit_the_map_is_bit_identical_to_one_fitted_in_turn(blobs, monkeypatch):
    beside, threaded = _fit(blobs, 3, concurrent=True, monkeypatch=monkeypatch)
    in_turn, not_threaded = _fit(blobs, 3, concurrent=False, monkeypatch=monkeypatch)
    assert threaded and not not_threaded
    assert np.array_equal(beside.euclidean_umap_.embedding_, in_turn.euclidean_umap_.embedding_)
    assert np.array_equal(beside.embedding_, in_turn.embedding_)
    assert np.array_equal(beside.grid_proba_, in_turn.grid_proba_)
    assert beside.scores_ == in_turn.scores_


def test_a_fit_beside_leaves_the_callers_warning_filters_as_they_were(blobs, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        before = list(warnings.filters)
        _fit(blobs, 0, concurrent=True, monkeypatch=monkeypatch)
        assert warnings.filters == before


@pytest.mark.parametrize(
    "random_state, layout_device, expected",
    [
        (None, None, True),
        (0, None, True),
        (np.int64(7), None, True),
        (np.random.RandomState(0), None, False),  # its draws would come in any order
        (True, None, False),
        (0, "cpu", False),  # its layout is swapped into umap-learn during a fit
    ],
)
def test_which_fits_may_run_beside(random_state, layout_device, expected):
    assert may_run_beside(random_state, layout_device) is expected


def test_not_where_numbas_parallel_kernels_may_not_share_the_process(monkeypatch):
    import didi.decision_map._euclidean as euclidean_module

    monkeypatch.setattr(euclidean_module, "threadsafe_parallel_kernels", lambda: False)
    assert not may_run_beside(0, None)


def test_the_threading_layer_check_agrees_with_numba():
    import numba

    from didi._numba import THREADSAFE_LAYERS, threadsafe_parallel_kernels

    answer = threadsafe_parallel_kernels()
    assert answer is (numba.threading_layer() in THREADSAFE_LAYERS)


def test_a_layout_started_runs_on_another_thread_once_and_hands_back_its_model():
    calls = []

    def fit(neighbours):
        calls.append((threading.current_thread() is threading.main_thread(), neighbours))
        return "model"

    layout = EuclideanLayout(fit, concurrent=True)
    layout.start("early")
    layout.start("late")  # begun already: nothing more
    assert layout.result("at the end") == "model"
    assert layout.result() == "model"
    assert calls == [(False, "early")]


def test_a_layout_not_concurrent_is_fitted_when_asked_with_the_neighbours_then_known():
    calls = []
    layout = EuclideanLayout(lambda n: calls.append(n) or "model", concurrent=False)
    layout.start("early")
    assert calls == []
    assert layout.result("found") == "model"
    assert calls == ["found"]


def test_a_known_layout_is_never_fitted():
    def fit(neighbours):
        raise AssertionError("fitted")

    layout = EuclideanLayout(fit, concurrent=True, known="cached")
    layout.start()
    assert layout.result() == "cached"


def test_an_error_on_the_layouts_thread_is_raised_by_result():
    def fit(neighbours):
        raise ValueError("no layout")

    layout = EuclideanLayout(fit, concurrent=True)
    layout.start()
    with pytest.raises(ValueError, match="no layout"):
        layout.result()


def test_a_layout_left_running_by_a_failed_fit_leaves_the_warning_filters_alone():
    from didi.projection._umap import quiet_umap

    release = threading.Event()

    def fit(neighbours):
        with quiet_umap():  # as fit_umap does, on the layout's thread
            release.wait(5)
        return "model"

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        with pytest.raises(RuntimeError):
            with quiet_umap():
                layout = EuclideanLayout(fit, concurrent=True)
                layout.start()
                raise RuntimeError("the DiDi steps failed")
        warnings.simplefilter("error")  # the caller's own, after the failed fit
        after = list(warnings.filters)
        release.set()
        assert layout.result() == "model"
        assert warnings.filters == after


def test_only_a_classifier_that_may_rank_on_its_device_finds_neighbours_below_pruning():
    from didi.distance._ranking import PRUNING_MIN_REFERENCES, may_find_base_neighbours

    class OnDevice:
        def _candidate_ranker(self, host):
            return None

    assert not may_find_base_neighbours(PRUNING_MIN_REFERENCES, object())
    assert may_find_base_neighbours(PRUNING_MIN_REFERENCES + 1, object())
    assert may_find_base_neighbours(100, OnDevice())
