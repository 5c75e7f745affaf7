"""The local API Gateway: HTTP request -> proxy event -> function -> HTTP response, without sockets."""

from __future__ import annotations

import base64

from local_stack.gateway import (
    API_PAYLOAD_LIMIT,
    ApiGateway,
    HttpRequest,
    HttpResponse,
    api_from_template,
    policy_effect,
)
from local_stack.template import Template

GOOD = [("Authorization", "Token good"), ("Host", "127.0.0.1:3000"), ("User-Agent", "pytest")]


def echoed_event(response: HttpResponse) -> dict:
    assert response.status == 200, response.body
    return response.json()["event"]


def authorizer_calls(gateway: ApiGateway) -> list[dict]:
    return gateway.functions["AuthorizerFunction"].load().__globals__["CALLS"]


# --------------------------------------------------------------------------- the API's definition


def test_api_definition_reads_routes_stage_and_binary_types(api_template: Template) -> None:
    api = api_from_template(api_template)

    assert api.stage == "v1"
    assert api.binary_media_types == ["multipart/form-data", "application/octet-stream"]
    assert {(route.method, route.resource, route.authorizer) for route in api.routes} == {
        ("GET", "/api/items/{itemId}", "Tokens"),
        ("GET", "/api/items/{itemId}/parts/{partId}", "Tokens"),
        ("POST", "/api/items", "Tokens"),
        ("GET", "/api/public", None),
    }
    assert api.authorizers["Tokens"].function_id == "AuthorizerFunction"
    assert api.authorizers["Tokens"].ttl_seconds == 300


# --------------------------------------------------------------------------- the event


def test_event_carries_resource_path_and_path_parameters(gateway: ApiGateway) -> None:
    event = echoed_event(gateway.handle(HttpRequest("GET", "/api/items/a%20b/parts/7", GOOD)))

    assert event["resource"] == "/api/items/{itemId}/parts/{partId}"
    assert event["path"] == "/api/items/a%20b/parts/7"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"itemId": "a b", "partId": "7"}
    assert event["stageVariables"] is None
    context = event["requestContext"]
    assert context["resourcePath"] == "/api/items/{itemId}/parts/{partId}"
    assert context["stage"] == "v1"
    assert context["path"] == "/v1/api/items/a%20b/parts/7"
    assert context["httpMethod"] == "GET"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "pytest"
    assert context["accountId"] == "123456789012"
    assert context["requestId"]


def test_routes_are_served_under_the_stage_too(gateway: ApiGateway) -> None:
    event = echoed_event(gateway.handle(HttpRequest("GET", "/v1/api/items/42", GOOD)))

    assert event["path"] == "/api/items/42"
    assert event["pathParameters"] == {"itemId": "42"}


def test_query_strings_are_single_and_multi_valued(gateway: ApiGateway) -> None:
    event = echoed_event(gateway.handle(HttpRequest("GET", "/api/items/1?tag=a&tag=b&q=x%20y&empty=", GOOD)))

    assert event["queryStringParameters"] == {"tag": "b", "q": "x y", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "q": ["x y"], "empty": [""]}


def test_absent_query_and_body_are_null(gateway: ApiGateway) -> None:
    event = echoed_event(gateway.handle(HttpRequest("GET", "/api/items/1", GOOD)))

    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_headers_are_single_and_multi_valued(gateway: ApiGateway) -> None:
    headers = [*GOOD, ("X-Tag", "a"), ("X-Tag", "b")]

    event = echoed_event(gateway.handle(HttpRequest("GET", "/api/items/1", headers)))

    assert event["headers"]["X-Tag"] == "b"
    assert event["multiValueHeaders"]["X-Tag"] == ["a", "b"]
    assert event["headers"]["Authorization"] == "Token good"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"


def test_json_body_arrives_as_text(gateway: ApiGateway) -> None:
    request = HttpRequest("POST", "/api/items", [*GOOD, ("Content-Type", "application/json")], b'{"a": 1}')

    event = echoed_event(gateway.handle(request))

    assert event["body"] == '{"a": 1}'
    assert event["isBase64Encoded"] is False


def test_binary_media_type_body_arrives_base64_encoded(gateway: ApiGateway) -> None:
    content_type = ("Content-Type", "multipart/form-data; boundary=xyz")
    payload = b"--xyz\r\n\x00\xff binary\r\n--xyz--"

    event = echoed_event(gateway.handle(HttpRequest("POST", "/api/items", [*GOOD, content_type], payload)))

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_function_gets_a_lambda_context(gateway: ApiGateway) -> None:
    response = gateway.handle(HttpRequest("GET", "/api/items/1", GOOD))

    assert response.json()["functionName"] == "ingestion-local-EchoFunction"
    assert 0 < response.json()["remainingMillis"] <= 20_000


# --------------------------------------------------------------------------- routing errors


def test_unknown_path_answers_404_naming_it_in_the_error_shape(gateway: ApiGateway) -> None:
    response = gateway.handle(HttpRequest("GET", "/api/nothing", GOOD))

    assert response.status == 404
    assert response.json() == {"message": "no route for GET /api/nothing", "errors": []}


def test_known_path_with_another_method_answers_405(gateway: ApiGateway) -> None:
    response = gateway.handle(HttpRequest("DELETE", "/api/items/1", GOOD))

    assert response.status == 405
    assert response.header("Allow") == "GET"


# --------------------------------------------------------------------------- the authorizer


def test_missing_token_answers_the_unauthorized_gateway_response(gateway: ApiGateway) -> None:
    response = gateway.handle(HttpRequest("GET", "/api/items/1", [("Host", "x")]))

    assert response.status == 401
    assert response.json() == {"message": "who are you?"}
    assert authorizer_calls(gateway) == []


def test_authorizer_raising_unauthorized_answers_401(gateway: ApiGateway) -> None:
    response = gateway.handle(HttpRequest("GET", "/api/items/1", [("Authorization", "Token unknown")]))

    assert response.status == 401
    assert response.json() == {"message": "who are you?"}


def test_authorizer_gets_a_token_event_with_the_method_arn(gateway: ApiGateway) -> None:
    gateway.handle(HttpRequest("GET", "/v1/api/items/1", GOOD))

    assert authorizer_calls(gateway) == [
        {
            "type": "TOKEN",
            "authorizationToken": "Token good",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:local00api/v1/GET/api/items/1",
        }
    ]


def test_denying_policy_answers_the_access_denied_gateway_response(gateway: ApiGateway) -> None:
    response = gateway.handle(HttpRequest("GET", "/api/items/1", [("Authorization", "Token deny")]))

    assert response.status == 403
    assert response.json() == {"message": "not for you"}


def test_allowing_policy_passes_its_context_as_strings(gateway: ApiGateway) -> None:
    event = echoed_event(gateway.handle(HttpRequest("GET", "/api/items/1", GOOD)))

    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "tenant-a"
    assert authorizer["tenantId"] == "tenant-a"
    assert authorizer["admin"] == "true"
    assert authorizer["quota"] == "5"
    assert isinstance(authorizer["integrationLatency"], int)


def test_route_without_authorizer_skips_it(gateway: ApiGateway) -> None:
    event = echoed_event(gateway.handle(HttpRequest("GET", "/api/public")))

    assert "authorizer" not in event["requestContext"]
    assert authorizer_calls(gateway) == []


def test_authorizer_result_is_cached_per_token(gateway: ApiGateway) -> None:
    gateway.handle(HttpRequest("GET", "/api/items/1", GOOD))
    gateway.handle(HttpRequest("GET", "/api/items/2", GOOD))

    assert len(authorizer_calls(gateway)) == 1


def test_cached_authorizer_result_expires_after_reauthorize_every(gateway: ApiGateway, clock) -> None:
    gateway.handle(HttpRequest("GET", "/api/items/1", GOOD))
    clock.now += 301

    gateway.handle(HttpRequest("GET", "/api/items/1", GOOD))

    assert len(authorizer_calls(gateway)) == 2


def test_cached_policy_is_evaluated_against_each_method_arn(gateway: ApiGateway) -> None:
    # The policy names only the first request's method ARN, as a too-narrow authorizer would.
    narrow = [("Authorization", "Token narrow")]
    first = gateway.handle(HttpRequest("GET", "/api/items/1", narrow))

    second = gateway.handle(HttpRequest("GET", "/api/items/2", narrow))

    assert first.status == 200
    assert second.status == 403


def test_authorizer_crash_answers_500_from_the_default_5xx_template(gateway: ApiGateway) -> None:
    response = gateway.handle(HttpRequest("GET", "/api/items/1", [("Authorization", "Token boom")]))

    assert response.status == 500
    request_id = response.header("x-amzn-RequestId")
    assert response.json() == {"message": f"failed; report {request_id}"}


# --------------------------------------------------------------------------- the function's response


def test_response_merges_headers_and_multi_value_headers(gateway: ApiGateway) -> None:
    response = gateway.handle(HttpRequest("GET", "/api/items/1", GOOD))

    assert ("X-Single", "one") in response.headers
    assert ("Set-Cookie", "a=1") in response.headers
    assert ("Set-Cookie", "b=2") in response.headers
    assert [value for name, value in response.headers if name == "X-Both"] == ["multi"]


def test_base64_encoded_response_is_decoded(gateway: ApiGateway) -> None:
    response = gateway.handle(HttpRequest("GET", "/api/items/1?mode=binary", GOOD))

    assert response.status == 200
    assert response.body == bytes(range(256))


def test_function_error_answers_502_from_the_default_5xx_template(gateway: ApiGateway) -> None:
    response = gateway.handle(HttpRequest("GET", "/api/items/1?mode=raise", GOOD))

    assert response.status == 502
    assert response.json()["message"].startswith("failed; report ")


def test_malformed_proxy_response_answers_502(gateway: ApiGateway) -> None:
    response = gateway.handle(HttpRequest("GET", "/api/items/1?mode=malformed", GOOD))

    assert response.status == 502


# --------------------------------------------------------------------------- payload limits


def test_body_over_api_gateway_limit_answers_request_too_large(gateway: ApiGateway) -> None:
    body = b"x" * (API_PAYLOAD_LIMIT + 1)

    response = gateway.handle(HttpRequest("POST", "/api/items", GOOD, body))

    assert response.status == 413
    assert response.json() == {"message": "too big for API Gateway"}


def test_event_over_lambda_limit_answers_413_naming_lambdas_limit(gateway: ApiGateway) -> None:
    # 5 MB of binary body is 6.7 MB once base64-encoded: under API Gateway's limit, over Lambda's.
    headers = [*GOOD, ("Content-Type", "application/octet-stream")]

    response = gateway.handle(HttpRequest("POST", "/api/items", headers, b"\x00" * 5_000_000))

    assert response.status == 413
    message = response.json()["message"]
    assert "Lambda's 6 MB" in message
    assert "4.5 MB" in message
    assert "s3://bucket/incoming/" in message


# --------------------------------------------------------------------------- policies


def test_policy_allows_a_matching_wildcard_resource() -> None:
    policy = {
        "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:*/v1/GET/*"}]
    }

    assert policy_effect(policy, "arn:aws:execute-api:r:1:api/v1/GET/api/items") == "Allow"
    assert policy_effect(policy, "arn:aws:execute-api:r:1:api/v1/POST/api/items") is None


def test_policy_explicit_deny_wins_over_allow() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": ["execute-api:Invoke"], "Resource": ["arn:*/POST/*"]},
        ]
    }

    assert policy_effect(policy, "arn:aws:execute-api:r:1:api/v1/POST/api/items") == "Deny"
