"""A data type's rows: reading them back, and deleting them (the tables function's use cases)."""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.domain import RowPage
from ingestion.errors import DataTypeBusy, TableBusy
from ingestion.identifiers import new_ulid
from ingestion.observability import logger
from ingestion.repositories.collections import CollectionRepository, get_collection_repository
from ingestion.repositories.commit_locks import CommitLockRepository
from ingestion.repositories.data_types import DataTypeRepository, get_data_type_repository
from ingestion.repositories.files import FileStore, get_file_store
from ingestion.services.data_types import resolve_data_type
from ingestion.services.iceberg import CollectionTables, IcebergTables, table_files_prefix, table_lock
from ingestion.settings import Settings, get_settings

# How long DELETE waits for merges of the data type to let go of its table: under API
# Gateway's 29 seconds, so a table kept busy longer is a 409 to retry, never a timeout.
DELETE_LOCK_WAIT_SECONDS = 15


@dataclass(frozen=True)
class RowsDependencies:
    collections: CollectionRepository
    data_types: DataTypeRepository
    files: FileStore
    commit_locks: CommitLockRepository
    tables: CollectionTables
    settings: Settings

    @classmethod
    def default(cls) -> RowsDependencies:
        from ingestion import aws

        settings = get_settings()
        return cls(
            collections=get_collection_repository(),
            data_types=get_data_type_repository(),
            files=get_file_store(),
            commit_locks=CommitLockRepository(
                aws.table(settings.commit_locks_table),
                lease_seconds=settings.commit_lock_lease_seconds,
                wait_seconds=DELETE_LOCK_WAIT_SECONDS,
            ),
            tables=IcebergTables(),
            settings=settings,
        )


def read_rows(
    *,
    tenant_id: str,
    collection_id: str,
    data_type: str,
    limit: int,
    next_token: str | None = None,
    key: str | None = None,
    deps: RowsDependencies | None = None,
) -> RowPage:
    """A page of a data type's rows, in key order when it has a key; or the one row with ``key``."""
    deps = deps or RowsDependencies.default()
    deps.collections.get_for_tenant(collection_id, tenant_id)
    spec = resolve_data_type(collection_id, data_type, deps.data_types)
    return deps.tables.read_rows(
        collection_id, spec, limit=limit, next_token=next_token, key=key, settings=deps.settings
    )


def delete_rows(
    *, tenant_id: str, collection_id: str, data_type: str, deps: RowsDependencies | None = None
) -> None:
    """Delete every row of a data type (its table is dropped and its files deleted) and, for a
    declared one, its declaration. It can be appended to again at once.

    Runs under the table's commit lock, so no merge is half way through: an upload merged
    before is deleted with the rest, and one requested before this but not merged yet is
    refused when it comes to merge (see :meth:`ingestion.domain.Collection.refuses_upload`),
    while uploads requested from now on build a new table. The files to delete are listed
    under the lock, so none of the new table's is among them.
    """
    deps = deps or RowsDependencies.default()
    deps.collections.get_for_tenant(collection_id, tenant_id)
    spec = resolve_data_type(collection_id, data_type, deps.data_types)
    try:
        with deps.commit_locks.hold(table_lock(collection_id, data_type)):
            deps.collections.clear_data_type(collection_id, data_type, first_request_id=new_ulid())
            if not spec.built_in:
                deps.data_types.delete(collection_id, data_type)
            dropped = deps.tables.drop(collection_id, data_type, deps.settings)
            files = deps.files.keys_under(table_files_prefix(deps.settings, collection_id, data_type))
    except TableBusy:
        raise DataTypeBusy(
            f"uploads of '{data_type}' are being merged into its table right now; send the DELETE again "
            "in a minute"
        ) from None
    deps.files.delete_keys(files)
    logger.info(
        "data type's rows deleted",
        extra={
            "collection_id": collection_id,
            "data_type": data_type,
            "dropped": dropped,
            "files": len(files),
        },
    )
