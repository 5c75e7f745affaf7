"""Inferring a column's type from its values, for inferred schemas and added columns.

A column is the narrowest type all its non-empty cells are written as: ``integer`` (``-12``;
no sign ``+``, no leading zeros, so codes like ``00123`` stay text), else ``number`` (JSON's
number syntax: ``1.5``, ``-0.25e3``), else ``boolean`` (``true``/``false`` in any case),
else ``date`` (``2024-06-18``), else ``datetime`` (ISO 8601 as the column checks read it:
``2024-06-18T12:30:45``, ``...Z``, ``...+02:00``; a column mixing dates and date-times is
``datetime``), else ``string``. A column without any value is ``string``. Every inferred
column is nullable.

These rules are stricter than what the column checks accept for a declared type (``+3``,
``yes``), so that a value is only taken as typed when it clearly is; every inferred type
accepts all of its column's cells on the checks' vectorised fast path, with the same value.

Inference is streamed: each batch only narrows the types still possible for each column.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.dataplane.column_checks import check_column
from ingestion.schemas.spec import FieldSpec, FieldType

# Checked in this order; the first type all values have wins.
INFERRED_TYPES = (FieldType.INTEGER, FieldType.NUMBER, FieldType.BOOLEAN, FieldType.DATE, FieldType.DATETIME)
_WRITTEN_AS: dict[FieldType, str] = {
    FieldType.INTEGER: r"^-?(0|[1-9][0-9]{0,17})$",
    FieldType.NUMBER: r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$",
    FieldType.BOOLEAN: r"^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$",
    FieldType.DATE: r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    FieldType.DATETIME: r"^[0-9]{4}-[0-9]{2}-[0-9]{2}",
}


class ColumnTypes:
    """The types each column's values seen so far all have; narrowed batch by batch."""

    def __init__(self) -> None:
        self._possible: dict[str, set[FieldType]] = {}
        self._has_values: dict[str, bool] = {}

    def observe(self, name: str, cells: pa.Array) -> None:
        """Narrow ``name``'s possible types by a batch of its text cells ("" is empty)."""
        possible = self._possible.setdefault(name, set(INFERRED_TYPES))
        self._has_values.setdefault(name, False)
        if not pa.types.is_string(cells.type):
            possible.clear()
            return
        present = cells.filter(pc.not_equal(cells, ""))
        if len(present) == 0:
            return
        self._has_values[name] = True
        for kind in [kind for kind in INFERRED_TYPES if kind in possible]:
            if not _all_written_as(kind, present):
                possible.discard(kind)

    def field(self, name: str) -> FieldSpec:
        """The inferred (nullable) field of a column observed at least once."""
        possible = self._possible.get(name, set())
        kind = next((kind for kind in INFERRED_TYPES if kind in possible), FieldType.STRING)
        return FieldSpec(name=name, type=kind if self._has_values.get(name) else FieldType.STRING)


def infer_field(name: str, cells: pa.Array) -> FieldSpec:
    """The inferred field of one whole column of text cells."""
    types = ColumnTypes()
    types.observe(name, cells)
    return types.field(name)


def _all_written_as(kind: FieldType, present: pa.Array) -> bool:
    if not pc.all(pc.match_substring_regex(present, _WRITTEN_AS[kind])).as_py():
        return False
    return _ACCEPTS[kind](present)


def _accepted_by_checks(kind: FieldType) -> Callable[[pa.Array], bool]:
    """Whether the column checks, without their per-cell fallback, accept every value as ``kind``."""
    spec = FieldSpec(name="inferred", type=kind)

    def accepts(present: pa.Array) -> bool:
        checked = check_column(spec, present, parse_cell=_refuse)
        return not pc.any(checked.invalid).as_py()

    return accepts


def _refuse(cell: str) -> None:
    """A cell parser accepting nothing: inference only takes what the fast path takes."""
    return None


_ACCEPTS: dict[FieldType, Callable[[pa.Array], bool]] = {
    kind: _accepted_by_checks(kind) for kind in INFERRED_TYPES
}
