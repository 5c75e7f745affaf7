"""Processing uploaded files: the validator's and the dead-letter function's use cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ingestion.domain import (
    DataTypeStats,
    IngestOptions,
    UploadOutcome,
    UploadRequest,
    UploadSource,
    UploadStatus,
)
from ingestion.errors import DataTypeNotFound, RequestBusy, StatusConflict
from ingestion.identifiers import request_id_for_object
from ingestion.observability import logger, metrics
from ingestion.repositories.collections import CollectionRepository, get_collection_repository
from ingestion.repositories.data_types import DataTypeRepository, get_data_type_repository
from ingestion.repositories.files import FileInfo, FileStore, get_file_store
from ingestion.repositories.uploads import UploadRequestRepository, get_upload_request_repository
from ingestion.services.data_types import resolve_data_type
from ingestion.settings import Settings, get_settings

Ingest = Callable[..., UploadOutcome]


@dataclass(frozen=True)
class UploadedObject:
    """A file that landed in the bucket, as an S3 ObjectCreated notification describes it."""

    bucket: str
    key: str
    size: int
    sequencer: str
    event_time: datetime


@dataclass
class Dependencies:
    collections: CollectionRepository
    uploads: UploadRequestRepository
    files: FileStore
    data_types: DataTypeRepository
    settings: Settings

    @classmethod
    def default(cls, **overrides: Any) -> Dependencies:
        return cls(
            collections=overrides.get("collections") or get_collection_repository(),
            uploads=overrides.get("uploads") or get_upload_request_repository(),
            files=overrides.get("files") or get_file_store(),
            data_types=overrides.get("data_types") or get_data_type_repository(),
            settings=overrides.get("settings") or get_settings(),
        )


def process_uploaded_file(
    uploaded: UploadedObject, *, ingest: Ingest | None = None, **dependencies: Any
) -> UploadRequest | None:
    """Validate one uploaded file and merge it into its collection.

    Safe to call again for the same notification: a finished request is left as it is; one
    that another live attempt holds raises :class:`RequestBusy`, so the notification comes
    back later. Returns the request as it stands, or None when the file cannot be attributed
    to a collection (it is logged and left alone). Unexpected failures propagate too, so the
    queue delivers the notification again, up to its dead-letter queue.
    """
    deps = Dependencies.default(**dependencies)
    found = _find_or_record_request(uploaded, deps)
    if found is None:
        return None
    request, info = found
    if request.status.is_final:
        return request
    now = datetime.now(UTC)
    try:
        request = deps.uploads.start(request, now, deps.settings.processing_lease_seconds)
    except StatusConflict:
        current = deps.uploads.find(request.collection_id, request.data_type, request.id)
        if current is not None and current.status.is_final:
            return current
        # Another attempt holds a live lease. Try again later rather than acknowledge: if
        # that attempt dies, the next delivery finds its lease expired and takes over.
        raise RequestBusy(request.id) from None

    logger.append_keys(
        request_id=request.id, collection_id=request.collection_id, data_type=request.data_type
    )
    if ingest is None:
        # pyarrow and pyiceberg load only here, in the validator.
        from ingestion.dataplane import ingest_upload as ingest

    data_type = resolve_data_type(request.collection_id, request.data_type, deps.data_types)
    outcome = ingest(
        open_source=lambda: deps.files.open(request.object_key),
        data_type=data_type,
        separator=request.separator,
        collection_id=request.collection_id,
        request_id=request.id,
        options=_ingest_options(request, info),
    )
    if outcome.status is UploadStatus.COMPLETED and (data_type.infer_schema or outcome.added_fields):
        _record_schema(request, deps)
    request = deps.uploads.finish(request, outcome, datetime.now(UTC))
    _record_outcome(request, outcome, deps)
    return request


def _ingest_options(request: UploadRequest, info: FileInfo) -> IngestOptions:
    """What the uploader asked for: the API stores it with the file, a dropper in its metadata."""
    return IngestOptions(
        file_name=request.file_name,
        content_type=info.content_type,
        max_bad_records=info.max_bad_records,
        allow_field_addition=info.allow_field_addition,
    )


def _record_schema(request: UploadRequest, deps: Dependencies) -> None:
    """After an inferred first append or a field addition, the table's schema is the declaration."""
    from ingestion.dataplane import read_table_spec

    spec = read_table_spec(request.collection_id, request.data_type, settings=deps.settings)
    if spec is not None:
        deps.data_types.replace_fields(request.collection_id, spec)


def fail_uploaded_file(uploaded: UploadedObject, reason: str, **dependencies: Any) -> UploadRequest | None:
    """Mark the request of a file whose notification could not be processed as ``error``."""
    deps = Dependencies.default(**dependencies)
    found = _find_or_record_request(uploaded, deps)
    if found is None:
        return None
    request, _ = found
    if request.status.is_final:
        return request
    message = (
        f"the file could not be processed ({reason}); it is kept at s3://{uploaded.bucket}/{uploaded.key}. "
        f"Upload it again, and report request id {request.id} if this happens again."
    )
    try:
        request = deps.uploads.fail(request, message, datetime.now(UTC))
    except StatusConflict:
        return deps.uploads.find(request.collection_id, request.data_type, request.id)
    metrics.add_metric(name="UploadsFailedInDeadLetter", unit=MetricUnit.Count, value=1)
    return request


def _find_or_record_request(
    uploaded: UploadedObject, deps: Dependencies
) -> tuple[UploadRequest, FileInfo] | None:
    """The upload request of a stored file (and what its metadata says), recorded now if the
    API did not get to it; None if the file cannot be attributed to a collection.

    API uploads carry their request in the object metadata; a file dropped straight into
    the bucket gets a request whose id is derived from the notification, so a repeated
    notification finds the same request.
    """
    location = deps.files.locate(uploaded.key)
    if location is None:
        logger.warning(
            "file outside incoming/<collectionId>/<dataType>/ ignored", extra={"key": uploaded.key}
        )
        return None
    info = deps.files.info(uploaded.key)
    if info is None:
        logger.warning("file deleted before it could be processed", extra={"key": uploaded.key})
        return None
    upload = info.upload
    request_id = (
        upload.request_id
        if upload
        else request_id_for_object(uploaded.bucket, uploaded.key, uploaded.sequencer, uploaded.event_time)
    )
    existing = deps.uploads.find(location.collection_id, location.data_type, request_id)
    if existing is not None:
        return existing, info
    if upload is None and not _can_receive_drop(location.collection_id, location.data_type, deps):
        metrics.add_metric(name="UnroutableFiles", unit=MetricUnit.Count, value=1)
        return None
    request = UploadRequest(
        id=request_id,
        collection_id=location.collection_id,
        data_type=location.data_type,
        separator=info.separator,
        dump_datetime=upload.dump_datetime if upload else uploaded.event_time,
        status=UploadStatus.QUEUED,
        source=UploadSource.API if upload else UploadSource.S3,
        file_name=upload.file_name if upload else uploaded.key.rsplit("/", 1)[-1],
        size_bytes=info.size_bytes,
        object_key=uploaded.key,
    )
    if not deps.uploads.create(request):
        # Recorded meanwhile by the API function or another delivery: theirs stands.
        request = deps.uploads.get(location.collection_id, location.data_type, request_id)
    return request, info


def _can_receive_drop(collection_id: str, data_type: str, deps: Dependencies) -> bool:
    if deps.collections.find(collection_id) is None:
        logger.warning(
            "dropped file names no existing collection; ignored", extra={"collection_id": collection_id}
        )
        return False
    try:
        resolve_data_type(collection_id, data_type, deps.data_types)
    except DataTypeNotFound as error:
        logger.warning(f"dropped file ignored: {error}", extra={"collection_id": collection_id})
        return False
    return True


def _record_outcome(request: UploadRequest, outcome: UploadOutcome, deps: Dependencies) -> None:
    metrics.add_metric(
        name="UploadsCompleted" if outcome.status is UploadStatus.COMPLETED else "UploadsRejected",
        unit=MetricUnit.Count,
        value=1,
    )
    if outcome.status is not UploadStatus.COMPLETED or outcome.row_count is None:
        return
    metrics.add_metric(name="RowsInserted", unit=MetricUnit.Count, value=outcome.rows_inserted)
    metrics.add_metric(name="RowsUpdated", unit=MetricUnit.Count, value=outcome.rows_updated)
    deps.collections.record_merge(
        request.collection_id,
        request.data_type,
        DataTypeStats(
            row_count=outcome.row_count, last_request_id=request.id, last_updated=request.finished_datetime
        ),
        sequence=outcome.sequence_number if outcome.sequence_number is not None else 0,
    )
