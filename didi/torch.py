"""PyTorch networks as scikit-learn classifiers: ``pip install "didi[torch]"``.

:class:`TorchClassifier` wraps a trained ``torch.nn.Module``; on a GPU it computes
the DiDi path lengths and ranks neighbour candidates on the device. Its
``unit_responses`` reads what inner layers respond (for
:func:`didi.introspection.inactive_unit_analysis` and
:func:`didi.introspection.principal_filter_analysis`), and :class:`LayerResponses`
makes one layer's responses the features of a sample (for
:class:`~didi.Familiarity` and the like).
"""

from .adapters._layer_responses import LayerResponses
from .adapters._torch import TorchClassifier

__all__ = ["LayerResponses", "TorchClassifier"]
