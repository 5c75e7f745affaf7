"""Upload URLs: files too large for the API go straight into the bucket, their request recorded first.

``POST .../append/upload-url`` records a queued request that waits for its file and answers
with a presigned URL that lets the caller PUT exactly that request's object
(``incoming/<collectionId>/<dataType>/api/<requestId>``) until the URL expires. The file's
notification reaches the validator like any other upload's: the key names the request, and the
request's record holds the options it was asked with. A request whose file never came is ended
``error`` by :func:`expire_upload_urls`, which runs on a schedule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from ingestion.domain import UploadRequest, UploadSource, UploadStatus, UploadUrl
from ingestion.errors import StatusConflict
from ingestion.identifiers import new_ulid
from ingestion.observability import logger, metrics
from ingestion.repositories.collections import CollectionRepository, get_collection_repository
from ingestion.repositories.data_types import DataTypeRepository
from ingestion.repositories.files import (
    FileStore,
    get_file_store,
    storable_content_type,
    storable_file_name,
)
from ingestion.repositories.uploads import UploadRequestRepository, get_upload_request_repository
from ingestion.services.data_types import resolve_data_type
from ingestion.settings import Settings, get_settings

# Requests one run ends at most; a run takes seconds, and the next run ends any left over.
EXPIRED_PER_RUN = 500


def request_upload_url(
    *,
    tenant_id: str,
    collection_id: str,
    data_type: str,
    file_name: str | None = None,
    content_type: str | None = None,
    separator: str = ",",
    max_bad_records: int = 0,
    allow_field_addition: bool = False,
    collections: CollectionRepository | None = None,
    uploads: UploadRequestRepository | None = None,
    files: FileStore | None = None,
    data_types: DataTypeRepository | None = None,
    settings: Settings | None = None,
) -> UploadUrl:
    """Record a queued request that waits for its file, and the URL to PUT the file to.

    The request's record holds the options: the file arrives with no metadata of its own.
    """
    collections = collections or get_collection_repository()
    uploads = uploads or get_upload_request_repository()
    files = files or get_file_store()
    settings = settings or get_settings()

    collections.get_for_tenant(collection_id, tenant_id)
    resolve_data_type(collection_id, data_type, data_types)

    now = datetime.now(UTC)
    request_id = new_ulid(now)
    # Whole seconds, as the URL's signature counts them: signed after this moment, the URL
    # lives at least until then.
    expires_at = now.replace(microsecond=0) + timedelta(seconds=settings.upload_url_seconds)
    key = files.api_upload_key(collection_id, data_type, request_id)
    url = files.upload_url(key, settings.upload_url_seconds)
    request = UploadRequest(
        id=request_id,
        collection_id=collection_id,
        data_type=data_type,
        separator=separator,
        dump_datetime=now,
        status=UploadStatus.QUEUED,
        source=UploadSource.API,
        file_name=storable_file_name(file_name),
        size_bytes=0,
        object_key=key,
        message=f"waiting for the file: PUT it to the uploadUrl before {timestamp(expires_at)}",
        max_bad_records=max_bad_records,
        allow_field_addition=allow_field_addition,
        content_type=storable_content_type(content_type),
        awaiting_file_until=expires_at,
    )
    uploads.create(request)
    return UploadUrl(request=request, url=url, expires_at=expires_at)


def expire_upload_urls(
    *,
    now: datetime | None = None,
    uploads: UploadRequestRepository | None = None,
    settings: Settings | None = None,
) -> list[UploadRequest]:
    """End ``error`` the requests whose file did not arrive before their upload URL expired
    (and the grace period after it). Each is a conditional write: a request whose file arrived
    meanwhile has started, and is left to its processing."""
    uploads = uploads or get_upload_request_repository()
    settings = settings or get_settings()
    now = now or datetime.now(UTC)
    expired_before = now - timedelta(seconds=settings.upload_url_grace_seconds)

    ended = []
    for request in uploads.waiting_for_file(expired_before, EXPIRED_PER_RUN):
        expired_at = timestamp(request.awaiting_file_until or expired_before)
        message = (
            f"no file arrived before the upload URL expired at {expired_at}; ask for a new upload URL "
            f"(POST /api/collection/{request.collection_id}/data/{request.data_type}/append/upload-url) "
            "and PUT the file to it"
        )
        try:
            ended.append(uploads.expire_upload_url(request, message, now, expired_before))
        except StatusConflict:
            logger.info("upload request started meanwhile; left to it", extra={"request_id": request.id})
    if ended:
        metrics.add_metric(name="UploadUrlsExpired", unit=MetricUnit.Count, value=len(ended))
        logger.info("upload requests whose file never came ended error", extra={"count": len(ended)})
    return ended


def timestamp(moment: datetime) -> str:
    """A moment as the API writes it: ISO 8601 in UTC, to the second (``2026-11-28T13:00:00Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
