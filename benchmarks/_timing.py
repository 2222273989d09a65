"""Timing helpers the benchmarks share (not a benchmark itself: ``bootstrap.sh bench``
runs the files not starting with an underscore)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    """The fastest of ``repeats`` calls (s)."""
    return min(timed(fn)[0] for _ in range(repeats))
