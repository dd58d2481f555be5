"""Refine a partition until the maximum of affine candidates is one candidate per piece.

Every continuous piecewise-linear layer this package handles is such a maximum: ReLU
is ``max(0, z)``, a leaky ReLU ``max(s·z, z)``, max-pooling the maximum of its
window, and the predicted class the maximum of the logits. On a piece where each
candidate is affine, the winner changes only along lines where two candidates are
equal; a tournament (candidate ``c`` against the best so far) cuts exactly there,
so the result is the exact partition into pieces with one winner each.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._pieces import UNIT_EDGE, Intervals, Polygons, affine_values

Pieces = Polygons | Intervals

#: Elements per block of candidate values held at once when looking for cuts.
_BLOCK_ELEMENTS = 1 << 23


def argmax_split(
    pieces: Pieces,
    candidates: torch.Tensor,
    tolerance: float,
    edge_tag: Callable[[int, int], int] | None = None,
) -> tuple[Pieces, torch.Tensor, torch.Tensor]:
    """Cut ``pieces`` so that on each new piece every unit has a single winning candidate.

    Parameters
    ----------
    pieces : Polygons or Intervals
        ``n`` convex pieces.
    candidates : Tensor of shape (n, k + 1, n_units, n_candidates)
        Reference values (at the origin and the ``k`` unit points of the plane) of
        each unit's candidates on each piece.
    tolerance : float
        Thinnest slice (plane units) a cut may leave.
    edge_tag : callable, default=None
        ``edge_tag(a, b)`` tags the edges where candidates ``a < b`` meet;
        :data:`UNIT_EDGE` when not given.

    Returns
    -------
    pieces : Polygons or Intervals
        The refined pieces.
    origin : Tensor of int
        Each new piece's index among the given ones.
    winners : Tensor of int, shape (n_new, n_units)
        The winning candidate of each unit on each new piece (the first of equals).
    """
    crossed = _units_that_change(pieces, candidates, tolerance)
    origin = torch.arange(len(pieces), device=candidates.device)
    for unit in torch.nonzero(crossed.any(dim=0)).flatten().tolist():
        pieces, origin = _envelope(
            pieces, origin, candidates[:, :, unit], crossed[:, unit], tolerance, edge_tag
        )
    return pieces, origin, winners_inside(pieces, origin, candidates)


def winners_inside(pieces: Pieces, origin: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """Each unit's winning candidate at an interior point of each piece."""
    n_units, n_candidates = candidates.shape[2:]
    rows = max(1, _BLOCK_ELEMENTS // max(1, candidates[0].numel()))
    interior = pieces.interior()
    winners = []
    for start in range(0, len(pieces), rows):
        block = origin[start : start + rows]
        reference = candidates[block].movedim(1, -1).reshape(-1, candidates.shape[1])
        inside = interior[start : start + rows]
        inside = inside.repeat_interleave(n_units * n_candidates, dim=0)[:, None]
        values = affine_values(inside, reference).reshape(len(block), n_units, n_candidates)
        winners.append(values.argmax(dim=2))
    if not winners:
        return torch.zeros((0, n_units), dtype=torch.long, device=candidates.device)
    return torch.cat(winners)


def _units_that_change(pieces: Pieces, candidates: torch.Tensor, tolerance: float) -> torch.Tensor:
    """Which units' winner is not the same all over which piece, shape (n, n_units).

    The winner at an interior point stays the winner on a convex piece exactly when
    no other candidate beats it at a vertex (their difference is affine), so the
    vertices decide, with ``tolerance`` as the margin.
    """
    n, rank, n_units, n_candidates = candidates.shape
    corners = pieces.corners()  # (n, n_vertices, k)
    winner = winners_inside(pieces, torch.arange(n, device=candidates.device), candidates)
    step = max(1, _BLOCK_ELEMENTS // max(1, n * corners.shape[1] * n_candidates))
    crossed = []
    for start in range(0, n_units, step):
        block = candidates[:, :, start : start + step]
        best = torch.gather(
            block, 3, winner[:, None, start : start + step, None].expand(-1, rank, -1, 1)
        )
        difference = block - best  # (n, k + 1, units, candidates)
        gradient = difference[:, 1:] - difference[:, :1]
        values = difference[:, :1] + torch.einsum("pvk,pkuc->pvuc", corners, gradient)
        norm = torch.linalg.vector_norm(gradient, dim=1)[:, None]
        beaten = (values > tolerance * norm) & (norm > 0)
        crossed.append(beaten.any(dim=3).any(dim=1))
    return torch.cat(crossed, dim=1)


def _envelope(pieces, origin, candidates, crossed, tolerance, edge_tag):
    """Cut the pieces into the cells of one unit's upper envelope of candidates.

    Candidate ``a``'s cell on a piece is where it is at least every later candidate
    and above every earlier one (ties go to the first, as argmax does): the piece
    clipped by those half-planes. Only cells that are not empty are kept, so no cut
    is made that does not change the winner.
    """
    involved = crossed[origin]
    others, subset = torch.nonzero(~involved).flatten(), torch.nonzero(involved).flatten()
    parts, origins = [pieces.take(others)], [origin[others]]
    n_candidates = candidates.shape[-1]
    for winner in range(n_candidates):
        cell, source = pieces.take(subset), origin[subset]
        for rival in range(n_candidates):
            if rival == winner or not len(cell):
                continue
            reference = candidates[source, :, winner] - candidates[source, :, rival]
            pair = (min(winner, rival), max(winner, rival))
            tag = UNIT_EDGE if edge_tag is None else edge_tag(*pair)
            cell, kept = cell.clip(reference, tag, tolerance, strict=rival < winner)
            source = source[kept]
        parts.append(cell)
        origins.append(source)
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.concat(part)
    return merged, torch.cat(origins)
