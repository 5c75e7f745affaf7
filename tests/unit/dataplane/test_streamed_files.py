"""Data files written a batch at a time: row groups encoded on the writing threads, in order per
partition, never more than a few at once, and a failed write never leaves a file half-closed."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pyiceberg.io import load_file_io
from pyiceberg.io.pyarrow import ParquetFormatWriter, PyArrowFile
from pyiceberg.manifest import DataFile
from pyiceberg.table.metadata import TableMetadata

from ingestion.dataplane import parquet_files, streamed_files
from ingestion.dataplane.parquet_files import ParquetDataFile
from ingestion.dataplane.sized_lru import SizedLru
from ingestion.dataplane.streamed_files import PartitionedWriter, WriteTarget

MONTHS = 3


@pytest.fixture
def target(events_table: TableMetadata) -> WriteTarget:
    return WriteTarget(events_table, load_file_io({}, events_table.location))


def batch(first: int, rows: int) -> pa.RecordBatch:
    """Ids from ``first`` up, their months taking turns, so every batch feeds every partition."""
    ids = list(range(first, first + rows))
    moments = (
        pa.array([f"2024-{1 + number % MONTHS:02d}-05T08:00:00" for number in ids], pa.string())
        .cast(pa.timestamp("us"))
        .cast(pa.timestamp("us", tz="UTC"))
    )
    return pa.record_batch({"id": pa.array(ids, pa.int64()), "at": moments})


def write(target: WriteTarget, batches: int, rows: int) -> list[str]:
    paths: list[str] = []
    writer = PartitionedWriter(target, paths.append)
    for number in range(batches):
        writer.add(batch(number * rows, rows))
    files = writer.close()
    assert sorted(file.file_path for file in files) == sorted(paths)
    return paths


def test_each_partition_file_holds_its_row_groups_in_the_order_they_were_made(target, monkeypatch) -> None:
    monkeypatch.setattr(streamed_files, "ROW_GROUP_ROWS", 5)

    paths = write(target, batches=40, rows=12)

    assert len(paths) == MONTHS
    every_id = []
    for path in paths:
        parquet = pq.ParquetFile(path.removeprefix("file://"))
        assert parquet.metadata.num_row_groups > 10
        ids = parquet.read(columns=["id"]).column("id").to_pylist()
        assert ids == sorted(ids)  # row groups written out of turn would break the order
        assert len({moment.month for moment in parquet.read(columns=["at"]).column("at").to_pylist()}) == 1
        every_id += ids
    assert sorted(every_id) == list(range(40 * 12))


def test_no_more_row_groups_than_allowed_are_handed_to_the_writing_threads_at_once(
    target, monkeypatch
) -> None:
    monkeypatch.setattr(streamed_files, "ROW_GROUP_ROWS", 4)
    monkeypatch.setattr(streamed_files, "WRITES_IN_FLIGHT", 2)
    lock, busy, most = threading.Lock(), [0], [0]
    write_group = ParquetFormatWriter.write

    def counted(self: ParquetFormatWriter, table: pa.Table) -> None:
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        try:
            threading.Event().wait(0.002)  # long enough for others to pile up, were they let in
            write_group(self, table)
        finally:
            with lock:
                busy[0] -= 1

    monkeypatch.setattr(ParquetFormatWriter, "write", counted)

    write(target, batches=30, rows=12)

    assert most[0] == 2


def test_a_failed_row_group_is_raised_by_close_and_abort_waits_for_the_others(target, monkeypatch) -> None:
    monkeypatch.setattr(streamed_files, "ROW_GROUP_ROWS", 3)
    write_group = ParquetFormatWriter.write
    writes = [0]

    def failing(self: ParquetFormatWriter, table: pa.Table) -> None:
        writes[0] += 1
        if writes[0] == 5:
            raise OSError("the disk is full")
        write_group(self, table)

    monkeypatch.setattr(ParquetFormatWriter, "write", failing)
    writer = PartitionedWriter(target, lambda path: None)
    for number in range(10):
        writer.add(batch(number * 9, 9))

    with pytest.raises(OSError, match="the disk is full"):
        writer.close()
    writer.abort()
    assert all(partition.writing.done() for partition in writer.partitions.values() if partition.writing)


def test_each_file_is_described_with_its_size_on_disk_without_asking_the_storage(target, monkeypatch) -> None:
    monkeypatch.setattr(streamed_files, "ROW_GROUP_ROWS", 5)

    def no_lookup(self: object) -> int:
        raise AssertionError("the size of a file just written is asked of the storage")

    monkeypatch.setattr(PyArrowFile, "__len__", no_lookup)
    writer = PartitionedWriter(target, lambda path: None)
    for number in range(8):
        writer.add(batch(number * 12, 12))

    files = writer.close()

    assert len(files) == MONTHS
    for data_file in files:
        assert (
            data_file.file_size_in_bytes == Path(data_file.file_path.removeprefix("file://")).stat().st_size
        )


def test_a_file_is_closed_while_another_partitions_last_row_group_is_still_being_written(
    target, monkeypatch
) -> None:
    monkeypatch.setattr(streamed_files, "ROW_GROUP_ROWS", 1000)  # one row group per file, at close
    first_closed, waited = threading.Event(), []
    write_group, close_file = ParquetFormatWriter.write, ParquetDataFile.close

    def write(self: ParquetFormatWriter, table: pa.Table) -> None:
        if table.column("at")[0].as_py().month == 2:
            waited.append(first_closed.wait(timeout=5))  # in vain, were the closes to wait for every write
        write_group(self, table)

    def close(self: ParquetDataFile) -> DataFile:
        described = close_file(self)
        first_closed.set()
        return described

    monkeypatch.setattr(ParquetFormatWriter, "write", write)
    monkeypatch.setattr(ParquetDataFile, "close", close)
    writer = PartitionedWriter(target, lambda path: None)
    writer.add(batch(0, 30))

    files = writer.close()

    assert waited == [True]
    assert sorted(data_file.record_count for data_file in files) == [10, 10, 10]


def test_only_columns_whose_first_values_repeat_get_a_dictionary(target) -> None:
    writer = PartitionedWriter(target, lambda path: None)
    rows = 3000
    first = batch(0, rows)  # distinct ids; three months, each moment repeated a thousand times
    writer.add(first)

    files = writer.close()

    assert writer.layout.dictionary == ["at"]
    for data_file in files:
        metadata = pq.ParquetFile(data_file.file_path.removeprefix("file://")).metadata
        chunks = {
            metadata.row_group(0).column(i).path_in_schema: metadata.row_group(0).column(i) for i in (0, 1)
        }
        assert chunks["at"].has_dictionary_page
        assert not chunks["id"].has_dictionary_page


def test_too_few_first_rows_to_judge_leave_every_column_its_dictionary(target) -> None:
    writer = PartitionedWriter(target, lambda path: None)
    writer.add(batch(0, parquet_files.DICTIONARY_MIN_SAMPLE_ROWS - 1))

    files = writer.close()

    assert writer.layout.dictionary is None
    metadata = pq.ParquetFile(files[0].file_path.removeprefix("file://")).metadata
    assert all(metadata.row_group(0).column(i).has_dictionary_page for i in (0, 1))


def test_a_tables_later_writes_keep_the_layout_its_first_judged_write_chose(target, monkeypatch) -> None:
    monkeypatch.setattr(parquet_files, "LAYOUTS", SizedLru(parquet_files.LAYOUTS_KEPT))
    too_few = PartitionedWriter(target, lambda path: None)
    too_few.add(batch(0, parquet_files.DICTIONARY_MIN_SAMPLE_ROWS - 1))
    too_few.close()
    judged = PartitionedWriter(target, lambda path: None)
    judged.add(batch(0, 3000))
    judged.close()
    later = PartitionedWriter(target, lambda path: None)
    ids = pa.array(range(3000), pa.int64())
    later.add(batch(0, 3000).set_column(0, "id", pc.divide(ids, 1000)))  # ids that repeat, this time

    later.close()

    assert too_few.layout.dictionary is None  # judged on nothing, and not kept
    assert judged.layout.dictionary == later.layout.dictionary == ["at"]
    assert later.layout.metadata is target.metadata
