"""Convex pieces of a plane (polygons) or of a segment (intervals), cut along lines.

A network built from piecewise-linear layers is affine on each piece of a partition
of its input; restricted to a plane (or a segment) every unit's pre-activation is an
affine function ``z(w) = z₀ + Σᵢ wᵢ·(zᵢ − z₀)`` of the ``k`` plane coordinates
``w``, where ``z₀`` is its value at the origin and ``zᵢ`` its value at the ``i``-th
unit point. These classes hold a batch of convex pieces and cut them where such a
function changes sign, all pieces at once (torch, float64, on any device).

A cut is only made where the function is more than ``tolerance`` (a length in plane
coordinates) away from zero on both sides of the piece: slivers thinner than that
are never created, so floating-point noise does not multiply the pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: Edge tag of the domain's own border.
DOMAIN_EDGE = -1
#: Edge tag of a cut where a unit (ReLU, max-pooling) changes its linear piece.
UNIT_EDGE = -2


def affine_values(points: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Values at ``points`` (n, n_points, k) of affine functions ``reference`` (n, k + 1)."""
    gradient = reference[:, 1:] - reference[:, :1]
    return reference[:, :1] + torch.einsum("pnk,pk->pn", points, gradient)


def signed_distances(points: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Distance of ``points`` to the zero line of affine functions, signed by the value.

    Parameters
    ----------
    points : Tensor of shape (n_pieces, n_points, k)
        Points in plane coordinates.
    reference : Tensor of shape (n_pieces, k + 1)
        Each piece's function at the origin, then at the ``k`` unit points.

    Returns
    -------
    Tensor of shape (n_pieces, n_points)
        ``z(w) / ‖∇z‖``; NaN where the function is constant (its gradient is zero).
    """
    gradient = reference[:, 1:] - reference[:, :1]
    norm = torch.linalg.vector_norm(gradient, dim=1, keepdim=True)
    return affine_values(points, reference) / norm


@dataclass
class Intervals:
    """Sub-intervals ``[low, high]`` of a segment's parameter ``t``."""

    low: torch.Tensor
    high: torch.Tensor

    def __len__(self) -> int:
        return len(self.low)

    def take(self, index: torch.Tensor) -> Intervals:
        return Intervals(self.low[index], self.high[index])

    def corners(self) -> torch.Tensor:
        """Both end points of every interval, shape (n, 2, 1)."""
        return torch.stack([self.low, self.high], dim=1)[:, :, None]

    def interior(self) -> torch.Tensor:
        """The midpoint of every interval, shape (n, 1)."""
        return ((self.low + self.high) / 2)[:, None]

    def clip(
        self, reference: torch.Tensor, tag: int | torch.Tensor, tolerance: float, strict: bool
    ) -> tuple[Intervals, torch.Tensor]:
        """The parts of the intervals where the affine functions ``reference`` are positive.

        As :meth:`Polygons.clip`; ``tag`` is unused (intervals have no edges).
        """
        del tag
        keep, whole = _keep_and_whole(self.corners(), None, reference, tolerance, strict)
        slope = reference[:, 1] - reference[:, 0]
        root = -reference[:, 0] / torch.where(slope != 0, slope, torch.ones_like(slope))
        low = torch.where(whole | (slope < 0), self.low, root)
        high = torch.where(whole | (slope > 0), self.high, root)
        index = torch.nonzero(keep).flatten()
        return Intervals(low[index], high[index]), index

    def concat(self, other: Intervals) -> Intervals:
        return Intervals(torch.cat([self.low, other.low]), torch.cat([self.high, other.high]))


@dataclass
class Polygons:
    """Convex polygons, vertices in counter-clockwise order, padded to a common length.

    ``tags[p, i]`` says what made the edge from vertex ``i`` to vertex ``i + 1``: the
    domain's border (:data:`DOMAIN_EDGE`), a unit's kink (:data:`UNIT_EDGE`), or, for
    cuts between two classes ``a < b`` of ``n`` candidates, ``a·n + b``.
    """

    vertices: torch.Tensor  # (n, max_vertices, 2)
    counts: torch.Tensor  # (n,)
    tags: torch.Tensor  # (n, max_vertices)

    @classmethod
    def box(cls, extent: tuple[float, float, float, float], device: torch.device) -> Polygons:
        """The rectangle ``u₀ ≤ u ≤ u₁``, ``v₀ ≤ v ≤ v₁`` as one polygon."""
        u0, u1, v0, v1 = extent
        corners = [[u0, v0], [u1, v0], [u1, v1], [u0, v1]]
        vertices = torch.tensor([corners], dtype=torch.float64, device=device)
        counts = torch.tensor([4], device=device)
        tags = torch.full((1, 4), DOMAIN_EDGE, device=device)
        return cls(vertices, counts, tags)

    def __len__(self) -> int:
        return len(self.counts)

    def take(self, index: torch.Tensor) -> Polygons:
        return Polygons(self.vertices[index], self.counts[index], self.tags[index])

    def valid(self) -> torch.Tensor:
        """Which padded vertex slots are real vertices, shape (n, max_vertices)."""
        slots = torch.arange(self.vertices.shape[1], device=self.counts.device)
        return slots < self.counts[:, None]

    def corners(self) -> torch.Tensor:
        """Every polygon's vertices, padding repeating its first vertex."""
        return torch.where(self.valid()[:, :, None], self.vertices, self.vertices[:, :1])

    def interior(self) -> torch.Tensor:
        """The mean of each polygon's vertices: a point strictly inside it."""
        valid = self.valid()[:, :, None]
        total = torch.where(valid, self.vertices, 0.0).sum(dim=1)
        return total / self.counts[:, None]

    def clip(
        self, reference: torch.Tensor, tag: int | torch.Tensor, tolerance: float, strict: bool
    ) -> tuple[Polygons, torch.Tensor]:
        """The parts of the polygons where the affine functions ``reference`` are positive.

        Parameters
        ----------
        reference : Tensor of shape (n, 3)
            Each polygon's function (values at the origin, at ``(1, 0)``, at ``(0, 1)``).
        tag : int or Tensor of shape (n,)
            Tag of the new edges.
        tolerance : float
            A polygon the zero line leaves less than this of is kept whole or dropped
            whole, so no piece thinner than ``tolerance`` is made.
        strict : bool
            Whether a function that is zero all over a polygon drops it (``True``) or
            keeps it: ties between candidates go to exactly one of them.

        Returns
        -------
        pieces : Polygons
            The non-empty parts.
        index : Tensor of int
            Which polygon each part comes from.
        """
        valid = self.valid()
        keep, whole = _keep_and_whole(self.vertices, valid, reference, tolerance, strict)
        tag = torch.as_tensor(tag, device=keep.device).expand(len(self))
        cut = torch.nonzero(keep & ~whole).flatten()
        distance = signed_distances(self.vertices[cut], reference[cut])
        distance = torch.where(distance.abs() <= tolerance, 0.0, distance)
        parts = _concat(
            [self.take(torch.nonzero(whole).flatten()), _clip(self.take(cut), distance, tag[cut])]
        )
        return parts, torch.cat([torch.nonzero(whole).flatten(), cut])

    def concat(self, other: Polygons) -> Polygons:
        return _concat([self, other])


def _keep_and_whole(corners, valid, reference, tolerance, strict):
    """Which pieces keep any part where ``reference > 0``, and which keep all of it.

    Decided at the corners (the function is affine on a convex piece), with values
    within ``tolerance`` of the zero line counting as on it. A constant function
    keeps all or nothing by its sign; zero keeps all unless ``strict``, and so does
    a function within ``tolerance`` of zero all over the piece (a tie: the piece
    goes to exactly one of two candidates, never to none).
    """
    distance = signed_distances(corners, reference)
    valid = torch.ones_like(distance, dtype=torch.bool) if valid is None else valid
    high = torch.where(valid, distance, -torch.inf).amax(dim=1)
    low = torch.where(valid, distance, torch.inf).amin(dim=1)
    value = reference[:, 0]
    constant_keeps = (value > 0) | ((value == 0) & (not strict))
    near = (high <= tolerance) & (low >= -tolerance)
    keep = torch.where(near, not strict, high > tolerance)
    whole = torch.where(near, not strict, low >= -tolerance)
    constant = torch.isnan(high)
    keep = torch.where(constant, constant_keeps, keep)
    whole = torch.where(constant, constant_keeps, whole)
    return keep, whole & keep


def _clip(polygons: Polygons, distance: torch.Tensor, cut_tag: torch.Tensor) -> Polygons:
    """The part of each polygon where ``distance ≥ 0`` (values already snapped to 0)."""
    n, width = distance.shape
    valid = polygons.valid()
    following = (torch.arange(width, device=distance.device) + 1) % polygons.counts[:, None]
    next_distance = torch.gather(distance, 1, following)
    next_vertex = torch.gather(polygons.vertices, 1, following[:, :, None].expand(-1, -1, 2))
    keep = valid & (distance >= 0)
    crossing = valid & (distance * next_distance < 0)
    fraction = distance / torch.where(crossing, distance - next_distance, 1.0)
    meeting = polygons.vertices + fraction[:, :, None] * (next_vertex - polygons.vertices)
    # An edge leaving the kept side runs along the cut from there on.
    cut_tag = cut_tag[:, None].expand(-1, width)
    vertex_tag = torch.where((distance == 0) & (next_distance < 0), cut_tag, polygons.tags)
    meeting_tag = torch.where(distance > 0, cut_tag, polygons.tags)
    points = torch.stack([polygons.vertices, meeting], dim=2).reshape(n, 2 * width, 2)
    kept = torch.stack([keep, crossing], dim=2).reshape(n, 2 * width)
    tags = torch.stack([vertex_tag, meeting_tag], dim=2).reshape(n, 2 * width)
    order = torch.argsort((~kept).to(torch.int8), dim=1, stable=True)
    counts = kept.sum(dim=1)
    new_width = int(counts.max()) if n else 0
    order = order[:, :new_width]
    return Polygons(
        torch.gather(points, 1, order[:, :, None].expand(-1, -1, 2)),
        counts,
        torch.gather(tags, 1, order),
    )


def _concat(parts: list[Polygons]) -> Polygons:
    """Polygons of several batches in one, padded to the widest."""
    width = max((int(part.counts.max()) for part in parts if len(part)), default=0)
    vertices, tags = [], []
    for part in parts:
        pad = width - part.vertices.shape[1]
        vertices.append(torch.nn.functional.pad(part.vertices, (0, 0, 0, pad))[:, :width])
        tags.append(torch.nn.functional.pad(part.tags, (0, pad), value=DOMAIN_EDGE)[:, :width])
    return Polygons(
        torch.cat(vertices), torch.cat([part.counts for part in parts]), torch.cat(tags)
    )
