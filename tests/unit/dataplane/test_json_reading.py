"""JSON uploads: arrays, the datasets API's {"rows": [...]}, NDJSON; cells, nested values and places."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from ingestion.dataplane.json_reader import MAX_DOCUMENT_BYTES, JsonDocumentRecords
from ingestion.dataplane.ndjson_reader import NdjsonRecords
from ingestion.dataplane.records import ReadAgain
from ingestion.dataplane.validation import validate_file
from ingestion.domain import FileFormat, IngestOptions
from ingestion.schemas.deals import DEALS
from ingestion.schemas.spec import FieldType, spec_from_declaration

ITEMS = spec_from_declaration(
    "items",
    [
        ("sku", FieldType.STRING, True),
        ("count", FieldType.INTEGER, False),
        ("price", FieldType.NUMBER, False),
        ("active", FieldType.BOOLEAN, False),
        ("seen", FieldType.DATETIME, False),
    ],
    key="sku",
    version_field=None,
)


def validate(data: bytes | str, data_type=DEALS, **options: object):
    raw = data.encode() if isinstance(data, str) else data
    return validate_file(
        lambda: io.BytesIO(raw), data_type, ",", max_errors=100, options=IngestOptions(**options)
    )


def deals_json(rows: list[dict[str, str]]) -> list[dict[str, object]]:
    """The sample rows as a JSON client sends them: typed scalars, null for empty, a list of strings."""
    typed: list[dict[str, object]] = []
    for row in rows:
        item: dict[str, object] = {key: value or None for key, value in row.items()}
        item["value"] = float(row["value"])
        item["numberOfMeetings"] = int(row["numberOfMeetings"]) if row["numberOfMeetings"] else None
        item["companyIsCustomer"] = {"true": True, "false": False}.get(row["companyIsCustomer"])
        item["companyTechnologies"] = (
            row["companyTechnologies"].split(";") if row["companyTechnologies"] else None
        )
        typed.append(item)
    return typed


def ndjson(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def places(result) -> list[tuple[int | None, int | None, str | None]]:
    return [(issue.line, issue.row, issue.column) for issue in result.issues]


def test_json_array_of_objects_is_read_like_the_csv(rows, write_csv):
    from_csv = validate(write_csv(rows)).table

    result = validate(json.dumps(deals_json(rows)))

    assert result.file_format is FileFormat.JSON
    assert result.accepts(), result.message
    assert result.table.equals(from_csv)


def test_datasets_api_rows_body_is_read(rows):
    body = {"id": "dataset-1", "rows": deals_json(rows)}

    result = validate(json.dumps(body))

    assert result.accepts(), result.message
    assert result.table.column("id").to_pylist() == ["1", "2", "3", "4", "5"]


def test_datasets_api_rows_given_as_a_json_string_are_read(rows):
    result = validate(json.dumps({"rows": json.dumps(deals_json(rows))}))

    assert result.accepts(), result.message
    assert result.table.num_rows == 5


def test_ndjson_is_read_like_the_csv(rows, write_csv):
    from_csv = validate(write_csv(rows)).table

    result = validate(ndjson(deals_json(rows)))

    assert result.file_format is FileFormat.NDJSON
    assert result.accepts(), result.message
    assert result.table.equals(from_csv)


def test_ndjson_is_streamed_in_blocks():
    data = ndjson([{"sku": f"s{i}", "count": i} for i in range(5000)]).encode()

    reader = NdjsonRecords(lambda: io.BytesIO(data), ITEMS.fields, block_size=16 << 10)
    batches = list(reader.batches())

    assert len(batches) > 5
    assert sum(batch.columns.num_rows for batch in batches) == 5000


def test_numbers_keep_their_json_text_and_booleans_read_as_true_false():
    data = '[{"sku": 12345678901234567, "count": 7, "price": 0.1, "active": false, "seen": "2024-06-18"}]'

    reader = JsonDocumentRecords(lambda: io.BytesIO(data.encode()), ITEMS.fields)
    (batch,) = list(reader.batches())

    assert batch.columns.to_pylist() == [
        {"sku": "12345678901234567", "count": "7", "price": "0.1", "active": "false", "seen": "2024-06-18"}
    ]


def test_a_number_in_a_text_column_is_stored_as_its_json_text():
    result = validate('[{"sku": 1.50}, {"sku": "x"}]', ITEMS)

    assert result.accepts(), result.message
    assert result.table.column("sku").to_pylist() == ["1.50", "x"]


def test_null_and_missing_keys_are_empty_cells():
    result = validate('{"sku": "a", "count": null}\n{"sku": "b"}\n', ITEMS)

    assert result.accepts(), result.message
    assert result.table.column("count").to_pylist() == [None, None]


def test_missing_required_key_is_a_problem_of_that_row():
    result = validate('[{"sku": "a"}, {"count": 2}]', ITEMS)

    assert [(issue.row, issue.column, issue.message) for issue in result.issues] == [
        (1, "sku", "value is required")
    ]


def test_values_given_as_strings_are_checked_like_csv_cells():
    data = ndjson(
        [{"sku": "a", "count": "7", "price": "1e3", "active": "yes", "seen": "2024-06-18T12:00:00Z"}]
    )

    result = validate(data, ITEMS, file_name="items.ndjson")

    assert result.accepts(), result.message
    assert result.table.to_pylist() == [
        {
            "sku": "a",
            "count": 7,
            "price": 1000.0,
            "active": True,
            "seen": datetime(2024, 6, 18, 12, tzinfo=UTC),
        }
    ]


def test_a_column_mixing_strings_and_numbers_is_read_exactly():
    rows = [{"sku": "a", "count": 1}] * 3 + [{"sku": 2, "count": "2"}]

    result = validate(ndjson(rows), ITEMS)

    assert result.accepts(), result.message
    assert result.table.column("sku").to_pylist() == ["a", "a", "a", "2"]
    assert result.table.column("count").to_pylist() == [1, 1, 1, 2]


def test_ndjson_rereads_when_a_later_block_changes_a_column_kind():
    data = ndjson(
        [{"sku": f"s{i}", "count": None} for i in range(3000)] + [{"sku": "late", "count": "9"}]
    ).encode()
    reader = NdjsonRecords(lambda: io.BytesIO(data), ITEMS.fields, block_size=16 << 10)

    with pytest.raises(ReadAgain):
        list(reader.batches())
    batches = list(reader.batches())

    assert sum(batch.columns.num_rows for batch in batches) == 3001
    assert batches[-1].columns.column("count")[-1].as_py() == "9"


def test_key_first_seen_in_a_later_block_is_still_read():
    rows = [{"sku": f"s{i}"} for i in range(3000)] + [{"sku": "late", "note": "x"}]

    result = validate(ndjson(rows), DEALS.__class__(name="items", fields=ITEMS.fields, built_in=True))

    assert result.accepts(), result.message
    assert result.warnings == ["column 'note' is not part of the items data type and was ignored"]


def test_nested_object_is_a_validation_error_naming_the_column(rows):
    typed = deals_json(rows)
    typed[2]["stage"] = {"name": "Won"}

    result = validate(json.dumps(typed))

    assert not result.accepts()
    assert places(result) == [(None, 2, "stage")]
    assert result.issues[0].message.startswith("a JSON object cannot be stored here")


def test_nested_array_in_a_text_column_is_a_validation_error_on_its_line(rows):
    typed = deals_json(rows)
    typed[1]["name"] = ["a", "b"]

    result = validate(ndjson(typed))

    assert places(result) == [(2, None, "name")]
    assert result.issues[0].message.startswith("a JSON array cannot be stored here")


def test_string_list_takes_a_json_array_as_it_is(rows):
    typed = deals_json(rows)
    typed[0]["companyTechnologies"] = ["AI; ML", " Web "]

    result = validate(json.dumps(typed))

    assert result.accepts(), result.message
    assert result.table.column("companyTechnologies")[0].as_py() == ["AI; ML", " Web "]


def test_string_list_takes_separated_text_and_arrays_in_one_file(rows):
    typed = deals_json(rows)
    typed[0]["companyTechnologies"] = "AI; ML"
    typed[1]["companyTechnologies"] = ["Cloud"]

    result = validate(ndjson(typed))

    assert result.accepts(), result.message
    assert result.table.column("companyTechnologies").to_pylist()[:2] == [["AI", "ML"], ["Cloud"]]


def test_string_list_array_with_a_null_item_is_refused(rows):
    typed = deals_json(rows)
    typed[3]["companyTechnologies"] = ["AI", None]

    result = validate(json.dumps(typed))

    assert places(result) == [(None, 3, "companyTechnologies")]


def test_ndjson_errors_name_the_physical_line_counting_blank_lines(rows):
    typed = deals_json(rows)
    typed[3]["value"] = -1
    data = "\n\n" + ndjson(typed[:2]) + "\r\n" + ndjson(typed[2:])

    result = validate(data, file_name="deals.ndjson")

    assert places(result) == [(7, None, "value")]


def test_json_array_errors_name_the_row_index(rows):
    typed = deals_json(rows)
    typed[0]["value"] = "lots"
    typed[4]["status"] = "won"

    result = validate(json.dumps(typed, indent=2))

    assert places(result) == [(None, 0, "value"), (None, 4, "status")]


def test_ndjson_line_that_is_not_an_object_is_a_bad_record_on_its_line(rows):
    data = ndjson(deals_json(rows)[:2]) + "[1, 2]\n" + "{not json\n" + ndjson(deals_json(rows)[2:])

    result = validate(data)

    assert [(issue.line, issue.message.split(" (")[0]) for issue in result.issues] == [
        (3, "line 3 is an array, not a JSON object with one row"),
        (4, "line 4 is not valid JSON"),
    ]
    assert (result.processed_lines, result.failed_rows) == (7, 2)


def test_rows_after_a_bad_array_element_keep_their_index(rows):
    typed: list[object] = list(deals_json(rows))
    typed[4] = dict(typed[4], value="x")
    typed.insert(1, "not a row")

    result = validate(json.dumps(typed))

    assert [(issue.row, issue.column) for issue in result.issues] == [(1, None), (5, "value")]


def test_invalid_json_document_is_refused_naming_the_line():
    result = validate('[\n{"sku": "a"},\n{"sku": "b",}\n]', ITEMS)

    assert not result.accepts()
    assert result.message.startswith("the file is not valid JSON")
    assert [issue.line for issue in result.issues] == [3]


def test_ndjson_named_json_is_refused_with_a_hint(rows):
    result = validate(ndjson(deals_json(rows)), file_name="deals.json")

    assert not result.accepts()
    assert "it is NDJSON: name it .ndjson" in result.message


def test_object_without_rows_is_refused():
    result = validate('{"data": []}', ITEMS)

    assert not result.accepts()
    assert 'has no "rows"' in result.message


def test_json_document_over_the_size_limit_is_refused(monkeypatch):
    monkeypatch.setattr("ingestion.dataplane.json_reader.MAX_DOCUMENT_BYTES", 100)

    result = validate(json.dumps([{"sku": str(i)} for i in range(20)]), ITEMS)

    assert not result.accepts()
    assert "send large files as NDJSON" in result.message
    assert MAX_DOCUMENT_BYTES >= 100 << 20


def test_byte_order_mark_before_json_is_skipped():
    result = validate(b'\xef\xbb\xbf[{"sku": "a"}]', ITEMS)

    assert result.accepts(), result.message


def test_empty_array_has_no_data_rows():
    result = validate("[]", ITEMS)

    assert not result.accepts()
    assert result.message.startswith("the file has no data rows")


def test_unknown_keys_of_deals_are_ignored_with_a_warning(rows):
    typed = [dict(row, crmOwner="ann") for row in deals_json(rows)]

    result = validate(json.dumps(typed))

    assert result.accepts()
    assert result.warnings == ["column 'crmOwner' is not part of the deals data type and was ignored"]
    assert "crmOwner" not in result.table.column_names


def test_nested_value_under_a_key_deals_ignore_is_no_problem(rows):
    typed = [dict(row, crmOwner={"name": "ann"}) for row in deals_json(rows)]

    result = validate(json.dumps(typed))

    assert result.accepts(), result.message
    assert result.warnings == ["column 'crmOwner' is not part of the deals data type and was ignored"]


@pytest.mark.parametrize(
    ("data", "file_name", "line"),
    [
        (b'{"id": "1"}\n{"id": "2", "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}\n", "deep.ndjson", 2),
        (
            b'[{"id": "1"},\n {"id": "2", "x": ' + b'{"a": ' * 20_000 + b"1" + b"}" * 20_000 + b"}]",
            "deep.json",
            2,
        ),
        (b'{"id": "1", "x": ' + b"[" * 40 + b"]" * 40 + b"}\n", "deep.ndjson", 1),
    ],
    ids=["ndjson", "json-array", "just-past-the-limit"],
)
def test_json_nested_deeper_than_the_limit_is_refused_naming_the_line(data, file_name, line):
    # Twenty thousand levels would overflow the C++ parser's stack and kill the process.
    result = validate_file(
        lambda: io.BytesIO(data), DEALS, ",", max_errors=10, options=IngestOptions(file_name=file_name)
    )

    assert not result.accepts()
    assert "more than 32 levels deep" in result.message
    assert [issue.line for issue in result.issues] == [line]


@pytest.mark.parametrize(
    ("rows", "kind"),
    [("5", "a number"), ('"x"', "a string"), ("true", "a boolean"), ("{}", "an object")],
)
def test_rows_that_are_no_array_are_named_for_what_they_are(rows, kind):
    data = b'{"rows": ' + rows.encode() + b"}"

    result = validate_file(
        lambda: io.BytesIO(data), DEALS, ",", max_errors=10, options=IngestOptions(file_name="x.json")
    )

    assert not result.accepts()
    assert kind in result.message
    assert "a string or a number" not in result.message
