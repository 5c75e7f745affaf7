"""API Gateway's handling of one request to a REST API, independent of any socket.

``ApiGateway`` turns an ``HttpRequest`` into the proxy event API Gateway would send, runs the
authorizer and the function in-process, and turns the proxy response back into an
``HttpResponse``. A route that requires an API key is refused without one, and counted against
its key's usage plan when one is given (``local_stack.usage_plans``).

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
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from local_stack.api_messages import (
    AuthorizerResult,
    HttpRequest,
    HttpResponse,
    authorizer_result,
    local_error,
    policy_effect,
    proxy_response,
)
from local_stack.functions import INVOCATION_PAYLOAD_LIMIT, FunctionError, LambdaFunction
from local_stack.routes import RESPONSE_DEFAULTS, ApiDefinition, Route, TokenAuthorizer
from local_stack.stack_context import StackContext
from local_stack.template import TemplateError
from local_stack.usage_plans import UsagePlanThrottle

log = logging.getLogger(__name__)

# API Gateway's request payload limit (10 MB) and Lambda's synchronous one (6 MB).
API_PAYLOAD_LIMIT = 10 * 1024 * 1024
LAMBDA_PAYLOAD_LIMIT = INVOCATION_PAYLOAD_LIMIT

_CONTEXT_VARIABLE = re.compile(r"\$\{?context\.([A-Za-z0-9_.]*[A-Za-z0-9_])\}?")


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
        self._cache: dict[tuple[str, str], tuple[float, AuthorizerResult]] = {}
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
            raise _Rejected(local_error(404, f"no route for {method} {path}"))
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
        response = local_error(405, f"no route for {method} {path}: {resource} accepts {', '.join(allowed)}")
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

    def _cached(self, authorizer: TokenAuthorizer, token: str) -> AuthorizerResult | None:
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
    ) -> AuthorizerResult:
        event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        try:
            output = self.functions[authorizer.function_id].invoke(event)
        except FunctionError as error:
            if error.error_message == "Unauthorized":
                raise _Rejected(self.gateway_response("UNAUTHORIZED", request_id)) from error
            raise _Rejected(self.gateway_response("AUTHORIZER_FAILURE", request_id)) from error
        try:
            return authorizer_result(output)
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
        response = local_error(413, message)
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
        default_status, default_message, error_type = RESPONSE_DEFAULTS[response_type]
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


def _resource_id(resource: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, resource).hex[:6]
