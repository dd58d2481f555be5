"""Turn any classifier into one validated ``predict_proba`` function.

Every part of the suite talks to the classifier through :class:`ProbaFunction`, so
that validation of what it returns, batching and the counting of classifier rows
(the cost that matters) live in one place.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from sklearn import config_context

from ._frames import FrameSpec

#: Largest allowed deviation of a probability row's sum from 1.
ROW_SUM_TOLERANCE = 1e-3


#: The row tallies open in this context (see :func:`counting_rows`).
_ROW_TALLIES: contextvars.ContextVar[tuple[list, ...]] = contextvars.ContextVar(
    "didi_row_tallies", default=()
)


@contextlib.contextmanager
def counting_rows(*known: ProbaFunction) -> Iterator[list]:
    """Count the classifier rows of ``known`` functions and of every
    :class:`ProbaFunction` made inside the block.

    Yields a list of ``(function, its n_rows when counting began)``;
    ``sum(f.n_rows − start for f, start in it)`` is the rows spent in the block so
    far. For work, such as placing new samples into a map, that makes its own
    :class:`ProbaFunction` out of sight of its caller.
    """
    tally: list = [(function, function.n_rows) for function in known]
    token = _ROW_TALLIES.set((*_ROW_TALLIES.get(), tally))
    try:
        yield tally
    finally:
        _ROW_TALLIES.reset(token)


class ProbaFunction:
    """Validated, batched ``X -> class probabilities`` built from a classifier.

    Parameters
    ----------
    estimator : object or callable
        An object with ``predict_proba`` (a fitted scikit-learn classifier or
        Pipeline, skorch, scikeras, ...) or a callable ``f(X) -> probabilities``.
    batch_size : int
        Largest number of rows handed to the classifier in one call.
    frame : FrameSpec or None
        When the samples came as a DataFrame: a classifier fitted on one (it has
        ``feature_names_in_``, as a Pipeline selecting columns by name does)
        receives each batch as a DataFrame of the same columns; any other
        classifier receives arrays, as it was fitted on.

    Attributes
    ----------
    n_rows : int
        Number of input rows passed to the classifier so far.
    n_calls : int
        Number of calls made to the classifier so far.

    Notes
    -----
    A classifier may also offer
    ``path_length_evaluator(A, B, proba_A, proba_B, n_steps)`` returning a function
    ``(index_a, index_b) -> lengths`` of the straight paths between the pairs
    ``A[index_a[i]] → B[index_b[i]]`` (see :func:`didi._paths.path_lengths`).
    Then :meth:`path_lengths` hands it the pairs instead of the interpolated points:
    a model on a GPU builds the points there and sends back one number per pair.
    Where that function also has ``lengths_and_euclidean(index_a, index_b)``,
    returning the lengths and the pairs' Euclidean distances (or ``None`` for those),
    :meth:`path_lengths_and_euclidean` takes the distances from it as well.
    :class:`didi.torch.TorchClassifier` does both.
    """

    def __init__(self, estimator: Any, batch_size: int, frame: FrameSpec | None = None) -> None:
        self.estimator = estimator
        takes_frames = getattr(estimator, "feature_names_in_", None) is not None
        self.frame = frame if takes_frames else None
        if hasattr(estimator, "predict_proba"):
            self._predict = estimator.predict_proba
        elif callable(estimator):
            self._predict = estimator
        else:
            raise TypeError(
                "estimator must have a predict_proba method or be a callable "
                f"f(X) -> probabilities; got {type(estimator).__name__}."
            )
        self.batch_size = int(batch_size)
        self.n_rows = 0
        self.n_calls = 0
        for tally in _ROW_TALLIES.get():
            tally.append((self, 0))
        self.n_classes: int | None = None
        self._make_evaluator = getattr(estimator, "path_length_evaluator", None)
        # One evaluator per pair of end-point sets, for this object's lifetime (one
        # fit or transform): the end points go to the model's device once. The
        # arrays are held, so their ids cannot be reused while they are keys.
        self._evaluators: dict[tuple[int, int, int], tuple[Any, ...]] = {}

    @property
    def evaluates_paths(self) -> bool:
        """Whether the classifier computes whole path lengths itself."""
        return self._make_evaluator is not None

    def path_lengths(
        self,
        A: np.ndarray,
        B: np.ndarray,
        proba_A: np.ndarray,
        proba_B: np.ndarray,
        index_a: np.ndarray,
        index_b: np.ndarray,
        n_steps: int,
    ) -> np.ndarray:
        """Path lengths of the pairs, computed by the classifier's own evaluator."""
        if len(index_a) == 0:
            return np.empty(0)
        evaluate = self._evaluator(A, B, proba_A, proba_B, n_steps)
        return self._evaluated(evaluate, A, index_a, index_b, n_steps, both=False)[0]

    def path_lengths_and_euclidean(
        self,
        A: np.ndarray,
        B: np.ndarray,
        proba_A: np.ndarray,
        proba_B: np.ndarray,
        index_a: np.ndarray,
        index_b: np.ndarray,
        n_steps: int,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`path_lengths`, and the pairs' Euclidean distances where the evaluator
        measures them from the end points it holds (its ``lengths_and_euclidean``);
        ``None`` in their place otherwise."""
        if len(index_a) == 0:
            return np.empty(0), np.empty(0)
        evaluate = self._evaluator(A, B, proba_A, proba_B, n_steps)
        both = getattr(evaluate, "lengths_and_euclidean", None)
        if both is None:
            return self._evaluated(evaluate, A, index_a, index_b, n_steps, both=False)[0], None
        return self._evaluated(both, A, index_a, index_b, n_steps, both=True)

    def _evaluator(self, A, B, proba_A, proba_B, n_steps: int) -> Callable:
        """The classifier's evaluator for these end-point sets, made once."""
        if self._make_evaluator is None:
            raise TypeError("The classifier has no path_length_evaluator.")
        key = (id(A), id(B), int(n_steps))
        if key not in self._evaluators:
            evaluator = self._make_evaluator(A, B, proba_A, proba_B, int(n_steps))
            self._evaluators[key] = (A, B, evaluator)
        return self._evaluators[key][2]

    def _evaluated(
        self, evaluate: Callable, A: np.ndarray, index_a, index_b, n_steps: int, *, both: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``evaluate(index_a, index_b)``, checked and counted: the lengths, and with
        ``both`` the Euclidean distances it returns beside them (or ``None``)."""
        n_pairs = len(index_a)
        try:
            result = evaluate(index_a, index_b)
        except Exception as exc:
            if hasattr(exc, "add_note"):
                exc.add_note(
                    f"Raised by the classifier's path length evaluator on {n_pairs} "
                    f"pairs of samples of shape {A.shape[1:]}, after {self.n_calls} "
                    "successful calls."
                )
            raise
        lengths, euclidean = result if both else (result, None)
        lengths = np.asarray(lengths, dtype=np.float64)
        for name, values in (("lengths", lengths), ("distances", euclidean)):
            if values is not None and np.shape(values) != (n_pairs,):
                raise ValueError(
                    f"The classifier's path length evaluator returned {name} of shape "
                    f"{np.shape(values)} for {n_pairs} pairs; expected ({n_pairs},)."
                )
        self.n_rows += n_pairs * int(n_steps)
        self.n_calls += 1
        return lengths, None if euclidean is None else np.asarray(euclidean, np.float64)

    def __call__(self, X: np.ndarray, *, owned: bool = False) -> np.ndarray:
        """Return the ``(len(X), n_classes)`` probabilities of ``X``, batch by batch.

        The classifier receives copies of the batches, so that one that edits its
        input in place cannot edit the caller's samples; ``owned=True`` says that
        ``X`` is a scratch array of the suite's own (interpolated points, π⁻¹
        images), made from finite samples and handed over as it is, without
        scikit-learn's check for NaN.
        """
        n = len(X)
        first = self._call_once(X[: self.batch_size], owned)
        if n <= self.batch_size:
            return first
        out = np.empty((n, first.shape[1]), dtype=np.float64)
        out[: len(first)] = first
        for start in range(self.batch_size, n, self.batch_size):
            block = self._call_once(X[start : start + self.batch_size], owned)
            out[start : start + len(block)] = block
        return out

    def _call_once(self, X: np.ndarray, owned: bool) -> np.ndarray:
        # The suite's own points mix validated, finite samples: scikit-learn need not
        # scan them for NaN again (a pass over every row of a large search).
        finite = config_context(assume_finite=True) if owned else contextlib.nullcontext()
        try:
            batch = X if owned else X.copy()
            with finite:
                raw = self._predict(batch if self.frame is None else self.frame.frame(batch))
        except Exception as exc:
            # Same exception type for the caller to catch, with where it happened.
            if hasattr(exc, "add_note"):
                exc.add_note(
                    f"Raised by the classifier on a batch of {len(X)} samples of shape "
                    f"{X.shape[1:]} and dtype {X.dtype}, after {self.n_calls} successful calls."
                )
            raise
        self.n_rows += len(X)
        self.n_calls += 1
        proba = check_probabilities(raw, len(X))
        if self.n_classes is None:
            self.n_classes = proba.shape[1]
        elif proba.shape[1] != self.n_classes:
            raise ValueError(
                f"The classifier returned {proba.shape[1]} columns, but earlier calls "
                f"returned {self.n_classes}: the number of classes must not change."
            )
        return proba


def check_probabilities(raw: Any, n_rows: int) -> np.ndarray:
    """Validate a classifier's output and return it as float64 rows summing to 1.

    Raises a ``ValueError`` that says what was received and how to fix it.
    """
    if hasattr(raw, "to_numpy"):  # pandas
        raw = raw.to_numpy()
    proba = np.asarray(raw)
    if proba.dtype == object or not np.issubdtype(proba.dtype, np.number):
        raise ValueError(
            f"The classifier returned an array of dtype {proba.dtype}; expected numeric "
            "class probabilities of shape (n_samples, n_classes)."
        )
    proba = proba.astype(np.float64, copy=False)
    if proba.ndim != 2 or proba.shape[0] != n_rows:
        one_score = proba.ndim == 1 and len(proba) == n_rows
        raise ValueError(
            f"The classifier returned an array of shape {proba.shape} for {n_rows} "
            f"inputs; expected ({n_rows}, n_classes)."
            + (
                " One score per sample looks like a binary network's single output: "
                "didi.torch.TorchClassifier and didi.keras.KerasModelClassifier turn it "
                "into the two columns [1 - p, p]."
                if one_score
                else ""
            )
        )
    if proba.shape[1] < 2:
        raise ValueError(
            f"The classifier returned {proba.shape[1]} class column(s); a decision map "
            "needs at least 2 classes. A classifier fitted on a single class predicts it "
            "everywhere: there is no decision to show. A binary network with one output "
            "(sigmoid or logit): wrap it in didi.torch.TorchClassifier or "
            "didi.keras.KerasModelClassifier, which return [1 - p, p]."
        )
    if not np.all(np.isfinite(proba)):
        raise ValueError(
            "The classifier returned NaN or infinite probabilities; check the model and its inputs."
        )
    if proba.size and proba.min() < 0:
        raise ValueError(
            f"The classifier returned negative values (min {proba.min():.3g}): these "
            "look like logits or scores. Pass probabilities, e.g. apply softmax (a "
            "network's adapter does so with output='logits')."
        )
    sums = proba.sum(axis=1)
    worst = np.abs(sums - 1.0).max() if len(sums) else 0.0
    if worst > ROW_SUM_TOLERANCE:
        raise ValueError(
            f"The classifier's rows do not sum to 1 (largest deviation {worst:.3g}): "
            "these look like logits or unnormalised scores. Pass probabilities, e.g. "
            "apply softmax (a network's adapter does so with output='logits')."
        )
    # Rows summing to 1 to within rounding are renormalised so that the
    # Jensen-Shannon distance stays inside its bound sqrt(ln 2).
    return proba / sums[:, None]


def default_batch_size(sample_shape: tuple[int, ...], itemsize: int = 8) -> int:
    """Rows per classifier call: about 16 MB of input, between 256 and 8192 rows.

    Larger batches stop paying off once the per-call overhead is amortised, and
    blocks that stay in cache are faster to interpolate and compare.
    """
    row_bytes = max(1, int(np.prod(sample_shape, dtype=np.int64)) * itemsize)
    return int(np.clip((16 << 20) // row_bytes, 256, 8192))


def resolve_proba_function(
    estimator: Any, batch_size: int | None, sample_shape, frame: FrameSpec | None = None
) -> ProbaFunction:
    """Build the :class:`ProbaFunction` for ``estimator``; ``batch_size=None`` picks one.

    ``batch_size`` has been validated by the calling estimator's parameter table.
    """
    if batch_size is None:
        batch_size = default_batch_size(tuple(sample_shape))
    return ProbaFunction(estimator, batch_size, frame)


def class_names_of(estimator: Any, n_classes: int) -> np.ndarray:
    """The classifier's ``classes_`` when it has them, else ``0 ... n_classes-1``."""
    classes = getattr(estimator, "classes_", None)
    if classes is not None and len(classes) == n_classes:
        return np.asarray(classes)
    return np.arange(n_classes)


def label_indices(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Index of each label in ``classes``; ``-1`` (with a warning) for labels not among them.

    Integer labels none of which is a class name, all in ``0 … n_classes − 1``, are
    taken as class indices when the classes are names: a network's targets, with
    ``classes`` naming its columns.
    """
    labels = np.asarray(labels)
    lookup = {value: k for k, value in enumerate(classes.tolist())}
    indices = np.array([lookup.get(value, -1) for value in labels.tolist()], dtype=int)
    missing = indices == -1
    if (
        missing.all()
        and len(labels)
        and not np.issubdtype(np.asarray(classes).dtype, np.integer)
        and np.issubdtype(labels.dtype, np.integer)
        and 0 <= labels.min()
        and labels.max() < len(classes)
    ):
        return labels.astype(int)
    if missing.any():
        warnings.warn(
            f"{int(missing.sum())} of {len(labels)} labels in y are not among the "
            f"classifier's classes {classes.tolist()[:10]}; they never match a prediction "
            "(drawn and counted as misclassified).",
            stacklevel=3,
        )
    return indices
