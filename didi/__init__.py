"""didi: see what a trained classifier does, as a picture (DeepView).

Discriminative (Fisher / Jensen-Shannon) distances from any ``predict_proba``,
UMAP on those distances, an inverse projection back to input space and a decision
map with the paper's quality scores. One subpackage per step of the method:
:mod:`didi.distance`, :mod:`didi.projection`, :mod:`didi.inverse`,
:mod:`didi.decision_map`; pictures in :mod:`didi.plotting`; maps across training in
:mod:`didi.sequence`; what is wrong in the data and how a network's units behave in
:mod:`didi.introspection`; why a prediction is what it is in :mod:`didi.saliency`; all
of it in one page with :func:`report` (:mod:`didi.reporting`).
"""

from importlib.metadata import PackageNotFoundError, version

from .decision_map import DecisionMap, quality_scorer, quality_scorers
from .distance import FisherJSMetric
from .introspection import Familiarity, NearDuplicates, find_label_issues
from .inverse import RBFInverse
from .plotting import DecisionMapDisplay, MapConfusionDisplay, ProbeDisplay, SaliencyDisplay
from .projection import FisherUMAP
from .reporting import report
from .sequence import CheckpointRecorder, DecisionMapSequence

try:
    __version__ = version("didi")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "CheckpointRecorder",
    "DecisionMap",
    "DecisionMapDisplay",
    "DecisionMapSequence",
    "Familiarity",
    "FisherJSMetric",
    "FisherUMAP",
    "MapConfusionDisplay",
    "NearDuplicates",
    "ProbeDisplay",
    "RBFInverse",
    "SaliencyDisplay",
    "__version__",
    "find_label_issues",
    "quality_scorer",
    "quality_scorers",
    "report",
]
