"""What the introspection estimators look at: a classifier's responses to the samples."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._base import check_samples
from .._proba import resolve_proba_function
from .._validation import Options, Satisfies

#: ``responses`` options: the classifier's probabilities, the samples themselves, or a
#: function of the samples (e.g. a network layer's activations).
RESPONSES = [
    Options(("proba", "samples")),
    Satisfies(callable, "a callable f(X) -> features of shape (n_samples, ...)"),
]


def responses_of(
    X: Any, responses: str | Callable, estimator: Any, batch_size: int | None, owner: str
) -> np.ndarray:
    """The ``(n_samples, n_features)`` float array an estimator works on."""
    X = check_samples(X)
    if responses == "samples":
        values = X.reshape(len(X), -1)
    elif responses == "proba":
        if estimator is None:
            raise ValueError(
                f"{owner} with responses='proba' needs the classifier: pass estimator=..., "
                "or responses='samples' (or a function) to look at something else."
            )
        values = resolve_proba_function(estimator, batch_size, X.shape[1:])(X)
    elif callable(responses):
        values = np.asarray(responses(X))
        if values.ndim < 1 or len(values) != len(X):
            raise ValueError(
                f"{owner}'s responses function returned shape {values.shape} for {len(X)} samples."
            )
        values = values.reshape(len(X), -1)
    else:
        raise ValueError(f"{owner}: responses must be 'proba', 'samples' or a function.")
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{owner}'s responses contain NaN or infinity.")
    return values
