"""A group commit: several checked files of one table merged in one Iceberg commit, with the same
rows and the same per-upload counts as merging them one after another in the given order."""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence

import boto3
import pytest

from ingestion.dataplane import (
    CheckedUpload,
    check_upload,
    get_catalog,
    merge_checked,
    table_identifier,
)
from ingestion.dataplane.commits import REQUESTS
from ingestion.domain import IngestOptions, UploadOutcome
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType
from ingestion.settings import Settings
from tests.conftest import make_settings
from tests.integration.dataplane.uploads import ingest_completed

COLLECTION = "01jd3k7q9x0m5r2c8v4b6n1t3e"
LEADS = DataTypeSpec(
    name="leads",
    fields=(
        FieldSpec(name="id", type=FieldType.STRING, required=True),
        FieldSpec(name="score", type=FieldType.NUMBER),
        FieldSpec(name="updatedAt", type=FieldType.DATETIME),
    ),
    key="id",
    version_field="updatedAt",
)
NOTES = DataTypeSpec(  # a key without a version: the later upload wins a tie
    name="notes",
    fields=(
        FieldSpec(name="id", type=FieldType.STRING, required=True),
        FieldSpec(name="text", type=FieldType.STRING),
    ),
    key="id",
)
EVENTS = DataTypeSpec(  # no key: every row is appended
    name="events",
    fields=(FieldSpec(name="name", type=FieldType.STRING, required=True),),
)

# Each file as a sync would send it; "stale" is older than what "first" stored for lead-1.
FILES = {
    "first": b"id,score,updatedAt\nlead-1,1,2026-01-02T00:00:00Z\nlead-2,1,2026-01-02T00:00:00Z\n",
    "second": b"id,score,updatedAt\nlead-2,2,2026-01-03T00:00:00Z\nlead-3,2,2026-01-03T00:00:00Z\n",
    "stale": b"id,score,updatedAt\nlead-1,9,2026-01-01T00:00:00Z\nlead-4,3,2026-01-03T00:00:00Z\n",
}
STORED = b"id,score,updatedAt\nlead-1,0,2026-01-01T12:00:00Z\nlead-9,0,2026-01-01T12:00:00Z\n"


def check(settings: Settings, data_type: DataTypeSpec, content: bytes, **options: object) -> CheckedUpload:
    return check_upload(
        open_source=lambda: io.BytesIO(content),
        data_type=data_type,
        separator=",",
        collection_id=COLLECTION,
        options=IngestOptions(**options),
        settings=settings,
    )


def ingest(settings: Settings, data_type: DataTypeSpec, content: bytes, request_id: str) -> UploadOutcome:
    return ingest_completed(settings, content, request_id, collection_id=COLLECTION, data_type=data_type)


def merge_together(
    settings: Settings, data_type: DataTypeSpec, files: Sequence[tuple[str, bytes]]
) -> list[UploadOutcome]:
    checked = [(request_id, check(settings, data_type, content)) for request_id, content in files]
    assert all(each.groupable for _, each in checked)
    try:
        return merge_checked(
            checked, collection_id=COLLECTION, keeper=None, catalog=get_catalog(settings), settings=settings
        )
    finally:
        for _, each in checked:
            each.close()


def rows(settings: Settings, data_type: DataTypeSpec) -> list[dict]:
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, data_type.name))
    read = table.scan().to_arrow()
    if data_type.key:
        read = read.sort_by(data_type.key)
    return read.to_pylist()


def counts(outcome: UploadOutcome) -> tuple[int, int]:
    return outcome.rows_inserted, outcome.rows_updated


@pytest.fixture
def stored_leads(settings: Settings) -> None:
    ingest(settings, LEADS, STORED, "stored")


@pytest.mark.usefixtures("stored_leads")
def test_a_group_leaves_the_rows_and_counts_of_merging_each_file_in_turn(settings: Settings):
    together = merge_together(settings, LEADS, list(FILES.items()))
    grouped_rows = rows(settings, LEADS)

    # The same files merged one after another, into a table of their own.
    alone_settings = _fresh_collection(settings)
    ingest(alone_settings, LEADS, STORED, "stored")
    alone = [ingest(alone_settings, LEADS, content, name) for name, content in FILES.items()]

    assert grouped_rows == rows(alone_settings, LEADS)
    assert [counts(outcome) for outcome in together] == [counts(outcome) for outcome in alone]
    # The figures themselves: lead-2 inserted by "first" is an update for "second".
    assert [counts(outcome) for outcome in together] == [(1, 1), (1, 1), (1, 0)]
    assert "1 rows were not merged because the collection already holds a newer version" in " ".join(
        together[2].warnings
    )
    assert {outcome.snapshot_id for outcome in together} == {together[0].snapshot_id}  # one commit
    assert {outcome.row_count for outcome in together} == {5}


@pytest.mark.usefixtures("stored_leads")
def test_a_redelivered_upload_of_a_group_gets_its_own_recorded_counts(settings: Settings):
    together = merge_together(settings, LEADS, list(FILES.items()))
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "leads"))
    assert set(table.current_snapshot().summary[REQUESTS].split('"')[1::2]) == set(FILES)

    again = ingest(settings, LEADS, FILES["second"], "second")

    assert counts(again) == counts(together[1]) == (1, 1)
    assert again.snapshot_id == together[1].snapshot_id
    assert "had already been merged" in " ".join(again.warnings)
    assert len(rows(settings, LEADS)) == 5


def test_without_a_version_the_later_upload_of_a_group_wins(settings: Settings):
    ingest(settings, NOTES, b"id,text\nn1,stored\n", "stored")

    together = merge_together(
        settings, NOTES, [("a", b"id,text\nn1,from a\nn2,from a\n"), ("b", b"id,text\nn2,from b\n")]
    )

    assert rows(settings, NOTES) == [{"id": "n1", "text": "from a"}, {"id": "n2", "text": "from b"}]
    assert [counts(outcome) for outcome in together] == [(1, 1), (0, 1)]


def test_keyless_files_of_a_group_are_all_appended(settings: Settings):
    together = merge_together(settings, EVENTS, [("a", b"name\nx\ny\n"), ("b", b"name\nx\n")])

    assert sorted(row["name"] for row in rows(settings, EVENTS)) == ["x", "x", "y"]
    assert [counts(outcome) for outcome in together] == [(2, 0), (1, 0)]


def test_files_that_add_columns_or_are_rejected_do_not_join_a_group(settings: Settings):
    adds = check(
        settings,
        LEADS,
        b"id,score,updatedAt,owner\nlead-1,1,2026-01-02T00:00:00Z,ann\n",
        allow_field_addition=True,
    )
    refused = check(settings, LEADS, b"id,score,updatedAt\nlead-1,lots,2026-01-02T00:00:00Z\n")
    plain = check(settings, LEADS, FILES["first"])
    try:
        assert (adds.groupable, refused.groupable, plain.groupable) == (False, False, True)
        assert refused.refused_outcome("r").validation_errors[0].column == "score"
        with pytest.raises(ValueError, match="merged together"):
            merge_checked(
                [("adds", adds), ("plain", plain)],
                collection_id=COLLECTION,
                keeper=None,
                catalog=get_catalog(settings),
                settings=settings,
            )
    finally:
        for each in (adds, refused, plain):
            each.close()


def test_a_file_over_the_group_memory_limit_is_merged_alone(settings: Settings):
    small = make_settings(
        DATA_BUCKET=settings.data_bucket,
        GLUE_DATABASE=settings.glue_database,
        AWS_ENDPOINT_URL=settings.aws_endpoint_url,
        GROUP_COMMIT_MAX_MIB=0,
    )
    checked = check(small, LEADS, FILES["first"])
    try:
        assert not checked.groupable
    finally:
        checked.close()


def _fresh_collection(settings: Settings) -> Settings:
    """Settings naming a Glue database and bucket of their own (a second, independent table)."""
    suffix = uuid.uuid4().hex[:12]
    bucket, database = f"data-{suffix}", f"collections_{suffix}"
    boto3.client("s3", endpoint_url=settings.aws_endpoint_url).create_bucket(Bucket=bucket)
    boto3.client("glue", endpoint_url=settings.aws_endpoint_url).create_database(
        DatabaseInput={"Name": database}
    )
    return make_settings(
        DATA_BUCKET=bucket,
        GLUE_DATABASE=database,
        AWS_ENDPOINT_URL=settings.aws_endpoint_url,
        AWS_REGION="us-east-1",
    )
