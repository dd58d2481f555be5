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
from .._frames import FrameSpec
from .._proba import class_names_of, resolve_proba_function
from .._validation import NONE, Constraint, Interval, Options, Satisfies, check_value
from ._perturbation import finite_difference_saliency, occlusion_saliency, occlusion_windows

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
          to the baseline (any classifier);
        - ``"finite_difference"``: central differences of ``s`` (any classifier);
        - ``"auto"``: ``"gradient"`` where the classifier offers gradients,
          ``"finite_difference"`` otherwise.

        What each costs is :func:`saliency_cost`: for ``n`` samples of ``d``
        features and ``k`` target classes, ``n`` rows for the samples'
        probabilities, then ``n + k`` passes (gradient methods), ``n × n_steps``
        (Integrated Gradients), ``n ×`` windows (occlusion) or ``2d (n + k)``
        (finite differences).
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
        Occlusion's window and step over ``image_shape``. ``None``: one feature
        for flat samples; for images, about a seventh of each side (4 × 4 on
        28 × 28) and all channels (first or last axis), with ``stride`` equal to
        the window.
    image_shape : tuple of int, default=None
        The shape occlusion's windows slide over, e.g. ``(8, 8)`` for flat rows
        of 64 pixels; ``None`` takes a network adapter's ``input_shape`` for flat
        samples, else the samples' own shape. The classifier still receives the
        samples as they are.
    epsilon : float, default=None
        Finite differences' step; ``None`` takes ``10⁻³ ×`` the samples' standard
        deviation (``10⁻³`` if they are constant).
    n_steps : int, default=50
        Integration points of Integrated Gradients.
    max_rows : int or None, default=1_000_000
        Most inputs the model may evaluate (forward passes, with a backward pass
        for gradient methods). A run whose cost could exceed it (counting one
        target class per sample, or per class where the classifier has
        ``classes_``) is refused before anything runs, with the cost in the
        message. ``None`` sets no bound.
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
    didi.SaliencyDisplay : Draws the result.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from didi.saliency import saliency
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> clf = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    >>> found = saliency(clf, X[:2], method="finite_difference")
    >>> found.saliency.shape, found.n_rows  # 2 + 2·3·(2 samples + 1 class)
    ((2, 3), 20)
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
    frame = FrameSpec.of(X)
    X = check_samples(X)
    method = options["method"] = _resolve_method(estimator, method, score)
    windows = _plan(estimator, X, method, options)
    proba_fn = resolve_proba_function(estimator, batch_size, X.shape[1:], frame)
    proba = proba_fn(X)
    classes = class_names_of(estimator, proba.shape[1])
    target_index = _target_indices(target, proba, classes)
    reference = _baseline(baseline, X)
    found = _attribute(estimator, proba_fn, X, proba, target_index, reference, windows, options)
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


def saliency_cost(
    method: str, n_samples: int, n_targets: int, n_features: int, *, n_windows: int = 0,
    n_steps: int = 50,
) -> int:  # fmt: skip
    """Inputs :func:`saliency` hands the model: the samples' probabilities, then

    * gradient methods: a forward and backward pass per sample and per target class
      (at the baseline);
    * Integrated Gradients: ``n_steps`` passes per sample;
    * occlusion: one row per sample and window;
    * finite differences: two rows per feature, for every sample and for the
      baseline of every target class.
    """
    n, k = n_samples, n_targets
    per_method = {
        "gradient": n + k,
        "gradient_x_input": n + k,
        "integrated_gradients": n * n_steps,
        "occlusion": n * n_windows,
        "finite_difference": 2 * n_features * (n + k),
    }
    return n + per_method[method]


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
    samples = decision_map.inverse_transform(positions)
    frame = getattr(decision_map, "_frame", None)
    if frame is not None:  # the classifier reads columns by name: hand it a DataFrame
        samples = frame.frame(samples.reshape(len(samples), -1))
    found = saliency(decision_map.estimator, samples, **options)
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


def offers_gradients(estimator: Any) -> bool:
    """Whether the classifier back-propagates: it has ``score_gradients`` and does not
    say it cannot use them (a Keras model off the torch backend)."""
    return callable(getattr(estimator, "score_gradients", None)) and bool(
        getattr(estimator, "supports_gradients", True)
    )


def _resolve_method(estimator: Any, method: str, score: str) -> str:
    """``"auto"`` made concrete, and the method checked against what the classifier offers."""
    has_gradients = offers_gradients(estimator)
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


def _plan(estimator: Any, X: np.ndarray, method: str, options: dict):
    """Occlusion's windows, and the cost checked against ``max_rows`` before any row is
    spent (with the target classes at their most: one per sample, or per class)."""
    windows = None
    if method == "occlusion":
        view = _occlusion_view(X, options["image_shape"], estimator)
        windows = (view, _windows(view, options["window"], options["stride"]))
    n = len(X)
    known_classes = len(getattr(estimator, "classes_", ())) or n
    cost = saliency_cost(
        method, n, min(n, known_classes), int(np.prod(X.shape[1:])),
        n_windows=0 if windows is None else len(windows[1]), n_steps=options["n_steps"],
    )  # fmt: skip
    max_rows = options["max_rows"]
    if max_rows is not None and cost > max_rows:
        cheaper = "a gradient method, or " if offers_gradients(estimator) else ""
        raise ValueError(
            f"saliency(method={method!r}) would evaluate up to {cost:,} inputs for {n} "
            f"samples, more than max_rows={max_rows:,}. Raise max_rows, explain fewer "
            f"samples, or use a cheaper method ({cheaper}occlusion with a larger window)."
        )
    return windows


def _attribute(estimator, proba_fn, X, proba, targets, reference, windows, options) -> Bunch:
    """Saliency at the samples and at the baseline, with the rows it cost beyond the
    samples' probabilities."""
    method = options["method"]
    if method in GRADIENT_METHODS:
        return _gradient_attribution(estimator, X, targets, reference, options)
    score = options["score"]

    def score_of(rows: np.ndarray, row_targets: np.ndarray) -> np.ndarray:
        return _score(proba_fn(rows)[np.arange(len(rows)), row_targets], score)

    start = proba_fn.n_rows
    if method == "occlusion":
        view, placed = windows
        reshaped = X.reshape(len(X), *view)
        scores = _score(proba[np.arange(len(X)), targets], score)
        found = occlusion_saliency(
            lambda rows, row_targets: score_of(rows.reshape(-1, *X.shape[1:]), row_targets),
            reshaped, targets, reference.reshape(view), placed, scores,
        )  # fmt: skip
        # Occluding the baseline by itself changes nothing: its saliency is zero.
        return Bunch(saliency=found.reshape(X.shape), baseline_saliency=np.zeros(X.shape),
                     n_rows=proba_fn.n_rows - start)  # fmt: skip
    unique = np.unique(targets)
    epsilon = options["epsilon"] or _default_epsilon(X)
    found = finite_difference_saliency(score_of, X, targets, epsilon)
    references = np.repeat(reference[None], len(unique), axis=0)
    at_baseline = finite_difference_saliency(score_of, references, unique, epsilon)
    per_sample = at_baseline[np.searchsorted(unique, targets)]
    return Bunch(saliency=found, baseline_saliency=per_sample, n_rows=proba_fn.n_rows - start)


def _score(picked: np.ndarray, score: str) -> np.ndarray:
    """The explained score of the target's probabilities."""
    return np.log(np.maximum(picked, TINY)) if score == "log_proba" else picked


def _gradient_attribution(estimator, X, targets, reference, options: dict) -> Bunch:
    """Back-propagated saliency at the samples and at the baseline (one pass per class)."""
    method, score = options["method"], options["score"]
    if method == "integrated_gradients":
        n_steps = options["n_steps"]
        found = estimator.integrated_gradients(X, targets, reference, score=score, n_steps=n_steps)
        # The path from the baseline to itself is empty: its attribution is zero.
        return Bunch(saliency=found, baseline_saliency=np.zeros(X.shape), n_rows=len(X) * n_steps)
    unique = np.unique(targets)
    gradient, _ = estimator.score_gradients(X, targets, score=score)
    references = np.repeat(reference[None], len(unique), axis=0)
    at_baseline, _ = estimator.score_gradients(references, unique, score=score)
    at_baseline = at_baseline[np.searchsorted(unique, targets)]
    if method == "gradient_x_input":
        gradient, at_baseline = gradient * X, at_baseline * reference
    return Bunch(saliency=gradient, baseline_saliency=at_baseline, n_rows=len(X) + len(unique))


def _occlusion_view(X: np.ndarray, image_shape: Any, estimator: Any) -> tuple[int, ...]:
    """The shape occlusion windows slide over: ``image_shape``, else the shape a network
    adapter gives flat samples (its ``input_shape``), else the samples' own."""
    shape = image_shape
    if shape is None and X.ndim == 2:
        shape = getattr(estimator, "input_shape", None)
    if shape is None:
        return tuple(X.shape[1:])
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    if int(np.prod(shape)) != int(np.prod(X.shape[1:])):
        raise ValueError(
            f"image_shape={shape} holds {int(np.prod(shape))} values; a sample has "
            f"shape {X.shape[1:]}."
        )
    return shape


def occlusion_window_count(X: np.ndarray, image_shape: Any, estimator: Any) -> int:
    """How many default windows occlusion slides over a sample of ``X``."""
    return len(_windows(_occlusion_view(X, image_shape, estimator), None, None))


def default_window(view: tuple[int, ...]) -> tuple[int, ...]:
    """One feature of a flat sample; for an image, about a seventh of each side and
    every channel (the channel axis is the first or last one of 1, 3 or 4 entries)."""
    if len(view) == 1:
        return (1,)
    channels: tuple[int, ...] = ()
    if len(view) == 3 and view[-1] in (1, 3, 4) and view[0] not in (1, 3, 4):
        channels = (2,)
    elif len(view) >= 3:
        channels = tuple(range(len(view) - 2))
    return tuple(
        size if axis in channels else max(1, round(size / 7)) for axis, size in enumerate(view)
    )


def _windows(view: tuple[int, ...], window: Any, stride: Any) -> list[tuple[slice, ...]]:
    """Occlusion's windows over ``view``: given, or :func:`default_window`."""
    size = default_window(view) if window is None else _per_axis(window, view, "window")
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
