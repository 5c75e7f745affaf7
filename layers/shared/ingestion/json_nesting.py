"""How deeply JSON nests, measured before anything parses it.

Parsers recurse once per level of nesting: Python's ``json`` raises ``RecursionError`` at about a
thousand levels, and the C++ parser behind ``pyarrow.json`` overflows its stack (the process dies)
at some ten thousand. Four kilobytes of ``[`` are enough for either, so every JSON body and
every JSON or NDJSON file is measured first and refused when it nests deeper than
:data:`MAX_JSON_DEPTH`. No data this service stores nests deeper than four levels (``{"rows":
[{"tags": ["a"]}]}``).

The measure runs at the speed of ``bytes`` methods, not of a Python loop over characters: it
drops escaped characters, keeps only quotes and brackets, removes the strings (so brackets inside
text do not count) and then the innermost ``[]`` / ``{}`` pairs, one level per pass.
:class:`NestingGauge` measures a stream piece by piece, carrying what is still open (an
unfinished string, a trailing backslash, unclosed brackets) from one piece to the next.
"""

from __future__ import annotations

import re
from itertools import accumulate

MAX_JSON_DEPTH = 32

_STRUCTURE = b'[]{}"'
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in _STRUCTURE)
_BACKSLASH = b"\\"
_STRINGS = re.compile(rb'"[^"]*"')
_INNERMOST = re.compile(rb"\[\]|\{\}")
_DELTA = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class TooDeep(ValueError):
    """JSON nested deeper than the limit; ``line`` is the 1-based line where it went too deep."""

    def __init__(self, limit: int, line: int) -> None:
        super().__init__(
            f"the JSON nests objects or arrays more than {limit} levels deep (at line {line}); "
            "rows are objects of single values (arrays of text for list fields): flatten the data"
        )
        self.limit = limit
        self.line = line


class NestingGauge:
    """Measures JSON fed to it in pieces; :meth:`feed` raises :class:`TooDeep` past ``limit``."""

    def __init__(self, limit: int = MAX_JSON_DEPTH) -> None:
        self.limit = limit
        self._depth = 0  # brackets still open after the pieces fed so far
        self._in_string = False
        self._escape_pending = False  # the last piece ended with an unpaired backslash
        self._lines = 0  # line breaks in the pieces fed before the current one

    def feed(self, piece: bytes) -> None:
        start, in_string = self._depth, self._in_string
        data = piece
        if self._escape_pending and data:
            data, self._escape_pending = data[1:], False
        if _BACKSLASH in data:
            data, self._escape_pending = _without_escapes(data)
        structure = data.translate(None, _NOT_STRUCTURE)
        # Adjacent quotes close one string and open the next (or make an empty one): nothing
        # structural lies between them, so they go first, before the slower regex.
        structure = (b'"' + structure if in_string else structure).replace(b'""', b"")
        brackets = _STRINGS.sub(b"", structure)
        unfinished = brackets.find(b'"')
        self._in_string = unfinished >= 0
        if self._in_string:
            brackets = brackets[:unfinished]
        deepest, self._depth = _levels(brackets, start, self.limit)
        if deepest > self.limit:
            raise TooDeep(self.limit, self._lines + _line_past(piece, self.limit - start, in_string))
        self._lines += piece.count(b"\n")


def check_depth(document: bytes | str, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`TooDeep` if the JSON ``document`` nests deeper than ``limit``."""
    NestingGauge(limit).feed(document.encode() if isinstance(document, str) else document)


def _levels(brackets: bytes, start: int, limit: int) -> tuple[int, int]:
    """The deepest level ``brackets`` reach from level ``start`` (an upper bound, exact past
    ``limit``), and the level they end at."""
    passes = 0
    while brackets and passes <= limit:
        inner = _INNERMOST.sub(b"", brackets)  # one scan: what it leaves is matched next pass
        if len(inner) == len(brackets):
            break
        brackets, passes = inner, passes + 1
    # What no pass removed: closings of brackets opened before, then openings still open (or a
    # mismatch the parser will report). Counting the openings bounds the level they reach.
    openings = brackets.count(b"[") + brackets.count(b"{")
    end = max(0, start + 2 * openings - len(brackets))
    if start + passes + openings <= limit:
        return start + passes + openings, end
    reached = max(accumulate(_DELTA[byte] for byte in brackets), default=0)
    return start + passes + max(0, reached), end


def _without_escapes(data: bytes) -> tuple[bytes, bool]:
    """``data`` without its escaped quotes and backslashes, and whether it ends with an unpaired
    backslash (which escapes the first byte of the next piece).

    Escapes pair from the left, so ``\\\\`` goes first; any other escaped character is left
    behind as an ordinary one, which is harmless unless it is a quote.
    """
    data = data.replace(b"\\\\", b"")
    pending = data.endswith(_BACKSLASH)
    if pending:
        data = data[:-1]
    return data.replace(b'\\"', b""), pending


def _line_past(piece: bytes, relative_limit: int, in_string: bool) -> int:
    """The 1-based line of ``piece`` where nesting first passes ``relative_limit`` more levels.

    Error path only: a Python loop over the piece.
    """
    depth = 0
    line = 1
    escaped = False
    for byte in piece:
        if byte == 0x0A:
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in _DELTA:
            depth += _DELTA[byte]
            if depth > relative_limit:
                return line
    return line
