"""What every estimator of the suite that wraps a classifier shares."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_array


class PrefitClassifierMixin:
    """Keep the wrapped classifier as it is under :func:`sklearn.base.clone`.

    The classifier in ``estimator`` is fitted by the user and only ever queried:
    cloning it (as ``GridSearchCV`` does with every parameter) would hand an
    *unfitted* copy to the clone. The clone therefore shares the classifier object
    and copies every other parameter.
    """

    def __sklearn_clone__(self) -> Any:
        this: Any = self  # a BaseEstimator: the mixin comes before it in every class
        params = this.get_params(deep=False)
        estimator = params.pop("estimator")
        params = {name: clone(value, safe=False) for name, value in params.items()}
        return type(this)(estimator=estimator, **params)


def check_samples(X: Any, *, min_samples: int = 1) -> np.ndarray:
    """Validate input samples of shape ``(n, d)`` or ``(n, *shape)``.

    Floating dtypes are kept (the classifier sees the caller's precision); anything
    else becomes float64. NaN and infinity are refused.
    """
    return check_array(
        X,
        allow_nd=True,
        dtype=[np.float64, np.float32],
        ensure_all_finite=True,
        ensure_min_samples=min_samples,
        input_name="X",
    )


def check_sample_shape(X: np.ndarray, sample_shape: tuple[int, ...], owner: object) -> None:
    """Refuse samples whose shape differs from the fitted samples' shape."""
    if tuple(X.shape[1:]) == tuple(sample_shape):
        return
    if X.ndim == 2 and len(sample_shape) == 1:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(owner).__name__} is expecting "
            f"{sample_shape[0]} features as input."
        )
    raise ValueError(
        f"X has samples of shape {tuple(X.shape[1:])}, but this estimator was "
        f"fitted on samples of shape {tuple(sample_shape)}."
    )


def forwarded_params(
    source: BaseEstimator, target: type[BaseEstimator], **overrides: Any
) -> dict[str, Any]:
    """The parameters of estimator class ``target`` that ``source`` has too, and ``overrides``.

    An estimator that builds another one (``DecisionMap`` its ``FisherUMAP``,
    ``FisherUMAP`` its ``FisherJSMetric``) hands on every parameter the two share by
    name, so that a parameter added to both cannot be forgotten on the way.
    """
    own = source.get_params(deep=False)
    params = {name: own[name] for name in target._get_param_names() if name in own}
    params.update(overrides)
    return params


def check_enough_samples(n_samples: int, n_neighbors: int, owner: object) -> None:
    """Refuse fewer samples than ``n_neighbors + 1`` with the two ways out."""
    if n_samples < n_neighbors + 1:
        raise ValueError(
            f"{type(owner).__name__}: n_neighbors={n_neighbors} needs at least "
            f"{n_neighbors + 1} samples (each sample and its neighbours); got {n_samples}. "
            "Lower n_neighbors or pass more samples."
        )
