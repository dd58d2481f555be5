"""Command line: ``didi demo`` maps an MLP on the digits data; ``didi map`` maps yours.

Run ``python -m didi --help`` (or ``didi --help`` once installed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def run_demo(output_dir: Path, *, n_samples: int, resolution: int, random_state: int) -> dict:
    """Fit an MLP on scikit-learn's bundled digits, map held-out digits, write files.

    Returns the scores written to ``scores.json``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    if not 40 <= n_samples <= len(X) - 100:
        raise SystemExit(
            f"didi demo: --n-samples must be between 40 and {len(X) - 100} (the rest of the "
            f"{len(X)} digits train the MLP); got {n_samples}."
        )
    X_train, X_map, y_train, y_map = train_test_split(
        X, y, test_size=n_samples, stratify=y, random_state=random_state
    )
    clf = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=random_state),
    ).fit(X_train, y_train)
    accuracy = float(clf.score(X_map, y_map))

    result = map_and_write(
        clf,
        X_map,
        y_map,
        output_dir,
        params={"resolution": resolution, "random_state": random_state},
        title=f"MLP on {len(X_map)} digits (test accuracy {accuracy:.1%})",
        description={
            "data": "scikit-learn digits (8x8 images)",
            "classifier": "StandardScaler + MLPClassifier(hidden_layer_sizes=(64,))",
            "classifier_test_accuracy": accuracy,
        },
        image_shape=(8, 8),
    )
    return result


def map_and_write(
    clf,
    X,
    y,
    output_dir: Path,
    *,
    params: dict,
    title: str,
    description: dict,
    image_shape: tuple[int, ...] | None = None,
) -> dict:
    """Fit a :class:`~didi.DecisionMap` and write decision_map.png, decision_map.html,
    scores.json and embedding.npz to ``output_dir``; returns what scores.json holds."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from didi import DecisionMap, DecisionMapDisplay

    start = time.perf_counter()
    dmap = DecisionMap(clf, **params).fit(X, y)
    seconds = time.perf_counter() - start

    output_dir.mkdir(parents=True, exist_ok=True)
    display = DecisionMapDisplay.from_estimator(dmap, title=title)
    display.figure_.savefig(output_dir / "decision_map.png", dpi=150, bbox_inches="tight")
    dmap.to_html(output_dir / "decision_map.html", title=title, image_shape=image_shape)
    result = {
        **description,
        "n_samples": len(X),
        "scores": dmap.scores_,
        "fit_seconds": seconds,
        "stage_seconds": dmap.timings_,
        "classifier_rows": int(dmap.n_classifier_rows_),
        "parameters": {
            k: v
            for k, v in dmap.get_params(deep=False).items()
            if isinstance(v, (int, float, str, type(None))) and k != "estimator"
        },
    }
    (output_dir / "scores.json").write_text(json.dumps(result, indent=2, default=_plain))
    arrays = {"embedding": dmap.embedding_, "predicted": dmap.classes_[dmap.proba_.argmax(axis=1)]}
    if y is not None:
        arrays["y"] = np.asarray(y)
    np.savez_compressed(output_dir / "embedding.npz", **arrays)
    return result


def run_map(args: argparse.Namespace) -> dict:
    """``didi map``: a user's samples and saved classifier, from files."""
    import joblib
    import numpy as np

    if not args.data.exists():
        raise SystemExit(f"didi map: {args.data} does not exist.")
    if not args.model.exists():
        raise SystemExit(f"didi map: {args.model} does not exist.")
    with np.load(args.data, allow_pickle=False) as data:
        if args.x_key not in data:
            raise SystemExit(
                f"didi map: {args.data} has no array {args.x_key!r}; it has "
                f"{sorted(data.files)}. Name the samples' array with --x-key."
            )
        X = data[args.x_key]
        y = data[args.y_key] if args.y_key in data else None
    if y is not None and len(y) != len(X):
        raise SystemExit(
            f"didi map: {args.data} has {len(X)} samples ({args.x_key!r}) but {len(y)} labels "
            f"({args.y_key!r}); they must match."
        )
    if args.n_samples is not None and args.n_samples < 2:
        raise SystemExit(f"didi map: --n-samples must be at least 2; got {args.n_samples}.")
    clf = joblib.load(args.model)
    if not hasattr(clf, "predict_proba"):
        raise SystemExit(
            f"didi map: the object in {args.model} ({type(clf).__name__}) has no "
            "predict_proba; save a fitted classifier that has one."
        )
    if args.n_samples is not None and args.n_samples < len(X):
        keep = np.random.default_rng(args.random_state).choice(
            len(X), args.n_samples, replace=False
        )
        X = X[np.sort(keep)]
        y = None if y is None else y[np.sort(keep)]
    params = {
        "lam": args.lam,
        "a": args.a,
        "n_neighbors": args.n_neighbors,
        "resolution": args.resolution,
        "random_state": args.random_state,
        "n_jobs": args.n_jobs,
        "verbose": args.verbose,
    }
    return map_and_write(
        clf,
        X,
        y,
        args.output_dir,
        params=params,
        title=f"{type(clf).__name__} on {len(X)} samples of {args.data.name}",
        description={"data": str(args.data), "classifier": str(args.model)},
        image_shape=args.image_shape,
    )


def _image_shape(text: str) -> tuple[int, ...]:
    """``"28x28"`` → ``(28, 28)``, for ``--image-shape``."""
    try:
        shape = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected a shape like 28x28 or 3x32x32; got {text!r}")
    return shape


def _plain(value):
    """JSON encoder for numpy scalars."""
    return value.item() if hasattr(value, "item") else str(value)


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """The options every subcommand that draws a map shares."""
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("didi-output"),
        help="folder for the PNG, the web page, the JSON scores and the embedding "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--resolution",
        type=int,
        default=100,
        help="grid cells per axis of the map (default: %(default)s)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="didi",
        description="Decision maps of classifiers (DeepView): see what a trained "
        "classifier does, as a picture.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="map an MLP trained on scikit-learn's bundled digits",
        description="Train an MLP on scikit-learn's bundled digits, draw the decision map "
        "of held-out digits and print the four quality scores. Writes "
        "decision_map.png, decision_map.html (a self-contained page to explore), "
        "scores.json and embedding.npz to --output-dir.",
    )
    _add_output_options(demo)
    demo.add_argument(
        "--n-samples",
        type=int,
        default=600,
        help="held-out digits to map; the rest train the MLP (default: %(default)s)",
    )
    demo.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed for the split, the MLP and the map (default: %(default)s)",
    )
    mapper = sub.add_parser(
        "map",
        help="map your own samples and saved classifier",
        description="Draw the decision map of a saved classifier on samples from a .npz "
        "file and print the four quality scores. Writes decision_map.png, decision_map.html, "
        "scores.json and "
        "embedding.npz to --output-dir. The model file is unpickled: load only files you "
        "trust.",
    )
    mapper.add_argument(
        "--data",
        type=Path,
        required=True,
        help="a .npz file with the samples (array --x-key, any shape the classifier "
        "accepts) and optionally their true labels (array --y-key)",
    )
    mapper.add_argument(
        "--model",
        type=Path,
        required=True,
        help="a fitted classifier with predict_proba saved with joblib.dump (a "
        "scikit-learn estimator or Pipeline, skorch, scikeras, ...)",
    )
    mapper.add_argument(
        "--x-key", default="X", help="name of the samples' array in --data (default: X)"
    )
    mapper.add_argument(
        "--y-key",
        default="y",
        help="name of the true labels' array in --data, used if present (default: y)",
    )
    _add_output_options(mapper)
    mapper.add_argument(
        "--n-samples",
        type=int,
        default=None,
        help="map a random subset of this many samples (default: all)",
    )
    mapper.add_argument(
        "--lam",
        type=float,
        default=0.65,
        help="weight of the input-space distance, in [0, 1] (default: %(default)s)",
    )
    mapper.add_argument(
        "--a",
        type=float,
        default=500.0,
        help="sharpness of the inverse projection (default: %(default)s)",
    )
    mapper.add_argument(
        "--n-neighbors", type=int, default=30, help="UMAP's neighbourhood (default: %(default)s)"
    )
    mapper.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed for the subset and the map (default: %(default)s)",
    )
    mapper.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="parallel jobs for the path evaluations (default: one)",
    )
    mapper.add_argument(
        "--image-shape",
        type=_image_shape,
        default=None,
        help="show flat samples as images of this shape in the web page, e.g. 28x28 or "
        "3x32x32 (default: shown as images only if the samples already have an image shape)",
    )
    mapper.add_argument(
        "--verbose", action="store_true", help="show progress bars on the long stages"
    )
    args = parser.parse_args(argv)

    if args.command == "map":
        result = run_map(args)
        print(
            f"Decision map of {result['n_samples']} samples, fitted in "
            f"{result['fit_seconds']:.1f} s"
        )
        _print_scores(result["scores"], args.output_dir)
        return 0
    if args.command == "demo":
        result = run_demo(
            args.output_dir,
            n_samples=args.n_samples,
            resolution=args.resolution,
            random_state=args.random_state,
        )
        scores = result["scores"]
        print(
            f"Decision map of {result['n_samples']} digits "
            f"(MLP test accuracy {result['classifier_test_accuracy']:.1%}), "
            f"fitted in {result['fit_seconds']:.1f} s"
        )
        _print_scores(scores, args.output_dir)
    return 0


def _print_scores(scores: dict, output_dir: Path) -> None:
    labels = {
        "q_knn_e": "Q_kNN-E",
        "q_knn": "Q_kNN",
        "q_data": "Q_data",
        "q_not_data": "Q_not_data",
    }
    for key, label in labels.items():
        print(f"  {label:<11} {scores[key]:6.1%}")
    print(
        f"Wrote {output_dir / 'decision_map.png'}, {output_dir / 'decision_map.html'}, "
        f"{output_dir / 'scores.json'} and {output_dir / 'embedding.npz'}"
    )


if __name__ == "__main__":
    sys.exit(main())
