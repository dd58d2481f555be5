"""The decision map's grid: cells over the embedding, classified at π⁻¹ of each."""

from __future__ import annotations

import itertools

import numpy as np

from .._resources import progress_bar
from ..inverse import RBFInverse

#: Grid cells mapped through π⁻¹ and classified at once (bounds memory).
_GRID_CHUNK = 4096


def grid_axes(
    embedding: np.ndarray, resolution: int, margin: float
) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres along x and y covering the embedding plus ``margin`` of its extent."""
    low, high = embedding.min(axis=0), embedding.max(axis=0)
    extent = np.where(high > low, high - low, 1.0)
    low, high = low - margin * extent, high + margin * extent
    return np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)


def grid_cells(grid_x: np.ndarray, grid_y: np.ndarray) -> np.ndarray:
    """Cell centres, row by row (``grid_y``), shape ``(len(grid_y) · len(grid_x), 2)``."""
    return np.stack(np.meshgrid(grid_x, grid_y), axis=-1).reshape(-1, 2)


def grid_extent(grid_x: np.ndarray, grid_y: np.ndarray) -> tuple[float, float, float, float]:
    """``(left, right, bottom, top)`` of the grid's cells: the outer cells' centres plus
    half a cell, as matplotlib's ``imshow`` takes an ``extent``."""
    step_x = (grid_x[-1] - grid_x[0]) / max(1, len(grid_x) - 1)
    step_y = (grid_y[-1] - grid_y[0]) / max(1, len(grid_y) - 1)
    return (
        grid_x[0] - step_x / 2,
        grid_x[-1] + step_x / 2,
        grid_y[0] - step_y / 2,
        grid_y[-1] + step_y / 2,
    )


def classify_grid(
    proba_fn,
    inverse: RBFInverse,
    grid_x: np.ndarray,
    grid_y: np.ndarray,
    *,
    verbose: bool = False,
) -> np.ndarray:
    """Probabilities at π⁻¹ of every cell, shape ``(len(grid_y), len(grid_x), n_classes)``.

    Cells are mapped and classified in bounded chunks, written straight into the
    result: beyond the result itself, memory does not grow with the resolution.
    """
    cells = grid_cells(grid_x, grid_y)
    out = None
    with progress_bar(len(cells), "grid", verbose) as bar:
        for start in range(0, len(cells), _GRID_CHUNK):
            block = cells[start : start + _GRID_CHUNK]
            proba = proba_fn(inverse.inverse_transform(block), owned=True)
            if out is None:
                out = np.empty((len(cells), proba.shape[1]))
            out[start : start + len(block)] = proba
            bar.update(len(block))
    assert out is not None  # a grid has at least 2 × 2 cells
    return out.reshape(len(grid_y), len(grid_x), -1)


#: Cells between the nodes of an adaptive grid's first, coarse level.
COARSE_STEP = 8

#: Largest spread of normalised entropy between a block's corners that is
#: interpolated: beyond it the certainty shading varies enough to refine.
ENTROPY_SPREAD = 0.2


def classify_grid_adaptive(
    proba_fn,
    inverse: RBFInverse,
    grid_x: np.ndarray,
    grid_y: np.ndarray,
    *,
    coarse_step: int = COARSE_STEP,
    entropy_spread: float = ENTROPY_SPREAD,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities at π⁻¹ of every cell, classifying only where the map changes.

    The cells every ``coarse_step``-th row and column (and the last) are classified
    first. A block between four classified corners that agree on the class, and
    whose normalised entropies differ by at most ``entropy_spread``, is filled by
    bilinear interpolation of its corners' probabilities, which keeps their class
    (a convex combination of vectors whose largest entry is class ``c`` has its
    largest entry at ``c``). Any other block is split in four at its midpoints,
    whose cells are classified, level by level, down to single cells. Regions of
    one class narrower than a coarse block that no corner falls in can be missed.

    Returns
    -------
    proba : ndarray of shape (len(grid_y), len(grid_x), n_classes)
    evaluated : ndarray of bool, shape (len(grid_y), len(grid_x))
        The cells classified at their own π⁻¹ (the others are interpolated).
    """
    from ..distance._divergence import normalized_entropy

    grid = _AdaptiveGrid(proba_fn, inverse, grid_x, grid_y)
    rows = _node_indices(len(grid_y), coarse_step)
    cols = _node_indices(len(grid_x), coarse_step)
    grid.classify(*(axis.ravel() for axis in np.meshgrid(rows, cols, indexing="ij")))
    blocks = np.array(
        [(*r, *c) for r in itertools.pairwise(rows) for c in itertools.pairwise(cols)]
    ).reshape(-1, 4)
    while len(blocks):
        corners = blocks[:, [0, 0, 1, 1]], blocks[:, [2, 3, 2, 3]]
        proba = grid.proba[corners]  # (n_blocks, 4, n_classes)
        labels = proba.argmax(axis=-1)
        entropy = normalized_entropy(proba)
        calm = np.all(labels == labels[:, :1], axis=1) & (np.ptp(entropy, axis=1) <= entropy_spread)
        for block in blocks[calm]:
            grid.interpolate(*block)
        blocks = _split(blocks[~calm])
        if len(blocks):
            grid.classify(*_corner_indices(blocks))
    return grid.proba, grid.evaluated


class _AdaptiveGrid:
    """The cells of an adaptive grid: probabilities, and which were classified."""

    def __init__(self, proba_fn, inverse: RBFInverse, grid_x: np.ndarray, grid_y: np.ndarray):
        self.proba_fn, self.inverse = proba_fn, inverse
        self.grid_x, self.grid_y = grid_x, grid_y
        self.evaluated = np.zeros((len(grid_y), len(grid_x)), dtype=bool)
        self.proba: np.ndarray = np.empty((0,))

    def classify(self, rows: np.ndarray, cols: np.ndarray) -> None:
        """Classify the cells ``(rows[k], cols[k])`` not classified yet, in chunks."""
        flat = np.unique(rows * len(self.grid_x) + cols)
        rows, cols = np.divmod(flat[~self.evaluated.ravel()[flat]], len(self.grid_x))
        cells = np.c_[self.grid_x[cols], self.grid_y[rows]]
        for start in range(0, len(cells), _GRID_CHUNK):
            block = slice(start, start + _GRID_CHUNK)
            proba = self.proba_fn(self.inverse.inverse_transform(cells[block]), owned=True)
            if not self.proba.size:
                self.proba = np.zeros((*self.evaluated.shape, proba.shape[1]))
            self.proba[rows[block], cols[block]] = proba
        self.evaluated[rows, cols] = True

    def interpolate(self, r0: int, r1: int, c0: int, c1: int) -> None:
        """Fill the block's cells not classified by bilinear interpolation of its corners."""
        t = np.linspace(0.0, 1.0, r1 - r0 + 1)[:, None, None]
        u = np.linspace(0.0, 1.0, c1 - c0 + 1)[None, :, None]
        p = self.proba
        filled = (
            (1 - t) * (1 - u) * p[r0, c0]
            + (1 - t) * u * p[r0, c1]
            + t * (1 - u) * p[r1, c0]
            + t * u * p[r1, c1]
        )
        window = (slice(r0, r1 + 1), slice(c0, c1 + 1))
        keep = self.evaluated[window]
        p[window] = np.where(keep[..., None], p[window], filled)


def _node_indices(n: int, step: int) -> np.ndarray:
    """Every ``step``-th index from 0, and the last."""
    return np.unique(np.r_[np.arange(0, n, step), n - 1])


def _split(blocks: np.ndarray) -> np.ndarray:
    """Each block ``(r0, r1, c0, c1)`` split at its midpoints along the sides longer
    than one cell; blocks with no cell inside their corners vanish."""
    out: list[tuple[int, int, int, int]] = []
    for r0, r1, c0, c1 in blocks:
        row_parts = [(r0, r1)] if r1 - r0 <= 1 else [(r0, (r0 + r1) // 2), ((r0 + r1) // 2, r1)]
        col_parts = [(c0, c1)] if c1 - c0 <= 1 else [(c0, (c0 + c1) // 2), ((c0 + c1) // 2, c1)]
        if len(row_parts) == len(col_parts) == 1:
            continue
        out.extend((a, b, c, d) for a, b in row_parts for c, d in col_parts)
    return np.array(out, dtype=np.int64).reshape(-1, 4)


def _corner_indices(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of every block's four corners."""
    return blocks[:, [0, 0, 1, 1]].ravel(), blocks[:, [2, 3, 2, 3]].ravel()
