"""Request and response bodies of the HTTP API (camelCase on the wire).

Kept apart from the domain entities: each response is validated from its entity's attributes
(``model_validate(entity, from_attributes=True)``), so a response names the fields it shows and
an entity's other fields (where a file is stored, an attempt number) never reach the wire.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ingestion.domain import (
    Collection,
    CollectionPage,
    ExportDownload,
    ExportFormat,
    ExportStatus,
    RowPage,
    UploadRequest,
    UploadSource,
    UploadStatus,
    UploadUrl,
)
from ingestion.identifiers import AppendSeparator
from ingestion.schemas.spec import DataTypeSpec, FieldType

# A media type, maybe with parameters (RFC 6838's characters): ``text/csv; charset=utf-8``.
MEDIA_TYPE_PATTERN = r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+ *(;[ -~]*)?$"
# A declared field's name: any text on one line.
FIELD_NAME_PATTERN = r"^[^\x00-\x1f]+$"


class ApiModel(BaseModel):
    # defer_build: each model's validator is built when first used, not when an API function
    # imports this module (the first request builds only the models its route uses).
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", defer_build=True
    )


class CreateCollectionBody(ApiModel):
    name: str = Field(min_length=1, max_length=200, description="A name for people; need not be unique.")


class DataTypeSummary(ApiModel):
    row_count: int
    last_request_id: str | None = None
    last_updated: datetime | None = None


class CollectionResponse(ApiModel):
    id: str
    name: str
    created_at: datetime
    data_types: dict[str, DataTypeSummary]


class ValidationErrorItem(ApiModel):
    line: int | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    message: str


class UploadRequestResponse(ApiModel):
    """The reference API's ``UploadRequest``, plus sizes, counters and timings."""

    id: str
    collection_id: str
    data_type: str
    separator: str
    dump_datetime: datetime
    status: UploadStatus
    message: str | None
    validation_errors: list[ValidationErrorItem] | None
    file_name: str
    size_bytes: int
    source: UploadSource
    validation_error_count: int | None = None
    processed_lines: int | None = None
    rows_inserted: int | None = None
    rows_updated: int | None = None
    rows_rejected: int | None = None
    started_datetime: datetime | None = None
    finished_datetime: datetime | None = None
    warnings: list[str] | None = None


NEXT_PAGE_DESCRIPTION = "Pass as ?nextToken= to get the next page; null on the last page."


class UploadRequestPage(ApiModel):
    items: list[UploadRequestResponse]
    next_token: str | None = Field(default=None, description=NEXT_PAGE_DESCRIPTION)


class CollectionListPage(ApiModel):
    """A page of the caller's collections, newest first."""

    items: list[CollectionResponse]
    next_token: str | None = Field(default=None, description=NEXT_PAGE_DESCRIPTION)


class RowsPage(ApiModel):
    """Rows as JSON objects: numbers as numbers, booleans, date-times in ISO 8601, lists as
    arrays, null for an empty cell; in the order of the data type's key when it has one."""

    rows: list[dict[str, Any]]
    next_token: str | None = Field(default=None, description=NEXT_PAGE_DESCRIPTION)


class ErrorItem(ApiModel):
    field: str | None = None
    message: str


class ErrorResponse(ApiModel):
    message: str
    errors: list[ErrorItem] = Field(
        default_factory=list, description="One item per field at fault; empty when no field is."
    )


def collection_response(collection: Collection) -> CollectionResponse:
    return CollectionResponse.model_validate(collection, from_attributes=True)


def collection_page_response(page: CollectionPage) -> CollectionListPage:
    return CollectionListPage.model_validate(page, from_attributes=True)


def upload_request_response(request: UploadRequest) -> UploadRequestResponse:
    return UploadRequestResponse.model_validate(request, from_attributes=True)


def upload_request_page(requests: list[UploadRequest], next_token: str | None) -> UploadRequestPage:
    return UploadRequestPage(items=[upload_request_response(r) for r in requests], next_token=next_token)


def rows_response(page: RowPage) -> RowsPage:
    return RowsPage.model_validate(page, from_attributes=True)


class FieldDeclaration(ApiModel):
    name: str = Field(min_length=1, max_length=128, pattern=FIELD_NAME_PATTERN)
    type: FieldType
    required: bool = False


class DeclareDataTypeBody(ApiModel):
    """Either ``fields`` (with optional ``key`` and ``versionField``) or ``inferSchema: true``."""

    fields: list[FieldDeclaration] | None = Field(default=None, max_length=500)
    key: str | None = None
    version_field: str | None = None
    infer_schema: bool = False


class DataTypeResponse(ApiModel):
    data_type: str
    fields: list[FieldDeclaration]
    key: str | None
    version_field: str | None
    infer_schema: bool = Field(description="True until the first append has defined the fields.")
    built_in: bool
    row_count: int


class AppendRowsBody(ApiModel):
    """The datasets API's body, posted as application/json instead of a file."""

    rows: list[dict[str, Any]] = Field(min_length=1)
    max_bad_records: int = Field(default=0, ge=0)
    allow_field_addition: bool = False


class UploadUrlBody(ApiModel):
    """How the file to be PUT to the upload URL is to be read: the append route's options."""

    file_name: str | None = Field(
        default=None, description="The file's name; its extension tells the format (.csv, .json, .ndjson)."
    )
    separator: Annotated[AppendSeparator, Field(description="CSV field separator, or 'auto'.")] = ","
    max_bad_records: int = Field(default=0, ge=0, description="Bad rows tolerated before refusing the file.")
    allow_field_addition: bool = Field(
        default=False, description="Add columns the data type lacks to it, as nullable fields."
    )
    content_type: str | None = Field(
        default=None,
        max_length=255,
        pattern=MEDIA_TYPE_PATTERN,
        description="The file's media type (text/csv, application/json, application/x-ndjson), "
        "read for its format when the name does not tell it.",
    )


class UploadUrlResponse(ApiModel):
    """Where to PUT the file; its upload request is queued until the file arrives."""

    id: str = Field(
        validation_alias=AliasChoices("id", AliasPath("request", "id")),
        description="The upload request's id: poll GET .../append/{id} for its outcome.",
    )
    upload_url: str = Field(
        validation_alias=AliasChoices("uploadUrl", "upload_url", "url"),
        description="Send the file's bytes as the body of one PUT to this URL.",
    )
    method: Literal["PUT"]
    headers: dict[str, str] = Field(
        description="Every header the PUT must carry for the signature to match (none: curl -T file URL)."
    )
    expires_at: datetime = Field(description="The URL works until then; ask for a new one afterwards.")


def upload_url_response(upload: UploadUrl) -> UploadUrlResponse:
    return UploadUrlResponse.model_validate(upload, from_attributes=True)


class _CountedDataType:
    """A data type's spec read with its row count, as one object with both's attributes."""

    def __init__(self, spec: DataTypeSpec, row_count: int) -> None:
        self._spec = spec
        self.data_type = spec.name
        self.row_count = row_count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spec, name)


def data_type_response(spec: DataTypeSpec, row_count: int) -> DataTypeResponse:
    return DataTypeResponse.model_validate(_CountedDataType(spec, row_count), from_attributes=True)


class ExportBody(ApiModel):
    format: ExportFormat = Field(
        default=ExportFormat.CSV,
        description="csv (as an upload takes it: it can be appended again unchanged), ndjson or parquet.",
    )


class ExportResponse(ApiModel):
    """An export of every row of a data type into one file; poll it until it is completed."""

    id: str = Field(validation_alias=AliasChoices("id", AliasPath("export", "id")))
    status: ExportStatus = Field(validation_alias=AliasChoices("status", AliasPath("export", "status")))
    format: ExportFormat = Field(validation_alias=AliasChoices("format", AliasPath("export", "format")))
    row_count: int | None = Field(
        default=None,
        validation_alias=AliasChoices("rowCount", AliasPath("export", "row_count")),
        description="Rows in the file, once it is written.",
    )
    url: str | None = Field(
        default=None, description="Once completed: download the file with a GET to this URL, until expiresAt."
    )
    expires_at: datetime | None = Field(
        default=None, description="When url stops working; GET the export again for a new one."
    )
    message: str | None = Field(
        default=None,
        validation_alias=AliasChoices("message", AliasPath("export", "message")),
        description="Why the export failed, when its status is error.",
    )


class ExportQueued(ApiModel):
    """The export, queued: poll GET .../export/{id} for its file."""

    id: str = Field(validation_alias=AliasChoices("id", AliasPath("export", "id")))
    status: ExportStatus = Field(validation_alias=AliasChoices("status", AliasPath("export", "status")))
    format: ExportFormat = Field(validation_alias=AliasChoices("format", AliasPath("export", "format")))


def export_response(download: ExportDownload) -> ExportResponse:
    return ExportResponse.model_validate(download, from_attributes=True)


def export_queued_response(download: ExportDownload) -> ExportQueued:
    return ExportQueued.model_validate(download, from_attributes=True)
