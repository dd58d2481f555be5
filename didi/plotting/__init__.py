"""Pictures of a fitted map: matplotlib displays, a click explorer, a web page.

:class:`~didi.DecisionMapDisplay` draws the map, :class:`~didi.ProbeDisplay` the samples π⁻¹
synthesises at chosen positions, :class:`MapExplorer` makes a drawn map clickable;
:meth:`didi.DecisionMap.to_html` writes the self-contained web page.
:class:`PlanarSliceDisplay` draws the exact regions and boundary of a network on a
plane (:class:`didi.exact.PlanarSlice`); :class:`DecisionMapSequenceDisplay` draws the
maps of a :class:`didi.DecisionMapSequence` as small multiples or an animation.
:class:`~didi.MapConfusionDisplay` draws a map beside the confusion matrix of its samples;
a click on a cell rings that cell's samples on the map.
:class:`InactiveUnitsDisplay` and :class:`PrincipalFiltersDisplay` draw the unit analyses
of :mod:`didi.introspection`: how often each unit is inactive, how many units a layer needs.
:class:`~didi.SaliencyDisplay` shows why a sample (or a map position) is scored as it is.
"""

from ._confusion_display import MapConfusionDisplay
from ._decision_map_display import DecisionMapDisplay
from ._explorer import MapExplorer
from ._planar_slice_display import PlanarSliceDisplay
from ._probe_display import ProbeDisplay
from ._saliency_display import SaliencyDisplay
from ._sequence_display import DecisionMapSequenceDisplay
from ._unit_displays import InactiveUnitsDisplay, PrincipalFiltersDisplay

__all__ = [
    "DecisionMapDisplay",
    "DecisionMapSequenceDisplay",
    "InactiveUnitsDisplay",
    "MapConfusionDisplay",
    "MapExplorer",
    "PlanarSliceDisplay",
    "PrincipalFiltersDisplay",
    "ProbeDisplay",
    "SaliencyDisplay",
]
