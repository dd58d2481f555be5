"""Use an ONNX model as the classifier of a decision map, through onnxruntime.

Needs onnxruntime (``pip install didi[onnx]``); ``import didi`` alone never imports it.
An ONNX file holds a computation graph, not code: opening one runs nothing of its
author's, unlike unpickling a joblib file. scikit-learn models become ONNX files
with skl2onnx, PyTorch and Keras networks with their own exporters.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import onnxruntime

from .._base import check_samples
from .._validation import NONE, Satisfies
from ._prefit import PrefitClassifier, model_input_shape, proba_from_outputs

#: onnxruntime's names of tensor element types, and the numpy dtype fed to each.
_INPUT_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
}


def _is_model(value: Any) -> bool:
    return isinstance(value, (str, PathLike, bytes)) or hasattr(value, "SerializeToString")


class OnnxClassifier(PrefitClassifier):
    """An ONNX classifier, run by onnxruntime, as a scikit-learn classifier.

    Parameters
    ----------
    model : str, path, bytes or onnx.ModelProto
        The ONNX model: a file, its bytes, or a loaded ``onnx.ModelProto``.
    output : {"probabilities", "logits", "log_probabilities"}, default="probabilities"
        What the chosen output holds. Converted scikit-learn classifiers give
        probabilities (as a tensor, or as skl2onnx's list of ``{label: p}`` maps);
        a network's last layer may give logits. One column is a binary model's
        positive class and becomes ``[1 − p, p]``.
    output_name : str, default=None
        The graph output to read; ``None`` takes the output whose name contains
        "prob" (skl2onnx's ``output_probability``), else the last output.
    input_shape : tuple of int, default=None
        Shape of one input as the model expects it, e.g. ``(1, 28, 28)``; ``None``
        keeps the samples' own shape.
    classes : array-like of shape (n_classes,), default=None
        Labels of the probability columns; ``None`` takes the labels of a
        ``{label: p}`` output, else ``0 … n_classes − 1``.
    batch_size : int, default=1024
        Inputs per run of the model.
    providers : list of str, default=None
        onnxruntime's execution providers, e.g. ``["CUDAExecutionProvider"]``;
        ``None`` uses its default (the CPU).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels of the probability columns.

    See Also
    --------
    didi.torch.TorchClassifier, didi.keras.KerasModelClassifier : The same for
        networks in their own frameworks.

    Examples
    --------
    >>> import numpy as np
    >>> from skl2onnx import to_onnx
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from didi.onnx import OnnxClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X = X.astype(np.float32)
    >>> model = to_onnx(LogisticRegression(max_iter=500).fit(X, y), X[:1])
    >>> clf = OnnxClassifier(model.SerializeToString())
    >>> clf.predict_proba(X[:2]).shape, clf.classes_.tolist()
    ((2, 3), [0, 1, 2])
    """

    _parameter_constraints: ClassVar[dict] = {
        **PrefitClassifier._parameter_constraints,
        "model": [Satisfies(_is_model, "an ONNX file, its bytes or an onnx.ModelProto")],
        "output_name": [NONE, Satisfies(lambda value: isinstance(value, str), "a str")],
        "providers": [NONE, Satisfies(lambda value: isinstance(value, list), "a list")],
    }

    def __init__(
        self,
        model: Any,
        *,
        output: str = "probabilities",
        output_name: str | None = None,
        input_shape: tuple[int, ...] | None = None,
        classes: Any = None,
        batch_size: int = 1024,
        providers: list[str] | None = None,
    ) -> None:
        self.model = model
        self.output = output
        self.output_name = output_name
        self.input_shape = input_shape
        self.classes = classes
        self.batch_size = batch_size
        self.providers = providers

    def __getstate__(self) -> dict:
        # The session is rebuilt from ``model`` where needed; it cannot be pickled.
        state = dict(self.__dict__)
        state.pop("_onnx_session", None)
        return state

    def _session(self) -> onnxruntime.InferenceSession:
        """The onnxruntime session of ``model``, made once."""
        session = self.__dict__.get("_onnx_session")
        if session is None:
            model = self.model
            if hasattr(model, "SerializeToString"):
                model = model.SerializeToString()
            elif isinstance(model, PathLike):
                model = str(Path(model))
            session = onnxruntime.InferenceSession(model, providers=self.providers)
            self.__dict__["_onnx_session"] = session
        return session

    def set_params(self, **params: Any) -> OnnxClassifier:
        """Set parameters; a new ``model`` or ``providers`` opens a new session."""
        self.__dict__.pop("_onnx_session", None)
        self.__dict__.pop("_map_labels", None)
        return super().set_params(**params)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, flat or in any shape that ``input_shape`` (or the model) accepts.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Float64 probabilities (softmax of logits taken in float64).
        """
        self._check_params()
        X = check_samples(X)
        session = self._session()
        (graph_input,) = session.get_inputs()[:1]
        dtype = _INPUT_DTYPES.get(graph_input.type, np.float32)
        x = X.reshape(-1, *model_input_shape(X.shape[1:], self.input_shape)).astype(dtype)
        name = self._output_name(session)
        blocks = [
            self._as_columns(session.run([name], {graph_input.name: x[i : i + self.batch_size]})[0])
            for i in range(0, len(x), int(self.batch_size))
        ]
        raw = np.concatenate(blocks) if blocks else np.empty((0, 2))
        return self._remember_columns(proba_from_outputs(raw, self.output))

    def _output_name(self, session: onnxruntime.InferenceSession) -> str:
        names = [output.name for output in session.get_outputs()]
        if self.output_name is not None:
            if self.output_name not in names:
                raise ValueError(f"output_name={self.output_name!r} is not among {names}.")
            return self.output_name
        return next((name for name in names if "prob" in name.lower()), names[-1])

    def _as_columns(self, raw: Any) -> np.ndarray:
        """An output as rows of numbers: skl2onnx's ``{label: p}`` maps become columns
        in the maps' order, and name the classes unless ``classes`` does."""
        if isinstance(raw, list) and raw and isinstance(raw[0], dict):
            labels = list(raw[0])
            if self.classes is None:
                self.__dict__["_map_labels"] = np.asarray(labels)
            return np.array([[row[label] for label in labels] for row in raw], dtype=np.float64)
        return np.asarray(raw)

    @property
    def classes_(self) -> np.ndarray:
        """The class labels: ``classes``, the labels of ``{label: p}`` outputs, or
        ``0 … n_classes − 1``."""
        labels = self.__dict__.get("_map_labels")
        if self.classes is None and labels is not None:
            return labels
        return super().classes_
