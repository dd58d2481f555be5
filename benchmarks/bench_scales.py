"""The two distance scales under ``scale="typical"`` and ``scale="max"``, on the demo data.

The demo's setting (``didi demo``): scikit-learn's digits split with
``train_test_split(test_size=600, stratify=y, random_state=0)``, StandardScaler +
MLP(64) trained on the rest, the 600 held-out digits mapped. Prints ``s_D``, ``s_E``
and their ratio (only the ratio matters to UMAP) for both normalisations.

Run: ``python benchmarks/bench_scales.py`` (a few seconds).
"""

from __future__ import annotations

from _common import machine_info, markdown_table, write_results
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from didi import FisherJSMetric


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X_train, X_map, y_train, _ = train_test_split(X, y, test_size=600, stratify=y, random_state=0)
    clf = make_pipeline(
        StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=0)
    ).fit(X_train, y_train)
    rows, runs = [], {}
    for scale in ("typical", "max"):
        metric = FisherJSMetric(clf, scale=scale).fit(X_map)
        ratio = metric.path_scale_ / metric.base_scale_
        runs[scale] = {"s_D": metric.path_scale_, "s_E": metric.base_scale_, "ratio": ratio}
        rows.append(
            [scale, f"{metric.path_scale_:.4f}", f"{metric.base_scale_:.2f}", f"{ratio:.4f}"]
        )
    markdown = markdown_table(["scale", "s_D", "s_E", "s_D / s_E"], rows)
    write_results("bench_scales", {"machine": machine_info(), "runs": runs}, markdown)


if __name__ == "__main__":
    main()
