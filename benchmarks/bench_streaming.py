"""``DecisionMap.add_samples``: classifier rows of an update against a fresh fit.

Digits; an MLP(32) trained on all but the first 300 digits. A map of the first 120
digits (``n_neighbors=10``, ``random_state=0``) gets the next 30 with
``add_samples``; the same 150 are also fitted afresh. Reported: the classifier rows
spent on distances by each, whether the k-NN graphs agree, and how far the 120 old
samples moved (Procrustes disparity of their positions before and after, for the
update and for the fresh fit).

Run: ``python benchmarks/bench_streaming.py`` (about half a minute).
"""

from __future__ import annotations

import numpy as np
from _common import machine_info, markdown_table, write_results
from scipy.spatial import procrustes
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

from didi import DecisionMap


def main() -> None:
    X, y = load_digits(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=600, random_state=0).fit(
        X[300:], y[300:]
    )
    params = dict(n_neighbors=10, resolution=8, random_state=0)
    dmap = DecisionMap(clf, **params).fit(X[:120], y[:120])
    before = dmap.embedding_.copy()
    dmap.add_samples(X[120:150], y[120:150])
    fresh = DecisionMap(clf, **params).fit(X[:150], y[:150])
    update, full = dmap.projection_.metric_, fresh.projection_.metric_
    result = {
        "update_distance_rows": int(update.n_classifier_rows_),
        "fresh_distance_rows": int(full.n_classifier_rows_),
        "same_graph": bool(
            np.array_equal(update.knn_indices_, full.knn_indices_)
            and np.allclose(update.knn_distances_, full.knn_distances_, rtol=1e-12)
        ),
        "disparity_update": float(procrustes(before, dmap.embedding_[:120])[2]),
        "disparity_fresh": float(procrustes(before, fresh.embedding_[:120])[2]),
    }
    rows = [[name, value] for name, value in result.items()]
    write_results(
        "bench_streaming",
        {"machine": machine_info(), **result},
        markdown_table(["figure", "value"], rows),
    )


if __name__ == "__main__":
    main()
