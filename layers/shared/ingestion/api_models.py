"""Request and response bodies of the HTTP API (camelCase on the wire).

Kept apart from the domain entities; :func:`upload_request_response` and
:func:`collection_response` convert explicitly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ingestion.domain import Collection, UploadRequest, UploadSource, UploadStatus, UploadUrl
from ingestion.identifiers import AppendSeparator
from ingestion.schemas.spec import DataTypeSpec, FieldType

# A media type, maybe with parameters (RFC 6838's characters): ``text/csv; charset=utf-8``.
MEDIA_TYPE_PATTERN = r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+ *(;[ -~]*)?$"


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


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


class UploadRequestPage(ApiModel):
    items: list[UploadRequestResponse]
    next_token: str | None = Field(
        default=None, description="Pass as ?nextToken= to get the next page; null on the last page."
    )


class ErrorItem(ApiModel):
    field: str | None = None
    message: str


class ErrorResponse(ApiModel):
    message: str
    errors: list[ErrorItem] | None = None


def collection_response(collection: Collection) -> CollectionResponse:
    return CollectionResponse(
        id=collection.id,
        name=collection.name,
        created_at=collection.created_at,
        data_types={
            name: DataTypeSummary(
                row_count=stats.row_count,
                last_request_id=stats.last_request_id,
                last_updated=stats.last_updated,
            )
            for name, stats in collection.data_types.items()
        },
    )


def upload_request_response(request: UploadRequest) -> UploadRequestResponse:
    return UploadRequestResponse(
        id=request.id,
        collection_id=request.collection_id,
        data_type=request.data_type,
        separator=request.separator,
        dump_datetime=request.dump_datetime,
        status=request.status,
        message=request.message,
        validation_errors=(
            None
            if request.validation_errors is None
            else [ValidationErrorItem(**issue.model_dump()) for issue in request.validation_errors]
        ),
        file_name=request.file_name,
        size_bytes=request.size_bytes,
        source=request.source,
        validation_error_count=request.validation_error_count,
        processed_lines=request.processed_lines,
        rows_inserted=request.rows_inserted,
        rows_updated=request.rows_updated,
        rows_rejected=request.rows_rejected,
        started_datetime=request.started_datetime,
        finished_datetime=request.finished_datetime,
        warnings=request.warnings,
    )


class FieldDeclaration(ApiModel):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")
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

    id: str = Field(description="The upload request's id: poll GET .../append/{id} for its outcome.")
    upload_url: str = Field(description="Send the file's bytes as the body of one PUT to this URL.")
    method: Literal["PUT"]
    headers: dict[str, str] = Field(
        description="Every header the PUT must carry for the signature to match (none: curl -T file URL)."
    )
    expires_at: datetime = Field(description="The URL works until then; ask for a new one afterwards.")


def upload_url_response(upload: UploadUrl) -> UploadUrlResponse:
    return UploadUrlResponse(
        id=upload.request.id,
        upload_url=upload.url,
        method=upload.method,
        headers=upload.headers,
        expires_at=upload.expires_at,
    )


def data_type_response(spec: DataTypeSpec, row_count: int) -> DataTypeResponse:
    return DataTypeResponse(
        data_type=spec.name,
        fields=[FieldDeclaration(name=f.name, type=f.type, required=f.required) for f in spec.fields],
        key=spec.key,
        version_field=spec.version_field,
        infer_schema=spec.infer_schema,
        built_in=spec.built_in,
        row_count=row_count,
    )
