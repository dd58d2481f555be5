"""What is wrong in the data: :class:`Familiarity` (how typical each sample is to the
classifier), :class:`NearDuplicates` (sets of near-copies, also as the classifier sees
them) and :func:`find_label_issues` (samples whose given label is likely wrong).
"""

from ._duplicates import NearDuplicates
from ._familiarity import Familiarity
from ._label_issues import find_label_issues

__all__ = ["Familiarity", "NearDuplicates", "find_label_issues"]
