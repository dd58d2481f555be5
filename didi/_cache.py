"""Reuse of classifier work between fits, through a ``joblib.Memory`` location.

Path lengths do not depend on ``λ`` or on the scales, only on the classifier, the
samples and ``n_steps``: they are kept per pair in a file of the memory location,
so that a fit with another ``λ`` (whose k-NN search visits partly different pairs)
pays only for the pairs it has not seen. The file is written when a fit ends, also
when it is interrupted, so an interrupted fit leaves its finished pairs behind.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np


def cache_key(*parts: Any) -> str:
    """A stable hash of the classifier and data, with a clear error when impossible."""
    try:
        return joblib.hash(parts)
    except Exception as exc:  # pickling errors have many types
        raise TypeError(
            "memory= needs a classifier and samples that can be pickled, to recognise "
            f"them between fits; hashing failed with {type(exc).__name__}: {exc}"
        ) from exc


def _atomic_save(file: Path, write) -> None:
    # Write beside the target, then rename: concurrent fits (GridSearchCV with
    # n_jobs) never read a half-written file.
    file.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=file.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(name, file)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


class PathLengthStore:
    """Path lengths of pairs of one sample set, persisted in a memory location.

    Pairs are keyed ``i·n + j`` with ``i < j``. New pairs are collected in memory
    and written by :meth:`flush` (at the end of a fit, also an interrupted one) or
    when a minute has passed since the last write, so writing costs time linear in
    what is stored. Without a location the store keeps nothing and every lookup
    misses.
    """

    #: Seconds between writes while a fit runs (protects long fits against a kill).
    flush_every = 60.0

    def __init__(
        self, memory: joblib.Memory, estimator: Any, X: np.ndarray, proba: np.ndarray, n_steps: int
    ):
        self.n = len(X)
        self.keys = np.empty(0, dtype=np.int64)
        self.values = np.empty(0)
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.file = None
        self.last_flush = time.monotonic()
        if memory.location is None:
            return
        key = cache_key(estimator, X, proba, int(n_steps))
        self.file = Path(memory.location) / "didi" / "path_lengths" / f"{key}.npz"
        if self.file.exists():
            with np.load(self.file) as saved:
                self.keys, self.values = saved["keys"], saved["values"]

    def lookup(self, index_a: np.ndarray, index_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For pairs with ``index_a < index_b``: which were stored, and their lengths."""
        keys = index_a * self.n + index_b
        if not len(self.keys):
            return np.zeros(len(keys), dtype=bool), np.zeros(len(keys))
        position = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        found = self.keys[position] == keys
        return found, np.where(found, self.values[position], 0.0)

    def add(self, index_a: np.ndarray, index_b: np.ndarray, values: np.ndarray) -> None:
        """Remember new pairs (written by :meth:`flush`)."""
        if self.file is None or not len(index_a):
            return
        self.pending.append((index_a * self.n + index_b, np.asarray(values, dtype=np.float64)))
        if time.monotonic() - self.last_flush > self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Merge the new pairs into the store and write it."""
        self.last_flush = time.monotonic()
        if self.file is None or not self.pending:
            return
        keys = np.concatenate([self.keys, *(k for k, _ in self.pending)])
        values = np.concatenate([self.values, *(v for _, v in self.pending)])
        self.pending = []
        keys, first = np.unique(keys, return_index=True)
        self.keys, self.values = keys, values[first]
        _atomic_save(self.file, lambda handle: np.savez(handle, keys=self.keys, values=self.values))


def resolve_memory(memory: Any) -> joblib.Memory:
    """``memory`` as a ``joblib.Memory``: ``None``, a folder (str or path) or a Memory."""
    from sklearn.utils.validation import check_memory

    if isinstance(memory, os.PathLike):
        memory = os.fspath(memory)
    return check_memory(memory)
