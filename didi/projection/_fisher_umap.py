"""``FisherUMAP``: UMAP on DiDi distances, with out-of-sample placement."""

from __future__ import annotations

import time
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from .._base import PrefitClassifierMixin, check_enough_samples, check_samples, forwarded_params
from .._frames import keep_feature_names
from .._resources import local_threads
from .._timing import lap
from .._validation import CLASSIFIER, DICT, NONE, TORCH_DEVICE, Interval, Options, validate_params
from ..distance import FisherJSMetric
from ._torch_layout import check_layout_device
from ._umap import fit_umap, place_points

#: Which distances are computed: the exact k-NN graph, every pair, or chosen by size.
MODES = ("auto", "knn", "dense")


def resolve_mode(mode: str, n_samples: int, n_neighbors: int, scale: str) -> str:
    """``"knn"`` or ``"dense"`` for ``mode="auto"``, as documented in :class:`FisherUMAP`."""
    if mode != "auto":
        return mode
    if scale == "max" or n_samples <= 3 * n_neighbors:
        return "dense"
    return "knn"


class FisherUMAP(
    PrefitClassifierMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Two-dimensional UMAP embedding of samples under the DiDi distance.

    :meth:`fit` computes the DiDi distances of the samples with
    :class:`FisherJSMetric` and embeds them with UMAP; :meth:`transform` places new
    samples into the fitted map without moving the fitted points (at any number of
    fitted points, unlike umap-learn's precomputed ``transform``).

    Parameters
    ----------
    estimator : object, callable or "precomputed"
        A fitted classifier with ``predict_proba`` or a callable
        ``f(X) -> probabilities``; never refitted. ``"precomputed"`` means that
        :meth:`fit` receives a square DiDi distance matrix or a sparse k-NN graph
        (from :meth:`FisherJSMetric.fit_transform`) and :meth:`transform` the
        distances of new samples to the fitted ones (from
        :meth:`FisherJSMetric.transform`).
    lam : float, default=0.65
        Weight of the input-space distance, see :class:`FisherJSMetric`.
    n_steps : int, default=5
        Interior points per path, see :class:`FisherJSMetric`.
    n_neighbors : int, default=30
        UMAP's neighbourhood size, counting each sample itself; :meth:`fit` needs
        more samples than this.
    min_dist : float, default=0.1
        UMAP's minimum distance between embedded points.
    spread : float, default=1.0
        UMAP's scale of embedded points.
    random_state : int, RandomState or None, default=None
        Seed for UMAP and for placing new points. An integer makes results
        reproducible (umap-learn then runs its optimisation on one thread).
    base_metric : {"euclidean", "cosine"}, default="euclidean"
        Input-space distance, see :class:`FisherJSMetric`.
    mode : {"auto", "knn", "dense"}, default="auto"
        ``"knn"`` computes only each sample's exact ``n_neighbors − 1`` nearest
        neighbours (:class:`FisherJSMetric` with ``n_neighbors``), which is all that
        UMAP reads: the same embedding as ``"dense"`` for a small fraction of the
        classifier calls, with memory linear in ``n_samples``. ``"dense"`` computes
        every pair. ``"auto"`` is ``"knn"`` unless ``scale="max"`` (which needs every
        pair) or there are at most ``3 × n_neighbors`` samples.
    scale : {"typical", "max"}, default="typical"
        How the two parts of the distance are scaled, see :class:`FisherJSMetric`.
    n_jobs : int, default=None
        Parallel jobs for path evaluation and candidate ranking (see
        :class:`FisherJSMetric`), and threads for the products of UMAP's spectral
        initial layout of a large graph (the same result for any number).
    memory : str, joblib.Memory or None, default=None
        Cache of classifier work between fits (see :class:`FisherJSMetric`).
    verbose : bool, default=False
        Show progress bars.
    batch_size : int, default=None
        Largest number of rows per classifier call.
    n_epochs : int, default=None
        UMAP's optimisation epochs (``None``: umap-learn's default).
    umap_kwargs : dict, default=None
        Further keyword arguments for ``umap.UMAP``.
    layout_device : str or torch.device, default=None
        Where UMAP's layout is optimised: ``None`` runs umap-learn's own (numba, on
        the CPU); a device (``"cuda"``, ``"cpu"``, ...) runs the same objective on
        the same graph and initial layout in PyTorch there, each epoch's edges at
        once (``pip install "didi[torch]"``). Its layouts are as good by q_kNN and
        trustworthiness, not identical to umap-learn's.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, 2)
        Coordinates of the fitted samples.
    metric_ : FisherJSMetric or None
        The fitted distance (``None`` for ``estimator="precomputed"``).
    umap_ : umap.UMAP
        The fitted UMAP model.
    n_features_in_ : int
        Number of values in one sample (the number of fitted samples for
        ``estimator="precomputed"``).
    timings_ : dict
        Seconds spent computing distances and running UMAP in :meth:`fit`.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from didi import FisherUMAP
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=500).fit(X, y)
    >>> mapper = FisherUMAP(clf, n_neighbors=10, random_state=0).fit(X)
    >>> mapper.embedding_.shape, mapper.transform(X[:3]).shape
    ((150, 2), (3, 2))
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
        random_state: Any = None,
        base_metric: str = "euclidean",
        mode: str = "auto",
        scale: str = "typical",
        n_jobs: int | None = None,
        memory: Any = None,
        verbose: bool = False,
        batch_size: int | None = None,
        n_epochs: int | None = None,
        umap_kwargs: dict | None = None,
        layout_device: Any = None,
    ) -> None:
        self.estimator = estimator
        self.lam = lam
        self.n_steps = n_steps
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.spread = spread
        self.random_state = random_state
        self.base_metric = base_metric
        self.mode = mode
        self.scale = scale
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.umap_kwargs = umap_kwargs
        self.layout_device = layout_device

    _parameter_constraints: ClassVar[dict] = {
        **{
            name: FisherJSMetric._parameter_constraints[name]
            for name in (
                "lam",
                "n_steps",
                "random_state",
                "base_metric",
                "scale",
                "n_jobs",
                "memory",
                "verbose",
                "batch_size",
            )
        },
        "estimator": [CLASSIFIER, Options(("precomputed",))],
        "n_neighbors": [Interval(Integral, 2, None)],
        "min_dist": [Interval(Real, 0, None)],
        "spread": [Interval(Real, 0, None, closed="neither")],
        "mode": [Options(MODES)],
        "n_epochs": [NONE, Interval(Integral, 1, None)],
        "umap_kwargs": [NONE, DICT],
        "layout_device": TORCH_DEVICE,
    }

    @property
    def _precomputed(self) -> bool:
        return isinstance(self.estimator, str) and self.estimator == "precomputed"

    def _make_metric(self, n_samples: int) -> FisherJSMetric:
        knn = resolve_mode(self.mode, n_samples, self.n_neighbors, self.scale) == "knn"
        # UMAP counts each sample among its own neighbours.
        n_neighbors = self.n_neighbors - 1 if knn else None
        return FisherJSMetric(**forwarded_params(self, FisherJSMetric, n_neighbors=n_neighbors))

    def fit(self, X: Any, y: Any = None, *, known_paths: Any = None) -> FisherUMAP:
        r"""Compute DiDi distances of ``X`` and embed them in 2-D.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \*shape)
            Samples, or a square distance matrix for ``estimator="precomputed"``.
        y : None
            Ignored.
        known_paths : object, default=None
            Path lengths known from earlier fits, handed to
            :meth:`FisherJSMetric.fit <didi.FisherJSMetric.fit>`.

        Returns
        -------
        self : FisherUMAP
        """
        validate_params(self)
        if self.layout_device is not None:  # refused now, not after the distances
            check_layout_device(self.layout_device)
        clock = time.perf_counter()
        # Everything is built locally and kept only once UMAP has succeeded: a
        # failed refit must not leave a new metric beside an old embedding.
        if self._precomputed:
            distances = check_precomputed(X)
            check_enough_samples(distances.shape[0], self.n_neighbors, self)
            metric, n_features = None, distances.shape[1]
        else:
            # The metric receives X as given: a DataFrame stays one for the classifier.
            n_samples = len(check_samples(X, min_samples=2))
            check_enough_samples(n_samples, self.n_neighbors, self)
            metric = self._make_metric(n_samples)
            distances = metric.fit_transform(X, known_paths=known_paths)
            n_features = metric.n_features_in_
        check_spread_out(distances)
        timings = {"distances": lap(clock)[0]}
        clock = time.perf_counter()
        model = fit_umap(
            distances,
            n_neighbors=self.n_neighbors,
            min_dist=self.min_dist,
            spread=self.spread,
            n_epochs=self.n_epochs,
            random_state=self.random_state,
            umap_kwargs=self.umap_kwargs,
            layout_device=self.layout_device,
            n_threads=local_threads(self.n_jobs),
        )
        timings["umap"] = lap(clock)[0]
        self.metric_ = metric
        self.n_features_in_ = n_features
        keep_feature_names(self, getattr(metric, "feature_names_in_", None))
        self.umap_ = model
        self.timings_ = timings
        # umap_kwargs={"transform_mode": "graph"} builds the graph only: the
        # projection is fitted once a layout is given (_use_layout).
        if hasattr(model, "embedding_"):
            self.embedding_ = np.asarray(model.embedding_, dtype=np.float64)
        elif hasattr(self, "embedding_"):
            del self.embedding_  # an earlier fit's positions belong to an earlier graph
        return self

    def _use_layout(self, embedding: np.ndarray) -> None:
        """Take ``embedding`` as the fitted samples' positions (a layout computed
        outside umap-learn from ``umap_.graph_``); new samples are placed into it."""
        self.embedding_ = np.asarray(embedding, dtype=np.float64)
        self.umap_.embedding_ = self.embedding_.astype(np.float32)
        # Fitted now: a clone or refit builds a full embedding again.
        kwargs = {k: v for k, v in (self.umap_kwargs or {}).items() if k != "transform_mode"}
        self.umap_kwargs = kwargs or None

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit and return the embedding of ``X``, shape ``(n_samples, 2)``."""
        return self.fit(X).embedding_

    def transform(self, X: Any) -> np.ndarray:
        r"""Place new samples into the fitted map; the fitted points do not move.

        A sample at distance zero from a fitted sample (the same sample) gets that
        sample's fitted position, so ``fit(X).transform(X)`` equals
        ``fit_transform(X)``, as in umap-learn.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features) or (n_new, \*shape)
            New samples, or their ``(n_new, n_fitted)`` DiDi distances to the fitted
            samples for ``estimator="precomputed"``.

        Returns
        -------
        ndarray of shape (n_new, 2)
        """
        check_is_fitted(self, "embedding_")
        validate_params(self)
        # What fit was given decides, not the estimator parameter changed since.
        if self.metric_ is None:
            distances = check_array(X, accept_sparse="csr", ensure_all_finite=True, input_name="X")
            if distances.shape[1] != len(self.embedding_):
                raise ValueError(
                    f"With estimator='precomputed', transform needs distances to the "
                    f"{len(self.embedding_)} fitted samples; got {distances.shape[1]} columns."
                )
            values = distances.data if scipy.sparse.issparse(distances) else distances
            if values.size and values.min() < 0:
                raise ValueError("Precomputed distances must be non-negative.")
        else:
            distances = self.metric_.transform(X)
        return self.transform_distances(distances)

    @property
    def _n_features_out(self) -> int:
        # Names for get_feature_names_out: "fisherumap0", "fisherumap1".
        return 2

    def transform_distances(self, distances) -> np.ndarray:
        """Place new points given their DiDi distances to the fitted points (dense or graph)."""
        return place_points(self.umap_, distances, random_state=self.random_state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        if self._precomputed:
            tags.input_tags.pairwise = True
        return tags


def check_spread_out(distances) -> None:
    """Refuse distances that are all zero: there is nothing to lay out."""
    values = distances.data if scipy.sparse.issparse(distances) else distances
    if values.size == 0 or values.max() == 0:
        raise ValueError(
            "All samples are at distance 0 from one another (identical samples, or "
            "identical predictions with lam=0): there is nothing to lay out."
        )


def check_precomputed(D: Any):
    """Validate a square, non-negative, finite distance matrix or sparse graph."""
    D = check_array(
        D, accept_sparse="csr", ensure_all_finite=True, ensure_min_samples=2, input_name="X"
    )
    if D.shape[0] != D.shape[1]:
        raise ValueError(
            "With estimator='precomputed', fit needs a square distance matrix or graph; "
            f"got shape {D.shape}."
        )
    values = D.data if scipy.sparse.issparse(D) else D
    if values.size and values.min() < 0:
        raise ValueError("Precomputed distances must be non-negative.")
    return D
