"""Entry function: the API's POST, PUT and DELETE routes. Stores uploads (or hands out URLs to
upload large files to), declares data types, and queues exports and the purge of deleted
collections; answers at once. A POST or PUT sent with an Idempotency-Key is carried out once."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, File, Form, Path, UploadFile
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.api_models import (
    CollectionResponse,
    CreateCollectionBody,
    DataTypeResponse,
    DeclareDataTypeBody,
    ExportBody,
    ExportQueued,
    UploadRequestResponse,
    UploadUrlBody,
    UploadUrlResponse,
    collection_response,
    data_type_response,
    export_queued_response,
    upload_request_response,
    upload_url_response,
)
from ingestion.cold_start import load_before_snapshot
from ingestion.http import IdempotencyKeyHeader, api_resolver, responses, rows_body_as_file, tenant_id
from ingestion.identifiers import AppendSeparator, CollectionId, DataTypeName
from ingestion.observability import logger, metrics, tracer
from ingestion.services.appends import submit_append
from ingestion.services.collections import create_collection, delete_collection
from ingestion.services.data_types import Declaration, declare_data_type
from ingestion.services.exports import request_export
from ingestion.services.upload_urls import request_upload_url

app = api_resolver()
# With SnapStart, what importing this module deferred is loaded before the snapshot.
load_before_snapshot(app, aws_services=("dynamodb", "s3"))


@app.post(
    "/api/collection",
    summary="Create a collection",
    responses=responses(201, CollectionResponse, "The collection, with its id.", 409, 413, 415),
)
def post_collection(
    body: Annotated[CreateCollectionBody, Body()], idempotency_key: IdempotencyKeyHeader = None
) -> tuple[CollectionResponse, int]:
    collection = create_collection(tenant_id(app), body.name)
    return collection_response(collection), 201


@app.delete(
    "/api/collection/<collectionId>",
    summary="Delete a collection",
    description=(
        "The collection, its data type declarations, its upload requests, its exports and every row are "
        "deleted: it answers 404 and leaves the listing at once, and its tables and files are purged in "
        "the background. An upload still queued for it ends `error` without merging anything."
    ),
    responses=responses(204, None, "Deleted.", 404),
)
def delete_collection_route(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
) -> Response[None]:
    delete_collection(tenant_id(app), collection_id)
    return Response(status_code=204)


@app.post(
    "/api/collection/<collectionId>/data/<dataType>/append",
    summary="Append a file to a collection's data type",
    description=(
        "Stores the file and answers at once with a queued upload request; poll it for the outcome. "
        'The body is multipart/form-data, or the datasets API\'s JSON {"rows": [...]}.'
    ),
    responses=responses(202, UploadRequestResponse, "The upload request, queued.", 400, 404, 409, 413, 415),
)
def post_append(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
    data_type: Annotated[DataTypeName, Path(alias="dataType")],
    file: Annotated[UploadFile | None, File(description="CSV, JSON or NDJSON, optionally gzipped.")] = None,
    separator: Annotated[AppendSeparator, Form(description="CSV field separator, or 'auto'.")] = ",",
    max_bad_records: Annotated[int, Form(alias="maxBadRecords", ge=0)] = 0,
    allow_field_addition: Annotated[bool, Form(alias="allowFieldAddition")] = False,
    idempotency_key: IdempotencyKeyHeader = None,
) -> tuple[UploadRequestResponse, int]:
    """Multipart ``file`` (+ form fields), or the datasets API's JSON ``{"rows": [...]}`` body."""
    upload = file or rows_body_as_file(app)
    request = submit_append(
        tenant_id=tenant_id(app),
        collection_id=collection_id,
        data_type=data_type,
        content=upload.content,
        file_name=upload.filename,
        content_type=upload.content_type,
        separator=separator,
        max_bad_records=max_bad_records,
        allow_field_addition=allow_field_addition,
    )
    return upload_request_response(request), 202


@app.post(
    "/api/collection/<collectionId>/data/<dataType>/append/upload-url",
    summary="Get a URL to upload a large file to",
    description=(
        "For files over the API's ~4.5 MB: records an upload request, queued until its file arrives, and "
        "answers with a URL that takes the file in one PUT (up to 5 GB) until expiresAt; e.g. "
        'curl -T deals.csv "$uploadUrl". Poll the request like any other. A request whose file '
        "does not arrive in time ends `error`. The JSON body (optional) takes the append route's options."
    ),
    responses=responses(
        201, UploadUrlResponse, "Where to PUT the file; its upload request is queued.", 404, 409, 413, 415
    ),
)
def post_upload_url(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
    data_type: Annotated[DataTypeName, Path(alias="dataType")],
    body: Annotated[UploadUrlBody | None, Body()] = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> tuple[UploadUrlResponse, int]:
    options = body or UploadUrlBody()
    upload = request_upload_url(
        tenant_id=tenant_id(app),
        collection_id=collection_id,
        data_type=data_type,
        file_name=options.file_name,
        content_type=options.content_type,
        separator=options.separator,
        max_bad_records=options.max_bad_records,
        allow_field_addition=options.allow_field_addition,
    )
    return upload_url_response(upload), 201


@app.put(
    "/api/collection/<collectionId>/data/<dataType>",
    summary="Declare a data type",
    responses=responses(
        201,
        DataTypeResponse,
        "Declared (200 if it was declared identically before).",
        404,
        409,
        413,
        415,
        422,
    )
    | {
        200: {
            "description": "Declared identically before.",
            "content": {"application/json": {"model": DataTypeResponse}},
        }
    },
)
def put_data_type(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
    data_type: Annotated[DataTypeName, Path(alias="dataType")],
    body: Annotated[DeclareDataTypeBody, Body()],
    idempotency_key: IdempotencyKeyHeader = None,
) -> tuple[DataTypeResponse, int]:
    spec, created = declare_data_type(
        tenant_id=tenant_id(app),
        collection_id=collection_id,
        data_type=data_type,
        declaration=Declaration(
            fields=None if body.fields is None else [(f.name, f.type, f.required) for f in body.fields],
            key=body.key,
            version_field=body.version_field,
            infer_schema=body.infer_schema,
        ),
    )
    return data_type_response(spec, row_count=0), 201 if created else 200


@app.post(
    "/api/collection/<collectionId>/data/<dataType>/export",
    summary="Export every row of a data type into one file",
    description=(
        "Answers at once with a queued export; poll GET .../export/{id} until it is completed, then "
        "download its file from url. A csv export can be appended again unchanged."
    ),
    responses=responses(202, ExportQueued, "The export, queued.", 404, 409, 413, 415),
)
def post_export(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
    data_type: Annotated[DataTypeName, Path(alias="dataType")],
    body: Annotated[ExportBody | None, Body()] = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> tuple[ExportQueued, int]:
    export = request_export(
        tenant_id=tenant_id(app),
        collection_id=collection_id,
        data_type=data_type,
        file_format=(body or ExportBody()).format,
    )
    return export_queued_response(export), 202


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
