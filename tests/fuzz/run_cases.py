"""Run generated DecisionMap cases, one per line of JSON on stdin; print one verdict each.

Started as a child process by ``test_fuzz.py``, so that a crash of the interpreter
(a signal, a heap corruption) ends this process, not the test run, and is seen.
"""

import json
import sys
import warnings

import numpy as np

from didi import DecisionMap


def softmax_classifier(weights: np.ndarray, scale: float):
    def predict(X):
        z = np.asarray(X, dtype=np.float64).reshape(len(X), -1) / scale @ weights
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    return predict


def samples(case: dict, rng: np.random.Generator) -> np.ndarray:
    shape = (case["n"], *case["sample_shape"])
    X = rng.normal(size=shape) * case["scale"]
    if case["dtype"] == "float32":
        X = X.astype(np.float32)
    elif case["dtype"] == "int64":
        X = np.round(X).astype(np.int64)
    return X


def check_map(dmap: DecisionMap, X: np.ndarray, case: dict) -> None:
    """What every map must satisfy."""
    n, res = case["n"], case["params"].get("resolution", 8)
    assert dmap.embedding_.shape == (n, 2) and np.isfinite(dmap.embedding_).all()
    graph = dmap.projection_.metric_
    if graph.knn_indices_ is not None:
        assert 0 <= graph.knn_indices_.min() and graph.knn_indices_.max() < n
        assert np.isfinite(graph.knn_distances_).all() and graph.knn_distances_.min() >= 0
    assert dmap.grid_proba_.shape[:2] == (res, res)
    np.testing.assert_allclose(dmap.grid_proba_.sum(axis=-1), 1.0, atol=1e-9)
    for name, value in dmap.scores_.items():
        if name == "gradient":  # data radii per map width: any finite size
            assert np.isfinite(value) and value >= 0, (name, value)
            continue
        # q_not_data is nan without a hold-out, acc_m without labels.
        unmeasured = name in ("q_not_data", "acc_m") and np.isnan(value)
        assert (0.0 <= value <= 1.0) or unmeasured, (name, value)
    placed = dmap.transform(X[:3])
    assert placed.shape == (3, 2) and np.isfinite(placed).all()


def run(case: dict) -> str:
    rng = np.random.default_rng(case["seed"])
    X = samples(case, rng)
    width = int(np.prod(case["sample_shape"]))
    clf = softmax_classifier(
        rng.normal(size=(width, case["n_classes"])), max(case["scale"], 1e-300)
    )
    params = {"random_state": 0, "resolution": 8, "n_neighbors": 5, **case["params"]}
    params = {k: (float(v) if v in ("nan", "inf", "-inf") else v) for k, v in params.items()}
    try:
        dmap = DecisionMap(clf, **params).fit(X)
    except (ValueError, TypeError, MemoryError) as exc:
        return f"refused {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    check_map(dmap, X, case)
    return "ok"


def main() -> None:
    warnings.simplefilter("ignore")
    for line in sys.stdin:
        case = json.loads(line)
        print("start", case["id"], flush=True)
        print("done", case["id"], run(case), flush=True)


if __name__ == "__main__":
    main()
