"""Exact linear pieces and decision-boundary crossings along straight segments.

The DiDi distance samples the classifier at ``n_steps`` interior points of the
segment between two samples. For a piecewise-linear network the segment's exact
pieces are computable (the one-dimensional case of :class:`PlanarSlice`), and with
them every class change along it and the path length at any resolution, with no
further network call: this says how much ``n_steps`` points miss.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.special import softmax

from ..distance._divergence import js_distance
from ._geometry import class_scores
from ._pieces import Intervals
from ._trace import PartitionRunner, trace_network, unwrap_network

#: Resolution of the reference path length: this many steps, plus every kink.
_FINE_STEPS = 4096


@dataclass(frozen=True)
class ExactPath:
    """The straight path ``x(t) = start + t·(end − start)``, ``t ∈ [0, 1]``, cut into exact pieces.

    Attributes
    ----------
    knots : ndarray of shape (n_pieces + 1,)
        Where the pieces begin and end, from 0 to 1: every kink of a unit on the
        segment and every class change.
    scores : ndarray of shape (n_pieces, 2, n_outputs)
        The network's scores (before a final softmax) on each piece, an affine
        function of ``t`` given by its values at ``t = 0`` and ``t = 1``.
    classes : ndarray of shape (n_pieces,)
        The index of the predicted class on each piece.
    """

    knots: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    @property
    def crossings(self) -> np.ndarray:
        """Positions ``t`` where the predicted class changes."""
        return self.knots[1:-1][self.classes[1:] != self.classes[:-1]]

    def _pieces_at(self, t: np.ndarray) -> np.ndarray:
        """Which piece each position ``t`` lies in (a knot belongs to the piece it starts)."""
        return np.clip(np.searchsorted(self.knots, t, side="right") - 1, 0, len(self.classes) - 1)

    def scores_at(self, t: Any) -> np.ndarray:
        """The network's scores at positions ``t`` (computed from the pieces)."""
        t = np.asarray(t, dtype=np.float64)
        piece = self._pieces_at(t)
        start, end = self.scores[piece, 0], self.scores[piece, 1]
        return start + t[:, None] * (end - start)

    def probabilities_at(self, t: Any) -> np.ndarray:
        """Softmax of the scores (sigmoid, as two columns, for a single output)."""
        return softmax(class_scores(self.scores_at(t)), axis=1)

    def predict(self, t: Any) -> np.ndarray:
        """The predicted class index at positions ``t``."""
        return self.classes[self._pieces_at(np.asarray(t, dtype=np.float64))]

    def missed_crossings(self, n_steps: int) -> int:
        """Class changes that ``n_steps`` equidistant interior points (plus the ends) do not see.

        Between two consecutive sample points the path crosses the decision
        boundary ``m`` times; the samples see one change if their classes differ and
        none otherwise, so ``m − [classes differ]`` crossings go unseen there.
        """
        t = np.linspace(0.0, 1.0, n_steps + 2)
        seen = self.predict(t)
        exact = np.histogram(self.crossings, bins=t)[0]
        return int((exact - (seen[1:] != seen[:-1])).sum())

    def path_length(self, n_steps: int | None = None) -> float:
        """DiDi path length ``Σ d_JS(f(p_{k−1}), f(p_k))`` from the exact scores.

        ``n_steps`` interior points as :class:`~didi.FisherJSMetric` samples them;
        ``None``: 4,096 steps with every kink added, the length the sampled one
        converges to.
        """
        if n_steps is None:
            t = np.union1d(np.linspace(0.0, 1.0, _FINE_STEPS + 1), self.knots)
        else:
            t = np.linspace(0.0, 1.0, n_steps + 2)
        proba = self.probabilities_at(t)
        return float(js_distance(proba[:-1], proba[1:]).sum())


def exact_paths(
    module: Any,
    starts: Any,
    ends: Any,
    *,
    input_shape: tuple[int, ...] | None = None,
    device: Any = None,
    tolerance: float = 1e-12,
    memory_limit: int = 1 << 30,
) -> list[ExactPath]:
    """The exact pieces of a piecewise-linear network along straight segments.

    Parameters
    ----------
    module : torch.nn.Module or didi.torch.TorchClassifier
        As for :class:`PlanarSlice`.
    starts, ends : array-like
        The segments' end points, shape ``(n_paths, n_features)`` or
        ``(n_paths, *input_shape)``.
    input_shape : tuple of int, default=None
        Shape of one input as the module takes it; ``None``: the
        ``TorchClassifier``'s, or the rows' own shape.
    device : str or torch.device, default=None
        Where to compute; ``None``: where the module's parameters are.
    tolerance : float, default=1e-12
        Shortest piece (in ``t``) a cut may leave.
    memory_limit : int, default=1_073_741_824
        Bytes of layer values held at once.

    Returns
    -------
    list of ExactPath
        One per segment, all computed together in one pass through the network.

    Examples
    --------
    >>> import torch
    >>> from didi.exact import exact_paths
    >>> net = torch.nn.Sequential(torch.nn.Linear(1, 2), torch.nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
    ...     _ = net[0].bias.zero_()
    >>> path = exact_paths(net, [[-1.0]], [[1.0]])[0]
    >>> path.crossings  # class 1 (the second unit) wins left of 0, class 0 right of it
    array([0.5])
    """
    network = unwrap_network(module, device)
    shape = input_shape or network.input_shape
    starts, ends = np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)
    if (
        starts.shape != ends.shape
        or starts.ndim < 2
        or not np.isfinite(starts).all()
        or not np.isfinite(ends).all()
    ):
        raise ValueError(
            "starts and ends must be finite arrays of the same shape (n_paths, ...); "
            f"got {starts.shape} and {ends.shape}."
        )
    shape = tuple(shape) if shape is not None else starts.shape[1:]
    device = network.device
    n_paths = len(starts)
    if n_paths == 0:
        return []
    reference = np.stack([starts.reshape(n_paths, -1), ends.reshape(n_paths, -1)], axis=1)
    inputs = torch.as_tensor(reference.reshape(2 * n_paths, *shape), device=device)
    runner = PartitionRunner(
        trace_network(network.module, device), 2, tolerance, memory_limit, False
    )
    zero = torch.zeros(n_paths, dtype=torch.float64, device=device)
    partition = runner.run(Intervals(zero, zero + 1.0), inputs)
    return _per_path(partition, n_paths)


def _per_path(partition, n_paths: int) -> list[ExactPath]:
    low = partition.pieces.low.cpu().numpy()
    high = partition.pieces.high.cpu().numpy()
    order = np.lexsort((low, partition.sources.cpu().numpy()))
    sources = partition.sources.cpu().numpy()[order]
    scores = partition.outputs.cpu().numpy()[order]
    classes = partition.classes.cpu().numpy()[order]
    bounds = np.searchsorted(sources, np.arange(n_paths + 1))
    paths = []
    for first, last in itertools.pairwise(bounds):
        knots = np.append(low[order][first:last], high[order][last - 1])
        paths.append(ExactPath(knots, scores[first:last], classes[first:last]))
    return paths
