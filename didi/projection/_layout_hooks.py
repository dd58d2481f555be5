"""Hooks in place of umap-learn's layout descent, ``umap.umap_.optimize_layout_euclidean``.

didi puts up to two there, each once per process: the PyTorch layout
(:mod:`~didi.projection._torch_layout`) and the held-back descent
(:mod:`~didi.projection._deferred`). Each acts only where its context variable asks,
in the calling thread, and calls what it found otherwise; they chain in whichever order
they are installed, each exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_HOOK_LOCK = threading.Lock()


def install_layout_hook(marker: str, wrap: Callable[[Callable], Callable]) -> None:
    """Put ``wrap(current)`` in place of umap-learn's layout descent, unless a hook
    marked ``marker`` is already in the chain of hooks there."""
    import umap.umap_

    with _HOOK_LOCK:
        current = umap.umap_.optimize_layout_euclidean
        hook: Any = current
        while hook is not None:
            if getattr(hook, marker, False):
                return
            hook = getattr(hook, "didi_wraps", None)
        wrapper: Any = wrap(current)
        setattr(wrapper, marker, True)
        wrapper.didi_wraps = current
        umap.umap_.optimize_layout_euclidean = wrapper


def is_fit_call(args: tuple, kwargs: dict) -> bool:
    """Whether a call of the layout descent is a fit's: one embedding moved at both
    ends, one number of epochs, no densMAP (``transform`` and densMAP pass through)."""
    return (
        len(args) >= 13 and args[0] is args[1]
        and kwargs.get("move_other", False) and not kwargs.get("densmap", False)
        and not isinstance(args[4], list)
    )  # fmt: skip
