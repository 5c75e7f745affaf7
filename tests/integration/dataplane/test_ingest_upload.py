"""ingest_upload against moto's S3 and Glue: tables created, merged, refused and replayed."""

from __future__ import annotations

import csv
import io
import threading

import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.transforms import MonthTransform

from ingestion.dataplane import get_catalog, read_row_count, table_identifier
from ingestion.dataplane.tables import iceberg_schema, load_or_create_table
from ingestion.domain import UploadOutcome, UploadStatus
from ingestion.schemas.deals import DEALS
from ingestion.settings import Settings
from tests.integration.dataplane.uploads import ingest_bytes

COLLECTION = "c0ffee"


def ingest(settings: Settings, data: bytes, request_id: str, catalog: Catalog | None = None) -> UploadOutcome:
    return ingest_bytes(settings, data, request_id, collection_id=COLLECTION, catalog=catalog)


def edit(
    sample: bytes,
    changes: dict[str, dict[str, str]],
    keep: set[str] | None = None,
    new_ids: tuple[str, ...] = (),
) -> bytes:
    """The sample with some cells changed (by deal id), optionally keeping only some deals.

    ``new_ids`` adds deals copied from deal 1 under new ids.
    """
    rows = list(csv.DictReader(io.StringIO(sample.decode())))
    rows += [dict(rows[0], id=new_id) for new_id in new_ids]
    rows = [dict(row, **changes.get(row["id"], {})) for row in rows if keep is None or row["id"] in keep]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def scan(settings: Settings) -> pa.Table:
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals"))
    return table.scan().to_arrow().sort_by("id")


def cell(settings: Settings, deal_id: str, column: str) -> object:
    rows = scan(settings).to_pylist()
    return next(row[column] for row in rows if row["id"] == deal_id)


def test_sample_file_into_empty_collection_inserts_every_row(settings, sample_csv):
    outcome = ingest(settings, sample_csv, "r1")

    assert outcome.status is UploadStatus.COMPLETED
    assert (outcome.processed_lines, outcome.rows_inserted, outcome.rows_updated) == (5, 5, 0)
    assert outcome.row_count == 5
    assert outcome.snapshot_id is not None
    assert scan(settings).column("id").to_pylist() == ["1", "2", "3", "4", "5"]


def test_same_file_again_updates_every_row_and_adds_none(settings, sample_csv):
    ingest(settings, sample_csv, "r1")

    outcome = ingest(settings, sample_csv, "r2")

    assert (outcome.rows_inserted, outcome.rows_updated, outcome.row_count) == (0, 5, 5)
    assert scan(settings).num_rows == 5


def test_newer_version_replaces_the_stored_row(settings, sample_csv):
    ingest(settings, sample_csv, "r1")
    newer = edit(sample_csv, {"2": {"stage": "Won", "lastUpdateDatetime": "2024-07-01T00:00:00"}}, keep={"2"})

    outcome = ingest(settings, newer, "r2")

    assert (outcome.rows_inserted, outcome.rows_updated, outcome.warnings) == (0, 1, [])
    assert cell(settings, "2", "stage") == "Won"


def test_older_version_does_not_replace_a_newer_row(settings, sample_csv):
    ingest(settings, sample_csv, "r1")
    older = edit(
        sample_csv, {"1": {"stage": "Stale", "lastUpdateDatetime": "2024-01-01T00:00:00"}}, keep={"1", "2"}
    )

    outcome = ingest(settings, older, "r2")

    assert (outcome.rows_inserted, outcome.rows_updated, outcome.row_count) == (0, 1, 5)
    assert cell(settings, "1", "stage") == "Negotiation"
    assert outcome.warnings == [
        "1 rows were not merged because the collection already holds a newer version of them "
        "(a later lastUpdateDatetime)"
    ]


def test_row_count_counts_the_table_after_updates_and_inserts(settings, sample_csv):
    ingest(settings, edit(sample_csv, {}, keep={"1", "2", "3"}), "r1")
    more = edit(sample_csv, {}, keep={"2", "3", "4", "5", "6"}, new_ids=("6",))

    outcome = ingest(settings, more, "r2")

    assert (outcome.rows_inserted, outcome.rows_updated, outcome.row_count) == (3, 2, 6)
    assert read_row_count(COLLECTION, "deals", settings=settings) == 6


def test_bad_file_leaves_the_table_exactly_as_it_was(settings, sample_csv):
    ingest(settings, sample_csv, "r1")
    before = scan(settings)
    snapshots = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals")).snapshots()
    bad = edit(sample_csv, {"1": {"stage": "Changed"}, "4": {"value": "a lot"}})

    outcome = ingest(settings, bad, "r2")

    assert outcome.status is UploadStatus.ERROR
    assert [(issue.line, issue.column) for issue in outcome.validation_errors] == [(5, "value")]
    assert scan(settings).equals(before)
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals"))
    assert table.snapshots() == snapshots


def test_bad_first_file_creates_no_table(settings, sample_csv):
    outcome = ingest(settings, edit(sample_csv, {"3": {"status": "won"}}), "r1")

    assert outcome.status is UploadStatus.ERROR
    with pytest.raises(NoSuchTableError):
        get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals"))


def test_same_request_id_twice_merges_once(settings, sample_csv):
    first = ingest(settings, sample_csv, "r1")
    snapshots = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals")).snapshots()

    again = ingest(settings, sample_csv, "r1")

    assert (again.rows_inserted, again.rows_updated, again.row_count) == (5, 0, 5)
    assert again.snapshot_id == first.snapshot_id
    assert again.sequence_number == first.sequence_number
    assert "already been merged" in again.warnings[0]
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals"))
    assert table.snapshots() == snapshots


def test_merge_is_one_commit_stamped_with_the_request(settings, sample_csv):
    ingest(settings, sample_csv, "r1")
    before = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals")).metadata
    ingest(settings, edit(sample_csv, {}, keep={"1", "6"}, new_ids=("6",)), "r2")

    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals"))

    assert table.metadata.last_sequence_number == before.last_sequence_number + 1  # one overwrite snapshot
    stamped = [
        s.summary["ingestion.request-id"]
        for s in table.snapshots()
        if s.snapshot_id not in {old.snapshot_id for old in before.snapshots}
    ]
    assert stamped == ["r2"]
    assert table.current_snapshot().summary["ingestion.rows-inserted"] == "1"
    assert table.current_snapshot().summary["ingestion.rows-updated"] == "1"


def test_repeated_key_in_a_file_keeps_the_newest_row(settings, sample_csv):
    twice = (
        edit(sample_csv, {}) + edit(sample_csv, {"3": {"stage": "Later"}}, keep={"3"}).split(b"\r\n", 1)[1]
    )

    outcome = ingest(settings, twice, "r1")

    assert (outcome.processed_lines, outcome.rows_inserted, outcome.row_count) == (6, 5, 5)
    assert cell(settings, "3", "stage") == "Later"
    assert outcome.warnings[0].startswith("1 rows repeat a id found elsewhere in the file (e.g. '3')")


def test_values_are_stored_with_their_types(settings, sample_csv):
    ingest(settings, sample_csv, "r1")

    row = scan(settings).to_pylist()[0]

    assert row["closedDatetime"].isoformat() == "2024-06-10T09:15:30+00:00"
    assert row["companyTechnologies"] == ["AI", "Machine Learning", "Web"]
    assert (row["companyIsCustomer"], row["numberOfMeetings"], row["companyRevenue"]) == (True, 10, 1000060.5)


def test_table_is_partitioned_by_creation_month_and_sorted_on_the_key(settings, sample_csv):
    ingest(settings, sample_csv, "r1")

    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals"))

    (partition,) = table.spec().fields
    assert table.schema().find_column_name(partition.source_id) == "creationDatetime"
    assert isinstance(partition.transform, MonthTransform)
    assert table.schema().find_column_name(table.sort_order().fields[0].source_id) == "id"
    assert table.location() == f"s3://{settings.data_bucket}/warehouse/{COLLECTION}/deals"


def test_table_made_elsewhere_gets_pyiceberg_retries_switched_off(settings, sample_csv):
    catalog = get_catalog(settings)
    identifier = table_identifier(settings, COLLECTION, "deals")
    catalog.create_table(identifier, iceberg_schema(DEALS), location=f"s3://{settings.data_bucket}/elsewhere")

    outcome = ingest(settings, sample_csv, "r1")

    assert outcome.rows_inserted == 5
    assert catalog.load_table(identifier).properties["commit.retry.num-retries"] == "0"


class ConcurrentWriter:
    """A catalog whose first ``load_table`` lets another writer commit right after it.

    The merge then works from a table that is no longer current, as when two uploads of
    one collection are merged at the same time.
    """

    def __init__(self, catalog: Catalog, settings: Settings, other_rows: bytes) -> None:
        self._catalog = catalog
        self._settings = settings
        self._other_rows = other_rows
        self.loads = 0

    def __getattr__(self, name: str):
        return getattr(self._catalog, name)

    def load_table(self, identifier):
        table = self._catalog.load_table(identifier)
        self.loads += 1
        if self.loads == 1:
            ingest(self._settings, self._other_rows, "other-writer", catalog=self._catalog)
        return table


def test_merge_recomputes_and_retries_when_another_writer_commits_first(settings, sample_csv):
    ingest(settings, edit(sample_csv, {}, keep={"1", "2"}), "r1")
    other = edit(
        sample_csv, {"3": {"stage": "Theirs", "lastUpdateDatetime": "2024-12-01T00:00:00"}}, keep={"3"}
    )
    racing = ConcurrentWriter(get_catalog(settings), settings, other)

    outcome = ingest(settings, sample_csv, "r2", catalog=racing)

    assert racing.loads == 2
    assert (outcome.rows_inserted, outcome.rows_updated, outcome.row_count) == (2, 2, 5)
    assert "1 rows were not merged" in outcome.warnings[0]
    assert cell(settings, "3", "stage") == "Theirs"


def test_writers_creating_the_table_at_once_share_one_table(settings):
    catalog = get_catalog(settings)
    barrier = threading.Barrier(4)
    tables = []

    def create() -> None:
        barrier.wait()
        tables.append(load_or_create_table(catalog, settings, COLLECTION, DEALS).metadata.table_uuid)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(tables) == 4
    assert len(set(tables)) == 1
