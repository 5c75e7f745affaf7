"""The processing service's states, with every dependency in memory (no AWS, no data plane).

Each test puts one upload request in one state, delivers its notification, and checks what
the service did: whether it merged, what it recorded, what it left for the next delivery.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ingestion.dataplane.merge import MergeConflict
from ingestion.domain import (
    Collection,
    UploadOutcome,
    UploadRequest,
    UploadSource,
    UploadStatus,
    ValidationIssue,
)
from ingestion.errors import FileReplaced, RequestBusy, TableBusy
from ingestion.repositories.files import FileInfo, StoredUpload
from ingestion.services.processing import UploadedObject, fail_uploaded_file, process_uploaded_file
from ingestion.services.upload_urls import expire_upload_urls, request_upload_url
from ingestion.summaries import RECORD_WARNINGS
from tests.unit.fakes import BUCKET, StoredObject, World, in_memory_world

COLLECTION = Collection(
    id="01jd3k7q9x0m5r2c8v4b6n1t3e", tenant_id="dev", name="CRM", created_at=datetime(2026, 1, 1, tzinfo=UTC)
)
REQUEST_ID = "01jd3k8a2b3c4d5e6f7g8h9j0k"
KEY = f"incoming/{COLLECTION.id}/deals/api/{REQUEST_ID}"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def world() -> World:
    return in_memory_world(COLLECTION)


def queue_api_upload(world: World, content: bytes = b"id\n1\n", data_type: str = "deals") -> UploadedObject:
    """What the entry function leaves behind: the file with its request, and the queued record."""
    key = f"incoming/{COLLECTION.id}/{data_type}/api/{REQUEST_ID}"
    upload = StoredUpload(request_id=REQUEST_ID, file_name="deals.csv", separator=",", dump_datetime=NOW)
    world.files.objects[key] = StoredObject(
        content, FileInfo(size_bytes=len(content), upload=upload, etag='"v1"', last_modified=NOW)
    )
    world.uploads.create(
        UploadRequest(
            id=REQUEST_ID,
            collection_id=COLLECTION.id,
            data_type=data_type,
            separator=",",
            dump_datetime=NOW,
            status=UploadStatus.QUEUED,
            source=UploadSource.API,
            file_name="deals.csv",
            size_bytes=len(content),
            object_key=key,
        )
    )
    return UploadedObject(bucket=BUCKET, key=key)


def held_by_another_attempt(world: World, lease_seconds: int) -> None:
    request = world.uploads.requests[REQUEST_ID]
    world.uploads.start(request, datetime.now(UTC) - timedelta(seconds=1), lease_seconds)


def test_a_queued_upload_is_merged_under_its_tables_lock_and_recorded(world):
    uploaded = queue_api_upload(world)

    request = process_uploaded_file(uploaded, world.deps)

    assert request.status is UploadStatus.COMPLETED
    assert (request.rows_inserted, request.attempt) == (5, 1)
    assert world.locks.taken == [f"{COLLECTION.id}/deals"]
    assert world.data_plane.held_locks == [True]
    assert world.collections.find(COLLECTION.id).data_types["deals"].row_count == 5


def test_a_merge_is_kept_from_snapshot_expiry_until_its_outcome_is_recorded(world):
    uploaded = queue_api_upload(world)
    finish = world.uploads.finish

    def dies_after_the_commit(*_: object) -> None:
        raise RuntimeError("stopped before the outcome was recorded")

    world.uploads.finish = dies_after_the_commit
    with pytest.raises(RuntimeError):
        process_uploaded_file(uploaded, world.deps)
    assert world.locks.unrecorded[f"{COLLECTION.id}/deals"] == {REQUEST_ID: 1}

    world.uploads.finish = finish
    process_uploaded_file(uploaded, world.deps)

    assert world.locks.unrecorded[f"{COLLECTION.id}/deals"] == {}


def test_a_request_under_a_live_lease_is_left_to_its_attempt(world):
    uploaded = queue_api_upload(world)
    held_by_another_attempt(world, lease_seconds=600)

    with pytest.raises(RequestBusy):
        process_uploaded_file(uploaded, world.deps)

    assert world.data_plane.read == []
    assert world.uploads.requests[REQUEST_ID].status is UploadStatus.IN_PROGRESS


def test_a_request_whose_lease_expired_is_taken_over(world):
    uploaded = queue_api_upload(world)
    held_by_another_attempt(world, lease_seconds=0)

    request = process_uploaded_file(uploaded, world.deps)

    assert request.status is UploadStatus.COMPLETED
    assert request.attempt == 2


def test_a_commit_conflict_releases_the_request_for_the_next_delivery(world):
    uploaded = queue_api_upload(world)
    world.data_plane.failure = MergeConflict("the table kept changing")

    with pytest.raises(MergeConflict):
        process_uploaded_file(uploaded, world.deps)

    assert world.uploads.released == [REQUEST_ID]
    world.data_plane.failure = None
    assert process_uploaded_file(uploaded, world.deps).status is UploadStatus.COMPLETED


def test_a_table_busy_past_the_wait_releases_the_request_too(world):
    uploaded = queue_api_upload(world)
    world.data_plane.failure = TableBusy("other uploads kept the table busy")

    with pytest.raises(TableBusy):
        process_uploaded_file(uploaded, world.deps)

    assert world.uploads.released == [REQUEST_ID]


def test_a_finished_request_is_not_processed_again(world):
    uploaded = queue_api_upload(world)
    first = process_uploaded_file(uploaded, world.deps)

    again = process_uploaded_file(uploaded, world.deps)

    assert again == first
    assert world.data_plane.calls == [REQUEST_ID]


def test_a_merge_committed_before_a_crash_is_recorded_by_the_next_attempt(world):
    uploaded = queue_api_upload(world)
    world.data_plane.merged[REQUEST_ID] = world.data_plane.outcome  # committed, then the process died
    held_by_another_attempt(world, lease_seconds=0)

    request = process_uploaded_file(uploaded, world.deps)

    assert request.status is UploadStatus.COMPLETED
    assert request.rows_inserted == 5
    assert world.collections.find(COLLECTION.id).data_types["deals"].row_count == 5


def test_a_dead_letter_ends_a_request_that_never_finished(world):
    uploaded = queue_api_upload(world)
    held_by_another_attempt(world, lease_seconds=600)

    request = fail_uploaded_file(uploaded, "processing failed on every delivery (3)", world.deps)

    assert request.status is UploadStatus.ERROR
    assert KEY in request.message
    assert REQUEST_ID in request.message


def test_a_dead_letter_leaves_a_finished_request_as_it_is(world):
    uploaded = queue_api_upload(world)
    completed = process_uploaded_file(uploaded, world.deps)

    assert fail_uploaded_file(uploaded, "late dead letter", world.deps) == completed


def test_a_file_replaced_while_read_ends_error_at_once(world):
    uploaded = queue_api_upload(world)
    world.data_plane.failure = FileReplaced(f"s3://{BUCKET}/{KEY}")

    request = process_uploaded_file(uploaded, world.deps)

    assert request.status is UploadStatus.ERROR
    assert "replaced while it was being read" in request.message
    assert world.uploads.released == []


def test_an_upload_whose_data_type_was_removed_ends_error_at_once(world):
    uploaded = queue_api_upload(world, data_type="leads")  # declared when it was posted, removed since

    request = process_uploaded_file(uploaded, world.deps)

    assert request.status is UploadStatus.ERROR
    assert "unknown data type 'leads'" in request.message
    assert world.data_plane.read == []


def test_every_notification_of_one_dropped_object_names_one_request(world):
    key = f"incoming/{COLLECTION.id}/deals/export.csv"
    world.files.drop(key, b"id\n1\n", etag='"multipart-2"')
    uploaded = UploadedObject(bucket=BUCKET, key=key)

    first = process_uploaded_file(uploaded, world.deps)
    second = process_uploaded_file(uploaded, world.deps)  # e.g. Put, then CompleteMultipartUpload

    assert first.id == second.id
    assert len(world.uploads.requests) == 1
    assert world.data_plane.calls == [first.id]


def test_a_new_version_of_a_dropped_file_is_a_new_upload(world):
    key = f"incoming/{COLLECTION.id}/deals/export.csv"
    world.files.drop(key, b"id\n1\n", etag='"a"', written=NOW)
    first = process_uploaded_file(UploadedObject(bucket=BUCKET, key=key), world.deps)
    world.files.drop(key, b"id\n2\n", etag='"b"', written=NOW + timedelta(minutes=1))

    second = process_uploaded_file(UploadedObject(bucket=BUCKET, key=key), world.deps)

    assert first.id != second.id
    assert world.data_plane.read == [b"id\n1\n", b"id\n2\n"]


def test_a_dropped_file_name_is_stored_as_one_line(world):
    key = f"incoming/{COLLECTION.id}/deals/deals\r\n2024.csv"
    world.files.drop(key, b"id\n1\n")

    request = process_uploaded_file(UploadedObject(bucket=BUCKET, key=key), world.deps)

    assert request.file_name == "deals__2024.csv"


def test_an_outcome_too_big_for_its_record_is_summarised_and_kept_whole_in_a_report(world):
    uploaded = queue_api_upload(world)
    warnings = [f"column 'c{n:05}{'x' * 200}' is odd" for n in range(5000)]
    issues = [ValidationIssue(line=n, column="c" * 5000, value="v" * 5000, message="m") for n in range(100)]
    world.data_plane.outcome = UploadOutcome(
        status=UploadStatus.COMPLETED,
        rows_inserted=1,
        row_count=1,
        warnings=warnings,
        validation_errors=issues,
    )

    request = process_uploaded_file(uploaded, world.deps)

    assert request.status is UploadStatus.COMPLETED
    assert len(request.warnings) == RECORD_WARNINGS + 1
    assert "4980 more warnings" in request.warnings[-1]
    assert len(request.model_dump_json()) < 300_000
    ((report_key, report),) = world.files.reports.items()
    assert report_key in request.warnings[-1]
    assert json.loads(report)["warnings"] == warnings


def test_an_outcome_that_fits_writes_no_report(world):
    process_uploaded_file(queue_api_upload(world), world.deps)

    assert world.files.reports == {}


# --------------------------------------------------------------------------- files PUT to upload URLs


def ask_for_upload_url(world: World, **options: object) -> UploadRequest:
    """What the upload-URL route leaves behind: a queued request waiting for its file."""
    return request_upload_url(
        tenant_id=COLLECTION.tenant_id,
        collection_id=COLLECTION.id,
        data_type="deals",
        collections=world.collections,  # type: ignore[arg-type]
        uploads=world.uploads,  # type: ignore[arg-type]
        files=world.files,
        data_types=world.data_types,  # type: ignore[arg-type]
        settings=world.settings,
        **options,  # type: ignore[arg-type]
    ).request


def put_to_upload_url(world: World, request: UploadRequest, content: bytes) -> UploadedObject:
    """The file as a PUT to the URL stores it: at the request's key, with no metadata."""
    world.files.drop(request.object_key, content, content_type="binary/octet-stream")
    return UploadedObject(bucket=BUCKET, key=request.object_key)


def test_a_file_put_to_an_upload_url_is_merged_as_its_request_with_the_options_asked_for(world):
    request = ask_for_upload_url(
        world,
        file_name="export.csv",
        content_type="text/csv",
        separator=";",
        max_bad_records=3,
        allow_field_addition=True,
    )

    content = b"id\n1\n2\n"

    done = process_uploaded_file(put_to_upload_url(world, request, content), world.deps)

    assert (done.id, done.status, done.size_bytes) == (request.id, UploadStatus.COMPLETED, len(content))
    assert len(world.uploads.requests) == 1
    ((separator, options),) = world.data_plane.asked
    assert separator == ";"
    assert (options.file_name, options.content_type) == ("export.csv", "text/csv")
    assert (options.max_bad_records, options.allow_field_addition) == (3, True)


def test_a_file_put_to_an_upload_url_stops_waiting_once_its_processing_starts(world):
    request = ask_for_upload_url(world)
    world.data_plane.failure = MergeConflict("the table kept changing")  # the attempt fails after starting

    with pytest.raises(MergeConflict):
        process_uploaded_file(put_to_upload_url(world, request, b"id\n1\n"), world.deps)

    started = world.uploads.requests[request.id]
    assert (started.status, started.message, started.size_bytes) == (UploadStatus.IN_PROGRESS, None, 5)
    assert started.awaiting_file_until is None


def test_a_file_under_api_naming_no_request_is_ignored(world):
    key = f"incoming/{COLLECTION.id}/deals/api/01jd3k8a2b3c4d5e6f7g8h9zzz"
    world.files.drop(key, b"id\n1\n")

    assert process_uploaded_file(UploadedObject(bucket=BUCKET, key=key), world.deps) is None

    assert world.uploads.requests == {}
    assert world.data_plane.read == []


def test_a_file_arriving_after_its_request_expired_changes_nothing(world):
    request = ask_for_upload_url(world)
    (expired,) = expire_upload_urls(
        now=request.awaiting_file_until + timedelta(days=1),
        uploads=world.uploads,  # type: ignore[arg-type]
        settings=world.settings,
    )

    late = process_uploaded_file(put_to_upload_url(world, request, b"id\n1\n"), world.deps)

    assert late == expired
    assert world.data_plane.read == []


def test_a_request_recorded_without_its_options_reads_them_from_the_files_metadata(world):
    uploaded = queue_api_upload(world)  # a record written before the options were kept on it
    info = world.files.objects[KEY].info
    world.files.objects[KEY] = StoredObject(
        b"id\n1\n", replace(info, max_bad_records=2, allow_field_addition=True, content_type="text/csv")
    )

    process_uploaded_file(uploaded, world.deps)

    ((_, options),) = world.data_plane.asked
    assert (options.max_bad_records, options.allow_field_addition, options.content_type) == (
        2,
        True,
        "text/csv",
    )


def test_a_dropped_file_keeps_the_options_of_its_metadata_on_its_request(world):
    key = f"incoming/{COLLECTION.id}/deals/export.csv"
    world.files.drop(key, b"id\n1\n")
    info = world.files.objects[key].info
    world.files.objects[key] = StoredObject(b"id\n1\n", replace(info, max_bad_records=4))

    request = process_uploaded_file(UploadedObject(bucket=BUCKET, key=key), world.deps)

    assert (request.max_bad_records, request.allow_field_addition) == (4, False)


def test_processed_lines_rise_while_the_file_is_read(world):
    uploaded = queue_api_upload(world)
    world.data_plane.progress_steps = [100_000, 200_000, 300_000]

    request = process_uploaded_file(uploaded, world.deps)

    assert world.uploads.progress == [100_000, 200_000, 300_000]
    assert request.processed_lines == world.data_plane.outcome.processed_lines
