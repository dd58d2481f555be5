"""The Euclidean UMAP behind q_knn_e, fitted on a thread of its own beside the DiDi steps."""

import threading

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


def test_only_the_descent_leaves_the_calling_thread(blobs, monkeypatch):
    """The graph and the initial layout read BLAS, whose threads other code sets for
    the whole process: they are built on the calling thread; the descent is numba's."""
    import umap.spectral
    import umap.umap_

    threads = {"graph": set(), "descent": set()}
    spectral, descent = umap.spectral.spectral_layout, umap.layouts.optimize_layout_euclidean

    def spy_spectral(*args, **kwargs):
        threads["graph"].add(threading.current_thread().name)
        return spectral(*args, **kwargs)

    def spy_descent(*args, **kwargs):
        threads["descent"].add(threading.current_thread().name)
        return descent(*args, **kwargs)

    monkeypatch.setattr(umap.umap_, "spectral_layout", spy_spectral)
    monkeypatch.setattr(umap.layouts, "optimize_layout_euclidean", spy_descent)
    # The deferrer (installed once per process) calls what it found: install it on top.
    monkeypatch.setattr(umap.umap_, "optimize_layout_euclidean", spy_descent)
    import didi.projection._deferred as deferred

    deferred._install_deferrer()
    _fit(blobs, 0, concurrent=True, monkeypatch=monkeypatch)
    assert threads["graph"] == {threading.main_thread().name}
    assert threads["descent"] == {threading.main_thread().name, "didi-euclidean-umap"}


@pytest.mark.parametrize(
    "options",
    [
        {},
        # An outlier the graph leaves unconnected: UMAP.fit writes NaN into its row of
        # the initial layout, which the descent must not see.
        {"disconnection_distance": 20.0},
        {"output_dens": True},  # densities of the finished layout: not held back
        {"unique": True},  # reorders the samples: not held back
    ],
)
def test_a_held_back_descent_gives_the_plain_fit_bit_for_bit(options):
    from didi.projection._umap import fit_umap, fit_umap_later

    X = np.random.default_rng(2).normal(size=(150, 6))
    X[0] += 100.0
    kwargs = dict(
        n_neighbors=12, min_dist=0.1, spread=1.0, n_epochs=80, random_state=4,
        metric="euclidean", umap_kwargs=options,
    )  # fmt: skip
    plain = fit_umap(X, **kwargs)
    model, finish = fit_umap_later(X, **kwargs)
    held_back = not {"output_dens", "unique"} & set(options)
    assert held_back == (not np.array_equal(model.embedding_, plain.embedding_, equal_nan=True))
    worker = threading.Thread(target=finish)  # on another thread, as a map runs it
    worker.start()
    worker.join()
    np.testing.assert_array_equal(model.embedding_, plain.embedding_)
    assert model.embedding_.dtype == plain.embedding_.dtype
    assert model.embedding_.flags.c_contiguous
    if "disconnection_distance" in options:
        assert np.isnan(model.embedding_[0]).all() and not np.isnan(model.embedding_[1:]).any()
    if "output_dens" in options:
        np.testing.assert_array_equal(model.rad_emb_, plain.rad_emb_)


def test_the_layout_hooks_are_each_installed_once_whatever_the_order():
    import umap.umap_

    from didi.projection._deferred import _install_deferrer
    from didi.projection._torch_layout import _install_dispatcher

    for _ in range(3):
        _install_deferrer()
        _install_dispatcher()
    hooks, hook = [], umap.umap_.optimize_layout_euclidean
    while hasattr(hook, "didi_wraps"):
        hooks.append("deferrer" if getattr(hook, "didi_deferrer", False) else "dispatcher")
        hook = hook.didi_wraps
    assert sorted(hooks) == ["deferrer", "dispatcher"]
    assert hook is umap.layouts.optimize_layout_euclidean  # umap-learn's own, at the end


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


def _layout_fit(calls, model="model"):
    def fit(neighbours, *, later=False):
        on_main = threading.current_thread() is threading.main_thread()
        calls.append(("prepare" if later else "fit", on_main, neighbours))
        if not later:
            return model

        def finish():
            calls.append(("finish", threading.current_thread() is threading.main_thread(), None))
            return model

        return "initial", finish

    return fit


def test_a_layout_started_prepares_here_descends_elsewhere_once_and_hands_back_its_model():
    calls = []
    layout = EuclideanLayout(_layout_fit(calls), concurrent=True)
    layout.start("early")
    layout.start("late")  # begun already: nothing more
    assert layout.result("at the end") == "model"
    assert layout.result() == "model"
    assert calls == [("prepare", True, "early"), ("finish", False, None)]


def test_a_layout_not_concurrent_is_fitted_when_asked_with_the_neighbours_then_known():
    calls = []
    layout = EuclideanLayout(_layout_fit(calls), concurrent=False)
    layout.start("early")
    assert calls == []
    assert layout.result("found") == "model"
    assert calls == [("fit", True, "found")]


def test_a_known_layout_is_never_fitted():
    calls = []
    layout = EuclideanLayout(_layout_fit(calls), concurrent=True, known="cached")
    layout.start()
    assert layout.result() == "cached" and calls == []


def test_an_error_on_the_layouts_thread_is_raised_by_result():
    def fit(neighbours, *, later=False):
        def finish():
            raise ValueError("no layout")

        return "initial", finish

    layout = EuclideanLayout(fit, concurrent=True)
    layout.start()
    with pytest.raises(ValueError, match="no layout"):
        layout.result()


def test_only_a_classifier_that_may_rank_on_its_device_finds_neighbours_below_pruning():
    from didi.distance._ranking import PRUNING_MIN_REFERENCES, may_find_base_neighbours

    class OnDevice:
        def _candidate_ranker(self, host):
            return None

    assert not may_find_base_neighbours(PRUNING_MIN_REFERENCES, object())
    assert may_find_base_neighbours(PRUNING_MIN_REFERENCES + 1, object())
    assert may_find_base_neighbours(100, OnDevice())


def test_a_held_back_descent_runs_with_the_numba_threads_of_the_calling_thread(monkeypatch):
    import numba
    import umap.umap_

    import didi.projection._deferred as deferred
    from didi.projection._umap import fit_umap_later

    seen = []
    descent = umap.umap_.optimize_layout_euclidean

    def spy(*args, **kwargs):
        seen.append(numba.get_num_threads())
        return descent(*args, **kwargs)

    monkeypatch.setattr(umap.umap_, "optimize_layout_euclidean", spy)
    deferred._install_deferrer()
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("a worker's default of one numba thread would pass unchanged")
    X = np.random.default_rng(3).normal(size=(80, 4))
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        _, finish = fit_umap_later(
            X, n_neighbors=8, min_dist=0.1, spread=1.0, n_epochs=20, random_state=None,
            metric="euclidean",
        )  # fmt: skip
    finally:
        numba.set_num_threads(before)
    worker = threading.Thread(target=finish)
    worker.start()
    worker.join()
    assert seen == [1]
