"""Cast first: whole columns of text cast to their type, keeping the cells the model agrees with.

The first of the column checks' three tiers (:mod:`.column_checks` holds the other two).
Arrow's own parsers read a whole column in one call, and for the usual spellings they read
a cell exactly as the data type's pydantic model does. Each function here casts a column,
then keeps (``taken``) only the cells whose cast result is certainly the model's answer;
every other present cell is left to the spelled-out checks and, after them, to the model.
So this tier decides speed, never acceptance. What Arrow reads that the model refuses, and
how each is left out:

- integers: hex (``0x10``): only cells of ASCII digits, optionally after ``-``, are cast
  (a cell beyond 64 bits fails its cast);
- numbers: ``inf``, ``nan``, and values too large for a double: only finite results count;
- date-times: an hour without minutes (``2024-06-18T12``, with or without a zone), and the
  zones ``+HH`` and ``+HHMM``, are never taken; instants outside Python's range are not
  taken, nor year 0 moved into year 1 by a negative offset (the model cannot read year 0).
  No zone means UTC: cells without one are cast to a naive timestamp and read as UTC;
- dates: year 0 (before Python's first date).

Arrow's cast fails a whole array for one cell it cannot read (``2024-02-30``, ``n/a``), so a
failed cast is retried on the halves of the array, down to small pieces that are given up
(:func:`cast_where_possible`); when cells fail densely the column is given up at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.schemas.spec import FieldType

TIMESTAMP = pa.timestamp("us", tz="UTC")
NAIVE_TIMESTAMP = pa.timestamp("us")
# Python's datetime range: anything outside cannot be read back, and pydantic refuses it.
FIRST_INSTANT = pa.scalar(datetime(1, 1, 1, tzinfo=UTC), TIMESTAMP)
LAST_INSTANT = pa.scalar(datetime.max.replace(tzinfo=UTC), TIMESTAMP)
FIRST_DATE = pa.scalar(date(1, 1, 1), pa.date32())
# A negative offset can move year 0 at most this far into year 1.
_YEAR_ZERO_REACH = pa.scalar(datetime(1, 1, 2, tzinfo=UTC), TIMESTAMP)

# An hour without minutes: "2024-06-18T12" and "2024-06-18T12Z" (the model wants hh:mm).
_HOUR_ONLY_LENGTHS = (13, 14)
# The shortest date-time with a "+hh:mm" zone: "2024-06-18T12:30+02:00".
_SHORTEST_WITH_OFFSET = 22
_SIGNS = pa.array([b"+", b"-"], pa.binary())

# A failed cast is retried on halves down to pieces of this many cells (or a 256th of the
# array), with at most this many failed casts per array: each failure costs a parse of its
# piece. A few unreadable cells are isolated in a few dozen casts; when cells fail densely,
# a probe of the first cells (or the budget) gives the array up early.
_SMALLEST_PIECE = 16
_MAX_FAILED_CASTS = 64
_PROBE = 256

# The typed column, and which cells it holds the model's value for ("taken").
Cast = tuple[pa.Array, pa.BooleanArray]


def cast_column(kind: FieldType, raw: pa.Array, present: pa.BooleanArray) -> Cast | None:
    """The column cast to ``kind``'s type and which present cells are taken.

    None when this tier takes nothing: text, no present cell, or too many unreadable cells.
    """
    cast = _CASTS.get(kind)
    if cast is None or present.true_count == 0:
        return None
    return cast(raw, present)


def only_cells(raw: pa.Array, keep: pa.BooleanArray) -> pa.Array:
    """``raw`` with every cell outside ``keep`` null, sharing ``raw``'s buffers when it can."""
    if raw.offset == 0 and raw.null_count == 0 and keep.offset == 0 and keep.null_count == 0:
        return pa.Array.from_buffers(raw.type, len(raw), [keep.buffers()[1], *raw.buffers()[1:]])
    return pc.if_else(keep, raw, None)


def cast_where_possible(cells: pa.Array, target: pa.DataType, *, in_pieces: bool = True) -> pa.Array | None:
    """``cells`` cast to ``target``, null where a cell (or a small piece around it) fails.

    None when too many cells fail (casting piece by piece would cost more than it saves),
    or, without ``in_pieces``, when any cell fails.
    """
    if len(cells) > 2 * _PROBE:
        try:
            cells.slice(0, _PROBE).cast(target)
        except pa.ArrowInvalid:
            return None
    try:
        return cells.cast(target)
    except pa.ArrowInvalid:
        if not in_pieces:
            return None
    smallest = max(_SMALLEST_PIECE, len(cells) // 256)
    pieces: list[pa.Array] = []
    half = len(cells) // 2
    pending = [cells.slice(half), cells.slice(0, half)]  # the first half is cast first
    failed = 1
    while pending:
        piece = pending.pop()
        try:
            pieces.append(piece.cast(target))
            continue
        except pa.ArrowInvalid:
            failed += 1
        if failed > _MAX_FAILED_CASTS:
            return None
        if len(piece) <= smallest:
            pieces.append(pa.nulls(len(piece), target))
        else:
            half = len(piece) // 2
            pending += [piece.slice(half), piece.slice(0, half)]
    return pa.concat_arrays(pieces)


def _integers(raw: pa.Array, present: pa.BooleanArray) -> Cast | None:
    digits = pc.ascii_is_decimal(raw)  # ASCII 0-9 only, never empty: no hex, no sign, no space
    if digits.true_count < present.true_count:
        minus = pc.starts_with(raw, "-")
        if minus.true_count > 0:
            digits = pc.or_(digits, pc.and_(minus, pc.ascii_is_decimal(_after_first_byte(raw))))
    # A cell beyond 64 bits fails the cast, and is left with the cells near it.
    values = cast_where_possible(only_cells(raw, digits), pa.int64())
    if values is None:
        return None
    return values, pc.is_valid(values)


def _numbers(raw: pa.Array, present: pa.BooleanArray) -> Cast | None:
    values = cast_where_possible(only_cells(raw, present), pa.float64())
    if values is None:
        return None
    return values, pc.and_kleene(pc.is_valid(values), pc.is_finite(values))


def _booleans(raw: pa.Array, present: pa.BooleanArray) -> Cast | None:
    values = cast_where_possible(only_cells(raw, present), pa.bool_())  # 0, 1, true, false in any case
    if values is None:
        true = pc.is_in(raw, value_set=_TRUE)
        taken = pc.or_(true, pc.is_in(raw, value_set=_FALSE))
        return pc.if_else(taken, true, None), taken
    return values, pc.is_valid(values)


def _dates(raw: pa.Array, present: pa.BooleanArray) -> Cast | None:
    values = cast_where_possible(only_cells(raw, present), pa.date32())
    if values is None:
        return None
    return values, pc.fill_null(pc.greater_equal(values, FIRST_DATE), False)


def _datetimes(raw: pa.Array, present: pa.BooleanArray) -> Cast | None:
    """Cells ending in "Z" or a "+hh:mm" offset are cast as zoned, the others as UTC wall time.

    Zones are only looked for when the simpler reading fails: most columns are uniform.
    """
    zulu = offset = wall_times = None
    plain = present
    if pc.ends_with(raw.slice(0, _PROBE), "Z").true_count == 0:  # else casting all as wall times fails
        wall_times = cast_where_possible(only_cells(raw, plain), NAIVE_TIMESTAMP, in_pieces=False)
    if wall_times is None:
        zulu = pc.ends_with(raw, "Z")
        plain = pc.and_(present, pc.invert(zulu))
        wall_times = cast_where_possible(only_cells(raw, plain), NAIVE_TIMESTAMP, in_pieces=False)
    if wall_times is None:
        # Some cells have a zone offset ("+02:00"), or cannot be read at all (2024-02-30).
        offset = _offset_zones(raw)
        plain = pc.and_(plain, pc.invert(offset))
        wall_times = cast_where_possible(only_cells(raw, plain), NAIVE_TIMESTAMP)
    values = wall_times.view(TIMESTAMP) if wall_times is not None else None  # no zone means UTC
    if zulu is not None:
        zoned = pc.or_(zulu, offset) if offset is not None else zulu
        zoned_times = cast_where_possible(only_cells(raw, zoned), TIMESTAMP)
        if zoned_times is not None:
            values = zoned_times if values is None else pc.if_else(zoned, zoned_times, values)
    if values is None:
        return None
    taken = pc.is_valid(values)
    lengths = pc.binary_length(raw)
    shortest, longest = (bound.as_py() for bound in pc.min_max(only_cells(lengths, present)).values())
    if shortest <= _HOUR_ONLY_LENGTHS[-1] and longest >= _HOUR_ONLY_LENGTHS[0]:
        hour_only = pc.is_in(lengths, value_set=pa.array(_HOUR_ONLY_LENGTHS, lengths.type))
        taken = pc.and_(taken, pc.invert(hour_only))
    low, high = (bound.value for bound in pc.min_max(values).values())
    if low is not None and (low < FIRST_INSTANT.value or high > LAST_INSTANT.value):
        in_range = pc.and_(pc.greater_equal(values, FIRST_INSTANT), pc.less_equal(values, LAST_INSTANT))
        taken = pc.and_(taken, pc.fill_null(in_range, False))
    if offset is not None and low is not None and low < _YEAR_ZERO_REACH.value:
        taken = pc.and_(taken, pc.invert(pc.starts_with(raw, "0000")))
    return values, taken


def _offset_zones(raw: pa.Array) -> pa.BooleanArray:
    """Cells ending in a "+hh:mm" or "-hh:mm" zone after at least hh:mm.

    A misread cell is no risk: in the wrong group, it fails its cast and is left.
    """
    binary = _as_binary(raw)
    sign = pc.is_in(pc.binary_slice(binary, -6, -5), value_set=_SIGNS)
    colon = pc.equal(pc.binary_slice(binary, -3, -2), pa.scalar(b":", binary.type))
    lengths = pc.binary_length(raw)
    long_enough = pc.greater_equal(lengths, pa.scalar(_SHORTEST_WITH_OFFSET, lengths.type))
    return pc.and_(pc.and_(sign, colon), long_enough)


def _as_binary(raw: pa.Array) -> pa.Array:
    return raw.view(pa.large_binary() if pa.types.is_large_string(raw.type) else pa.binary())


def _after_first_byte(raw: pa.Array) -> pa.Array:
    """Each cell without its first byte (only used where that byte is ASCII)."""
    # An explicit end: pyarrow 26's default one fails on arrays of several cells.
    return pc.binary_slice(_as_binary(raw), 1, 2**31 - 1).view(raw.type)


def _case_spellings(words: tuple[str, ...]) -> pa.Array:
    """Every spelling of ``words`` in upper and lower case letters (``tRuE``)."""
    spellings = {""}
    for word in words:
        variants = [""]
        for letter in word:
            variants = [v + c for v in variants for c in {letter.lower(), letter.upper()}]
        spellings.update(variants)
    spellings.discard("")
    return pa.array(sorted(spellings), pa.string())


# What pydantic reads as a boolean, in any case.
_TRUE = _case_spellings(("1", "on", "t", "true", "y", "yes"))
_FALSE = _case_spellings(("0", "off", "f", "false", "n", "no"))

_CASTS: dict[FieldType, Callable[[pa.Array, pa.BooleanArray], Cast | None]] = {
    FieldType.INTEGER: _integers,
    FieldType.NUMBER: _numbers,
    FieldType.BOOLEAN: _booleans,
    FieldType.DATETIME: _datetimes,
    FieldType.DATE: _dates,
}
