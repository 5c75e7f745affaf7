"""Reading a data type's rows back, a page at a time, as JSON objects with typed values.

**Order and pages.** A data type with a key is read in the order of its key, and a page starts
after the last key of the page before (``nextToken`` holds it): no row is read twice or missed
however many pages there are, and a row merged meanwhile is found where its key falls. A page
costs two reads: the key column of the rows after that key, to pick the next ``limit`` keys,
then the rows of that key range only (the data files are sorted on the key, so the others are
skipped on their statistics). A data type without a key has no order of its own: it is read in
the order of its data files, pinned to the snapshot the first page read (the token holds the
snapshot and how many rows were given), so an append meanwhile does not shift the pages.

**Values** are the table's: numbers as numbers, booleans, date-times (UTC) and dates, lists of
text, None for an empty cell; :func:`json_value` gives the JSON form of each.

**Size.** A page is cut short of ``limit`` rows before its JSON passes
:data:`MAX_PAGE_BYTES`, under Lambda's 6 MB response limit; its ``nextToken`` goes on from there.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.exceptions import ValidationError as IcebergValidationError
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThan,
    GreaterThanOrEqual,
    LessThanOrEqual,
)
from pyiceberg.table import Table

from ingestion.domain import RowPage
from ingestion.errors import InvalidInput
from ingestion.schemas.spec import DataTypeSpec, FieldType

# JSON of one page at most (Lambda answers at most 6 MB, the body escaped once more in it).
MAX_PAGE_BYTES = 4 * 1024 * 1024
_UNKNOWN_PAGE = "nextToken is not one this listing gave; omit it to start from the first row"


def read_rows(
    table: Table | None,
    data_type: DataTypeSpec,
    *,
    limit: int,
    next_token: str | None = None,
    key: str | None = None,
) -> RowPage:
    """A page of at most ``limit`` rows of ``table``: after ``next_token``, or the one row whose
    key is ``key`` (no row: an empty page)."""
    if key is not None:
        if data_type.key is None:
            raise InvalidInput(
                "id", f"data type '{data_type.name}' has no key, so no row can be looked up by id"
            )
        looked_up = _parse_key(data_type, key, "id", f"id must be {_key_words(data_type)}")
        if table is None or table.current_snapshot() is None:
            return RowPage(rows=[])
        found = table.scan(row_filter=EqualTo(data_type.key, looked_up)).to_arrow()
        return RowPage(rows=found.to_pylist()[:1])
    if data_type.key is not None:
        return _page_by_key(table, data_type, data_type.key, limit, next_token)
    return _page_by_position(table, limit, next_token)


def json_value(value: Any) -> Any:
    """A cell as JSON has it: date-times in ISO 8601 (``Z`` for UTC), dates ISO, the rest as is."""
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    return value


def _page_by_key(
    table: Table | None, data_type: DataTypeSpec, key: str, limit: int, next_token: str | None
) -> RowPage:
    after = None
    if next_token is not None:
        after = _parse_key(data_type, _token_part(next_token, "after"), "nextToken", _UNKNOWN_PAGE)
    snapshot = table.current_snapshot() if table is not None else None
    if table is None or snapshot is None:
        return RowPage(rows=[])
    remaining: BooleanExpression = AlwaysTrue() if after is None else GreaterThan(key, after)
    keys = (
        table.scan(row_filter=remaining, selected_fields=(key,), snapshot_id=snapshot.snapshot_id)
        .to_arrow()
        .column(key)
    )
    if len(keys) == 0:
        return RowPage(rows=[])
    chosen = keys.take(pc.select_k_unstable(pa.table({key: keys}), k=limit, sort_keys=[(key, "ascending")]))
    first, last = pc.min(chosen).as_py(), pc.max(chosen).as_py()
    in_range = And(GreaterThanOrEqual(key, first), LessThanOrEqual(key, last))
    rows = table.scan(row_filter=in_range, snapshot_id=snapshot.snapshot_id).to_arrow()
    rows = rows.sort_by([(key, "ascending")]).to_pylist()
    page, cut = _within_budget(rows)
    more = cut or len(keys) > limit
    token = _token({"after": json_value(page[-1][key])}) if more and page else None
    return RowPage(rows=page, next_token=token)


def _page_by_position(table: Table | None, limit: int, next_token: str | None) -> RowPage:
    snapshot_id, offset = None, 0
    if next_token is not None:
        snapshot_id, offset = _token_part(next_token, "snapshot"), _token_part(next_token, "offset")
        if not isinstance(snapshot_id, int) or not isinstance(offset, int) or offset < 0:
            raise InvalidInput("nextToken", _UNKNOWN_PAGE)
    current = table.current_snapshot() if table is not None else None
    if table is None or current is None:
        return RowPage(rows=[])
    snapshot_id = current.snapshot_id if snapshot_id is None else snapshot_id
    if table.snapshot_by_id(snapshot_id) is None:
        raise InvalidInput(
            "nextToken",
            "the rows this nextToken went on from were replaced since (a data type without a key is read "
            "as it stood on the first page); start again from the first page",
        )
    try:
        reader = table.scan(snapshot_id=snapshot_id).to_arrow_batch_reader()
    except IcebergValidationError:
        raise InvalidInput("nextToken", _UNKNOWN_PAGE) from None
    rows: list[dict[str, Any]] = []
    position = 0  # rows of the snapshot gone by
    for batch in reader:
        end = position + batch.num_rows
        if end > offset:
            rows.extend(batch.slice(max(0, offset - position), limit + 1 - len(rows)).to_pylist())
        position = end
        if len(rows) > limit:
            break
    page, cut = _within_budget(rows[:limit])
    more = cut or len(rows) > limit
    token = _token({"snapshot": snapshot_id, "offset": offset + len(page)}) if more and page else None
    return RowPage(rows=page, next_token=token)


def _within_budget(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """The first rows whose JSON fits :data:`MAX_PAGE_BYTES` (one at least), and whether any was left."""
    size = 0
    for index, row in enumerate(rows):
        size += len(json.dumps(row, default=json_value)) + 1
        if size > MAX_PAGE_BYTES and index > 0:
            return rows[:index], True
    return rows, False


def _parse_key(data_type: DataTypeSpec, value: Any, field: str, message: str) -> Any:
    """A key value given as text (``id=``) or as JSON (a page token), as the key column holds it."""
    key_type = data_type.field(data_type.key).type if data_type.key else FieldType.STRING
    try:
        if key_type is FieldType.INTEGER:
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ValueError
            return int(value)
        if key_type is FieldType.NUMBER:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ValueError
            return float(value)
        if not isinstance(value, str):
            raise ValueError
        if key_type is FieldType.DATETIME:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        if key_type is FieldType.DATE:
            return date.fromisoformat(value)
        return value
    except ValueError:
        raise InvalidInput(field, message) from None


def _key_words(data_type: DataTypeSpec) -> str:
    key_type = data_type.field(data_type.key).type if data_type.key else FieldType.STRING
    kind = {
        FieldType.INTEGER: "a whole number",
        FieldType.NUMBER: "a number",
        FieldType.DATETIME: "an ISO 8601 date-time",
        FieldType.DATE: "an ISO 8601 date",
    }.get(key_type, "text")
    return f"{kind}: the {data_type.key} of the row"


def _token(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def _token_part(token: str, name: str) -> Any:
    try:
        position = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError):
        position = None
    if not isinstance(position, dict) or name not in position:
        raise InvalidInput("nextToken", _UNKNOWN_PAGE)
    return position[name]
