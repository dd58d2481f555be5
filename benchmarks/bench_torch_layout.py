"""UMAP's layout in PyTorch against umap-learn's, on the same graph, side by side.

For each data set the Euclidean 15-NN graph is built once; umap-learn then lays it
out with its own numba SGD and with ``layout_device`` set (the PyTorch layout), both
seeded, after one untimed warm-up fit each (numba compilation, torch start-up).
Reported per layout: seconds of the whole ``fit_umap`` (graph to layout; the graph's
fuzzy set and the spectral start are umap-learn's in both), 5-NN accuracy of the
labels in 2-D (5-fold CV, the paper's Q_kNN with the true labels) and
trustworthiness (10 neighbours, on a 3,000-sample subset for the larger set).

Data: scikit-learn's 1,797 digits, and ``--n-fashion`` Fashion-MNIST images (Debian's
``dataset-fashion-mnist``). Run::

    python benchmarks/bench_torch_layout.py                       # CPU only
    python benchmarks/bench_torch_layout.py --devices cpu cuda    # on a GPU machine
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.manifold import trustworthiness
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, markdown_table, write_results

from didi.datasets import load_fashion_mnist
from didi.decision_map._euclidean import euclidean_neighbour_graph
from didi.projection._umap import fit_umap

OPTIONS = {"n_neighbors": 15, "min_dist": 0.1, "spread": 1.0, "n_epochs": None, "random_state": 0}


def quality(X: np.ndarray, y: np.ndarray, embedding: np.ndarray) -> tuple[float, float]:
    """5-NN accuracy in 2-D and trustworthiness (on at most 3,000 samples)."""
    knn = cross_val_score(KNeighborsClassifier(5), embedding, y, cv=5).mean()
    keep = np.random.default_rng(0).permutation(len(X))[:3000]
    return float(knn), float(trustworthiness(X[keep], embedding[keep], n_neighbors=10))


def one_layout(X, y, graph, device) -> dict:
    """Warm up, then time one seeded fit of the graph with ``device``'s layout."""
    fit_umap(graph.copy(), layout_device=device, **{**OPTIONS, "n_epochs": 5})
    start = time.perf_counter()
    model = fit_umap(graph.copy(), layout_device=device, **OPTIONS)
    seconds = time.perf_counter() - start
    knn, trust = quality(X, y, model.embedding_)
    return {"seconds": seconds, "q_knn": knn, "trustworthiness": trust}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", nargs="+", default=["cpu"])
    parser.add_argument("--n-fashion", type=int, default=10000)
    args = parser.parse_args()
    X_digits, y_digits = load_digits(return_X_y=True)
    images, labels = load_fashion_mnist("test")
    keep = slice(0, args.n_fashion)
    X_fashion = images[keep].reshape(-1, 784) / 255.0
    problems = {"digits": (X_digits, y_digits), "fashion": (X_fashion, labels[keep])}
    results, rows = [], []
    for name, (X, y) in problems.items():
        graph = euclidean_neighbour_graph(X, X, OPTIONS["n_neighbors"])
        for device in [None, *args.devices]:
            found = {"data": name, "samples": len(X), "layout": device or "umap-learn (numba)",
                     **one_layout(X, y, graph, device)}  # fmt: skip
            results.append(found)
            shown = (f"{found['seconds']:.2f}", f"{100 * found['q_knn']:.1f}",
                     f"{found['trustworthiness']:.4f}")  # fmt: skip
            rows.append([name, len(X), found["layout"], *shown])
            print(rows[-1], flush=True)
    write_results(
        "bench_torch_layout",
        {"machine": machine_info(), "args": vars(args), "results": results},
        markdown_table(["data", "samples", "layout", "fit s", "q_kNN %", "trustworthiness"], rows),
    )


if __name__ == "__main__":
    main()
