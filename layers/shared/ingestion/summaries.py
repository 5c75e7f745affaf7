"""An upload's outcome cut to what its request record can hold.

A DynamoDB item holds at most 400 KB, and the record is written after the merge committed: a
write that failed on size there would leave a merged upload without its outcome. So the
record gets a bounded summary, by construction: at most :data:`RECORD_WARNINGS` warnings and
the first validation errors, each text cut to a byte budget (a file's column names and values
can be any length). Whatever was cut goes, whole, into a report in the bucket, and the summary
says where.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ingestion.domain import UploadOutcome, ValidationIssue

RECORD_WARNINGS = 20
RECORD_ISSUES = 100
MESSAGE_BYTES = 4096
WARNING_BYTES = 1024
ISSUE_MESSAGE_BYTES = 1024
ISSUE_VALUE_BYTES = 512
COLUMN_BYTES = 256
ELLIPSIS = "…"


@dataclass(frozen=True)
class Summary:
    """The outcome to record, and the full report to keep when something had to be cut."""

    outcome: UploadOutcome
    cut: bool

    def report(self, original: UploadOutcome) -> bytes:
        """Every warning and every validation error kept while validating, as JSON."""
        return json.dumps(
            {
                "status": original.status.value,
                "message": original.message,
                "warnings": original.warnings,
                "validationErrorCount": original.validation_error_count,
                "validationErrors": [
                    issue.model_dump(mode="json", exclude_none=True) for issue in original.validation_errors
                ],
            },
            ensure_ascii=False,
        ).encode()


def summarise(outcome: UploadOutcome, report_location: str | None = None) -> Summary:
    """``outcome`` within the record's budget; ``report_location`` is named where things were cut."""
    warnings = [cut_text(warning, WARNING_BYTES) for warning in outcome.warnings[:RECORD_WARNINGS]]
    issues = [_bounded_issue(issue) for issue in outcome.validation_errors[:RECORD_ISSUES]]
    message = cut_text(outcome.message, MESSAGE_BYTES) if outcome.message is not None else None
    cut = warnings != outcome.warnings or issues != outcome.validation_errors or message != outcome.message
    if cut:
        hidden = len(outcome.warnings) - len(warnings)
        where = f" in {report_location}" if report_location else ""
        note = (
            f"{hidden} more warnings are not shown here; every warning and validation error is{where}"
            if hidden
            else f"some texts were shortened here; the full ones are{where}"
        )
        more = len(outcome.validation_errors) - len(issues)
        if more:
            errors_file = "GET .../append/{requestId}/errors"
            note += f"; {more} more validation errors are not shown here: {errors_file} lists them all as CSV"
        warnings.append(note)
    bounded = outcome.model_copy(
        update={"warnings": warnings, "validation_errors": issues, "message": message}
    )
    return Summary(outcome=bounded, cut=cut)


def cut_text(text: str, max_bytes: int) -> str:
    """``text`` in at most ``max_bytes`` of UTF-8, cut on a character boundary and marked as cut."""
    encoded = text.encode()
    if len(encoded) <= max_bytes:
        return text
    room = max_bytes - len(ELLIPSIS.encode())
    return encoded[:room].decode(errors="ignore") + ELLIPSIS


def _bounded_issue(issue: ValidationIssue) -> ValidationIssue:
    return issue.model_copy(
        update={
            "column": cut_text(issue.column, COLUMN_BYTES) if issue.column is not None else None,
            "value": cut_text(issue.value, ISSUE_VALUE_BYTES) if issue.value is not None else None,
            "message": cut_text(issue.message, ISSUE_MESSAGE_BYTES),
        }
    )
