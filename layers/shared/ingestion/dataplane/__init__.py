"""The data plane: validate an uploaded file and merge it into the collection's Iceberg table.

This package is the only code that imports pyarrow and pyiceberg, and only the validator
imports it, so the API functions start without them. Walk down from
:func:`ingest_upload`: :mod:`.csv_reader` reads the file as all-string Arrow batches,
:mod:`.validation` checks the header and every batch (:mod:`.column_checks` per column),
and :mod:`.merge` upserts the accepted rows into the table from :mod:`.tables`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingestion.dataplane.csv_reader import OpenSource
from ingestion.dataplane.merge import MergeConflict, keep_newest_per_key, merge_into_collection
from ingestion.dataplane.tables import get_catalog, read_row_count, table_identifier
from ingestion.dataplane.validation import validate_file
from ingestion.domain import UploadOutcome, UploadStatus
from ingestion.observability import logger
from ingestion.settings import Settings, get_settings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from ingestion.schemas.spec import DataTypeSpec

__all__ = [
    "MergeConflict",
    "OpenSource",
    "get_catalog",
    "ingest_upload",
    "read_row_count",
    "table_identifier",
]


def ingest_upload(
    *,
    open_source: OpenSource,
    data_type: DataTypeSpec,
    separator: str,
    collection_id: str,
    request_id: str,
    catalog: Catalog | None = None,
    settings: Settings | None = None,
) -> UploadOutcome:
    """Validate one uploaded file and, if every row is good, merge it into the collection.

    ``open_source`` returns a fresh binary stream of the file on each call: the file is
    read once on the success path and again only to locate problems. Anything wrong with
    the file is an ``error`` outcome, never an exception; exceptions mean the service
    itself failed (e.g. :class:`.merge.MergeConflict`) and the caller may
    retry: a request already merged is recognised by ``request_id`` and not merged twice.
    """
    settings = settings or get_settings()
    table_identifier(settings, collection_id, data_type.name)  # refuse bad ids before reading anything
    checked = validate_file(open_source, data_type, separator, max_errors=settings.max_validation_errors)
    rows = checked.table
    if rows is None or not checked.accepts():
        logger.info(
            "upload refused",
            extra={"request_id": request_id, "errors": checked.issue_count, "rows": checked.processed_lines},
        )
        return UploadOutcome(
            status=UploadStatus.ERROR,
            message=checked.message,
            processed_lines=checked.processed_lines,
            rows_rejected=checked.failed_rows,
            warnings=checked.warnings,
            validation_errors=checked.issues,
            validation_error_count=checked.issue_count,
        )
    warnings = list(checked.warnings)
    newest = keep_newest_per_key(rows, data_type)
    if newest.repeated:
        examples = ", ".join(f"'{key}'" for key in newest.examples)
        tie_break = (
            f"latest {data_type.version_field}, then the later line"
            if data_type.version_field
            else "the later line"
        )
        warnings.append(
            f"{newest.repeated} rows repeat a {data_type.key} found elsewhere in the file (e.g. {examples}); "
            f"only the newest row for each {data_type.key} ({tie_break}) was kept"
        )
    merged = merge_into_collection(
        catalog or get_catalog(settings), settings, collection_id, data_type, newest.rows, request_id
    )
    if merged.stale:
        warnings.append(
            f"{merged.stale} rows were not merged because the collection already holds a newer version "
            f"of them (a later {data_type.version_field})"
        )
    if merged.replayed:
        warnings.append(
            f"this upload had already been merged (snapshot {merged.snapshot_id}); "
            "the counts are the ones recorded then"
        )
    return UploadOutcome(
        status=UploadStatus.COMPLETED,
        processed_lines=checked.processed_lines,
        rows_inserted=merged.inserted,
        rows_updated=merged.updated,
        warnings=warnings,
        row_count=merged.row_count,
        snapshot_id=merged.snapshot_id,
        sequence_number=merged.sequence_number,
    )
