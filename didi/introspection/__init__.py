"""What is wrong in the data, and in the network's units.

The data: :class:`Familiarity` (how typical each sample is to the classifier),
:class:`NearDuplicates` (sets of near-copies, also as the classifier sees them) and
:func:`find_label_issues` (samples whose given label is likely wrong). The units:
:func:`inactive_unit_analysis` (units of a layer that stay at zero, giving
:class:`InactiveUnits`) and :func:`principal_filter_analysis` (how many units a
layer's responses need, giving :class:`PrincipalFilters`).
"""

from ._duplicates import NearDuplicates
from ._familiarity import Familiarity
from ._label_issues import find_label_issues
from ._units import (
    InactiveUnits,
    PrincipalFilters,
    inactive_unit_analysis,
    principal_filter_analysis,
)

__all__ = [
    "Familiarity",
    "InactiveUnits",
    "NearDuplicates",
    "PrincipalFilters",
    "find_label_issues",
    "inactive_unit_analysis",
    "principal_filter_analysis",
]
