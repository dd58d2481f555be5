"""Why a prediction is what it is: :func:`saliency` explains the classifier's score at
samples, :func:`map_saliency` at the samples π⁻¹ synthesises at positions of a map.
Gradient methods back-propagate through a PyTorch (or Keras-on-torch) network;
occlusion and finite differences explain any ``predict_proba``.
"""

from ._saliency import METHODS, SCORES, map_saliency, saliency, saliency_cost

__all__ = ["METHODS", "SCORES", "map_saliency", "saliency", "saliency_cost"]
