"""A map that keeps its most recently used values, up to a total size.

The FileIO's metadata bytes (:mod:`.file_io`), the manifest entries (:mod:`.manifest_entries`)
and the layouts of data files (:mod:`.parquet_files`) are kept per process this way: the size of
a value is its ``len`` (bytes, entries, one layout), and the least recently used values leave
once the total passes the limit. Safe to use from several threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sized


class SizedLru[K: Hashable, V: Sized]:
    """Values by key, least recently used dropped once their total ``len`` passes ``max_size``;
    a value larger than the limit is not kept (and pushes nothing out)."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        if len(value) > self.max_size:
            return
        with self._lock:
            previous = self._values.pop(key, None)
            self._size -= len(previous) if previous is not None else 0
            self._values[key] = value
            self._size += len(value)
            while self._size > self.max_size:
                _, dropped = self._values.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._size = 0

    def __len__(self) -> int:
        """The total size of the values kept."""
        with self._lock:
            return self._size
