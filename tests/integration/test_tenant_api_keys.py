"""Each tenant's API key: issued with its tokens (make token), named by the authorizer, so that
API Gateway's usage plan throttles each tenant on its own."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import boto3
import pytest

from ingestion import aws
from ingestion.repositories.tokens import TokenRepository
from ingestion.tokens import Caller
from tests.integration.harness import Stack

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "create_token.py"


def create_token_script() -> Any:
    spec = importlib.util.spec_from_file_location("create_token", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def apigateway(stack: Stack) -> Any:
    return boto3.client("apigateway", endpoint_url=stack.endpoint)


@pytest.fixture
def usage_plan(apigateway: Any) -> str:
    return apigateway.create_usage_plan(
        name="tenants", throttle={"rateLimit": 10.0, "burstLimit": 20}, quota={"limit": 1000, "period": "DAY"}
    )["id"]


def issue(stack: Stack, usage_plan: str, tenant: str, token: str, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["--table", stack.names["TokensTable"], "--usage-plan", usage_plan, "--tenant", tenant]
    assert create_token_script().main([*arguments, "--token", token, "--endpoint-url", stack.endpoint]) == 0
    assert capsys.readouterr().out.strip() == token


def caller(stack: Stack, token: str) -> Caller:
    found = TokenRepository(aws.table(stack.names["TokensTable"])).caller_for(token)
    assert found is not None, token
    return found


def plan_keys(apigateway: Any, usage_plan: str) -> list[dict[str, Any]]:
    return apigateway.get_usage_plan_keys(usagePlanId=usage_plan)["items"]


def test_make_token_creates_the_tenants_api_key_in_the_usage_plan(
    stack: Stack, apigateway: Any, usage_plan: str, capsys: pytest.CaptureFixture[str]
):
    issue(stack, usage_plan, "acme", "acme-token-1", capsys)

    keys = [
        key for key in apigateway.get_api_keys(includeValues=True)["items"] if key["name"] == "ingestion-acme"
    ]
    assert len(keys) == 1
    assert [key["id"] for key in plan_keys(apigateway, usage_plan)] == [keys[0]["id"]]
    issued = caller(stack, "acme-token-1")
    assert (issued.tenant_id, issued.api_key) == ("acme", keys[0]["value"])


def test_a_tenants_tokens_share_one_api_key(
    stack: Stack, apigateway: Any, usage_plan: str, capsys: pytest.CaptureFixture[str]
):
    issue(stack, usage_plan, "acme", "acme-token-1", capsys)
    issue(stack, usage_plan, "acme", "acme-token-2", capsys)
    issue(stack, usage_plan, "globex", "globex-token", capsys)

    first, second, other = (
        caller(stack, token) for token in ("acme-token-1", "acme-token-2", "globex-token")
    )
    assert first.api_key == second.api_key != other.api_key
    assert len(plan_keys(apigateway, usage_plan)) == 2


def test_a_token_issued_before_its_tenant_had_a_key_gets_it(
    stack: Stack, usage_plan: str, capsys: pytest.CaptureFixture[str]
):
    tokens = TokenRepository(aws.table(stack.names["TokensTable"]))
    tokens.add("older-token", "acme")  # issued before the usage plan existed: no key

    issue(stack, usage_plan, "acme", "acme-token-1", capsys)

    older, newer = caller(stack, "older-token"), caller(stack, "acme-token-1")
    assert newer.api_key is not None
    assert older.api_key == newer.api_key


def test_the_authorizer_names_the_tenants_api_key_as_usage_identifier(
    stack: Stack, usage_plan: str, capsys: pytest.CaptureFixture[str]
):
    issue(stack, usage_plan, "acme", "acme-token-1", capsys)

    policy = stack.authorize("Token acme-token-1")

    assert policy["principalId"] == "acme"
    assert policy["usageIdentifierKey"] == caller(stack, "acme-token-1").api_key


def test_the_authorizer_names_no_usage_identifier_for_a_token_without_a_key(stack: Stack):
    policy = stack.authorize(f"Token {stack.token}")  # seeded without a key

    assert policy["principalId"] == "dev"
    assert "usageIdentifierKey" not in policy
