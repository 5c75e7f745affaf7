"""Files and notifications that used to lose, double or stall data: each ends exact, at once."""

from __future__ import annotations

import gzip
import io
import json

import boto3
import pytest
from boto3.s3.transfer import TransferConfig

from ingestion import aws
from tests.integration.harness import Stack

HEADER = b"id,name,creationDatetime,status,value,lastUpdateDatetime"
NOTES = {
    "fields": [{"name": "text", "type": "string"}, {"name": "score", "type": "number"}],
}


def deliver_once(stack: Stack) -> None:
    """Deliver every queued notification one time: an attempt that failed is not retried here."""
    stack.deliver_notifications()


def requests_of(stack: Stack, collection_id: str, data_type: str = "deals") -> list[dict]:
    return stack.call_api("list_upload_requests.json", collection_id=collection_id, data_type=data_type).json[
        "items"
    ]


# --------------------------------------------------------------------------- one object, one upload


def test_a_multipart_upload_announced_twice_is_one_upload_of_a_keyless_type(stack: Stack):
    collection_id = stack.create_collection()
    stack.call_api("declare_data_type.json", collection_id=collection_id, data_type="notes", body=NOTES)
    rows = b"text,score\n" + b"".join(b"note %d,%d\n" % (n, n) for n in range(400_000))  # ~7 MB
    s3 = boto3.client("s3", endpoint_url=stack.endpoint)
    key = f"incoming/{collection_id}/notes/export.csv"
    config = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)

    s3.upload_fileobj(io.BytesIO(rows), stack.bucket, key, Config=config)  # as `aws s3 cp` does
    delivered = stack.deliver_notifications()

    requests = requests_of(stack, collection_id, "notes")
    assert delivered == 2  # moto announces it as ObjectCreated:Put and :CompleteMultipartUpload
    assert len(requests) == 1
    assert requests[0]["status"] == "completed"
    assert len(stack.table_rows(collection_id, "notes")["text"]) == 400_000


def test_a_notification_sent_again_with_another_event_time_is_the_same_upload(stack: Stack):
    collection_id = stack.create_collection()
    key = f"incoming/{collection_id}/deals/my-deals-data.csv"
    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=stack.sample_csv)
    stack.purge_notifications()
    event = stack.event("sqs_s3_put.json", bucket=stack.bucket, key=key)
    resent = json.loads(json.dumps(event))
    body = json.loads(resent["Records"][0]["body"])
    body["Records"][0]["eventTime"] = "2024-08-20T13:10:00.000Z"
    body["Records"][0]["s3"]["object"]["sequencer"] = "0055AED6DCD90281FF"
    resent["Records"][0]["body"] = json.dumps(body)

    stack.invoke("validator", event)
    stack.invoke("validator", resent)

    requests = requests_of(stack, collection_id)
    assert len(requests) == 1
    assert requests[0]["rowsInserted"] == 5


def test_a_file_overwritten_with_new_content_is_a_new_upload(stack: Stack):
    collection_id = stack.create_collection()
    key = f"incoming/{collection_id}/deals/daily.csv"
    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=stack.sample_csv)
    stack.deliver_notifications()
    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=stack.sample_csv.replace(b"Customer", b"Client"))

    stack.deliver_notifications()

    requests = requests_of(stack, collection_id)
    assert len(requests) == 2
    # Both written within one second: S3 times objects to the second, so their order is not asserted.
    assert sorted(request["rowsUpdated"] for request in requests) == [0, 5]


# --------------------------------------------------------------------------- the file's own problems


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("deep.ndjson", b'{"id": "1"}\n{"id": "2", "name": ' + b"[" * 2000 + b"]" * 2000 + b"}\n", 2),
        ("deep.json", b'[{"id": "1", "name": ' + b"[" * 2000 + b"]" * 2000 + b"}]", 1),
    ],
)
def test_deeply_nested_json_ends_error_on_the_first_attempt_naming_the_line(
    stack: Stack, name: str, content: bytes, line: int
):
    collection_id = stack.create_collection()
    request_id = stack.append_file(collection_id, name, content)

    deliver_once(stack)

    request = stack.poll(collection_id, request_id)
    assert request["status"] == "error"
    assert "more than 32 levels deep" in request["message"]
    assert request["validationErrors"][0]["line"] == line


def test_a_gzip_inflating_past_the_limit_ends_error_saying_so(stack: Stack, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MAX_DECOMPRESSED_MIB", "1")
    aws.reset()
    collection_id = stack.create_collection()
    row = stack.sample_csv.split(b"\n")[1]
    bomb = gzip.compress(stack.sample_csv.split(b"\n")[0] + b"\n" + (row + b"\n") * 20_000)  # ~8 MB inflated
    request_id = stack.append_file(collection_id, "deals.csv.gz", bomb)

    deliver_once(stack)

    request = stack.poll(collection_id, request_id)
    assert request["status"] == "error"
    assert "once decompressed, the file is larger than 1 MiB" in request["message"]
    assert stack.table_rows(collection_id) is None


def test_a_row_with_thousands_of_unknown_columns_completes_with_a_bounded_record(stack: Stack):
    collection_id = stack.create_collection()
    extra = [f"custom_field_{n:05}_{'x' * 40}" for n in range(5000)]
    header = HEADER + b"," + ",".join(extra).encode()
    row = b"1,A,2024-05-01T08:00:00,open,10,2024-06-01T00:00:00" + b",v" * len(extra)
    request_id = stack.append_file(collection_id, "wide.csv", header + b"\n" + row + b"\n")

    deliver_once(stack)

    request = stack.poll(collection_id, request_id)
    assert request["status"] == "completed"
    assert request["finishedDatetime"] is not None
    assert len(json.dumps(request)) < 50_000
    assert any(
        "5000 columns are not part of the deals data type" in warning for warning in request["warnings"]
    )
    collection = stack.call_api("get_collection.json", collection_id=collection_id).json
    assert collection["dataTypes"]["deals"]["rowCount"] == 1
