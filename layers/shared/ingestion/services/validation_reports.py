"""An upload's errors file: every problem the upload found, one CSV line each.

An upload request's record holds its first validation errors (``summaries.RECORD_ISSUES``);
when it could not hold them all, processing wrote a report beside it in the bucket
(``reports/<collectionId>/<dataType>/<requestId>.json``, whose ``validationErrors`` lists every
problem the validator kept). The errors file is rendered from the report when there is one,
else from the record.

A file too large for a Lambda response (:data:`MAX_INLINE_BYTES`) is stored beside the report
and the caller is sent there: a redirect to a download URL, which clients follow to the same
``text/csv``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from ingestion.domain import ValidationIssue
from ingestion.errors import NoValidationErrors
from ingestion.repositories.collections import CollectionRepository, get_collection_repository
from ingestion.repositories.data_types import DataTypeRepository
from ingestion.repositories.files import FileStore, get_file_store
from ingestion.repositories.uploads import UploadRequestRepository, get_upload_request_repository
from ingestion.services.data_types import resolve_data_type
from ingestion.settings import Settings, get_settings

COLUMNS = ("line", "row", "column", "value", "message")
# The largest file answered in the response itself (Lambda answers at most 6 MB, JSON-escaped).
MAX_INLINE_BYTES = 4 * 1024 * 1024
# How long the download URL of a large errors file works.
DOWNLOAD_SECONDS = 3600


@dataclass(frozen=True)
class ErrorsFile:
    """The CSV itself, or where to download it when it is too large to answer with."""

    text: str | None = None
    url: str | None = None


def validation_errors_file(
    *,
    tenant_id: str,
    collection_id: str,
    data_type: str,
    request_id: str,
    collections: CollectionRepository | None = None,
    data_types: DataTypeRepository | None = None,
    uploads: UploadRequestRepository | None = None,
    files: FileStore | None = None,
    settings: Settings | None = None,
) -> ErrorsFile:
    """The errors file of an upload request; :class:`NoValidationErrors` when it found none."""
    collections = collections or get_collection_repository()
    uploads = uploads or get_upload_request_repository()
    files = files or get_file_store()
    settings = settings or get_settings()
    collections.get_for_tenant(collection_id, tenant_id)
    resolve_data_type(collection_id, data_type, data_types)
    request = uploads.get(collection_id, data_type, request_id)
    if not request.status.is_final:
        raise NoValidationErrors(
            f"upload request '{request_id}' is {request.status.value}: its file is not validated yet"
        )
    if not request.validation_error_count and not request.validation_errors:
        raise NoValidationErrors(f"upload request '{request_id}' found no problem in its file")
    report_key = files.report_key(settings.reports_prefix, collection_id, data_type, request_id)
    reported = _reported_issues(files.report(report_key))
    issues = reported if len(reported) >= len(request.validation_errors or []) else request.validation_errors
    text = errors_csv(issues or [])
    if len(text.encode()) <= MAX_INLINE_BYTES:
        return ErrorsFile(text=text)
    key = report_key.removesuffix(".json") + ".errors.csv"
    files.put_bytes(key, text.encode(), "text/csv; charset=utf-8")
    return ErrorsFile(url=files.download_url(key, DOWNLOAD_SECONDS, f"{request_id}-errors.csv"))


def errors_csv(issues: list[ValidationIssue]) -> str:
    """``line,row,column,value,message``, then one line per issue (empty where it names none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for issue in issues:
        writer.writerow(["" if getattr(issue, name) is None else getattr(issue, name) for name in COLUMNS])
    return out.getvalue()


def _reported_issues(report: bytes | None) -> list[ValidationIssue]:
    if report is None:
        return []
    return [
        ValidationIssue.model_validate(issue) for issue in json.loads(report).get("validationErrors") or []
    ]
