"""The quality scores of a map as pure functions and as scorers.

The paper's (section 5.1):

* ``q_knn``: leave-one-out accuracy of a 5-NN classifier in the embedding,
  predicting the *classifier's* labels.
* ``q_knn_e``: the same for a UMAP embedding with the Euclidean metric.
* ``q_data``: agreement of ``f(π⁻¹(y_i))`` with ``f(x_i)`` on the points that
  π⁻¹ was fitted to.
* ``q_not_data``: the same on points that π⁻¹ was not fitted to.

The decision-map literature's (see :mod:`._faithfulness`): ``acc_m``, ``cons_d``,
``cons_p``, ``class_stability`` and the gradient of π⁻¹.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state

#: Names of the paper's four scores, in the order of its Table 1.
SCORE_NAMES = ("q_knn_e", "q_knn", "q_data", "q_not_data")

#: The literature's scores that every fit computes: the samples' round trips (one
#: classifier row per sample) and π⁻¹'s gradient over the grid (no classifier rows).
FIT_SCORE_NAMES = ("acc_m", "cons_d", "gradient", "gradient_steep")

#: The literature's scores of the cells' round trips, computed on request.
LAYER_SCORE_NAMES = ("cons_p", "class_stability")

#: Names :meth:`DecisionMap.score` and :func:`quality_scorer` take; higher is better
#: for each (``neg_gradient`` is ``−gradient``, scikit-learn's convention for a loss).
SCORING_NAMES = (*SCORE_NAMES, "acc_m", "cons_d", "cons_p", "class_stability", "neg_gradient")

#: The scorers :func:`quality_scorers` gives: those that cost no more than a fit and
#: need no true labels (``acc_m`` needs ``y``: ask for it by name).
CHEAP_SCORING_NAMES = (*SCORE_NAMES, "cons_d", "neg_gradient")

#: k of the paper's k-NN score.
KNN_K = 5


def _majority(neighbor_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Most frequent label per row; ties go to the smallest label, as in scikit-learn."""
    counts = np.zeros((len(neighbor_labels), n_classes), dtype=np.int64)
    np.add.at(
        counts,
        (
            np.repeat(np.arange(len(neighbor_labels)), neighbor_labels.shape[1]),
            neighbor_labels.ravel(),
        ),
        1,
    )
    return counts.argmax(axis=1)


def loo_knn_accuracy(embedding: np.ndarray, labels: np.ndarray, k: int = KNN_K) -> float:
    """Leave-one-out accuracy of a ``k``-NN classifier (uniform weights) on ``labels``.

    Each point is classified by its ``k`` nearest *other* points.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if n < 2:
        return float("nan")
    k = min(k, n - 1)
    _, codes = np.unique(labels, return_inverse=True)
    nn = NearestNeighbors(n_neighbors=k + 1).fit(embedding)
    _, idx = nn.kneighbors(embedding)
    # Remove each point itself; with duplicated positions it need not come first.
    is_self = idx == np.arange(n)[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones_like(idx, dtype=bool)
    keep[np.arange(n), drop] = False
    neighbors = idx[keep].reshape(n, k)
    predicted = _majority(codes[neighbors], codes.max() + 1)
    return float(np.mean(predicted == codes))


def knn_accuracy(
    train_embedding: np.ndarray,
    train_labels: np.ndarray,
    test_embedding: np.ndarray,
    test_labels: np.ndarray,
    k: int = KNN_K,
) -> float:
    """Accuracy on test points of a ``k``-NN classifier fitted on the train points."""
    classes, train_codes = np.unique(np.asarray(train_labels), return_inverse=True)
    k = min(k, len(train_codes))
    nn = NearestNeighbors(n_neighbors=k).fit(train_embedding)
    _, idx = nn.kneighbors(test_embedding)
    predicted = classes[_majority(train_codes[idx], len(classes))]
    return float(np.mean(predicted == np.asarray(test_labels)))


def agreement(labels_a: np.ndarray, labels_b: np.ndarray) -> float:
    """Fraction of equal labels (``nan`` for no labels)."""
    labels_a = np.asarray(labels_a)
    if len(labels_a) == 0:
        return float("nan")
    return float(np.mean(labels_a == np.asarray(labels_b)))


def quality_scorer(name: str) -> Callable:
    """A scorer ``scorer(decision_map, X, y=None) -> float`` for one quality score.

    Usable as ``scoring=`` in :class:`~sklearn.model_selection.GridSearchCV` and
    :func:`~sklearn.model_selection.cross_val_score` with a
    :class:`~didi.DecisionMap`: the held-out samples are placed into the fitted map
    and the score is measured on them, or, for the scores of the map's grid, on the
    map (see :meth:`DecisionMap.score`).

    Parameters
    ----------
    name : {"q_knn", "q_knn_e", "q_data", "q_not_data", "acc_m", "cons_d", \
            "cons_p", "class_stability", "neg_gradient"}

    Examples
    --------
    >>> from didi import quality_scorer, quality_scorers
    >>> scorer = quality_scorer("cons_p")
    >>> sorted(quality_scorers())
    ['cons_d', 'neg_gradient', 'q_data', 'q_knn', 'q_knn_e', 'q_not_data']
    """
    if name not in SCORING_NAMES:
        raise ValueError(f"Unknown quality score {name!r}; choose one of {SCORING_NAMES}.")

    def scorer(decision_map, X, y=None) -> float:
        return decision_map.score(X, y, scoring=name)

    scorer.__name__ = f"{name}_scorer"
    return scorer


def quality_scorers() -> dict[str, Callable]:
    """The scorers that cost no more than a fit and need no true labels, by name, for
    ``GridSearchCV(..., scoring=quality_scorers(), refit=...)``.

    ``cons_p`` and ``class_stability`` place every cell of the grid into the map
    (classifier rows for each), and ``acc_m`` compares with the true labels (a
    search fitted with ``y``): ask for them by name with :func:`quality_scorer`.
    """
    return {name: quality_scorer(name) for name in CHEAP_SCORING_NAMES}


def holdout_split(n: int, holdout: float, random_state: Any) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the points π⁻¹ is fitted to and of the held-out points, both sorted."""
    n_out = round(holdout * n)
    if holdout > 0:
        n_out = min(max(n_out, 1), n - 2)
    perm = check_random_state(random_state).permutation(n)
    return np.sort(perm[n_out:]), np.sort(perm[:n_out])


def quality_scores(
    embedding: np.ndarray,
    euclidean_embedding: np.ndarray,
    predicted: np.ndarray,
    back: np.ndarray,
    fitted: np.ndarray,
    held_out: np.ndarray,
) -> dict[str, float]:
    """The paper's four scores of a fitted map.

    ``predicted`` holds the classifier's labels of the samples, ``back`` its labels
    of ``π⁻¹(π(x_i))`` under the π⁻¹ fitted to the samples ``fitted`` only;
    ``held_out`` are the others.
    """
    return {
        "q_knn_e": loo_knn_accuracy(euclidean_embedding, predicted),
        "q_knn": loo_knn_accuracy(embedding, predicted),
        "q_data": agreement(back[fitted], predicted[fitted]),
        "q_not_data": agreement(back[held_out], predicted[held_out]),
    }


#: The λ values ``lam="auto"`` tries: the paper's interval [0.2, 0.8] (section 5.2).
LAM_CANDIDATES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)

#: How much lower than the best ``q_knn`` counts as not degraded: one percentage point.
LAM_TOLERANCE = 0.01


def choose_lam(q_knn: dict[float, float], tolerance: float = LAM_TOLERANCE) -> float:
    """The largest λ whose ``q_knn`` is at least the best one minus ``tolerance``.

    The paper (section 5.2) chooses "the largest [λ] that does not degrade Q_kNN
    significantly": larger λ keeps more of the input space's geometry, smaller λ
    separates the classifier's classes more.
    """
    best = max(q_knn.values())
    return max(lam for lam, score in q_knn.items() if score >= best - tolerance - 1e-12)
