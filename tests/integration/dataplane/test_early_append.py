"""Rows written as data files while the file is validated: committed only when they are what the
merge would write, and deleted otherwise (a refused file, keys out of order, an update)."""

from __future__ import annotations

import csv
import io

import boto3
import pyarrow.parquet as pq
import pytest
from pyiceberg.table import Table

from ingestion.dataplane import (
    get_catalog,
    merge,
    streamed_files,
    table_identifier,
    validation,
)
from ingestion.dataplane.tables import table_location
from ingestion.domain import UploadOutcome, UploadStatus
from ingestion.settings import Settings
from tests.conftest import make_settings
from tests.integration.dataplane.uploads import ingest_bytes

EARLY, LATE = "early", "late"


@pytest.fixture
def early_settings(settings: Settings) -> Settings:
    """Every file's rows written during validation (none held back for a group commit)."""
    return settings.model_copy(update={"early_write_after_mib": 0})


@pytest.fixture
def early_commits(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each merge committed the files written during validation: read in batches of 16 KiB,
    written in row groups of 7 rows."""
    monkeypatch.setitem(validation.validate_file.__kwdefaults__, "block_size", 16 << 10)
    monkeypatch.setattr(streamed_files, "ROW_GROUP_ROWS", 7)
    commits: list[bool] = []
    commit = merge.commit_early_append

    def spy(*args: object, **kwargs: object) -> object:
        result = commit(*args, **kwargs)  # type: ignore[arg-type]
        commits.append(result is not None)
        return result

    monkeypatch.setattr(merge, "commit_early_append", spy)
    return commits


def deals(
    sample: bytes, ids: list[str], *, bad_last: bool = False, stamp: str = "2024-06-18T12:30:45"
) -> bytes:
    """Deals copied from the sample's first, in this order, their creation months spread over a year."""
    template = next(csv.DictReader(io.StringIO(sample.decode())))
    rows = [
        dict(
            template,
            id=deal,
            creationDatetime=f"2024-{1 + number * 5 % 12:02d}-05T08:00:00",
            lastUpdateDatetime=stamp,
        )
        for number, deal in enumerate(ids)
    ]
    if bad_last:
        rows[-1]["value"] = "a lot"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(template), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def ingest(settings: Settings, collection: str, data: bytes, request_id: str) -> UploadOutcome:
    return ingest_bytes(settings, data, request_id, collection_id=collection)


def load(settings: Settings, collection: str) -> Table:
    return get_catalog(settings).load_table(table_identifier(settings, collection, "deals"))


def early_holding_the_late_rows(settings: Settings) -> Table:
    """The early collection's table, once shown to hold exactly the rows of the late one."""
    early, late = load(settings, EARLY), load(settings, LATE)
    assert early.scan().to_arrow().sort_by("id").equals(late.scan().to_arrow().sort_by("id"))
    return early


def stored_objects(settings: Settings, collection: str) -> set[str]:
    location = table_location(settings, collection, "deals")
    bucket, prefix = location.removeprefix("s3://").split("/", 1)
    s3 = boto3.client("s3", endpoint_url=settings.aws_endpoint_url, region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/data/").get("Contents", [])
    return {f"s3://{bucket}/{item['Key']}" for item in listed}


def referenced_files(table: Table) -> set[str]:
    """The data files any snapshot of the table refers to."""
    return {
        entry.data_file.file_path
        for snapshot in table.snapshots()
        for manifest in snapshot.manifests(table.io)
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False)
    }


def files_by_partition(table: Table) -> dict[object, tuple[list[str], int, dict, dict, dict]]:
    """Each live data file's partition: its ids, row groups and statistics."""
    found = {}
    for task in table.scan().plan_files():
        data_file = task.file
        with table.io.new_input(data_file.file_path).open() as source:
            parquet = pq.ParquetFile(io.BytesIO(source.read()))
        assert data_file.partition not in found  # one file per partition
        found[data_file.partition] = (
            parquet.read(columns=["id"]).column("id").to_pylist(),
            parquet.metadata.num_row_groups,
            data_file.lower_bounds,
            data_file.upper_bounds,
            data_file.null_value_counts,
        )
        assert data_file.record_count == parquet.metadata.num_rows
    return found


def test_rows_written_during_validation_make_the_table_the_merge_writes(
    settings, early_settings, early_commits, sample_csv
):
    data = deals(sample_csv, [f"{number:05d}" for number in range(300)])

    late = ingest(settings, LATE, data, "r1")
    early = ingest(early_settings, EARLY, data, "r1")

    assert early_commits == [True]
    assert (early.rows_inserted, early.rows_updated, early.row_count) == (300, 0, 300)
    assert early.model_dump(exclude={"snapshot_id"}) == late.model_dump(exclude={"snapshot_id"})
    early_table, late_table = early_holding_the_late_rows(settings), load(settings, LATE)
    early_files, late_files = files_by_partition(early_table), files_by_partition(late_table)
    assert early_files.keys() == late_files.keys()
    assert len(early_files) == 12
    for partition, (ids, row_groups, *statistics) in early_files.items():
        late_ids, late_row_groups, *late_statistics = late_files[partition]
        assert ids == sorted(ids) == late_ids
        assert statistics == late_statistics
        assert row_groups > late_row_groups == 1  # written 7 rows at a time, as validation went
    assert stored_objects(settings, EARLY) == referenced_files(early_table)


def test_a_file_whose_last_row_is_bad_merges_nothing_and_leaves_no_file(
    early_settings, early_commits, sample_csv
):
    ids = [f"{number:05d}" for number in range(300)]
    ingest(early_settings, EARLY, deals(sample_csv, ids[:100]), "r1")
    table = load(early_settings, EARLY)
    before = stored_objects(early_settings, EARLY)

    outcome = ingest(early_settings, EARLY, deals(sample_csv, ids[100:], bad_last=True), "r2")

    assert outcome.status is UploadStatus.ERROR
    assert [issue.line for issue in outcome.validation_errors] == [201]
    assert load(early_settings, EARLY).snapshots() == table.snapshots()
    assert stored_objects(early_settings, EARLY) == before == referenced_files(table)
    assert early_commits == [True]  # the first file only


def test_a_refused_first_file_leaves_no_file(early_settings, early_commits, sample_csv):
    outcome = ingest(
        early_settings, EARLY, deals(sample_csv, [f"{n:05d}" for n in range(300)], bad_last=True), "r1"
    )

    assert outcome.status is UploadStatus.ERROR
    assert stored_objects(early_settings, EARLY) == set()
    assert early_commits == []


@pytest.mark.parametrize(
    "ids",
    [
        [f"{number:05d}" for number in reversed(range(300))],  # descending
        [f"{number:05d}" for number in range(150)] * 2,  # every key twice
        [f"{number:05d}" for number in range(299)] + ["00100"],  # the last key repeats an earlier one
    ],
    ids=["descending", "repeated", "last-repeats"],
)
def test_keys_out_of_order_are_written_by_the_merge(settings, early_settings, early_commits, sample_csv, ids):
    data = deals(sample_csv, ids)

    late = ingest(settings, LATE, data, "r1")
    early = ingest(early_settings, EARLY, data, "r1")

    assert early_commits == []  # the writing stopped at the first key out of order
    assert early.model_dump(exclude={"snapshot_id"}) == late.model_dump(exclude={"snapshot_id"})
    early_table = early_holding_the_late_rows(settings)
    assert all(row_groups == 1 for _, row_groups, *_ in files_by_partition(early_table).values())
    assert stored_objects(settings, EARLY) == referenced_files(early_table)


def test_an_upsert_of_stored_rows_is_written_by_the_merge(
    settings, early_settings, early_commits, sample_csv
):
    ids = [f"{number:05d}" for number in range(300)]
    first = deals(sample_csv, ids[:200])
    # Newer versions of 100 stored deals, and 100 new deals, in key order.
    second = deals(sample_csv, ids[100:], stamp="2024-07-01T00:00:00")
    for collection, chosen in ((EARLY, early_settings), (LATE, settings)):
        ingest(chosen, collection, first, "r1")
        outcome = ingest(chosen, collection, second, "r2")
        assert (outcome.rows_inserted, outcome.rows_updated, outcome.row_count) == (100, 100, 300)

    assert early_commits == [True]  # the first file's merge only: the second updates rows
    early_table = early_holding_the_late_rows(settings)
    assert stored_objects(settings, EARLY) == referenced_files(early_table)


def test_stale_rows_are_not_written(settings, early_settings, early_commits, sample_csv):
    ids = [f"{number:05d}" for number in range(200)]
    ingest(early_settings, EARLY, deals(sample_csv, ids, stamp="2024-07-01T00:00:00"), "r1")
    table = load(settings, EARLY)

    outcome = ingest(early_settings, EARLY, deals(sample_csv, ids[50:150]), "r2")

    assert (outcome.rows_inserted, outcome.rows_updated, outcome.row_count) == (0, 0, 200)
    assert load(settings, EARLY).snapshots() == table.snapshots()
    assert stored_objects(settings, EARLY) == referenced_files(table)


def test_small_files_are_written_by_the_merge_only(settings, early_commits, sample_csv):
    assert make_settings().early_write_after_mib == 16  # the group commit's size
    outcome = ingest(settings, EARLY, deals(sample_csv, [f"{n:05d}" for n in range(300)]), "r1")

    assert outcome.rows_inserted == 300
    assert early_commits == []
