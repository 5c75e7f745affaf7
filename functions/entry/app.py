"""Entry function: the API's POST routes. Stores uploads and answers 202 at once."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body, File, Form, Path, UploadFile
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.api_models import (
    CollectionResponse,
    CreateCollectionBody,
    UploadRequestResponse,
    collection_response,
    upload_request_response,
)
from ingestion.http import register_error_handlers, tenant_id
from ingestion.identifiers import Separator
from ingestion.observability import logger, metrics, tracer
from ingestion.services.appends import submit_append
from ingestion.services.collections import create_collection

app = APIGatewayRestResolver(enable_validation=True)
register_error_handlers(app)


@app.post("/api/collection", responses={201: {"description": "Collection created"}})
def post_collection(body: Annotated[CreateCollectionBody, Body()]) -> tuple[CollectionResponse, int]:
    collection = create_collection(tenant_id(app), body.name)
    return collection_response(collection), 201


@app.post("/api/collection/<collectionId>/data/<dataType>/append")
def post_append(
    collection_id: Annotated[str, Path(alias="collectionId")],
    data_type: Annotated[str, Path(alias="dataType")],
    file: Annotated[UploadFile, File(description="The data file, e.g. a CSV export.")],
    separator: Annotated[Separator, Form(description="The CSV field separator.")] = ",",
) -> tuple[UploadRequestResponse, int]:
    request = submit_append(
        tenant_id=tenant_id(app),
        collection_id=collection_id,
        data_type=data_type,
        content=file.content,
        file_name=file.filename,
        content_type=file.content_type,
        separator=separator,
    )
    return upload_request_response(request), 202


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
