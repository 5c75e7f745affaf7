"""Exports: every row of a data type in one file, written in the background.

``POST .../export`` records a queued export and queues its job (:func:`request_export`, entry
function); the export function writes the file (:func:`run_export`); ``GET .../export/{id}``
answers how it stands, with a download URL once it is written (:func:`get_export`, status
function). The file and the record are kept ``EXPORT_RETENTION_DAYS``.

A job is delivered again when its attempt fails, and taken over once the lease of a crashed
attempt runs out; the last delivery the queue makes (its ``maxReceiveCount``) ends the export
``error`` if it fails too, so an export does not stay ``in_progress`` when it cannot be written.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingestion.domain import Export, ExportDownload, ExportFormat, ExportStatus
from ingestion.errors import DataTypeNotFound, ExportNotFound, RequestBusy, StatusConflict
from ingestion.identifiers import new_ulid
from ingestion.observability import logger
from ingestion.repositories.collections import CollectionRepository, get_collection_repository
from ingestion.repositories.data_types import DataTypeRepository, get_data_type_repository
from ingestion.repositories.exports import ExportRepository, get_export_repository
from ingestion.repositories.files import FileStore, get_file_store
from ingestion.repositories.jobs import JobQueue, get_export_queue
from ingestion.services.data_types import resolve_data_type
from ingestion.services.iceberg import CollectionTables, IcebergTables
from ingestion.settings import Settings, get_settings

_EXTENSIONS = {ExportFormat.CSV: "csv", ExportFormat.NDJSON: "ndjson", ExportFormat.PARQUET: "parquet"}


@dataclass(frozen=True)
class ExportJob:
    """The message the entry function queues for the export function."""

    collection_id: str
    data_type: str
    export_id: str

    def message(self) -> dict[str, str]:
        return {"collectionId": self.collection_id, "dataType": self.data_type, "exportId": self.export_id}

    @classmethod
    def from_message(cls, body: str) -> ExportJob:
        job = json.loads(body)
        return cls(collection_id=job["collectionId"], data_type=job["dataType"], export_id=job["exportId"])


@dataclass(frozen=True)
class ExportDependencies:
    collections: CollectionRepository
    data_types: DataTypeRepository
    exports: ExportRepository
    files: FileStore
    tables: CollectionTables
    settings: Settings

    @classmethod
    def default(cls) -> ExportDependencies:
        return cls(
            collections=get_collection_repository(),
            data_types=get_data_type_repository(),
            exports=get_export_repository(),
            files=get_file_store(),
            tables=IcebergTables(),
            settings=get_settings(),
        )


def request_export(
    *,
    tenant_id: str,
    collection_id: str,
    data_type: str,
    file_format: ExportFormat,
    collections: CollectionRepository | None = None,
    data_types: DataTypeRepository | None = None,
    exports: ExportRepository | None = None,
    queue: JobQueue | None = None,
    settings: Settings | None = None,
) -> ExportDownload:
    """Record a queued export of every row of the data type, and queue it to be written."""
    collections = collections or get_collection_repository()
    exports = exports or get_export_repository()
    settings = settings or get_settings()
    collections.get_for_tenant(collection_id, tenant_id)
    resolve_data_type(collection_id, data_type, data_types)
    now = datetime.now(UTC)
    export_id = new_ulid(now)
    export = Export(
        id=export_id,
        collection_id=collection_id,
        data_type=data_type,
        format=file_format,
        status=ExportStatus.QUEUED,
        created_at=now,
        object_key=f"{settings.exports_prefix}{collection_id}/{data_type}/{export_id}.{_EXTENSIONS[file_format]}",
    )
    exports.create(export, expires_at=_expiry(export, settings))
    try:
        (queue or get_export_queue()).send(ExportJob(collection_id, data_type, export_id).message())
    except Exception:
        exports.fail(export, "the export could not be queued; ask for a new one", datetime.now(UTC))
        raise
    return ExportDownload(export=export)


def get_export(
    *,
    tenant_id: str,
    collection_id: str,
    data_type: str,
    export_id: str,
    collections: CollectionRepository | None = None,
    data_types: DataTypeRepository | None = None,
    exports: ExportRepository | None = None,
    files: FileStore | None = None,
    settings: Settings | None = None,
) -> ExportDownload:
    """An export as it stands; once it is written, with a URL to download its file."""
    collections = collections or get_collection_repository()
    exports = exports or get_export_repository()
    settings = settings or get_settings()
    collections.get_for_tenant(collection_id, tenant_id)
    resolve_data_type(collection_id, data_type, data_types)
    export = exports.get(collection_id, data_type, export_id)
    now = datetime.now(UTC)
    if _expiry(export, settings) <= now:
        raise ExportNotFound(export_id)  # its file is removed by now, its record about to be
    if export.status is not ExportStatus.COMPLETED:
        return ExportDownload(export=export)
    files = files or get_file_store()
    name = f"{data_type}-{collection_id}-{export_id}.{_EXTENSIONS[export.format]}"
    url = files.download_url(export.object_key, settings.export_url_seconds, name)
    # Whole seconds, as the signature counts them: signed before this moment, it works until then.
    expires_at = now.replace(microsecond=0) + timedelta(seconds=settings.export_url_seconds)
    return ExportDownload(export=export, url=url, expires_at=expires_at)


def run_export(job: ExportJob, delivery: int, deps: ExportDependencies | None = None) -> Export | None:
    """Write the export's file; ``delivery`` counts the job's deliveries (1 for the first).

    Returns the export as it ends, or None when it no longer exists (its collection purged).
    Raises to have the job delivered again, unless this was its last delivery.
    """
    deps = deps or ExportDependencies.default()
    export = deps.exports.find(job.collection_id, job.data_type, job.export_id)
    if export is None:
        logger.info("export no longer exists", extra={"export_id": job.export_id})
        return None
    if export.status.is_final:
        return export
    collection = deps.collections.find(job.collection_id)
    if collection is None or collection.deleted_at is not None:
        return deps.exports.fail(export, "the collection was deleted before its export was written", _now())
    try:
        spec = resolve_data_type(job.collection_id, job.data_type, deps.data_types)
    except DataTypeNotFound:
        return deps.exports.fail(
            export, f"data type '{job.data_type}' was deleted before it was exported", _now()
        )
    try:
        export = deps.exports.start(export, _now(), deps.settings.processing_lease_seconds)
    except StatusConflict:
        current = deps.exports.find(job.collection_id, job.data_type, job.export_id)
        if current is None or current.status.is_final:
            return current
        raise RequestBusy(job.export_id) from None  # a live attempt writes it: try again later
    try:
        with tempfile.TemporaryDirectory(prefix="export-") as folder:
            path = Path(folder) / Path(export.object_key).name
            rows = deps.tables.export(job.collection_id, spec, export.format, path, deps.settings)
            deps.files.put_file(export.object_key, str(path), export.format.media_type)
        return deps.exports.finish(export, rows, _now())
    except Exception:
        if delivery < deps.settings.max_receive_count:
            deps.exports.release(export)
            raise
        logger.exception("export failed on its last delivery", extra={"export_id": export.id})
        return deps.exports.fail(
            export,
            f"the export could not be written ({delivery} attempts); ask for a new one, and report "
            f"export id {export.id} if it fails again",
            _now(),
        )


def _expiry(export: Export, settings: Settings) -> datetime:
    return export.created_at + timedelta(days=settings.export_retention_days)


def _now() -> datetime:
    return datetime.now(UTC)
