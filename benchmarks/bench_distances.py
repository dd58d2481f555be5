"""DiDi distance matrix: ``didi.FisherJSMetric`` against a brute-force reference.

What is measured
    For N mapped digits (scikit-learn's bundled 8×8 digits; N = 200, 600, 1500),
    the full N×N DiDi matrix (λ = 0.65, n = 5 interior points, Euclidean base
    distance, each part divided by its maximum) computed two ways in the same run:

    * ours: ``didi.FisherJSMetric(f, scale="max").fit_transform(X)``;
    * reference: :func:`_common.reference_distances`, written independently of
      ``didi`` the way the DeepView reference implementation works: one classifier
      call per row of pairs ``(i, j > i)``, evaluating both ends of every path
      segment (``2(n + 1)`` rows per pair), ``scipy.spatial.distance.jensenshannon``.

How
    The classifier is ``StandardScaler`` + ``MLPClassifier(hidden_layer_sizes=(64,),
    max_iter=1000, random_state=0)``, trained on the digits that are *not* mapped
    (a fixed random permutation: the first N are mapped, the other 1797 − N train).
    Both computations receive the same plain callable wrapping ``predict_proba``,
    which counts rows and the seconds spent inside the classifier. A warm-up run of
    both (N = 50) comes first and is excluded. Each N is timed ``--repeats`` times
    (default 3), ours and the reference alternating, and the median (minimum) wall
    time is reported, together with classifier rows per pair, the share of wall
    time inside ``predict_proba`` and the largest absolute difference between the
    two matrices. ``--threads k`` limits the BLAS threads (threadpoolctl); by
    default the libraries' own setting is kept. The machine may be shared: a run
    during which other processes kept more than 0.1 core busy is discarded and
    repeated after a quiet moment (at most 3 times), and the CPU time other
    processes used during the kept runs is reported as "others' load" (average
    busy cores, see ``_common.ForeignLoad``; near 0 means clean figures).

Run from the repository root::

    python benchmarks/bench_distances.py            # full (1-2 minutes on 2 cores)
    python benchmarks/bench_distances.py --quick    # smoke test, seconds

Writes ``benchmarks/results/bench_distances.json`` and ``.md`` (``bench_distances_quick``
with ``--quick``, suffix ``_threads<k>`` with ``--threads k``).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _common import (
    LAM,
    N_STEPS,
    CountingProba,
    ForeignLoad,
    blas_threads,
    clean_run,
    digits_split,
    machine_info,
    make_classifier,
    markdown_table,
    median,
    reference_distances,
    write_results,
)

import didi


def time_ours(f: CountingProba, X: np.ndarray):
    f.reset()
    start = time.perf_counter()
    # scale="max": the reference's normalisation, so the two matrices can be compared.
    D = didi.FisherJSMetric(f, lam=LAM, n_steps=N_STEPS, scale="max").fit_transform(X)
    return time.perf_counter() - start, f.rows, f.seconds, D


def time_reference(f: CountingProba, X: np.ndarray):
    f.reset()
    start = time.perf_counter()
    D = reference_distances(f, X, n=N_STEPS, lam=LAM)
    return time.perf_counter() - start, f.rows, f.seconds, D


def bench_one(n_mapped: int, repeats: int, repeats_reference: int) -> dict:
    X, _, X_train, y_train = digits_split(n_mapped)
    clf = make_classifier(X_train, y_train)
    f = CountingProba(clf)
    n_pairs = n_mapped * (n_mapped - 1) // 2
    load = ForeignLoad()

    # Interleaved, so that a change of load on a shared machine hits both alike;
    # runs disturbed by other processes are retried (see _common.clean_run).
    ours, ref, discarded = [], [], 0
    for r in range(max(repeats, repeats_reference)):
        if r < repeats:
            result, dropped = clean_run(lambda: time_ours(f, X), load)
            ours.append(result)
            discarded += dropped
        if r < repeats_reference:
            result, dropped = clean_run(lambda: time_reference(f, X), load)
            ref.append(result)
            discarded += dropped
    D_ours, D_ref = ours[-1][3], ref[-1][3]

    wall_ours = median(r[0] for r in ours)
    wall_ref = median(r[0] for r in ref)
    return {
        "n_mapped": n_mapped,
        "n_train": len(X_train),
        "n_pairs": n_pairs,
        "repeats_ours": repeats,
        "repeats_reference": repeats_reference,
        "wall_ours_s": wall_ours,
        "wall_reference_s": wall_ref,
        "wall_ours_min_s": min(r[0] for r in ours),
        "wall_reference_min_s": min(r[0] for r in ref),
        "wall_ours_all_s": [r[0] for r in ours],
        "wall_reference_all_s": [r[0] for r in ref],
        "speedup": wall_ref / wall_ours,
        "rows_ours": ours[-1][1],
        "rows_reference": ref[-1][1],
        "rows_per_pair_ours": ours[-1][1] / n_pairs,
        "rows_per_pair_reference": ref[-1][1] / n_pairs,
        "predict_proba_s_ours": median(r[2] for r in ours),
        "predict_proba_s_reference": median(r[2] for r in ref),
        "predict_proba_share_ours": median(r[2] / r[0] for r in ours),
        "predict_proba_share_reference": median(r[2] / r[0] for r in ref),
        "max_abs_diff": float(np.abs(D_ours - D_ref).max()),
        "max_abs_value": float(D_ref.max()),
        "foreign_load_cores": load.cores,
        "discarded_runs": discarded,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a smoke test")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="values of N")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per N")
    parser.add_argument(
        "--repeats-reference", type=int, default=None, help="timed reference runs per N"
    )
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS threads")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([60, 120] if args.quick else [200, 600, 1500])
    repeats = args.repeats or (1 if args.quick else 3)
    name = "bench_distances" + ("_quick" if args.quick else "")
    name += f"_threads{args.threads}" if args.threads else ""

    # Warm-up, excluded: imports, scikit-learn's first-call paths, page faults.
    load_before = os.getloadavg()[0]
    X_w, _, Xt_w, yt_w = digits_split(50)
    f_w = CountingProba(make_classifier(Xt_w, yt_w))
    time_ours(f_w, X_w)
    time_reference(f_w, X_w)

    results = []
    for n in sizes:
        with blas_threads(args.threads):
            res = bench_one(n, repeats, args.repeats_reference or repeats)
        results.append(res)
        print(
            f"N={n}: ours {res['wall_ours_s']:.3f} s, reference {res['wall_reference_s']:.3f} s, "
            f"x{res['speedup']:.1f}, max |diff| {res['max_abs_diff']:.2e}",
            flush=True,
        )

    load_after = os.getloadavg()[0]
    headers = [
        "N",
        "ours (s)",
        "reference (s)",
        "speed-up",
        "rows/pair ours",
        "rows/pair ref.",
        "ours: share in predict_proba",
        "ref.: share in predict_proba",
        "max abs diff",
        "others' load (cores)",
    ]
    rows = [
        [
            r["n_mapped"],
            f"{r['wall_ours_s']:.3f} ({r['wall_ours_min_s']:.3f})",
            f"{r['wall_reference_s']:.3f} ({r['wall_reference_min_s']:.3f})",
            f"{r['speedup']:.1f}×",
            f"{r['rows_per_pair_ours']:.3f}",
            f"{r['rows_per_pair_reference']:.0f}",
            f"{100 * r['predict_proba_share_ours']:.0f} %",
            f"{100 * r['predict_proba_share_reference']:.0f} %",
            f"{r['max_abs_diff']:.1e}",
            f"{r['foreign_load_cores']:.2f}",
        ]
        for r in results
    ]
    info = machine_info()
    markdown = (
        f"DiDi matrix on digits, MLP (StandardScaler + 64 hidden), λ = {LAM}, n = {N_STEPS}; "
        f"wall time in seconds, median (minimum) of {repeats} run(s); BLAS threads: "
        f"{args.threads or 'library default'}. "
        f"didi {info['didi_commit']}; {info['nproc']} × {info['cpu']}, Python {info['python']}, "
        f"numpy {info['versions']['numpy']}, scikit-learn {info['versions']['scikit-learn']}; "
        f"load average before/after: {load_before:.2f}/{load_after:.2f}.\n\n"
        + markdown_table(headers, rows)
    )
    write_results(
        name,
        {
            "benchmark": "distances",
            "quick": args.quick,
            "lam": LAM,
            "n_steps": N_STEPS,
            "classifier": "StandardScaler + MLPClassifier((64,), max_iter=1000, random_state=0)",
            "blas_threads": args.threads,
            "load_average_before_after": [load_before, load_after],
            "machine": info,
            "results": results,
        },
        markdown,
    )


if __name__ == "__main__":
    main()
