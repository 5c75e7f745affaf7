"""Rows written as data files in one reorder: grouped by partition, sorted on the key when asked,
and only the rows a mask keeps."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.io import load_file_io
from pyiceberg.table.metadata import TableMetadata

from ingestion.dataplane.writing import write_data_files


def events(ids: list[int]) -> pa.Table:
    """Each id in month ``1 + id % 3`` of 2024, so neighbouring ids sit in different partitions."""
    moments = (
        pa.array([f"2024-{1 + number % 3:02d}-05T08:00:00" for number in ids], pa.string())
        .cast(pa.timestamp("us"))
        .cast(pa.timestamp("us", tz="UTC"))
    )
    return pa.table({"id": pa.array(ids, pa.int64()), "at": moments})


def written(metadata: TableMetadata, rows: pa.Table, **options: object) -> dict[int, list[int]]:
    """The ids of each written file, by the month its rows are in."""
    io = load_file_io({}, metadata.location)
    files = write_data_files(metadata, rows, io, **options)  # type: ignore[arg-type]
    by_month: dict[int, list[int]] = {}
    for data_file in files:
        stored = pq.read_table(data_file.file_path.removeprefix("file://"))
        months = {moment.month for moment in stored.column("at").to_pylist()}
        assert len(months) == 1, "a file holds one partition"
        assert data_file.record_count == stored.num_rows
        assert (
            data_file.file_size_in_bytes == Path(data_file.file_path.removeprefix("file://")).stat().st_size
        )
        by_month[months.pop()] = stored.column("id").to_pylist()
    return by_month


def test_each_file_holds_the_kept_rows_of_its_partition_sorted_on_the_key(events_table) -> None:
    ids = list(range(60))
    random.Random(3).shuffle(ids)
    dropped = {5, 6, 7, 30, 59}
    keep = pa.array([number not in dropped for number in ids])

    by_month = written(events_table, events(ids), sort_key="id", keep=keep)

    assert by_month == {
        month: [number for number in range(60) if 1 + number % 3 == month and number not in dropped]
        for month in (1, 2, 3)
    }


def test_without_a_sort_key_each_partition_keeps_the_order_rows_came_in(events_table) -> None:
    ids = [9, 3, 1, 6, 4, 0, 7, 2, 8, 5]

    assert written(events_table, events(ids)) == {
        month: [number for number in ids if 1 + number % 3 == month] for month in (1, 2, 3)
    }


def test_a_mask_that_keeps_nothing_writes_no_file(events_table) -> None:
    assert written(events_table, events([1, 2, 3]), sort_key="id", keep=pa.array([False] * 3)) == {}
