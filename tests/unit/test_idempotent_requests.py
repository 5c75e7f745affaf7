"""What an Idempotency-Key's request is compared on: what it asks, not how it travelled."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from ingestion.idempotency import canonical_request
from tests.integration.harness import multipart_body

COLLECTION = "01jd3k7q9x0m5r2c8v4b6n1t3e"


def event(
    body: bytes | str | None,
    content_type: str = "application/json",
    *,
    resource: str = "/api/collection/{collectionId}/data/{dataType}/append",
    query: dict[str, list[str]] | None = None,
    request_id: str = "r1",
) -> APIGatewayProxyEvent:
    raw: dict[str, Any] = {
        "resource": resource,
        "path": f"/api/collection/{COLLECTION}/data/deals/append",
        "httpMethod": "POST",
        "headers": {"Content-Type": content_type},
        "multiValueQueryStringParameters": query,
        "pathParameters": {"collectionId": COLLECTION, "dataType": "deals"},
        "requestContext": {"requestId": request_id, "requestTimeEpoch": int(request_id[1:])},
        "isBase64Encoded": isinstance(body, bytes),
        "body": base64.b64encode(body).decode() if isinstance(body, bytes) else body,
    }
    return APIGatewayProxyEvent(raw)


def form(file: bytes, **fields: str) -> tuple[bytes, str]:
    return multipart_body(fields=fields, file=("deals.csv", file))


def test_a_multipart_body_sent_again_with_another_boundary_is_the_same_request():
    first, again = form(b"id\n1\n", separator=";"), form(b"id\n1\n", separator=";")
    assert first[1] != again[1]  # each send draws its own boundary

    assert canonical_request(event(*first)) == canonical_request(event(*again, request_id="r2"))


def test_a_multipart_body_with_another_file_or_field_is_another_request():
    base = canonical_request(event(*form(b"id\n1\n", separator=";")))

    assert canonical_request(event(*form(b"id\n2\n", separator=";"))) != base
    assert canonical_request(event(*form(b"id\n1\n", separator=","))) != base


def test_a_json_body_is_compared_on_its_content_not_its_spacing_or_key_order():
    first = canonical_request(event('{"name": "CRM", "tags": [1, 2]}'))

    assert canonical_request(event('{ "tags":[1,2],"name":"CRM" }')) == first
    assert canonical_request(event('{"name": "CRM", "tags": [2, 1]}')) != first


def test_another_route_query_or_media_type_is_another_request():
    first = canonical_request(event('{"a": 1}'))

    assert canonical_request(event('{"a": 1}', resource="/api/collection")) != first
    assert canonical_request(event('{"a": 1}', query={"limit": ["5"]})) != first
    assert canonical_request(event('{"a": 1}', "application/x-ndjson")) != first


def test_the_request_is_json_and_carries_no_raw_body():
    body = b"x" * 10_000
    request = canonical_request(event(body, "application/octet-stream"))

    text = json.dumps(request)
    assert len(text) < 1000
    assert request["body"] == __import__("hashlib").sha256(body).hexdigest()
