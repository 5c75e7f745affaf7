"""Writing a large file's rows as data files while the file is still being validated.

Writing the accepted rows as Parquet (encoding, compression) costs about as much CPU as
validating them, and once took as long again after validation (Lambda gives 2 vCPUs at 3 GB,
and validation alone keeps them only partly busy). So once a file's kept rows pass
``EARLY_WRITE_AFTER_MIB`` (by default the largest file a group commit takes,
:mod:`.group_merge`), each batch validation keeps is also handed to a background thread, which
writes it into one Parquet file per partition (:mod:`.streamed_files`) while validation goes on.

Those files are *speculative*: nothing refers to them until the merge commits them, and it does
so only when they are exactly the rows the merge would write, laid out as it would:

- every kept row's key is greater than the one before (no null key): the file is in key order
  with one row per key, so :func:`.merge.keep_newest_per_key` would keep every row in this order,
  and each partition's file holds its rows sorted on the key, as :func:`.writing.write_data_files`
  writes them (the sort itself is skipped too);
- the merge is a pure append: no stored row has an incoming key (none replaced, none stale);
- the file adds no column, its rows stayed in memory, and the table (its schema, partitioning,
  location and write properties) is the one the files were written for (:class:`WriteTarget`).

Otherwise the files are deleted and the merge writes the rows as before; a refused file's files
are deleted too (never committed, nothing refers to them; should the process die first, table
maintenance deletes them as orphans a day later). Still one commit per upload, and all or
nothing: a file refused on its last row merges nothing. What differs is inside the files: their
rows come in row groups of :data:`.streamed_files.ROW_GROUP_ROWS` (each a key range of its own)
where the merge writes one per file, so that the encoding keeps pace with validation; the rows,
their order, the files and their statistics are the same.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.io import load_file_io
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata, new_table_metadata

from ingestion.dataplane.bounded_history import CachedTransaction
from ingestion.dataplane.commits import (
    MergePlan,
    MergeResult,
    SnapshotKeeper,
    Stamp,
    commit_stamped,
)
from ingestion.dataplane.streamed_files import PartitionedWriter, WriteTarget
from ingestion.dataplane.tables import (
    TABLE_PROPERTIES,
    data_type_properties,
    delete_objects,
    get_catalog,
    iceberg_schema,
    load_table,
    partition_spec,
    sort_order,
    table_location,
)
from ingestion.observability import logger
from ingestion.schemas.spec import DataTypeSpec
from ingestion.settings import Settings

_FINISH = object()


class EarlyAppend:
    """Kept batches in, speculative data files out (see the module's docstring).

    Validation calls :meth:`add` with each kept batch and :meth:`abandon` when the rows can no
    longer be written this way; :meth:`finish` once it accepts the file. The merge asks
    :meth:`data_files`; :meth:`close` deletes whatever was not committed.
    """

    def __init__(
        self,
        key: str,
        target: Callable[[], WriteTarget],
        delete: Callable[[list[str]], None],
        *,
        start_after_bytes: int,
    ) -> None:
        self.key = key
        self._delete = delete
        self.in_key_order = True  # every kept row's key above the previous one's, none null
        self.committed = False
        self.committing = False  # a commit of the files is under way, or failed in an unknown state
        self._target_factory = target
        self._start_after = start_after_bytes
        self._waiting: list[pa.RecordBatch] = []
        self._waiting_bytes = 0
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._abandoned = False
        self._last_key: object = None
        self._target: WriteTarget | None = None
        self._paths: list[str] = []
        self._files: list[DataFile] | None = None
        self._lock = threading.Lock()

    # -- the validation side (its thread) --

    def add(self, batch: pa.RecordBatch) -> None:
        if not self.in_key_order or batch.num_rows == 0:
            return
        if not self._keys_ascend(batch.column(self.key)):
            self.abandon()
            return
        if self._abandoned:
            return
        if self._thread is not None:
            self._queue.put(batch)
            return
        self._waiting.append(batch)
        self._waiting_bytes += batch.nbytes
        if self._waiting_bytes > self._start_after:
            self._thread = threading.Thread(target=self._run, name="early-append", daemon=True)
            for waiting in self._waiting:
                self._queue.put(waiting)
            self._waiting = []
            self._thread.start()

    def abandon(self) -> None:
        """The kept rows will not all come through :meth:`add` (or not in key order): stop writing.
        What was written is deleted by :meth:`close`."""
        self.in_key_order = False
        self._stop()

    def finish(self) -> None:
        """Every row is in: write what is left and close the files (in the background)."""
        self._queue.put(_FINISH)

    # -- the merge side --

    @property
    def started(self) -> bool:
        return self._thread is not None and not self._abandoned

    def data_files(self, metadata: TableMetadata) -> list[DataFile] | None:
        """The files, once written, if they suit a merge into ``metadata``; None (and deleted) if not."""
        if self._thread is None or self._abandoned:
            return None
        self._thread.join()
        if self._files is None or self._target is None or not self._target.matches(metadata):
            self.discard()
            return None
        return self._files

    def discard(self) -> None:
        """Delete the files: they were never committed (and will not be)."""
        self._stop()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            paths, self._paths = self._paths, []
        if paths:
            try:
                self._delete(paths)
            except Exception:
                # Never committed: table maintenance deletes them as orphans.
                logger.warning("could not delete speculative data files", extra={"paths": paths})

    def close(self) -> None:
        """Delete the files unless a commit took them (or may have: its outcome unknown)."""
        if self.committed or self.committing:
            self._stop()
        else:
            self.discard()

    # -- internals --

    def _stop(self) -> None:
        self._abandoned = True
        self._waiting = []
        self._queue.put(_FINISH)

    def _keys_ascend(self, keys: pa.Array) -> bool:
        if keys.null_count:
            return False
        if len(keys) > 1 and not pc.all(pc.greater(keys.slice(1), keys.slice(0, len(keys) - 1))).as_py():
            return False
        first, last = keys[0], keys[len(keys) - 1]
        if self._last_key is not None and not pc.greater(first, self._last_key).as_py():
            return False
        self._last_key = last
        return True

    def _run(self) -> None:
        """The writing thread: batches until told to finish, then the files closed and described."""
        try:
            self._target = self._target_factory()
            writer = PartitionedWriter(self._target, self._record_path)
            while (batch := self._queue.get()) is not _FINISH:
                if not self._abandoned:
                    writer.add(batch)  # type: ignore[arg-type]
            if self._abandoned:
                writer.abort()
            else:
                self._files = writer.close()
        except Exception:
            logger.exception("writing the rows during validation failed; the merge writes them")
            self._abandoned = True

    def _record_path(self, path: str) -> None:
        with self._lock:
            self._paths.append(path)


def commit_early_append(
    table: Table,
    plan: MergePlan,
    early: EarlyAppend,
    stamp: Stamp,
    keeper: SnapshotKeeper | None,
) -> MergeResult | None:
    """Commit the plan, a pure append of every incoming row, with the files ``early`` wrote; None
    (the files deleted) when they do not suit this table, and the caller writes the rows itself."""
    files = early.data_files(table.metadata)
    if files is None:
        return None
    transaction = CachedTransaction(table)
    with transaction.update_snapshot(snapshot_properties=stamp.properties()).merge_append() as append:
        for data_file in files:
            append.append_data_file(data_file)
    early.committing = True
    try:
        result = commit_stamped(transaction, append.snapshot_id, stamp.request_ids, keeper, plan)
    except (CommitFailedException, ValidationException):
        early.committing = False  # refused: the files are still nobody's, and may serve a retry
        raise
    early.committed = True
    logger.info(
        "upload merged",
        extra={
            "request_ids": stamp.request_ids,
            "snapshot_id": result.snapshot_id,
            "inserted": plan.inserted,
            "written_early": len(files),
        },
    )
    return result


def early_append_for(
    settings: Settings, catalog: Catalog | None, collection_id: str, data_type: DataTypeSpec
) -> EarlyAppend | None:
    """A writer of the file's rows for the collection's table, if its rows may be written early
    (a data type with a key, whose rows an upsert keeps in key order)."""
    if data_type.key is None or data_type.infer_schema:
        return None

    def target() -> WriteTarget:
        found = catalog or get_catalog(settings)
        table = load_table(found, settings, collection_id, data_type.name)
        if table is not None:
            return WriteTarget(table.metadata, table.io)
        # The table the merge will create: the files are written for it, and committed only if
        # the merge finds the same table (another upload may create it first, alike or not).
        schema = iceberg_schema(data_type)
        metadata = new_table_metadata(
            schema=schema,
            partition_spec=partition_spec(data_type, schema),
            sort_order=sort_order(data_type, schema),
            location=table_location(settings, collection_id, data_type.name),
            properties=TABLE_PROPERTIES | data_type_properties(data_type),
        )
        return WriteTarget(
            metadata, load_file_io({**found.properties, **metadata.properties}, metadata.location)
        )

    def delete(paths: list[str]) -> None:
        # With S3's own call: a FileIO's delete leaves an empty "directory" object behind.
        import boto3

        s3 = boto3.client("s3", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url)
        for bucket, keys in itertools.groupby(
            sorted(path.removeprefix("s3://").split("/", 1) for path in paths), key=lambda parts: parts[0]
        ):
            delete_objects(s3, bucket, [key for _, key in keys])

    return EarlyAppend(data_type.key, target, delete, start_after_bytes=settings.early_write_after_mib << 20)
