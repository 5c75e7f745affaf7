"""A local API Gateway (REST, v1) in front of the template's functions.

``api_from_template`` reads the ``AWS::Serverless::Api`` (stage, binary media types, the TOKEN
authorizer, API keys, gateway responses) and every function's ``Api`` events. ``ApiGateway`` turns
an HTTP request into the proxy event API Gateway would send, runs the authorizer and the
function in-process, and turns the proxy response back into HTTP. A route that requires an API
key is refused without one, and counted against its key's usage plan when one is given
(``local_stack.usage_plans``). ``GatewayServer`` serves it over HTTP on the loopback interface
with the standard library's threading server.

Deliberate differences from API Gateway, for a clearer local experience:
- an unknown path answers 404 and a known path with another method 405, with a message
  naming the route (API Gateway answers 403 "Missing Authentication Token" to both);
- an event over Lambda's 6 MB payload limit answers 413 with a message saying so (API
  Gateway answers 413 ``{"message": "Request Too Long"}``);
- ``requestContext.domainName`` is the Host the request was sent to, so URLs a function
  builds from it lead back to the local server.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from local_stack.functions import INVOCATION_PAYLOAD_LIMIT, FunctionError, LambdaFunction
from local_stack.malformed_requests import HeaderLines, parse_error_message
from local_stack.template import StackContext, Template, TemplateError
from local_stack.usage_plans import UsagePlanThrottle

log = logging.getLogger(__name__)

API_TYPES = ("AWS::Serverless::Api",)
# API Gateway's request payload limit (10 MB) and Lambda's synchronous one (6 MB).
API_PAYLOAD_LIMIT = 10 * 1024 * 1024
LAMBDA_PAYLOAD_LIMIT = INVOCATION_PAYLOAD_LIMIT
# A rejected body this size or smaller is read and dropped, so that a client still sending it
# gets the 413 instead of a reset connection; a larger one closes the connection.
DRAIN_LIMIT = 64 * 1024 * 1024
_CHUNK = 64 * 1024

# API Gateway's own status and message for each gateway response type it may send here.
_RESPONSE_DEFAULTS: dict[str, tuple[int, str | None, str]] = {
    "UNAUTHORIZED": (401, "Unauthorized", "UnauthorizedException"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource", "AccessDeniedException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLargeException"),
    "AUTHORIZER_FAILURE": (500, None, "AuthorizerFailureException"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, None, "AuthorizerConfigurationException"),
    "INTEGRATION_FAILURE": (502, "Internal server error", "InternalServerErrorException"),
    "INVALID_API_KEY": (403, "Forbidden", "ForbiddenException"),
    "THROTTLED": (429, "Too Many Requests", "TooManyRequestsException"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded", "LimitExceededException"),
}
_PROXY_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
_CONTEXT_VARIABLE = re.compile(r"\$\{?context\.([A-Za-z0-9_.]*[A-Za-z0-9_])\}?")


# --------------------------------------------------------------------------- the API's definition


@dataclass(frozen=True)
class Route:
    """One method of one resource path, and the function behind it."""

    resource: str
    method: str
    function_id: str
    authorizer: str | None = None
    # The route counts against its caller's API key in the usage plan (Auth.ApiKeyRequired).
    api_key_required: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        return _route_pattern(self.resource)

    @property
    def specificity(self) -> tuple[int, ...]:
        """Sorts literal segments before parameters before greedy parameters, as API Gateway does."""
        return tuple(
            2 if segment.endswith("+}") else 1 if segment.startswith("{") else 0
            for segment in self.resource.strip("/").split("/")
        )

    def path_parameters(self, path: str) -> dict[str, str] | None:
        match = self.pattern.fullmatch(path)
        if match is None:
            return None
        names = re.findall(r"\{([^}+]+)\+?\}", self.resource)
        return {name: unquote(value) for name, value in zip(names, match.groups(), strict=True)}


@dataclass(frozen=True)
class TokenAuthorizer:
    """A Lambda TOKEN authorizer: the function and the header its token comes from."""

    name: str
    function_id: str
    header: str = "Authorization"
    ttl_seconds: int = 300
    validation_expression: str | None = None


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None = None
    template: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ApiDefinition:
    logical_id: str
    api_id: str
    stage: str
    binary_media_types: list[str] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    authorizers: dict[str, TokenAuthorizer] = field(default_factory=dict)
    gateway_responses: dict[str, GatewayResponse] = field(default_factory=dict)
    # Where a route that requires an API key finds it: the x-api-key header, or the authorizer's
    # usageIdentifierKey (ApiKeySourceType AUTHORIZER).
    api_key_source: str = "HEADER"


def api_from_template(template: Template, api_logical_id: str | None = None) -> ApiDefinition:
    """The REST API of the template, with the routes of every function's ``Api`` events."""
    apis = template.resources_of_type(*API_TYPES)
    if api_logical_id is None:
        if len(apis) > 1:
            raise TemplateError(f"several APIs in the template ({', '.join(apis)}): name the one to serve")
        api_logical_id = apis[0] if apis else None
    if api_logical_id is None:  # SAM's implicit API: no authorizer, stage Prod
        api = ApiDefinition("ServerlessRestApi", template.context.api_id, "Prod")
    else:
        properties = template.raw_properties(api_logical_id)
        api = ApiDefinition(
            logical_id=api_logical_id,
            api_id=str(template.ref(api_logical_id)),
            stage=str(template.resolve(properties["StageName"])),
            binary_media_types=[
                str(media_type).replace("~1", "/").lower()
                for media_type in template.resolve(properties.get("BinaryMediaTypes") or [])
            ],
            authorizers=_authorizers(template, properties.get("Auth") or {}),
            gateway_responses={
                response_type: _gateway_response(template.resolve(spec or {}))
                for response_type, spec in (properties.get("GatewayResponses") or {}).items()
            },
            api_key_source=str(template.resolve(properties.get("ApiKeySourceType", "HEADER"))),
        )
    default_authorizer = None
    api_key_required = False
    if api_logical_id is not None:
        api_auth = template.raw_properties(api_logical_id).get("Auth") or {}
        default_authorizer = api_auth.get("DefaultAuthorizer")
        api_key_required = _is_true(template.resolve(api_auth.get("ApiKeyRequired", False)))
    for function_id in template.resources_of_type("AWS::Serverless::Function"):
        for event in (template.raw_properties(function_id).get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            properties = event.get("Properties") or {}
            rest_api = properties.get("RestApiId")
            target = rest_api.get("Ref") if isinstance(rest_api, dict) else rest_api
            if target != api_logical_id:
                continue
            event_auth = properties.get("Auth") or {}
            authorizer = event_auth.get("Authorizer") or default_authorizer
            if authorizer == "NONE":
                authorizer = None
            if authorizer is not None and authorizer not in api.authorizers:
                raise TemplateError(f"{function_id}: authorizer {authorizer} is not defined on the API")
            method = str(template.resolve(properties["Method"])).upper()
            api.routes.append(
                Route(
                    resource=str(template.resolve(properties["Path"])),
                    method="ANY" if method == "ANY" else method,
                    function_id=function_id,
                    authorizer=authorizer,
                    api_key_required=_is_true(
                        template.resolve(event_auth.get("ApiKeyRequired", api_key_required))
                    ),
                )
            )
    return api


def _authorizers(template: Template, auth: dict[str, Any]) -> dict[str, TokenAuthorizer]:
    authorizers = {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        function_id = _authorizer_function(name, spec.get("FunctionArn"))
        payload_type = str(template.resolve(spec.get("FunctionPayloadType", "TOKEN")))
        if payload_type != "TOKEN":
            raise TemplateError(f"authorizer {name}: only TOKEN authorizers are emulated, not {payload_type}")
        identity = template.resolve(spec.get("Identity") or {})
        authorizers[name] = TokenAuthorizer(
            name=name,
            function_id=function_id,
            header=str(identity.get("Header", "Authorization")),
            ttl_seconds=int(identity.get("ReauthorizeEvery", 300)),
            validation_expression=identity.get("ValidationExpression"),
        )
    return authorizers


def _authorizer_function(name: str, function_arn: Any) -> str:
    """The function an authorizer's FunctionArn names: ``!GetAtt <Function>.Arn``, or its
    published version's alias, ``!Ref <Function>.Alias`` (run here as the function itself)."""
    if isinstance(function_arn, dict) and "Fn::GetAtt" in function_arn:
        target = function_arn["Fn::GetAtt"]
        return target.split(".")[0] if isinstance(target, str) else target[0]
    if isinstance(function_arn, dict) and str(function_arn.get("Ref", "")).endswith(".Alias"):
        return str(function_arn["Ref"]).split(".")[0]
    raise TemplateError(
        f"authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn or !Ref <Function>.Alias locally"
    )


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _gateway_response(spec: dict[str, Any]) -> GatewayResponse:
    templates = spec.get("ResponseTemplates") or {}
    template = templates.get("application/json", next(iter(templates.values()), None))
    headers = {
        name: str(value).strip("'")
        for name, value in ((spec.get("ResponseParameters") or {}).get("Headers") or {}).items()
    }
    status = spec.get("StatusCode")
    return GatewayResponse(
        status=int(status) if status is not None else None, template=template, headers=headers
    )


def _route_pattern(resource: str) -> re.Pattern[str]:
    parts = []
    for segment in resource.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append("(.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append("([^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts) + "/?")


# --------------------------------------------------------------------------- HTTP in and out


@dataclass
class HttpRequest:
    method: str
    target: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else None


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _AuthorizerResult:
    principal_id: str
    policy: dict[str, Any]
    context: dict[str, str]
    usage_identifier_key: str | None = None


class _Rejected(Exception):
    """Stops handling a request: carries the response to send instead."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


class ApiGateway:
    """API Gateway's request handling for one REST API, independent of any socket."""

    def __init__(
        self,
        api: ApiDefinition,
        functions: dict[str, LambdaFunction],
        context: StackContext | None = None,
        *,
        large_file_hint: str = "put the file into S3 instead",
        clock: Callable[[], float] = time.monotonic,
        usage_plan: UsagePlanThrottle | None = None,
    ) -> None:
        self.api = api
        self.functions = functions
        self.context = context or StackContext()
        self.large_file_hint = large_file_hint
        # Throttles each API key as the API's usage plan does; None admits every request.
        self.usage_plan = usage_plan
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, _AuthorizerResult]] = {}
        self._cache_lock = threading.Lock()
        missing = {route.function_id for route in api.routes} | {
            authorizer.function_id for authorizer in api.authorizers.values()
        }
        missing -= set(functions)
        if missing:
            raise TemplateError(f"the API refers to functions it was not given: {sorted(missing)}")

    # ----------------------------------------------------------------- entry point

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        path, _, query = request.target.partition("?")
        stage_prefix = f"/{self.api.stage}"
        if path == stage_prefix or path.startswith(stage_prefix + "/"):
            path = path[len(stage_prefix) :] or "/"
        try:
            route, path_parameters = self._route(request.method, path)
            if len(request.body) > API_PAYLOAD_LIMIT:
                raise _Rejected(self.gateway_response("REQUEST_TOO_LARGE", request_id))
            authorizer_context, usage_identifier_key = self._authorize(route, request, path, request_id)
            self._meter(route, request, usage_identifier_key, request_id)
            event = self.build_event(
                route, request, path, query, path_parameters, authorizer_context, request_id
            )
            self._check_event_size(event, request_id)
            return self._invoke(route, event, request_id)
        except _Rejected as rejected:
            return rejected.response

    def too_large_response(self) -> HttpResponse:
        """The answer to a body over API Gateway's 10 MB limit, sent before reading it."""
        return self.gateway_response("REQUEST_TOO_LARGE", str(uuid.uuid4()))

    # ----------------------------------------------------------------- routing

    def _route(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        matches = [(route, route.path_parameters(path)) for route in self.api.routes]
        matches = [(route, parameters) for route, parameters in matches if parameters is not None]
        if not matches:
            raise _Rejected(_local_error(404, f"no route for {method} {path}"))
        best = min(route.specificity for route, _ in matches)
        candidates = [(route, parameters) for route, parameters in matches if route.specificity == best]
        resource = candidates[0][0].resource
        same_resource = [(r, p) for r, p in candidates if r.resource == resource]
        for route, parameters in same_resource:
            if route.method == method:
                return route, parameters
        for route, parameters in same_resource:
            if route.method == "ANY":
                return route, parameters
        allowed = sorted({route.method for route, _ in same_resource})
        response = _local_error(405, f"no route for {method} {path}: {resource} accepts {', '.join(allowed)}")
        response.headers.append(("Allow", ", ".join(allowed)))
        raise _Rejected(response)

    # ----------------------------------------------------------------- authorizer

    def method_arn(self, method: str, path: str) -> str:
        ctx = self.context
        return (
            f"arn:{ctx.partition}:execute-api:{ctx.region}:{ctx.account_id}:"
            f"{self.api.api_id}/{self.api.stage}/{method}/{path.lstrip('/')}"
        )

    def _authorize(
        self, route: Route, request: HttpRequest, path: str, request_id: str
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The authorizer's context for the event, and the usage identifier it named."""
        if route.authorizer is None:
            return None, None
        authorizer = self.api.authorizers[route.authorizer]
        token = request.header(authorizer.header)
        if not token or (
            authorizer.validation_expression and not re.fullmatch(authorizer.validation_expression, token)
        ):
            raise _Rejected(self.gateway_response("UNAUTHORIZED", request_id))
        method_arn = self.method_arn(request.method, path)
        started = self._clock()
        result = self._cached(authorizer, token)
        if result is None:
            result = self._run_authorizer(authorizer, token, method_arn, request_id)
            if authorizer.ttl_seconds > 0:
                with self._cache_lock:
                    self._cache[(authorizer.name, token)] = (self._clock() + authorizer.ttl_seconds, result)
        latency = int((self._clock() - started) * 1000)
        # A cached policy is evaluated against each request's own method ARN, as API Gateway does.
        effect = policy_effect(result.policy, method_arn)
        if effect != "Allow":
            raise _Rejected(
                self.gateway_response(
                    "ACCESS_DENIED",
                    request_id,
                    message=(
                        "User is not authorized to access this resource with an explicit deny"
                        if effect == "Deny"
                        else None
                    ),
                )
            )
        context = {**result.context, "principalId": result.principal_id, "integrationLatency": latency}
        return context, result.usage_identifier_key

    def _meter(
        self, route: Route, request: HttpRequest, usage_identifier_key: str | None, request_id: str
    ) -> None:
        """A route that requires an API key: refuse a request without one (403), then count it
        against its key's usage plan (429 over the rate or the quota)."""
        if not route.api_key_required:
            return
        if self.api.api_key_source == "AUTHORIZER":
            api_key = usage_identifier_key
        else:
            api_key = request.header("x-api-key")
        if not api_key:
            raise _Rejected(self.gateway_response("INVALID_API_KEY", request_id))
        refused = self.usage_plan.admit(api_key) if self.usage_plan is not None else None
        if refused is not None:
            raise _Rejected(self.gateway_response(refused, request_id))

    def _cached(self, authorizer: TokenAuthorizer, token: str) -> _AuthorizerResult | None:
        with self._cache_lock:
            entry = self._cache.get((authorizer.name, token))
            if entry is None:
                return None
            expires, result = entry
            if self._clock() >= expires:
                del self._cache[(authorizer.name, token)]
                return None
            return result

    def _run_authorizer(
        self, authorizer: TokenAuthorizer, token: str, method_arn: str, request_id: str
    ) -> _AuthorizerResult:
        event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        try:
            output = self.functions[authorizer.function_id].invoke(event)
        except FunctionError as error:
            if error.error_message == "Unauthorized":
                raise _Rejected(self.gateway_response("UNAUTHORIZED", request_id)) from error
            raise _Rejected(self.gateway_response("AUTHORIZER_FAILURE", request_id)) from error
        try:
            return _authorizer_result(output)
        except ValueError as error:
            log.error("%s returned an invalid authorizer response: %s", authorizer.function_id, error)
            raise _Rejected(self.gateway_response("AUTHORIZER_CONFIGURATION_ERROR", request_id)) from error

    # ----------------------------------------------------------------- the proxy event

    def build_event(
        self,
        route: Route,
        request: HttpRequest,
        path: str,
        query: str,
        path_parameters: dict[str, str],
        authorizer_context: dict[str, Any] | None,
        request_id: str,
    ) -> dict[str, Any]:
        """The REST API (payload 1.0) proxy event API Gateway sends the function."""
        headers = list(request.headers)
        host = request.header("Host") or "127.0.0.1"
        forwarded_for = request.header("X-Forwarded-For")
        headers = [(k, v) for k, v in headers if k.lower() not in ("x-forwarded-for", "x-forwarded-proto")]
        headers += [
            (
                "X-Forwarded-For",
                f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip,
            ),
            ("X-Forwarded-Proto", "http"),
        ]
        if request.header("X-Forwarded-Port") is None:
            headers.append(("X-Forwarded-Port", host.rpartition(":")[2] if ":" in host else "80"))
        if request.header("X-Amzn-Trace-Id") is None:
            headers.append(("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"))
        single_headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in headers:
            single_headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query_pairs = parse_qsl(query, keep_blank_values=True)
        multi_query: dict[str, list[str]] = {}
        for name, value in query_pairs:
            multi_query.setdefault(name, []).append(value)

        body: str | None = None
        is_base64 = False
        if request.body:
            if self.is_binary(request.header("Content-Type")):
                body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
            else:
                body = request.body.decode("utf-8", errors="replace")
        now = datetime.now(UTC)
        return {
            "resource": route.resource,
            "path": path,
            "httpMethod": request.method,
            "headers": single_headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": _resource_id(route.resource),
                "resourcePath": route.resource,
                "httpMethod": request.method,
                "extendedRequestId": request_id,
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": f"/{self.api.stage}{path}",
                "accountId": self.context.account_id,
                "protocol": "HTTP/1.1",
                "stage": self.api.stage,
                "domainPrefix": self.api.api_id,
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "requestId": request_id,
                "identity": {
                    "cognitoIdentityPoolId": None,
                    "accountId": None,
                    "cognitoIdentityId": None,
                    "caller": None,
                    "sourceIp": request.source_ip,
                    "principalOrgId": None,
                    "accessKey": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "userArn": None,
                    "userAgent": request.header("User-Agent"),
                    "user": None,
                },
                "domainName": host,
                "apiId": self.api.api_id,
                **({"authorizer": authorizer_context} if authorizer_context is not None else {}),
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def is_binary(self, content_type: str | None) -> bool:
        """Whether a request of this Content-Type reaches the function base64-encoded."""
        if not content_type:
            return False
        media_type = content_type.split(";")[0].strip().lower()
        kind = media_type.split("/")[0]
        return any(binary in (media_type, "*/*", f"{kind}/*") for binary in self.api.binary_media_types)

    def _check_event_size(self, event: dict[str, Any], request_id: str) -> None:
        size = len(json.dumps(event).encode())
        if size <= LAMBDA_PAYLOAD_LIMIT:
            return
        message = (
            f"request too large for Lambda: it becomes a {size:,}-byte event, over Lambda's 6 MB "
            f"({LAMBDA_PAYLOAD_LIMIT:,}-byte) limit on a synchronous invocation's request payload. "
            "API Gateway passes a file on base64-encoded, a third larger, so send at most about "
            f"4.5 MB of file per request, or {self.large_file_hint}."
        )
        response = _local_error(413, message)
        response.headers.append(("x-amzn-RequestId", request_id))
        raise _Rejected(response)

    # ----------------------------------------------------------------- the function

    def _invoke(self, route: Route, event: dict[str, Any], request_id: str) -> HttpResponse:
        try:
            result = self.functions[route.function_id].invoke(event)
        except FunctionError:
            return self.gateway_response("INTEGRATION_FAILURE", request_id)
        try:
            response = proxy_response(result)
        except ValueError as error:
            log.error("%s: malformed Lambda proxy response: %s", route.function_id, error)
            return self.gateway_response("INTEGRATION_FAILURE", request_id)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    # ----------------------------------------------------------------- gateway responses

    def gateway_response(
        self, response_type: str, request_id: str, *, message: str | None = None
    ) -> HttpResponse:
        """The response API Gateway sends itself, customised by the API's GatewayResponses."""
        default_status, default_message, error_type = _RESPONSE_DEFAULTS[response_type]
        message = message if message is not None else default_message
        family = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
        specific = self.api.gateway_responses.get(response_type)
        fallback = self.api.gateway_responses.get(family)
        status = (specific and specific.status) or (fallback and fallback.status) or default_status
        template = (specific and specific.template) or (fallback and fallback.template)
        headers = {**((fallback and fallback.headers) or {}), **((specific and specific.headers) or {})}
        variables = {
            "requestId": request_id,
            "extendedRequestId": request_id,
            "apiId": self.api.api_id,
            "stage": self.api.stage,
            "error.message": message or "",
            "error.messageString": json.dumps(message),
            "error.responseType": response_type,
        }
        if template is None:
            body = json.dumps({"message": message, "errors": []})
        else:
            body = _CONTEXT_VARIABLE.sub(lambda match: str(variables.get(match.group(1), "")), template)
        return HttpResponse(
            status=status,
            headers=[
                ("Content-Type", "application/json"),
                ("x-amzn-RequestId", request_id),
                ("x-amzn-ErrorType", error_type),
                *headers.items(),
            ],
            body=body.encode(),
        )


def policy_effect(policy: dict[str, Any], method_arn: str) -> str | None:
    """``Deny`` if a statement denies the method ARN, else ``Allow`` if one allows it, else None."""
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    effects = set()
    for statement in statements:
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        if any(_wildcard_match(action, "execute-api:Invoke") for action in actions) and any(
            _wildcard_match(resource, method_arn) for resource in resources
        ):
            effects.add(statement.get("Effect"))
    if "Deny" in effects:
        return "Deny"
    return "Allow" if "Allow" in effects else None


def proxy_response(result: Any) -> HttpResponse:
    """The HTTP response for a function's proxy response; ValueError if API Gateway would reject it."""
    if not isinstance(result, dict):
        raise ValueError(f"the response is a {type(result).__name__}, not an object")
    unexpected = set(result) - _PROXY_RESPONSE_KEYS
    if unexpected:
        raise ValueError(f"unexpected fields {sorted(unexpected)}")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, (int, str)) or not str(status).isdigit():
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError(f"body is a {type(body).__name__}, not a string")
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    multi_names = {name.lower() for name in multi}
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in multi_names:
            headers.append((name, _header_value(value)))
    for name, values in multi.items():
        headers.extend((name, _header_value(value)) for value in _as_list(values))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    if result.get("isBase64Encoded") and body:
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise ValueError("isBase64Encoded is true but the body is not base64") from error
    else:
        payload = (body or "").encode()
    return HttpResponse(status=int(status), headers=headers, body=payload)


def _authorizer_result(output: Any) -> _AuthorizerResult:
    if not isinstance(output, dict):
        raise ValueError("the response is not an object")
    principal_id = output.get("principalId")
    policy = output.get("policyDocument")
    if not isinstance(principal_id, str) or not principal_id:
        raise ValueError("principalId is missing")
    if not isinstance(policy, dict) or "Statement" not in policy:
        raise ValueError("policyDocument with a Statement is missing")
    context = output.get("context") or {}
    if not isinstance(context, dict):
        raise ValueError("context is not an object")
    flat = {}
    for key, value in context.items():
        if value is None or isinstance(value, (dict, list)):
            raise ValueError(f"context value {key} must be a string, number or boolean")
        # REST APIs hand the function every context value as a string.
        flat[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    usage_identifier_key = output.get("usageIdentifierKey")
    if usage_identifier_key is not None and not isinstance(usage_identifier_key, str):
        raise ValueError("usageIdentifierKey is not a string")
    return _AuthorizerResult(principal_id, policy, flat, usage_identifier_key or None)


def _wildcard_match(pattern: Any, value: str) -> bool:
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in str(pattern))
    return re.fullmatch(regex, value) is not None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _resource_id(resource: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, resource).hex[:6]


def _local_error(status: int, message: str) -> HttpResponse:
    """An answer of the gateway's own, in the API's error shape ``{"message", "errors"}``."""
    return HttpResponse(
        status=status,
        headers=[("Content-Type", "application/json")],
        body=json.dumps({"message": message, "errors": []}).encode(),
    )


# --------------------------------------------------------------------------- the HTTP server


class _BodyTooLarge(Exception):
    """The body is over API Gateway's limit."""


class _BadRequest(Exception):
    """The body cannot be read as HTTP/1.1 frames it."""


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "local-api-gateway"
    # An idle keep-alive connection is closed after this, so stopping the server leaves nothing behind.
    timeout = 60
    server: _HttpServer
    _header_lines: HeaderLines | None = None

    def handle_expect_100(self) -> bool:
        # A client that waits for "100 Continue" learns of a body over the limit before sending it.
        declared = self.headers.get("Content-Length")
        if declared and declared.strip().isdigit() and int(declared) > API_PAYLOAD_LIMIT:
            self.close_connection = True
            self._send(self.server.gateway.too_large_response())
            return False
        return super().handle_expect_100()

    def parse_request(self) -> bool:
        # The header lines are read through HeaderLines so that a refused one can be named.
        self._header_lines = lines = HeaderLines(self.rfile)
        self.rfile = lines  # type: ignore[assignment]
        try:
            return super().parse_request()
        finally:
            self.rfile = lines.stream

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
        self._send(_local_error(code, text))

    def _dispatch(self) -> None:
        started = time.monotonic()
        try:
            body = self._read_body()
        except _BodyTooLarge:
            self._send(self.server.gateway.too_large_response())
            return
        except _BadRequest as error:
            self.close_connection = True
            self._send(_local_error(400, str(error)))
            return
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        response = self.server.gateway.handle(request)
        self._send(response)
        log.info(
            "%s %s -> %d (%d ms)",
            self.command,
            self.path,
            response.status,
            (time.monotonic() - started) * 1000,
        )

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, or one HTTP never heard of) is routed too, and answered 405
        # with the methods the path accepts (or 404), never the standard library's 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _read_body(self) -> bytes:
        """The request body, never more than API Gateway's limit of it in memory."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        declared = self.headers.get("Content-Length")
        if not declared:
            return b""
        if not declared.strip().isdigit():
            raise _BadRequest(f"invalid Content-Length {declared!r}")
        length = int(declared)
        if length > API_PAYLOAD_LIMIT:
            self._discard(length)
            raise _BodyTooLarge
        body = self.rfile.read(length)
        if len(body) < length:
            raise _BadRequest("the body ended before its Content-Length")
        return body

    def _read_chunked(self) -> bytes:
        body = bytearray()
        received = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise _BadRequest("malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            received += size
            if received > DRAIN_LIMIT:
                self.close_connection = True
                raise _BodyTooLarge
            chunk = self.rfile.read(size)
            self.rfile.readline(16)
            if received <= API_PAYLOAD_LIMIT:
                body += chunk
            else:
                body.clear()  # over the limit: keep reading to answer cleanly, keep nothing
        if received > API_PAYLOAD_LIMIT:
            raise _BodyTooLarge
        return bytes(body)

    def _discard(self, length: int) -> None:
        if length > DRAIN_LIMIT:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(_CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _dispatch logs each request once it is answered

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], gateway: ApiGateway) -> None:
        self.gateway = gateway
        super().__init__(address, _RequestHandler)


class GatewayServer:
    """``ApiGateway`` served over HTTP on 127.0.0.1 in a background thread."""

    def __init__(self, gateway: ApiGateway, host: str = "127.0.0.1", port: int = 3000) -> None:
        self.gateway = gateway
        self.host = host
        self.port = port
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._server = _HttpServer((self.host, self.port), self.gateway)
        self.port = self._server.server_address[1]
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
