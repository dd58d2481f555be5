"""The decision map's grid: cells over the embedding, classified at π⁻¹ of each."""

from __future__ import annotations

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
    cells = np.stack(np.meshgrid(grid_x, grid_y), axis=-1).reshape(-1, 2)
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
