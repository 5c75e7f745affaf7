"""Collecting a file's problems cheaply, and placing them in the file only at the end.

:class:`IssueLog` counts every problem the batch checks (:mod:`.batch_checks`) find but keeps
only the earliest ``cap`` as Python objects, known by their position among the well-formed
records. :func:`report_problems` then has the reader place them (physical line, or row of a
JSON array), adds the malformed records, and gives the verdict on the bad rows against
``maxBadRecords``. :func:`shown_value` cuts the values quoted back to the customer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.dataplane.file_validation import FileValidation
from ingestion.dataplane.records import Place, RecordReader
from ingestion.domain import ValidationIssue

MAX_VALUE_LENGTH = 200


def shown_value(value: object) -> str | None:
    """A cell as quoted back to the customer: long values are cut so one issue stays readable."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) <= MAX_VALUE_LENGTH:
        return text
    return text[:MAX_VALUE_LENGTH] + "…"


@dataclass(frozen=True)
class _PendingIssue:
    """A cell problem whose place is not known yet (rows are positions among good records)."""

    row: int
    position: int  # column position in the data type, to order problems within a row
    column: str
    value: str | None
    message: str


class IssueLog:
    """Counts every problem but keeps only the earliest ``cap`` as Python objects."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.total = 0
        self.failed_rows = 0
        self.pending: list[_PendingIssue] = []
        self._batch: list[_PendingIssue] = []

    def add(
        self,
        mask: pa.BooleanArray,
        offset: int,
        position: int,
        column: str,
        raw: pa.Array | None,
        message: str,
        *,
        quote: bool = False,
    ) -> None:
        """Count the problems in ``mask``; keep the first ones. ``quote``: the message follows the value."""
        self.total += pc.sum(mask).as_py()
        room = self.cap - len(self.pending)
        if room <= 0:
            return
        rows = pc.indices_nonzero(mask)[:room]
        values = raw.take(rows).to_pylist() if raw is not None else [None] * len(rows)
        for row, value in zip(rows.to_pylist(), values, strict=True):
            shown = shown_value(value)
            text = f"'{shown}' {message}" if quote else message
            self._batch.append(_PendingIssue(offset + row, position, column, shown, text))

    def count_failed_rows(self, bad: pa.BooleanArray) -> None:
        """Close a batch: count its bad rows and keep its earliest problems in row order."""
        self.failed_rows += pc.sum(bad).as_py() or 0
        self._batch.sort(key=lambda issue: (issue.row, issue.position))
        self.pending.extend(self._batch[: self.cap - len(self.pending)])
        self._batch = []


def _place_order(place: Place | None) -> int:
    if place is None:
        return 0
    if place.line is not None:
        return place.line
    return place.row if place.row is not None else 0


def report_problems(result: FileValidation, log: IssueLog, reader: RecordReader) -> None:
    """Place every kept problem in the file, and give the verdict on the bad rows."""
    cap = log.cap
    malformed = reader.malformed
    located = reader.locate([issue.row for issue in log.pending], min(malformed, cap))
    found = [
        (located.rows.get(issue.row), issue.position, issue.column, issue.value, issue.message)
        for issue in log.pending
    ]
    found += [
        (record.place, -1, None, shown_value(record.value), record.message) for record in located.malformed
    ]
    found.sort(key=lambda item: (_place_order(item[0]), item[1]))
    result.issues = [
        ValidationIssue(
            line=place.line if place else None,
            row=place.row if place else None,
            column=column,
            value=value,
            message=message,
        )
        for place, _, column, value, message in found[:cap]
    ]
    result.issue_count = log.total + malformed
    result.failed_rows = log.failed_rows + malformed
    rows_read = reader.rows_read
    listed = (
        "the rows listed in validationErrors"
        if result.issue_count <= cap
        else f"the problems in validationErrors (the first {cap} of {result.issue_count})"
    )
    allowed = result.max_bad_records
    if result.failed_rows <= allowed:
        accepted = rows_read - result.failed_rows
        result.message = (
            f"{result.failed_rows} rows were rejected ({result.failed_rows} of {rows_read} failed "
            f"validation, within maxBadRecords={allowed}); the other {accepted} rows were accepted. "
            f"Fix {listed} and upload those rows again."
        )
        return
    result.refused = True
    result.close()
    over = f", more than maxBadRecords={allowed} allows" if allowed else ""
    result.message = (
        f"{result.failed_rows} of {rows_read} rows failed validation{over}; nothing was merged. "
        f"Fix {listed} and upload the file again."
    )
