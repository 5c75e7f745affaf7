"""Reading a file's next batches while the current one is checked.

Reading a batch (the S3 body, decompression, pyarrow's CSV parse) and checking it (pyarrow
compute) each spend most of their time outside the GIL, so on two cores they overlap: a
background thread reads up to ``depth`` batches ahead of the checks. Measured on the bench's
100 MB file, validation went from parse + checks to little more than the checks alone.

The reader is touched by that thread only, while it reads. Each batch travels with the
reader's counts taken just after it was read (records read, malformed records), so progress
and the bad-record budget see the same figures as a reader read in line. An error of the
reader (:class:`.records.UnreadableFile`, :class:`.records.ReadAgain`, anything) is raised in
the consumer at the point where the batches stop. When the consumer stops early (an exception,
or it closes the iterator), the thread is stopped and joined before the iterator returns, so
the caller may close the reader's source right after.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass

from ingestion.dataplane.records import RawBatch, RecordReader

# Batches read ahead of the one being checked: two keep both cores busy; each is one block
# of the file (4 MiB of CSV), so this bounds what read-ahead adds to memory.
READ_AHEAD_BATCHES = 2
# How often a reader blocked on a full queue looks whether the consumer has gone.
_STOP_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class ReadBatch:
    """A batch and the reader's counts once it was read."""

    batch: RawBatch
    rows_read: int
    malformed: int


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_END = object()


def read_ahead(reader: RecordReader, depth: int = READ_AHEAD_BATCHES) -> Iterator[ReadBatch]:
    """``reader.batches()`` read by a background thread, at most ``depth`` batches ahead."""
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=_STOP_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            with closing(reader.batches()) as batches:
                for batch in batches:
                    if not hand_over(ReadBatch(batch, reader.rows_read, reader.malformed)):
                        return
            hand_over(_END)
        except BaseException as error:  # handed to the consumer, which raises it
            hand_over(_Failed(error))

    thread = threading.Thread(target=read, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]  # a ReadBatch: nothing else is handed over
    finally:
        stop.set()
        thread.join()
