"""Upload URLs with every dependency in memory: the request recorded with its URL, and its expiry.

How the file PUT to the URL is then processed is in ``test_processing_states.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingestion.domain import Collection, UploadStatus, UploadUrl
from ingestion.errors import CollectionNotFound, DataTypeNotFound
from ingestion.services.processing import UploadedObject, process_uploaded_file
from ingestion.services.upload_urls import expire_upload_urls, request_upload_url
from tests.unit.fakes import BUCKET, InMemoryUploads, World, in_memory_world

COLLECTION = Collection(
    id="01jd3k7q9x0m5r2c8v4b6n1t3e", tenant_id="dev", name="CRM", created_at=datetime(2026, 1, 1, tzinfo=UTC)
)
GRACE = timedelta(seconds=900)


@pytest.fixture
def world() -> World:
    return in_memory_world(COLLECTION)


def ask(world: World, tenant: str = "dev", data_type: str = "deals", **options: object) -> UploadUrl:
    return request_upload_url(
        tenant_id=tenant,
        collection_id=COLLECTION.id,
        data_type=data_type,
        collections=world.collections,  # type: ignore[arg-type]
        uploads=world.uploads,  # type: ignore[arg-type]
        files=world.files,
        data_types=world.data_types,  # type: ignore[arg-type]
        settings=world.settings,
        **options,  # type: ignore[arg-type]
    )


def expire(world: World, now: datetime) -> list[str]:
    ended = expire_upload_urls(now=now, uploads=world.uploads, settings=world.settings)  # type: ignore[arg-type]
    return [request.id for request in ended]


def test_an_upload_url_records_a_queued_request_waiting_for_its_file(world):
    before = datetime.now(UTC)

    upload = ask(world)

    request = world.uploads.requests[upload.request.id]
    assert (request.status, request.source, request.size_bytes) == (UploadStatus.QUEUED, "api", 0)
    assert request.object_key == f"incoming/{COLLECTION.id}/deals/api/{request.id}"
    assert request.message == (
        f"waiting for the file: PUT it to the uploadUrl before {upload.expires_at:%Y-%m-%dT%H:%M:%SZ}"
    )
    assert request.awaiting_file_until == upload.expires_at
    assert before.replace(microsecond=0) + timedelta(hours=1) <= upload.expires_at
    assert upload.expires_at <= datetime.now(UTC) + timedelta(hours=1)


def test_the_url_names_the_requests_own_object_for_as_long_as_the_setting_says():
    world = in_memory_world(COLLECTION, UPLOAD_URL_SECONDS=600)

    upload = ask(world)

    assert upload.url == f"https://{BUCKET}.s3.example/{upload.request.object_key}?X-Amz-Expires=600"
    assert (upload.method, upload.headers) == ("PUT", {})
    assert upload.expires_at - upload.request.dump_datetime <= timedelta(seconds=600)


def test_an_upload_url_keeps_the_options_on_its_request(world):
    upload = ask(
        world,
        file_name="big\nexport.csv",
        content_type="text/csv; charset=utf-8",
        separator=";",
        max_bad_records=3,
        allow_field_addition=True,
    )

    request = world.uploads.requests[upload.request.id]
    assert (request.file_name, request.content_type, request.separator) == (
        "big_export.csv",
        "text/csv; charset=utf-8",
        ";",
    )
    assert (request.max_bad_records, request.allow_field_addition) == (3, True)


def test_an_upload_url_for_another_tenants_collection_is_refused_and_records_nothing(world):
    with pytest.raises(CollectionNotFound):
        ask(world, tenant="someone-else")

    assert world.uploads.requests == {}


def test_an_upload_url_for_an_undeclared_data_type_is_refused_and_records_nothing(world):
    with pytest.raises(DataTypeNotFound):
        ask(world, data_type="leads")

    assert world.uploads.requests == {}


def test_a_request_whose_file_never_came_ends_error_after_the_grace_period(world):
    upload = ask(world)

    ended = expire(world, now=upload.expires_at + GRACE + timedelta(seconds=1))

    request = world.uploads.requests[upload.request.id]
    assert ended == [request.id]
    assert request.status is UploadStatus.ERROR
    assert request.message.startswith(
        f"no file arrived before the upload URL expired at {upload.expires_at:%Y-%m-%dT%H:%M:%SZ}; "
        "ask for a new upload URL"
    )
    assert request.awaiting_file_until is None


def test_a_request_is_left_waiting_during_the_grace_period(world):
    upload = ask(world)

    ended = expire(world, now=upload.expires_at + GRACE - timedelta(seconds=1))

    assert ended == []
    assert world.uploads.requests[upload.request.id].status is UploadStatus.QUEUED


def test_a_request_whose_file_arrived_is_never_expired(world):
    upload = ask(world)
    world.files.drop(upload.request.object_key, b"id\n1\n")
    process_uploaded_file(UploadedObject(bucket=BUCKET, key=upload.request.object_key), world.deps)

    ended = expire(world, now=upload.expires_at + GRACE + timedelta(days=1))

    assert ended == []
    assert world.uploads.requests[upload.request.id].status is UploadStatus.COMPLETED


class FileArrivesWhileListed(InMemoryUploads):
    """The file of each waiting request arrives just after the expiry found the request."""

    def waiting_for_file(self, expired_before: datetime, limit: int) -> list:
        found = super().waiting_for_file(expired_before, limit)
        for request in found:
            self.start(request, expired_before, lease_seconds=600, size_bytes=5)
        return found


def test_a_request_that_starts_while_the_expiry_runs_is_left_to_its_processing(world):
    world.uploads = FileArrivesWhileListed()
    upload = ask(world)

    ended = expire(world, now=upload.expires_at + GRACE + timedelta(seconds=1))

    assert ended == []
    assert world.uploads.requests[upload.request.id].status is UploadStatus.IN_PROGRESS
