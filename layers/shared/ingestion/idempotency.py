"""Safe retries: a POST or PUT sent with an ``Idempotency-Key`` header is carried out once.

Built on Powertools' idempotency utility (``idempotent_function`` and its DynamoDB persistence
layer, ``IdempotencyTable``). For each request with a key it keeps a record, under a hash of
what identifies the request, holding the response and a hash of what the request asked:

- **Which record**: the tenant and the key, nothing else. Keys are scoped to the tenant, so two
  customers who happen to pick the same key never meet. (Powertools prefixes the hash with the
  Lambda function's name and this module's wrapped function, so the POST and PUT routes of the
  entry function share one space of keys.)
- **What was asked** (Powertools' payload validation): the request as the route understands it,
  never the raw event, whose request id and timestamps differ on every send. That is the method,
  the route and its path parameters, the query, the media type, and the body: a JSON body by
  its content (key order and spacing do not matter), a multipart body part by part (form name,
  file name, part type and a SHA-256 of its content: the boundary a client draws for each send
  does not make a retry another request), any other body by its SHA-256. A repeat that asks
  something else is refused (:class:`IdempotencyKeyReused`, a 422 naming the header).

The first answer is kept for 24 hours and given again, status and body alike, without running
anything. Only answers are kept: a request that failed (any error, a client's or ours) leaves
no record, so sending it again runs it again. While the first request is being answered, a
repeat is refused with :class:`ingestion.errors.RequestInProgress` (409); a request whose
function died is free to run again once the function's time is up.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ingestion import aws, multipart
from ingestion.errors import InvalidInput, RequestInProgress
from ingestion.identifiers import IDEMPOTENCY_KEY_HEADER
from ingestion.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
    from aws_lambda_powertools.utilities.typing import LambdaContext

# How long a key's first answer is given again.
KEPT_SECONDS = 24 * 60 * 60
IDEMPOTENT_METHODS = ("POST", "PUT")

Answer = dict[str, Any]


class IdempotencyKeyReused(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            IDEMPOTENCY_KEY_HEADER,
            f"this {IDEMPOTENCY_KEY_HEADER} was used in the last 24 hours for another request (another "
            f"route, parameters or body); use a new {IDEMPOTENCY_KEY_HEADER} for a new request",
        )


def answer_once(
    *,
    tenant_id: str,
    key: str,
    request: dict[str, Any],
    answer: Callable[[], Answer],
    lambda_context: LambdaContext | None,
    store: BasePersistenceLayer | None = None,
) -> Answer:
    """``answer()``'s result, computed the first time this tenant sends this key and given again
    for 24 hours to a repeat of the same ``request`` (see :func:`canonical_request`).

    ``answer`` returns a JSON-able dict; an exception it raises propagates and is not kept.
    """
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[tenant, key]",
        payload_validation_jmespath="request",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=KEPT_SECONDS,
        hash_function="sha256",
    )
    if lambda_context is not None:
        # A request whose function dies may run again once the function's time is up.
        config.register_lambda_context(lambda_context)

    @idempotent_function(
        data_keyword_argument="call", persistence_store=store or get_idempotency_store(), config=config
    )
    def answer_request(call: dict[str, Any]) -> Answer:
        return answer()

    try:
        return answer_request(call={"tenant": tenant_id, "key": key, "request": request})
    except IdempotencyValidationError:
        raise IdempotencyKeyReused() from None
    except IdempotencyAlreadyInProgressError:
        raise RequestInProgress(
            f"a request with this {IDEMPOTENCY_KEY_HEADER} is still being answered; "
            "send it again in a few seconds to get its answer"
        ) from None


def canonical_request(event: APIGatewayProxyEvent) -> dict[str, Any]:
    """What a request asks, independent of how it travelled (see the module's docstring)."""
    content_type = event.headers.get("content-type") or ""
    query = event.multi_value_query_string_parameters or {}
    return {
        "method": event.http_method,
        "route": event.resource,
        "pathParameters": dict(sorted((event.path_parameters or {}).items())),
        "query": {name: sorted(values or []) for name, values in sorted(query.items())},
        "mediaType": content_type.split(";", 1)[0].strip().lower(),
        "body": _body_fingerprint(_body_bytes(event), content_type),
    }


def _body_bytes(event: APIGatewayProxyEvent) -> bytes:
    body = event.body or ""
    if not event.is_base64_encoded:
        return body.encode()
    try:
        return base64.b64decode(body)
    except binascii.Error:
        return body.encode()


def _body_fingerprint(body: bytes, content_type: str) -> Any:
    if not body:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == multipart.MULTIPART_MEDIA_TYPE:
        parts = multipart.form_parts(body, content_type)
        if parts:
            return [
                [name, file_name, part_type, _digest(content)]
                for name, file_name, part_type, content in parts
            ]
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            parsed = json.loads(body)
        except ValueError:
            return _digest(body)
        return _digest(json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode())
    return _digest(body)


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def get_idempotency_store() -> BasePersistenceLayer:
    """The Powertools persistence layer on the idempotency table, with the service's own client."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=get_settings().idempotency_table, boto3_client=aws.client("dynamodb")
    )
