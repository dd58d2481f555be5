"""The Fashion-MNIST map with its path evaluation on a dask cluster, beside joblib's
local processes.

``bench_scale.py``'s setting: its MLP (784-128-10, trained on 10,000 training images,
cached beside the results) and the first N of the 70,000 shuffled images;
``DecisionMap(clf, random_state=0)`` with all four scores. Two runs, side by side:

* ``local``: ``n_jobs=2``, joblib's default (loky) processes on this machine;
* ``dask``: ``n_jobs=-1`` under ``joblib.parallel_config(backend="dask")`` with a
  ``distributed.LocalCluster`` of ``--workers`` single-threaded worker processes,
  the way past one machine (a ``Client`` of a real cluster works the same).

Reported: seconds per stage, and whether the two k-NN graphs are identical (they
must be: where a block runs does not change it). On one machine the cluster adds
scheduling and transfer; the figure is its overhead, not a speed-up. Run::

    python benchmarks/bench_dask.py --sizes 70000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import joblib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, markdown_table, write_results
from bench_scale import classifier, mapped_points

from didi import DecisionMap


def fit(clf, X, y, n_jobs) -> tuple[float, DecisionMap]:
    start = time.perf_counter()
    dmap = DecisionMap(clf, random_state=0, n_jobs=n_jobs).fit(X, y)
    return time.perf_counter() - start, dmap


def main() -> None:
    import distributed

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    clf = classifier()
    DecisionMap(clf, random_state=0, resolution=10).fit(*mapped_points(200))  # compile
    results, rows = [], []
    for n in args.sizes:
        X, y = mapped_points(n)
        local_s, local = fit(clf, X, y, 2)
        with (
            distributed.LocalCluster(
                n_workers=args.workers, threads_per_worker=1, dashboard_address=None
            ) as cluster,  # fmt: skip
            distributed.Client(cluster),
            joblib.parallel_config(backend="dask"),
        ):
            dask_s, remote = fit(clf, X, y, -1)
        same = bool(
            np.array_equal(local.projection_.metric_.knn_indices_,
                           remote.projection_.metric_.knn_indices_)
        )  # fmt: skip
        runs = (("local (n_jobs=2)", local_s, local),
                (f"dask LocalCluster ({args.workers} workers)", dask_s, remote))  # fmt: skip
        for name, seconds, dmap in runs:
            results.append({"n": n, "run": name, "seconds": seconds, "stages": dmap.timings_,
                            "scores": dmap.scores_, "same_graph": same})  # fmt: skip
            stages = dmap.timings_
            rows.append([n, name, f"{seconds:.0f}", f"{stages.get('distances', 0):.0f}",
                         f"{stages.get('umap', 0):.0f}", f"{stages.get('scores', 0):.0f}",
                         "yes" if same else "no"])  # fmt: skip
            print(rows[-1], flush=True)
    write_results(
        "bench_dask",
        {"machine": machine_info(), "args": vars(args), "results": results},
        markdown_table(
            ["N", "run", "fit s", "distances s", "umap s", "scores s", "same k-NN graph"], rows
        ),
    )


if __name__ == "__main__":
    main()
