"""``FisherJSMetric``: DiDi distances between samples from any classifier."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._base import PrefitClassifierMixin, check_in_range, check_sample_shape, check_samples
from ._paths import path_lengths, upper_triangle_blocks
from ._proba import resolve_proba_function

_BASE_METRICS = ("euclidean", "cosine")


def base_distances(A: np.ndarray, B: np.ndarray, metric: str) -> np.ndarray:
    """Input-space distances ``E`` between the flattened samples of ``A`` and ``B``.

    SciPy's ``cdist`` works on differences, so nearby samples keep their exact
    distance; scikit-learn's dot-product formula loses about ``1e-8·‖x‖`` to
    rounding, which would blur the nearest neighbours UMAP is built on.
    """
    return cdist(
        A.reshape(len(A), -1).astype(np.float64, copy=False),
        B.reshape(len(B), -1).astype(np.float64, copy=False),
        metric=metric,
    )


def symmetric_base_distances(X: np.ndarray, metric: str) -> np.ndarray:
    """Base distances among the samples of ``X``: exactly symmetric, zero diagonal."""
    base = base_distances(X, X, metric)
    # cdist's rounding may differ between (i, j) and (j, i).
    base += base.T
    base *= 0.5
    np.fill_diagonal(base, 0.0)
    return base


def combine_distances(
    path: np.ndarray, base: np.ndarray, lam: float, path_scale: float, base_scale: float
) -> np.ndarray:
    """DiDi distance ``(1 − λ)·D/s_D + λ·E/s_E``."""
    return (1.0 - lam) * (path / path_scale) + lam * (base / base_scale)


def _positive_scale(value: float) -> float:
    # A zero maximum (all points predicted alike, or all identical) leaves that part
    # of the distance zero everywhere; any positive scale keeps it zero.
    return float(value) if value > 0 else 1.0


class FisherJSMetric(PrefitClassifierMixin, TransformerMixin, BaseEstimator):
    """Discriminative (Fisher / Jensen-Shannon) distances from any ``predict_proba``.

    The DiDi distance between samples ``x`` and ``x'`` mixes how much the
    classifier's prediction changes along the straight path between them with their
    plain distance in input space:

    ``d(x, x') = (1 − λ)·D(x, x')/s_D + λ·E(x, x')/s_E``

    where ``D`` is the Jensen-Shannon length of the path sampled at ``n_steps``
    interior points, ``E`` the ``base_metric`` distance, and ``s_D``, ``s_E`` the
    largest ``D`` and ``E`` among the fitted samples (the reference implementation's
    normalisation). The scales are fixed by :meth:`fit` and reused by
    :meth:`transform`, so distances of new samples are on the same scale.

    The output is a distance matrix usable by any estimator that takes
    ``metric="precomputed"``.

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
    batch_size : int, default=None
        Largest number of rows per classifier call; ``None`` picks about 16 MB of
        input per call (at most 8192 rows).

    Attributes
    ----------
    X_fit_ : ndarray of shape (n_samples, *sample_shape)
        The reference samples.
    proba_fit_ : ndarray of shape (n_samples, n_classes)
        The classifier's probabilities of the reference samples.
    path_scale_ : float
        ``s_D``, the largest path length among the reference samples.
    base_scale_ : float
        ``s_E``, the largest base distance among the reference samples.
    sample_shape_ : tuple of int
        Shape of one sample.
    n_features_in_ : int
        Number of values in one sample.
    n_classifier_rows_ : int
        Rows passed to the classifier by :meth:`fit`.

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
    >>> D = FisherJSMetric(clf).fit_transform(X[:20])
    >>> D.shape
    (20, 20)
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        lam: float = 0.65,
        n_steps: int = 5,
        base_metric: str = "euclidean",
        batch_size: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.lam = lam
        self.n_steps = n_steps
        self.base_metric = base_metric
        self.batch_size = batch_size

    def _check_params(self) -> None:
        check_in_range("lam", self.lam, 0.0, 1.0)
        check_in_range("n_steps", self.n_steps, 0, np.inf, integer=True)
        if self.base_metric not in _BASE_METRICS:
            raise ValueError(
                f"base_metric must be one of {_BASE_METRICS}; got {self.base_metric!r}."
            )

    def fit(self, X: Any, y: Any = None) -> FisherJSMetric:
        """Keep ``X`` as reference samples and fix the two distance scales.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *shape)
            Reference samples, at least two.
        y : None
            Ignored.

        Returns
        -------
        self : FisherJSMetric
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit and return the symmetric ``(n_samples, n_samples)`` distance matrix.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, *shape)
            Reference samples, at least two.
        y : None
            Ignored.

        Returns
        -------
        ndarray of shape (n_samples, n_samples)
            DiDi distances, zero on the diagonal.
        """
        self._check_params()
        X = check_samples(X, min_samples=2)
        path, base, proba_fn, proba_X = self._dense_parts(X)
        self.X_fit_ = X
        self.proba_fit_ = proba_X
        self.sample_shape_ = tuple(X.shape[1:])
        self.n_features_in_ = int(np.prod(self.sample_shape_))
        self.path_scale_ = _positive_scale(path.max())
        self.base_scale_ = _positive_scale(base.max())
        self.n_classifier_rows_ = proba_fn.n_rows
        return combine_distances(path, base, self.lam, self.path_scale_, self.base_scale_)

    def _dense_parts(self, X: np.ndarray):
        """Raw path lengths and base distances between all pairs of ``X``."""
        proba_fn = resolve_proba_function(self.estimator, self.batch_size, X.shape[1:])
        proba_X = proba_fn(X)
        n = len(X)
        path = np.zeros((n, n))
        pairs_per_block = max(n, 4 * proba_fn.batch_size // max(1, self.n_steps))
        for ia, ib in upper_triangle_blocks(n, pairs_per_block):
            path[ia, ib] = path_lengths(proba_fn, X, X, proba_X, proba_X, ia, ib, self.n_steps)
        path += path.T
        base = symmetric_base_distances(X, self.base_metric)
        return path, base, proba_fn, proba_X

    def transform(self, X: Any) -> np.ndarray:
        """Distances from new samples to the reference samples.

        Parameters
        ----------
        X : array-like of shape (n_new, n_features) or (n_new, *shape)
            New samples, shaped like the reference samples.

        Returns
        -------
        ndarray of shape (n_new, n_samples)
            DiDi distances, on the scales fixed by :meth:`fit`.
        """
        check_is_fitted(self, "X_fit_")
        X = check_samples(X)
        check_sample_shape(X, self.sample_shape_, self)
        ref = self.X_fit_
        proba_fn = resolve_proba_function(self.estimator, self.batch_size, X.shape[1:])
        proba_X = proba_fn(X)
        if proba_X.shape[1] != self.proba_fit_.shape[1]:
            raise ValueError(
                f"The classifier returned {proba_X.shape[1]} classes for X but "
                f"{self.proba_fit_.shape[1]} at fit time."
            )
        n_ref = len(ref)
        path = np.empty((len(X), n_ref))
        rows_per_block = max(1, 4 * proba_fn.batch_size // max(1, self.n_steps * n_ref))
        for start in range(0, len(X), rows_per_block):
            rows = np.arange(start, min(start + rows_per_block, len(X)))
            ia = np.repeat(rows, n_ref)
            ib = np.tile(np.arange(n_ref), len(rows))
            path[rows] = path_lengths(
                proba_fn, X, ref, proba_X, self.proba_fit_, ia, ib, self.n_steps
            ).reshape(len(rows), n_ref)
        base = base_distances(X, ref, self.base_metric)
        return combine_distances(path, base, self.lam, self.path_scale_, self.base_scale_)
