"""What every file reader hands to validation: all-string record batches and where records are.

Each format (:mod:`.csv_records`, :mod:`.ndjson_reader`, :mod:`.json_reader`) reads its file
into Arrow record batches whose columns are the file's column names (CSV header, JSON keys)
and whose cells are text exactly as the column checks (:mod:`.column_checks`) understand it:
``""`` is an empty cell, numbers are their written text, booleans ``true``/``false``. The one
exception is a JSON array given for a ``string_list`` field, kept as a ``list<string>`` column.

Readers never track line numbers on the success path: a record is known by its position
among the well-formed records, and :meth:`RecordReader.locate` maps positions to places
(physical ``line``, or ``row`` index in a JSON array) only when there are problems to report.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import pyarrow as pa

OpenSource = Callable[[], BinaryIO]


class UnreadableFile(Exception):
    """The file cannot be read at all; ``str(error)`` says what to do about it."""

    def __init__(self, message: str, line: int | None = None, row: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.row = row


class ReadAgain(Exception):
    """A reader changed how it reads the file: what it yielded so far must be forgotten.

    Raised by :meth:`RecordReader.batches` between batches; validation starts the file over.
    """


@dataclass(frozen=True)
class Header:
    """Column names as written in the file (surrounding spaces removed)."""

    names: tuple[str, ...]
    line: int  # physical line the header record starts on (blank lines before it are skipped)


@dataclass(frozen=True)
class Place:
    """Where a record is in the file: a physical line, or an index in a JSON array."""

    line: int | None = None
    row: int | None = None


@dataclass(frozen=True)
class CellProblem:
    """Cells a reader could not turn into text (a nested JSON value): rows ``mask`` of ``column``."""

    column: str
    mask: pa.BooleanArray
    message: str
    shown: pa.Array | None = None  # text to quote back per row (only masked rows are read)


@dataclass(frozen=True)
class RawBatch:
    """One batch of records as text, with the cells the reader already found wrong."""

    columns: pa.RecordBatch
    problems: tuple[CellProblem, ...] = ()


@dataclass(frozen=True)
class MalformedRecord:
    """A record that is not a row at all: wrong number of CSV fields, a JSON line that is no object."""

    place: Place
    value: str | None
    message: str


@dataclass(frozen=True)
class Located:
    """The places of well-formed records (by position) and the first malformed records."""

    rows: dict[int, Place]
    malformed: list[MalformedRecord]


class RecordReader(Protocol):
    """An open file of one format, read once as batches; see the module docstring."""

    # The CSV header; None for JSON, whose keys are only known once every record is read.
    header: Header | None
    # Set by readers that chose something themselves (e.g. the separator for 'auto').
    notes: list[str]

    @property
    def rows_read(self) -> int:
        """Records read so far, malformed ones included."""
        ...

    @property
    def malformed(self) -> int:
        """Records read so far that are not rows (they are in no batch)."""
        ...

    def batches(self) -> Iterator[RawBatch]: ...

    def locate(self, rows: Sequence[int], malformed: int) -> Located:
        """Places of the well-formed records at ``rows`` and the first ``malformed`` bad records.

        Error path only: may read the file again.
        """
        ...

    def close(self) -> None: ...


class SourceStream(io.RawIOBase):
    """A raw stream that reads from ``source`` and closes it when closed: the base of the
    streams that pass a file through on its way to a reader."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            try:
                self._source.close()
            finally:
                super().close()


class ChainedStream(SourceStream):
    """``head`` bytes, then the rest of ``source``; closing it closes the source."""

    def __init__(self, head: bytes, source: BinaryIO) -> None:
        super().__init__(source)
        self._head = memoryview(head)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
