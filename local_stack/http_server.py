"""The local API Gateway over HTTP on the loopback interface, served by werkzeug's threaded server.

``GatewayApp`` is a WSGI application in front of an ``ApiGateway``. werkzeug's server parses
the request, de-chunks a ``Transfer-Encoding: chunked`` body and answers ``Expect:
100-continue``; the application reads the body, never more than API Gateway's 10 MB of it in
memory, and sends the gateway's answer. ``GatewayServer`` runs it in a background thread.

Every answer of the server's own is JSON in the API's error shape, as API Gateway's are: a body
over the limit gets the gateway's REQUEST_TOO_LARGE response (without "100 Continue" first, so a
client that waits for it never sends the body), and a request line or header the HTTP parser
refuses gets the answer of ``local_stack.malformed_requests`` instead of an HTML page.
werkzeug's server closes each connection after its answer: one request per connection.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream, get_input_stream

from local_stack.api_events import API_PAYLOAD_LIMIT, ApiGateway
from local_stack.api_messages import HttpRequest, HttpResponse, local_error
from local_stack.malformed_requests import HeaderLines, parse_error_message

log = logging.getLogger(__name__)

# A body over the limit and this size or smaller is read and dropped before the 413 is sent,
# so that a client still sending it reads the answer instead of a reset connection.
DRAIN_LIMIT = 64 * 1024 * 1024
_CHUNK = 64 * 1024
# What the request handler adds to the WSGI environ: the header lines as they were sent (the
# names' case, each repeated header apart, names with "_"), which the WSGI variables merge or
# drop; and whether a client waiting for "100 Continue" was refused it.
HEADERS_KEY = "local_stack.headers"
REFUSED_CONTINUE_KEY = "local_stack.refused_continue"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class _BodyTooLarge(Exception):
    """The body is over API Gateway's limit."""


class _BadRequest(Exception):
    """The body cannot be read as HTTP/1.1 frames it."""


class GatewayApp:
    """A WSGI application answering every request as the ``ApiGateway`` does."""

    def __init__(self, gateway: ApiGateway) -> None:
        self.gateway = gateway

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.monotonic()
        method = environ["REQUEST_METHOD"]
        target = request_target(environ)
        try:
            response = self._respond(environ, method, target)
        except Exception:
            log.exception("%s %s: the local API Gateway failed", method, target)
            response = local_error(500, "the local API Gateway failed on this request: its log says why")
        status = f"{response.status} {_reason(response.status)}".rstrip()
        start_response(status, [*response.headers, ("Content-Length", str(len(response.body)))])
        log.info("%s %s -> %d (%d ms)", method, target, response.status, (time.monotonic() - started) * 1000)
        return [] if method == "HEAD" else [response.body]

    def _respond(self, environ: dict[str, Any], method: str, target: str) -> HttpResponse:
        try:
            body = read_body(environ)
        except _BodyTooLarge:
            return self.gateway.too_large_response()
        except _BadRequest as error:
            return local_error(400, str(error))
        headers = environ.get(HEADERS_KEY)
        return self.gateway.handle(
            HttpRequest(
                method=method,
                target=target,
                headers=list(headers) if headers is not None else environ_headers(environ),
                body=body,
                source_ip=environ.get("REMOTE_ADDR") or "127.0.0.1",
            )
        )


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, never more than API Gateway's limit of it in memory.

    werkzeug's ``get_input_stream`` refuses a Content-Length over the limit before anything is
    read, stops a chunked body at the limit, and reports a body that ends early.
    """
    chunked = "wsgi.input_terminated" in environ  # werkzeug de-chunks the body itself
    declared = environ.get("CONTENT_LENGTH") or ""
    if not chunked and declared and not declared.strip().isdigit():
        raise _BadRequest(f"invalid Content-Length {declared!r}")
    raw = environ["wsgi.input"]
    try:
        stream = get_input_stream(environ, max_content_length=API_PAYLOAD_LIMIT)
    except RequestEntityTooLarge as error:  # the declared length is over the limit
        if environ.get(REFUSED_CONTINUE_KEY):
            raise _BodyTooLarge from error  # the client waits for a "100 Continue" that never comes
        length = int(declared)
        if length <= DRAIN_LIMIT:
            _discard(raw, length)
        raise _BodyTooLarge from error
    parts = []
    try:
        while not (isinstance(stream, LimitedStream) and stream.is_exhausted):
            part = stream.read(_CHUNK)
            if not part:
                return b"".join(parts)
            parts.append(part)
        if chunked and raw.read(1):  # more than the limit
            _discard(raw, DRAIN_LIMIT - API_PAYLOAD_LIMIT)
            raise _BodyTooLarge
    except (ClientDisconnected, OSError):
        raise _BadRequest(
            "malformed chunked body" if chunked else "the body ended before its Content-Length"
        ) from None
    return b"".join(parts)


def _discard(stream: Any, length: int) -> None:
    """Read and drop up to ``length`` bytes of the body."""
    try:
        while length > 0:
            part = stream.read(min(_CHUNK, length))
            if not part:
                return
            length -= len(part)
    except (ClientDisconnected, OSError):
        return  # the 413 stands whatever else the client sent


def request_target(environ: dict[str, Any]) -> str:
    """The path and query string as the request line had them, undecoded."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw is not None:
        # WSGI carries it as latin-1 text of its UTF-8 encoding; this undoes that.
        return str(raw).encode("latin-1").decode("utf-8")
    path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


def environ_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The request headers as the WSGI variables carry them (from a server that does not add
    the header lines as sent)."""
    headers = [
        (key[5:].replace("_", "-").title(), str(value))
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers.append((name, str(environ[key])))
    return headers


def _reason(status: int) -> str:
    return BaseHTTPRequestHandler.responses.get(status, ("",))[0]


class _RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "local-api-gateway"  # type: ignore[assignment]
    # A client that sends nothing for this long is disconnected, so stopping leaves nothing behind.
    timeout = 60
    _header_lines: HeaderLines | None = None
    _refused_continue = False

    def parse_request(self) -> bool:
        # The header lines are read through HeaderLines so that a refused one can be named.
        self._refused_continue = False
        self._header_lines = lines = HeaderLines(self.rfile)
        self.rfile = lines  # type: ignore[assignment]
        try:
            return super().parse_request()
        finally:
            self.rfile = lines.stream

    def handle_expect_100(self) -> bool:
        # werkzeug sends "100 Continue" as the request is handed to the application; a body
        # over the limit is refused instead, before the client sends it.
        declared = self.headers.get("Content-Length")
        if declared and declared.strip().isdigit() and int(declared) > API_PAYLOAD_LIMIT:
            del self.headers["Expect"]
            self._refused_continue = True
        return True

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[HEADERS_KEY] = list(self.headers.items())
        environ[REFUSED_CONTINUE_KEY] = self._refused_continue
        return environ

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer what the HTTP parsing refused in JSON, as every other error, instead of HTML."""
        lines = self._header_lines
        header = lines.header_name() if lines is not None else None
        text = parse_error_message(code, message, request_line=self.requestline, header=header)
        log.warning("refused a request from %s: %d %s", self.address_string(), code, text)
        self.close_connection = True
        # A request line that could not be read leaves the version at HTTP/0.9, whose answers
        # have no status line or headers: the client would see the bare body.
        self.request_version = self.protocol_version
        response = local_error(code, text)
        self.send_response(code)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # GatewayApp logs each request once it is answered

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class GatewayServer:
    """``ApiGateway`` served over HTTP on 127.0.0.1 in a background thread."""

    def __init__(self, gateway: ApiGateway, host: str = "127.0.0.1", port: int = 3000) -> None:
        self.gateway = gateway
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Listen, then serve; ``OSError`` if the port cannot be had."""
        # Bound here rather than by werkzeug, which would exit the process on a port in use.
        listener = socket.create_server((self.host, self.port), backlog=128)
        try:
            self._server = make_server(
                self.host,
                listener.getsockname()[1],
                GatewayApp(self.gateway),
                threaded=True,
                request_handler=_RequestHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # the server holds a duplicate of it
        self.port = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-api-gateway", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
