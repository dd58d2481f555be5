"""The PyTorch adapter: probabilities, model handling, and path lengths on the device."""

import copy
import pickle

import numpy as np
import pytest
from scipy.special import expit, softmax

torch = pytest.importorskip("torch")

from didi import DecisionMap, FisherJSMetric  # noqa: E402
from didi._proba import ProbaFunction  # noqa: E402
from didi.distance._paths import path_lengths  # noqa: E402
from didi.torch import TorchClassifier  # noqa: E402

from ..conftest import output_of_fresh_process  # noqa: E402

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def make_net(n_in=64, n_out=10, *, seed=0, dtype=torch.float32, tail=()):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(n_in, 16), torch.nn.Tanh(), torch.nn.Linear(16, n_out), *tail
    )
    return net.to(dtype)


@pytest.fixture(scope="module")
def digits32(digits):
    X, y = digits
    return (X[:120] / 16).astype(np.float32), y[:120]


@pytest.fixture(scope="module")
def trained(digits):
    """A small network trained on digits, so that paths cross real decision boundaries."""
    X, y = digits
    X = torch.from_numpy((X[200:] / 16).astype(np.float64))
    target = torch.from_numpy(y[200:].astype(np.int64))
    net = make_net(dtype=torch.float64)
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(150):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(X), target).backward()
        opt.step()
    return net


def logits_of(net, X):
    with torch.no_grad():
        return net(torch.as_tensor(X)).double().numpy()


# --------------------------------------------------------------- probabilities


def test_logits_become_softmax_probabilities(digits32):
    X, _ = digits32
    net = make_net()
    proba = TorchClassifier(net).predict_proba(X)
    expected = softmax(logits_of(net, X), axis=1)
    assert proba.dtype == np.float64 and proba.shape == (len(X), 10)
    np.testing.assert_allclose(proba, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize(
    "output, tail",
    [
        ("probabilities", (torch.nn.Softmax(dim=1),)),
        ("log_probabilities", (torch.nn.LogSoftmax(dim=1),)),
    ],
)
def test_probability_outputs_agree_with_logits(digits32, output, tail):
    X, _ = digits32
    from_logits = TorchClassifier(make_net()).predict_proba(X)
    proba = TorchClassifier(make_net(tail=tail), output=output).predict_proba(X)
    np.testing.assert_allclose(proba, from_logits, atol=1e-6)


@pytest.mark.parametrize("squeeze", [False, True])
def test_binary_logit_becomes_two_columns(digits32, squeeze):
    X, _ = digits32
    net = make_net(n_out=1)
    module = torch.nn.Sequential(net, torch.nn.Flatten(0)) if squeeze else net
    proba = TorchClassifier(module).predict_proba(X)
    positive = expit(logits_of(net, X)[:, 0])
    np.testing.assert_allclose(proba, np.column_stack([1 - positive, positive]), atol=1e-12)


def test_binary_probability_becomes_two_columns(digits32):
    X, _ = digits32
    net = make_net(n_out=1, tail=(torch.nn.Sigmoid(),))
    p = logits_of(net, X)[:, 0]
    proba = TorchClassifier(net, output="probabilities").predict_proba(X)
    np.testing.assert_allclose(proba, np.column_stack([1 - p, p]), atol=1e-12)


def test_input_shape_reshapes_flat_rows_for_a_convnet(digits32):
    X, _ = digits32
    torch.manual_seed(0)
    conv = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 6 * 6, 10),
    )
    flat = TorchClassifier(conv, input_shape=(1, 8, 8)).predict_proba(X)
    shaped = TorchClassifier(conv).predict_proba(X.reshape(-1, 1, 8, 8))
    np.testing.assert_allclose(flat, shaped, atol=1e-12)
    with pytest.raises(ValueError, match=r"input_shape=\(1, 7, 7\) holds 49 values.*64 values"):
        TorchClassifier(conv, input_shape=(1, 7, 7)).predict_proba(X)


def test_eval_mode_no_grad_and_modes_restored(digits32):
    X, _ = digits32
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(64, 32), torch.nn.BatchNorm1d(32), torch.nn.Dropout(0.5),
        torch.nn.ReLU(), torch.nn.Linear(32, 10),
    )  # fmt: skip
    net.train()
    net[1].eval()  # a submodule the user froze on purpose
    running_mean = net[1].running_mean.clone()
    clf = TorchClassifier(net)
    first, second = clf.predict_proba(X), clf.predict_proba(X)
    np.testing.assert_array_equal(first, second)  # dropout off
    assert net.training and net[2].training and not net[1].training
    torch.testing.assert_close(net[1].running_mean, running_mean)
    assert all(p.grad is None for p in net.parameters())


def test_threads_sharing_the_module_restore_its_mode(digits32):
    from concurrent.futures import ThreadPoolExecutor

    X, _ = digits32
    net = make_net(tail=(torch.nn.Dropout(0.5),))
    net.train()
    clf = TorchClassifier(net, batch_size=3)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(clf.predict_proba, [X] * 16))
    for proba in results:  # dropout was off in every thread
        np.testing.assert_allclose(proba, results[0], atol=1e-6)
    assert all(m.training for m in net.modules())


def test_batches_respect_batch_size_and_agree(digits32):
    X, _ = digits32
    net = make_net()
    seen = []
    net.register_forward_hook(lambda module, args, out: seen.append(len(args[0])))
    results = [TorchClassifier(net, batch_size=b).predict_proba(X) for b in (7, 1000)]
    np.testing.assert_allclose(results[0], results[1], atol=1e-6)
    assert max(seen[: -(-len(X) // 7)]) == 7 and seen[-1] == len(X)


def test_classes_and_predict(digits32):
    X, _ = digits32
    net = make_net(n_out=3)
    clf = TorchClassifier(net)
    with pytest.raises(AttributeError, match=r"classes=\.\.\."):
        clf.classes_  # noqa: B018
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    named = TorchClassifier(net, classes=["cat", "dog", "eel"]).fit()
    np.testing.assert_array_equal(
        named.predict(X), np.array(["cat", "dog", "eel"])[proba.argmax(1)]
    )
    with pytest.raises(ValueError, match="3 class columns, but classes has 2 labels"):
        TorchClassifier(net, classes=["a", "b"]).predict_proba(X)


def test_sklearn_conventions(digits32):
    from sklearn.base import clone
    from sklearn.utils.validation import check_is_fitted

    X, _ = digits32
    net = make_net()
    clf = TorchClassifier(net, batch_size=64)
    check_is_fitted(clf)  # prefit: usable without fit
    assert clf.get_params()["batch_size"] == 64 and clf.get_params()["module"] is net
    copy = clone(clf.set_params(output="logits"))
    assert copy.module is not net  # clone copies parameters: an independent module
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    y_pred = clf.predict(X)
    assert clf.score(X, y_pred) == 1.0


def test_fit_learns_the_classes_for_scorers(digits32):
    from sklearn.metrics import get_scorer

    X, y = digits32
    clf = TorchClassifier(make_net(n_out=10)).fit(X)
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    assert np.isfinite(get_scorer("neg_log_loss")(clf, X, y))
    clf.set_params(module=make_net(n_out=3))  # another model: classes learnt again
    with pytest.raises(AttributeError):
        clf.classes_  # noqa: B018
    assert len(clf.fit(X).classes_) == 3


def test_float64_module_keeps_float64(digits32):
    X, _ = digits32
    net = make_net(dtype=torch.float64)
    proba = TorchClassifier(net).predict_proba(X.astype(np.float64))
    np.testing.assert_allclose(
        proba, softmax(logits_of(net, X.astype(np.float64)), axis=1), atol=1e-15
    )


def test_module_output_objects():
    class WithLogits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = make_net(n_in=4, n_out=3)

        def forward(self, x):
            return type("Output", (), {"logits": self.net(x)})()

    class Pair(WithLogits):
        def forward(self, x):
            return self.net(x), x

    X = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    assert TorchClassifier(WithLogits()).predict_proba(X).shape == (5, 3)
    with pytest.raises(TypeError, match="returned tuple; expected a tensor"):
        TorchClassifier(Pair()).predict_proba(X)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"output": "softmax"}, ValueError, "output must be one of 'logits', "),
        ({"batch_size": 0}, ValueError, r"batch_size must be an integer in \[1, inf\); got 0"),
        ({"batch_size": True}, ValueError, r"batch_size must be an integer .*; got True"),
        ({"dtype": "int8"}, ValueError, "dtype must be None, a torch.dtype or one of 'float16'"),
        ({"dtype": "float16"}, ValueError, "parameters are torch.float32.*module.half"),
        ({"module": np.eye(3)}, TypeError, "module must be a torch.nn.Module"),
        (
            {"input_shape": (1, 0, 3)},
            ValueError,
            "input_shape must be None or a positive integer or",
        ),
        ({"device": -1}, ValueError, "device must be None, a torch.device or an integer"),
    ],
)
def test_bad_parameters(params, error, match):
    clf = TorchClassifier(**{"module": make_net(n_in=3), **params})
    with pytest.raises(error, match=match):
        clf.predict_proba(np.zeros((2, 3), np.float32))
    with pytest.raises(error, match=match):
        clf.fit()


def test_logits_declared_as_probabilities_are_refused(digits32):
    X, _ = digits32
    clf = TorchClassifier(make_net(), output="probabilities")
    with pytest.raises(ValueError, match="look like logits"):
        FisherJSMetric(clf, n_neighbors=5).fit(X)
    evaluate = clf.path_length_evaluator(
        X, X, np.full((len(X), 10), 0.1), np.full((len(X), 10), 0.1), 3
    )
    with pytest.raises(ValueError, match=r"not probabilities.*use 'logits'"):
        evaluate(np.arange(5), np.arange(5, 10))


# --------------------------------------------------------------- paths on the device


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("resident", [True, False])
def test_device_paths_equal_host_paths(digits, trained, device, resident, monkeypatch):
    X, _ = digits
    A, B = X[:40] / 16, X[40:70] / 16
    # A copy: device= moves the module, and the fixture is shared with other tests.
    clf = TorchClassifier(copy.deepcopy(trained), device=device, batch_size=64)
    if not resident:
        monkeypatch.setattr("didi.adapters._torch.fits_on", lambda device, n_bytes: False)
    pa, pb = clf.predict_proba(A), clf.predict_proba(B)
    rng = np.random.default_rng(0)
    ia, ib = rng.integers(0, len(A), 300), rng.integers(0, len(B), 300)
    on_device = clf.path_length_evaluator(A, B, pa, pb, 5)(ia, ib)
    host = path_lengths(ProbaFunction(clf.predict_proba, 1000), A, B, pa, pb, ia, ib, 5)
    np.testing.assert_allclose(on_device, host, rtol=1e-10, atol=1e-12)
    assert on_device.min() >= 0 and np.count_nonzero(on_device > 0.1) > 10  # real crossings


def test_paths_without_interior_points_are_end_point_distances(digits, trained):
    from didi.distance._divergence import js_distance

    X = digits[0][:30] / 16
    clf = TorchClassifier(trained)
    p = clf.predict_proba(X)
    ia, ib = np.arange(10), np.arange(10, 20)
    lengths = clf.path_length_evaluator(X, X, p, p, 0)(ia, ib)
    np.testing.assert_allclose(lengths, js_distance(p[ia], p[ib]), atol=1e-15)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "module_type, sample_type, measured",
    [
        (torch.float32, np.float32, True),
        (torch.float32, np.uint8, True),
        (torch.float64, np.float64, True),
        # float64 samples for a float32 module are rounded on the device: not them.
        (torch.float32, np.float64, False),
    ],
)
def test_device_paths_measure_euclidean_distances_of_the_samples_they_hold(
    digits, device, module_type, sample_type, measured
):
    from didi.distance._base_distance import paired_base_distances

    X = digits[0][:60].astype(sample_type)
    A, B = X[:35], X[35:]
    clf = TorchClassifier(make_net(dtype=module_type), device=device, batch_size=40)
    pa, pb = clf.predict_proba(A), clf.predict_proba(B)
    rng = np.random.default_rng(1)
    ia, ib = rng.integers(0, len(A), 200), rng.integers(0, len(B), 200)
    evaluator = clf.path_length_evaluator(A, B, pa, pb, 4)
    lengths, euclidean = evaluator.lengths_and_euclidean(ia, ib)
    np.testing.assert_array_equal(lengths, evaluator(ia, ib))
    if not measured:
        assert euclidean is None
        return
    expected = np.sqrt(((A[ia].astype(np.float64) - B[ib].astype(np.float64)) ** 2).sum(axis=1))
    np.testing.assert_allclose(euclidean, expected, rtol=1e-13)
    np.testing.assert_allclose(
        euclidean, paired_base_distances(A, ia, B, ib, "euclidean"), rtol=1e-13
    )


def test_the_metrics_search_takes_euclidean_distances_from_the_device(digits32, monkeypatch):
    import didi.distance._metric as metric_module

    X = digits32[0][:100]
    clf = TorchClassifier(make_net())
    on_host = []
    original = metric_module.paired_base_distances
    monkeypatch.setattr(
        metric_module,
        "paired_base_distances",
        lambda A, ia, *args, **kw: on_host.append(len(ia)) or original(A, ia, *args, **kw),
    )
    graph = FisherJSMetric(clf, n_neighbors=8).fit_transform(X)
    assert sum(on_host) == 0  # every pair the search evaluated was measured on the device
    monkeypatch.setattr(metric_module, "paired_base_distances", original)
    host = FisherJSMetric(lambda Z: clf.predict_proba(Z), n_neighbors=8).fit_transform(X)
    np.testing.assert_array_equal(graph.indices, host.indices)
    np.testing.assert_allclose(graph.data, host.data, rtol=1e-10, atol=1e-12)


def test_an_evaluator_without_euclidean_distances_leaves_them_to_the_host(digits32):
    X = digits32[0][:20].astype(np.float64)
    p = np.full((20, 10), 0.1)

    class Plain:
        def predict_proba(self, Z):
            return np.full((len(Z), 10), 0.1)

        def path_length_evaluator(self, A, B, proba_A, proba_B, n_steps):
            return lambda ia, ib: np.zeros(len(ia))

    proba = ProbaFunction(Plain(), 100)
    lengths, euclidean = proba.path_lengths_and_euclidean(
        X, X, p, p, np.arange(5), np.arange(5, 10), 3
    )
    np.testing.assert_array_equal(lengths, np.zeros(5))
    assert euclidean is None and proba.n_rows == 15


def test_an_evaluators_distances_of_the_wrong_shape_are_refused(digits32):
    X = digits32[0][:20]
    p = np.full((20, 10), 0.1)

    class Evaluator:
        def __call__(self, ia, ib):
            return np.zeros(len(ia))

        def lengths_and_euclidean(self, ia, ib):
            return np.zeros(len(ia)), np.zeros(len(ia) + 1)

    class Odd:
        def predict_proba(self, Z):
            return np.full((len(Z), 10), 0.1)

        def path_length_evaluator(self, A, B, proba_A, proba_B, n_steps):
            return Evaluator()

    proba = ProbaFunction(Odd(), 100)
    with pytest.raises(ValueError, match=r"returned distances of shape \(6,\) for 5 pairs"):
        proba.path_lengths_and_euclidean(X, X, p, p, np.arange(5), np.arange(5, 10), 3)


@pytest.mark.parametrize("n_neighbors", [None, 8])
def test_metric_hands_pairs_to_the_device(digits, trained, n_neighbors):
    X, _ = digits
    X = X[:90] / 16
    clf = TorchClassifier(trained)
    calls = []
    original = clf.predict_proba
    clf.predict_proba = lambda Z: calls.append(len(Z)) or original(Z)
    on_device = FisherJSMetric(clf, n_neighbors=n_neighbors, n_jobs=2)
    host = FisherJSMetric(lambda Z: original(Z), n_neighbors=n_neighbors)
    D_device, D_host = on_device.fit_transform(X), host.fit_transform(X)
    if n_neighbors is not None:
        D_device, D_host = D_device.toarray(), D_host.toarray()
    np.testing.assert_allclose(D_device, D_host, rtol=1e-10, atol=1e-12)
    assert sum(calls) == len(X)  # predict_proba only for the samples themselves
    assert on_device.n_classifier_rows_ == host.n_classifier_rows_


def test_decision_map_with_a_torch_model_round_trips(digits, trained):
    X, y = digits
    X, y = X[:150] / 16, y[:150]
    dmap = DecisionMap(TorchClassifier(trained), resolution=12, random_state=0).fit(X, y)
    assert dmap.scores_["q_knn"] > 0.8
    np.testing.assert_array_equal(dmap.classes_, np.arange(10))
    loaded = pickle.loads(pickle.dumps(dmap))
    np.testing.assert_allclose(loaded.transform(X[:5]), dmap.transform(X[:5]))
    np.testing.assert_array_equal(loaded.grid_labels_, dmap.grid_labels_)


def test_integer_targets_with_named_classes_are_class_indices(digits, trained):
    from didi import DecisionMapDisplay

    X, y = digits
    names = [f"digit {k}" for k in range(10)]
    clf = TorchClassifier(trained, classes=names)
    dmap = DecisionMap(clf, resolution=8, random_state=0).fit(X[:80] / 16, y[:80])
    np.testing.assert_array_equal(DecisionMapDisplay.from_estimator(dmap).true, y[:80])
    # Integer class labels that do not match are not reinterpreted: they warn.
    plain = DecisionMap(TorchClassifier(trained, classes=np.arange(1, 11)), resolution=8)
    plain.fit(
        X[:40] / 16,
        y[:40],
    )
    with pytest.warns(UserWarning, match="labels in y are not among"):
        DecisionMapDisplay.from_estimator(plain, y=np.zeros(40, dtype=int))
    with pytest.warns(UserWarning, match="2 of 80 labels in y are not among"):
        labels = np.array(names)[y[:80]].astype(object)
        labels[:2] = "cat"
        DecisionMapDisplay.from_estimator(dmap, y=labels)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_ranking_on_the_device_equals_numpy(digits, digits_mlp, device, metric, monkeypatch):
    from didi.adapters._torch_ranking import DeviceRanker, torch_exact_candidates
    from didi.distance import _bounds, _ranking

    X = digits[0][:250] + np.random.default_rng(0).normal(scale=0.01, size=(250, 64))
    proba = digits_mlp.predict_proba(X)
    terms = _bounds.bound_terms(X, proba, metric, X.mean(axis=0))
    weights = _bounds.bound_weights(
        0.65, 0.8, 40.0 if metric == "euclidean" else 0.5, metric, terms
    )
    monkeypatch.setattr(
        "didi.adapters._torch_ranking._DEVICE_BLOCK_ELEMENTS", 250 * 10 * 9
    )  # many blocks
    for rows, width, exclude in [(np.arange(250), 20, True), (np.arange(3, 250, 7), 249, True),
                                 (np.arange(0, 250, 5), 40, False)]:  # fmt: skip
        expected = _ranking.exact_candidates(
            terms, rows, terms, weights, width, exclude_self=exclude
        )
        found = torch_exact_candidates(
            terms, rows, terms, weights, width, exclude_self=exclude, device=torch.device(device)
        )
        # Terms uploaded once and reused, as in a fit: the same table.
        ranker = DeviceRanker(torch.device(device), _ranking.exact_candidates)
        again = ranker(terms, rows, terms, weights, width, exclude_self=exclude)
        for table in (found, again):
            np.testing.assert_array_equal(table[0], expected[0])
            np.testing.assert_allclose(table[1], expected[1], rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(table[2], expected[2], rtol=1e-12, atol=1e-13)
        _, base = ranker.candidates_and_base_candidates(
            terms, rows, terms, weights, width, 12, exclude_self=exclude
        )
        if metric == "cosine":
            assert base is None
            continue
        # Each row's 12 smallest base bounds hold its nearest samples wherever the
        # next bound certifies them, and every other sample is at least that far.
        D = np.linalg.norm(X[rows][:, None] - X[None], axis=2)
        if exclude:
            D[np.arange(len(rows)), rows] = np.inf
        chosen = np.take_along_axis(D, base.indices, 1)
        outside = D.copy()
        np.put_along_axis(outside, base.indices, np.inf, axis=1)
        assert np.all(base.next_distance <= outside.min(axis=1) * (1 + 1e-12))
        assert np.all(np.sort(chosen, axis=1)[:, -1] <= np.sort(D, axis=1)[:, 12] + 1e-9)


def test_device_ranker_hands_too_large_sets_to_the_host(monkeypatch):
    from didi.adapters._torch_ranking import DeviceRanker
    from didi.distance import _bounds, _ranking

    X = np.random.default_rng(0).normal(size=(40, 3))
    proba = softmax(X @ np.ones((3, 2)), axis=1)
    terms = _bounds.bound_terms(X, proba, "euclidean", X.mean(axis=0))
    weights = _bounds.bound_weights(0.65, 0.8, 1.0, "euclidean", terms)
    calls = []

    def host(*args, **kwargs):
        calls.append(kwargs)
        return _ranking.exact_candidates(*args, **kwargs)

    monkeypatch.setattr("didi.adapters._torch_ranking.fits_on", lambda device, n_bytes: False)
    table = DeviceRanker(torch.device("cpu"), host)(
        terms, np.arange(40), terms, weights, 5, exclude_self=True
    )
    assert calls == [{"exclude_self": True}]
    expected = _ranking.exact_candidates(terms, np.arange(40), terms, weights, 5, exclude_self=True)
    np.testing.assert_array_equal(table[0], expected[0])


def test_metric_ranks_on_the_device_when_offered(digits, trained, monkeypatch):
    from didi.adapters._torch_ranking import DeviceRanker

    X = digits[0][:150] / 16
    host = FisherJSMetric(TorchClassifier(trained), n_neighbors=10)
    graph_host = host.fit_transform(X)
    monkeypatch.setattr(  # a CPU stands in for the GPU
        TorchClassifier,
        "_candidate_ranker",
        lambda self, host_ranker: DeviceRanker(torch.device("cpu"), host_ranker),
    )
    device = FisherJSMetric(TorchClassifier(trained), n_neighbors=10)
    graph_device = device.fit_transform(X)
    assert host.knn_search_["ranked_on"] == "host"
    assert device.knn_search_["ranked_on"] == "device"
    np.testing.assert_array_equal(graph_device.toarray(), graph_host.toarray())
    # The device's products also give each sample's exact nearest in pixel distance
    # (ties by index); the host's double-precision ranking (150 samples) does not.
    assert host.base_knn_indices_ is None
    D = np.linalg.norm(X[:, None] - X[None], axis=2)
    np.fill_diagonal(D, np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(150), D.shape), D), axis=1)[:, :10]
    np.testing.assert_array_equal(device.base_knn_indices_, order)
    np.testing.assert_array_equal(
        device.transform(X[:20]).toarray(), host.transform(X[:20]).toarray()
    )


def test_a_device_that_cannot_hold_the_samples_leaves_ranking_and_limits_to_the_host(
    digits, trained, monkeypatch
):
    import didi.distance._metric as metric_module
    from didi.adapters._torch_ranking import DeviceRanker

    X = digits[0][:150] / 16
    monkeypatch.setattr(
        TorchClassifier,
        "_candidate_ranker",
        lambda self, host_ranker: DeviceRanker(torch.device("cpu"), host_ranker),
    )
    monkeypatch.setattr("didi.adapters._torch_ranking.fits_on", lambda device, n_bytes: False)
    # The host's limit applies, not the device's: beyond it, the descent.
    monkeypatch.setattr(metric_module, "EXACT_CANDIDATES_MAX_SAMPLES", 100)
    metric = FisherJSMetric(TorchClassifier(trained), n_neighbors=10).fit(X)
    assert metric.knn_search_["ranked_on"] == "host"
    assert metric.knn_search_["candidates"] == "nndescent"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(digits, trained):
    X, _ = digits
    X = X[:100] / 16
    cpu = FisherJSMetric(TorchClassifier(trained, device="cpu"), n_neighbors=10).fit_transform(X)
    net = make_net(dtype=torch.float64)
    net.load_state_dict(trained.state_dict())
    on_gpu = FisherJSMetric(TorchClassifier(net, device="cuda"), n_neighbors=10)
    gpu = on_gpu.fit_transform(X)
    assert on_gpu.knn_search_["ranked_on"] == "device"
    np.testing.assert_allclose(gpu.toarray(), cpu.toarray(), rtol=1e-9, atol=1e-12)
    assert next(net.parameters()).is_cuda  # moved there, as documented


# --------------------------------------------------------------- skorch


def test_skorch_classifier_plugs_in_unchanged(digits):
    skorch = pytest.importorskip("skorch")
    X, y = digits
    X = (X / 16).astype(np.float32)
    torch.manual_seed(0)
    net = skorch.NeuralNetClassifier(
        make_net(tail=(torch.nn.Softmax(dim=1),)), max_epochs=5, lr=0.5, verbose=0
    ).fit(X[200:], y[200:].astype(np.int64))
    dmap = DecisionMap(net, resolution=10, random_state=0).fit(X[:100], y[:100])
    assert dmap.scores_["q_knn"] > 0.5
    # The same graph as from the net's predict_proba behind a plain function.
    metric = dmap.projection_.metric_
    plain = FisherJSMetric(lambda Z: net.predict_proba(Z), n_neighbors=metric.n_neighbors_)
    np.testing.assert_allclose(
        metric.fit_transform(X[:100]).toarray(),
        plain.fit_transform(X[:100]).toarray(),
        atol=1e-12,
    )


def linear_distances(weight, bias, X):
    """Exact distance to a linear classifier's boundary: to the nearest facet hyperplane."""
    scores = X @ weight.T + bias
    own = scores.argmax(axis=1)
    return np.array(
        [
            min(
                (scores[i, own[i]] - scores[i, k]) / np.linalg.norm(weight[own[i]] - weight[k])
                for k in range(len(weight))
                if k != own[i]
            )
            for i in range(len(X))
        ]
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("output", ["logits", "log_probabilities"])
def test_deepfool_distance_of_a_linear_model_is_exact(device, output):
    torch.manual_seed(0)
    linear = torch.nn.Linear(6, 4).double()
    module = linear if output == "logits" else torch.nn.Sequential(linear, torch.nn.LogSoftmax(1))
    clf = TorchClassifier(module, output=output, device=device, batch_size=64)
    X = np.random.default_rng(1).normal(size=(150, 6))
    exact = linear_distances(
        linear.weight.detach().cpu().numpy(), linear.bias.detach().cpu().numpy(), X
    )
    found = clf.boundary_distances(X, overshoot=0.0)
    # One linear step lands on the nearest facet, pushed 1e-4 / ‖w‖ beyond it.
    assert np.all(found >= exact - 1e-9)
    np.testing.assert_allclose(found, exact, atol=1e-3)
    pushed = clf.boundary_distances(X, overshoot=0.1)
    np.testing.assert_allclose(pushed, 1.1 * found, rtol=1e-3)


def test_deepfool_moves_a_network_across_and_leaves_the_module_as_it_was():
    net = make_net(n_in=5, n_out=3, tail=(torch.nn.Dropout(0.5),))
    net.train()
    clf = TorchClassifier(net)
    X = np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32)
    found = clf.boundary_distances(X)
    assert np.all(np.isfinite(found)) and np.all(found > 0)
    assert net.training and all(p.grad is None for p in net.parameters())


def test_decision_map_boundary_layer_uses_deepfool_for_a_torch_model(digits, trained):
    X, y = digits
    X = X[:80] / 16
    clf = TorchClassifier(trained)
    dmap = DecisionMap(clf, n_neighbors=10, resolution=5, random_state=0).fit(X, y[:80])
    dmap.compute_layers("boundary_distance")
    samples = dmap.inverse_transform(
        np.stack(np.meshgrid(dmap.grid_x_, dmap.grid_y_), -1).reshape(-1, 2)
    )
    np.testing.assert_allclose(
        dmap.grid_boundary_distance_.ravel(), clf.boundary_distances(samples), rtol=1e-6
    )
    assert dmap.layer_rows_["boundary_distance"] == 0  # the classifier's own passes
    bisected = DecisionMap(clf, n_neighbors=10, resolution=5, random_state=0).fit(X, y[:80])
    bisected.compute_layers("boundary_distance", boundary_method="bisection")
    # Both bound the same distance from above; DeepFool's bound is the tighter one mostly.
    tighter = dmap.grid_boundary_distance_ <= bisected.grid_boundary_distance_ * 1.05
    assert tighter.mean() > 0.8


def test_deepfool_on_a_binary_logit_far_from_its_boundary_is_exact():
    torch.manual_seed(0)
    linear = torch.nn.Linear(6, 1).double()
    clf = TorchClassifier(linear)
    X = 200 * np.random.default_rng(2).normal(size=(50, 6))
    w, b = linear.weight.detach().numpy()[0], float(linear.bias.detach())
    exact = np.abs(X @ w + b) / np.linalg.norm(w)
    found = clf.boundary_distances(X, overshoot=0.0)
    # Its sigmoid saturates at 1 here; the log-odds it is linearised on do not.
    assert np.all(np.isfinite(found))
    np.testing.assert_allclose(found, exact, rtol=1e-6, atol=1e-3)


def test_deepfool_with_many_classes_still_bounds_from_above():
    torch.manual_seed(0)
    linear = torch.nn.Linear(5, 30).double()
    clf = TorchClassifier(linear, batch_size=16)
    X = np.random.default_rng(3).normal(size=(40, 5))
    weight, bias = linear.weight.detach().numpy(), linear.bias.detach().numpy()
    found = clf.boundary_distances(X, overshoot=0.0)
    assert np.all(found >= linear_distances(weight, bias, X) - 1e-9)
    with pytest.raises(ValueError, match="max_iter"):
        clf.boundary_distances(X, max_iter=0)
    with pytest.raises(ValueError, match="overshoot"):
        clf.boundary_distances(X, overshoot=-1.0)


def test_read_only_samples_pass_without_pytorchs_warning():
    """Read-only samples and targets (memory maps) go through the probabilities, a
    map's paths, unit responses, gradients, Integrated Gradients and DeepFool without
    PyTorch's warning about non-writable arrays. PyTorch gives it once per process, so
    the calls run in a fresh one, where it is an error."""
    code = (
        "import warnings, numpy as np, torch\n"
        "warnings.filterwarnings('error', message='The given NumPy array is not writable')\n"
        "from didi import DecisionMap\n"
        "from didi.torch import TorchClassifier\n"
        "torch.manual_seed(0)\n"
        "net = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.Tanh(), "
        "torch.nn.Linear(6, 3))\n"
        "X = np.random.default_rng(0).normal(size=(90, 8)).astype(np.float32)\n"
        "target, baseline = np.zeros(len(X), dtype=np.int64), np.zeros(8, np.float32)\n"
        "for array in (X, target, baseline):\n"
        "    array.setflags(write=False)\n"
        "clf = TorchClassifier(net, batch_size=32)\n"
        "y = clf.predict(X)\n"
        "dmap = DecisionMap(clf, n_neighbors=5, resolution=8, n_epochs=10, "
        "random_state=0).fit(X, y)\n"
        "clf.unit_responses(X, ['0'])\n"
        "clf.score_gradients(X, target)\n"
        "clf.integrated_gradients(X[:4], target[:4], baseline, n_steps=4)\n"
        "clf.boundary_distances(X[:4], max_iter=3)\n"
        "print(dmap.embedding_.shape)\n"
    )
    assert output_of_fresh_process(code) == "(90, 2)"
