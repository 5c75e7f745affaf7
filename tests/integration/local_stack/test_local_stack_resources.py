"""template.yaml's own tables, queues, bucket and Glue database, created on moto by create_resources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3Model

from local_stack.resources import create_resources
from local_stack.stack_context import StackContext
from local_stack.template import Template

PROJECT_TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


@pytest.fixture
def template(moto_endpoint: str) -> Template:
    return Template.load(PROJECT_TEMPLATE, StackContext(endpoint_url=moto_endpoint))


@pytest.fixture
def names(template: Template, moto_endpoint: str) -> dict[str, str]:
    return create_resources(template, moto_endpoint)


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def receive_all(sqs: Any, queue_url: str, wait_seconds: int = 1) -> list[dict[str, Any]]:
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds, AttributeNames=["All"]
    ).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


@pytest.fixture
def ingest_queue(names: dict[str, str], moto_endpoint: str) -> str:
    """The ingest queue, emptied of the s3:TestEvent S3 sends when the notification is configured."""
    sqs = client("sqs", moto_endpoint)
    [test_event] = receive_all(sqs, names["IngestQueue"])
    assert json.loads(test_event["Body"])["Event"] == "s3:TestEvent"
    return names["IngestQueue"]


def test_returns_what_ref_gives_for_each_created_resource(names: dict[str, str], moto_endpoint: str) -> None:
    assert names == {
        "CollectionsTable": "ingestion-local-CollectionsTable",
        "UploadRequestsTable": "ingestion-local-UploadRequestsTable",
        "TokensTable": "ingestion-local-TokensTable",
        "DataTypesTable": "ingestion-local-DataTypesTable",
        "CommitLocksTable": "ingestion-local-CommitLocksTable",
        "ExportsTable": "ingestion-local-ExportsTable",
        "IdempotencyTable": "ingestion-local-IdempotencyTable",
        "IngestQueue": f"{moto_endpoint}/123456789012/ingestion-local-IngestQueue",
        "IngestDeadLetterQueue": f"{moto_endpoint}/123456789012/ingestion-local-IngestDeadLetterQueue",
        "PurgeQueue": f"{moto_endpoint}/123456789012/ingestion-local-PurgeQueue",
        "PurgeDeadLetterQueue": f"{moto_endpoint}/123456789012/ingestion-local-PurgeDeadLetterQueue",
        "ExportQueue": f"{moto_endpoint}/123456789012/ingestion-local-ExportQueue",
        "ExportDeadLetterQueue": f"{moto_endpoint}/123456789012/ingestion-local-ExportDeadLetterQueue",
        "DataBucket": "ingestion-data-123456789012-local",
        "CatalogDatabase": "ingestion_local",
    }


@pytest.mark.parametrize(
    "logical_id", ["CollectionsTable", "UploadRequestsTable", "TokensTable", "DataTypesTable"]
)
def test_tables_have_the_templates_keys_and_billing(
    logical_id: str, template: Template, names: dict[str, str], moto_endpoint: str
) -> None:
    declared = template.properties(logical_id)

    table = client("dynamodb", moto_endpoint).describe_table(TableName=names[logical_id])["Table"]

    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        declared["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_ingest_queue_has_the_templates_timeouts_and_redrive_policy(
    names: dict[str, str], moto_endpoint: str
) -> None:
    attributes = client("sqs", moto_endpoint).get_queue_attributes(
        QueueUrl=names["IngestQueue"], AttributeNames=["All"]
    )["Attributes"]

    assert attributes["VisibilityTimeout"] == "5400"
    assert attributes["MessageRetentionPeriod"] == "345600"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:ingestion-local-IngestDeadLetterQueue",
        "maxReceiveCount": 3,
    }


def test_visibility_timeout_can_be_shortened_for_local_runs(template: Template, moto_endpoint: str) -> None:
    names = create_resources(template, moto_endpoint, queue_visibility_timeout=30)

    attributes = client("sqs", moto_endpoint).get_queue_attributes(
        QueueUrl=names["IngestQueue"], AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "30"


def test_message_moves_to_the_dead_letter_queue_after_max_receive_count(
    template: Template, moto_endpoint: str
) -> None:
    names = create_resources(template, moto_endpoint, queue_visibility_timeout=0)
    sqs = client("sqs", moto_endpoint)
    receive_all(sqs, names["IngestQueue"])  # S3's test event
    sqs.send_message(QueueUrl=names["IngestQueue"], MessageBody="poison")

    receives = 0
    while sqs.receive_message(QueueUrl=names["IngestQueue"], WaitTimeSeconds=0).get("Messages"):
        receives += 1  # received and not deleted, like a failed invocation

    assert receives == 3
    [dead] = receive_all(sqs, names["IngestDeadLetterQueue"])
    assert dead["Body"] == "poison"


def test_file_under_incoming_notifies_the_ingest_queue(
    names: dict[str, str], ingest_queue: str, moto_endpoint: str
) -> None:
    key = "incoming/c1/deals/my deals.csv"
    client("s3", moto_endpoint).put_object(Bucket=names["DataBucket"], Key=key, Body=b"id\n1\n")

    [message] = receive_all(client("sqs", moto_endpoint), ingest_queue, wait_seconds=5)

    [record] = json.loads(message["Body"])["Records"]
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"]["name"] == "ingestion-data-123456789012-local"
    assert unquote_plus(record["s3"]["object"]["key"]) == key
    assert record["s3"]["object"]["size"] == 5


def test_notification_has_every_field_s3_sends(
    names: dict[str, str], ingest_queue: str, moto_endpoint: str
) -> None:
    client("s3", moto_endpoint).put_object(
        Bucket=names["DataBucket"], Key="incoming/c1/deals/a.csv", Body=b"x"
    )

    [message] = receive_all(client("sqs", moto_endpoint), ingest_queue, wait_seconds=5)

    [record] = parse(event=json.loads(message["Body"]), model=S3Model).Records
    assert record.s3.object.key == "incoming/c1/deals/a.csv"
    assert record.s3.object.sequencer


def test_file_under_warehouse_notifies_nobody(
    names: dict[str, str], ingest_queue: str, moto_endpoint: str
) -> None:
    client("s3", moto_endpoint).put_object(
        Bucket=names["DataBucket"], Key="warehouse/t/data/1.parquet", Body=b"x"
    )

    assert receive_all(client("sqs", moto_endpoint), ingest_queue, wait_seconds=2) == []


def test_glue_database_exists(names: dict[str, str], moto_endpoint: str) -> None:
    database = client("glue", moto_endpoint).get_database(Name=names["CatalogDatabase"])["Database"]

    assert database["Name"] == "ingestion_local"


def test_creating_twice_keeps_the_existing_resources(
    template: Template, names: dict[str, str], moto_endpoint: str
) -> None:
    client("dynamodb", moto_endpoint).put_item(
        TableName=names["TokensTable"], Item={"tokenHash": {"S": "kept"}, "tenantId": {"S": "t"}}
    )

    again = create_resources(template, moto_endpoint)

    assert again == names
    item = client("dynamodb", moto_endpoint).get_item(
        TableName=names["TokensTable"], Key={"tokenHash": {"S": "kept"}}
    )
    assert "Item" in item


def test_accepts_a_template_path(moto_endpoint: str) -> None:
    names = create_resources(PROJECT_TEMPLATE, moto_endpoint)

    assert names["IngestQueue"] == f"{moto_endpoint}/123456789012/ingestion-local-IngestQueue"


def test_tables_with_a_time_to_live_in_the_template_get_it(
    template: Template, names: dict[str, str], moto_endpoint: str
) -> None:
    for logical_id in ("ExportsTable", "IdempotencyTable"):
        declared = template.properties(logical_id)["TimeToLiveSpecification"]

        ttl = client("dynamodb", moto_endpoint).describe_time_to_live(TableName=names[logical_id])

        assert ttl["TimeToLiveDescription"]["AttributeName"] == declared["AttributeName"]
        assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"


def test_the_collections_table_has_its_index_by_tenant(names: dict[str, str], moto_endpoint: str) -> None:
    table = client("dynamodb", moto_endpoint).describe_table(TableName=names["CollectionsTable"])["Table"]

    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "ByTenant"
    assert [key["AttributeName"] for key in index["KeySchema"]] == ["tenantId", "id"]
