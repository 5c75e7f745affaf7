"""Merging a large file part by part: memory bounded by a part, not by the file.

A file whose kept rows went to local disk (:mod:`.kept_rows`) is merged with the same rules as
any other (:mod:`.merge`: the newest row of each key wins, within the file and against the
table; one commit), in parts of at most :data:`PART_ROWS` rows:

1. Only the key and version columns of every row are read at once (a few dozen bytes a row):
   they decide which row of each repeated key wins, and cut the winners, ordered by key, into
   parts of contiguous key ranges.
2. One pass over the kept rows sends each winner to its part's file on local disk (about as many
   bytes again as the kept rows: both stay on disk until the last part is merged).
3. Each part in turn is merged against the stored rows of its key range (the files' key
   statistics skip the rest), and its winning rows are written as data files at once.
4. The stored files holding replaced rows are rewritten without them, each once, whatever
   parts replaced its rows.
5. ONE commit swaps the old files for the new ones, stamped with the request id, as a merge in
   memory does: a crash or a refused commit before it leaves the table as it was.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.snapshots import Operation

from ingestion.dataplane.bounded_history import BoundedOverwrite, CachedTransaction
from ingestion.dataplane.commits import (
    FILE_COLUMN,
    MergePlan,
    MergeResult,
    SnapshotKeeper,
    Stamp,
    commit_stamped,
    conform_rows,
    merge_result,
    stage_added_columns,
)
from ingestion.dataplane.local_disk import SpillDirectory
from ingestion.dataplane.merge import merge_once_per_request, newest_positions, plan_merge, stored_versions
from ingestion.dataplane.writing import write_data_files
from ingestion.observability import logger
from ingestion.schemas.spec import DataTypeSpec, FieldSpec
from ingestion.settings import Settings

PART_ROWS = 200_000


@dataclass(frozen=True)
class Repeats:
    """Rows that lost to a newer row of the same key in the file, and a few of those keys."""

    count: int
    examples: list[str]


@dataclass
class _Written:
    """What the parts wrote so far, for the one commit."""

    files: list[DataFile] = field(default_factory=list)
    replaced: dict[str, tuple[FileScanTask, list[pa.Array]]] = field(default_factory=dict)
    inserted: int = 0
    updated: int = 0
    stale: int = 0


ReadRows = Callable[[], Iterator[pa.RecordBatch]]


def merge_into_collection_in_parts(
    catalog: Catalog,
    settings: Settings,
    collection_id: str,
    data_type: DataTypeSpec,
    read_again: ReadRows,
    request_id: str,
    *,
    added_fields: Sequence[FieldSpec] = (),
    keeper: SnapshotKeeper | None = None,
    part_rows: int = PART_ROWS,
) -> tuple[MergeResult, Repeats]:
    """Upsert every row ``read_again()`` yields into the collection's table, in parts, exactly
    once per request (see :func:`.merge.merge_once_per_request`)."""
    repeats = Repeats(0, [])

    def merge_once(table: Table) -> MergeResult:
        nonlocal repeats
        result, repeats = merge_in_parts(
            table,
            data_type,
            read_again,
            request_id,
            added_fields=added_fields,
            keeper=keeper,
            part_rows=part_rows,
        )
        return result

    return merge_once_per_request(
        catalog, settings, collection_id, data_type, request_id, merge_once
    ), repeats


def merge_in_parts(
    table: Table,
    data_type: DataTypeSpec,
    read_again: ReadRows,
    request_id: str,
    *,
    added_fields: Sequence[FieldSpec] = (),
    keeper: SnapshotKeeper | None = None,
    part_rows: int = PART_ROWS,
) -> tuple[MergeResult, Repeats]:
    """Merge the rows of ``read_again()`` (an iterator of record batches, callable more than
    once) into ``table`` in one commit; ``CommitFailedException`` if the table moved meanwhile."""
    transaction = CachedTransaction(table)
    stage_added_columns(transaction, table.schema(), added_fields)
    table_schema = transaction.table_metadata.schema()
    written = _Written()
    if data_type.key is None:
        for part in _chunks(read_again(), part_rows):
            _write(transaction, table, conform_rows(part, table_schema), written)
            written.inserted += part.num_rows
        repeats = Repeats(0, [])
    else:
        with SpillDirectory("merge-parts") as directory:
            parts, repeats = _split_into_parts(read_again, data_type, directory, part_rows)
            for path in parts:
                rows = _read(path).sort_by([(data_type.key, "ascending")])
                stored = stored_versions(table, data_type, rows)
                plan = plan_merge(rows, stored.rows, data_type)
                _write(transaction, table, conform_rows(plan.rows, table_schema), written)
                _note_replaced(plan, stored.files, written)
                written.inserted += plan.inserted
                written.updated += plan.updated
                written.stale += plan.stale
        _rewrite_replaced(transaction, table, data_type.key, written)
    return _commit(transaction, table, written, request_id, keeper), repeats


def _split_into_parts(
    read_again: ReadRows,
    data_type: DataTypeSpec,
    directory: Path,
    part_rows: int,
) -> tuple[list[Path], Repeats]:
    """Files of the winning rows, each a contiguous range of keys of at most ``part_rows`` rows."""
    key, version = data_type.key, data_type.version_field
    assert key is not None  # noqa: S101 - keyed types only
    columns = [key] + ([version] if version else [])
    decided = pa.Table.from_batches(batch.select(columns) for batch in read_again())
    winners = newest_positions(decided.column(key), decided.column(version) if version else None)
    keys = decided.column(key).combine_chunks()
    losers = _losers(len(keys), winners.positions)
    winning_keys = keys.take(winners.positions)  # ordered by key
    bounds = [winning_keys[start] for start in range(part_rows, len(winning_keys), part_rows)]
    del decided, keys
    paths = [directory / f"part-{number:04d}.arrow" for number in range(len(bounds) + 1)]
    writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
    try:
        position = 0
        for batch in read_again():
            positions = pa.array(range(position, position + batch.num_rows), pa.int64())
            position += batch.num_rows
            if len(losers):
                batch = batch.filter(pc.invert(pc.is_in(positions, value_set=losers)))
            part_of = _part_numbers(batch.column(key), bounds)
            for number in pc.unique(part_of).to_pylist():
                rows = batch.filter(pc.equal(part_of, number))
                if number not in writers:
                    writers[number] = pa.ipc.new_file(str(paths[number]), rows.schema)
                writers[number].write_batch(rows)
    finally:
        for writer in writers.values():
            writer.close()
    return [paths[number] for number in sorted(writers)], Repeats(winners.repeated, winners.examples)


def _losers(rows: int, winners: pa.Array) -> pa.Array:
    """Positions of the rows that lost to a newer row of their key (few, if any)."""
    if len(winners) == rows:
        return pa.array([], pa.int64())
    everyone = pa.array(range(rows), pa.int64())
    return everyone.filter(pc.invert(pc.is_in(everyone, value_set=winners)))


def _part_numbers(keys: pa.Array, bounds: list[pa.Scalar]) -> pa.Array:
    """The part of each key: how many bounds (the first key of each later part) it reaches."""
    number = pa.repeat(pa.scalar(0, pa.int32()), len(keys))
    for bound in bounds:
        number = pc.add(number, pc.greater_equal(keys, bound).cast(pa.int32()))
    return number


def _read(path: Path) -> pa.Table:
    # Into memory, not memory-mapped: the part's rows outlive the file, deleted with its directory.
    with pa.OSFile(str(path), "rb") as source:
        return pa.ipc.open_file(source).read_all()


def _chunks(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(pending)
            pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _write(
    transaction: CachedTransaction,
    table: Table,
    rows: pa.Table,
    written: _Written,
    *,
    sort_key: str | None = None,
    keep: pa.Array | None = None,
) -> None:
    # Each write names its files with a uuid of its own (see .writing): two writes sharing one
    # would name files alike, the second overwriting the first.
    metadata = transaction.table_metadata
    written.files += write_data_files(metadata, rows, table.io, sort_key=sort_key, keep=keep)


def _note_replaced(plan: MergePlan, files: list[FileScanTask], written: _Written) -> None:
    """Which stored files hold rows this part replaces, and which keys of them."""
    if plan.replaced is None:
        return
    by_file = defaultdict(list)
    numbers = plan.replaced.column(FILE_COLUMN).to_pylist()
    keys = plan.replaced.column(0)
    for number in set(numbers):
        by_file[number].append(keys.filter(pc.equal(plan.replaced.column(FILE_COLUMN), number)))
    for number, replaced_keys in by_file.items():
        task = files[number]
        known = written.replaced.setdefault(task.file.file_path, (task, []))
        known[1].extend(replaced_keys)


def _rewrite_replaced(transaction: CachedTransaction, table: Table, key: str, written: _Written) -> None:
    """Each stored file holding replaced rows, written again without them (once per file)."""
    metadata = transaction.table_metadata
    schema = metadata.schema()
    for task, replaced_keys in written.replaced.values():
        kept = ArrowScan(metadata, table.io, schema, AlwaysTrue()).to_table([task])
        gone = pa.chunked_array(replaced_keys).combine_chunks()
        keep = pc.invert(pc.is_in(kept.column(key), value_set=gone))
        _write(transaction, table, conform_rows(kept, schema), written, sort_key=key, keep=keep)


def _commit(
    transaction: CachedTransaction,
    table: Table,
    written: _Written,
    request_id: str,
    keeper: SnapshotKeeper | None,
) -> MergeResult:
    counts = MergePlan(
        rows=pa.table({}),
        replaced_keys=pa.array([]),
        inserted=written.inserted,
        updated=written.updated,
        stale=written.stale,
    )
    if not written.files and not written.replaced:
        return merge_result(transaction.commit_transaction(), counts)  # every row was stale
    properties = Stamp.of(request_id, counts).properties()
    if written.replaced:
        producer = BoundedOverwrite(
            operation=Operation.OVERWRITE,
            transaction=transaction,
            io=table.io,
            snapshot_properties=properties,
        )
    else:
        producer = transaction.update_snapshot(snapshot_properties=properties).merge_append()
    with producer:
        for task, _ in written.replaced.values():
            producer.delete_data_file(task.file)
        for data_file in written.files:
            producer.append_data_file(data_file)
    result = commit_stamped(transaction, producer.snapshot_id, [request_id], keeper, counts)
    logger.info(
        "upload merged in parts",
        extra={
            "request_id": request_id,
            "snapshot_id": result.snapshot_id,
            "files_written": len(written.files),
            "files_replaced": len(written.replaced),
            "inserted": written.inserted,
            "updated": written.updated,
            "stale": written.stale,
        },
    )
    return result
