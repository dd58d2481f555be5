"""One inner layer of a network as the features of its samples."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from .._validation import NONE, Interval, Options, Satisfies, check_value
from ..introspection._units import unit_view

POOLINGS = ("mean", "max")


class LayerResponses:
    """A function ``X -> features``: what one layer of a network responds to the samples.

    Hand it to what takes a function of the samples, e.g.
    ``Familiarity(responses=LayerResponses(clf, "features.3"))`` to model how
    familiar the samples are to that layer rather than to the classifier's output.
    It is picklable (when the classifier is), so it travels with the estimator it
    is part of.

    Parameters
    ----------
    classifier : TorchClassifier
        The network; anything with ``unit_responses(X, layers)`` does.
    layer : str
        The layer, as ``module.named_modules()`` names it.
    pooling : {"mean", "max"} or None, default="mean"
        How a unit's positions (a convolution's feature map) become one value:
        their mean (global average pooling) or maximum; ``None`` keeps every
        value, flattened. Responses without positions are kept as they are.
    unit_axis : int, default=1
        The axis of the units in the layer's output: 1 in PyTorch's channels-first
        layout, -1 for channels-last (e.g. a transformer's ``(batch, tokens,
        hidden)``).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from didi import Familiarity
    >>> from didi.torch import LayerResponses, TorchClassifier
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(36, 3)
    ... )
    >>> clf = TorchClassifier(net, input_shape=(1, 5, 5))
    >>> X = np.random.default_rng(0).normal(size=(40, 25)).astype(np.float32)
    >>> LayerResponses(clf, "1")(X).shape  # 4 channels of 3×3, averaged
    (40, 4)
    >>> familiarity = Familiarity(responses=LayerResponses(clf, "1"), random_state=0).fit(X)
    >>> familiarity.n_responses_
    4
    """

    def __init__(
        self, classifier: Any, layer: str, *, pooling: str | None = "mean", unit_axis: int = 1
    ) -> None:
        owner = "LayerResponses"
        check_value(owner, "classifier", classifier, [
            Satisfies(lambda value: hasattr(value, "unit_responses"),
                      "a classifier with unit_responses(X, layers), e.g. a TorchClassifier"),
        ])  # fmt: skip
        check_value(owner, "layer", layer, [Satisfies(lambda v: isinstance(v, str), "a str")])
        check_value(owner, "pooling", pooling, [NONE, Options(POOLINGS)])
        check_value(owner, "unit_axis", unit_axis, [Interval(Integral, None, None)])
        self.classifier = classifier
        self.layer = layer
        self.pooling = pooling
        self.unit_axis = unit_axis

    def __call__(self, X: Any) -> np.ndarray:
        """The layer's responses to ``X``, one row of features per sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            Float64; ``n_features`` is the number of units when pooled.
        """
        values = self.classifier.unit_responses(X, [self.layer])[self.layer]
        if self.pooling is None or values.ndim <= 2:
            return values.reshape(len(values), -1)
        last = values.ndim - 1
        check_value(f"LayerResponses (layer {self.layer!r} of shape {values.shape})",
                    "unit_axis", self.unit_axis,
                    [Interval(Integral, 1, last), Interval(Integral, -last, -1)])  # fmt: skip
        units = unit_view(values, int(self.unit_axis))
        return units.mean(axis=2) if self.pooling == "mean" else units.max(axis=2)

    def __repr__(self) -> str:
        return (
            f"LayerResponses({self.classifier!r}, {self.layer!r}, pooling={self.pooling!r}, "
            f"unit_axis={self.unit_axis!r})"
        )
