"""Column checks: turn one all-string column into its typed Arrow column, vectorised.

A cell is accepted exactly when the data type's pydantic model accepts it (the model is
the single definition of the schema). Checking every cell with pydantic would cost a
Python object per row, so each present cell goes through up to three tiers, and only the
last one decides acceptance:

1. *cast first* (:mod:`.column_casts`): the whole column is cast by Arrow's own parsers,
   and the cells whose cast result is certainly the model's are taken (``42``, ``1000.50``,
   ``true``, ``2024-06-18T12:30:45``, ``...Z``, ``...+02:00``): nearly every cell of a real
   file, at the cost of a cast;
2. *spelled out*: the cells the cast left are matched against strict regular expressions
   of spellings Arrow does not read but the model does (``+3``, ``7.0`` for a whole
   number), each a subset of what pydantic accepts with the same resulting value;
3. *the model*: the non-empty cells still left are handed, one by one, to the model's own
   validator for that field (its lax parsing accepts rarer spellings such as ``1_000``,
   ``+0100`` zones or padding spaces), so the first two tiers decide performance, never
   acceptance.

The differential property test in ``tests/unit/dataplane`` holds the tiers to the model's
answers.

Two deliberate differences from pydantic's lax mode, both about what storage can hold:
numbers must be finite (pydantic accepts ``inf`` and ``1e400``), and whole numbers must
fit in 64 bits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import TypeAdapter

from ingestion.dataplane.column_casts import (
    FIRST_DATE,
    FIRST_INSTANT,
    LAST_INSTANT,
    TIMESTAMP,
    cast_column,
    cast_where_possible,
    only_cells,
)
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType

# Every character Python's str.strip() removes (str.isspace()), so list items are trimmed
# exactly as the model's ``_split_list`` trims them; a unit test recomputes this set.
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

_TRUE = pa.array(["1", "on", "t", "true", "y", "yes"])
_FALSE = pa.array(["0", "off", "f", "false", "n", "no"])
_INTEGER = r"^[+-]?[0-9]{1,18}(\.0+)?$"  # 18 digits always fit in int64
_INTEGER_NOISE = r"^\+|\.0+$"
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_ZONE = r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
_DATETIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?" + _ZONE[:-1] + "?)?$"
)
_INT64 = (-(2**63), 2**63 - 1)

CellParser = Callable[[str], Any]


def arrow_type(field: FieldSpec) -> pa.DataType:
    """The Arrow type a column of ``field`` is stored as."""
    return {
        FieldType.STRING: pa.string(),
        FieldType.INTEGER: pa.int64(),
        FieldType.NUMBER: pa.float64(),
        FieldType.BOOLEAN: pa.bool_(),
        FieldType.DATETIME: TIMESTAMP,
        FieldType.DATE: pa.date32(),
        FieldType.STRING_LIST: pa.list_(pa.string()),
    }[field.type]


@dataclass(frozen=True)
class CheckedColumn:
    """A typed column and where its cells failed.

    ``values`` is null where a cell was empty or failed; ``missing`` marks empty cells of a
    required column; ``invalid`` marks present cells that are not acceptable.
    """

    values: pa.Array
    missing: pa.BooleanArray
    invalid: pa.BooleanArray


def check_column(field: FieldSpec, raw: pa.Array, parse_cell: CellParser | None = None) -> CheckedColumn:
    """Check and convert one column of raw strings (no nulls; "" is an empty cell).

    A ``string_list`` field also takes a ``list<string>`` column (JSON arrays), null when empty,
    used as it is: the model takes a list as given and only splits text.
    """
    kind = field.type
    given_lists = pa.types.is_list(raw.type)
    if given_lists and kind is not FieldType.STRING_LIST:
        raise TypeError(f"column {field.name}: only a string_list field takes lists")
    present = pc.is_valid(raw) if given_lists else _non_empty(raw)
    none = _no_cells(len(raw))
    missing = none if not field.required else pc.invert(present)
    invalid = none
    if kind is FieldType.STRING:
        values = only_cells(raw, present)
    elif kind is FieldType.STRING_LIST:
        values = raw if given_lists else _split_list(raw, field.list_separator or ";", present)
    else:
        cast = cast_column(kind, raw, present)
        if cast is None:
            values, left = pa.nulls(len(raw), arrow_type(field)), present
        elif cast[1].true_count < present.true_count:  # the cells taken are present cells
            values, left = cast[0], pc.and_(present, pc.invert(cast[1]))
        else:
            values, left = cast[0], none
        if left.true_count > 0:
            # Few cells, as a rule: the cast takes every cell of the usual spellings.
            checked = _check_cells(field, raw.filter(left), parse_cell or default_parser(field))
            values = pc.replace_with_mask(values, left, checked)
            invalid = pc.and_(present, pc.is_null(values))
    if field.ge is not None and kind in (FieldType.INTEGER, FieldType.NUMBER):
        # Compare in the column's own type: int64 beyond 2**53 does not survive a cast to double.
        bound = pa.scalar(math.ceil(field.ge) if kind is FieldType.INTEGER else field.ge, values.type)
        below = pc.less(values, bound)
        if below.true_count > 0:
            invalid = pc.or_(invalid, pc.fill_null(below, False))
    if field.allowed is not None:
        invalid = pc.or_(
            invalid, pc.and_(present, pc.invert(pc.is_in(raw, value_set=pa.array(field.allowed))))
        )
    if invalid.true_count > 0:
        values = pc.if_else(invalid, pa.scalar(None, values.type), values)
    return CheckedColumn(values=values, missing=missing, invalid=invalid)


def _non_empty(raw: pa.Array) -> pa.BooleanArray:
    lengths = pc.binary_length(raw)
    return pc.greater(lengths, pa.scalar(0, lengths.type))  # a scalar of the same type: no cast


@lru_cache(maxsize=32)
def _no_cells(length: int) -> pa.BooleanArray:
    """All false: the mask of a column without missing or invalid cells (shared, never changed)."""
    return pa.nulls(length, pa.bool_()).fill_null(False)


def _check_cells(field: FieldSpec, cells: pa.Array, parse_cell: CellParser) -> pa.Array:
    """The present cells the cast did not take: the spelled-out checks, then the model one by one."""
    try:
        values, spelled = _SPELLED_OUT[field.type](cells)
    except pa.ArrowInvalid:
        # A whole cast failed after all (the casts above null what they cannot read): leave
        # these cells to the parser.
        values = pa.nulls(len(cells), arrow_type(field))
        spelled = pc.is_valid(values)
    needs_parser = pc.invert(spelled)
    if needs_parser.true_count == 0:
        return values
    parsed = [_storable(field, _try(parse_cell, cell)) for cell in cells.filter(needs_parser).to_pylist()]
    return pc.replace_with_mask(values, needs_parser, pa.array(parsed, values.type))


def _integers(raw: pa.Array) -> tuple[pa.Array, pa.Array]:
    fast = pc.match_substring_regex(raw, _INTEGER)
    digits = pc.replace_substring_regex(raw, _INTEGER_NOISE, "")
    return pc.if_else(fast, digits, None).cast(pa.int64()), fast


def _numbers(raw: pa.Array) -> tuple[pa.Array, pa.Array]:
    fast = pc.match_substring_regex(raw, _NUMBER)
    values = pc.if_else(fast, raw, None).cast(pa.float64())
    fast = pc.fill_null(pc.is_finite(values), False)
    return values, fast


def _booleans(raw: pa.Array) -> tuple[pa.Array, pa.Array]:
    lower = pc.utf8_lower(raw)
    true = pc.is_in(lower, value_set=_TRUE)
    fast = pc.or_(true, pc.is_in(lower, value_set=_FALSE))
    return pc.if_else(fast, true, None), fast


def _datetimes(raw: pa.Array) -> tuple[pa.Array, pa.Array]:
    fast = pc.match_substring_regex(raw, _DATETIME)
    text = raw
    # The joined copies are only built when some cell needs them (most columns need neither).
    date_only = pc.match_substring_regex(raw, _DATE)
    if pc.any(date_only).as_py():
        text = pc.if_else(date_only, pc.binary_join_element_wise(raw, "T00:00", ""), raw)
    # Arrow only casts text to a zoned timestamp when the text names its zone; no zone means UTC.
    zoned = pc.match_substring_regex(text, _ZONE)
    if pc.any(pc.and_(fast, pc.invert(zoned))).as_py():
        text = pc.if_else(zoned, text, pc.binary_join_element_wise(text, "Z", ""))
    values = _cast_where_possible(pc.if_else(fast, text, None), TIMESTAMP)
    in_range = pc.and_(pc.greater_equal(values, FIRST_INSTANT), pc.less_equal(values, LAST_INSTANT))
    # Year 0 moved into year 1 by a negative offset is in range, but the model cannot read year 0.
    readable = pc.and_(in_range, pc.invert(pc.starts_with(raw, "0000")))
    return values, pc.fill_null(readable, False)


def _dates(raw: pa.Array) -> tuple[pa.Array, pa.Array]:
    fast = pc.match_substring_regex(raw, _DATE)
    values = _cast_where_possible(pc.if_else(fast, raw, None), pa.date32())
    return values, pc.fill_null(pc.greater_equal(values, FIRST_DATE), False)


def _cast_where_possible(cells: pa.Array, target: pa.DataType) -> pa.Array:
    """Null where a cell fails (2024-02-30), so that it alone, with a few near it, needs the parser."""
    values = cast_where_possible(cells, target)
    return values if values is not None else pa.nulls(len(cells), target)


# The second tier: regular expressions of the spellings the model reads as Arrow's cast would.
_SPELLED_OUT: dict[FieldType, Callable[[pa.Array], tuple[pa.Array, pa.Array]]] = {
    FieldType.INTEGER: _integers,
    FieldType.NUMBER: _numbers,
    FieldType.BOOLEAN: _booleans,
    FieldType.DATETIME: _datetimes,
    FieldType.DATE: _dates,
}


def _split_list(raw: pa.Array, separator: str, present: pa.BooleanArray) -> pa.Array:
    """Split cells on ``separator``, trim items and drop empty ones, like the model's ``_split_list``.

    Empty cells are null.
    """
    lists = pc.split_pattern(only_cells(raw, present), separator)
    items = pc.utf8_trim(pc.list_flatten(lists), PYTHON_WHITESPACE)
    keep = pc.not_equal(items, "")
    boundaries = lists.offsets
    if keep.false_count > 0:
        # New list boundaries: how many kept items precede each old boundary.
        kept_before = pc.cumulative_sum(keep.cast(pa.int32()))
        boundaries = pa.concat_arrays([pa.array([0], pa.int32()), kept_before]).take(boundaries)
        items = items.filter(keep)
    return pa.ListArray.from_arrays(boundaries, items, type=pa.list_(pa.string()), mask=pc.invert(present))


def _try(parse_cell: CellParser, cell: str) -> Any:
    try:
        return parse_cell(cell)
    except Exception:
        return None


def _storable(field: FieldSpec, value: Any) -> Any:
    """The value as stored, or None when storage cannot hold what pydantic accepted."""
    if value is None:
        return None
    if field.type is FieldType.NUMBER:
        return value if math.isfinite(value) else None
    if field.type is FieldType.INTEGER:
        return value if _INT64[0] <= value <= _INT64[1] else None
    if field.type is FieldType.DATETIME:
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:
            return None
    return value


_PYTHON_TYPES: dict[FieldType, type] = {
    FieldType.INTEGER: int,
    FieldType.NUMBER: float,
    FieldType.BOOLEAN: bool,
    FieldType.DATETIME: datetime,
    FieldType.DATE: date,
}


def default_parser(field: FieldSpec) -> CellParser:
    """pydantic's lax parser for the field's type, for data types without a model."""
    if field.type not in _PYTHON_TYPES:
        return str  # text needs no parsing: check_column never asks
    return _adapter(_PYTHON_TYPES[field.type]).validate_python


def cell_parser(data_type: DataTypeSpec, field: FieldSpec) -> CellParser:
    """The model's own validator for one field, so odd spellings get the model's verdict."""
    if data_type.model is None:
        return default_parser(field)
    return _model_field_parser(data_type.model, field.name)


@lru_cache(maxsize=256)
def _model_field_parser(model: type, name: str) -> CellParser:
    for attribute, info in model.model_fields.items():  # type: ignore[attr-defined]
        if (info.alias or attribute) == name:
            annotation = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
            return _adapter(annotation).validate_python
    raise KeyError(f"{model.__name__} has no field {name}")


@lru_cache(maxsize=64)
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)
