"""``find_label_issues``: samples whose given label is likely wrong."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.utils import check_array, column_or_1d

from .._validation import Interval, Options, check_value

METHODS = ("confident_learning", "cleanlab")


def confident_thresholds(labels: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Per class ``j``: the mean probability of ``j`` over the samples labelled ``j``
    (Northcutt, Jiang & Chuang, JAIR 2021); 2 (never reached) for a class nobody has."""
    thresholds = np.full(proba.shape[1], 2.0)
    for k in np.unique(labels):
        thresholds[k] = proba[labels == k, k].mean()
    return np.clip(thresholds, 2e-6, None)


def confident_learning_issues(labels: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Whether each sample lies off the diagonal of the confident joint.

    A sample's confident class is the class whose probability reaches its threshold
    (:func:`confident_thresholds`; the most probable if several do); a sample with
    one whose confident class differs from its given label is an issue, unless its
    given label is (within 1e-6) its most probable class. The same rule as
    cleanlab's ``find_label_issues(filter_by="confident_learning")``.
    """
    confident = proba >= confident_thresholds(labels, proba)[None, :] - 1e-6
    n_confident = confident.sum(axis=1)
    guess = np.where(n_confident > 1, proba.argmax(axis=1), confident.argmax(axis=1))
    favoured = proba.copy()
    favoured[np.arange(len(labels)), labels] += 1e-6
    return (n_confident > 0) & (guess != labels) & (favoured.argmax(axis=1) != labels)


def neighbour_agreement(
    labels: np.ndarray, neighbours: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: the share of its neighbours given its label, and their most common label."""
    votes = labels[neighbours]
    agreement = (votes == labels[:, None]).mean(axis=1)
    n_classes = int(labels.max()) + 1
    counts = np.apply_along_axis(np.bincount, 1, votes, minlength=n_classes)
    return agreement, counts.argmax(axis=1)


def _label_indices(y: Any, classes: np.ndarray) -> np.ndarray:
    y = column_or_1d(y)
    lookup = {label: k for k, label in enumerate(classes.tolist())}
    missing = [label for label in np.unique(y).tolist() if label not in lookup]
    if missing:
        raise ValueError(
            f"Labels {missing[:5]} are not among the classifier's classes {classes.tolist()}."
        )
    return np.array([lookup[label] for label in y.tolist()], dtype=np.int64)


def find_label_issues(
    y: Any,
    proba: Any,
    *,
    classes: Any = None,
    decision_map: Any = None,
    method: str = "confident_learning",
    n_neighbors: int = 10,
    return_scores: bool = False,
):
    """Samples whose given label is likely wrong, most likely first.

    From the classifier's out-of-sample probabilities (e.g. from
    :func:`~sklearn.model_selection.cross_val_predict` with
    ``method="predict_proba"``, or a held-out set): a sample is an issue when its
    *confident class* — the class whose probability reaches that class's average
    probability over the samples given it — differs from its given label
    (confident learning, Northcutt, Jiang & Chuang, JAIR 2021: the off-diagonal of the
    confident joint, as cleanlab's ``filter_by="confident_learning"``).
    ``method="cleanlab"`` asks cleanlab's ``find_label_issues`` instead (its
    default, pruning by the estimated noise rates; ``pip install cleanlab``).

    With a fitted :class:`~didi.DecisionMap` of the same samples, the labels of each
    sample's DiDi neighbours vote too: a sample is also an issue when most of its
    neighbours carry one other label and the classifier predicts that label.
    Samples are ranked by label quality: the probability of the given label
    (cleanlab's self-confidence), averaged with the neighbours' agreement when a
    map is given; lowest first.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The given labels, among ``classes``.
    proba : array-like of shape (n_samples, n_classes)
        The classifier's probabilities of the samples.
    classes : array-like of shape (n_classes,), default=None
        The labels of ``proba``'s columns; the map's ``classes_``, else
        ``0 … n_classes − 1``.
    decision_map : DecisionMap, default=None
        A map fitted on the same samples, whose DiDi neighbours vote.
    method : {"confident_learning", "cleanlab"}, default="confident_learning"
        Where the probabilities' verdict comes from.
    n_neighbors : int, default=10
        Neighbours that vote (at most the map's k-NN lists).
    return_scores : bool, default=False
        Also return every sample's label quality.

    Returns
    -------
    issues : ndarray of int
        Indices of the samples with likely wrong labels, lowest label quality first.
    quality : ndarray of shape (n_samples,)
        Each sample's label quality in ``[0, 1]``, when ``return_scores``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_predict
    >>> from didi import find_label_issues
    >>> X, y = load_digits(return_X_y=True)
    >>> noisy = y.copy()
    >>> noisy[:20] = (y[:20] + 1) % 10  # 20 wrong labels
    >>> proba = cross_val_predict(
    ...     LogisticRegression(max_iter=2000), X, noisy, cv=5, method="predict_proba"
    ... )
    >>> issues = find_label_issues(noisy, proba)
    >>> int(np.isin(np.arange(20), issues).sum())  # found of the 20
    19
    """
    check_value("find_label_issues", "method", method, [Options(METHODS)])
    check_value("find_label_issues", "n_neighbors", n_neighbors, [Interval(Integral, 1, None)])
    proba = check_array(proba, dtype=np.float64, input_name="proba")
    if classes is None:
        classes = getattr(decision_map, "classes_", np.arange(proba.shape[1]))
    classes = np.asarray(classes)
    if len(classes) != proba.shape[1]:
        raise ValueError(f"proba has {proba.shape[1]} columns for {len(classes)} classes.")
    labels = _label_indices(y, classes)
    if len(labels) != len(proba):
        raise ValueError(f"y has {len(labels)} labels for {len(proba)} rows of proba.")
    flagged = _probability_issues(labels, proba, method)
    quality = proba[np.arange(len(labels)), labels]
    if decision_map is not None:
        neighbours = _map_neighbours(decision_map, len(labels), n_neighbors)
        agreement, majority = neighbour_agreement(labels, neighbours)
        quality = (quality + agreement) / 2
        flagged |= (majority != labels) & (proba.argmax(axis=1) == majority) & (agreement < 0.5)
    issues = np.flatnonzero(flagged)
    issues = issues[np.argsort(quality[issues], kind="stable")]
    return (issues, quality) if return_scores else issues


def _probability_issues(labels: np.ndarray, proba: np.ndarray, method: str) -> np.ndarray:
    if method == "confident_learning":
        return confident_learning_issues(labels, proba)
    try:
        from cleanlab.filter import find_label_issues as cleanlab_find
    except ImportError as error:
        raise ImportError(
            "find_label_issues(method='cleanlab') needs cleanlab: pip install cleanlab"
        ) from error
    return np.asarray(cleanlab_find(labels, proba), dtype=bool)


def _map_neighbours(decision_map: Any, n_samples: int, n_neighbors: int) -> np.ndarray:
    """Each mapped sample's nearest others under the map's DiDi distance."""
    metric = decision_map.projection_.metric_
    if len(metric.X_fit_) != n_samples:
        raise ValueError(
            f"The map shows {len(metric.X_fit_)} samples; y has {n_samples} labels. "
            "Pass the map fitted on the same samples."
        )
    if metric.knn_indices_ is not None:
        return metric.knn_indices_[:, :n_neighbors]
    # A dense map (few samples): its fuzzy graph's strongest links.
    graph = decision_map.projection_.umap_.graph_.tocsr()
    rows = []
    for i in range(n_samples):
        start, end = graph.indptr[i], graph.indptr[i + 1]
        order = np.argsort(-graph.data[start:end], kind="stable")[:n_neighbors]
        found = graph.indices[start:end][order]
        # A sample with fewer links votes for itself in the places left.
        rows.append(np.concatenate([found, np.full(n_neighbors - len(found), i)]))
    return np.array(rows)
