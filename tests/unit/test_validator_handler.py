"""The validator's handler: a batch of SQS messages processed together, each failed message
reported back alone, and no file started once half the invocation's time is gone."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ingestion.services.processing import NotStarted, UploadedObject
from local_stack.functions import FakeLambdaContext

APP = Path(__file__).resolve().parents[2] / "functions" / "validator" / "app.py"
BUCKET = "data"


@pytest.fixture(scope="module")
def validator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("validator_app", APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notification(*keys: str) -> str:
    records = [
        {
            "eventName": "ObjectCreated:Put",
            "eventSource": "aws:s3",
            "eventVersion": "2.1",
            "awsRegion": "us-east-1",
            "eventTime": "2026-11-28T12:00:00.000Z",
            "userIdentity": {"principalId": "me"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "r", "x-amz-id-2": "i"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "ingest",
                "bucket": {
                    "name": BUCKET,
                    "ownerIdentity": {"principalId": "me"},
                    "arn": f"arn:aws:s3:::{BUCKET}",
                },
                "object": {"key": key, "size": 5, "eTag": "e", "sequencer": "0"},
            },
        }
        for key in keys
    ]
    return json.dumps({"Records": records})


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{number}",
                "receiptHandle": f"h{number}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest",
                "awsRegion": "us-east-1",
            }
            for number, body in enumerate(bodies)
        ]
    }


def test_only_the_messages_of_failed_files_are_reported(validator, monkeypatch):
    processed: list[list[UploadedObject]] = []

    def process(files, **_):
        processed.append(list(files))
        return [RuntimeError("failed") if file.key == "incoming/c/deals/bad.csv" else None for file in files]

    monkeypatch.setattr(validator, "process_uploaded_files", process)
    event = sqs_event(
        notification("incoming/c/deals/a.csv"),
        notification("incoming/c/deals/b.csv", "incoming/c/deals/bad.csv"),  # one message, two files
        "not json",
        notification("incoming/c/deals/d.csv"),
    )

    answer = validator.lambda_handler(event, FakeLambdaContext("ValidatorFunction"))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m1"}]}
    # Every file of the batch was handed over at once, so a table's files can share a commit.
    assert [[file.key.rsplit("/", 1)[1] for file in files] for files in processed] == [
        ["a.csv", "b.csv", "bad.csv", "d.csv"]
    ]


def test_files_are_started_only_while_half_the_time_is_left(validator, monkeypatch):
    answers = []

    def process(files, *, may_start, **_):
        answers.append(may_start())
        context.remaining = 400_000  # 400 of 900 s left
        answers.append(may_start())
        return [None if answers[-1] else NotStarted("late") for _ in files]

    class Clock(FakeLambdaContext):
        remaining = 900_000

        def get_remaining_time_in_millis(self) -> int:
            return self.remaining

    context = Clock("ValidatorFunction")
    monkeypatch.setattr(validator, "process_uploaded_files", process)

    answer = validator.lambda_handler(sqs_event(notification("incoming/c/deals/a.csv")), context)

    assert answers == [True, False]
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m0"}]}


def test_a_plain_s3_event_raises_the_failure_of_its_file(validator, monkeypatch):
    monkeypatch.setattr(validator, "process_uploaded_files", lambda files, **_: [RuntimeError("failed")])

    with pytest.raises(RuntimeError, match="failed"):
        validator.lambda_handler(json.loads(notification("incoming/c/deals/a.csv")), FakeLambdaContext("V"))
