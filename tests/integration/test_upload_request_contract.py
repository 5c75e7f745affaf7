"""The in-memory upload-request repository the unit tests use keeps the real one's contract.

Every scenario runs against both: the DynamoDB repository on moto and ``InMemoryUploads``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingestion import aws
from ingestion.domain import UploadOutcome, UploadRequest, UploadSource, UploadStatus
from ingestion.errors import StatusConflict
from ingestion.repositories.uploads import UploadRequestRepository
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
