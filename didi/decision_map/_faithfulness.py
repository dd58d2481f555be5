"""Where a map can be trusted: the decision-map literature's measures, per point and per cell.

Pure functions on callables, so that they measure any map, didi's or another
pipeline's: ``inverse(positions) -> samples`` is π⁻¹, ``place(samples) -> positions``
is π for new samples, ``predict(samples) -> class indices`` is the classifier.

* Map accuracy ``acc_m`` and data consistency ``cons_d`` (Rodrigues et al. 2019;
  Wang, Machado & Telea 2023; DeepVisualInsight's PPR): how often the label of a
  sample's round trip ``π⁻¹(π(x))`` matches its true label and the classifier's label
  of ``x``.
* Pixel consistency ``cons_p`` and class stability (Wang, Machado & Telea 2023): how
  often a cell's label survives the trip ``p → π(π⁻¹(p))``, and for how many trips.
* The gradient of π⁻¹ (Espadoto et al. 2021; Wang, Machado & Telea 2023): how far
  input space moves as one crosses a cell, large where π⁻¹ tears the map.
* The distance from ``π⁻¹(p)`` to the classifier's nearest boundary in input space.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._grid import grid_cells

#: Class stability counts round trips up to this many (Wang, Machado & Telea 2023).
MAX_ROUND_TRIPS = 10

#: A cell is "steep" where π⁻¹ moves by more than this many data radii per map width.
STEEP_GRADIENT = 10.0

#: 2-D positions mapped through π⁻¹ at once in :func:`inverse_gradient` (bounds memory).
_GRADIENT_CHUNK = 4096

Inverse = Callable[[np.ndarray], np.ndarray]
Place = Callable[[np.ndarray], np.ndarray]
Predict = Callable[[np.ndarray], np.ndarray]


def data_radius(X: np.ndarray) -> float:
    """Root mean squared distance of the samples from their mean: the data's scale.

    ``sqrt(mean_i ‖x_i − x̄‖²)``, computed in two passes over rows so that a large
    sample set needs no second copy. ``1.0`` for samples that are all equal.
    """
    flat = X.reshape(len(X), -1)
    # Divided by the largest magnitude first, so that huge samples do not overflow.
    scale = float(np.max(np.abs(flat))) if flat.size else 0.0
    if not 0 < scale < np.inf:
        return 1.0
    mean = np.zeros(flat.shape[1])
    for start in range(0, len(flat), _GRADIENT_CHUNK):
        mean += np.sum(flat[start : start + _GRADIENT_CHUNK].astype(np.float64) / scale, axis=0)
    mean /= len(flat)
    total = 0.0
    for start in range(0, len(flat), _GRADIENT_CHUNK):
        block = flat[start : start + _GRADIENT_CHUNK].astype(np.float64) / scale - mean
        total += float(np.einsum("ij,ij->", block, block))
    radius = scale * float(np.sqrt(total / len(flat)))
    return radius if radius > 0 else 1.0


def inverse_gradient(
    inverse: Inverse, grid_x: np.ndarray, grid_y: np.ndarray, radius: float
) -> np.ndarray:
    r"""‖∂π⁻¹‖ at every cell by central differences at cell spacing, comparable across maps.

    With map coordinates rescaled so that the grid spans ``[0, 1]`` on each axis
    (``u = (x − x_0)/(x_{R−1} − x_0)``, likewise ``v``) and input distances divided
    by the data's ``radius`` (:func:`data_radius`),

    .. math::

        G(p) = \frac{1}{r}\sqrt{\Big\|\frac{π^{-1}(p + h_u) − π^{-1}(p − h_u)}{2Δu}\Big\|^2
               + \Big\|\frac{π^{-1}(p + h_v) − π^{-1}(p − h_v)}{2Δv}\Big\|^2},

    the Frobenius norm of π⁻¹'s Jacobian in data radii per map width: a π⁻¹ that
    crosses the data's diameter evenly over the map has ``G ≈ 2``; a tear, where
    neighbouring cells synthesise unrelated samples, has ``G`` of the order of the
    resolution. Cells on the border use the positions one cell beyond it. No
    classifier rows are needed; π⁻¹ is evaluated at ``(R_x + 2)(R_y + 2)`` positions,
    a few rows of the grid at a time.

    Returns
    -------
    ndarray of shape (len(grid_y), len(grid_x))
    """
    ext_x, ext_y = _extended(grid_x), _extended(grid_y)
    du = 1.0 / max(1, len(grid_x) - 1)
    dv = 1.0 / max(1, len(grid_y) - 1)
    rows_per_block = max(1, _GRADIENT_CHUNK // len(ext_x))
    out = np.empty((len(grid_y), len(grid_x)))
    carry = _row_images(inverse, ext_x, ext_y[:2]) / radius
    for start in range(0, len(grid_y), rows_per_block):
        stop = min(len(grid_y), start + rows_per_block)
        # Extended rows start .. stop + 1 are grid rows start − 1 .. stop.
        # In data radii before differencing, so that huge samples do not overflow.
        new_rows = _row_images(inverse, ext_x, ext_y[start + 2 : stop + 2]) / radius
        window = np.concatenate([carry, new_rows])
        d_u = (window[1:-1, 2:] - window[1:-1, :-2]) / (2 * du)
        d_v = (window[2:, 1:-1] - window[:-2, 1:-1]) / (2 * dv)
        out[start:stop] = np.sqrt(np.sum(d_u**2, axis=-1) + np.sum(d_v**2, axis=-1))
        carry = window[-2:]
    return out


def _extended(axis: np.ndarray) -> np.ndarray:
    """The axis with one more cell centre at each end, at the same spacing."""
    step = (axis[-1] - axis[0]) / max(1, len(axis) - 1)
    return np.concatenate([[axis[0] - step], axis, [axis[-1] + step]])


def _row_images(inverse: Inverse, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """π⁻¹ at the cells ``xs × ys``, flattened, shape ``(len(ys), len(xs), n_values)``."""
    cells = grid_cells(xs, ys)
    images = np.asarray(inverse(cells), dtype=np.float64).reshape(len(cells), -1)
    return images.reshape(len(ys), len(xs), -1)


def gradient_summary(gradient: np.ndarray) -> dict[str, float]:
    """``gradient``: mean ``G`` over the cells; ``gradient_steep``: share of cells with
    ``G`` above :data:`STEEP_GRADIENT` (π⁻¹ crossing the data's diameter within a
    fifth of the map)."""
    return {
        "gradient": float(np.mean(gradient)),
        "gradient_steep": float(np.mean(gradient > STEEP_GRADIENT)),
    }


def round_trip_labels(
    labels: np.ndarray, back_labels: np.ndarray, true_labels: np.ndarray | None
) -> dict[str, float]:
    """``cons_d`` and ``acc_m`` of the samples from their labels before and after the trip.

    ``labels`` are ``argmax f(x_i)``, ``back_labels`` are ``argmax f(π⁻¹(π(x_i)))``
    and ``true_labels`` the samples' true classes as indices (``-1`` for one the
    classifier does not know); ``acc_m`` is ``nan`` without them.

    * ``cons_d = mean_i [argmax f(π⁻¹(π(x_i))) = argmax f(x_i)]``
    * ``acc_m = mean_i [argmax f(π⁻¹(π(x_i))) = y_i]``
    """
    cons_d = float(np.mean(back_labels == labels)) if len(labels) else float("nan")
    if true_labels is None or not len(labels):
        return {"acc_m": float("nan"), "cons_d": cons_d}
    return {"acc_m": float(np.mean(back_labels == true_labels)), "cons_d": cons_d}


def round_trips(
    positions: np.ndarray,
    labels: np.ndarray,
    *,
    inverse: Inverse,
    place: Place,
    predict: Predict,
    max_trips: int = MAX_ROUND_TRIPS,
) -> np.ndarray:
    """How many round trips ``z → π(π⁻¹(z))`` each cell's label survives, up to ``max_trips``.

    Starting from ``z_0 = p`` with label ``L_0 = argmax f(π⁻¹(p))`` (``labels``), trip
    ``k`` places the synthesised sample, ``z_k = π(π⁻¹(z_{k−1}))``, and labels it
    again, ``L_k = argmax f(π⁻¹(z_k))``. The result is the number of trips before
    the first ``L_k ≠ L_0``: ``0`` where the first trip already changes the label
    (those cells are the ones pixel consistency counts as inconsistent),
    ``max_trips`` where none does. Only cells whose label has held are carried on,
    so a trip costs one placement and one classifier row per such cell.

    Returns
    -------
    ndarray of int, shape (n_positions,)
    """
    stability = np.zeros(len(positions), dtype=np.int64)
    active = np.arange(len(positions))
    samples = inverse(np.asarray(positions, dtype=np.float64))
    for _ in range(max_trips):
        if not len(active):
            break
        # π⁻¹ of the new positions is both what is labelled and the next trip's start.
        samples = inverse(np.asarray(place(samples), dtype=np.float64))
        kept = predict(samples) == labels[active]
        stability[active[kept]] += 1
        active, samples = active[kept], samples[kept]
    return stability


def round_trip_summary(stability: np.ndarray) -> dict[str, float]:
    """``cons_p``: share of cells whose label survives one trip; ``class_stability``:
    mean number of trips survived (out of the trips measured)."""
    return {
        "cons_p": float(np.mean(stability > 0)),
        "class_stability": float(np.mean(stability)),
    }


def boundary_distance_bisection(
    samples: np.ndarray,
    labels: np.ndarray,
    targets: np.ndarray,
    *,
    predict: Predict,
    n_bisections: int = 10,
) -> np.ndarray:
    """Distance from each sample to where the classifier's label first changes
    towards its targets, found by bisection: an upper bound of the distance to the
    decision boundary.

    ``targets`` has shape ``(n_samples, n_targets, *sample_shape)``: points the
    classifier labels differently from the sample (e.g. its nearest mapped samples
    of other predicted classes). Along each straight segment ``s → t`` bisection
    keeps ``label(lo) = label(s)`` and ``label(hi) ≠ label(s)``; after
    ``n_bisections`` halvings ``hi`` lies on the other side of a boundary within
    ``2^{-n_bisections}`` of the segment's length beyond it. The smallest
    ``‖hi − s‖`` over the targets bounds the Euclidean distance from ``s`` to the
    nearest differently labelled input from above. It is exact for a linear
    boundary crossed by a target's segment at a right angle, and can miss a
    nearer boundary that no segment crosses. Costs ``n_samples · n_targets ·
    n_bisections`` classifier rows.

    Every target must be labelled differently from its sample (the bisection's
    invariant); a target labelled the same gives the segment's length.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    flat = samples.reshape(len(samples), 1, -1).astype(np.float64)
    ends = targets.reshape(len(samples), targets.shape[1], -1).astype(np.float64)
    low = np.zeros(ends.shape[:2])
    high = np.ones(ends.shape[:2])
    pair_labels = np.repeat(labels, ends.shape[1])
    for _ in range(n_bisections):
        middle = (low + high) / 2
        points = flat + middle[..., None] * (ends - flat)
        points = points.reshape((-1, *samples.shape[1:])).astype(samples.dtype)
        same = (predict(points) == pair_labels).reshape(middle.shape)
        low = np.where(same, middle, low)
        high = np.where(same, high, middle)
    lengths = np.linalg.norm(ends - flat, axis=-1)
    return np.min(high * lengths, axis=1)
