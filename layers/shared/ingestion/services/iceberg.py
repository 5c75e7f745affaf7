"""A collection's Iceberg tables as the table services use them: read rows, export, drop.

The data plane (pyarrow, pyiceberg) is imported on first use, so a function without the data
plane's layer can import the services that use this (the entry function queues exports and
purges; only the functions the template gives the layer carry them out). Tests hand the
services an object with the same methods (:class:`CollectionTables`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ingestion.domain import ExportFormat, RowPage
from ingestion.schemas.spec import DataTypeSpec
from ingestion.settings import Settings


class CollectionTables(Protocol):
    def read_rows(
        self,
        collection_id: str,
        data_type: DataTypeSpec,
        *,
        limit: int,
        next_token: str | None,
        key: str | None,
        settings: Settings,
    ) -> RowPage: ...

    def export(
        self,
        collection_id: str,
        data_type: DataTypeSpec,
        file_format: ExportFormat,
        path: Path,
        settings: Settings,
    ) -> int: ...

    def data_types(self, collection_id: str, settings: Settings) -> list[str]: ...

    def drop(self, collection_id: str, data_type: str, settings: Settings) -> bool: ...


class IcebergTables:
    """The collection's tables in the Glue catalog."""

    def read_rows(
        self,
        collection_id: str,
        data_type: DataTypeSpec,
        *,
        limit: int,
        next_token: str | None,
        key: str | None,
        settings: Settings,
    ) -> RowPage:
        from ingestion.dataplane import get_catalog, load_table
        from ingestion.dataplane.reading import read_rows

        table = load_table(get_catalog(settings), settings, collection_id, data_type.name)
        return read_rows(table, data_type, limit=limit, next_token=next_token, key=key)

    def export(
        self,
        collection_id: str,
        data_type: DataTypeSpec,
        file_format: ExportFormat,
        path: Path,
        settings: Settings,
    ) -> int:
        from ingestion.dataplane import get_catalog, load_table
        from ingestion.dataplane.exporting import export_rows

        table = load_table(get_catalog(settings), settings, collection_id, data_type.name)
        return export_rows(table, data_type, file_format, path)

    def data_types(self, collection_id: str, settings: Settings) -> list[str]:
        from ingestion.dataplane import get_catalog
        from ingestion.dataplane.dropping import collection_tables

        return collection_tables(get_catalog(settings), settings, collection_id)

    def drop(self, collection_id: str, data_type: str, settings: Settings) -> bool:
        from ingestion.dataplane import get_catalog
        from ingestion.dataplane.dropping import drop_table

        return drop_table(get_catalog(settings), settings, collection_id, data_type)


def table_files_prefix(settings: Settings, collection_id: str, data_type: str | None = None) -> str:
    """Where a collection's tables (or one data type's) keep every file, as a key prefix."""
    prefix = f"{settings.warehouse_prefix}{collection_id}/"
    return prefix if data_type is None else f"{prefix}{data_type}/"


def table_lock(collection_id: str, data_type: str) -> str:
    """The commit lock under which merges, deletions and maintenance of a table take turns."""
    return f"{collection_id}/{data_type}"
