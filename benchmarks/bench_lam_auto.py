"""``lam="auto"`` against a plain fit and against fitting at every λ it tries.

Side by side in one run, per data set: a plain ``DecisionMap`` fit at λ = 0.65 (the
default), ``lam="auto"`` (the paper's recipe: λ = 0.2 … 0.8, the largest within one
point of the best ``q_knn``, path lengths shared), and seven independent fits, one per
λ, which is what a grid search over λ costs per split. Reported: classifier rows,
seconds, the λ chosen and the ``q_knn`` of each. Data: 600 digits under the benchmarks'
MLP, and 2,000 Fashion-MNIST test images under an MLP trained on 12,000 training images.
Needs ``dataset-fashion-mnist``. Run::

    python benchmarks/bench_lam_auto.py            # digits and Fashion-MNIST
    python benchmarks/bench_lam_auto.py --quick    # digits only
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

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
from didi.decision_map._quality import LAM_CANDIDATES


def digits_problem():
    X_map, y_map, X_train, y_train = digits_split(600)
    return X_map, y_map, make_classifier(X_train, y_train)


def fashion_problem():
    X, labels, clf = fashion_mlp_problem()
    return X[60000:62000], labels[60000:62000], clf


def timed_fit(clf, X, y, lam) -> tuple[DecisionMap, float]:
    clock = time.perf_counter()
    dmap = DecisionMap(clf, lam=lam, random_state=0).fit(X, y)
    return dmap, time.perf_counter() - clock


def compare(name: str, X, y, clf) -> dict:
    plain, plain_s = timed_fit(clf, X, y, 0.65)
    auto, auto_s = timed_fit(clf, X, y, "auto")
    each = {lam: timed_fit(clf, X, y, lam) for lam in LAM_CANDIDATES}
    return {
        "data": name,
        "plain_rows": plain.n_classifier_rows_,
        "plain_s": plain_s,
        "auto_rows": auto.n_classifier_rows_,
        "auto_s": auto_s,
        "every_lam_rows": sum(m.n_classifier_rows_ for m, _ in each.values()),
        "every_lam_s": sum(s for _, s in each.values()),
        "lam_chosen": auto.lam_,
        "q_knn_auto": auto.lam_scores_,
        "q_knn_independent": {lam: m.scores_["q_knn"] for lam, (m, _) in each.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    problems = {"digits": digits_problem}
    if not quick:
        problems["fashion"] = fashion_problem
    results = []
    for name, make in problems.items():
        row = compare(name, *make())
        print(row, flush=True)
        results.append(row)
    table = markdown_table(
        ["data", "rows plain (λ=0.65)", "rows auto", "rows 7 fits", "auto / plain",
         "s plain", "s auto", "s 7 fits", "λ chosen"],
        [
            [r["data"], f"{r['plain_rows']:,}", f"{r['auto_rows']:,}",
             f"{r['every_lam_rows']:,}", f"{r['auto_rows'] / r['plain_rows']:.2f}×",
             f"{r['plain_s']:.1f}", f"{r['auto_s']:.1f}", f"{r['every_lam_s']:.1f}",
             r["lam_chosen"]]
            for r in results
        ],
    )  # fmt: skip
    data = {"machine": machine_info(), "commit": git_commit(), "results": results}
    write_results("bench_lam_auto_quick" if quick else "bench_lam_auto", data, table)


if __name__ == "__main__":
    main()
