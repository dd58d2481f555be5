"""didi's decision map against peer decision-map pipelines, all measured by one evaluator.

Pipelines (the same classifier and mapped samples for all; ``seed`` drives UMAP,
t-SNE, NNinv's initialisation and the hold-out split)
    * ``didi``: ``DecisionMap(f, random_state=seed)`` with its defaults (the grid's
      resolution is the benchmark's: 100, or 40 with ``--quick``). π⁻¹ is
      ``inverse_transform``; π is ``transform``, which places new samples by their
      DiDi distances to the mapped ones, so it costs classifier rows: they are
      reported apart ("place rows").
    * ``didi tuned``: ``GridSearchCV(DecisionMap(f, random_state=seed, memory=tmp),
      {"lam": [0.3, 0.5, 0.65, 0.8], "a": [100, 500, 2000]}, scoring=
      quality_scorer(TUNING_SCORE), cv=3)`` (``_peers.TUNING_SCORE``, now
      ``"q_not_data"``), then the refitted best map. "fit s" and "fit rows" cover the
      whole search.
    * ``DeepView reference``: ``_common``'s reference-faithful pipeline, as in
      ``bench_pipeline.py``: the dense DiDi matrix with the reference's max scaling
      (12 rows per pair), ``umap.UMAP(metric="precomputed", n_neighbors=30,
      min_dist=0.1)``, and the reference's gradient-descent π⁻¹ (a = 500), fitted
      to all samples for the map (bench_pipeline fits it to 70 %). The reference has
      no π for new samples; here umap-learn's own ``transform`` with precomputed
      distances places them. It only uses each new sample's 30 nearest fitted
      samples, so it is given exactly those, as a sparse row, instead of the full
      row of ``n_fit × 12`` classifier rows (72 M rows per 10,000 cells and trip):
      didi's ``FisherJSMetric`` k-NN search with λ' and a factor c chosen so that
      its distance is the reference's max-scaled one divided by c (same neighbours,
      distances multiplied back). Its set-up and searches are "place rows". See
      ``_peers.ReferencePlacement``.
    * peers from PyPI: ``inverse-projections==0.1.3`` (Yu Wang; NNinv after Espadoto
      et al. 2019 in PyTorch, iLAMP after Amorim et al. 2012, RBF after Amorim et al.
      2015) after a Euclidean umap-learn UMAP (n_neighbors=30, min_dist=0.1, as
      didi's) or scikit-learn's t-SNE (perplexity 30, PCA init): ``UMAP + NNinv``,
      ``UMAP + iLAMP``, ``UMAP + RBF``, ``t-SNE + NNinv``, ``t-SNE + iLAMP``,
      ``t-SNE + RBF``, each with the package's defaults; and ``UMAP +
      inverse_transform``: umap-learn's own π⁻¹ (it starts each position from a
      blend of the min(n_features, n_samples) fitted samples nearest in the map:
      all 600 on Fashion-MNIST). UMAP's π is its ``transform``. t-SNE has none:
      new samples are placed by a distance-weighted 5-NN regression
      from input space to the t-SNE positions (scikit-learn's
      ``KNeighborsRegressor``; a fitted sample lands on its own position). NNinv's
      output layer is a sigmoid, so its targets are min-max scaled to [0, 1] per
      feature and its outputs scaled back. iLAMP is run in batches that keep its
      ``(batch, d, d)`` SVD arrays near 256 MB (its default batch of 2000 needs
      10 GB for 784 features). The UMAP (t-SNE) embedding is computed once per seed
      and shared by the pipelines built on it; each pipeline's "fit s" includes it.
    * not included: ``decision-boundary-mapper==1.0.1`` (Grosu 2023): its DBM and
      SDBM are written against TensorFlow (``tf.keras`` models for the inverse
      projection and the autoencoder; ``AbstractDBM`` clones the classifier with
      ``tf.keras.models.clone_model``, so the classifier must be a Keras model), the
      package's ``__init__`` imports its PySimpleGUI GUI, and its requirements pull
      ``tensorflow`` (multi-GB), ``PySimpleGUI``, ``opfython``, ``numba_progress``,
      ``dask`` and a package named ``umap`` besides ``umap-learn``; its sdist's
      ``setup.py`` also shells out to ``pdoc`` while building. Its NNInv is the same
      method as inverse-projections' NNinv, which is in the table.
      ``inverse_projections.MDSinv`` (multilateration) is left out too: per position
      it solves 20 multilaterations on random ``d + 1`` samples, each a ``d × d``
      linear system (784 × 784 on Fashion-MNIST), drawn from NumPy's unseeded global
      generator: hours for one 10,000-cell grid.

What is measured (one evaluator, ``didi.decision_map._faithfulness``, for all)
    ``acc_m`` and ``cons_d``: labels of ``π⁻¹(embedding)`` against the true labels and
    the classifier's labels of the samples. ``q_data`` / ``q_not_data``: π⁻¹ fitted
    anew on 70 % of the samples (``holdout_split(n, 0.3, seed)``, the same split for
    every pipeline), agreement on the fitted / held-out samples. ``q_knn``:
    leave-one-out 5-NN accuracy of the classifier's labels in the embedding. A grid
    of R × R cells over the embedding (``grid_axes(embedding, R, 0.05)``), labels
    ``predict(π⁻¹(cells))``; ``round_trips`` (up to T trips) gives ``cons_p`` and
    ``class_stability`` (mean trips survived, out of T); ``inverse_gradient`` gives
    ``gradient`` and ``gradient_steep``. π⁻¹ is evaluated once per distinct position
    (``_peers.RowMemo``). "fit s": wall time of building the map (projection,
    π⁻¹ and the grid; didi's ``fit`` also computes its own scores); "fit rows":
    classifier rows in that; "place rows": classifier rows π used in the round
    trips (and its set-up). The evaluator's own ``predict`` is not counted.

Data sets and classifiers (nothing is downloaded)
    * ``digits MLP``: scikit-learn's digits / 16, the benchmarks' StandardScaler +
      MLP(64) trained on the digits not mapped; 600 mapped.
    * ``fashion MLP`` and ``fashion ConvNet``: Fashion-MNIST from Debian's
      ``dataset-fashion-mnist`` (``didi.datasets.load_fashion_mnist``) / 255; PyTorch
      models on CPU (MLP 784-256-10; ``bench_torch.py``'s ConvNet) trained 3 epochs
      on 10,000 training images (seed 0), wrapped in ``didi.torch.TorchClassifier``;
      600 test images mapped.
    * ``breast cancer MLP``: scikit-learn's breast cancer (30 features, 2 classes),
      standardised on 200 training samples, MLP(32); the other 369 mapped (not 600:
      the data set has 569).

Run from the repository root (needs ``pip install inverse-projections==0.1.3``)::

    python benchmarks/bench_peers.py --quick   # digits + breast cancer, 200 samples, 40×40
                                               # grid, 3 trips, 1 seed: ~2 min on 2 cores
    python benchmarks/bench_peers.py           # all four, 600 samples, 100×100, 10 trips,
                                               # 3 seeds: ~15-20 h on 2 cores (see below)
    python benchmarks/bench_peers.py --trip-cells 1000   # round trips on 1,000 cells: ~4 h
    python benchmarks/bench_peers.py --tasks digits fashion-mlp tabular   # ~3 h

Where the full run's time goes (measured on slices, one thread): the ConvNet's
pipelines that place by DiDi distances (didi, didi tuned, the reference) cost ~280
classifier rows per placement at ~3,300 ConvNet rows/s, so the round trips of 10,000
cells take over an hour each per seed (the ConvNet task: ~5 h per seed); iLAMP in 784
dimensions takes ~5 ms per position (one full ``d × d`` SVD each) and umap-learn's
``inverse_transform`` ~3 ms (600 samples, 64 dimensions). ``--trip-cells k`` runs the
round trips on a seeded random k of the cells (the same for every pipeline);
``--tasks``, ``--pipelines``, ``--seeds``, ``--n``, ``--resolution`` and ``--trips``
choose a slice; ``--out NAME`` writes ``results/NAME.*`` instead.

Every library runs on one thread by default (``--threads 1``: BLAS and OpenMP through
threadpoolctl, and torch's), so that "fit s" compares the methods' work and not their
parallelism, and because on a shared 2-core machine scikit-learn's t-SNE with two
OpenMP threads took 70× longer while another process held a core. ``--threads 0``
keeps the libraries' own settings.

Writes ``benchmarks/results/bench_peers.json`` and ``.md`` (``bench_peers_quick`` with
``--quick``), after every pipeline, and prints the table at the end.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
import warnings
from collections.abc import Callable
from importlib import metadata

import numpy as np
from _common import RESULTS, blas_threads, machine_info, markdown_table, write_results
from _peers import (
    TUNING_GRID,
    TUNING_SCORE,
    Map,
    RowMemo,
    Task,
    build_didi,
    build_peer,
    build_reference,
    build_tuned,
    digits_task,
    fashion_task,
    tabular_task,
)

from didi.decision_map._faithfulness import (
    data_radius,
    gradient_summary,
    inverse_gradient,
    round_trip_labels,
    round_trip_summary,
    round_trips,
)
from didi.decision_map._grid import grid_axes, grid_cells
from didi.decision_map._quality import agreement, holdout_split, loo_knn_accuracy

PIPELINES = (
    "didi",
    "didi tuned",
    "DeepView reference",
    "UMAP + NNinv",
    "UMAP + iLAMP",
    "UMAP + RBF",
    "UMAP + inverse_transform",
    "t-SNE + NNinv",
    "t-SNE + iLAMP",
    "t-SNE + RBF",
)
TASKS = ("digits", "fashion-mlp", "fashion-convnet", "tabular")
SCORES = (
    "acc_m", "cons_d", "cons_p", "class_stability", "gradient", "gradient_steep",
    "q_knn", "q_data", "q_not_data",
)  # fmt: skip
COSTS = ("fit_s", "fit_rows", "place_rows")
PEER_PACKAGES = ("inverse-projections", "umap-learn", "torch", "scikit-learn")


# -------------------------------------------------------------------- evaluation


def evaluate(
    task: Task, built: Map, seed: int, resolution: int, trips: int, trip_cells: int | None
) -> dict:
    """Every score of one built map, from its ``inverse``, ``place`` and the classifier."""
    X, embedding, predict = task.X, built.embedding, task.predict
    labels = predict(X)
    scores = round_trip_labels(labels, predict(built.inverse(embedding)), task.y)
    scores.update(holdout_scores(built, labels, predict, seed))
    scores["q_knn"] = loo_knn_accuracy(embedding, labels)
    grid_x, grid_y = grid_axes(embedding, resolution, 0.05)
    cells = grid_cells(grid_x, grid_y)
    inverse = RowMemo(built.inverse)
    grid_labels = predict(inverse(cells))
    gradient = inverse_gradient(inverse, grid_x, grid_y, data_radius(X))
    scores.update(gradient_summary(gradient))
    chosen = _trip_cells(len(cells), trip_cells, seed)
    task.counter.reset()
    start = time.perf_counter()
    stability = round_trips(
        cells[chosen], grid_labels[chosen],
        inverse=inverse, place=built.place, predict=predict, max_trips=trips,
    )  # fmt: skip
    scores.update(round_trip_summary(stability))
    scores["trips_s"] = time.perf_counter() - start
    scores["place_rows"] = task.counter.rows
    scores["inverse_positions"] = len(inverse.images)
    return scores


def holdout_scores(built: Map, labels: np.ndarray, predict: Callable, seed: int) -> dict:
    """q_data / q_not_data: π⁻¹ fitted anew on 70 % of the samples, as in the paper."""
    fitted, held_out = holdout_split(len(labels), 0.3, seed)
    back = predict(built.fit_inverse(fitted)(built.embedding))
    return {
        "q_data": agreement(back[fitted], labels[fitted]),
        "q_not_data": agreement(back[held_out], labels[held_out]),
    }


def _trip_cells(n_cells: int, wanted: int | None, seed: int) -> np.ndarray:
    """All cells, or a seeded random ``wanted`` of them (the same for every pipeline)."""
    if wanted is None or wanted >= n_cells:
        return np.arange(n_cells)
    return np.sort(np.random.default_rng(seed).choice(n_cells, wanted, replace=False))


def build(task: Task, pipeline: str, seed: int, resolution: int, cache: dict) -> Map:
    if pipeline == "didi":
        return build_didi(task, seed, resolution)
    if pipeline == "didi tuned":
        return build_tuned(task, seed, resolution)
    if pipeline == "DeepView reference":
        return build_reference(task, seed, resolution)
    return build_peer(task, seed, resolution, pipeline, cache)


def run_one(task: Task, pipeline: str, seed: int, args: argparse.Namespace, cache: dict) -> dict:
    """Build and evaluate one pipeline; a failure is recorded, not raised."""
    record = {"task": task.name, "pipeline": pipeline, "seed": seed}
    start = time.perf_counter()
    try:
        built = build(task, pipeline, seed, args.resolution, cache)
        record.update(fit_s=built.fit_s, fit_rows=built.fit_rows, notes=built.notes)
        try:
            record.update(evaluate(task, built, seed, args.resolution, args.trips, args.trip_cells))
        finally:
            if built.cleanup is not None:
                built.cleanup()
    except Exception as exc:  # one broken peer must not end a run of hours
        record["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    record["total_s"] = time.perf_counter() - start
    return record


# ------------------------------------------------------------------------ running


def make_tasks(names: list[str], n_mapped: int) -> list[Task]:
    tasks: list[Task] = []
    for name in names:
        if name == "digits":
            tasks.append(digits_task(n_mapped))
        elif name.startswith("fashion"):
            tasks.append(fashion_task(name.split("-")[1], n_mapped))
        else:
            tasks.append(tabular_task(n_mapped))
    return tasks


def warm_up() -> float:
    """Imports, torch's first training steps (NNinv) and numba's compilation (UMAP,
    didi's placement) on tiny data, kept out of every timing."""
    start = time.perf_counter()
    task = digits_task(90)
    for pipeline in ("didi", "UMAP + NNinv", "UMAP + inverse_transform"):
        built = build(task, pipeline, 0, 5, {})
        built.place(built.inverse(built.embedding[:5]))
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> dict:
    """Every task × seed × pipeline; the results are written after each pipeline."""
    data = header(args)
    data["warm_up_s"] = warm_up()
    clock = time.perf_counter()
    tasks = make_tasks(args.tasks, args.n)
    data["task_set_up_s"] = time.perf_counter() - clock
    print(
        f"warm-up {data['warm_up_s']:.1f} s, data and classifiers {data['task_set_up_s']:.1f} s",
        flush=True,
    )
    for task in tasks:
        data["tasks"][task.name] = {
            "accuracy_on_mapped": task.accuracy,
            "n_mapped": len(task.X),
            "n_features": int(task.X.shape[1]),
            "n_classes": len(np.unique(task.y)),
        }
        for seed in range(args.seeds):
            cache: dict = {}
            for pipeline in args.pipelines:
                record = run_one(task, pipeline, seed, args, cache)
                data["runs"].append(record)
                print(progress_line(record), flush=True)
                save_partial(args, data)
    return data


def progress_line(record: dict) -> str:
    head = f"{record['task']:18s} seed {record['seed']} {record['pipeline']:26s}"
    if "error" in record:
        return f"{head} FAILED ({record['error']}) after {record['total_s']:.1f} s"
    return (
        f"{head} {record['total_s']:7.1f} s (fit {record['fit_s']:6.1f} s, trips "
        f"{record['trips_s']:6.1f} s): cons_p {record['cons_p']:.3f}, "
        f"q_not_data {record['q_not_data']:.3f}"
    )


def header(args: argparse.Namespace) -> dict:
    versions = {}
    for dist in PEER_PACKAGES:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "benchmark": "peers",
        "quick": args.quick,
        "settings": {
            "n_mapped": args.n,
            "resolution": args.resolution,
            "max_trips": args.trips,
            "trip_cells": args.trip_cells,
            "seeds": args.seeds,
            "threads": args.threads,
            "tuning": {"score": TUNING_SCORE, "grid": TUNING_GRID, "cv": 3},
        },
        "machine": machine_info(),
        "peer_versions": versions,
        "tasks": {},
        "runs": [],
    }


def save_partial(args: argparse.Namespace, data: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{result_name(args)}.json").write_text(json.dumps(data, indent=2) + "\n")


def result_name(args: argparse.Namespace) -> str:
    return args.out or "bench_peers" + ("_quick" if args.quick else "")


# ------------------------------------------------------------------------ report


def summarise(runs: list[dict]) -> dict:
    """Mean and spread (half the range) over seeds, per task and pipeline."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in runs:
        groups.setdefault((record["task"], record["pipeline"]), []).append(record)
    summary: dict = {}
    for (task, pipeline), records in groups.items():
        good = [r for r in records if "error" not in r]
        entry = {"seeds": len(good), "failed": len(records) - len(good)}
        for key in (*SCORES, *COSTS, "trips_s"):
            values = np.array([r[key] for r in good], dtype=np.float64)
            if len(values):
                spread = (values.max() - values.min()) / 2
                entry[key] = {"mean": float(values.mean()), "spread": float(spread)}
        summary.setdefault(task, {})[pipeline] = entry
    return summary


def cell(entry: dict, key: str) -> str:
    if key not in entry:
        return "failed" if entry["failed"] else "—"
    mean, spread = entry[key]["mean"], entry[key]["spread"]
    if key in ("fit_rows", "place_rows"):
        text, spread_text = _rows(mean), _rows(spread)
    else:
        digits = 2 if key in ("gradient", "class_stability", "fit_s") else 3
        text, spread_text = f"{mean:.{digits}f}", f"{spread:.{digits}f}"
    return text + (f" ± {spread_text}" if entry["seeds"] > 1 else "")


def _rows(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    return f"{value / 1e3:.1f}k" if value >= 1e3 else f"{value:.0f}"


def report(args: argparse.Namespace, data: dict) -> None:
    summary = summarise(data["runs"])
    headers = ["data set", "pipeline", *SCORES, "fit s", "fit rows", "place rows"]
    rows = [
        [task, pipeline, *(cell(entry, key) for key in (*SCORES, *COSTS))]
        for task, pipelines in summary.items()
        for pipeline, entry in pipelines.items()
    ]
    settings = data["settings"]
    tasks = ", ".join(
        f"{name} ({info['n_mapped']} mapped, {info['n_features']} features, classifier "
        f"accuracy on them {100 * info['accuracy_on_mapped']:.1f} %)"
        for name, info in data["tasks"].items()
    )
    intro = (
        f"Decision maps of the same classifiers and samples, one evaluator: {tasks}. "
        f"Grid {settings['resolution']}×{settings['resolution']}, up to "
        f"{settings['max_trips']} round trips on "
        f"{settings['trip_cells'] or 'all'} cells; mean ± half the range over "
        f"{settings['seeds']} seed(s). Tuned didi: GridSearchCV by {TUNING_SCORE}. "
        f"didi {data['machine']['didi_commit']}; {data['machine']['nproc']} × "
        f"{data['machine']['cpu']}; peers: "
        + ", ".join(f"{k} {v}" for k, v in data["peer_versions"].items())
        + f". Total {data['total_s'] / 60:.1f} min."
    )
    data["summary"] = summary
    write_results(result_name(args), data, intro + "\n\n" + markdown_table(headers, rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one seed")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=None)
    parser.add_argument("--pipelines", nargs="+", choices=PIPELINES, default=list(PIPELINES))
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0 … k−1")
    parser.add_argument("--n", type=int, default=None, help="mapped samples per data set")
    parser.add_argument("--resolution", type=int, default=None, help="grid cells per axis")
    parser.add_argument("--trips", type=int, default=None, help="most round trips")
    parser.add_argument("--trip-cells", type=int, default=None, help="round trips on k cells")
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS/OpenMP/torch threads (0: libraries' own)"
    )
    parser.add_argument("--out", default=None, help="results' name (default bench_peers[_quick])")
    args = parser.parse_args(argv)
    quick = args.quick
    args.tasks = args.tasks or (["digits", "tabular"] if quick else list(TASKS))
    args.seeds = args.seeds or (1 if quick else 3)
    args.n = args.n or (200 if quick else 600)
    args.resolution = args.resolution or (40 if quick else 100)
    args.trips = args.trips or (3 if quick else 10)
    start = time.perf_counter()
    args.threads = args.threads or None
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    with warnings.catch_warnings(), blas_threads(args.threads):
        warnings.filterwarnings("ignore", category=UserWarning, module="umap")
        warnings.filterwarnings("ignore", message=".*ConvergenceWarning.*|.*did not converge.*")
        data = run(args)
    data["total_s"] = time.perf_counter() - start
    report(args, data)


if __name__ == "__main__":
    main()
