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
together with the incoming rows, sorted on the key, as one file per partition (a few rows
are spliced into files already sorted without copying theirs: :mod:`.sorted_rewrite`). One
OVERWRITE snapshot swaps the old files for the new ones; no delete predicate is evaluated,
so no file is scanned twice and each merge leaves the partitions it touched compacted.
The files come from the stored rows, never the incoming ones: a row whose partition column
changed is still found where it lives.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, GreaterThanOrEqual, In, LessThanOrEqual
from pyiceberg.table import Table

from ingestion.dataplane.commits import (
    FILE_COLUMN,
    REQUEST_ID,
    MergeConflict,
    MergePlan,
    MergeResult,
    SnapshotKeeper,
    Stamp,
    StoredRows,
    commit_merge,
    recorded_merge,
)
from ingestion.dataplane.early_append import EarlyAppend, commit_early_append
from ingestion.dataplane.tables import load_or_create_table, table_identifier
from ingestion.observability import logger
from ingestion.schemas.spec import DataTypeSpec, FieldSpec
from ingestion.settings import Settings

__all__ = [
    "FILE_COLUMN",
    "REQUEST_ID",
    "MergeConflict",
    "MergePlan",
    "MergeResult",
    "keep_newest_per_key",
    "merge_into_collection",
    "merge_once_per_request",
    "merge_with_retries",
    "plan_merge",
    "recorded_merge",
    "stored_versions",
]

MAX_COMMIT_ATTEMPTS = 5
# Up to this many incoming keys, stored rows are looked up key by key rather than by range.
KEY_SET_LIMIT = 1_000
# Files holding candidate rows are read whole (once, for the lookup and the rewrite) up to this many rows.
WHOLE_READ_ROWS = 200_000
_LINE = "__line"
_READERS = 8


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
    newest = newest_positions(rows.column(key), rows.column(version) if version else None)
    return NewestRows(rows=rows.take(newest.positions), repeated=newest.repeated, examples=newest.examples)


@dataclass(frozen=True)
class NewestPositions:
    """Positions of the rows that win for their key, ordered by key; how many lost, and examples."""

    positions: pa.Array
    repeated: int
    examples: list[str]


def newest_positions(
    keys: pa.ChunkedArray | pa.Array, versions: pa.ChunkedArray | pa.Array | None
) -> NewestPositions:
    """Which row wins for each key: the newest version (a null version is older than any), then
    the later line."""
    count = len(keys)
    lines = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), count)), 1)
    decided = pa.table({"key": keys, _LINE: lines} | ({"version": versions} if versions is not None else {}))
    sort_keys = [("key", "ascending", "at_end")]
    sort_keys += [("version", "descending", "at_end")] if versions is not None else []
    sort_keys += [(_LINE, "descending", "at_end")]
    order = pc.sort_indices(decided, sort_keys=sort_keys)
    ordered = decided.column("key").combine_chunks().take(order)
    first = (
        pa.concat_arrays([pa.array([True]), pc.not_equal(ordered[1:], ordered[:-1])])
        if count
        else pa.array([], pa.bool_())
    )
    positions = order.filter(first)
    repeated = count - len(positions)
    examples = pc.unique(ordered.filter(pc.invert(first)))[:5].to_pylist() if repeated else []
    return NewestPositions(positions=positions, repeated=repeated, examples=examples)


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
    if len(keys) < stored.num_rows:
        # Only stored rows with an incoming key matter: hash the fewer keys (a small upsert
        # reads whole files, ~100k stored rows for 5 incoming ones).
        stored = stored.filter(pc.is_in(stored.column(key), value_set=keys))
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


def merge_into_collection(
    catalog: Catalog,
    settings: Settings,
    collection_id: str,
    data_type: DataTypeSpec,
    rows: pa.Table,
    request_id: str,
    *,
    added_fields: Sequence[FieldSpec] = (),
    keeper: SnapshotKeeper | None = None,
    early: EarlyAppend | None = None,
) -> MergeResult:
    """Upsert ``rows`` (one per key) into the collection's table, exactly once per request.

    ``added_fields`` are columns of ``data_type`` (and of ``rows``) that the table may lack:
    they are added, nullable, by the same commit that writes the rows. ``keeper`` is told the
    snapshot before it is committed, and names the snapshots expiry must keep (the commit
    lock: see :mod:`.bounded_history`). ``early`` wrote ``rows`` as data files during validation: they
    are committed when the merge appends every row (:mod:`.early_append`).
    """

    def merge_once(table: Table) -> MergeResult:
        stored = stored_versions(table, data_type, rows)
        plan = plan_merge(rows, stored.rows, data_type)
        if early is not None:
            if plan.updated or plan.stale or added_fields:
                early.discard()  # not a pure append: the merge writes the rows itself
            else:
                appended = commit_early_append(table, plan, early, Stamp.of(request_id, plan), keeper)
                if appended is not None:
                    return appended
        return commit_merge(table, plan, stored, data_type, Stamp.of(request_id, plan), added_fields, keeper)

    return merge_once_per_request(catalog, settings, collection_id, data_type, request_id, merge_once)


def merge_once_per_request(
    catalog: Catalog,
    settings: Settings,
    collection_id: str,
    data_type: DataTypeSpec,
    request_id: str,
    merge_once: Callable[[Table], MergeResult],
) -> MergeResult:
    """``merge_once`` against the collection's table (see :func:`merge_with_retries`), unless
    the request was merged before: then the counts recorded by that commit."""

    def unless_recorded(table: Table) -> MergeResult:
        recorded = recorded_merge(table, request_id)
        if recorded is None:
            return merge_once(table)
        logger.info(
            "upload already merged", extra={"request_id": request_id, "snapshot_id": recorded.snapshot_id}
        )
        return recorded

    return merge_with_retries(catalog, settings, collection_id, data_type, unless_recorded)


def merge_with_retries[Merged](
    catalog: Catalog,
    settings: Settings,
    collection_id: str,
    data_type: DataTypeSpec,
    merge_once: Callable[[Table], Merged],
) -> Merged:
    """``merge_once`` against the collection's table; decided again against the new table, a
    bounded number of times, when the commit finds the table moved since it was read.
    ``merge_once`` recognises a request it merged before (:func:`.commits.recorded_merge`)."""
    identifier = table_identifier(settings, collection_id, data_type.name)
    table = load_or_create_table(catalog, settings, collection_id, data_type)
    for attempt in range(1, MAX_COMMIT_ATTEMPTS + 1):
        try:
            return merge_once(table)
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


def stored_versions(table: Table, data_type: DataTypeSpec, rows: pa.Table) -> StoredRows:
    """The stored keys and versions of the rows ``rows`` may replace,
    each with the index of its data file in ``files``.

    Only the files whose key bounds can hold an incoming key are read (:func:`_key_filter`),
    and in them only the key and version columns, the other row groups skipped on their
    statistics: unless ``rows`` are at most :data:`KEY_SET_LIMIT` and those files hold at most
    :data:`WHOLE_READ_ROWS` rows in all (a small upsert), when they are read whole, once, for
    the rewrite of the files holding replaced rows to use too.
    """
    from pyiceberg.io.pyarrow import ArrowScan

    key = data_type.key
    if key is None or table.current_snapshot() is None:
        # Keyless data types only ever append; an empty table holds no key.
        return StoredRows(rows=pa.table({}), files=[])
    columns = [key] + ([data_type.version_field] if data_type.version_field else [])
    row_filter = _key_filter(key, rows.column(key))
    files = list(table.scan(row_filter=row_filter).plan_files())
    # Read whole only for a small upsert: a large file's merge reads the keys of many rows.
    whole = len(rows) <= KEY_SET_LIMIT and sum(task.file.record_count for task in files) <= WHOLE_READ_ROWS
    if whole:
        scan = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue())
    else:
        scan = ArrowScan(table.metadata, table.io, table.schema().select(*columns), row_filter)
    # One read per file, to know which file each row lives in; in parallel, as a scan would.
    # (A pool of our own: pyiceberg's shared pool runs each read's own work.)
    with ThreadPoolExecutor(max_workers=_READERS) as pool:
        pieces = list(pool.map(lambda task: scan.to_table([task]), files))
    if not pieces:
        return StoredRows(rows=pa.table({}), files=[])
    located = [
        piece.select(columns).append_column(
            FILE_COLUMN, pa.repeat(pa.scalar(number, pa.int32()), piece.num_rows)
        )
        for number, piece in enumerate(pieces)
    ]
    return StoredRows(
        rows=pa.concat_tables(located, promote_options="permissive"),
        files=files,
        file_rows=pieces if whole else None,
    )


_RANGE_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_temporal)


def _value_range(name: str, values: pa.ChunkedArray | pa.Array) -> BooleanExpression | None:
    """``min <= name <= max`` over ``values``, or None when a range cannot stand for them all.

    A null is in no range, and only types Iceberg compares as Arrow does get one.
    """
    if values.null_count or len(values) == 0 or not any(is_type(values.type) for is_type in _RANGE_TYPES):
        return None
    bounds = pc.min_max(values)
    return And(GreaterThanOrEqual(name, bounds["min"].as_py()), LessThanOrEqual(name, bounds["max"].as_py()))


def _key_filter(key: str, keys: pa.ChunkedArray | pa.Array) -> BooleanExpression:
    """The stored rows an incoming key can match: a few keys looked up one by one (a file is
    read only if its bounds hold one of them, however far apart they are), more by their range;
    all rows when a key is null."""
    if keys.null_count == 0 and 0 < len(keys) <= KEY_SET_LIMIT:
        distinct = pc.unique(keys)
        if any(is_type(distinct.type) for is_type in _RANGE_TYPES):
            return In(key, distinct.to_pylist())
    return _value_range(key, keys) or AlwaysTrue()
