"""What the JSON readers share: objects read as rows of text cells, fast in C++ or slowly in Python.

Each object is a row and its keys are columns; :mod:`.json_cells` says what text each value
becomes. :mod:`.ndjson_reader` streams NDJSON, :mod:`.json_reader` reads a JSON document (an
array of objects, or ``{"rows": [...]}``); :class:`JsonRecords` is what they have in common
apart from finding records: the explicit types, the retries, the malformed records kept to
report, and the conversion of batches to text. Every stream they read comes from
:func:`opened`, which refuses JSON nested too deep before any parser recurses into it.

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
"""

from __future__ import annotations

import codecs
import re
from array import array
from collections.abc import Sequence
from typing import Any, BinaryIO

import pyarrow as pa

from ingestion.dataplane.encoding import not_utf8
from ingestion.dataplane.formats import buffered
from ingestion.dataplane.json_cells import column_text, python_column
from ingestion.dataplane.records import (
    MalformedRecord,
    OpenSource,
    Place,
    RawBatch,
    SourceStream,
    UnreadableFile,
)
from ingestion.json_nesting import MAX_JSON_DEPTH, NestingGauge, TooDeep
from ingestion.schemas.spec import FieldSpec, FieldType

SLOW_BATCH_ROWS = 8 << 10
# Reads started over because a column turned out to hold another JSON kind: a change found in
# the first block costs little (one per column at most), one found later costs a whole read.
MAX_LATE_RETRIES = 2
MAX_RETRIES = 32
# The malformed records kept to report (the service lists at most 1000 problems).
KEPT_MALFORMED = 1000

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


class JsonRecords:
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
            text, problem = column_text(name, column, spec)
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
            text, problem = python_column(name, [row.get(name) for row in rows], self._known.get(name))
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


def opened(open_source: OpenSource) -> BinaryIO:
    """A fresh buffered stream of the file, its nesting measured, past a UTF-8 byte order mark."""
    stream = buffered(_NestingChecked(open_source()))
    if stream.peek(len(codecs.BOM_UTF8))[: len(codecs.BOM_UTF8)] == codecs.BOM_UTF8:  # type: ignore[attr-defined]
        stream.read(len(codecs.BOM_UTF8))
    return stream
