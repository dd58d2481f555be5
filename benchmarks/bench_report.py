"""What ``didi.report`` costs, stage by stage, on the two problems the tests use.

* digits: the benchmarks' MLP (scikit-learn, StandardScaler + 64 hidden units) on 600
  held-out digits; saliency by finite differences (no gradients);
* Fashion-MNIST: ``bench_torch``'s ConvNet trained for ``--epochs`` on the 60,000
  training images (CPU), reported on ``--n-fashion`` test images; saliency by
  gradients, and the unit analyses of its three ReLU modules.

Each report uses the defaults (resolution 100, the consistency and boundary-distance
layers). Reported: seconds per stage, the inputs the saliency took, the page's size,
and the counts of what was found. Needs ``dataset-fashion-mnist``. Run::

    python benchmarks/bench_report.py                 # both, 2,000 Fashion images
    python benchmarks/bench_report.py --n-fashion 500 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import digits_split, machine_info, make_classifier, markdown_table, write_results
from bench_torch import train

import didi
from didi.datasets import load_fashion_mnist
from didi.torch import TorchClassifier

STAGES = ("decision map", "map layers", "familiarity", "near-duplicates", "label issues",
          "saliency", "units")  # fmt: skip


def one_report(name: str, clf, X, y, image_shape) -> dict:
    """Write a report into a temporary folder; its figures and the page's size."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        page = didi.report(clf, X, y, output_dir=folder, image_shape=image_shape, progress=False)
        seconds = time.perf_counter() - start
        figures = json.loads((Path(folder) / "report.json").read_text())
        size = page.stat().st_size
    return {
        "problem": name,
        "samples": len(X),
        "seconds": seconds,
        "stages": figures["stage_seconds"],
        "saliency_method": figures["saliency_method"],
        "saliency_rows": figures["saliency_rows"],
        "page_mb": size / 1e6,
        "unfamiliar": len(figures["unfamiliar"]),
        "duplicate_sets": len(figures["duplicate_sets"]),
        "label_issues": len(figures["label_issues"]),
        "scores": figures["scores"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-fashion", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    X_map, y_map, X_train, y_train = digits_split(600)
    results = [one_report("digits MLP", make_classifier(X_train, y_train), X_map, y_map, (8, 8))]
    images, labels = load_fashion_mnist("all")
    X = (images.reshape(len(images), -1) / 255.0).astype(np.float32)
    start = time.perf_counter()
    net = train(X[:60000], labels[:60000], torch.device("cpu"), args.epochs).eval()
    print(f"ConvNet trained in {time.perf_counter() - start:.0f} s")
    clf = TorchClassifier(net, input_shape=(1, 28, 28))
    test = slice(60000, 60000 + args.n_fashion)
    results.append(one_report("Fashion ConvNet", clf, X[test], labels[test], (28, 28)))
    rows = [
        [r["problem"], r["samples"], f"{r['seconds']:.1f}",
         *(f"{r['stages'][s]:.1f}" for s in STAGES), r["saliency_method"],
         f"{r['saliency_rows']:,}", f"{r['page_mb']:.1f}", r["unfamiliar"],
         r["duplicate_sets"], r["label_issues"]]
        for r in results
    ]  # fmt: skip
    headers = ["problem", "samples", "total s", *(f"{s} s" for s in STAGES), "saliency",
               "saliency inputs", "page MB", "unfamiliar", "duplicate sets",
               "label issues"]  # fmt: skip
    write_results(
        "bench_report",
        {"machine": machine_info(), "args": vars(args), "results": results},
        markdown_table(headers, rows),
    )


if __name__ == "__main__":
    main()
