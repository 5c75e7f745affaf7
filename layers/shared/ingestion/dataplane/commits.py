"""Writing a merge as one Iceberg commit, and keeping what each commit reads and writes
bounded however long the table's history.

:func:`commit_merge` stages the merge :mod:`.merge` planned (an OVERWRITE snapshot swapping the
files that hold replaced rows, or an APPEND), stamps it with the upload's request id and counts
(:func:`recorded_merge` finds them again when the upload is delivered twice), and commits it
with any columns the upload adds, in one transaction.

A CRM sync posts a few rows every minute, all day: each upload is one commit. Left to
pyiceberg's defaults, every commit would leave something that all later commits read again,
so the cost of an upload would grow with the number of uploads before it:

- **Manifests.** An OVERWRITE writes the files it removed into a manifest of DELETED entries
  (the snapshot must say what it removed), and pyiceberg then carries that manifest, holding no
  live file, into every later snapshot, where each scan and commit opens it again. Java
  Iceberg drops such manifests; :class:`BoundedOverwrite` does too.
- **Small manifests** of files added one commit at a time are merged once they pile up
  (``commit.manifest-merge.enabled``, for appends as for overwrites).
- **Snapshots.** Each one makes metadata.json larger, and pyiceberg copies the whole metadata
  many times per commit. Each commit keeps the newest :data:`KEPT_SNAPSHOTS` and expires the
  rest, except the snapshots of merges whose outcome is not recorded yet: the commit lock
  notes those (:class:`SnapshotKeeper`), since a redelivered upload finds out that it was
  merged by finding its snapshot. Expired snapshots' files stay in the bucket for table
  maintenance to delete, so a reader that started on one finishes.
- **metadata.json** lists a capped number of previous metadata files, and older ones are
  deleted after each commit (``write.metadata.*``).

All of it is standard Iceberg: Athena, Spark, Trino and DuckDB read the tables as any other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.manifest import ManifestContent, ManifestFile
from pyiceberg.schema import Schema
from pyiceberg.table import FileScanTask, Table, TableProperties, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update.snapshot import ExpireSnapshots, _ManifestMergeManager, _OverwriteFiles
from pyiceberg.utils.properties import property_as_bool, property_as_int

from ingestion.dataplane.tables import iceberg_type
from ingestion.dataplane.writing import write_data_files
from ingestion.observability import logger
from ingestion.schemas.spec import DataTypeSpec, FieldSpec

# What each commit stamps on its snapshot: the upload it merged and the counts; a commit of
# several uploads (a group commit) stamps the total counts and, under REQUESTS, each upload's.
REQUEST_ID = "ingestion.request-id"
REQUESTS = "ingestion.requests"
ROWS_INSERTED = "ingestion.rows-inserted"
ROWS_UPDATED = "ingestion.rows-updated"
ROWS_STALE = "ingestion.rows-stale"
# The column of the stored rows naming the data file (an index into the scan tasks) each lives in.
FILE_COLUMN = "__file"
# Snapshots each commit keeps, besides those of merges not yet recorded: time travel over
# the latest commits, and a metadata.json whose size does not grow with the table's history.
KEPT_SNAPSHOTS = 20


class MergeConflict(RuntimeError):
    """Concurrent writers kept moving the table; nothing was merged and the caller may retry."""


class SnapshotKeeper(Protocol):
    """Who keeps the snapshots of merges whose outcome is not recorded yet (the commit lock)."""

    kept_snapshots: set[int]

    def keep_snapshot(self, request_ids: Sequence[str], snapshot_id: int) -> None: ...


@dataclass(frozen=True)
class Counts:
    """What merging one upload did to the table's rows."""

    inserted: int
    updated: int
    stale: int


@dataclass(frozen=True)
class Stamp:
    """The upload requests one commit merges, each with its own counts, as its snapshot records them."""

    counts: Mapping[str, Counts]

    @classmethod
    def of(cls, request_id: str, counts: MergePlan) -> Stamp:
        return cls({request_id: Counts(counts.inserted, counts.updated, counts.stale)})

    @property
    def request_ids(self) -> list[str]:
        return list(self.counts)

    def properties(self) -> dict[str, str]:
        """The snapshot's summary properties: one upload's id and counts, or a group's totals
        and each upload's counts (``{"<request id>": [inserted, updated, stale]}``)."""
        totals = Counts(
            inserted=sum(counts.inserted for counts in self.counts.values()),
            updated=sum(counts.updated for counts in self.counts.values()),
            stale=sum(counts.stale for counts in self.counts.values()),
        )
        properties = {
            ROWS_INSERTED: str(totals.inserted),
            ROWS_UPDATED: str(totals.updated),
            ROWS_STALE: str(totals.stale),
        }
        if len(self.counts) == 1:
            return {REQUEST_ID: next(iter(self.counts))} | properties
        each = {request: [c.inserted, c.updated, c.stale] for request, c in self.counts.items()}
        return {REQUESTS: json.dumps(each, separators=(",", ":"))} | properties


@dataclass(frozen=True)
class MergePlan:
    """What a merge writes: rows to append, stored keys they replace, and the counts.

    ``replaced`` holds the stored rows (as read: key, version, file) being replaced.
    """

    rows: pa.Table
    replaced_keys: pa.Array
    inserted: int
    updated: int
    stale: int
    replaced: pa.Table | None = None


@dataclass(frozen=True)
class StoredRows:
    """The stored rows an upload may replace (key, version, :data:`FILE_COLUMN`)
    and the scan tasks of the data files they were read from; with ``file_rows``, each of
    those files' rows in full, when they were few enough to read whole."""

    rows: pa.Table
    files: list[FileScanTask]
    file_rows: list[pa.Table] | None = None


@dataclass(frozen=True)
class MergeResult:
    """What a merge did, and the table it left: ``row_count`` is the snapshot's total-records."""

    inserted: int
    updated: int
    stale: int
    row_count: int
    snapshot_id: int | None
    sequence_number: int | None
    replayed: bool = False  # the request had been merged before; the counts are those recorded then


def recorded_merge(table: Table, request_id: str) -> MergeResult | None:
    """The counts a previous commit of this request (alone or in a group) stamped on the table, if any."""
    for snapshot in reversed(table.metadata.snapshots):
        summary = snapshot.summary
        if summary is None:
            continue
        if summary[REQUEST_ID] == request_id:
            counts = Counts(
                inserted=int(summary[ROWS_INSERTED] or 0),
                updated=int(summary[ROWS_UPDATED] or 0),
                stale=int(summary[ROWS_STALE] or 0),
            )
        else:
            group = summary[REQUESTS]
            if not group or request_id not in group:
                continue
            recorded = json.loads(group).get(request_id)
            if recorded is None:
                continue
            counts = Counts(*(int(value) for value in recorded))
        return MergeResult(
            inserted=counts.inserted,
            updated=counts.updated,
            stale=counts.stale,
            row_count=int(summary["total-records"] or 0),
            snapshot_id=snapshot.snapshot_id,
            sequence_number=snapshot.sequence_number,
            replayed=True,
        )
    return None


class BoundedOverwrite(_OverwriteFiles):
    """pyiceberg's OVERWRITE snapshot that neither carries dead manifests forward nor lets
    small ones pile up.

    Built on pyiceberg's own producer (its merge is what ``merge_append`` uses for appends);
    re-check on a pyiceberg upgrade, which the merge tests and the layer smoke test would show.
    """

    def _existing_manifests(self) -> list[ManifestFile]:
        # A manifest with neither added nor existing files lists only files an earlier
        # snapshot deleted: this snapshot has no use for it.
        return [
            manifest
            for manifest in super()._existing_manifests()
            if manifest.has_added_files() or manifest.has_existing_files()
        ]

    def _process_manifests(self, manifests: list[ManifestFile]) -> list[ManifestFile]:
        properties = self._transaction.table_metadata.properties
        table = TableProperties
        merger = _ManifestMergeManager(
            target_size_bytes=property_as_int(  # type: ignore[arg-type]
                properties, table.MANIFEST_TARGET_SIZE_BYTES, table.MANIFEST_TARGET_SIZE_BYTES_DEFAULT
            ),
            min_count_to_merge=property_as_int(  # type: ignore[arg-type]
                properties, table.MANIFEST_MIN_MERGE_COUNT, table.MANIFEST_MIN_MERGE_COUNT_DEFAULT
            ),
            merge_enabled=property_as_bool(
                properties, table.MANIFEST_MERGE_ENABLED, table.MANIFEST_MERGE_ENABLED_DEFAULT
            ),
            snapshot_producer=self,
        )
        data = [manifest for manifest in manifests if manifest.content == ManifestContent.DATA]
        deletes = [manifest for manifest in manifests if manifest.content == ManifestContent.DELETES]
        return merger.merge_manifests(data) + deletes


def commit_merge(
    table: Table,
    plan: MergePlan,
    stored: StoredRows,
    data_type: DataTypeSpec,
    stamp: Stamp,
    added_fields: Sequence[FieldSpec],
    keeper: SnapshotKeeper | None = None,
) -> MergeResult:
    """Write ``plan`` as one snapshot stamped with the requests it merges, expiring old snapshots
    in the same commit; ``CommitFailedException`` if the table moved since ``table`` was read."""
    transaction = CachedTransaction(table)
    adds_columns = stage_added_columns(transaction, table.schema(), added_fields)
    if plan.rows.num_rows == 0:
        # Every row was stale: nothing to write, and nothing to stamp.
        return merge_result(transaction.commit_transaction() if adds_columns else table, plan)
    properties = stamp.properties()
    rows = conform_rows(plan.rows, transaction.table_metadata.schema())
    if len(plan.replaced_keys) and data_type.key is not None and plan.replaced is not None:
        snapshot_id = _rewrite(transaction, table, rows, plan, stored, data_type.key, properties)
    else:
        snapshot_id = _append(transaction, table, rows, properties)
    result = commit_stamped(transaction, snapshot_id, stamp.request_ids, keeper, plan)
    logger.info(
        "upload merged" if len(stamp.counts) == 1 else "uploads merged in one commit",
        extra={
            "request_ids": stamp.request_ids,
            "snapshot_id": result.snapshot_id,
            "inserted": plan.inserted,
            "updated": plan.updated,
            "stale": plan.stale,
        },
    )
    return result


def commit_stamped(
    transaction: Transaction,
    snapshot_id: int,
    request_ids: Sequence[str],
    keeper: SnapshotKeeper | None,
    counts: MergePlan,
) -> MergeResult:
    """Commit the staged snapshot ``snapshot_id`` of ``request_ids``, expiring old snapshots in the
    same commit. The keeper notes the snapshot first: a redelivery of a request may need it."""
    kept = {snapshot_id}
    if keeper is not None:
        keeper.keep_snapshot(request_ids, snapshot_id)
        kept |= keeper.kept_snapshots
    stage_snapshot_expiry(transaction, kept)
    return merge_result(transaction.commit_transaction(), counts)


class CachedTransaction(Transaction):
    """pyiceberg's transaction, computing its table metadata once per staged change.

    pyiceberg recomputes (and deep-copies) the whole metadata on every read of
    ``table_metadata``, which a commit does dozens of times: that copying was most of a small
    upsert's time. The metadata is frozen, so one copy per change is as safe.
    """

    _metadata: TableMetadata | None = None
    _metadata_changes = -1

    @property
    def table_metadata(self) -> TableMetadata:
        if self._metadata is None or self._metadata_changes != len(self._updates):
            self._metadata = super().table_metadata
            self._metadata_changes = len(self._updates)
        return self._metadata


def _append(transaction: Transaction, table: Table, rows: pa.Table, properties: dict[str, str]) -> int:
    """Stage an APPEND snapshot of ``rows``, its manifests merged as they pile up; its id."""
    with transaction.update_snapshot(snapshot_properties=properties).merge_append() as append:
        for data_file in write_data_files(transaction.table_metadata, rows, table.io):
            append.append_data_file(data_file)
    return append.snapshot_id


def _rewrite(
    transaction: Transaction,
    table: Table,
    rows: pa.Table,
    plan: MergePlan,
    stored: StoredRows,
    key: str,
    properties: dict[str, str],
) -> int:
    """Stage one OVERWRITE snapshot: the files holding replaced rows make way for new files
    holding their other rows and ``rows``, sorted on the key (one file per partition); its id."""
    assert plan.replaced is not None  # noqa: S101 - the caller checked
    numbers = pc.unique(plan.replaced.column(FILE_COLUMN)).to_pylist()
    affected = [stored.files[number] for number in numbers]
    metadata = transaction.table_metadata
    schema = metadata.schema()
    if stored.file_rows is not None:  # read whole already, when the stored keys were looked up
        kept = pa.concat_tables(
            [stored.file_rows[number] for number in numbers], promote_options="permissive"
        )
    else:
        kept = ArrowScan(metadata, table.io, schema, AlwaysTrue()).to_table(affected)
    # The kept rows and the new ones, sorted on the key in each file: one copy of the rows.
    merged = pa.concat_tables([conform_rows(kept, schema), rows])
    kept_mask = pc.invert(pc.is_in(kept.column(key), value_set=plan.replaced_keys)).combine_chunks()
    keep = pa.concat_arrays([kept_mask, pa.repeat(True, rows.num_rows)])
    overwrite = BoundedOverwrite(
        operation=Operation.OVERWRITE, transaction=transaction, io=table.io, snapshot_properties=properties
    )
    with overwrite:
        for task in affected:
            overwrite.delete_data_file(task.file)
        for data_file in write_data_files(metadata, merged, table.io, sort_key=key, keep=keep):
            overwrite.append_data_file(data_file)
    return overwrite.snapshot_id


class ExpireSnapshotsById(ExpireSnapshots):
    """pyiceberg's expiry, given the ids at once (its ``by_ids`` copies the table's metadata
    twice per id)."""

    def of(self, snapshot_ids: set[int]) -> ExpireSnapshotsById:
        self._snapshot_ids_to_expire |= snapshot_ids
        return self


def stage_snapshot_expiry(transaction: Transaction, kept: set[int]) -> None:
    """Stage the expiry of all but the newest :data:`KEPT_SNAPSHOTS` snapshots and ``kept``.

    Only the snapshots leave the metadata: their files stay in the bucket (a reader that
    started on an older snapshot finishes), for table maintenance to delete.
    """
    snapshots = sorted(transaction.table_metadata.snapshots, key=lambda snapshot: snapshot.sequence_number)
    old = {snapshot.snapshot_id for snapshot in snapshots[:-KEPT_SNAPSHOTS]} - kept
    if old:
        with ExpireSnapshotsById(transaction).of(old):
            pass


def stage_added_columns(transaction: Transaction, schema: Schema, added_fields: Sequence[FieldSpec]) -> bool:
    """Stage the columns ``schema`` lacks; True if there were any.

    A column another upload added meanwhile is used if it has the inferred type; with another
    type the merge cannot go on, and the upload is tried again later, checked against it.
    """
    missing = []
    for spec in added_fields:
        try:
            column = schema.find_field(spec.name)
        except ValueError:
            missing.append(spec)
            continue
        if type(column.field_type) is not type(iceberg_type(spec)):
            raise MergeConflict(
                f"column '{spec.name}' was added to the table by another upload, as {column.field_type} "
                f"rather than {spec.type.value}; try again to check the file against it"
            )
    if missing:
        with transaction.update_schema() as update:
            for spec in missing:
                update.add_column((spec.name,), iceberg_type(spec), required=False)
    return bool(missing)


def conform_rows(rows: pa.Table, schema: Schema) -> pa.Table:
    """``rows`` in the table's column order and types; columns it lacks are null."""
    target = schema.as_arrow()
    extra = set(rows.column_names) - set(target.names)
    if extra:
        raise MergeConflict(f"the table has no column {', '.join(sorted(extra))}; try again")
    columns = [
        rows.column(column.name) if column.name in rows.column_names else pa.nulls(rows.num_rows, column.type)
        for column in target
    ]
    return pa.Table.from_arrays(columns, names=target.names).cast(target)


def merge_result(table: Table, plan: MergePlan) -> MergeResult:
    """The plan's counts with the table's size after it, read from the current snapshot."""
    snapshot = table.current_snapshot()
    summary = snapshot.summary if snapshot is not None else None
    return MergeResult(
        inserted=plan.inserted,
        updated=plan.updated,
        stale=plan.stale,
        row_count=int(summary["total-records"] or 0) if summary is not None else 0,
        snapshot_id=snapshot.snapshot_id if snapshot is not None else None,
        sequence_number=snapshot.sequence_number if snapshot is not None else None,
    )
