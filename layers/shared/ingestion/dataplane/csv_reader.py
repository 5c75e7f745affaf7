"""Reading an uploaded CSV file as a stream of all-string Arrow record batches.

Every column is read as text so that the column checks (:mod:`.column_checks`), not
pyarrow's type inference, decide what a cell means. The header is parsed here, with
Python's ``csv`` module, from the first bytes of the file; pyarrow then reads only the
bytes after it with those names, so one parser alone names the columns and their types
are fixed before the first data byte is read.

pyarrow reports neither physical line numbers nor where a malformed row was, so on the
error path only, :func:`locate_lines` reads the file a second time with Python's ``csv``
module (whose ``line_num`` counts physical lines, quoted line breaks included) to map
record positions back to lines. Both parsers follow the same dialect: ``"`` quotes,
doubled quotes inside quotes, no escape character, ``\\n``/``\\r\\n``/``\\r`` line
breaks, blank lines ignored.

The separator ``"auto"`` is detected from the first bytes (:func:`detect_separator`).
:class:`CsvRecords` is this reader as validation sees every format's reader.
"""

from __future__ import annotations

import codecs
import csv
import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from ingestion.dataplane.records import (
    ChainedStream,
    Header,
    Located,
    MalformedRecord,
    OpenSource,
    Place,
    RawBatch,
    UnreadableFile,
)

QUOTE = '"'
# Large enough that a batch amortises the per-batch work, small enough to bound memory.
# A single record longer than this cannot be read (pyarrow needs a record inside a block).
BLOCK_SIZE = 4 << 20
_HEADER_CHUNK = 64 << 10
_HEADER_LIMIT = 1 << 20
_CSV_FIELD_LIMIT = (1 << 31) - 1
_COMMON_SEPARATORS = (",", ";", "\t", "|")
# What separator "auto" chooses from, in order of preference on a tie.
SNIFFED_SEPARATORS = (",", ";", "\t", "|", ":")
_SNIFFED_RECORDS = 50


@dataclass
class InvalidRowCounter:
    """pyarrow ``invalid_row_handler``: counts rows with the wrong number of fields and skips them.

    pyarrow gives neither the line nor the record position of such a row, and may call the
    handler from its reader threads, so only the count is kept; :func:`locate_lines`
    finds the rows themselves on the error path.
    """

    count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, row: object) -> str:
        with self._lock:
            self.count += 1
        return "skip"


def check_separator(separator: str) -> None:
    """Reject separators both parsers cannot share: they must be one single-byte character."""
    if len(separator) != 1 or not separator.isascii() or separator in (QUOTE, "\r", "\n"):
        raise UnreadableFile(
            f"the separator {separator!r} cannot be used: it must be a single character such as ',' or ';' "
            "(not a quote or a line break); upload the file again with the separator it really uses"
        )


class CsvStream:
    """An open CSV file: its header, then its data rows as all-string record batches.

    Use as a context manager; it closes the source it opened. ``rows_read`` counts every data
    record read so far, including the malformed ones pyarrow skipped.
    """

    def __init__(self, open_source: OpenSource, separator: str, *, block_size: int = BLOCK_SIZE) -> None:
        check_separator(separator)
        self.separator = separator
        self.invalid_rows = InvalidRowCounter()
        self._open_source = open_source
        self._block_size = block_size
        self._valid_rows = 0
        self._stack = ExitStack()
        try:
            source = self._stack.enter_context(closing(open_source()))
            self.header, rest = _read_header(source, separator, open_source)
        except BaseException:
            self._stack.close()
            raise
        self._data = _buffered(source, head=rest)

    def __enter__(self) -> CsvStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    @property
    def rows_read(self) -> int:
        return self._valid_rows + self.invalid_rows.count

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield the well-formed data rows, every column as non-null strings ("" when empty)."""
        names = list(self.header.names)
        try:
            reader = pacsv.open_csv(
                self._data,
                read_options=pacsv.ReadOptions(
                    column_names=names, block_size=self._block_size, use_threads=True
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.separator,
                    quote_char=QUOTE,
                    double_quote=True,
                    escape_char=False,
                    newlines_in_values=True,
                    ignore_empty_lines=True,
                    invalid_row_handler=self.invalid_rows,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in names},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                    check_utf8=True,
                ),
            )
            for batch in reader:
                self._valid_rows += batch.num_rows
                yield batch
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            if "Empty CSV file" in str(error):
                return  # only blank lines after the header: no rows, reported by the caller
            raise _explain_read_error(error, self._open_source) from error


def _read_header(stream: BinaryIO, separator: str, open_source: OpenSource) -> tuple[Header, bytes]:
    """Read just enough of ``stream`` to parse the header record.

    Returns the header and the bytes already read past it, which the data reader replays.
    """
    buffer = b""
    while True:
        chunk = stream.read(_HEADER_CHUNK)
        at_end = not chunk
        buffer += chunk
        try:
            parsed = _parse_header(buffer, separator, at_end=at_end)
        except UnicodeDecodeError as error:
            raise not_utf8(open_source) from error
        if parsed is not None:
            return parsed
        if len(buffer) > _HEADER_LIMIT:
            raise UnreadableFile(
                "the first line of the file is longer than 1 MiB, so it cannot be a header; "
                "check that the file is a CSV file and that quotes in the header are closed",
                line=1,
            )


def _parse_header(buffer: bytes, separator: str, *, at_end: bool) -> tuple[Header, bytes] | None:
    """Parse the first non-blank record of ``buffer``, or return None when more bytes are needed."""
    bom = len(codecs.BOM_UTF8) if buffer.startswith(codecs.BOM_UTF8) else 0
    # final=at_end: a multi-byte character cut by the chunk boundary is not an error yet.
    text = codecs.getincrementaldecoder("utf-8")().decode(buffer[bom:], final=at_end)
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    reader = csv.reader(lines(), delimiter=separator, quotechar=QUOTE, doublequote=True, strict=False)
    start = 1
    record: list[str] = []
    previous_end = 0
    with _large_fields():
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if record:
                break
    if not record:
        if at_end:
            raise UnreadableFile(
                "the file has no data rows: it is empty. Upload a CSV file whose first line names the "
                "columns, followed by one line per row"
            )
        return None
    header_text = "".join(consumed)
    # The record is complete once text follows it, or at the end of the file. A record that
    # ends the buffer may go on in the next chunk: a quoted name holding a line break, or the
    # "\n" of a "\r\n".
    if not at_end and len(header_text) == len(text):
        return None
    header_bytes = bom + len(header_text.encode("utf-8"))
    names = tuple(name.strip() for name in record)
    return Header(names=names, line=start), buffer[header_bytes:]


def _buffered(source: BinaryIO, head: bytes = b"") -> io.BufferedReader:
    """A real buffered file over any object with ``read`` (an S3 body, a test's BytesIO)."""
    return io.BufferedReader(ChainedStream(head, source), buffer_size=1 << 20)


def _explain_read_error(error: Exception, open_source: OpenSource) -> UnreadableFile:
    """Turn a pyarrow read failure into a message a person can act on."""
    encoding = not_utf8(open_source)
    if encoding.line is not None:
        return encoding
    text = str(error)
    if "straddl" in text:
        return UnreadableFile(
            f"a row of the file is longer than {BLOCK_SIZE >> 20} MiB, or a quote is never closed; "
            "check the quoting of long text values and upload the file again"
        )
    return UnreadableFile(f"the file could not be read as CSV ({text}); check its format and upload it again")


def not_utf8(open_source: OpenSource) -> UnreadableFile:
    """The error for a file that is not UTF-8, naming the first line that is not."""
    line = first_non_utf8_line(open_source)
    if line is None:
        return UnreadableFile(
            "the file could not be read as UTF-8 text; save it as UTF-8 and upload it again"
        )
    return UnreadableFile(
        f"the file is not UTF-8 text: line {line} holds bytes that are not valid UTF-8. Save the file "
        "with UTF-8 encoding (in Excel: 'CSV UTF-8 (Comma delimited)') and upload it again",
        line=line,
    )


def first_non_utf8_line(open_source: OpenSource, chunk_size: int = 1 << 20) -> int | None:
    """Physical line of the first byte that is not valid UTF-8, or None if the whole file is.

    Line breaks are counted as Python's ``csv`` module sees them (``\\n``, ``\\r\\n``, ``\\r``).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    pending_cr = False  # the previous chunk ended with "\r": a leading "\n" completes it
    with closing(open_source()) as stream:
        while True:
            chunk = stream.read(chunk_size)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                # The decoder may hold up to 3 bytes of the previous chunk; they hold no line break.
                position = max(error.start - (len(error.object) - len(chunk)), 0)
                return line + _line_breaks(chunk[:position], pending_cr)
            if not chunk:
                return None
            line += _line_breaks(chunk, pending_cr)
            pending_cr = chunk.endswith(b"\r")


def _line_breaks(data: bytes, pending_cr: bool) -> int:
    breaks = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    return breaks - 1 if pending_cr and data.startswith(b"\n") else breaks


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
        _large_fields(),
        closing(open_source()) as raw,
        io.TextIOWrapper(_buffered(raw), encoding="utf-8-sig", newline="") as text,
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


@contextmanager
def _large_fields() -> Iterator[None]:
    """Let Python's csv read fields as long as pyarrow does (Python's default limit is 128 KiB)."""
    previous = csv.field_size_limit(_CSV_FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


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
    with _large_fields():
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
