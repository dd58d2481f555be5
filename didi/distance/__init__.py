"""Step 1: discriminative (Fisher / Jensen-Shannon) distances between samples.

:class:`FisherJSMetric` measures how much a classifier's prediction changes along
the straight path between two samples and mixes it with their input-space
distance; for many samples it computes only each sample's exact nearest
neighbours, ruled in or out by a lower bound that costs no classifier call.
"""

from ._metric import FisherJSMetric

__all__ = ["FisherJSMetric"]
