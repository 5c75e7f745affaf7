"""A small upsert rewrites each sorted data file it touches from slices of the rows as read:
the replaced rows left out, the incoming ones put in key order, nothing copied."""

from __future__ import annotations

import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.io import load_file_io
from pyiceberg.table.metadata import TableMetadata

from ingestion.dataplane.commits import conform_rows
from ingestion.dataplane.sorted_rewrite import (
    MAX_EDITS_PER_FILE,
    StoredFile,
    interleave,
    rewrite_sorted_files,
)
from ingestion.dataplane.writing import write_data_files


def rows(metadata: TableMetadata, events: dict[int, str]) -> pa.Table:
    """``id -> "YYYY-MM-DD"`` as rows in the table's schema."""
    moments = [datetime.datetime.fromisoformat(f"{day}T08:00:00+00:00") for day in events.values()]
    return conform_rows(pa.table({"id": list(events), "at": moments}), metadata.schema())


def stored_files(metadata: TableMetadata, events: dict[int, str]) -> list[StoredFile]:
    """``events`` written as the table's data files (one per month, sorted on the id), each with
    its rows as read back."""
    io = load_file_io({}, metadata.location)
    files = write_data_files(metadata, rows(metadata, events), io, sort_key="id")
    return [
        StoredFile(data_file, conform_rows(pq.read_table(local(data_file.file_path)), metadata.schema()))
        for data_file in files
    ]


def local(path: str) -> str:
    return path.removeprefix("file://")


def contents(path: str) -> dict[int, str]:
    table = pq.read_table(local(path))
    return {
        number: moment.date().isoformat()
        for number, moment in zip(table.column("id").to_pylist(), table.column("at").to_pylist(), strict=True)
    }


def test_replaced_rows_are_left_out_and_incoming_ones_put_in_key_order_without_a_copy(events_table) -> None:
    kept = rows(events_table, dict.fromkeys([0, 2, 4, 6, 8], "2024-01-05"))
    incoming = rows(events_table, {9: "2024-01-20", 4: "2024-01-20", 3: "2024-01-20", -1: "2024-01-20"})

    merged = interleave(kept, incoming, "id", pa.array([4, 8]))

    assert merged is not None
    assert merged.column("id").to_pylist() == [-1, 0, 2, 3, 4, 6, 9]
    assert [moment.day for moment in merged.column("at").to_pylist()] == [20, 5, 5, 20, 20, 5, 20]
    stored_ids = kept.column("id").chunk(0).buffers()[1].address
    assert merged.column("id").chunk(1).buffers()[1].address == stored_ids, "the stored rows are slices"


def test_text_keys_go_in_the_order_arrow_sorts_them() -> None:
    kept = pa.table({"id": ["10", "2", "Z", "a", "é"]})  # Arrow's order: by UTF-8 bytes

    merged = interleave(kept, pa.table({"id": ["ë", "1", "b"]}), "id", pa.array([], pa.string()))

    assert merged is not None
    assert merged.column("id").to_pylist() == ["1", "10", "2", "Z", "a", "b", "é", "ë"]


@pytest.mark.parametrize(
    ("stored_ids", "incoming_ids"),
    [
        ([0, 4, 2], [3]),  # not sorted on the key
        ([0, 2, 2], [3]),  # a key twice
        ([0, None, 2], [3]),  # a null key
        ([0, 2], [None]),  # an incoming null key
        ([0, 2], list(range(3, 4 + MAX_EDITS_PER_FILE))),  # too many edits for slices
    ],
)
def test_rows_that_slices_cannot_rewrite_are_left_to_the_sort(events_table, stored_ids, incoming_ids) -> None:
    def table(ids: list[int | None]) -> pa.Table:
        moments = [datetime.datetime(2024, 1, 5, tzinfo=datetime.UTC)] * len(ids)
        return pa.table({"id": pa.array(ids, pa.int64()), "at": moments})

    assert interleave(table(stored_ids), table(incoming_ids), "id", pa.array([], pa.int64())) is None


def test_each_touched_file_is_rewritten_in_its_partition_and_other_rows_get_files_of_their_own(
    events_table,
) -> None:
    january = dict.fromkeys(range(0, 30, 3), "2024-01-05")
    february = dict.fromkeys(range(1, 30, 3), "2024-02-05")
    stored = stored_files(events_table, january | february)
    incoming = rows(
        events_table,
        {4: "2024-02-20", 7: "2024-02-20", 9: "2024-03-20", 100: "2024-05-01", 5: "2024-01-20"},
    )
    io = load_file_io({}, events_table.location)

    written = rewrite_sorted_files(events_table, io, stored, incoming, "id", pa.array([4, 7, 9]))

    assert written is not None
    by_partition = {tuple(data_file.partition): contents(data_file.file_path) for data_file in written}
    january_partition, february_partition = (tuple(item.file.partition) for item in stored)
    assert by_partition.pop(january_partition) == {
        number: day for number, day in (january | {5: "2024-01-20"}).items() if number != 9
    }
    assert by_partition.pop(february_partition) == february | {4: "2024-02-20", 7: "2024-02-20"}
    assert sorted(by_partition.values(), key=len) == [{9: "2024-03-20"}, {100: "2024-05-01"}]
    for data_file in written:
        assert contents(data_file.file_path) == dict(sorted(contents(data_file.file_path).items()))
        assert data_file.record_count == len(contents(data_file.file_path))
        assert data_file.file_size_in_bytes == Path(local(data_file.file_path)).stat().st_size


def test_two_files_of_one_partition_are_left_to_the_sort(events_table) -> None:
    stored = stored_files(events_table, {1: "2024-01-05"}) + stored_files(events_table, {2: "2024-01-06"})
    io = load_file_io({}, events_table.location)

    rewritten = rewrite_sorted_files(
        events_table, io, stored, rows(events_table, {1: "2024-01-20"}), "id", pa.array([1])
    )

    assert rewritten is None
