"""Merging validated rows into a collection's Iceberg table: an upsert on the data type's key.

An incoming row replaces the stored row with the same key when its version field is the
same or newer; otherwise the stored row stays (the incoming one is *stale*). Rows with new
keys are inserted; a data type without a key only ever appends. Columns an upload adds
(``allowFieldAddition``), the deletion of replaced rows and the append happen in ONE Iceberg
transaction, so readers and a crashed run only ever see the table before or after.

Each commit stamps its snapshots with the upload request id and the counts. A request id
found on a snapshot means this upload was merged already (an S3 notification delivered
twice, a retry after a crash between commit and status update), and the recorded counts
are returned instead of merging again.

A concurrent writer makes the commit fail (the table moved since it was read); the whole
decision is then recomputed against the new table state, a bounded number of times with
jittered backoff. pyiceberg's own retry is switched off (:data:`.tables.TABLE_PROPERTIES`)
because it would replay the staged files without recomputing which rows win.

**Scaling with the change, not the table.** Only stored rows whose key lies within the
incoming keys' range are read, and only their key and version columns (files are
sorted on the key, so the others are skipped by their statistics). Each stored row is read
with the data file it lives in, so the merge knows exactly which files hold replaced rows:
it reads those files once more in full, drops the replaced rows, and writes what is left
together with the incoming rows, sorted on the key, as one file per partition. One
OVERWRITE snapshot swaps the old files for the new ones; no delete predicate is evaluated,
so no file is scanned twice and each merge leaves the partitions it touched compacted.
The files come from the stored rows, never the incoming ones: a row whose partition column
changed is still found where it lives.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, GreaterThanOrEqual, LessThanOrEqual
from pyiceberg.schema import Schema
from pyiceberg.table import FileScanTask, Table, Transaction

from ingestion.dataplane.tables import iceberg_type, load_or_create_table, table_identifier
from ingestion.observability import logger
from ingestion.schemas.spec import DataTypeSpec, FieldSpec
from ingestion.settings import Settings

REQUEST_ID = "ingestion.request-id"
ROWS_INSERTED = "ingestion.rows-inserted"
ROWS_UPDATED = "ingestion.rows-updated"
ROWS_STALE = "ingestion.rows-stale"
MAX_COMMIT_ATTEMPTS = 5
_LINE = "__line"
# The column of the stored rows naming the data file (an index into StoredRows.files) each lives in.
FILE_COLUMN = "__file"
_READERS = 8


class MergeConflict(RuntimeError):
    """Concurrent writers kept moving the table; nothing was merged and the caller may retry."""


@dataclass(frozen=True)
class NewestRows:
    """The rows of a file with one row per key, and how many rows lost to a newer twin."""

    rows: pa.Table
    repeated: int
    examples: list[str]


def keep_newest_per_key(rows: pa.Table, data_type: DataTypeSpec) -> NewestRows:
    """Keep, for each key, the row with the newest version (on ties, the later line).

    The result is sorted on the key, the table's sort order.
    """
    key, version = data_type.key, data_type.version_field
    if key is None or rows.num_rows == 0:
        return NewestRows(rows=rows, repeated=0, examples=[])
    if pc.count_distinct(rows.column(key), mode="all").as_py() == rows.num_rows:
        # Every key once (the usual file): nothing to choose, only the key order to give.
        order = pc.sort_indices(rows, sort_keys=[(key, "ascending", "at_end")])
        return NewestRows(rows=rows.take(order), repeated=0, examples=[])
    lines = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), rows.num_rows)), 1)
    # Nulls last: a row without a version is older than any row with one.
    sort_keys = [(key, "ascending", "at_end")]
    sort_keys += [(version, "descending", "at_end")] if version else []
    sort_keys += [(_LINE, "descending", "at_end")]
    order = pc.sort_indices(rows.append_column(_LINE, lines), sort_keys=sort_keys)
    keys = rows.column(key).combine_chunks().take(order)
    first = pa.concat_arrays([pa.array([True]), pc.not_equal(keys[1:], keys[:-1])])
    repeated = rows.num_rows - pc.sum(first).as_py()
    examples = pc.unique(keys.filter(pc.invert(first)))[:5].to_pylist() if repeated else []
    return NewestRows(rows=rows.take(order.filter(first)), repeated=repeated, examples=examples)


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


def plan_merge(rows: pa.Table, stored: pa.Table, data_type: DataTypeSpec) -> MergePlan:
    """Decide, all in Arrow, which incoming rows win against the stored ``(key, version)`` pairs.

    ``rows`` hold one row per key. A null version counts as older than any version. ``stored``
    may hold more columns (the file each row lives in): they are kept in the plan's ``replaced``.
    """
    key, version = data_type.key, data_type.version_field
    if key is None or stored.num_rows == 0:
        return MergePlan(
            rows=rows,
            replaced_keys=pa.array([], rows.schema.field(key).type if key else pa.string()),
            inserted=rows.num_rows,
            updated=0,
            stale=0,
        )
    rows = rows.combine_chunks()
    keys = rows.column(key).combine_chunks()
    index = pc.index_in(keys, value_set=stored.column(key).combine_chunks())
    exists = pc.is_valid(index)
    if version is None:
        wins = exists
    else:
        stored_version = stored.column(version).combine_chunks().take(index)
        newer = pc.greater_equal(rows.column(version), stored_version)
        # Undecided comparisons involve a null: a null incoming version loses to a real one.
        wins = pc.if_else(pc.is_null(newer), pc.is_null(stored_version), newer)
    replace = pc.and_(exists, wins)
    stale = pc.and_(exists, pc.invert(wins))
    updated = pc.sum(replace).as_py() or 0
    stale_count = pc.sum(stale).as_py() or 0
    return MergePlan(
        rows=rows.filter(pc.invert(stale)),
        replaced_keys=keys.filter(replace),
        inserted=rows.num_rows - updated - stale_count,
        updated=updated,
        stale=stale_count,
        replaced=stored.take(index.filter(replace)) if updated else None,
    )


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


def merge_into_collection(
    catalog: Catalog,
    settings: Settings,
    collection_id: str,
    data_type: DataTypeSpec,
    rows: pa.Table,
    request_id: str,
    *,
    added_fields: Sequence[FieldSpec] = (),
) -> MergeResult:
    """Upsert ``rows`` (one per key) into the collection's table, exactly once per request.

    ``added_fields`` are columns of ``data_type`` (and of ``rows``) that the table may lack:
    they are added, nullable, by the same commit that writes the rows.
    """
    identifier = table_identifier(settings, collection_id, data_type.name)
    table = load_or_create_table(catalog, settings, collection_id, data_type)
    for attempt in range(1, MAX_COMMIT_ATTEMPTS + 1):
        recorded = recorded_merge(table, request_id)
        if recorded is not None:
            logger.info(
                "upload already merged", extra={"request_id": request_id, "snapshot_id": recorded.snapshot_id}
            )
            return recorded
        stored = stored_versions(table, data_type, rows)
        plan = plan_merge(rows, stored.rows, data_type)
        try:
            return _commit(table, plan, stored.files, data_type, request_id, added_fields)
        except (CommitFailedException, ValidationException) as error:
            if attempt == MAX_COMMIT_ATTEMPTS:
                raise MergeConflict(
                    f"the collection's {data_type.name} table kept changing during the merge "
                    f"({MAX_COMMIT_ATTEMPTS} attempts); try again"
                ) from error
            delay = min(0.2 * 2**attempt, 5.0) * random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not crypto
            logger.warning("merge commit conflicted, retrying", extra={"attempt": attempt, "delay": delay})
            time.sleep(delay)
            table = catalog.load_table(identifier)
    raise AssertionError("unreachable")  # pragma: no cover


def recorded_merge(table: Table, request_id: str) -> MergeResult | None:
    """The counts a previous commit of this request stamped on the table, if any."""
    for snapshot in reversed(table.metadata.snapshots):
        summary = snapshot.summary
        if summary is not None and summary[REQUEST_ID] == request_id:
            return MergeResult(
                inserted=int(summary[ROWS_INSERTED] or 0),
                updated=int(summary[ROWS_UPDATED] or 0),
                stale=int(summary[ROWS_STALE] or 0),
                row_count=int(summary["total-records"] or 0),
                snapshot_id=snapshot.snapshot_id,
                sequence_number=snapshot.sequence_number,
                replayed=True,
            )
    return None


@dataclass(frozen=True)
class StoredRows:
    """The stored rows an upload may replace (key, version, :data:`FILE_COLUMN`)
    and the scan tasks of the data files they were read from."""

    rows: pa.Table
    files: list[FileScanTask]


def stored_versions(table: Table, data_type: DataTypeSpec, rows: pa.Table) -> StoredRows:
    """The stored keys and versions of the rows ``rows`` may replace,
    each with the index of its data file in ``files``.

    Only keys within the range of the incoming keys are read: the files are sorted on the key,
    so the other files and row groups are skipped on their statistics.
    """
    from pyiceberg.io.pyarrow import ArrowScan

    key = data_type.key
    if key is None or table.current_snapshot() is None:
        # Keyless data types only ever append; an empty table holds no key.
        return StoredRows(rows=pa.table({}), files=[])
    columns = [key] + ([data_type.version_field] if data_type.version_field else [])
    row_filter = _key_range(key, rows.column(key))
    files = list(table.scan(row_filter=row_filter).plan_files())
    scan = ArrowScan(table.metadata, table.io, table.schema().select(*columns), row_filter)
    # One read per file, to know which file each row lives in; in parallel, as a scan would.
    # (A pool of our own: pyiceberg's shared pool runs each read's own work.)
    with ThreadPoolExecutor(max_workers=_READERS) as pool:
        pieces = list(pool.map(lambda task: scan.to_table([task]), files))
    if not pieces:
        return StoredRows(rows=pa.table({}), files=[])
    pieces = [
        piece.append_column(FILE_COLUMN, pa.repeat(pa.scalar(number, pa.int32()), piece.num_rows))
        for number, piece in enumerate(pieces)
    ]
    return StoredRows(rows=pa.concat_tables(pieces, promote_options="permissive"), files=files)


_RANGE_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_temporal)


def _value_range(name: str, values: pa.ChunkedArray | pa.Array) -> BooleanExpression | None:
    """``min <= name <= max`` over ``values``, or None when a range cannot stand for them all.

    A null is in no range, and only types Iceberg compares as Arrow does get one.
    """
    if values.null_count or len(values) == 0 or not any(is_type(values.type) for is_type in _RANGE_TYPES):
        return None
    bounds = pc.min_max(values)
    return And(GreaterThanOrEqual(name, bounds["min"].as_py()), LessThanOrEqual(name, bounds["max"].as_py()))


def _key_range(key: str, keys: pa.ChunkedArray | pa.Array) -> BooleanExpression:
    """The stored rows an incoming key can match: those within the keys' range (all with a null key)."""
    return _value_range(key, keys) or AlwaysTrue()


def _commit(
    table: Table,
    plan: MergePlan,
    files: list[FileScanTask],
    data_type: DataTypeSpec,
    request_id: str,
    added_fields: Sequence[FieldSpec],
) -> MergeResult:
    transaction = table.transaction()
    adds_columns = _add_columns(transaction, table.schema(), added_fields)
    if plan.rows.num_rows == 0:
        # Every row was stale: nothing to write, and nothing to stamp.
        return _result(transaction.commit_transaction() if adds_columns else table, plan)
    properties = {
        REQUEST_ID: request_id,
        ROWS_INSERTED: str(plan.inserted),
        ROWS_UPDATED: str(plan.updated),
        ROWS_STALE: str(plan.stale),
    }
    rows = _conform(plan.rows, transaction.table_metadata.schema())
    if len(plan.replaced_keys) and data_type.key is not None and plan.replaced is not None:
        _rewrite(transaction, table, rows, plan, files, data_type.key, properties)
    else:
        transaction.append(rows, snapshot_properties=properties)
    result = _result(transaction.commit_transaction(), plan)
    logger.info(
        "upload merged",
        extra={
            "request_id": request_id,
            "snapshot_id": result.snapshot_id,
            "inserted": plan.inserted,
            "updated": plan.updated,
            "stale": plan.stale,
        },
    )
    return result


def _rewrite(
    transaction: Transaction,
    table: Table,
    rows: pa.Table,
    plan: MergePlan,
    files: list[FileScanTask],
    key: str,
    properties: dict[str, str],
) -> None:
    """Stage one OVERWRITE snapshot: the files holding replaced rows make way for new files
    holding their other rows and ``rows``, sorted on the key (one file per partition)."""
    from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files

    assert plan.replaced is not None  # noqa: S101 - the caller checked
    affected = [files[number] for number in pc.unique(plan.replaced.column(FILE_COLUMN)).to_pylist()]
    metadata = transaction.table_metadata
    schema = metadata.schema()
    kept = ArrowScan(metadata, table.io, schema, AlwaysTrue()).to_table(affected)
    kept = kept.filter(pc.invert(pc.is_in(kept.column(key), value_set=plan.replaced_keys)))
    merged = pa.concat_tables([_conform(kept, schema), rows]).sort_by([(key, "ascending")])
    with transaction.update_snapshot(snapshot_properties=properties).overwrite() as overwrite:
        for task in affected:
            overwrite.delete_data_file(task.file)
        for data_file in _dataframe_to_data_files(
            table_metadata=metadata, df=merged, io=table.io, write_uuid=overwrite.commit_uuid
        ):
            overwrite.append_data_file(data_file)


def _add_columns(transaction: Transaction, schema: Schema, added_fields: Sequence[FieldSpec]) -> bool:
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


def _conform(rows: pa.Table, schema: Schema) -> pa.Table:
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


def _result(table: Table, plan: MergePlan) -> MergeResult:
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
