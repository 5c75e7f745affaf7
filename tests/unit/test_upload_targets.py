"""An upload is merged only while its collection and its data type's rows remain: checked before
the file is read, and again under the table's commit lock, just before the merge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from ingestion.domain import Collection, UploadRequest, UploadSource, UploadStatus
from ingestion.repositories.files import FileInfo, StoredUpload
from ingestion.services.processing import UploadedObject, process_uploaded_file
from tests.unit.fakes import (
    BUCKET,
    InMemoryCollections,
    ScriptedDataPlane,
    StoredObject,
    World,
    in_memory_world,
)

COLLECTION = Collection(
    id="01jd3k7q9x0m5r2c8v4b6n1t3e", tenant_id="dev", name="CRM", created_at=datetime(2026, 1, 1, tzinfo=UTC)
)
REQUEST_ID = "01jd3k8a2b3c4d5e6f7g8h9j0k"
UPLOADED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DELETED = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


def queue_api_upload(world: World) -> UploadedObject:
    """An upload of deals as the entry function leaves it: the file with its request, the queued record."""
    key = f"incoming/{COLLECTION.id}/deals/api/{REQUEST_ID}"
    upload = StoredUpload(request_id=REQUEST_ID, file_name="deals.csv", separator=",", dump_datetime=UPLOADED)
    world.files.objects[key] = StoredObject(
        b"id\n1\n", FileInfo(size_bytes=5, upload=upload, etag='"v1"', last_modified=UPLOADED)
    )
    world.uploads.create(
        UploadRequest(
            id=REQUEST_ID,
            collection_id=COLLECTION.id,
            data_type="deals",
            separator=",",
            dump_datetime=UPLOADED,
            status=UploadStatus.QUEUED,
            source=UploadSource.API,
            file_name="deals.csv",
            size_bytes=5,
            object_key=key,
        )
    )
    return UploadedObject(bucket=BUCKET, key=key)


@dataclass
class ChangedWhileValidating(ScriptedDataPlane):
    """A data plane during whose validation the collection changes (deleted, or a data type cleared)."""

    collections: InMemoryCollections | None = None
    change: dict[str, Any] | None = None

    def check(self, **arguments: Any) -> Any:
        assert self.collections is not None
        current = self.collections.collections[COLLECTION.id]
        self.collections.collections[COLLECTION.id] = current.model_copy(update=self.change)
        return super().check(**arguments)


@pytest.fixture
def world() -> World:
    return in_memory_world(COLLECTION)


def changed(world: World, **change: Any) -> None:
    current = world.collections.collections[COLLECTION.id]
    world.collections.collections[COLLECTION.id] = current.model_copy(update=change)


def test_an_upload_of_a_deleted_collection_ends_error_without_reading_its_file(world: World):
    uploaded = queue_api_upload(world)
    changed(world, deleted_at=DELETED)

    request = process_uploaded_file(uploaded, world.deps)

    assert request.status is UploadStatus.ERROR
    assert "was deleted" in request.message
    assert world.data_plane.read == []


def test_a_collection_deleted_while_its_upload_is_validated_gets_nothing_merged(world: World):
    uploaded = queue_api_upload(world)
    world.data_plane = ChangedWhileValidating(
        locks=world.locks, collections=world.collections, change={"deleted_at": DELETED}
    )

    request = process_uploaded_file(uploaded, world.deps)

    assert request.status is UploadStatus.ERROR
    assert "was deleted" in request.message
    assert world.data_plane.merged == {}
    assert world.locks.held == set()


def test_an_upload_requested_before_its_data_types_rows_were_deleted_is_not_merged(world: World):
    uploaded = queue_api_upload(world)
    changed(world, cleared_data_types={"deals": "01zzzzzzzzzzzzzzzzzzzzzzzz"})

    request = process_uploaded_file(uploaded, world.deps)

    assert request.status is UploadStatus.ERROR
    assert "deleted after this file was uploaded" in request.message
    assert world.data_plane.merged == {}


def test_rows_deleted_while_the_upload_is_validated_keep_it_from_being_merged(world: World):
    uploaded = queue_api_upload(world)
    world.data_plane = ChangedWhileValidating(
        locks=world.locks,
        collections=world.collections,
        change={"cleared_data_types": {"deals": "01zzzzzzzzzzzzzzzzzzzzzzzz"}},
    )

    request = process_uploaded_file(uploaded, world.deps)

    assert request.status is UploadStatus.ERROR
    assert world.data_plane.merged == {}


def test_an_upload_requested_after_its_data_types_rows_were_deleted_is_merged(world: World):
    uploaded = queue_api_upload(world)
    changed(world, cleared_data_types={"deals": "01000000000000000000000000"})

    request = process_uploaded_file(uploaded, world.deps)

    assert request.status is UploadStatus.COMPLETED
    assert list(world.data_plane.merged) == [REQUEST_ID]


def test_an_upload_of_a_collection_that_no_longer_exists_ends_error(world: World):
    uploaded = queue_api_upload(world)
    del world.collections.collections[COLLECTION.id]

    request = process_uploaded_file(uploaded, world.deps)

    assert request.status is UploadStatus.ERROR
    assert "no longer exists" in request.message


@pytest.mark.parametrize(
    ("collection", "refused"),
    [
        (COLLECTION, False),
        (COLLECTION.model_copy(update={"deleted_at": DELETED}), True),
        (COLLECTION.model_copy(update={"cleared_data_types": {"deals": REQUEST_ID}}), False),
        (
            COLLECTION.model_copy(update={"cleared_data_types": {"leads": "01zzzzzzzzzzzzzzzzzzzzzzzz"}}),
            False,
        ),
    ],
)
def test_what_a_collection_refuses(collection: Collection, refused: bool):
    assert (collection.refuses_upload("deals", REQUEST_ID) is not None) is refused
