"""SQS event sources: the event Lambda builds and which messages a response keeps."""

from __future__ import annotations

from pathlib import Path

from local_stack.template import Template
from local_stack.triggers import failed_message_ids, sqs_event, sqs_event_sources

QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:ingest"

RECEIVED = {
    "MessageId": "m-1",
    "ReceiptHandle": "handle-1",
    "MD5OfBody": "d41d8cd98f00b204e9800998ecf8427e",
    "Body": '{"Records": []}',
    "Attributes": {
        "SenderId": "AIDAEXAMPLE",
        "SentTimestamp": "1724158404134",
        "ApproximateReceiveCount": "2",
        "ApproximateFirstReceiveTimestamp": "1724158404140",
    },
    "MessageAttributes": {
        "kind": {"StringValue": "upload", "DataType": "String"},
        "blob": {"BinaryValue": b"\x00\x01", "DataType": "Binary"},
    },
}


def test_sqs_event_has_the_shape_lambda_sends() -> None:
    event = sqs_event([RECEIVED], QUEUE_ARN)

    assert event == {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "handle-1",
                "body": '{"Records": []}',
                "attributes": RECEIVED["Attributes"],
                "messageAttributes": {
                    "kind": {
                        "stringValue": "upload",
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": "String",
                    },
                    "blob": {
                        "binaryValue": "AAE=",
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": "Binary",
                    },
                },
                "md5OfBody": "d41d8cd98f00b204e9800998ecf8427e",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "eu-west-1",
            }
        ]
    }


def test_no_batch_item_failures_means_every_message_succeeded() -> None:
    assert failed_message_ids({"batchItemFailures": []}, ["a", "b"]) == set()
    assert failed_message_ids(None, ["a", "b"]) == set()


def test_listed_batch_item_failures_are_kept() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "b"}]}

    assert failed_message_ids(response, ["a", "b"]) == {"b"}


def test_an_unknown_or_empty_identifier_fails_the_whole_batch() -> None:
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, ["a", "b"]) == {"a", "b"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, ["a", "b"]) == {"a", "b"}


def test_event_sources_come_from_the_functions_sqs_events(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        """
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker/
      Handler: app.lambda_handler
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 1
            FunctionResponseTypes: [ReportBatchItemFailures]
"""
    )

    [source] = sqs_event_sources(Template.load(path))

    assert source.function_id == "Worker"
    assert source.queue_arn == "arn:aws:sqs:us-east-1:123456789012:ingestion-local-Queue"
    assert source.queue_name == "ingestion-local-Queue"
    assert source.batch_size == 1
    assert source.report_batch_item_failures is True
