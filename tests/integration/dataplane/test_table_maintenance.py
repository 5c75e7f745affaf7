"""Table maintenance: after 100 small appends, the same rows in far fewer files, and no orphans."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import boto3

from ingestion.dataplane import get_catalog, ingest_upload, table_identifier
from ingestion.dataplane.maintenance import maintain_table
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType
from ingestion.settings import Settings

APPENDS = 100
# A keyless type: every append adds a file of its own.
EVENTS = DataTypeSpec(
    name="events",
    fields=(
        FieldSpec(name="name", type=FieldType.STRING, required=True),
        FieldSpec(name="n", type=FieldType.INTEGER),
    ),
)
COLLECTION = "01jd3k7q9x0m5r2c8v4b6n1t3e"


def append(settings: Settings, number: int) -> None:
    data = f"name,n\nevent-{number}-a,{number}\nevent-{number}-b,{number}\n".encode()
    outcome = ingest_upload(
        open_source=lambda: io.BytesIO(data),
        data_type=EVENTS,
        separator=",",
        collection_id=COLLECTION,
        request_id=f"append-{number}",
        settings=settings,
    )
    assert outcome.status.value == "completed", outcome.message


def stored_objects(settings: Settings) -> set[str]:
    s3 = boto3.client("s3", endpoint_url=settings.aws_endpoint_url)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings.data_bucket, Prefix="warehouse/")
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def rows(table) -> list[tuple[str, int]]:
    found = table.scan().to_arrow()
    return sorted(zip(found["name"].to_pylist(), found["n"].to_pylist(), strict=True))


def test_maintenance_keeps_the_rows_in_far_fewer_files_and_deletes_what_nothing_refers_to(settings: Settings):
    for number in range(APPENDS):
        append(settings, number)
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "events"))
    before, objects_before = rows(table), stored_objects(settings)

    result = maintain_table(
        table,
        keeper=None,
        retention=timedelta(0),
        orphan_age=timedelta(0),
        now=datetime.now(UTC) + timedelta(seconds=5),
        s3=boto3.client("s3", endpoint_url=settings.aws_endpoint_url),
    )

    table = table.refresh()
    assert rows(table) == before
    assert result.files_before >= APPENDS
    assert result.files_after <= 2
    assert len(list(table.scan().plan_files())) == result.files_after
    assert len(table.metadata.snapshots) == 1
    assert result.orphans_deleted > 0
    assert len(stored_objects(settings)) < len(objects_before) / 4


def test_maintenance_keeps_the_snapshots_a_redelivery_may_need(settings: Settings):
    for number in range(5):
        append(settings, number)
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "events"))
    unrecorded = table.metadata.snapshots[1].snapshot_id

    class Keeper:
        def __init__(self) -> None:
            self.kept_snapshots = {unrecorded}

        def keep_snapshot(self, request_ids: list[str], snapshot_id: int) -> None:
            raise AssertionError("maintenance commits no upload")

    maintain_table(
        table,
        keeper=Keeper(),
        retention=timedelta(0),
        orphan_age=timedelta(days=1),
        now=datetime.now(UTC) + timedelta(seconds=5),
        s3=boto3.client("s3", endpoint_url=settings.aws_endpoint_url),
    )

    kept = {snapshot.snapshot_id for snapshot in table.refresh().metadata.snapshots}
    assert unrecorded in kept


def test_compaction_of_many_partitions_keeps_every_row(settings: Settings, sample_csv: bytes):
    from ingestion.schemas.deals import DEALS

    header, *deals = sample_csv.rstrip(b"\n").split(b"\n")  # five deals in five months
    for number, deal in enumerate(deals * 2):  # each month gets two small files
        data = header + b"\n" + deal.replace(deal.split(b",", 1)[0], b"%d" % number, 1) + b"\n"
        outcome = ingest_upload(
            open_source=lambda data=data: io.BytesIO(data),
            data_type=DEALS,
            separator=",",
            collection_id=COLLECTION,
            request_id=f"deal-{number}",
            settings=settings,
        )
        assert outcome.status.value == "completed", outcome.message
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "deals"))
    before = sorted(table.scan().to_arrow()["id"].to_pylist())

    result = maintain_table(
        table,
        keeper=None,
        retention=timedelta(days=1),
        orphan_age=timedelta(days=1),
        now=datetime.now(UTC),
        s3=boto3.client("s3", endpoint_url=settings.aws_endpoint_url),
    )

    assert (result.files_before, result.files_after) == (10, 5)
    assert sorted(table.refresh().scan().to_arrow()["id"].to_pylist()) == before
