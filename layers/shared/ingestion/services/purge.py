"""Purging a deleted collection: the purge function's use case.

``DELETE /api/collection/{id}`` marks the collection deleted and queues its purge; this removes
everything it held, in an order that a crash at any step leaves for the next delivery to finish:

1. each table is dropped from the catalog under its commit lock (a merge holding the lock
   commits first and is dropped with the rest; one that takes it later sees the deletion and
   merges nothing, see :mod:`.upload_targets`);
2. every file: the tables' data and metadata, the uploaded files, the upload reports, the
   exports;
3. the records: upload requests, exports, declared data types; the collection's own last, so
   that until the purge is done a delivery finds it and picks up where the last one stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingestion.identifiers import DATA_TYPE_PATTERN
from ingestion.observability import logger
from ingestion.repositories.collections import CollectionRepository, get_collection_repository
from ingestion.repositories.commit_locks import CommitLockRepository, get_commit_lock_repository
from ingestion.repositories.data_types import DataTypeRepository, get_data_type_repository
from ingestion.repositories.exports import ExportRepository, get_export_repository
from ingestion.repositories.files import FileStore, get_file_store
from ingestion.repositories.uploads import UploadRequestRepository, get_upload_request_repository
from ingestion.schemas import BUILT_IN_DATA_TYPES
from ingestion.services.iceberg import CollectionTables, IcebergTables, table_files_prefix, table_lock
from ingestion.settings import Settings, get_settings


class PurgeIncomplete(RuntimeError):
    """Something of the collection was still there after the purge; the next delivery tries again."""


@dataclass(frozen=True)
class PurgeDependencies:
    collections: CollectionRepository
    data_types: DataTypeRepository
    uploads: UploadRequestRepository
    exports: ExportRepository
    files: FileStore
    commit_locks: CommitLockRepository
    tables: CollectionTables
    settings: Settings

    @classmethod
    def default(cls) -> PurgeDependencies:
        return cls(
            collections=get_collection_repository(),
            data_types=get_data_type_repository(),
            uploads=get_upload_request_repository(),
            exports=get_export_repository(),
            files=get_file_store(),
            commit_locks=get_commit_lock_repository(),
            tables=IcebergTables(),
            settings=get_settings(),
        )


def purge_collection(collection_id: str, deps: PurgeDependencies | None = None) -> bool:
    """Remove every table, file and record of a deleted collection; False when there was nothing
    to do (purged already, or not deleted: a live collection is never touched)."""
    deps = deps or PurgeDependencies.default()
    collection = deps.collections.find(collection_id)
    if collection is None:
        logger.info("collection already purged", extra={"collection_id": collection_id})
        return False
    if collection.deleted_at is None:
        logger.warning(
            "purge of a collection that is not deleted; left alone", extra={"collection_id": collection_id}
        )
        return False
    settings = deps.settings
    declared = deps.data_types.names(collection_id)
    incoming = f"{settings.incoming_prefix}{collection_id}/"
    # Every data type that may hold something: tables, upload requests, exports.
    data_types = sorted(
        set(BUILT_IN_DATA_TYPES)
        | set(declared)
        | set(collection.data_types)
        | set(collection.cleared_data_types)
        | set(deps.tables.data_types(collection_id, settings))
        | _folders(deps.files.keys_under(incoming), incoming)
    )
    for data_type in data_types:
        with deps.commit_locks.hold(table_lock(collection_id, data_type)):
            deps.tables.drop(collection_id, data_type, settings)
    files = 0
    for prefix in (
        table_files_prefix(settings, collection_id),
        incoming,
        f"{settings.reports_prefix}{collection_id}/",
        f"{settings.exports_prefix}{collection_id}/",
    ):
        files += deps.files.delete_prefix(prefix)
    records = 0
    for data_type in data_types:
        records += deps.uploads.delete_all(collection_id, data_type)
        records += deps.exports.delete_all(collection_id, data_type)
    for data_type in declared:
        deps.data_types.delete(collection_id, data_type)
    left = deps.tables.data_types(collection_id, settings)
    if left:
        raise PurgeIncomplete(
            f"tables of {', '.join(left)} appeared while collection {collection_id} was purged"
        )
    deps.collections.delete(collection_id)
    logger.info(
        "collection purged",
        extra={"collection_id": collection_id, "data_types": data_types, "files": files, "records": records},
    )
    return True


def _folders(keys: list[str], prefix: str) -> set[str]:
    """The first folder of each key below ``prefix`` that names a data type (a file dropped
    anywhere else was never an upload)."""
    folders = {key[len(prefix) :].split("/", 1)[0] for key in keys if "/" in key[len(prefix) :]}
    return {folder for folder in folders if re.fullmatch(DATA_TYPE_PATTERN, folder)}
