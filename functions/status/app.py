"""Status function: the API's GET routes on records (collections, data types, upload requests and
their errors files, exports), and the API's own description (its OpenAPI document and Swagger
UI). Rows are read by the tables function, which carries the data plane."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.api_docs import openapi_document, swagger_page
from ingestion.api_models import (
    CollectionListPage,
    CollectionResponse,
    DataTypeResponse,
    ExportResponse,
    UploadRequestPage,
    UploadRequestResponse,
    collection_page_response,
    collection_response,
    data_type_response,
    export_response,
    upload_request_page,
    upload_request_response,
)
from ingestion.cold_start import load_before_snapshot
from ingestion.http import api_resolver, error_responses, responses, tenant_id
from ingestion.identifiers import CollectionId, DataTypeName, ExportId, RequestId
from ingestion.observability import logger, metrics, tracer
from ingestion.services.appends import get_upload_request, list_upload_requests
from ingestion.services.collections import get_collection, list_collections
from ingestion.services.data_types import describe_data_type
from ingestion.services.exports import get_export
from ingestion.services.validation_reports import COLUMNS, validation_errors_file

app = api_resolver()
# With SnapStart, what importing this module deferred is loaded before the snapshot.
load_before_snapshot(app)


@app.get(
    "/api/collection",
    summary="List collections, newest first",
    description="The caller's collections only; deleted ones are not listed.",
    responses=responses(200, CollectionListPage, "A page of collections.", 422),
)
def list_collections_route(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=1024)] = None,
) -> CollectionListPage:
    return collection_page_response(list_collections(tenant_id(app), limit, next_token))


@app.get(
    "/api/collection/<collectionId>",
    summary="Get a collection",
    responses=responses(200, CollectionResponse, "The collection and the row count of each data type.", 404),
)
def get_collection_route(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
) -> CollectionResponse:
    return collection_response(get_collection(tenant_id(app), collection_id))


@app.get(
    "/api/collection/<collectionId>/data/<dataType>",
    summary="Get a data type's schema",
    responses=responses(200, DataTypeResponse, "The data type's fields, key and row count.", 404),
)
def get_data_type_route(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
    data_type: Annotated[DataTypeName, Path(alias="dataType")],
) -> DataTypeResponse:
    spec, row_count = describe_data_type(
        tenant_id=tenant_id(app), collection_id=collection_id, data_type=data_type
    )
    return data_type_response(spec, row_count)


@app.get(
    "/api/collection/<collectionId>/data/<dataType>/append",
    summary="List upload requests, newest first",
    responses=responses(200, UploadRequestPage, "A page of upload requests.", 404, 422),
)
def list_upload_requests_route(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
    data_type: Annotated[DataTypeName, Path(alias="dataType")],
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
) -> UploadRequestPage:
    requests, token = list_upload_requests(
        tenant_id=tenant_id(app),
        collection_id=collection_id,
        data_type=data_type,
        limit=limit,
        next_token=next_token,
    )
    return upload_request_page(requests, token)


@app.get(
    "/api/collection/<collectionId>/data/<dataType>/append/<requestId>",
    summary="Poll an upload request",
    responses=responses(200, UploadRequestResponse, "The upload request as it stands.", 404),
)
def get_upload_request_route(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
    data_type: Annotated[DataTypeName, Path(alias="dataType")],
    request_id: Annotated[RequestId, Path(alias="requestId")],
) -> UploadRequestResponse:
    request = get_upload_request(
        tenant_id=tenant_id(app), collection_id=collection_id, data_type=data_type, request_id=request_id
    )
    return upload_request_response(request)


@app.get(
    "/api/collection/<collectionId>/data/<dataType>/append/<requestId>/errors",
    summary="Get every problem an upload found, as CSV",
    description=(
        f"text/csv: the header `{','.join(COLUMNS)}`, then one line per problem, all of them (the "
        "request itself shows the first 100). A file too large to answer with is a redirect to where "
        "to download it."
    ),
    responses={
        200: {
            "description": "The errors file.",
            "content": {"text/csv": {"schema": {"type": "string", "example": f"{','.join(COLUMNS)}\n"}}},
        },
        303: {"description": "The errors file is large: download it from the Location URL.", "content": {}},
    }
    | error_responses(404),
)
def get_validation_errors_route(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
    data_type: Annotated[DataTypeName, Path(alias="dataType")],
    request_id: Annotated[RequestId, Path(alias="requestId")],
) -> Response[str]:
    errors = validation_errors_file(
        tenant_id=tenant_id(app), collection_id=collection_id, data_type=data_type, request_id=request_id
    )
    if errors.url is not None:
        return Response(303, "text/plain", "", headers={"Location": errors.url})
    return Response(200, "text/csv; charset=utf-8", errors.text)


@app.get(
    "/api/collection/<collectionId>/data/<dataType>/export/<exportId>",
    summary="Poll an export",
    description="Once completed, url downloads the file until expiresAt; GET the export again for a new url.",
    responses=responses(200, ExportResponse, "The export as it stands.", 404),
)
def get_export_route(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
    data_type: Annotated[DataTypeName, Path(alias="dataType")],
    export_id: Annotated[ExportId, Path(alias="exportId")],
) -> ExportResponse:
    export = get_export(
        tenant_id=tenant_id(app), collection_id=collection_id, data_type=data_type, export_id=export_id
    )
    return export_response(export)


@app.get("/api/openapi.json", include_in_schema=False)
def openapi_document_route() -> Response[str]:
    """The OpenAPI document of the whole API (no token needed)."""
    return Response(200, content_types.APPLICATION_JSON, openapi_document())


@app.get("/api/docs", include_in_schema=False)
def api_docs_route() -> Response[str]:
    """Swagger UI for the document, usable without internet (no token needed to read it)."""
    return Response(200, "text/html; charset=utf-8", swagger_page())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
