"""Parsed JSON values as the text cells validation reads, and the problems of those that cannot be.

A scalar becomes the text the column checks already read in CSV cells: a string as it is, a
number as its JSON text (on the slow path :class:`JsonNumber` keeps it as it was written),
``true``/``false``, and ``null`` (or a missing key) an empty cell. A nested object or array
is a problem of that cell (a :class:`.records.CellProblem`), except a JSON array of strings
given for a ``string_list`` field, kept as a list. :func:`column_text` converts a column as
pyarrow parsed it (the fast path of :mod:`.json_records`), :func:`python_column` one of
values Python's ``json`` parsed (the slow path).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.dataplane.records import CellProblem
from ingestion.schemas.spec import FieldSpec, FieldType


class JsonNumber(str):
    """A JSON number, kept as the text it was written in (so 1.10 stays 1.10), known as a number."""

    __slots__ = ()


DECODER = json.JSONDecoder(parse_float=JsonNumber, parse_int=JsonNumber, parse_constant=JsonNumber)


def _nested_message(kind: str) -> str:
    return f"a JSON {kind} cannot be stored here: send a single value (text, a number, true, false or null)"


_LIST_ITEMS_MESSAGE = (
    "a JSON array whose items are not all text cannot be stored here: send an array of strings"
)


def kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, JsonNumber) else "a string"


def shown_text(text: str) -> str:
    return text.strip()


def column_text(name: str, column: pa.Array, spec: FieldSpec | None) -> tuple[pa.Array, CellProblem | None]:
    """One column as pyarrow typed it, as text cells ("" when empty); nested values are problems."""
    kind = column.type
    if spec is not None and spec.type is FieldType.STRING_LIST and pa.types.is_list(kind):
        if not pa.types.is_string(kind.value_type):
            return _empty(column), CellProblem(name, column.is_valid(), _LIST_ITEMS_MESSAGE)
        # Null items: the model takes a list of strings only.
        items_null = pc.is_null(column.flatten())
        if pc.any(items_null).as_py():
            parents = pc.list_parent_indices(column).filter(items_null)
            mask = pc.is_in(_positions(len(column)), value_set=parents.cast(pa.int64()))
            return pc.if_else(mask, pa.scalar(None, kind), column), CellProblem(
                name, mask, _LIST_ITEMS_MESSAGE
            )
        return column, None
    if pa.types.is_string(kind):
        return column.fill_null(""), None
    if pa.types.is_floating(kind) and spec is None:
        # An unknown key's type is inferred from its text: keep 2.0 a number, as it was written.
        text = column.cast(pa.string())
        whole = pc.fill_null(pc.match_substring_regex(text, r"^-?[0-9]+$"), False)
        return pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text).fill_null(""), None
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return column.cast(pa.string()).fill_null(""), None
    if pa.types.is_null(kind):
        return _empty(column), None
    nested = "object" if pa.types.is_struct(kind) else "array" if pa.types.is_list(kind) else str(kind)
    return _empty(column), CellProblem(name, column.is_valid(), _nested_message(nested))


def _positions(length: int) -> pa.Array:
    return pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), length)), 1)


def _empty(column: pa.Array) -> pa.Array:
    return pa.nulls(len(column), pa.string()).fill_null("")


def python_column(name: str, cells: list[Any], spec: FieldSpec | None) -> tuple[pa.Array, CellProblem | None]:
    """One column of Python-parsed cells as text (or lists, for a list field given JSON arrays)."""
    is_list_field = spec is not None and spec.type is FieldType.STRING_LIST
    as_lists = is_list_field and any(isinstance(cell, list) for cell in cells)
    values: list[Any] = []
    bad: list[bool] = []
    shown: list[str | None] = []
    messages: set[str] = set()
    for cell in cells:
        value, message = _python_cell(cell, spec.list_separator if as_lists and spec else None)
        values.append(value if message is None else ("" if not as_lists else None))
        bad.append(message is not None)
        shown.append(shown_text(json.dumps(cell, ensure_ascii=False)) if message is not None else None)
        if message is not None:
            messages.add(message)
    array_type = pa.list_(pa.string()) if as_lists else pa.string()
    column = pa.array(values, array_type)
    if not messages:
        return column, None
    message = messages.pop() if len(messages) == 1 else _nested_message("object or array")
    return column, CellProblem(name, pa.array(bad, pa.bool_()), message, pa.array(shown, pa.string()))


def _python_cell(cell: Any, list_separator: str | None) -> tuple[Any, str | None]:
    """A cell as text, or as a list of text when the column is read as lists; or why not."""
    if list_separator is not None:
        if cell is None:
            return None, None
        if isinstance(cell, list):
            if all(isinstance(item, str) for item in cell):
                return cell, None
            if all(isinstance(item, str | bool) for item in cell):
                return [_scalar_text(item) for item in cell], None
            return None, _LIST_ITEMS_MESSAGE
        if isinstance(cell, dict):
            return None, _nested_message("object")
        # Text in a column other rows give as arrays: split as the model splits it.
        return [item.strip() for item in _scalar_text(cell).split(list_separator) if item.strip()], None
    if cell is None:
        return "", None
    if isinstance(cell, dict):
        return "", _nested_message("object")
    if isinstance(cell, list):
        return "", _nested_message("array")
    return _scalar_text(cell), None


def _scalar_text(cell: str | bool) -> str:
    if cell is True:
        return "true"
    if cell is False:
        return "false"
    return cell
