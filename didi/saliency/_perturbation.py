"""Saliency without gradients: occlusion and finite differences.

Both need nothing but the classifier's outputs, so they explain any
``predict_proba`` (a scikit-learn pipeline, a gradient-boosted model, a plain
function). Their price is classifier rows, which :func:`occlusion_rows` and
:func:`finite_difference_rows` state before anything is evaluated.

``score_of(rows, targets)`` is the score being explained: for each row, a function
of the classifier's output for its target class.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

ScoreFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Rows evaluated per classifier call when perturbed copies are built in blocks.
BLOCK_ROWS = 8192


def occlusion_windows(
    sample_shape: tuple[int, ...], window: tuple[int, ...], stride: tuple[int, ...]
) -> list[tuple[slice, ...]]:
    """Every placement of a ``window`` sliding by ``stride`` over a sample, as slices.

    A last placement flush with the far edge is added where the stride would skip
    it, so that every feature is covered at least once.
    """
    starts_per_axis = []
    for size, width, step in zip(sample_shape, window, stride, strict=True):
        starts = list(range(0, max(size - width, 0) + 1, step))
        if starts[-1] + width < size:
            starts.append(size - width)
        starts_per_axis.append(starts)
    return [
        tuple(slice(s, s + w) for s, w in zip(corner, window, strict=True))
        for corner in itertools.product(*starts_per_axis)
    ]


def occlusion_rows(n_samples: int, n_windows: int) -> int:
    """Classifier rows :func:`occlusion_saliency` costs: each sample, and one copy per window."""
    return n_samples * (1 + n_windows)


def occlusion_saliency(
    score_of: ScoreFunction,
    X: np.ndarray,
    targets: np.ndarray,
    baseline: np.ndarray,
    windows: list[tuple[slice, ...]],
) -> tuple[np.ndarray, np.ndarray]:
    """How much the target's score drops when a window is replaced by the baseline.

    Zeiler & Fergus (ECCV 2014): each feature's saliency is the mean drop over the
    windows that cover it, ``score(x) − score(x with the window set to the
    baseline)``, as captum's ``Occlusion`` computes it.

    Returns the saliency, shaped like ``X``, and the scores of the samples.
    """
    n = len(X)
    scores = score_of(X, targets)
    total = np.zeros(X.shape, dtype=np.float64)
    counts = np.zeros(X.shape[1:], dtype=np.float64)
    per_block = max(1, BLOCK_ROWS // max(n, 1))
    for first in range(0, len(windows), per_block):
        block = windows[first : first + per_block]
        occluded = np.repeat(X[None], len(block), axis=0)
        for copy, where in zip(occluded, block, strict=True):
            every_sample = (slice(None), *where)
            copy[every_sample] = baseline[where]
        occluded_scores = score_of(occluded.reshape(-1, *X.shape[1:]), np.tile(targets, len(block)))
        drops = scores - occluded_scores.reshape(len(block), n)
        for drop, where in zip(drops, block, strict=True):
            every_sample = (slice(None), *where)
            total[every_sample] += drop.reshape(n, *([1] * (X.ndim - 1)))
            counts[where] += 1
    return total / counts, scores


def finite_difference_rows(n_samples: int, n_features: int) -> int:
    """Classifier rows :func:`finite_difference_saliency` costs: two per feature and sample,
    and the sample itself."""
    return n_samples * (2 * n_features + 1)


def finite_difference_saliency(
    score_of: ScoreFunction, X: np.ndarray, targets: np.ndarray, epsilon: float
) -> tuple[np.ndarray, np.ndarray]:
    """Central differences ``(s(x + ε eᵢ) − s(x − ε eᵢ)) / 2ε`` of the target's score.

    The gradient that gradient saliency takes by back-propagation, here from the
    classifier's outputs alone; the error is ``O(ε²)`` for a smooth score.

    Returns the saliency, shaped like ``X``, and the scores of the samples.
    """
    n = len(X)
    flat = X.reshape(n, -1)
    d = flat.shape[1]
    scores = score_of(X, targets)
    gradient = np.empty((n, d), dtype=np.float64)
    per_block = max(1, BLOCK_ROWS // max(2 * n, 1))
    for first in range(0, d, per_block):
        features = np.arange(first, min(first + per_block, d))
        moved = np.repeat(flat[None, None], len(features), axis=0).repeat(2, axis=1)
        moved = moved.astype(np.float64, copy=False)
        k = np.arange(len(features))
        moved[k, 0, :, features] += epsilon
        moved[k, 1, :, features] -= epsilon
        rows = moved.reshape(-1, *X.shape[1:])
        values = score_of(rows, np.tile(targets, 2 * len(features))).reshape(len(features), 2, n)
        gradient[:, features] = ((values[:, 0] - values[:, 1]) / (2 * epsilon)).T
    return gradient.reshape(X.shape), scores
