"""Reuse of classifier work between fits, through a ``joblib.Memory`` location.

Path lengths do not depend on ``λ`` or on the scales, only on the classifier, the
samples and ``n_steps``: they are kept per pair in a file of the memory location,
so that a fit with another ``λ`` (whose k-NN search visits partly different pairs)
pays only for the pairs it has not seen. The file is written when a fit ends, also
when it is interrupted, so an interrupted fit leaves its finished pairs behind.
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from .._memory import cache_key, fingerprint_points


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


def sorted_lookup(
    keys: np.ndarray, values: np.ndarray, wanted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``wanted`` are among the sorted ``keys``, and their values (0 if not)."""
    if not len(keys):
        return np.zeros(len(wanted), dtype=bool), np.zeros(len(wanted))
    position = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    found = keys[position] == wanted
    return found, np.where(found, values[position], 0.0)


def sorted_merge(
    keys: np.ndarray, values: np.ndarray, new_keys: np.ndarray, new_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, unique keys and their values after adding new pairs (the old ones win)."""
    merged, first = np.unique(np.concatenate([keys, new_keys]), return_index=True)
    return merged, np.concatenate([values, new_values])[first]


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
        self, memory: joblib.Memory, estimator: Any, X: np.ndarray, fingerprint: Any, n_steps: int
    ):
        self.n = len(X)
        self.keys = np.empty(0, dtype=np.int64)
        self.values = np.empty(0)
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.file = None
        self.last_flush = time.monotonic()
        if memory.location is None:
            return
        key = cache_key(estimator, X, fingerprint, int(n_steps))
        self.file = Path(memory.location) / "didi" / "path_lengths" / f"{key}.npz"
        if self.file.exists():
            with np.load(self.file) as saved:
                self.keys, self.values = saved["keys"], saved["values"]

    def stored_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every stored pair ``(index_a, index_b)`` with ``index_a < index_b``, and its length."""
        index_a, index_b = np.divmod(self.keys, self.n)
        return index_a, index_b, self.values

    def lookup(self, index_a: np.ndarray, index_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For pairs with ``index_a < index_b``: which were stored, and their lengths."""
        return sorted_lookup(self.keys, self.values, index_a * self.n + index_b)

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
        new_keys = np.concatenate([k for k, _ in self.pending])
        new_values = np.concatenate([v for _, v in self.pending])
        self.pending = []
        self.keys, self.values = sorted_merge(self.keys, self.values, new_keys, new_values)
        _atomic_save(self.file, lambda handle: np.savez(handle, keys=self.keys, values=self.values))


class SamplePairMemory:
    """Path lengths between samples known by a lasting id, kept across fits.

    :meth:`DecisionMap.add_samples` refits on partly the same samples; their pairs
    need no new classifier call as long as the classifier is the same. That is
    checked, not assumed: when the classifier's probabilities of a sample seen
    before, or at the fixed points between the first samples
    (:func:`~didi._memory.fingerprint_points`), have changed (a model trained
    further, say), everything is forgotten.
    """

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.int64)
        self.values = np.empty(0)
        self.ids = np.empty(0, dtype=np.int64)
        self.proba = np.empty((0, 0))
        self.n_steps: int | None = None
        self.points: np.ndarray | None = None
        self.points_proba = np.empty((0, 0))

    def copy(self) -> SamplePairMemory:
        """An independent copy: a fit works on one and keeps it only if it succeeds."""
        return copy.deepcopy(self)

    def forget(self) -> None:
        """Forget every path length: the next fit evaluates every pair anew."""
        self.keys, self.values = np.empty(0, dtype=np.int64), np.empty(0)

    def for_samples(self, ids: np.ndarray) -> SamplePairs:
        """This memory for a fit on the samples named ``ids``, as
        :meth:`FisherJSMetric.fit <didi.FisherJSMetric.fit>` takes it (``known_paths``)."""
        return SamplePairs(self, np.asarray(ids, dtype=np.int64))

    def view(
        self,
        ids: np.ndarray,
        X: np.ndarray,
        proba: np.ndarray,
        proba_fn,
        n_steps: int,
        fallback=None,
    ):
        """The store for a fit on the samples ``X`` named ``ids``, with probabilities
        ``proba`` from the classifier ``proba_fn``.

        ``fallback`` (a :class:`PathLengthStore`) is asked for the pairs this memory
        does not hold, and is given every new pair too.
        """
        ids = np.asarray(ids, dtype=np.int64)
        if self.points is None:
            self.points = fingerprint_points(X)
        points_proba = proba_fn(self.points)  # a copy: the points must outlive the call
        common, here, before = np.intersect1d(ids, self.ids, return_indices=True)
        same_model = (
            n_steps == self.n_steps
            and np.array_equal(points_proba, self.points_proba)  # shapes included
            and (not len(common) or np.array_equal(proba[here], self.proba[before]))
        )
        if not same_model:
            self.forget()
        self.n_steps, self.points_proba = n_steps, points_proba
        # Keep only pairs among the samples still present.
        first, second = np.divmod(self.keys, _ID_SPAN)
        kept = np.isin(first, ids) & np.isin(second, ids)
        self.keys, self.values = self.keys[kept], self.values[kept]
        self.ids, self.proba = ids, np.array(proba)
        view = SamplePairView(self, ids)
        return view if fallback is None else LayeredStore(view, fallback)


@dataclass(frozen=True)
class SamplePairs:
    """A :class:`SamplePairMemory` bound to the lasting ids of one fit's samples."""

    memory: SamplePairMemory
    ids: np.ndarray

    def view(self, X: np.ndarray, proba: np.ndarray, proba_fn, n_steps: int, fallback=None):
        """The store for the fit on ``X`` (see :meth:`SamplePairMemory.view`)."""
        return self.memory.view(self.ids, X, proba, proba_fn, n_steps, fallback=fallback)


#: Ids stay below this, so that a pair of ids is one int64 key.
_ID_SPAN = 1 << 31


class SamplePairView:
    """A :class:`SamplePairMemory` seen through one fit's sample indices."""

    def __init__(self, memory: SamplePairMemory, ids: np.ndarray) -> None:
        self.memory = memory
        self.ids = ids

    def _keys(self, index_a: np.ndarray, index_b: np.ndarray) -> np.ndarray:
        a, b = self.ids[index_a], self.ids[index_b]
        return np.minimum(a, b) * _ID_SPAN + np.maximum(a, b)

    def lookup(self, index_a: np.ndarray, index_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which pairs are known, and their lengths."""
        return sorted_lookup(self.memory.keys, self.memory.values, self._keys(index_a, index_b))

    def add(self, index_a: np.ndarray, index_b: np.ndarray, values: np.ndarray) -> None:
        """Remember new pairs."""
        if not len(index_a):
            return
        memory = self.memory
        memory.keys, memory.values = sorted_merge(
            memory.keys,
            memory.values,
            self._keys(index_a, index_b),
            np.asarray(values, dtype=np.float64),
        )

    def flush(self) -> None:
        """Nothing to write: the memory lives in the estimator."""


class LayeredStore:
    """Two stores as one: lookups try ``first``, then ``second``; both keep new pairs."""

    def __init__(self, first, second) -> None:
        self.first, self.second = first, second

    def lookup(self, index_a: np.ndarray, index_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found, values = self.first.lookup(index_a, index_b)
        missing = ~found
        if missing.any():
            more, more_values = self.second.lookup(index_a[missing], index_b[missing])
            found[missing] = more
            values[missing] = np.where(more, more_values, values[missing])
        return found, values

    def add(self, index_a: np.ndarray, index_b: np.ndarray, values: np.ndarray) -> None:
        self.first.add(index_a, index_b, values)
        self.second.add(index_a, index_b, values)

    def flush(self) -> None:
        self.first.flush()
        self.second.flush()
