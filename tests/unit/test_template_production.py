"""What template.yaml deploys for production: per-tenant limits, access logs, alarms, SnapStart.

Read as CloudFormation reads it (short-form tags in their long form); nothing is deployed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local_stack.cloudformation_yaml import load_document
from tests.conftest import make_settings

TEMPLATE = load_document(Path(__file__).resolve().parents[2] / "template.yaml")
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
API = RESOURCES["IngestionApi"]["Properties"]
API_FUNCTIONS = ("AuthorizerFunction", "EntryFunction", "StatusFunction")


def properties(logical_id: str) -> dict[str, Any]:
    return RESOURCES[logical_id]["Properties"]


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in RESOURCES.items() if spec["Type"] == kind}


def alarm_metrics(alarm: dict[str, Any]) -> set[tuple[str, str]]:
    """(namespace, metric) of every metric an alarm watches, alone or in metric math."""
    found = set()
    if "MetricName" in alarm:
        found.add((alarm["Namespace"], alarm["MetricName"]))
    for query in alarm.get("Metrics", []):
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            found.add((metric["Namespace"], metric["MetricName"]))
    return found


def alarm_dimension_refs(alarm: dict[str, Any]) -> set[str]:
    """The resources the alarm's dimensions name."""
    dimensions = list(alarm.get("Dimensions", []))
    for query in alarm.get("Metrics", []):
        dimensions += query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
    refs = set()
    for dimension in dimensions:
        value = dimension["Value"]
        if isinstance(value, dict):
            target = value.get("Ref") or value.get("Fn::GetAtt", [None])[0]
            refs.add(target)
    return refs


# --------------------------------------------------------------------------- access logs


def test_access_log_format_is_json_with_request_tenant_status_and_latency():
    setting = API["AccessLogSetting"]

    fields = json.loads(setting["Format"])

    assert fields["requestId"] == "$context.requestId"
    assert fields["tenant"] == "$context.authorizer.principalId"
    assert fields["tenantId"] == "$context.authorizer.tenantId"
    assert fields["status"] == "$context.status"
    assert fields["responseLatency"] == "$context.responseLatency"
    assert "$context.identity.apiKey" not in fields.values()  # the key's value is never logged


def test_access_logs_go_to_their_own_log_group_with_retention():
    destination = API["AccessLogSetting"]["DestinationArn"]

    assert destination == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert properties("ApiAccessLogGroup")["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_api_gateway_has_the_account_role_it_writes_logs_with():
    account = RESOURCES["ApiGatewayAccount"]

    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayLoggingRole", "Arn"]}
    assert RESOURCES["IngestionApi"]["DependsOn"] == "ApiGatewayAccount"


# --------------------------------------------------------------------------- per-tenant limits


def test_usage_plan_throttles_the_api_stage_with_the_templates_parameters():
    plan = properties("TenantUsagePlan")

    assert plan["ApiStages"] == [{"ApiId": {"Ref": "IngestionApi"}, "Stage": {"Ref": "IngestionApi.Stage"}}]
    assert plan["Throttle"] == {
        "RateLimit": {"Ref": "TenantRateLimit"},
        "BurstLimit": {"Ref": "TenantBurstLimit"},
    }
    assert plan["Quota"] == {"Limit": {"Ref": "TenantDailyQuota"}, "Period": "DAY"}
    for parameter in ("TenantRateLimit", "TenantBurstLimit", "TenantDailyQuota"):
        assert TEMPLATE["Parameters"][parameter]["Type"] == "Number"


def test_every_route_needs_the_tenants_api_key_from_the_authorizer_but_the_api_description():
    assert API["ApiKeySourceType"] == "AUTHORIZER"
    assert API["Auth"]["ApiKeyRequired"] is True
    public = {
        event["Properties"]["Path"]
        for spec in of_type("AWS::Serverless::Function").values()
        for event in (spec["Properties"].get("Events") or {}).values()
        if event["Type"] == "Api" and (event["Properties"].get("Auth") or {}).get("ApiKeyRequired") is False
    }
    assert public == {"/api/openapi.json", "/api/docs"}


@pytest.mark.parametrize(
    ("response_type", "retry_after"), [("THROTTLED", "'1'"), ("QUOTA_EXCEEDED", "'3600'")]
)
def test_over_limit_answers_429_with_retry_after_and_the_error_body(response_type: str, retry_after: str):
    response = API["GatewayResponses"][response_type]

    assert response["StatusCode"] == 429
    assert response["ResponseParameters"]["Headers"]["Retry-After"] == retry_after
    body = json.loads(response["ResponseTemplates"]["application/json"])
    assert body["errors"] == []
    assert body["message"]


def test_the_authorizer_is_called_through_its_published_alias():
    authorizer = API["Auth"]["Authorizers"]["TokenAuthorizer"]

    assert authorizer["FunctionArn"] == {"Ref": "AuthorizerFunction.Alias"}


# --------------------------------------------------------------------------- concurrency, queues


def test_validator_concurrency_is_a_parameter_its_queue_never_exceeds():
    validator = properties("ValidatorFunction")

    assert validator["ReservedConcurrentExecutions"] == {"Ref": "ValidatorReservedConcurrency"}
    scaling = validator["Events"]["IngestQueue"]["Properties"]["ScalingConfig"]
    assert scaling["MaximumConcurrency"] == {"Ref": "ValidatorReservedConcurrency"}
    assert TEMPLATE["Parameters"]["ValidatorReservedConcurrency"]["MinValue"] >= 2  # SQS's minimum


@pytest.mark.parametrize("queue", ["IngestQueue", "IngestDeadLetterQueue"])
def test_queues_state_their_server_side_encryption(queue: str):
    assert properties(queue)["SqsManagedSseEnabled"] is True


# --------------------------------------------------------------------------- the validator's limits

# What a file takes of the validator's /tmp at its peak, per byte of file: the benchmark's ~1 GB
# deals CSV (case 4) kept 0.97 bytes of Arrow rows per byte, and the merge's parts as much again.
MEASURED_DISK_PER_FILE_BYTE = 1.94
MEASURED_KEPT_PER_FILE_BYTE = 0.97


def validator_limits() -> tuple[int, int, int]:
    """The validator's /tmp in bytes ("MB" counted as the smaller unit), its default file size
    limit and its cap on kept rows on disk, in bytes."""
    validator = properties("ValidatorFunction")
    disk = validator["EphemeralStorage"]["Size"] * 10**6
    limit = TEMPLATE["Parameters"]["MaxDecompressedMiB"]["Default"] << 20
    cap = int(validator["Environment"]["Variables"]["KEPT_ROWS_ON_DISK_MIB"]) << 20
    return disk, limit, cap


def test_the_validators_settings_default_to_the_templates_values():
    settings = make_settings()
    _, limit, cap = validator_limits()

    assert settings.max_decompressed_bytes == limit == 1024 << 20
    assert settings.kept_rows_on_disk_mib << 20 == cap


def test_the_validators_local_disk_holds_a_file_at_the_default_limit_and_the_kept_rows_at_their_cap():
    disk, limit, cap = validator_limits()

    # A file at the limit takes a fifth of the disk: room for files four times denser once typed.
    assert 4 * MEASURED_DISK_PER_FILE_BYTE * limit < disk
    # Rows at the cap, the merge's parts as much again, and a GiB to spare.
    assert 2 * cap + (1 << 30) < disk
    # A file at the limit keeps less than half the cap: only files far denser once typed reach it.
    assert 2 * MEASURED_KEPT_PER_FILE_BYTE * limit < cap


# --------------------------------------------------------------------------- SnapStart


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_api_functions_run_published_versions_with_snapstart(function: str):
    spec = properties(function)

    assert spec["AutoPublishAlias"] == "live"
    assert spec["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert "EphemeralStorage" not in spec  # SnapStart takes at most the default 512 MB


# --------------------------------------------------------------------------- alarms


def test_alarms_watch_dead_letters_validator_errors_and_throttles_api_5xx_and_queue_age():
    watched = {
        name: (alarm_metrics(spec["Properties"]), alarm_dimension_refs(spec["Properties"]))
        for name, spec in of_type("AWS::CloudWatch::Alarm").items()
    }

    expected = {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): "IngestDeadLetterQueue",
        ("AWS/Lambda", "Errors"): "ValidatorFunction",
        ("AWS/Lambda", "Throttles"): "ValidatorFunction",
        ("AWS/ApiGateway", "5XXError"): None,
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"): "IngestQueue",
    }
    for metric, resource in expected.items():
        alarms = [name for name, (metrics, refs) in watched.items() if metric in metrics]
        assert alarms, f"no alarm watches {metric}"
        if resource is not None:
            assert any(resource in watched[name][1] for name in alarms), (metric, resource)


def test_every_alarm_notifies_the_one_topic():
    topics = of_type("AWS::SNS::Topic")
    assert list(topics) == ["AlarmTopic"]

    for name, spec in of_type("AWS::CloudWatch::Alarm").items():
        assert spec["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name


def test_the_alarm_email_is_optional():
    subscription = RESOURCES["AlarmEmailSubscription"]

    assert subscription["Condition"] == "HasAlarmEmail"
    assert TEMPLATE["Parameters"]["AlarmEmail"]["Default"] == ""
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


# --------------------------------------------------------------------------- checkov


def test_every_skipped_security_check_says_why():
    for name, spec in RESOURCES.items():
        for skip in ((spec.get("Metadata") or {}).get("checkov") or {}).get("skip") or []:
            assert skip["id"].startswith("CKV"), name
            assert len(skip.get("comment", "")) > 20, f"{name} skips {skip['id']} without a reason"
