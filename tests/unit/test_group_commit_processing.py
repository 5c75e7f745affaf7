"""A batch of uploaded files, processed together: the small files of one table are merged in one
commit, in arrival order, each keeping its own request and outcome; nothing one file does
blocks or changes another. Every dependency is in memory (see ``fakes.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingestion.dataplane.merge import MergeConflict
from ingestion.domain import Collection, UploadOutcome, UploadStatus, ValidationIssue
from ingestion.errors import TableBusy
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType
from ingestion.services.processing import NotStarted, UploadedObject, process_uploaded_files
from tests.unit.fakes import BUCKET, ScriptedDataPlane, World, in_memory_world

CRM = Collection(
    id="01jd3k7q9x0m5r2c8v4b6n1t3e", tenant_id="dev", name="CRM", created_at=datetime(2026, 1, 1, tzinfo=UTC)
)
SHOP = Collection(
    id="01jd3k7q9x0m5r2c8v4b6n1t3f", tenant_id="dev", name="Shop", created_at=datetime(2026, 1, 1, tzinfo=UTC)
)
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
REFUSED = UploadOutcome(
    status=UploadStatus.ERROR,
    message="1 row is invalid",
    validation_errors=[ValidationIssue(line=2, column="amount", message="not a number")],
)


@pytest.fixture
def world() -> World:
    return in_memory_world(CRM, SHOP)


def drop(world: World, name: str, *, second: int, collection: Collection = CRM, content: bytes | None = None):
    """A small file dropped into ``collection``'s deals, written ``second`` seconds after START."""
    key = f"incoming/{collection.id}/deals/{name}.csv"
    world.files.drop(
        key, content or f"id\n{name}\n".encode(), etag=f'"{name}"', written=START + timedelta(seconds=second)
    )
    return UploadedObject(bucket=BUCKET, key=key)


def merged_files(world: World, results) -> list[list[str]]:
    """The file names of each commit, from the request ids the data plane merged together."""
    names = {result.id: result.file_name.removesuffix(".csv") for result in results if hasattr(result, "id")}
    return [[names[request_id] for request_id in merge] for merge in world.data_plane.merges]


def test_small_files_of_one_table_are_merged_in_one_commit_each_with_its_own_request(world):
    files = [drop(world, name, second=number) for number, name in enumerate(["a", "b", "c"])]

    results = process_uploaded_files(files, world.deps)

    assert [result.status for result in results] == [UploadStatus.COMPLETED] * 3
    assert len({result.id for result in results}) == 3
    assert merged_files(world, results) == [["a", "b", "c"]]
    assert world.locks.taken == [f"{CRM.id}/deals"]  # one turn under the table's lock
    assert world.data_plane.held_locks == [True]
    # Each request's snapshot was kept until its own outcome was recorded.
    assert world.locks.unrecorded[f"{CRM.id}/deals"] == {}
    assert all(checked.closed for checked in world.data_plane.checked)


def test_a_group_is_merged_in_arrival_order_whatever_order_the_batch_gives(world):
    files = [drop(world, "late", second=9), drop(world, "early", second=1), drop(world, "middle", second=5)]

    results = process_uploaded_files(files, world.deps)

    assert merged_files(world, results) == [["early", "middle", "late"]]
    assert [result.file_name for result in results] == ["late.csv", "early.csv", "middle.csv"]


def test_a_refused_file_ends_error_and_the_others_are_merged_without_it(world):
    bad = b"id,amount\nx,lots\n"
    world.data_plane.outcomes[bad] = REFUSED
    files = [
        drop(world, "a", second=0),
        drop(world, "bad", second=1, content=bad),
        drop(world, "c", second=2),
    ]

    results = process_uploaded_files(files, world.deps)

    assert [result.status for result in results] == [
        UploadStatus.COMPLETED,
        UploadStatus.ERROR,
        UploadStatus.COMPLETED,
    ]
    assert results[1].validation_errors == REFUSED.validation_errors
    assert merged_files(world, results) == [["a", "c"]]
    assert results[0].rows_inserted == results[2].rows_inserted == 5


def test_a_file_merged_alone_waits_for_the_files_of_its_table_that_arrived_before_it(world):
    large = b"id\n" + b"x\n" * 10

    class LargeOnesAlone(type(world.data_plane)):
        def check(self, **arguments):
            checked = super().check(**arguments)
            checked.groupable = self.read[-1] != large
            return checked

    world.data_plane = LargeOnesAlone(locks=world.locks)
    files = [
        drop(world, "a", second=0),
        drop(world, "b", second=1),
        drop(world, "large", second=2, content=large),
        drop(world, "d", second=3),
    ]

    results = process_uploaded_files(files, world.deps)

    assert merged_files(world, results) == [["a", "b"], ["large"], ["d"]]
    assert {result.status for result in results} == {UploadStatus.COMPLETED}


def test_each_table_gets_its_own_commit(world):
    files = [
        drop(world, "a", second=0),
        drop(world, "s1", second=1, collection=SHOP),
        drop(world, "b", second=2),
        drop(world, "s2", second=3, collection=SHOP),
    ]

    results = process_uploaded_files(files, world.deps)

    assert sorted(merged_files(world, results)) == [["a", "b"], ["s1", "s2"]]
    assert sorted(world.locks.taken) == sorted([f"{CRM.id}/deals", f"{SHOP.id}/deals"])


def test_a_failed_group_commit_fails_its_files_alone_and_releases_their_requests(world):
    class CrmConflicts(type(world.data_plane)):
        def merge(self, uploads, *, collection_id, **arguments):
            if collection_id == CRM.id:
                raise MergeConflict("the table kept changing")
            return super().merge(uploads, collection_id=collection_id, **arguments)

    world.data_plane = CrmConflicts(locks=world.locks)
    files = [
        drop(world, "a", second=0),
        drop(world, "s1", second=1, collection=SHOP),
        drop(world, "b", second=2),
    ]

    results = process_uploaded_files(files, world.deps)

    assert isinstance(results[0], MergeConflict)
    assert isinstance(results[2], MergeConflict)
    assert results[1].status is UploadStatus.COMPLETED
    crm = [request.id for request in world.uploads.requests.values() if request.collection_id == CRM.id]
    assert sorted(world.uploads.released) == sorted(crm)  # free for the next delivery at once
    assert all(checked.closed for checked in world.data_plane.checked)

    world.data_plane = ScriptedDataPlane(locks=world.locks)
    again = process_uploaded_files([files[0], files[2]], world.deps)
    assert [result.status for result in again] == [UploadStatus.COMPLETED] * 2


def test_a_busy_table_fails_its_files_and_nothing_is_merged(world):
    def busy(name):
        raise TableBusy(f"other uploads kept table {name} busy")

    world.locks.hold = busy  # type: ignore[method-assign]
    files = [drop(world, "a", second=0), drop(world, "b", second=1)]

    results = process_uploaded_files(files, world.deps)

    assert all(isinstance(result, TableBusy) for result in results)
    assert world.data_plane.merges == []
    assert sorted(world.uploads.released) == sorted(world.uploads.requests)


def test_files_not_started_in_time_are_left_queued_for_their_next_delivery(world):
    files = [drop(world, name, second=number) for number, name in enumerate(["a", "b", "c"])]
    answers = iter([True, False, False])

    results = process_uploaded_files(files, world.deps, may_start=lambda: next(answers))

    assert results[0].status is UploadStatus.COMPLETED
    assert all(isinstance(result, NotStarted) for result in results[1:])
    statuses = sorted(request.status.value for request in world.uploads.requests.values())
    assert statuses == ["completed", "queued", "queued"]
    assert world.data_plane.read == [b"id\na\n"]


def test_a_file_delivered_twice_in_one_batch_is_merged_once(world):
    file = drop(world, "a", second=0)

    first, second = process_uploaded_files([file, file], world.deps)

    assert first.id == second.id
    assert first.status is second.status is UploadStatus.COMPLETED
    assert world.data_plane.merges == [[first.id]]


def test_files_checked_against_different_columns_of_one_table_get_a_commit_each(world):
    wider = DataTypeSpec(name="deals", fields=(FieldSpec(name="owner", type=FieldType.STRING),))

    class TableGainsAColumn(ScriptedDataPlane):
        def check(self, **arguments):
            checked = super().check(**arguments)
            if self.read[-1] != b"id\na\n":  # another upload added a column after the first check
                checked.merge_type = wider
            return checked

    world.data_plane = TableGainsAColumn(locks=world.locks)
    files = [drop(world, "a", second=0), drop(world, "b", second=1), drop(world, "c", second=2)]

    results = process_uploaded_files(files, world.deps)

    assert merged_files(world, results) == [["a"], ["b", "c"]]
    assert {result.status for result in results} == {UploadStatus.COMPLETED}
