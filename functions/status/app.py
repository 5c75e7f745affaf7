"""Status function: the API's GET routes (collections and upload requests), and the API's
own description (its OpenAPI document and Swagger UI)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.api_docs import openapi_document, swagger_page
from ingestion.api_models import (
    CollectionResponse,
    DataTypeResponse,
    UploadRequestPage,
    UploadRequestResponse,
    collection_response,
    data_type_response,
    upload_request_response,
)
from ingestion.http import api_resolver, responses, tenant_id
from ingestion.observability import logger, metrics, tracer
from ingestion.services.appends import get_upload_request, list_upload_requests
from ingestion.services.collections import get_collection
from ingestion.services.data_types import describe_data_type

app = api_resolver()


@app.get(
    "/api/collection/<collectionId>",
    summary="Get a collection",
    responses=responses(200, CollectionResponse, "The collection and the row count of each data type.", 404),
)
def get_collection_route(collection_id: Annotated[str, Path(alias="collectionId")]) -> CollectionResponse:
    return collection_response(get_collection(tenant_id(app), collection_id))


@app.get(
    "/api/collection/<collectionId>/data/<dataType>",
    summary="Get a data type's schema",
    responses=responses(200, DataTypeResponse, "The data type's fields, key and row count.", 404),
)
def get_data_type_route(
    collection_id: Annotated[str, Path(alias="collectionId")],
    data_type: Annotated[str, Path(alias="dataType")],
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
    collection_id: Annotated[str, Path(alias="collectionId")],
    data_type: Annotated[str, Path(alias="dataType")],
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
    return UploadRequestPage(items=[upload_request_response(r) for r in requests], next_token=token)


@app.get(
    "/api/collection/<collectionId>/data/<dataType>/append/<requestId>",
    summary="Poll an upload request",
    responses=responses(200, UploadRequestResponse, "The upload request as it stands.", 404),
)
def get_upload_request_route(
    collection_id: Annotated[str, Path(alias="collectionId")],
    data_type: Annotated[str, Path(alias="dataType")],
    request_id: Annotated[str, Path(alias="requestId")],
) -> UploadRequestResponse:
    request = get_upload_request(
        tenant_id=tenant_id(app), collection_id=collection_id, data_type=data_type, request_id=request_id
    )
    return upload_request_response(request)


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
