"""Writing a merge as one Iceberg commit.

:func:`commit_merge` stages the merge :mod:`.merge` planned (an OVERWRITE snapshot swapping the
files that hold replaced rows, or an APPEND), stamps it with the upload's request id and counts
(:func:`recorded_merge` finds them again when the upload is delivered twice), and commits it
with any columns the upload adds, in one transaction, expiring old snapshots in the same
commit: :mod:`.bounded_history` keeps what each commit reads and writes bounded however long
the table's history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema
from pyiceberg.table import FileScanTask, Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Operation

from ingestion.dataplane.bounded_history import BoundedOverwrite, CachedTransaction, stage_snapshot_expiry
from ingestion.dataplane.sorted_rewrite import StoredFile, rewrite_sorted_files
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
    written = _rewritten_files(transaction.table_metadata, table.io, rows, plan, stored, numbers, key)
    overwrite = BoundedOverwrite(
        operation=Operation.OVERWRITE, transaction=transaction, io=table.io, snapshot_properties=properties
    )
    with overwrite:
        for task in affected:
            overwrite.delete_data_file(task.file)
        for data_file in written:
            overwrite.append_data_file(data_file)
    return overwrite.snapshot_id


def _rewritten_files(
    metadata: TableMetadata,
    io: FileIO,
    rows: pa.Table,
    plan: MergePlan,
    stored: StoredRows,
    numbers: list[int],
    key: str,
) -> list[DataFile]:
    """The files replacing the stored files ``numbers``: their rows but the replaced ones, and
    ``rows``, sorted on the key, one file per partition."""
    schema = metadata.schema()
    affected = [stored.files[number] for number in numbers]
    if stored.file_rows is None:
        kept = ArrowScan(metadata, io, schema, AlwaysTrue()).to_table(affected)
    else:  # read whole already, when the stored keys were looked up
        pieces = [conform_rows(stored.file_rows[number], schema) for number in numbers]
        edited = [StoredFile(task.file, piece) for task, piece in zip(affected, pieces, strict=True)]
        written = rewrite_sorted_files(metadata, io, edited, rows, key, plan.replaced_keys)
        if written is not None:
            return written
        kept = pa.concat_tables(pieces)
    # The kept rows and the new ones, sorted on the key in each file: one copy of the rows.
    merged = pa.concat_tables([conform_rows(kept, schema), rows])
    kept_mask = pc.invert(pc.is_in(kept.column(key), value_set=plan.replaced_keys)).combine_chunks()
    keep = pa.concat_arrays([kept_mask, pa.repeat(True, rows.num_rows)])
    return write_data_files(metadata, merged, io, sort_key=key, keep=keep)


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
