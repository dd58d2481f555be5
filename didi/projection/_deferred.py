"""umap-learn's fits with their layout's gradient descent held back, to run later.

A fit builds the fuzzy graph and the initial (spectral) layout with numpy, scipy and
BLAS, whose results depend on how many threads BLAS uses: a setting of the whole
process, which other code changes while it runs (``threadpoolctl`` limits, as
scikit-learn's neighbour searches and didi's own ranking set). Its gradient descent is
numba code alone. So a fit that should run beside others without changing or being
changed by them builds everything on the calling thread, within
:func:`deferred_layouts`, and only the descent runs on another thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

#: This thread's (this context's) held-back descents; ``None``: run them at once.
_PENDING: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "didi_deferred_layouts", default=None
)

_INSTALL_LOCK = threading.Lock()


@contextlib.contextmanager
def deferred_layouts() -> Iterator[list[Callable[[], Any]]]:
    """Within the block (and only in this thread), umap-learn's fits return with their
    initial layout, and each one's gradient descent is appended to the list yielded:
    calling it runs the descent in place on that layout and returns it."""
    _install_deferrer()
    pending: list[Callable[[], Any]] = []
    token = _PENDING.set(pending)
    try:
        yield pending
    finally:
        _PENDING.reset(token)


def _install_deferrer() -> None:
    """Put, once per process, a function in place of umap-learn's layout descent that
    holds a fit's descent back where the calling context asked for it, and calls what
    was there otherwise (other threads, ``transform``, densMAP)."""
    import umap.umap_

    with _INSTALL_LOCK:
        current = umap.umap_.optimize_layout_euclidean
        if getattr(current, "didi_deferrer", False):
            return

        def defer(*args: Any, **kwargs: Any) -> Any:
            pending = _PENDING.get()
            fit_call = (
                len(args) >= 5 and args[0] is args[1]
                and kwargs.get("move_other", False) and not kwargs.get("densmap", False)
                and not isinstance(args[4], list)
            )  # fmt: skip
            if pending is None or not fit_call:
                return current(*args, **kwargs)
            pending.append(functools.partial(current, *args, **kwargs))
            return args[0]  # the initial layout, which the descent moves in place

        defer.didi_deferrer = True  # type: ignore[attr-defined]
        umap.umap_.optimize_layout_euclidean = defer
