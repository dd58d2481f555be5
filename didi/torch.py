"""PyTorch networks as scikit-learn classifiers: ``pip install "didi[torch]"``.

:class:`TorchClassifier` wraps a trained ``torch.nn.Module``; on a GPU it computes
the DiDi path lengths and ranks neighbour candidates on the device.
"""

from .adapters._torch import TorchClassifier

__all__ = ["TorchClassifier"]
