"""Temporal measures of a sequence of maps of the same samples: small pure functions.

They compare consecutive checkpoints ``t`` and ``t + 1``: how far each sample moved
in the map, whose prediction flipped, how much of each sample's neighbourhood
(under the DiDi distance, before any projection) survived, and whether the map
moved the samples whose neighbourhoods changed and kept the others still.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import scipy.sparse
from scipy.spatial import procrustes
from scipy.stats import spearmanr


def movement(embeddings: np.ndarray) -> np.ndarray:
    """How far each sample moves between consecutive maps, shape ``(n_maps − 1, n_samples)``.

    ``embeddings`` has shape ``(n_maps, n_samples, 2)``; distances are in the maps'
    own units, which aligned maps share.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    return np.linalg.norm(np.diff(embeddings, axis=0), axis=-1)


def prediction_flips(proba: np.ndarray) -> np.ndarray:
    """Which samples change predicted class between consecutive checkpoints.

    ``proba`` has shape ``(n_maps, n_samples, n_classes)``; the result is boolean,
    shape ``(n_maps − 1, n_samples)``.
    """
    labels = np.asarray(proba).argmax(axis=-1)
    return labels[1:] != labels[:-1]


def neighbourhood_overlap(previous: Any, current: Any) -> np.ndarray:
    """Jaccard index of each sample's neighbourhood in two graphs, shape ``(n_samples,)``.

    A sample's neighbourhood is its row's stored entries (in a fuzzy UMAP graph:
    its nearest samples and the samples it is nearest to). Rows empty in both
    graphs count as unchanged (``1``). DeepVisualInsight's neighbour preserving
    rate (Yang et al., AAAI 2022) is the same idea on k-NN lists, ``|N_t ∩ N_{t+1}| / k``.
    """
    before = scipy.sparse.csr_matrix(previous, dtype=np.float64, copy=True)
    after = scipy.sparse.csr_matrix(current, dtype=np.float64, copy=True)
    if before.shape != after.shape:
        raise ValueError(f"Graphs of shapes {before.shape} and {after.shape} cannot be compared.")
    for graph in (before, after):
        graph.eliminate_zeros()
        graph.data[:] = 1.0
    shared = np.asarray(before.multiply(after).sum(axis=1)).ravel()
    union = np.diff(before.indptr) + np.diff(after.indptr) - shared
    return np.where(union > 0, shared / np.maximum(union, 1), 1.0)


def temporal_preservation(preserved: np.ndarray, moved: np.ndarray) -> float:
    """DeepVisualInsight's temporal preservation of one transition, higher is better.

    The Spearman rank correlation, over the samples, between how much of a
    sample's neighbourhood was preserved (``preserved``, from
    :func:`neighbourhood_overlap`) and how little it moved in the map
    (``−moved``): ``−ρ(α, δ)``. It is ``1`` when the samples that kept their
    neighbours moved least, ``0`` when movement says nothing about it. (DVI
    reports ``ρ(α, δ)`` itself, which is negative when good.) ``nan`` when either
    is constant, e.g. a map that did not move at all.
    """
    preserved, moved = np.asarray(preserved, float), np.asarray(moved, float)
    if np.ptp(preserved) == 0 or np.ptp(moved) == 0:
        return float("nan")
    return float(-spearmanr(preserved, moved).statistic)


def procrustes_disparity(first: np.ndarray, second: np.ndarray) -> float:
    """How different two layouts of the same samples are in shape, in ``[0, 1]``.

    Both are centred and scaled to unit norm, ``second`` is rotated (or reflected)
    onto ``first``, and the sum of squared differences that remains is returned
    (:func:`scipy.spatial.procrustes`): ``0`` for layouts that differ only by a
    similarity transform.
    """
    return float(procrustes(np.asarray(first, float), np.asarray(second, float))[2])


def procrustes_aligned(reference: np.ndarray, layout: np.ndarray) -> np.ndarray:
    """``layout`` moved by the similarity transform (rotation or reflection, scale,
    shift) that brings it closest to ``reference`` in least squares.

    Used to compare maps fitted independently, whose orientation is arbitrary, in
    the same frame before measuring how far samples moved.
    """
    reference, layout = np.asarray(reference, float), np.asarray(layout, float)
    ref_mean, lay_mean = reference.mean(axis=0), layout.mean(axis=0)
    a, b = reference - ref_mean, layout - lay_mean
    u, s, vt = np.linalg.svd(b.T @ a)
    rotation = u @ vt
    norm = (b**2).sum()
    scale = s.sum() / norm if norm > 0 else 1.0
    return b @ rotation * scale + ref_mean


def transition_measures(
    embeddings: np.ndarray, proba: np.ndarray, graphs: list, *, procrustes_first: bool
) -> dict:
    """Every measure between consecutive maps of the same samples.

    Parameters
    ----------
    embeddings : ndarray of shape (n_maps, n_samples, 2)
        The maps' positions.
    proba : ndarray of shape (n_maps, n_samples, n_classes)
        The classifier's probabilities of the samples at each map.
    graphs : list of sparse matrix
        Each map's neighbourhood graph.
    procrustes_first : bool
        Bring each map onto the one before with :func:`procrustes_aligned` before
        measuring movement (maps fitted independently have arbitrary orientations).

    Returns
    -------
    dict
        ``movement``, ``flips`` and ``neighbour_preservation``, each of shape
        ``(n_maps − 1, n_samples)``, and ``summary``: per transition the means of
        those three, the temporal preservation and the Procrustes disparity.
    """
    comparable = np.array(embeddings, dtype=np.float64)
    if procrustes_first:
        for t in range(1, len(comparable)):
            comparable[t] = procrustes_aligned(comparable[t - 1], comparable[t])
    moved = movement(comparable)
    flips = prediction_flips(proba)
    preserved = np.array(
        [neighbourhood_overlap(before, after) for before, after in pairwise(graphs)]
    ).reshape(moved.shape)
    summary = {
        "movement": moved.mean(axis=1),
        "flips": flips.mean(axis=1),
        "neighbour_preservation": preserved.mean(axis=1),
        "temporal_preservation": np.array(
            [temporal_preservation(p, m) for p, m in zip(preserved, moved, strict=True)]
        ),
        "procrustes_disparity": np.array(
            [procrustes_disparity(a, b) for a, b in pairwise(embeddings)]
        ),
    }
    return {
        "movement": moved,
        "flips": flips,
        "neighbour_preservation": preserved,
        "summary": summary,
    }
