"""processedLines while a request is in progress: written as the validator reads, but sparingly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingestion.domain import UploadRequest, UploadSource, UploadStatus
from ingestion.services.progress import EVERY_LINES, ProgressReport
from tests.unit.fakes import InMemoryUploads


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def uploads() -> InMemoryUploads:
    return InMemoryUploads()


@pytest.fixture
def request_in_progress(uploads: InMemoryUploads) -> UploadRequest:
    queued = UploadRequest(
        id="01jd3k8a2b3c4d5e6f7g8h9j0k",
        collection_id="01jd3k7q9x0m5r2c8v4b6n1t3e",
        data_type="deals",
        separator=",",
        dump_datetime=datetime(2026, 11, 28, tzinfo=UTC),
        status=UploadStatus.QUEUED,
        source=UploadSource.API,
        file_name="deals.csv",
        size_bytes=1,
        object_key="incoming/x",
    )
    uploads.create(queued)
    return uploads.start(queued, datetime.now(UTC), 600)


def test_progress_is_written_once_a_second_of_reading(uploads, request_in_progress):
    clock = Clock()
    report = ProgressReport(uploads, request_in_progress, clock=clock)

    for lines in range(1_000, 12_001, 1_000):  # twelve batches in three seconds
        clock.now += 0.25
        report(lines)

    assert len(uploads.progress) == 3
    assert uploads.progress == sorted(uploads.progress)
    assert uploads.requests[request_in_progress.id].processed_lines == uploads.progress[-1]


def test_progress_is_written_every_hundred_thousand_lines_when_they_come_faster(uploads, request_in_progress):
    report = ProgressReport(uploads, request_in_progress, clock=Clock())  # the clock stands still

    for lines in range(50_000, 500_001, 50_000):
        report(lines)

    assert uploads.progress == list(range(EVERY_LINES, 500_001, EVERY_LINES))


def test_a_reader_starting_the_file_over_never_moves_progress_back(uploads, request_in_progress):
    clock = Clock()
    report = ProgressReport(uploads, request_in_progress, clock=clock)
    clock.now += 2
    report(200_000)

    clock.now += 2
    report(10_000)  # the file is read again from the start

    assert uploads.progress == [200_000]


def test_progress_of_an_attempt_that_lost_the_request_is_not_written(uploads, request_in_progress):
    uploads.start(request_in_progress, datetime(2099, 1, 1, tzinfo=UTC), 600)  # taken over
    clock = Clock()
    report = ProgressReport(uploads, request_in_progress, clock=clock)
    clock.now += 2

    report(200_000)

    assert uploads.progress == []
