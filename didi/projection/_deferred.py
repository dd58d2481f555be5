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
from collections.abc import Callable, Iterator
from typing import Any

from ._layout_hooks import install_layout_hook, is_fit_call

#: This thread's (this context's) held-back descents; ``None``: run them at once.
_PENDING: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "didi_deferred_layouts", default=None
)


@contextlib.contextmanager
def deferred_layouts() -> Iterator[list[Callable[[], Any]]]:
    """Within the block (and only in this thread), umap-learn's fits return with their
    initial layout, and each one's gradient descent is appended to the list yielded:
    calling it runs the descent on a copy of that layout and returns the copy."""
    _install_deferrer()
    pending: list[Callable[[], Any]] = []
    token = _PENDING.set(pending)
    try:
        yield pending
    finally:
        _PENDING.reset(token)


def _install_deferrer() -> None:
    """Hook, once per process, umap-learn's layout descent: hold a fit's descent back
    where the calling context asked for it, call what was there otherwise (other
    threads, ``transform``, densMAP)."""

    def wrap(current: Callable) -> Callable:
        def defer(*args: Any, **kwargs: Any) -> Any:
            pending = _PENDING.get()
            if pending is None or not is_fit_call(args, kwargs):
                return current(*args, **kwargs)
            # The descent moves a copy: the fit goes on with the initial layout (it
            # writes NaN into unconnected rows, which the descent must not see).
            layout = args[0].copy()
            pending.append(functools.partial(current, layout, layout, *args[2:], **kwargs))
            return args[0]

        return defer

    install_layout_hook("didi_deferrer", wrap)
