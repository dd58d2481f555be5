"""A skorch callback that records checkpoints for :class:`~didi.DecisionMapSequence`."""

from __future__ import annotations

import copy
from typing import Any

from skorch.callbacks import Callback

from ..sequence import CheckpointRecorder


class RecordCheckpoints(Callback):
    """Record the net into a :class:`~didi.CheckpointRecorder` every ``every`` epochs.

    Each record is a copy of the whole net (its ``predict_proba`` is what the map
    queries), named ``"epoch k"`` after skorch's epoch count.

    Parameters
    ----------
    recorder : CheckpointRecorder
        Where the checkpoints go.
    every : int, default=1
        Record every ``every``-th epoch.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skorch import NeuralNetClassifier
    >>> from didi import CheckpointRecorder
    >>> from didi.skorch import RecordCheckpoints
    >>> X = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> recorder = CheckpointRecorder(X)
    >>> net = NeuralNetClassifier(
    ...     torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.Softmax(dim=-1)),
    ...     max_epochs=3, train_split=None, verbose=0,
    ...     callbacks=[RecordCheckpoints(recorder)],
    ... ).fit(X, y)
    >>> list(recorder.checkpoints_)
    ['epoch 1', 'epoch 2', 'epoch 3']
    """

    def __init__(self, recorder: CheckpointRecorder, every: int = 1) -> None:
        self.recorder = recorder
        self.every = every

    def initialize(self) -> RecordCheckpoints:
        """Check the parameters when the net is initialised."""
        if not isinstance(self.recorder, CheckpointRecorder):
            raise TypeError(
                f"recorder must be a didi.CheckpointRecorder; got {type(self.recorder).__name__}."
            )
        if not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"every must be a positive integer; got {self.every!r}.")
        return self

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        """Record a copy of the net after every ``every``-th epoch."""
        epoch = len(net.history)
        if epoch % self.every == 0:
            self.recorder.keep(copy.deepcopy(net), name=f"epoch {epoch}")
