"""A local API Gateway (REST, v1) in front of the template's functions.

Three parts, each in a module of its own, all importable from here:

- ``local_stack.routes``: the API's definition read from the template (``api_from_template``):
  its stage, binary media types, TOKEN authorizers, API keys, gateway responses and routes;
- ``local_stack.api_events``: ``ApiGateway``, which turns an HTTP request into the proxy event
  API Gateway would send, runs the authorizer and the function in-process (throttling each API
  key as its usage plan does, ``local_stack.usage_plans``) and turns the proxy response back
  into HTTP; with ``local_stack.api_messages``, the requests, responses and Lambda answers it reads;
- ``local_stack.http_server``: ``GatewayServer``, which serves it over HTTP on the loopback
  interface with werkzeug's threaded server.
"""

from local_stack.api_events import API_PAYLOAD_LIMIT, LAMBDA_PAYLOAD_LIMIT, ApiGateway
from local_stack.api_messages import (
    AuthorizerResult,
    HttpRequest,
    HttpResponse,
    authorizer_result,
    local_error,
    policy_effect,
    proxy_response,
)
from local_stack.http_server import DRAIN_LIMIT, GatewayApp, GatewayServer
from local_stack.routes import (
    API_TYPES,
    ApiDefinition,
    GatewayResponse,
    Route,
    TokenAuthorizer,
    api_from_template,
)

__all__ = [
    "API_PAYLOAD_LIMIT",
    "API_TYPES",
    "DRAIN_LIMIT",
    "LAMBDA_PAYLOAD_LIMIT",
    "ApiDefinition",
    "ApiGateway",
    "AuthorizerResult",
    "GatewayApp",
    "GatewayResponse",
    "GatewayServer",
    "HttpRequest",
    "HttpResponse",
    "Route",
    "TokenAuthorizer",
    "api_from_template",
    "authorizer_result",
    "local_error",
    "policy_effect",
    "proxy_response",
]
