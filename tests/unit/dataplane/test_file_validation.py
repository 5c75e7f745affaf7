"""Whole-file validation: header checks, row rules, the error cap and the messages people read."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from ingestion.dataplane import ingest_upload
from ingestion.dataplane.issues import MAX_VALUE_LENGTH
from ingestion.dataplane.validation import validate_file
from ingestion.domain import UploadStatus
from ingestion.schemas.deals import DEALS
from ingestion.settings import Settings
from tests.conftest import make_settings


def validate(data: bytes, max_errors: int = 100):
    return validate_file(lambda: io.BytesIO(data), DEALS, ",", max_errors=max_errors)


def without(rows: list[dict[str, str]], *columns: str) -> list[dict[str, str]]:
    return [{key: value for key, value in row.items() if key not in columns} for row in rows]


def test_sample_file_is_accepted_as_typed_columns(rows, write_csv):
    result = validate(write_csv(rows))

    assert result.accepts()
    assert result.processed_lines == 5
    assert result.warnings == []
    first = result.table.slice(0, 1).to_pylist()[0]
    assert first["value"] == 1000.0
    assert first["numberOfSentEmails"] == 5
    assert first["companyIsCustomer"] is True
    assert first["companyTechnologies"] == ["AI", "Machine Learning", "Web"]
    assert first["lastUpdateDatetime"] == datetime(2024, 6, 18, 12, 30, 45, tzinfo=UTC)
    assert result.table.column("closedDatetime").null_count == 2


def test_missing_required_column_refuses_the_file(rows, write_csv):
    result = validate(write_csv(without(rows, "value", "status")))

    assert not result.accepts()
    assert {(issue.line, issue.column) for issue in result.issues} == {(1, "value"), (1, "status")}
    assert "required columns are missing (status, value)" in result.message
    assert "nothing was merged" in result.message


def test_missing_optional_column_is_fine_and_stored_as_null(rows, write_csv):
    result = validate(write_csv(without(rows, "stage")))

    assert result.accepts()
    assert result.table.column("stage").null_count == 5


def test_duplicated_column_refuses_the_file(rows, write_csv):
    data = write_csv(rows).replace(b",stage,", b",name,", 1)

    result = validate(data)

    assert not result.accepts()
    assert [(issue.column, issue.message) for issue in result.issues] == [
        ("name", "column 'name' appears 2 times in the header")
    ]


def test_unknown_column_is_ignored_with_a_warning(rows, write_csv):
    for row in rows:
        row["foo"] = "bar"

    result = validate(write_csv(rows))

    assert result.accepts()
    assert result.warnings == ["column 'foo' is not part of the deals data type and was ignored"]
    assert "foo" not in result.table.column_names


def test_column_without_a_name_is_ignored_with_a_warning(rows, write_csv):
    for row in rows:
        row[""] = ""

    result = validate(write_csv(rows))

    assert result.accepts()
    assert result.warnings == ["column 36 of the header has no name and was ignored"]


def test_header_read_as_one_column_suggests_the_separator(rows, write_csv):
    result = validate(write_csv(rows, separator=";"))

    assert not result.accepts()
    assert "is the separator ';' rather than ','?" in result.message


def test_empty_required_cell_is_reported_as_required(rows, write_csv):
    rows[3]["name"] = ""

    result = validate(write_csv(rows))

    assert [(i.line, i.column, i.value, i.message) for i in result.issues] == [
        (5, "name", None, "value is required")
    ]


def test_invalid_cell_message_quotes_the_value_and_the_expectation(rows, write_csv):
    rows[1]["value"] = "abc"

    result = validate(write_csv(rows))

    assert [(i.line, i.column, i.value, i.message) for i in result.issues] == [
        (3, "value", "abc", "'abc' is not a number >= 0")
    ]


def test_closed_deal_without_closed_datetime_breaks_the_rule(rows, write_csv):
    rows[0]["closedDatetime"] = ""

    result = validate(write_csv(rows))

    assert [(i.line, i.column, i.message) for i in result.issues] == [
        (2, "closedDatetime", "closedDatetime is required when status is closed_lost or closed_won")
    ]


def test_open_deal_with_closed_datetime_breaks_the_rule(rows, write_csv):
    rows[2]["closedDatetime"] = "2024-07-01T00:00:00"

    result = validate(write_csv(rows))

    assert [(i.line, i.column, i.value, i.message) for i in result.issues] == [
        (4, "closedDatetime", "2024-07-01T00:00:00", "closedDatetime must be empty when status is open")
    ]


def test_problems_are_listed_in_line_then_column_order(rows, write_csv):
    rows[4]["numberOfMeetings"] = "x"
    rows[1]["value"] = "y"
    rows[1]["name"] = ""

    result = validate(write_csv(rows))

    assert [(i.line, i.column) for i in result.issues] == [(3, "name"), (3, "value"), (6, "numberOfMeetings")]


def test_message_counts_failed_rows_out_of_rows_read(rows, write_csv):
    rows[0]["value"] = "x"
    rows[0]["numberOfMeetings"] = "x"
    rows[3]["value"] = "-1"

    result = validate(write_csv(rows))

    assert result.failed_rows == 2
    assert result.message == (
        "2 of 5 rows failed validation; nothing was merged. "
        "Fix the rows listed in validationErrors and upload the file again."
    )


def test_problems_beyond_the_cap_are_counted_but_not_listed(rows, write_csv):
    many = [dict(rows[0], id=str(index), value="oops") for index in range(250)]

    result = validate(write_csv(many), max_errors=100)

    assert len(result.issues) == 100
    assert result.issue_count == 250
    assert [issue.line for issue in result.issues] == list(range(2, 102))
    assert "the first 100 of 250" in result.message


def test_long_values_are_cut_in_the_report(rows, write_csv):
    rows[0]["value"] = "9" * 150 + "x" * 150

    result = validate(write_csv(rows))

    value = result.issues[0].value
    assert len(value) == MAX_VALUE_LENGTH + 1
    assert value.endswith("…")
    assert len(result.issues[0].message) < 2 * MAX_VALUE_LENGTH


class RefusingCatalog:
    """A catalog that fails the test if anything asks it for a table."""

    def __getattr__(self, name: str):
        pytest.fail(f"a refused file must not reach the catalog (called {name})")


@pytest.fixture
def settings() -> Settings:
    return make_settings(MAX_VALIDATION_ERRORS=2)


def test_refused_file_is_an_error_outcome_that_never_reaches_the_table(rows, write_csv, open_bytes, settings):
    rows[0]["value"] = "x"
    rows[1]["value"] = "y"
    rows[2]["value"] = "z"

    outcome = ingest_upload(
        open_source=open_bytes(write_csv(rows)),
        data_type=DEALS,
        separator=",",
        collection_id="c1",
        request_id="r1",
        catalog=RefusingCatalog(),
        settings=settings,
    )

    assert outcome.status is UploadStatus.ERROR
    assert (outcome.processed_lines, outcome.rows_rejected, outcome.rows_inserted) == (5, 3, 0)
    assert outcome.validation_error_count == 3
    assert [issue.line for issue in outcome.validation_errors] == [2, 3]
    assert outcome.row_count is None


def test_collection_id_outside_the_alphabet_is_refused_before_reading(open_bytes, settings):
    with pytest.raises(ValueError, match="collection id"):
        ingest_upload(
            open_source=lambda: pytest.fail("the file must not be opened"),
            data_type=DEALS,
            separator=",",
            collection_id="Bad-Id",
            request_id="r1",
            catalog=RefusingCatalog(),
            settings=settings,
        )
