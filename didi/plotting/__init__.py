"""Pictures of a fitted map: matplotlib displays, a click explorer, a web page.

:class:`~didi.DecisionMapDisplay` draws the map, :class:`~didi.ProbeDisplay` the samples π⁻¹
synthesises at chosen positions, :class:`MapExplorer` makes a drawn map clickable;
:meth:`didi.DecisionMap.to_html` writes the self-contained web page.
:class:`PlanarSliceDisplay` draws the exact regions and boundary of a network on a
plane (:class:`didi.exact.PlanarSlice`); :class:`DecisionMapSequenceDisplay` draws the
maps of a :class:`didi.DecisionMapSequence` as small multiples or an animation.
"""

from ._decision_map_display import DecisionMapDisplay
from ._explorer import MapExplorer
from ._planar_slice_display import PlanarSliceDisplay
from ._probe_display import ProbeDisplay
from ._sequence_display import DecisionMapSequenceDisplay

__all__ = [
    "DecisionMapDisplay",
    "DecisionMapSequenceDisplay",
    "MapExplorer",
    "PlanarSliceDisplay",
    "ProbeDisplay",
]
