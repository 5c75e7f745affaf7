"""``make invoke FUNCTION=... EVENT=...``: one function run once on a sample event, on a throwaway
AWS endpoint or on the one of a running ``make run``; every sample event in events/ runs as shipped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local_stack import StackContext, Template, api_from_template
from tests.conftest import free_port
from tests.integration.running_service import ROOT, Service, running_service

# Which function each sample event is for; a new event needs a line here (and in the README's table).
EVENTS = {
    "append_request.json": "EntryFunction",
    "append_rows_json.json": "EntryFunction",
    "authorizer.json": "AuthorizerFunction",
    "create_collection.json": "EntryFunction",
    "dead_letter_s3_put.json": "DeadLetterFunction",
    "declare_data_type.json": "EntryFunction",
    "delete_collection.json": "EntryFunction",
    "delete_data_type.json": "TablesFunction",
    "export_request.json": "EntryFunction",
    "get_collection.json": "StatusFunction",
    "get_data_type.json": "StatusFunction",
    "get_export.json": "StatusFunction",
    "get_rows.json": "TablesFunction",
    "get_validation_errors.json": "StatusFunction",
    "list_collections.json": "StatusFunction",
    "list_upload_requests.json": "StatusFunction",
    "maintenance_schedule.json": "MaintenanceFunction",
    "s3_put.json": "ValidatorFunction",
    "sqs_export.json": "ExportFunction",
    "sqs_purge.json": "PurgeFunction",
    "sqs_s3_put.json": "ValidatorFunction",
    "status_request.json": "StatusFunction",
    "upload_expiry_schedule.json": "UploadExpiryFunction",
    "upload_url_request.json": "EntryFunction",
}
NOT_EVENTS = {"deals.csv", "local-env.json"}
MAKE = shutil.which("make") or "make"


def make_invoke(*arguments: str, aws_port: int | None = None) -> subprocess.CompletedProcess[str]:
    """``make invoke ...``; ``-o`` keeps make from rebuilding the virtualenv this test runs in."""
    environment = os.environ | {"AWS_PORT": str(aws_port or free_port())}
    environment.pop("MAKEFLAGS", None)
    return subprocess.run(  # noqa: S603 (our own command line)
        [MAKE, "--no-print-directory", "-o", ".venv/.installed", "invoke", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )


def module_invoke(function: str, event: str, aws_port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own command line)
        [sys.executable, "-m", "local_stack.invoke", function, event],
        cwd=ROOT,
        env=os.environ | {"AWS_PORT": str(aws_port)},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_every_sample_event_has_its_function():
    shipped = {path.name for path in (ROOT / "events").iterdir() if path.is_file()}
    assert shipped - NOT_EVENTS == set(EVENTS)
    # An API event's function is the one the template routes its method and resource to.
    api = api_from_template(Template.load(ROOT / "template.yaml", StackContext()))
    routes = {(route.method, route.resource): route.function_id for route in api.routes}
    for name, function in EVENTS.items():
        event = json.loads((ROOT / "events" / name).read_text())
        if "httpMethod" in event:
            assert routes[(event["httpMethod"], event["resource"])] == function, name


# --------------------------------------------------------------------------- a throwaway endpoint


def test_make_invoke_prints_the_handlers_response_as_json_on_a_throwaway_endpoint():
    result = make_invoke("FUNCTION=StatusFunction", "EVENT=events/list_collections.json")

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)  # nothing but the response on stdout
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"items": [], "nextToken": None}
    assert "throwaway" in result.stderr


def test_make_invoke_answers_404_for_a_route_on_the_sample_collection():
    result = make_invoke("FUNCTION=StatusFunction", "EVENT=events/get_collection.json")

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 404
    assert "01jd3k7q9x0m5r2c8v4b6n1t3e" in json.loads(response["body"])["message"]


def test_make_invoke_authorizes_the_dev_token():
    result = make_invoke("FUNCTION=AuthorizerFunction", "EVENT=events/authorizer.json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["context"] == {"tenantId": "dev"}


def test_make_invoke_fails_when_the_handler_raises(tmp_path: Path):
    event = tmp_path / "not_an_sqs_batch.json"
    event.write_text("{}")

    result = make_invoke("FUNCTION=PurgeFunction", f"EVENT={event}")

    assert result.returncode != 0
    assert json.loads(result.stdout)["errorType"] == "UnexpectedBatchTypeError"
    assert "PurgeFunction raised UnexpectedBatchTypeError" in result.stderr


def test_make_invoke_of_an_unknown_function_exits_2_listing_the_functions():
    result = make_invoke("FUNCTION=StatusFn", "EVENT=events/list_collections.json")
    direct = module_invoke("StatusFn", "events/list_collections.json", free_port())

    assert (result.returncode, direct.returncode) == (2, 2)
    assert "unknown function 'StatusFn'" in result.stderr
    for function in set(EVENTS.values()):
        assert f"  {function}\n" in result.stderr


def test_make_invoke_of_a_missing_event_exits_2():
    result = make_invoke("FUNCTION=StatusFunction", "EVENT=events/no_such_event.json")

    assert result.returncode == 2
    assert "event file events/no_such_event.json does not exist" in result.stderr


def test_make_invoke_without_function_and_event_prints_its_usage():
    result = make_invoke()

    assert result.returncode == 2
    assert (
        "usage: make invoke FUNCTION=<logical id in template.yaml> EVENT=events/<file>.json" in result.stderr
    )
    assert "  StatusFunction\n" in result.stderr


# --------------------------------------------------------------------------- a running make run


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    # The sample events' token (dev-token) acts for the sample events' tenant (dev) here too.
    with running_service(DEV_TOKENS="dev-token=dev") as running:
        yield running


def aws_port(service: Service) -> int:
    return int(service.aws_endpoint.rsplit(":", 1)[1])


def test_make_invoke_uses_the_running_stack(service: Service):
    result = make_invoke(
        "FUNCTION=EntryFunction", "EVENT=events/create_collection.json", aws_port=aws_port(service)
    )

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 201
    collection_id = json.loads(response["body"])["id"]
    # The collection is in the running stack's table: its API finds it.
    found = requests.get(f"{service.url}/api/collection/{collection_id}", headers=service.headers, timeout=30)
    assert found.status_code == 200, found.text
    assert found.json()["name"] == "CRM deals"
    assert "(make run)" in result.stderr


@pytest.mark.parametrize(("event", "function"), sorted(EVENTS.items()))
def test_every_sample_event_runs_as_shipped(service: Service, event: str, function: str):
    result = module_invoke(function, f"events/{event}", aws_port(service))

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    if "httpMethod" in json.loads((ROOT / "events" / event).read_text()):
        # Routes on the sample collection answer 404 (it does not exist); the others succeed.
        assert response["statusCode"] in (200, 201, 202, 404), response
        if response["statusCode"] == 404:
            assert "does not exist" in json.loads(response["body"])["message"]
