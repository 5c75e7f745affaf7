"""Requests the local API's HTTP server cannot parse are answered in JSON, over a real socket."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from local_stack.gateway import ApiGateway, GatewayServer


@pytest.fixture
def server(gateway: ApiGateway) -> Iterator[GatewayServer]:
    server = GatewayServer(gateway, port=0)
    server.start()
    yield server
    server.stop()


def exchange(server: GatewayServer, request: bytes) -> tuple[int, str | None, Any]:
    """Send raw bytes; the answer's status, Content-Type and JSON body."""
    with socket.create_connection((server.host, server.port), timeout=10) as connection:
        connection.sendall(request)
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, response.getheader("Content-Type"), json.loads(response.read())


def test_a_100_kb_authorization_header_gets_431_in_json_naming_the_header(server: GatewayServer) -> None:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request("GET", "/api/items/1", headers={"Authorization": "Token " + "x" * 100_000})
        response = connection.getresponse()

        assert response.status == 431
        assert response.getheader("Content-Type") == "application/json"
        assert json.loads(response.read()) == {
            "message": "request header too large: a header line may hold at most 65536 bytes; "
            "send a shorter Authorization header",
            "errors": [],
        }
    finally:
        connection.close()


def test_too_many_headers_get_431_in_json(server: GatewayServer) -> None:
    headers = b"".join(b"X-Header-%d: 1\r\n" % index for index in range(150))

    status, content_type, body = exchange(server, b"GET /api/items/1 HTTP/1.1\r\n" + headers + b"\r\n")

    assert (status, content_type) == (431, "application/json")
    assert body["message"].startswith("too many request headers: at most 100")


def test_a_request_line_over_64_kb_gets_414_in_json(server: GatewayServer) -> None:
    status, content_type, body = exchange(server, b"GET /api/items/" + b"1" * 70_000 + b" HTTP/1.1\r\n\r\n")

    assert (status, content_type) == (414, "application/json")
    assert "send a shorter URL" in body["message"]


def test_a_malformed_request_line_gets_400_in_json(server: GatewayServer) -> None:
    status, content_type, body = exchange(server, b"GET /api/items/1 HTTP/1.1 extra\r\n\r\n")

    assert (status, content_type) == (400, "application/json")
    assert body["message"].startswith("malformed request line 'GET /api/items/1 HTTP/1.1 extra'")


def test_a_method_http_does_not_know_gets_405_in_json_naming_the_accepted_ones(server: GatewayServer) -> None:
    status, content_type, body = exchange(server, b"BREW /api/items/1 HTTP/1.1\r\nHost: x\r\n\r\n")

    assert (status, content_type) == (405, "application/json")
    assert body["message"].startswith("no route for BREW /api/items/1")
    assert "accepts" in body["message"]


def test_http_2_gets_505_in_json(server: GatewayServer) -> None:
    status, content_type, body = exchange(server, b"GET /api/items/1 HTTP/2.0\r\n\r\n")

    assert (status, content_type) == (505, "application/json")
    assert body["message"].endswith("send HTTP/1.1")
