"""Progress of long work, reported from where it happens (an engine's decks) to
whoever shows it (the CLI's live bar), without threading callbacks through
every layer in between. No display is installed by default: the library
stays silent."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Sink = Callable[[str, float, float | None, str], None]
"""sink(task, done, total, info): ``done`` of ``total`` units (None: unknown) of the
named task; ``info`` a short status text (the last loss, the point's value)."""

_SINKS: list[Sink] = []
_LOCK = threading.Lock()


@contextmanager
def shown_by(sink: Sink) -> Iterator[None]:
    """Send every progress report made inside the block to ``sink``."""
    with _LOCK:
        _SINKS.append(sink)
    try:
        yield
    finally:
        with _LOCK:
            _SINKS.remove(sink)


def report(task: str, done: float, total: float | None, info: str = "") -> None:
    with _LOCK:
        sinks = list(_SINKS)
    for sink in sinks:
        sink(task, done, total, info)


class Tracker:
    """Progress of one task made of parts that advance on their own (parallel decks):
    each part reports its own count; the task reports their sum."""

    def __init__(self, task: str, sizes: list[int]) -> None:
        self.task = task
        self.sizes = sizes
        self.done = [0.0] * len(sizes)
        self.total = float(sum(sizes))
        self._lock = threading.Lock()

    def part(self, k: int, done: float) -> None:
        with self._lock:
            self.done[k] = min(max(done, self.done[k]), self.sizes[k])
            total_done = sum(self.done)
        report(self.task, total_done, self.total)
