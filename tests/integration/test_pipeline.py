"""Upload -> S3 notification -> validator -> Iceberg, with the real handlers on moto."""

from __future__ import annotations

import pytest

from tests.integration.harness import Stack, multipart_body

BAD_ROWS = (
    b"id,name,creationDatetime,status,value,lastUpdateDatetime\n"
    b"1,A,2024-05-01T08:00:00,open,10,2024-06-01T00:00:00\n"
    b"2,B,not-a-date,open,-5,2024-06-01T00:00:00\n"
)


def test_an_appended_file_is_validated_and_merged(stack: Stack):
    collection_id = stack.create_collection()
    request_id = stack.call_api("append_request.json", collection_id=collection_id).json["id"]

    assert stack.deliver_notifications() == 1

    request = stack.poll(collection_id, request_id)
    assert request["status"] == "completed"
    assert (request["processedLines"], request["rowsInserted"], request["rowsUpdated"]) == (5, 5, 0)
    assert request["rowsRejected"] == 0
    assert request["validationErrors"] is None
    assert request["startedDatetime"] <= request["finishedDatetime"]
    collection = stack.call_api("get_collection.json", collection_id=collection_id).json
    assert collection["dataTypes"]["deals"]["rowCount"] == 5


def test_the_same_file_again_updates_instead_of_duplicating(stack: Stack):
    collection_id = stack.create_collection()
    stack.call_api("append_request.json", collection_id=collection_id)
    stack.deliver_notifications()
    second = stack.call_api("append_request.json", collection_id=collection_id).json["id"]
    stack.deliver_notifications()

    request = stack.poll(collection_id, second)
    assert (request["rowsInserted"], request["rowsUpdated"]) == (0, 5)
    assert (
        stack.call_api("get_collection.json", collection_id=collection_id).json["dataTypes"]["deals"][
            "rowCount"
        ]
        == 5
    )
    assert sorted(stack.table_rows(collection_id)["id"]) == ["1", "2", "3", "4", "5"]


def crash(**_: object) -> None:
    raise RuntimeError("simulated failure")


class ProcessDied(BaseException):
    """Lambda stopped the process (timeout, out of memory): no handler and no cleanup runs."""


def die(**_: object) -> None:
    raise ProcessDied


def test_an_invalid_file_ends_in_error_with_line_column_and_nothing_merged(stack: Stack):
    collection_id = stack.create_collection()
    body, content_type = multipart_body(fields={"separator": ","}, file=("bad.csv", BAD_ROWS))
    request_id = stack.call_api(
        "append_request.json", collection_id=collection_id, multipart=(body, content_type)
    ).json["id"]
    stack.deliver_notifications()

    request = stack.poll(collection_id, request_id)
    assert request["status"] == "error"
    problems = {(issue["line"], issue["column"]) for issue in request["validationErrors"]}
    assert problems == {(3, "creationDatetime"), (3, "value")}
    assert request["validationErrorCount"] == 2
    assert request["message"]
    assert "deals" not in stack.call_api("get_collection.json", collection_id=collection_id).json["dataTypes"]


def test_a_file_dropped_into_the_bucket_is_ingested(stack: Stack):
    collection_id = stack.create_collection()
    stack.s3.put_object(
        Bucket=stack.bucket, Key=f"incoming/{collection_id}/deals/export 2024.csv", Body=stack.sample_csv
    )
    assert stack.deliver_notifications() == 1

    listing = stack.call_api("list_upload_requests.json", collection_id=collection_id).json["items"]
    assert len(listing) == 1
    request = listing[0]
    assert (request["source"], request["fileName"], request["status"]) == (
        "s3",
        "export 2024.csv",
        "completed",
    )
    assert request["rowsInserted"] == 5


def test_a_dropped_file_may_name_its_separator_in_metadata(stack: Stack):
    collection_id = stack.create_collection()
    stack.s3.put_object(
        Bucket=stack.bucket,
        Key=f"incoming/{collection_id}/deals/export.tsv",
        Body=stack.sample_csv.replace(b",", b"\t"),
        Metadata={"separator": "%09"},
    )
    stack.deliver_notifications()
    request = stack.call_api("list_upload_requests.json", collection_id=collection_id).json["items"][0]
    assert request["separator"] == "\t"
    assert (request["status"], request["rowsInserted"]) == ("completed", 5)


def test_a_file_dropped_for_an_unknown_collection_is_left_alone(stack: Stack):
    stack.s3.put_object(Bucket=stack.bucket, Key="incoming/01jd3k7q9x0m5r2c8v4b6n1t3e/deals/x.csv", Body=b"x")
    assert stack.deliver_notifications() == 1
    assert stack.upload_request_count() == 0


def test_files_outside_incoming_do_not_trigger_the_validator(stack: Stack):
    stack.s3.put_object(Bucket=stack.bucket, Key="warehouse/x/data.parquet", Body=b"x")
    assert stack.deliver_notifications() == 0


def test_a_plain_s3_event_is_processed_like_an_sqs_wrapped_one(stack: Stack):
    collection_id = stack.create_collection()
    key = f"incoming/{collection_id}/deals/my-deals-data.csv"
    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=stack.sample_csv)
    stack.purge_notifications()

    stack.invoke("validator", stack.event("s3_put.json", bucket=stack.bucket, key=key))

    request = stack.call_api("list_upload_requests.json", collection_id=collection_id).json["items"][0]
    assert (request["status"], request["rowsInserted"]) == ("completed", 5)


def test_a_duplicate_notification_does_not_merge_twice(stack: Stack):
    collection_id = stack.create_collection()
    key = f"incoming/{collection_id}/deals/my-deals-data.csv"
    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=stack.sample_csv)
    stack.purge_notifications()
    event = stack.event("sqs_s3_put.json", bucket=stack.bucket, key=key)

    stack.invoke("validator", event)
    result = stack.invoke("validator", event)

    assert result == {"batchItemFailures": []}
    items = stack.call_api("list_upload_requests.json", collection_id=collection_id).json["items"]
    assert len(items) == 1
    assert items[0]["rowsInserted"] == 5
    assert len(stack.table_rows(collection_id)["id"]) == 5


def test_s3_test_events_are_acknowledged_and_ignored(stack: Stack):
    event = stack.event("sqs_s3_put.json", bucket=stack.bucket, key="incoming/x/deals/y.csv")
    event["Records"][0]["body"] = '{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}'
    assert stack.invoke("validator", event) == {"batchItemFailures": []}


def test_a_crash_in_processing_reports_the_record_for_redelivery(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    collection_id = stack.create_collection()
    request_id = stack.call_api("append_request.json", collection_id=collection_id).json["id"]
    key = f"incoming/{collection_id}/deals/api/{request_id}"
    event = stack.event("sqs_s3_put.json", bucket=stack.bucket, key=key)

    monkeypatch.setattr("ingestion.dataplane.check_upload", crash)
    # The failed record is named: SQS delivers it again, and only it.
    message_id = event["Records"][0]["messageId"]
    assert stack.invoke("validator", event) == {"batchItemFailures": [{"itemIdentifier": message_id}]}

    assert stack.poll(collection_id, request_id)["status"] == "in_progress"


def test_a_failed_attempt_releases_its_request_to_the_next_delivery(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
):
    collection_id = stack.create_collection()
    request_id = stack.call_api("append_request.json", collection_id=collection_id).json["id"]
    event = stack.event(
        "sqs_s3_put.json", bucket=stack.bucket, key=f"incoming/{collection_id}/deals/api/{request_id}"
    )
    with monkeypatch.context() as patch:
        patch.setattr("ingestion.dataplane.merge_checked", crash)
        assert stack.invoke("validator", event)["batchItemFailures"]

    stack.invoke("validator", event)  # at once: no lease to wait out

    assert stack.poll(collection_id, request_id)["status"] == "completed"


def append_and_crash_once(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, dict]:
    """An upload whose first validator attempt died mid-way: left in_progress under a live lease."""
    collection_id = stack.create_collection()
    request_id = stack.call_api("append_request.json", collection_id=collection_id).json["id"]
    key = f"incoming/{collection_id}/deals/api/{request_id}"
    event = stack.event("sqs_s3_put.json", bucket=stack.bucket, key=key)
    with monkeypatch.context() as patch:
        patch.setattr("ingestion.dataplane.check_upload", die)
        with pytest.raises(ProcessDied):
            stack.invoke("validator", event)
    return collection_id, request_id, event


def test_an_abandoned_attempt_is_taken_over_after_its_lease(stack: Stack, monkeypatch: pytest.MonkeyPatch):
    collection_id, request_id, event = append_and_crash_once(stack, monkeypatch)
    stack.expire_leases(collection_id, request_id)

    stack.invoke("validator", event)

    assert stack.poll(collection_id, request_id)["status"] == "completed"


def test_a_request_held_by_a_live_attempt_is_retried_later(stack: Stack, monkeypatch: pytest.MonkeyPatch):
    collection_id, request_id, event = append_and_crash_once(stack, monkeypatch)

    message_id = event["Records"][0]["messageId"]
    assert stack.invoke("validator", event) == {"batchItemFailures": [{"itemIdentifier": message_id}]}

    assert stack.poll(collection_id, request_id)["status"] == "in_progress"
    assert stack.table_rows(collection_id) is None


def test_a_dead_lettered_notification_marks_its_request_error(stack: Stack):
    collection_id = stack.create_collection()
    request_id = stack.call_api("append_request.json", collection_id=collection_id).json["id"]
    key = f"incoming/{collection_id}/deals/api/{request_id}"

    stack.invoke("dead_letter", stack.event("dead_letter_s3_put.json", bucket=stack.bucket, key=key))

    request = stack.poll(collection_id, request_id)
    assert request["status"] == "error"
    assert key in request["message"]
    assert request_id in request["message"]


def test_a_dead_letter_for_a_finished_request_changes_nothing(stack: Stack):
    collection_id = stack.create_collection()
    request_id = stack.call_api("append_request.json", collection_id=collection_id).json["id"]
    stack.deliver_notifications()
    key = f"incoming/{collection_id}/deals/api/{request_id}"

    stack.invoke("dead_letter", stack.event("dead_letter_s3_put.json", bucket=stack.bucket, key=key))

    assert stack.poll(collection_id, request_id)["status"] == "completed"


def test_the_validator_records_an_api_upload_whose_request_was_never_written(stack: Stack):
    collection_id = stack.create_collection()
    request_id = stack.call_api("append_request.json", collection_id=collection_id).json["id"]
    stack.delete_upload_request(
        collection_id, request_id
    )  # as if the entry function stopped after the S3 put

    stack.deliver_notifications()

    request = stack.poll(collection_id, request_id)
    assert (request["status"], request["source"], request["fileName"]) == (
        "completed",
        "api",
        "my-deals-data.csv",
    )
