"""Command line: ``didi demo`` draws the decision map of an MLP on the digits data.

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
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from didi import DecisionMap, DecisionMapDisplay

    X, y = load_digits(return_X_y=True)
    X_train, X_map, y_train, y_map = train_test_split(
        X, y, test_size=n_samples, stratify=y, random_state=random_state
    )
    clf = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=random_state),
    ).fit(X_train, y_train)
    accuracy = float(clf.score(X_map, y_map))

    start = time.perf_counter()
    dmap = DecisionMap(clf, resolution=resolution, random_state=random_state).fit(X_map, y_map)
    seconds = time.perf_counter() - start

    output_dir.mkdir(parents=True, exist_ok=True)
    display = DecisionMapDisplay.from_estimator(
        dmap, title=f"MLP on {len(X_map)} digits (test accuracy {accuracy:.1%})"
    )
    display.figure_.savefig(output_dir / "decision_map.png", dpi=150, bbox_inches="tight")
    result = {
        "data": "scikit-learn digits (8x8 images)",
        "classifier": "StandardScaler + MLPClassifier(hidden_layer_sizes=(64,))",
        "n_samples": len(X_map),
        "classifier_test_accuracy": accuracy,
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
    np.savez_compressed(
        output_dir / "embedding.npz",
        embedding=dmap.embedding_,
        y=y_map,
        predicted=dmap.proba_.argmax(axis=1),
    )
    return result


def _plain(value):
    """JSON encoder for numpy scalars."""
    return value.item() if hasattr(value, "item") else str(value)


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
        "decision_map.png, scores.json and embedding.npz to --output-dir.",
    )
    demo.add_argument(
        "--output-dir",
        type=Path,
        default=Path("didi-output"),
        help="folder for the PNG, the JSON scores and the embedding (default: %(default)s)",
    )
    demo.add_argument(
        "--n-samples",
        type=int,
        default=600,
        help="held-out digits to map; the rest train the MLP (default: %(default)s)",
    )
    demo.add_argument(
        "--resolution",
        type=int,
        default=100,
        help="grid cells per axis of the map (default: %(default)s)",
    )
    demo.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed for the split, the MLP and the map (default: %(default)s)",
    )
    args = parser.parse_args(argv)

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
        labels = {
            "q_knn_e": "Q_kNN-E",
            "q_knn": "Q_kNN",
            "q_data": "Q_data",
            "q_not_data": "Q_not_data",
        }
        for key, label in labels.items():
            print(f"  {label:<11} {scores[key]:6.1%}")
        print(
            f"Wrote {args.output_dir / 'decision_map.png'}, {args.output_dir / 'scores.json'} "
            f"and {args.output_dir / 'embedding.npz'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
