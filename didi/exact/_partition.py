"""Refine a partition until the maximum of affine candidates is one candidate per piece.

Every continuous piecewise-linear layer this package handles is such a maximum: ReLU
is ``max(0, z)``, a leaky ReLU ``max(s·z, z)``, max-pooling the maximum of its
window, and the predicted class the maximum of the logits. On a piece where each
candidate is affine, candidate ``a`` wins on the convex cell where it beats every
other: the piece clipped by those half-planes. The cells that are not empty are the
exact partition into pieces with one winner each, with no cut where the winner does
not change.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._pieces import UNIT_EDGE, Intervals, Polygons

Pieces = Polygons | Intervals

#: Elements per block of candidate values held at once when looking for cuts.
_BLOCK_ELEMENTS = 1 << 23


def argmax_split(
    pieces: Pieces,
    candidates: torch.Tensor,
    tolerance: float,
    edge_tag: Callable[[int, int], int] | None = None,
) -> tuple[Pieces, torch.Tensor]:
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
        Each new piece's index among the given ones. :func:`winners_inside` tells
        each unit's winning candidate on each new piece.
    """
    origin = torch.arange(len(pieces), device=candidates.device)
    columns = torch.arange(candidates.shape[2], device=candidates.device)
    crossed = _units_that_change(pieces, origin, candidates, columns, tolerance)
    finished: list[tuple[Pieces, torch.Tensor]] = []
    while len(columns):
        active = torch.nonzero(crossed.any(dim=1)).flatten()
        idle = torch.nonzero(~crossed.any(dim=1)).flatten()
        finished.append((pieces.take(idle), origin[idle]))
        pieces, origin, crossed = pieces.take(active), origin[active], crossed[active]
        pieces, origin, pending, done = _rounds(
            pieces, origin, candidates, columns, crossed, tolerance, edge_tag
        )
        finished.append(done)
        # Pieces that grew many times over are now smaller than the one their
        # remaining units were listed for: list them again, for these pieces.
        columns, pending = columns[pending.any(dim=0)], pending[:, pending.any(dim=0)]
        crossed = _units_that_change(pieces, origin, candidates, columns, tolerance) & pending
    finished.append((pieces, origin))
    pieces = _concat_pieces([part for part, _ in finished])
    return pieces, torch.cat([source for _, source in finished])


def _rounds(pieces, origin, candidates, columns, crossed, tolerance, edge_tag):
    """Cut the pieces along their changing units, one unit per piece and round.

    Round ``r`` cuts every piece along the ``r``-th unit listed for it, all pieces at
    once: as many rounds as one piece has changing units, not as the layer has
    units. Pieces whose units are all done leave the rounds. When the pieces have
    grown fourfold, the rounds stop and return the units still to do per piece.

    Returns the pieces still in the rounds, their origins, their pending units (a
    mask over ``columns``) and the finished ``(pieces, origins)``.
    """
    listed, unit = torch.nonzero(crossed, as_tuple=True)
    counts = crossed.sum(dim=1)
    rank = (
        torch.arange(len(listed), device=listed.device) - (torch.cumsum(counts, 0) - counts)[listed]
    )
    bucket = torch.arange(len(pieces), device=listed.device)
    nothing = torch.zeros(0, dtype=torch.long, device=listed.device)
    done, done_origin, start_size = [pieces.take(nothing)], [origin[nothing]], len(pieces)
    n_rounds = int(counts.max()) if len(counts) else 0
    for round_ in range(n_rounds):
        chosen = rank == round_
        units = torch.full((len(counts),), -1, dtype=torch.long, device=listed.device)
        units[listed[chosen]] = columns[unit[chosen]]
        pieces, parent = _envelope(pieces, origin, candidates, units[bucket], tolerance, edge_tag)
        origin, bucket = origin[parent], bucket[parent]
        leaving = counts[bucket] <= round_ + 1
        done.append(pieces.take(torch.nonzero(leaving).flatten()))
        done_origin.append(origin[leaving])
        staying = torch.nonzero(~leaving).flatten()
        pieces, origin, bucket = pieces.take(staying), origin[staying], bucket[staying]
        if len(pieces) >= 4 * start_size and n_rounds - round_ > 8:
            remaining = crossed.clone()
            remaining[listed[rank <= round_], unit[rank <= round_]] = False
            return pieces, origin, remaining[bucket], (_concat_pieces(done), torch.cat(done_origin))
    empty = torch.zeros((len(pieces), len(columns)), dtype=torch.bool, device=listed.device)
    return pieces, origin, empty, (_concat_pieces(done), torch.cat(done_origin))


def _concat_pieces(parts: list) -> Pieces:
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.concat(part)
    return merged


def winners_inside(pieces: Pieces, origin: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """Each unit's winning candidate at an interior point of each piece, shape (n, n_units)."""
    n_units = candidates.shape[2]
    rows = max(1, _BLOCK_ELEMENTS // max(1, candidates[0, 0].numel()))
    interior = pieces.interior()
    at_origin, gradient = candidates[:, 0], candidates[:, 1:] - candidates[:, :1]
    winners = [torch.zeros((0, n_units), dtype=torch.long, device=candidates.device)]
    for start in range(0, len(pieces), rows):
        source = origin[start : start + rows]
        values = at_origin.index_select(0, source)
        for axis in range(gradient.shape[1]):
            step = interior[start : start + rows, axis, None, None]
            values.addcmul_(gradient[:, axis].index_select(0, source), step)
        winners.append(values.argmax(dim=2))
    return torch.cat(winners)


def _units_that_change(
    pieces: Pieces,
    origin: torch.Tensor,
    candidates: torch.Tensor,
    columns: torch.Tensor,
    tolerance: float,
) -> torch.Tensor:
    """Which of the units ``columns`` change their winner inside which piece, shape (n, n_columns).

    The winner at an interior point stays the winner on a convex piece exactly when
    no other candidate beats it at a vertex (their difference is affine), so the
    vertices decide, with ``tolerance`` as the margin. Piece ``i``'s candidates are
    ``candidates[origin[i]]``.
    """
    rank, n_candidates = candidates.shape[1], candidates.shape[3]
    corners = pieces.corners()  # (n, n_vertices, k)
    step = max(1, _BLOCK_ELEMENTS // max(1, len(origin) * corners.shape[1] * n_candidates * rank))
    crossed = []
    for start in range(0, len(columns), step):
        block = candidates[:, :, columns[start : start + step]][origin]  # (n, k + 1, units, K)
        if n_candidates == 2:  # ReLU-like: one line per unit, no winner needed
            difference = (block[..., 1] - block[..., 0])[..., None]
        else:
            winner = winners_inside(pieces, torch.arange(len(origin), device=origin.device), block)
            best = torch.gather(block, 3, winner[:, None, :, None].expand(-1, rank, -1, 1))
            difference = block - best
        gradient = difference[:, 1:] - difference[:, :1]
        n, k, units, kinds = gradient.shape
        values = torch.bmm(corners, gradient.reshape(n, k, units * kinds)).reshape(
            n, -1, units, kinds
        )
        distance = (values + difference[:, :1]) / torch.linalg.vector_norm(gradient, dim=1)[:, None]
        if n_candidates == 2:
            changes = (distance.amax(dim=1) > tolerance) & (distance.amin(dim=1) < -tolerance)
        else:
            changes = (distance > tolerance).any(dim=1)
        crossed.append(changes.any(dim=2))
    if not crossed:
        return torch.zeros((len(origin), 0), dtype=torch.bool, device=origin.device)
    return torch.cat(crossed, dim=1)


def _envelope(pieces, origin, candidates, units, tolerance, edge_tag):
    """Cut each piece into the cells of one unit's upper envelope of candidates.

    ``units[i]`` is the unit to cut piece ``i`` along (``-1``: none); its candidates
    are ``candidates[origin[i]]``. Candidate ``a``'s cell on a piece is where it is at least
    every later candidate and above every earlier one (ties go to the first, as
    argmax does): the piece clipped by those half-planes. Only cells that are not
    empty are kept, so no cut is made that does not change the winner.
    """
    unit = units
    others, subset = torch.nonzero(unit < 0).flatten(), torch.nonzero(unit >= 0).flatten()
    parts, parents = [pieces.take(others)], [others]
    n_candidates = candidates.shape[-1]
    for winner in range(n_candidates):
        cell, source, cell_unit, parent = pieces.take(subset), origin[subset], unit[subset], subset
        for rival in range(n_candidates):
            if rival == winner or not len(cell):
                continue
            reference = (
                candidates[source, :, cell_unit, winner] - candidates[source, :, cell_unit, rival]
            )
            pair = (min(winner, rival), max(winner, rival))
            tag = UNIT_EDGE if edge_tag is None else edge_tag(*pair)
            cell, kept = cell.clip(reference, tag, tolerance, strict=rival < winner)
            source, cell_unit, parent = source[kept], cell_unit[kept], parent[kept]
        parts.append(cell)
        parents.append(parent)
    return _concat_pieces(parts), torch.cat(parents)
