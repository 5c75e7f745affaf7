"""What the two API functions share: the caller's tenant and the one mapping from domain
exceptions to HTTP responses."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError, UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import UploadFile
from pydantic import ValidationError

from ingestion.api_models import AppendRowsBody, ErrorItem, ErrorResponse
from ingestion.errors import DataTypeConflict, InvalidInput, NotFoundError
from ingestion.observability import logger


def tenant_id(app: APIGatewayRestResolver) -> str:
    """The tenant the token authorizer resolved for this request."""
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    tenant = context.get("tenantId")
    if not tenant:
        # Only reachable if a route is deployed without the authorizer.
        raise UnauthorizedError("missing or unknown token: send the header Authorization: Token <your token>")
    return str(tenant)


def rows_body_as_file(app: APIGatewayRestResolver) -> UploadFile:
    """The datasets API's ``{"rows": [...]}`` body, kept byte for byte as the uploaded file.

    Raises the same 422 a missing multipart ``file`` gets when the body is neither.
    """
    content_type = app.current_event.headers.get("content-type", "")
    if not content_type.lower().startswith("application/json"):
        raise InvalidInput(
            "file", "attach the data as the multipart field 'file', or post JSON {\"rows\": [...]}"
        )
    raw = app.current_event.decoded_body or ""
    try:
        AppendRowsBody.model_validate_json(raw)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInput(
            _field_of(first.get("loc", ())), f"invalid JSON body: {first.get('msg')}"
        ) from None
    return UploadFile(content=raw.encode(), filename="rows.json", content_type="application/json")


def _json(status: int, body: ErrorResponse) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(by_alias=True, exclude_none=True),
    )


def _field_of(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _error_item(error: dict[str, Any]) -> ErrorItem:
    if error.get("type") == "json_invalid":
        detail = (error.get("ctx") or {}).get("error", "")
        return ErrorItem(field="body", message=f"the body is not valid JSON ({detail})")
    return ErrorItem(field=_field_of(error.get("loc", ())), message=error.get("msg", "invalid"))


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    """Every way a request can fail, mapped to a status code here and nowhere else."""

    @app.exception_handler(NotFoundError)
    def _not_found(error: NotFoundError) -> Response:
        return _json(404, ErrorResponse(message=str(error)))

    @app.exception_handler(DataTypeConflict)
    def _conflict(error: DataTypeConflict) -> Response:
        return _json(409, ErrorResponse(message=str(error)))

    @app.exception_handler(InvalidInput)
    def _invalid_input(error: InvalidInput) -> Response:
        return _json(
            422, ErrorResponse(message=str(error), errors=[ErrorItem(field=error.field, message=str(error))])
        )

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response:
        items = [_error_item(item) for item in error.errors()]
        fields = ", ".join(dict.fromkeys(item.field or "body" for item in items))
        return _json(422, ErrorResponse(message=f"invalid request: check {fields}", errors=items))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_content_type(error: RequestUnsupportedContentType) -> Response:
        content_type = app.current_event.headers.get("content-type", "")
        return _json(
            415,
            ErrorResponse(
                message=f"unsupported Content-Type '{content_type}': "
                "send multipart/form-data with a 'file' field"
            ),
        )

    def _internal_error() -> Response:
        logger.exception("unhandled error")
        return _json(
            500,
            ErrorResponse(
                message="the service failed to answer; try again, and report this request id if it persists: "
                f"{app.current_event.request_context.request_id}"
            ),
        )

    @app.exception_handler(ServiceError)
    def _service_error(error: ServiceError) -> Response:
        return _json(error.status_code, ErrorResponse(message=error.msg))

    @app.exception_handler(ValueError)
    def _malformed_body(error: ValueError) -> Response:
        # Powertools' multipart parser raises ValueError for a body it cannot split
        # (no boundary, undecodable field); anything else is a defect and must surface as one.
        content_type = app.current_event.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            return _internal_error()
        return _json(
            400,
            ErrorResponse(
                message=f"the body is not valid multipart/form-data ({error}); "
                "send the file as the form field 'file', e.g. curl --form file=@deals.csv"
            ),
        )

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        return _internal_error()
