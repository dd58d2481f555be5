"""Wall-clock bookkeeping for the stages of a fit."""

from __future__ import annotations

import time


def lap(start: float) -> tuple[float, float]:
    """Seconds since ``start`` and the current ``perf_counter`` reading."""
    now = time.perf_counter()
    return now - start, now
