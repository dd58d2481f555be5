"""Plane coordinates, point location and boundary segments: small numpy functions."""

from __future__ import annotations

import numpy as np

from ._pieces import UNIT_EDGE


def plane_basis(directions: np.ndarray) -> np.ndarray:
    """An orthonormal basis (2, n_features) of the plane spanned by two directions.

    Gram-Schmidt on the rows, so the first basis vector points along the first
    direction and plane coordinates are Euclidean lengths in input space.
    """
    first = directions[0] / _norm(directions[0], "The first direction")
    second = directions[1] - (directions[1] @ first) * first
    norm = _norm(second, "The second direction, apart from its part along the first,")
    if norm <= 1e-12 * np.linalg.norm(directions[1]):
        raise ValueError(
            "The plane is degenerate: the two directions (or the three anchors) lie on one line."
        )
    return np.stack([first, second / norm])


def _norm(vector: np.ndarray, what: str) -> float:
    norm = float(np.linalg.norm(vector))
    if norm == 0:
        raise ValueError(f"{what} is zero: the plane is degenerate.")
    return norm


def padded_extent(points: np.ndarray, margin: float) -> tuple[float, float, float, float]:
    """The bounding box of ``points`` (n, 2), grown by ``margin`` × its larger side."""
    low, high = points.min(axis=0), points.max(axis=0)
    pad = margin * float((high - low).max())
    return (low[0] - pad, high[0] + pad, low[1] - pad, high[1] + pad)


def locate(
    points: np.ndarray, vertices: np.ndarray, counts: np.ndarray, tolerance: float
) -> np.ndarray:
    """Index of the convex polygon containing each point; ``-1`` for points in none.

    Parameters
    ----------
    points : ndarray of shape (n_points, 2)
    vertices : ndarray of shape (n_polygons, max_vertices, 2)
        Counter-clockwise vertices, padded.
    counts : ndarray of shape (n_polygons,)
    tolerance : float
        A point this close outside a polygon's edge counts as inside (the first
        polygon found wins on shared edges).
    """
    found = np.full(len(points), -1)
    order = np.argsort(points[:, 0], kind="stable")
    sorted_u = points[order, 0]
    for index, count in enumerate(counts):
        corners = vertices[index, :count]
        lo, hi = corners.min(axis=0) - tolerance, corners.max(axis=0) + tolerance
        window = order[np.searchsorted(sorted_u, lo[0]) : np.searchsorted(sorted_u, hi[0], "right")]
        window = window[
            (found[window] < 0) & (points[window, 1] >= lo[1]) & (points[window, 1] <= hi[1])
        ]
        if not len(window):
            continue
        edges = np.roll(corners, -1, axis=0) - corners
        offsets = points[window, None, :] - corners[None]
        cross = edges[None, :, 0] * offsets[..., 1] - edges[None, :, 1] * offsets[..., 0]
        lengths = np.linalg.norm(edges, axis=1)
        inside = (cross >= -tolerance * lengths).all(axis=1)
        found[window[inside]] = index
    return found


def affine_at(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Values at ``points`` (n, k) of affine maps given by reference values (n, k + 1, m)."""
    gradient = reference[:, 1:] - reference[:, :1]
    return reference[:, 0] + np.einsum("nk,nkm->nm", points, gradient)


def class_scores(scores: np.ndarray) -> np.ndarray:
    """One score per class on the last axis; a binary model's single logit ``z`` is ``(0, z)``."""
    if scores.shape[-1] > 1:
        return scores
    return np.concatenate([np.zeros_like(scores), scores], axis=-1)


def _next_vertices(vertices: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each padded vertex's successor around its polygon (the last one's is the first)."""
    following = np.roll(vertices, -1, axis=1)
    following[np.arange(len(counts)), np.clip(counts - 1, 0, None)] = vertices[:, 0]
    return following


def decision_segments(
    vertices: np.ndarray,
    counts: np.ndarray,
    tags: np.ndarray,
    candidates: np.ndarray,
    classes: np.ndarray,
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The edges of class cells that lie on the decision boundary.

    A cut between candidates ``a < b`` (tag ``a·n + b``) is kept where, at its
    midpoint, ``a`` and ``b`` are tied and no other candidate is higher, and only on
    the side of class ``a``, so each segment appears once.

    Returns
    -------
    segments : ndarray of shape (n_segments, 2, 2)
    pairs : ndarray of shape (n_segments, 2)
        The candidate indices on either side.
    """
    n_candidates = candidates.shape[2]
    following = _next_vertices(vertices, counts)
    polygon, edge = np.nonzero((tags >= 0) & (np.arange(tags.shape[1]) < counts[:, None]))
    first, second = tags[polygon, edge] // n_candidates, tags[polygon, edge] % n_candidates
    keep = classes[polygon] == first
    polygon, edge, first, second = polygon[keep], edge[keep], first[keep], second[keep]
    start, end = vertices[polygon, edge], following[polygon, edge]
    scores = affine_at((start + end) / 2, candidates[polygon])
    rows = np.arange(len(polygon))
    scale = tolerance * (1 + np.abs(scores).max(axis=1, initial=0.0))
    tied = np.abs(scores[rows, first] - scores[rows, second]) <= scale
    on_top = scores[rows, first] >= scores.max(axis=1) - scale
    keep = tied & on_top
    return np.stack([start[keep], end[keep]], axis=1), np.stack([first[keep], second[keep]], axis=1)


def tied_kink_segments(
    vertices: np.ndarray,
    counts: np.ndarray,
    tags: np.ndarray,
    candidates: np.ndarray,
    classes: np.ndarray,
    tolerance: float,
    slack: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Decision-boundary edges that a unit's kink made, not a cut between classes.

    Where two classes are tied all over a cell (a ReLU at the very end, a dead
    output), the class can change across a kink without any cut between classes.
    Such an edge has its two top classes tied at its midpoint; the class across it
    is read a little outside (``slack`` is the point location's tolerance). Each
    segment is kept on the side of the smaller class index, so it appears once.
    """
    following = _next_vertices(vertices, counts)
    valid = np.arange(tags.shape[1]) < counts[:, None]
    polygon, edge = np.nonzero(valid & (tags == UNIT_EDGE))
    start, end = vertices[polygon, edge], following[polygon, edge]
    middle = (start + end) / 2
    scores = affine_at(middle, candidates[polygon])
    own = classes[polygon]
    rows = np.arange(len(polygon))
    scale = tolerance * (1 + np.abs(scores).max(axis=1, initial=0.0))
    rivals = np.abs(scores - scores[rows, own][:, None]) <= scale[:, None]
    rivals[rows, own] = False
    tied = rivals.any(axis=1) & (scores[rows, own] >= scores.max(axis=1) - scale)
    direction = (end - start)[tied]
    outward = np.c_[direction[:, 1], -direction[:, 0]] / np.linalg.norm(direction, axis=1)[:, None]
    across = locate(middle[tied] + 10 * slack * outward, vertices, counts, slack)
    other = np.where(across >= 0, classes[np.clip(across, 0, None)], own[tied])
    keep = other > own[tied]
    segments = np.stack([start[tied][keep], end[tied][keep]], axis=1)
    return segments, np.stack([own[tied][keep], other[keep]], axis=1)
