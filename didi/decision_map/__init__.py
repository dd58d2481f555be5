"""Step 4: the decision map, its grid and the paper's quality scores.

:class:`DecisionMap` chains the distances, the projection and the inverse
projection, classifies a grid of π⁻¹ images, and measures the map's quality
(section 5.1 of the paper); :func:`quality_scorer` turns those scores into
scikit-learn scorers.
"""

from ._decision_map import DecisionMap
from ._quality import quality_scorer, quality_scorers

__all__ = ["DecisionMap", "quality_scorer", "quality_scorers"]
