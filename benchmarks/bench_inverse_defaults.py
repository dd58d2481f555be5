"""π⁻¹'s parameters ``a`` and ``alpha`` judged by every measure of a map, not by ``q_data`` alone.

One map per data set and seed (defaults otherwise): 600 digits under the benchmarks'
MLP (trained on the other digits), and 600 Fashion-MNIST test images under an MLP
trained on 12,000 training images. π⁻¹ does not move the points, so for every
``(a, alpha)`` only π⁻¹ is refitted on the same embedding, and measured: ``q_data``
and ``q_not_data`` (the paper's 70/30 split), ``cons_d`` and ``acc_m`` (π⁻¹ fitted to
every sample), ``cons_p`` (one round trip of every cell of a 50 × 50 grid, placed by
the map's ``transform``), and the gradient of π⁻¹ (``gradient``, ``gradient_steep``)
on a 100 × 100 grid. Needs ``dataset-fashion-mnist``. Run::

    python benchmarks/bench_inverse_defaults.py            # 2 seeds, ~10 min
    python benchmarks/bench_inverse_defaults.py --quick    # digits, 1 seed
"""

from __future__ import annotations

import argparse
import sys
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

from didi import DecisionMap, RBFInverse
from didi.decision_map._faithfulness import (
    data_radius,
    gradient_summary,
    inverse_gradient,
    round_trip_labels,
    round_trips,
)
from didi.decision_map._grid import grid_axes, grid_cells
from didi.decision_map._quality import holdout_split

A_VALUES = (100, 500, 2000)
ALPHAS = (1e-3, 1e-2, 3e-2, 1e-1)


def digits_problem(seed: int):
    X_map, y_map, X_train, y_train = digits_split(600, seed)
    return X_map, y_map, make_classifier(X_train, y_train)


def fashion_problem(seed: int):
    X, labels, clf = fashion_mlp_problem()
    rows = 60000 + np.random.default_rng(seed).choice(10000, 600, replace=False)
    return X[rows], labels[rows], clf


def measure(dmap: DecisionMap, clf, X, y, a: float, alpha: float, seed: int) -> dict:
    """Every measure of π⁻¹ with ``(a, alpha)`` on the map's fixed embedding."""
    embedding, n = dmap.embedding_, len(X)

    def predict(samples):
        return clf.predict_proba(samples).argmax(axis=1)

    labels = predict(X)
    train, held_out = holdout_split(n, 0.3, seed)
    scoring = RBFInverse(a, alpha=alpha).fit(embedding[train], X[train])
    back = predict(scoring.inverse_transform(embedding))
    inverse = RBFInverse(a, alpha=alpha).fit(embedding, X)
    out = {
        "q_data": float(np.mean(back[train] == labels[train])),
        "q_not_data": float(np.mean(back[held_out] == labels[held_out])),
        **round_trip_labels(labels, predict(inverse.inverse_transform(embedding)), y),
    }
    grid_x, grid_y = grid_axes(embedding, 100, 0.05)
    out.update(
        gradient_summary(
            inverse_gradient(inverse.inverse_transform, grid_x, grid_y, data_radius(X))
        )
    )
    grid_x, grid_y = grid_axes(embedding, 50, 0.05)
    cells = grid_cells(grid_x, grid_y)
    cell_labels = predict(inverse.inverse_transform(cells))
    trips = round_trips(
        cells,
        cell_labels,
        inverse=inverse.inverse_transform,
        place=dmap.transform,
        predict=predict,
        max_trips=1,
    )
    out["cons_p"] = float(np.mean(trips > 0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    problems = (
        {"digits": digits_problem}
        if quick
        else {"digits": digits_problem, "fashion": fashion_problem}
    )
    seeds = (0,) if quick else (0, 1)
    results = []
    for name, make in problems.items():
        for seed in seeds:
            X, y, clf = make(seed)
            dmap = DecisionMap(clf, random_state=seed).fit(X, y)
            for a in A_VALUES:
                for alpha in ALPHAS:
                    row = {"data": name, "seed": seed, "a": a, "alpha": alpha}
                    row.update(measure(dmap, clf, X, y, a, alpha, seed))
                    print(row, flush=True)
                    results.append(row)
    write_results(
        "bench_inverse_defaults_quick" if quick else "bench_inverse_defaults",
        {"machine": machine_info(), "commit": git_commit(), "results": results},
        summary_table(results),
    )


MEASURES = ("q_data", "q_not_data", "cons_d", "acc_m", "cons_p", "gradient", "gradient_steep")


def summary_table(results: list[dict]) -> str:
    """Mean over seeds per data set, ``a`` and ``alpha``."""
    rows = []
    keys = sorted({(r["data"], r["a"], r["alpha"]) for r in results})
    for data, a, alpha in keys:
        mine = [r for r in results if (r["data"], r["a"], r["alpha"]) == (data, a, alpha)]
        means = [np.mean([r[m] for r in mine]) for m in MEASURES]
        shares = [f"{100 * v:.1f}" for v in means[:5]]
        rows.append([data, a, alpha, *shares, f"{means[5]:.2f}", f"{100 * means[6]:.1f}"])
    headers = ["data", "a", "alpha", "Q_data %", "Q_¬data %", "cons_d %", "acc_m %", "cons_p %",
               "gradient", "steep %"]  # fmt: skip
    return markdown_table(headers, rows)


if __name__ == "__main__":
    main()
