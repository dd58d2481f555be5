"""Where estimators keep work between fits: a ``joblib.Memory``, stable keys for it, and
what recognises a classifier from one fit to the next."""

from __future__ import annotations

import os
from typing import Any

import joblib
import numpy as np

#: Points between the samples at which a classifier's probabilities join its
#: fingerprint (see :func:`fingerprint_points`).
FINGERPRINT_POINTS = 16


def cache_key(*parts: Any) -> str:
    """A stable hash of the classifier and data, with a clear error when impossible."""
    try:
        return joblib.hash(parts)
    except Exception as exc:  # pickling errors have many types
        raise TypeError(
            "memory= needs a classifier and samples that can be pickled, to recognise "
            f"them between fits; hashing failed with {type(exc).__name__}: {exc}"
        ) from exc


def fingerprint_points(X: np.ndarray) -> np.ndarray:
    """Midpoints of fixed pairs of samples, at which a classifier is recognised.

    A model retrained so that it gives the samples themselves the same
    probabilities (trees, forests, nearest neighbours and saturated networks are
    one-hot at their training data) while its boundaries between them moved, gives
    other probabilities here. The pairs join samples half the set apart, which in
    data sorted by class are usually of different classes.
    """
    n = len(X)
    first = np.linspace(0, n - 1, min(FINGERPRINT_POINTS, n)).round().astype(np.int64)
    second = (first + n // 2) % n
    return (X[first] + X[second]) / 2


def resolve_memory(memory: Any) -> joblib.Memory:
    """``memory`` as a ``joblib.Memory``: ``None``, a folder (str or path) or a Memory."""
    from sklearn.utils.validation import check_memory

    if isinstance(memory, os.PathLike):
        memory = os.fspath(memory)
    return check_memory(memory)
