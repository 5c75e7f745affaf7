"""The data plane: validate an uploaded file and merge it into the collection's Iceberg table.

This package is the only code that imports pyarrow and pyiceberg, and only the functions
that read or write tables import it (validator, tables, export, purge, maintenance), so the
other API functions start without them. Walk down from :func:`ingest_upload`:
:mod:`.validation` reads the file (:mod:`.formats` finds CSV, JSON or NDJSON, gzip or not;
:mod:`.csv_records`, :mod:`.ndjson_reader` and :mod:`.json_reader` read it as batches of text
cells), checks the header or keys (:mod:`.column_names`) and every batch (:mod:`.batch_checks`,
:mod:`.column_checks` per column, :mod:`.type_inference` for new columns), collects what is
wrong (:mod:`.issues`) into a :class:`.file_validation.FileValidation`, and :mod:`.merge`
upserts (or, without a key, appends) the accepted rows into the table from :mod:`.tables`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from ingestion.dataplane.commits import SnapshotKeeper
from ingestion.dataplane.file_validation import FileValidation, KeptRows
from ingestion.dataplane.merge import MergeConflict, keep_newest_per_key, merge_into_collection
from ingestion.dataplane.merge_in_parts import merge_into_collection_in_parts
from ingestion.dataplane.records import OpenSource, UnreadableFile
from ingestion.dataplane.tables import (
    get_catalog,
    load_table,
    read_row_count,
    read_table_spec,
    table_identifier,
    table_spec,
)
from ingestion.dataplane.validation import validate_file
from ingestion.domain import IngestOptions, UploadOutcome, UploadStatus
from ingestion.observability import logger
from ingestion.schemas.spec import DataTypeSpec, FieldSpec
from ingestion.settings import Settings, get_settings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

__all__ = [
    "MergeConflict",
    "OpenSource",
    "UnreadableFile",
    "get_catalog",
    "infer_data_type",
    "ingest_upload",
    "read_row_count",
    "read_table_spec",
    "table_identifier",
]

# How many problems infer_data_type reports when a file cannot be read.
_INFER_MAX_ERRORS = 10


def ingest_upload(
    *,
    open_source: OpenSource,
    data_type: DataTypeSpec,
    separator: str,
    collection_id: str,
    request_id: str,
    options: IngestOptions | None = None,
    commit_guard: Callable[[], AbstractContextManager[SnapshotKeeper | None]] = nullcontext,
    on_progress: Callable[[int], None] | None = None,
    catalog: Catalog | None = None,
    settings: Settings | None = None,
) -> UploadOutcome:
    """Validate one uploaded file and merge its good rows into the collection.

    The merge (reading the stored keys, writing files, the commit) runs inside
    ``commit_guard()``: the caller's lock that makes merges of one table take turns, while
    validation runs in parallel with any other. What it yields keeps the snapshots of merges not
    yet recorded from expiry (:mod:`.commits`); without one, the newest snapshots are kept.
    ``on_progress`` is called with the records read so far after every batch.

    ``open_source`` returns a fresh binary stream of the file on each call: the file is
    read once on the success path and again only to locate problems. ``separator`` is one
    character, or ``"auto"`` to detect it (CSV only). Anything wrong with the file is an
    ``error`` outcome, never an exception; exceptions mean the service itself failed (e.g.
    :class:`.merge.MergeConflict`) and the caller may retry: a request already merged is
    recognised by ``request_id`` and not merged twice.

    For a declared data type, columns the collection's table gained from earlier uploads
    count as part of it; for one with an inferred schema, the table's schema is the data
    type once it exists, and before that this file defines it. ``added_fields`` of the
    outcome names the columns this upload added; :func:`read_table_spec` gives the schema
    to record afterwards.
    """
    settings = settings or get_settings()
    options = options or IngestOptions()
    table_identifier(settings, collection_id, data_type.name)  # refuse bad ids before reading anything
    if not data_type.built_in:
        catalog = catalog or get_catalog(settings)
        data_type = with_table_columns(
            data_type, load_table(catalog, settings, collection_id, data_type.name)
        )
    checked = validate_file(
        open_source,
        data_type,
        separator,
        max_errors=settings.max_validation_errors,
        options=options,
        max_bytes=settings.max_decompressed_bytes,
        on_progress=on_progress,
        spill_after_bytes=settings.kept_rows_in_memory_mib << 20,
    )
    try:
        if not checked.accepts() or checked.rows is None:
            logger.info(
                "upload refused",
                extra={
                    "request_id": request_id,
                    "errors": checked.issue_count,
                    "rows": checked.processed_lines,
                },
            )
            return _outcome(checked, UploadStatus.ERROR)
        with commit_guard() as keeper:
            return _merge(
                checked,
                checked.rows,
                data_type,
                collection_id,
                request_id,
                catalog or get_catalog(settings),
                settings,
                keeper,
                allow_field_addition=options.allow_field_addition,
            )
    finally:
        checked.close()  # a large file's kept rows leave the local disk


def _merge(
    checked: FileValidation,
    rows: KeptRows,
    data_type: DataTypeSpec,
    collection_id: str,
    request_id: str,
    catalog: Catalog,
    settings: Settings,
    keeper: SnapshotKeeper | None,
    *,
    allow_field_addition: bool,
) -> UploadOutcome:
    warnings = list(checked.warnings)
    if rows.num_rows == 0:
        warnings.append("no row was merged: every row of the file was rejected")
        return _outcome(checked, UploadStatus.COMPLETED, warnings=warnings)
    merged_type = dataclasses.replace(
        data_type, fields=data_type.fields + tuple(checked.new_fields), infer_schema=False
    )
    if rows.spilled:
        # A large file: its rows are on local disk, merged part by part (bounded memory).
        merged, repeats = merge_into_collection_in_parts(
            catalog,
            settings,
            collection_id,
            merged_type,
            rows.batches,
            request_id,
            added_fields=checked.new_fields,
            keeper=keeper,
            part_rows=settings.merge_part_rows,
        )
        repeated, examples = repeats.count, repeats.examples
    else:
        newest = keep_newest_per_key(rows.to_table(), merged_type)
        repeated, examples = newest.repeated, newest.examples
        merged = merge_into_collection(
            catalog,
            settings,
            collection_id,
            merged_type,
            newest.rows,
            request_id,
            added_fields=checked.new_fields,
            keeper=keeper,
        )
    if repeated:
        shown = ", ".join(f"'{key}'" for key in examples)
        tie_break = (
            f"latest {data_type.version_field}, then the later line"
            if data_type.version_field
            else "the later line"
        )
        warnings.append(
            f"{repeated} rows repeat a {data_type.key} found elsewhere in the file (e.g. {shown}); "
            f"only the newest row for each {data_type.key} ({tie_break}) was kept"
        )
    if merged.stale:
        warnings.append(
            f"{merged.stale} rows were not merged because the collection already holds a newer version "
            f"of them (a later {data_type.version_field})"
        )
    if checked.new_fields and not merged.replayed:
        warnings.append(_added_fields_warning(data_type, checked.new_fields, allow_field_addition))
    if merged.replayed:
        warnings.append(
            f"this upload had already been merged (snapshot {merged.snapshot_id}); "
            "the counts are the ones recorded then"
        )
    return _outcome(
        checked,
        UploadStatus.COMPLETED,
        warnings=warnings,
        rows_inserted=merged.inserted,
        rows_updated=merged.updated,
        row_count=merged.row_count,
        snapshot_id=merged.snapshot_id,
        sequence_number=merged.sequence_number,
        added_fields=[spec.name for spec in checked.new_fields],
    )


def _outcome(checked: FileValidation, status: UploadStatus, **merged: object) -> UploadOutcome:
    merged.setdefault("warnings", checked.warnings)
    return UploadOutcome(
        status=status,
        message=checked.message,
        processed_lines=checked.processed_lines,
        rows_rejected=checked.failed_rows,
        validation_errors=checked.issues,
        validation_error_count=checked.issue_count,
        **merged,  # type: ignore[arg-type]
    )


def _added_fields_warning(
    data_type: DataTypeSpec, new_fields: Sequence[FieldSpec], allow_field_addition: bool
) -> str:
    """What the upload did to the data type's schema, naming ``allowFieldAddition`` only when the
    caller sent it: the first append of an inferred data type defines its columns without it."""
    added = ", ".join(f"{spec.name} ({spec.type.value})" for spec in new_fields)
    if allow_field_addition:
        return f"allowFieldAddition: the columns {added} were added to data type '{data_type.name}'"
    # Only the first append of an inferred data type adds columns unasked: it defines them.
    return f"data type '{data_type.name}' infers its schema: this file defined its fields {added}"


def with_table_columns(data_type: DataTypeSpec, table: Table | None) -> DataTypeSpec:
    """A declared data type as its table now stands.

    An inferred data type *is* its table's schema once the table exists. A declared one
    gains, as optional fields, the columns earlier uploads added (in case the declaration
    was not updated after them). Built-in types never change.
    """
    if table is None or data_type.built_in:
        return data_type
    stored = table_spec(table, data_type.name)
    if data_type.infer_schema:
        return stored
    declared = set(data_type.field_names)
    added = tuple(
        dataclasses.replace(spec, required=False) for spec in stored.fields if spec.name not in declared
    )
    return dataclasses.replace(data_type, fields=data_type.fields + added) if added else data_type


def infer_data_type(
    open_source: OpenSource, name: str, separator: str, options: IngestOptions | None = None
) -> DataTypeSpec:
    """The data type a file implies: each column's type inferred from its values, all nullable, no key.

    Raises :class:`UnreadableFile` when the file cannot be read (the message says why).
    """
    checked = validate_file(
        open_source,
        DataTypeSpec(name=name, fields=(), infer_schema=True),
        separator,
        max_errors=_INFER_MAX_ERRORS,
        options=options,
    )
    if not checked.accepts():
        first = checked.issues[0] if checked.issues else None
        raise UnreadableFile(
            checked.message or "the file could not be read",
            line=first.line if first else None,
            row=first.row if first else None,
        )
    return DataTypeSpec(name=name, fields=tuple(checked.new_fields))
