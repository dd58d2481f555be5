"""PlanarSlice: the exact linear regions and decision boundary of a network on a plane."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._validation import BOOLEAN, NONE, Interval, Satisfies, validate_params
from ._geometry import (
    affine_at,
    class_scores,
    decision_segments,
    locate,
    padded_extent,
    plane_basis,
    tied_kink_segments,
)
from ._pieces import Polygons
from ._trace import Partition, PartitionRunner, trace_network, unwrap_network

#: Relative tolerance of the tie test on decision-boundary edges.
_TIE_TOLERANCE = 1e-7


def _is_module(value: Any) -> bool:
    return isinstance(value, torch.nn.Module) or isinstance(
        getattr(value, "module", None), torch.nn.Module
    )


def _is_extent(value: Any) -> bool:
    try:
        u0, u1, v0, v1 = (float(x) for x in value)
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite([u0, u1, v0, v1]).all() and u0 < u1 and v0 < v1)


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(
        isinstance(n, Integral) and not isinstance(n, bool) and int(n) > 0 for n in value
    )


class PlanarSlice(BaseEstimator):
    """The exact partition of a plane through input space by a piecewise-linear network.

    A network made of continuous piecewise-linear layers (linear, convolution, batch
    norm in eval mode, average and max pooling, ReLU and leaky ReLU, residual
    additions) is affine on each of finitely many convex *linear regions* of any
    plane through its input space. ``fit`` computes them exactly, as polygons, layer
    by layer: a unit whose pre-activation (affine on a region) changes sign inside a
    region cuts it in two along a line; a max pooling cuts where its window's
    maximum changes hands. Inside each linear region the logits are affine, so the
    decision boundary is a set of line segments, found by one last cut. Nothing is
    sampled: this is SplineCam's method (Humayun et al., CVPR 2023), vectorised in
    PyTorch in float64 on the module's device.

    The plane is given by three samples (``anchors``: it passes through all three)
    or by an ``origin`` and two ``directions``. Its coordinates ``(u, v)`` are
    Euclidean lengths in input space along an orthonormal basis (Gram-Schmidt of the
    directions, the first one first), so the pictures are not distorted; the origin
    is ``(0, 0)``.

    Parameters
    ----------
    module : torch.nn.Module or didi.torch.TorchClassifier
        The trained network (its ``input_shape``, ``classes`` and ``device`` are used
        when a ``TorchClassifier`` is given). A softmax, log-softmax or sigmoid at the
        very end is allowed and skipped (it does not change the predicted class).
        The module is copied, set to eval mode and run in float64; it is traced with
        ``torch.fx``, so its forward must be a fixed sequence of operations.
    anchors : array-like, default=None
        Three samples the plane passes through, shape ``(3, n_features)`` or
        ``(3, *input_shape)``; the first is the origin.
    origin : array-like, default=None
        With ``directions``, instead of ``anchors``: one sample.
    directions : array-like, default=None
        Two directions spanning the plane, shape ``(2, n_features)`` or
        ``(2, *input_shape)``.
    extent : tuple (u_min, u_max, v_min, v_max), default=None
        The rectangle of the plane to partition. ``None``: the bounding box of the
        anchors (or of the parallelogram ``origin + s·d₁ + t·d₂``, ``s, t ∈ [0, 1]``)
        grown by ``margin``.
    margin : float, default=0.1
        Growth of the default extent on every side, as a share of its larger side.
    input_shape : tuple of int, default=None
        Shape of one input as the module takes it, e.g. ``(1, 28, 28)``. ``None``:
        the ``TorchClassifier``'s, or the anchors' own shape.
    classes : array-like of shape (n_classes,), default=None
        Labels of the outputs; ``0 … n_classes − 1`` (or the ``TorchClassifier``'s)
        when not given. A single output is a binary model's logit: ``[0, 1]``.
    device : str or torch.device, default=None
        Where to compute; ``None``: where the module's parameters are.
    tolerance : float, default=1e-9
        Thinnest piece a cut may leave, relative to the extent's diagonal. Units
        whose kink passes closer than that to a region's corner do not cut it.
    memory_limit : int, default=1_073_741_824
        Bytes of layer values held at once. Regions beyond that are carried through
        the remaining layers in groups, one after the other (same result).
    keep_patterns : bool, default=True
        Keep ``activation_patterns_``: one byte per region and unit, which for a
        large slice of a convolutional network is most of its memory.

    Attributes
    ----------
    origin_ : ndarray of shape (n_features,)
        The input-space point at ``(u, v) = (0, 0)``.
    basis_ : ndarray of shape (2, n_features)
        The orthonormal directions of ``u`` and ``v``.
    anchors_uv_ : ndarray of shape (3, 2) or None
        Plane coordinates of the anchors.
    extent_ : tuple of float
        The partitioned rectangle ``(u_min, u_max, v_min, v_max)``.
    regions_ : list of ndarray of shape (n_vertices, 2)
        The cells of the partition, counter-clockwise: the network's linear regions,
        each further cut along the decision boundary, so that every cell has one
        activation pattern and one predicted class. They tile the extent.
    region_classes_ : ndarray of shape (n_regions,)
        The class predicted everywhere inside each cell.
    region_linear_ids_ : ndarray of shape (n_regions,)
        Which linear region each cell is part of.
    n_linear_regions_ : int
        Number of linear regions of the network on the extent.
    region_scores_ : ndarray of shape (n_regions, 3, n_outputs)
        The network's scores (before a final softmax) on each cell, an affine map
        given by its values at ``(0, 0)``, ``(1, 0)`` and ``(0, 1)``.
    activation_patterns_ : dict
        For every ReLU-like layer (keyed by its name in the traced module), whether
        each unit is active on each cell, shape ``(n_regions, *unit_shape)``; for a
        max pooling, the index of the winning input in each window. Empty when
        ``keep_patterns=False``.
    boundary_ : ndarray of shape (n_segments, 2, 2)
        The decision boundary as line segments in plane coordinates.
    boundary_classes_ : ndarray of shape (n_segments, 2)
        The classes on either side of each segment.
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    See Also
    --------
    didi.exact.exact_paths : The same on straight segments between samples.
    didi.plotting.PlanarSliceDisplay : Draw the partition and the boundary.

    Notes
    -----
    The number of linear regions grows quickly with a network's width and the size
    of the extent (every kink of every unit is a line through the plane), and so do
    time and memory. Cuts are exact up to float64 rounding; no cell thinner than
    ``tolerance`` is created.

    Examples
    --------
    >>> import torch
    >>> from didi.exact import PlanarSlice
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    >>> plane = PlanarSlice(net, origin=[0.0, 0.0], directions=[[1.0, 0.0], [0.0, 1.0]],
    ...                     extent=(-2, 2, -2, 2)).fit()
    >>> plane.n_linear_regions_ >= 1, len(plane.regions_) >= plane.n_linear_regions_
    (True, True)
    >>> plane.predict([[0.5, -0.5]]).shape
    (1,)
    """

    _parameter_constraints: ClassVar[dict] = {
        "module": [Satisfies(_is_module, "a torch.nn.Module or a didi.torch.TorchClassifier")],
        "anchors": [NONE, Satisfies(lambda value: np.ndim(value) >= 2, "an array of 3 samples")],
        "origin": [NONE, Satisfies(lambda value: np.ndim(value) >= 1, "an array (one sample)")],
        "directions": [
            NONE,
            Satisfies(lambda value: np.ndim(value) >= 2, "an array of 2 directions"),
        ],
        "extent": [NONE, Satisfies(_is_extent, "(u_min, u_max, v_min, v_max) with min < max")],
        "margin": [Interval(Real, 0, None)],
        "input_shape": [NONE, Satisfies(_is_shape, "a tuple of positive ints")],
        "classes": [NONE, Satisfies(lambda value: np.ndim(value) == 1, "a 1-D array of labels")],
        "device": [
            NONE,
            Satisfies(lambda value: isinstance(value, (str, torch.device)), "a device"),
        ],
        "tolerance": [Interval(Real, 0, 1e-3, closed="right")],
        "memory_limit": [Interval(Integral, 1, None)],
        "keep_patterns": [BOOLEAN],
    }

    def __init__(
        self,
        module: Any,
        anchors: Any = None,
        *,
        origin: Any = None,
        directions: Any = None,
        extent: tuple[float, float, float, float] | None = None,
        margin: float = 0.1,
        input_shape: tuple[int, ...] | None = None,
        classes: Any = None,
        device: Any = None,
        tolerance: float = 1e-9,
        memory_limit: int = 1 << 30,
        keep_patterns: bool = True,
    ) -> None:
        self.module = module
        self.anchors = anchors
        self.origin = origin
        self.directions = directions
        self.extent = extent
        self.margin = margin
        self.input_shape = input_shape
        self.classes = classes
        self.device = device
        self.tolerance = tolerance
        self.memory_limit = memory_limit
        self.keep_patterns = keep_patterns

    def fit(self, X: Any = None, y: Any = None) -> PlanarSlice:
        """Compute the linear regions and the decision boundary on the extent.

        Parameters
        ----------
        X, y : None
            Ignored; the plane is given by the parameters.

        Returns
        -------
        self : PlanarSlice
        """
        validate_params(self)
        network = unwrap_network(self.module, self.device)
        device = network.device
        self._set_plane(network.input_shape)
        graph_module = trace_network(network.module, device)
        u0, u1, v0, v1 = self.extent_
        diagonal = float(np.hypot(u1 - u0, v1 - v0))
        runner = PartitionRunner(
            graph_module, 3, self.tolerance * diagonal, self.memory_limit, self.keep_patterns
        )
        reference = self.origin_ + np.vstack([np.zeros(len(self.origin_)), self.basis_])
        inputs = torch.as_tensor(reference.reshape(3, *self.input_shape_), device=device)
        partition = runner.run(Polygons.box(self.extent_, device), inputs)
        self._keep(partition, diagonal, network.classes)
        return self

    # ------------------------------------------------------------------ using it

    def to_input(self, uv: Any) -> np.ndarray:
        """Input-space samples at plane coordinates ``uv`` (n, 2), in the module's input shape."""
        points = self._check_uv(uv)
        return (self.origin_ + points @ self.basis_).reshape(len(points), *self.input_shape_)

    def apply(self, uv: Any) -> np.ndarray:
        """Index of the cell of ``regions_`` containing each point (on a shared edge, the first)."""
        points = self._check_uv(uv)
        u0, u1, v0, v1 = self.extent_
        slack = self._tolerance_abs
        outside = (points[:, 0] < u0 - slack) | (points[:, 0] > u1 + slack)
        outside |= (points[:, 1] < v0 - slack) | (points[:, 1] > v1 + slack)
        if outside.any():
            raise ValueError(
                f"{int(outside.sum())} point(s) lie outside the partitioned extent {self.extent_}, "
                f"e.g. {points[np.argmax(outside)].tolist()}; fit with a larger extent."
            )
        return locate(points, self._vertices, self._counts, slack)

    def decision_function(self, uv: Any) -> np.ndarray:
        """The network's scores (before a final softmax) at ``uv``, from the cells' affine maps."""
        points = self._check_uv(uv)
        return affine_at(points, self.region_scores_[self._cells(points)])

    def predict(self, uv: Any) -> np.ndarray:
        """The predicted class at ``uv``, read from the cell that contains each point."""
        return self.region_classes_[self._cells(uv)]

    def _cells(self, uv: Any) -> np.ndarray:
        cells = self.apply(uv)
        if (cells < 0).any():  # the cells tile the extent: this would be a bug
            raise RuntimeError(f"No cell contains {int((cells < 0).sum())} point(s) of the extent.")
        return cells

    # ------------------------------------------------------------------ internals

    def _set_plane(self, lent_shape: tuple[int, ...] | None) -> None:
        if (self.anchors is None) == (self.origin is None or self.directions is None):
            given = [n for n in ("anchors", "origin", "directions") if getattr(self, n) is not None]
            raise ValueError(
                "PlanarSlice: give either anchors (three samples) or origin and directions, "
                f"not both and not neither; got {', '.join(given) or 'none of them'}."
            )
        if self.anchors is not None:
            points = _rows(self.anchors, 3, "anchors")
            origin, directions = points[0], points[1:] - points[0]
        else:
            origin = np.asarray(self.origin, dtype=np.float64).ravel()
            directions = _rows(self.directions, 2, "directions")
            points = (
                origin + np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]) @ directions
            )
        if directions.shape[1] != origin.size or not np.isfinite(points).all():
            raise ValueError(
                "PlanarSlice: origin and directions must be finite samples of one size."
            )
        shape = self.input_shape or lent_shape or _sample_shape(self, origin)
        if int(np.prod(shape)) != origin.size:
            raise ValueError(
                f"PlanarSlice: input_shape {tuple(shape)} does not hold a sample of "
                f"{origin.size} values."
            )
        self.input_shape_ = tuple(int(n) for n in shape)
        self.origin_ = origin
        self.basis_ = plane_basis(directions)
        uv = (points - origin) @ self.basis_.T
        uv[0], uv[1, 1] = 0.0, 0.0  # exactly: the origin, and the first direction is u
        self.anchors_uv_ = uv if self.anchors is not None else None
        u0, u1, v0, v1 = self.extent if self.extent is not None else padded_extent(uv, self.margin)
        self.extent_ = (float(u0), float(u1), float(v0), float(v1))

    def _keep(self, partition: Partition, diagonal: float, lent_classes: Any) -> None:
        pieces: Any = partition.pieces  # Polygons
        vertices, counts = pieces.vertices.cpu().numpy(), pieces.counts.cpu().numpy()
        tags = pieces.tags.cpu().numpy()
        scores = partition.outputs.cpu().numpy()
        winners = partition.classes.cpu().numpy()
        classes = self._class_labels(max(2, scores.shape[2]), lent_classes)
        self.classes_ = classes
        self._vertices, self._counts = vertices, counts
        self._tolerance_abs = self.tolerance * diagonal
        self.regions_ = [vertices[i, :n].copy() for i, n in enumerate(counts)]
        self.region_classes_ = classes[winners]
        self.region_linear_ids_ = partition.linear_ids.cpu().numpy()
        self.n_linear_regions_ = int(partition.n_linear)
        self.region_scores_ = scores
        self.activation_patterns_ = {
            p.name: p.winners.reshape(len(counts), *p.unit_shape) for p in partition.patterns
        }
        arrays = (vertices, counts, tags, class_scores(scores), winners, _TIE_TOLERANCE)
        cuts, cut_pairs = decision_segments(*arrays)
        kinks, kink_pairs = tied_kink_segments(*arrays, self._tolerance_abs)
        self.boundary_ = np.concatenate([cuts, kinks])
        self.boundary_classes_ = classes[np.concatenate([cut_pairs, kink_pairs])]

    def _class_labels(self, n_classes: int, lent_classes: Any) -> np.ndarray:
        given = self.classes if self.classes is not None else lent_classes
        if given is None:
            return np.arange(n_classes)
        labels = np.asarray(given)
        if len(labels) != n_classes:
            raise ValueError(f"PlanarSlice: {len(labels)} classes given for {n_classes} outputs.")
        return labels

    def _check_uv(self, uv: Any) -> np.ndarray:
        check_is_fitted(self, "regions_")
        points = np.asarray(uv, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
            raise ValueError(
                f"uv must be finite plane coordinates of shape (n, 2); got shape {points.shape}."
            )
        return points


def _rows(value: Any, n_rows: int, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape[0] != n_rows:
        raise ValueError(f"PlanarSlice: {name} must hold {n_rows} rows; got shape {array.shape}.")
    return array.reshape(n_rows, -1)


def _sample_shape(estimator: PlanarSlice, origin: np.ndarray) -> tuple[int, ...]:
    given = estimator.anchors if estimator.anchors is not None else estimator.origin
    shape = np.shape(given)
    return tuple(shape[1:]) if estimator.anchors is not None else tuple(shape) or (origin.size,)
