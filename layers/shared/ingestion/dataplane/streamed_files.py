"""Rows written as a table's data files a batch at a time: one Parquet file per partition value.

:func:`.writing.write_data_files` writes rows it has all at once; :class:`PartitionedWriter`
takes them as they come (:mod:`.early_append` feeds it while a file is validated), routes each
batch's rows to their partition's file (rows keep their order within a partition) and writes a
partition's rows as one row group once :data:`ROW_GROUP_ROWS` of them are waiting, so that the
encoding keeps pace with the batches. A file past the table's target size is followed by a new
one. Each file is written and described (:class:`~pyiceberg.manifest.DataFile`, its statistics
read from the Parquet footer) with pyiceberg's own writer and code (:mod:`.parquet_files`).

Row groups are encoded on pyiceberg's writing threads, not on the caller's: encoding is most of
the work and runs outside the GIL, so it takes whatever core is free. A partition's row groups
are written in the order they were made (each write waits for the one before it in the same
partition), and at most :data:`WRITES_IN_FLIGHT` wait or run at once, so that a writer falling
behind holds back the caller instead of piling up rows in memory.

What is left once the caller is done is the writer's tail, and the job waits for it: each file
is closed (its footer written, its bytes sent) as soon as its own last row group is written,
while other partitions' are still encoded. Each file is a :class:`.parquet_files.ParquetDataFile`.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field

import pyarrow as pa
from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionKey
from pyiceberg.schema import Schema
from pyiceberg.table import TableProperties
from pyiceberg.table.locations import load_location_provider
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.utils.concurrent import ExecutorFactory
from pyiceberg.utils.properties import property_as_int

from ingestion.dataplane.commits import conform_rows
from ingestion.dataplane.parquet_files import FileLayout, ParquetDataFile
from ingestion.dataplane.writing import by_partition, partition_key, runs
from ingestion.observability import logger

# Rows a partition's file takes at a time, as one row group (what is left goes at the end).
ROW_GROUP_ROWS = 8192
# Row groups handed to the writing threads and not yet written: enough to keep both cores busy.
WRITES_IN_FLIGHT = 4


@dataclass(frozen=True)
class WriteTarget:
    """The table the files are written for (as it stands, or as it will be created) and its FileIO."""

    metadata: TableMetadata
    io: FileIO

    def matches(self, metadata: TableMetadata) -> bool:
        """Whether the files written for this table are what a merge into ``metadata`` would write."""
        mine = self.metadata

        def writing(properties: dict[str, str]) -> dict[str, str]:
            return {name: value for name, value in properties.items() if name.startswith("write.")}

        return (
            mine.schema() == metadata.schema()
            and mine.spec() == metadata.spec()
            and mine.location == metadata.location
            and mine.format_version == metadata.format_version
            and writing(dict(mine.properties)) == writing(dict(metadata.properties))
        )


@dataclass
class _OpenFile:
    parquet: ParquetDataFile
    written_bytes: int = 0
    writing: Future[None] | None = None  # its last row group handed to the writing threads


@dataclass
class _Partition:
    key: PartitionKey | None
    waiting: list[pa.Table] = field(default_factory=list)
    waiting_rows: int = 0
    waiting_bytes: int = 0
    file: _OpenFile | None = None
    writing: Future[None] | None = None  # its last row group handed to the writing threads


class PartitionedWriter:
    """Batches in (in the table's columns, or fewer), data files out: see the module's docstring.

    ``on_path`` is told each file's path before anything is written to it.
    """

    def __init__(self, target: WriteTarget, on_path: Callable[[str], None]) -> None:
        metadata = target.metadata
        if metadata.properties.get(TableProperties.WRITE_FILE_FORMAT, "parquet").lower() != "parquet":
            raise ValueError("only Parquet data files are written a batch at a time")
        spec = metadata.spec()
        if len(spec.fields) > 1:
            raise ValueError("only tables with one partition field at most are written a batch at a time")
        self.target = target
        self.on_path = on_path
        self.schema: Schema = metadata.schema()
        self.field = spec.fields[0] if spec.fields else None
        self.locations = load_location_provider(metadata.location, metadata.properties)
        self.target_bytes = property_as_int(
            metadata.properties,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
        )
        self.write_uuid = uuid.uuid4()
        self.task_ids = itertools.count()
        self.partitions: dict[object, _Partition] = {}
        self.layout: FileLayout | None = None  # learned from the first rows
        self.full: list[_OpenFile] = []  # files past the target size, followed by another
        self.executor = ExecutorFactory.get_or_create()
        self.room = threading.BoundedSemaphore(WRITES_IN_FLIGHT)

    def add(self, batch: pa.RecordBatch) -> None:
        rows = conform_rows(pa.Table.from_batches([batch]), self.schema)
        if self.layout is None:
            self.layout = FileLayout.of(self.target.metadata, rows)
        if self.field is None:
            self._append(None, rows)
            return
        rows, values = by_partition(rows, self.field, self.schema)
        for start, stop in runs(values):
            self._append(values[start].as_py(), rows.slice(start, stop - start))

    def close(self) -> list[DataFile]:
        """Write what is left, close every file and describe it, on pyiceberg's writing threads:
        each file as soon as its last row group is written, while other partitions' still are."""
        # Each file's last row group is handed over before its close, so it is running or
        # done when the close waits for it: the closes cannot hold every thread of the pool.
        closing = [self.executor.submit(self._describe, file) for file in self.full]
        try:
            for partition in self.partitions.values():
                self._flush(partition)
                if partition.file is not None:
                    closing.append(self.executor.submit(self._describe, partition.file))
        finally:
            wait(closing)  # no file is still closing when an error reaches the caller, who aborts
        return [close.result() for close in closing]  # a failed write's error, if any

    def abort(self) -> None:
        """Close the files as they are, only for them to be deleted."""
        wait(self._last_writes())  # a file is not closed under a write, whatever came of the writes
        for file in self._files():
            try:
                file.parquet.abort()
            except Exception:
                logger.debug("data file left unfinished", extra={"path": file.parquet.path})

    def _last_writes(self) -> list[Future[None]]:
        """Each partition's last row group handed over: it ends after every earlier one of its
        partition (it waits for the one before it), and fails if any of them failed."""
        return [partition.writing for partition in self.partitions.values() if partition.writing]

    def _files(self) -> list[_OpenFile]:
        return self.full + [partition.file for partition in self.partitions.values() if partition.file]

    def _append(self, value: object, rows: pa.Table) -> None:
        partition = self.partitions.get(value)
        if partition is None:
            key = None
            if self.field is not None:
                key = partition_key(self.field, value, self.target.metadata.spec(), self.schema)
            partition = self.partitions[value] = _Partition(key)
        partition.waiting.append(rows)
        partition.waiting_rows += rows.num_rows
        partition.waiting_bytes += rows.nbytes
        if partition.waiting_rows >= ROW_GROUP_ROWS:
            self._flush(partition)

    def _flush(self, partition: _Partition) -> None:
        if not partition.waiting_rows:
            return
        current = partition.file
        if current is not None and current.written_bytes + partition.waiting_bytes > self.target_bytes:
            self.full.append(current)  # the target size is reached: the next rows start a file
            current = None
        if current is None:
            current = partition.file = self._open(partition.key)
        current.written_bytes += partition.waiting_bytes
        rows, previous = partition.waiting, partition.writing
        partition.waiting, partition.waiting_rows, partition.waiting_bytes = [], 0, 0
        self.room.acquire()
        try:
            partition.writing = current.writing = self.executor.submit(self._write, current, rows, previous)
        except BaseException:
            self.room.release()
            raise

    def _write(self, file: _OpenFile, rows: list[pa.Table], previous: Future[None] | None) -> None:
        """One row group, on a writing thread, after the partition's row group before it.

        The earlier row group was handed over first, so it is running or done (the pool takes
        its work in order): waiting for it cannot deadlock the pool."""
        try:
            if previous is not None:
                previous.result()
            file.parquet.write(pa.concat_tables(rows))
        finally:
            self.room.release()

    def _open(self, key: PartitionKey | None) -> _OpenFile:
        name = f"00000-{next(self.task_ids)}-{self.write_uuid}.parquet"  # as pyiceberg names them
        path = self.locations.new_data_location(data_file_name=name, partition_key=key)
        self.on_path(path)
        assert self.layout is not None  # noqa: S101 - a file opens for rows added
        return _OpenFile(ParquetDataFile(self.layout, self.target.io, path, key))

    def _describe(self, file: _OpenFile) -> DataFile:
        if file.writing is not None:
            file.writing.result()  # its last row group, written (or its error)
        return file.parquet.close()
