"""didi: see what a trained classifier does, as a picture (DeepView).

Discriminative (Fisher / Jensen-Shannon) distances from any ``predict_proba``,
UMAP on those distances, an inverse projection back to input space and a decision
map with the paper's quality scores.
"""

from .decision_map import DecisionMap
from .display import DecisionMapDisplay
from .inverse import RBFInverse
from .metric import FisherJSMetric
from .probe import ProbeDisplay
from .projection import FisherUMAP
from .quality import quality_scorer, quality_scorers

__all__ = [
    "DecisionMap",
    "DecisionMapDisplay",
    "FisherJSMetric",
    "FisherUMAP",
    "ProbeDisplay",
    "RBFInverse",
    "quality_scorer",
    "quality_scorers",
]

__version__ = "0.1.0"
