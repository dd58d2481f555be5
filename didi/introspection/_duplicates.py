"""``NearDuplicates``: sets of samples that are (nearly) the same, in some space."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import connected_components
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import Bunch

from .._base import PrefitClassifierMixin, check_samples
from .._validation import CLASSIFIER, N_JOBS, NONE, RANDOM_STATE, Interval, Options, validate_params
from ._responses import responses_of

SPACES = ("samples", "proba", "didi")
SEARCHES = ("exact", "approximate")


def percentile_threshold(distances: np.ndarray, percentile: float) -> float:
    """The distance below which ``100 − percentile`` % of the sorted distances lie
    (DNIKit's ``Percentile``: 98.5 makes 1.5 % of the distances close)."""
    ordered = np.sort(distances)
    index = min(len(ordered) - 1, len(ordered) - int(percentile * 0.01 * len(ordered)))
    return float(ordered[index])


def slope_threshold(distances: np.ndarray, sensitivity: int) -> float:
    """DNIKit's ``Slope``: the end of the elbow of the sorted distances.

    The sorted neighbour distances rise sharply (near-duplicates), bend, and go on
    in a long tail. Starting in the middle and walking down, a window of
    ``len / sensitivity`` distances is compared with the spread between the 25th and
    75th percentiles; the threshold is where the window's rise first exceeds it.
    """
    ordered = np.sort(distances)
    stride = len(ordered) // 1000 + 1
    probe = len(ordered) // 2
    target = ordered[probe + probe // 2] - ordered[probe - probe // 2]
    window = len(ordered) // sensitivity
    while probe > stride:
        if ordered[min(probe + window, len(ordered) - 1)] - ordered[probe] > target:
            break
        probe -= stride
    return float(ordered[probe])


def duplicate_sets(
    indices: np.ndarray, distances: np.ndarray, threshold: float
) -> list[np.ndarray]:
    """Sets of samples joined by neighbour links no longer than ``threshold``
    (the transitive closure, as DNIKit combines its clusters); singletons are left out."""
    n = len(indices)
    close = distances <= threshold
    rows = np.repeat(np.arange(n), indices.shape[1])[close.ravel()]
    links = scipy.sparse.coo_matrix(
        (np.ones(len(rows)), (rows, indices.ravel()[close.ravel()])), shape=(n, n)
    )
    _, component = connected_components(links, directed=False)
    sizes = np.bincount(component)
    return [np.flatnonzero(component == c) for c in np.flatnonzero(sizes > 1)]


def set_summary(
    members: np.ndarray, points: np.ndarray | None, indices: np.ndarray, distances: np.ndarray
) -> Bunch:
    """A set's members, and the mean and spread of their distances: to the set's
    centroid where the points are vectors (DNIKit's measure), else (DiDi) of the
    neighbour links among the members."""
    if points is not None:
        spread = np.linalg.norm(points[members] - points[members].mean(axis=0), axis=1)
    else:
        inside = np.isin(indices[members], members)
        spread = distances[members][inside]
    return Bunch(indices=members, mean=float(spread.mean()), std=float(spread.std()))


class NearDuplicates(PrefitClassifierMixin, ClusterMixin, BaseEstimator):
    """Sets of near-duplicate samples, under the samples', the classifier's or the DiDi
    distance.

    Each sample's nearest neighbours are found; a distance threshold is read off the
    sorted neighbour distances (DNIKit's ``Slope`` or ``Percentile`` strategy, or
    given); samples linked by neighbour distances under it form a set (all samples
    reachable through such links). Exact copies are always a set. As in DNIKit, the
    ``"slope"`` threshold is never below the smallest neighbour distances, so the
    closest pair forms a set even in data without duplicates: read ``sets_`` with
    their ``mean`` distances, tightest first.

    The space decides what "duplicate" means:

    * ``"samples"``: the flattened samples, each column scaled to unit norm (as
      DNIKit does, so that no column dominates);
    * ``"proba"``: the classifier's probabilities, scaled the same way — samples the
      classifier cannot tell apart;
    * ``"didi"``: the DiDi distance of :class:`~didi.FisherJSMetric` (its exact
      k-NN graph): samples close in input space *and* on the same side of every
      boundary between them, duplicates as the classifier sees them.

    Parameters
    ----------
    estimator : object or callable, default=None
        The classifier, for ``space="proba"`` or ``"didi"``; only queried.
    space : {"samples", "proba", "didi"}, default="samples"
        Where distances are measured.
    n_neighbors : int, default=10
        Neighbours per sample (DNIKit uses 10, the sample itself included; here
        without it).
    threshold : {"slope", "percentile"} or float, default="slope"
        How the distance threshold is chosen: DNIKit's strategies, or a distance.
    sensitivity : int, default=5
        ``"slope"``'s window is ``1 / sensitivity`` of the distances; larger finds
        fewer duplicates. More than 2.
    percentile : float, default=98.5
        ``"percentile"``'s share of distances that are *not* close, in percent.
    search : {"exact", "approximate"}, default="exact"
        Neighbour search in ``"samples"``/``"proba"`` space: exact
        (:class:`~sklearn.neighbors.NearestNeighbors`), or approximate
        (pynndescent's NN-descent) for large data. The DiDi graph is always exact.
    lam : float, default=0.65
        ``λ`` of the DiDi distance (``space="didi"``).
    n_steps : int, default=5
        Path steps of the DiDi distance.
    random_state : int, RandomState or None, default=None
        Seed of the approximate search and the DiDi graph's candidates.
    n_jobs : int, default=None
        Parallel jobs of the searches.
    batch_size : int, default=None
        Largest number of rows per classifier call.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        The set of each sample, ``-1`` for none; sets are numbered by increasing mean
        distance to their centroid (the tightest first).
    sets_ : list of Bunch
        Per set, in that order: ``indices``, and ``mean`` and ``std`` of the members'
        distances to their centroid (in the scaled space), or for ``"didi"`` of the
        DiDi distances of the neighbour links among them.
    threshold_ : float
        The distance threshold used.
    neighbor_indices_, neighbor_distances_ : ndarray of shape (n_samples, n_neighbors)
        Each sample's nearest others, nearest first.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from didi import NearDuplicates
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = np.vstack([X[:300], X[:5]])  # five exact copies
    >>> found = NearDuplicates().fit(X)
    >>> all(found.labels_[i] == found.labels_[300 + i] != -1 for i in range(5))
    True
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        space: str = "samples",
        n_neighbors: int = 10,
        threshold: Any = "slope",
        sensitivity: int = 5,
        percentile: float = 98.5,
        search: str = "exact",
        lam: float = 0.65,
        n_steps: int = 5,
        random_state: Any = None,
        n_jobs: int | None = None,
        batch_size: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.space = space
        self.n_neighbors = n_neighbors
        self.threshold = threshold
        self.sensitivity = sensitivity
        self.percentile = percentile
        self.search = search
        self.lam = lam
        self.n_steps = n_steps
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.batch_size = batch_size

    _parameter_constraints: ClassVar[dict] = {
        "estimator": [NONE, CLASSIFIER],
        "space": [Options(SPACES)],
        "n_neighbors": [Interval(Integral, 1, None)],
        "threshold": [Options(("slope", "percentile")), Interval(Real, 0, None)],
        "sensitivity": [Interval(Integral, 3, None)],
        "percentile": [Interval(Real, 0, 100, closed="neither")],
        "search": [Options(SEARCHES)],
        "lam": [Interval(Real, 0, 1)],
        "n_steps": [Interval(Integral, 0, None)],
        "random_state": RANDOM_STATE,
        "n_jobs": N_JOBS,
        "batch_size": [NONE, Interval(Integral, 1, None)],
    }

    def fit(self, X: Any, y: Any = None) -> NearDuplicates:
        r"""Find the sets of near-duplicates among the samples of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \*shape)
            Samples.
        y : None
            Ignored.

        Returns
        -------
        self : NearDuplicates
        """
        validate_params(self)
        samples = check_samples(X, min_samples=3)
        k = min(self.n_neighbors, len(samples) - 1)
        if self.space == "didi":
            indices, distances, points = self._didi_neighbours(samples, k)
        else:
            points = self._scaled_responses(samples)
            indices, distances = self._neighbours(points, k)
        threshold = self._threshold(distances)
        sets = duplicate_sets(indices, distances, threshold)
        summaries = [set_summary(members, points, indices, distances) for members in sets]
        order = np.argsort([s.mean for s in summaries], kind="stable")
        labels = np.full(len(samples), -1)
        for number, position in enumerate(order):
            labels[summaries[position].indices] = number
        self.labels_ = labels
        self.sets_ = [summaries[position] for position in order]
        self.threshold_ = threshold
        self.neighbor_indices_, self.neighbor_distances_ = indices, distances
        self.n_features_in_ = int(np.prod(samples.shape[1:]))
        return self

    def _scaled_responses(self, samples: np.ndarray) -> np.ndarray:
        """The responses with each column scaled to unit norm (constant-zero columns kept)."""
        values = responses_of(
            samples, self.space, self.estimator, self.batch_size, "NearDuplicates"
        )
        norms = np.linalg.norm(values, axis=0)
        return values / np.where(norms > 0, norms, 1.0)

    def _neighbours(self, points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Each point's ``k`` nearest others (itself left out), nearest first."""
        if self.search == "approximate":
            from pynndescent import NNDescent

            index = NNDescent(
                points, n_neighbors=k + 1, random_state=self.random_state, n_jobs=self.n_jobs
            )
            indices, distances = index.neighbor_graph
        else:
            search = NearestNeighbors(n_neighbors=k + 1, n_jobs=self.n_jobs).fit(points)
            distances, indices = search.kneighbors(points)
        return _without_self(indices, distances, k)

    def _didi_neighbours(self, samples: np.ndarray, k: int):
        """The exact DiDi k-NN graph of the samples."""
        from ..distance import FisherJSMetric

        if self.estimator is None:
            raise ValueError("NearDuplicates(space='didi') needs the classifier: estimator=...")
        metric = FisherJSMetric(
            self.estimator, lam=self.lam, n_steps=self.n_steps, n_neighbors=k,
            random_state=self.random_state, n_jobs=self.n_jobs, batch_size=self.batch_size,
        ).fit(samples)  # fmt: skip
        return metric.knn_indices_, metric.knn_distances_, None

    def _threshold(self, distances: np.ndarray) -> float:
        if not isinstance(self.threshold, str):
            return float(self.threshold)
        # Exact copies (distance 0) are duplicates whatever the threshold; the
        # strategies read the curve of the other distances, as DNIKit's do.
        positive = distances[distances > 0]
        if len(positive) < 4:
            return 0.0
        if self.threshold == "percentile":
            return percentile_threshold(positive, self.percentile)
        return slope_threshold(positive, self.sensitivity)


def _without_self(indices: np.ndarray, distances: np.ndarray, k: int):
    """Neighbour lists of ``k + 1`` entries with each sample itself removed (or, where
    exact copies tie with it and it is not listed first, the last entry)."""
    n = len(indices)
    is_self = indices == np.arange(n)[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones_like(is_self)
    keep[np.arange(n), drop] = False
    return indices[keep].reshape(n, k), distances[keep].reshape(n, k)
