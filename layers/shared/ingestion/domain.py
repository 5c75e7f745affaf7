"""Domain entities: what the service talks about, independent of HTTP and storage."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class UploadStatus(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ERROR = "error"

    @property
    def is_final(self) -> bool:
        return self in (UploadStatus.COMPLETED, UploadStatus.ERROR)


class UploadSource(StrEnum):
    API = "api"
    S3 = "s3"


class Entity(BaseModel):
    # defer_build: a model's validator is built when first used, not at import (cold starts).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class ValidationIssue(Entity):
    """One problem found in an uploaded file, precise enough for a person to fix it."""

    line: int | None = Field(default=None, description="Physical line in the file; the header is line 1.")
    row: int | None = Field(default=None, description="Index of the record in a JSON array (0-based).")
    column: str | None = None
    value: str | None = None
    message: str


class DataTypeStats(Entity):
    row_count: int
    last_request_id: str | None = None
    last_updated: datetime | None = None
    snapshot_id: int | None = None


class Collection(Entity):
    id: str
    tenant_id: str
    name: str
    created_at: datetime
    data_types: dict[str, DataTypeStats] = Field(default_factory=dict)
    # Set by DELETE: the collection is gone for its tenant, its data is being purged.
    deleted_at: datetime | None = None
    # Data types whose rows were deleted: each names the first upload request id (ids are
    # time-ordered) whose rows belong to the new data; files uploaded before it are not merged.
    cleared_data_types: dict[str, str] = Field(default_factory=dict)

    def refuses_upload(self, data_type: str, request_id: str) -> str | None:
        """Why an upload of ``data_type`` may no longer be merged into this collection, or None."""
        if self.deleted_at is not None:
            return f"collection '{self.id}' was deleted after this file was uploaded; nothing was merged"
        cleared = self.cleared_data_types.get(data_type)
        if cleared is not None and request_id < cleared:
            return (
                f"the rows of data type '{data_type}' were deleted after this file was uploaded, so it was "
                "not merged; upload it again to add its rows"
            )
        return None


class UploadRequest(Entity):
    id: str
    collection_id: str
    data_type: str
    separator: str
    dump_datetime: datetime
    status: UploadStatus
    source: UploadSource
    file_name: str
    size_bytes: int
    object_key: str
    message: str | None = None
    validation_errors: list[ValidationIssue] | None = None
    validation_error_count: int | None = None
    processed_lines: int | None = None
    rows_inserted: int | None = None
    rows_updated: int | None = None
    rows_rejected: int | None = None
    started_datetime: datetime | None = None
    finished_datetime: datetime | None = None
    warnings: list[str] | None = None
    attempt: int = 0
    # How the uploader asked for the file to be read. None in a record written before the
    # options were kept on it: the file's metadata holds them then.
    max_bad_records: int | None = Field(default=None, ge=0)
    allow_field_addition: bool | None = None
    content_type: str | None = None
    # Set while the request waits for its file to be PUT to its upload URL: when the URL expires.
    awaiting_file_until: datetime | None = None


class UploadUrl(Entity):
    """Where and how the file of an upload request is to be PUT, and until when."""

    request: UploadRequest
    url: str
    method: Literal["PUT"] = "PUT"
    # Every header the PUT must carry for the signature to match (none: nothing extra is signed).
    headers: dict[str, str] = Field(default_factory=dict)
    expires_at: datetime


class FileFormat(StrEnum):
    CSV = "csv"
    JSON = "json"  # an array of objects, or the datasets API's {"rows": [...]}
    NDJSON = "ndjson"


class IngestOptions(Entity):
    """How the caller asked for one file to be read and merged."""

    # None: decided from the file name, the content type and the first bytes.
    file_format: FileFormat | None = None
    file_name: str | None = None
    content_type: str | None = None
    # Bad rows tolerated before the whole file is refused (as BigQuery load jobs have it).
    max_bad_records: int = Field(default=0, ge=0)
    # Columns unknown to the data type's schema are added to it as nullable columns.
    allow_field_addition: bool = False


class UploadOutcome(Entity):
    """What processing a file produced: either merged counts or the reasons it was refused."""

    status: UploadStatus
    message: str | None = None
    processed_lines: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_rejected: int = 0
    warnings: list[str] = Field(default_factory=list)
    validation_errors: list[ValidationIssue] = Field(default_factory=list)
    validation_error_count: int = 0
    row_count: int | None = None
    snapshot_id: int | None = None
    # Iceberg sequence number of the snapshot the merge committed: orders merges that finish
    # out of order, so an older row count never overwrites a newer one.
    sequence_number: int | None = None
    # Columns this upload added to the data type's schema (allowFieldAddition).
    added_fields: list[str] = Field(default_factory=list)


class ExportFormat(StrEnum):
    CSV = "csv"  # as an upload takes it: a header, lists joined with ';', ISO 8601 date-times
    NDJSON = "ndjson"  # one JSON object per line, with typed values
    PARQUET = "parquet"

    @property
    def media_type(self) -> str:
        return {
            ExportFormat.CSV: "text/csv",
            ExportFormat.NDJSON: "application/x-ndjson",
            ExportFormat.PARQUET: "application/vnd.apache.parquet",
        }[self]


class ExportStatus(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ERROR = "error"

    @property
    def is_final(self) -> bool:
        return self in (ExportStatus.COMPLETED, ExportStatus.ERROR)


class Export(Entity):
    """One file holding every row of a data type, written asynchronously to the bucket."""

    id: str
    collection_id: str
    data_type: str
    format: ExportFormat
    status: ExportStatus
    created_at: datetime
    object_key: str
    message: str | None = None
    row_count: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempt: int = 0


class ExportDownload(Entity):
    """An export as its owner sees it: with a URL to download its file once it is written."""

    export: Export
    url: str | None = None
    expires_at: datetime | None = None


class RowPage(Entity):
    """Rows of a data type as JSON objects with typed values, and where the next page starts."""

    rows: list[dict[str, object]]
    next_token: str | None = None


class CollectionPage(Entity):
    items: list[Collection]
    next_token: str | None = None
