"""Declared and inferred data types against moto: upserts, appends, added columns, inferred schemas."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.types import BooleanType, DateType, DoubleType, LongType, StringType, TimestamptzType

from ingestion.dataplane import (
    get_catalog,
    infer_data_type,
    ingest_upload,
    read_row_count,
    read_table_spec,
    table_identifier,
)
from ingestion.domain import FileFormat, IngestOptions, UploadOutcome, UploadStatus
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType, spec_from_declaration
from ingestion.settings import Settings

COLLECTION = "c0ffee"
LEADS = spec_from_declaration(
    "leads",
    [
        ("email", FieldType.STRING, True),
        ("score", FieldType.INTEGER, False),
        ("updated", FieldType.DATETIME, True),
    ],
    key="email",
    version_field="updated",
)
VISITS = spec_from_declaration(
    "visits",
    [("page", FieldType.STRING, True), ("seconds", FieldType.NUMBER, False), ("day", FieldType.DATE, False)],
    key=None,
    version_field=None,
)
EVENTS = DataTypeSpec(name="events", fields=(), infer_schema=True)


def ingest(
    settings: Settings,
    data_type: DataTypeSpec,
    text: str | bytes,
    request_id: str,
    separator: str = ",",
    **options: object,
) -> UploadOutcome:
    data = text.encode() if isinstance(text, str) else text
    return ingest_upload(
        open_source=lambda: io.BytesIO(data),
        data_type=data_type,
        separator=separator,
        collection_id=COLLECTION,
        request_id=request_id,
        options=IngestOptions(**options),
        settings=settings,
    )


def scan(settings: Settings, data_type: str) -> list[dict[str, object]]:
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, data_type))
    return table.scan().to_arrow().to_pylist()


def column_types(settings: Settings, data_type: str) -> dict[str, object]:
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, data_type))
    return {field.name: field.field_type for field in table.schema().fields}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_declared_type_with_a_key_upserts_and_the_newer_version_wins(settings):
    ingest(settings, LEADS, "email,score,updated\na@x.io,1,2024-01-01\nb@x.io,2,2024-01-01\n", "r1")

    outcome = ingest(
        settings, LEADS, "email,score,updated\na@x.io,10,2024-02-01\nb@x.io,20,2023-12-01\n", "r2"
    )

    assert (outcome.rows_inserted, outcome.rows_updated, outcome.row_count) == (0, 1, 2)
    assert sorted((row["email"], row["score"]) for row in scan(settings, "leads")) == [
        ("a@x.io", 10),
        ("b@x.io", 2),
    ]


def test_declared_type_without_a_key_appends_every_row(settings):
    visits = "page,seconds,day\n/home,1.5,2024-06-01\n/home,1.5,2024-06-01\n"
    ingest(settings, VISITS, visits, "r1")

    outcome = ingest(settings, VISITS, visits, "r2")

    assert (outcome.rows_inserted, outcome.rows_updated, outcome.row_count) == (2, 0, 4)
    assert outcome.warnings == []
    assert scan(settings, "visits") == [{"page": "/home", "seconds": 1.5, "day": date(2024, 6, 1)}] * 4


def test_keyless_append_of_the_same_request_twice_appends_once(settings):
    ingest(settings, VISITS, "page\n/a\n", "r1")

    again = ingest(settings, VISITS, "page\n/a\n", "r1")

    assert "already been merged" in again.warnings[0]
    assert read_row_count(COLLECTION, "visits", settings=settings) == 1


def test_table_records_the_key_and_version_field_of_a_declared_type(settings):
    ingest(settings, LEADS, "email,updated\na@x.io,2024-01-01\n", "r1")

    spec = read_table_spec(COLLECTION, "leads", settings=settings)

    assert spec == LEADS


def test_read_table_spec_is_none_without_a_table(settings):
    assert read_table_spec(COLLECTION, "leads", settings=settings) is None


def test_unknown_columns_of_a_declared_type_refuse_the_file_naming_them(settings):
    outcome = ingest(settings, LEADS, "email,updated,city,plan\na@x.io,2024-01-01,Oslo,pro\n", "r1")

    assert outcome.status is UploadStatus.ERROR
    assert outcome.message.startswith(
        "columns city, plan are not in the schema of data type 'leads'; "
        "send allowFieldAddition=true to add them"
    )
    assert [(issue.line, issue.column) for issue in outcome.validation_errors] == [(1, "city"), (1, "plan")]
    with pytest.raises(NoSuchTableError):
        get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "leads"))


def test_unknown_json_keys_of_a_declared_type_refuse_the_file(settings):
    rows = [
        {"email": "a@x.io", "updated": "2024-01-01"},
        {"email": "b@x.io", "updated": "2024-01-01", "city": 1},
    ]

    outcome = ingest(settings, LEADS, json.dumps(rows), "r1")

    assert outcome.status is UploadStatus.ERROR
    assert outcome.message.startswith("column city is not in the schema of data type 'leads'")


def test_allowed_field_addition_adds_typed_nullable_columns_in_the_same_commit(settings):
    ingest(settings, LEADS, "email,updated\na@x.io,2024-01-01\n", "r1")
    before = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "leads")).metadata

    outcome = ingest(
        settings,
        LEADS,
        "email,updated,visits,vip,city\nb@x.io,2024-01-02,3,true,Oslo\nc@x.io,2024-01-02,,false,\n",
        "r2",
        allow_field_addition=True,
    )

    assert outcome.status is UploadStatus.COMPLETED
    assert outcome.added_fields == ["visits", "vip", "city"]
    assert outcome.warnings == [
        "allowFieldAddition: the columns visits (integer), vip (boolean), city (string) "
        "were added to data type 'leads'"
    ]
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "leads"))
    assert len(table.metadata.metadata_log) == len(before.metadata_log) + 1  # one commit: schema and rows
    assert table.current_snapshot().schema_id == table.schema().schema_id != before.current_schema_id
    assert {name: column_types(settings, "leads")[name] for name in outcome.added_fields} == {
        "visits": LongType(),
        "vip": BooleanType(),
        "city": StringType(),
    }
    assert not any(field.required for field in table.schema().fields[3:])
    rows = {row["email"]: row for row in scan(settings, "leads")}
    assert (rows["a@x.io"]["visits"], rows["b@x.io"]["visits"], rows["c@x.io"]["vip"]) == (None, 3, False)


def test_added_column_is_null_in_stored_rows_rewritten_by_the_same_merge(settings):
    ingest(settings, LEADS, "email,updated\na@x.io,2024-01-01\nb@x.io,2024-01-01\n", "r1")

    outcome = ingest(
        settings, LEADS, "email,updated,city\nb@x.io,2024-01-02,Oslo\n", "r2", allow_field_addition=True
    )

    assert (outcome.rows_inserted, outcome.rows_updated, outcome.row_count) == (0, 1, 2)
    rows = {row["email"]: row for row in scan(settings, "leads")}
    assert (rows["a@x.io"]["city"], rows["b@x.io"]["city"]) == (None, "Oslo")


def test_added_columns_are_part_of_the_data_type_for_later_uploads(settings):
    ingest(settings, LEADS, "email,updated,visits\na@x.io,2024-01-01,3\n", "r1", allow_field_addition=True)

    outcome = ingest(settings, LEADS, "email,updated,visits\nb@x.io,2024-01-01,many\n", "r2")

    assert outcome.status is UploadStatus.ERROR
    assert [(issue.line, issue.column, issue.value) for issue in outcome.validation_errors] == [
        (2, "visits", "many")
    ]
    assert read_table_spec(COLLECTION, "leads", settings=settings).field("visits") == FieldSpec(
        name="visits", type=FieldType.INTEGER
    )


def test_inferred_schema_is_defined_by_the_first_append(settings):
    outcome = ingest(
        settings,
        EVENTS,
        "id,count,ratio,ok,at,day,note\n"
        "1,10,0.5,true,2024-06-18T12:30:45Z,2024-06-18,hello\n"
        "2,-3,2,FALSE,2024-06-18 12:30,2024-06-19,007\n",
        "r1",
    )

    assert outcome.status is UploadStatus.COMPLETED
    assert outcome.added_fields == ["id", "count", "ratio", "ok", "at", "day", "note"]
    # The caller sent no allowFieldAddition: the warning does not name it.
    [warning] = outcome.warnings
    assert warning.startswith(
        "data type 'events' infers its schema: this file defined its fields id (integer)"
    )
    assert "allowFieldAddition" not in warning
    assert column_types(settings, "events") == {
        "id": LongType(),
        "count": LongType(),
        "ratio": DoubleType(),
        "ok": BooleanType(),
        "at": TimestamptzType(),
        "day": DateType(),
        "note": StringType(),
    }
    spec = read_table_spec(COLLECTION, "events", settings=settings)
    assert (spec.key, spec.version_field, spec.infer_schema) == (None, None, False)
    assert not any(field.required for field in spec.fields)
    assert scan(settings, "events")[1]["at"] == at("2024-06-18T12:30:00")


def test_later_append_to_an_inferred_schema_with_a_wrong_type_is_refused(settings):
    ingest(settings, EVENTS, "id,count\n1,10\n", "r1")

    outcome = ingest(settings, EVENTS, "id,count\n2,ten\n", "r2")

    assert outcome.status is UploadStatus.ERROR
    assert [(issue.line, issue.column, issue.message) for issue in outcome.validation_errors] == [
        (2, "count", "'ten' is not a whole number")
    ]
    assert read_row_count(COLLECTION, "events", settings=settings) == 1


def test_later_append_to_an_inferred_schema_appends(settings):
    ingest(settings, EVENTS, '[{"id": 1, "name": "a"}]', "r1")

    outcome = ingest(settings, EVENTS, '[{"id": 2, "name": "b"}, {"id": 3}]', "r2")

    assert (outcome.rows_inserted, outcome.row_count, outcome.added_fields) == (2, 3, [])


def test_infer_data_type_reads_the_types_without_writing_anything(settings):
    data = b'{"sku": "A1", "price": 9.5, "stock": 3}\n{"sku": "B2", "price": 10, "stock": null}\n'

    spec = infer_data_type(
        lambda: io.BytesIO(data), "products", ",", IngestOptions(file_format=FileFormat.NDJSON)
    )

    assert [(field.name, field.type, field.required) for field in spec.fields] == [
        ("sku", FieldType.STRING, False),
        ("price", FieldType.NUMBER, False),
        ("stock", FieldType.INTEGER, False),
    ]
    assert spec.key is None


def test_bad_rows_within_max_bad_records_are_left_out_and_the_rest_merged(settings):
    text = "email,score,updated\na@x.io,1,2024-01-01\nb@x.io,lots,2024-01-01\nc@x.io,3,\n"

    outcome = ingest(settings, LEADS, text, "r1", max_bad_records=2)

    assert outcome.status is UploadStatus.COMPLETED
    assert (outcome.rows_inserted, outcome.rows_rejected, outcome.validation_error_count) == (1, 2, 2)
    assert outcome.message.startswith("2 rows were rejected")
    assert [(issue.line, issue.column) for issue in outcome.validation_errors] == [
        (3, "score"),
        (4, "updated"),
    ]
    assert [row["email"] for row in scan(settings, "leads")] == ["a@x.io"]


def test_bad_rows_over_max_bad_records_merge_nothing(settings):
    text = "email,score,updated\na@x.io,1,2024-01-01\nb@x.io,lots,2024-01-01\nc@x.io,3,\n"

    outcome = ingest(settings, LEADS, text, "r1", max_bad_records=1)

    assert outcome.status is UploadStatus.ERROR
    assert outcome.rows_rejected == 2
    assert "more than maxBadRecords=1 allows; nothing was merged" in outcome.message
    with pytest.raises(NoSuchTableError):
        get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "leads"))


def test_file_whose_every_row_is_tolerated_as_bad_merges_nothing_and_completes(settings):
    outcome = ingest(settings, LEADS, "email,score,updated\na@x.io,x,2024-01-01\n", "r1", max_bad_records=5)

    assert (outcome.status, outcome.rows_inserted, outcome.rows_rejected) == (UploadStatus.COMPLETED, 0, 1)
    assert outcome.row_count is None
    assert "no row was merged" in outcome.warnings[-1]


@pytest.mark.parametrize(
    ("data", "file_name"),
    [
        (b'[{"email": "a@x.io", "score": 1, "updated": "2024-01-01"}]', "leads.json"),
        (b'{"rows": [{"email": "a@x.io", "score": 1, "updated": "2024-01-01"}]}', "leads.json"),
        (b'{"email": "a@x.io", "score": 1, "updated": "2024-01-01"}\n', "leads.ndjson"),
    ],
)
def test_json_formats_merge_like_csv(settings, data, file_name):
    outcome = ingest(settings, LEADS, data, "r1", file_name=file_name)

    assert outcome.status is UploadStatus.COMPLETED, outcome.message
    assert scan(settings, "leads") == [{"email": "a@x.io", "score": 1, "updated": at("2024-01-01T00:00:00")}]


def test_gzipped_json_upload_is_merged(settings):
    import gzip

    data = gzip.compress(b'[{"page": "/a", "seconds": 2}]')

    outcome = ingest(settings, VISITS, data, "r1", file_name="visits.json.gz")

    assert (outcome.status, outcome.rows_inserted) == (UploadStatus.COMPLETED, 1)


def test_rows_in_the_table_keep_the_column_order_of_the_table(settings):
    ingest(settings, VISITS, "page,seconds\n/a,1\n", "r1")

    ingest(settings, VISITS, "seconds,page\n2,/b\n", "r2")

    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "visits"))
    assert table.scan().to_arrow().column_names == ["page", "seconds", "day"]
    assert pa.Table.from_pylist(scan(settings, "visits")).num_rows == 2


def test_inferred_columns_may_have_any_name(settings):
    outcome = ingest(settings, EVENTS, '"First Name",a.b,Größe,"x,y"\nAnn,1,2.5,z\n', "r1")

    assert outcome.status is UploadStatus.COMPLETED, outcome.message
    assert scan(settings, "events") == [{"First Name": "Ann", "a.b": 1, "Größe": 2.5, "x,y": "z"}]


def test_added_column_names_with_dots_are_not_nested_paths(settings):
    ingest(settings, VISITS, "page\n/a\n", "r1")

    outcome = ingest(settings, VISITS, "page,utm.source\n/b,mail\n", "r2", allow_field_addition=True)

    assert outcome.added_fields == ["utm.source"]
    assert "utm.source" in column_types(settings, "visits")


def test_key_repeated_in_one_file_keeps_the_newest_version_with_a_warning(settings):
    rows = [
        {"email": "a@x.io", "score": 1, "updated": "2024-03-01"},
        {"email": "a@x.io", "score": 2, "updated": "2024-01-01"},
        {"email": "b@x.io", "score": 3, "updated": "2024-01-01"},
    ]

    outcome = ingest(settings, LEADS, "".join(json.dumps(row) + "\n" for row in rows), "r1")

    assert (outcome.rows_inserted, outcome.row_count) == (2, 2)
    assert outcome.warnings[0].startswith("1 rows repeat a email found elsewhere in the file (e.g. 'a@x.io')")
    assert sorted((row["email"], row["score"]) for row in scan(settings, "leads")) == [
        ("a@x.io", 1),
        ("b@x.io", 3),
    ]
