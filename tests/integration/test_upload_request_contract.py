"""The in-memory upload-request repository the unit tests use keeps the real one's contract.

Every scenario runs against both: the DynamoDB repository on moto and ``InMemoryUploads``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingestion import aws
from ingestion.domain import UploadOutcome, UploadRequest, UploadSource, UploadStatus
from ingestion.errors import StatusConflict
from ingestion.repositories.uploads import MAX_STORED_BAD_RECORDS, UploadRequestRepository
from tests.integration.harness import Stack
from tests.unit.fakes import InMemoryUploads

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
REQUEST = UploadRequest(
    id="01jd3k8a2b3c4d5e6f7g8h9j0k",
    collection_id="01jd3k7q9x0m5r2c8v4b6n1t3e",
    data_type="deals",
    separator=",",
    dump_datetime=NOW,
    status=UploadStatus.QUEUED,
    source=UploadSource.API,
    file_name="deals.csv",
    size_bytes=10,
    object_key="incoming/x",
)
DONE = UploadOutcome(status=UploadStatus.COMPLETED, rows_inserted=1)


@pytest.fixture(params=["dynamodb", "in-memory"])
def uploads(request: pytest.FixtureRequest) -> UploadRequestRepository | InMemoryUploads:
    if request.param == "in-memory":
        return InMemoryUploads()
    stack: Stack = request.getfixturevalue("stack")
    return UploadRequestRepository(aws.table(stack.names["UploadRequestsTable"]))


def test_a_request_is_created_once(uploads):
    assert uploads.create(REQUEST)
    assert not uploads.create(REQUEST.model_copy(update={"file_name": "other.csv"}))
    assert uploads.get(REQUEST.collection_id, "deals", REQUEST.id).file_name == "deals.csv"


def test_a_live_lease_keeps_others_out_and_an_expired_one_lets_them_in(uploads):
    uploads.create(REQUEST)
    first = uploads.start(REQUEST, NOW, lease_seconds=60)

    with pytest.raises(StatusConflict):
        uploads.start(REQUEST, NOW + timedelta(seconds=30), lease_seconds=60)
    second = uploads.start(REQUEST, NOW + timedelta(seconds=61), lease_seconds=60)

    assert (first.attempt, second.attempt) == (1, 2)
    with pytest.raises(StatusConflict):
        uploads.finish(first, DONE, NOW)  # taken over: the first attempt may not record
    assert uploads.finish(second, DONE, NOW).status is UploadStatus.COMPLETED


def test_a_released_request_is_taken_at_once_by_the_next_attempt(uploads):
    uploads.create(REQUEST)
    first = uploads.start(REQUEST, NOW, lease_seconds=600)

    assert uploads.release(first)

    assert uploads.start(REQUEST, NOW + timedelta(seconds=1), lease_seconds=600).attempt == 2
    assert not uploads.release(first)


def test_a_finished_request_cannot_be_started_failed_or_released(uploads):
    uploads.create(REQUEST)
    attempt = uploads.start(REQUEST, NOW, lease_seconds=60)
    uploads.finish(attempt, DONE, NOW)

    with pytest.raises(StatusConflict):
        uploads.start(REQUEST, NOW + timedelta(hours=1), lease_seconds=60)
    with pytest.raises(StatusConflict):
        uploads.fail(REQUEST, "dead letter", NOW)
    assert not uploads.release(attempt)
    assert uploads.get(REQUEST.collection_id, "deals", REQUEST.id).status is UploadStatus.COMPLETED


def test_a_queued_or_started_request_can_be_failed(uploads):
    uploads.create(REQUEST)
    uploads.start(REQUEST, NOW, lease_seconds=60)

    failed = uploads.fail(REQUEST, "dead letter", NOW)

    assert (failed.status, failed.message) == (UploadStatus.ERROR, "dead letter")


WAITING = REQUEST.model_copy(
    update={
        "size_bytes": 0,
        "message": "waiting for the file",
        "awaiting_file_until": NOW + timedelta(hours=1),
    }
)


def test_a_request_waiting_for_its_file_is_found_once_its_upload_url_expired(uploads):
    uploads.create(WAITING)
    uploads.create(REQUEST.model_copy(update={"id": "01jd3k8a2b3c4d5e6f7g8h9j0m"}))  # not waiting

    assert uploads.waiting_for_file(NOW + timedelta(hours=1), limit=10) == []
    (found,) = uploads.waiting_for_file(NOW + timedelta(hours=1, seconds=1), limit=10)

    assert found == WAITING


def test_starting_a_waiting_request_stops_it_waiting_and_records_the_files_size(uploads):
    uploads.create(WAITING)

    started = uploads.start(WAITING, NOW, lease_seconds=60, size_bytes=12_345_678)

    assert (started.size_bytes, started.message, started.awaiting_file_until) == (12_345_678, None, None)
    assert uploads.waiting_for_file(NOW + timedelta(days=1), limit=10) == []


def test_an_expired_upload_url_ends_its_waiting_request(uploads):
    uploads.create(WAITING)
    later = NOW + timedelta(hours=2)

    ended = uploads.expire_upload_url(WAITING, "no file arrived", later, expired_before=later)

    assert (ended.status, ended.message, ended.finished_datetime) == (
        UploadStatus.ERROR,
        "no file arrived",
        later,
    )
    assert uploads.waiting_for_file(later, limit=10) == []


def test_an_upload_url_cannot_end_a_request_whose_file_arrived_or_that_has_not_expired(uploads):
    uploads.create(WAITING)
    later = NOW + timedelta(hours=2)

    with pytest.raises(StatusConflict):
        uploads.expire_upload_url(WAITING, "too soon", later, expired_before=NOW)
    uploads.start(WAITING, NOW, lease_seconds=60, size_bytes=5)
    with pytest.raises(StatusConflict):
        uploads.expire_upload_url(WAITING, "started", later, expired_before=later)

    assert uploads.get(WAITING.collection_id, "deals", WAITING.id).status is UploadStatus.IN_PROGRESS


def test_a_dead_letter_ends_a_waiting_request_and_it_waits_no_more(uploads):
    uploads.create(WAITING)

    uploads.fail(WAITING, "dead letter", NOW)

    assert uploads.waiting_for_file(NOW + timedelta(days=1), limit=10) == []


def test_the_waiting_requests_are_found_longest_expired_first_and_at_most_the_limit(uploads):
    for minutes in (3, 1, 2):
        uploads.create(
            WAITING.model_copy(
                update={
                    "id": f"01jd3k8a2b3c4d5e6f7g8h9j0{minutes}",
                    "awaiting_file_until": NOW + timedelta(minutes=minutes),
                }
            )
        )

    found = uploads.waiting_for_file(NOW + timedelta(hours=1), limit=2)

    assert [request.awaiting_file_until for request in found] == [NOW + timedelta(minutes=m) for m in (1, 2)]


def test_a_tolerance_beyond_any_files_rows_is_stored_as_one(uploads):
    uploads.create(REQUEST.model_copy(update={"max_bad_records": 10**40}))

    stored = uploads.get(REQUEST.collection_id, "deals", REQUEST.id).max_bad_records

    assert stored >= MAX_STORED_BAD_RECORDS
