"""Step 2: the projection π to 2-D, UMAP on the DiDi distances.

:class:`FisherUMAP` embeds samples under the DiDi distance and places new samples
into a fitted map without moving the fitted ones.
"""

from ._fisher_umap import FisherUMAP

__all__ = ["FisherUMAP"]
