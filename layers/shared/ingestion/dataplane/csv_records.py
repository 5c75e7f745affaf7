"""A CSV file as validation reads every format: :class:`CsvRecords`, over a :class:`.csv_reader.CsvStream`.

The stream reads the header and the data blocks; what it does not need is here. Before
reading, the separator ``"auto"`` is chosen from the file's first bytes
(:func:`detect_separator`). After, on the error path only, records are found again: pyarrow
reports neither physical line numbers nor where a malformed row was, so
:func:`locate_lines` reads the file a second time with Python's ``csv`` module (whose
``line_num`` counts physical lines, quoted line breaks included), in the dialect of
:mod:`.csv_reader`, to map record positions back to lines. The messages for malformed rows
and for a header read as a single column (:func:`separator_hint`) are written here too.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass

from ingestion.dataplane.csv_reader import BLOCK_SIZE, QUOTE, CsvStream, buffered_stream, large_fields
from ingestion.dataplane.records import Header, Located, MalformedRecord, OpenSource, Place, RawBatch

_COMMON_SEPARATORS = (",", ";", "\t", "|")
# What separator "auto" chooses from, in order of preference on a tie.
SNIFFED_SEPARATORS = (",", ";", "\t", "|", ":")
_SNIFFED_RECORDS = 50


def separator_hint(header: Header, separator: str) -> str | None:
    """When the header came out as one column, guess the separator the file really uses."""
    if len(header.names) != 1:
        return None
    for candidate in _COMMON_SEPARATORS:
        if candidate != separator and candidate in header.names[0]:
            return (
                f"the header was read as a single column: is the separator {candidate!r} "
                f"rather than {separator!r}?"
            )
    return None


def detect_separator(head: bytes, *, complete: bool) -> str | None:
    """The separator of ``SNIFFED_SEPARATORS`` a file's first bytes are written with.

    The winner splits the header into as many columns as every following record of the
    sample (so ``:`` inside times does not fool it), with the most columns; None when no
    candidate makes more than one column. ``complete``: ``head`` is the whole file, so its
    last record is not cut short.
    """
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head.removeprefix(codecs.BOM_UTF8), final=False)
    except UnicodeDecodeError:
        return None  # the reader reports the encoding
    best: tuple[bool, int] | None = None
    chosen = None
    for candidate in SNIFFED_SEPARATORS:
        records = _sample_records(text, candidate, complete=complete)
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        score = (all(len(record) == width for record in records[1:]), width)
        if best is None or score > best:
            best, chosen = score, candidate
    return chosen


def _sample_records(text: str, separator: str, *, complete: bool) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar=QUOTE, strict=False)
    records: list[list[str]] = []
    with large_fields():
        try:
            for record in reader:
                if record:
                    records.append(record)
                if len(records) > _SNIFFED_RECORDS:
                    break
        except csv.Error:
            pass
    if not complete and len(records) > 1:
        records.pop()  # may be cut off by the end of the sample
    return records


@dataclass(frozen=True)
class MalformedRow:
    """A record whose number of fields differs from the header's."""

    line: int
    fields: int
    text: str


@dataclass(frozen=True)
class LineMap:
    """Where records are: physical start lines of well-formed rows, and the malformed rows."""

    rows: dict[int, int]
    malformed: list[MalformedRow]


def locate_lines(
    open_source: OpenSource,
    separator: str,
    *,
    width: int,
    rows: Sequence[int],
    malformed: int,
) -> LineMap:
    """Map positions of well-formed rows (0-based, in the order pyarrow yields them) to lines.

    Also returns the first ``malformed`` records with the wrong number of fields, which pyarrow
    skipped. Reads only as far as needed. Runs on the error path only: it builds a Python
    list per record.
    """
    wanted = sorted(set(rows))
    found: dict[int, int] = {}
    bad: list[MalformedRow] = []
    next_wanted = 0
    position = 0
    with (
        large_fields(),
        closing(open_source()) as raw,
        io.TextIOWrapper(buffered_stream(raw), encoding="utf-8-sig", newline="") as text,
    ):
        reader = csv.reader(text, delimiter=separator, quotechar=QUOTE, doublequote=True, strict=False)
        previous_end = 0
        seen_header = False
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not record:
                continue  # a blank line; pyarrow skips these too
            if not seen_header:
                seen_header = True
                continue
            if len(record) != width:
                if len(bad) < malformed:
                    bad.append(MalformedRow(line=start, fields=len(record), text=separator.join(record)))
            elif next_wanted < len(wanted):
                if position == wanted[next_wanted]:
                    found[position] = start
                    next_wanted += 1
                position += 1
            if next_wanted == len(wanted) and len(bad) >= malformed:
                break
    return LineMap(rows=found, malformed=bad)


class CsvRecords:
    """A CSV file as a :class:`.records.RecordReader`: lines are physical lines, the header line 1."""

    def __init__(
        self,
        open_source: OpenSource,
        separator: str,
        *,
        head: bytes | None = None,
        complete: bool = False,
        block_size: int = BLOCK_SIZE,
    ) -> None:
        self.notes: list[str] = []
        if separator == "auto":
            found = detect_separator(head or b"", complete=complete)
            separator = found or ","
            self.notes.append(
                f"separator 'auto': detected {separator!r}"
                if found
                else "separator 'auto': no separator splits the header, read as one column with ','"
            )
        self.separator = separator
        self._open_source = open_source
        self._stream = CsvStream(open_source, separator, block_size=block_size)
        self.header: Header | None = self._stream.header

    @property
    def rows_read(self) -> int:
        return self._stream.rows_read

    @property
    def malformed(self) -> int:
        return self._stream.invalid_rows.count

    def close(self) -> None:
        self._stream.__exit__(None, None, None)

    def batches(self) -> Iterator[RawBatch]:
        for batch in self._stream.batches():
            yield RawBatch(batch)

    def header_hint(self) -> str | None:
        return separator_hint(self._stream.header, self.separator)

    def locate(self, rows: Sequence[int], malformed: int) -> Located:
        width = len(self._stream.header.names)
        lines = locate_lines(self._open_source, self.separator, width=width, rows=rows, malformed=malformed)
        return Located(
            rows={position: Place(line=line) for position, line in lines.rows.items()},
            malformed=[
                MalformedRecord(
                    place=Place(line=row.line),
                    value=row.text,
                    message=f"expected {width} fields as in the header but found {row.fields}; "
                    "check the separator and that values holding it are quoted",
                )
                for row in lines.malformed
            ],
        )
