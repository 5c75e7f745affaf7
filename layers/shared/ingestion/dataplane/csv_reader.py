"""Reading an uploaded CSV file as a stream of all-string Arrow record batches.

Every column is read as text so that the column checks (:mod:`.column_checks`), not
pyarrow's type inference, decide what a cell means. The header is parsed here, with
Python's ``csv`` module, from the first bytes of the file; pyarrow then reads only the
bytes after it with those names, so one parser alone names the columns and their types
are fixed before the first data byte is read.

Both parsers follow the same dialect: ``"`` quotes, doubled quotes inside quotes, no escape
character, ``\\n``/``\\r\\n``/``\\r`` line breaks, blank lines ignored. Python's ``csv`` reads
the file again on the error path only: :mod:`.csv_records` (where :class:`.csv_records.CsvRecords`
is this stream as validation sees every format's reader, and the separator ``"auto"`` is
detected) maps record positions back to physical lines with it.
"""

from __future__ import annotations

import codecs
import csv
import io
import threading
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from ingestion.dataplane.encoding import not_utf8
from ingestion.dataplane.records import ChainedStream, Header, OpenSource, UnreadableFile

QUOTE = '"'
# Large enough that a batch amortises the per-batch work, small enough to bound memory.
# A single record longer than this cannot be read (pyarrow needs a record inside a block).
BLOCK_SIZE = 4 << 20
_HEADER_CHUNK = 64 << 10
_HEADER_LIMIT = 1 << 20
_CSV_FIELD_LIMIT = (1 << 31) - 1


@dataclass
class InvalidRowCounter:
    """pyarrow ``invalid_row_handler``: counts rows with the wrong number of fields and skips them.

    pyarrow gives neither the line nor the record position of such a row, and may call the
    handler from its reader threads, so only the count is kept;
    :func:`.csv_records.locate_lines` finds the rows themselves on the error path.
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
        self._data = buffered_stream(source, head=rest)

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
    with large_fields():
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


def buffered_stream(source: BinaryIO, head: bytes = b"") -> io.BufferedReader:
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


@contextmanager
def large_fields() -> Iterator[None]:
    """Let Python's csv read fields as long as pyarrow does (Python's default limit is 128 KiB)."""
    previous = csv.field_size_limit(_CSV_FIELD_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(previous)
