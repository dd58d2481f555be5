"""Decision maps across training: :class:`DecisionMapSequence` maps the same samples
under a sequence of checkpoints, each map laid out near the previous one, with
temporal measures; :class:`CheckpointRecorder` keeps checkpoints while a model trains.
"""

from ._recorder import CheckpointRecorder
from ._sequence import DecisionMapSequence

__all__ = ["CheckpointRecorder", "DecisionMapSequence"]
