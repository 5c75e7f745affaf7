"""``python -m local_stack.invoke`` on a small template of its own: what reaches the handler, what
reaches stdout, the exit statuses, and which AWS endpoint it uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from local_stack.resources import LOCAL_CREDENTIALS, create_resources
from local_stack.stack_context import StackContext
from local_stack.template import Template
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
    Default: hello
Globals:
  Function:
    Runtime: python3.12
    Timeout: 20
    Layers:
      - !Ref HelperLayer
    Environment:
      Variables:
        NOTES_TABLE: !Ref NotesTable
        GREETING: !Sub "${Greeting} from ${AWS::Region}"
Resources:
  NotesTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: id, AttributeType: S}
      KeySchema:
        - {AttributeName: id, KeyType: HASH}
  HelperLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.handler
      Environment:
        Variables:
          OWN: own-value
  FailingFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: failing/
      Handler: app.handler
"""

ECHO = """\
import os
import sys

import boto3
import helper

print("a line the handler prints")
print("and one it writes to fd 1", file=sys.__stdout__, flush=True)


def handler(event, context):
    print("printed during the invocation")
    table = boto3.resource("dynamodb").Table(os.environ["NOTES_TABLE"])
    table.put_item(Item={"id": event["id"], "function": context.function_name})
    variables = ("NOTES_TABLE", "GREETING", "OWN", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID")
    return {"event": event, "helper": helper.NAME, "env": {name: os.environ.get(name) for name in variables}}
"""

FAILING = """\
def handler(event, context):
    raise ValueError("the handler failed on purpose")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    for name, code in (("echo", ECHO), ("failing", FAILING)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(code)
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "layer" / "python" / "helper.py").write_text('NAME = "from the layer"\n')
    (tmp_path / "event.json").write_text(json.dumps({"id": "n1"}))
    return tmp_path


def invoke(project: Path, *arguments: str, aws_port: int | None = None) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {
        "LOCAL_STACK_TEMPLATE": str(project / "template.yaml"),
        "AWS_PORT": str(aws_port or free_port()),  # nothing listens there: a throwaway server
        "AWS_REGION": "eu-west-1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "shared")]),
    }
    return subprocess.run(  # noqa: S603 (our own command line)
        [sys.executable, "-m", "local_stack.invoke", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_response_alone_is_printed_as_json_and_the_handler_sees_its_template_environment(project: Path):
    result = invoke(project, "EchoFunction", str(project / "event.json"))

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["event"] == {"id": "n1"}
    assert response["helper"] == "from the layer"
    env = response["env"]
    assert (env["NOTES_TABLE"], env["GREETING"], env["OWN"]) == (
        "ingestion-local-NotesTable",
        "hello from eu-west-1",
        "own-value",
    )
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    for line in ("a line the handler prints", "and one it writes to fd 1", "printed during the invocation"):
        assert line in result.stderr
    assert "throwaway" in result.stderr


def test_a_handler_that_raises_exits_1_with_lambdas_error(project: Path):
    result = invoke(project, "FailingFunction", str(project / "event.json"))

    assert result.returncode == 1
    assert json.loads(result.stdout) == {
        "errorType": "ValueError",
        "errorMessage": "the handler failed on purpose",
    }
    assert "FailingFunction raised ValueError: the handler failed on purpose" in result.stderr
    assert "Traceback" in result.stderr


def test_an_unknown_function_exits_2_listing_the_templates_functions(project: Path):
    result = invoke(project, "NoSuchFunction", str(project / "event.json"))

    assert result.returncode == 2
    assert result.stdout == ""
    assert "unknown function 'NoSuchFunction'" in result.stderr
    assert "  EchoFunction\n  FailingFunction" in result.stderr


def test_a_missing_or_unreadable_event_exits_2(project: Path):
    missing = invoke(project, "EchoFunction", str(project / "nope.json"))
    (project / "broken.json").write_text("{not json")
    broken = invoke(project, "EchoFunction", str(project / "broken.json"))
    no_event = invoke(project, "EchoFunction")

    assert (missing.returncode, broken.returncode, no_event.returncode) == (2, 2, 2)
    assert f"event file {project / 'nope.json'} does not exist" in missing.stderr
    assert "is not JSON" in broken.stderr
    assert "EVENT missing" in no_event.stderr


def test_list_prints_the_functions(project: Path):
    result = invoke(project, "--list")

    assert (result.returncode, result.stdout) == (0, "EchoFunction\nFailingFunction\n")


@pytest.fixture
def aws_server() -> Iterator[tuple[int, str]]:
    """A moto server standing for `make run`'s AWS endpoint."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto's state is per process, shared with any other server this process runs: start empty.
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    yield port, endpoint
    server.stop()


def test_a_running_stacks_endpoint_is_used_when_it_answers_on_aws_port(
    project: Path, aws_server: tuple[int, str]
):
    port, endpoint = aws_server
    context = StackContext(region="eu-west-1", endpoint_url=endpoint)
    create_resources(Template.load(project / "template.yaml", context), endpoint)

    result = invoke(project, "EchoFunction", str(project / "event.json"), aws_port=port)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["env"]["AWS_ENDPOINT_URL"] == endpoint
    table = boto3.resource("dynamodb", endpoint_url=endpoint, region_name="eu-west-1", **LOCAL_CREDENTIALS)
    item = table.Table("ingestion-local-NotesTable").get_item(Key={"id": "n1"})["Item"]
    assert item == {"id": "n1", "function": "ingestion-local-EchoFunction"}


def test_a_server_on_aws_port_without_the_stacks_resources_is_refused(
    project: Path, aws_server: tuple[int, str]
):
    port, endpoint = aws_server

    result = invoke(project, "EchoFunction", str(project / "event.json"), aws_port=port)

    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{endpoint} answers but has not the stack's ingestion-local-NotesTable" in result.stderr
