"""Directories on local disk for rows that do not fit in memory, and what a killed process left.

A large file's kept rows (:mod:`.kept_rows`) and the parts of its merge (:mod:`.merge_in_parts`)
go to directories under the temporary directory (``tempfile.gettempdir()``: the validator's
``/tmp``, its EphemeralStorage). Each is deleted once done with, on failure too. A process
killed mid-file (the function's timeout, running out of memory) deletes nothing, though, and
Lambda keeps ``/tmp`` for the next invocations of that execution environment: gigabytes of
rows that nobody will read, in the way of the next large file. So a directory holds a lock
while it is in use (``flock``, which the kernel releases when its process ends, however it
ends), and each new directory first deletes those whose lock nobody holds.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from ingestion.observability import logger

# Every spill directory's name starts with this, then says what it holds.
PREFIX = "ingestion-spill-"
# The lock file of a directory in use; it only ever exists already locked.
_LOCK = ".in-use"


class SpillDirectory:
    """A fresh directory for rows on local disk, locked until :meth:`close` deletes it."""

    def __init__(self, kind: str, *, root: Path | None = None) -> None:
        remove_abandoned(root)
        self.path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-", dir=root))
        # Locked before it takes its name: whoever finds the lock file finds it held.
        locking = self.path / f"{_LOCK}.new"
        self._lock: BinaryIO | None = locking.open("wb")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        locking.rename(self.path / _LOCK)

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the directory and what it holds."""
        if self._lock is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self._lock.close()
            self._lock = None


def remove_abandoned(root: Path | None = None) -> list[Path]:
    """Delete the spill directories under ``root`` (the temporary directory) whose process is gone."""
    removed = []
    for directory in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            lock = (directory / _LOCK).open("rb")
        except OSError:
            continue  # not a spill directory, or one just made or just deleted
        with lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # in use
            size = _size(directory)
            shutil.rmtree(directory, ignore_errors=True)
        removed.append(directory)
        logger.warning(
            "deleted rows an ended process left on local disk",
            extra={"directory": str(directory), "bytes": size},
        )
    return removed


def _size(directory: Path) -> int:
    total = 0
    for folder, _, files in os.walk(directory):
        for name in files:
            try:
                total += (Path(folder) / name).stat().st_size
            except OSError:
                continue
    return total
