"""Dropping a collection's tables from the catalog.

Dropping removes the table from Glue only; its files stay where they are (pyiceberg's
``purge_table`` would delete only the files the last metadata names, not those of expired
snapshots or of writes that never committed). The caller deletes everything under the table's
location, which holds nothing else: :mod:`.tables` gives each table a folder of its own.
"""

from __future__ import annotations

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

from ingestion.dataplane.tables import table_identifier
from ingestion.settings import Settings


def collection_tables(catalog: Catalog, settings: Settings, collection_id: str) -> list[str]:
    """The data types a collection has a table of, as the catalog lists them."""
    prefix = f"{collection_id}_"  # table names are <collectionId>_<dataType>; a ULID has no "_"
    try:
        identifiers = catalog.list_tables(settings.glue_database)
    except NoSuchNamespaceError:
        return []
    return sorted(name[len(prefix) :] for *_, name in identifiers if name.startswith(prefix))


def drop_table(catalog: Catalog, settings: Settings, collection_id: str, data_type: str) -> bool:
    """Remove the collection's table of ``data_type`` from the catalog; False if it had none."""
    try:
        catalog.drop_table(table_identifier(settings, collection_id, data_type))
    except NoSuchTableError:
        return False
    return True
