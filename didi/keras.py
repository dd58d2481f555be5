"""Keras 3 models as scikit-learn classifiers: ``pip install "didi[keras]"``.

:class:`KerasModelClassifier` wraps a trained ``keras.Model`` on any backend.
"""

from .adapters._keras import KerasModelClassifier

__all__ = ["KerasModelClassifier"]
