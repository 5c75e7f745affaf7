"""The local API over a real socket: bodies as HTTP/1.1 frames them, and the answers to bodies it refuses."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from local_stack.gateway import API_PAYLOAD_LIMIT, ApiGateway, GatewayApp, GatewayServer, HttpResponse

TOKEN = b"Authorization: Token good\r\n"


@pytest.fixture
def server(gateway: ApiGateway) -> Iterator[GatewayServer]:
    server = GatewayServer(gateway, port=0)
    server.start()
    yield server
    server.stop()


def exchange(server: GatewayServer, request: bytes) -> tuple[int, dict[str, str], Any]:
    """Send raw bytes; the answer's status, headers and JSON body."""
    with socket.create_connection((server.host, server.port), timeout=30) as connection:
        connection.sendall(request)
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, dict(response.getheaders()), json.loads(response.read())


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def test_a_chunked_body_reaches_the_function_with_every_header_as_sent(server: GatewayServer) -> None:
    request = (
        b"POST /api/items HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n" + TOKEN + b"Transfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\nX-Repeated: a\r\nX-Repeated: b\r\nx-with_underscore: 1\r\n\r\n"
        + chunked(b'{"name":', b' "chunked"}')
    )

    status, _, body = exchange(server, request)

    assert status == 200
    event = body["event"]
    assert event["body"] == '{"name": "chunked"}'
    assert event["multiValueHeaders"]["X-Repeated"] == ["a", "b"]
    assert event["headers"]["x-with_underscore"] == "1"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["domainName"] == "127.0.0.1:3000"


def test_the_raw_path_and_query_reach_the_event(server: GatewayServer) -> None:
    status, _, body = exchange(
        server, b"GET /v1/api/items/a%2Fb?x=1&x=2 HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"\r\n"
    )

    assert status == 200
    assert body["event"]["path"] == "/api/items/a%2Fb"
    assert body["event"]["pathParameters"] == {"itemId": "a/b"}
    assert body["event"]["multiValueQueryStringParameters"] == {"x": ["1", "2"]}


def test_a_chunked_body_over_10_mb_gets_the_request_too_large_response(server: GatewayServer) -> None:
    chunk = b"x" * (1024 * 1024)
    request = b"POST /api/items HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"Transfer-Encoding: chunked\r\n\r\n"

    status, _, body = exchange(server, request + chunked(*[chunk] * 11))

    assert status == 413
    assert body == {"message": "too big for API Gateway"}


def test_a_chunked_body_of_exactly_10_mb_is_accepted(server: GatewayServer) -> None:
    chunk = b"x" * (1024 * 1024)
    request = b"POST /api/items HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"Transfer-Encoding: chunked\r\n\r\n"

    status, _, body = exchange(server, request + chunked(*[chunk] * 10))

    # Past API Gateway's check, the event is then over Lambda's 6 MB.
    assert status == 413
    assert "Lambda's 6 MB" in body["message"]


def test_a_body_over_10_mb_with_its_length_declared_gets_413(server: GatewayServer) -> None:
    request = b"POST /api/items HTTP/1.1\r\nHost: h\r\n" + TOKEN
    request += b"Content-Length: %d\r\n\r\n" % (API_PAYLOAD_LIMIT + 1)

    status, _, body = exchange(server, request + b"x" * (API_PAYLOAD_LIMIT + 1))

    assert status == 413
    assert body == {"message": "too big for API Gateway"}


def test_a_client_waiting_for_100_continue_gets_413_instead_if_the_body_is_too_large(
    server: GatewayServer,
) -> None:
    request = b"POST /api/items HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"Expect: 100-continue\r\n"
    request += b"Content-Length: %d\r\n\r\n" % (API_PAYLOAD_LIMIT + 1)
    with socket.create_connection((server.host, server.port), timeout=10) as connection:
        connection.sendall(request)  # and never the body
        answer = connection.makefile("rb")

        assert answer.readline() == b"HTTP/1.1 413 Request Entity Too Large\r\n"


def test_a_client_waiting_for_100_continue_gets_it_then_an_answer(server: GatewayServer) -> None:
    payload = b'{"name": "after continue"}'
    request = b"POST /api/items HTTP/1.1\r\nHost: h\r\n" + TOKEN + b"Expect: 100-continue\r\n"
    request += b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(payload)
    with socket.create_connection((server.host, server.port), timeout=10) as connection:
        connection.sendall(request)
        answer = connection.makefile("rb")
        assert answer.readline() == b"HTTP/1.1 100 Continue\r\n"
        assert answer.readline() == b"\r\n"
        connection.sendall(payload)
        response = http.client.HTTPResponse(connection)
        response.begin()

        assert response.status == 200
        assert json.loads(response.read())["event"]["body"] == payload.decode()


@pytest.mark.parametrize(
    ("framing", "message"),
    [
        (b"Content-Length: ten\r\n\r\nxxxxxxxxxx", "invalid Content-Length 'ten'"),
        (b"Transfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n", "malformed chunked body"),
    ],
)
def test_a_body_that_cannot_be_read_gets_400_in_json(
    server: GatewayServer, framing: bytes, message: str
) -> None:
    status, headers, body = exchange(server, b"POST /api/items HTTP/1.1\r\nHost: h\r\n" + TOKEN + framing)

    assert (status, headers["Content-Type"]) == (400, "application/json")
    assert body == {"message": message, "errors": []}


def test_a_head_request_gets_the_headers_without_the_body(server: GatewayServer) -> None:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request("HEAD", "/api/nowhere")
        response = connection.getresponse()

        assert response.status == 404
        assert int(response.getheader("Content-Length")) > 0
        assert response.read() == b""
    finally:
        connection.close()


def test_the_application_answers_under_any_wsgi_server(gateway: ApiGateway) -> None:
    client = Client(GatewayApp(gateway))

    response = client.get(
        "/api/items/7?mode=echo", headers={"Authorization": "Token good", "X-Custom": "yes"}
    )

    assert response.status_code == 200
    event = response.get_json()["event"]
    assert (event["path"], event["headers"]["X-Custom"]) == ("/api/items/7", "yes")
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_a_failure_of_the_gateway_itself_is_answered_500_in_json(gateway: ApiGateway) -> None:
    def broken(request: object) -> HttpResponse:
        raise RuntimeError("a bug")

    gateway.handle = broken  # type: ignore[method-assign]

    response = Client(GatewayApp(gateway)).get("/api/items/1")

    assert response.status_code == 500
    assert response.get_json()["errors"] == []
    assert "failed" in response.get_json()["message"]
