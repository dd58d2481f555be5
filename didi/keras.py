"""Keras 3 models as scikit-learn classifiers: ``pip install "didi[keras]"``.

:class:`KerasModelClassifier` wraps a trained ``keras.Model`` on any backend;
:class:`RecordCheckpoints` is a Keras callback that records the model at each epoch
for :class:`didi.DecisionMapSequence`.
"""

from .adapters._keras import KerasModelClassifier, RecordCheckpoints

__all__ = ["KerasModelClassifier", "RecordCheckpoints"]
