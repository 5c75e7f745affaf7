"""Table maintenance: fewer, larger files, bounded history, and no files nobody refers to.

Run on a schedule for every table (``functions/maintenance``), under the table's commit lock:

1. **Compaction.** Appends add files one upload at a time, so a partition can hold dozens of
   small files that every read opens. Each partition holding more than one file smaller than
   :data:`SMALL_FILE_BYTES` gets those files rewritten as one (sorted on the key, as merges
   write them) in one snapshot that changes no row.
2. **Snapshot expiry.** Snapshots older than the retention go, except the current one and the
   snapshots of merges whose outcome is not recorded yet (the lock names them): a redelivered
   upload recognises its merge by finding its snapshot. (Each commit already keeps at most the
   newest :data:`~.bounded_history.KEPT_SNAPSHOTS`; this bounds what time travel keeps.)
3. **Orphan files.** Expired snapshots, replaced files and old metadata leave objects under the
   table's location that no snapshot refers to. Those older than ``orphan_age`` are deleted: a
   younger file may belong to a commit that is being written right now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.snapshots import Operation

from ingestion.dataplane.bounded_history import BoundedOverwrite, CachedTransaction, ExpireSnapshotsById
from ingestion.dataplane.commits import SnapshotKeeper
from ingestion.dataplane.tables import KEY_PROPERTY, delete_objects
from ingestion.dataplane.writing import write_data_files
from ingestion.observability import logger

# Files smaller than this are worth merging with their partition's other small files.
SMALL_FILE_BYTES = 32 << 20
COMPACTED = "ingestion.maintenance"


@dataclass(frozen=True)
class MaintenanceResult:
    """What maintaining one table did."""

    files_before: int
    files_after: int
    snapshots_expired: int
    orphans_deleted: int


def table_names(catalog: Any, database: str) -> list[str]:
    """The names of the tables in the database (``<collectionId>_<dataType>``)."""
    return [name for _, name in catalog.list_tables(database)]


def maintain_table(
    table: Table,
    *,
    keeper: SnapshotKeeper | None,
    retention: timedelta,
    orphan_age: timedelta,
    now: datetime,
    s3: Any,
) -> MaintenanceResult:
    """Compact ``table``, expire its old snapshots and delete its orphan files."""
    files_before = len(list(table.scan().plan_files())) if table.current_snapshot() else 0
    table = _compact(table)
    expired = _expire(table, keeper, now - retention)
    table = table.refresh()
    files_after = len(list(table.scan().plan_files())) if table.current_snapshot() else 0
    orphans = _delete_orphans(table, s3, now - orphan_age)
    logger.info(
        "table maintained",
        extra={
            "table": table.name(),
            "files_before": files_before,
            "files_after": files_after,
            "snapshots_expired": expired,
            "orphans_deleted": orphans,
        },
    )
    return MaintenanceResult(files_before, files_after, expired, orphans)


def _compact(table: Table) -> Table:
    if table.current_snapshot() is None:
        return table
    groups: dict[Any, list[FileScanTask]] = defaultdict(list)
    for task in table.scan().plan_files():
        if task.file.file_size_in_bytes < SMALL_FILE_BYTES and not task.delete_files:
            groups[(task.file.spec_id, task.file.partition)].append(task)
    small = [tasks for tasks in groups.values() if len(tasks) > 1]
    if not small:
        return table
    key = table.properties.get(KEY_PROPERTY)
    transaction = CachedTransaction(table)
    metadata = transaction.table_metadata
    schema = metadata.schema()
    rewrite = BoundedOverwrite(
        operation=Operation.OVERWRITE,
        transaction=transaction,
        io=table.io,
        snapshot_properties={COMPACTED: "compaction"},
    )
    with rewrite:
        for tasks in small:
            rows = ArrowScan(metadata, table.io, schema, AlwaysTrue()).to_table(tasks)
            for task in tasks:
                rewrite.delete_data_file(task.file)
            for data_file in write_data_files(metadata, rows, table.io, sort_key=key):
                rewrite.append_data_file(data_file)
    return transaction.commit_transaction()


def _expire(table: Table, keeper: SnapshotKeeper | None, before: datetime) -> int:
    current = table.current_snapshot()
    kept = set(keeper.kept_snapshots) if keeper is not None else set()
    old = {
        snapshot.snapshot_id
        for snapshot in table.metadata.snapshots
        if snapshot.timestamp_ms < before.timestamp() * 1000
        and (current is None or snapshot.snapshot_id != current.snapshot_id)
    } - kept
    if old:
        transaction = CachedTransaction(table)
        with ExpireSnapshotsById(transaction).of(old):
            pass
        transaction.commit_transaction()
    return len(old)


def _referenced(table: Table) -> set[str]:
    """Every object a snapshot or the metadata still refers to, as ``s3://bucket/key``."""
    paths = {table.metadata_location, *(entry.metadata_file for entry in table.metadata.metadata_log)}
    for snapshot in table.metadata.snapshots:
        paths.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            paths.add(manifest.manifest_path)
            # A file a snapshot deleted lived only in the snapshots before it: kept ones list it live.
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                paths.add(entry.data_file.file_path)
    return paths


def _delete_orphans(table: Table, s3: Any, written_before: datetime) -> int:
    bucket, prefix = table.location().removeprefix("s3://").split("/", 1)
    referenced = _referenced(table)
    orphans = [
        key
        for key, written in _objects(s3, bucket, prefix.rstrip("/") + "/")
        if f"s3://{bucket}/{key}" not in referenced and written < written_before
    ]
    delete_objects(s3, bucket, orphans)
    return len(orphans)


def _objects(s3: Any, bucket: str, prefix: str) -> Iterable[tuple[str, datetime]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"], item["LastModified"]
