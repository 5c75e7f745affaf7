"""The error every reader gives for a file that is not UTF-8, naming the first line that is not.

Readers (:mod:`.csv_reader`, :mod:`.json_records` and the JSON readers built on it) find
that a file is not UTF-8 wherever their parser happens to fail; this reads the file once
more from its start, on that error path only, to say which physical line holds the first
bad byte, counting line breaks as Python's ``csv`` module does.
"""

from __future__ import annotations

import codecs
from contextlib import closing

from ingestion.dataplane.records import OpenSource, UnreadableFile


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
