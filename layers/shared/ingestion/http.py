"""What the API functions share: the resolver, with the checks every request body passes
before it is parsed, safe retries of POST and PUT requests (``Idempotency-Key``), the caller's
tenant, and the one mapping from domain exceptions to HTTP responses."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError, UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, UploadFile
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ValidationError

from ingestion import multipart
from ingestion.api_models import (
    FIELD_NAME_PATTERN,
    MEDIA_TYPE_PATTERN,
    AppendRowsBody,
    ErrorItem,
    ErrorResponse,
)
from ingestion.errors import (
    DataTypeConflict,
    InvalidInput,
    MalformedBody,
    NotFoundError,
    RequestInProgress,
)
from ingestion.idempotency import IDEMPOTENT_METHODS, answer_once, canonical_request
from ingestion.identifiers import IDEMPOTENCY_KEY_HEADER, PATTERN_WORDS, IdempotencyKey
from ingestion.json_nesting import TooDeep, check_depth
from ingestion.observability import logger

MULTIPART = multipart.MULTIPART_MEDIA_TYPE
# Set on an answer given again to a repeated Idempotency-Key, instead of running the request.
REPLAYED_HEADER = "Idempotent-Replayed"

# What each error status means on this API, for the OpenAPI document (the body is ErrorResponse).
ERROR_STATUSES = {
    400: "The body is not whole multipart/form-data: cut short, or framed by another boundary.",
    401: "Missing or unknown token.",
    404: "Unknown collection (or another tenant's), data type, upload request or export.",
    409: "The data type is built in, or declared before with another schema; or a request with the "
    "same Idempotency-Key is still being answered.",
    413: "The body is over API Gateway's 10 MB, or its event over Lambda's 6 MB.",
    415: "A Content-Type this route does not take.",
    422: "A field is missing or invalid: errors[].field names it.",
}

# The header every POST and PUT route takes (see :mod:`ingestion.idempotency`).
IdempotencyKeyHeader = Annotated[
    IdempotencyKey | None,
    Header(
        alias=IDEMPOTENCY_KEY_HEADER,
        description="Any unique value (e.g. a UUID): a repeat of this request with the same key within 24 "
        "hours gets the first answer again and does nothing new; reusing the key for another request "
        "is a 422.",
    ),
]
# What a field's pattern asks for, in words (a refusal never quotes a regex).
_PATTERN_WORDS = PATTERN_WORDS | {
    MEDIA_TYPE_PATTERN: "must be a media type such as text/csv or application/json",
    FIELD_NAME_PATTERN: "must be text without control characters or line breaks",
}
# Header names as the document spells them (the resolver reports them in lower case).
_HEADER_NAMES = {IDEMPOTENCY_KEY_HEADER.lower(): IDEMPOTENCY_KEY_HEADER}


def responses(
    status: int, model: type[BaseModel] | None, description: str, *errors: int
) -> dict[int, OpenAPIResponse]:
    """A route's answers for the OpenAPI document: its success (``model`` None: no body) and the
    errors it may give."""
    # An empty content map says "no body" (without one, the return annotation would be documented).
    content = {"application/json": {"model": model}} if model is not None else {}
    documented: dict[int, OpenAPIResponse] = {status: {"description": description, "content": content}}
    return documented | error_responses(*errors)


def error_responses(*errors: int) -> dict[int, OpenAPIResponse]:
    """The errors a route may give (401 and 422 always), each with the error body."""
    body: OpenAPIResponse = {"description": "", "content": {"application/json": {"model": ErrorResponse}}}
    return {error: body | {"description": ERROR_STATUSES[error]} for error in (401, 422, *errors)}


def api_resolver() -> APIGatewayRestResolver:
    """The resolver of an API function: request validation, bounded JSON, every error mapped."""
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=parse_json_body)
    app.use(middlewares=[_complete_multipart_only, _answer_once_per_idempotency_key])
    _register_error_handlers(app)
    return app


def parse_json_body(text: str) -> Any:
    """A JSON request body, its nesting measured before it is parsed (a parser recurses once
    per level: a few kilobytes of ``[`` would exhaust it)."""
    try:
        check_depth(text)
    except TooDeep as error:
        raise InvalidInput("body", str(error)) from None
    return json.loads(text)


def multipart_body(app: APIGatewayRestResolver) -> tuple[bytes, str] | None:
    """The raw bytes and Content-Type of a multipart/form-data request; None for any other."""
    event = app.current_event
    content_type = event.headers.get("content-type", "")
    if not content_type.lower().startswith(MULTIPART):
        return None
    body = event.body or ""
    if not event.is_base64_encoded:
        return body.encode("latin-1", errors="replace"), content_type
    try:
        return base64.b64decode(body), content_type
    except binascii.Error:
        return b"", content_type


def multipart_framing_problem(app: APIGatewayRestResolver) -> str | None:
    """What is wrong with the framing of a multipart request's body, or None."""
    found = multipart_body(app)
    return None if found is None else multipart.framing_problem(*found)


def _complete_multipart_only(app: APIGatewayRestResolver, next_middleware: Any) -> Response:
    """Refuse a multipart body that is not framed whole, or holds several files, before any
    route stores a part of it."""
    found = multipart_body(app)
    if found is not None:
        problem = multipart.framing_problem(*found)
        if problem is not None:
            raise MalformedBody(problem)
        files = multipart.part_names(*found).count("file")
        if files > 1:
            raise InvalidInput("file", f"the body holds {files} files in 'file'; send one file per request")
    return next_middleware(app)


class _NotKept(Exception):
    """An error answer of a request sent with an Idempotency-Key: given, never kept."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _answer_once_per_idempotency_key(app: APIGatewayRestResolver, next_middleware: Any) -> Response:
    """A POST or PUT with an Idempotency-Key runs once; a repeat gets the first answer again."""
    event = app.current_event
    key = event.headers.get(IDEMPOTENCY_KEY_HEADER)
    if event.http_method not in IDEMPOTENT_METHODS or key is None:
        return next_middleware(app)
    answered: list[Response] = []

    def answer() -> dict[str, Any]:
        response = next_middleware(app)
        answered.append(response)
        if response.status_code >= 400:
            raise _NotKept(response)
        return _kept_answer(response)

    try:
        kept = answer_once(
            tenant_id=tenant_id(app),
            key=key,
            request=canonical_request(event),
            answer=answer,
            lambda_context=app.lambda_context,
        )
    except _NotKept as error:
        return error.response
    if answered:
        return answered[0]
    replayed = Response(status_code=kept["status"], body=kept["body"], headers=kept["headers"])
    replayed.headers[REPLAYED_HEADER] = "true"
    return replayed


def _kept_answer(response: Response) -> dict[str, Any]:
    """A response as the idempotency record keeps it: JSON (routes answer JSON or text)."""
    body = response.body
    if isinstance(body, bytes):
        body = body.decode()
    return {"status": response.status_code, "headers": dict(response.headers), "body": body}


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
        check_depth(raw)
        AppendRowsBody.model_validate_json(raw)
    except TooDeep as error:
        raise InvalidInput("body", str(error)) from None
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
    if location and location[0] == "header":
        parts = [_HEADER_NAMES.get(part.lower(), part) for part in parts]
    return ".".join(parts) or "body"


def _error_item(error: dict[str, Any]) -> ErrorItem:
    if error.get("type") == "json_invalid":
        detail = (error.get("ctx") or {}).get("error", "")
        return ErrorItem(field="body", message=f"the body is not valid JSON ({detail})")
    field = _field_of(error.get("loc", ()))
    if error.get("type") == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern")
        words = _PATTERN_WORDS.get(pattern, "has characters or a form this field does not take")
        return ErrorItem(field=field, message=f"{field} {words}")
    return ErrorItem(field=field, message=error.get("msg", "invalid"))


def _accepted_body(app: APIGatewayRestResolver) -> str:
    """What the route of this request takes as its body, for a 415's message."""
    if app.current_event.resource.endswith("/append"):
        return "send multipart/form-data with a 'file' field"
    return "send a JSON body (Content-Type: application/json)"


def _register_error_handlers(app: APIGatewayRestResolver) -> None:
    """Every way a request can fail, mapped to a status code here and nowhere else."""

    @app.exception_handler(MalformedBody)
    def _malformed(error: MalformedBody) -> Response:
        return _json(
            400, ErrorResponse(message=str(error), errors=[ErrorItem(field=error.field, message=str(error))])
        )

    @app.exception_handler(NotFoundError)
    def _not_found(error: NotFoundError) -> Response:
        return _json(404, ErrorResponse(message=str(error)))

    @app.exception_handler(DataTypeConflict)
    def _conflict(error: DataTypeConflict) -> Response:
        return _json(409, ErrorResponse(message=str(error)))

    @app.exception_handler(RequestInProgress)
    def _in_progress(error: RequestInProgress) -> Response:
        return _json(
            409,
            ErrorResponse(
                message=str(error), errors=[ErrorItem(field=IDEMPOTENCY_KEY_HEADER, message=str(error))]
            ),
        )

    @app.exception_handler(InvalidInput)
    def _invalid_input(error: InvalidInput) -> Response:
        return _json(
            422, ErrorResponse(message=str(error), errors=[ErrorItem(field=error.field, message=str(error))])
        )

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response:
        if any(tuple(item.get("loc", ()))[:1] == ("response",) for item in error.errors()):
            # Powertools reports an answer that does not fit its route's model this way: a defect
            # of ours, never the client's mistake.
            logger.error("response does not fit its route's model", extra={"errors": error.errors()})
            return _internal_error()
        # Validation runs before any middleware: a body framed with another boundary, or cut
        # before its file part, shows up as a missing field. Its framing is the problem to name.
        problem = multipart_framing_problem(app)
        if problem is not None:
            return _malformed(MalformedBody(problem))
        items = [_error_item(item) for item in error.errors()]
        fields = ", ".join(dict.fromkeys(item.field or "body" for item in items))
        return _json(422, ErrorResponse(message=f"invalid request: check {fields}", errors=items))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_content_type(error: RequestUnsupportedContentType) -> Response:
        content_type = app.current_event.headers.get("content-type", "")
        return _json(
            415, ErrorResponse(message=f"unsupported Content-Type '{content_type}': {_accepted_body(app)}")
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
    def _unparseable_multipart(error: ValueError) -> Response:
        # Powertools' multipart parser raises ValueError for a body it cannot split (no
        # boundary) and UnicodeDecodeError for a form field that is not text. Any other
        # ValueError is a defect of ours and must surface as one, not as the client's mistake.
        problem = multipart_framing_problem(app)
        if problem is not None:
            return _malformed(MalformedBody(problem))
        content_type = app.current_event.headers.get("content-type", "")
        if isinstance(error, UnicodeDecodeError) and content_type.lower().startswith(MULTIPART):
            return _malformed(
                MalformedBody(
                    "a form field or part header of the body is not UTF-8 text; only the 'file' part "
                    "may hold other bytes (e.g. curl --form file=@deals.csv --form separator=';')"
                )
            )
        return _internal_error()

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        return _internal_error()
