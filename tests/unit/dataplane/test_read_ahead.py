"""Read-ahead: the next batches are read while one is checked, with the counts of their own read."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator

import pyarrow as pa
import pytest

from ingestion.dataplane.read_ahead import read_ahead
from ingestion.dataplane.records import RawBatch, UnreadableFile
from ingestion.dataplane.validation import validate_file
from ingestion.domain import IngestOptions
from ingestion.schemas.deals import DEALS
from ingestion.schemas.spec import FieldType, spec_from_declaration

WAIT = 10.0


class CountingReader:
    """A reader of ``total`` one-row batches, with one malformed record before every third."""

    header = None

    def __init__(self, total: int, fail_after: int | None = None) -> None:
        self.notes: list[str] = []
        self.total = total
        self.fail_after = fail_after
        self.rows_read = 0
        self.malformed = 0
        self.read = 0
        self.closed_batches = threading.Event()
        self.progress = threading.Condition()
        self.reader_threads: set[str] = set()

    def batches(self) -> Iterator[RawBatch]:
        try:
            for number in range(self.total):
                if number == self.fail_after:
                    raise UnreadableFile(f"record {number} cannot be read", line=number + 2)
                self.reader_threads.add(threading.current_thread().name)
                if number % 3 == 2:
                    self.malformed += 1
                    self.rows_read += 1
                self.rows_read += 1
                with self.progress:
                    self.read += 1
                    self.progress.notify_all()
                yield RawBatch(pa.record_batch({"number": [str(number)]}))
        finally:
            self.closed_batches.set()

    def wait_until_read(self, count: int) -> bool:
        with self.progress:
            return self.progress.wait_for(lambda: self.read >= count, timeout=WAIT)


def test_every_batch_arrives_in_order_with_the_counts_taken_when_it_was_read() -> None:
    reader = CountingReader(10)

    seen = [(r.batch.columns.column(0)[0].as_py(), r.rows_read, r.malformed) for r in read_ahead(reader)]

    assert seen == [(str(n), n + 1 + (n + 1) // 3, (n + 1) // 3) for n in range(10)]
    assert reader.reader_threads == {"read-ahead"}


def test_the_next_batches_are_read_while_the_consumer_holds_one() -> None:
    reader = CountingReader(10)
    batches = read_ahead(reader, depth=2)

    first = next(batches)

    # The consumer asks for nothing more, yet the reader goes on: one batch in the consumer's
    # hands, two waiting, and one read that waits for room.
    assert reader.wait_until_read(4)
    assert first.rows_read == 1  # the counts are the first batch's, not the reader's now
    batches.close()
    assert reader.read <= 4


def test_an_error_of_the_reader_is_raised_where_its_batches_stop() -> None:
    reader = CountingReader(10, fail_after=4)
    received = []

    def consume() -> None:
        for read in read_ahead(reader):
            received.append(read.batch.columns.num_rows)

    with pytest.raises(UnreadableFile, match="record 4 cannot be read"):
        consume()
    assert len(received) == 4


def test_a_consumer_that_stops_early_stops_and_joins_the_reading_thread() -> None:
    reader = CountingReader(1000)

    def consume() -> None:
        for read in read_ahead(reader, depth=2):
            if read.rows_read >= 2:
                raise RuntimeError("check failed")

    with pytest.raises(RuntimeError, match="check failed"):
        consume()

    # Joined before the exception left read_ahead: the reader's batches are closed, it read only
    # what fits ahead, and no thread of it is left running.
    assert reader.closed_batches.is_set()
    assert reader.read <= 6
    assert not any(thread.name == "read-ahead" for thread in threading.enumerate())


def test_a_many_batch_file_keeps_every_good_row_and_places_a_late_bad_one(rows, write_csv) -> None:
    many = [{**row, "id": str(number)} for number, row in enumerate(rows * 200)]
    many[-3]["value"] = "abc"
    data = write_csv(many)
    progress: list[int] = []

    checked = validate_file(
        lambda: io.BytesIO(data),
        DEALS,
        ",",
        max_errors=10,
        block_size=4096,
        options=IngestOptions(max_bad_records=1),
        on_progress=progress.append,
    )

    assert checked.accepts(), checked.message
    assert checked.processed_lines == len(many)
    assert checked.rows is not None
    assert checked.rows.num_rows == len(many) - 1
    assert [(issue.line, issue.column) for issue in checked.issues] == [(len(many) - 1, "value")]
    assert len(progress) > 10
    assert progress == sorted(set(progress))
    assert progress[-1] == len(many)
    checked.close()


def test_a_reader_that_starts_over_is_read_from_the_start_again_with_nothing_kept_twice() -> None:
    items = spec_from_declaration(
        "items",
        [("sku", FieldType.STRING, True), ("count", FieldType.INTEGER, False)],
        key="sku",
        version_field=None,
    )
    # The first blocks show "count" always null; a late "9" (text) makes the NDJSON reader start
    # the file over reading it as text: the second pass must be the only one kept.
    lines = [{"sku": f"s{number}", "count": None} for number in range(3000)] + [{"sku": "late", "count": "9"}]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()

    checked = validate_file(lambda: io.BytesIO(data), items, ",", max_errors=10, block_size=16 << 10)

    assert checked.accepts(), checked.message
    assert checked.processed_lines == 3001
    assert checked.table is not None
    assert checked.table.num_rows == 3001
    assert checked.table.column("count").to_pylist()[-2:] == [None, 9]
