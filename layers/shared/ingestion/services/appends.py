"""Accepting appends through the API and reporting on upload requests."""

from __future__ import annotations

from datetime import UTC, datetime

from ingestion.domain import UploadRequest, UploadSource, UploadStatus
from ingestion.errors import InvalidInput
from ingestion.identifiers import new_ulid
from ingestion.repositories.collections import CollectionRepository, get_collection_repository
from ingestion.repositories.data_types import DataTypeRepository
from ingestion.repositories.files import (
    FileStore,
    StoredUpload,
    get_file_store,
    storable_content_type,
    storable_file_name,
)
from ingestion.repositories.uploads import UploadRequestRepository, get_upload_request_repository
from ingestion.services.data_types import resolve_data_type


def submit_append(
    *,
    tenant_id: str,
    collection_id: str,
    data_type: str,
    content: bytes,
    file_name: str | None,
    content_type: str | None,
    separator: str,
    max_bad_records: int = 0,
    allow_field_addition: bool = False,
    collections: CollectionRepository | None = None,
    uploads: UploadRequestRepository | None = None,
    files: FileStore | None = None,
    data_types: DataTypeRepository | None = None,
) -> UploadRequest:
    """Store the file and queue it for validation; answers before any parsing happens.

    The file is stored first, carrying the request in its metadata, and the request record
    second: if this function stops in between, the validator still finds everything it
    needs in the object, so no upload is lost and no request is left queued forever.
    """
    collections = collections or get_collection_repository()
    uploads = uploads or get_upload_request_repository()
    files = files or get_file_store()

    collections.get_for_tenant(collection_id, tenant_id)
    resolve_data_type(collection_id, data_type, data_types)
    if not content:
        raise InvalidInput("file", "the file is empty: attach a CSV, JSON or NDJSON file with data rows")

    request_id = new_ulid()
    now = datetime.now(UTC)
    name = storable_file_name(file_name)
    key = files.api_upload_key(collection_id, data_type, request_id)
    files.put_upload(
        key,
        content,
        StoredUpload(
            request_id=request_id,
            file_name=name,
            separator=separator,
            dump_datetime=now,
            max_bad_records=max_bad_records,
            allow_field_addition=allow_field_addition,
        ),
        content_type,
    )
    request = UploadRequest(
        id=request_id,
        collection_id=collection_id,
        data_type=data_type,
        separator=separator,
        dump_datetime=now,
        status=UploadStatus.QUEUED,
        source=UploadSource.API,
        file_name=name,
        size_bytes=len(content),
        object_key=key,
        max_bad_records=max_bad_records,
        allow_field_addition=allow_field_addition,
        content_type=storable_content_type(content_type),
    )
    # If the validator was quicker and already recorded the request, its record stands.
    uploads.create(request)
    return request


def get_upload_request(
    *,
    tenant_id: str,
    collection_id: str,
    data_type: str,
    request_id: str,
    collections: CollectionRepository | None = None,
    uploads: UploadRequestRepository | None = None,
    data_types: DataTypeRepository | None = None,
) -> UploadRequest:
    collections = collections or get_collection_repository()
    uploads = uploads or get_upload_request_repository()
    collections.get_for_tenant(collection_id, tenant_id)
    resolve_data_type(collection_id, data_type, data_types)
    return uploads.get(collection_id, data_type, request_id)


def list_upload_requests(
    *,
    tenant_id: str,
    collection_id: str,
    data_type: str,
    limit: int,
    next_token: str | None,
    collections: CollectionRepository | None = None,
    uploads: UploadRequestRepository | None = None,
    data_types: DataTypeRepository | None = None,
) -> tuple[list[UploadRequest], str | None]:
    collections = collections or get_collection_repository()
    uploads = uploads or get_upload_request_repository()
    collections.get_for_tenant(collection_id, tenant_id)
    resolve_data_type(collection_id, data_type, data_types)
    return uploads.list_newest_first(collection_id, data_type, limit, next_token)
