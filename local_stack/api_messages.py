"""HTTP requests and responses as the local API Gateway sees them, and the Lambda answers it reads.

``proxy_response`` turns a function's proxy response into HTTP (or refuses it as API Gateway
would), ``authorizer_result`` reads a TOKEN authorizer's answer and ``policy_effect`` evaluates
its policy against a method ARN. ``local_error`` is an answer of the gateway's own, in the API's
error shape ``{"message", "errors"}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

_PROXY_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


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
class AuthorizerResult:
    """What a TOKEN authorizer answered: its principal, policy, context and usage identifier."""

    principal_id: str
    policy: dict[str, Any]
    context: dict[str, str]
    usage_identifier_key: str | None = None


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


def authorizer_result(output: Any) -> AuthorizerResult:
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
    return AuthorizerResult(principal_id, policy, flat, usage_identifier_key or None)


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


def local_error(status: int, message: str) -> HttpResponse:
    """An answer of the gateway's own, in the API's error shape ``{"message", "errors"}``."""
    return HttpResponse(
        status=status,
        headers=[("Content-Type", "application/json")],
        body=json.dumps({"message": message, "errors": []}).encode(),
    )
