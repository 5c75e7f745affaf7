"""The local API Gateway's API keys and usage plans: each tenant's key throttled on its own, 429s."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from local_stack_stubs import write_project

from local_stack.config import LocalStackConfig
from local_stack.functions import functions_from_template
from local_stack.gateway import ApiGateway, HttpRequest, HttpResponse, api_from_template
from local_stack.stack_context import StackContext
from local_stack.template import Template, TemplateError
from local_stack.usage_plans import (
    QUOTA_EXCEEDED,
    THROTTLED,
    UsageLimits,
    UsagePlanThrottle,
    local_usage_limits,
    usage_limits_from_template,
)

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Rate:
    Type: Number
    Default: 2
  Burst:
    Type: Number
    Default: 3
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      ApiKeySourceType: AUTHORIZER
      Auth:
        ApiKeyRequired: true
        DefaultAuthorizer: Tokens
        Authorizers:
          Tokens:
            FunctionArn: !Ref AuthorizerFunction.Alias
      GatewayResponses:
        THROTTLED:
          StatusCode: 429
          ResponseParameters:
            Headers:
              Retry-After: "'1'"
          ResponseTemplates:
            application/json: '{"message": "slow down", "errors": []}'
        QUOTA_EXCEEDED:
          StatusCode: 429
          ResponseParameters:
            Headers:
              Retry-After: "'3600'"
          ResponseTemplates:
            application/json: '{"message": "quota used up", "errors": []}'
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      ApiStages:
        - ApiId: !Ref Api
          Stage: !Ref Api.Stage
      Throttle:
        RateLimit: !Ref Rate
        BurstLimit: !Ref Burst
      Quota:
        Limit: 5
        Period: DAY
  AuthorizerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/authorizer/
      Handler: app.lambda_handler
      Runtime: python3.12
      AutoPublishAlias: live
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/echo/
      Handler: app.lambda_handler
      Runtime: python3.12
      Events:
        GetItem:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /api/items
            Method: get
        Docs:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /api/docs
            Method: get
            Auth:
              Authorizer: NONE
              ApiKeyRequired: false
"""

# "Token <tenant>" acts for that tenant, whose API key is "key-<tenant>"; "Token keyless" has none.
AUTHORIZER = """
def lambda_handler(event, context):
    tenant = event["authorizationToken"].split()[-1]
    output = {
        "principalId": tenant,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}],
        },
        "context": {"tenantId": tenant},
    }
    if tenant != "keyless":
        output["usageIdentifierKey"] = "key-" + tenant
    return output
"""

ECHO = """
def lambda_handler(event, context):
    return {"statusCode": 200, "body": "{}"}
"""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Calendar:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 23, 59, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def template(tmp_path: Path) -> Template:
    return Template.load(write_project(tmp_path, TEMPLATE, {"authorizer": AUTHORIZER, "echo": ECHO}))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def calendar() -> Calendar:
    return Calendar()


@pytest.fixture
def gateway(template: Template, clock: Clock, calendar: Calendar) -> ApiGateway:
    limits = usage_limits_from_template(template, "Api")
    assert limits is not None
    return ApiGateway(
        api_from_template(template),
        functions_from_template(template),
        template.context,
        usage_plan=UsagePlanThrottle(limits, clock=clock, today=calendar),
    )


def get(gateway: ApiGateway, tenant: str = "acme", path: str = "/api/items") -> HttpResponse:
    return gateway.handle(HttpRequest("GET", path, [("Authorization", f"Token {tenant}")]))


def statuses(gateway: ApiGateway, count: int, tenant: str = "acme") -> list[int]:
    return [get(gateway, tenant).status for _ in range(count)]


# --------------------------------------------------------------------------- the template


def test_routes_require_the_api_key_unless_their_event_says_otherwise(template: Template):
    api = api_from_template(template)

    assert api.api_key_source == "AUTHORIZER"
    assert {route.resource: route.api_key_required for route in api.routes} == {
        "/api/items": True,
        "/api/docs": False,
    }


def test_an_authorizer_given_as_its_functions_alias_runs_that_function(template: Template):
    assert api_from_template(template).authorizers["Tokens"].function_id == "AuthorizerFunction"


def test_sam_reference_properties_resolve_locally(template: Template):
    assert template.ref("AuthorizerFunction.Alias").endswith(
        ":function:ingestion-local-AuthorizerFunction:live"
    )
    assert template.ref("Api.Stage") == "v1"
    with pytest.raises(TemplateError, match="AutoPublishAlias"):
        template.ref("EchoFunction.Alias")


def test_the_usage_plan_limits_come_from_the_template_and_its_parameters(tmp_path: Path):
    path = write_project(tmp_path, TEMPLATE, {"authorizer": AUTHORIZER, "echo": ECHO})
    overridden = Template.load(path, StackContext(parameter_overrides={"Rate": "7"}))

    assert usage_limits_from_template(overridden, "Api") == UsageLimits(rate=7, burst=3, quota=5)


def test_local_throttle_is_off_unless_asked_for(template: Template):
    assert local_usage_limits(None, template, "Api") is None
    assert local_usage_limits("off", template, "Api") is None
    assert local_usage_limits("template", template, "Api") == UsageLimits(rate=2, burst=3, quota=5)
    assert local_usage_limits("rate=5,burst=10", template, "Api") == UsageLimits(rate=5, burst=10)
    assert local_usage_limits("rate=1,burst=1,quota=9", template, "Api") == UsageLimits(1, 1, 9)


@pytest.mark.parametrize("setting", ["rate=5", "burst=2", "rate=x,burst=1", "rate=0,burst=1", "speed=1"])
def test_a_malformed_local_throttle_is_refused(template: Template, setting: str):
    with pytest.raises(ValueError, match=r"LOCAL_THROTTLE|usage plan"):
        local_usage_limits(setting, template, "Api")


# --------------------------------------------------------------------------- the token bucket


def test_a_key_gets_its_burst_then_is_throttled(clock: Clock):
    throttle = UsagePlanThrottle(UsageLimits(rate=1, burst=3), clock=clock)

    assert [throttle.admit("a") for _ in range(4)] == [None, None, None, THROTTLED]


def test_the_bucket_refills_at_the_rate(clock: Clock):
    throttle = UsagePlanThrottle(UsageLimits(rate=2, burst=2), clock=clock)
    assert [throttle.admit("a") for _ in range(3)] == [None, None, THROTTLED]

    clock.now += 0.5  # one token at 2 a second

    assert [throttle.admit("a") for _ in range(2)] == [None, THROTTLED]


def test_each_key_has_a_bucket_of_its_own(clock: Clock):
    throttle = UsagePlanThrottle(UsageLimits(rate=1, burst=1), clock=clock)

    assert [throttle.admit("a"), throttle.admit("a"), throttle.admit("b")] == [None, THROTTLED, None]


def test_the_quota_counts_admitted_requests_until_the_next_day(clock: Clock, calendar: Calendar):
    throttle = UsagePlanThrottle(UsageLimits(rate=1, burst=2, quota=3), clock=clock, today=calendar)
    assert [throttle.admit("a") for _ in range(3)] == [None, None, THROTTLED]  # 2 admitted
    clock.now += 10
    assert [throttle.admit("a") for _ in range(2)] == [None, QUOTA_EXCEEDED]

    calendar.now = datetime(2026, 11, 29, 0, 1, tzinfo=UTC)

    assert throttle.admit("a") is None


# --------------------------------------------------------------------------- through the gateway


def test_a_request_over_the_tenants_rate_is_answered_429_with_retry_after(gateway: ApiGateway):
    assert statuses(gateway, 3) == [200, 200, 200]

    refused = get(gateway)

    assert refused.status == 429
    assert refused.header("Retry-After") == "1"
    assert refused.json() == {"message": "slow down", "errors": []}


def test_one_tenant_over_its_rate_does_not_slow_another(gateway: ApiGateway):
    assert statuses(gateway, 4, "acme")[-1] == 429

    assert statuses(gateway, 3, "globex") == [200, 200, 200]


def test_a_request_over_the_tenants_daily_quota_is_answered_429(gateway: ApiGateway, clock: Clock):
    assert statuses(gateway, 3) == [200, 200, 200]
    clock.now += 60
    assert statuses(gateway, 2) == [200, 200]  # 5 of the 5 a day

    refused = get(gateway)

    assert refused.status == 429
    assert refused.header("Retry-After") == "3600"
    assert refused.json() == {"message": "quota used up", "errors": []}


def test_a_route_that_needs_no_key_is_not_counted(gateway: ApiGateway):
    docs = [get(gateway, path="/api/docs").status for _ in range(10)]

    assert docs == [200] * 10
    assert statuses(gateway, 3) == [200, 200, 200]


def test_a_token_without_an_api_key_is_refused_403(gateway: ApiGateway):
    refused = get(gateway, "keyless")

    assert refused.status == 403
    assert refused.json()["message"] == "Forbidden"


def test_without_a_usage_plan_nothing_is_throttled(template: Template):
    gateway = ApiGateway(api_from_template(template), functions_from_template(template), template.context)

    assert statuses(gateway, 20) == [200] * 20
    assert get(gateway, "keyless").status == 403  # the key is still required


def test_local_throttle_is_read_from_the_environment_and_off_by_default():
    assert LocalStackConfig.from_environment({}).throttle is None
    configured = LocalStackConfig.from_environment({"LOCAL_THROTTLE": "rate=5,burst=10"})

    assert configured.throttle == "rate=5,burst=10"
