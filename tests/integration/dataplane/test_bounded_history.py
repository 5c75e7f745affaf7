"""Small, frequent upserts: what each commit reads and writes stays bounded as history grows.

A CRM sync posts the same few rows again and again. Each upload is one commit; before the
history was bounded, each left a manifest and a snapshot that every later commit read again.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import boto3

from ingestion.dataplane import get_catalog, ingest_upload, manifest_entries, table_identifier
from ingestion.dataplane.bounded_history import KEPT_SNAPSHOTS
from ingestion.dataplane.manifest_entries import ManifestEntryCache
from ingestion.dataplane.sized_lru import SizedLru
from ingestion.dataplane.tables import MIN_MANIFESTS_TO_MERGE, PREVIOUS_METADATA_VERSIONS
from ingestion.domain import UploadOutcome
from ingestion.repositories.commit_locks import HeldLock
from ingestion.schemas.spec import DataTypeSpec, FieldSpec, FieldType
from ingestion.settings import Settings
from tests.iceberg_entries import entry_fields

UPSERTS = 200
KEYS = [f"lead-{n}" for n in range(5)]
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
COLLECTION = "01jd3k7q9x0m5r2c8v4b6n1t3e"
START = datetime(2026, 1, 1, tzinfo=UTC)


def sync(round_number: int) -> bytes:
    """The five leads as round ``round_number`` of the sync sends them: newer, another score."""
    stamp = (START + timedelta(minutes=round_number)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ("id,score,updatedAt\n" + "".join(f"{key},{round_number}.5,{stamp}\n" for key in KEYS)).encode()


class NotedSnapshots:
    """A commit guard keeping the snapshots of merges whose outcome is not recorded, as the
    commit lock does."""

    def __init__(self) -> None:
        self.unrecorded: dict[str, int] = {}

    @contextmanager
    def hold(self):
        yield HeldLock(
            name="leads",
            owner="test",
            kept_snapshots=set(self.unrecorded.values()),
            _note=lambda _table, _owner, requests, snapshot: self.unrecorded.update(
                dict.fromkeys(requests, snapshot)
            ),
        )


def upsert(
    settings: Settings, round_number: int, guard: NotedSnapshots, request_id: str | None = None
) -> UploadOutcome:
    outcome = ingest_upload(
        open_source=lambda: io.BytesIO(sync(round_number)),
        data_type=LEADS,
        separator=",",
        collection_id=COLLECTION,
        request_id=request_id or f"r{round_number:05}",
        commit_guard=guard.hold,
        settings=settings,
    )
    assert outcome.status.value == "completed", outcome.message
    return outcome


def metadata_bytes(settings: Settings, location: str) -> int:
    bucket, key = location.removeprefix("s3://").split("/", 1)
    return boto3.client("s3", endpoint_url=settings.aws_endpoint_url).head_object(Bucket=bucket, Key=key)[
        "ContentLength"
    ]


def test_hundreds_of_small_upserts_keep_every_commit_bounded_and_the_rows_exact(settings: Settings):
    guard = NotedSnapshots()
    manifests, sizes = [], []
    for number in range(UPSERTS):
        upsert(settings, number, guard)
        guard.unrecorded.pop(f"r{number:05}")  # its outcome is recorded
        table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "leads"))
        manifests.append(len(table.current_snapshot().manifests(table.io)))
        sizes.append(metadata_bytes(settings, table.metadata_location))

    assert max(manifests) <= MIN_MANIFESTS_TO_MERGE + 2
    assert len(table.metadata.snapshots) == KEPT_SNAPSHOTS
    assert len(table.metadata.metadata_log) <= PREVIOUS_METADATA_VERSIONS
    assert max(sizes[UPSERTS // 2 :]) <= 1.1 * max(sizes[KEPT_SNAPSHOTS : UPSERTS // 2])
    rows = table.scan().to_arrow().sort_by("id").to_pydict()
    assert rows["id"] == KEYS
    assert rows["score"] == [UPSERTS - 0.5] * len(KEYS)


def test_a_merge_whose_outcome_was_not_recorded_is_still_found_many_commits_later(settings: Settings):
    guard = NotedSnapshots()
    first = upsert(settings, 0, guard, request_id="crashed-before-recording")
    for number in range(1, KEPT_SNAPSHOTS + 10):
        upsert(settings, number, guard)
        guard.unrecorded.pop(f"r{number:05}")

    again = upsert(settings, 0, guard, request_id="crashed-before-recording")  # the redelivery

    assert any("had already been merged" in warning for warning in again.warnings)
    assert (again.rows_inserted, again.snapshot_id) == (first.rows_inserted, first.snapshot_id)
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "leads"))
    assert len(table.metadata.snapshots) == KEPT_SNAPSHOTS + 1


def test_the_manifests_a_commit_wrote_are_read_as_their_files_hold_them(settings: Settings, monkeypatch):
    guard = NotedSnapshots()
    for number in range(MIN_MANIFESTS_TO_MERGE + 4):  # past a merge of the manifests
        upsert(settings, number, guard)
        guard.unrecorded.pop(f"r{number:05}")
    table = get_catalog(settings).load_table(table_identifier(settings, COLLECTION, "leads"))
    manifests = table.current_snapshot().manifests(table.io)
    assert all(manifest_entries.WRITTEN_ENTRIES.get(manifest.manifest_path) for manifest in manifests)

    served = [manifest.fetch_manifest_entry(table.io, discard_deleted=False) for manifest in manifests]
    monkeypatch.setattr(manifest_entries, "MANIFEST_ENTRIES", ManifestEntryCache(1000))
    monkeypatch.setattr(manifest_entries, "WRITTEN_ENTRIES", SizedLru(1000))
    decoded = [manifest.fetch_manifest_entry(table.io, discard_deleted=False) for manifest in manifests]

    assert [entry_fields(entries) for entries in served] == [entry_fields(entries) for entries in decoded]
