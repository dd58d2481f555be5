"""A skorch callback that records checkpoints for :class:`~didi.DecisionMapSequence`."""

from __future__ import annotations

import copy
from typing import Any

from skorch.callbacks import Callback

from ..sequence import CheckpointRecorder
from ..sequence._recorder import check_callback_options


class RecordCheckpoints(Callback):
    """Record the net into a :class:`~didi.CheckpointRecorder` every ``every`` epochs.

    Each record is a copy of the whole net (its ``predict_proba`` is what the map
    queries) without its callbacks, named ``"epoch k"`` with ``k`` counting the epochs
    this callback has seen, across calls to ``fit`` and ``partial_fit``.

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
        self.epochs_seen_ = 0

    def initialize(self) -> RecordCheckpoints:
        """Check the parameters when the net is initialised."""
        check_callback_options(self.recorder, self.every)
        return self

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        """Record a copy of the net after every ``every``-th epoch."""
        self.epochs_seen_ += 1
        if self.epochs_seen_ % self.every:
            return
        # The net holds its callbacks, this one among them with its recorder and every
        # copy kept so far: the copy must not take them along.
        memo: dict[int, Any] = {}
        for name, empty in (("callbacks", None), ("callbacks_", [])):
            value = getattr(net, name, None)
            if value is not None:
                memo[id(value)] = empty
        snapshot = copy.deepcopy(net, memo=memo)
        self.recorder.keep(snapshot, name=f"epoch {self.epochs_seen_}")
