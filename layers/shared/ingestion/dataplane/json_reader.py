"""Reading JSON uploads as batches of text cells: an array of objects, ``{"rows": [...]}``, or NDJSON.

Each object is a row and its keys are columns. A scalar becomes the text the column checks
already read in CSV cells: a string as it is, a number as its JSON text, ``true``/``false``,
and ``null`` (or a missing key) an empty cell. A nested object or array is a problem of that
cell, except a JSON array of strings given for a ``string_list`` field.

**Fast path.** pyarrow's JSON reader parses in C++, with an explicit type per known field
(text for string and date fields, ``int64``/``double``/``bool`` for the others, so numbers
keep their exact value); unknown keys are inferred. The typed columns are then cast to
text, vectorised. pyarrow refuses a column whose JSON kinds change (``"42"`` then ``42``):
its error names the column, so the read starts over with that column read as the other
kind, a few times at most. Anything else it cannot read (a nested value, a line that is
not an object, a key first seen after the first block) sends the file down the

**slow path**, which parses record by record with Python's ``json`` module (numbers kept as
their text) and reports each problem on its record. It is per-row Python, for files the
fast path cannot take, and is still streamed.

**Memory.** NDJSON is streamed in blocks. A JSON document (array or ``{"rows": [...]}``) has
no record boundaries a stream reader can find without parsing it, so it is read whole, up
to :data:`MAX_DOCUMENT_BYTES` (decompressed); bigger files are refused with the advice to
send NDJSON. The slow path walks a document element by element over that one buffer, so
it never holds a Python object per row of the whole file.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from ingestion.dataplane.csv_reader import BLOCK_SIZE, not_utf8
from ingestion.dataplane.formats import buffered
from ingestion.dataplane.records import (
    CellProblem,
    Located,
    MalformedRecord,
    OpenSource,
    Place,
    RawBatch,
    ReadAgain,
    SourceStream,
    UnreadableFile,
)
from ingestion.json_nesting import MAX_JSON_DEPTH, NestingGauge, TooDeep
from ingestion.schemas.spec import FieldSpec, FieldType

MAX_DOCUMENT_BYTES = 128 << 20
DOCUMENT_BATCH_ROWS = 64 << 10
SLOW_BATCH_ROWS = 8 << 10
# Reads started over because a column turned out to hold another JSON kind: a change found in
# the first block costs little (one per column at most), one found later costs a whole read.
MAX_LATE_RETRIES = 2
MAX_RETRIES = 32
# The malformed records kept to report (the service lists at most 1000 problems).
KEPT_MALFORMED = 1000
ROWS = "rows"

_NATURAL_TYPES: dict[FieldType, pa.DataType] = {
    FieldType.STRING: pa.string(),
    FieldType.INTEGER: pa.int64(),
    FieldType.NUMBER: pa.float64(),
    FieldType.BOOLEAN: pa.bool_(),
    FieldType.DATETIME: pa.string(),
    FieldType.DATE: pa.string(),
    FieldType.STRING_LIST: pa.list_(pa.string()),
}
# "Column(/name) changed from number to string": the column holds both kinds.
_SCALAR_KINDS = (FieldType.INTEGER, FieldType.NUMBER, FieldType.BOOLEAN)
_KIND_CHANGE = re.compile(r"Column\(/(?:rows/\[\]/)?([^/()~]+)\) changed from \w+ to (\w+)")
_KIND_TYPES = {"string": pa.string(), "number": pa.int64(), "boolean": pa.bool_()}
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _Number(str):
    """A JSON number, kept as the text it was written in (so 1.10 stays 1.10), known as a number."""

    __slots__ = ()


_DECODER = json.JSONDecoder(parse_float=_Number, parse_int=_Number, parse_constant=_Number)


def _nested_message(kind: str) -> str:
    return f"a JSON {kind} cannot be stored here: send a single value (text, a number, true, false or null)"


_LIST_ITEMS_MESSAGE = (
    "a JSON array whose items are not all text cannot be stored here: send an array of strings"
)


class _JsonRecords:
    """What both JSON readers share: explicit types, retries, and text conversion."""

    header = None
    # Let pyarrow infer integer, number and boolean fields (it promotes int to double, null to
    # anything) rather than insist on their JSON kind. Only where the whole file is one block:
    # a streamed reader fixes its types on the first block.
    infer_scalars = False

    def __init__(self, open_source: OpenSource, fields: Sequence[FieldSpec]) -> None:
        self._open_source = open_source
        self._known = {spec.name: spec for spec in fields}
        self._overrides: dict[str, pa.DataType] = {}
        self._retries = 0
        self._late_retries = 0
        self._slow = False
        self._rows_read = 0
        self._malformed = 0
        # Ordinals (among records) or indices of malformed records, to place the good ones.
        self._malformed_at = array("q")
        self._kept_malformed: list[MalformedRecord] = []
        self.notes: list[str] = []

    @property
    def rows_read(self) -> int:
        return self._rows_read

    @property
    def malformed(self) -> int:
        return self._malformed

    def close(self) -> None:
        return None

    def _field_types(self) -> list[pa.Field]:
        """The explicit types pyarrow reads columns as; the others it infers."""
        return [
            pa.field(name, self._overrides.get(name, _NATURAL_TYPES[spec.type]))
            for name, spec in self._known.items()
            if name in self._overrides or not (self.infer_scalars and spec.type in _SCALAR_KINDS)
        ] + [pa.field(name, kind) for name, kind in self._overrides.items() if name not in self._known]

    def _retry_after(self, error: pa.ArrowInvalid, *, late: bool = False) -> bool:
        """Read columns differently if ``error`` says how; False sends the file down the slow path.

        ``late``: batches were read before the error, so retrying reads them again.
        """
        self._retries += 1
        self._late_retries += late
        found = _KIND_CHANGE.search(str(error))
        kind = _KIND_TYPES.get(found.group(2)) if found else None
        too_many = self._retries > MAX_RETRIES or self._late_retries > MAX_LATE_RETRIES
        # A column read another way once that changes again mixes kinds: only the slow path reads it.
        if kind is None or too_many or found.group(1) in self._overrides:
            self._slow = True
            return False
        self._overrides[found.group(1)] = kind
        return True

    def _inferred_timestamps(self, schema: pa.Schema) -> bool:
        """pyarrow infers timestamps from text, losing the text: read those columns as text."""
        explicit = {field.name for field in self._field_types()}
        stamps = [f.name for f in schema if f.name not in explicit and pa.types.is_timestamp(f.type)]
        self._overrides.update(dict.fromkeys(stamps, pa.string()))
        return bool(stamps)

    def _malformed_record(self, at: int, place: Place, value: str | None, message: str) -> None:
        self._malformed += 1
        self._malformed_at.append(at)
        if len(self._kept_malformed) < KEPT_MALFORMED:
            self._kept_malformed.append(MalformedRecord(place=place, value=value, message=message))

    def _text_batch(self, batch: pa.RecordBatch) -> RawBatch:
        """pyarrow's typed columns as text cells, and the cells that cannot be text."""
        names, arrays, problems = [], [], []
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            spec = self._known.get(name)
            text, problem = _column_text(name, column, spec)
            names.append(name)
            arrays.append(text)
            if problem is not None:
                problems.append(problem)
        return RawBatch(pa.RecordBatch.from_arrays(arrays, names=names), tuple(problems))

    def _python_batch(self, rows: list[dict[str, Any]]) -> RawBatch:
        """Rows parsed by Python's json (numbers as text) as a batch of text cells."""
        names = list(dict.fromkeys(name for row in rows for name in row))
        arrays, problems = [], []
        for name in names:
            text, problem = _python_column(name, [row.get(name) for row in rows], self._known.get(name))
            arrays.append(text)
            if problem is not None:
                problems.append(problem)
        return RawBatch(pa.RecordBatch.from_arrays(arrays, names=names), tuple(problems))

    def _not_utf8(self) -> UnreadableFile:
        return not_utf8(self._open_source)

    def _check_utf8(self, data: pa.RecordBatch | bytes) -> None:
        """pyarrow's JSON parser keeps the bytes of strings as they are: check they are UTF-8."""
        try:
            if isinstance(data, bytes):
                pa.array([data], pa.binary()).cast(pa.string())
            else:
                data.validate(full=True)
        except pa.ArrowInvalid as error:
            if "UTF8" not in str(error):
                raise
            raise self._not_utf8() from error


class NdjsonRecords(_JsonRecords):
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
                with _opened(self._open_source) as stream:
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
        with _opened(self._open_source) as raw:
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
                    value = _DECODER.decode(record)
                except ValueError as error:
                    self._malformed_record(
                        ordinal, Place(line=line), _shown(record), f"line {line} is not valid JSON ({error})"
                    )
                    continue
                if not isinstance(value, dict):
                    self._malformed_record(
                        ordinal,
                        Place(line=line),
                        _shown(record),
                        f"line {line} is {_kind(value)}, not a JSON object with one row",
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
            with _opened(self._open_source) as raw:
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


class JsonDocumentRecords(_JsonRecords):
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
            with _opened(self._open_source) as stream:
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
                    _shown(json.dumps(value, ensure_ascii=False)),
                    f"row {index} is {_kind(value)}, not a JSON object",
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
                if name == ROWS and isinstance(value, str) and not isinstance(value, _Number):
                    # The datasets API also takes "rows" as a string holding the JSON array.
                    found = True
                    yield from _string_rows(value)
                elif name == ROWS:
                    raise UnreadableFile(f'"rows" must be an array of objects, not {_kind(value)}')
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
        rows = _DECODER.decode(value)
    except ValueError as error:
        raise UnreadableFile(f'"rows" is a string that does not hold a JSON array ({error})') from error
    if not isinstance(rows, list):
        raise UnreadableFile(f'"rows" is a string that holds {_kind(rows)}, not a JSON array')
    yield from enumerate(rows)


def _decode(text: str, position: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, position)
    except json.JSONDecodeError as error:
        raise _syntax_error(text, error.pos, error.msg) from error


def _syntax_error(text: str, position: int, message: str) -> UnreadableFile:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return UnreadableFile(
        f"the file is not valid JSON: {message} at line {line}, column {column}; fix it and upload it again",
        line=line,
    )


class _NestingChecked(SourceStream):
    """``source`` measured as it is read: JSON nested deeper than :data:`MAX_JSON_DEPTH` is an
    :class:`UnreadableFile` before any parser recurses into it (the C++ parser would crash)."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__(source)
        self._gauge = NestingGauge(MAX_JSON_DEPTH)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = self._source.readinto(buffer)  # type: ignore[attr-defined]
        if size:
            try:
                self._gauge.feed(bytes(memoryview(buffer)[:size]))
            except TooDeep as error:
                raise UnreadableFile(f"{error}; nothing was merged", line=error.line) from None
        return size or 0


def _opened(open_source: OpenSource) -> BinaryIO:
    """A fresh buffered stream of the file, its nesting measured, past a UTF-8 byte order mark."""
    stream = buffered(_NestingChecked(open_source()))
    if stream.peek(len(codecs.BOM_UTF8))[: len(codecs.BOM_UTF8)] == codecs.BOM_UTF8:  # type: ignore[attr-defined]
        stream.read(len(codecs.BOM_UTF8))
    return stream


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, _Number) else "a string"


def _shown(text: str) -> str:
    return text.strip()


def _column_text(name: str, column: pa.Array, spec: FieldSpec | None) -> tuple[pa.Array, CellProblem | None]:
    """One column as pyarrow typed it, as text cells ("" when empty); nested values are problems."""
    kind = column.type
    if spec is not None and spec.type is FieldType.STRING_LIST and pa.types.is_list(kind):
        if not pa.types.is_string(kind.value_type):
            return _empty(column), CellProblem(name, column.is_valid(), _LIST_ITEMS_MESSAGE)
        # Null items: the model takes a list of strings only.
        items_null = pc.is_null(column.flatten())
        if pc.any(items_null).as_py():
            parents = pc.list_parent_indices(column).filter(items_null)
            mask = pc.is_in(_positions(len(column)), value_set=parents.cast(pa.int64()))
            return pc.if_else(mask, pa.scalar(None, kind), column), CellProblem(
                name, mask, _LIST_ITEMS_MESSAGE
            )
        return column, None
    if pa.types.is_string(kind):
        return column.fill_null(""), None
    if pa.types.is_floating(kind) and spec is None:
        # An unknown key's type is inferred from its text: keep 2.0 a number, as it was written.
        text = column.cast(pa.string())
        whole = pc.fill_null(pc.match_substring_regex(text, r"^-?[0-9]+$"), False)
        return pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text).fill_null(""), None
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return column.cast(pa.string()).fill_null(""), None
    if pa.types.is_null(kind):
        return _empty(column), None
    nested = "object" if pa.types.is_struct(kind) else "array" if pa.types.is_list(kind) else str(kind)
    return _empty(column), CellProblem(name, column.is_valid(), _nested_message(nested))


def _positions(length: int) -> pa.Array:
    return pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), length)), 1)


def _empty(column: pa.Array) -> pa.Array:
    return pa.nulls(len(column), pa.string()).fill_null("")


def _python_column(
    name: str, cells: list[Any], spec: FieldSpec | None
) -> tuple[pa.Array, CellProblem | None]:
    """One column of Python-parsed cells as text (or lists, for a list field given JSON arrays)."""
    is_list_field = spec is not None and spec.type is FieldType.STRING_LIST
    as_lists = is_list_field and any(isinstance(cell, list) for cell in cells)
    values: list[Any] = []
    bad: list[bool] = []
    shown: list[str | None] = []
    messages: set[str] = set()
    for cell in cells:
        value, message = _python_cell(cell, spec.list_separator if as_lists and spec else None)
        values.append(value if message is None else ("" if not as_lists else None))
        bad.append(message is not None)
        shown.append(_shown(json.dumps(cell, ensure_ascii=False)) if message is not None else None)
        if message is not None:
            messages.add(message)
    array_type = pa.list_(pa.string()) if as_lists else pa.string()
    column = pa.array(values, array_type)
    if not messages:
        return column, None
    message = messages.pop() if len(messages) == 1 else _nested_message("object or array")
    return column, CellProblem(name, pa.array(bad, pa.bool_()), message, pa.array(shown, pa.string()))


def _python_cell(cell: Any, list_separator: str | None) -> tuple[Any, str | None]:
    """A cell as text, or as a list of text when the column is read as lists; or why not."""
    if list_separator is not None:
        if cell is None:
            return None, None
        if isinstance(cell, list):
            if all(isinstance(item, str) for item in cell):
                return cell, None
            if all(isinstance(item, str | bool) for item in cell):
                return [_scalar_text(item) for item in cell], None
            return None, _LIST_ITEMS_MESSAGE
        if isinstance(cell, dict):
            return None, _nested_message("object")
        # Text in a column other rows give as arrays: split as the model splits it.
        return [item.strip() for item in _scalar_text(cell).split(list_separator) if item.strip()], None
    if cell is None:
        return "", None
    if isinstance(cell, dict):
        return "", _nested_message("object")
    if isinstance(cell, list):
        return "", _nested_message("array")
    return _scalar_text(cell), None


def _scalar_text(cell: str | bool) -> str:
    if cell is True:
        return "true"
    if cell is False:
        return "false"
    return cell
