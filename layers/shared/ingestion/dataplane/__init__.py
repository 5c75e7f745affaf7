"""The data plane: validate an uploaded file and merge it into the collection's Iceberg table.

This package is the only code that imports pyarrow and pyiceberg, and only the functions
that read or write tables import it (validator, tables, export, purge, maintenance), so the
other API functions start without them. Walk down from :func:`ingest_upload`:
:mod:`.validation` reads the file (:mod:`.formats` finds CSV, JSON or NDJSON, gzip or not;
:mod:`.csv_records`, :mod:`.ndjson_reader` and :mod:`.json_reader` read it as batches of text
cells), checks the header or keys (:mod:`.column_names`) and every batch (:mod:`.batch_checks`,
:mod:`.column_checks` per column, :mod:`.type_inference` for new columns), collects what is
wrong (:mod:`.issues`) into a :class:`.file_validation.FileValidation`, held as a
:class:`.checked_uploads.CheckedUpload` until :mod:`.merge` upserts (or, without a key,
appends) the accepted rows into the table from :mod:`.tables`, alone or with other small
files of the table in one commit (:mod:`.group_merge`). A large file's rows are written as data
files while it is still validated, for a merge that turns out to append them all
(:mod:`.early_append`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from ingestion.dataplane.checked_uploads import CheckedUpload, merge_checked
from ingestion.dataplane.commits import SnapshotKeeper
from ingestion.dataplane.early_append import early_append_for
from ingestion.dataplane.merge import MergeConflict
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
from ingestion.domain import IngestOptions, UploadOutcome
from ingestion.schemas.spec import DataTypeSpec
from ingestion.settings import Settings, get_settings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

__all__ = [
    "CheckedUpload",
    "MergeConflict",
    "OpenSource",
    "UnreadableFile",
    "check_upload",
    "get_catalog",
    "infer_data_type",
    "ingest_upload",
    "merge_checked",
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
    yet recorded from expiry (:mod:`.bounded_history`); without one, the newest snapshots are kept.
    :func:`check_upload` and :func:`merge_checked` are the two halves, for a caller that merges
    several checked files at once.

    Anything wrong with the file is an ``error`` outcome, never an exception; exceptions mean
    the service itself failed (e.g. :class:`.merge.MergeConflict`) and the caller may retry: a
    request already merged is recognised by ``request_id`` and not merged twice.
    """
    settings = settings or get_settings()
    catalog = catalog or (None if data_type.built_in else get_catalog(settings))
    checked = check_upload(
        open_source=open_source,
        data_type=data_type,
        separator=separator,
        collection_id=collection_id,
        options=options,
        on_progress=on_progress,
        catalog=catalog,
        settings=settings,
    )
    with checked:
        refused = checked.refused_outcome(request_id)
        if refused is not None:
            return refused
        with commit_guard() as keeper:
            return merge_checked(
                [(request_id, checked)],
                collection_id=collection_id,
                keeper=keeper,
                catalog=catalog or get_catalog(settings),
                settings=settings,
            )[0]


def check_upload(
    *,
    open_source: OpenSource,
    data_type: DataTypeSpec,
    separator: str,
    collection_id: str,
    options: IngestOptions | None = None,
    on_progress: Callable[[int], None] | None = None,
    catalog: Catalog | None = None,
    settings: Settings | None = None,
) -> CheckedUpload:
    """Validate one uploaded file against its data type as the collection's table now stands.

    ``open_source`` returns a fresh binary stream of the file on each call: the file is
    read once on the success path and again only to locate problems. ``separator`` is one
    character, or ``"auto"`` to detect it (CSV only). ``on_progress`` is called with the
    records read so far after every batch.

    For a declared data type, columns the collection's table gained from earlier uploads
    count as part of it; for one with an inferred schema, the table's schema is the data
    type once it exists, and before that this file defines it. ``added_fields`` of the
    merged outcome names the columns this upload added; :func:`read_table_spec` gives the
    schema to record afterwards. The result holds the file's good rows (in memory or on local
    disk) until it is closed.
    """
    settings = settings or get_settings()
    options = options or IngestOptions()
    table_identifier(settings, collection_id, data_type.name)  # refuse bad ids before reading anything
    if not data_type.built_in:
        catalog = catalog or get_catalog(settings)
        data_type = with_table_columns(
            data_type, load_table(catalog, settings, collection_id, data_type.name)
        )
    early = early_append_for(settings, catalog, collection_id, data_type)
    try:
        validation = validate_file(
            open_source,
            data_type,
            separator,
            max_errors=settings.max_validation_errors,
            options=options,
            max_bytes=settings.max_decompressed_bytes,
            on_progress=on_progress,
            spill_after_bytes=settings.kept_rows_in_memory_mib << 20,
            max_spilled_bytes=settings.kept_rows_on_disk_mib << 20,
            observer=early,
        )
    except BaseException:
        if early is not None:
            early.close()
        raise
    if early is not None:
        if validation.accepts():
            early.finish()  # the last rows are written while the merge reads the table
        else:
            early.close()
            early = None
    return CheckedUpload(
        validation,
        data_type,
        options.allow_field_addition,
        group_limit=settings.group_commit_max_mib << 20,
        early=early,
    )


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
