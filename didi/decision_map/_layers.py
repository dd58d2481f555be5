"""A fitted map's layers beside its classes: per-cell evidence of where it can be trusted.

* ``gradient``: ‖∂π⁻¹‖ (every fit computes it; no classifier rows).
* ``consistency``: whether the cell's label survives one round trip ``π(π⁻¹(p))``.
* ``stability``: how many round trips it survives (up to ``max_round_trips``).
* ``boundary_distance``: how far ``π⁻¹(p)`` is from the classifier's nearest
  boundary in input space (an upper bound).

The last three cost classifier rows and are computed on request by
:meth:`DecisionMap.compute_layers`, a block of cells at a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

from .._proba import ProbaFunction, counting_rows
from ._faithfulness import (
    boundary_distance_bisection,
    round_trip_summary,
    round_trips,
)
from ._grid import grid_cells

#: Every layer, in the order the display offers them.
LAYERS = ("gradient", "consistency", "stability", "boundary_distance")

#: The layers that cost classifier rows, computed on request.
REQUESTED_LAYERS = ("consistency", "stability", "boundary_distance")

#: How the boundary distance is found: ``"gradient"`` needs a classifier with
#: ``boundary_distances`` (:class:`didi.torch.TorchClassifier`).
BOUNDARY_METHODS = ("auto", "bisection", "gradient")

#: Cells handled at once (bounds the memory of their synthesised samples).
_CELL_BLOCK = 2048


def layer_attribute(name: str) -> str:
    """The fitted attribute holding a layer: ``grid_<name>_``."""
    return f"grid_{name}_"


def compute_map_layers(
    decision_map: Any,
    names: tuple[str, ...],
    proba_fn: ProbaFunction,
    *,
    max_round_trips: int,
    boundary_method: str,
    n_targets: int,
    n_bisections: int,
) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, int]]:
    """The requested layers of a fitted map, the scores they give and their rows.

    Returns ``(layers, scores, rows)``: arrays shaped like ``grid_labels_`` by layer
    name; ``cons_p`` and ``class_stability`` where the round trips were made; and
    the classifier rows each layer took (placements included).
    """
    layers: dict[str, np.ndarray] = {}
    scores: dict[str, float] = {}
    rows: dict[str, int] = {}
    shape = decision_map.grid_labels_.shape
    if "consistency" in names or "stability" in names:
        trips = max_round_trips if "stability" in names else 1
        with counting_rows(proba_fn) as tally:
            stability = _cell_round_trips(decision_map, proba_fn, trips).reshape(shape)
            used = _rows_of(tally)
        layers["consistency"] = stability > 0
        if "stability" in names:
            # One run of round trips gives both layers: its rows are counted once.
            layers["stability"] = stability
            rows["stability"], rows["consistency"] = used, 0
            scores.update(round_trip_summary(stability))
        else:
            rows["consistency"] = used
            scores["cons_p"] = float(np.mean(stability > 0))
    if "boundary_distance" in names:
        with counting_rows(proba_fn) as tally:
            distances = _cell_boundary_distances(
                decision_map, proba_fn, boundary_method, n_targets, n_bisections
            )
            rows["boundary_distance"] = _rows_of(tally)
        layers["boundary_distance"] = distances.reshape(shape)
    return layers, scores, rows


def _rows_of(tally: list) -> int:
    return sum(function.n_rows - start for function, start in tally)


def _cell_round_trips(decision_map: Any, proba_fn: ProbaFunction, max_trips: int) -> np.ndarray:
    """:func:`round_trips` of every cell, with the map's π⁻¹, placement and classifier."""
    cells = grid_cells(decision_map.grid_x_, decision_map.grid_y_)
    labels = _cell_labels(decision_map, proba_fn, cells)
    out = np.empty(len(cells), dtype=np.int64)
    for start in range(0, len(cells), _CELL_BLOCK):
        block = slice(start, start + _CELL_BLOCK)
        out[block] = round_trips(
            cells[block],
            labels[block],
            inverse=decision_map.inverse_transform,
            place=decision_map._place,
            predict=_labeller(proba_fn),
            max_trips=max_trips,
        )
    return out


def _cell_boundary_distances(
    decision_map: Any,
    proba_fn: ProbaFunction,
    method: str,
    n_targets: int,
    n_bisections: int,
) -> np.ndarray:
    """The boundary distance of every cell's synthesised sample, a block at a time."""
    cells = grid_cells(decision_map.grid_x_, decision_map.grid_y_)
    labels = _cell_labels(decision_map, proba_fn, cells)
    estimator = decision_map.estimator
    by_gradient = method == "gradient" or (
        method == "auto" and hasattr(estimator, "boundary_distances")
    )
    if by_gradient and not hasattr(estimator, "boundary_distances"):
        raise ValueError(
            "boundary_method='gradient' needs a classifier with boundary_distances, such "
            f"as didi.torch.TorchClassifier; {type(estimator).__name__} has none. Use "
            "'bisection', which works with any predict_proba."
        )
    targets = OtherClassTargets(decision_map, n_targets)
    out = np.full(len(cells), np.inf)
    for start in range(0, len(cells), _CELL_BLOCK):
        rows = np.arange(start, min(start + _CELL_BLOCK, len(cells)))
        samples = decision_map.inverse_transform(cells[rows])
        if by_gradient:
            out[rows] = estimator.boundary_distances(samples)
        # Bisection everywhere, or where the gradients found no crossing (saturated).
        todo = ~np.isfinite(out[rows])
        if not todo.any():
            continue
        ends, has_targets = targets(samples[todo], labels[rows][todo])
        if not has_targets.any():
            continue
        out[rows[todo][has_targets]] = boundary_distance_bisection(
            samples[todo][has_targets],
            labels[rows][todo][has_targets],
            ends[has_targets],
            predict=_labeller(proba_fn),
            n_bisections=n_bisections,
        )
    return out


def _cell_labels(decision_map: Any, proba_fn: ProbaFunction, cells: np.ndarray) -> np.ndarray:
    """``argmax f(π⁻¹(p))`` of every cell: the grid's labels, with the cells an
    adaptive grid interpolated classified at their own π⁻¹."""
    labels = decision_map.grid_labels_.ravel().copy()
    missing = np.flatnonzero(~decision_map.grid_evaluated_.ravel())
    label = _labeller(proba_fn)
    for start in range(0, len(missing), _CELL_BLOCK):
        block = missing[start : start + _CELL_BLOCK]
        labels[block] = label(decision_map.inverse_transform(cells[block]))
    return labels


def _labeller(proba_fn: ProbaFunction):
    """The classifier's label index of synthesised samples (the suite's own arrays)."""
    return lambda samples: proba_fn(samples, owned=True).argmax(axis=1)


class OtherClassTargets:
    """For samples of predicted class ``c``: the nearest mapped samples (Euclidean, in
    input space) that the classifier puts in another class, as bisection targets.

    Where there are fewer such samples than targets asked for, the farthest found is
    repeated; a map whose samples all share one class has no targets, and every
    distance is ``inf``.
    """

    def __init__(self, decision_map: Any, n_targets: int) -> None:
        samples = decision_map.projection_.metric_.X_fit_
        self._flat = samples.reshape(len(samples), -1)
        self._shape = samples.shape[1:]
        self._predicted = decision_map.proba_.argmax(axis=1)
        self._n_targets = n_targets
        self._searches: dict[int, tuple[NearestNeighbors, np.ndarray] | None] = {}

    def _search(self, label: int) -> tuple[NearestNeighbors, np.ndarray] | None:
        """A search over the samples predicted other than ``label``, and their rows."""
        if label not in self._searches:
            others = np.flatnonzero(self._predicted != label)
            found = None
            if len(others):
                search = NearestNeighbors(n_neighbors=min(self._n_targets, len(others)))
                found = (search.fit(self._flat[others]), others)
            self._searches[label] = found
        return self._searches[label]

    def __call__(self, samples: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Targets of shape ``(n_samples, n_targets, *sample_shape)``, and which
        samples have any (the others' rows are zeros)."""
        out = np.zeros((len(samples), self._n_targets, self._flat.shape[1]), self._flat.dtype)
        has_targets = np.zeros(len(samples), dtype=bool)
        flat = samples.reshape(len(samples), -1)
        for label in np.unique(labels):
            found = self._search(int(label))
            if found is None:
                continue
            search, others = found
            mine = np.flatnonzero(labels == label)
            nearest = others[search.kneighbors(flat[mine], return_distance=False)]
            # Fewer samples of other classes than targets: repeat the farthest found.
            nearest = np.pad(nearest, ((0, 0), (0, self._n_targets - nearest.shape[1])), "edge")
            out[mine], has_targets[mine] = self._flat[nearest], True
        return out.reshape((len(samples), self._n_targets, *self._shape)), has_targets
