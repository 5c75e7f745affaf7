"""What a request record and an object's metadata may hold: bounded whatever the upload held."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from ingestion.domain import UploadOutcome, UploadStatus, ValidationIssue
from ingestion.repositories.files import (
    MAX_FILE_NAME_METADATA_BYTES,
    storable_content_type,
    storable_file_name,
)
from ingestion.summaries import ELLIPSIS, ISSUE_VALUE_BYTES, cut_text, summarise


def test_text_is_cut_on_a_character_boundary_within_its_bytes():
    cut = cut_text("😀" * 100, 41)

    assert cut.endswith(ELLIPSIS)
    assert len(cut.encode()) <= 41
    assert cut[:-1] == "😀" * 9


def test_text_within_its_budget_is_kept_as_it_is():
    assert cut_text("short", 10) == "short"


def test_a_summary_of_thousands_of_long_warnings_and_huge_cells_fits_a_record():
    outcome = UploadOutcome(
        status=UploadStatus.ERROR,
        message="m" * 100_000,
        warnings=["w" * 10_000] * 500,
        validation_errors=[
            ValidationIssue(line=n, column="c" * 10_000, value="😀" * 10_000, message="x" * 10_000)
            for n in range(200)
        ],
    )

    summary = summarise(outcome, "s3://bucket/reports/r.json")

    assert summary.cut
    assert len(summary.outcome.model_dump_json().encode()) < 250_000
    assert all(len(issue.value.encode()) <= ISSUE_VALUE_BYTES for issue in summary.outcome.validation_errors)
    assert "s3://bucket/reports/r.json" in summary.outcome.warnings[-1]
    report = json.loads(summary.report(outcome))  # the report keeps everything
    assert report["warnings"] == outcome.warnings
    assert len(report["validationErrors"]) == 200


def test_an_outcome_within_budget_is_recorded_as_it_is():
    outcome = UploadOutcome(status=UploadStatus.COMPLETED, warnings=["one warning"], message="fine")

    summary = summarise(outcome)

    assert not summary.cut
    assert summary.outcome == outcome


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("deals\n2024.csv", "deals_2024.csv"),
        ("a\x00b\tc\u2028.csv", "a_b_c_.csv"),
        ("exports/deals.csv", "exports_deals.csv"),
        ("", "upload"),
        (None, "upload"),
        ("  deals.csv ", "deals.csv"),
    ],
)
def test_file_names_are_kept_on_one_line(name, stored):
    assert storable_file_name(name) == stored


def test_a_name_of_a_thousand_emoji_fits_the_object_metadata_and_keeps_its_extension():
    stored = storable_file_name("😀" * 1000 + ".csv")

    assert len(quote(stored, safe="")) <= MAX_FILE_NAME_METADATA_BYTES
    assert stored.endswith("….csv")


def test_a_long_ascii_name_is_cut_to_255_characters():
    stored = storable_file_name("x" * 400 + ".ndjson")

    assert len(stored) == 255
    assert stored.endswith("….ndjson")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("text/csv; charset=utf-8", "text/csv; charset=utf-8"),
        ("text/csv; " + "x=y; " * 100, "text/csv"),  # too long: its media type is what matters
        ("text/csv; name=dé", "text/csv"),
        ("tëxt/csv", None),
        ("", None),
        (None, None),
    ],
)
def test_a_content_type_is_kept_only_as_one_short_line_of_ascii(sent, kept):
    assert storable_content_type(sent) == kept


def test_a_record_that_shows_the_first_100_errors_says_where_all_of_them_are():
    outcome = UploadOutcome(
        status=UploadStatus.ERROR,
        validation_errors=[ValidationIssue(line=n, message="not a number") for n in range(150)],
        validation_error_count=150,
    )

    summary = summarise(outcome, "s3://bucket/reports/r.json")

    assert len(summary.outcome.validation_errors) == 100
    assert "50 more validation errors" in summary.outcome.warnings[-1]
    assert "/errors lists them all" in summary.outcome.warnings[-1]
