"""Reading an NDJSON upload: one JSON object per line, blank lines skipped, ``line`` the physical line.

NDJSON is streamed in blocks: pyarrow's JSON reader on the fast path, Python's ``json`` one
line at a time on the slow path (:mod:`.json_records` says when each is taken). A column
found to change kind after batches were yielded costs a whole read: the reader raises
:class:`.records.ReadAgain` and validation starts the file over. A JSON document (an array,
or ``{"rows": [...]}``) is read by :mod:`.json_reader` instead.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.json as pajson

from ingestion.dataplane.csv_reader import BLOCK_SIZE
from ingestion.dataplane.json_cells import DECODER, kind_of, shown_text
from ingestion.dataplane.json_records import SLOW_BATCH_ROWS, JsonRecords, opened
from ingestion.dataplane.records import Located, OpenSource, Place, RawBatch, ReadAgain, UnreadableFile
from ingestion.schemas.spec import FieldSpec


class NdjsonRecords(JsonRecords):
    """An NDJSON file: one object per line, blank lines skipped, ``line`` is the physical line."""

    def __init__(
        self, open_source: OpenSource, fields: Sequence[FieldSpec], *, block_size: int = BLOCK_SIZE
    ) -> None:
        super().__init__(open_source, fields)
        self._block_size = block_size

    def batches(self) -> Iterator[RawBatch]:
        self._rows_read = 0
        if not self._slow:
            yield from self._fast_batches()
        if self._slow:
            self._rows_read = 0
            yield from self._slow_batches()

    def _fast_batches(self) -> Iterator[RawBatch]:
        yielded = False
        while not self._slow:
            try:
                with opened(self._open_source) as stream:
                    reader = pajson.open_json(
                        stream,
                        read_options=pajson.ReadOptions(block_size=self._block_size),
                        parse_options=pajson.ParseOptions(
                            explicit_schema=pa.schema(self._field_types()),
                            unexpected_field_behavior="infer",
                        ),
                    )
                    if self._inferred_timestamps(reader.schema):
                        continue
                    for batch in reader:
                        self._check_utf8(batch)
                        self._rows_read += batch.num_rows
                        yielded = True
                        yield self._text_batch(batch)
                return
            except UnicodeDecodeError as error:
                raise self._not_utf8() from error
            except pa.ArrowInvalid as error:
                if "Empty JSON file" in str(error):
                    return
                retry = self._retry_after(error, late=yielded)
                if yielded:
                    raise ReadAgain from error
                if not retry:
                    return

    def _slow_batches(self) -> Iterator[RawBatch]:
        rows: list[dict[str, Any]] = []
        with opened(self._open_source) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            line = 0
            while True:
                try:
                    record = text.readline(self._block_size)
                except UnicodeDecodeError as error:
                    raise self._not_utf8() from error
                if not record:
                    break
                line += 1
                if len(record) == self._block_size and not record.endswith(("\n", "\r")):
                    raise UnreadableFile(
                        f"line {line} is longer than {self._block_size >> 20} MiB; NDJSON needs one "
                        "object per line: check the line breaks of the file",
                        line=line,
                    )
                if not record.strip():
                    continue
                ordinal = self._rows_read
                self._rows_read += 1
                try:
                    value = DECODER.decode(record)
                except ValueError as error:
                    self._malformed_record(
                        ordinal,
                        Place(line=line),
                        shown_text(record),
                        f"line {line} is not valid JSON ({error})",
                    )
                    continue
                if not isinstance(value, dict):
                    self._malformed_record(
                        ordinal,
                        Place(line=line),
                        shown_text(record),
                        f"line {line} is {kind_of(value)}, not a JSON object with one row",
                    )
                    continue
                rows.append(value)
                if len(rows) >= SLOW_BATCH_ROWS:
                    yield self._python_batch(rows)
                    rows = []
        if rows:
            yield self._python_batch(rows)

    def locate(self, rows: Sequence[int], malformed: int) -> Located:
        """Physical lines of the records at ``rows`` (positions among the good records)."""
        wanted = sorted(set(rows))
        found: dict[int, Place] = {}
        if wanted:
            skipped = iter(self._malformed_at)
            next_skipped = next(skipped, None)
            ordinal = position = 0
            index = 0
            with opened(self._open_source) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
                for line, record in enumerate(text, start=1):
                    if not record.strip():
                        continue
                    if ordinal == next_skipped:
                        next_skipped = next(skipped, None)
                    else:
                        if position == wanted[index]:
                            found[position] = Place(line=line)
                            index += 1
                            if index == len(wanted):
                                break
                        position += 1
                    ordinal += 1
        return Located(rows=found, malformed=self._kept_malformed[:malformed])
