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
incoming keys' range are read (files are sorted on the key, so the others are skipped by
their statistics). The delete names the replaced keys in ``In`` chunks of at most
:data:`IN_CHUNK` values (pyiceberg prunes no file for a larger ``In``), ANDed with the range of
the *stored* replaced rows' partition source values, so pyiceberg reads and rewrites only the
partitions and files that hold them. The range comes from the stored rows, never the
incoming ones: a row whose partition column changed must still be found where it lives.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    GreaterThanOrEqual,
    In,
    LessThanOrEqual,
    Or,
)
from pyiceberg.schema import Schema
from pyiceberg.table import Table, Transaction

from ingestion.dataplane.tables import iceberg_type, load_or_create_table, table_identifier
from ingestion.observability import logger
from ingestion.schemas.spec import DataTypeSpec, FieldSpec
from ingestion.settings import Settings

REQUEST_ID = "ingestion.request-id"
ROWS_INSERTED = "ingestion.rows-inserted"
ROWS_UPDATED = "ingestion.rows-updated"
ROWS_STALE = "ingestion.rows-stale"
MAX_COMMIT_ATTEMPTS = 5
# pyiceberg's IN_PREDICATE_LIMIT: an ``In`` with more values is never used to skip a file.
IN_CHUNK = 200
_LINE = "__line"


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

    ``replaced`` holds the stored rows (as read: key, version, partition sources) being replaced.
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
    may hold more columns (the partition sources): they are kept in the plan's ``replaced``.
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
        plan = plan_merge(rows, _stored_versions(table, data_type, rows), data_type)
        try:
            return _commit(table, plan, data_type, request_id, added_fields)
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


def _stored_versions(table: Table, data_type: DataTypeSpec, rows: pa.Table) -> pa.Table:
    """The stored keys, versions and partition sources of the rows ``rows`` may replace.

    Only keys within the range of the incoming keys are read: the files are sorted on the key,
    so the other files and row groups are skipped on their statistics.
    """
    key = data_type.key
    if key is None or table.current_snapshot() is None:
        return pa.table({})  # keyless data types only ever append; an empty table holds no key
    columns = [key] + ([data_type.version_field] if data_type.version_field else [])
    columns += [name for name in partition_sources(table) if name not in columns]
    return table.scan(row_filter=_key_range(key, rows.column(key)), selected_fields=tuple(columns)).to_arrow()


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


def partition_sources(table: Table) -> list[str]:
    """Top-level columns the table's partition spec derives an order-preserving partition from.

    A range of such a column's values selects whole partitions; other transforms (bucket)
    or nested sources give nothing to prune on and are left out.
    """
    schema = table.schema()
    top_level = {column.field_id: column.name for column in schema.fields}
    return [
        top_level[field.source_id]
        for field in table.spec().fields
        if field.transform.preserves_order and field.source_id in top_level
    ]


def delete_filter(key: str, replaced_keys: pa.Array, replaced: pa.Table | None) -> BooleanExpression:
    """The rows a merge deletes: the replaced keys, in ``In`` chunks pyiceberg can prune files with,
    ANDed with the range of each partition source over the *stored* replaced rows.

    The ranges hold every replaced row by construction (they are read from those rows), so
    they only narrow which partitions and files are read; a source with a null among them
    gives no range.
    """
    keys = pc.unique(replaced_keys).sort()
    chunks = [In(key, keys[start : start + IN_CHUNK].to_pylist()) for start in range(0, len(keys), IN_CHUNK)]
    expression = reduce(Or, chunks)
    if replaced is None:
        return expression
    for name in replaced.column_names:
        if (bounds := _value_range(name, replaced.column(name))) is not None:
            expression = And(bounds, expression)
    return expression


def _commit(
    table: Table, plan: MergePlan, data_type: DataTypeSpec, request_id: str, added_fields: Sequence[FieldSpec]
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
    if len(plan.replaced_keys) and data_type.key is not None:
        replaced = plan.replaced
        if replaced is not None:
            # Only the partition sources bound the delete; a version column is not one of them.
            sources = [name for name in partition_sources(table) if name in replaced.column_names]
            replaced = replaced.select(sources)
        transaction.delete(
            delete_filter(data_type.key, plan.replaced_keys, replaced), snapshot_properties=properties
        )
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
