"""The adaptive grid against the full one: classifier rows, time and agreement.

One map per data set (defaults, ``random_state=0``): 600 digits under the benchmarks'
MLP trained on the other 1,197, and 2,000 Fashion-MNIST test images under an MLP trained on
12,000 training images (scikit-learn, seeded). For each resolution the same map's
π⁻¹ and classifier classify the full grid and the adaptive grid, side by side;
reported are the rows each classified, their ratio, the seconds of each, the share
of cells whose labels differ, and the mean absolute difference of the cells'
normalised entropy (the certainty shading). Needs ``dataset-fashion-mnist``. Run::

    python benchmarks/bench_adaptive_grid.py            # resolutions 100, 256, 512
    python benchmarks/bench_adaptive_grid.py --quick    # digits at 100 and 256
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    digits_split,
    fashion_mlp_problem,
    git_commit,
    machine_info,
    make_classifier,
    markdown_table,
    write_results,
)

from didi import DecisionMap
from didi._proba import ProbaFunction
from didi.decision_map._grid import classify_grid, classify_grid_adaptive, grid_axes
from didi.distance._divergence import normalized_entropy


def digits_map() -> tuple[DecisionMap, object]:
    X_map, _, X_train, y_train = digits_split(600)
    clf = make_classifier(X_train, y_train)
    return DecisionMap(clf, random_state=0).fit(X_map), clf


def fashion_map() -> tuple[DecisionMap, object]:
    X, _, clf = fashion_mlp_problem()
    return DecisionMap(clf, random_state=0).fit(X[60000:62000]), clf


def compare(dmap: DecisionMap, clf, resolution: int) -> dict:
    """Full and adaptive grids of one map at one resolution, side by side."""
    grid_x, grid_y = grid_axes(dmap.embedding_, resolution, dmap.margin)
    full_fn, adaptive_fn = ProbaFunction(clf, 4096), ProbaFunction(clf, 4096)
    clock = time.perf_counter()
    full = classify_grid(full_fn, dmap.inverse_, grid_x, grid_y)
    full_s = time.perf_counter() - clock
    clock = time.perf_counter()
    adaptive, _ = classify_grid_adaptive(adaptive_fn, dmap.inverse_, grid_x, grid_y)
    adaptive_s = time.perf_counter() - clock
    return {
        "resolution": resolution,
        "full_rows": full_fn.n_rows,
        "adaptive_rows": adaptive_fn.n_rows,
        "row_ratio": full_fn.n_rows / adaptive_fn.n_rows,
        "full_s": full_s,
        "adaptive_s": adaptive_s,
        "labels_differ": float(np.mean(full.argmax(-1) != adaptive.argmax(-1))),
        "entropy_mae": float(
            np.mean(np.abs(normalized_entropy(full) - normalized_entropy(adaptive)))
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    makers = {"digits": digits_map} if quick else {"digits": digits_map, "fashion": fashion_map}
    resolutions = (100, 256) if quick else (100, 256, 512)
    results = []
    for name, make in makers.items():
        dmap, clf = make()
        for resolution in resolutions:
            row = {"data": name, **compare(dmap, clf, resolution)}
            print(row, flush=True)
            results.append(row)
    table = markdown_table(
        ["data", "resolution", "rows full", "rows adaptive", "fewer rows", "s full",
         "s adaptive", "labels differ", "entropy MAE"],
        [
            [r["data"], r["resolution"], r["full_rows"], r["adaptive_rows"],
             f"{r['row_ratio']:.1f}×", f"{r['full_s']:.2f}", f"{r['adaptive_s']:.2f}",
             f"{100 * r['labels_differ']:.3f} %", f"{r['entropy_mae']:.4f}"]
            for r in results
        ],
    )  # fmt: skip
    name = "bench_adaptive_grid_quick" if quick else "bench_adaptive_grid"
    data = {"machine": machine_info(), "commit": git_commit(), "results": results}
    write_results(name, data, table)


if __name__ == "__main__":
    main()
