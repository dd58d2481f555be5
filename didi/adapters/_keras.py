"""Use a trained Keras 3 model as the classifier of a decision map.

Needs Keras 3 and one of its backends (``pip install didi[keras]``; with PyTorch
installed, ``KERAS_BACKEND=torch`` runs it); ``import didi`` alone never imports it.
A scikeras ``KerasClassifier`` already has ``predict_proba`` and plugs in unchanged.
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras
import numpy as np

from .._base import check_samples
from .._validation import Satisfies
from ._prefit import PrefitClassifier, model_input_shape, proba_from_outputs


class KerasModelClassifier(PrefitClassifier):
    """A trained Keras 3 model as a probabilistic classifier.

    The model runs through ``model.predict`` (inference mode: dropout off, no
    gradients) on whatever device its backend uses, in batches.

    Parameters
    ----------
    model : keras.Model
        The trained network, one output of shape (batch, n_classes), or
        (batch, 1) / (batch,) for a binary model.
    output : {"probabilities", "logits", "log_probabilities"}, default="probabilities"
        What the model returns. Keras classifiers usually end in a softmax (or
        sigmoid) layer, hence the default; ``"logits"`` applies softmax (sigmoid
        for one column). One column is the positive class's score and becomes
        ``[1 − p, p]``.
    input_shape : tuple of int, default=None
        Shape of one input as the model expects it, e.g. ``(28, 28, 1)``;
        ``None`` keeps the samples' own shape.
    classes : array-like of shape (n_classes,), default=None
        Labels of the output columns; ``0 … n_classes − 1`` when not given.
    batch_size : int, default=1024
        Inputs per forward pass.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels of the probability columns.

    See Also
    --------
    didi.torch.TorchClassifier : The same for a PyTorch module, with path lengths
        computed on its device.

    Examples
    --------
    >>> import numpy as np, keras
    >>> from didi.keras import KerasModelClassifier
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    >>> clf = KerasModelClassifier(model)
    >>> proba = clf.predict_proba(np.random.default_rng(0).normal(size=(5, 4)))
    >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1.0))
    ((5, 3), True)
    """

    def __init__(
        self,
        model: Any,
        *,
        output: str = "probabilities",
        input_shape: tuple[int, ...] | None = None,
        classes: Any = None,
        batch_size: int = 1024,
    ) -> None:
        self.model = model
        self.output = output
        self.input_shape = input_shape
        self.classes = classes
        self.batch_size = batch_size

    _parameter_constraints: ClassVar[dict] = {
        **PrefitClassifier._parameter_constraints,
        "model": [
            Satisfies(
                lambda value: callable(getattr(value, "predict", None)),
                "a Keras model with a predict method",
            )
        ],
    }

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, flat or in any shape that ``input_shape`` (or the model) accepts.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Float64 probabilities: softmax (sigmoid) of logits taken in float64,
            probabilities as the model gives them.
        """
        self._check_params()
        X = check_samples(X)
        shape = model_input_shape(X.shape[1:], self.input_shape)
        dtype = keras.backend.floatx()
        x = X.reshape(-1, *shape).astype(dtype, copy=False)
        raw = self.model.predict(x, batch_size=int(self.batch_size), verbose=0)
        if isinstance(raw, (list, tuple, dict)):
            raise ValueError(
                f"The model returned {type(raw).__name__} of several outputs; "
                "expected one array of shape (batch, n_classes)."
            )
        return self._remember_columns(
            proba_from_outputs(keras.ops.convert_to_numpy(raw), self.output)
        )

    # Gradients: on Keras's torch backend the model is a torch module, and its
    # calls on torch tensors back-propagate like any other.

    @property
    def supports_gradients(self) -> bool:
        """Whether :meth:`score_gradients` works here: on Keras's torch backend only."""
        return keras.backend.backend() == "torch"

    def score_gradients(
        self, X: Any, target_index: Any, *, score: str = "log_proba"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gradient of each sample's target-class score (Keras's torch backend only).

        See :meth:`didi.torch.TorchClassifier.score_gradients`.
        """
        from ._gradients import input_gradients

        X, options = self._gradient_setup(X)
        return input_gradients(self._raw, X, np.asarray(target_index), score=score, **options)

    def integrated_gradients(
        self, X: Any, target_index: Any, baseline: Any, *, score: str = "log_proba",
        n_steps: int = 50,
    ) -> np.ndarray:  # fmt: skip
        """Integrated Gradients by captum (Keras's torch backend only).

        See :meth:`didi.torch.TorchClassifier.integrated_gradients`.
        """
        from ._gradients import integrated_gradients

        X, options = self._gradient_setup(X)
        baseline = np.asarray(baseline).reshape(X.shape[1:])
        return integrated_gradients(
            self._raw, X, np.asarray(target_index), baseline, score=score,
            n_steps=int(n_steps), **options,
        )  # fmt: skip

    def _gradient_setup(self, X: Any) -> tuple[np.ndarray, dict]:
        """The samples and the options :mod:`._gradients` needs, on the torch backend."""
        self._check_params()
        if keras.backend.backend() != "torch":
            raise ValueError(
                f"Gradients of a Keras model need the torch backend (KERAS_BACKEND=torch); "
                f"this one runs on {keras.backend.backend()!r}. Use method='occlusion' or "
                "'finite_difference'."
            )
        import torch

        X = check_samples(X)
        shape = model_input_shape(X.shape[1:], self.input_shape)
        weights = [w.value for w in self.model.weights]
        device = weights[0].device if weights else torch.device("cpu")
        dtype = getattr(torch, keras.backend.floatx())
        options = dict(output=self.output, device=device, dtype=dtype, shape=shape,
                       batch_size=int(self.batch_size))  # fmt: skip
        return X, options

    def _raw(self, x: Any) -> Any:
        """The model's raw outputs in inference mode (dropout off)."""
        return self.model(x, training=False)


class RecordCheckpoints(keras.callbacks.Callback):
    """Record the model into a :class:`~didi.CheckpointRecorder` every ``every`` epochs.

    Each record is a :class:`KerasModelClassifier` of a copy of the model
    (``keras.models.clone_model`` with the current weights), named ``"epoch k"`` with
    ``k`` counting the epochs this callback has seen (from 1, across calls to
    ``fit``); ``classifier_options`` are its parameters.

    Parameters
    ----------
    recorder : CheckpointRecorder
        Where the checkpoints go.
    every : int, default=1
        Record every ``every``-th epoch.
    **classifier_options
        Parameters of :class:`KerasModelClassifier` (``output``, ``input_shape``,
        ``classes``, ``batch_size``).

    Examples
    --------
    >>> import numpy as np, keras
    >>> from didi import CheckpointRecorder
    >>> from didi.keras import RecordCheckpoints
    >>> X = np.random.default_rng(0).normal(size=(60, 4)).astype("float32")
    >>> y = (X[:, 0] > 0).astype("int64")
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> recorder = CheckpointRecorder(X)
    >>> _ = model.fit(X, y, epochs=2, verbose=0, callbacks=[RecordCheckpoints(recorder)])
    >>> list(recorder.checkpoints_)
    ['epoch 1', 'epoch 2']
    """

    def __init__(self, recorder: Any, every: int = 1, **classifier_options: Any) -> None:
        from ..sequence._recorder import check_callback_options

        super().__init__()
        check_callback_options(recorder, every)
        self.recorder = recorder
        self.every = every
        self.classifier_options = classifier_options
        self.epochs_seen = 0

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        """Record a copy of the model after every ``every``-th epoch (``epoch`` counts from 0)."""
        self.epochs_seen += 1
        if self.epochs_seen % self.every:
            return
        weights = self.model.get_weights()
        copied = keras.models.clone_model(self.model)
        copied.set_weights(weights)
        classifier = KerasModelClassifier(copied, **self.classifier_options)
        n_bytes = sum(np.asarray(w).nbytes for w in weights)
        self.recorder.keep(classifier, name=f"epoch {self.epochs_seen}", n_bytes=n_bytes)
