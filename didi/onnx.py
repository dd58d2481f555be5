"""ONNX models as scikit-learn classifiers: ``pip install "didi[onnx]"``.

:class:`OnnxClassifier` runs an ONNX file through onnxruntime. Opening an ONNX
file runs no code of its author's, unlike unpickling a model.
"""

from .adapters._onnx import OnnxClassifier

__all__ = ["OnnxClassifier"]
