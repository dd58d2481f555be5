"""Where estimators keep work between fits: a ``joblib.Memory`` and stable keys for it."""

from __future__ import annotations

import os
from typing import Any

import joblib


def cache_key(*parts: Any) -> str:
    """A stable hash of the classifier and data, with a clear error when impossible."""
    try:
        return joblib.hash(parts)
    except Exception as exc:  # pickling errors have many types
        raise TypeError(
            "memory= needs a classifier and samples that can be pickled, to recognise "
            f"them between fits; hashing failed with {type(exc).__name__}: {exc}"
        ) from exc


def resolve_memory(memory: Any) -> joblib.Memory:
    """``memory`` as a ``joblib.Memory``: ``None``, a folder (str or path) or a Memory."""
    from sklearn.utils.validation import check_memory

    if isinstance(memory, os.PathLike):
        memory = os.fspath(memory)
    return check_memory(memory)
