"""Property: any valid table survives CSV, JSON and NDJSON into a fresh collection unchanged.

Hypothesis draws a declared data type (names, types, required flags, maybe a key) and rows
valid for it, or valid ``deals``; each is written as a file, ingested into a new table on
moto, scanned back and compared, value for value, with what was drawn.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.dataplane import get_catalog, ingest_upload, table_identifier
from ingestion.domain import FileFormat, IngestOptions, UploadStatus
from ingestion.schemas.deals import CLOSED_STATUSES, DEALS
from ingestion.schemas.spec import DECLARABLE_TYPES, DataTypeSpec, FieldType, spec_from_declaration
from ingestion.settings import Settings

FORMATS = [FileFormat.CSV, FileFormat.JSON, FileFormat.NDJSON]
ROUND_TRIPS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=16)
MOMENTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)
VALUES: dict[FieldType, st.SearchStrategy[Any]] = {
    FieldType.STRING: TEXT,
    FieldType.INTEGER: st.integers(-(2**63), 2**63 - 1),
    FieldType.NUMBER: st.floats(allow_nan=False, allow_infinity=False),
    FieldType.BOOLEAN: st.booleans(),
    FieldType.DATETIME: MOMENTS,
    FieldType.DATE: st.dates(),
}


@st.composite
def declared_tables(draw: st.DrawFn) -> tuple[DataTypeSpec, list[dict[str, Any]]]:
    fields = draw(
        st.lists(
            st.tuples(
                st.from_regex(r"\A[a-z][a-zA-Z0-9_]{0,10}\Z"),
                st.sampled_from(DECLARABLE_TYPES),
                st.booleans(),
            ),
            min_size=2,
            max_size=6,
            unique_by=lambda field: field[0],
        )
    )
    keys = [name for name, kind, _ in fields if kind in (FieldType.STRING, FieldType.INTEGER)]
    key = draw(st.one_of(st.none(), st.sampled_from(keys))) if keys else None
    data_type = spec_from_declaration("things", fields, key=key, version_field=None)
    row = st.fixed_dictionaries(
        {
            spec.name: VALUES[spec.type] if spec.required else st.one_of(st.none(), VALUES[spec.type])
            for spec in data_type.fields
        }
    )
    rows = draw(st.lists(row, min_size=1, max_size=12, unique_by=(lambda r: r[key]) if key else None))
    return data_type, rows


TECHNOLOGIES = st.lists(
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters=";"), min_size=1, max_size=8)
    .map(str.strip)
    .filter(bool),
    min_size=1,
    max_size=4,
)
AMOUNTS = st.floats(min_value=0, allow_infinity=False)
COUNTS = st.integers(0, 2**63 - 1)


@st.composite
def deals_tables(draw: st.DrawFn) -> tuple[DataTypeSpec, list[dict[str, Any]]]:
    optional = {
        FieldType.STRING: TEXT,
        FieldType.DATETIME: MOMENTS,
        FieldType.BOOLEAN: st.booleans(),
        FieldType.STRING_LIST: TECHNOLOGIES,
    }
    rows = []
    for deal_id in draw(st.lists(TEXT, min_size=1, max_size=8, unique=True)):
        row: dict[str, Any] = {}
        for spec in DEALS.fields:
            if spec.type is FieldType.INTEGER:
                values = COUNTS
            elif spec.type is FieldType.NUMBER:
                values = AMOUNTS
            else:
                values = optional[spec.type]
            row[spec.name] = draw(values if spec.required else st.one_of(st.none(), values))
        status = draw(st.sampled_from(["open", "closed_won", "closed_lost"]))
        row.update(id=deal_id, status=status)
        row["closedDatetime"] = draw(MOMENTS) if status in CLOSED_STATUSES else None
        rows.append(row)
    return DEALS, rows


def cell_text(value: Any) -> str:
    """A value as a CSV cell: ISO 8601 for time, repr for floats (exact), true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def write(file_format: FileFormat, data_type: DataTypeSpec, rows: list[dict[str, Any]]) -> bytes:
    if file_format is FileFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(data_type.field_names)
        writer.writerows([cell_text(row[name]) for name in data_type.field_names] for row in rows)
        return buffer.getvalue().encode()
    if file_format is FileFormat.JSON:
        # Nulls written out, as an array or as the datasets API's body.
        objects = [{name: json_value(value) for name, value in row.items()} for row in rows]
        return json.dumps({"rows": objects} if data_type.built_in else objects, ensure_ascii=False).encode()
    # Nulls left out: a missing key is an empty cell.
    objects = [{name: json_value(value) for name, value in row.items() if value is not None} for row in rows]
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in objects).encode()


def round_trip(
    settings: Settings, file_format: FileFormat, data_type: DataTypeSpec, rows: list[dict[str, Any]]
):
    collection = uuid.uuid4().hex[:16]
    data = write(file_format, data_type, rows)

    outcome = ingest_upload(
        open_source=lambda: io.BytesIO(data),
        data_type=data_type,
        separator=",",
        collection_id=collection,
        request_id="r1",
        options=IngestOptions(file_format=file_format),
        settings=settings,
    )

    assert outcome.status is UploadStatus.COMPLETED, (outcome.message, outcome.validation_errors[:3])
    assert outcome.rows_inserted == len(rows)
    table = get_catalog(settings).load_table(table_identifier(settings, collection, data_type.name))
    return table.scan().to_arrow().to_pylist()


def ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: repr(sorted(row.items())))


@pytest.mark.parametrize("file_format", FORMATS)
@ROUND_TRIPS
@given(table=declared_tables())
def test_declared_table_survives_the_round_trip(settings, file_format, table):
    data_type, rows = table

    stored = round_trip(settings, file_format, data_type, rows)

    assert ordered(stored) == ordered(rows)


@pytest.mark.parametrize("file_format", FORMATS)
@ROUND_TRIPS
@given(table=deals_tables())
def test_deals_table_survives_the_round_trip(settings, file_format, table):
    data_type, rows = table

    stored = round_trip(settings, file_format, data_type, rows)

    assert ordered(stored) == ordered(rows)
