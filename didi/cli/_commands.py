"""What the commands do: fit a map and write its files."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

#: Images in scikit-learn's digits data.
N_DIGITS = 1797


def demo_classifier_and_samples(n_samples: int = 600, random_state: int = 0):
    """What ``didi demo`` maps: an MLP trained on the digits it does not map, and
    ``n_samples`` held-out digits (stratified) with their labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_train, X_map, y_train, y_map = train_test_split(
        X, y, test_size=n_samples, stratify=y, random_state=random_state
    )
    clf = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=random_state),
    ).fit(X_train, y_train)
    return clf, X_map, y_map


def run_demo(output_dir: Path, *, n_samples: int, resolution: int, random_state: int) -> dict:
    """Fit an MLP on scikit-learn's bundled digits, map held-out digits, write files.

    Returns the scores written to ``scores.json``.
    """
    if not 40 <= n_samples <= N_DIGITS - 100:
        raise SystemExit(
            f"didi demo: --n-samples must be between 40 and {N_DIGITS - 100} (the rest of the "
            f"{N_DIGITS} digits train the MLP); got {n_samples}."
        )
    clf, X_map, y_map = demo_classifier_and_samples(n_samples, random_state)
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

    from ..decision_map import DecisionMap
    from ..plotting import DecisionMapDisplay

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


def _plain(value):
    """JSON encoder for numpy scalars."""
    return value.item() if hasattr(value, "item") else str(value)
