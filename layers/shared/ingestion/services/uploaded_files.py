"""The steps of processing one uploaded file (what they talk to: :mod:`.processing_dependencies`).

One attempt at an upload walks these steps (:mod:`.processing` runs them for a batch of
files); a crash at any of them leaves state the next delivery of the notification completes,
and nothing is merged twice:

1. find the request (:func:`find_or_record_request`: the API recorded it, and a file PUT to an
   upload URL is found by its key; a dropped file gets one whose id is derived from the object,
   so every notification of one object names the same request);
2. take it (:func:`take`): ``queued`` (or ``in_progress`` under an expired lease) ->
   ``in_progress``, with the file's size as it arrived;
3. check the file (:func:`check`), then merge it, alone or with other small files of its table,
   in one Iceberg commit stamped with the request id, under the table's commit lock (a replay
   finds the stamp and merges nothing);
4. record what the merge changed (row count, inferred schema), then the outcome, bounded to
   fit its record, with what did not fit written to a report in the bucket (:func:`finish`).

A problem of the file itself (unreadable, too big, too deep, changed while read, its data type
gone) ends the request ``error`` on the first attempt: retrying cannot change it. Anything
else (the service failed) releases the request (:func:`release`) and propagates, so the queue
delivers the notification again, up to its dead-letter queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from ingestion.domain import (
    DataTypeStats,
    IngestOptions,
    UploadOutcome,
    UploadRequest,
    UploadSource,
    UploadStatus,
)
from ingestion.errors import DataTypeNotFound, FileReplaced, RequestBusy, StatusConflict
from ingestion.identifiers import request_id_for_object
from ingestion.observability import logger, metrics
from ingestion.repositories.files import (
    FileInfo,
    ObjectLocation,
    storable_content_type,
    storable_file_name,
)
from ingestion.services.data_types import resolve_data_type
from ingestion.services.iceberg import table_lock
from ingestion.services.processing_dependencies import CheckedFile, Dependencies, UploadedObject
from ingestion.services.progress import ProgressReport
from ingestion.services.upload_targets import upload_target_gone
from ingestion.summaries import summarise

if TYPE_CHECKING:
    from ingestion.schemas.spec import DataTypeSpec


def take(request: UploadRequest, info: FileInfo, deps: Dependencies) -> UploadRequest:
    """The request, claimed for this attempt; or as another attempt finished it."""
    try:
        return deps.uploads.start(
            request, datetime.now(UTC), deps.settings.processing_lease_seconds, size_bytes=info.size_bytes
        )
    except StatusConflict:
        current = deps.uploads.find(request.collection_id, request.data_type, request.id)
        if current is not None and current.status.is_final:
            return current
        # Another attempt holds a live lease. Try again later rather than acknowledge: if
        # that attempt dies, the next delivery finds its lease expired and takes over.
        raise RequestBusy(request.id) from None


@dataclass
class Checked:
    """A taken request whose file was checked and is to be merged."""

    request: UploadRequest
    data_type: DataTypeSpec
    file: CheckedFile


def check(request: UploadRequest, info: FileInfo, deps: Dependencies) -> Checked | UploadOutcome:
    """The request's file, checked against its data type and ready to merge; or the outcome
    of a request that ends here (its file refused, its collection or data type gone)."""
    gone = upload_target_gone(deps.collections, request)
    if gone is not None:
        return refused(gone)
    try:
        data_type = resolve_data_type(request.collection_id, request.data_type, deps.data_types)
    except DataTypeNotFound as error:
        return refused(f"{error}; it was removed after this file was uploaded. Nothing was merged.")
    try:
        checked = deps.data_plane.check(
            open_source=lambda: deps.files.open(request.object_key, info.etag),
            data_type=data_type,
            separator=request.separator,
            collection_id=request.collection_id,
            options=_ingest_options(request, info),
            on_progress=ProgressReport(deps.uploads, request),
            settings=deps.settings,
        )
    except FileReplaced as error:
        return refused(str(error))
    outcome = checked.refused_outcome(request.id)
    if outcome is not None:
        checked.close()
        return outcome
    return Checked(request=request, data_type=data_type, file=checked)


def refused(message: str) -> UploadOutcome:
    return UploadOutcome(status=UploadStatus.ERROR, message=message)


def finish(
    request: UploadRequest, outcome: UploadOutcome, data_type: DataTypeSpec | None, deps: Dependencies
) -> UploadRequest:
    """Record what a merge changed, then the outcome; every step may run again after a crash."""
    now = datetime.now(UTC)
    if outcome.status is UploadStatus.COMPLETED and data_type is not None:
        if data_type.infer_schema or outcome.added_fields:
            _record_schema(request, deps)
        _record_row_count(request, outcome, now, deps)
    report_key = deps.files.report_key(
        deps.settings.reports_prefix, request.collection_id, request.data_type, request.id
    )
    summary = summarise(outcome, f"s3://{deps.files.bucket}/{report_key}")
    if summary.cut:
        deps.files.put_report(report_key, summary.report(outcome))
    try:
        finished = deps.uploads.finish(request, summary.outcome, now)
    except StatusConflict:
        # Our lease ran out and a later attempt took over; the merge is stamped with the
        # request id, so whichever attempt records the outcome records the same one.
        current = deps.uploads.find(request.collection_id, request.data_type, request.id)
        if current is None:
            raise
        return current
    _count(outcome)
    _forget_snapshot(request, deps)
    return finished


def table_lock_of(request: UploadRequest) -> str:
    """The name of the commit lock of the table ``request`` merges into."""
    return table_lock(request.collection_id, request.data_type)


def _forget_snapshot(request: UploadRequest, deps: Dependencies) -> None:
    """The outcome is recorded: the merge's snapshot may be expired like any other."""
    try:
        deps.commit_locks.forget(table_lock_of(request), request.id)
    except Exception:  # one snapshot kept longer than needed; the upload itself is done
        logger.exception(
            "could not release the snapshot of a recorded merge", extra={"request_id": request.id}
        )


def release(request: UploadRequest, deps: Dependencies) -> None:
    try:
        deps.uploads.release(request)
    except Exception:  # the lease runs out by itself; the original failure is what matters
        logger.exception("could not release the upload request", extra={"request_id": request.id})


def _ingest_options(request: UploadRequest, info: FileInfo) -> IngestOptions:
    """What the uploader asked for, as the request's record holds it (a file PUT to an upload
    URL carries nothing else). A record written before the options were kept on it leaves them
    to the file's metadata, where the API and droppers put them."""
    return IngestOptions(
        file_name=request.file_name,
        content_type=request.content_type or info.content_type,
        max_bad_records=_recorded_or(request.max_bad_records, info.max_bad_records),
        allow_field_addition=_recorded_or(request.allow_field_addition, info.allow_field_addition),
    )


def _recorded_or[T](recorded: T | None, metadata: T) -> T:
    return metadata if recorded is None else recorded


def _record_schema(request: UploadRequest, deps: Dependencies) -> None:
    """After an inferred first append or a field addition, the table's schema is the declaration."""
    spec = deps.data_plane.table_spec(request.collection_id, request.data_type, deps.settings)
    if spec is not None:
        deps.data_types.replace_fields(request.collection_id, spec)


def _record_row_count(
    request: UploadRequest, outcome: UploadOutcome, now: datetime, deps: Dependencies
) -> None:
    if outcome.row_count is None:
        return
    deps.collections.record_merge(
        request.collection_id,
        request.data_type,
        DataTypeStats(row_count=outcome.row_count, last_request_id=request.id, last_updated=now),
        sequence=outcome.sequence_number if outcome.sequence_number is not None else 0,
    )


def find_or_record_request(
    uploaded: UploadedObject, deps: Dependencies
) -> tuple[UploadRequest, FileInfo] | None:
    """The upload request of a stored file (and what its metadata says), recorded now if the
    API did not get to it; None if the file cannot be attributed to a collection.

    API uploads carry their request in the object metadata; a file PUT to an upload URL carries
    none, and its key (``.../api/<requestId>``) names the request recorded with the URL. A file
    dropped straight into the bucket gets a request whose id is derived from the object (key,
    version or ETag, time of writing), so every notification of that object finds the same request.
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
    if upload is None:
        named = deps.files.api_upload_request_id(uploaded.key)
        if named is not None:
            return _requested_upload(named, location, uploaded, info, deps)
    written = info.last_modified or datetime.now(UTC)
    request_id = (
        upload.request_id
        if upload
        else request_id_for_object(uploaded.bucket, uploaded.key, info.version_id or info.etag, written)
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
        dump_datetime=upload.dump_datetime if upload else written,
        status=UploadStatus.QUEUED,
        source=UploadSource.API if upload else UploadSource.S3,
        file_name=upload.file_name if upload else storable_file_name(uploaded.key.rsplit("/", 1)[-1]),
        size_bytes=info.size_bytes,
        object_key=uploaded.key,
        max_bad_records=info.max_bad_records,
        allow_field_addition=info.allow_field_addition,
        content_type=storable_content_type(info.content_type),
    )
    if not deps.uploads.create(request):
        # Recorded meanwhile by the API function or another delivery: theirs stands.
        request = deps.uploads.get(location.collection_id, location.data_type, request_id)
    return request, info


def _requested_upload(
    request_id: str, location: ObjectLocation, uploaded: UploadedObject, info: FileInfo, deps: Dependencies
) -> tuple[UploadRequest, FileInfo] | None:
    """The request a file PUT to an upload URL belongs to; None (logged) if its key names none."""
    request = deps.uploads.find(location.collection_id, location.data_type, request_id)
    if request is None:
        logger.warning("file under api/ names no upload request; ignored", extra={"key": uploaded.key})
        metrics.add_metric(name="UnroutableFiles", unit=MetricUnit.Count, value=1)
    return None if request is None else (request, info)


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


def _count(outcome: UploadOutcome) -> None:
    metrics.add_metric(
        name="UploadsCompleted" if outcome.status is UploadStatus.COMPLETED else "UploadsRejected",
        unit=MetricUnit.Count,
        value=1,
    )
    if outcome.status is UploadStatus.COMPLETED:
        metrics.add_metric(name="RowsInserted", unit=MetricUnit.Count, value=outcome.rows_inserted)
        metrics.add_metric(name="RowsUpdated", unit=MetricUnit.Count, value=outcome.rows_updated)
