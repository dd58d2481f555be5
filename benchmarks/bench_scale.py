"""Decision maps of 600 to 70,000 Fashion-MNIST images: k-NN mode against dense.

Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package
(``apt-get install dataset-fashion-mnist``, files in
``/usr/share/datasets/fashion-mnist``); nothing is downloaded. A scikit-learn MLP
(784-128-10, float32) is trained once on 10,000 training images and cached beside
the results. The 70,000 images (train then test) are shuffled with a fixed seed and
the first N are mapped.

Each fit runs in its own process, so that its peak resident memory (``ru_maxrss``)
is its own. For every N, ``DecisionMap(clf, random_state=0)`` (k-NN mode, all four
scores) reports the wall time per stage and the classifier rows per point. Where
the dense computation fits (N ≤ 5,000), the same map is fitted with
``mode="dense"`` and the two are compared: recall of the k-NN graph against the
dense matrix's nearest neighbours, and the four scores side by side. Beyond that,
recall is measured on 300 sampled points, whose exact neighbours are found by
:meth:`FisherJSMetric.transform` (exact candidates against all fitted points).
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info, markdown_table, write_results

DATA = Path("/usr/share/datasets/fashion-mnist")
MODEL = RESULTS / "fashion_mlp.joblib"
SAMPLED_ROWS = 300
SCORES = ("q_knn_e", "q_knn", "q_data", "q_not_data")


def load_fashion_mnist() -> tuple[np.ndarray, np.ndarray]:
    """All 70,000 images as float32 in [0, 1], shape (n, 784), and their labels."""
    if not DATA.exists():
        raise SystemExit(
            f"{DATA} not found: install Debian's dataset-fashion-mnist package "
            "(apt-get install dataset-fashion-mnist)."
        )
    images, labels = [], []
    for part in ("train", "t10k"):
        with gzip.open(DATA / f"{part}-images-idx3-ubyte.gz") as fh:
            images.append(np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 784))
        with gzip.open(DATA / f"{part}-labels-idx1-ubyte.gz") as fh:
            labels.append(np.frombuffer(fh.read(), np.uint8, offset=8))
    return np.concatenate(images).astype(np.float32) / 255.0, np.concatenate(labels)


def classifier():
    """The MLP, trained on the first 10,000 training images (cached)."""
    import joblib
    from sklearn.neural_network import MLPClassifier

    if MODEL.exists():
        return joblib.load(MODEL)
    X, y = load_fashion_mnist()
    clf = MLPClassifier(hidden_layer_sizes=(128,), max_iter=60, random_state=0)
    clf.fit(X[:10_000], y[:10_000])
    RESULTS.mkdir(parents=True, exist_ok=True)
    joblib.dump(clf, MODEL)
    return clf


def mapped_points(n: int):
    X, y = load_fashion_mnist()
    order = np.random.default_rng(0).permutation(len(X))[:n]
    return X[order], y[order]


def neighbour_recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean fraction of each row's exact neighbours present in ``found``."""
    hits = [len(np.intersect1d(a, b)) for a, b in zip(found, exact, strict=True)]
    return float(np.sum(hits) / exact.size)


def graph_neighbours(graph) -> np.ndarray:
    """Neighbour indices of a k-NN graph with self first, without self."""
    width = graph.indptr[1]
    return graph.indices.reshape(graph.shape[0], width)[:, 1:]


def worker(n: int, mode: str) -> dict:
    """One fit, in this process; returns its figures."""
    from didi import DecisionMap, FisherJSMetric
    from didi.decision_map import _euclidean
    from didi.distance import _ranking
    from didi.distance._metric import EXACT_CANDIDATES_MAX_SAMPLES

    clf = classifier()
    X, y = mapped_points(n)
    # Load numba's code (UMAP, the pruned ranking's loops, and pynndescent's descent
    # where it will be used) on a small problem first: a one-time cost per process
    # (compilation, in part cached on disk after the first run on the machine),
    # reported apart.
    start = time.perf_counter()
    DecisionMap(clf, random_state=0, mode=mode, resolution=10).fit(X[:200], y[:200])
    # The Euclidean UMAP behind Q_kNN-E uses umap-learn's descent only where the
    # pruned ranking does not find its neighbours (the dense mode beyond 20,000).
    if mode == "dense" and n > _euclidean.EXACT_EUCLIDEAN_MAX_SAMPLES:
        limit, _euclidean.EXACT_EUCLIDEAN_MAX_SAMPLES = _euclidean.EXACT_EUCLIDEAN_MAX_SAMPLES, 0
        _euclidean.fit_euclidean_umap(
            X[:300], n_neighbors=30, min_dist=0.1, spread=1.0, n_epochs=10, random_state=0,
            umap_kwargs={"force_approximation_algorithm": True},
        )  # fmt: skip
        _euclidean.EXACT_EUCLIDEAN_MAX_SAMPLES = limit
    if mode == "knn" and n > _ranking.PRUNING_MIN_REFERENCES:
        limit, _ranking.PRUNING_MIN_REFERENCES = _ranking.PRUNING_MIN_REFERENCES, 0
        FisherJSMetric(clf, n_neighbors=29).fit(X[:300])
        _ranking.PRUNING_MIN_REFERENCES = limit
    if mode == "knn" and n > EXACT_CANDIDATES_MAX_SAMPLES:
        FisherJSMetric(clf, n_neighbors=29, candidates="nndescent").fit(X[:300])
    warm_up = time.perf_counter() - start
    start = time.perf_counter()
    dmap = DecisionMap(clf, random_state=0, mode=mode).fit(X, y)
    wall = time.perf_counter() - start
    metric = dmap.projection_.metric_
    out = {
        "n": n,
        "mode": mode,
        "wall_s": wall,
        "warm_up_s": warm_up,
        "timings": dmap.timings_,
        "scores": dmap.scores_,
        "classifier_rows": int(dmap.n_classifier_rows_),
        "distance_rows": int(metric.n_classifier_rows_),
        "distance_rows_per_point": metric.n_classifier_rows_ / n,
        "path_pairs_per_point": metric.n_path_pairs_ / n,
        "knn_search": metric.knn_search_,
        "classifier_accuracy": float(clf.score(X, y)),
    }
    if mode == "knn":
        found = metric.knn_indices_
        if n <= 5000:
            dense = FisherJSMetric(clf).fit_transform(X)
            np.fill_diagonal(dense, np.inf)
            exact = np.argsort(dense, axis=1, kind="stable")[:, : found.shape[1]]
            out["recall"] = neighbour_recall(found, exact)
            out["recall_rows"] = n
        else:
            rows = np.random.default_rng(1).choice(n, SAMPLED_ROWS, replace=False)
            exact = graph_neighbours(metric.transform(X[rows]))
            out["recall"] = neighbour_recall(found[rows], exact)
            out["recall_rows"] = SAMPLED_ROWS
    out["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[600, 5000, 20000, 70000])
    parser.add_argument("--dense-max", type=int, default=5000)
    parser.add_argument("--worker", nargs=2, metavar=("N", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(int(args.worker[0]), args.worker[1])))
        return

    classifier()  # train once, before the timed processes
    runs = []
    for n in args.sizes:
        for mode in ("knn", "dense") if n <= args.dense_max else ("knn",):
            print(f"N={n} mode={mode} ...", flush=True)
            done = subprocess.run(
                [sys.executable, __file__, "--worker", str(n), mode],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(runs[-1]), flush=True)
    report(runs)


def report(runs: list[dict]) -> None:
    stage_names = ["euclidean", "distances", "umap", "inverse", "grid", "scores"]
    rows = []
    for run in runs:
        search = run["knn_search"] or {}
        rows.append(
            [
                f"{run['n']:,}",
                run["mode"],
                f"{run['wall_s']:.1f}",
                f"{run['warm_up_s']:.1f}",
                *(f"{run['timings'].get(stage, 0.0):.1f}" for stage in stage_names),
                f"{search.get('candidate_seconds', float('nan')):.1f}",
                f"{run['distance_rows_per_point']:.0f}",
                f"{run['peak_rss_gib']:.2f}",
                f"{run['recall']:.4f}" if "recall" in run else "",
                *(
                    f"{100 * run['scores'][s]:.1f}"
                    for s in ("q_knn_e", "q_knn", "q_data", "q_not_data")
                ),
            ]
        )
    headers = [
        "N", "mode", "fit s", "JIT warm-up s", "Euclidean UMAP s", "distances s", "umap s",
        "inverse s", "grid s",
        "scores s", "of which candidates s", "classifier rows / point", "peak RSS GiB",
        "k-NN recall", "Q_kNN-E %", "Q_kNN %", "Q_data %", "Q_¬data %",
    ]  # fmt: skip
    table = markdown_table(headers, rows)
    dense = {run["n"]: run for run in runs if run["mode"] == "dense"}
    ratios = []
    for run in runs:
        if run["mode"] == "knn" and run["n"] in dense:
            other = dense[run["n"]]
            rows = other["distance_rows"] / run["distance_rows"]
            ratios.append(
                f"N = {run['n']:,}: dense uses {rows:.1f}× the classifier rows of k-NN for "
                f"distances and takes {other['wall_s'] / run['wall_s']:.1f}× its wall time"
            )
    markdown = table + "\n\n" + "\n".join(f"* {line}" for line in ratios)
    write_results("bench_scale", {"machine": machine_info(), "runs": runs}, markdown)


if __name__ == "__main__":
    main()
