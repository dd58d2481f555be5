"""``FisherJSMetric``: DiDi distances between samples from any classifier."""

from __future__ import annotations

import time
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._base import (
    PrefitClassifierMixin,
    check_enough_samples,
    check_sample_shape,
    check_samples,
)
from .._frames import FrameSpec, check_feature_names, feature_names_of, keep_feature_names
from .._memory import fingerprint_points, resolve_memory
from .._proba import resolve_proba_function
from .._resources import check_dense_memory, local_threads, progress_bar
from .._timing import lap
from .._validation import (
    CLASSIFIER,
    MEMORY,
    N_JOBS,
    NONE,
    RANDOM_STATE,
    VERBOSE,
    Interval,
    InvalidParameterError,
    Options,
    validate_params,
)
from ._base_distance import (
    SAFE_MAGNITUDE,
    base_distances,
    base_unit,
    check_cosine_rows,
    check_interpolable,
    check_magnitudes,
    combine_distances,
    equal_sample_groups,
    knn_graph,
    paired_base_distances,
    symmetric_base_distances,
)
from ._bounds import bound_terms, bound_weights, paired_lower_bounds
from ._knn import CandidateLists, bound_ordered_knn
from ._paths import parallel_path_lengths, upper_triangle_blocks
from ._ranking import HostRanker
from ._scales import TYPICAL_PATH_SCALE, rms_base_distance
from ._stores import PathLengthStore

#: Input-space distances ``E``.
BASE_METRICS = ("euclidean", "cosine")

#: How the two parts of the distance are scaled.
SCALES = ("typical", "max")

#: Largest number of samples for which ``candidates="auto"`` ranks all pairs by
#: their bound (exact): ``O(n²)`` work that the classifier's GPU does for 70,000
#: samples in seconds, and two CPU cores, pruning in single precision under the
#: Euclidean base metric, in about a minute. Beyond it, nearest-neighbour descent
#: finds the candidates.
EXACT_CANDIDATES_MAX_SAMPLES = 200_000

#: The same on the host under the cosine base metric, where every pair's bound is
#: computed in double precision.
COSINE_EXACT_CANDIDATES_MAX_SAMPLES = 10_000

#: The same where the classifier ranks on its GPU (:class:`didi.torch.TorchClassifier`
#: on CUDA), pruning with the Hellinger bound beyond 10,000 samples: two float64
#: products of every pair, about ``1.6e15`` operations for 1,000,000 images of 784
#: pixels, about a minute on one H100 by its float64 rate.
DEVICE_EXACT_CANDIDATES_MAX_SAMPLES = 1_000_000

#: Candidates per sample for its nearest under the base distance alone, beyond its
#: ``k``: the gap that lets their exact distances certify the ``k`` nearest.
_BASE_SLACK = 8


def _positive_scale(value: float) -> float:
    # A zero maximum (all points predicted alike, or all identical) leaves that part
    # of the distance zero everywhere; any positive scale keeps it zero.
    return float(value) if value > 0 else 1.0


class FisherJSMetric(
    PrefitClassifierMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    r"""Discriminative (Fisher / Jensen-Shannon) distances from any ``predict_proba``.

    The DiDi distance between samples ``x`` and ``x'`` mixes how much the
    classifier's prediction changes along the straight path between them with their
    plain distance in input space:

    ``d(x, x') = (1 − λ)·D(x, x')/s_D + λ·E(x, x')/s_E``

    where ``D`` is the Jensen-Shannon length of the path sampled at ``n_steps``
    interior points and ``E`` the ``base_metric`` distance. The scales ``s_D`` and
    ``s_E`` are fixed by :meth:`fit` and reused by :meth:`transform` (see ``scale``).

    Two outputs, as scikit-learn's ``KNeighborsTransformer`` and
    ``pairwise_distances`` give, both usable with ``metric="precomputed"``:

    * ``n_neighbors=None``: the dense ``(n, n)`` matrix. Cost ``n + n(n−1)/2·n_steps``
      classifier rows and ``O(n²)`` memory; refused with a :class:`MemoryError`
      when it would not fit.
    * ``n_neighbors=k``: the sparse graph of each sample's ``k`` nearest neighbours
      (plus itself at distance 0). A free lower bound,
      ``d ≥ (1 − λ)·d_JS(f(x), f(x'))/s_D + λ·E/s_E``, ranks candidates without
      calling the classifier; paths are evaluated in increasing order of bound until
      the ``k``-th distance is below the next bound. The graph is **exact** (the same
      neighbours and distances as the dense matrix, up to ties) when the candidates
      are ranked exactly (``candidates="exact"``, the default up to 200,000 samples,
      1,000,000 where the classifier ranks them on its GPU).
      With ``candidates="nndescent"`` the first candidates come from approximate
      nearest-neighbour descent under the bound, sub-quadratic in ``n``: the graph is
      then exact for every sample whose true neighbours were among its candidates,
      which the benchmarks measure as recall (0.99 and above there).

    Parameters
    ----------
    estimator : object or callable
        A fitted classifier with ``predict_proba`` (scikit-learn estimator or
        Pipeline, skorch, scikeras, ...) or a callable ``f(X) -> probabilities``.
        It receives arrays shaped like the caller's samples, ``(n, *shape)``. It is
        never refitted.
    lam : float, default=0.65
        Weight ``λ`` of the input-space distance, in ``[0, 1]``. ``0`` is the pure
        discriminative distance, ``1`` the scaled base distance.
    n_steps : int, default=5
        Interior points per path (the reference's ``n``). ``0`` uses only the end
        points: the Jensen-Shannon distance of the two predictions.
    base_metric : {"euclidean", "cosine"}, default="euclidean"
        Input-space distance ``E``; cosine suits text embeddings.
    n_neighbors : int, default=None
        ``None`` for the dense matrix; ``k`` for the exact k-nearest-neighbour graph.
    scale : {"typical", "max"}, default="typical"
        How ``s_D`` and ``s_E`` are fixed. ``"typical"``: ``s_D = sqrt(ln 2)`` (one
        full change of prediction) and ``s_E`` the root mean square base distance
        over all pairs of samples, exact in ``O(n)``; both modes then give the same
        distance for the same pair. ``"max"``: the reference implementation's
        maxima over all pairs of fitted samples, which needs every pair (dense only).
    candidates : {"auto", "exact", "nndescent"}, default="auto"
        How the k-NN search ranks its first candidates: ``"exact"`` bounds every
        pair (``O(n²)`` arithmetic, no classifier call), ``"nndescent"`` uses
        pynndescent on the bound; ``"auto"`` is exact up to 200,000 samples (10,000
        under the cosine base metric), and up to 1,000,000 where the classifier
        ranks them on its GPU (:class:`didi.torch.TorchClassifier` on CUDA).
    n_jobs : int, default=None
        Parallel jobs for path evaluation, through joblib (``None``: one, unless
        set by ``joblib.parallel_config``, whose backend may be a dask or ray
        cluster), and threads for ranking candidates by their bound and measuring
        the pairs' base distances (``None``: as many as BLAS uses, every core
        unless a parallel grid search limits its workers). Results do not depend
        on it. A classifier that evaluates whole paths itself (such as
        :class:`didi.torch.TorchClassifier` on its device) gets all pairs in this
        process. The nearest-neighbour descent (``candidates="nndescent"``) runs
        on numba's threads: ``n_jobs`` of them, all cores for ``None``.
    memory : str, path, joblib.Memory or None, default=None
        Where to keep every evaluated path length, so that a later fit on the same
        samples and classifier (with another ``lam``, say) pays only for the
        samples' own probabilities and the pairs it has not seen. The classifier
        is recognised by its pickle and by its probabilities of the samples and
        of 16 fixed points between them.
    verbose : bool, default=False
        Show progress bars on the long stages.
    random_state : int, RandomState or None, default=None
        Seed of the nearest-neighbour descent.
    batch_size : int, default=None
        Largest number of rows per classifier call; ``None`` picks about 16 MB of
        input per call (at most 8192 rows).

    Attributes
    ----------
    X_fit_ : ndarray of shape (n_samples, \*sample_shape)
        The reference samples.
    proba_fit_ : ndarray of shape (n_samples, n_classes)
        The classifier's probabilities of the reference samples.
    lam_, n_steps_, base_metric_ : float, int, str
        ``lam``, ``n_steps`` and ``base_metric`` as :meth:`fit` used them;
        :meth:`transform` uses these, not parameters changed after the fit.
    base_unit_ : float
        The power of two in whose units base distances are computed: ``1.0``
        unless a sample has values above about ``2.6e120``, whose squares would
        overflow.
    path_scale_ : float
        ``s_D``.
    base_scale_ : float
        ``s_E``.
    n_neighbors_ : int or None
        Neighbours per sample in the graph, or ``None`` for the dense matrix.
    knn_indices_, knn_distances_ : ndarray of shape (n_samples, n_neighbors_) or None
        Each sample's nearest other samples and their distances, nearest first
        (the graph's content; ``None`` for the dense matrix).
    base_knn_indices_ : ndarray of shape (n_samples, n_neighbors_) or None
        Each sample's nearest other samples under the base distance alone, exactly,
        nearest first (ties by index): a by-product of ranking the candidates
        exactly, whose products hold every base distance, on the CPU with
        single-precision pruning (more than 10,000 samples) or on the classifier's
        GPU, under the Euclidean base metric; ``None`` otherwise, or where some
        samples had to be ranked in double precision on the CPU (samples too large
        for single precision).
        :class:`DecisionMap` lays out its Euclidean UMAP on them.
    sample_shape_ : tuple of int
        Shape of one sample.
    n_features_in_ : int
        Number of values in one sample.
    n_classifier_rows_ : int
        Rows passed to the classifier by :meth:`fit`.
    n_path_pairs_ : int
        Pairs whose path length :meth:`fit` needed (from the classifier or from
        ``memory``).
    knn_search_ : dict
        For the k-NN graph (``None`` for the dense matrix): ``candidates``
        (``"exact"`` or ``"nndescent"``), ``rounds`` of evaluation, ``widened``
        (samples whose candidate list had to grow), and the seconds spent ranking
        candidates and searching (``candidate_seconds``, ``search_seconds``).

    See Also
    --------
    FisherUMAP : UMAP on these distances.

    Notes
    -----
    Each sample's probabilities are computed once; each pair then costs only its
    ``n_steps`` interior points, about half the ``2(n_steps + 1)`` rows per pair of
    the reference implementation.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from didi import FisherJSMetric
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=500).fit(X, y)
    >>> FisherJSMetric(clf).fit_transform(X[:20]).shape
    (20, 20)
    >>> graph = FisherJSMetric(clf, n_neighbors=5).fit_transform(X)
    >>> graph.shape, graph.nnz
    ((150, 150), 900)
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        lam: float = 0.65,
        n_steps: int = 5,
        base_metric: str = "euclidean",
        n_neighbors: int | None = None,
        scale: str = "typical",
        candidates: str = "auto",
        n_jobs: int | None = None,
        memory: Any = None,
        verbose: bool = False,
        random_state: Any = None,
        batch_size: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.lam = lam
        self.n_steps = n_steps
        self.base_metric = base_metric
        self.n_neighbors = n_neighbors
        self.scale = scale
        self.candidates = candidates
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose
        self.random_state = random_state
        self.batch_size = batch_size

    _parameter_constraints: ClassVar[dict] = {
        "estimator": [CLASSIFIER],
        "lam": [Interval(Real, 0, 1)],
        "n_steps": [Interval(Integral, 0, None)],
        "base_metric": [Options(BASE_METRICS)],
        "n_neighbors": [NONE, Interval(Integral, 1, None)],
        "scale": [Options(SCALES)],
        "candidates": [Options(("auto", "exact", "nndescent"))],
        "n_jobs": N_JOBS,
        "memory": MEMORY,
        "verbose": VERBOSE,
        "random_state": RANDOM_STATE,
        "batch_size": [NONE, Interval(Integral, 1, None)],
    }

    def _check_params(self) -> None:
        validate_params(self)
        if self.n_neighbors is not None and self.scale == "max":
            raise InvalidParameterError(
                "FisherJSMetric: scale='max' divides by maxima over every pair, which a "
                "k-NN graph never evaluates: use scale='typical' with n_neighbors, or "
                "n_neighbors=None for the dense matrix."
            )

    def fit(self, X: Any, y: Any = None, *, known_paths: Any = None) -> FisherJSMetric:
        r"""Keep ``X`` as reference samples and fix the two distance scales.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \*shape)
            Reference samples, at least two.
        y : None
            Ignored.
        known_paths : object, default=None
            Path lengths known from earlier fits, by lasting sample id, as
            :meth:`DecisionMap.add_samples <didi.DecisionMap.add_samples>` hands them
            over; ``None`` evaluates every pair anew (or finds it in ``memory``).

        Returns
        -------
        self : FisherJSMetric
        """
        self.fit_transform(X, known_paths=known_paths)
        return self

    def fit_transform(self, X: Any, y: Any = None, *, known_paths: Any = None):
        r"""Fit and return the distances among the samples of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \*shape)
            Reference samples, at least two.
        y : None
            Ignored.
        known_paths : object, default=None
            Path lengths known from earlier fits (see :meth:`fit`).

        Returns
        -------
        ndarray of shape (n_samples, n_samples) or sparse matrix
            The dense symmetric matrix (zero diagonal) for ``n_neighbors=None``;
            otherwise a CSR graph whose row ``i`` holds ``i`` itself (explicit 0)
            and its ``n_neighbors`` nearest samples, sorted by distance.
        """
        self._check_params()
        names, frame = feature_names_of(X), FrameSpec.of(X)
        X = check_samples(X, min_samples=2)
        check_interpolable(X)
        if self.n_neighbors is None:
            check_dense_memory(len(X), type(self).__name__)
        else:
            check_enough_samples(len(X), self.n_neighbors, self)
        if self.base_metric == "cosine":
            check_cosine_rows(X)
        proba_fn = resolve_proba_function(self.estimator, self.batch_size, X.shape[1:], frame)
        proba_X = proba_fn(X)
        store = self._path_store(X, proba_X, proba_fn, known_paths)
        # Counted here, not on self: an interrupted fit leaves no partial state.
        counts = {"rows": proba_fn.n_rows, "pairs": 0}
        # Paths run between the samples themselves; everything else is measured on
        # them in units that cannot overflow.
        unit = base_unit(X)
        # A classifier measuring paths on its device may measure Euclidean distances
        # there too, from the end points it holds, where those are the samples' units.
        base_on_paths = unit == 1.0 and self.base_metric == "euclidean"
        paths = self._fit_paths(proba_fn, X, proba_X, store, counts, base_on_paths)
        X_base = X if unit == 1.0 else X / unit
        try:
            scales, result, knn, search, k = self._fit_distances(X_base, proba_X, paths)
        finally:
            # Whatever was evaluated is kept, also when the fit is interrupted.
            store.flush()
        self.X_fit_ = X
        self.proba_fit_ = proba_X
        keep_feature_names(self, names)
        self._frame = frame
        self.sample_shape_ = tuple(X.shape[1:])
        self.n_features_in_ = int(np.prod(self.sample_shape_))
        self.lam_, self.n_steps_, self.base_metric_ = self.lam, self.n_steps, self.base_metric
        self.base_unit_ = unit
        self.path_scale_, self.base_scale_ = scales
        self.n_neighbors_ = k
        self.knn_indices_, self.knn_distances_, self.base_knn_indices_ = knn
        self.knn_search_ = search
        self.n_classifier_rows_ = counts["rows"]
        self.n_path_pairs_ = counts["pairs"]
        return result

    def _path_store(self, X: np.ndarray, proba_X: np.ndarray, proba_fn, known_paths: Any):
        """Where this fit looks up and keeps path lengths: ``memory``, and before it the
        lengths known by sample id (``known_paths``)."""
        memory = resolve_memory(self.memory)
        fingerprint = None
        if memory.location is not None:
            # Probabilities are part of the key: a classifier whose pickle does not
            # change with its model (a plain function reading global weights) is
            # still told apart, also where it is retrained to the same
            # probabilities at the samples (fingerprint_points).
            fingerprint = (proba_X, proba_fn(fingerprint_points(X), owned=True))
        store = PathLengthStore(memory, self.estimator, X, fingerprint, self.n_steps)
        if known_paths is None:
            return store
        return known_paths.view(X, proba_X, proba_fn, self.n_steps, fallback=store)

    def _fit_paths(
        self, proba_fn, X: np.ndarray, proba_X: np.ndarray, store, counts: dict, base_on_paths
    ):
        """``paths(ia, ib)``: path lengths among the samples of ``X``, from ``store``
        where known, else from the classifier (counted in ``counts``).

        ``paths(ia, ib, with_base=True)`` returns the pairs' Euclidean distances
        beside them where the classifier's path evaluator measures those (see
        :meth:`ProbaFunction.path_lengths_and_euclidean`) and ``base_on_paths``
        allows it, else ``None`` in their place.
        """
        group, _ = equal_sample_groups(X, X[:0])  # group ids of X's own samples
        base_on_paths = base_on_paths and proba_fn.evaluates_paths and self.n_steps > 0
        threads = local_threads(self.n_jobs) if base_on_paths else 1

        def paths(ia: np.ndarray, ib: np.ndarray, *, with_base: bool = False):
            found, values = store.lookup(ia, ib)
            new, base = ~found, None
            if with_base and base_on_paths:
                before = proba_fn.n_rows
                lengths, base = proba_fn.path_lengths_and_euclidean(
                    X, X, proba_X, proba_X, ia[new], ib[new], self.n_steps
                )
                rows = proba_fn.n_rows - before
            else:
                lengths, rows = parallel_path_lengths(
                    proba_fn, X, X, proba_X, proba_X, ia[new], ib[new], self.n_steps,
                    n_jobs=self.n_jobs,
                )  # fmt: skip
            values[new] = lengths
            store.add(ia[new], ib[new], lengths)
            counts["rows"] += rows
            counts["pairs"] += len(ia)
            values[group[ia] == group[ib]] = 0.0
            if not with_base:
                return values
            return values, None if base is None else _with_known(base, new, X, ia, ib, threads)

        return paths

    def _fit_distances(self, X: np.ndarray, proba_X: np.ndarray, paths):
        """The dense matrix or the k-NN graph, with the scales and search figures.

        ``X`` is in base units (:func:`base_unit`); ``paths`` knows the samples.
        """
        if self.n_neighbors is None:
            path, base = self._dense_parts(X, paths)
            if self.scale == "max":
                scales = _positive_scale(path.max()), _positive_scale(base.max())
            else:
                scales = self._typical_scales(X)
            result = combine_distances(path, base, self.lam, *scales)
            knn, search, k = (None, None, None), None, None
        else:
            scales = self._typical_scales(X)
            k = int(self.n_neighbors)
            *knn, search = self._knn_fit(X, proba_X, paths, scales, k)
            result = knn_graph(knn[0], knn[1], len(X), with_self=True)
        return scales, result, tuple(knn), search, k

    def _typical_scales(self, X: np.ndarray) -> tuple[float, float]:
        return TYPICAL_PATH_SCALE, _positive_scale(rms_base_distance(X, self.base_metric))

    def _dense_parts(self, X: np.ndarray, paths) -> tuple[np.ndarray, np.ndarray]:
        """Raw path lengths and base distances between all pairs of ``X``."""
        n = len(X)
        path = np.zeros((n, n))
        batch = resolve_proba_function(self.estimator, self.batch_size, X.shape[1:]).batch_size
        # Blocks only bound the index arrays and pace the progress bar: the
        # interpolated points are batched further down, by the classifier's batch.
        pairs_per_block = max(n, min(1 << 18, 64 * batch // max(1, self.n_steps)))
        with progress_bar(n * (n - 1) // 2, "path lengths", self.verbose) as bar:
            for ia, ib in upper_triangle_blocks(n, pairs_per_block):
                path[ia, ib] = paths(ia, ib)
                bar.update(len(ia))
        path += path.T
        return path, symmetric_base_distances(X, self.base_metric)

    def _knn_fit(self, X, proba_X, paths, scales: tuple[float, float], k: int):
        """Exact k-NN search among the samples of ``X``."""
        terms = bound_terms(X, proba_X, self.base_metric, _centre(X))
        path_scale, base_scale = scales
        weights = bound_weights(self.lam, path_scale, base_scale, self.base_metric, terms)
        n = len(X)
        rank, on_device = self._exact_ranking()
        # A device that cannot hold the samples' terms hands the ranking to the host.
        on_device = on_device and rank.holds(terms, terms)
        if on_device:
            limit = DEVICE_EXACT_CANDIDATES_MAX_SAMPLES
        elif self.base_metric == "euclidean":
            limit = EXACT_CANDIDATES_MAX_SAMPLES
        else:
            limit = COSINE_EXACT_CANDIDATES_MAX_SAMPLES
        use_exact = self.candidates == "exact" or (self.candidates == "auto" and n <= limit)
        width = min(2 * k, n - 1)
        clock = time.perf_counter()
        base = None
        if use_exact:
            # Ranking every pair also finds each sample's nearest in base distance.
            table, base = rank.candidates_and_base_candidates(
                terms, np.arange(n), terms, weights, width, k + _BASE_SLACK, exclude_self=True
            )
            candidates = CandidateLists.from_rows(*table)
        else:
            candidates = self._descent_candidates(terms, weights, width)
        candidate_seconds, clock = lap(clock)

        def extend(rows: np.ndarray, new_width: int):
            return rank(terms, rows, terms, weights, new_width, exclude_self=True)

        threads = local_threads(self.n_jobs)

        def evaluate(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
            lengths, base = paths(ia, ib, with_base=True)
            if base is None:
                base = paired_base_distances(X, ia, X, ib, self.base_metric, n_threads=threads)
            return combine_distances(lengths, base, self.lam, *scales)

        with progress_bar(n, "k-NN search", self.verbose) as bar:
            done = [0]

            def progress(n_done: int, total: int) -> None:
                bar.update(n_done - done[0])
                done[0] = n_done

            result = bound_ordered_knn(
                k,
                candidates,
                evaluate,
                extend,
                n_references=n,
                symmetric=True,
                progress=progress,
            )
        search = {
            "candidates": "exact" if use_exact else "nndescent",
            "ranked_on": "device" if on_device else "host",
            "rounds": result.n_rounds,
            "widened": result.n_widened,
            "candidate_seconds": candidate_seconds,
            "search_seconds": lap(clock)[0],
        }
        base_knn = None if base is None else base.exact_neighbours(X, k, n_threads=threads)
        return result.indices, result.distances, base_knn, search

    def _exact_ranking(self):
        """Exact ranking of candidates: on the classifier's GPU where it offers one
        (``TorchClassifier`` on CUDA), else numpy with ``n_jobs`` threads."""
        host = HostRanker(local_threads(self.n_jobs))
        offer = getattr(self.estimator, "_candidate_ranker", None)
        on_device = offer(host) if offer is not None else None
        if on_device is not None:
            return on_device, True
        return host, False

    def _descent_candidates(self, terms, weights, width) -> CandidateLists:
        from ._nndescent import nndescent_candidates

        indices, next_bound = nndescent_candidates(
            terms, weights, width, random_state=self.random_state, n_jobs=self.n_jobs
        )
        n = len(indices)
        bounds = paired_lower_bounds(
            terms, np.repeat(np.arange(n), width), terms, indices.ravel(), weights
        ).reshape(n, width)
        order = np.lexsort((indices, bounds), axis=1)
        indices = np.take_along_axis(indices, order, axis=1)
        bounds = np.take_along_axis(bounds, order, axis=1)
        # A row that needs more than its list is searched exactly.
        return CandidateLists.from_rows(indices, bounds, next_bound)

    @property
    def _n_features_out(self) -> int:
        # One output column per reference sample: "fisherjsmetric0", ...
        return len(self.X_fit_)

    def transform(self, X: Any):
        r"""Distances from new samples to the reference samples.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features) or (n_new, \*shape)
            New samples, shaped like the reference samples.

        Returns
        -------
        ndarray of shape (n_new, n_samples) or sparse matrix
            DiDi distances on the scales fixed by :meth:`fit`: all of them
            (dense), or each new sample's ``n_neighbors + 1`` nearest reference
            samples as a CSR graph (``KNeighborsTransformer``'s convention, since a
            new sample may be one of the reference samples).
        """
        check_is_fitted(self, "X_fit_")
        validate_params(self)
        check_feature_names(self, X)
        X = check_samples(X)
        check_sample_shape(X, self.sample_shape_, self)
        proba_fn = resolve_proba_function(self.estimator, self.batch_size, X.shape[1:], self._frame)
        proba_X = proba_fn(X)
        if proba_X.shape[1] != self.proba_fit_.shape[1]:
            raise ValueError(
                f"The classifier returned {proba_X.shape[1]} classes for X but "
                f"{self.proba_fit_.shape[1]} at fit time."
            )
        if self.base_metric_ == "cosine":
            check_cosine_rows(X)
        paths = self._transform_paths(proba_fn, X, proba_X)
        X_base, ref_base = self._in_base_units(X)
        if self.n_neighbors_ is None:
            return self._transform_dense(X_base, ref_base, paths, proba_fn.batch_size)
        return self._transform_knn(X_base, ref_base, proba_X, paths)

    def _in_base_units(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New and reference samples in the base units fixed by :meth:`fit`."""
        check_interpolable(X)
        check_magnitudes(
            X,
            SAFE_MAGNITUDE * self.base_unit_,
            "its distance to the reference samples overflows on the scale fixed by fit",
        )
        if self.base_unit_ == 1.0:
            return X, self.X_fit_
        return X / self.base_unit_, self.X_fit_ / self.base_unit_

    def _combine(self, path: np.ndarray, base: np.ndarray) -> np.ndarray:
        """The DiDi distance with what :meth:`fit` fixed: ``λ`` and the two scales."""
        return combine_distances(path, base, self.lam_, self.path_scale_, self.base_scale_)

    def _transform_paths(self, proba_fn, X: np.ndarray, proba_X: np.ndarray):
        """``paths(ia, ib)``: path lengths from new samples to reference samples."""
        ref = self.X_fit_
        group_new, group_ref = equal_sample_groups(X, ref)

        def paths(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
            path, _ = parallel_path_lengths(
                proba_fn, X, ref, proba_X, self.proba_fit_, ia, ib, self.n_steps_,
                n_jobs=self.n_jobs,
            )  # fmt: skip
            path[group_new[ia] == group_ref[ib]] = 0.0
            return path

        return paths

    def _transform_dense(
        self, X: np.ndarray, ref: np.ndarray, paths, batch_size: int
    ) -> np.ndarray:
        """Distances from every new sample to every reference sample (in base units)."""
        n_ref = len(ref)
        out = np.empty((len(X), n_ref))
        rows_per_block = max(1, 4 * batch_size // max(1, self.n_steps_ * n_ref))
        for start in range(0, len(X), rows_per_block):
            rows = np.arange(start, min(start + rows_per_block, len(X)))
            ia = np.repeat(rows, n_ref)
            ib = np.tile(np.arange(n_ref), len(rows))
            out[rows] = paths(ia, ib).reshape(len(rows), n_ref)
        return self._combine(out, base_distances(X, ref, self.base_metric_))

    def _transform_knn(self, X: np.ndarray, ref: np.ndarray, proba_X: np.ndarray, paths):
        """Each new sample's ``n_neighbors_ + 1`` nearest reference samples, exactly
        (``X`` and ``ref`` in base units)."""
        n_ref = len(ref)

        threads = local_threads(self.n_jobs)

        def evaluate(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
            base = paired_base_distances(X, ia, ref, ib, self.base_metric_, n_threads=threads)
            return self._combine(paths(ia, ib), base)

        centre = _centre(ref)
        reference = bound_terms(ref, self.proba_fit_, self.base_metric_, centre)
        query = bound_terms(X, proba_X, self.base_metric_, centre)
        weights = bound_weights(
            self.lam_, self.path_scale_, self.base_scale_, self.base_metric_, reference
        )
        k = min(self.n_neighbors_ + 1, n_ref)
        rank, _ = self._exact_ranking()

        def extend(rows: np.ndarray, width: int):
            return rank(query, rows, reference, weights, width, exclude_self=False)

        result = bound_ordered_knn(
            k,
            CandidateLists.from_rows(*extend(np.arange(len(X)), min(2 * k, n_ref))),
            evaluate,
            extend,
            n_references=n_ref,
            symmetric=False,
        )
        return knn_graph(result.indices, result.distances, n_ref, with_self=False)


def _with_known(
    measured: np.ndarray,
    new: np.ndarray,
    X: np.ndarray,
    ia: np.ndarray,
    ib: np.ndarray,
    n_threads: int,
) -> np.ndarray:
    """Euclidean distances of all pairs ``(ia, ib)``: ``measured`` for the ``new`` ones,
    computed here (on ``n_threads``) for those whose path lengths were known."""
    base = np.empty(len(ia))
    base[new] = measured
    known = ~new
    base[known] = paired_base_distances(
        X, ia[known], X, ib[known], "euclidean", n_threads=n_threads
    )
    return base


def _centre(X: np.ndarray) -> np.ndarray:
    return X.reshape(len(X), -1).mean(axis=0, dtype=np.float64)
