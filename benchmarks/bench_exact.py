"""Exact linear regions and decision boundaries (didi.exact), and what sampled paths miss.

Part 1, planes: ``PlanarSlice.fit`` on

* a width-10, depth-5 ReLU MLP trained on scikit-learn's two moons (the plane is the
  input space itself: the data's bounding box grown by 0.5);
* a Fashion-MNIST MLP (784-128-64-10) and a small Fashion-MNIST ConvNet (two 3×3
  convolutions of stride 2 with 4 and 8 channels, ReLU, 2×2 max pooling, a 32-unit
  dense layer), on the plane through three test images of different classes (their
  bounding box in the plane, grown by 10 %), and for the ConvNet also on a 1 × 1
  window (pixel units, images are in [0, 1]) around the first of them,

reporting linear regions, cells (regions cut along the decision boundary), boundary
segments, seconds and the process's peak memory.

Part 2, ``n_steps``: along the straight segments between each of 300 test images and
its 10 nearest Euclidean neighbours (the pairs a k-NN graph evaluates), the exact
pieces (:func:`didi.exact.exact_paths`) give every decision-boundary crossing and the
path length resolved at every kink. For each ``n_steps``: the share of pairs with
crossings that the sampled points miss, missed crossings over all crossings, and the
relative error of the sampled DiDi path length against the resolved one.

The networks are trained on CPU on first use (about a minute) and cached in
``benchmarks/results/exact_*.pt`` (not in git). Needs PyTorch and Debian's
``dataset-fashion-mnist``. Run::

    python benchmarks/bench_exact.py            # ~3 min on 2 cores
    python benchmarks/bench_exact.py --quick    # toy problem and a few pairs only
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_moons
from sklearn.neighbors import NearestNeighbors

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info, markdown_table, write_results

from didi.datasets import load_fashion_mnist
from didi.exact import PlanarSlice, exact_paths

N_STEPS = [0, 1, 2, 3, 5, 10, 20, 50, 100]
NAMES = {"MLP": "MLP 784-128-64-10", "ConvNet": "ConvNet 4-8-32"}


def toy_mlp() -> torch.nn.Module:
    layers, size = [], 2
    for _ in range(5):
        layers += [torch.nn.Linear(size, 10), torch.nn.ReLU()]
        size = 10
    return torch.nn.Sequential(*layers, torch.nn.Linear(10, 2))


def fashion_mlp() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(784, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )  # fmt: skip


def fashion_convnet() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(4, 8, 3, stride=2, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(8 * 3 * 3, 32), torch.nn.ReLU(),
        torch.nn.Linear(32, 10),
    )  # fmt: skip


def train(net, X, y, *, epochs, batch_size, lr, seed=0):
    torch.manual_seed(seed)
    X, y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start : start + batch_size]
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(net(X[batch]), y[batch]).backward()
            optimiser.step()
    return net.eval()


def cached(name, build, fit):
    path = RESULTS / f"exact_{name}.pt"
    net = build()
    if path.exists():
        net.load_state_dict(torch.load(path))
        return net.eval()
    torch.manual_seed(0)
    net = fit(build())
    RESULTS.mkdir(exist_ok=True)
    torch.save(net.state_dict(), path)
    return net


def accuracy(net, X, y) -> float:
    with torch.no_grad():
        return float((net(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy() == y).mean())


def slice_row(name, net, **plane_params):
    start = time.perf_counter()
    plane = PlanarSlice(net, **plane_params).fit()
    seconds = time.perf_counter() - start
    return {
        "network": name,
        "linear_regions": plane.n_linear_regions_,
        "cells": len(plane.regions_),
        "boundary_segments": len(plane.boundary_),
        "classes_on_plane": len(np.unique(plane.region_classes_)),
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def distinct_class_indices(y, count=3):
    chosen, seen = [], set()
    for index, label in enumerate(y):
        if label not in seen:
            chosen.append(index)
            seen.add(label)
        if len(chosen) == count:
            return chosen
    raise ValueError("not enough classes")


def steps_study(net, images, n_neighbors, input_shape):
    """Missed crossings and path-length errors of sampled paths between neighbours."""
    flat = images.reshape(len(images), -1)
    _, neighbours = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(flat).kneighbors(flat)
    pairs = {tuple(sorted((i, j))) for i, row in enumerate(neighbours) for j in row[1:]}
    a, b = np.array(sorted(pairs)).T
    start = time.perf_counter()
    paths = exact_paths(net, flat[a], flat[b], input_shape=input_shape)
    seconds = time.perf_counter() - start
    crossings = np.array([len(p.crossings) for p in paths])
    resolved = np.array([p.path_length() for p in paths])
    rows = []
    for n_steps in N_STEPS:
        missed = np.array([p.missed_crossings(n_steps) for p in paths])
        sampled = np.array([p.path_length(n_steps) for p in paths])
        error = np.abs(sampled - resolved) / np.maximum(resolved, 1e-300)
        rows.append(
            {
                "n_steps": n_steps,
                "pairs_missing_crossings": float((missed > 0).mean()),
                "missed_over_all_crossings": float(missed.sum() / max(1, crossings.sum())),
                "length_error_mean": float(error.mean()),
                "length_error_p95": float(np.quantile(error, 0.95)),
                "length_error_max": float(error.max()),
            }
        )
    summary = {
        "pairs": len(paths),
        "seconds": round(seconds, 2),
        "pairs_with_crossings": float((crossings > 0).mean()),
        "mean_crossings": float(crossings.mean()),
        "max_crossings": int(crossings.max()),
        "mean_pieces": float(np.mean([len(p.classes) for p in paths])),
    }
    return summary, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="toy problem and a few pairs only")
    args = parser.parse_args()
    torch.set_num_threads(2)
    results = {"machine": machine_info(), "torch": torch.__version__, "slices": [], "steps": {}}

    X, y = make_moons(600, noise=0.2, random_state=0)
    toy = cached("toy", toy_mlp, lambda net: train(net, X, y, epochs=400, batch_size=600, lr=1e-2))
    # The input space is the plane: all of the data's box, with a margin.
    (u0, v0), (u1, v1) = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    row = slice_row(
        "moons MLP 10×5", toy, origin=[0.0, 0.0], directions=np.eye(2), extent=(u0, u1, v0, v1)
    )
    results["slices"].append({**row, "accuracy": accuracy(toy, X, y)})
    if not args.quick:
        fashion_results(results)
    write_results("bench_exact" + ("_quick" if args.quick else ""), results, report(results))


def fashion_results(results) -> None:
    train_images, train_labels = load_fashion_mnist("train")
    test_images, test_labels = load_fashion_mnist("test")
    X_train = train_images.reshape(-1, 1, 28, 28).astype(np.float32) / 255
    X_test = test_images.reshape(-1, 1, 28, 28).astype(np.float64) / 255
    anchors = X_test[distinct_class_indices(test_labels)]
    nets = {}
    for name, build, epochs in [("MLP", fashion_mlp, 3), ("ConvNet", fashion_convnet, 2)]:

        def fit(net, epochs=epochs):
            return train(net, X_train, train_labels, epochs=epochs, batch_size=128, lr=1e-3)

        nets[name] = net = cached(name.lower(), build, fit)
        windows = [("plane", {"margin": 0.1})]
        if name == "ConvNet":  # and the neighbourhood of one image, 1 × 1 in pixel units
            windows.append(("1 × 1 window", {"extent": (-0.5, 0.5, -0.5, 0.5)}))
        for window, extent in windows:
            label = f"Fashion-MNIST {NAMES[name]}, {window}"
            row = slice_row(label, net, anchors=anchors, **extent)
            results["slices"].append({**row, "accuracy": accuracy(net, X_test, test_labels)})
            print(results["slices"][-1], flush=True)
    for name, n_images in [("MLP", 300), ("ConvNet", 100)]:
        summary, rows = steps_study(nets[name], X_test[100 : 100 + n_images], 10, (1, 28, 28))
        results["steps"][f"Fashion-MNIST {name}"] = {"summary": summary, "rows": rows}
        print(name, summary, flush=True)


def report(results) -> str:
    headers = ["network", "test accuracy", "linear regions", "cells", "boundary segments",
               "classes", "seconds", "peak RSS (MB)"]  # fmt: skip
    rows = [
        [s["network"], f"{s['accuracy']:.3f}", s["linear_regions"], s["cells"],
         s["boundary_segments"], s["classes_on_plane"], s["seconds"], s["peak_rss_mb"]]
        for s in results["slices"]
    ]  # fmt: skip
    parts = ["### Planes through three samples\n", markdown_table(headers, rows)]
    for name, study in results["steps"].items():
        parts += [_steps_heading(name, study["summary"]), _steps_table(study["rows"])]
    return "\n".join(parts)


def _steps_heading(name, s) -> str:
    return (
        f"\n### Sampled paths on {name}: {s['pairs']} pairs of 10-NN test images "
        f"(exact pieces in {s['seconds']} s; {100 * s['pairs_with_crossings']:.1f} % of pairs "
        f"cross the boundary, {s['mean_crossings']:.2f} crossings and {s['mean_pieces']:.1f} "
        f"pieces per pair on average, at most {s['max_crossings']} crossings)\n"
    )


def _steps_table(rows) -> str:
    headers = ["n_steps", "pairs missing crossings", "missed / all crossings",
               "length error mean", "p95", "max"]  # fmt: skip
    cells = [
        [r["n_steps"], f"{100 * r['pairs_missing_crossings']:.1f} %",
         f"{100 * r['missed_over_all_crossings']:.1f} %", f"{100 * r['length_error_mean']:.2f} %",
         f"{100 * r['length_error_p95']:.2f} %", f"{100 * r['length_error_max']:.1f} %"]
        for r in rows
    ]  # fmt: skip
    return markdown_table(headers, cells)


if __name__ == "__main__":
    main()
