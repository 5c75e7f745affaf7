"""The whole local stack in-process: API over HTTP, authorizer, bucket -> queue -> worker, dead letters."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from local_stack_sample import wait_for

from local_stack.banner import banner
from local_stack.gateway import API_PAYLOAD_LIMIT
from local_stack.stack import LocalStack, LocalStackConfig

PROJECT_TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
TOKEN = {"Authorization": "Token dev-token"}


def request(
    stack: LocalStack, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(stack.api_url).port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def client(stack: LocalStack, service: str) -> Any:
    return boto3.client(service, endpoint_url=stack.aws_endpoint, region_name="us-east-1")


def recorded(output_dir: Path, prefix: str) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(output_dir.glob(f"{prefix}-*.json"))]


def s3_records(output_dir: Path, prefix: str, key: str) -> list[dict[str, Any]]:
    """What a function recorded for notifications of ``key`` (S3's test event aside)."""
    return [
        r for r in recorded(output_dir, prefix) if key in r["body"] and "Records" in json.loads(r["body"])
    ]


# --------------------------------------------------------------------------- API


def test_api_calls_the_function_with_the_authorizers_tenant(sample_stack: LocalStack) -> None:
    status, _, body = request(sample_stack, "GET", "/api/echo/alice", headers=TOKEN)

    assert status == 200
    assert json.loads(body) == {"tenant": "dev", "name": "alice", "path": "/api/echo/alice"}


def test_api_is_served_under_the_stage_too(sample_stack: LocalStack) -> None:
    status, _, body = request(sample_stack, "GET", "/v1/api/echo/bob", headers=TOKEN)

    assert status == 200
    assert json.loads(body)["path"] == "/api/echo/bob"


def test_request_without_token_gets_the_unauthorized_gateway_response(sample_stack: LocalStack) -> None:
    status, _, body = request(sample_stack, "GET", "/api/echo/alice")

    assert status == 401
    assert json.loads(body) == {"message": "send a token"}


def test_unknown_token_is_refused(sample_stack: LocalStack) -> None:
    status, _, _ = request(sample_stack, "GET", "/api/echo/alice", headers={"Authorization": "Token nope"})

    assert status == 401


def test_dev_token_is_seeded_as_its_digest(sample_stack: LocalStack) -> None:
    table = sample_stack.names["TokensTable"]

    item = client(sample_stack, "dynamodb").get_item(
        TableName=table, Key={"tokenHash": {"S": hashlib.sha256(b"dev-token").hexdigest()}}
    )["Item"]

    assert item["tenantId"] == {"S": "dev"}
    assert "createdAt" in item


def test_body_over_10_mb_gets_413_before_reaching_the_function(sample_stack: LocalStack) -> None:
    body = b"x" * (API_PAYLOAD_LIMIT + 1)

    status, _, answer = request(sample_stack, "POST", "/api/files/big.bin", body, TOKEN)

    assert status == 413
    assert json.loads(answer) == {"message": "over 10 MB"}


def test_client_expecting_100_continue_gets_413_without_sending_the_body(sample_stack: LocalStack) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(sample_stack.api_url).port, timeout=10)
    connection.putrequest("POST", "/api/files/big.bin")
    connection.putheader("Content-Length", str(API_PAYLOAD_LIMIT + 1))
    connection.putheader("Expect", "100-continue")
    connection.endheaders()

    response = connection.getresponse()

    assert response.status == 413
    assert json.loads(response.read()) == {"message": "over 10 MB"}
    connection.close()


def test_chunked_body_over_10_mb_gets_413(sample_stack: LocalStack) -> None:
    chunks = (b"x" * 1024 * 1024 for _ in range(11))

    status, _, answer = request(sample_stack, "POST", "/api/files/big.bin", chunks, TOKEN)

    assert status == 413
    assert json.loads(answer) == {"message": "over 10 MB"}


def test_chunked_body_under_the_limit_reaches_the_function(sample_stack: LocalStack) -> None:
    chunks = iter([b"id\n", b"1\n"])

    status, _, answer = request(sample_stack, "POST", "/api/files/small.csv", chunks, TOKEN)

    assert status == 202
    assert json.loads(answer) == {"key": "incoming/small.csv", "size": 5}


def test_event_over_lambdas_6_mb_gets_413_saying_so(sample_stack: LocalStack) -> None:
    headers = {**TOKEN, "Content-Type": "application/octet-stream"}

    status, _, answer = request(sample_stack, "POST", "/api/files/mid.bin", b"\x00" * 5_000_000, headers)

    assert status == 413
    assert "Lambda's 6 MB" in json.loads(answer)["message"]


# --------------------------------------------------------------------------- bucket -> queue -> worker


def test_upload_through_the_api_reaches_the_worker_as_an_sqs_event(
    sample_stack: LocalStack, output_dir: Path
) -> None:
    status, _, _ = request(sample_stack, "POST", "/api/files/deals.csv", b"id\n1\n", TOKEN)
    assert status == 202

    [record] = wait_for(lambda: s3_records(output_dir, "worker", "deals.csv"))

    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:ingestion-local-IngestQueue"
    # "1", or more on a loaded machine where a cold worker outlasts the sample's 1 s visibility timeout.
    assert int(record["attributes"]["ApproximateReceiveCount"]) >= 1
    assert json.loads(record["body"])["Records"][0]["s3"]["object"]["key"] == "incoming/deals.csv"


def test_file_dropped_into_the_bucket_reaches_the_worker_and_is_deleted(
    sample_stack: LocalStack, output_dir: Path
) -> None:
    client(sample_stack, "s3").put_object(Bucket="sample-123456789012", Key="incoming/dropped.csv", Body=b"x")

    wait_for(lambda: s3_records(output_dir, "worker", "dropped.csv"))

    queue = sample_stack.names["IngestQueue"]
    wait_for(lambda: _queue_depth(sample_stack, queue) == 0)


def test_file_the_worker_raises_on_is_retried_then_dead_lettered(
    sample_stack: LocalStack, output_dir: Path
) -> None:
    client(sample_stack, "s3").put_object(Bucket="sample-123456789012", Key="incoming/raise.csv", Body=b"x")

    [dead] = wait_for(lambda: s3_records(output_dir, "dead", "raise.csv"))

    attempts = s3_records(output_dir, "worker", "raise.csv")
    assert [a["attributes"]["ApproximateReceiveCount"] for a in attempts] == ["1", "2"]
    assert dead["eventSourceARN"].endswith(":ingestion-local-DeadLetters")


def test_batch_item_failure_is_retried_then_dead_lettered(sample_stack: LocalStack, output_dir: Path) -> None:
    client(sample_stack, "s3").put_object(Bucket="sample-123456789012", Key="incoming/partial.csv", Body=b"x")

    wait_for(lambda: s3_records(output_dir, "dead", "partial.csv"))

    assert len(s3_records(output_dir, "worker", "partial.csv")) == 2


def test_queues_get_the_local_visibility_timeout(sample_stack: LocalStack) -> None:
    attributes = client(sample_stack, "sqs").get_queue_attributes(
        QueueUrl=sample_stack.names["IngestQueue"], AttributeNames=["VisibilityTimeout"]
    )["Attributes"]

    assert attributes["VisibilityTimeout"] == "1"


def _queue_depth(stack: LocalStack, queue_url: str) -> int:
    attributes = client(stack, "sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


# --------------------------------------------------------------------------- lifecycle


def test_stop_restores_the_environment_and_frees_the_ports(tmp_path: Path, output_dir: Path) -> None:
    from local_stack_sample import write_sample_project

    before = os.environ.get("OUTPUT_DIR"), os.environ.get("AWS_ENDPOINT_URL")
    config = LocalStackConfig(
        template_path=write_sample_project(tmp_path / "project"),
        aws_port=0,
        api_port=0,
        poll_wait_seconds=1,
        parameter_overrides={"OutputDir": str(output_dir)},
    )
    stack = LocalStack(config)
    stack.start()
    assert os.environ["OUTPUT_DIR"] == str(output_dir)

    stack.stop()

    assert (os.environ.get("OUTPUT_DIR"), os.environ.get("AWS_ENDPOINT_URL")) == before
    with pytest.raises(ConnectionRefusedError):
        request(stack, "GET", "/api/echo/x")


@pytest.fixture
def project_stack() -> Iterator[LocalStack]:
    with LocalStack(LocalStackConfig(template_path=PROJECT_TEMPLATE, aws_port=0, api_port=0)) as stack:
        yield stack


def test_project_template_runs_with_its_own_functions(project_stack: LocalStack) -> None:
    without_token, _, body = request(project_stack, "GET", "/api/collection/unknown")
    with_token, _, _ = request(project_stack, "GET", "/api/collection/unknown", headers=TOKEN)

    assert without_token == 401
    assert json.loads(body)["message"].startswith("missing or unknown token")
    assert with_token not in (401, 403)
    shown = banner(project_stack)
    assert "s3://ingestion-data-123456789012-local/incoming/<collectionId>/deals/" in shown
    assert "visibility 30 s here, 5400 s in AWS" in shown
    assert "UploadExpiryFunction every 300 s (rate(5 minutes) in AWS" in shown
    assert "/api/collection/<collectionId>/data/deals/append/upload-url" in shown


def test_processing_lease_runs_out_before_a_message_comes_back(project_stack: LocalStack) -> None:
    # Locally a message returns after 30 s instead of 5400 s: a crashed attempt's lease (960 s
    # in the template) must expire before that, or its redelivery would find it still live.
    assert int(os.environ["PROCESSING_LEASE_SECONDS"]) < project_stack.config.visibility_timeout
