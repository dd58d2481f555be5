"""Planted faults found by didi's introspection, side by side with DNIKit and cleanlab.

On digits and Fashion-MNIST, an evaluation set gets planted faults: exact copies
and re-scanned copies (every value jittered by 5 %) of some of its samples, 4 % of
its labels flipped, and images of the other data set (out of distribution). A
classifier (scikit-learn MLP) is trained on a separate clean training set. Then, on the
same responses:

* unfamiliar samples: didi's ``Familiarity`` and DNIKit's ``Familiarity`` (GMM, its
  defaults), fitted to the training set's responses and scoring the evaluation set,
  each flagging what scores below its training set's lowest 5 % (didi's default
  ``contamination``; DNIKit has no threshold of its own), and DNIKit also as many of
  its lowest as didi flags (equal effort);
* near-duplicates: didi's ``NearDuplicates`` (samples, probabilities, DiDi) and DNIKit's
  ``Duplicates`` (annoy, ``Slope``), at their default thresholds, on the evaluated
  samples (DNIKit without the columns that are zero throughout, which its column
  scaling would divide by zero and which add nothing to a distance);
* wrong labels: didi's ``find_label_issues`` (confident learning; with a map, the DiDi
  neighbours' vote) and cleanlab's ``find_label_issues`` (its default).

Precision and recall per detector. DNIKit runs in its own environment (its PyPI name is
``deepview``; it pins numpy below 2), found at ``$DNIKIT_PYTHON`` (default
``/tmp/dnv/bin/python``); it is left out when missing. Run::

    python benchmarks/bench_data_faults.py           # digits and 3,000 Fashion-MNIST images
    python benchmarks/bench_data_faults.py --quick   # digits only
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, markdown_table, write_results

from didi import DecisionMap, Familiarity, NearDuplicates, find_label_issues
from didi.datasets import load_fashion_mnist

DNIKIT_PYTHON = os.environ.get("DNIKIT_PYTHON", "/tmp/dnv/bin/python")


def resize(images: np.ndarray, side: int) -> np.ndarray:
    """Nearest-neighbour resize of square grey images to ``side × side``."""
    n, height = len(images), images.shape[1]
    rows = (np.arange(side) * height / side).astype(int)
    return images[:, rows][:, :, rows].reshape(n, side, side)


def load(name: str):
    """Training set, evaluation set and foreign images (the other data set), flat, 0..1."""
    digits, digit_labels = load_digits(return_X_y=True)
    digits = digits / 16
    fashion, fashion_labels = load_fashion_mnist("test")
    fashion = fashion / 255
    if name == "digits":
        foreign = resize(fashion[:30].reshape(-1, 28, 28), 8).reshape(30, 64)
        return digits[600:], digit_labels[600:], digits[:600], digit_labels[:600], foreign
    foreign = resize(digits[:30].reshape(-1, 8, 8), 28).reshape(30, 784)
    train, train_labels = load_fashion_mnist("train")
    return (train[:10000].reshape(10000, -1) / 255, train_labels[:10000],
            fashion[:3000].reshape(3000, -1), fashion_labels[:3000], foreign)  # fmt: skip


def plant(X, y, foreign, rng):
    """The evaluation set with planted faults, and where they are."""
    n = len(X)
    sources = rng.choice(n, size=40, replace=False)
    exact, rescanned = sources[:20], sources[20:]
    copies = np.vstack(
        [X[exact], np.clip(X[rescanned] * (1 + rng.normal(0, 0.05, (20, X.shape[1]))), 0, 1)]
    )
    flipped = rng.choice(n, size=int(0.04 * n), replace=False)
    labels = y.copy()
    labels[flipped] = (y[flipped] + rng.integers(1, 10, len(flipped))) % 10
    foreign_labels = rng.integers(0, 10, len(foreign))
    X_all = np.vstack([X, copies, foreign])
    y_all = np.concatenate([labels, labels[sources], foreign_labels])
    truth = {
        "duplicates": np.concatenate([sources, n + np.arange(40)]),
        "flipped": flipped,
        "foreign": n + 40 + np.arange(len(foreign)),
    }
    return X_all, y_all, truth


def scores(found: np.ndarray, truth: np.ndarray) -> dict:
    found, truth = set(np.asarray(found).tolist()), set(np.asarray(truth).tolist())
    hits = len(found & truth)
    return {
        "found": len(found),
        "precision": hits / len(found) if found else float("nan"),
        "recall": hits / len(truth),
    }


def dnikit(fit: dict, score: dict) -> dict | None:
    """DNIKit's results on the same responses, from its own environment; None without it."""
    if not Path(DNIKIT_PYTHON).exists():
        return None
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.npz", Path(folder) / "out.npz"
        arrays = {f"fit_{k}": v for k, v in fit.items()}
        arrays |= {f"score_{k}": np.vstack([fit[k], v]) for k, v in score.items()}
        # Duplicates among the evaluated samples only, as didi's; without the columns
        # that are zero throughout, which DNIKit's column scaling would divide by zero
        # (they add nothing to any distance).
        for k, v in score.items():
            arrays[f"duplicates_{k}"] = v[:, np.linalg.norm(v, axis=0) > 0]
        np.savez(source, **arrays)
        runner = Path(__file__).resolve().parent / "_dnikit_runner.py"
        subprocess.run([DNIKIT_PYTHON, str(runner), str(source), str(target)], check=True)
        with np.load(target) as found:
            return {key: found[key] for key in found.files}


def familiarity_rows(clf, X_train, X_all, truth, external) -> list:
    rows = []
    for responses in ("proba", "samples"):
        model = Familiarity(clf, responses=responses, random_state=0).fit(X_train)
        flagged = np.flatnonzero(model.predict(X_all) == -1)
        rows.append([f"didi Familiarity ({responses})", scores(flagged, truth["foreign"])])
        if external is not None:
            everything = external[f"familiarity_{responses}"]
            fitted, scored = everything[: len(X_train)], everything[len(X_train) :]
            threshold = np.percentile(fitted, 5)  # the same rule as didi's contamination
            rows.append([f"DNIKit Familiarity ({responses})",
                         scores(np.flatnonzero(scored < threshold), truth["foreign"])])  # fmt: skip
            # At equal effort: as many of its least familiar samples as didi flags.
            rows.append([f"DNIKit Familiarity ({responses}), {len(flagged)} lowest",
                         scores(np.argsort(scored)[: len(flagged)], truth["foreign"])])  # fmt: skip
    return rows


def duplicate_rows(clf, X_all, truth, external) -> list:
    rows = []
    for space in ("samples", "proba", "didi"):
        found = NearDuplicates(clf, space=space, random_state=0).fit(X_all)
        rows.append([f"didi NearDuplicates ({space})",
                     scores(np.flatnonzero(found.labels_ >= 0), truth["duplicates"])])  # fmt: skip
    if external is not None:
        for space in ("samples", "proba"):
            labels = external[f"duplicates_{space}"]
            rows.append([f"DNIKit Duplicates ({space})",
                         scores(np.flatnonzero(labels >= 0), truth["duplicates"])])  # fmt: skip
    return rows


def label_rows(clf, X_all, y_all, truth, n_labelled) -> list:
    proba = clf.predict_proba(X_all)[:n_labelled]
    labels = y_all[:n_labelled]
    dmap = DecisionMap(clf, resolution=20, random_state=0).fit(X_all[:n_labelled], labels)
    rows = [
        ["didi find_label_issues (confident learning)", find_label_issues(labels, proba)],
        ["didi find_label_issues (+ DiDi neighbours)",
         find_label_issues(labels, proba, decision_map=dmap)],
    ]  # fmt: skip
    try:
        from cleanlab.filter import find_label_issues as cleanlab_find

        rows.append(["cleanlab find_label_issues (default)",
                     np.flatnonzero(cleanlab_find(labels, proba))])  # fmt: skip
    except ImportError:
        pass
    return [[name, scores(found, truth["flipped"])] for name, found in rows]


def run(name: str) -> dict:
    rng = np.random.default_rng(0)
    X_train, y_train, X_eval, y_eval, foreign = load(name)
    X_all, y_all, truth = plant(X_eval, y_eval, foreign, rng)
    n = len(X_eval)
    sources = truth["duplicates"][:40]
    truth["flipped"] = np.concatenate(
        [truth["flipped"], n + np.flatnonzero(np.isin(sources, truth["flipped"]))]
    )
    clock = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=200, random_state=0)
        clf.fit(X_train, y_train)
    fit = {"proba": clf.predict_proba(X_train), "samples": X_train}
    score = {"proba": clf.predict_proba(X_all), "samples": X_all}
    external = dnikit(fit, score)
    rows = (
        familiarity_rows(clf, X_train, X_all, truth, external)
        + duplicate_rows(clf, X_all, truth, external)
        + label_rows(clf, X_all, y_all, truth, n + 40)
    )
    return {
        "data": name,
        "n_train": len(X_train),
        "n_evaluated": len(X_all),
        "test_accuracy": float(clf.score(X_eval, y_eval)),
        "planted": {key: len(value) for key, value in truth.items()},
        "seconds": time.perf_counter() - clock,
        "rows": [{"detector": detector, **result} for detector, result in rows],
    }


def report(results: list) -> str:
    parts = []
    for result in results:
        planted = result["planted"]
        rows = [
            [row["detector"], row["found"], f"{100 * row['precision']:.1f}",
             f"{100 * row['recall']:.1f}"]
            for row in result["rows"]
        ]  # fmt: skip
        parts.append(
            f"## {result['data']}: {result['n_evaluated']} samples evaluated "
            f"(classifier accuracy {100 * result['test_accuracy']:.1f} % on the clean ones; "
            f"planted {planted['foreign']} foreign images, {planted['duplicates']} samples in "
            f"duplicate pairs, {planted['flipped']} wrong labels)\n\n"
            + markdown_table(["detector", "flagged", "precision %", "recall %"], rows)
        )
    return "# Planted faults\n\n" + "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    names = ["digits"] if args.quick else ["digits", "fashion-mnist"]
    results = [run(name) for name in names]
    name = "bench_data_faults_quick" if args.quick else "bench_data_faults"
    write_results(name, {"machine": machine_info(), "results": results}, report(results))


if __name__ == "__main__":
    main()
