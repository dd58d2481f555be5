"""Exact decision boundaries of piecewise-linear PyTorch networks: ``pip install "didi[torch]"``.

:class:`PlanarSlice` partitions a plane through input space into the network's
linear regions and finds its decision boundary there exactly, as polygons and
segments (SplineCam's method); :func:`exact_paths` does the same along the straight
segments between samples that the DiDi distance samples.
"""

from ._operations import UnsupportedLayerError
from ._path import ExactPath, exact_paths
from ._slice import PlanarSlice

__all__ = ["ExactPath", "PlanarSlice", "UnsupportedLayerError", "exact_paths"]
