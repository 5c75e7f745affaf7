"""Reading a JSON document upload: an array of objects, or ``{"rows": [...]}`` as the datasets API sends.

A record is placed by its ``row``, its index in the array. The fast and slow paths are those
of :mod:`.json_records`; NDJSON is read by :mod:`.ndjson_reader`.

**Memory.** A JSON document has no record boundaries a stream reader can find without
parsing it, so it is read whole, up to :data:`MAX_DOCUMENT_BYTES` (decompressed); bigger
files are refused with the advice to send NDJSON, which is streamed in blocks. The slow path
walks the document element by element over that one buffer, so it never holds a Python
object per row of the whole file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.json as pajson

from ingestion.dataplane.json_cells import DECODER, JsonNumber, kind_of, shown_text
from ingestion.dataplane.json_records import SLOW_BATCH_ROWS, JsonRecords, opened
from ingestion.dataplane.records import Located, OpenSource, Place, RawBatch, UnreadableFile
from ingestion.schemas.spec import FieldSpec

MAX_DOCUMENT_BYTES = 128 << 20
DOCUMENT_BATCH_ROWS = 64 << 10
ROWS = "rows"
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class JsonDocumentRecords(JsonRecords):
    """A JSON array of objects, or ``{"rows": [...]}``: ``row`` is the index in the array."""

    infer_scalars = True

    def __init__(self, open_source: OpenSource, fields: Sequence[FieldSpec]) -> None:
        super().__init__(open_source, fields)
        self._document: bytes | None = None

    def batches(self) -> Iterator[RawBatch]:
        document = self._read_document()
        self._rows_read = 0
        while not self._slow:
            try:
                rows = self._fast_parse(document)
            except UnicodeDecodeError as error:
                raise self._not_utf8() from error
            except pa.ArrowInvalid as error:
                self._retry_after(error)
                continue
            if rows is None:
                continue
            self._rows_read = len(rows)
            for offset in range(0, len(rows), DOCUMENT_BATCH_ROWS):
                yield self._text_batch(
                    pa.RecordBatch.from_struct_array(rows.slice(offset, DOCUMENT_BATCH_ROWS))
                )
            return
        yield from self._slow_batches(document)

    def _read_document(self) -> bytes:
        if self._document is None:
            with opened(self._open_source) as stream:
                document = stream.read(MAX_DOCUMENT_BYTES + 1)
            if len(document) > MAX_DOCUMENT_BYTES:
                raise UnreadableFile(
                    f"the JSON document is larger than {MAX_DOCUMENT_BYTES >> 20} MiB, which is read whole; "
                    "send large files as NDJSON (one object per line, .ndjson), which is read in parts"
                )
            self._check_utf8(document)
            self._document = document
        return self._document

    def _fast_parse(self, document: bytes) -> pa.StructArray | None:
        """The rows as one struct array, or None when they must be read again (or slowly)."""
        stripped = document.lstrip()
        if stripped.startswith(b"["):
            # The array becomes the "rows" of an object, so pyarrow reads it as one record.
            stripped = b'{"rows":' + stripped + b"}"
        elif not stripped.startswith(b"{"):
            self._slow = True  # not a JSON object or array: the slow path says what it is
            return None
        rows_type = pa.list_(pa.struct(self._field_types()))
        table = pajson.read_json(
            pa.BufferReader(stripped),
            read_options=pajson.ReadOptions(block_size=max(len(stripped), 1 << 16), use_threads=False),
            parse_options=pajson.ParseOptions(
                explicit_schema=pa.schema([pa.field(ROWS, rows_type)]),
                unexpected_field_behavior="infer",
                newlines_in_values=True,
            ),
        )
        if table.num_rows != 1 or table.column(ROWS).null_count:
            self._slow = True  # several documents, or no "rows": explained by the slow path
            return None
        rows = table.column(ROWS).combine_chunks().flatten()
        if self._inferred_timestamps(pa.schema(list(rows.type))):
            return None
        return rows

    def _slow_batches(self, document: bytes) -> Iterator[RawBatch]:
        try:
            text = document.decode("utf-8")
        except UnicodeDecodeError as error:
            raise self._not_utf8() from error
        rows: list[dict[str, Any]] = []
        for index, value in _document_rows(text):
            self._rows_read += 1
            if not isinstance(value, dict):
                self._malformed_record(
                    index,
                    Place(row=index),
                    shown_text(json.dumps(value, ensure_ascii=False)),
                    f"row {index} is {kind_of(value)}, not a JSON object",
                )
                continue
            rows.append(value)
            if len(rows) >= SLOW_BATCH_ROWS:
                yield self._python_batch(rows)
                rows = []
        if rows:
            yield self._python_batch(rows)

    def locate(self, rows: Sequence[int], malformed: int) -> Located:
        """Array indices of the records at ``rows``: positions shifted past malformed elements."""
        found: dict[int, Place] = {}
        skipped = sorted(self._malformed_at)
        passed = 0
        for position in sorted(set(rows)):
            while passed < len(skipped) and skipped[passed] <= position + passed:
                passed += 1
            found[position] = Place(row=position + passed)
        return Located(rows=found, malformed=self._kept_malformed[:malformed])


def _document_rows(text: str) -> Iterator[tuple[int, Any]]:
    """The elements of the array (or of ``"rows"``) of a JSON document, one by one."""
    position = _WHITESPACE.match(text, 0).end()
    if text.startswith("[", position):
        end = yield from _array_items(text, position)
    elif text.startswith("{", position):
        end = yield from _rows_member(text, position)
    else:
        raise UnreadableFile(
            'the file is not a JSON array of objects nor an object with "rows": it starts with '
            f'{text[position : position + 20]!r}; send [{{...}}, ...] or {{"rows": [{{...}}, ...]}}'
        )
    rest = _WHITESPACE.match(text, end).end()
    if rest < len(text):
        line = text.count("\n", 0, rest) + 1
        raise UnreadableFile(
            f"the JSON document ends before line {line}, where more data follows; if the file holds "
            "one object per line, it is NDJSON: name it .ndjson or send fileFormat=ndjson",
            line=line,
        )


def _array_items(text: str, position: int) -> Iterator[tuple[int, Any]]:
    """Yield (index, value) of the array starting at ``text[position] == "["``; returns its end."""
    position = _WHITESPACE.match(text, position + 1).end()
    if text.startswith("]", position):
        return position + 1
    index = 0
    while True:
        value, position = _decode(text, position)
        yield index, value
        index += 1
        position = _WHITESPACE.match(text, position).end()
        if text.startswith("]", position):
            return position + 1
        if not text.startswith(",", position):
            raise _syntax_error(text, position, "expected ',' or ']' after an element of the array")
        position = _WHITESPACE.match(text, position + 1).end()


def _rows_member(text: str, position: int) -> Iterator[tuple[int, Any]]:
    """Yield the rows of ``{"rows": [...], ...}``; other members are skipped. Returns the end."""
    found = False
    position = _WHITESPACE.match(text, position + 1).end()
    if text.startswith("}", position):
        position += 1
    else:
        while True:
            name, position = _decode(text, position)
            if not isinstance(name, str):
                raise _syntax_error(text, position, "expected a member name")
            position = _WHITESPACE.match(text, position).end()
            if not text.startswith(":", position):
                raise _syntax_error(text, position, "expected ':' after a member name")
            position = _WHITESPACE.match(text, position + 1).end()
            if name == ROWS and text.startswith("[", position):
                found = True
                position = yield from _array_items(text, position)
            else:
                value, position = _decode(text, position)
                if name == ROWS and isinstance(value, str) and not isinstance(value, JsonNumber):
                    # The datasets API also takes "rows" as a string holding the JSON array.
                    found = True
                    yield from _string_rows(value)
                elif name == ROWS:
                    raise UnreadableFile(f'"rows" must be an array of objects, not {kind_of(value)}')
            position = _WHITESPACE.match(text, position).end()
            if text.startswith("}", position):
                position += 1
                break
            if not text.startswith(",", position):
                raise _syntax_error(text, position, "expected ',' or '}' after a member")
            position = _WHITESPACE.match(text, position + 1).end()
    if not found:
        raise UnreadableFile(
            'the JSON object has no "rows": send an array of objects, or {"rows": [{...}, ...]} '
            "as the datasets API does; if the file holds one object per row, it is NDJSON: name it "
            ".ndjson or send fileFormat=ndjson"
        )
    return position


def _string_rows(value: str) -> Iterator[tuple[int, Any]]:
    try:
        rows = DECODER.decode(value)
    except ValueError as error:
        raise UnreadableFile(f'"rows" is a string that does not hold a JSON array ({error})') from error
    if not isinstance(rows, list):
        raise UnreadableFile(f'"rows" is a string that holds {kind_of(rows)}, not a JSON array')
    yield from enumerate(rows)


def _decode(text: str, position: int) -> tuple[Any, int]:
    try:
        return DECODER.raw_decode(text, position)
    except json.JSONDecodeError as error:
        raise _syntax_error(text, error.pos, error.msg) from error


def _syntax_error(text: str, position: int, message: str) -> UnreadableFile:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return UnreadableFile(
        f"the file is not valid JSON: {message} at line {line}, column {column}; fix it and upload it again",
        line=line,
    )
