"""Exact ranking of k-NN candidates on a PyTorch device (the twin of
:mod:`didi.distance._ranking`), and the device memory it and the path evaluator use.

Every pair's lower bound of the DiDi distance is a matrix product of the samples and a
Jensen-Shannon divergence of their predictions (a logarithm per class). Beyond
:data:`~didi.distance._ranking.PRUNING_MIN_REFERENCES` references, the divergence is
computed only where it can matter, as on the CPU (:mod:`didi.distance._pruned`): the
Jensen-Shannon distance is at least ``√(ln 2 / 2)`` times the Hellinger distance
``‖√p − √q‖``, a second matrix product. Each row's ``keep`` smallest such lower bounds
set a threshold through their full bounds; only pairs whose lower bound stays within it
get the full bound. Everything is in float64, where a GPU's products are as fast as in
float32, so the rounding margins are those of double precision. The ranking and its
certificate are those of the unpruned one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .._devices import numpy_to_torch
from ..distance._bounds import JS_MARGIN, BoundTerms, BoundWeights
from ..distance._divergence import JS_MAX
from ..distance._pruned import _MAX_SURVIVOR_SHARE, HELLINGER_FACTOR, BaseCandidates
from ..distance._ranking import (
    PRUNING_MIN_REFERENCES,
    candidate_table,
    candidate_widths,
    store_ranked,
)

#: Share of the device's free memory the end points may take to stay resident there.
_RESIDENT_SHARE = 0.25

#: Elements ``(rows × references × classes)`` per block of full bounds on the device
#: (512 MB in float64; a few such temporaries at a time).
_DEVICE_BLOCK_ELEMENTS = 1 << 26

#: Share of a GPU's free memory a pruned block's ``rows × references`` temporaries
#: may take (about six of them at a time); elsewhere their elements are capped at
#: :data:`_DEVICE_BLOCK_ELEMENTS` times the classes. Large blocks keep the products
#: efficient: each one reads every reference.
_PRUNED_MEMORY_SHARE = 0.4
_PRUNED_TEMPORARIES = 6

#: Unit roundoff of float64.
_UNIT = 2.0**-53

#: Relative slack of the pruning threshold: the lower bounds and the bounds are
#: rounded in different orders.
_RELATIVE_SLACK = 1e-12


def itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def fits_on(device: torch.device, n_bytes: int) -> bool:
    """Whether ``n_bytes`` may stay on ``device`` for a whole fit."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return n_bytes <= _RESIDENT_SHARE * free


class DeviceRanker:
    """:func:`torch_exact_candidates` for one fit: each set of samples' terms goes to
    the device once, also across the search's later calls; too large a set is
    ranked by ``host_ranker`` (:class:`didi.distance._ranking.HostRanker` with the
    fit's threads) instead."""

    def __init__(self, device: torch.device, host_ranker: Callable) -> None:
        self.device = device
        self.host_ranker = host_ranker
        self._uploaded: dict[int, tuple[BoundTerms, list[torch.Tensor]]] = {}

    def _on_device(self, terms: BoundTerms) -> list[torch.Tensor]:
        if id(terms) not in self._uploaded:  # the terms are held, so ids stay unique
            self._uploaded[id(terms)] = (terms, _terms_to(terms, slice(None), self.device))
        return self._uploaded[id(terms)][1]

    def holds(self, query: BoundTerms, reference: BoundTerms) -> bool:
        """Whether these terms fit on the device to be ranked there (else the host ranks)."""
        sets = {id(terms): terms.flat.nbytes for terms in (query, reference)}
        return fits_on(self.device, 2 * sum(sets.values()))

    def __call__(self, query, rows, reference, weights, n_candidates, *, exclude_self):
        return self.candidates_and_base_candidates(
            query, rows, reference, weights, n_candidates, 0, exclude_self=exclude_self
        )[0]

    def candidates_and_base_candidates(
        self, query, rows, reference, weights, n_candidates, base_width, *, exclude_self
    ):
        """The ranking, and each row's ``base_width`` nearest under the Euclidean base
        distance (the twin of :func:`didi.distance._ranking.candidates_and_base_candidates`);
        ``None`` for those when the host ranks."""
        if not self.holds(query, reference):
            table = self.host_ranker(
                query, rows, reference, weights, n_candidates, exclude_self=exclude_self
            )
            return table, None
        return torch_candidates_and_base_candidates(
            query, rows, reference, weights, n_candidates, base_width,
            exclude_self=exclude_self, device=self.device,
            uploaded=(self._on_device(query), self._on_device(reference)),
        )  # fmt: skip


def torch_exact_candidates(
    query: BoundTerms,
    rows: np.ndarray,
    reference: BoundTerms,
    weights: BoundWeights,
    n_candidates: int,
    *,
    exclude_self: bool,
    device: torch.device,
    uploaded: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The torch twin of :func:`didi.distance._ranking.exact_candidates`, on ``device``.

    The same bound (float64, the same safety margins), blocks of rows against all
    references, ``topk`` on the device; ties are ordered by index on the host, as
    there. ``uploaded`` holds the query's and the reference's terms already on
    the device (all rows).
    """
    return torch_candidates_and_base_candidates(
        query, rows, reference, weights, n_candidates, 0,
        exclude_self=exclude_self, device=device, uploaded=uploaded,
    )[0]  # fmt: skip


def torch_candidates_and_base_candidates(
    query: BoundTerms,
    rows: np.ndarray,
    reference: BoundTerms,
    weights: BoundWeights,
    n_candidates: int,
    base_width: int,
    *,
    exclude_self: bool,
    device: torch.device,
    uploaded: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], BaseCandidates | None]:
    """:func:`torch_exact_candidates`, and each row's ``base_width`` nearest under the
    Euclidean base distance, from the same products (``None`` for 0 or cosine)."""
    n_ref = len(reference.sq_norms)
    n_candidates, keep = candidate_widths(n_ref, n_candidates, exclude_self)
    table = candidate_table(len(rows), n_candidates)
    base_width = min(base_width, n_ref - int(exclude_self))
    if weights.metric != "euclidean" or base_width <= 0:
        base_width = 0
    base = BaseCandidates.empty(len(rows), base_width) if base_width else None
    if len(rows) == 0 or keep == 0:
        return table, base
    rows_dev = torch.from_numpy(np.asarray(rows, np.int64)).to(device)
    if uploaded is None:
        ref, qry = _terms_to(reference, slice(None), device), _terms_to(query, rows, device)
    else:
        ref, qry = uploaded[1], [part[rows_dev] for part in uploaded[0]]
    prunes = n_ref > PRUNING_MIN_REFERENCES and keep < n_ref
    n_classes = reference.proba.shape[1]
    full_block = max(1, _DEVICE_BLOCK_ELEMENTS // (n_ref * n_classes))
    block = _pruned_block_rows(n_ref, device) if prunes else full_block
    for start in range(0, len(rows), block):
        stop = min(start + block, len(rows))
        part = [t[start:stop] for t in qry]
        itself = None
        if exclude_self:
            itself = (torch.arange(stop - start, device=device), rows_dev[start:stop])
        ranked = _torch_pruned_block(part, ref, weights, keep, itself) if prunes else None
        if ranked is None:  # not pruned, or too many pairs survive to prune with
            bound, base_lower = _torch_full_bounds(part, ref, weights, itself, full_block)
            values, nearest = torch.topk(bound, keep, dim=1, largest=False, sorted=False)
            del bound
        else:
            values, nearest, base_lower = ranked
        store_ranked(table, start, nearest.cpu().numpy(), values.cpu().numpy(), n_candidates)
        if base is not None:
            base.store(start, _nearest_base(base_lower, base_width, n_ref - int(exclude_self)))
        del ranked, base_lower  # freed before the next block's arrays are made
    return table, base


def _pruned_block_rows(n_ref: int, device: torch.device) -> int:
    """Rows per pruned block: on a GPU, as many as :data:`_PRUNED_MEMORY_SHARE` of its
    free memory holds in :data:`_PRUNED_TEMPORARIES` float64 ``rows × references``
    arrays; elsewhere :data:`_DEVICE_BLOCK_ELEMENTS` elements per array."""
    elements = _DEVICE_BLOCK_ELEMENTS
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        elements = int(_PRUNED_MEMORY_SHARE * free) // (8 * _PRUNED_TEMPORARIES)
    return max(1, elements // n_ref)


def _torch_full_bounds(query, reference, weights: BoundWeights, itself, block: int):
    """Every pair's bound and base lower bound, ``block`` rows at a time (``itself``:
    the pairs of each row with its own sample, set to ``inf``)."""
    shape = (len(query[0]), len(reference[0]))
    bound = torch.empty(shape, dtype=torch.float64, device=query[0].device)
    base_lower = torch.empty_like(bound)
    for start in range(0, shape[0], block):
        part = [t[start : start + block] for t in query]
        bound[start : start + block], base_lower[start : start + block] = _torch_lower_bound_block(
            part, reference, weights
        )
    if itself is not None:
        bound[itself] = torch.inf
        base_lower[itself] = torch.inf
    return bound, base_lower


def _torch_pruned_block(query, reference, weights: BoundWeights, keep: int, itself):
    """Each row's ``keep`` smallest bounds and their columns, and the block's base
    lower bounds; ``None`` where too many pairs survive.

    Every pair gets the lower bound ``w_E·E + w_D·√(ln 2 / 2)·‖√p − √q‖``; the full
    bounds of each row's ``keep`` smallest set its threshold ``T``, and only pairs
    whose lower bound is at most ``T`` can be below it. The comparison allows for the
    rounding of the computed Jensen-Shannon distance (:data:`JS_MARGIN`), which the
    Hellinger bound does not know, and the ``keep`` always survive: a pair left out
    has a distance above ``T``, at least the bound that certifies the row's list.
    """
    q_flat, q_sq, q_proba, _ = query
    r_flat, r_sq, r_proba, _ = reference
    base = _torch_base_lower(q_flat, q_sq, r_flat, r_sq, weights)
    lower = _torch_hellinger_lower(q_proba, r_proba).mul_(weights.path)
    lower.add_(base * weights.base)
    if itself is not None:
        lower[itself] = torch.inf
        base[itself] = torch.inf
    nearest = torch.topk(lower, keep, dim=1, largest=False, sorted=False).indices
    rows = torch.arange(len(lower), device=lower.device)[:, None].expand_as(nearest)
    threshold = _pair_bounds(query, reference, base, weights, rows, nearest).amax(dim=1)
    threshold = threshold * (1.0 + _RELATIVE_SLACK) + weights.path * JS_MARGIN
    survivors = lower <= threshold[:, None]
    survivors[rows, nearest] = True
    if int(survivors.sum()) > _MAX_SURVIVOR_SHARE * survivors.numel():
        return None
    pair_rows, pair_columns = survivors.nonzero(as_tuple=True)
    n_rows, elements = lower.shape[0], lower.numel()
    del survivors, lower
    bounds = torch.empty(len(pair_rows), dtype=torch.float64, device=base.device)
    # Each pair's bound takes a few arrays of its classes: in chunks of about one
    # row × references array each.
    chunk = max(1, elements // (2 * q_proba.shape[1]))
    for start in range(0, len(pair_rows), chunk):
        r, c = pair_rows[start : start + chunk], pair_columns[start : start + chunk]
        bounds[start : start + chunk] = _pair_bounds(query, reference, base, weights, r, c)
    values, columns = smallest_per_row(pair_rows, pair_columns, bounds, n_rows, keep)
    return values, columns, base


def smallest_per_row(rows, columns, values, n_rows: int, keep: int):
    """The ``keep`` smallest ``values`` of each row, ascending (ties by column, NaN
    last), and their columns, from entries ``(rows[i], columns[i], values[i])`` in
    row-major order (as ``nonzero`` gives them) with at least ``keep`` per row.

    Two stable sorts of the survivors instead of a ``topk`` over every pair of the
    block, most of them ``inf``."""
    order = torch.sort(values, stable=True).indices
    order = order[torch.sort(rows[order], stable=True).indices]
    counts = torch.bincount(rows, minlength=n_rows)
    first = torch.cumsum(counts, 0) - counts
    picked = order[first[:, None] + torch.arange(keep, device=rows.device)]
    return values[picked], columns[picked]


def _pair_bounds(query, reference, base, weights: BoundWeights, rows, columns) -> torch.Tensor:
    """The bounds of the pairs ``(rows[i], columns[i])`` of a block whose base lower
    bounds are ``base``."""
    q_proba, q_entropy = query[2], query[3]
    r_proba, r_entropy = reference[2], reference[3]
    path = _torch_js_lower(q_proba[rows], r_proba[columns], q_entropy[rows], r_entropy[columns])
    return base[rows, columns] * weights.base + weights.path * path


def _torch_hellinger_lower(q_proba: torch.Tensor, r_proba: torch.Tensor) -> torch.Tensor:
    """``√(ln 2 / 2)·‖√p − √q‖`` of every pair, less its rounding margins: at most the
    Jensen-Shannon distance, less :data:`JS_MARGIN` as that is.

    ``‖√p − √q‖² = Σp + Σq − 2·√p·√q``, whose product is off by at most
    ``γ_C·√(Σp·Σq)`` in any order of summation (``C`` classes), and the roots and sums
    by a few units of roundoff more: a slack of ``4(C + 4)u·(Σp + Σq)`` covers them.
    """
    n_classes = q_proba.shape[1]
    mass = q_proba.sum(dim=1)[:, None] + r_proba.sum(dim=1)[None, :]
    squared = (q_proba.sqrt() @ r_proba.sqrt().T).mul_(-2.0).add_(mass)
    squared.sub_(mass.mul_(4 * (n_classes + 4) * _UNIT))
    lower = squared.clamp_(min=0.0).sqrt_().mul_(HELLINGER_FACTOR).sub_(JS_MARGIN)
    return lower.clamp_(min=0.0)


def _nearest_base(base_lower: torch.Tensor, width: int, available: int) -> BaseCandidates:
    """Each row's ``width`` smallest base lower bounds among its ``available``
    references, and the next one as the bound of every other (``inf`` when none is left)."""
    if width < available:
        values, part = torch.topk(base_lower, width + 1, dim=1, largest=False, sorted=True)
        next_distance = values[:, width].cpu().numpy()
    else:
        values, part = torch.topk(base_lower, width, dim=1, largest=False, sorted=True)
        next_distance = np.full(len(base_lower), np.inf)
    return BaseCandidates(part[:, :width].cpu().numpy(), next_distance)


def _terms_to(terms: BoundTerms, rows, device: torch.device) -> list[torch.Tensor]:
    return [
        numpy_to_torch(part[rows], device, torch.float64)
        for part in (terms.flat, terms.sq_norms, terms.proba, terms.entropy)
    ]


def _torch_lower_bound_block(
    query, reference, weights: BoundWeights
) -> tuple[torch.Tensor, torch.Tensor]:
    """The torch twin of :func:`didi.distance._bounds.lower_bound_block`, and the lower
    bounds of the base distance it adds up."""
    q_flat, q_sq, q_proba, q_entropy = query
    r_flat, r_sq, r_proba, r_entropy = reference
    base = _torch_base_lower(q_flat, q_sq, r_flat, r_sq, weights)
    path = _torch_js_lower(
        q_proba[:, None, :], r_proba[None, :, :], q_entropy[:, None], r_entropy[None, :]
    )
    return base * weights.base + weights.path * path, base


def _torch_base_lower(q_flat, q_sq, r_flat, r_sq, weights: BoundWeights) -> torch.Tensor:
    """Lower bounds of the base distance of every pair, from one product."""
    product = q_flat @ r_flat.T
    if weights.metric == "euclidean":
        # (‖q‖² + ‖r‖²) − 2·q·r in place, with the rounding of the expression itself.
        base = (q_sq[:, None] + r_sq[None, :]).sub_(product.mul_(2.0))
        del product
        base.clamp_(min=0.0).sqrt_()
        norms = q_sq.sqrt().clamp(min=weights.reference_norm)
        base -= (weights.margin_factor * norms)[:, None]
    else:
        base = product.neg_().add_(1.0).sub_(1e-12)  # 1 − q·r − 1e-12, in place
    return base.clamp_(min=0.0)


def _torch_js_lower(p, q, p_entropy, q_entropy) -> torch.Tensor:
    """Jensen-Shannon distances of ``p`` and ``q`` (broadcast, classes last) from
    their entropies, less :data:`JS_MARGIN`."""
    mixed = (p + q) * 0.5
    terms = torch.where(mixed > 0, mixed * torch.log(mixed), 0.0)
    divergence = -terms.sum(dim=-1) - 0.5 * p_entropy - 0.5 * q_entropy
    path = divergence.clamp_(0.0, JS_MAX**2).sqrt_() - JS_MARGIN
    return path.clamp_(min=0.0)
