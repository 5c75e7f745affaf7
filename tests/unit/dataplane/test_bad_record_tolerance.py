"""maxBadRecords: bad rows tolerated up to the limit, left out and still reported; header problems never."""

from __future__ import annotations

import io
import json

import pytest

from ingestion.dataplane.validation import validate_file
from ingestion.domain import IngestOptions
from ingestion.schemas.deals import DEALS


def validate(data: bytes, max_bad_records: int, max_errors: int = 100, **options: object):
    return validate_file(
        lambda: io.BytesIO(data),
        DEALS,
        ",",
        max_errors=max_errors,
        options=IngestOptions(max_bad_records=max_bad_records, **options),
    )


@pytest.fixture
def two_bad_rows(rows, write_csv) -> bytes:
    rows[1]["value"] = "abc"
    rows[3]["numberOfMeetings"] = "-2"
    rows[3]["status"] = "won"
    return write_csv(rows)


def test_bad_rows_below_the_limit_are_left_out_and_the_file_accepted(two_bad_rows):
    result = validate(two_bad_rows, max_bad_records=3)

    assert result.accepts()
    assert result.table.column("id").to_pylist() == ["1", "3", "5"]
    assert (result.failed_rows, result.issue_count) == (2, 3)


def test_bad_rows_exactly_at_the_limit_are_tolerated(two_bad_rows):
    result = validate(two_bad_rows, max_bad_records=2)

    assert result.accepts()
    assert result.message == (
        "2 rows were rejected (2 of 5 failed validation, within maxBadRecords=2); the other 3 rows were "
        "accepted. Fix the rows listed in validationErrors and upload those rows again."
    )


def test_tolerated_bad_rows_are_still_listed_on_their_lines(two_bad_rows):
    result = validate(two_bad_rows, max_bad_records=2)

    assert [(issue.line, issue.column) for issue in result.issues] == [
        (3, "value"),
        (5, "status"),
        (5, "numberOfMeetings"),
    ]


def test_one_bad_row_over_the_limit_refuses_the_whole_file(two_bad_rows):
    result = validate(two_bad_rows, max_bad_records=1)

    assert not result.accepts()
    assert result.table is None
    assert result.message.startswith("2 of 5 rows failed validation, more than maxBadRecords=1 allows")
    assert "nothing was merged" in result.message


def test_malformed_rows_count_as_bad_rows(rows, write_csv):
    lines = write_csv(rows).split(b"\n")
    lines[2] += b",extra"

    result = validate(b"\n".join(lines), max_bad_records=1)

    assert result.accepts()
    assert result.table.column("id").to_pylist() == ["1", "3", "4", "5"]
    assert [(issue.line, issue.column) for issue in result.issues] == [(3, None)]


def test_bad_json_records_count_against_the_limit(rows):
    objects = [{key: value or None for key, value in row.items()} for row in rows]
    data = ("\n".join(json.dumps(row) for row in objects) + "\nnot json\n").encode()

    result = validate(data, max_bad_records=1)

    assert result.accepts()
    assert result.table.num_rows == 5
    assert [issue.line for issue in result.issues] == [6]


def test_missing_required_column_refuses_the_file_whatever_the_limit(rows, write_csv):
    rows = [{key: value for key, value in row.items() if key != "status"} for row in rows]

    result = validate(write_csv(rows), max_bad_records=1000)

    assert not result.accepts()
    assert "required columns are missing (status)" in result.message


def test_duplicated_column_refuses_the_file_whatever_the_limit(rows, write_csv):
    data = write_csv(rows).replace(b",stage,", b",name,", 1)

    result = validate(data, max_bad_records=1000)

    assert not result.accepts()
    assert "columns are duplicated (name)" in result.message


def test_rows_past_the_limit_are_counted_but_not_kept(rows, write_csv):
    many = [dict(rows[0], id=str(index), value="x" if index % 2 else "1") for index in range(4000)]

    result = validate(write_csv(many), max_bad_records=10, max_errors=5)

    assert not result.accepts()
    assert (result.failed_rows, result.issue_count, len(result.issues)) == (2000, 2000, 5)
    assert "(the first 5 of 2000)" in result.message
