"""``Familiarity``: how typical each sample's responses are, as a density model."""

from __future__ import annotations

from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from .._base import PrefitClassifierMixin, check_sample_shape, check_samples
from .._proba import class_names_of
from .._validation import (
    BOOLEAN,
    CLASSIFIER,
    NONE,
    RANDOM_STATE,
    Interval,
    Options,
    check_value,
    validate_params,
)
from ._responses import RESPONSES, responses_of

if TYPE_CHECKING:
    from sklearn.mixture import GaussianMixture

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def fit_mixture(values: np.ndarray, n_components: int, **options: Any) -> GaussianMixture:
    """A Gaussian mixture of at most ``n_components``, and at most one per two samples:
    a Gaussian fitted to a single sample would have no spread but ``reg_covar`` and
    find every sample like it extremely familiar."""
    # Imported here: sklearn.mixture brings sklearn.cluster and sklearn.manifold, a
    # tenth of a second of `import didi`.
    from sklearn.mixture import GaussianMixture

    n_components = max(1, min(n_components, len(values) // 2))
    return GaussianMixture(n_components=n_components, **options).fit(values)


class Familiarity(PrefitClassifierMixin, OutlierMixin, BaseEstimator):
    """How familiar each sample is to a classifier: a density model of its responses.

    A Gaussian mixture is fitted to the responses of the fitted samples — the
    classifier's probabilities by default, or the samples themselves, or any
    features (e.g. a network layer's activations) — and scores new samples by their
    log-density under it (DNIKit's ``Familiarity`` with its GMM strategy). Samples
    whose responses the model finds unlikely are unfamiliar: outliers, samples from
    another distribution, or rare kinds the data set holds few of. With
    ``per_class=True`` one mixture is fitted per class (the labels given to
    :meth:`fit`, else the classifier's predictions; at least 2 samples each) and a
    sample is scored by its class's model, which finds what is unusual *for its
    class*; one ``offset_`` still serves all classes, so a class whose responses are
    spread wider counts more of its samples unfamiliar.

    It follows scikit-learn's outlier detectors: :meth:`score_samples` (higher is
    more familiar), :meth:`decision_function` (``score_samples − offset_``,
    negative for outliers) and :meth:`predict` (``-1`` unfamiliar, ``1``
    familiar), with ``offset_`` set so that a ``contamination`` share of the
    fitted samples is unfamiliar.

    Parameters
    ----------
    estimator : object or callable, default=None
        The classifier, needed for ``responses="proba"`` and for ``per_class``
        without labels; only queried.
    responses : {"proba", "samples"} or callable, default="proba"
        What is modelled: the classifier's probabilities, the flattened samples,
        or ``responses(X) -> (n_samples, ...)`` features.
    n_components : int, default=5
        Gaussians per mixture (DNIKit's ``gaussian_count``); at most one per two
        samples a mixture is fitted to.
    covariance_type : {"diag", "full", "tied", "spherical"}, default="diag"
        Each Gaussian's covariance (see :class:`sklearn.mixture.GaussianMixture`);
        ``"diag"`` suits high-dimensional responses, as in DNIKit.
    per_class : bool, default=False
        One mixture per class.
    contamination : float, default=0.05
        Share of the fitted samples that :meth:`predict` calls unfamiliar, in
        ``(0, 0.5]``.
    reg_covar : float, default=1e-6
        Added to the covariances' diagonal, for responses that are (nearly) constant
        in some direction, as probabilities of a confident classifier are.
    tol : float, default=1e-3
        Convergence threshold of the mixture's EM fit.
    max_iter : int, default=200
        EM iterations.
    random_state : int, RandomState or None, default=None
        Seed of the mixtures' initialisation.
    batch_size : int, default=None
        Largest number of rows per classifier call.

    Attributes
    ----------
    mixtures_ : dict
        The fitted :class:`~sklearn.mixture.GaussianMixture` per class label, or
        under the key ``None`` when ``per_class=False``.
    offset_ : float
        ``score_samples`` threshold between unfamiliar and familiar.
    familiarity_ : ndarray of shape (n_samples,)
        :meth:`score_samples` of the fitted samples.
    labels_ : ndarray of shape (n_samples,) or None
        The class each fitted sample was modelled under (``per_class``).
    n_features_in_ : int
        Number of values in one sample.
    sample_shape_ : tuple of int
        Shape of one sample.
    n_responses_ : int
        Number of response values per sample.
    n_iter_ : int
        EM iterations of the mixture that needed most.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from didi import Familiarity
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=2000).fit(X, y)
    >>> familiarity = Familiarity(clf, per_class=True, random_state=0).fit(X, y)
    >>> (familiarity.predict(X) == -1).mean().round(2)
    np.float64(0.05)
    >>> found = familiarity.representatives(n=3)
    >>> len(found.least[0]), len(found.most[0])
    (3, 3)
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        responses: Any = "proba",
        n_components: int = 5,
        covariance_type: str = "diag",
        per_class: bool = False,
        contamination: float = 0.05,
        reg_covar: float = 1e-6,
        tol: float = 1e-3,
        max_iter: int = 200,
        random_state: Any = None,
        batch_size: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.responses = responses
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.per_class = per_class
        self.contamination = contamination
        self.reg_covar = reg_covar
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.batch_size = batch_size

    _parameter_constraints: ClassVar[dict] = {
        "estimator": [NONE, CLASSIFIER],
        "responses": RESPONSES,
        "n_components": [Interval(Integral, 1, None)],
        "covariance_type": [Options(COVARIANCE_TYPES)],
        "per_class": [BOOLEAN],
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
        "reg_covar": [Interval(Real, 0, None)],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None)],
        "random_state": RANDOM_STATE,
        "batch_size": [NONE, Interval(Integral, 1, None)],
    }

    def _responses(self, X: Any) -> np.ndarray:
        return responses_of(X, self.responses, self.estimator, self.batch_size, "Familiarity")

    def _classes_of(self, X: Any, y: Any, values: np.ndarray) -> np.ndarray | None:
        """The class each sample is scored under: ``y``, else the classifier's prediction
        (read off ``values`` when they are the probabilities, rather than asked again)."""
        if not self.per_class:
            return None
        if y is not None:
            y = np.asarray(y)
            if len(y) != len(X):
                raise ValueError(f"y has {len(y)} labels for {len(X)} samples.")
            return y
        if self.estimator is None:
            raise ValueError("Familiarity(per_class=True) needs labels y or the classifier.")
        proba = (
            values
            if isinstance(self.responses, str) and self.responses == "proba"
            else responses_of(X, "proba", self.estimator, self.batch_size, "Familiarity")
        )
        return class_names_of(self.estimator, proba.shape[1])[proba.argmax(axis=1)]

    def fit(self, X: Any, y: Any = None) -> Familiarity:
        r"""Fit the density model to the responses of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \*shape)
            Samples.
        y : array-like of shape (n_samples,), default=None
            Their labels, for ``per_class`` (the classifier's predictions otherwise).

        Returns
        -------
        self : Familiarity
        """
        validate_params(self)
        samples = check_samples(X, min_samples=2)
        values = self._responses(samples)
        labels = self._classes_of(samples, y, values)
        options = {
            "covariance_type": self.covariance_type,
            "reg_covar": self.reg_covar,
            "tol": self.tol,
            "max_iter": self.max_iter,
            "random_state": self.random_state,
        }
        mixtures: dict[Any, GaussianMixture]
        if labels is None:
            mixtures = {None: fit_mixture(values, self.n_components, **options)}
        else:
            found, counts = np.unique(labels, return_counts=True)
            if counts.min() < 2:
                raise ValueError(
                    f"Familiarity(per_class=True) needs at least 2 samples per class; class "
                    f"{found[counts.argmin()]!r} has {counts.min()}."
                )
            mixtures = {
                label: fit_mixture(values[labels == label], self.n_components, **options)
                for label in found
            }
        self.mixtures_, self.labels_ = mixtures, labels
        self.sample_shape_ = tuple(samples.shape[1:])
        self.n_features_in_ = int(np.prod(self.sample_shape_))
        self.n_responses_ = values.shape[1]
        self.n_iter_ = max(mixture.n_iter_ for mixture in mixtures.values())
        self.familiarity_ = self._score(values, labels)
        self.offset_ = float(np.percentile(self.familiarity_, 100 * self.contamination))
        return self

    def _score(self, values: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        if labels is None:
            return self.mixtures_[None].score_samples(values)
        if len(labels) and not np.isin(labels, np.array(list(self.mixtures_))).any():
            raise ValueError(
                f"None of the classes to score under ({np.unique(labels)[:5].tolist()} ...) "
                f"has a model; the models are for {list(self.mixtures_)[:5]} ...: pass y in "
                "the labels' own form."
            )
        scores = np.full(len(values), -np.inf)
        for label, mixture in self.mixtures_.items():
            chosen = labels == label
            if chosen.any():
                scores[chosen] = mixture.score_samples(values[chosen])
        return scores

    def score_samples(self, X: Any, y: Any = None) -> np.ndarray:
        r"""Log-density of each sample's responses under the model; higher is more familiar.

        With ``per_class``, a sample is scored by its class's mixture: its label in
        ``y``, else the classifier's prediction; a class the model was not fitted
        on scores ``-inf``, and labels none of which has a model are refused.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \*shape)
        y : array-like of shape (n_samples,), default=None
            Labels, for ``per_class``.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "mixtures_")
        validate_params(self)
        samples = check_samples(X)
        check_sample_shape(samples, self.sample_shape_, self)
        values = self._responses(samples)
        if values.shape[1] != self.n_responses_:
            raise ValueError(
                f"The responses have {values.shape[1]} values per sample; the model was "
                f"fitted on {self.n_responses_}."
            )
        return self._score(values, self._classes_of(samples, y, values))

    def decision_function(self, X: Any, y: Any = None) -> np.ndarray:
        """``score_samples(X) − offset_``: negative for unfamiliar samples."""
        return self.score_samples(X, y) - self.offset_

    def predict(self, X: Any, y: Any = None) -> np.ndarray:
        """``-1`` for unfamiliar samples, ``1`` for familiar ones."""
        return np.where(self.decision_function(X, y) < 0, -1, 1)

    def fit_predict(self, X: Any, y: Any = None, **kwargs: Any) -> np.ndarray:
        """Fit, and say which fitted samples are unfamiliar (``-1``)."""
        return np.where(self.fit(X, y).familiarity_ < self.offset_, -1, 1)

    def representatives(self, n: int = 5) -> Bunch:
        """The most and least familiar fitted samples, overall and per class.

        Parameters
        ----------
        n : int, default=5
            Samples per list.

        Returns
        -------
        Bunch
            ``most`` and ``least``: dicts from class label (``None`` for all
            samples) to the indices of the fitted samples, most (or least) familiar
            first. Per class when the model is (``per_class``); otherwise only
            ``None``.
        """
        check_is_fitted(self, "mixtures_")
        check_value("Familiarity.representatives", "n", n, [Interval(Integral, 1, None)])
        groups = {None: np.arange(len(self.familiarity_))}
        if self.labels_ is not None:
            groups.update(
                {label: np.flatnonzero(self.labels_ == label) for label in self.mixtures_}
            )
        most: dict[Any, np.ndarray] = {}
        least: dict[Any, np.ndarray] = {}
        for label, members in groups.items():
            order = members[np.argsort(-self.familiarity_[members], kind="stable")]
            most[label], least[label] = order[:n], order[::-1][:n]
        return Bunch(most=most, least=least)
