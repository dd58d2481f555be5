"""Hooks in place of umap-learn's functions, each installed once per process.

In place of its layout descent, ``umap.umap_.optimize_layout_euclidean``, didi puts up
to two: the PyTorch layout (:mod:`~didi.projection._torch_layout`) and the held-back
descent (:mod:`~didi.projection._deferred`); in place of its spectral start,
``umap.spectral._spectral_layout``, one (:mod:`~didi.projection._spectral`). Each acts
only where its context variable asks, in the calling thread, and calls what it found
otherwise; hooks on one function chain in whichever order they are installed, each
exactly once.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

_HOOK_LOCK = threading.Lock()


def install_layout_hook(marker: str, wrap: Callable[[Callable], Callable]) -> None:
    """:func:`install_hook` on umap-learn's layout descent."""
    install_hook("umap.umap_", "optimize_layout_euclidean", marker, wrap)


def install_hook(module: str, name: str, marker: str, wrap: Callable[[Callable], Callable]) -> None:
    """Put ``wrap(current)`` in place of the function ``name`` of umap-learn's
    ``module``, unless a hook marked ``marker`` is already in the chain of hooks there."""
    target = importlib.import_module(module)
    with _HOOK_LOCK:
        current = getattr(target, name)
        hook: Any = current
        while hook is not None:
            if getattr(hook, marker, False):
                return
            hook = getattr(hook, "didi_wraps", None)
        wrapper: Any = wrap(current)
        setattr(wrapper, marker, True)
        wrapper.didi_wraps = current
        setattr(target, name, wrapper)


def hooked_function(function: Callable) -> Callable:
    """The function at the end of a chain of hooks: umap-learn's own."""
    while hasattr(function, "didi_wraps"):
        function = function.didi_wraps
    return function


def is_fit_call(args: tuple, kwargs: dict) -> bool:
    """Whether a call of the layout descent is a fit's: one embedding moved at both
    ends, one number of epochs, no densMAP (``transform`` and densMAP pass through)."""
    return (
        len(args) >= 13 and args[0] is args[1]
        and kwargs.get("move_other", False) and not kwargs.get("densmap", False)
        and not isinstance(args[4], list)
    )  # fmt: skip
