"""What the local API answers to a request its HTTP server cannot parse.

The standard library's request parsing, which werkzeug's server uses (``local_stack.http_server``),
answers a request line or header it refuses (431 for a header line over 64 KB, 414 for a
request line over 64 KB, 400 for a malformed request line, 505 for HTTP/2) with an HTML page.
(A method it does not know is routed like any other and gets the gateway's 405.) Every other
error of the local API is JSON ``{"message": ...}``, as API Gateway's are, and a client that
parses it would choke on HTML; so these answers are JSON too, and say what to send instead.

The header a too-long line belongs to is lost once the parser gives up on it, so
``HeaderLines`` remembers the start of each line it reads to name it in the answer.
"""

from __future__ import annotations

import http.client
from http import HTTPStatus
from typing import BinaryIO

# The standard library's limits on a request line, a header line and the number of headers.
MAX_LINE_BYTES = getattr(http.client, "_MAXLINE", 65536)
MAX_HEADERS = getattr(http.client, "_MAXHEADERS", 100)
_NAME_PREFIX_BYTES = 256


class HeaderLines:
    """A request's input stream that remembers the beginning of the last line read from it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.last_line = b""

    def readline(self, limit: int = -1) -> bytes:
        line = self.stream.readline(limit)
        self.last_line = line[:_NAME_PREFIX_BYTES]
        return line

    def header_name(self) -> str | None:
        """The name of the header on the last line read, if that line has one."""
        name, colon, _ = self.last_line.partition(b":")
        text = name.decode("iso-8859-1").strip()
        return text if colon and text and " " not in text else None

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


def parse_error_message(
    status: int, reason: str | None, *, request_line: str = "", header: str | None = None
) -> str:
    """What was wrong with the request and what to send instead."""
    if status == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE:
        if reason == "Too many headers":
            return f"too many request headers: at most {MAX_HEADERS} are accepted; send fewer headers"
        shorter = f"a shorter {header} header" if header else "shorter headers"
        return (
            f"request header too large: a header line may hold at most {MAX_LINE_BYTES} bytes; send {shorter}"
        )
    if status == HTTPStatus.REQUEST_URI_TOO_LONG:
        return (
            f"request line too long: the method, path and query string may hold at most "
            f"{MAX_LINE_BYTES} bytes; send a shorter URL and put long values in the body"
        )
    if status == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:
        return f"unsupported HTTP version in {request_line!r}: send HTTP/1.1"
    if status == HTTPStatus.BAD_REQUEST:
        return f"malformed request line {request_line!r}: send '<METHOD> <path> HTTP/1.1'"
    try:
        phrase = HTTPStatus(status).phrase.lower()
    except ValueError:
        phrase = f"error {status}"
    return f"{phrase}: {reason}" if reason else phrase
