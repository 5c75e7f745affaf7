"""Tables function: the API's routes on a data type's Iceberg table, read or dropped. It carries
the data plane (pyarrow, pyiceberg), which the other API functions do without."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.api_models import RowsPage, rows_response
from ingestion.http import api_resolver, responses, tenant_id
from ingestion.identifiers import CollectionId, DataTypeName
from ingestion.observability import logger, metrics, tracer
from ingestion.services.rows import delete_rows, read_rows

app = api_resolver()


@app.get(
    "/api/collection/<collectionId>/data/<dataType>/rows",
    summary="Read a data type's rows",
    description=(
        "Rows as JSON objects with typed values, in the order of the data type's key when it has one, a "
        "page at a time. With id, the one row whose key it is (or none)."
    ),
    responses=responses(200, RowsPage, "A page of rows.", 404, 422),
)
def get_rows_route(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
    data_type: Annotated[DataTypeName, Path(alias="dataType")],
    limit: Annotated[int, Query(ge=1, le=1000, description="Most rows in the page.")] = 100,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=4096)] = None,
    key: Annotated[
        str | None, Query(alias="id", min_length=1, max_length=1024, description="A key: read that row.")
    ] = None,
) -> RowsPage:
    page = read_rows(
        tenant_id=tenant_id(app),
        collection_id=collection_id,
        data_type=data_type,
        limit=limit,
        next_token=next_token,
        key=key,
    )
    return rows_response(page)


@app.delete(
    "/api/collection/<collectionId>/data/<dataType>",
    summary="Delete a data type's rows (and a declared one's declaration)",
    description=(
        "Every row is deleted (the table is dropped and its files deleted), and a declared data type's "
        "declaration with it. It can be appended to (deals) or declared again at once; an upload sent "
        "before and not merged yet ends `error` without merging."
    ),
    responses=responses(204, None, "Deleted.", 404, 409),
)
def delete_data_type_route(
    collection_id: Annotated[CollectionId, Path(alias="collectionId")],
    data_type: Annotated[DataTypeName, Path(alias="dataType")],
) -> Response[None]:
    delete_rows(tenant_id=tenant_id(app), collection_id=collection_id, data_type=data_type)
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
