"""The free lower bound of the DiDi distance.

Because the Jensen-Shannon distance is a metric and a path is straight, its length
is at least the distance between its end points' predictions:

``d(x, x') ≥ (1 − λ)·d_JS(f(x), f(x'))/s_D + λ·E(x, x')/s_E``

which costs no classifier call once every ``f(x_i)`` is known (:mod:`._ranking`
ranks candidates by it). Blocks of bounds are computed with matrix products; a small
safety margin is subtracted so that rounding (of the product form of the Euclidean
distance, of the entropy form of the Jensen-Shannon divergence) can never push a
bound above the true distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Absolute safety margin on the Jensen-Shannon distance of the entropy form: its
#: squared value loses about 1e-15 to cancellation, its square root about 3e-8.
JS_MARGIN = 1e-7

#: Smallest relative safety margin on Euclidean distances from ``‖a‖² + ‖b‖² − 2a·b``;
#: the rounding of the dot product grows with the dimension ``d`` as ``d·eps``, so
#: the margin is ``max(1e-7, 2·sqrt(d·eps))`` times the larger of the two norms.
_EUCLIDEAN_MARGIN = 1e-7

#: Elements ``(rows × references × classes)`` per block of bounds (about 32 MB).
_BLOCK_ELEMENTS = 1 << 22


@dataclass
class BoundTerms:
    """Everything the bound needs about a set of samples.

    Attributes
    ----------
    flat : ndarray of shape (n, d)
        Flattened samples, centred on the reference mean (Euclidean) or scaled to
        unit length (cosine), in float64.
    sq_norms : ndarray of shape (n,)
        Squared row norms of ``flat``.
    proba : ndarray of shape (n, n_classes)
    entropy : ndarray of shape (n,)
        Shannon entropy of each row of ``proba``.
    cache : dict
        Forms of the terms made once, on first use (the single-precision copy).
    """

    flat: np.ndarray
    sq_norms: np.ndarray
    proba: np.ndarray
    entropy: np.ndarray
    cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class BoundWeights:
    """Weights of the two parts: ``path = (1 − λ)/s_D``, ``base = λ/s_E``."""

    path: float
    base: float
    metric: str
    #: Relative margin subtracted from product-form base distances, times the
    #: larger of the two samples' norms (Euclidean; absolute 1e-12 for cosine).
    margin_factor: float
    #: Largest norm among the reference samples.
    reference_norm: float


def _neg_entropy_terms(mixed: np.ndarray) -> np.ndarray:
    """``m·log m`` elementwise with ``0·log 0 = 0``, in place of ``mixed``.

    Five times faster than ``scipy.special.xlogy`` on the large blocks of bounds.
    """
    logs = np.log(mixed, out=np.zeros_like(mixed), where=mixed > 0)
    mixed *= logs
    return mixed


def bound_terms(X: np.ndarray, proba: np.ndarray, metric: str, centre: np.ndarray) -> BoundTerms:
    """Prepare samples for bounds; ``centre`` is the reference samples' mean (Euclidean)."""
    flat = X.reshape(len(X), -1).astype(np.float64)
    if metric == "euclidean":
        flat -= centre
    else:
        norms = np.linalg.norm(flat, axis=1, keepdims=True)
        flat /= np.where(norms > 0, norms, 1.0)
    return BoundTerms(
        flat=flat,
        sq_norms=np.einsum("ij,ij->i", flat, flat),
        proba=proba,
        entropy=-_neg_entropy_terms(proba.copy()).sum(axis=1),
    )


def bound_weights(
    lam: float, path_scale: float, base_scale: float, metric: str, reference: BoundTerms
) -> BoundWeights:
    """Weights of the bound, with the rounding margin for the samples' dimension."""
    dimension = reference.flat.shape[1]
    factor = max(_EUCLIDEAN_MARGIN, 2.0 * float(np.sqrt(dimension * np.finfo(np.float64).eps)))
    norm = float(np.sqrt(reference.sq_norms.max())) if len(reference.sq_norms) else 0.0
    return BoundWeights(
        path=(1.0 - lam) / path_scale,
        base=lam / base_scale,
        metric=metric,
        margin_factor=factor,
        reference_norm=norm,
    )


def js_block(proba_q: np.ndarray, entropy_q, proba_r: np.ndarray, entropy_r) -> np.ndarray:
    """Jensen-Shannon distances of every pair of rows, ``JS² = H(m) − (H(p) + H(q))/2``."""
    mixed = proba_q[:, None, :] + proba_r[None, :, :]
    mixed *= 0.5
    divergence = -_neg_entropy_terms(mixed).sum(axis=2)
    divergence -= 0.5 * entropy_q[:, None]
    divergence -= 0.5 * entropy_r[None, :]
    np.clip(divergence, 0.0, np.log(2.0), out=divergence)
    return np.sqrt(divergence, out=divergence)


def lower_bound_block(
    query: BoundTerms, rows: np.ndarray, reference: BoundTerms, weights: BoundWeights
) -> np.ndarray:
    """Lower bounds between the query samples ``rows`` and every reference sample."""
    flat = query.flat[rows]
    product = flat @ reference.flat.T
    if weights.metric == "euclidean":
        base = query.sq_norms[rows, None] + reference.sq_norms[None, :] - 2.0 * product
        np.maximum(base, 0.0, out=base)
        np.sqrt(base, out=base)
        norms = np.maximum(np.sqrt(query.sq_norms[rows]), weights.reference_norm)
        base -= (weights.margin_factor * norms)[:, None]
    else:
        # Unit rows (zero samples are refused under cosine before this point).
        base = 1.0 - product
        base -= 1e-12
    np.maximum(base, 0.0, out=base)
    path = js_block(query.proba[rows], query.entropy[rows], reference.proba, reference.entropy)
    path -= JS_MARGIN
    np.maximum(path, 0.0, out=path)
    bound = base
    bound *= weights.base
    bound += weights.path * path
    return bound


def double_block_rows(reference: BoundTerms) -> int:
    """Rows per block of double-precision bounds against ``reference``."""
    n_ref, n_classes = reference.proba.shape
    return max(1, _BLOCK_ELEMENTS // max(1, n_ref * n_classes))


def smallest_bounds(
    query: BoundTerms,
    rows: np.ndarray,
    reference: BoundTerms,
    weights: BoundWeights,
    keep: int,
    exclude_self: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``keep`` references of smallest bound, every bound in double precision."""
    n_ref = len(reference.sq_norms)
    block = double_block_rows(reference)
    parts, values = [], []
    for start in range(0, len(rows), block):
        sub = rows[start : start + block]
        bound = lower_bound_block(query, sub, reference, weights)
        if exclude_self:
            bound[np.arange(len(sub)), sub] = np.inf
        if keep < n_ref:
            part = np.argpartition(bound, keep - 1, axis=1)[:, :keep]
        else:
            part = np.broadcast_to(np.arange(n_ref), bound.shape).copy()
        parts.append(part)
        values.append(np.take_along_axis(bound, part, axis=1))
    return np.concatenate(parts), np.concatenate(values)


def paired_lower_bounds(
    query: BoundTerms,
    index_q: np.ndarray,
    reference: BoundTerms,
    index_r: np.ndarray,
    weights: BoundWeights,
) -> np.ndarray:
    """Lower bounds of the pairs ``(query[index_q[i]], reference[index_r[i]])``."""
    out = np.empty(len(index_q))
    block = max(1, _BLOCK_ELEMENTS // max(1, query.flat.shape[1]))
    for start in range(0, len(index_q), block):
        iq = index_q[start : start + block]
        ir = index_r[start : start + block]
        diff = query.flat[iq] - reference.flat[ir]
        if weights.metric == "euclidean":
            base = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        else:
            base = 1.0 - np.einsum("ij,ij->i", query.flat[iq], reference.flat[ir])
        # From differences, not products: only the last bits can be off.
        base *= 1.0 - 1e-12
        if weights.metric != "euclidean":
            base -= 1e-12
        np.maximum(base, 0.0, out=base)
        path = paired_js_bounds(query, iq, reference, ir)
        out[start : start + len(iq)] = weights.base * base + weights.path * path
    return out


def paired_js_bounds(
    query: BoundTerms, index_q: np.ndarray, reference: BoundTerms, index_r: np.ndarray
) -> np.ndarray:
    """Jensen-Shannon distances of the pairs' predictions, less the rounding margin."""
    p, q = query.proba[index_q], reference.proba[index_r]
    divergence = -_neg_entropy_terms(0.5 * (p + q)).sum(axis=1)
    divergence -= 0.5 * (query.entropy[index_q] + reference.entropy[index_r])
    path = np.sqrt(np.clip(divergence, 0.0, np.log(2.0))) - JS_MARGIN
    return np.maximum(path, 0.0, out=path)
