"""Saliency without gradients: occlusion and finite differences.

Both need nothing but the classifier's outputs, so they explain any
``predict_proba`` (a scikit-learn pipeline, a gradient-boosted model, a plain
function). Their price is classifier rows, which
:func:`didi.saliency._saliency.saliency_cost` states before anything is evaluated.

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


def occlusion_saliency(
    score_of: ScoreFunction,
    X: np.ndarray,
    targets: np.ndarray,
    baseline: np.ndarray,
    windows: list[tuple[slice, ...]],
    scores: np.ndarray,
) -> np.ndarray:
    """How much the target's score drops when a window is replaced by the baseline.

    Zeiler & Fergus (ECCV 2014): each feature's saliency is the mean drop over the
    windows that cover it, ``scores − score(x with the window set to the
    baseline)``, as captum's ``Occlusion`` computes it; ``scores`` are the samples'
    own. One row per sample and window.
    """
    n = len(X)
    total = np.zeros(X.shape, dtype=np.float64)
    counts = np.zeros(X.shape[1:], dtype=np.float64)
    per_block = max(1, BLOCK_ROWS // max(n, 1))
    for first in range(0, len(windows), per_block):
        block = windows[first : first + per_block]
        occluded = np.repeat(X[None], len(block), axis=0)
        for copy, where in zip(occluded, block, strict=True):
            every_sample = (slice(None), *where)
            copy[every_sample] = baseline[where]
        rows = occluded.reshape(-1, *X.shape[1:])
        drops = scores - score_of(rows, np.tile(targets, len(block))).reshape(len(block), n)
        for drop, where in zip(drops, block, strict=True):
            every_sample = (slice(None), *where)
            total[every_sample] += drop.reshape(n, *([1] * (X.ndim - 1)))
            counts[where] += 1
    return total / counts


def finite_difference_saliency(
    score_of: ScoreFunction, X: np.ndarray, targets: np.ndarray, epsilon: float
) -> np.ndarray:
    """Central differences ``(s(x + ε eᵢ) − s(x − ε eᵢ)) / 2ε`` of the target's score.

    The gradient that gradient saliency takes by back-propagation, here from the
    classifier's outputs alone; the error is ``O(ε²)`` for a smooth score. Two rows
    per feature and sample, built ``BLOCK_ROWS`` at a time.
    """
    n = len(X)
    flat = X.reshape(n, -1).astype(np.float64)
    gradient = np.empty(flat.shape, dtype=np.float64)
    per_chunk = max(1, BLOCK_ROWS // 2)
    for first in range(0, n, per_chunk):
        chunk = slice(first, first + per_chunk)
        gradient[chunk] = _differences(score_of, flat[chunk], targets[chunk], epsilon, X.shape[1:])
    return gradient.reshape(X.shape)


def _differences(score_of, flat, targets, epsilon, sample_shape) -> np.ndarray:
    """Central differences for a chunk of flat samples, a block of features at a time."""
    n, d = flat.shape
    gradient = np.empty((n, d), dtype=np.float64)
    per_block = max(1, BLOCK_ROWS // (2 * n))
    for first in range(0, d, per_block):
        features = np.arange(first, min(first + per_block, d))
        moved = np.repeat(flat[None, None], len(features), axis=0).repeat(2, axis=1)
        k = np.arange(len(features))
        moved[k, 0, :, features] += epsilon
        moved[k, 1, :, features] -= epsilon
        rows = moved.reshape(-1, *sample_shape)
        values = score_of(rows, np.tile(targets, 2 * len(features))).reshape(len(features), 2, n)
        gradient[:, features] = ((values[:, 0] - values[:, 1]) / (2 * epsilon)).T
    return gradient
