"""Keeping a model's checkpoints while it trains, within a memory budget."""

from __future__ import annotations

import copy
import pickle
import warnings
from numbers import Integral
from typing import Any

import numpy as np

from .._base import check_samples
from .._proba import resolve_proba_function
from .._validation import BOOLEAN, CLASSIFIER, DICT, NONE, Interval, check_value

#: Model memory kept by default: 2 GB.
DEFAULT_MAX_BYTES = 2_000_000_000


def _is_bare_torch_module(model: Any) -> bool:
    return (
        hasattr(model, "state_dict")
        and hasattr(model, "forward")
        and not hasattr(model, "predict_proba")
    )


def _state_bytes(model: Any) -> int:
    """Bytes of a model's weights: a PyTorch module's state, a Keras model's weights,
    else the model's pickle."""
    for name in ("module_", "module"):  # skorch nets, didi.torch.TorchClassifier
        inner: Any = getattr(model, name, None)
        if hasattr(inner, "state_dict"):
            return int(sum(t.numel() * t.element_size() for t in inner.state_dict().values()))
    keras_model: Any = getattr(model, "model", None)
    if hasattr(keras_model, "get_weights"):  # didi.keras.KerasModelClassifier
        return int(sum(np.asarray(w).nbytes for w in keras_model.get_weights()))
    return len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))


def check_callback_options(recorder: Any, every: Any) -> None:
    """What a training callback (skorch's, Keras') is given: a recorder, and a period."""
    if not isinstance(recorder, CheckpointRecorder):
        raise TypeError(
            f"recorder must be a didi.CheckpointRecorder; got {type(recorder).__name__}."
        )
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive integer; got {every!r}.")


class CheckpointRecorder:
    """Keep a model's checkpoints during training, to map them afterwards.

    Call :meth:`record` with the model at each checkpoint (e.g. every epoch); it
    keeps a frozen copy of the model, and the model's probabilities of the
    samples to map, if given. Copies are kept within ``max_bytes``: when the next
    one would not fit, every other kept copy is dropped and from then on only every
    other checkpoint is kept (then every fourth, ...), so the copies stay spread
    evenly over the whole run, with a warning. Probabilities are always kept.
    :meth:`sequence` then maps the kept checkpoints.

    In a plain PyTorch loop it takes two lines::

        recorder = CheckpointRecorder(X_map, torch_options={"input_shape": (1, 28, 28)})
        for epoch in range(10):
            train_one_epoch(model)
            recorder.record(model)

    For skorch and Keras, :class:`didi.skorch.RecordCheckpoints` and
    :class:`didi.keras.RecordCheckpoints` call :meth:`record` at the end of every epoch.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples, \\*shape), default=None
        The samples the maps will show; their probabilities are recorded at every
        checkpoint (``n_samples`` classifier rows each).
    keep_models : bool, default=True
        Keep copies of the models; ``False`` keeps only the probabilities (which
        need ``X``), e.g. to choose which epochs to map again later.
    max_bytes : int, default=2_000_000_000
        Memory for the kept copies, measured as their weights (a PyTorch state, Keras
        weights) or their pickle.
    torch_options : dict, default=None
        Keyword arguments of :class:`didi.torch.TorchClassifier` for a bare
        ``torch.nn.Module`` given to :meth:`record` (its ``input_shape``, ``output``,
        ...).

    Attributes
    ----------
    checkpoints_ : dict of str to classifier
        The kept copies by checkpoint name, oldest first.
    names_ : list of str
        Every recorded checkpoint's name, kept or not.
    proba_ : list of ndarray of shape (n_samples, n_classes)
        The probabilities of ``X`` at every recorded checkpoint.
    n_bytes_ : int
        Memory held by the kept copies.
    stride_ : int
        Only every ``stride_``-th checkpoint is kept (1 until the budget is reached).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import SGDClassifier
    >>> from didi import CheckpointRecorder
    >>> X, y = load_iris(return_X_y=True)
    >>> model, recorder = SGDClassifier(loss="log_loss", random_state=0), CheckpointRecorder(X)
    >>> for epoch in range(3):
    ...     recorder.record(model.partial_fit(X, y, classes=[0, 1, 2]), name=f"epoch {epoch}")
    >>> list(recorder.checkpoints_), len(recorder.proba_)
    (['epoch 0', 'epoch 1', 'epoch 2'], 3)
    """

    def __init__(
        self,
        X: Any = None,
        *,
        keep_models: bool = True,
        max_bytes: int = DEFAULT_MAX_BYTES,
        torch_options: dict | None = None,
    ) -> None:
        owner = "CheckpointRecorder"
        check_value(owner, "keep_models", keep_models, [BOOLEAN])
        check_value(owner, "max_bytes", max_bytes, [Interval(Integral, 1, None)])
        check_value(owner, "torch_options", torch_options, [NONE, DICT])
        if not keep_models and X is None:
            raise ValueError("With keep_models=False the recorder keeps probabilities: pass X.")
        self.X = None if X is None else check_samples(X)
        self.keep_models = keep_models
        self.max_bytes = max_bytes
        self.torch_options = torch_options
        self.checkpoints_: dict[str, Any] = {}
        self.names_: list[str] = []
        self.proba_: list[np.ndarray] = []
        self.n_bytes_ = 0
        self.stride_ = 1
        self._sizes: dict[str, int] = {}

    def record(self, model: Any, *, name: str | None = None) -> None:
        """Record the model as it is now.

        Parameters
        ----------
        model : object
            A classifier with ``predict_proba`` (scikit-learn, skorch,
            :class:`didi.torch.TorchClassifier`, ...), a callable ``f(X) ->
            probabilities``, or a bare ``torch.nn.Module`` (wrapped with
            ``torch_options``). It is copied when it is kept; training it further
            does not change the record.
        name : str, default=None
            The checkpoint's name; ``"checkpoint i"`` (counting from 0) when ``None``.
        """
        if _is_bare_torch_module(model):
            from ..adapters._torch import TorchClassifier

            model = TorchClassifier(model, **(self.torch_options or {}))
        check_value("CheckpointRecorder.record", "model", model, [CLASSIFIER])
        self._add(model, name, lambda: copy.deepcopy(model), None)

    def keep(self, snapshot: Any, *, name: str | None = None, n_bytes: int | None = None) -> None:
        """Record a copy that is already frozen (as the framework callbacks make them).

        Parameters
        ----------
        snapshot : object
            A classifier no one trains further.
        name : str, default=None
            The checkpoint's name, as in :meth:`record`.
        n_bytes : int, default=None
            Its memory, when the caller knows it better than :meth:`record`'s measure.
        """
        self._add(snapshot, name, lambda: snapshot, n_bytes)

    def _add(self, model: Any, name: str | None, frozen, n_bytes: int | None) -> None:
        """Record ``model``'s probabilities, and ``frozen()`` (its copy) where it is kept.

        Everything that can fail is checked before anything is recorded.
        """
        name = f"checkpoint {len(self.names_)}" if name is None else str(name)
        if name in self.names_:
            raise ValueError(f"A checkpoint named {name!r} was recorded already.")
        size = 0
        if self.keep_models:
            size = _state_bytes(model) if n_bytes is None else int(n_bytes)
            if size > self.max_bytes:
                raise MemoryError(
                    f"One checkpoint takes {size:,} bytes, more than max_bytes={self.max_bytes:,}."
                )
        if self.X is not None:
            proba_fn = resolve_proba_function(model, None, self.X.shape[1:], None)
            self.proba_.append(proba_fn(self.X))
        index = len(self.names_)
        self.names_.append(name)
        if not self.keep_models:
            return
        # Thin until the copy fits or is not to be kept; it fits once only copies
        # at positions below ``index`` that are multiples of a stride above it remain.
        while index % self.stride_ == 0 and self.n_bytes_ + size > self.max_bytes:
            self._thin()
        if index % self.stride_:
            return
        self.checkpoints_[name] = frozen()
        self._sizes[name] = size
        self.n_bytes_ += size

    def _thin(self) -> None:
        """Keep every other checkpoint from now on, and drop the kept ones that are not."""
        self.stride_ *= 2
        for position, name in enumerate(self.names_):
            if name in self.checkpoints_ and position % self.stride_:
                del self.checkpoints_[name]
                self.n_bytes_ -= self._sizes.pop(name)
        warnings.warn(
            f"CheckpointRecorder: {len(self.checkpoints_)} checkpoints fill max_bytes="
            f"{self.max_bytes:,}; keeping every {self.stride_}th from now on.",
            stacklevel=3,
        )

    def flips(self) -> np.ndarray:
        """Which samples changed predicted class between consecutive records, shape
        ``(n_records − 1, n_samples)`` (needs ``X``)."""
        from ._temporal import prediction_flips

        if self.X is None:
            raise ValueError("The recorder was made without X: it has no probabilities.")
        return prediction_flips(np.stack(self.proba_))

    def sequence(self, **params: Any):
        """A :class:`~didi.DecisionMapSequence` of the kept checkpoints (not fitted yet).

        Parameters
        ----------
        **params
            Its other parameters.

        Returns
        -------
        DecisionMapSequence
        """
        from ._sequence import DecisionMapSequence

        if not self.checkpoints_:
            raise ValueError("No model was kept: record checkpoints with keep_models=True.")
        return DecisionMapSequence(dict(self.checkpoints_), **params)
