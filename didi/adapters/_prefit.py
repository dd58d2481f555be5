"""What the deep-learning adapters share: the prefit estimator shell and output handling.

An adapter wraps a model that is already trained, so ``fit`` learns nothing; it
validates the parameters, like scikit-learn's ``FrozenEstimator``, and the adapter
answers ``predict_proba`` straight away.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .._validation import NONE, Interval, Options, Satisfies, validate_params

#: What a model's last layer may return, and how it becomes probabilities.
OUTPUTS = ("logits", "probabilities", "log_probabilities")


def _is_shape(value: Any) -> bool:
    """One positive integer, or a sequence of them (booleans are not integers)."""
    sizes = list(value) if isinstance(value, (tuple, list, np.ndarray)) else [value]
    return (
        np.ndim(value) <= 1
        and len(sizes) > 0
        and all(Interval(Integral, 1, None).accepts(size) for size in sizes)
    )


def model_input_shape(sample_shape: tuple[int, ...], input_shape: Any) -> tuple[int, ...]:
    """The shape one sample takes when handed to the model.

    ``input_shape=None`` keeps the samples' own shape; otherwise the samples (for
    instance flat rows of 784 pixels) are reshaped to it (for instance ``(1, 28, 28)``).
    """
    if input_shape is None:
        return tuple(sample_shape)
    shape = tuple(int(s) for s in np.atleast_1d(input_shape))
    if int(np.prod(shape)) != int(np.prod(sample_shape)):
        raise ValueError(
            f"input_shape={shape} holds {int(np.prod(shape))} values, but the samples "
            f"have shape {tuple(sample_shape)} ({int(np.prod(sample_shape))} values)."
        )
    return shape


def proba_from_outputs(raw: np.ndarray, output: str) -> np.ndarray:
    """Class probabilities (float64, rows summing to 1) from a model's raw outputs.

    One output column is a binary model's score for the positive class and becomes
    the two columns ``[1 − p, p]``.
    """
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim == 1:
        raw = raw[:, None]
    if raw.ndim != 2:
        raise ValueError(
            f"The model returned outputs of shape {raw.shape}; expected "
            "(n_samples, n_classes) or (n_samples,) for a binary model."
        )
    if output == "log_probabilities":
        raw = np.exp(raw)
    if raw.shape[1] == 1:
        if output == "logits":
            positive = 0.5 * (1.0 + np.tanh(0.5 * raw))  # the logistic function, stably
        else:
            positive = raw
        return np.hstack([1.0 - positive, positive])
    if output == "logits":
        raw = raw - raw.max(axis=1, keepdims=True)
        np.exp(raw, out=raw)
        raw /= raw.sum(axis=1, keepdims=True)
    return raw


class PrefitClassifier(ClassifierMixin, BaseEstimator):
    """Shell of an adapter around a trained model: nothing to fit, ``classes_`` known.

    Subclasses implement ``predict_proba``.
    """

    def fit(self, X: Any = None, y: Any = None) -> PrefitClassifier:
        """Check the parameters; the wrapped model is already trained.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...), default=None
            When given, the model classifies its first sample, which tells
            ``classes_`` the number of classes (scikit-learn's scorers read it).
        y : ignored
            Accepted so that the adapter fits in a Pipeline.

        Returns
        -------
        self
        """
        self._check_params()
        self.__dict__.pop("_n_columns", None)
        if X is not None:
            self.predict_proba(np.asarray(X)[:1])
        return self

    def set_params(self, **params: Any) -> PrefitClassifier:
        """Set parameters; the number of classes is learnt again from the next call."""
        self.__dict__.pop("_n_columns", None)
        return super().set_params(**params)

    #: Constraints the adapters share; each adds its model's own.
    _parameter_constraints: ClassVar[dict] = {
        "output": [Options(OUTPUTS)],
        "input_shape": [NONE, Satisfies(_is_shape, "a positive integer or a tuple of them")],
        "classes": [NONE, Satisfies(lambda value: np.ndim(value) == 1, "a 1-D array of labels")],
        "batch_size": [Interval(Integral, 1, None)],
    }

    def _check_params(self) -> None:
        validate_params(self)

    def __sklearn_is_fitted__(self) -> bool:
        return True

    @property
    def classes_(self) -> np.ndarray:
        """The class labels: ``classes`` when given, else ``0 … n_classes − 1``."""
        if self.classes is not None:
            return np.asarray(self.classes)
        n_classes = getattr(self, "_n_columns", None)
        if n_classes is None:
            raise AttributeError(
                "classes_ is known once the model has been called; pass classes=... "
                "to name them up front."
            )
        return np.arange(n_classes)

    def _remember_columns(self, proba: np.ndarray) -> np.ndarray:
        n_columns = proba.shape[1]
        if self.classes is not None and len(self.classes) != n_columns:
            raise ValueError(
                f"The model returned {n_columns} class columns, but classes has "
                f"{len(self.classes)} labels."
            )
        self._n_columns = n_columns
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class label of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
