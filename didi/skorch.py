"""Recording skorch training for decision maps across epochs: ``pip install skorch``.

:class:`RecordCheckpoints` is a skorch callback that hands the net to a
:class:`didi.CheckpointRecorder` at the end of each epoch.
"""

from .adapters._skorch import RecordCheckpoints

__all__ = ["RecordCheckpoints"]
