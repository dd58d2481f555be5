"""``DecisionMap``: the whole DeepView method as one estimator."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import Bunch, check_array, column_or_1d
from sklearn.utils.validation import check_is_fitted

from .._base import (
    PrefitClassifierMixin,
    check_enough_samples,
    check_sample_shape,
    check_samples,
    forwarded_params,
)
from .._frames import FrameSpec, check_feature_names, feature_names_of, keep_feature_names
from .._memory import cache_key, fingerprint_points, resolve_memory
from .._proba import class_names_of, label_indices, resolve_proba_function
from .._resources import check_grid_memory, local_threads
from .._timing import lap
from .._validation import (
    BOOLEAN,
    CLASSIFIER,
    TORCH_DEVICE,
    Interval,
    Options,
    check_value,
    validate_params,
)
from ..distance import FisherJSMetric
from ..distance._divergence import normalized_entropy
from ..distance._ranking import may_find_base_neighbours
from ..distance._stores import PathLengthStore, SamplePairMemory
from ..inverse import RBFInverse
from ..inverse._rbf_inverse import check_inverse_device
from ..projection import FisherUMAP
from ..projection._torch_layout import check_layout_device
from ..projection._tsne import TSNELayout
from ..projection._umap import place_points
from ._euclidean import (
    EuclideanLayout,
    euclidean_neighbour_graph,
    euclidean_units,
    fit_euclidean_umap,
    may_run_beside,
)
from ._faithfulness import (
    MAX_ROUND_TRIPS,
    data_radius,
    gradient_summary,
    inverse_gradient,
    round_trip_labels,
)
from ._grid import classify_grid, classify_grid_adaptive, grid_axes
from ._layers import BOUNDARY_METHODS, LAYERS, compute_map_layers, layer_attribute
from ._quality import (
    LAM_CANDIDATES,
    LAYER_SCORE_NAMES,
    SCORING_NAMES,
    agreement,
    choose_lam,
    holdout_split,
    knn_accuracy,
    loo_knn_accuracy,
    quality_scores,
)
from ._streaming import warm_start_positions

#: Layouts of the DiDi graph.
EMBEDDERS = ("umap", "tsne")

#: How the grid's cells are classified.
GRIDS = ("full", "adaptive")

#: Centres of π⁻¹ with ``n_centers="auto"``.
AUTO_MAX_CENTERS = 3000


class DecisionMap(
    PrefitClassifierMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """A classifier's decision function drawn as a map behind a 2-D scatter plot.

    DeepView (Schulz, Hinder & Hammer, IJCAI 2020) in four steps:

    1. DiDi distances between the samples (:class:`FisherJSMetric`);
    2. UMAP on those distances (:class:`FisherUMAP`): ``embedding_``;
    3. an inverse projection π⁻¹ from 2-D back to input space (:class:`RBFInverse`);
    4. a ``resolution × resolution`` grid over the embedding, mapped through π⁻¹ and
       classified: predicted class, probabilities and certainty per cell.

    It also computes the paper's quality scores (``scores_``): ``q_knn`` and
    ``q_knn_e`` (leave-one-out 5-NN accuracy of the classifier's labels in this
    embedding and in a Euclidean UMAP embedding), ``q_data`` and ``q_not_data``
    (agreement of ``f(π⁻¹(y_i))`` with ``f(x_i)`` on the points π⁻¹ was fitted to and
    on a held-out ``holdout`` fraction). The scores are measured with a π⁻¹ fitted
    to the non-held-out points, as in the paper; the map itself (``inverse_`` and
    the grid) uses a π⁻¹ fitted to all points.

    Parameters
    ----------
    estimator : object or callable
        A fitted classifier with ``predict_proba`` (scikit-learn estimator or
        Pipeline, skorch, scikeras, ...) or a callable ``f(X) -> probabilities``.
        It is only queried: never refitted, and shared (not copied) by
        :func:`~sklearn.base.clone`.
    lam : float or "auto", default=0.65
        Weight ``λ`` of the input-space distance in the DiDi distance, in
        ``[0, 1]``. Smaller values pull points into their predicted classes' clusters;
        ``1`` ignores the classifier. ``"auto"`` follows the paper (section 5.2):
        the projection is fitted at λ = 0.2, 0.3, …, 0.8 and the largest λ whose
        ``q_knn`` is within one percentage point (0.01) of the best is used
        (``lam_``, with every λ's ``q_knn`` in ``lam_scores_``). The path lengths
        found at one λ are reused at the others, so the search costs the union of
        the neighbourhoods' paths and seven layouts, not seven fits; the chosen
        λ's projection is the map's. :meth:`add_samples` keeps the λ chosen.
    n_steps : int, default=5
        Interior points per path when measuring how the prediction changes
        between two samples (the paper's ``n``).
    n_neighbors : int, default=30
        UMAP's neighbourhood size.
    min_dist : float, default=0.1
        UMAP's minimum distance between embedded points.
    spread : float, default=1.0
        UMAP's scale of embedded points.
    a : float, default=500
        Sharpness of π⁻¹, divided by the embedding's mean range (see
        :class:`RBFInverse`). Larger is more local.
    b : float, default=1
        Exponent of π⁻¹'s weights.
    resolution : int, default=100
        Grid cells per axis.
    holdout : float, default=0.3
        Fraction of the points held out of π⁻¹'s fit to measure ``q_not_data``, in
        ``[0, 1)``; ``0`` skips it (``q_not_data`` is then ``nan``).
    scoring : {"q_not_data", "q_data", "q_knn", "q_knn_e"}, default="q_not_data"
        The score returned by :meth:`score`.
    random_state : int, RandomState or None, default=None
        Seed for UMAP, the placement of new points and the hold-out split.
    base_metric : {"euclidean", "cosine"}, default="euclidean"
        Input-space part of the DiDi distance.
    mode : {"auto", "knn", "dense"}, default="auto"
        Which distances are computed (see :class:`FisherUMAP`): ``"knn"`` only each
        sample's exact nearest neighbours, which give UMAP the same input as the
        dense matrix at a small fraction of the classifier calls and with memory
        linear in ``n_samples``; ``"dense"`` every pair, refused with a
        :class:`MemoryError` when it would not fit. ``"auto"`` is ``"knn"`` for
        more than ``3 × n_neighbors`` samples (unless ``scale="max"``).
    scale : {"typical", "max"}, default="typical"
        How the two parts of the DiDi distance are scaled (see
        :class:`FisherJSMetric`); ``"max"`` reproduces the reference
        implementation and needs ``mode="dense"``.
    n_centers : int or "auto", default="auto"
        Centres of π⁻¹ (see :class:`RBFInverse`): ``"auto"`` uses every sample up
        to 3,000 and a random 3,000 beyond, which bounds its memory and fit time.
    alpha : float, default=0.03
        Relative ridge strength of π⁻¹'s fit (see :class:`RBFInverse`).
    margin : float, default=0.05
        Extra space around the embedding covered by the grid, as a fraction of
        its extent on each side.
    n_jobs : int, default=None
        Parallel jobs for path evaluation, through joblib (a dask or ray backend
        set with ``joblib.parallel_config`` spreads them over a cluster), and
        threads for ranking neighbour candidates and measuring base distances (see
        :class:`FisherJSMetric`), for π⁻¹'s weights (see :class:`RBFInverse`) and
        for the products of UMAP's spectral initial layouts of large graphs.
        Results do not depend on it.
    memory : str, path, joblib.Memory or None, default=None
        Where to cache work between fits: the projection (distances and UMAP), the
        Euclidean UMAP behind ``q_knn_e`` and every path length. A grid search over
        ``a``, ``b``, ``alpha`` or ``resolution`` then recomputes only π⁻¹ and the
        grid; one over ``lam`` only the paths it has not evaluated yet. The
        classifier is recognised by its pickle and by its probabilities of the
        samples and of 16 fixed points between them, which each fit computes
        (``n_samples + 16`` rows); ``joblib.Memory(location).clear()`` forgets
        everything. With
        ``random_state=None`` a cached (random) embedding is reused as it is.
    verbose : bool, default=False
        Show progress bars on the long stages.
    batch_size : int, default=None
        Largest number of rows per classifier call.
    n_epochs : int, default=None
        UMAP's optimisation epochs.
    umap_kwargs : dict, default=None
        Further keyword arguments for ``umap.UMAP``.
    layout_device : str or torch.device, default=None
        Where UMAP's layout is optimised: ``None`` runs umap-learn's own (numba, on
        the CPU); a device (``"cuda"``, ``"cpu"``, ...) runs the same objective on
        the same graph and initial layout in PyTorch there, each epoch's edges at
        once (``pip install "didi[torch]"``). Its layouts (the Euclidean one behind
        ``q_knn_e`` too) are as good by q_kNN and trustworthiness, not identical to
        umap-learn's.
    inverse_device : str or torch.device, default=None
        Where π⁻¹'s weights and their products are computed (:class:`RBFInverse`'s
        ``device``), in :meth:`fit` (the "inverse" stage: two fits of π⁻¹ over the
        samples, and the grid) and in every later use of π⁻¹: ``None`` in NumPy on
        the CPU; a PyTorch device in float64 there, meant for a GPU and large maps.
        The map is the same up to rounding, not to the bit; a map fitted with a GPU
        maps on a machine without one after ``set_params(inverse_device=None)``.
    embedder : {"umap", "tsne"}, default="umap"
        The layout of the DiDi graph: UMAP's, or scikit-learn's Barnes-Hut t-SNE of
        the exact DiDi k-NN graph (``mode="auto"`` is then always ``"knn"``), at the
        largest perplexity the graph's ``n_neighbors − 1`` neighbours support,
        ``(n_neighbors − 2) / 3`` (raise ``n_neighbors`` for a larger one). t-SNE has
        no map for new samples: :meth:`transform` places them with UMAP's objective
        on their DiDi neighbours, against the fixed t-SNE layout, and
        :meth:`add_samples` starts t-SNE from the current layout.
    grid : {"full", "adaptive"}, default="full"
        How the grid's cells are classified: every cell at its π⁻¹; or
        ``"adaptive"``, every 8th row and column first, then only blocks whose
        corners disagree on the class or on its certainty (normalised entropies more
        than 0.2 apart), halving them down to single cells; the other cells are
        interpolated bilinearly between their block's corners (same class). At
        resolution 256 this classified 7.8× (digits) and 6.5× (Fashion-MNIST)
        fewer cells, with labels identical to the full grid's on 100 % and
        99.995 % of cells (``benchmarks/bench_adaptive_grid.py``); the saving grows
        with the resolution. Regions of one class that fall between the coarse
        cells can be missed; ``grid_evaluated_`` says which cells were classified.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, 2)
        The samples' positions in the map.
    scores_ : dict
        The paper's ``q_knn_e``, ``q_knn``, ``q_data`` and ``q_not_data``, each in
        ``[0, 1]``, and the decision-map literature's (Rodrigues et al. 2019;
        Espadoto et al. 2021; Wang, Machado & Telea 2023):

        * ``acc_m``, map accuracy: share of samples with
          ``argmax f(π⁻¹(π(x_i))) = y_i`` under the map's own π⁻¹ (``nan``
          without ``y``);
        * ``cons_d``, data consistency (DeepVisualInsight's PPR): share with
          ``argmax f(π⁻¹(π(x_i))) = argmax f(x_i)``, under the map's π⁻¹, fitted
          to every sample. ``q_data`` and ``q_not_data`` measure the same
          agreement under a π⁻¹ fitted without the hold-out, on the points it was
          and was not fitted to; without a hold-out ``cons_d`` equals ``q_data``;
        * ``gradient``: mean over the cells of ``G = ‖∂π⁻¹‖_F / r`` by central
          differences at cell spacing, with the grid spanning ``[0, 1]`` on each
          axis and ``r`` the samples' root mean squared distance from their mean,
          so that maps of other scales and resolutions compare: a π⁻¹ crossing
          the data evenly has ``G ≈ 2``; lower is smoother;
        * ``gradient_steep``: share of cells with ``G > 10``, where π⁻¹ tears;
        * ``cons_p`` and ``class_stability``, after :meth:`compute_layers`.
    classes_ : ndarray of shape (n_classes,)
        The classifier's classes (``estimator.classes_`` or ``0 … n_classes−1``).
    proba_ : ndarray of shape (n_samples, n_classes)
        The classifier's probabilities of the samples.
    y_ : ndarray of shape (n_samples,) or None
        True labels given to :meth:`fit`, for display.
    grid_x_, grid_y_ : ndarray of shape (resolution,)
        Cell centres along the two axes.
    grid_proba_ : ndarray of shape (resolution, resolution, n_classes)
        Probabilities at ``π⁻¹`` of each cell; row ``i`` is ``grid_y_[i]``.
    grid_labels_ : ndarray of shape (resolution, resolution)
        Index into ``classes_`` of each cell's predicted class.
    grid_entropy_ : ndarray of shape (resolution, resolution)
        Entropy of each cell's prediction divided by ``log(n_classes)``: 0 is
        certain, 1 uniform. Comparable between maps (never rescaled to the grid).
    grid_evaluated_ : ndarray of bool, shape (resolution, resolution)
        Cells classified at their own π⁻¹ (all, unless ``grid="adaptive"``).
    grid_gradient_ : ndarray of shape (resolution, resolution)
        ‖∂π⁻¹‖ at each cell, in data radii per map width (see ``scores_``).
    grid_consistency_, grid_stability_, grid_boundary_distance_ : ndarray
        Layers of evidence computed on request by :meth:`compute_layers`.
    layer_rows_ : dict
        Classifier rows each layer took (``"consistency"`` made in one run with
        ``"stability"`` is counted under ``"stability"``; DeepFool's passes through a
        PyTorch module are not classifier rows).
    holdout_indices_ : ndarray of int
        The points held out of π⁻¹'s fit for ``q_not_data``.
    projection_ : FisherUMAP
        The fitted projection π.
    inverse_ : RBFInverse
        The fitted inverse π⁻¹ used for the grid.
    euclidean_umap_ : umap.UMAP
        The Euclidean UMAP behind ``q_knn_e``. Up to 20,000 samples it is fitted on
        the exact Euclidean nearest neighbours (what umap-learn's
        ``metric="euclidean"`` computes for small data, without its slow per-pair
        metric calls); beyond, on the samples with umap-learn's own approximate
        neighbour search.
    lam_ : float
        The ``λ`` used: ``lam``, or the one ``lam="auto"`` chose.
    lam_scores_ : dict
        ``q_knn`` at each λ tried by ``lam="auto"`` (empty otherwise).
    timings_ : dict
        Seconds spent in each stage of :meth:`fit`. ``"euclidean"``: building the
        graph and initial layout of the Euclidean UMAP behind ``q_knn_e`` before its
        descent runs beside the other stages (0 where it is fitted in turn, within
        ``"scores"``).
    n_classifier_rows_ : int
        Rows passed to the classifier during :meth:`fit` (work found in
        ``memory`` costs none).

    See Also
    --------
    DecisionMapDisplay : Plot a fitted map.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from didi import DecisionMap
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=500).fit(X, y)
    >>> dmap = DecisionMap(clf, n_neighbors=10, resolution=20, random_state=0).fit(X, y)
    >>> sorted(dmap.scores_)  # doctest: +NORMALIZE_WHITESPACE
    ['acc_m', 'cons_d', 'gradient', 'gradient_steep', 'q_data', 'q_knn', 'q_knn_e',
     'q_not_data']
    >>> dmap.grid_labels_.shape
    (20, 20)
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        lam: float = 0.65,
        n_steps: int = 5,
        n_neighbors: int = 30,
        min_dist: float = 0.1,
        spread: float = 1.0,
        a: float = 500,
        b: float = 1,
        resolution: int = 100,
        holdout: float = 0.3,
        scoring: str = "q_not_data",
        random_state: Any = None,
        base_metric: str = "euclidean",
        mode: str = "auto",
        scale: str = "typical",
        n_centers: int | str = "auto",
        alpha: float = 0.03,
        margin: float = 0.05,
        n_jobs: int | None = None,
        memory: Any = None,
        verbose: bool = False,
        batch_size: int | None = None,
        n_epochs: int | None = None,
        umap_kwargs: dict | None = None,
        embedder: str = "umap",
        grid: str = "full",
        layout_device: Any = None,
        inverse_device: Any = None,
    ) -> None:
        self.estimator = estimator
        self.lam = lam
        self.n_steps = n_steps
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.spread = spread
        self.a = a
        self.b = b
        self.resolution = resolution
        self.holdout = holdout
        self.scoring = scoring
        self.random_state = random_state
        self.base_metric = base_metric
        self.mode = mode
        self.scale = scale
        self.n_centers = n_centers
        self.alpha = alpha
        self.margin = margin
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.umap_kwargs = umap_kwargs
        self.embedder = embedder
        self.grid = grid
        self.layout_device = layout_device
        self.inverse_device = inverse_device

    _parameter_constraints: ClassVar[dict] = {
        **FisherUMAP._parameter_constraints,
        **{name: RBFInverse._parameter_constraints[name] for name in ("a", "b", "alpha")},
        "estimator": [CLASSIFIER],
        "resolution": [Interval(Integral, 2, None)],
        "holdout": [Interval(Real, 0, 0.9)],
        "scoring": [Options(SCORING_NAMES)],
        "n_centers": [Options(("auto",)), Interval(Integral, 1, None)],
        "margin": [Interval(Real, 0, None)],
        "embedder": [Options(EMBEDDERS)],
        "grid": [Options(GRIDS)],
        "lam": [Options(("auto",)), Interval(Real, 0, 1)],
        "inverse_device": TORCH_DEVICE,
    }

    def _make_inverse(self, n_samples: int) -> RBFInverse:
        n_centers = AUTO_MAX_CENTERS if self.n_centers == "auto" else int(self.n_centers)
        centers = n_centers if n_centers < n_samples else None
        return RBFInverse(
            **forwarded_params(self, RBFInverse, n_centers=centers, device=self.inverse_device)
        )

    def fit(self, X: Any, y: Any = None) -> DecisionMap:
        r"""Embed ``X``, fit π⁻¹, compute the grid and the quality scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \*shape)
            Samples to show, in the shape the classifier accepts.
        y : array-like of shape (n_samples,), default=None
            True labels: they colour the points in :class:`DecisionMapDisplay` and
            give the map accuracy ``acc_m``; nothing else depends on them.

        Returns
        -------
        self : DecisionMap
        """
        validate_params(self)
        self._check_devices()
        names, frame = feature_names_of(X), FrameSpec.of(X)
        X = check_samples(X, min_samples=4 if self.holdout > 0 else 3)
        y = self._check_labels(y, len(X))
        return self._fit(
            X, y, ids=np.arange(len(X)), pairs=SamplePairMemory(), frame=frame, names=names
        )

    def _check_devices(self) -> None:
        """Refuse a device that cannot run now, not after the distances."""
        if self.layout_device is not None:
            check_layout_device(self.layout_device)
        check_inverse_device(self.inverse_device, "inverse_device")

    def _check_labels(self, y: Any, n_samples: int) -> np.ndarray | None:
        if y is None:
            return None
        y = column_or_1d(y, warn=True)
        if len(y) != n_samples:
            raise ValueError(f"y has {len(y)} labels for {n_samples} samples.")
        return y

    def _fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None,
        *,
        ids: np.ndarray,
        pairs: SamplePairMemory,
        frame: FrameSpec | None,
        names: np.ndarray | None,
        init: np.ndarray | None = None,
        layout: Callable[[Any], np.ndarray] | None = None,
        euclidean_umap: Any = None,
        lam: float | None = None,
    ) -> DecisionMap:
        """The work of :meth:`fit` and :meth:`add_samples`: the method's four steps.

        ``ids`` name the samples lastingly, so that ``pairs`` can hand back path
        lengths between samples already seen; ``frame`` says how the classifier
        receives them (``names`` become ``feature_names_in_``); ``init`` starts
        UMAP's layout. ``layout`` replaces UMAP's layout: it receives the fitted
        projection (its UMAP built as a graph only) and returns the positions; with
        ``embedder="tsne"`` it is t-SNE's. ``euclidean_umap`` is
        the Euclidean UMAP behind ``q_knn_e`` where it is already known (it does not
        depend on the classifier). ``lam`` fixes λ where ``lam="auto"`` chose it before.
        """
        check_enough_samples(len(X), self.n_neighbors, self)
        # Up front with the classes the classifier names (at least two), exactly once
        # the distances are known: before minutes of work, and before the grid.
        known_classes = len(getattr(self.estimator, "classes_", ()))
        check_grid_memory(self.resolution, max(2, known_classes), "DecisionMap")
        proba_fn = resolve_proba_function(self.estimator, self.batch_size, X.shape[1:], frame)
        timings: dict[str, float] = {}
        # Steps 1 and 2: DiDi distances and their UMAP.
        if layout is None and self.embedder == "tsne":
            layout = TSNELayout(init, self.random_state, self.n_jobs)
        embed = _Embedding(self, X, frame, proba_fn, pairs, ids, init, layout)
        euclidean = self._euclidean_layout(X, euclidean_umap)
        if not may_find_base_neighbours(len(X), self.estimator):  # else it waits for them
            euclidean.start()
        projection, cached, lam, lam_scores = self._embed(embed, lam, timings)
        metric = _distances_of(projection)
        neighbours = getattr(metric, "base_knn_indices_", None)
        euclidean.start(neighbours)
        embedding, proba = projection.embedding_, metric.proba_fit_
        check_grid_memory(self.resolution, proba.shape[1], "DecisionMap")
        clock = time.perf_counter()
        # Step 3: π⁻¹.
        inverse, back, map_back, train, held_out = self._invert(X, embedding, proba_fn)
        timings["inverse"], clock = lap(clock)
        # Step 4: the grid, classified at π⁻¹ of every cell.
        grid_x, grid_y = grid_axes(embedding, self.resolution, self.margin)
        grid_proba, evaluated = self._classify_grid(proba_fn, inverse, grid_x, grid_y)
        timings["grid"], clock = lap(clock)
        euclidean_umap = euclidean.result(neighbours)
        timings["euclidean"] = euclidean.start_seconds
        classes = class_names_of(self.estimator, proba.shape[1])
        scores = {
            **quality_scores(
                embedding, euclidean_umap.embedding_, proba.argmax(axis=1), back, train, held_out
            ),
            **round_trip_labels(
                proba.argmax(axis=1), map_back, None if y is None else label_indices(y, classes)
            ),
        }
        timings["scores"], clock = lap(clock)
        gradient = inverse_gradient(inverse.inverse_transform, grid_x, grid_y, data_radius(X))
        scores.update(gradient_summary(gradient))
        timings["gradient"] = lap(clock)[0]

        self.projection_, self.inverse_, self.euclidean_umap_ = projection, inverse, euclidean_umap
        self.embedding_, self.proba_, self.y_ = embedding, proba, y
        self.classes_ = classes
        self.holdout_indices_ = held_out
        self.grid_x_, self.grid_y_, self.grid_proba_ = grid_x, grid_y, grid_proba
        self.grid_labels_, self.grid_evaluated_ = grid_proba.argmax(axis=-1), evaluated
        self.grid_entropy_ = normalized_entropy(grid_proba)
        for name in LAYERS:  # layers of an earlier grid are not this one's
            self.__dict__.pop(layer_attribute(name), None)
        self.grid_gradient_, self.layer_rows_ = gradient, {"gradient": 0}
        self.scores_, self.timings_ = scores, timings
        self.lam_, self.lam_scores_ = lam, lam_scores
        distance_rows = 0 if cached else metric.n_classifier_rows_
        self.n_classifier_rows_ = embed.search_rows + distance_rows + proba_fn.n_rows
        self.sample_shape_ = metric.sample_shape_
        self.n_features_in_ = metric.n_features_in_
        self.sample_ids_ = ids
        self._sample_pairs = pairs
        self._frame = frame
        keep_feature_names(self, names)
        return self

    def _embed(self, embed: _Embedding, lam: float | None, timings: dict):
        """Steps 1 and 2 at ``lam``, or at the λ that ``lam="auto"`` chooses where
        ``lam`` is not given: the projection, whether ``memory`` served it, the λ and
        ``q_knn`` by λ searched."""
        if self.lam == "auto" and lam is None:
            lam, lam_scores, (projection, cached) = embed.choose_lam(timings)
            return projection, cached, lam, lam_scores
        lam = self.lam if lam is None else lam
        lam_scores = getattr(self, "lam_scores_", {}) if self.lam == "auto" else {}
        return *embed(lam, timings), lam, lam_scores

    def _classify_grid(self, proba_fn, inverse: RBFInverse, grid_x, grid_y):
        """Step 4: the probabilities at every cell, and which cells were classified."""
        if self.grid == "adaptive":
            return classify_grid_adaptive(proba_fn, inverse, grid_x, grid_y)
        proba = classify_grid(proba_fn, inverse, grid_x, grid_y, verbose=self.verbose)
        return proba, np.ones(proba.shape[:2], dtype=bool)

    def _project(
        self,
        X: np.ndarray,
        frame: FrameSpec | None,
        proba_fn,
        known_paths,
        init: np.ndarray | None,
        timings: dict,
        extra_umap_kwargs: dict | None = None,
        lam: float | None = None,
    ) -> tuple[FisherUMAP, bool]:
        """Steps 1 and 2, :class:`FisherUMAP` on ``X``, served by ``memory`` where it can be.

        Samples that came as a DataFrame (``frame``) reach the projection as one, which
        records their columns and hands them on to a classifier that takes them.

        Returns the fitted projection and whether ``memory`` served it.
        """
        clock = time.perf_counter()
        umap_kwargs = {**(self.umap_kwargs or {}), **(extra_umap_kwargs or {})}
        if init is not None:
            umap_kwargs["init"] = init
        projection = FisherUMAP(
            **forwarded_params(
                self,
                FisherUMAP,
                umap_kwargs=umap_kwargs or None,
                mode=self._projection_mode(),
                lam=self.lam if lam is None else lam,
            )
        )
        given = X if frame is None else frame.frame(X)
        memory = resolve_memory(self.memory)
        if memory.location is None:
            projection.fit(given, known_paths=known_paths)
            timings.update(projection.timings_)
            return projection, False
        # The classifier is recognised by its pickle and by its probabilities of
        # the samples and between them (a plain function's pickle is only its name).
        proba = proba_fn(X)
        fingerprint = (proba, proba_fn(fingerprint_points(X), owned=True))
        key = _projection_key(projection, cache_key(self.estimator, X, fingerprint))
        fit_projection = memory.cache(_fit_projection, ignore=["projection", "known_paths"])
        cached = fit_projection.check_call_in_cache(projection, key, given, known_paths)
        projection = fit_projection(projection, key, given, known_paths)
        if not cached:
            timings.update(projection.timings_)
            return projection, False
        timings["cached projection"] = lap(clock)[0]
        # The cached fit's path lengths are in memory's store: known by sample id
        # from now on, so that add_samples need not evaluate them again.
        stored = PathLengthStore(memory, self.estimator, X, fingerprint, self.n_steps)
        known_paths.view(X, proba, proba_fn, self.n_steps).add(*stored.stored_pairs())
        return projection, True

    def _projection_mode(self) -> str:
        """t-SNE lays out the exact DiDi k-NN graph: ``mode="auto"`` is ``"knn"`` for it."""
        if self.embedder != "tsne":
            return self.mode
        if self.mode == "dense":
            raise ValueError(
                "embedder='tsne' lays out the DiDi k-NN graph: use mode='knn' or 'auto'."
            )
        return "knn"

    def _invert(self, X: np.ndarray, embedding: np.ndarray, proba_fn):
        """Step 3: π⁻¹ fitted to every sample, for the map; and for the paper's scores,
        π⁻¹ fitted without the held-out samples.

        Returns the map's π⁻¹; the classifier's labels of ``π⁻¹(π(x_i))`` under the
        scores' π⁻¹ and under the map's (the same without a hold-out); and the
        indices of the samples the scores' π⁻¹ was and was not fitted to.
        """
        train, held_out = holdout_split(len(X), self.holdout, self.random_state)
        scoring_inverse = self._make_inverse(len(train)).fit(embedding[train], X[train])
        back = proba_fn(scoring_inverse.inverse_transform(embedding), owned=True).argmax(axis=1)
        if not len(held_out):
            return scoring_inverse, back, back, train, held_out
        inverse = self._make_inverse(len(X)).fit(embedding, X)
        map_back = proba_fn(inverse.inverse_transform(embedding), owned=True).argmax(axis=1)
        return inverse, back, map_back, train, held_out

    def _euclidean_layout(self, X: np.ndarray, known: Any) -> EuclideanLayout:
        """The Euclidean UMAP behind ``q_knn_e`` (``known``: already fitted): only its
        gradient descent runs beside the DiDi steps, and only where neither can change
        the other (see :class:`EuclideanLayout`)."""
        concurrent = (
            known is None
            and resolve_memory(self.memory).location is None
            and may_run_beside(self.random_state, self.layout_device)  # may start numba
        )
        return EuclideanLayout(partial(self._euclidean_umap, X), concurrent=concurrent, known=known)

    def _euclidean_umap(
        self, X: np.ndarray, neighbours: np.ndarray | None = None, *, later: bool = False
    ):
        """The Euclidean UMAP behind ``q_knn_e``, served by ``memory`` where it can be;
        ``neighbours``: each sample's exact nearest, where the distances found them.
        With ``later``, its layout's descent held back (see :func:`fit_euclidean_umap`),
        not cached."""
        fit = (
            fit_euclidean_umap
            if later
            else resolve_memory(self.memory).cache(fit_euclidean_umap, ignore=["n_threads"])
        )
        return fit(
            X,
            n_neighbors=self.n_neighbors,
            min_dist=self.min_dist,
            spread=self.spread,
            n_epochs=self.n_epochs,
            random_state=self.random_state,
            umap_kwargs=self.umap_kwargs,
            layout_device=self.layout_device,
            neighbours=neighbours,
            later=later,
            n_threads=local_threads(self.n_jobs),
        )

    def add_samples(
        self,
        X: Any,
        y: Any = None,
        *,
        max_samples: int | None = None,
        reuse_paths: bool = True,
    ) -> DecisionMap:
        r"""Add samples to the fitted map and update it; keep at most ``max_samples``.

        The new samples join the mapped ones; beyond ``max_samples`` the oldest are
        dropped. Path lengths between samples already mapped are reused, so only
        pairs involving new samples cost classifier calls, as long as the
        classifier gives the mapped samples, and 16 fixed points between the first
        samples, the same probabilities as before (a model trained further in
        between makes everything be recomputed; ``reuse_paths=False`` forces it). The
        layout starts from the current one (each new sample at the mean position of
        its nearest mapped samples in input space), so that the map does not jump
        around needlessly. π⁻¹, the grid and the scores are recomputed.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features) or (n_new, \*shape)
            New samples, shaped like the mapped ones.
        y : array-like of shape (n_new,), default=None
            Their true labels; needed when the map was fitted with labels.
        max_samples : int, default=None
            Largest number of samples kept (the newest); ``None`` keeps all.
        reuse_paths : bool, default=True
            Reuse the path lengths of the mapped samples where the classifier is
            recognised as the same; ``False`` evaluates every pair anew, for a
            classifier changed in a way its probabilities there cannot show.

        Returns
        -------
        self : DecisionMap
        """
        check_is_fitted(self, "embedding_")
        validate_params(self)
        self._check_devices()
        check_feature_names(self, X)
        X = check_samples(X)
        check_sample_shape(X, self.sample_shape_, self)
        if max_samples is not None:
            check_value(
                "DecisionMap.add_samples",
                "max_samples",
                max_samples,
                [Interval(Integral, self.n_neighbors + 1, None)],
            )
        if (y is None) != (self.y_ is None):
            raise ValueError(
                "The map was fitted with labels and no labels were given for the new "
                "samples, or the other way round: pass y for both or for neither."
            )
        check_value("DecisionMap.add_samples", "reuse_paths", reuse_paths, [BOOLEAN])
        y = self._check_labels(y, len(X))
        # The fit works on a copy of the known path lengths: one that fails or is
        # interrupted leaves the map's own, and the map, as they were.
        pairs = self._sample_pairs.copy()
        if not reuse_paths:
            pairs.forget()
        X_fit = _distances_of(self.projection_).X_fit_
        init = np.vstack([self.embedding_, warm_start_positions(self.embedding_, X_fit, X)])
        X_all = np.concatenate([X_fit, X.astype(X_fit.dtype)])
        y_all = None if y is None else np.concatenate([self.y_, y])
        ids = np.concatenate([self.sample_ids_, self.sample_ids_.max() + 1 + np.arange(len(X))])
        keep = slice(None) if max_samples is None else slice(-max_samples, None)
        return self._fit(
            X_all[keep],
            None if y_all is None else y_all[keep],
            ids=ids[keep],
            pairs=pairs,
            frame=self._frame,
            names=getattr(self, "feature_names_in_", None),
            init=init[keep],
            lam=self.lam_ if self.lam == "auto" else None,
        )

    def compute_layers(
        self,
        layers: Any = None,
        *,
        max_round_trips: int = MAX_ROUND_TRIPS,
        boundary_method: str = "auto",
        n_targets: int = 3,
        n_bisections: int = 10,
    ) -> DecisionMap:
        """Compute per-cell layers of evidence beside ``grid_labels_``; they cost classifier rows.

        Each layer is stored as ``grid_<name>_`` (shape ``(resolution, resolution)``)
        and the rows it took in ``layer_rows_``; ``grid_gradient_`` is always there.
        Refitting the map drops them. Cells are placed a block of up to 2,048 at a
        time; as with umap-learn's ``transform``, whose negative sampling draws from
        one random stream, a cell's placement depends on the cells placed with it.

        * ``"consistency"``: whether the cell's label survives one round trip
          ``p → π(π⁻¹(p))``, with π the map's :meth:`transform` (Wang, Machado & Telea
          2023); its mean is the score ``cons_p``. Costs one placement (DiDi
          distances to the nearest mapped samples) and one row per cell.
        * ``"stability"``: how many successive round trips, up to
          ``max_round_trips``, the label survives (0 where the first changes it);
          its mean is ``class_stability``, and its share above 0 ``cons_p``. Costs up
          to ``max_round_trips`` times what ``"consistency"`` costs, only for cells
          whose label has held so far.
        * ``"boundary_distance"``: Euclidean distance in input space from the cell's
          synthesised sample ``π⁻¹(p)`` to a point the classifier labels
          differently: an upper bound of the distance to its decision boundary.
          ``"bisection"`` (any classifier) bisects the segments to the
          ``n_targets`` nearest mapped samples predicted as another class, to
          ``2^-n_bisections`` of their length, and keeps the nearest change
          (``n_targets · n_bisections`` rows per cell); ``"gradient"`` asks the
          classifier's ``boundary_distances`` (:class:`didi.torch.TorchClassifier`:
          DeepFool on its device), and bisects where it found no crossing;
          ``"auto"`` takes ``"gradient"`` where the classifier offers it. On a map
          with ``grid="adaptive"``, the round trips and the bisection start from
          each cell's label at its own π⁻¹ (the interpolated cells are classified
          for them).

        Parameters
        ----------
        layers : str or list of str, default=None
            Some of ``"consistency"``, ``"stability"``, ``"boundary_distance"``
            (``"gradient"`` is accepted and already computed); ``None`` computes
            all.
        max_round_trips : int, default=10
            Most round trips counted by ``"stability"``.
        boundary_method : {"auto", "bisection", "gradient"}, default="auto"
        n_targets : int, default=3
            Segments bisected per cell by ``"bisection"``.
        n_bisections : int, default=10
            Halvings per segment by ``"bisection"``.

        Returns
        -------
        self : DecisionMap
            With the layers, ``layer_rows_``, and ``cons_p`` and ``class_stability``
            in ``scores_`` where the round trips were made.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.linear_model import LogisticRegression
        >>> from didi import DecisionMap
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LogisticRegression(max_iter=500).fit(X, y)
        >>> dmap = DecisionMap(clf, n_neighbors=10, resolution=10, random_state=0).fit(X, y)
        >>> dmap = dmap.compute_layers(["stability"], max_round_trips=3)
        >>> dmap.grid_stability_.shape, int(dmap.grid_stability_.max()) <= 3
        ((10, 10), True)
        >>> 0 <= dmap.scores_["cons_p"] <= 1
        True
        """
        check_is_fitted(self, "embedding_")
        validate_params(self)
        names = _check_layer_names(layers)
        where = "DecisionMap.compute_layers"
        check_value(where, "max_round_trips", max_round_trips, [Interval(Integral, 1, 100)])
        check_value(where, "boundary_method", boundary_method, [Options(BOUNDARY_METHODS)])
        check_value(where, "n_targets", n_targets, [Interval(Integral, 1, 100)])
        check_value(where, "n_bisections", n_bisections, [Interval(Integral, 1, 60)])
        proba_fn = resolve_proba_function(
            self.estimator, self.batch_size, self.sample_shape_, self._frame
        )
        found, scores, rows = compute_map_layers(
            self,
            names,
            proba_fn,
            max_round_trips=max_round_trips,
            boundary_method=boundary_method,
            n_targets=n_targets,
            n_bisections=n_bisections,
        )
        for name, values in found.items():
            setattr(self, layer_attribute(name), values)
        self.scores_.update(scores)
        self.layer_rows_.update(rows)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit and return ``embedding_``."""
        return self.fit(X, y).embedding_

    def transform(self, X: Any) -> np.ndarray:
        """Place new samples into the map, shape ``(n_new, 2)``; fitted points stay."""
        check_is_fitted(self, "embedding_")
        validate_params(self)
        check_feature_names(self, X)
        return self._place(X)

    def _place(self, X: Any) -> np.ndarray:
        """:meth:`transform` once the columns are checked: samples without column names
        reach the projection, which knows the fitted ones, as a DataFrame of them."""
        if self._frame is not None and not hasattr(X, "columns"):
            samples = check_samples(X)
            if samples.ndim == 2 and samples.shape[1] == len(self._frame.columns):
                X = self._frame.frame(samples)
        return self.projection_.transform(X)

    def probe(self, positions: Any) -> Bunch:
        """What the map says at any 2-D positions: π⁻¹ there, and the classifier's verdict.

        Parameters
        ----------
        positions : array-like of shape (n_positions, 2)
            Positions in the map's coordinates (those of ``embedding_``).

        Returns
        -------
        Bunch
            ``positions`` (n_positions, 2); ``samples``, the synthesised inputs
            π⁻¹(positions) in the samples' shape and dtype; ``proba`` (n_positions,
            n_classes), the classifier's probabilities of those samples; ``labels``,
            the predicted classes (from ``classes_``); ``certainty``,
            ``1 − entropy/log(n_classes)`` in ``[0, 1]``.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.linear_model import LogisticRegression
        >>> from didi import DecisionMap
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LogisticRegression(max_iter=500).fit(X, y)
        >>> dmap = DecisionMap(clf, n_neighbors=10, resolution=10, random_state=0).fit(X, y)
        >>> found = dmap.probe(dmap.embedding_[:2])
        >>> found.samples.shape, found.labels.shape
        ((2, 4), (2,))
        """
        check_is_fitted(self, "embedding_")
        validate_params(self)
        positions = check_array(positions, dtype=np.float64, input_name="positions")
        if positions.shape[1] != 2:
            raise ValueError(
                f"positions must have 2 columns (x, y in the map); got {positions.shape[1]}."
            )
        samples = self.inverse_transform(positions)
        proba_fn = resolve_proba_function(
            self.estimator, self.batch_size, samples.shape[1:], self._frame
        )
        proba = proba_fn(samples)
        return Bunch(
            positions=positions,
            samples=samples,
            proba=proba,
            labels=self.classes_[proba.argmax(axis=1)],
            certainty=1.0 - normalized_entropy(proba),
        )

    def to_html(
        self,
        path: Any,
        *,
        title: str = "Decision map",
        image_shape: tuple[int, ...] | None = None,
        probe_resolution: int = 12,
        familiarity: Any = None,
        duplicates: Any = None,
        label_issues: Any = None,
    ):
        """Write the map as one self-contained web page, to share or open offline.

        The page shows the map with every point; hovering a point shows its index,
        true and predicted label, certainty and its sample (a thumbnail for
        images, the first values otherwise); the wheel zooms and dragging pans;
        clicking a point shows its sample in a side panel, clicking the background
        shows the sample π⁻¹ synthesises at the nearest of ``probe_resolution²``
        precomputed positions. A menu switches the background between the
        predicted class and each layer the map has, with its colour scale: the
        gradient of π⁻¹ always, the others once :meth:`compute_layers` has made
        them. No network is needed to open it.

        Parameters
        ----------
        path : str or path
            File to write.
        title : str, default="Decision map"
            Title of the page.
        image_shape : tuple of int, default=None
            Shape to reshape flat samples to, to show them as images.
        probe_resolution : int, default=12
            Positions per axis where π⁻¹ is precomputed for clicks on the background.
        familiarity, duplicates, label_issues : default=None
            What was found in the data, marked on the page as in
            :meth:`DecisionMapDisplay.from_estimator <didi.DecisionMapDisplay.from_estimator>`,
            each with a switch; hovering a near-duplicate names its twins and joins
            them with lines.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        from ..plotting._findings import Findings
        from ..plotting._html import write_html

        check_is_fitted(self, "embedding_")
        validate_params(self)
        check_value(
            "DecisionMap.to_html",
            "probe_resolution",
            probe_resolution,
            [Interval(Integral, 1, 200)],
        )
        findings = Findings.collect(
            len(self.embedding_),
            familiarity=familiarity,
            duplicates=duplicates,
            label_issues=label_issues,
        )
        return write_html(
            self,
            path,
            title=title,
            image_shape=image_shape,
            probe_resolution=probe_resolution,
            findings=findings,
        )

    def to_projector(
        self,
        directory: Any,
        *,
        vectors: str = "proba",
        image_shape: tuple[int, ...] | None = None,
        familiarity: Any = None,
        duplicates: Any = None,
        label_issues: Any = None,
    ):
        """Write the mapped samples for TensorBoard's embedding projector (no TensorFlow needed).

        ``tensorboard --logdir DIRECTORY`` shows them under "Projector" (its own PCA,
        t-SNE and UMAP of the vectors, coloured and searchable by the metadata); the
        standalone projector loads ``tensors.tsv``, ``metadata.tsv`` and
        ``projector_config.json``. The metadata holds each sample's index, true and
        predicted label and certainty, and what was found about it.

        Parameters
        ----------
        directory : str or path
            Folder to write into (created if needed).
        vectors : {"proba", "embedding", "samples"}, default="proba"
            What the projector lays out: the classifier's probabilities, the map's 2-D
            positions, or the flattened samples.
        image_shape : tuple of int, default=None
            Shape to reshape flat samples to, for the sprite of thumbnails.
        familiarity, duplicates, label_issues : default=None
            What was found in the data, as in :meth:`to_html`: metadata columns.

        Returns
        -------
        pathlib.Path
            The folder.
        """
        from ..plotting._findings import Findings
        from ..plotting._projector import VECTORS, write_projector

        check_is_fitted(self, "embedding_")
        check_value("DecisionMap.to_projector", "vectors", vectors, [Options(VECTORS)])
        findings = Findings.collect(
            len(self.embedding_),
            familiarity=familiarity,
            duplicates=duplicates,
            label_issues=label_issues,
        )
        return write_projector(
            self, directory, vectors=vectors, image_shape=image_shape, findings=findings
        )

    @property
    def _n_features_out(self) -> int:
        # Names for get_feature_names_out: "decisionmap0", "decisionmap1".
        return 2

    def inverse_transform(self, Y: Any) -> np.ndarray:
        """Synthesise input-space samples ``π⁻¹(Y)`` for 2-D positions ``Y``, on the
        ``inverse_device`` named now (a map fitted on a GPU maps on a machine without
        one after ``set_params(inverse_device=None)``)."""
        check_is_fitted(self, "embedding_")
        validate_params(self)
        device = check_inverse_device(self.inverse_device, "inverse_device")
        return self.inverse_._inverse_transform(Y, device)

    def score(self, X: Any, y: Any = None, scoring: str | None = None) -> float:
        r"""A quality score measured on the given samples, placed into the fitted map.

        The samples (held-out ones in cross-validation) are placed with
        :meth:`transform`, then:

        * ``"q_knn"``: accuracy of a 5-NN classifier on the fitted embedding and the
          classifier's labels, predicting the classifier's labels of ``X``;
        * ``"q_knn_e"``: the same in the Euclidean UMAP embedding;
        * ``"q_data"``, ``"q_not_data"`` and ``"cons_d"``: agreement of
          ``f(π⁻¹(π(x)))`` with ``f(x)``. π⁻¹ was not fitted to new samples, so on
          them the three names measure the same thing and give the same value;
        * ``"acc_m"``: agreement of ``f(π⁻¹(π(x)))`` with the true labels ``y``.

        The scores of the map's grid do not depend on ``X``: ``"cons_p"`` and
        ``"class_stability"`` (computed by :meth:`compute_layers` on the first
        request, then kept) and ``"neg_gradient"`` (``−scores_["gradient"]``).

        Higher is better, so :class:`~sklearn.model_selection.GridSearchCV` can tune
        ``lam`` and ``a`` with it.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features) or (n_new, \*shape)
        y : array-like of shape (n_new,), default=None
            True labels, needed by ``"acc_m"`` only; the others take the
            classifier's own labels as the target.
        scoring : str, default=None
            One of ``"q_not_data"``, ``"q_data"``, ``"q_knn"``, ``"q_knn_e"``,
            ``"acc_m"``, ``"cons_d"``, ``"cons_p"``, ``"class_stability"``,
            ``"neg_gradient"``; ``None`` uses the ``scoring`` parameter.

        Returns
        -------
        float
        """
        check_is_fitted(self, "embedding_")
        validate_params(self)
        scoring = self.scoring if scoring is None else scoring
        check_value("DecisionMap.score", "scoring", scoring, [Options(SCORING_NAMES)])
        check_feature_names(self, X)
        given, X = X, check_samples(X)
        check_sample_shape(X, self.sample_shape_, self)
        if scoring in LAYER_SCORE_NAMES:
            if scoring not in self.scores_:
                # cons_p needs one round trip; class_stability all of them.
                self.compute_layers("consistency" if scoring == "cons_p" else "stability")
            return self.scores_[scoring]
        if scoring == "neg_gradient":
            return -self.scores_["gradient"]
        if scoring == "acc_m":
            true_labels = self._check_labels(y, len(X))
            if true_labels is None:
                raise ValueError("scoring='acc_m' compares with the true labels: pass y.")
            true = label_indices(true_labels, self.classes_)
        proba_fn = resolve_proba_function(self.estimator, self.batch_size, X.shape[1:], self._frame)
        labels = proba_fn(X).argmax(axis=1)
        fitted_labels = self.proba_.argmax(axis=1)
        if scoring == "q_knn_e":
            placed = self._place_euclidean(X)
            return knn_accuracy(self.euclidean_umap_.embedding_, fitted_labels, placed, labels)
        placed = self._place(given)
        if scoring == "q_knn":
            return knn_accuracy(self.embedding_, fitted_labels, placed, labels)
        back = proba_fn(self.inverse_transform(placed), owned=True).argmax(axis=1)
        if scoring == "acc_m":
            return agreement(back, true)
        return agreement(back, labels)

    def _place_euclidean(self, X: np.ndarray) -> np.ndarray:
        """Place samples into the Euclidean UMAP behind ``q_knn_e``."""
        model = self.euclidean_umap_
        X_fit = _distances_of(self.projection_).X_fit_
        if model.metric != "precomputed":
            X, _ = euclidean_units(X, X_fit)
            return np.asarray(model.transform(X.reshape(len(X), -1)), dtype=np.float64)
        graph = euclidean_neighbour_graph(
            X, X_fit, model._n_neighbors, n_threads=local_threads(self.n_jobs)
        )
        return place_points(model, graph, random_state=self.random_state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.target_tags.required = False
        return tags


class _Embedding:
    """Steps 1 and 2 of one fit at any ``λ``, sharing path lengths across them: what
    ``lam="auto"`` searches over, and the map's own projection."""

    def __init__(self, owner, X, frame, proba_fn, pairs, ids, init, layout) -> None:
        self.owner, self.X, self.frame, self.proba_fn = owner, X, frame, proba_fn
        self.pairs, self.ids, self.init, self.layout = pairs, ids, init, layout
        self.search_rows = 0

    def __call__(self, lam: float, timings: dict) -> tuple[FisherUMAP, bool]:
        """The projection at ``lam``, laid out by ``layout`` where one is given; and
        whether ``memory`` served it."""
        graph_only = {"transform_mode": "graph"} if self.layout is not None else None
        projection, cached = self.owner._project(
            self.X,
            self.frame,
            self.proba_fn,
            self.pairs.for_samples(self.ids),
            self.init,
            timings,
            graph_only,
            lam,
        )
        if self.layout is not None:
            clock = time.perf_counter()
            projection._use_layout(self.layout(projection))
            timings["layout"] = lap(clock)[0]
        return projection, cached

    def choose_lam(self, timings: dict) -> tuple[float, dict[float, float], tuple]:
        """The paper's recipe (section 5.2): ``q_knn`` at every λ of
        :data:`LAM_CANDIDATES`, and the largest λ within :data:`LAM_TOLERANCE` of the
        best. Every path evaluated at one λ is known at the next.

        Returns the λ, ``q_knn`` by λ, and the chosen λ's projection and whether
        ``memory`` served it (its rows are not in :attr:`search_rows`).
        """
        clock = time.perf_counter()
        found: dict[float, float] = {}
        fitted: dict[float, tuple[FisherUMAP, bool]] = {}
        for lam in LAM_CANDIDATES:
            projection, cached = fitted[lam] = self(lam, {})
            metric = _distances_of(projection)
            self.search_rows += 0 if cached else metric.n_classifier_rows_
            found[lam] = loo_knn_accuracy(projection.embedding_, metric.proba_fit_.argmax(axis=1))
        timings["lam search"] = lap(clock)[0]
        chosen = choose_lam(found)
        projection, cached = fitted[chosen]
        if not cached:  # counted with the map's own distances
            self.search_rows -= _distances_of(projection).n_classifier_rows_
        return chosen, found, (projection, cached)


def _check_layer_names(layers: Any) -> tuple[str, ...]:
    """The layers asked for, as a tuple of known names (``None``: all)."""
    if layers is None:
        return LAYERS
    if isinstance(layers, str):
        layers = (layers,)
    if not isinstance(layers, (list, tuple)):
        raise ValueError(
            f"layers must be a layer's name or a list of them; got {type(layers).__name__}."
        )
    names = tuple(layers)
    unknown = [name for name in names if name not in LAYERS]
    if unknown or not names:
        raise ValueError(f"Unknown layers {unknown}; choose from {list(LAYERS)}.")
    return names


def _distances_of(projection: FisherUMAP) -> FisherJSMetric:
    """The fitted distances of a map's projection (a map never takes precomputed ones)."""
    if projection.metric_ is None:
        raise TypeError("A DecisionMap's projection computes its own distances.")
    return projection.metric_


def _projection_key(projection: FisherUMAP, classifier_and_data: str) -> dict:
    """What determines a projection's result: its parameters (not how it runs), and a
    hash of the classifier and the samples in place of the classifier itself."""
    params = projection.get_params(deep=False)
    for name in ("estimator", "memory", "verbose", "n_jobs", "batch_size"):
        params.pop(name)
    if params["layout_device"] is None:  # keys written before the option still match
        params.pop("layout_device")
    params["classifier_and_data"] = classifier_and_data
    return params


def _fit_projection(projection: FisherUMAP, key: dict, X: Any, known_paths: Any) -> FisherUMAP:
    """Fit ``projection``; cached by ``memory`` under ``key`` and ``X``."""
    return projection.fit(X, known_paths=known_paths)
