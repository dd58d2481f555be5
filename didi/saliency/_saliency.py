"""Why a prediction is what it is: saliency of samples and of map positions.

:func:`saliency` explains the classifier's score for a target class at each sample
in the four panels of the MNIST introspection pipeline: the *saliency* at the
sample, the *baseline* saliency at an empty input for the same class, their
*delta* (what the sample adds to what the network does anyway) and the
*overlay*, ``delta × sample`` (where the network looks on this sample).
:func:`map_saliency` does the same for the samples π⁻¹ synthesises at positions of
a decision map: why the model calls that point of the map what it does.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from .._base import check_samples
from .._proba import class_names_of, resolve_proba_function
from .._validation import NONE, Constraint, Interval, Options, Satisfies, check_value
from ._perturbation import (
    finite_difference_rows,
    finite_difference_saliency,
    occlusion_rows,
    occlusion_saliency,
    occlusion_windows,
)

#: Methods that back-propagate through the model (it must offer ``score_gradients``).
GRADIENT_METHODS = ("gradient", "gradient_x_input", "integrated_gradients")

#: Methods that need only ``predict_proba``.
PERTURBATION_METHODS = ("occlusion", "finite_difference")

METHODS = ("auto", *GRADIENT_METHODS, *PERTURBATION_METHODS)

#: Functions of the target class's output that can be explained.
SCORES = ("log_proba", "proba", "logit")

#: Smallest probability whose log is taken (a probability of 0 has log −∞).
TINY = 1e-300

#: Default bound on the inputs evaluated.
MAX_ROWS = 1_000_000

_SHAPE = Satisfies(
    lambda v: (
        isinstance(v, (tuple, list)) and all(Interval(Integral, 1, None).accepts(s) for s in v)
    ),
    "a tuple of positive ints",
)

#: What :func:`saliency` accepts, checked before any classifier row is spent.
OPTIONS: dict[str, list[Constraint]] = {
    "method": [Options(METHODS)],
    "score": [Options(SCORES)],
    "baseline": [
        Options(("zeros", "mean")),
        Interval(Real, None, None),
        Satisfies(
            lambda v: isinstance(v, (np.ndarray, list, tuple)), "an array of a sample's shape"
        ),
    ],
    "window": [NONE, Interval(Integral, 1, None), _SHAPE],
    "stride": [NONE, Interval(Integral, 1, None), _SHAPE],
    "image_shape": [NONE, _SHAPE],
    "epsilon": [NONE, Interval(Real, 0, None, closed="neither")],
    "n_steps": [Interval(Integral, 2, None)],
    "max_rows": [NONE, Interval(Integral, 1, None)],
    "batch_size": [NONE, Interval(Integral, 1, None)],
}


def saliency(
    estimator: Any,
    X: Any,
    *,
    method: str = "auto",
    target: Any = None,
    score: str = "log_proba",
    baseline: Any = "zeros",
    window: int | tuple[int, ...] | None = None,
    stride: int | tuple[int, ...] | None = None,
    image_shape: tuple[int, ...] | None = None,
    epsilon: float | None = None,
    n_steps: int = 50,
    max_rows: int | None = MAX_ROWS,
    batch_size: int | None = None,
) -> Bunch:
    """Which input features make the classifier give each sample its score.

    Parameters
    ----------
    estimator : object or callable
        The classifier: anything with ``predict_proba`` or a function ``f(X) ->
        probabilities``. Gradient methods need :class:`didi.torch.TorchClassifier`
        (or :class:`didi.keras.KerasModelClassifier` on Keras's torch backend).
    X : array-like of shape (n_samples, ...)
        The samples, in the shape the classifier takes.
    method : {"auto", "gradient", "gradient_x_input", "integrated_gradients", \
"occlusion", "finite_difference"}, default="auto"
        - ``"gradient"``: ``∂s/∂x`` by back-propagation (Simonyan, Vedaldi &
          Zisserman, 2014);
        - ``"gradient_x_input"``: ``x ⊙ ∂s/∂x``;
        - ``"integrated_gradients"``: Integrated Gradients from the baseline, by
          captum (``pip install 'didi[captum]'``);
        - ``"occlusion"``: the mean drop of ``s`` when a window of features is set
          to the baseline (any classifier; ``n × (1 + windows)`` rows);
        - ``"finite_difference"``: central differences of ``s`` (any classifier;
          ``n × (2 d + 1)`` rows for ``d`` features);
        - ``"auto"``: ``"gradient"`` where the classifier offers gradients,
          ``"finite_difference"`` otherwise.
    target : label or array-like of shape (n_samples,), default=None
        The class whose score is explained; ``None`` takes each sample's predicted
        class.
    score : {"log_proba", "proba", "logit"}, default="log_proba"
        ``s``: the log of the target's probability, the probability, or the
        network's logit (gradient methods on a model returning logits).
    baseline : {"zeros", "mean"}, float or array-like, default="zeros"
        The empty input: the pipeline's baseline image (zeros), the samples'
        mean, a constant, or a sample. Occlusion fills windows with it and
        Integrated Gradients starts from it.
    window, stride : int or tuple of int, default=None
        Occlusion's window and step over ``image_shape`` (or the samples' own
        shape). ``None``: one feature for flat samples; for images, about a
        seventh of each of the last two sides (4 × 4 on 28 × 28) and all
        channels, with ``stride`` equal to the window.
    image_shape : tuple of int, default=None
        The shape occlusion's windows slide over, e.g. ``(8, 8)`` for flat rows
        of 64 pixels; the classifier still receives the samples as they are.
    epsilon : float, default=None
        Finite differences' step; ``None`` takes ``10⁻³ ×`` the samples' standard
        deviation (``10⁻³`` if they are constant).
    n_steps : int, default=50
        Integration points of Integrated Gradients.
    max_rows : int or None, default=1_000_000
        Most inputs the model may evaluate (forward passes, with a backward pass
        for gradient methods). A larger cost is refused before anything runs,
        with the cost in the message. ``None`` sets no bound.
    batch_size : int, default=None
        Rows per ``predict_proba`` call; ``None`` picks one by sample size.

    Returns
    -------
    Bunch
        - ``saliency``: the attribution at each sample, shaped like ``X``;
        - ``baseline_saliency``: the attribution at the baseline for the same
          target class;
        - ``delta``: ``saliency − baseline_saliency``;
        - ``overlay``: ``delta × X``;
        - ``samples``: ``X``; ``proba``: its probabilities; ``target`` (labels)
          and ``target_index`` (columns); ``classes``;
        - ``method``, ``score`` and ``n_rows``, the inputs the model evaluated.

    See Also
    --------
    map_saliency : The same for the samples π⁻¹ synthesises at map positions.
    didi.plotting.SaliencyDisplay : Draws the result.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from didi.saliency import saliency
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> clf = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    >>> found = saliency(clf, X[:2], method="finite_difference")
    >>> found.saliency.shape, found.n_rows
    ((2, 3), 23)
    >>> int(np.abs(found.saliency).argmax(axis=1)[0])  # feature 0 decides
    0
    """
    options = dict(
        method=method, score=score, baseline=baseline, window=window, stride=stride,
        image_shape=image_shape, epsilon=epsilon, n_steps=n_steps, max_rows=max_rows,
        batch_size=batch_size,
    )  # fmt: skip
    for name, value in options.items():
        check_value("saliency", name, value, OPTIONS[name])
    X = check_samples(X)
    proba_fn = resolve_proba_function(estimator, batch_size, X.shape[1:])
    proba = proba_fn(X)
    classes = class_names_of(estimator, proba.shape[1])
    target_index = _target_indices(target, proba, classes)
    method = _resolve_method(estimator, method, score)
    reference = _baseline(baseline, X)
    found = _attribute(estimator, proba_fn, X, target_index, reference, method, options)
    delta = found.saliency - found.baseline_saliency
    return Bunch(
        saliency=found.saliency,
        baseline_saliency=found.baseline_saliency,
        delta=delta,
        overlay=delta * X,
        samples=X,
        proba=proba,
        target=classes[target_index],
        target_index=target_index,
        classes=classes,
        method=method,
        score=score,
        n_rows=len(X) + found.n_rows,
    )


def map_saliency(decision_map: Any, positions: Any, **options: Any) -> Bunch:
    """Saliency of the samples π⁻¹ synthesises at positions of a fitted map.

    Why does the model call this point of the map what it does: the positions go
    through the map's inverse projection, and :func:`saliency` explains the
    classifier's score at the synthesised samples.

    Parameters
    ----------
    decision_map : DecisionMap
        A fitted map; its classifier is explained.
    positions : array-like of shape (n_positions, 2)
        Points of the map.
    **options
        Options of :func:`saliency` (``method``, ``target``, ``baseline``, ...).

    Returns
    -------
    Bunch
        What :func:`saliency` returns, plus ``positions``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from didi import DecisionMap
    >>> from didi.saliency import map_saliency
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=2000).fit(X[200:], y[200:])
    >>> dmap = DecisionMap(clf, resolution=20, random_state=0).fit(X[:150], y[:150])
    >>> found = map_saliency(dmap, dmap.embedding_[:2], image_shape=(8, 8), method="occlusion")
    >>> found.saliency.shape
    (2, 64)
    """
    check_is_fitted(decision_map, "embedding_")
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise ValueError(f"positions must have shape (n_positions, 2); got {positions.shape}.")
    options.setdefault("batch_size", decision_map.batch_size)
    found = saliency(decision_map.estimator, decision_map.inverse_transform(positions), **options)
    found.positions = positions
    return found


def _target_indices(target: Any, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The column of each sample's target class: its predicted one, or the given label's."""
    if target is None:
        return proba.argmax(axis=1)
    labels = np.asarray(target)
    labels = np.full(len(proba), labels) if labels.ndim == 0 else labels
    if labels.shape != (len(proba),):
        raise ValueError(
            f"target must be one label or one per sample ({len(proba)}); got shape {labels.shape}."
        )
    lookup = {value: k for k, value in enumerate(classes.tolist())}
    unknown = sorted({value for value in labels.tolist() if value not in lookup}, key=str)
    if unknown:
        raise ValueError(
            f"target {unknown[:5]} is not among the classifier's classes {classes.tolist()[:10]}."
        )
    return np.array([lookup[value] for value in labels.tolist()], dtype=np.int64)


def _resolve_method(estimator: Any, method: str, score: str) -> str:
    """``"auto"`` made concrete, and the method checked against what the classifier offers."""
    has_gradients = callable(getattr(estimator, "score_gradients", None))
    if method == "auto":
        method = "gradient" if has_gradients else "finite_difference"
    if method in GRADIENT_METHODS and not has_gradients:
        raise ValueError(
            f"method={method!r} back-propagates through the model, which "
            f"{type(estimator).__name__} does not offer; wrap a PyTorch module in "
            "didi.torch.TorchClassifier, or use method='occlusion' or 'finite_difference'."
        )
    if method in PERTURBATION_METHODS and score == "logit":
        raise ValueError(
            f"score='logit' needs the network's raw outputs; method={method!r} sees only "
            "predict_proba. Use score='log_proba' or 'proba'."
        )
    return method


def _baseline(baseline: Any, X: np.ndarray) -> np.ndarray:
    """The baseline as one sample of ``X``'s shape and float dtype."""
    dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
    if isinstance(baseline, str):
        value = np.zeros(X.shape[1:]) if baseline == "zeros" else X.mean(axis=0)
    elif np.ndim(baseline) == 0:
        value = np.full(X.shape[1:], float(baseline))
    else:
        value = np.asarray(baseline, dtype=np.float64)
        if value.size != int(np.prod(X.shape[1:])):
            raise ValueError(f"baseline has {value.size} values; a sample has shape {X.shape[1:]}.")
        value = value.reshape(X.shape[1:])
    if not np.all(np.isfinite(value)):
        raise ValueError("baseline contains NaN or infinity.")
    return value.astype(dtype)


def _attribute(estimator, proba_fn, X, targets, reference, method: str, options: dict) -> Bunch:
    """Saliency at the samples and at the baseline, with the rows it cost."""
    if method in GRADIENT_METHODS:
        return _gradient_attribution(estimator, X, targets, reference, method, options)
    score = options["score"]

    def score_of(rows: np.ndarray, row_targets: np.ndarray) -> np.ndarray:
        picked = proba_fn(rows)[np.arange(len(rows)), row_targets]
        return np.log(np.maximum(picked, TINY)) if score == "log_proba" else picked

    start = proba_fn.n_rows
    if method == "occlusion":
        view = _occlusion_view(X, options["image_shape"])
        windows = _windows(view, options["window"], options["stride"])
        _check_cost(occlusion_rows(len(X), len(windows)), options["max_rows"], method, len(X))

        def view_score(rows, row_targets):
            return score_of(rows.reshape(-1, *X.shape[1:]), row_targets)

        found, _ = occlusion_saliency(
            view_score, X.reshape(len(X), *view), targets, reference.reshape(view), windows
        )
        # Occluding the baseline by itself changes nothing: its saliency is zero.
        return Bunch(saliency=found.reshape(X.shape), baseline_saliency=np.zeros(X.shape),
                     n_rows=proba_fn.n_rows - start)  # fmt: skip
    unique = np.unique(targets)
    n_features = int(np.prod(X.shape[1:]))
    cost = finite_difference_rows(len(X) + len(unique), n_features)
    _check_cost(cost, options["max_rows"], method, len(X))
    epsilon = options["epsilon"] or _default_epsilon(X)
    found, _ = finite_difference_saliency(score_of, X, targets, epsilon)
    at_baseline, _ = finite_difference_saliency(
        score_of, np.repeat(reference[None], len(unique), axis=0), unique, epsilon
    )
    per_sample = at_baseline[np.searchsorted(unique, targets)]
    return Bunch(saliency=found, baseline_saliency=per_sample, n_rows=proba_fn.n_rows - start)


def _gradient_attribution(estimator, X, targets, reference, method: str, options: dict) -> Bunch:
    """Back-propagated saliency at the samples and at the baseline (one pass per class)."""
    unique = np.unique(targets)
    score = options["score"]
    if method == "integrated_gradients":
        n_steps = options["n_steps"]
        _check_cost(len(X) * n_steps, options["max_rows"], method, len(X))
        found = estimator.integrated_gradients(X, targets, reference, score=score, n_steps=n_steps)
        # The path from the baseline to itself is empty: its attribution is zero.
        return Bunch(saliency=found, baseline_saliency=np.zeros(X.shape), n_rows=len(X) * n_steps)
    _check_cost(len(X) + len(unique), options["max_rows"], method, len(X))
    gradient, _ = estimator.score_gradients(X, targets, score=score)
    references = np.repeat(reference[None], len(unique), axis=0)
    at_baseline, _ = estimator.score_gradients(references, unique, score=score)
    at_baseline = at_baseline[np.searchsorted(unique, targets)]
    if method == "gradient_x_input":
        gradient, at_baseline = gradient * X, at_baseline * reference
    return Bunch(saliency=gradient, baseline_saliency=at_baseline, n_rows=len(X) + len(unique))


def _occlusion_view(X: np.ndarray, image_shape: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape occlusion windows slide over."""
    if image_shape is None:
        return tuple(X.shape[1:])
    shape = tuple(int(s) for s in image_shape)
    if int(np.prod(shape)) != int(np.prod(X.shape[1:])):
        raise ValueError(
            f"image_shape={shape} holds {int(np.prod(shape))} values; a sample has "
            f"shape {X.shape[1:]}."
        )
    return shape


def _windows(view: tuple[int, ...], window: Any, stride: Any) -> list[tuple[slice, ...]]:
    """Occlusion's windows over ``view``: given, or about a seventh of each image side."""
    if window is None:
        if len(view) == 1:
            size: tuple[int, ...] = (1,)
        else:  # leading axes (channels) whole, the last two in about 7 × 7 windows
            size = (*view[:-2], *(max(1, round(side / 7)) for side in view[-2:]))
    else:
        size = _per_axis(window, view, "window")
    step = size if stride is None else _per_axis(stride, view, "stride")
    if any(w > s for w, s in zip(size, view, strict=True)):
        raise ValueError(f"window {size} is larger than the samples' shape {view}.")
    if any(s > w for s, w in zip(step, size, strict=True)):
        raise ValueError(
            f"stride {step} is longer than the window {size}: features between windows "
            "would go unexplained."
        )
    return occlusion_windows(view, size, step)


def _per_axis(value: Any, view: tuple[int, ...], name: str) -> tuple[int, ...]:
    """An int for every axis, or a tuple with one entry per axis."""
    sizes = (int(value),) * len(view) if np.ndim(value) == 0 else tuple(int(v) for v in value)
    if len(sizes) != len(view):
        raise ValueError(f"{name} {sizes} needs one entry per axis of the shape {view}.")
    return sizes


def _default_epsilon(X: np.ndarray) -> float:
    """Finite differences' step: small against the samples' spread."""
    spread = float(np.std(X))
    return 1e-3 * spread if spread > 0 else 1e-3


def _check_cost(rows: int, max_rows: int | None, method: str, n_samples: int) -> None:
    """Refuse, before any work, a method that would evaluate more than ``max_rows`` inputs."""
    rows += n_samples  # the samples' own probabilities, which name their predicted class
    if max_rows is not None and rows > max_rows:
        raise ValueError(
            f"saliency(method={method!r}) would evaluate {rows:,} inputs for {n_samples} "
            f"samples, more than max_rows={max_rows:,}. Raise max_rows, explain fewer "
            "samples, or use a cheaper method (a gradient method, or occlusion with a "
            "larger window)."
        )
