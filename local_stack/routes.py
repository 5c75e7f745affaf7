"""The REST API of the template: its stage, authorizers, gateway responses and routes.

``api_from_template`` reads the ``AWS::Serverless::Api`` (stage, binary media types, the TOKEN
authorizer, API keys, gateway responses) and every function's ``Api`` events into an
``ApiDefinition``; ``Route`` matches a request path as API Gateway does, literal segments first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from local_stack.template import Template, TemplateError

API_TYPES = ("AWS::Serverless::Api",)

# API Gateway's own status and message for each gateway response type it may send here.
RESPONSE_DEFAULTS: dict[str, tuple[int, str | None, str]] = {
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
