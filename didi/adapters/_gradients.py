"""Gradients of a network's class scores with respect to its inputs, in PyTorch.

Shared by :class:`~didi.torch.TorchClassifier` and, on Keras's torch backend,
:class:`~didi.keras.KerasModelClassifier`: both hand over a ``forward`` function
from a batch of inputs (in the model's own shape) to its raw outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .._devices import numpy_to_torch

#: Which function of the model's outputs is differentiated: the log of the target
#: class's probability, the probability itself, or the model's raw score (logit).
SCORES = ("log_proba", "proba", "logit")


def torch_decision_scores(raw: torch.Tensor, output: str, dtype: torch.dtype) -> torch.Tensor:
    """Per-class scores of a module's raw outputs whose argmax is its label, with
    differences that stay smooth where probabilities saturate: logits and
    log-probabilities as they are, the log of probabilities; a single output column
    (a binary model's positive class) becomes two."""
    raw = raw.to(dtype)
    if raw.ndim == 1:
        raw = raw[:, None]
    if raw.shape[1] == 1:
        if output == "logits":  # log-odds: the two classes' logits differ by it
            return torch.cat([torch.zeros_like(raw), raw], dim=1)
        if output == "log_probabilities":
            return torch.cat([torch.log(-torch.expm1(raw).clamp_max(-1e-300)), raw], dim=1)
        raw = torch.cat([1.0 - raw, raw], dim=1)
    if output == "probabilities":
        return torch.log(raw.clamp_min(torch.finfo(dtype).tiny))
    return raw


def class_scores(raw: torch.Tensor, output: str, score: str) -> torch.Tensor:
    """Float64 per-class scores ``(batch, n_classes)`` from a model's raw outputs.

    ``log_proba`` is taken as ``log_softmax`` of the logits (or log-probabilities),
    not as the log of a probability, so that it keeps its gradient where the
    probability rounds to 1. A single output column (a binary model's positive
    class) becomes two columns, as in :func:`torch_decision_scores`.
    """
    if score == "logit" and output != "logits":
        raise ValueError(
            f"score='logit' needs a model that returns logits, but output={output!r}; "
            "use score='log_proba' or 'proba'."
        )
    decision = torch_decision_scores(raw, output, torch.float64)
    if score == "logit":
        return decision
    log_proba = torch.log_softmax(decision, dim=1)
    return log_proba if score == "log_proba" else log_proba.exp()


def input_gradients(
    forward: Callable[[torch.Tensor], torch.Tensor],
    X: np.ndarray,
    target_index: np.ndarray,
    *,
    output: str,
    score: str,
    device: torch.device,
    dtype: torch.dtype,
    shape: tuple[int, ...],
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``∂ score_target / ∂ x`` for every sample, and the scores themselves.

    One forward and one backward pass per sample (in batches): the samples of a
    batch do not interact in an evaluating network, so the gradient of the batch's
    summed scores holds each sample's own gradient.
    """
    gradients, values = [], []
    targets = numpy_to_torch(target_index, dtype=torch.int64)
    for start in range(0, len(X), batch_size):
        x = numpy_to_torch(X[start : start + batch_size], device, dtype).requires_grad_(True)
        scores = class_scores(forward(x.reshape(-1, *shape)), output, score)
        picked = scores.gather(1, targets[start : start + len(x), None].to(device))[:, 0]
        (gradient,) = torch.autograd.grad(picked.sum(), x)
        gradients.append(gradient.detach().to("cpu", torch.float64))
        values.append(picked.detach().to("cpu"))
    return torch.cat(gradients).numpy().reshape(X.shape), torch.cat(values).numpy()


def integrated_gradients(
    forward: Callable[[torch.Tensor], torch.Tensor],
    X: np.ndarray,
    target_index: np.ndarray,
    baseline: np.ndarray,
    *,
    output: str,
    score: str,
    device: torch.device,
    dtype: torch.dtype,
    shape: tuple[int, ...],
    batch_size: int,
    n_steps: int,
) -> np.ndarray:
    """Integrated Gradients (Sundararajan, Taly & Yan, ICML 2017) by captum.

    Captum's :class:`captum.attr.IntegratedGradients` integrates the gradient of
    the target's score along the straight path from ``baseline`` to each sample
    (Gauss-Legendre, ``n_steps`` points) and multiplies by ``x − baseline``.
    """
    try:
        from captum.attr import IntegratedGradients
    except ImportError as error:
        raise ImportError(
            "method='integrated_gradients' uses captum: pip install 'didi[captum]'."
        ) from error

    def scores_of(x: torch.Tensor) -> torch.Tensor:
        return class_scores(forward(x.reshape(-1, *shape)), output, score)

    method = IntegratedGradients(scores_of)
    reference = numpy_to_torch(baseline, device, dtype)
    attributions = []
    for start in range(0, len(X), batch_size):
        x = numpy_to_torch(X[start : start + batch_size], device, dtype)
        targets = numpy_to_torch(target_index[start : start + len(x)], dtype=torch.int64)
        found = method.attribute(
            x,
            baselines=reference[None].expand_as(x),
            target=targets.to(device),
            n_steps=n_steps,
            internal_batch_size=batch_size,
        )
        attributions.append(found.detach().to("cpu", torch.float64))
    return torch.cat(attributions).numpy().reshape(X.shape)
