"""Which format an uploaded file is in, and opening it decompressed.

The format is decided, in this order, by the caller's ``fileFormat``, the file name's
extension (also under ``.gz``), the content type, and finally the first bytes: ``[`` or
``{`` start JSON, one ``{...}`` line followed by another starts NDJSON, anything else is CSV.

A gzip-compressed file (it starts with the gzip magic bytes ``1f 8b``; a ``.gz`` name only
helps to find the format inside) is decompressed while it is read, never whole. The first
open also sniffs: the bytes it read ahead are replayed, so detecting costs no extra read.

Every stream handed out stops with an :class:`UnreadableFile` once it has given more than
``max_bytes`` (decompressed): three megabytes of gzip can hold a gigabyte of rows, and the
validator's local disk and time are sized for files up to that limit.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from typing import BinaryIO

from ingestion.dataplane.records import ChainedStream, OpenSource, SourceStream, UnreadableFile
from ingestion.domain import FileFormat, IngestOptions

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 64 << 10
_BUFFER = 1 << 20
_EXTENSIONS = {
    ".csv": FileFormat.CSV,
    ".tsv": FileFormat.CSV,
    ".json": FileFormat.JSON,
    ".ndjson": FileFormat.NDJSON,
    ".jsonl": FileFormat.NDJSON,
}
_CONTENT_TYPES = {
    "text/csv": FileFormat.CSV,
    "application/csv": FileFormat.CSV,
    "text/tab-separated-values": FileFormat.CSV,
    "application/json": FileFormat.JSON,
    "text/json": FileFormat.JSON,
    "application/x-ndjson": FileFormat.NDJSON,
    "application/ndjson": FileFormat.NDJSON,
    "application/jsonl": FileFormat.NDJSON,
    "application/x-jsonlines": FileFormat.NDJSON,
}


def format_from_name(file_name: str | None) -> FileFormat | None:
    if not file_name:
        return None
    name = file_name.rsplit("/", 1)[-1].lower()
    name = name.removesuffix(".gz")
    for extension, file_format in _EXTENSIONS.items():
        if name.endswith(extension):
            return file_format
    return None


def format_from_content_type(content_type: str | None) -> FileFormat | None:
    if not content_type:
        return None
    return _CONTENT_TYPES.get(content_type.split(";", 1)[0].strip().lower())


def sniff_format(head: bytes) -> FileFormat:
    """The format the first bytes of a (decompressed) file look like."""
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if text.startswith(b"["):
        return FileFormat.JSON
    if text.startswith(b"{"):
        first, _, rest = text.partition(b"\n")
        if first.rstrip().endswith(b"}") and rest.lstrip().startswith(b"{"):
            return FileFormat.NDJSON
        return FileFormat.JSON
    return FileFormat.CSV


class UploadedFile:
    """An uploaded file that can be opened again and again, decompressed, with its format known.

    Use as a context manager: the stream opened to sniff is handed out by the first
    :meth:`open`, or closed on exit if nobody asked for it.
    """

    def __init__(
        self, open_source: OpenSource, options: IngestOptions | None = None, *, max_bytes: int | None = None
    ) -> None:
        options = options or IngestOptions()
        self._open_source = open_source
        self._max_bytes = max_bytes
        raw = ChainedStream(b"", open_source())
        try:
            buffered = io.BufferedReader(raw, _BUFFER)
            self.compressed = buffered.peek(len(GZIP_MAGIC))[: len(GZIP_MAGIC)] == GZIP_MAGIC
            stream = self._bounded(self._decompressed(buffered) if self.compressed else buffered)
            self.head = _read_up_to(stream, SNIFF_BYTES)
        except BaseException:
            raw.close()
            raise
        self._first: BinaryIO | None = io.BufferedReader(ChainedStream(self.head, stream), _BUFFER)
        decided = (
            (options.file_format, "fileFormat"),
            (format_from_name(options.file_name), "file name"),
            (format_from_content_type(options.content_type), "content type"),
        )
        self.format, self.decided_by = next(
            ((found, how) for found, how in decided if found is not None),
            (sniff_format(self.head), "content"),
        )

    def __enter__(self) -> UploadedFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._first is not None:
            self._first.close()
            self._first = None

    def open(self) -> BinaryIO:
        """A fresh stream of the file's (decompressed) bytes, from the start."""
        if self._first is not None:
            stream, self._first = self._first, None
            return stream
        raw = buffered(self._open_source())
        return self._bounded(self._decompressed(raw) if self.compressed else raw)

    def _bounded(self, stream: BinaryIO) -> BinaryIO:
        if self._max_bytes is None:
            return stream
        return io.BufferedReader(_SizeLimit(stream, self._max_bytes, compressed=self.compressed), _BUFFER)

    @staticmethod
    def _decompressed(compressed: BinaryIO) -> BinaryIO:
        return io.BufferedReader(_Gunzip(compressed), _BUFFER)


def buffered(source: BinaryIO) -> BinaryIO:
    """``source`` as a buffered reader (with ``peek``) that closes it when closed."""
    if isinstance(source, io.BufferedReader):
        return source
    return io.BufferedReader(ChainedStream(b"", source), _BUFFER)


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    parts, left = [], size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


class _SizeLimit(SourceStream):
    """Passes ``source`` through until it has given ``limit`` bytes; one more is an
    :class:`UnreadableFile`."""

    def __init__(self, source: BinaryIO, limit: int, *, compressed: bool) -> None:
        super().__init__(source)
        self._left = limit
        self._limit = limit
        self._compressed = compressed

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        # One byte past the limit is enough to know; never more is read than that.
        view = memoryview(buffer)[: self._left + 1]
        size = self._source.readinto(view)  # type: ignore[attr-defined]
        if size and size > self._left:
            raise UnreadableFile(self._too_large())
        self._left -= size or 0
        return size or 0

    def _too_large(self) -> str:
        limit = f"{self._limit >> 20} MiB" if self._limit >= 1 << 20 else f"{self._limit:,} bytes"
        what = "once decompressed, the file is" if self._compressed else "the file is"
        return (
            f"{what} larger than {limit}, the most one upload may hold; nothing was merged. "
            "Split it into smaller files and upload each"
        )


class _Gunzip(io.RawIOBase):
    """Decompresses gzip while it is read; a damaged stream is an :class:`UnreadableFile`."""

    def __init__(self, compressed: BinaryIO) -> None:
        super().__init__()
        self._compressed = compressed
        self._gzip = gzip.GzipFile(fileobj=compressed, mode="rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            return self._gzip.readinto(buffer)
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise UnreadableFile(
                f"the file starts like gzip but cannot be decompressed ({error}); "
                "upload the complete .gz file again, or the file uncompressed"
            ) from error

    def close(self) -> None:
        if not self.closed:
            try:
                self._gzip.close()
                self._compressed.close()
            finally:
                super().close()
