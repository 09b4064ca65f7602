"""A small thread-safe memo bounded by the bytes it holds: the diagnoses a matrix repeats (the same
byte strings read by an encode cell and by a send cell's explanation) are computed once."""
from __future__ import annotations

import threading
from typing import Any, Callable, Hashable


class Memo:
    def __init__(self, max_bytes: int = 64 << 20, max_items: int = 4096) -> None:
        self.max_bytes, self.max_items = max_bytes, max_items
        self._items: dict[Hashable, tuple[Any, int]] = {}    # oldest first
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any], size: int) -> Any:
        """The value for key, made (outside the lock) on a miss; `size` is what it holds in bytes."""
        with self._lock:
            hit = self._items.get(key)
        if hit is not None:
            return hit[0]
        value = make()
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, size)
                self._bytes += size
                while (self._bytes > self.max_bytes or len(self._items) > self.max_items) and len(self._items) > 1:
                    oldest = next(iter(self._items))
                    self._bytes -= self._items.pop(oldest)[1]
        return value
