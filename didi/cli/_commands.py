"""What the commands do: check everything, fit a map, write its files together.

Every option, the input files and the output folder are checked before the fit;
mistakes raise :class:`UsageError`, which the command line reports in one line.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from ._models import load_classifier
from ._output import StagedOutput, UsageError

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


def run_demo(args: argparse.Namespace) -> dict:
    """``didi demo``: an MLP on scikit-learn's bundled digits, mapped on held-out digits.

    Returns what ``scores.json`` holds.
    """
    if not 40 <= args.n_samples <= N_DIGITS - 100:
        raise UsageError(
            f"--n-samples must be between 40 and {N_DIGITS - 100} (the rest of the "
            f"{N_DIGITS} digits train the MLP); got {args.n_samples}."
        )
    params = {"resolution": args.resolution, "random_state": args.random_state}
    check_options(params)
    with StagedOutput(args.output_dir) as output:
        clf, X_map, y_map = demo_classifier_and_samples(args.n_samples, args.random_state)
        accuracy = float(clf.score(X_map, y_map))
        return fit_and_write(
            new_map(clf, params),
            X_map,
            y_map,
            output,
            title=f"MLP on {len(X_map)} digits (test accuracy {accuracy:.1%})",
            description={
                "data": "scikit-learn digits (8x8 images)",
                "classifier": "StandardScaler + MLPClassifier(hidden_layer_sizes=(64,))",
                "classifier_test_accuracy": accuracy,
            },
            image_shape=(8, 8),
        )


def run_map(args: argparse.Namespace) -> dict:
    """``didi map``: a user's samples and saved classifier, from files."""
    X, y = load_samples(args)
    _check_image_shape(args.image_shape, X)
    params = {
        "lam": args.lam,
        "a": args.a,
        "n_neighbors": args.n_neighbors,
        "resolution": args.resolution,
        "random_state": args.random_state,
        "n_jobs": args.n_jobs,
        "verbose": args.verbose,
    }
    check_options(params)
    clf = _load_model(args)
    with StagedOutput(args.output_dir) as output:
        return fit_and_write(
            new_map(clf, params),
            X,
            y,
            output,
            title=f"{type(clf).__name__} on {len(X)} samples of {args.data.name}",
            description={"data": str(args.data), "classifier": str(args.model)},
            image_shape=args.image_shape,
        )


def run_report(args: argparse.Namespace) -> dict:
    """``didi report``: a user's samples and saved classifier, every view in one page.

    Returns what ``report.json`` holds.
    """
    from .._validation import describe
    from ..reporting import report
    from ..reporting._report import OPTIONS

    if not OPTIONS["layers"][0].accepts(args.layers):
        raise UsageError(f"--layers must be {describe(OPTIONS['layers'])}; got {args.layers!r}.")
    X, y = load_samples(args)
    _check_image_shape(args.image_shape, X)
    params = {
        "lam": args.lam, "a": args.a, "n_neighbors": args.n_neighbors,
        "resolution": args.resolution, "random_state": args.random_state, "n_jobs": args.n_jobs,
    }  # fmt: skip
    check_options(params)
    clf = _load_model(args)
    with StagedOutput(args.output_dir) as output:
        report(
            clf, X, y, output_dir=output.staging, image_shape=args.image_shape,
            title=f"{type(clf).__name__} on {len(X)} samples of {args.data.name}",
            map_params=params, layers=args.layers, saliency_method=args.saliency_method,
            unit_layers=args.unit_layers, random_state=args.random_state,
            progress=not args.quiet,
        )  # fmt: skip
        return json.loads((output / "report.json").read_text())


def _check_image_shape(image_shape: tuple[int, ...] | None, X: np.ndarray) -> None:
    """``--image-shape`` must hold a sample's values."""
    if image_shape is not None and np.prod(image_shape) != np.prod(X.shape[1:]):
        raise UsageError(
            f"--image-shape {'x'.join(map(str, image_shape))} holds "
            f"{int(np.prod(image_shape))} values, but a sample has "
            f"{int(np.prod(X.shape[1:]))}."
        )


def _load_model(args: argparse.Namespace) -> Any:
    """The classifier of ``--model``, opened as its options say."""
    return load_classifier(
        args.model,
        allow_pickle=args.allow_pickle,
        trusted=args.trust,
        output=args.model_output,
        input_shape=args.model_input_shape,
    )


def check_options(params: dict) -> None:
    """Refuse an option a :class:`~didi.DecisionMap` parameter does not allow, by its
    option's name, before any work."""
    from .._validation import describe
    from ..decision_map import DecisionMap

    for name, value in params.items():
        allowed = DecisionMap._parameter_constraints[name]
        if not any(constraint.accepts(value) for constraint in allowed):
            option = "--" + name.replace("_", "-")
            raise UsageError(f"{option} must be {describe(allowed)}; got {value!r}.")


def new_map(clf: Any, params: dict):
    """The :class:`~didi.DecisionMap` the command fits."""
    from ..decision_map import DecisionMap

    return DecisionMap(clf, **params)


def load_samples(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray | None]:
    """The samples (and labels, if any) of ``--data``, subsampled to ``--n-samples``."""
    if args.n_samples is not None and args.n_samples < 2:
        raise UsageError(f"--n-samples must be at least 2; got {args.n_samples}.")
    if not args.data.is_file():
        raise UsageError(f"--data {args.data} does not exist.")
    try:
        with np.load(args.data, allow_pickle=False) as data:
            if args.x_key not in data:
                raise UsageError(
                    f"--data {args.data} has no array {args.x_key!r}; it has "
                    f"{sorted(data.files)}. Name the samples' array with --x-key."
                )
            X = data[args.x_key]
            y = data[args.y_key] if args.y_key in data else None
    except (ValueError, OSError, AttributeError) as exc:
        raise UsageError(f"--data {args.data} is not a .npz file of arrays ({exc}).") from exc
    if y is not None and len(y) != len(X):
        raise UsageError(
            f"--data {args.data} has {len(X)} samples ({args.x_key!r}) but {len(y)} labels "
            f"({args.y_key!r}); they must match."
        )
    if args.n_samples is not None and args.n_samples < len(X):
        keep = np.sort(
            np.random.default_rng(args.random_state).choice(len(X), args.n_samples, replace=False)
        )
        X, y = X[keep], None if y is None else y[keep]
    return X, y


def fit_and_write(
    dmap,
    X: np.ndarray,
    y: np.ndarray | None,
    output: StagedOutput,
    *,
    title: str,
    description: dict,
    image_shape: tuple[int, ...] | None = None,
) -> dict:
    """Fit ``dmap`` and write decision_map.png, decision_map.html, scores.json and
    embedding.npz into ``output``; returns what scores.json holds."""
    import matplotlib

    matplotlib.use("Agg")

    from ..plotting import DecisionMapDisplay

    start = time.perf_counter()
    dmap.fit(X, y)
    seconds = time.perf_counter() - start
    display = DecisionMapDisplay.from_estimator(dmap, title=title)
    display.figure_.savefig(output / "decision_map.png", dpi=150, bbox_inches="tight")
    dmap.to_html(output / "decision_map.html", title=title, image_shape=image_shape)
    result = {
        **description,
        "n_samples": len(X),
        # Strict JSON: a score not measured (acc_m without labels) is null, not NaN.
        "scores": {k: None if v != v else float(v) for k, v in dmap.scores_.items()},
        "lam": float(dmap.lam_),
        "fit_seconds": seconds,
        "stage_seconds": dmap.timings_,
        "classifier_rows": int(dmap.n_classifier_rows_),
        "parameters": {
            k: v
            for k, v in dmap.get_params(deep=False).items()
            if isinstance(v, (int, float, str, type(None))) and k != "estimator"
        },
    }
    (output / "scores.json").write_text(json.dumps(result, indent=2, default=_plain))
    arrays = {"embedding": dmap.embedding_, "predicted": dmap.classes_[dmap.proba_.argmax(axis=1)]}
    if y is not None:
        arrays["y"] = np.asarray(y)
    np.savez_compressed(output / "embedding.npz", **arrays)
    return result


def _plain(value):
    """JSON encoder for numpy scalars."""
    return value.item() if hasattr(value, "item") else str(value)
