"""CloudFormation's bucket notifications in S3's API shape, and moto's events completed to S3's."""

from __future__ import annotations

from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3Model

from local_stack.resources import bucket_notification_request
from local_stack.s3_notifications import complete_record, next_sequencer


def test_queue_configuration_with_prefix_filter_takes_the_api_shape() -> None:
    template_configuration = {
        "QueueConfigurations": [
            {
                "Event": "s3:ObjectCreated:*",
                "Queue": "arn:aws:sqs:us-east-1:123456789012:ingest",
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "incoming/"}]}},
            }
        ]
    }

    assert bucket_notification_request(template_configuration) == {
        "QueueConfigurations": [
            {
                "QueueArn": "arn:aws:sqs:us-east-1:123456789012:ingest",
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}},
            }
        ]
    }


def moto_record(key: str) -> dict:
    """A record as moto 5.2 builds it: fields S3 sends are missing and '/' is encoded."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-01-01T00:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "config",
            "bucket": {"name": "bucket", "arn": "arn:aws:s3:::bucket"},
            "object": {"key": key.replace("/", "%2F"), "size": 1, "eTag": "etag"},
        },
    }


def test_completed_record_passes_powertools_s3_model() -> None:
    record = moto_record("incoming/c1/deals/my file.csv")

    complete_record(record, key_name="incoming/c1/deals/my file.csv")

    parsed = parse(event={"Records": [record]}, model=S3Model)
    assert parsed.Records[0].s3.object.sequencer


def test_completed_key_keeps_slashes_and_encodes_spaces_as_s3_does() -> None:
    record = moto_record("incoming/c1/deals/my file+1.csv")

    complete_record(record, key_name="incoming/c1/deals/my file+1.csv")

    assert record["s3"]["object"]["key"] == "incoming/c1/deals/my+file%2B1.csv"
    assert unquote_plus(record["s3"]["object"]["key"]) == "incoming/c1/deals/my file+1.csv"


def test_sequencers_grow() -> None:
    first, second = next_sequencer(), next_sequencer()

    assert len(first) == len(second)
    assert second > first
