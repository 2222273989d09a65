"""Per-programmed-array caches for the engines: what an engine derives from an array's
state once (the nodal transfer matrix, the behavioral engine's current expansion) is
kept, keyed by the array's content, so repeated batches on the same programmed array
skip it. Keys are content fingerprints, not object identities: the network layers
build a fresh ``ArrayState`` per call around the same fields, and a write changes the
fields and so the key."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

DEFAULT_BUDGET_BYTES = 512 * 2**20


def fingerprint(*parts: Any) -> str:
    """A digest of arrays (shape, dtype and bytes) and plain values."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, np.ndarray):
            a = np.ascontiguousarray(part)
            h.update(f"{a.shape}{a.dtype}".encode())
            h.update(a.data)
        elif isinstance(part, dict):
            for k in sorted(part):
                h.update(str(k).encode())
                h.update(fingerprint(part[k]).encode())
        else:
            h.update(repr(part).encode())
    return h.hexdigest()


class ArrayCache:
    """A least-recently-used map from fingerprints to derived arrays, bounded in bytes
    (an entry larger than the budget is built and returned but not kept)."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._items: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str, build: Callable[[], Any], size: Callable[[Any], int]) -> Any:
        """The entry for ``key``, built with ``build()`` on a miss."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key][0]
        value = build()
        nbytes = int(size(value))
        with self._lock:
            self.misses += 1
            if nbytes <= self.budget_bytes and key not in self._items:
                self._items[key] = (value, nbytes)
                self._bytes += nbytes
                while self._bytes > self.budget_bytes:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self._bytes -= dropped
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)
